#!/usr/bin/env bash
# test_clusters_kept.sh -- `segment cluster` keeps its result in the data
# directory, and `report profiles` shows that clustering over the features
# it used (not four of its own); a later clustering takes its place. And
# `offers --scene` refuses a scene the lending policy does not have,
# naming the valid ones.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

D=$TMP/d
"$TAILOR" gen --users 600 --items 120 --days 30 --seed 5 --dirty 0 --out "$TMP/w" >/dev/null
"$TAILOR" --data "$D" import "$TMP"/w/{users,items,products,credit,consents,events}.csv >/dev/null 2>&1
"$TAILOR" --data "$D" profile build >/dev/null

cells() { # HTML: the text of every table cell, one a line
    python3 -c '
import html.parser, sys
class P(html.parser.HTMLParser):
    cell = None
    def handle_starttag(self, tag, a):
        if tag in ("td", "th"): self.cell = ""
    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None: print(self.cell.strip()); self.cell = None
    def handle_data(self, d):
        if self.cell is not None: self.cell += d
P().feed(open(sys.argv[1]).read())' "$1"
}

"$TAILOR" --data "$D" report profiles --html "$TMP/none.html" >/dev/null
check "before any clustering the report says none is kept" "$(grep -c 'None kept' "$TMP/none.html")" 1

"$TAILOR" --data "$D" segment cluster --features monetary,aov,views --k 3 --json >"$TMP/cl.json"
check "clustered" "$(jget k <"$TMP/cl.json")" 3
"$TAILOR" --data "$D" report profiles --html "$TMP/r.html" >/dev/null
cells "$TMP/r.html" >"$TMP/cells"
check "the report's clusters are over the features the clustering used" \
    "$(grep -cx -e monetary -e aov -e views "$TMP/cells")" 3
check "... not features of its own" \
    "$(grep -c -e 'price sensitivity' -e 'days since purchase' -e 'spend 365 d' "$TMP/cells")" 0
check_cmd "... with the kept sizes and means" python3 - "$TMP/cl.json" "$TMP/cells" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
cells = open(sys.argv[2]).read().split("\n")
i = cells.index("views")  # the header's last cell; the rows follow
rows = [cells[i + 1 + r * 5: i + 6 + r * 5] for r in range(c["k"])]
for r, cl in zip(rows, c["clusters"]):
    assert int(r[1]) == cl["size"], (r, cl)
    for cell, f in zip(r[2:], ("monetary", "aov", "views")):
        assert abs(float(cell) - cl["means"][f]) <= 0.005 * abs(cl["means"][f]) + 1e-9, (cell, f, cl)  # 3 digits
EOF
check "... and its k" "$(grep -c 'k = 3, silhouette' "$TMP/r.html")" 1

"$TAILOR" --data "$D" segment cluster --features orders,monetary_365d --k 2 >/dev/null
"$TAILOR" --data "$D" report profiles --html "$TMP/r2.html" >/dev/null
cells "$TMP/r2.html" >"$TMP/cells2"
check "a later clustering takes its place" \
    "$(grep -cx -e orders -e monetary_365d "$TMP/cells2") $(grep -cx views "$TMP/cells2")" "2 0"

# scenes
"$TAILOR" --data "$D" offers u000001 --scene bogus >"$TMP/o.out" 2>"$TMP/o.err"
check "an unknown scene is refused" "$?" 1
check "... naming the valid ones" \
    "$(grep -c 'scene "bogus" is not one of the lending policy.s: home, purchase, travel, promotion, idle' "$TMP/o.err")" 1
check "... and nothing offered" "$(wc -c <"$TMP/o.out")" 0
check "a scene of the policy is taken" \
    "$("$TAILOR" --data "$D" offers u000001 --scene travel --json 2>/dev/null | jget scene)" travel
finish
