#!/usr/bin/env bash
# test_server.sh -- `tailor serve` driven with curl on a free loopback
# port: keys and roles (401, 403), JSON errors with positions, the size
# limit, events in (durable, validated like import, each rejected record
# with its reason, duplicates counted) and seen by the next profile read,
# masked personal data and the audit log, recommendations, segments with
# paging, metrics, reload on SIGHUP, and SIGTERM letting a request in
# flight finish before exiting 0; offers that follow a consent change at
# once; campaigns created, run over the live profiles and reported;
# subject access.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

W=$TMP/world
D=$TMP/d
"$TAILOR" gen --users 3000 --items 300 --days 30 --seed 4 --dirty 0 --out "$W" >/dev/null
"$TAILOR" --data "$D" import "$W"/{users,items,products,credit,consents,events}.csv >/dev/null 2>&1
"$TAILOR" --data "$D" train --model ials >/dev/null
"$TAILOR" --data "$D" train --model pop >/dev/null
"$TAILOR" --data "$D" profile build >/dev/null
"$TAILOR" --data "$D" score train --users >/dev/null
SVC=$("$TAILOR" --data "$D" apikey create --role service --name shop 2>/dev/null)
ANA=$("$TAILOR" --data "$D" apikey create --role analyst 2>/dev/null)
ADM=$("$TAILOR" --data "$D" apikey create --role admin 2>/dev/null)
check "an API key is shown once, the store keeps a hash" \
    "$(sqlite3 "$D/tailor.db" "select count(*) from api_keys where hash like '%${SVC#tl_}%'")" 0

"$TAILOR" --data "$D" serve --listen 127.0.0.1:0 --max-body 65536 >"$TMP/serve.out" 2>"$TMP/serve.err" &
pid=$!
trap 'kill -9 $pid 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 100); do grep -q listening "$TMP/serve.out" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$TMP/serve.out")
U="http://127.0.0.1:$port"
check "health" "$(req GET /healthz "")" 200
check "no key: 401" "$(req GET /v1/users/u000001/profile "")" 401
check "... as a JSON error" "$(jget code <"$TMP/body")" unauthorized
check "an unknown key: 401" "$(req GET /v1/users/u000001/profile tl_0000)" 401
check "the wrong role: 403" "$(req GET /v1/segments "$SVC")" 403
check "an unknown route: 404" "$(req GET /v1/nothing "$SVC")" 404
check "a wrong method: 405" "$(req DELETE /v1/events "$SVC")" 405

