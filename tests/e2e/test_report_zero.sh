#!/usr/bin/env bash
# test_report_zero.sh -- a campaign report at zero counts: no conversion in
# the hold-out (0 of 21) against 5 of 69 in the arm. The difference's
# interval (Newcombe's) reaches below zero as the z-test's p of 0.2 says,
# and what is undefined (the relative lift, its upper bound, the hold-out's
# order value and repurchase rate) is "n/a" in the text and the HTML and
# null in the JSON, never "nan".
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

W=$TMP/world
D=$TMP/d
"$TAILOR" gen --users 90 --items 20 --days 10 --seed 5 --dirty 0 --out "$W" >/dev/null
"$TAILOR" --data "$D" import "$W"/{users,items,consents}.csv >/dev/null 2>&1
cat >"$TMP/z.json" <<'EOF'
{"id":"z","channels":["in_app"],"content":{"type":"coupon","code":"X"},"holdout":25,
 "attribution":{"window":"5d"}}
EOF
"$TAILOR" --data "$D" campaign create "$TMP/z.json" >/dev/null
"$TAILOR" --data "$D" campaign run z --at 2025-11-22T10:00:00Z >"$TMP/run.txt"
check "... 69 sent, 21 held out" "$(grep -o 'sent=[0-9]* holdout=[0-9]*' "$TMP/run.txt")" "sent=69 holdout=21"
# five of the arm buy the day after; no one in the hold-out does
python3 - "$D/outbox/in_app.jsonl" >"$TMP/buy.csv" <<'EOF'
import json, sys
print("event_id,user,item,type,ts,amount")
for i, l in enumerate(list(open(sys.argv[1]))[:5]):
    print("z%d,%s,i00001,purchase,2025-11-23T10:00:00Z,50" % (i, json.loads(l)["user"]))
EOF
"$TAILOR" --data "$D" import "$TMP/buy.csv" >/dev/null

"$TAILOR" --data "$D" report campaign z >"$TMP/rep.txt"
"$TAILOR" --data "$D" report campaign z --json >"$TMP/rep.json"
"$TAILOR" --data "$D" report campaign z --html "$TMP/rep.html" >/dev/null
for f in rep.txt rep.json rep.html; do
    check "no nan in $f" "$(grep -c -i -w 'nan' "$TMP/$f")" 0
done
check_cmd "text: the relative lift is n/a, open above" grep -q "relative n/a \[-56.7%, n/a\]" "$TMP/rep.txt"
check_cmd "text: the difference's interval reaches below zero" grep -q "conversion  +7.246 pts \[-8.755, +15.867\]" "$TMP/rep.txt"
check_cmd "text: the hold-out's order value and repurchase rate are n/a" \
    grep -Eq "^  holdout +21 +0 .* n/a +n/a$" "$TMP/rep.txt"
check_cmd "JSON: null where undefined, the bounds that exist given" python3 - "$TMP/rep.json" <<'EOF'
import json, sys
g = {x["group"]: x for x in json.load(open(sys.argv[1]))["groups"]}
h, lift = g["holdout"], g["A"]["lift"]
assert h["average_order_value"] is None and h["repurchase_rate"] is None, h
rel = lift["conversion_rel"]
assert rel["value"] is None and rel["hi"] is None and abs(rel["lo"] + 0.56673104) < 1e-6, rel
ab = lift["conversion_abs"]
assert ab["lo"] < 0 < ab["hi"] and lift["conversion_p"] > 0.05, (ab, lift["conversion_p"])
EOF
check_cmd "HTML: the relative lift is n/a, open above" grep -q "n/a \[-56.7 %, n/a\]" "$TMP/rep.html"
finish
