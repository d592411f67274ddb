#!/usr/bin/env bash
# test_bad_rows.sh -- the bad-rows corpus (tests/data/bad) end to end.
#
# Imports every corpus file in a fixed order and checks that
#  (a) each import's summary adds up (read = accepted + duplicates +
#      quarantined) and matches the manifest tests/data/bad/EXPECTED;
#  (b) `quarantine export --format jsonl` holds exactly the (file, line,
#      reason) triples of EXPECTED: every bad row with its reason, no good row;
#  (c) importing the same files again adds nothing: accepted=0, good rows are
#      duplicates, bad rows are counted again but not stored twice, and
#      `stats --json` is unchanged;
#  (d) --strict exits 3 and writes nothing when a file has a bad row (even
#      if an earlier file of the run is clean), and exits 0 on a clean file;
#  (e) lines over 1 MiB, made here at test time, are quarantined as too_long
#      and reading goes on after them; an unterminated quote followed by more
#      than 1 MiB of rows spoils only its own line.
#
# Environment: TAILOR (the binary; default build/tailor of this tree),
# TAILOR_SRC (the source tree; default: two levels above this script).
# Needs python3 (standard library only) to read JSON.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
set -e

CORPUS=$SRC/tests/data/bad
EXPECTED=$CORPUS/EXPECTED

ORDER=(00_users_ok.csv users.csv users.jsonl items.csv items.jsonl products.csv products.jsonl
       credit.csv credit.jsonl consents.csv consents.jsonl events.csv events.jsonl)

if [[ ! -f $EXPECTED ]]; then
    echo "FAIL: no manifest at $EXPECTED"
    exit 1
fi

# ---- JSON helpers ------------------------------------------------------------

# The quarantine export (JSON Lines on stdin) as "basename<TAB>line<TAB>reason
# <TAB>message" lines; a line without all of source, line, reason, message and
# raw prints "BADOBJ<TAB>...".
qlist() {
        python3 -c '
import json, os, sys
for n, text in enumerate(sys.stdin, 1):
    try:
        o = json.loads(text)
    except ValueError as e:
        print("BADOBJ\t%d\tnot JSON: %s\t" % (n, e))
        continue
    if not isinstance(o, dict) or not all(k in o for k in ("source", "line", "reason", "message", "raw")):
        print("BADOBJ\t%d\tmissing keys\t" % n)
        continue
    msg = str(o["message"]).replace("\t", " ").replace("\n", " ")
    print("%s\t%s\t%s\t%s" % (os.path.basename(o["source"]), o["line"], o["reason"], msg))
'
}



# ---- tailor helpers ----------------------------------------------------------


stats_json() { "$TAILOR" --data "$1" stats --json | jcanon; }

# expected_bad FILE: the number of EXPECTED entries for FILE.
expected_bad() { awk -v f="$1" '!/^#/ && $1 == f { n++ } END { print n + 0 }' "$EXPECTED"; }
# expected_count FILE KEY: read or duplicates from the '# counts:' line.
expected_count() {
    awk -v f="$1" -v k="$2" '$1 == "#" && $2 == "counts:" && $3 == f {
        for (i = 4; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }' "$EXPECTED"
}

# compare_quarantine DIR EXPECTED_LIST LABEL: the export of DIR against a list
# of "file line reason" lines; one check per expected row and per extra row.
compare_quarantine() {
    local dir=$1 explist=$2 label=$3
    "$TAILOR" --data "$dir" quarantine export --format jsonl >"$TMP/export.jsonl"
    qlist <"$TMP/export.jsonl" >"$TMP/got.tsv"
    declare -A got=() gotmsg=() want=()
    local f l r m n=0
    while IFS=$'\t' read -r f l r m; do
        n=$((n + 1))
        if [[ $f == BADOBJ ]]; then
            fail "$label: export line $l: $r"
            continue
        fi
        if [[ -n ${got["$f $l"]+x} ]]; then
            fail "$label: $f:$l is in the quarantine twice (${got["$f $l"]}, $r)"
            continue
        fi
        got["$f $l"]=$r
        gotmsg["$f $l"]=$m
    done <"$TMP/got.tsv"
    while read -r f l r; do
        want["$f $l"]=$r
        if [[ -z ${got["$f $l"]+x} ]]; then
            fail "$label: $f:$l should be quarantined as $r, but it was not quarantined"
        elif [[ ${got["$f $l"]} != "$r" ]]; then
            fail "$label: $f:$l should be quarantined as $r, but the reason is ${got["$f $l"]} (${gotmsg["$f $l"]})"
        else
            pass
        fi
    done <"$explist"
    local k
    for k in "${!got[@]}"; do
        if [[ -z ${want["$k"]+x} ]]; then
            fail "$label: ${k/ /:} is a good row but was quarantined as ${got[$k]} (${gotmsg[$k]})"
        fi
    done
}

