#!/usr/bin/env bash
# bench/scorecard.sh -- the credit scorecard against its peers.
#
#  German Credit, 5-fold stratified cross-validation (seed 0): tailor's
#  scorecard (`tailor score cv`) and, on the very same folds (written by
#  --folds-out), scikit-learn's LogisticRegression on one-hot features and
#  xgboost (bench/scorecard_peers.py); the mean held-out AUC of each. The
#  same for Bank Marketing's propensity without the duration column.
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

B=$DATASETS/bank-marketing/bank-additional-full.csv
if [ -f "$B" ]; then
    pauc=$("$TAILOR" propensity cv --csv "$B" --preset bank-marketing --folds 5 --seed 0 \
        --folds-out "$BENCH_DIR/bank-folds.csv" --json |
        /usr/bin/python3 -c 'import json,sys; print("%.4f" % json.load(sys.stdin)["auc"])')
    bpeers=$(/usr/bin/python3 "$here/scorecard_peers.py" "$B" bank-marketing "$BENCH_DIR/bank-folds.csv")
    echo
    echo "## Bank Marketing propensity without duration, 5-fold stratified CV (seed 0), same folds"
    echo
    echo "| model | mean AUC |"
    echo "|---|---|"
    echo "| tailor propensity (binning, WOE, logistic regression) | $pauc |"
    echo "$bpeers" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin)
print("| scikit-learn LogisticRegression, one-hot | %.4f |" % d["logistic_regression"])
print("| xgboost, 200 trees of depth 3 | %.4f |" % d["xgboost"])'
fi

# Speed: 150,000 rows x 10 numeric features (5 with signal), trained by
# tailor (whole: binning, WOE, regression, points) and the regression alone
# on the kept features' WOE, against scikit-learn's LogisticRegression on
# the very same WOE columns.
BIG=$BENCH_DIR/score150k.csv
if [ ! -f "$BIG" ]; then
    /usr/bin/python3 - "$BIG" <<'PY'
import sys
import numpy as np
import pandas as pd
rng = np.random.default_rng(0)
n = 150000
x = rng.normal(size=(n, 10))
x[:, 5:] = rng.lognormal(size=(n, 5))
logit = -2 + 0.8 * x[:, 0] - 0.5 * x[:, 1] + 0.3 * x[:, 2] ** 2 + 0.4 * np.log(x[:, 5]) - 0.2 * x[:, 6]
y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
df = pd.DataFrame(x, columns=[f"f{i}" for i in range(10)]).round(4)
df["bad"] = y
df.to_csv(sys.argv[1], index=False)
PY
fi
BENCH=${BENCH_ENGINE:-$here/../build/bench_engine}
best_whole="" best_lr=""
for _ in 1 2 3; do
    read -r whole lr kept auc < <("$BENCH" scorecard "$BIG" bad)
    if [ -z "$best_whole" ] || awk "BEGIN{exit !($whole < $best_whole)}"; then best_whole=$whole; fi
    if [ -z "$best_lr" ] || awk "BEGIN{exit !($lr < $best_lr)}"; then best_lr=$lr; fi
done
"$TAILOR" score train --csv "$BIG" --target bad --out "$BENCH_DIR/score150k.json" >/dev/null
peer=$(/usr/bin/python3 "$here/scorecard_speed.py" "$BIG" "$BENCH_DIR/score150k.json" bad)
sk=$(echo "$peer" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.4f %.4f" % (d["seconds"], d["auc"]))')
echo
echo "## scorecard training, 150,000 rows x 10 features ($kept kept)"
echo
echo "| step | seconds | training AUC |"
echo "|---|---|---|"
echo "| tailor, whole training (types, binning, WOE, regression, points, AUC) | $best_whole | $auc |"
echo "| tailor, logistic regression on the WOE columns | $best_lr | |"
echo "| scikit-learn LogisticRegression (lbfgs) on the same WOE columns | ${sk% *} | ${sk#* } |"
echo
echo "regression: tailor $(awk "BEGIN{printf \"%.1f\", ${sk% *} / $best_lr}")x faster"
