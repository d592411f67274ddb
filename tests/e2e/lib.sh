# lib.sh -- what the end-to-end tests share; each test sources it first.
#
# Sets SRC (the source tree), TAILOR (the binary: $TAILOR, else build/tailor
# of the tree), DATASETS (../shared/datasets beside the tree, or
# $TAILOR_DATASETS), TMP (a directory removed on exit), a fixed "now", and
# clears the environment variables that would redirect tailor. With
# $TAILOR_TEST_PG (a PostgreSQL server's URI) every data directory a test
# names is a PostgreSQL store (tests/e2e/on_pg.sh), its database dropped on
# exit. Gives:
#   pass / fail MESSAGE            count a result
#   check DESC ACTUAL EXPECTED     pass if the two strings are equal
#   check_cmd DESC COMMAND...      pass if the command succeeds
#   jget KEY < JSON                a top-level value ("MISSING" if absent;
#                                  objects and lists as compact sorted JSON)
#   jcanon < JSON                  the document with sorted keys, one line
#   imp DIR OUT ARGS...            `tailor --data DIR import ARGS`: stdout in
#                                  OUT, stderr in OUT.err, exit code in $rc,
#                                  the summary line in $R $A $D $Q
#   serve DIR ARGS...              `tailor --data DIR serve` on a free
#                                  loopback port with ARGS: its address in
#                                  $U, its process in $spid (killed on exit)
#   serve_stop                     stops it (SIGTERM) and waits for it
#   req METHOD PATH KEY [BODY]     an API request to the server at $U (KEY
#                                  may be ""): prints the status, the body
#                                  in $TMP/body
#   finish                         print "N passed, N failed" and exit
set -uo pipefail

SRC=${TAILOR_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
TAILOR=${TAILOR:-$SRC/build/tailor}
DATASETS=${TAILOR_DATASETS:-$SRC/../shared/datasets}
export TAILOR_NOW=2025-12-01T00:00:00Z
unset TAILOR_DATA TAILOR_KEY TAILOR_STORE

if [[ ! -x $TAILOR ]]; then
    echo "FAIL: no tailor binary at $TAILOR (build it, or set TAILOR)"
    exit 1
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tailor-e2e.XXXXXX")
spid=""
trap '[[ -n $spid ]] && kill -9 "$spid" 2>/dev/null; rm -rf "$TMP"' EXIT
if [[ -n ${TAILOR_TEST_PG:-} ]]; then
    export TAILOR_REAL=$TAILOR TAILOR_PG_DBS=$TMP/pg-databases TAILOR_TEST_PG
    TAILOR=$SRC/tests/e2e/on_pg.sh
    drop_pg() {
        local db
        while read -r db; do
            psql -qX "${TAILOR_TEST_PG%/*}/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" \
                >/dev/null 2>&1
        done < <(sort -u "$TAILOR_PG_DBS" 2>/dev/null)
        [[ -n $spid ]] && kill -9 "$spid" 2>/dev/null
        rm -rf "$TMP"
    }
    trap drop_pg EXIT
fi

passed=0
failed=0
pass() { passed=$((passed + 1)); }
fail() {
    failed=$((failed + 1))
    echo "FAIL: $*"
}
check() {
    if [[ $2 == "$3" ]]; then pass; else fail "$1: got $2, expected $3"; fi
}
check_cmd() {
    local what=$1
    shift
    if "$@"; then pass; else fail "$what"; fi
}

jget() {
    python3 -c '
import json, sys
d = json.load(sys.stdin)
v = d.get(sys.argv[1], "MISSING") if isinstance(d, dict) else "MISSING"
print(json.dumps(v, sort_keys=True, separators=(",", ":")) if isinstance(v, (dict, list)) else v)
' "$1"
}

jcanon() { python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin), sort_keys=True))'; }

imp() {
    local dir=$1 out=$2
    shift 2
    rc=0
    "$TAILOR" --data "$dir" import "$@" >"$out" 2>"$out.err" || rc=$?
    R= A= D= Q=
    local last
    last=$(tail -n 1 "$out")
    if [[ $last =~ ^read=([0-9]+)\ accepted=([0-9]+)\ duplicates=([0-9]+)\ quarantined=([0-9]+)$ ]]; then
        R=${BASH_REMATCH[1]} A=${BASH_REMATCH[2]} D=${BASH_REMATCH[3]} Q=${BASH_REMATCH[4]}
    fi
}

world_store() { # USERS ITEMS DAYS: a clean generated world in $W imported into $D, popularity trained, profiles built
    "$TAILOR" gen --users "$1" --items "$2" --days "$3" --seed 7 --dirty 0 --out "$W" >/dev/null
    "$TAILOR" --data "$D" import "$W"/{users,items,products,credit,consents,events}.csv >/dev/null 2>&1
    "$TAILOR" --data "$D" train --model pop >/dev/null
    "$TAILOR" --data "$D" profile build >/dev/null
}

serve() { # DIR ARGS...
    local dir=$1
    shift
    "$TAILOR" --data "$dir" serve --listen 127.0.0.1:0 "$@" >"$TMP/serve.out" 2>"$TMP/serve.err" &
    spid=$!
    for _ in $(seq 300); do grep -q listening "$TMP/serve.out" 2>/dev/null && break; sleep 0.1; done
    U="http://127.0.0.1:$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$TMP/serve.out")"
}
serve_stop() { kill -TERM "$spid"; wait "$spid" 2>/dev/null; spid=""; }
req() { # METHOD PATH KEY [BODY]: prints the status, the body to $TMP/body
    local m=$1 p=$2 k=$3
    shift 3
    curl -s -o "$TMP/body" -w '%{http_code}' -X "$m" ${k:+-H "Authorization: Bearer $k"} \
        ${1:+--data-binary "$1"} "$U$p"
}

finish() {
    echo "$passed passed, $failed failed"
    [[ $failed -eq 0 ]]
    exit
}
