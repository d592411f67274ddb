#!/usr/bin/env bash
# Installs the Debian packages tailor needs to build, test and fuzz, and with
# --bench those the benchmarks' peers need.
# As root it runs apt-get; otherwise it prints the exact command and stops.
set -euo pipefail
pkgs=(build-essential cmake pkg-config libsqlite3-dev sqlite3 libsodium-dev
      libxxhash-dev libcjson-dev libcmocka-dev libopenblas-dev liblapacke-dev libcurl4-openssl-dev
      libmicrohttpd-dev libpq-dev postgresql curl
      time strace valgrind prometheus
      clang libclang-rt-dev)
# postgresql: the server the PostgreSQL back end's tests start (scripts/pg.sh);
# strace: the crash tests' kills at an fsync; valgrind: memcheck runs;
# prometheus: its promtool checks the server's /metrics;
# clang and its sanitizer runtimes: the ASan + UBSan build of `make test`
# and libFuzzer (scripts/fuzz.sh)
if [ "${1:-}" = "--bench" ]; then
  # python3-scipy and python3-statsmodels also write tests/data/stats_vectors.txt
  pkgs+=(python3-pandas python3-sklearn python3-xgboost python3-scipy python3-statsmodels wrk nginx-light)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "tailor needs these Debian packages: ${missing[*]}" >&2
  echo "run as root:  apt-get update && $cmd" >&2
  exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
$cmd >/dev/null
