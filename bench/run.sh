#!/usr/bin/env bash
# bench/run.sh -- every benchmark, one after the other (`make bench`).
# Each prints a markdown section; copy the figures into docs/BENCHMARKS.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
for b in "$here"/import.sh "$here"/profile.sh "$here"/identity.sh "$here"/segment.sh "$here"/rec.sh \
         "$here"/tune.sh "$here"/pg.sh \
         "$here"/scorecard.sh "$here"/challenger.sh "$here"/uplift.sh \
         "$here"/campaign.sh "$here"/scheduler.sh "$here"/console.sh; do
    echo "# $(basename "$b")"
    "$b"
    echo
done
