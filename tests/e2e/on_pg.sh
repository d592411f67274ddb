#!/usr/bin/env bash
# on_pg.sh -- tailor with every data directory it is given made a
# PostgreSQL store: a directory named by --data (or --store) that does not
# exist yet is created holding only a settings file (store.conf) that names
# a fresh database on the server of $TAILOR_TEST_PG, so the test that runs
# tailor through this script exercises the PostgreSQL back end unchanged.
# The databases made are listed in $TAILOR_PG_DBS, for the test to drop.
#   TAILOR_REAL    the tailor binary
#   TAILOR_TEST_PG a connection URI of the server (any database on it)
set -euo pipefail
base=${TAILOR_TEST_PG%/*}
prev=""
for a in "$@"; do
    d=""
    case "$a" in
        --data=*) d=${a#--data=} ;;
        *) [[ $prev == --data ]] && d=$a ;;
    esac
    prev=$a
    [[ -z $d || -e $d/store.conf || -e $d/tailor.db || $d == postgres* ]] && continue
    [[ -e $d && -n $(ls -A "$d" 2>/dev/null) ]] && continue
    db=tl_$(printf %s "$(realpath -m "$d")" | md5sum | cut -c1-20)
    psql -qX "$base/postgres" -c "CREATE DATABASE $db" >/dev/null 2>&1 || true
    mkdir -p "$d"
    echo "store = $base/$db" >"$d/store.conf"
    echo "$db" >>"${TAILOR_PG_DBS:-/dev/null}"
done
exec "$TAILOR_REAL" "$@"
