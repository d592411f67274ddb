#!/usr/bin/env bash
# test_journey.sh -- journeys: users who go through steps instead of being
# sent one message. Four simulated days of a cart-rescue journey (push now;
# after 24 hours without a purchase, a coupon by e-mail; a purchase ends it;
# arm B starts at the wait; a 10 % hold-out) run by the server's scheduler,
# ticked every 30 simulated minutes, for thousands of generated users: every
# user's entry, exit and messages equal an independent computation from the
# events sent (tests/e2e/journey_sim.py). Then a branch on the profile,
# the journey measured from the entry on, runs killed at random moments
# changing nothing, and definitions refused with the step at fault.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
W=$TMP/world D=$TMP/d
"$TAILOR" gen --users 3000 --items 100 --days 5 --seed 43 --dirty 0 --end 2025-11-27T00:00:00Z \
    --out "$W" >/dev/null
"$TAILOR" --data "$D" import "$W"/{users,items,consents}.csv >/dev/null 2>&1
KEY=$("$TAILOR" --data "$D" apikey create --role admin 2>/dev/null)
cat >"$TMP/rescue.json" <<'JSON'
{"id":"rescue","channels":["push","email"],"holdout":10,"timezone":"+08:00",
 "trigger":{"event":"cart","lookback":"2h"},
 "content":{"type":"coupon","code":"BACK5"},
 "arms":[{"name":"A"},{"name":"B","start":"wait"}],
 "journey":{"exit_on":"purchase","steps":[
   {"id":"nudge","send":{"channel":"push","message":"Still thinking it over?"}},
   {"id":"wait","wait":"24h"},
   {"id":"coupon","send":{"channel":"email","content":{"type":"coupon","code":"BACK10"}}}]}}
JSON
check "a journey created" "$("$TAILOR" --data "$D" campaign create "$TMP/rescue.json")" \
    "campaign rescue (rescue): 2 arms, hold-out 10 %, channels push email, a journey"

serve "$D" --tick off
SIM=("$SRC/tests/e2e/journey_sim.py")
ARGS=("$U" "$KEY" "$W/consents.csv" "$D/outbox" "$TMP/positions.jsonl" 5)
check_cmd "four simulated days: events over HTTP, the scheduler ticked every 30 minutes" \
    python3 "${SIM[@]}" run "${ARGS[@]}"
"$TAILOR" --data "$D" campaign journey rescue --users >"$TMP/positions.jsonl"
check_cmd "every user's path equals the independent computation" python3 "${SIM[@]}" check "${ARGS[@]}"
serve_stop

# the journey is measured from the entry on: every user who entered is in
# the report, in the group drawn at entry
"$TAILOR" --data "$D" report campaign rescue --json >"$TMP/report.json" 2>"$TMP/report.err"
check_cmd "the report counts every user who entered, by group" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
pos = [json.loads(l) for l in open(sys.argv[2])]
groups = {g["group"]: g["users"] for g in r["groups"]}
want = {"holdout": sum(p["holdout"] for p in pos)}
for arm in ("A", "B"):
    want[arm] = sum(1 for p in pos if p["arm"] == arm and not p["holdout"])
assert groups == want, (groups, want)
' "$TMP/report.json" "$TMP/positions.jsonl"

# erasure takes the user out of the journey's states, with the rest
gone=$(tail -n 1 "$TMP/positions.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["user"])')
"$TAILOR" --data "$D" erase "$gone" --json >"$TMP/erase.json"
check "the erasure rewrote the journey's states" "$(jget journeys <"$TMP/erase.json")" 1
check "the erased user has no place in the journey" \
    "$("$TAILOR" --data "$D" campaign journey rescue --users | grep -c "\"$gone\"") $("$TAILOR" --data "$D" campaign journey rescue --users | wc -l)" \
    "0 $(($(wc -l <"$TMP/positions.jsonl") - 1))"
"$TAILOR" --data "$D" campaign journey rescue --users >"$TMP/positions.jsonl"

# a branch on the profile: women get the push, the others an in-app message
"$TAILOR" --data "$D" profile build >/dev/null 2>&1
cat >"$TMP/branch.json" <<'JSON'
{"id":"welcome","channels":["in_app"],"content":{"type":"coupon","code":"HELLO"},"quiet_hours":false,
 "trigger":{"event":"view","lookback":"1h"},
 "journey":{"steps":[
   {"id":"who","branch":[{"if":"gender == \"f\"","next":"push"}],"else":"inapp"},
   {"id":"push","send":{"channel":"in_app","message":"for her"},"next":"exit"},
   {"id":"inapp","send":{"channel":"in_app","message":"for everyone"}}]}}