check "recommendations" "$(req GET '/v1/users/u000001/recommendations?n=5' "$SVC")" 200
check "... five of them" "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["items"]))' "$TMP/body")" 5
check "recommendations in a category" "$(req GET '/v1/users/u000001/recommendations?n=5&category=books' "$SVC")" 200
check_cmd "... all of it" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["items"] and all(i["category"] == "books" for i in d["items"]), d' "$TMP/body"
first=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["items"][0]["item"])' "$TMP/body")
check "... leaving one out" "$(req GET "/v1/users/u000001/recommendations?n=5&category=books&exclude=$first" "$SVC")" 200
check_cmd "... without it" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert sys.argv[2] not in [i["item"] for i in d["items"]], d' "$TMP/body" "$first"
check "an id sent percent-encoded" "$(req GET /v1/users/u%30%30%30%30%30%32/profile "$ANA"; echo " $(jget user <"$TMP/body")")" "200 u000002"
check "a query value with an encoded comma" "$(req GET '/v1/users/u000001/recommendations?n=3&category=books%2Cfood' "$SVC")" 200
check "an unknown category: 400" "$(req GET '/v1/users/u000001/recommendations?category=spaceships' "$SVC")" 400
check "n out of range: 400" "$(req GET '/v1/users/u000001/recommendations?n=0' "$SVC")" 400
check "another model by name" "$(req GET '/v1/users/u000001/recommendations?n=3&model=pop' "$SVC"; echo " $(jget model <"$TMP/body")")" "200 pop"
check "... an unknown one: 404" "$(req GET '/v1/users/u000001/recommendations?model=nope' "$SVC")" 404
check "... a bad name: 400" "$(req GET '/v1/users/u000001/recommendations?model=..%2Fx' "$SVC")" 400
check "the scene of an item on screen" "$(req GET '/v1/users/u000001/recommendations?n=10&scene=item:i00010' "$SVC")" 200
check_cmd "... goes with it, without it" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); ids=[i["item"] for i in d["items"]]; assert d["scene"] == "item:i00010" and "i00010" not in ids and any(i.get("because") == "i00010" for i in d["items"]), d' "$TMP/body"
check "an unknown scene: 400" "$(req GET '/v1/users/u000001/recommendations?scene=beach' "$SVC")" 400
check "a scene item that does not exist: 404" "$(req GET '/v1/users/u000001/recommendations?scene=item:nope' "$SVC")" 404
check "an item put in the cart" "$(req POST /v1/events "$SVC" '{"event_id":"cart-scene-1","user":"u000009","item":"i00010","type":"cart","ts":"2025-11-30T11:00:00Z"}')" 200
check "... is the cart scene at once" "$(req GET '/v1/users/u000009/recommendations?n=10&scene=cart' "$SVC")" 200
check_cmd "... what goes with it, without it" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); ids=[i["item"] for i in d["items"]]; assert "i00010" not in ids and any(i.get("because") == "i00010" for i in d["items"]), d' "$TMP/body"

check "a profile" "$(req GET /v1/users/u000001/profile "$ANA")" 200
cp "$TMP/body" "$TMP/profile1.json"
check_cmd "personal data masked, never in clear" python3 - "$TMP/profile1.json" "$W/users.csv" <<'PY'
import csv, json, sys
p = json.load(open(sys.argv[1]))
u = next(r for r in csv.DictReader(open(sys.argv[2])) if r["user"] == "u000001")
text = open(sys.argv[1]).read()
assert "*" in p["phone"] and u["phone"] not in text and u["email"] not in text, p
PY
check "the read is in the audit log" \
    "$("$TAILOR" --data "$D" audit list --user u000001 --json | python3 -c 'import json,sys; print(sum(e["what"] == "read profile" for e in json.load(sys.stdin)))')" 1

# events: two good, one bad; then the same again
EV='[{"event_id":"api-1","user":"u000001","item":"i00001","type":"purchase","ts":"2025-11-30T10:00:00Z","amount":99},
{"event_id":"api-2","user":"u000001","item":"i00002","type":"view","ts":"2025-11-30T10:01:00Z"},
{"event_id":"api-3","user":"u000002","type":"teleport","ts":"2025-11-30T10:02:00Z"}]'
n0=$("$TAILOR" --data "$D" stats --json 2>/dev/null | jget events)
check "events in" "$(req POST /v1/events "$SVC" "$EV")" 200
check_cmd "... two accepted, the bad one rejected with its index and reason" python3 - "$TMP/body" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["accepted"] == 2 and d["quarantined"] == 1 and d["read"] == 3, d
assert d["rejected"] == [{"index": 2, "reason": "unknown_type", "message": d["rejected"][0]["message"]}], d
PY
check "the same again: duplicates" "$(req POST /v1/events "$SVC" "$EV" >/dev/null; jget duplicates <"$TMP/body")" 2
req GET /v1/users/u000001/profile "$ANA" >/dev/null
check_cmd "the next profile read sees the purchase" python3 - "$TMP/profile1.json" "$TMP/body" <<'PY'
import json, sys
a, b = (json.load(open(f))["features"] for f in sys.argv[1:])
assert b["orders"] == a["orders"] + 1 and abs(b["monetary"] - a["monetary"] - 99) < 1e-6, (a["orders"], b["orders"])
assert b["events"] == a["events"] + 2
PY
check "JSON Lines work too" "$(req POST /v1/events "$SVC" '{"event_id":"api-4","user":"u000003","type":"view","ts":"2025-11-30T11:00:00Z"}'; echo " $(jget accepted <"$TMP/body")")" "200 1"
check "malformed JSON: 400" "$(req POST /v1/segments "$ANA" '{"name": "x", "expression": ')" 400
check_cmd "... with the position" grep -q "near byte" "$TMP/body"
check "a body over the limit: 413" "$(req POST /v1/events "$SVC" "$(head -c 70000 /dev/zero | tr '\0' ' ')")" 413

