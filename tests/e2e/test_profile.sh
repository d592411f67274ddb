#!/usr/bin/env bash
# test_profile.sh -- `tailor profile build|show|export` end to end.
#
#  1. On the Online Retail sample (../shared/datasets; skipped when absent):
#     recency, frequency and monetary of every customer equal an independent
#     computation from the CSV itself (Python's csv module): frequency = the
#     customer's distinct invoices that are not cancellations, monetary = the
#     sum of quantity x price less cancelled lines, recency = days from the
#     customer's last invoice to the latest invoice in the file.
#  2. On a generated world: RFM segment sizes, and the sizes, members and
#     overlaps of rule segments, and tag counts, equal a recount from the
#     export; tags are applied again by a rebuild; k-means cluster sizes add
#     up and their centres average to the overall means; the HTML report is
#     well formed, offline, and shows the CLI's numbers; export as CSV and JSON Lines agree, show --json
#     holds every feature and masks personal data, profiles survive a
#     reopen, and a missing or damaged snapshot gives a clear error.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RETAIL=$DATASETS/online-retail-sample/online_retail_sample.csv
if [[ -f $RETAIL ]]; then
    D=$TMP/retail
    "$TAILOR" --data "$D" import --preset online-retail "$RETAIL" >/dev/null
    "$TAILOR" --data "$D" profile build >/dev/null
    "$TAILOR" --data "$D" profile export --out "$TMP/retail.csv"
    if python3 - "$RETAIL" "$TMP/retail.csv" <<'EOF'; then pass; else fail "Online Retail RFM differs from the independent computation"; fi
import csv, sys, datetime
def when(s):
    d, t = s.split(" ")
    m, day, y = (int(x) for x in d.split("/"))
    if y < 100:
        y += 2000
    hh, mm = (int(x) for x in t.split(":"))
    return datetime.datetime(y, m, day, hh, mm)
inv, money, last, latest = {}, {}, {}, None
with open(sys.argv[1], newline="") as f:
    for r in csv.DictReader(f, delimiter=";"):
        c = r["CustomerID"]
        if c == "NA":
            continue
        c = c[:-2] if c.endswith(".0") else c
        q, p, t = int(r["Quantity"]), float(r["UnitPrice"]), when(r["InvoiceDate"])
        cancel = r["InvoiceNo"].startswith("C")
        if p < 0 or (not cancel and q < 1):
            continue  # quarantined by the importer
        latest = t if latest is None or t > latest else latest
        if cancel:
            money[c] = money.get(c, 0.0) - round(abs(q) * p, 2)
        else:
            inv.setdefault(c, set()).add(r["InvoiceNo"])
            money[c] = money.get(c, 0.0) + round(q * p, 2)
            last[c] = t if c not in last or t > last[c] else last[c]
got = {r["user"]: r for r in csv.DictReader(open(sys.argv[2]))}
bad = 0
for c in money:
    g = got.get(c)
    if g is None:
        print("missing customer", c); bad += 1; continue
    orders = len(inv.get(c, ()))
    if int(g["orders"]) != orders:
        print(c, "orders", g["orders"], "expected", orders); bad += 1
    if abs(float(g["monetary"]) - money[c]) > 1e-6 * (1 + abs(money[c])):
        print(c, "monetary", g["monetary"], "expected", money[c]); bad += 1
    if orders:
        rec = (latest - last[c]).total_seconds() / 86400
        if abs(float(g["days_since_purchase"]) - rec) > 1e-6:
            print(c, "recency", g["days_since_purchase"], "expected", rec); bad += 1
print("customers checked:", len(money), "mismatches:", bad)
sys.exit(1 if bad or len(money) < 500 else 0)
EOF
else
    echo "SKIP: the Online Retail sample is not at $RETAIL"
fi

