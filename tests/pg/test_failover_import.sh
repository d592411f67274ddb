#!/usr/bin/env bash
# test_failover_import.sh -- one `tailor import` of a whole world, in
# batches, on a PostgreSQL primary with a synchronous standby, through two
# incidents:
#   1. the connection is cut while the primary waits for the (frozen)
#      standby to confirm a batch's COMMIT: the batch is committed, the
#      import learns so on a new connection and goes on without sending it
#      again (no duplicate beyond those in the files);
#   2. a backend is frozen in the middle of a batch's COPY and the primary
#      killed, the standby promoted: the batch never committed, and the
#      import goes back to its last commit, reads its files again from
#      there and goes on on the promoted standby.
# The import ends with success, and the store equals a local import of the
# same files (events' count and digest, entities, consents, quarantine).
# Then an import from a pipe whose connection is cut stops with a clear
# error, as a pipe cannot be read again, and running it again from the
# file imports the rest exactly once.
#
# The test starts its own two servers (scripts/pg.sh) on PG_HA_PORT and the
# next port (default 25472, below the ports the kernel hands out to connections) and stops them.
. "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"
command -v psql >/dev/null || { echo "SKIP: no PostgreSQL client"; exit 77; }
T=${TAILOR_REAL:-$TAILOR} # the binary itself: this test makes its own stores
P=${PG_HA_PORT:-25472}
H=$TMP/ha
"$SRC/scripts/pg.sh" start "$H" "$P" >/dev/null
"$SRC/scripts/pg.sh" standby "$H" $((P + 1)) "$P" >/dev/null
HD=$("$SRC/scripts/pg.sh" where "$H")
ipid=""
trap '[[ -n $ipid ]] && kill -CONT $ipid 2>/dev/null && kill -9 $ipid 2>/dev/null; [[ -f $HD/standby/postmaster.pid ]] && pkill -CONT -P "$(head -1 "$HD/standby/postmaster.pid")"; "$SRC/scripts/pg.sh" stop "$H"; rm -rf "$TMP"' EXIT
D=$TMP/store
mkdir -p "$D"
echo "store = postgresql://tailor@127.0.0.1:$P,127.0.0.1:$((P + 1))/postgres?target_session_attrs=read-write&connect_timeout=2" \
    >"$D/store.conf"
primary="postgresql://tailor@127.0.0.1:$P/postgres"
q() { psql -qAtX "$1" -c "$2" 2>/dev/null; }
wait_for() { # TRIES SQL: until the primary answers the query with t
    local i
    for i in $(seq "$1"); do
        [[ $(q "$primary" "$2") == t ]] && return 0
        sleep 0.1
    done
    return 1
}
# the standby's server and its processes stopped (frozen) or let go on
standby() { local pm; pm=$(head -1 "$HD/standby/postmaster.pid"); kill "-$1" "$pm"; pkill "-$1" -P "$pm"; }

W=$TMP/world
"$T" gen --users 20000 --items 2000 --days 30 --seed 23 --out "$W" >/dev/null
files=("$W"/{users,items,products,credit,consents,events}.csv)
"$T" --data "$TMP/ref" import --json "${files[@]}" >"$TMP/ref.json" 2>/dev/null
check "the standby streams synchronously" "$(q "$primary" "select sync_state from pg_stat_replication")" sync

"$T" --data "$D" import --json --batch 20000 "${files[@]}" >"$TMP/imp.json" 2>"$TMP/imp.err" &
ipid=$!
committed="SELECT coalesce((SELECT n > 0 FROM tl_counter WHERE name = 'events'), false)"
check_cmd "a first batch of events committed" wait_for 600 "$committed"

# incident 1: a COMMIT waits for the frozen standby; its connection is cut
standby STOP
syncrep="SELECT count(*) > 0 FROM pg_stat_activity WHERE query = 'COMMIT' AND wait_event = 'SyncRep'"
check_cmd "a batch's COMMIT waits for the standby" wait_for 300 "$syncrep"
check "its connection cut" \
    "$(q "$primary" "SELECT bool_and(pg_terminate_backend(pid)) FROM pg_stat_activity
                     WHERE query = 'COMMIT' AND wait_event = 'SyncRep'")" t
standby CONT
n1=$(q "$primary" "SELECT n FROM tl_counter WHERE name = 'events'")
check_cmd "the import goes on past the cut" \
    wait_for 600 "SELECT n > $n1 FROM tl_counter WHERE name = 'events'"

