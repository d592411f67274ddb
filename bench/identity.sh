#!/usr/bin/env bash
# bench/identity.sh -- `tailor profile build` with identity resolution
# against the same build without it, and pandas resolving the same links.
#
# Generates the world of bench/profile.sh twice with the same seed (once,
# cached in $BENCH_DIR): with member ids only (the world of bench/import.sh)
# and with $IDS identifiers a person on average (devices, OpenIDs, a phone;
# events name them, `identify` events link them). Each is imported into a
# data directory of its own (not timed), then the profiles are built from
# each store: with identifiers the build also resolves the links into
# persons and folds every identifier's events into its person's row. Best of
# $REPS runs each; prints seconds, identifiers, persons, peak memory and the
# cost ratio. The peer (bench/identity_pandas.py, Debian's python3-pandas run
# by /usr/bin/python3) does the resolution alone: reads the CSV files,
# applies the links in time order under the same merge rules with a
# union-find in Python, and gives every event its person.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
TAILOR=${TAILOR:-$here/../build/tailor}
BENCH_DIR=${BENCH_DIR:-/tmp/tailor-bench}
USERS=${USERS:-1000000} ITEMS=${ITEMS:-100000} DAYS=${DAYS:-40}
IDS=${IDS:-2.5}
REPS=${REPS:-3}
export TAILOR_NOW=2025-12-01T00:00:00Z
mkdir -p "$BENCH_DIR"
base="$BENCH_DIR/world-$USERS-$ITEMS-$DAYS"
for world in "$base" "$base-ids$IDS"; do
    if [ ! -f "$world/events.csv" ]; then
        echo "generating $world ..." >&2
        more=()
        [ "$world" = "$base" ] || more=(--identifiers "$IDS")
        "$TAILOR" gen --users "$USERS" --items "$ITEMS" --days "$DAYS" --seed 1 "${more[@]}" \
            --out "$world" >&2
    fi
    data="$BENCH_DIR/identity-data-$(basename "$world")"
    if [ ! -f "$data/tailor.db" ]; then
        "$TAILOR" --data "$data" import "$world"/{users,items,credit,events}.csv >/dev/null
    fi
done
best() {
    local b=""
    for _ in $(seq 1 "$REPS"); do
        /usr/bin/time -f "%e %M" -o "$BENCH_DIR/time.out" "$@" >"$BENCH_DIR/out" 2>"$BENCH_DIR/err" ||
            { cat "$BENCH_DIR/err" >&2; exit 1; }
        read -r t m <"$BENCH_DIR/time.out"
        if [ -z "$b" ] || awk "BEGIN{exit !($t < ${b%% *})}"; then b="$t $m $(tail -n 1 "$BENCH_DIR/out")"; fi
    done
    echo "$b"
}
# identifiers and events in the store; persons: the rows the profiles keep
# (an identifier merged into another's person has no row of its own)
counts() {
    local data=$1
    "$TAILOR" --data "$data" stats --json | /usr/bin/python3 -c \
        'import json,sys; s=json.load(sys.stdin); print(s["users"], s["events"], s["events_by_type"].get("identify", 0))'
    "$TAILOR" --data "$data" profile export | tail -n +2 | wc -l
}
d0="$BENCH_DIR/identity-data-$(basename "$base")"
d1="$BENCH_DIR/identity-data-$(basename "$base")-ids$IDS"
read -r t0 m0 _ < <(best "$TAILOR" --data "$d0" profile build)
read -r t1 m1 _ < <(best "$TAILOR" --data "$d1" profile build)
read -r t_pd m_pd peer < <(best /usr/bin/python3 "$here/identity_pandas.py" "$base-ids$IDS")
{ read -r u0 e0 _; read -r p0; } < <(counts "$d0")
{ read -r u1 e1 l1; read -r p1; } < <(counts "$d1")
declare -A pk
for kv in $peer; do pk[${kv%%=*}]=${kv#*=}; done
echo "## profile build with identity resolution: $USERS people, $IDS identifiers a person"
echo
echo "| build | events | identifiers | persons | seconds | peak RSS MiB |"
echo "|---|---|---|---|---|---|"
echo "| tailor profile build, member ids only | $e0 | $u0 | $p0 | $t0 | $((m0 / 1024)) |"
echo "| tailor profile build, identifiers resolved ($l1 identify events) | $e1 | $u1 | $p1 | $t1 | $((m1 / 1024)) |"
echo "| pandas 1.5 + union-find in Python, resolution only (${pk[links]} links, ${pk[refused]} refused) | ${pk[events]} | ${pk[identifiers]} | ${pk[persons]} | $t_pd (${pk[seconds]} of it after reading the CSV files) | $((m_pd / 1024)) |"
echo
echo "identity resolution costs $(awk "BEGIN{printf \"%.2f\", $t1 / $t0}")x the build without it" \
     "(+$(awk "BEGIN{printf \"%.2f\", $t1 - $t0}") s);" \
     "the whole build with it is $(awk "BEGIN{printf \"%.1f\", $t_pd / $t1}")x the speed of pandas' resolution alone"