D=$TMP/world
"$TAILOR" gen --users 3000 --items 500 --days 45 --seed 3 --out "$TMP/w" >/dev/null
"$TAILOR" --data "$D" import "$TMP"/w/{users,items,credit,events}.csv >/dev/null
"$TAILOR" --data "$D" profile show u000001 >/dev/null 2>"$TMP/err"
check "show before build fails" "$?" 1
check_cmd "show before build says what to do" grep -q "profile build" "$TMP/err"
out=$("$TAILOR" --data "$D" profile build --json)
check "build --json: users" "$(jget users <<<"$out")" "$("$TAILOR" --data "$D" stats --json | jget users)"
"$TAILOR" --data "$D" profile export --out "$TMP/p.csv"
"$TAILOR" --data "$D" profile export --format jsonl --out "$TMP/p.jsonl"
if python3 - "$TMP/p.csv" "$TMP/p.jsonl" <<'EOF'; then pass; else fail "CSV and JSON Lines exports disagree"; fi
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
objs = [json.loads(l) for l in open(sys.argv[2])]
assert len(rows) == len(objs) > 3000 - 1, (len(rows), len(objs))
for r, o in zip(rows, objs):
    assert r.keys() == o.keys(), set(r) ^ set(o)
    for k, v in r.items():
        w = o[k]
        if w is None:
            assert v == "", (k, v)
        elif isinstance(w, str):
            assert v == w, (k, v, w)
        else:
            assert abs(float(v) - w) <= 1e-9 * (1 + abs(w)), (k, v, w)
EOF
# the most active user, with personal data masked
u=$(python3 -c 'import csv,sys; r=max(csv.DictReader(open(sys.argv[1])), key=lambda r:int(r["events"])); print(r["user"])' "$TMP/p.csv")
"$TAILOR" --data "$D" profile show "$u" --json >"$TMP/show.json"
check "show --json: every column" "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["features"]))' "$TMP/show.json")" "$(($(head -1 "$TMP/p.csv" | tr ',' '\n' | wc -l) - 1))"
phone=$(awk -F, -v u="$u" '$1 == u {print $10}' "$TMP/w/users.csv")
check_cmd "the phone is in the source" test -n "$phone"
check_cmd "show masks the phone" bash -c "! grep -q '$phone' '$TMP/show.json'"
check_cmd "show gives the masked phone" grep -q "${phone:0:3}\*\*\*\*${phone: -4}" "$TMP/show.json"
check "show: the user's events" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["features"]["events"])' "$TMP/show.json")" \
    "$(awk -F, -v u="$u" 'NR > 1 && $1 == u {print $7}' "$TMP/p.csv")"
"$TAILOR" --data "$D" profile show nobody >/dev/null 2>&1
check "show of an unknown user: exit 1" "$?" 1
# RFM segments against the rule of segment.h applied to the export
"$TAILOR" --data "$D" segment rfm --json >"$TMP/rfm.json"
if python3 - "$TMP/p.csv" "$TMP/rfm.json" <<'EOF'; then pass; else fail "RFM segment sizes differ from a recount"; fi
import csv, json, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["orders"] not in ("", "0")]
n = len(rows)
def scores(key, reverse):
    order = sorted(range(n), key=lambda i: key(rows[i]))
    out, i = [0] * n, 0
    while i < n:
        j = i
        while j < n and key(rows[order[j]]) == key(rows[order[i]]):
            j += 1
        s = 1 + (5 * i) // n
        for k in range(i, j):
            out[order[k]] = 6 - s if reverse else s
        i = j
    return out
R = scores(lambda r: float(r["days_since_purchase"]), True)
F = scores(lambda r: int(r["orders"]), False)
M = scores(lambda r: float(r["monetary"]), False)
grid = [["Lost", "Hibernating", "At Risk", "Can't Lose", "Can't Lose"],
        ["Lost", "Hibernating", "At Risk", "At Risk", "At Risk"],
        ["About to Sleep", "About to Sleep", "Need Attention", "Loyal", "Loyal"],
        ["Promising", "Potential Loyalist", "Loyal", "Champions", "Champions"],
        ["New", "Potential Loyalist", "Loyal", "Champions", "Champions"]]
