#!/usr/bin/env bash
# bench/scheduler.sh -- how soon `tailor serve` decides a trigger by itself.
# A store of USERS generated users (default 100,000) with DAYS (default 7)
# days of their events; a trigger campaign on carts (in-app, no delay); events posted
# over HTTP at RATE events/s (default 10,000), then 2x and 5x, for DURATION
# each (default 15), one in twenty a cart of a user new to the run
# (bench/scheduler_load.py). The lag is from a cart's acknowledgement to
# its line in the outbox, with the scheduler's default tick (250 ms).
# The peer is what cron gives today: `campaign run --due` every 5 minutes,
# whose lag is the wait for the next run (uniform over 5 minutes) plus the
# run's own time, measured here on the same store after the load.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
TAILOR=${TAILOR:-$here/../build/tailor}
BENCH_DIR=${BENCH_DIR:-/tmp/tailor-bench}
USERS=${USERS:-100000}
DAYS=${DAYS:-7}
RATE=${RATE:-10000}
DURATION=${DURATION:-15}
mkdir -p "$BENCH_DIR"
world="$BENCH_DIR/sched-world-$USERS-$DAYS" data="$BENCH_DIR/sched-data-$USERS-$DAYS"
if [ ! -f "$data/tailor.db" ]; then
    rm -rf "$world" "$data"
    "$TAILOR" gen --users "$USERS" --items 1000 --days "$DAYS" --dirty 0 --out "$world" >/dev/null
    "$TAILOR" --data "$data" import "$world"/{users,items,consents,events}.csv >/dev/null
fi
run="$BENCH_DIR/sched-run"
rm -rf "$run" && mkdir -p "$run" && cp -r "$data/." "$run/"
KEY=$("$TAILOR" --data "$run" apikey create --role admin 2>/dev/null)
cat >"$BENCH_DIR/bench-cart.json" <<'EOF'
{"id":"bench-cart","channels":["in_app"],"content":{"type":"coupon","code":"B"},
 "trigger":{"event":"cart","lookback":"1h"},"quiet_hours":false}
EOF
"$TAILOR" --data "$run" campaign create "$BENCH_DIR/bench-cart.json" >/dev/null
"$TAILOR" --data "$run" serve --listen 127.0.0.1:0 --threads 4 >"$BENCH_DIR/sched-serve.out" \
    2>"$BENCH_DIR/sched-serve.err" &
spid=$!
trap 'kill $spid 2>/dev/null || true' EXIT
for _ in $(seq 600); do grep -q listening "$BENCH_DIR/sched-serve.out" 2>/dev/null && break; sleep 0.1; done
U="http://127.0.0.1:$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$BENCH_DIR/sched-serve.out")"
echo "## a trigger decided by the server's scheduler, against cron every 5 minutes"
echo
echo "USERS=$USERS, DAYS=$DAYS ($(wc -l <"$world/events.csv") events before the load), $(nproc) cores, $(date -u +%Y-%m-%d); tick 250 ms"
echo
echo "| events/s asked | reached | carts | decided | lag p50 s | lag p99 s | max s |"
echo "|---|---|---|---|---|---|---|"
seed=1
for m in 1 2 5; do
    r=$(python3 "$here/scheduler_load.py" "$U" "$KEY" "$run/outbox/in_app.jsonl" "$USERS" $((RATE * m)) \
        "$DURATION" $seed)
    seed=$((seed + 1))
    python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print("| %d | %d | %d | %d | %s | %s | %s |" % (int(sys.argv[2]), d["rate"], d["carts"], d["decided"], d["p50"], d["p99"], d["max"]))' "$r" $((RATE * m))
done
kill -TERM $spid
wait $spid 2>/dev/null || true
# a cron run's work: every event read and every trigger of the lookback decided
s=$(date +%s.%N)
"$TAILOR" --data "$run" campaign run bench-cart --dry-run >/dev/null
e=$(date +%s.%N)
t=$(awk "BEGIN{printf \"%.2f\", $e - $s}")
echo
echo "cron: a run of the campaign (dry, every event read) on the same store took $t s;"
echo "run every 5 minutes:"
echo "lag p50 $(awk "BEGIN{printf \"%.1f\", 150 + $t}") s, p99 $(awk "BEGIN{printf \"%.1f\", 297 + $t}") s" \
     "(the wait for the next run, uniform over 300 s, plus the run)"
