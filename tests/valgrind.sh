#!/usr/bin/env bash
# valgrind.sh -- tailor under valgrind's memcheck, for the end-to-end tests.
#
# As TAILOR: runs $TAILOR_VALGRIND_BIN (the real binary) under memcheck with
# the same arguments, exiting 99 on a memory error or a definite leak:
#
#   TAILOR=tests/valgrind.sh TAILOR_VALGRIND_BIN=build/tailor bash tests/e2e/test_cli.sh
#
# A test often sends tailor's stderr to /dev/null and ignores its exit code,
# so neither alone would show an error. With TAILOR_VALGRIND_LOGS=DIR each
# run writes its report to DIR/<pid>.log instead of stderr (which then holds
# only tailor's own messages, as the tests expect), and
#
#   tests/valgrind.sh --run tests/e2e/test_cli.sh      (what ctest runs)
#
# does that for one test: runs it with TAILOR set to this wrapper and fails
# if the test fails or if any run reported anything, printing the reports.
# More valgrind options go in $VALGRIND_OPTS (valgrind reads it itself),
# e.g. VALGRIND_OPTS=--track-origins=yes to see where an uninitialised value
# came from. Third-party noise is suppressed by tests/valgrind.supp.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [[ ${1:-} == --run ]]; then
    test=${2:?usage: valgrind.sh --run TEST.sh}
    : "${TAILOR_VALGRIND_BIN:?set TAILOR_VALGRIND_BIN to the tailor binary}"
    logs=$(mktemp -d "${TMPDIR:-/tmp}/tailor-valgrind.XXXXXX")
    trap 'rm -rf "$logs"' EXIT
    TAILOR="$here/valgrind.sh" TAILOR_VALGRIND_LOGS=$logs bash "$test"
    rc=$?
    bad=0
    for f in "$logs"/*.log; do
        [[ -e $f ]] || continue
        # only valgrind's own warnings (e.g. "set address range perms" on a
        # large mapping) are not errors; anything else is
        if grep -v -q -E '^==[0-9]+== (Warning: .*)?$' "$f"; then
            bad=$((bad + 1))
            echo "---- valgrind report $(basename "$f"):"
            cat "$f"
        fi
    done
    if ((bad)); then
        echo "FAIL: valgrind reported errors in $bad run(s) of tailor"
        exit 99
    fi
    exit $rc
fi

bin=${TAILOR_VALGRIND_BIN:?set TAILOR_VALGRIND_BIN to the tailor binary}
log=()
[[ -n ${TAILOR_VALGRIND_LOGS:-} ]] && log=("--log-file=$TAILOR_VALGRIND_LOGS/%p.log")
# --errors-for-leak-kinds=definite: memory still reachable at exit (caches,
# libraries' globals) is not a bug; memory nobody points to any more is.
# --child-silent-after-fork: should anything fork, the child is not checked.
exec valgrind --quiet --error-exitcode=99 \
    --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
    --track-fds=no --num-callers=30 --child-silent-after-fork=yes \
    --suppressions="$here/valgrind.supp" "${log[@]}" "$bin" "$@"