# incident 2: a backend frozen in a COPY, the primary killed, the standby
# promoted. The import is frozen (SIGSTOP) at random moments until one
# finds it in a batch's COPY, which then cannot move on.
copying="SELECT pid FROM pg_stat_activity WHERE query LIKE 'COPY%' AND state = 'active' LIMIT 1"
bpid=""
for _ in $(seq 300); do
    kill -STOP "$ipid"
    bpid=$(q "$primary" "$copying")
    [[ -n $bpid ]] && break
    kill -CONT "$ipid"
    sleep "0.0$((RANDOM % 9 + 1))"
done
check "the import frozen in a batch's COPY" "${bpid:+yes}" yes
[[ -n $bpid ]] && kill -STOP "$bpid"
"$SRC/scripts/pg.sh" kill "$H"
[[ -n $bpid ]] && kill -9 "$bpid" 2>/dev/null
kill -CONT "$ipid"
"$SRC/scripts/pg.sh" promote "$H"
rc=0
wait "$ipid" || rc=$?
ipid=""
check "the import succeeds" "$rc" 0
check "it went back to its last commit once" "$(grep -c 'going on from row' "$TMP/imp.err")" 1
r=$(cat "$TMP/ref.json")
g=$(cat "$TMP/imp.json")
check "rows read, each once" "$(jget read <<<"$g")" "$(jget read <<<"$r")"
check "rows accepted as a local import" "$(jget accepted <<<"$g")" "$(jget accepted <<<"$r")"
check "duplicates: only those in the files" "$(jget duplicates <<<"$g")" "$(jget duplicates <<<"$r")"
check "rows quarantined as a local import" "$(jget quarantined <<<"$g")" "$(jget quarantined <<<"$r")"
check "some rows quarantined" "$(($(jget quarantined <<<"$r") > 0))" 1

same() { # what a store holds, against the local reference
    local a b
    a=$("$T" --data "$D" check --json)
    b=$("$T" --data "$TMP/ref" check --json)
    check "$1: the events' count" "$(jget events <<<"$a")" "$(jget events <<<"$b")"
    check "$1: the events' digest" "$(jget events_digest <<<"$a")" "$(jget events_digest <<<"$b")"
    a=$("$T" --data "$D" stats --json)
    b=$("$T" --data "$TMP/ref" stats --json)
    local k
    for k in users items products credit_records consents quarantined events_by_type; do
        check "$1: $k" "$(jget "$k" <<<"$a")" "$(jget "$k" <<<"$b")"
    done
}
same "after the failover"

# a pipe cannot be read again: the cut stops the import, clearly
W2=$TMP/world2
"$T" gen --users 20000 --items 2000 --days 30 --seed 24 --dirty 0 --out "$W2" >/dev/null
sed -i '2,$s/^e/x/' "$W2/events.csv" # other events than the first world's ids name
promoted="postgresql://tailor@127.0.0.1:$((P + 1))/postgres"
n0=$(q "$promoted" "SELECT n FROM tl_counter WHERE name = 'events'")
cat "$W2/events.csv" | "$T" --data "$D" import --batch 20000 /dev/stdin >"$TMP/pipe.out" 2>"$TMP/pipe.err" &
ipid=$!
# once a batch of it is committed, frozen at random moments until one
# finds it inside a later batch (a transaction of its open), then every
# connection cut
for _ in $(seq 600); do
    [[ $(q "$promoted" "SELECT n >= $n0 + 20000 FROM tl_counter WHERE name = 'events'") == t ]] && break
    sleep 0.05
done
intx="SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = 'postgres'
      AND state IN ('active', 'idle in transaction') AND xact_start IS NOT NULL LIMIT 1"
found=""
for _ in $(seq 300); do
    kill -STOP "$ipid" 2>/dev/null || break
    found=$(q "$promoted" "$intx")
    [[ -n $found ]] && break
    kill -CONT "$ipid"
    sleep "0.0$((RANDOM % 9 + 1))"
done
check "the pipe's import frozen inside a batch" "${found:+yes}" yes
q "$promoted" "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
               WHERE pid <> pg_backend_pid() AND datname = 'postgres'" >/dev/null
kill -CONT "$ipid"
rc=0
wait "$ipid" || rc=$?
ipid=""
check "the import from a pipe stops" "$((rc != 0))" 1
if grep -q "cannot be read again: running the import again imports the rest once" "$TMP/pipe.err"; then
    pass
else
    fail "and says why: $(tr '\n' ' ' <"$TMP/pipe.err")"
fi
"$T" --data "$D" import "$W2/events.csv" >/dev/null 2>&1
"$T" --data "$TMP/ref" import "$W2/events.csv" >/dev/null 2>&1
same "after the pipe's import was run again"
finish
