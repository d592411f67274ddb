#!/usr/bin/env bash
# bench/pg.sh -- tailor on a PostgreSQL store, side by side with its peers,
# on one PostgreSQL 15 server that the script starts on loopback
# (scripts/pg.sh; a cluster in $BENCH_DIR/pg, port $PG_PORT) and stops:
#  1. import of the benchmark world's events (USERS users, 40 days, clean
#     rows: about 13 M events at the default 1 M users) through the
#     PostgreSQL back end (parsed, validated, de-duplicated under the
#     unique index, committed), against `psql \copy` of the same CSV into a
#     plain unindexed table of text columns on the same server; best of
#     REPS (default 3);
#  2. POST /v1/events, 1,000 new events a request, 8 connections for 10 s:
#     two `tailor serve` processes on one PostgreSQL store behind nginx
#     (round robin), against one process on a local data directory;
#     events/s and p99;
#  3. a profile build and a campaign run over the same world read from
#     PostgreSQL, against the same on a local data directory.
# Prints a markdown section; the figures go into docs/BENCHMARKS.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
TAILOR=${TAILOR:-$here/../build/tailor}
BENCH_DIR=${BENCH_DIR:-/tmp/tailor-bench}
USERS=${USERS:-1000000}
REPS=${REPS:-3} # IMPORT_REPS=0 leaves the import out
PG_PORT=${PG_PORT:-55490}
export TAILOR_NOW=2025-12-01T00:00:00Z
export TAILOR_KEY=${TAILOR_KEY:-$(printf '%064x' 20261206)}
mkdir -p "$BENCH_DIR"
world="$BENCH_DIR/world-$USERS-100000-40-clean"
if [ ! -f "$world/events.csv" ]; then
    echo "generating $world ..." >&2
    "$TAILOR" gen --users "$USERS" --items 100000 --days 40 --seed 1 --dirty 0 --out "$world" >&2