# segments
check "a segment" "$(req POST /v1/segments "$ANA" '{"name":"buyers","expression":"orders >= 1"}')" 201
size=$(jget size <"$TMP/body")
check "an unknown field: 400" "$(req POST /v1/segments "$ANA" '{"name":"b","expression":"true","colour":1}')" 400
check "a bad expression: 400" "$(req POST /v1/segments "$ANA" '{"name":"b","expression":"orders >="}')" 400
# the one rule for segment names (the command line's too)
for bad in '""' '"a b"' '"a/b"' '"../x"' "\"$(printf 'n%.0s' $(seq 65))\""; do
    check "a segment named $bad: 400 bad_name" "$(req POST /v1/segments "$ANA" "{\"name\":$bad,\"expression\":\"true\"}"; jget code <"$TMP/body")" 400bad_name
done
check "... none of them kept" "$(req GET /v1/segments "$ANA"; python3 -c 'import json,sys; print([s["name"] for s in json.load(open(sys.argv[1]))["segments"]])' "$TMP/body")" "200['buyers']"
check "its definition and size" "$(req GET /v1/segments/buyers "$ANA"; echo " $(jget size <"$TMP/body")")" "200 $size"
check_cmd "its members page by page add up to its size" python3 - "$U" "$ANA" "$size" <<'PY'
import json, sys, urllib.request
u, key, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
seen, cursor = [], None
while True:
    q = "/v1/segments/buyers/members" + ("?cursor=" + cursor if cursor else "")
    r = urllib.request.urlopen(urllib.request.Request(u + q, headers={"X-API-Key": key}))
    d = json.load(r)
    seen += d["members"]
    cursor = d.get("next_cursor")
    if not cursor:
        break
assert len(seen) == len(set(seen)) == size, (len(seen), size)
PY

