#!/usr/bin/env bash
# bench/compare.sh -- every benchmark run with two builds of tailor, one
# right after the other, to see what a change did to each ratio against
# its peer.
#
#   bench/compare.sh OLD_BUILD NEW_BUILD [BENCH ...]
#
# OLD_BUILD and NEW_BUILD are build directories holding `tailor` and
# `bench_engine`; BENCH names scripts of this directory (default: those of
# run.sh, then server.sh). Each benchmark runs with the old build and at
# once with the new one, each side in a $BENCH_ROOT directory of its own
# (worlds generated per side, so neither reads the other's data), and each
# side's section, peers included, goes to $OUT/NAME-old.md and
# $OUT/NAME-new.md as well as to stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -lt 2 ]; then
    echo "usage: bench/compare.sh OLD_BUILD NEW_BUILD [BENCH ...]" >&2
    exit 2
fi
old=$(cd "$1" && pwd) new=$(cd "$2" && pwd)
shift 2
for b in "$old" "$new"; do
    for f in tailor bench_engine; do
        [ -x "$b/$f" ] || { echo "compare: no $b/$f" >&2; exit 2; }
    done
done
benches=("$@")
[ ${#benches[@]} -gt 0 ] || benches=(import profile identity segment rec scorecard campaign server)
BENCH_ROOT=${BENCH_ROOT:-/tmp/tailor-bench-compare}
OUT=${OUT:-$BENCH_ROOT/out}
mkdir -p "$OUT"
for name in "${benches[@]}"; do
    [ -x "$here/$name.sh" ] || { echo "compare: no bench/$name.sh" >&2; exit 2; }
    for side in old new; do
        build=$old
        [ $side = new ] && build=$new
        echo "# $name ($side: $build)"
        TAILOR=$build/tailor BENCH_ENGINE=$build/bench_engine BENCH_DIR=$BENCH_ROOT/$side \
            "$here/$name.sh" | tee "$OUT/$name-$side.md"
        echo
    done
done