JSON
"$TAILOR" --data "$D" campaign create "$TMP/branch.json" >/dev/null
printf 'event_id,user,item,type,ts\n' >"$TMP/views.csv"
for i in $(seq -w 1 60); do printf 'b-%s,u0000%s,i00001,view,2025-12-01T10:00:00Z\n' "$i" "$i"; done >>"$TMP/views.csv"
"$TAILOR" --data "$D" import "$TMP/views.csv" >/dev/null
"$TAILOR" --data "$D" campaign run welcome --at 2025-12-01T10:05:00Z >/dev/null
check_cmd "the branch follows the profile's gender" python3 -c '
import csv, json, sys
gender = {r["user"]: r["gender"] for r in csv.DictReader(open(sys.argv[1]))}
got = {}
for l in open(sys.argv[2]):
    m = json.loads(l)
    if m["campaign"] == "welcome":
        got[m["user"]] = m["message"]
want = {"u0000%02d" % i: "for her" if gender["u0000%02d" % i] == "f" else "for everyone" for i in range(1, 61)}
assert got == want and len(set(got.values())) == 2, (got, want)
' "$W/users.csv" "$D/outbox/in_app.jsonl"
"$TAILOR" --data "$D" campaign run welcome --at 2025-12-01T10:35:00Z >/dev/null
check "a second run sends nothing again" "$(grep -c '"campaign":"welcome"' "$D/outbox/in_app.jsonl")" 60
"$TAILOR" --data "$D" campaign journey welcome --json >"$TMP/wj.json"
check "60 entered, all left" "$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["users"], j["left"], j["on_the_way"])' "$TMP/wj.json")" "60 60 0"

# runs killed at random moments change nothing: the same runs on a copy,
# each first killed (SIGKILL) after a random few milliseconds then run
# again, leave the same messages and the same positions
cat >"$TMP/later.json" <<'JSON'
{"id":"later","channels":["in_app"],"content":{"type":"coupon","code":"LATER"},"quiet_hours":false,
 "trigger":{"event":"cart","lookback":"2h"},"holdout":20,
 "journey":{"exit_on":["purchase"],"steps":[
   {"id":"first","send":{}},
   {"id":"check","wait_for":"view","within":"1h","then":"viewed","timeout":"exit"},
   {"id":"viewed","wait":"30m"},
   {"id":"again","send":{"message":"back again"}}]}}
