#!/usr/bin/env bash
# bench/scorecard.sh -- the credit scorecard against its peers.
#
#  German Credit, 5-fold stratified cross-validation (seed 0): tailor's
#  scorecard (`tailor score cv`) and, on the very same folds (written by
#  --folds-out), scikit-learn's LogisticRegression on one-hot features and
#  xgboost (bench/scorecard_peers.py); the mean held-out AUC of each.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
TAILOR=${TAILOR:-$here/../build/tailor}
DATASETS=${TAILOR_DATASETS:-$here/../../shared/datasets}
BENCH_DIR=${BENCH_DIR:-/tmp/tailor-bench}
mkdir -p "$BENCH_DIR"
G=$DATASETS/german-credit/german.data
if [ ! -f "$G" ]; then
    echo "SKIP: German Credit not found at $G"
    exit 0
fi
auc=$("$TAILOR" score cv --csv "$G" --preset german-credit --folds 5 --seed 0 \
    --folds-out "$BENCH_DIR/german-folds.csv" --json |
    /usr/bin/python3 -c 'import json,sys; print("%.4f" % json.load(sys.stdin)["auc"])')
peers=$(/usr/bin/python3 "$here/scorecard_peers.py" "$G" german-credit "$BENCH_DIR/german-folds.csv")
lr=$(echo "$peers" | /usr/bin/python3 -c 'import json,sys; print("%.4f" % json.load(sys.stdin)["logistic_regression"])')
xg=$(echo "$peers" | /usr/bin/python3 -c 'import json,sys; print("%.4f" % json.load(sys.stdin)["xgboost"])')
echo "## German Credit scorecard, 5-fold stratified CV (seed 0), same folds"
echo
echo "| model | mean AUC |"
echo "|---|---|"
echo "| tailor scorecard (binning, WOE, logistic regression, points) | $auc |"
echo "| scikit-learn LogisticRegression, one-hot | $lr |"
echo "| xgboost, 200 trees of depth 3 | $xg |"
