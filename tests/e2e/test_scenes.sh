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
finish
