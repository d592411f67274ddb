#!/usr/bin/env bash
# test_scheduler.sh -- campaigns that run by themselves inside `tailor serve`.
# A day of carts and purchases for every user of a generated world is sent
# over HTTP while the scheduler is ticked every five simulated minutes
# (POST /v1/scheduler/tick): each tick decides exactly the carts an
# independent computation says are abandoned by then (no purchase within
# 30 minutes), one a user, also those sent late; every message goes out at
# the tick on a channel the user consented to, after the quiet hours for
# push, never twice in a local day (the cap). Then the scheduler's own
# thread: a cart sent over HTTP is decided without anyone asking, the
# status and metrics say so, a paused campaign and a paused scheduler
# decide nothing.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
W=$TMP/world D=$TMP/d
"$TAILOR" gen --users 3000 --items 100 --days 5 --seed 41 --dirty 0 --end 2025-11-27T00:00:00Z \
    --out "$W" >/dev/null
"$TAILOR" --data "$D" import "$W"/{users,items,consents}.csv >/dev/null 2>&1
KEY=$("$TAILOR" --data "$D" apikey create --role admin 2>/dev/null)
cat >"$TMP/cart.json" <<'JSON'
{"id":"cart","channels":["push","in_app"],"content":{"type":"coupon","code":"CART5"},
 "trigger":{"event":"cart","unless":"purchase","within":"30m","lookback":"1h"},
 "caps":[{"max":1,"per":"day"}],"holdout":10,"timezone":"+08:00"}
JSON
"$TAILOR" --data "$D" campaign create "$TMP/cart.json" >/dev/null

serve "$D" --tick off
check_cmd "a simulated day: every tick decides what the events say, the outbox agrees" \
    python3 "$SRC/tests/e2e/scheduler_sim.py" run "$U" "$KEY" "$W/consents.csv" "$D/outbox" 7
check "no thread ticks with --tick off" "$(req GET /v1/scheduler "$KEY"; jget running <"$TMP/body")" "200False"
check_cmd "the trigger lag: every decision counted, each within a tick (or its lateness) of its time" \
    python3 - "$TMP/body" <(curl -s "$U/metrics") <<'PY'
import json, re, sys
decided = json.load(open(sys.argv[1]))["campaigns"][0]["decided"]
m = open(sys.argv[2]).read()
def v(name):
    return float(re.search("^" + re.escape(name) + " (\\S+)$", m, re.M).group(1))
n = v("tailor_scheduler_trigger_lag_seconds_count")
assert n == decided, (n, decided)
assert v('tailor_scheduler_trigger_lag_seconds_bucket{le="300"}') < n  # the late ones
assert v('tailor_scheduler_trigger_lag_seconds_bucket{le="3600"}') == n
assert 0 < v("tailor_scheduler_trigger_lag_seconds_sum") <= 3600 * n
PY
serve_stop

"$TAILOR" --data "$D" status --at 2025-11-29T00:00:00Z --json >"$TMP/status1.json"
check_cmd "tailor status: the campaign read up, not due, its outbox not handed over yet" python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
c = [c for c in s["campaigns"] if c["id"] == "cart"][0]
assert c["kind"] == "trigger" and c["status"] == "active" and c["runs"] > 200, c
assert not c["due"] and c["backlog_events"] == 0 and c["last_run"] > "2025-11-28T23", c
d = {x["channel"]: x for x in s["delivery"]}
assert set(d) == {"push", "in_app"} and all(x["not_handed_over_bytes"] == x["outbox_bytes"] > 0 for x in d.values()), d
' "$TMP/status1.json"

# the same pass from the command line (what a cron job runs): a cart
# imported meanwhile is decided once, the next pass finds nothing due
printf 'event_id,user,item,type,ts\ncli-1,x000009,i00001,cart,2025-11-28T23:50:00Z\n' >"$TMP/cart.csv"
"$TAILOR" --data "$D" import "$TMP/cart.csv" >/dev/null
"$TAILOR" --data "$D" campaign run --due --at 2025-11-29T00:25:00Z --json >"$TMP/due1.json"
"$TAILOR" --data "$D" campaign run --due --at 2025-11-29T00:30:00Z --json >"$TMP/due2.json"
check_cmd "campaign run --due: the cart decided by the first pass, nothing by the second" python3 -c '
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
ca, cb = ([c for c in x["campaigns"] if c["id"] == "cart"][0] for x in (a, b))
assert a["runs"] == 1 and ca["decided"] == 1 and ca["backlog_events"] == 0, a
assert b["runs"] == 0 and cb["decided"] == 0 and cb["last_run"] is None, b
' "$TMP/due1.json" "$TMP/due2.json"