# similar items, feedback, consents, the OpenAPI document
check "similar items" "$(req GET '/v1/items/i00010/similar?n=4' "$SVC")" 200
check "... four" "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["items"]))' "$TMP/body")" 4
check "an unknown item: 404" "$(req GET /v1/items/nope/similar "$SVC")" 404
check "feedback" "$(req POST /v1/feedback "$SVC" '[{"user":"u000005","kind":"complaint","at":"2025-11-30T10:00:00Z","channel":"push"},{"user":"u000006","kind":"review","at":"2025-11-30T10:00:00Z"}]')" 200
check_cmd "... the complaint kept and suppressing, the review without a score rejected" python3 - "$TMP/body" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["accepted"] == 1 and d["suppressed"] == 1 and d["rejected"][0]["index"] == 1, d
assert d["rejected"][0]["reason"] == "missing_field", d
PY
check "feedback with an unknown field: 400" "$(req POST /v1/feedback "$SVC" '{"user":"u000005","kind":"complaint","at":"2025-11-30T10:00:00Z","mood":"bad"}')" 400
check "a consent" "$(req PUT /v1/users/u000007/consents/marketing_sms "$SVC" '{"granted":false,"at":"2025-11-30T09:00:00Z"}')" 200
check "... of an unknown user: 404" "$(req PUT /v1/users/nobody/consents/marketing_sms "$SVC" '{"granted":true}')" 404
check "... with a wrong type: 400" "$(req PUT /v1/users/u000007/consents/marketing_sms "$SVC" '{"granted":"yes"}')" 400
# profiling withdrawn live: no profile, recommendations anybody's
req GET '/v1/users/nobody-at-all/recommendations?n=5' "$SVC" >/dev/null
anyone=$(jget items <"$TMP/body")
req POST /v1/segments "$ANA" '{"name":"everyone","expression":"events >= 0"}' >/dev/null
all=$(req GET /v1/segments/everyone "$ANA" >/dev/null; jget size <"$TMP/body")
check "recommendations personalised before" "$(req GET '/v1/users/u000008/recommendations?n=5' "$SVC"; jget personalised <"$TMP/body")" 200MISSING
check "profiling withdrawn" "$(req PUT /v1/users/u000008/consents/profiling "$SVC" '{"granted":false}')" 200
check "... recommendations not personalised" "$(req GET '/v1/users/u000008/recommendations?n=5' "$SVC"; jget personalised <"$TMP/body")" 200False
check "... the list anybody gets" "$(jget items <"$TMP/body")" "$anyone"
check "... with a filter too" "$(req GET '/v1/users/u000008/recommendations?n=5&category=books' "$SVC"; jget personalised <"$TMP/body")" 200False
check "... no profile kept" "$(req GET /v1/users/u000008/profile "$ANA"; jget profiling <"$TMP/body"; jget features <"$TMP/body")" "200withdrawn
{}"
check "... in no segment" "$(req GET /v1/segments/everyone "$ANA"; jget size <"$TMP/body")" "200$((all - 1))"
check "given back" "$(req PUT /v1/users/u000008/consents/profiling "$SVC" '{"granted":true}')" 200
check "... a profile again" "$(req GET /v1/users/u000008/profile "$ANA"; jget profiling <"$TMP/body")" 200MISSING
check "... in the segment again" "$(req GET /v1/segments/everyone "$ANA"; jget size <"$TMP/body")" "200$all"
check "subject access is for admins" "$(req GET /v1/users/u000007/data "$ANA")" 403
check "everything held about a user" "$(req GET /v1/users/u000007/data "$ADM")" 200
check_cmd "... personal fields in clear, the consent just given, every event, the profile reads" python3 - "$TMP/body" "$W/users.csv" "$W/events.csv" <<'PY'
import csv, json, sys
d = json.load(open(sys.argv[1]))
u = next(r for r in csv.DictReader(open(sys.argv[2])) if r["user"] == "u000007")
assert d["user"] == "u000007" and d["personal"]["phone"] == u["phone"] and d["personal"]["email"] == u["email"], d["personal"]
assert d["attributes"]["city"] == u["city"], d["attributes"]
assert {"purpose": "marketing_sms", "granted": False, "at": "2025-11-30T09:00:00Z"} in d["consents"], d["consents"]
ids = {r["event_id"] for r in csv.DictReader(open(sys.argv[3])) if r["user"] == "u000007"}
assert len(d["events"]) == len(ids) > 0, (len(d["events"]), len(ids))
assert d["profile"]["events"] == len(ids), d["profile"]
assert "buyers" in d["segments"] or d["profile"]["orders"] == 0, d["segments"]
PY
check "... and the export is in the audit log" "$("$TAILOR" --data "$D" audit list --user u000007 --json | python3 -c 'import json,sys; print(sum(e["what"] == "export data" for e in json.load(sys.stdin)))')" 1
check "the OpenAPI document" "$(req GET /v1/openapi.json "")" 200
check_cmd "... describes every route the server has" python3 - "$TMP/body" "$SRC/src/server/server.c" <<'PY'
import json, re, sys
doc = json.load(open(sys.argv[1]))
src = open(sys.argv[2]).read()
routes = re.findall(r'\{"(GET|POST|PUT|DELETE)", "(/[^"]*)"', src)
paths = doc["paths"]
names = {p: re.sub(r"\{[^}]*\}", "{}", p) for p in paths}
for m, r in routes:
    hit = [p for p, n in names.items() if n == r]
    assert hit and m.lower() in paths[hit[0]], (m, r)
