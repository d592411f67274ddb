#!/usr/bin/env bash
# test_full_disk.sh -- a data directory on a full disk (a small tmpfs):
# `profile build` says "no space left on device", not an I/O error, and the
# server answers writes with 507 and that cause, then takes the same batch
# once there is room. Mounting needs root: elsewhere the test says SKIP.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DISK=$TMP/disk
mkdir -p "$DISK"
if ! mount -t tmpfs -o size=4m tmpfs "$DISK" 2>/dev/null; then
    echo "SKIP: cannot mount a small tmpfs here (needs root)"
    finish
fi
pid=
trap 'kill -9 $pid 2>/dev/null; umount "$DISK" 2>/dev/null; rm -rf "$TMP"' EXIT
D=$DISK/d
"$TAILOR" gen --users 300 --items 50 --days 10 --seed 3 --dirty 0 --out "$TMP/w" >/dev/null
"$TAILOR" --data "$D" import "$TMP"/w/{users,items,products,credit,consents,events}.csv >/dev/null 2>&1
ADM=$("$TAILOR" --data "$D" apikey create --role admin 2>/dev/null)
fill() { dd if=/dev/zero of="$DISK/fill" bs=4k >/dev/null 2>&1; }

# room for the store to open, none for the profiles
fill
truncate -s -64k "$DISK/fill"
rc=0
"$TAILOR" --data "$D" profile build >"$TMP/pb.out" 2>"$TMP/pb.err" || rc=$?
check "profile build on a full disk fails" "$rc" 1
check_cmd "... saying no space is left" grep -q "no space left on device" "$TMP/pb.err"
check_cmd "... not an I/O error" sh -c '! grep -qi "input/output" "$1"' _ "$TMP/pb.err"
check "... leaving no partial snapshot" "$(ls "$D" | grep -c profiles)" 0
rm -f "$DISK/fill"

"$TAILOR" --data "$D" serve --listen 127.0.0.1:0 >"$TMP/serve.out" 2>"$TMP/serve.err" &
pid=$!
for _ in $(seq 100); do grep -q listening "$TMP/serve.out" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$TMP/serve.out")
U="http://127.0.0.1:$port"
fill
python3 -c '
import json
print("\n".join(json.dumps({"event_id": "full-%d" % i, "user": "u%06d" % (i % 290 + 1), "type": "view",
                            "ts": "2025-11-30T12:00:00Z"}) for i in range(3000)))' >"$TMP/ev.jsonl"
check "events on a full disk: 507" "$(req POST /v1/events "$ADM" "@$TMP/ev.jsonl")" 507
check "... code no_space" "$(jget code <"$TMP/body")" no_space
check_cmd "... saying no space is left" grep -q "no space left on device" "$TMP/body"
check "a consent on a full disk: 507" "$(req PUT /v1/users/u000001/consents/email "$ADM" '{"granted":false}')" 507
rm -f "$DISK/fill"
check "with room again, the same batch: 200" "$(req POST /v1/events "$ADM" "@$TMP/ev.jsonl"; echo " $(jget accepted <"$TMP/body")")" "200 3000"
req GET /metrics "" >/dev/null
check_cmd "507s are counted in /metrics" grep -q 'route="/v1/events",status="507"} 1' "$TMP/body"
kill -TERM $pid
wait $pid
check "the server stopped cleanly" "$?" 0
finish
