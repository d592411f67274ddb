#!/usr/bin/env bash
# Runs a PostgreSQL server for tailor's tests and benchmarks, in a folder of
# the build tree, on a loopback port, as the unprivileged `postgres` user
# when started by root (the server refuses to run as root).
#
#   scripts/pg.sh start   DIR PORT   a primary in DIR/data (made by initdb
#                                    the first time), trust on loopback
#   scripts/pg.sh fresh   DIR PORT   the same on a new cluster (what was in
#                                    DIR stopped and removed first)
#   scripts/pg.sh standby DIR PORT PRIMARY_PORT
#                                    a streaming standby of the primary in
#                                    DIR/standby, made the primary's
#                                    synchronous standby
#   scripts/pg.sh promote DIR        the standby of DIR made a primary
#   scripts/pg.sh stop    DIR        every server started in DIR, fast
#   scripts/pg.sh where   DIR        the folder the servers of DIR live in
#                                    (DIR, or the one of /tmp used for it)
#   scripts/pg.sh kill    DIR [standby]
#                                    the primary (or the standby) killed
#                                    with SIGKILL, as a crash would
#
# Prints the connection string of the server it started. Installs Debian's
# `postgresql` when it is missing (as root). Every server listens on
# 127.0.0.1 only, its socket in DIR.
set -euo pipefail
cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { sed -n 2,20p "$0" >&2; exit 2; }
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "pg.sh: PostgreSQL is not installed; as root: apt-get install -y postgresql" >&2
    exit 1
  fi
  echo "installing: postgresql" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends postgresql >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get install -y --no-install-recommends postgresql >/dev/null; }
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
# the server's user must reach the folder; when a parent is closed to it
# (a checkout under /root), the cluster lives in a folder of /tmp named
# after this one
if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$dir" 2>/dev/null; then
  dir=/tmp/tailor-pg-$(printf %s "$dir" | cksum | cut -d' ' -f1)
  mkdir -p "$dir"
fi

# as the server's user: postgres when we are root, else ourselves
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
own() { if [ "$(id -u)" -eq 0 ]; then chown -R postgres "$@"; fi; }

start_server() { # data-folder port log
  as_pg "$PGBIN/pg_ctl" -D "$1" -l "$3" -w -t 60 \
    -o "-p $2 -k $dir -c listen_addresses=127.0.0.1" start >/dev/null
}

if [ "$cmd" = fresh ]; then
  "$0" stop "$dir"
  rm -rf "${dir:?}/data" "${dir:?}/standby"
  cmd=start
fi

case "$cmd" in
where)
  echo "$dir"
  ;;
start)
  port=${3:?port}
  own "$dir"
  if [ -f "$dir/data/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    echo "postgresql://tailor@127.0.0.1:$(cat "$dir/port")/postgres"
    exit 0
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_pg "$PGBIN/initdb" -D "$dir/data" -A trust -U tailor -E UTF8 --no-locale >/dev/null
    cat >>"$dir/data/postgresql.conf" <<EOF
# tailor's test server: durable commits, replication for a standby
synchronous_commit = on
fsync = on
wal_level = replica
max_wal_senders = 4
shared_buffers = 256MB
max_wal_size = 4GB
checkpoint_timeout = 15min
EOF
    echo "host replication tailor 127.0.0.1/32 trust" >>"$dir/data/pg_hba.conf"
  fi
  start_server "$dir/data" "$port" "$dir/log"
  echo "$port" >"$dir/port"
  echo "postgresql://tailor@127.0.0.1:$port/postgres"
  ;;
standby)
  port=${3:?port}; primary=${4:?primary port}
  rm -rf "$dir/standby"
  own "$dir"
  as_pg "$PGBIN/pg_basebackup" -D "$dir/standby" -R -X stream -h 127.0.0.1 -p "$primary" \
    -U tailor -c fast >/dev/null
  echo "cluster_name = 'standby'" >>"$dir/standby/postgresql.conf"
  start_server "$dir/standby" "$port" "$dir/standby.log"
  echo "$port" >"$dir/standby.port"
  # the primary waits for the standby's flush before a commit returns
  psql -q -X "postgresql://tailor@127.0.0.1:$primary/postgres" \
    -c "ALTER SYSTEM SET synchronous_standby_names = 'standby'" -c "SELECT pg_reload_conf()" >/dev/null
  echo "postgresql://tailor@127.0.0.1:$port/postgres"
  ;;
promote)
  as_pg "$PGBIN/pg_ctl" -D "$dir/standby" -w promote >/dev/null
  # alone now: commits must not wait for a standby that is gone
  psql -q -X "postgresql://tailor@127.0.0.1:$(cat "$dir/standby.port")/postgres" \
    -c "ALTER SYSTEM SET synchronous_standby_names = ''" -c "SELECT pg_reload_conf()" >/dev/null
  ;;
kill)
  f="$dir/data/postmaster.pid"
  [ "${3:-}" = standby ] && f="$dir/standby/postmaster.pid"
  [ -f "$f" ] && kill -9 "$(head -1 "$f")" 2>/dev/null || true
  ;;
stop)
  for d in "$dir/standby" "$dir/data"; do
    if [ -f "$d/postmaster.pid" ]; then
      as_pg "$PGBIN/pg_ctl" -D "$d" -m fast -w stop >/dev/null 2>&1 ||
        as_pg "$PGBIN/pg_ctl" -D "$d" -m immediate -w stop >/dev/null 2>&1 || true
    fi
  done
  ;;
*)
  sed -n 2,20p "$0" >&2; exit 2 ;;
esac