PY

# offers: a user with a credit offer loses it the moment the consent is withdrawn
check_cmd "offers for a user with credit offers" python3 - "$U" "$SVC" "$TMP/offer_user" <<'PY'
import json, sys, urllib.request
url, key, out = sys.argv[1:4]
credit = ("instalment", "credit_line", "credit_card")
for i in range(1, 400):
    u = "u%06d" % i
    r = urllib.request.Request(url + "/v1/users/%s/offers?n=20" % u, headers={"Authorization": "Bearer " + key})
    d = json.load(urllib.request.urlopen(r))
    assert d["user"] == u and d["scene"] == "home"
    if any(o["kind"] in credit for o in d["offers"]):
        open(out, "w").write(u)
        break
else:
    raise SystemExit("nobody has a credit offer")
PY
ou=$(cat "$TMP/offer_user")
check "consent to credit offers withdrawn" "$(req PUT "/v1/users/$ou/consents/credit_offers" "$SVC" '{"granted":false}')" 200
: >"$D/offers.log"
check "offers right after" "$(req GET "/v1/users/$ou/offers?n=20&explain=true" "$SVC")" 200
check_cmd "... no credit any more, each block naming the consent" python3 - "$TMP/body" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
credit = ("instalment", "credit_line", "credit_card")
assert not [o for o in d["offers"] if o["kind"] in credit], d["offers"]
blocked = [o for o in d["not_offered"] if "blocked_by" in o]
assert blocked and all("no consent to credit offers" in o["blocked_by"] for o in blocked), blocked
PY
check "... the user named there by pseudonym only" "$(grep -c "$ou" "$D/offers.log")" 0
check "... and each block is in offers.log" "$(wc -l <"$D/offers.log")" "$(python3 -c 'import json,sys; print(sum("blocked_by" in o for o in json.load(open(sys.argv[1]))["not_offered"]))' "$TMP/body")"
check "offers in a purchase scene" "$(req GET "/v1/users/u000001/offers?scene=purchase&category=electronics&amount=4000" "$SVC")" 200
check "offers with a bad amount: 400" "$(req GET "/v1/users/u000001/offers?amount=lots" "$SVC")" 400
check "offers of an unknown user: 404" "$(req GET /v1/users/nobody/offers "$SVC")" 404

