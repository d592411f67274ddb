#!/usr/bin/env bash
# bench/segment.sh -- segments and clusters over 1 M profiles.
#
#  1. A three-clause segment condition evaluated by tailor (in process, the
#     profiles already loaded; best of 20) against the same WHERE clause in
#     the sqlite3 shell over a table of the exported profiles (best of 5,
#     `.timer on`, the table already loaded and cached).
#  2. k-means (k = 8, k-means++, 4 runs, the best kept) on 8 standardised
#     features of all 1 M users: tailor against scikit-learn's
#     KMeans on the same rows; times and inertias.
# Uses the profiles built by bench/profile.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
TAILOR=${TAILOR:-$here/../build/tailor}
BENCH=${BENCH_ENGINE:-$here/../build/bench_engine}
BENCH_DIR=${BENCH_DIR:-/tmp/tailor-bench}
data="$BENCH_DIR/profile-data"
[ -f "$data/profiles.tlp" ] || "$here/profile.sh" >/dev/null
COND='monetary_90d > 200 and affinity_electronics > 0.2 and days_since_active < 14'
read -r ms size < <("$BENCH" expr "$data" "$COND" 20)
if [ ! -f "$BENCH_DIR/profiles.db" ]; then
    "$TAILOR" --data "$data" profile export --out "$BENCH_DIR/profiles.csv"
    sqlite3 "$BENCH_DIR/profiles.db" ".import --csv $BENCH_DIR/profiles.csv p"
fi
sql="SELECT count(*) FROM p WHERE CAST(monetary_90d AS REAL) > 200 AND CAST(affinity_electronics AS REAL) > 0.2 AND days_since_active <> '' AND CAST(days_since_active AS REAL) < 14;"
best_sql=""
for _ in 1 2 3 4 5; do
    out=$(printf '.timer on\n%s\n' "$sql" | sqlite3 "$BENCH_DIR/profiles.db")
    n_sql=$(echo "$out" | head -1)
    t=$(echo "$out" | sed -n 's/^Run Time: real \([0-9.]*\).*/\1/p')
    if [ -z "$best_sql" ] || awk "BEGIN{exit !($t < $best_sql)}"; then best_sql=$t; fi
done
echo "## segments over 1 M profiles"
echo
echo "condition: \`$COND\`"
echo
echo "| engine | ms | members |"
echo "|---|---|---|"
echo "| tailor (compiled, block-wise, columns in memory) | $ms | $size |"
echo "| sqlite3 over a table of the exported profiles | $(awk "BEGIN{printf \"%.1f\", $best_sql * 1000}") | $n_sql |"
echo
echo "tailor is $(awk "BEGIN{printf \"%.0f\", $best_sql * 1000 / $ms}")x the speed of SQLite"
# eight features every user has, so all 1 M users take part
FEATS=events,views,carts,orders,active_days,monetary_365d,affinity_electronics,affinity_home
"$BENCH" features "$data" "$FEATS" "$BENCH_DIR/features.csv" 0
read -r t_tl in_tl k rows < <("$BENCH" kmeans "$data" "$FEATS" 8 4)
read -r t_sk in_sk < <(/usr/bin/python3 "$here/kmeans_sklearn.py" "$BENCH_DIR/features.csv" 8 4)
echo
echo "## k-means, k = $k, 4 runs of k-means++, $rows users x 8 standardised features"
echo
echo "| engine | seconds | inertia |"
echo "|---|---|---|"
echo "| tailor | $t_tl | $in_tl |"
echo "| scikit-learn $(/usr/bin/python3 -c 'import sklearn; print(sklearn.__version__)') KMeans | $t_sk | $in_sk |"
echo
echo "tailor is $(awk "BEGIN{printf \"%.1f\", $t_sk / $t_tl}")x the speed; inertia ratio $(awk "BEGIN{printf \"%.4f\", $in_tl / $in_sk}")"
