#!/usr/bin/env bash
# bench/uplift.sh -- tailor's uplift models (two-model, class, trees) against
# scikit-learn's and xgboost's on the same split and the same features.
#
#  Two experiments, each split once into training and test units:
#  - the generated world (50,000 users, seed 5): profiles as of the
#    campaign, a campaign with a 50 % hold-out, `gen respond` (its default
#    effect) with every user's true effect; the experiment as a table
#    (bench/uplift_peers.py world: the profile columns tailor's campaign
#    uplift uses, treated, converted as the campaign's attribution counts
#    it, checked against `report campaign`), and checked again by training
#    tailor on the table and on the campaign with the same hold-out: the
#    same held-out Qini; then 30 % of the users held out (seed 0);
#  - a synthetic experiment of 100,000 units with linear, step and
#    interaction effects (bench/uplift_peers.py synth), split by a column.
#  tailor: `uplift train --csv TRAIN --test-share 0 --method M`, `uplift
#  apply --csv TEST --out` for the scores (and `uplift report --csv TEST`,
#  whose Qini must match the one computed here). The peers: two-model and
#  class-transformation LogisticRegression, class transformation by
#  GradientBoostingClassifier and XGBClassifier at their defaults
#  (bench/uplift_peers.py peers). Every method measured by one function on
#  the test units: Qini coefficient (bootstrap s.e.), uplift in the top
#  30 %, and against the true effects their correlation and the mean true
#  effect of the top 30 % (and the true effect itself as a score, the
#  ceiling). Prints a table and a status line (exit 1 when tailor's Qini
#  disagrees with `uplift report`, or its trees trail its class
#  transformation by more than two paired standard errors and 0.01).
#  About 2 minutes on 2 cores.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
TAILOR=${TAILOR:-$here/../build/tailor}
BENCH_DIR=${BENCH_DIR:-/tmp/tailor-bench}
PY=/usr/bin/python3
D=$BENCH_DIR/uplift
if ! "$PY" -c 'import xgboost, sklearn, pandas' 2>/dev/null; then
    echo "uplift.sh needs python3-xgboost, python3-sklearn and python3-pandas:" >&2
    echo "  run scripts/deps.sh --bench as root (it installs them with apt-get)" >&2
    exit 1
fi
rm -rf "$D"
mkdir -p "$D"
start=$SECONDS

# the generated world's experiment, as test_campaign.sh builds it, larger
W=$D/world UD=$D/data
echo "building the world ..." >&2
"$TAILOR" gen --users 50000 --items 1000 --days 30 --seed 5 --dirty 0 --out "$W" >/dev/null
"$TAILOR" --data "$UD" import "$W"/{users,items,products,credit,consents,events}.csv >/dev/null 2>&1
"$TAILOR" --data "$UD" profile build --as-of 2025-11-22T02:00:00Z >/dev/null
cat >"$D/up.json" <<'EOF'
{"id":"up","channels":["in_app"],"content":{"type":"coupon","code":"X"},"holdout":50,
 "attribution":{"window":"5d"}}
EOF
"$TAILOR" --data "$UD" campaign create "$D/up.json" >/dev/null
"$TAILOR" --data "$UD" campaign run up --at 2025-11-22T10:00:00+08:00 >/dev/null
"$TAILOR" --data "$UD" gen respond --campaign up --truth "$W/truth.json" --out "$D/resp.csv" \
    --effects "$D/effects.csv" >/dev/null
"$TAILOR" --data "$UD" import "$D/resp.csv" >/dev/null
"$TAILOR" --data "$UD" profile export --out "$D/profiles.csv"
"$TAILOR" --data "$UD" report campaign up --json >"$D/report.json"
"$PY" "$here/uplift_peers.py" world "$D" "$D/profiles.csv" "$UD/outbox/in_app.jsonl" "$D/effects.csv" \
    "$D/report.json" 2025-11-22T02:00:00Z 5 "$W/events.csv" "$D/resp.csv"
WF=age,orders_90d,monetary_90d,days_since_active,price_sensitivity,browse_to_buy,coupon_share,promo_share
WF=$WF,active_evening,cart_abandon_rate,events
# the table is the campaign's experiment: by the id, the same units held out, the same Qini
qc=$("$TAILOR" --data "$UD" uplift train --campaign up --model "$D/check-campaign.json" --json |
    "$PY" -c 'import json,sys; print("%.6f" % json.load(sys.stdin)["test"]["qini_coefficient"])')
qt=$("$TAILOR" uplift train --csv "$D/world-all.csv" --id user --treatment treated --outcome converted \
    --features "$WF" --model "$D/check-table.json" --json |
    "$PY" -c 'import json,sys; print("%.6f" % json.load(sys.stdin)["test"]["qini_coefficient"])')
if [ "$qc" != "$qt" ]; then
    echo "the world's table is not the campaign's experiment: held-out Qini $qc by the campaign, $qt by the table" >&2
    exit 1
fi
echo "world: the table is the campaign's experiment (\`uplift train --campaign\` and \`--csv\` on the table, the same" \
    "units held out by their id: held-out Qini $qc both ways)" >"$D/world-check.txt"

echo "writing the synthetic experiment ..." >&2
"$PY" "$here/uplift_peers.py" synth "$D"

# tailor's three methods on NAME-train.csv, scored on NAME-test.csv
tailor_methods() {
    local name=$1 id=$2 features=$3 m t0
    for m in two-model class trees; do
        echo "$name: tailor $m ..." >&2
        t0=$EPOCHREALTIME
        "$TAILOR" uplift train --csv "$D/$name-train.csv" --id "$id" --treatment treated --outcome converted \
            --features "$features" --test-share 0 --method $m --model "$D/$name-$m.model.json" >/dev/null
        "$PY" -c "print('%.3f' % ($EPOCHREALTIME - $t0))" >"$D/$name-$m.seconds"
        "$TAILOR" uplift apply --csv "$D/$name-test.csv" --id "$id" --model "$D/$name-$m.model.json" \
            --out "$D/$name-$m.scores.csv" >/dev/null
        "$TAILOR" uplift report --csv "$D/$name-test.csv" --id "$id" --treatment treated --outcome converted \
            --model "$D/$name-$m.model.json" --json >"$D/$name-$m.report.json"
    done
    echo "$name: the peers ..." >&2
    "$PY" "$here/uplift_peers.py" peers "$name" "$D" "$features"
}
tailor_methods world user "$WF"
tailor_methods synth id x0,x1,x2,x3,x4,x5,x6,x7

"$PY" "$here/uplift_peers.py" table "$D" $((SECONDS - start)) world synth
