#!/usr/bin/env bash
# bench/import.sh -- tailor import against the sqlite3 shell's .import.
#
# Generates a world of about 10M events (once, cached in $BENCH_DIR), then
#  1. imports events.csv with tailor (validation, quarantine, de-duplication,
#     fsync'd commits) into a fresh data directory;
#  2. imports the same CSV with `sqlite3 -cmd '.import --csv'` into a plain
#     table (no validation, no dedupe) on the same disk;
# and prints rows/s for both and their ratio, then tailor's peak memory for
# growing prefixes of the file (memory must stay flat beyond the id
# dictionaries and the set of event fingerprints), and the rate on each real
# data set under ../shared/datasets. Timing runs take the best of $REPS
# (default 5: this class of virtual machine varies by up to 40 % run to run).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
TAILOR=${TAILOR:-$here/../build/tailor}
BENCH_DIR=${BENCH_DIR:-/tmp/tailor-bench}
USERS=${USERS:-1000000} ITEMS=${ITEMS:-100000} DAYS=${DAYS:-40}
REPS=${REPS:-5}
DATASETS=${DATASETS:-$here/../../shared/datasets}
export TAILOR_NOW=2025-12-01T00:00:00Z
mkdir -p "$BENCH_DIR"
world="$BENCH_DIR/world-$USERS-$ITEMS-$DAYS"
if [ ! -f "$world/events.csv" ]; then
    echo "generating $world ..." >&2
    "$TAILOR" gen --users "$USERS" --items "$ITEMS" --days "$DAYS" --seed 1 --out "$world" >&2
fi
ev="$world/events.csv"
rows=$(($(wc -l <"$ev") - 1))
size_mb=$(($(stat -c %s "$ev") / 1048576))

# best wall time (s) and peak RSS (KB) of a command over $REPS runs; $1 = setup
best() {
    local setup=$1
    shift
    local bt="" bm=0
    for _ in $(seq 1 "$REPS"); do
        eval "$setup"
        sync
        /usr/bin/time -f "%e %M" -o "$BENCH_DIR/time.out" "$@" >/dev/null 2>"$BENCH_DIR/err" ||
            { cat "$BENCH_DIR/err" >&2; exit 1; }
        read -r t m <"$BENCH_DIR/time.out"
        if [ -z "$bt" ] || awk "BEGIN{exit !($t < $bt)}"; then bt=$t bm=$m; fi
    done
    echo "$bt $bm"
}

read -r t_tailor m_tailor < <(best "rm -rf '$BENCH_DIR/data'" "$TAILOR" --data "$BENCH_DIR/data" import "$ev")
read -r t_sqlite m_sqlite < <(best "rm -f '$BENCH_DIR/plain.db'" sqlite3 "$BENCH_DIR/plain.db" ".import --csv '$ev' events")
r_tailor=$(awk "BEGIN{printf \"%.0f\", $rows / $t_tailor}")
r_sqlite=$(awk "BEGIN{printf \"%.0f\", $rows / $t_sqlite}")
ratio=$(awk "BEGIN{printf \"%.2f\", $t_sqlite / $t_tailor}")

echo "## import: $rows rows, $size_mb MiB ($USERS users, $ITEMS items, $DAYS days)"
echo
echo "| importer | seconds | rows/s | peak RSS MiB |"
echo "|---|---|---|---|"
echo "| tailor import (validate, quarantine, dedupe, fsync) | $t_tailor | $r_tailor | $((m_tailor / 1024)) |"
echo "| sqlite3 .import --csv (plain table) | $t_sqlite | $r_sqlite | $((m_sqlite / 1024)) |"
echo
echo "tailor is ${ratio}x the speed of sqlite3 .import"
echo
echo "### peak memory against file size"
echo
echo "| rows | peak RSS MiB |"
echo "|---|---|"
for frac in 4 2 1; do
    n=$((rows / frac))
    head -n $((n + 1)) "$ev" >"$BENCH_DIR/part.csv"
    rm -rf "$BENCH_DIR/pdata"
    /usr/bin/time -f "%M" -o "$BENCH_DIR/time.out" "$TAILOR" --data "$BENCH_DIR/pdata" import "$BENCH_DIR/part.csv" >/dev/null
    echo "| $n | $(($(cat "$BENCH_DIR/time.out") / 1024)) |"
done
rm -f "$BENCH_DIR/part.csv"

if [ -d "$DATASETS" ]; then
    echo
    echo "### real data sets (one run each; small files, so start-up counts)"
    echo
    echo "| data set | rows | seconds | rows/s |"
    echo "|---|---|---|---|"
    run_set() {
        local name=$1 preset=$2
        shift 2
        rm -rf "$BENCH_DIR/rdata"
        local start end out
        start=$(date +%s%N)
        out=$("$TAILOR" --data "$BENCH_DIR/rdata" import --preset "$preset" "$@" | tail -n 1)
        end=$(date +%s%N)
        local n=${out#read=}
        n=${n%% *}
        awk -v n="$n" -v ns=$((end - start)) -v name="$name" \
            'BEGIN{s=ns/1e9; printf "| %s | %d | %.3f | %.0f |\n", name, n, s, n/s}'
    }
    run_set "MovieLens 100K ratings (u.data)" movielens "$DATASETS/movielens-100k/u.data"
    run_set "Taobao UserBehavior sample" taobao "$DATASETS/taobao-sample/UserBehavior_sample.csv"
    run_set "Online Retail sample" online-retail "$DATASETS/online-retail-sample/online_retail_sample.csv"
    run_set "Bank Marketing" bank-marketing "$DATASETS/bank-marketing/bank-additional-full.csv"
    run_set "German Credit" german-credit "$DATASETS/german-credit/german.data"
fi
rm -rf "$BENCH_DIR/data" "$BENCH_DIR/plain.db" "$BENCH_DIR/pdata" "$BENCH_DIR/rdata"
