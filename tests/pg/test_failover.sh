#!/usr/bin/env bash
# test_failover.sh -- a PostgreSQL primary with a synchronous streaming
# standby, tailor's store named by a multi-host address
# (target_session_attrs=read-write). While `tailor serve` takes a load of
# POST /v1/events, the primary is killed (SIGKILL) and the standby
# promoted: the server reconnects by itself and goes on taking events, and
# in the end every event it acknowledged is stored exactly once (the store
# equals a reference import of everything sent: count and digest).
# Then, on the same servers, the personal data of 3,000 imported users
# (phones, e-mails, ID numbers) is looked for in the database's files and
# in a pg_dump: none is there in clear.
#
# The test starts its own two servers (scripts/pg.sh) on PG_HA_PORT and the
# next port (default 25470, below the ports the kernel hands out to connections, so a client of another test never holds it) and stops them.
. "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"
command -v psql >/dev/null || { echo "SKIP: no PostgreSQL client"; exit 77; }
T=${TAILOR_REAL:-$TAILOR} # the binary itself: this test makes its own stores
P=${PG_HA_PORT:-25470}
H=$TMP/ha
LOAD=$SRC/tests/e2e/load_events.py
"$SRC/scripts/pg.sh" start "$H" "$P" >/dev/null
"$SRC/scripts/pg.sh" standby "$H" $((P + 1)) "$P" >/dev/null
HD=$("$SRC/scripts/pg.sh" where "$H") # where the server's user could make them
spid=""
trap '[[ -n $spid ]] && kill -9 $spid 2>/dev/null; "$SRC/scripts/pg.sh" stop "$H"; rm -rf "$TMP"' EXIT
D=$TMP/store
mkdir -p "$D"
echo "store = postgresql://tailor@127.0.0.1:$P,127.0.0.1:$((P + 1))/postgres?target_session_attrs=read-write&connect_timeout=2" \
    >"$D/store.conf"

"$T" gen --users 3000 --items 500 --days 20 --seed 5 --dirty 0 --out "$TMP/world" >/dev/null
"$T" --data "$D" import "$TMP"/world/{users,items,consents,events}.csv >/dev/null 2>&1
base=$(jget events < <("$T" --data "$D" check --json))
KEY=$("$T" --data "$D" apikey create --role service 2>/dev/null)
check "the standby streams synchronously" \
    "$(psql -qAtX "postgresql://tailor@127.0.0.1:$P/postgres" -c "select sync_state from pg_stat_replication")" \
    sync

serve() {
    "$T" --data "$D" serve --listen 127.0.0.1:0 >"$TMP/serve.out" 2>"$TMP/serve.err" &
    spid=$!
    for _ in $(seq 200); do grep -q listening "$TMP/serve.out" 2>/dev/null && break; sleep 0.1; done
    U="http://127.0.0.1:$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$TMP/serve.out")"
}
serve
python3 "$LOAD" run "$TMP/ledger" --url "$U" --key "$KEY" --conns 4 --seed 3 --unavailable-ok \
    2>"$TMP/load1.err" &
lpid=$!
sleep 3
acked_before=$(python3 "$LOAD" summary "$TMP/ledger" 2>/dev/null | jget acked_events)
"$SRC/scripts/pg.sh" kill "$H"  # the primary, as a crash would
sleep 1
"$SRC/scripts/pg.sh" promote "$H"
# the server goes on: an event is taken on the promoted standby
ok=0
for _ in $(seq 120); do
    if [[ $(req POST /v1/events "$KEY" '{"event_id":"after-failover","user":"u000001","type":"view","ts":"2025-11-30T10:00:00Z"}') == 200 ]]; then
        ok=1
        break
    fi
    sleep 0.5
done
check "the server takes events again after the failover" "$ok" 1
sleep 3
kill -9 "$spid"
wait "$lpid" 2>/dev/null
spid=""
s=$(python3 "$LOAD" summary "$TMP/ledger" 2>"$TMP/summary.err")
check "the load went on after the failover" \
    "$(python3 -c 'import sys; print(int(sys.argv[1]) > int(sys.argv[2]))' "$(jget acked_events <<<"$s")" "${acked_before:-0}")" True
stored=$(jget events < <("$T" --data "$D" check --json))
check_cmd "acknowledged events all stored after the failover and a kill" \
    python3 "$LOAD" check "$TMP/ledger" --stored $((stored - 1)) --base "$base"

# the last life: everything not acknowledged sent again
serve
check_cmd "every batch acknowledged in the end" \
    python3 "$LOAD" run "$TMP/ledger" --url "$U" --key "$KEY" --conns 4 --final --unavailable-ok
kill -TERM "$spid"
wait "$spid" 2>/dev/null
spid=""
python3 "$LOAD" dump "$TMP/ledger" "$TMP/sent.jsonl"
echo '{"event_id":"after-failover","user":"u000001","type":"view","ts":"2025-11-30T10:00:00Z"}' \
    >>"$TMP/sent.jsonl"
ref=$TMP/ref
"$T" --data "$ref" import "$TMP"/world/{users,items,consents,events}.csv "$TMP/sent.jsonl" \
    >/dev/null 2>&1
r=$("$T" --data "$ref" check --json)
g=$("$T" --data "$D" check --json)
check "every event once: the count of a reference import" "$(jget events <<<"$g")" "$(jget events <<<"$r")"
check "every event once: the digest of a reference import" "$(jget events_digest <<<"$g")" "$(jget events_digest <<<"$r")"

# personal data: ciphertext only in the database's files and in a dump
python3 - "$TMP/world/users.csv" "$TMP/pii.txt" <<'EOF'
import csv, sys
vals = set()
for r in csv.DictReader(open(sys.argv[1])):
    for c in ("phone", "email", "id_number"):
        if r.get(c):
            vals.add(r[c])
open(sys.argv[2], "w").write("\n".join(sorted(vals)) + "\n")
EOF
check "3,000 users' phones, e-mails and ID numbers to look for" \
    "$(($(wc -l <"$TMP/pii.txt") >= 6000))" 1
psql -qX "postgresql://tailor@127.0.0.1:$((P + 1))/postgres" -c checkpoint >/dev/null
pg_dump -h 127.0.0.1 -p $((P + 1)) -U tailor postgres >"$TMP/dump.sql"
check "the dump holds the users" "$(grep -c 'COPY public.tl_users' "$TMP/dump.sql")" 1
check "no personal value in the dump" "$(grep -c -a -F -f "$TMP/pii.txt" "$TMP/dump.sql")" 0
check "no personal value in the database's files" \
    "$(grep -r -l -a -F -f "$TMP/pii.txt" "$HD/data" "$HD/standby" | wc -l)" 0
check "the database's files were looked at" "$(find "$HD/data" "$HD/standby" -type f | wc -l | awk '{print ($1 > 500)}')" 1
finish
