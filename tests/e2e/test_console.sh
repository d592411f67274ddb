#!/usr/bin/env bash
# test_console.sh -- the web console in headless Chromium (console_browser.py
# drives it): sign-in with each role's key, a user found, a segment built
# with its live count equal to `tailor segment size`, a campaign created
# with the form, previewed, run and reported with the numbers of `tailor
# report campaign --json`, a service key kept to its page, the Chinese UI
# without an English string of the translation table, no console error on
# any page, and screenshots of every page in both languages (in
# console-shots/ of the directory the test runs in, or $TAILOR_SHOTS).
# Without Chromium, its driver or Selenium it fails: `make deps` installs them.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PY=/usr/bin/python3 # Debian's, with python3-selenium
if [[ ! -x /usr/bin/chromium || ! -x /usr/bin/chromedriver ]] || ! $PY -c 'import selenium' 2>/dev/null; then
    fail "chromium, chromium-driver and python3-selenium are needed (make deps installs them)"
    finish
fi
export TAILOR_KEY=$(printf '%064x' 20261207)
W=$TMP/world
D=$TMP/d
"$TAILOR" gen --users 3000 --items 300 --days 30 --seed 4 --dirty 0.01 --identifiers 2 --out "$W" >/dev/null
"$TAILOR" --data "$D" import "$W"/{users,items,products,credit,consents,events}.csv >/dev/null 2>&1
"$TAILOR" --data "$D" train --model ials >/dev/null
"$TAILOR" --data "$D" profile build >/dev/null
"$TAILOR" --data "$D" score train --users --challenger --folds 3 >/dev/null
"$TAILOR" --data "$D" campaign create "$SRC/examples/rescue.json" >/dev/null
"$TAILOR" --data "$D" segment cluster --features monetary_365d,orders,days_since_purchase,price_sensitivity >/dev/null
"$TAILOR" --data "$D" segment create recent --where 'days_since_active <= 7' >/dev/null
# a campaign of a fortnight ago with its uplift model, for the report's Qini
cat >"$TMP/spring.json" <<'JSON'
{"id":"spring","name":"spring coupons","audience":"days_since_active <= 60","channels":["push","sms","email"],
 "content":{"type":"coupon","code":"SPRING","value":20},"holdout":30,"attribution":{"window":"10d"}}
JSON
"$TAILOR" --data "$D" campaign create "$TMP/spring.json" >/dev/null
"$TAILOR" --data "$D" campaign run spring --at 2025-11-15T10:00:00Z >/dev/null
"$TAILOR" --data "$D" uplift train --campaign spring >/dev/null
ADM=$("$TAILOR" --data "$D" apikey create --role admin --name console 2>/dev/null)
ANA=$("$TAILOR" --data "$D" apikey create --role analyst 2>/dev/null)
SVC=$("$TAILOR" --data "$D" apikey create --role service 2>/dev/null)

serve "$D" --tick 200
check "the console's page" "$(req GET / "")" 200
check_cmd "... is the console" grep -q 'js/app.js' "$TMP/body"
check "the charting library, built in" "$(req GET /console/vendor/echarts.min.js "")" 200
etag=$(curl -s -D - -o /dev/null "$U/console/js/app.js" | sed -n 's/^ETag: *//ip' | tr -d '\r')
check "a file not changed since: 304" "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$U/console/js/app.js")" 304
check "a file the console has not: 404" "$(req GET /console/nope.js "")" 404
check_cmd "the pages run this origin's scripts only" \
    sh -c "curl -s -D - -o /dev/null '$U/' | grep -qi \"content-security-policy: default-src 'self'\""
check "a bad condition is a check's answer, not a failed request" \
    "$(req POST /v1/segments/size "$ANA" '{"expression":"orders >"}'; echo " $(jget valid <"$TMP/body") $(jget position <"$TMP/body")")" \
    "200 False 8"
check "... a service key may not ask" "$(req POST /v1/segments/size "$SVC" '{"expression":"orders > 1"}')" 403
check "the import history: a record per file, nothing lost" "$(req GET /v1/imports "$ANA")" 200
check_cmd "... read = accepted + duplicates + quarantined" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))["imports"]
assert len(d) == 6 and all(x["read"] == x["accepted"] + x["duplicates"] + x["quarantined"] for x in d), d
assert any(x["source"].endswith("events.csv") and x["quarantined"] > 0 for x in d), d' "$TMP/body"
# a person the store joined from several identifiers, to look up
user=$(python3 - "$W/identities.truth" "$U" "$ANA" <<'PY'
import csv, json, sys, urllib.request
by = {}
for r in csv.DictReader(open(sys.argv[1])):
    by.setdefault(r["person"], []).append(r["identifier"])
for person, ids in by.items():
    if len(ids) < 3:
        continue
    req = urllib.request.Request(f"{sys.argv[2]}/v1/users/{person}/identity", headers={"Authorization": f"Bearer {sys.argv[3]}"})
    d = json.load(urllib.request.urlopen(req))
    if len(d["identifiers"]) >= 3 and any(l["state"] == "in_force" for l in d["links"]):
        print(person)
        break
PY
)
check_cmd "a person joined from three identifiers or more" test -n "$user"
req GET '/v1/overview?days=30' "$ANA" >/dev/null
events=$(python3 -c 'import json,sys; print(sum(d["events"] for d in json.load(open(sys.argv[1]))["days"]))' "$TMP/body")
cat >"$TMP/facts.json" <<JSON
{"admin": "$ADM", "analyst": "$ANA", "service": "$SVC", "tailor": "$TAILOR", "data": "$D",
 "key": "$TAILOR_KEY", "i18n": "$SRC/console/i18n", "user": "$user",
 "segment": "orders >= 2 and monetary_90d > 100", "overview_events": $events}
JSON
shots=${TAILOR_SHOTS:-$PWD/console-shots}
out=$(timeout 600 $PY "$SRC/tests/e2e/console_browser.py" "$U" "$shots" "$TMP/facts.json" 2>"$TMP/browser.err")
rc=$?
echo "$out"
passed=$((passed + $(grep -c '^ok ' <<<"$out")))
failed=$((failed + $(grep -c '^FAIL ' <<<"$out")))
if ! grep -q '^all browser checks passed$\|browser check(s) failed$' <<<"$out"; then
    fail "the browser run stopped (exit $rc): $(tail -5 "$TMP/browser.err")"
fi
missing=""
for page in signin overview users segments campaigns campaign-new campaign reports report scheduler models data; do
    for l in en zh; do [[ -s $shots/$page-$l.png ]] || missing+=" $page-$l"; done
done
check "a screenshot of every page in both languages" "${missing:-none missing}" "none missing"
serve_stop
finish
