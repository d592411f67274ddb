#!/usr/bin/env bash
# test_streams.sh -- a large batch's events go by two COPY streams, the
# second in a transaction of its own that commits just before the batch
# with a marker the batch deletes. Killed at 20 random moments of imports
# whose batches open the second stream, and run again to the end, the
# store holds exactly the events of one clean import (count, digest of
# fingerprints), its check passes and no marker is left. Rows a second
# stream committed for a batch that then failed (planted here as the kill
# between the two commits leaves them) are past the count, hidden from
# readers and the check, and deleted by the next batch.
. "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"
[[ -n ${TAILOR_TEST_PG:-} ]] || { echo "SKIP: no PostgreSQL server (TAILOR_TEST_PG)"; exit 77; }

W=$TMP/world
"$TAILOR_REAL" gen --users 14000 --items 1500 --days 30 --seed 17 --dirty 0 --out "$W" >/dev/null
ev=$W/events.csv
n=$(($(wc -l <"$ev") - 1))
check "the world has more events than a batch sends on one stream" "$((n > 100000))" 1
# 90,000 rows a batch: the second stream opens after the first 65,536
imp() { "$TAILOR" --data "$1" import --batch 90000 "$ev"; }

imp "$TMP/ref" >/dev/null 2>&1
ref=$("$TAILOR" --data "$TMP/ref" check --json)
check "the reference holds every event" "$(jget events <<<"$ref")" "$n"

uri() { sed -n 's/^store = //p' "$1/store.conf"; }
start=$(date +%s%N)
imp "$TMP/timing" >/dev/null 2>&1
ms=$((($(date +%s%N) - start) / 1000000))
# 20 stores, each import killed at a random moment, then run to the end
kills=0 same=0 clean=0
for i in $(seq 20); do
    S=$TMP/killed$i
    (exec "$TAILOR" --data "$S" import --batch 90000 "$ev" >/dev/null 2>&1) &
    pid=$!
    sleep "$(awk -v s="$RANDOM" -v ms="$ms" 'BEGIN{srand(s); printf "%.3f", rand() * ms / 1000}')"
    kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
    wait "$pid" 2>/dev/null || true
    imp "$S" >/dev/null 2>&1
    got=$("$TAILOR" --data "$S" check --json)
    [[ $(jget events <<<"$got") == "$n" && $(jget events_digest <<<"$got") == $(jget events_digest <<<"$ref") ]] &&
        same=$((same + 1))
    [[ $(psql -qAtX "$(uri "$S")" -c "SELECT count(*) FROM tl_counter WHERE name LIKE 'pending:%'") == 0 ]] &&
        clean=$((clean + 1))
done
check "imports killed at 20 random moments (most of them before the end)" "$((kills >= 15))" 1
check "each store, run again to the end, holds every event once (count, digest)" "$same" 20
check "no marker left in any" "$clean" 20
q() { psql -qAtX "$(uri "$S")" -c "$1"; }
check "no marker left" "$(q "SELECT count(*) FROM tl_counter WHERE name LIKE 'pending:%'")" 0
check "a month's partition in two halves, both written" \
    "$(q "SELECT count(DISTINCT tableoid) FROM tl_events")" \
    "$(q "SELECT 2 * count(*) FROM pg_inherits WHERE inhparent = 'tl_events'::regclass")"

# what a kill between the second stream's commit and the batch's leaves:
# copies of 1,000 rows numbered past the count, under a marker
q "INSERT INTO tl_events SELECT seq + $n, fp # 1, ts, uid, item, type, channel, qty, amount, rating,
   lat, lon, query, city, session, campaign FROM tl_events WHERE seq < 1000;
   INSERT INTO tl_counter VALUES ('pending:$n', $n)" >/dev/null
got=$("$TAILOR" --data "$S" check --json)
check "rows past the count under a marker: the check passes" "$(jget events <<<"$got")" "$n"
check "... and readers do not see them" "$("$TAILOR" --data "$S" stats --json | jget events)" "$n"
printf 'event_id,user,item,type,ts\nlate-1,u000001,i00001,view,2025-11-30T10:00:00Z\n' >"$TMP/late.csv"
"$TAILOR" --data "$S" import "$TMP/late.csv" >/dev/null 2>&1
check "the next batch deletes them and the marker" \
    "$(q "SELECT count(*) FROM tl_events WHERE seq > $n"):$(q "SELECT count(*) FROM tl_counter WHERE name LIKE 'pending:%'")" \
    "0:0"
got=$("$TAILOR" --data "$S" check --json)
check "... and commits its own event after them" "$(jget events <<<"$got")" "$((n + 1))"
# rows past the count with no marker are damage the check reports
q "INSERT INTO tl_events SELECT seq + $n + 1, fp # 1, ts, uid, item, type, channel, qty, amount,
   rating, lat, lon, query, city, session, campaign FROM tl_events WHERE seq = 0" >/dev/null
"$TAILOR" --data "$S" check >/dev/null 2>&1 && rc=0 || rc=$?
check "a row past the count with no marker: the check fails" "$((rc != 0))" 1
finish
