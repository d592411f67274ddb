#!/usr/bin/env bash
# Installs the Debian packages tailor needs to build, test and fuzz, and with
# --bench those the benchmarks' peers need.
# As root it runs apt-get; otherwise it prints the exact command and stops.
set -euo pipefail
pkgs=(build-essential cmake pkg-config libsqlite3-dev sqlite3 libsodium-dev
      libxxhash-dev libcjson-dev libcmocka-dev libopenblas-dev liblapacke-dev libcurl4-openssl-dev
      libmicrohttpd-dev libpq-dev libxgboost-dev postgresql curl
      time strace valgrind prometheus
      clang libclang-rt-dev chromium chromium-driver python3-selenium fonts-wqy-microhei)
# libxgboost-dev: the gradient-boosted challenger models (score train --challenger);
# postgresql: the server the PostgreSQL back end's tests start (scripts/pg.sh);
# strace: the crash tests' kills at an fsync; valgrind: memcheck runs;
# prometheus: its promtool checks the server's /metrics;
# clang and its sanitizer runtimes: the ASan + UBSan build of `make test`
# and libFuzzer (scripts/fuzz.sh); chromium, its driver and selenium: the
# console's browser tests (tests/e2e/test_console.sh), with a CJK font for its screenshots
if [ "${1:-}" = "--bench" ]; then
  # python3-scipy and python3-statsmodels also write tests/data/stats_vectors.txt
  pkgs+=(python3-pandas python3-sklearn python3-xgboost python3-scipy python3-statsmodels wrk nginx-light)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v npm >/dev/null || missing+=(npm)
cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" -ne 0 ]; then
  echo "tailor needs these Debian packages: ${missing[*]}" >&2
  echo "run as root:  apt-get update && $cmd" >&2
  exit 1
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  $cmd >/dev/null
fi
# The console's browser assets (console/package.json), at the versions
# console/package-lock.json pins: fetched once, then built into the binary
# so that nothing is fetched at run time.
cd "$(dirname "$0")/../console"
if [ ! -f node_modules/echarts/dist/echarts.min.js ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing the console's assets (npm ci)" >&2
  for try in 1 2 3; do
    npm ci --no-audit --no-fund --loglevel=error >/dev/null && break
    [ $try -lt 3 ] || { echo "npm ci failed: the console's assets are missing" >&2; exit 1; }
    sleep 5
  done
fi