# campaigns: created, run over the live profiles with the loaded model, reported
check "a campaign with a bad field: 400" "$(req POST /v1/campaigns "$ANA" '{"id":"x","channels":["push"],"holdot":10}')" 400
check "... naming it" "$(jget message <"$TMP/body" | grep -c holdot)" 1
CAMP='{"id":"api-recs","audience":"buyers","channels":["push"],"content":{"type":"recommendations","n":3},"holdout":10}'
check "a campaign" "$(req POST /v1/campaigns "$ANA" "$CAMP")" 201
check "... again: 409" "$(req POST /v1/campaigns "$ANA" "$CAMP")" 409
check "... replaced" "$(req POST '/v1/campaigns?replace=true' "$ANA" "$CAMP")" 200
check "an analyst may not run it" "$(req POST /v1/campaigns/api-recs/run "$ANA")" 403
check "a dry run" "$(req POST /v1/campaigns/api-recs/run "$ADM" '{"dry_run":true}')" 200
check_cmd "... decides every member of the segment once" python3 - "$TMP/body" "$U" "$ANA" <<'PY'
import json, sys, urllib.request
d = json.load(open(sys.argv[1]))
r = urllib.request.Request(sys.argv[2] + "/v1/segments/buyers", headers={"Authorization": "Bearer " + sys.argv[3]})
size = json.load(urllib.request.urlopen(r))["size"]
assert d["audience"] == size == sum(d["decisions"].values()) and size > 0, (d, size)
PY
check "... writing nothing" "$(cat "$D/outbox/push.jsonl" 2>/dev/null | wc -l)" 0
check "a run" "$(req POST /v1/campaigns/api-recs/run "$ADM" '{"at":"2025-12-01T10:00:00+08:00"}')" 200
sent=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["decisions"]["sent"])' "$TMP/body")
check_cmd "... whose deliveries carry the loaded model's recommendations" python3 - "$D/outbox/push.jsonl" "$sent" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"api-recs"' in l]
assert len(rows) == int(sys.argv[2]) > 0, (len(rows), sys.argv[2])
assert all(r["content"]["type"] == "recommendations" and len(r["content"]["items"]) == 3 for r in rows), rows[0]
PY
check "a run with an unknown field: 400" "$(req POST /v1/campaigns/api-recs/run "$ADM" '{"when":"now"}')" 400
check "a run of an unknown campaign: 404" "$(req POST /v1/campaigns/nope/run "$ADM")" 404
check "its report" "$(req GET /v1/campaigns/api-recs/report "$ANA")" 200
check_cmd "... with the hold-out and the sends" python3 - "$TMP/body" "$sent" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["campaign"] == "api-recs" and d["decisions"]["sent"] == int(sys.argv[2]), d["decisions"]
assert {g["group"] for g in d["groups"]} >= {"holdout"}, d["groups"]
PY

check "metrics" "$(req GET /metrics "")" 200
check_cmd "... count requests by route and status, with latencies and events" python3 - "$TMP/body" <<'PY'
import sys
t = open(sys.argv[1]).read()
assert 'tailor_http_requests_total{route="/v1/events",status="200"} 4' in t, t
assert 'tailor_http_request_duration_seconds_count{route="/v1/users/{}/profile"}' in t
assert "tailor_events_ingested_total 4" in t and "tailor_events_quarantined_total 2" in t, t
PY

