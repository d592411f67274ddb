#!/usr/bin/env bash
# bench/tune.sh -- options chosen on validation against the best the test
# itself would choose. For each data set and model, `tailor eval --grid`
# twice: chosen on a validation part of the training (the default; the
# test measured for the chosen point alone: a) and every point measured on
# the test with the best taken (`--select-on test`, an optimistic figure:
# b); NDCG@10 of both, a/b (goal: >= 0.98), the test NDCG of the model's
# default options (a point of every grid) and each command's wall time.
#  1. MovieLens 100K, u1.base -> u1.test (all ratings; ratings >= 4 for EASE);
#  2. MovieLens 100K imported into a store: leave-last-out and time splits
#     of the last 14 and 30 days;
#  3. a generated world of USERS (default 200,000) users, ITEMS (default
#     10,000: EASE on 20,000 items takes about 150 s a grid point, 45 min
#     for the two grids) items and DAYS (60) days, time split of the last
#     7 days; then `train --tune` with the family's own grid on it, and EASE
#     and iALS past the edge of that grid (chosen on validation).
# MovieLens is skipped with a message when the data set is absent. About
# 15 min on 2 cores at the defaults.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
TAILOR=${TAILOR:-$here/../build/tailor}
DATASETS=${DATASETS:-$here/../../shared/datasets}
USERS=${USERS:-200000} ITEMS=${ITEMS:-10000} DAYS=${DAYS:-60}
export TAILOR_NOW=2025-12-01T00:00:00Z
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tailor-tune.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
G_EASE='lambda=100,200,400,800,1600,3200,6400,12800'
G_IALS='alpha=1,2,5,10 reg=10,50,200'
G_KNN='neighbours=25,50,100,200 shrink=0,10,100'
rows=() tuned=() edge=()
now() { date +%s.%N; }
secs() { awk "BEGIN{printf \"%.1f\", $2 - $1}"; }

# compare LABEL MODEL GRID TAILOR-ARGS...: one table row, the grid chosen on
# validation and on the test; a 1 or 0 (goal met) appended to $tmp/goal
compare() {
    local label=$1 model=$2 grid=$3
    shift 3
    echo "$label: $model ..." >&2
    local s m e
    s=$(now)
    "$TAILOR" "$@" --model "$model" --grid "$grid" --json >"$tmp/v.json"
    m=$(now)
    "$TAILOR" "$@" --model "$model" --grid "$grid" --select-on test --json >"$tmp/t.json"
    e=$(now)
    rows+=("$(python3 - "$tmp/v.json" "$tmp/t.json" "$grid" "$label" "$model" "$(secs "$s" "$m")" \
        "$(secs "$m" "$e")" "$tmp/goal" <<'PY'
import json, sys
v, t = (json.load(open(f)) for f in sys.argv[1:3])
grid, label, model, sv, st, goal = sys.argv[3:]
keys = [g.split("=")[0] for g in grid.split()]
pick = lambda r: ", ".join(f"{k} {r[k]:g}" for k in keys)
assert v["selected_on"] == "validation" and t["selected_on"] == "test", (v, t)
a, b = v["test"]["ndcg"], t["runs"][t["best"]]["ndcg"]
default = {"ease": {"lambda": 400}, "ials": {"alpha": 5, "reg": 50}, "knn": {"neighbours": 100, "shrink": 10}}
d = [r["ndcg"] for r in t["runs"] if all(r.get(k) == x for k, x in default[model].items())]
with open(goal, "a") as f:
    f.write("%d\n" % (a / b >= 0.98))
print(f"| {label} | {model} | {v['validation_items']} | {pick(v['runs'][v['best']])} | {a:.4f} "
      f"| {pick(t['runs'][t['best']])} | {b:.4f} | {a / b:.4f} | {f'{d[0]:.4f}' if d else '—'} | {sv} | {st} |")
PY
)")
}

# tune MODEL: train --tune with the family's own grid on the generated world
tune() {
    echo "world: train --tune --model $1 ..." >&2
    local s e
    s=$(now)
    "$TAILOR" --data "$tmp/world-data" train --tune --model "$1" --json >"$tmp/tune.json"
    e=$(now)
    tuned+=("$(python3 - "$tmp/tune.json" "$1" "$(secs "$s" "$e")" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
t = d["tuned"]
skip = {"runs", "fit_interactions", "validation_interactions", "validation_items", "validation",
        "validation_from"}
chosen = ", ".join(f"{k} {v:g}" for k, v in t.items() if k not in skip)
print(f"| {sys.argv[2]} | {t['runs']} | {t['validation_items']} | {chosen} "
      f"| {t['validation']['ndcg']:.4f} | {sys.argv[3]} |")
PY
)")
}

