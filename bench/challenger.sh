#!/usr/bin/env bash
# bench/challenger.sh -- the gradient-boosted challenger beside the scorecard
# and beside the same trees grown by Python.
#
#  For German Credit, Bank Marketing's propensity (without duration) and
#  150,000 generated applicants (outliers, missing values, a U-shaped age
#  and interactions; bench/challenger_peers.py gen): `tailor score|propensity
#  cv --challenger`, with and without --no-monotone, 5 stratified folds,
#  seed 0, the folds written by --folds-out; then on exactly those folds
#  (bench/challenger_peers.py peers) xgboost's XGBClassifier with the same
#  settings on pandas' one-hot columns (one thread, then every core, for the
#  time), xgboost on the challenger's own matrix, and scikit-learn's
#  LogisticRegression. Prints the mean AUC of each, the training times, and
#  a status line (exit 1 when the unconstrained challenger trails the
#  Python trees by more than 0.01 AUC). 2 to 5 minutes on 2 cores.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
TAILOR=${TAILOR:-$here/../build/tailor}
DATASETS=${TAILOR_DATASETS:-$here/../../shared/datasets}
BENCH_DIR=${BENCH_DIR:-/tmp/tailor-bench}
PY=/usr/bin/python3
D=$BENCH_DIR/challenger
mkdir -p "$D"
if ! "$PY" -c 'import xgboost, sklearn, pandas' 2>/dev/null; then
    echo "challenger.sh needs python3-xgboost, python3-sklearn and python3-pandas:" >&2
    echo "  run scripts/deps.sh --bench as root (it installs them with apt-get)" >&2
    exit 1
fi
start=$SECONDS
ran=()

# bench NAME KIND TABLE COMMAND ARGS...: the three cross-validations and the
# peers on their folds, into $D/NAME-{card,mono,free,peers}.json
bench() {
    local name=$1 kind=$2 table=$3
    shift 3
    local cv=("$TAILOR" "$@" --folds 5 --seed 0 --json)
    echo "running $name ..." >&2
    "${cv[@]}" >"$D/$name-card.json"
    "${cv[@]}" --challenger --folds-out "$D/$name-folds.csv" >"$D/$name-mono.json"
    "${cv[@]}" --challenger --no-monotone --folds-out "$D/$name-folds-free.csv" >"$D/$name-free.json"
    cmp -s "$D/$name-folds.csv" "$D/$name-folds-free.csv" || { echo "$name: the folds differ between runs" >&2; exit 1; }
    "$PY" "$here/challenger_peers.py" peers "$kind" "$table" "$D/$name-folds.csv" >"$D/$name-peers.json"
    ran+=("$name")
}

G=$DATASETS/german-credit/german.data
if [ -f "$G" ]; then
    bench german german-credit "$G" score cv --csv "$G" --preset german-credit
else
    echo "SKIP: German Credit not found at $G" >&2
fi
B=$DATASETS/bank-marketing/bank-additional-full.csv
if [ -f "$B" ]; then
    bench bank bank-marketing "$B" propensity cv --csv "$B" --preset bank-marketing
else
    echo "SKIP: Bank Marketing not found at $B" >&2
fi
A=$D/applicants150k.csv
"$PY" "$here/challenger_peers.py" gen "$A"
bench applicants applicants "$A" score cv --csv "$A" --target default --bad-value 1 --id id

"$PY" "$here/challenger_peers.py" table "$D" $((SECONDS - start)) "${ran[@]}"