# =============================================================================
# (a) first import of every file
# =============================================================================
DATA=$TMP/data
declare -A R1=() A1=() D1=() Q1=()
total_bad=0
for f in "${ORDER[@]}"; do
    if [[ ! -f $CORPUS/$f ]]; then
        fail "corpus file $CORPUS/$f is missing"
        continue
    fi
    imp "$DATA" "$TMP/imp1.$f" "$CORPUS/$f"
    if [[ $rc -ne 0 ]]; then
        fail "import $f exited $rc: $(head -c 300 "$TMP/imp1.$f.err")"
        continue
    fi
    if [[ -z $R ]]; then
        fail "import $f: the last line is not read=N accepted=N duplicates=N quarantined=N: $(tail -n 1 "$TMP/imp1.$f")"
        continue
    fi
    R1[$f]=$R A1[$f]=$A D1[$f]=$D Q1[$f]=$Q
    check "import $f: read = accepted + duplicates + quarantined" "$R" "$((A + D + Q))"
    want=$(expected_bad "$f")
    total_bad=$((total_bad + want))
    check "import $f: quarantined" "$Q" "$want"
    want=$(expected_count "$f" read)
    if [[ -n $want ]]; then check "import $f: read" "$R" "$want"; fi
    want=$(expected_count "$f" duplicates)
    if [[ -n $want ]]; then check "import $f: duplicates" "$D" "$want"; fi
done
stats1=$(stats_json "$DATA")
check "stats after the first import: quarantined" "$(jget quarantined <<<"$stats1")" "$total_bad"

# =============================================================================
# (b) the quarantine holds exactly the EXPECTED rows, with their reasons
# =============================================================================
awk '!/^#/ && NF >= 3 { print $1, $2, $3 }' "$EXPECTED" >"$TMP/expected.txt"
compare_quarantine "$DATA" "$TMP/expected.txt" "quarantine"
nexport=$(wc -l <"$TMP/export.jsonl")
check "quarantine export: number of rows" "$nexport" "$total_bad"

# =============================================================================
# (c) a second import of the same files adds nothing
# =============================================================================
for f in "${ORDER[@]}"; do
    [[ -n ${R1[$f]+x} ]] || continue
    imp "$DATA" "$TMP/imp2.$f" "$CORPUS/$f"
    if [[ $rc -ne 0 || -z $R ]]; then
        fail "re-import $f exited $rc or printed no summary: $(head -c 300 "$TMP/imp2.$f.err")"
        continue
    fi
    check "re-import $f: read" "$R" "${R1[$f]}"
    check "re-import $f: accepted" "$A" 0
    check "re-import $f: duplicates (the good rows)" "$D" "$((A1[$f] + D1[$f]))"
    check "re-import $f: quarantined (counted again)" "$Q" "${Q1[$f]}"
done
stats2=$(stats_json "$DATA")
check "stats after re-import: quarantined (not doubled)" "$(jget quarantined <<<"$stats2")" "$total_bad"
if [[ $stats2 == "$stats1" ]]; then pass; else
    fail "stats --json changed on re-import: before $stats1 / after $stats2"
fi
"$TAILOR" --data "$DATA" quarantine export --format jsonl >"$TMP/export2.jsonl"
check "quarantine export after re-import: number of rows" "$(wc -l <"$TMP/export2.jsonl")" "$total_bad"

# =============================================================================
# (d) --strict: all or nothing
# =============================================================================
S=$TMP/strict
imp "$S" "$TMP/s1" --strict "$CORPUS/00_users_ok.csv"
check "--strict on a clean file: exit code" "$rc" 0
check "--strict on a clean file: accepted" "$A" "$(expected_count 00_users_ok.csv read)"
check "--strict on a clean file: quarantined" "$Q" 0
before=$(stats_json "$S")
printf 'user,gender,birth_year\nstrict1,f,1980\nstrict2,m,1981\nstrict3,o,1982\n' >"$TMP/new_users.csv"
for bad in users.csv events.csv events.jsonl consents.csv; do
    imp "$S" "$TMP/s2" --strict "$TMP/new_users.csv" "$CORPUS/$bad"
    check "--strict on new_users.csv + $bad: exit code" "$rc" 3
    after=$(stats_json "$S")
    if [[ $after == "$before" ]]; then pass; else
        fail "--strict on new_users.csv + $bad wrote something: stats before $before / after $after"
    fi
