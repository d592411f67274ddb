#!/usr/bin/env bash
# test_presets.sh -- the public data sets imported with their presets, with
# exact counts.
#
# The data sets live outside the repository (../shared/datasets, see its
# README); when they are absent the test says SKIP and passes. All imports go
# into one data directory, in this order:
#   movielens-100k  u.user (943 users), u.item (1682 items), u.data (100000
#                   rate events), then u1.base + u1.test: all 100000 duplicates
#   taobao-sample   4321 rows, all accepted
#   online-retail   5000 rows (imported with --json: the summary must parse and
#                   hold read, accepted, duplicates, quarantined, by_reason);
#                   the rows whose CustomerID is NA are quarantined, the rest
#                   accepted
#   bank-marketing  41188 users
#   german-credit   1000 users, 1000 credit records, 300 of them defaulted
# and `tailor check` must pass at the end.
#
# Environment: TAILOR (the binary; default build/tailor of this tree),
# TAILOR_SRC (the source tree), TAILOR_DATASETS (default ../shared/datasets
# next to the source tree). Needs python3; the defaulted
# credit records are counted with sqlite3, else python3's sqlite3 module.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
set -e

if [[ ! -d $DATASETS ]]; then
    echo "SKIP: datasets not found at $DATASETS"
    exit 0
fi
DATA=$TMP/data

# jsum: the sum of the values of the JSON object on stdin.
jsum() { python3 -c 'import json, sys; print(int(sum(json.load(sys.stdin).values())))'; }


stat_of() { "$TAILOR" --data "$DATA" stats --json | jget "$1"; }

# need FILE...: true when all exist; otherwise a failure naming the missing one.
need() {
    local f
    for f in "$@"; do
        if [[ ! -f $DATASETS/$f ]]; then
            fail "data set file $DATASETS/$f is missing"
            return 1
        fi
    done
}

# ---- MovieLens 100K ------------------------------------------------------------
ML=movielens-100k
if need $ML/u.user $ML/u.item $ML/u.data $ML/u1.base $ML/u1.test; then
    imp "$DATA" "$TMP/ml.user" --preset movielens "$DATASETS/$ML/u.user"
    check "movielens u.user: summary" "$R $A $D $Q" "943 943 0 0"
    check "movielens u.user: users in the store" "$(stat_of users)" 943
    imp "$DATA" "$TMP/ml.item" --preset movielens "$DATASETS/$ML/u.item"
    check "movielens u.item: summary" "$R $A $D $Q" "1682 1682 0 0"
    check "movielens u.item: items in the store" "$(stat_of items)" 1682
    imp "$DATA" "$TMP/ml.data" --preset movielens "$DATASETS/$ML/u.data"
    check "movielens u.data: summary" "$R $A $D $Q" "100000 100000 0 0"
    check "movielens u.data: events in the store" "$(stat_of events)" 100000
    check "movielens u.data: users still 943 (ratings name known users)" "$(stat_of users)" 943
    nsplit=$(cat "$DATASETS/$ML/u1.base" "$DATASETS/$ML/u1.test" | wc -l)
    check "movielens u1.base + u1.test: lines in the files" "$nsplit" 100000
    imp "$DATA" "$TMP/ml.split" --preset movielens "$DATASETS/$ML/u1.base" "$DATASETS/$ML/u1.test"
    check "movielens u1.base + u1.test: summary (all duplicates)" "$R $A $D $Q" "100000 0 100000 0"
    check "movielens u1.base + u1.test: events still 100000" "$(stat_of events)" 100000
fi

# ---- Taobao UserBehavior sample -------------------------------------------------
TB=taobao-sample/UserBehavior_sample.csv
if need $TB; then
    distinct=$(sort -u "$DATASETS/$TB" | wc -l)
    ev0=$(stat_of events)
    imp "$DATA" "$TMP/taobao" --preset taobao "$DATASETS/$TB"
    check "taobao: read" "$R" 4321
    check "taobao: quarantined" "$Q" 0
    check "taobao: accepted (distinct rows)" "$A" "$distinct"
    check "taobao: read = accepted + duplicates + quarantined" "$R" "$((A + D + Q))"
    check "taobao: events added" "$(($(stat_of events) - ev0))" "$A"
fi

