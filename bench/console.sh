#!/usr/bin/env bash
# bench/console.sh -- what the console asks of the server, on a world of
# USERS (default 200,000) users: the latency of each read a page makes
# (median and slowest of 20), and the segment builder's count as its user
# types beside the peer an analyst would use instead, pandas counting the
# same condition with DataFrame.query over the exported profiles already
# in memory (median of 20).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
TAILOR=${TAILOR:-$here/../build/tailor}
BENCH_DIR=${BENCH_DIR:-/tmp/tailor-bench}
USERS=${USERS:-200000}
mkdir -p "$BENCH_DIR"
world="$BENCH_DIR/console-world-$USERS" data="$BENCH_DIR/console-data-$USERS"
if [ ! -f "$data/models/ials.tlm" ]; then
    rm -rf "$world" "$data"
    "$TAILOR" gen --users "$USERS" --items 20000 --days 60 --dirty 0.01 --out "$world" >/dev/null
    "$TAILOR" --data "$data" import "$world"/{users,items,products,credit,consents,events}.csv >/dev/null 2>&1 || true
    "$TAILOR" --data "$data" train --model ials >/dev/null
    "$TAILOR" --data "$data" profile build >/dev/null
    "$TAILOR" --data "$data" score train --users >/dev/null
    "$TAILOR" --data "$data" segment create big_spenders --where 'monetary_90d > 500 and orders >= 3' >/dev/null
    "$TAILOR" --data "$data" segment cluster --features monetary_365d,orders,days_since_purchase,price_sensitivity >/dev/null
    "$TAILOR" --data "$data" profile export --out "$BENCH_DIR/console-profiles-$USERS.csv" >/dev/null
fi
KEY=$("$TAILOR" --data "$data" apikey create --role admin 2>/dev/null)
"$TAILOR" --data "$data" serve --listen 127.0.0.1:0 >"$BENCH_DIR/console-serve.out" 2>"$BENCH_DIR/console-serve.err" &
pid=$!
trap 'kill $pid 2>/dev/null; true' EXIT
for _ in $(seq 600); do grep -q listening "$BENCH_DIR/console-serve.out" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$BENCH_DIR/console-serve.out")
COND='monetary_90d > 500 and orders >= 3'
/usr/bin/python3 - "http://127.0.0.1:$port" "$KEY" "$BENCH_DIR/console-profiles-$USERS.csv" "$COND" "$USERS" <<'PY'
import json, statistics, sys, time, urllib.request
import pandas as pd
url, key, csv, cond, users = sys.argv[1:]
def call(method, path, body=None):
    req = urllib.request.Request(url + path, method=method, headers={"Authorization": f"Bearer {key}"},
                                 data=None if body is None else json.dumps(body).encode())
    t = time.perf_counter()
    with urllib.request.urlopen(req, timeout=600) as r:
        b = r.read()
    return time.perf_counter() - t, b
print(f"## the console's reads, {int(users):,} users\n")
print("| read | page | median ms | slowest ms |\n|---|---|---|---|")
reads = [("POST /v1/segments/size", "segments: the count as one types", "POST", "/v1/segments/size", {"expression": cond}),
         ("POST /v1/segments/size, count()", "segments", "POST", "/v1/segments/size", {"expression": "count(view, 30d) >= 5"}),
         ("GET /v1/overview?days=30", "overview", "GET", "/v1/overview?days=30&tz=480", None),
         ("GET /v1/users/ID", "users", "GET", "/v1/users/u000042", None),
         ("GET /v1/users/ID/summary", "users", "GET", "/v1/users/u000042/summary", None),
         ("GET /v1/users/ID/events", "users", "GET", "/v1/users/u000042/events?n=30", None),
         ("GET /v1/users/ID/recommendations", "users", "GET", "/v1/users/u000042/recommendations?n=10", None),
         ("GET /v1/insights/segments", "segments", "GET", "/v1/insights/segments", None),
         ("GET /v1/campaigns", "campaigns", "GET", "/v1/campaigns", None),
         ("GET /console/vendor/echarts.min.js", "every page, once", "GET", "/console/vendor/echarts.min.js", None)]
size = None
for name, page, method, path, body in reads:
    ts = []
    for _ in range(20):
        t, b = call(method, path, body)
        ts.append(t)
        if name == "POST /v1/segments/size":
            size = json.loads(b)["size"]
    print(f"| `{name}` | {page} | {statistics.median(ts) * 1000:.1f} | {max(ts) * 1000:.1f} |")
for name, page, method, path, body in [("GET /v1/insights/drift?days=14", "data", "GET", "/v1/insights/drift?days=14", None),
                                        ("GET /v1/segments/NAME/history (6 weeks)", "segments", "GET", "/v1/segments/big_spenders/history", None),
                                        ("POST /v1/models/evaluate (ials, by age)", "models", "POST", "/v1/models/evaluate", {"model": "ials", "by": "age"})]:
    t, _ = call(method, path, body)
    print(f"| `{name}` | {page} | {t * 1000:.0f} (once) | |")
df = pd.read_csv(csv, low_memory=False)
q = cond.replace(" and ", " & ")
ts = []
for _ in range(20):
    t = time.perf_counter()
    n = int(df.query(q).shape[0])
    ts.append(time.perf_counter() - t)
tl = statistics.median([call("POST", "/v1/segments/size", {"expression": cond})[0] for _ in range(20)])
pdm = statistics.median(ts)
print(f"\n## a segment's count as one types: `{cond}`\n")
print("| engine | median ms | users |\n|---|---|---|")
print(f"| tailor, POST /v1/segments/size over HTTP (live profiles) | {tl * 1000:.1f} | {size} |")
print(f"| pandas {pd.__version__} DataFrame.query, profiles in memory | {pdm * 1000:.1f} | {n} |")
print(f"\ntailor over HTTP is {pdm / tl:.1f}x the speed of pandas in process")
PY