JSON
"$TAILOR" --data "$D" campaign create "$TMP/later.json" >/dev/null
python3 - "$TMP/later.csv" <<'PY'
import random, sys
r = random.Random(9)
with open(sys.argv[1], "w") as f:
    f.write("event_id,user,item,type,ts\n")
    n = 0
    for u in range(1, 801):
        t = 12 * 3600 + r.randrange(0, 4 * 3600)
        for kind, dt in (("cart", 0), ("view", r.randrange(0, 5400)), ("purchase", r.randrange(0, 20000))):
            n += 1
            s = t + dt
            f.write("l-%d,u%06d,i00001,%s,2025-11-30T%02d:%02d:%02dZ\n" % (n, u, kind, s // 3600, s // 60 % 60, s % 60))
PY
"$TAILOR" --data "$D" import "$TMP/later.csv" >/dev/null
cp -r "$D" "$TMP/d2"
ticks=$(python3 -c 'print(" ".join("2025-11-30T%02d:%02d:00Z" % divmod(m, 60) for m in range(12 * 60, 19 * 60, 10)))')
killed=0
for t in $ticks; do
    "$TAILOR" --data "$D" campaign run later --at "$t" >/dev/null
    timeout -s KILL "0.0$((RANDOM % 9 + 1))" "$TAILOR" --data "$TMP/d2" campaign run later --at "$t" >/dev/null 2>&1
    [[ $? -eq 137 ]] && killed=$((killed + 1))
    "$TAILOR" --data "$TMP/d2" campaign run later --at "$t" >/dev/null
done 2>/dev/null # the shell's notes of the killed
echo "# $killed of the runs killed"
msgs() { grep -h '"campaign":"later"' "$1"/outbox/*.jsonl | sed 's/"run":[0-9]*,//' | sort; }
check "killed runs: the same messages" "$(msgs "$TMP/d2" | md5sum)" "$(msgs "$D" | md5sum)"
check "killed runs: the same positions" \
    "$("$TAILOR" --data "$TMP/d2" campaign journey later --users | md5sum)" \
    "$("$TAILOR" --data "$D" campaign journey later --users | md5sum)"
check "messages at both steps" "$(msgs "$D" | grep -c '"step":"first"') $(($(msgs "$D" | grep -c '"step":"again"') > 50))" \
    "$(($(msgs "$D" | wc -l) - $(msgs "$D" | grep -c '"step":"again"'))) 1"

# two sends in one run: the second meets the cap the first filled
cat >"$TMP/twice.json" <<'JSON'
{"id":"twice","channels":["in_app"],"content":{"type":"coupon","code":"ONE"},"quiet_hours":false,
 "caps":[{"max":1,"per":"day"}],"trigger":{"event":"view"},
 "journey":{"steps":[{"id":"first","send":{}},{"id":"second","send":{"message":"again"}}]}}
JSON
"$TAILOR" --data "$D" campaign create "$TMP/twice.json" >/dev/null
printf 'event_id,user,item,type,ts\n' >"$TMP/twice.csv"
for i in 1 2 3 4 5; do printf 't-%s,u00290%s,i00001,view,2025-11-26T09:00:00Z\n' "$i" "$i"; done >>"$TMP/twice.csv"
"$TAILOR" --data "$D" import "$TMP/twice.csv" >/dev/null
"$TAILOR" --data "$D" campaign run twice --at 2025-11-26T09:05:00Z --json >"$TMP/twice.out"
check "the first of each user sent, the second capped" \
    "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["decisions"]; print(d["sent"], d["capped"])' "$TMP/twice.out") $(grep -c '"campaign":"twice"' "$D/outbox/in_app.jsonl")" \
    "5 5 5"

# a step's channel outside the campaign's list still needs its consent
cat >"$TMP/side.json" <<'JSON'
{"id":"side","channels":["in_app"],"content":{"type":"coupon","code":"SIDE"},"quiet_hours":false,
 "trigger":{"event":"view"},"journey":{"steps":[{"id":"p","send":{"channel":"push"}}]}}
JSON
"$TAILOR" --data "$D" campaign create "$TMP/side.json" >/dev/null
printf 'event_id,user,item,type,ts\n' >"$TMP/side.csv"
for i in $(seq 100 159); do printf 's-%s,u002%s,i00001,view,2025-11-26T09:00:00Z\n' "$i" "$i"; done >>"$TMP/side.csv"
"$TAILOR" --data "$D" import "$TMP/side.csv" >/dev/null
"$TAILOR" --data "$D" campaign run side --at 2025-11-26T09:05:00Z >/dev/null
check "pushed to exactly the users who consented to push" \
    "$(grep '"campaign":"side"' "$D/outbox/push.jsonl" | grep -c '"user":"u0021[0-5][0-9]"')" \
    "$(python3 -c '
import csv, sys
last = {}
for r in csv.DictReader(open(sys.argv[1])):
    if r["purpose"] == "marketing_push" and r["at"] <= "2025-11-26T09:05:00Z" and 2100 <= int(r["user"][1:]) <= 2159:
        if r["user"] not in last or last[r["user"]][0] <= r["at"]:
            last[r["user"]] = (r["at"], r["status"])
print(sum(1 for a, st in last.values() if st == "granted"))' "$W/consents.csv")"

# definitions checked whole, the step at fault named
bad() { # DESC FRAGMENT-OF-ERROR JOURNEY-JSON
    printf '{"id":"bad","channels":["push"],"trigger":{"event":"cart"},"journey":%s}' "$3" >"$TMP/bad.json"
    "$TAILOR" --data "$D" campaign create "$TMP/bad.json" >/dev/null 2>"$TMP/bad.err"
    local rc=$?
    check "$1" "$rc $(grep -c -F "$2" "$TMP/bad.err")" "2 1"
}
bad "a target that is no step" 'step "a": next "nowhere" is not a step' \
    '{"steps":[{"id":"a","send":{},"next":"nowhere"}]}'
bad "a loop without a wait" 'leads back to itself without a wait' \
    '{"steps":[{"id":"a","send":{}},{"id":"b","branch":[{"if":"true","next":"a"}],"else":"a"}]}'
bad "a step never reached" 'step "c" is never reached' \
    '{"steps":[{"id":"a","send":{},"next":"exit"},{"id":"c","wait":"1h"}]}'
bad "a field of another kind of step" 'a wait step has no field "within"' \
    '{"steps":[{"id":"a","wait":"1h","within":"2h"}]}'
bad "wait_for without its window" 'wait_for needs "within"' \
    '{"steps":[{"id":"a","wait_for":"purchase"}]}'
bad "two kinds in a step" 'is one of send, wait, wait_for, branch or exit' \
    '{"steps":[{"id":"a","wait":"1h","send":{}}]}'
bad "a duplicate step" 'two steps are named "a"' '{"steps":[{"id":"a","wait":"1h"},{"id":"a","wait":"1h"}]}'
bad "a bad reentry" 'reentry is "never" or a duration' '{"reentry":"soon","steps":[{"id":"a","wait":"1h"}]}'
printf '{"id":"bad","channels":["push"],"arms":[{"name":"A","start":"x"}]}' >"$TMP/bad.json"
"$TAILOR" --data "$D" campaign create "$TMP/bad.json" >/dev/null 2>"$TMP/bad.err"
check "an arm's start without a journey" "$? $(grep -c 'has no journey' "$TMP/bad.err")" "2 1"

finish