want = {}
for i in range(n):
    name = grid[R[i] - 1][(F[i] + M[i] + 1) // 2 - 1]
    want[name] = want.get(name, 0) + 1
got = json.load(open(sys.argv[2]))
assert got["customers"] == n, (got["customers"], n)
names = [s["name"] for s in got["segments"]]
assert len(names) == 11 and len(set(names)) == 11, names
for s in got["segments"]:
    assert s["size"] == want.get(s["name"], 0), (s["name"], s["size"], want.get(s["name"], 0))
assert sum(s["size"] for s in got["segments"]) == n
assert sum(1 for s in got["segments"] if s["size"]) >= 9, "most segments should be populated"
EOF
# rule segments: sizes, members and overlaps equal a brute-force count over the export
"$TAILOR" --data "$D" segment create rich --where 'monetary_90d > 100 and affinity("electronics") >= 0.2' >/dev/null
"$TAILOR" --data "$D" segment create east --where "city in ('Shanghai', 'Hangzhou', 'Suzhou') or lifecycle == \"returning\"" >/dev/null
"$TAILOR" --data "$D" segment create busy --where 'not (orders < 2) and days_since_purchase is not null' >/dev/null
for s in rich east busy; do
    "$TAILOR" --data "$D" segment size "$s" --json >"$TMP/size_$s.json"
    "$TAILOR" --data "$D" segment export "$s" --out "$TMP/members_$s.csv"
done
"$TAILOR" --data "$D" segment overlap rich east --json >"$TMP/overlap.json"
if python3 - "$TMP" <<'EOF'; then pass; else fail "segment sizes, members or overlap differ from a brute-force count"; fi
import csv, json, sys
t = sys.argv[1]
rows = list(csv.DictReader(open(f"{t}/p.csv")))
def num(v):
    return float(v) if v != "" else None
rules = {
    "rich": lambda r: num(r["monetary_90d"]) is not None and num(r["monetary_90d"]) > 100
            and num(r["affinity_electronics"]) is not None and num(r["affinity_electronics"]) >= 0.2,
    "east": lambda r: r["city"] in ("Shanghai", "Hangzhou", "Suzhou") or r["lifecycle"] == "returning",
    "busy": lambda r: num(r["orders"]) is not None and num(r["orders"]) >= 2
            and r["days_since_purchase"] != "",
}
members = {}
for name, rule in rules.items():
    want = {r["user"] for r in rows if rule(r)}
    got = json.load(open(f"{t}/size_{name}.json"))
    assert got == {"name": name, "size": len(want)}, (name, got, len(want))
    exported = {r["user"] for r in csv.DictReader(open(f"{t}/members_{name}.csv"))}
    assert exported == want, (name, len(exported ^ want))
    assert 0 < len(want) < len(rows), (name, len(want))
    members[name] = want
o = json.load(open(f"{t}/overlap.json"))
a, b = members["rich"], members["east"]
assert (o["size_a"], o["size_b"], o["both"], o["either"]) == (len(a), len(b), len(a & b), len(a | b)), o
assert abs(o["jaccard"] - len(a & b) / len(a | b)) < 1e-12, o
EOF
# show lists the segments the user is in
"$TAILOR" --data "$D" profile show "$u" --json >"$TMP/show2.json"
if python3 - "$TMP/show2.json" "$TMP" "$u" <<'EOF'; then pass; else fail "profile show lists the wrong segments"; fi
import csv, json, sys
got = set(json.load(open(sys.argv[1]))["segments"])
want = {s for s in ("rich", "east", "busy")
        if sys.argv[3] in {r["user"] for r in csv.DictReader(open(f"{sys.argv[2]}/members_{s}.csv"))}}
assert got == want, (got, want)
EOF
"$TAILOR" --data "$D" segment create oops --where 'monetary_90d >> 3' >/dev/null 2>"$TMP/err"
check "an invalid condition: exit 2" "$?" 2
check_cmd "an invalid condition is shown with a caret" grep -q '^ *\^ expected a value' "$TMP/err"
"$TAILOR" --data "$D" segment size nosuch >/dev/null 2>&1
check "size of an unknown segment: exit 1" "$?" 1
# the one rule for segment names (the API's too): none kept otherwise
for bad in "" "a b" "a/b" "$(printf 'n%.0s' $(seq 65))"; do
    "$TAILOR" --data "$D" segment create "$bad" --where 'orders >= 1' >/dev/null 2>"$TMP/err"
    check "a segment named '${bad:0:12}': exit 2" "$?" 2
done
check_cmd "... saying the rule" grep -q "segment names are 1 to 64 letters, digits, _ and -" "$TMP/err"
check "segment list --json" "$("$TAILOR" --data "$D" segment list --json | python3 -c 'import json,sys; print(sorted(s["name"] for s in json.load(sys.stdin)["segments"]))')" "['busy', 'east', 'rich']"
# tags: counts equal a recount, they survive a rebuild, a bad rule is shown with its line
cat >"$TMP/tags.txt" <<'EOF'
# comments and blank lines are fine

tag careful_buyer = detail_views_before_purchase >= 2   # viewed before buying
tag spend = "high" if monetary_365d > 500
tag spend = "low" if true
tag careful_rich = has_tag("careful_buyer") and tag_spend == "high"
EOF
"$TAILOR" --data "$D" tag apply "$TMP/tags.txt" --json >"$TMP/tags.json"
"$TAILOR" --data "$D" profile build >/dev/null
"$TAILOR" --data "$D" profile export --out "$TMP/p2.csv"
if python3 - "$TMP/p2.csv" "$TMP/tags.json" <<'EOF'; then pass; else fail "tag counts differ from a recount"; fi
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
tags = {t["name"]: t for t in json.load(open(sys.argv[2]))["tags"]}
f = lambda v: float(v) if v != "" else None
careful = [r for r in rows if f(r["detail_views_before_purchase"]) is not None and f(r["detail_views_before_purchase"]) >= 2]
high = [r for r in rows if f(r["monetary_365d"]) is not None and f(r["monetary_365d"]) > 500]
assert tags["careful_buyer"]["users"] == len(careful) > 0
assert tags["spend"]["values"] == {"high": len(high), "low": len(rows) - len(high)}
both = {r["user"] for r in careful} & {r["user"] for r in high}
assert tags["careful_rich"]["users"] == len(both)
# the rebuilt profiles carry the tags again
assert sum(r["tag_careful_buyer"] == "1" for r in rows) == len(careful)
assert sum(r["tag_spend"] == "high" for r in rows) == len(high)
EOF
printf 'tag ok = orders > 1\ntag bad = orders >\n' >"$TMP/bad.txt"
"$TAILOR" --data "$D" tag apply "$TMP/bad.txt" >/dev/null 2>"$TMP/err"
check "a bad tag rule: exit 2" "$?" 2
check_cmd "a bad tag rule names its line" grep -q "bad.txt:2:" "$TMP/err"
check "a bad tag file leaves the tags as they were" "$("$TAILOR" --data "$D" tag list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["tags"]))')" 3
# clusters: the sizes add up and the size-weighted centres give the overall means
"$TAILOR" --data "$D" segment cluster --features monetary_365d,orders,days_since_active,affinity_electronics --json >"$TMP/cl.json"
if python3 - "$TMP/p.csv" "$TMP/cl.json" <<'EOF'; then pass; else fail "cluster sizes or centres are off"; fi
import csv, json, sys
feats = ["monetary_365d", "orders", "days_since_active", "affinity_electronics"]
rows = [r for r in csv.DictReader(open(sys.argv[1])) if all(r[f] != "" for f in feats)]
c = json.load(open(sys.argv[2]))
assert 2 <= c["k"] <= 8 and c["users"] == len(rows), (c["k"], c["users"], len(rows))
assert sum(cl["size"] for cl in c["clusters"]) == len(rows)
assert -1 <= c["silhouette"] <= 1
for f in feats:
    mean = sum(float(r[f]) for r in rows) / len(rows)
    got = sum(cl["size"] * cl["means"][f] for cl in c["clusters"]) / len(rows)
    assert abs(got - mean) <= 1e-6 * (1 + abs(mean)), (f, got, mean)
EOF
"$TAILOR" --data "$D" segment cluster --features city >/dev/null 2>&1
check "clusters on a category column: exit 2" "$?" 2
# profiles as of an earlier time count only the events up to it; drift
"$TAILOR" --data "$D" profile build --as-of 2025-11-10T00:00:00Z >/dev/null
"$TAILOR" --data "$D" profile export --out "$TMP/early.csv"
"$TAILOR" --data "$D" stats --json >"$TMP/stats.json"
if python3 - "$TMP/early.csv" "$TMP/p.csv" "$TMP/stats.json" <<'EOF'; then pass; else fail "profiles as of a time count events after it"; fi
import csv, json, sys
early = {r["user"]: int(r["events"]) for r in csv.DictReader(open(sys.argv[1]))}
full = {r["user"]: int(r["events"]) for r in csv.DictReader(open(sys.argv[2]))}
days = json.load(open(sys.argv[3]))["events_by_day"]
want = sum(n for day, n in days.items() if day < "2025-11-10")
assert sum(early.values()) == want > 0, (sum(early.values()), want)
assert all(early[u] <= full[u] for u in full)
assert sum(early.values()) < sum(full.values())
EOF
"$TAILOR" --data "$D" profile drift --from 2025-11-10T00:00:00Z --to 2025-11-10T00:00:00Z --json >"$TMP/d0.json"
check "drift between the same times is zero" "$(python3 -c 'import json,sys; print(max(f["psi"] for f in json.load(open(sys.argv[1]))["features"]))' "$TMP/d0.json")" 0
"$TAILOR" --data "$D" profile drift --from 2025-11-01T00:00:00Z --segment rich --json >"$TMP/d1.json"
check_cmd "drift of a segment over two weeks" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["segment"]=="rich" and len(d["features"])>20 and all(f["psi"]>=0 and f["band"] in ("stable","watch","shifted") for f in d["features"]) and any(f["psi"]>0.1 for f in d["features"])' "$TMP/d1.json"
"$TAILOR" --data "$D" profile build >/dev/null
# the HTML report: offline, well formed, with the charts and the numbers of the CLI
"$TAILOR" --data "$D" report profiles --html "$TMP/report.html" >/dev/null
"$TAILOR" --data "$D" segment rfm --json >"$TMP/rfm2.json"
if python3 - "$TMP/report.html" "$TMP/rfm2.json" <<'EOF'; then pass; else fail "the HTML report is not as it should be"; fi
import json, re, sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
page = open(sys.argv[1], encoding="utf-8").read()
HTMLParser().feed(page)
svgs = re.findall(r"<svg.*?</svg>", page, re.S)
assert len(svgs) >= 5, len(svgs)
for s in svgs:
    ET.fromstring(s)  # each chart is well-formed XML
assert not re.search(r"(src|href)=\"?https?:", page), "loads something from the network"
for h in ("Lifecycle", "Category tastes", "RFM segments", "Segments", "Clusters"):
    assert f"<h2>{h}</h2>" in page, h
rfm = json.load(open(sys.argv[2]))
for s in rfm["segments"]:
    assert f"{s['name']}: {s['size']} customers" in page or s["size"] >= 10000, s
EOF
printf 'x' | dd of="$D/profiles.tlp" bs=1 seek=200 conv=notrunc 2>/dev/null
"$TAILOR" --data "$D" profile export >/dev/null 2>"$TMP/err"
check "a damaged snapshot: exit 1" "$?" 1
check_cmd "a damaged snapshot says to rebuild" grep -q "profile build" "$TMP/err"
finish
