#!/usr/bin/env bash
# checked.sh -- an end-to-end test with every run of tailor checked for
# memory errors: under valgrind's memcheck, or built with the sanitizers.
#
#   tests/checked.sh --valgrind TEST.sh     (TAILOR_VALGRIND_BIN: the binary)
#   tests/checked.sh --sanitizers TEST.sh   (TAILOR: an ASan + UBSan build)
#
# A test often sends tailor's stderr to /dev/null and ignores its exit code,
# so neither would show an error. Here every run writes its report to a
# file of its own in a temporary directory (valgrind's --log-file, the
# sanitizers' log_path) instead, and the test fails if it fails or if any
# run reported anything, printing the reports.
#
# With --valgrind, TAILOR is set to this script, which then (called without
# a mode) runs $TAILOR_VALGRIND_BIN under memcheck with the same arguments,
# exiting 99 on a memory error or a definite leak. More valgrind options go
# in $VALGRIND_OPTS (valgrind reads it itself), e.g.
# VALGRIND_OPTS=--track-origins=yes to see where an uninitialised value came
# from. Third-party noise is suppressed by tests/valgrind.supp.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

case ${1:-} in
--valgrind | --sanitizers)
    mode=$1
    test=${2:?usage: checked.sh --valgrind|--sanitizers TEST.sh}
    logs=$(mktemp -d "${TMPDIR:-/tmp}/tailor-checked.XXXXXX")
    trap 'rm -rf "$logs"' EXIT
    if [[ $mode == --valgrind ]]; then
        : "${TAILOR_VALGRIND_BIN:?set TAILOR_VALGRIND_BIN to the tailor binary}"
        TAILOR="$here/checked.sh" TAILOR_VALGRIND_LOGS=$logs bash "$test"
    else
        : "${TAILOR:?set TAILOR to a tailor built with the sanitizers}"
        ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1:log_path=$logs/asan" \
            UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:log_path=$logs/ubsan" \
            bash "$test"
    fi
    rc=$?
    bad=0
    for f in "$logs"/*; do
        [[ -e $f ]] || continue
        # only valgrind's own warnings (e.g. "set address range perms" on a
        # large mapping) are not errors; anything else is
        if grep -v -q -E '^==[0-9]+== (Warning: .*)?$' "$f"; then
            bad=$((bad + 1))
            echo "---- report $(basename "$f"):"
            cat "$f"
        fi
    done
    if ((bad)); then
        echo "FAIL: memory errors reported by $bad run(s) of tailor"
        exit 99
    fi
    exit $rc
    ;;
esac

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