# the thread: a view of the last hour is decided without being asked for
cat >"$TMP/rt.json" <<'JSON'
{"id":"rt","channels":["in_app"],"content":{"type":"coupon","code":"HI"},"trigger":{"event":"view"}}
JSON
"$TAILOR" --data "$D" campaign create "$TMP/rt.json" >/dev/null
"$TAILOR" --data "$D" campaign pause cart >/dev/null
AKEY=$("$TAILOR" --data "$D" apikey create --role analyst 2>/dev/null)
serve "$D" --tick 100
got() { cat "$D"/outbox/*.jsonl | grep '"campaign":"rt"' | grep -c "\"user\":\"$1\""; }
view() { req POST /v1/events "$KEY" "{\"event_id\":\"$1\",\"user\":\"$2\",\"item\":\"i00001\",\"type\":\"view\",\"ts\":\"2025-11-30T23:00:00Z\"}"; }
check "a view sent" "$(view rt-1 x000001)" 200
for _ in $(seq 100); do [[ $(got x000001) -gt 0 ]] && break; sleep 0.1; done
check "decided and in the outbox within seconds" "$(got x000001)" 1
req GET /v1/scheduler "$KEY" >/dev/null
check_cmd "the status shows the run and no backlog" python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
c = [c for c in s["campaigns"] if c["id"] == "rt"][0]
assert s["running"] and s["ticks"] > 0 and c["kind"] == "trigger" and c["backlog_events"] == 0, s
assert c["last_run"]["at"] == "2025-12-01T00:00:00Z" and c["decided"] == 1 and c["errors"] == 0, c
assert not [c for c in s["campaigns"] if c["id"] == "cart"], "a paused campaign listed"
' "$TMP/body"
check_cmd "the metrics count its decisions" grep -q '^tailor_scheduler_runs_total 1$' \
    < <(curl -s "$U/metrics")
# paused: the campaign, then the scheduler, decides nothing
check "the campaign paused" "$(req POST /v1/campaigns/rt/pause "$KEY")" 200
view rt-2 x000002 >/dev/null
sleep 1
check "a paused campaign decides nothing" "$(got x000002)" 0
check "the scheduler paused" "$(req POST /v1/scheduler/pause "$KEY")" 200
check "the campaign resumed" "$(req POST /v1/campaigns/rt/resume "$AKEY")" 200
sleep 1
check "a paused scheduler decides nothing" "$(got x000002)" 0
check "nor ticks when asked" "$(req POST /v1/scheduler/tick "$KEY")" 409
check "the scheduler resumed" "$(req POST /v1/scheduler/resume "$KEY")" 200
for _ in $(seq 100); do [[ $(got x000002) -gt 0 ]] && break; sleep 0.1; done
check "resumed, the waiting view is decided, once" "$(got x000002)" 1
check "an analyst key may not tick" "$(req POST /v1/scheduler/tick "$AKEY")" 403
check "nor pause the scheduler" "$(req POST /v1/scheduler/pause "$AKEY")" 403
check "no unknown field in a tick" "$(req POST /v1/scheduler/tick "$KEY" '{"when":"x"}')" 400
serve_stop

# continuous delivery: what is decided is posted to the gateway as it falls
# due; a paused campaign's records wait, and go when it is resumed
python3 "$SRC/tests/e2e/gateway.py" "$TMP/posted.jsonl" >"$TMP/gateway.port" &
gpid=$!
trap '[[ -n $spid ]] && kill -9 $spid 2>/dev/null; kill $gpid 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 100); do [[ -s $TMP/gateway.port ]] && break; sleep 0.1; done
GW=http://127.0.0.1:$(head -n 1 "$TMP/gateway.port")
posted() { grep -c "\"user\": \"$1\"" "$TMP/posted.jsonl" 2>/dev/null || true; }
serve "$D" --tick 100 --deliver off
view rt-3 x000003 >/dev/null
for _ in $(seq 100); do [[ $(got x000003) -gt 0 ]] && break; sleep 0.1; done
check "decided while no delivery runs" "$(got x000003)" 1
serve_stop
"$TAILOR" --data "$D" campaign pause rt >/dev/null
"$TAILOR" --data "$D" campaign resume cart >/dev/null
serve "$D" --tick 100 --deliver "$GW"
dl() { req GET /v1/scheduler "$KEY" >/dev/null; python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["delivery"][sys.argv[2]])' "$TMP/body" "$1"; }
for _ in $(seq 300); do [[ $(dl paused) -gt 0 ]] && break; sleep 0.1; done
check "the outbox's earlier records posted by the server" "$(($(wc -l <"$TMP/posted.jsonl") > 1000))" 1
check "the paused campaign's three records parked" "$(dl paused)" 3
check "... not posted" "$(posted x000003)" 0
check "the campaign resumed" "$(req POST /v1/campaigns/rt/resume "$KEY")" 200
for _ in $(seq 100); do [[ $(posted x000003) -gt 0 ]] && break; sleep 0.1; done
check "resumed, its record is posted, once" "$(posted x000003)" 1
view rt-4 x000004 >/dev/null
for _ in $(seq 100); do [[ $(posted x000004) -gt 0 ]] && break; sleep 0.1; done
check "a view decided and posted within seconds" "$(posted x000004)" 1
req GET /v1/scheduler "$KEY" >/dev/null
check_cmd "the status tells the deliveries" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))["delivery"]
assert d["running"] and d["posted"] > 1000 and d["paused"] == 3 and d["passes"] > 1, d
' "$TMP/body"
check_cmd "the metrics count them" grep -q '^tailor_deliveries_total{status="posted"} [1-9]' \
    < <(curl -s "$U/metrics")
serve_stop
"$TAILOR" --data "$D" status --json >"$TMP/status2.json"
check_cmd "tailor status: every outbox handed over, nothing held" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))["delivery"]
assert d and all(x["not_handed_over_bytes"] == 0 and x["held"] == 0 for x in d), d
' "$TMP/status2.json"
finish