done
users_before=$(jget users <<<"$before")
imp "$S" "$TMP/s3" --strict "$TMP/new_users.csv"
check "--strict on a clean file after refused runs: exit code" "$rc" 0
check "--strict on a clean file after refused runs: accepted" "$A" 3
check "--strict on a clean file after refused runs: users" "$(stats_json "$S" | jget users)" "$((users_before + 3))"
# The main store, already holding everything: a bad file is refused, nothing moves.
imp "$DATA" "$TMP/s4" --strict "$CORPUS/events.csv"
check "--strict on events.csv (main store): exit code" "$rc" 3
if [[ $(stats_json "$DATA") == "$stats2" ]]; then pass; else
    fail "--strict on events.csv changed the main store's stats"
fi

# =============================================================================
# (e) lines over 1 MiB, made here
# =============================================================================
B=$TMP/big
mkdir -p "$B/in"
BIG=1258291 # 1.2 MiB
{
    printf 'user,type,ts,query\n'
    printf 'big1,view,2024-05-01T00:00:01Z,\n'
    printf 'big1,search,2024-05-01T00:00:02Z,'
    head -c "$BIG" /dev/zero | tr '\0' x
    printf '\nbig2,view,2024-05-01T00:00:03Z,\n'
} >"$B/in/big.csv"
{
    printf '{"user":"big3","type":"view","ts":"2024-05-01T00:00:04Z"}\n'
    # a well-formed object, but the line is longer than 1 MiB
    printf '{"user":"big3",'
    head -c "$BIG" /dev/zero | tr '\0' ' '
    printf '"type":"view","ts":"2024-05-01T00:00:05Z"}\n'
    printf '{"user":"big4","type":"view","ts":"2024-05-01T00:00:06Z"}\n'
} >"$B/in/big.jsonl"
{
    printf 'user,type,ts,query\n'
    printf 'big5,view,2024-05-01T00:00:07Z,\n'
    head -c "$BIG" /dev/zero | tr '\0' ,
    printf '\nbig6,view,2024-05-01T00:00:08Z,\n'
} >"$B/in/bigfields.csv"
NQ=12000 # rows after the unterminated quote: more than 1 MiB of them
{
    printf 'user,type,ts,query\n'
    printf 'big7,view,2024-05-01T00:00:09Z,\n'
    printf 'big7,search,2024-05-01T00:00:10Z,"never closed\n'
    awk -v n="$NQ" 'BEGIN { for (i = 0; i < n; i++)
        printf "q%d,view,2024-05-02T%02d:%02d:%02dZ,%s\n", i % 97, int(i / 3600), int(i / 60) % 60, i % 60,
               "padding-padding-padding-padding-padding-padding-padding-padding-padding-padding" }'
} >"$B/in/bigquote.csv"
for f in big.csv big.jsonl bigfields.csv; do
    imp "$B/data" "$TMP/big.$f" "$B/in/$f"
    check "over-long line in $f: exit code" "$rc" 0
    check "over-long line in $f: summary" "$R $A $D $Q" "3 2 0 1"
done
imp "$B/data" "$TMP/big.quote" "$B/in/bigquote.csv"
check "unterminated quote before 1 MiB of rows: exit code" "$rc" 0
check "unterminated quote before 1 MiB of rows: summary" "$R $A $D $Q" "$((NQ + 2)) $((NQ + 1)) 0 1"
printf '%s\n' "big.csv 3 too_long" "big.jsonl 2 too_long" "bigfields.csv 3 too_long" \
    "bigquote.csv 3 unterminated_quote" >"$TMP/expected_big.txt"
compare_quarantine "$B/data" "$TMP/expected_big.txt" "over-long lines"
if "$TAILOR" --data "$B/data" check >"$TMP/check.out" 2>&1; then pass; else
    fail "tailor check after the over-long lines: $(head -c 300 "$TMP/check.out")"
fi

finish