# keys through the API while serving (the CLI cannot write: the server holds the store)
check "the CLI says the store is in use" "$("$TAILOR" --data "$D" apikey create --role admin 2>&1 >/dev/null | grep -c 'another tailor process')" 1
check "an admin creates a key" "$(req POST /v1/admin/keys "$ADM" '{"role":"service","name":"app"}')" 201
NEW=$(jget key <"$TMP/body")
id=$(jget id <"$TMP/body")
check "... which works at once" "$(req GET /v1/users/u000002/recommendations "$NEW")" 200
check "... and is revoked at once" "$(req DELETE "/v1/admin/keys/$id" "$ADM")" 204
check "a revoked key is refused" "$(req GET /v1/users/u000002/recommendations "$NEW")" 401
check "an analyst may not create keys" "$(req POST /v1/admin/keys "$ANA" '{"role":"admin"}')" 403
# erasure: the user's events, profile and data go, and the id cannot come back
req GET /healthz "" >/dev/null
ev_before=$(jget events <"$TMP/body")
check "erasure is for admins" "$(req DELETE /v1/users/u000011 "$ANA")" 403
check "erase a user" "$(req DELETE /v1/users/u000011 "$ADM")" 200
erased=$(jget events <"$TMP/body")
check "... who had events" "$([ "$erased" -gt 0 ] && echo yes)" yes
check "... has no profile any more" "$(req GET /v1/users/u000011/profile "$ANA")" 404
check "... nor data to export" "$(req GET /v1/users/u000011/data "$ADM")" 404
req GET /healthz "" >/dev/null
check "... nor events" "$(jget events <"$TMP/body")" "$((ev_before - erased))"
check "an event of the erased user" "$(req POST /v1/events "$SVC" '[{"event_id":"after-erase-1","user":"u000011","type":"view","ts":"2025-11-30T12:00:00Z"}]')" 200
check "... is refused as erased_user" "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["accepted"], d["rejected"][0]["reason"])' "$TMP/body")" "0 erased_user"
check "erasing again says so" "$(req DELETE /v1/users/u000011 "$ADM"; jget status <"$TMP/body")" "200erased before"
check "erasing a user never seen: 404" "$(req DELETE /v1/users/nobody "$ADM")" 404
check "others are served as before" "$(req GET /v1/users/u000012/recommendations "$ANA")" 200
# reload: the model is loaded again
kill -HUP $pid
for _ in $(seq 50); do grep -q reloaded "$TMP/serve.err" && break; sleep 0.1; done
check "SIGHUP loads the model again" "$(curl -s "$U/metrics" | sed -n 's/^tailor_reloads_total //p')" 1
check "POST /v1/admin/reload does too" "$(req POST /v1/admin/reload "$ADM")" 200
check "after the reload, profiling given back: personalised again" "$(req GET '/v1/users/u000008/recommendations?n=5' "$SVC"; jget personalised <"$TMP/body")" 200MISSING
# the scorecard's challenger: none, then trained and loaded beside it, then damaged (named, not fatal)
check "no challenger beside the scorecard: null" "$(req GET /v1/models "$ANA"; jget challenger <"$TMP/body")" 200None
"$TAILOR" --data "$D" score train --users --challenger >/dev/null
check "a challenger trained is loaded by a reload" "$(req POST /v1/admin/reload "$ADM")" 200
check "... and shown beside the scorecard, on the same rows" "$(req GET /v1/models "$ANA"; python3 -c '
import json, sys
d = json.load(open(sys.argv[1])); c, b = d["scorecard"], d["challenger"]
print(b["rows"] == c["rows"] and b["bads"] == c["bads"] and 0.5 < b["auc"] <= 1 and 0 < b["ks"] <= 1 and b["held_out"] is None,
      b["trees"], b["depth"], b["columns"] >= len([f for f in c["features"] if f["kept"]]), 0 <= b["constrained"] <= b["columns"])' "$TMP/body")" "200True 300 4 True True"
printf '{"trees": [1, 2' >"$D/models/scorecard-challenger.json"
check "a damaged challenger does not stop a reload" "$(req POST /v1/admin/reload "$ADM")" 200
check "... it is named, the scorecard still in force" "$(req GET /v1/models "$ANA"; python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(bool(d["challenger"]["error"]), d["scorecard"]["rows"] > 0)' "$TMP/body")" "200True True"

# SIGTERM while a large batch is in flight: it finishes, durably, and the server exits 0
python3 -c '
import json
print("\n".join(json.dumps({"event_id": "bulk-%d" % i, "user": "u%06d" % (i % 2990 + 12), "type": "view",
                             "ts": "2025-11-30T12:00:00Z"}) for i in range(20000)))' >"$TMP/bulk.jsonl"
kill -TERM $pid
wait $pid
check "the first server exited 0 on SIGTERM" "$?" 0
"$TAILOR" --data "$D" serve --listen 127.0.0.1:0 --max-body 8000000 >"$TMP/serve2.out" 2>"$TMP/serve2.err" &
pid=$!
for _ in $(seq 100); do grep -q listening "$TMP/serve2.out" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$TMP/serve2.out")
curl -s -H "Authorization: Bearer $ADM" --data-binary @"$TMP/bulk.jsonl" "http://127.0.0.1:$port/v1/events" >"$TMP/bulk.out" &
cpid=$!
sleep 0.3
kill -TERM $pid
wait $cpid
wait $pid
check "SIGTERM: exit 0" "$?" 0
check "... after the request in flight finished" "$(jget accepted <"$TMP/bulk.out")" 20000
check "... durably" "$("$TAILOR" --data "$D" stats --json | jget events)" "$((n0 + 3 + 20000 - erased))"
check "the audit log's chain holds" "$("$TAILOR" --data "$D" audit verify --json | jget ok)" True
finish
