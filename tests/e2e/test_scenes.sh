#!/usr/bin/env bash
# test_scenes.sh -- scene triggers run by the server's scheduler, checked
# against an independent computation from the events posted over HTTP
# (tests/e2e/scenes_sim.py): browse abandonment (a view of an electronics
# item without a cart within the hour, pushed after the quiet hours), a
# travel booking answered with the travel insurance offer ten minutes later
# (its risk disclosure included, only with consent to credit offers), and
# a promotion day's visits (a coupon during the promotion's hours, one a
# local day by a cap on the campaign's tag).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
W=$TMP/world D=$TMP/d
"$TAILOR" gen --users 3000 --items 100 --days 5 --seed 47 --dirty 0 --end 2025-11-27T00:00:00Z \
    --out "$W" >/dev/null
"$TAILOR" --data "$D" import "$W"/{users,items,products,credit,consents}.csv >/dev/null 2>&1
"$TAILOR" --data "$D" profile build >/dev/null 2>&1
KEY=$("$TAILOR" --data "$D" apikey create --role admin 2>/dev/null)
cat >"$TMP/browse.json" <<'JSON'
{"id":"browse","channels":["push"],"content":{"type":"items","items":["i00001"]},
 "trigger":{"event":"view","category":"electronics","unless":"cart","within":"1h","lookback":"2h"}}
JSON
cat >"$TMP/travel.json" <<'JSON'
{"id":"travel","channels":["push","in_app"],"consent":"credit_offers",
 "content":{"type":"offer","kind":"insurance","scene":"travel","category":"travel"},
 "trigger":{"event":"purchase","category":"travel","delay":"10m","lookback":"1h"}}
JSON
cat >"$TMP/promo.json" <<'JSON'
{"id":"promo","channels":["in_app"],"tags":["promo"],"caps":[{"tag":"promo","max":1,"per":"day"}],
 "content":{"type":"coupon","code":"DOUBLE11","value":20,"min_spend":199},
 "start":"2025-11-28T02:00:00Z","end":"2025-11-28T16:00:00Z","trigger":{"event":"view","lookback":"1h"}}
JSON
for c in browse travel promo; do "$TAILOR" --data "$D" campaign create "$TMP/$c.json" >/dev/null; done

serve "$D" --tick off
check_cmd "a day of scenes: each campaign's messages equal the independent computation" \
    python3 "$SRC/tests/e2e/scenes_sim.py" "$U" "$KEY" "$W/consents.csv" "$W/items.csv" "$D/outbox" 3
serve_stop

# the n-th event of a kind: a first purchase, a streak of three repayments
# that a missed one starts again
cat >"$TMP/first.json" <<'JSON'
{"id":"first","channels":["in_app"],"content":{"type":"coupon","code":"WELCOME"},
 "trigger":{"event":"purchase","nth":1,"lookback":"3h"}}
JSON
cat >"$TMP/streak.json" <<'JSON'
{"id":"streak","channels":["in_app"],"content":{"type":"coupon","code":"LIMIT-REVIEW"},
 "trigger":{"event":"repay","nth":3,"reset":"overdue","lookback":"30d"}}
JSON
for c in first streak; do "$TAILOR" --data "$D" campaign create "$TMP/$c.json" >/dev/null; done
python3 - "$TMP/nth.csv" <<'PY'
import sys
rows = [("n1", "x000001", "purchase", "2025-11-29T10:00:00Z"), ("n2", "x000001", "purchase", "2025-11-29T11:00:00Z"),
        ("n3", "x000002", "purchase", "2025-11-29T12:00:00Z")]
k = 3
for u, kinds in (("x000003", "rrr"), ("x000004", "rrorr"), ("x000005", "rrrrrr"), ("x000006", "rorrr")):
    for i, t in enumerate(kinds):
        k += 1
        rows.append(("n%d" % k, u, "repay" if t == "r" else "overdue", "2025-11-%02dT09:00:00Z" % (10 + i)))
with open(sys.argv[1], "w") as f:
    f.write("event_id,user,item,type,ts,amount\n")
    for r in rows:
        f.write("%s,%s,i00001,%s,%s,100\n" % r)
PY
printf 'event_id,user,item,type,ts,amount\nn0,x000002,i00001,purchase,2025-11-20T10:00:00Z,50\n' >"$TMP/before.csv"
"$TAILOR" --data "$D" import "$TMP/before.csv" >/dev/null
"$TAILOR" --data "$D" import --extra-types overdue "$TMP/nth.csv" >/dev/null
"$TAILOR" --data "$D" campaign run first --at 2025-11-29T12:30:00Z >/dev/null
"$TAILOR" --data "$D" campaign run streak --at 2025-11-29T13:00:00Z >/dev/null
who() { grep "\"campaign\":\"$1\"" "$D/outbox/in_app.jsonl" | sed 's/.*"user":"\([^"]*\)".*/\1/' | sort | tr '\n' ' '; }
check "the first purchase only: not the second, not a user who bought before" "$(who first)" "x000001 "
check "three repayments in a row, once; a missed one starts again" "$(who streak)" "x000003 x000005 x000006 "
finish