fi
ev="$world/events.csv"
rows=$(($(wc -l <"$ev") - 1))
PG="$BENCH_DIR/pg"
"$here/../scripts/pg.sh" fresh "$PG" "$PG_PORT" >/dev/null
base="postgresql://tailor@127.0.0.1:$PG_PORT"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    "$here/../scripts/pg.sh" stop "$PG"
}
trap cleanup EXIT
db() { psql -qX "$base/postgres" -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1" >/dev/null; }
secs() { awk "BEGIN{printf \"%.2f\", $2 - $1}"; }

# ---- 1. import -----------------------------------------------------------------------
best_tailor="" best_copy=""
for _ in $(seq "${IMPORT_REPS:-$REPS}"); do
    db bimport
    s=$(date +%s.%N)
    "$TAILOR" --store "$base/bimport" import "$ev" >/dev/null
    t=$(secs "$s" "$(date +%s.%N)")
    [ -z "$best_tailor" ] || awk "BEGIN{exit !($t < $best_tailor)}" && best_tailor=$t
    db bcopy
    psql -qX "$base/bcopy" -c "CREATE TABLE plain($(head -1 "$ev" | sed 's/\([^,]*\)/"\1" text/g'))"
    s=$(date +%s.%N)
    psql -qX "$base/bcopy" -c "\\copy plain FROM '$ev' CSV HEADER"
    t=$(secs "$s" "$(date +%s.%N)")
    [ -z "$best_copy" ] || awk "BEGIN{exit !($t < $best_copy)}" && best_copy=$t
done
if [ -n "$best_tailor" ]; then
    stored=$(psql -qAtX "$base/bimport" -c "SELECT n FROM tl_counter WHERE name = 'events'")
    [ "$stored" = "$rows" ] || { echo "tailor stored $stored events of $rows" >&2; exit 1; }
fi

# ---- 3. profile build and campaign run: PostgreSQL against local ---------------------------
db bworld
local_dir="$BENCH_DIR/pg-local-$USERS"
rm -rf "$local_dir"
files=("$world"/{users,items,products,credit,consents}.csv "$ev")
s=$(date +%s.%N)
"$TAILOR" --store "$base/bworld" import --batch 100000000 "${files[@]}" >/dev/null
t_imp_pg=$(secs "$s" "$(date +%s.%N)")
s=$(date +%s.%N)
"$TAILOR" --data "$local_dir" import --batch 100000000 "${files[@]}" >/dev/null
t_imp_local=$(secs "$s" "$(date +%s.%N)")
timed() { local s; s=$(date +%s.%N); "$@" >/dev/null; secs "$s" "$(date +%s.%N)"; }
t_prof_pg=$(timed "$TAILOR" --store "$base/bworld" profile build)
t_prof_local=$(timed "$TAILOR" --data "$local_dir" profile build)
"$TAILOR" --store "$base/bworld" campaign create "$here/campaign.json" >/dev/null
"$TAILOR" --data "$local_dir" campaign create "$here/campaign.json" >/dev/null
t_camp_pg=$(timed "$TAILOR" --store "$base/bworld" campaign run bench --at 2025-11-29T12:00:00+08:00)
t_camp_local=$(timed "$TAILOR" --data "$local_dir" campaign run bench --at 2025-11-29T12:00:00+08:00)

# ---- 2. POST /v1/events: two servers on PostgreSQL behind nginx, one on local -------------
serve() { # STORE-OPTION STORE OUT: a server on a free port, its port in $port
    "$TAILOR" "$1" "$2" serve --listen 127.0.0.1:0 --threads 4 --max-body 4000000 >"$3" 2>"$3.err" &
    pids+=($!)
    for _ in $(seq 600); do grep -q listening "$3" 2>/dev/null && break; sleep 0.1; done
    port=$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$3")
}
KEY_PG=$("$TAILOR" --store "$base/bworld" apikey create --role service 2>/dev/null)
KEY_LOCAL=$("$TAILOR" --data "$local_dir" apikey create --role service 2>/dev/null)
serve --store "$base/bworld" "$BENCH_DIR/pg-serve1.out"
p1=$port
serve --store "$base/bworld" "$BENCH_DIR/pg-serve2.out"
p2=$port
nport=$((PG_PORT + 1))
mkdir -p "$BENCH_DIR/pg-nginx/logs"
cat >"$BENCH_DIR/pg-nginx/nginx.conf" <<CONF
worker_processes 2;
pid $BENCH_DIR/pg-nginx/nginx.pid;
error_log $BENCH_DIR/pg-nginx/logs/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_max_body_size 8m;
  client_body_temp_path $BENCH_DIR/pg-nginx/body;
  proxy_temp_path $BENCH_DIR/pg-nginx/proxy;
  fastcgi_temp_path $BENCH_DIR/pg-nginx/fastcgi;
  uwsgi_temp_path $BENCH_DIR/pg-nginx/uwsgi;
  scgi_temp_path $BENCH_DIR/pg-nginx/scgi;
  upstream tailor { server 127.0.0.1:$p1; server 127.0.0.1:$p2; keepalive 16; }
  server { listen 127.0.0.1:$nport;
           location / { proxy_pass http://tailor; proxy_http_version 1.1;
                        proxy_set_header Connection ""; } }
}
CONF
nginx -c "$BENCH_DIR/pg-nginx/nginx.conf" -p "$BENCH_DIR/pg-nginx" -g 'daemon off;' &
pids+=($!)
sleep 1
events_lua() { # KEY PREFIX
    cat <<LUA
local n = 0
local id = nil
request = function()
  if not id then id = "$2" .. tostring(math.random(1, 1e9)) end
  local lines = {}
  for i = 1, 1000 do
    n = n + 1
    lines[i] = string.format('{"event_id":"%s-%d","user":"u%06d","item":"i%05d","type":"view","ts":"2025-11-30T12:00:00Z"}',
                             id, n, n % $USERS + 1, n % 100000 + 1)
  end
  return wrk.format("POST", "/v1/events", {["X-API-Key"] = "$1"}, table.concat(lines, "\n"))
end
LUA
}
events_lua "$KEY_PG" pg >"$BENCH_DIR/pg-events.lua"
# warm-up: each server reads the store's fingerprints at its first batch
wrk -t1 -c8 -d15s -s "$BENCH_DIR/pg-events.lua" "http://127.0.0.1:$nport" >/dev/null
out_pg=$(wrk -t1 -c8 -d10s --latency -s "$BENCH_DIR/pg-events.lua" "http://127.0.0.1:$nport")
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
pids=()
serve --data "$local_dir" "$BENCH_DIR/pg-serve-local.out"
pl=$port
events_lua "$KEY_LOCAL" lo >"$BENCH_DIR/pg-events-local.lua"
wrk -t1 -c8 -d15s -s "$BENCH_DIR/pg-events-local.lua" "http://127.0.0.1:$pl" >/dev/null
out_local=$(wrk -t1 -c8 -d10s --latency -s "$BENCH_DIR/pg-events-local.lua" "http://127.0.0.1:$pl")
rate() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p'; }
p99() { sed -n 's/^ *99% *//p'; }
non2xx() { sed -n 's/^ *Non-2xx or 3xx responses: *//p'; }
e_pg=$(awk "BEGIN{printf \"%.0f\", $(echo "$out_pg" | rate) * 1000}")
e_local=$(awk "BEGIN{printf \"%.0f\", $(echo "$out_local" | rate) * 1000}")

echo "## PostgreSQL back end (\`bench/pg.sh\`, $USERS users, PostgreSQL 15 on loopback)"
echo
echo "| what | tailor on PostgreSQL | peer | ratio |"
echo "|---|---|---|---|"
echo "| import of $rows events (validated, de-duplicated, committed) vs \`psql \\copy\` into a plain table: s | $best_tailor | $best_copy | $(awk "BEGIN{printf \"%.2f\", $best_copy / $best_tailor}") |"
echo "| POST /v1/events, 2 servers behind nginx vs 1 server on a local data directory: events/s | $e_pg | $e_local | $(awk "BEGIN{printf \"%.2f\", $e_pg / $e_local}") |"
echo "| ... p99 | $(echo "$out_pg" | p99) | $(echo "$out_local" | p99) | |"
echo "| import of the whole world (${#files[@]} files, one batch) vs a local data directory: s | $t_imp_pg | $t_imp_local | $(awk "BEGIN{printf \"%.2f\", $t_imp_local / $t_imp_pg}") |"
echo "| profile build vs local: s | $t_prof_pg | $t_prof_local | $(awk "BEGIN{printf \"%.2f\", $t_prof_local / $t_prof_pg}") |"
echo "| campaign run vs local: s | $t_camp_pg | $t_camp_local | $(awk "BEGIN{printf \"%.2f\", $t_camp_local / $t_camp_pg}") |"
bad_pg=$(echo "$out_pg" | non2xx)
bad_local=$(echo "$out_local" | non2xx)
echo
echo "Answers other than 2xx under load: PostgreSQL ${bad_pg:-0}, local ${bad_local:-0}."
