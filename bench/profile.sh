#!/usr/bin/env bash
# bench/profile.sh -- `tailor profile build` against pandas computing the
# core of the same features from the same generated files.
#
# Uses the world of bench/import.sh (about 13 M events, 1 M users): tailor
# imports it once (not timed here: that is bench/import.sh), then builds the
# profiles from its store; pandas (Debian's python3-pandas, run by
# /usr/bin/python3) reads the CSV files and computes the features with
# groupby. Best of $REPS runs each; prints seconds and the ratio.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
TAILOR=${TAILOR:-$here/../build/tailor}
BENCH_DIR=${BENCH_DIR:-/tmp/tailor-bench}
USERS=${USERS:-1000000} ITEMS=${ITEMS:-100000} DAYS=${DAYS:-40}
REPS=${REPS:-3}
export TAILOR_NOW=2025-12-01T00:00:00Z
world="$BENCH_DIR/world-$USERS-$ITEMS-$DAYS"
if [ ! -f "$world/events.csv" ]; then
    mkdir -p "$BENCH_DIR"
    "$TAILOR" gen --users "$USERS" --items "$ITEMS" --days "$DAYS" --seed 1 --out "$world" >&2
fi
data="$BENCH_DIR/profile-data"
if [ ! -f "$data/tailor.db" ]; then
    "$TAILOR" --data "$data" import "$world"/{users,items,credit,events}.csv >/dev/null
fi
best() {
    local b=""
    for _ in $(seq 1 "$REPS"); do
        /usr/bin/time -f "%e %M" -o "$BENCH_DIR/time.out" "$@" >/dev/null 2>"$BENCH_DIR/err" ||
            { cat "$BENCH_DIR/err" >&2; exit 1; }
        read -r t m <"$BENCH_DIR/time.out"
        if [ -z "$b" ] || awk "BEGIN{exit !($t < ${b% *})}"; then b="$t $m"; fi
    done
    echo "$b"
}
events=$("$TAILOR" --data "$data" stats --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["events"])')
read -r t_tailor m_tailor < <(best "$TAILOR" --data "$data" profile build)
read -r t_pandas m_pandas < <(best /usr/bin/python3 "$here/profile_pandas.py" "$world" "$BENCH_DIR/pandas-profiles.csv")
echo "## profile build: $events events, $USERS users"
echo
echo "| builder | seconds | peak RSS MiB |"
echo "|---|---|---|"
echo "| tailor profile build (64 features, from the store, snapshot written) | $t_tailor | $((m_tailor / 1024)) |"
echo "| pandas 1.5 (22 + affinity features, from the CSV files) | $t_pandas | $((m_pandas / 1024)) |"
echo
echo "tailor is $(awk "BEGIN{printf \"%.1f\", $t_pandas / $t_tailor}")x the speed of pandas"
read -r n_ev t_ap rate < <("${BENCH_ENGINE:-$here/../build/bench_engine}" apply "$data" - - -)
echo
echo "incremental update: $n_ev events applied one at a time to empty profiles in $t_ap s = $rate events/s (one thread)"