# ---- UCI Online Retail sample (with --json) -------------------------------------
OR=online-retail-sample/online_retail_sample.csv
if need $OR; then
    # Field 9 is CustomerID; the file has CRLF line ends and a header.
    na=$(awk -F';' 'NR > 1 { sub(/\r$/, ""); if ($9 == "NA") n++ } END { print n + 0 }' "$DATASETS/$OR")
    rows=$(awk 'NR > 1 && $0 !~ /^\r?$/ { n++ } END { print n + 0 }' "$DATASETS/$OR")
    check "online-retail: data rows in the file" "$rows" 5000
    ev0=$(stat_of events)
    rc=0
    "$TAILOR" --data "$DATA" import --json --preset online-retail "$DATASETS/$OR" \
        >"$TMP/retail.json" 2>"$TMP/retail.err" || rc=$?
    check "online-retail --json: exit code" "$rc" 0
    check "online-retail --json: stdout is one line" "$(wc -l <"$TMP/retail.json")" 1
    for k in read accepted duplicates quarantined by_reason; do
        v=$(jget "$k" <"$TMP/retail.json" 2>/dev/null || echo UNPARSABLE)
        if [[ $v == MISSING || $v == UNPARSABLE ]]; then
            fail "online-retail --json: key $k is $v in $(head -c 300 "$TMP/retail.json")"
        else
            pass
        fi
    done
    R=$(jget read <"$TMP/retail.json" 2>/dev/null || echo x)
    A=$(jget accepted <"$TMP/retail.json" 2>/dev/null || echo x)
    D=$(jget duplicates <"$TMP/retail.json" 2>/dev/null || echo x)
    Q=$(jget quarantined <"$TMP/retail.json" 2>/dev/null || echo x)
    if [[ $R =~ ^[0-9]+$ && $A =~ ^[0-9]+$ && $D =~ ^[0-9]+$ && $Q =~ ^[0-9]+$ ]]; then
        check "online-retail: read" "$R" 5000
        check "online-retail: read = accepted + duplicates + quarantined" "$R" "$((A + D + Q))"
        check "online-retail: quarantined = rows with CustomerID NA" "$Q" "$na"
        byr=$(jget by_reason <"$TMP/retail.json" | jsum)
        check "online-retail: by_reason adds up to quarantined" "$byr" "$Q"
        check "online-retail: events added" "$(($(stat_of events) - ev0))" "$A"
    else
        fail "online-retail --json: counts are not numbers: $(head -c 300 "$TMP/retail.json")"
    fi
fi

# ---- UCI Bank Marketing ----------------------------------------------------------
BM=bank-marketing/bank-additional-full.csv
if need $BM; then
    u0=$(stat_of users)
    imp "$DATA" "$TMP/bank" --preset bank-marketing "$DATASETS/$BM"
    check "bank-marketing: summary" "$R $A $D $Q" "41188 41188 0 0"
    check "bank-marketing: users added" "$(($(stat_of users) - u0))" 41188
fi

# ---- UCI Statlog German Credit ---------------------------------------------------
GC=german-credit/german.data
if need $GC; then
    bad_in_file=$(awk '$21 == 2 { n++ } END { print n + 0 }' "$DATASETS/$GC")
    check "german-credit: class 2 (bad) rows in the file" "$bad_in_file" 300
    u0=$(stat_of users)
    c0=$(stat_of credit_records)
    imp "$DATA" "$TMP/german" --preset german-credit "$DATASETS/$GC"
    check "german-credit: summary" "$R $A $D $Q" "1000 1000 0 0"
    check "german-credit: users added" "$(($(stat_of users) - u0))" 1000
    check "german-credit: credit records added" "$(($(stat_of credit_records) - c0))" 1000
    sql="SELECT count(*) FROM credit WHERE default_flag = 1"
    if command -v sqlite3 >/dev/null 2>&1; then
        ndef=$(sqlite3 -readonly "$DATA/tailor.db" "$sql")
    elif command -v python3 >/dev/null 2>&1 && python3 -c 'import sqlite3' 2>/dev/null; then
        ndef=$(python3 -c '
import sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
print(db.execute(sys.argv[2]).fetchone()[0])
' "$DATA/tailor.db" "$sql")
    else
        ndef=
        echo "note: neither sqlite3 nor python3's sqlite3 module: the count of defaults is not checked"
    fi
    if [[ -n $ndef ]]; then check "german-credit: credit records with default = 1" "$ndef" 300; fi
fi

# ---- the store is sound ---------------------------------------------------------
if "$TAILOR" --data "$DATA" check >"$TMP/check.out" 2>&1; then pass; else
    fail "tailor check after all imports: $(head -c 400 "$TMP/check.out")"
fi

finish