# past MODEL GRID: the grid chosen on validation, the chosen point's test NDCG
past() {
    echo "world: $1 past the grid's edge ..." >&2
    local s e
    s=$(now)
    "$TAILOR" --data "$tmp/world-data" eval --split time --test-days 7 --model "$1" --grid "$2" \
        --json >"$tmp/edge.json"
    e=$(now)
    edge+=("$(python3 - "$tmp/edge.json" "$1" "$2" "$(secs "$s" "$e")" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
keys = [g.split("=")[0] for g in sys.argv[3].split()]
r = d["runs"]
b = r[d["best"]]
print(f"| {sys.argv[2]} | `{sys.argv[3]}` | {', '.join(f'{k} {b[k]:g}' for k in keys)} "
      f"| {b['validation']['ndcg']:.4f} | {d['test']['ndcg']:.4f} | {sys.argv[4]} |")
PY
)")
}

ML=$DATASETS/movielens-100k
if [ -f "$ML/u1.base" ] && [ -f "$ML/u.data" ]; then
    files=(eval --preset movielens --train "$ML/u1.base" --test "$ML/u1.test")
    L="MovieLens 100K, u1.base → u1.test"
    compare "$L" ease "$G_EASE" "${files[@]}"
    compare "$L, ratings ≥ 4" ease "$G_EASE" "${files[@]}" --min-rating 4
    compare "$L" ials "$G_IALS" "${files[@]}"
    compare "$L" knn "$G_KNN" "${files[@]}"
    "$TAILOR" --data "$tmp/ml" import --preset movielens "$ML/u.user" "$ML/u.item" "$ML/u.data" >/dev/null
    for split in "last" "time 14" "time 30"; do
        if [ "$split" = last ]; then
            args=(--data "$tmp/ml" eval --split last) L="MovieLens 100K store, each user's latest"
        else
            args=(--data "$tmp/ml" eval --split time --test-days "${split#time }")
            L="MovieLens 100K store, last ${split#time } days"
        fi
        compare "$L" ease "$G_EASE" "${args[@]}"
        compare "$L" ials "$G_IALS" "${args[@]}"
        compare "$L" knn "$G_KNN" "${args[@]}"
    done
else
    echo "SKIP: MovieLens 100K not found at $ML"
    echo
fi

echo "world: generating $USERS users, $ITEMS items, $DAYS days ..." >&2
"$TAILOR" gen --out "$tmp/world" --users "$USERS" --items "$ITEMS" --days "$DAYS" --seed 1 --dirty 0 >/dev/null
rm -f "$tmp/world/truth.json"
"$TAILOR" --data "$tmp/world-data" import \
    "$tmp"/world/{users,items,products,consents,credit,events}.csv >/dev/null
rm -rf "$tmp/world"
W="generated world, last 7 days"
compare "$W" ease "$G_EASE" --data "$tmp/world-data" eval --split time --test-days 7
compare "$W" ials "$G_IALS" --data "$tmp/world-data" eval --split time --test-days 7
tune ease
tune ials
past ease 'lambda=12800,25600,51200,102400'
past ials 'alpha=0.25,0.5,1 reg=100,200,500'

n=$(wc -l <"$tmp/goal")
met=$(grep -c '^1$' "$tmp/goal" || true)
echo "## options chosen on validation against the best chosen on the test (NDCG@10)"
echo
echo "generated world: $USERS users, $ITEMS items, $DAYS days (\`tailor gen --seed 1 --dirty 0\`)"
echo
echo "| data set | model | validation part | chosen on validation | test NDCG (a) | best on the test | test NDCG (b) | a/b | the default's test NDCG | s (validation) | s (test) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "## train --tune on the generated world (the family's own grid, the last 7 days validate)"
echo
echo "| model | grid points | validation part | chosen | validation NDCG | seconds |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${tuned[@]}"
echo
echo "## past the edge of the family's grid, generated world, chosen on validation"
echo
echo "| model | grid | chosen | validation NDCG | test NDCG | seconds |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${edge[@]}"
echo
echo "chosen on validation within 2 % of the test's own best (a/b >= 0.98): $met of $n"
