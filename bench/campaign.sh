#!/usr/bin/env bash
# bench/campaign.sh -- one campaign run over USERS generated users (default
# 10 M) with consent, three cap rules, quiet hours, a 10 % hold-out and
# three arms (bench/campaign.json, which bench/pg.sh runs too); twice (the
# second run meets the caps and quiet hours).
# tailor's time is the whole command (store opened, consents in force read,
# contacts of earlier runs read, every user decided, outbox, exposures and
# contacts written and fsynced); the peer is the same run in pandas
# (bench/campaign_pandas.py) over the same users and consents, timed after
# its CSV load (reported apart).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
TAILOR=${TAILOR:-$here/../build/tailor}
BENCH_DIR=${BENCH_DIR:-/tmp/tailor-bench}
USERS=${USERS:-10000000}
world="$BENCH_DIR/campaign-world-$USERS" data="$BENCH_DIR/campaign-data-$USERS"
if [ ! -f "$world/consents.csv" ]; then
    "$TAILOR" gen --users "$USERS" --items 1000 --days 1 --dirty 0 --out "$world" >/dev/null
    rm -f "$world/events.csv" "$world/truth.json"
fi
if [ ! -f "$data/tailor.db" ]; then
    "$TAILOR" --data "$data" import "$world/users.csv" "$world/consents.csv" >/dev/null
fi
run_dir="$BENCH_DIR/campaign-run"
rm -rf "$run_dir" && mkdir -p "$run_dir" && cp -r "$data/." "$run_dir/" && sync
"$TAILOR" --data "$run_dir" campaign create "$here/campaign.json" >/dev/null
T1=2025-11-29T12:00:00+08:00 T2=2025-11-29T23:00:00+08:00
tl=()
for at in $T1 $T2; do
    s=$(date +%s.%N)
    "$TAILOR" --data "$run_dir" campaign run bench --at "$at" --json >"$BENCH_DIR/tailor-run.json"
    e=$(date +%s.%N)
    tl+=("$(awk "BEGIN{printf \"%.2f\", $e - $s}")")
    echo "tailor $at: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["decisions"])' "$BENCH_DIR/tailor-run.json")" >&2
done
rm -rf "$BENCH_DIR/pandas-out"
mapfile -t pd < <(/usr/bin/python3 "$here/campaign_pandas.py" "$world" "$BENCH_DIR/pandas-out" $T1 $T2 2>"$BENCH_DIR/pandas.err")
load=$(sed -n 's/^load //p' "$BENCH_DIR/pandas.err")
echo "## one campaign run over $USERS users"
echo
echo "three channels (push, sms, email) with consent, caps of 1 push a local day, 2 sms a local week and 3 contacts in 7 days, quiet hours 22:00-08:00, 10 % hold-out, three arms"
echo
echo "| run | tailor s (whole command) | pandas s (after a ${load} s CSV load) | ratio |"
echo "|---|---|---|---|"
for k in 0 1; do
    p=$(echo "${pd[$k]}" | cut -d' ' -f1)
    echo "| $((k + 1)) | ${tl[$k]} | $p | $(awk "BEGIN{printf \"%.1fx\", $p / ${tl[$k]}}") |"
done
