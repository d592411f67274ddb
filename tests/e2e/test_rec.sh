#!/usr/bin/env bash
# test_rec.sh -- `tailor eval` on MovieLens 100K u1.base -> u1.test (skipped
# when the data sets are absent). Popularity must give the published 0.325
# NDCG@10 under this protocol (a check of the protocol itself), EASE at
# least 0.56 with all ratings as positives and 0.425 with ratings >= 4,
# implicit ALS at least 0.535 and 0.37.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ML=$DATASETS/movielens-100k
if [[ ! -f $ML/u1.base ]]; then
    echo "SKIP: MovieLens 100K not found at $ML"
    exit 0
fi
ndcg() { "$TAILOR" eval --preset movielens --train "$ML/u1.base" --test "$ML/u1.test" --json "$@" | jget ndcg; }
pop=$(ndcg --model pop)
ease=$(ndcg --model ease)
ease4=$(ndcg --model ease --min-rating 4)
ials=$(ndcg --model ials)
ials4=$(ndcg --model ials --min-rating 4)
check_cmd "popularity NDCG@10 is 0.325 ($pop)" python3 -c "assert abs($pop - 0.325) < 0.002"
check_cmd "EASE NDCG@10 >= 0.56 ($ease)" python3 -c "assert $ease >= 0.56"
check_cmd "EASE NDCG@10 on ratings >= 4 is >= 0.425 ($ease4)" python3 -c "assert $ease4 >= 0.425"
check_cmd "iALS NDCG@10 >= 0.535 ($ials)" python3 -c "assert $ials >= 0.535"
check_cmd "iALS NDCG@10 on ratings >= 4 is >= 0.37 ($ials4)" python3 -c "assert $ials4 >= 0.37"
out=$("$TAILOR" eval --preset movielens --train "$ML/u1.base" --test "$ML/u1.test" --model ease --k 5 --json)
check "users with test items" "$(jget users <<<"$out")" 459
check "k" "$(jget k <<<"$out")" 5
check_cmd "metrics are in [0, 1]" python3 -c "import json; d=json.loads('''$out'''); assert all(0 <= d[m] <= 1 for m in ('precision','recall','ndcg','map','hit_rate','coverage'))"
"$TAILOR" eval --train "$ML/u1.base" >/dev/null 2>&1
check "eval without --test: exit 2" "$?" 2
finish
