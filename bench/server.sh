#!/usr/bin/env bash
# bench/server.sh -- the HTTP API under wrk, beside nginx.
#
#  1. GET /v1/users/ID/recommendations?n=10 over USERS (default 100,000)
#     users of a generated world with an iALS model loaded, users taken in
#     a scattered order, after one warm-up pass; against nginx serving a
#     static JSON document of the same size, with the same wrk settings
#     (2 threads, 64 connections, 10 s; both servers with 2 workers).
#  2. The latency at about half of tailor's maximum throughput (wrk paced by
#     a per-connection delay): p50, p99.
#  3. POST /v1/events in batches of 1,000 new events (durable before each
#     answer): events per second.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
TAILOR=${TAILOR:-$here/../build/tailor}
BENCH_DIR=${BENCH_DIR:-/tmp/tailor-bench}
USERS=${USERS:-100000}
mkdir -p "$BENCH_DIR"
world="$BENCH_DIR/server-world-$USERS" data="$BENCH_DIR/server-data-$USERS"
if [ ! -f "$data/models/ials.tlm" ]; then
    rm -rf "$world" "$data"
    "$TAILOR" gen --users "$USERS" --items 20000 --days 30 --dirty 0 --out "$world" >/dev/null
    "$TAILOR" --data "$data" import "$world"/{users,items,products,credit,consents,events}.csv >/dev/null
    "$TAILOR" --data "$data" train --model ials >/dev/null
fi
run="$BENCH_DIR/server-run"
rm -rf "$run" && mkdir -p "$run" && cp -r "$data/." "$run/"
KEY=$("$TAILOR" --data "$run" apikey create --role admin 2>/dev/null)
"$TAILOR" --data "$run" serve --listen 127.0.0.1:0 --threads 4 --max-body 4000000 \
    >"$BENCH_DIR/serve.out" 2>"$BENCH_DIR/serve.err" &
pid=$!
nginx_pid=
trap 'kill $pid 2>/dev/null; [ -n "$nginx_pid" ] && kill $nginx_pid 2>/dev/null; true' EXIT
for _ in $(seq 600); do grep -q listening "$BENCH_DIR/serve.out" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$BENCH_DIR/serve.out")
cat >"$BENCH_DIR/recs.lua" <<LUA
request = function()
  local u = string.format("u%06d", math.random(1, $USERS))
  return wrk.format("GET", "/v1/users/" .. u .. "/recommendations?n=10", {["X-API-Key"] = "$KEY"})
end
LUA
wrk_rate() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p'; }
# the server computes every user's list after loading the model; wait for it
for _ in $(seq 1200); do
    m=$(curl -s "http://127.0.0.1:$port/metrics")
    ready=$(echo "$m" | sed -n 's/^tailor_recommendations_ready_users //p')
    all=$(echo "$m" | sed -n 's/^tailor_recommendations_model_users //p')
    [ -n "$ready" ] && [ "$ready" = "$all" ] && break
    sleep 0.5
done
wrk -t2 -c64 -d3s -s "$BENCH_DIR/recs.lua" "http://127.0.0.1:$port" >/dev/null
tailor_out=$(wrk -t2 -c64 -d10s --latency -s "$BENCH_DIR/recs.lua" "http://127.0.0.1:$port")
t_rate=$(echo "$tailor_out" | wrk_rate)
# nginx: a static document the size of a typical answer
curl -s -H "X-API-Key: $KEY" "http://127.0.0.1:$port/v1/users/u000001/recommendations?n=10" >"$BENCH_DIR/static.json"
size=$(stat -c %s "$BENCH_DIR/static.json")
nport=$((port + 1))
mkdir -p "$BENCH_DIR/nginx/logs"
cat >"$BENCH_DIR/nginx/nginx.conf" <<CONF
worker_processes 2;
pid $BENCH_DIR/nginx/nginx.pid;
error_log $BENCH_DIR/nginx/logs/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  default_type application/json;
  client_body_temp_path $BENCH_DIR/nginx/body;
  proxy_temp_path $BENCH_DIR/nginx/proxy;
  fastcgi_temp_path $BENCH_DIR/nginx/fastcgi;
  uwsgi_temp_path $BENCH_DIR/nginx/uwsgi;
  scgi_temp_path $BENCH_DIR/nginx/scgi;
  server { listen 127.0.0.1:$nport; location / { root $BENCH_DIR; try_files /static.json =404; } }
}
CONF
nginx -c "$BENCH_DIR/nginx/nginx.conf" -p "$BENCH_DIR/nginx" -g 'daemon off;' &
nginx_pid=$!
sleep 1
nginx_out=$(wrk -t2 -c64 -d10s --latency -s "$BENCH_DIR/recs.lua" "http://127.0.0.1:$nport")
n_rate=$(echo "$nginx_out" | wrk_rate)
kill $nginx_pid; nginx_pid=
# half of tailor's maximum: connections that each wait 1 ms between requests
delay=1
conns=$(awk "BEGIN{printf \"%d\", $t_rate / 2 * 0.00125 + 0.5}")
cat >"$BENCH_DIR/recs_paced.lua" <<LUA
$(cat "$BENCH_DIR/recs.lua")
delay = function() return $delay end
LUA
paced=$(wrk -t2 -c"$conns" -d10s --latency -s "$BENCH_DIR/recs_paced.lua" "http://127.0.0.1:$port")
p_rate=$(echo "$paced" | wrk_rate)
p50=$(echo "$paced" | sed -n 's/^ *50% *//p')
p99=$(echo "$paced" | sed -n 's/^ *99% *//p')
# events in batches of 1,000
cat >"$BENCH_DIR/events.lua" <<LUA
local n = 0
local id = nil
request = function()
  if not id then id = tostring(os.time()) .. "-" .. tostring(math.random(1, 1e9)) end
  local lines = {}
  for i = 1, 1000 do
    n = n + 1
    lines[i] = string.format('{"event_id":"b%s-%d","user":"u%06d","item":"i%05d","type":"view","ts":"2025-11-30T12:00:00Z"}',
                             id, n, n % $USERS + 1, n % 20000 + 1)
  end
  return wrk.format("POST", "/v1/events", {["X-API-Key"] = "$KEY"}, table.concat(lines, "\n"))
end
LUA
wrk -t1 -c8 -d3s -s "$BENCH_DIR/events.lua" "http://127.0.0.1:$port" >/dev/null
ev=$(wrk -t1 -c8 -d10s -s "$BENCH_DIR/events.lua" "http://127.0.0.1:$port")
e_rate=$(echo "$ev" | wrk_rate)
dups=$(curl -s "http://127.0.0.1:$port/metrics" | sed -n 's/^tailor_events_duplicate_total //p')
echo "## HTTP API (\`bench/server.sh\`, $USERS users, 20,000 items, iALS)"
echo
echo "| what | tailor | nginx (static file of $size bytes) | ratio |"
echo "|---|---|---|---|"
echo "| GET recommendations, wrk -t2 -c64 -d10s: requests/s | $t_rate | $n_rate | $(awk "BEGIN{printf \"%.2f\", $t_rate / $n_rate}") |"
echo
echo "At about half of that ($p_rate requests/s: $conns connections, each waiting $delay ms between requests): p50 $p50, p99 $p99."
echo
echo "POST /v1/events, 1,000 events a request, 8 connections (concurrent batches share a commit): $(awk "BEGIN{printf \"%.0f\", $e_rate * 1000}") events/s ($e_rate requests/s), each batch durable before its answer; duplicates among all events posted: $dups."
