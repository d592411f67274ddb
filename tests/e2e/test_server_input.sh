#!/usr/bin/env bash
# test_server_input.sh -- what `tailor serve` makes of awkward input, served
# from a data directory named by a relative path: ids and query values with
# a NUL or another control character (refused, never cut short to someone
# else's id), malformed escapes, rejected events that keep their index and
# reason, request bodies that never reach the disk, HEAD on GET routes, a
# bad expression quoted in short, and /metrics as Prometheus's own checker
# (promtool, when installed) reads it.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

W=$TMP/world
cd "$TMP" || exit 1
D=d # relative, on purpose
"$TAILOR" gen --users 200 --items 50 --days 10 --seed 7 --dirty 0 --out "$W" >/dev/null
"$TAILOR" --data "$D" import "$W"/{users,items,products,credit,consents,events}.csv >/dev/null 2>&1
SVC=$("$TAILOR" --data "$D" apikey create --role service 2>/dev/null)
ANA=$("$TAILOR" --data "$D" apikey create --role analyst 2>/dev/null)
ADM=$("$TAILOR" --data "$D" apikey create --role admin 2>/dev/null)

# every write of the server is traced, to see what reaches the data directory
STRACE=
if command -v strace >/dev/null && strace -f -o /dev/null true 2>/dev/null; then STRACE=1; fi
if [[ -n $STRACE ]]; then
    # LeakSanitizer cannot run under ptrace: in a sanitizer build the traced
    # server goes without it (the unit tests and test_server.sh check leaks)
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" strace -f -qq -e trace=openat,creat,rename -o "$TMP/trace" \
        "$TAILOR" --data "$D" serve --listen 127.0.0.1:0 >"$TMP/serve.out" 2>"$TMP/serve.err" &
else
    echo "note: strace cannot trace here: the files the server opens are not checked"
    "$TAILOR" --data "$D" serve --listen 127.0.0.1:0 >"$TMP/serve.out" 2>"$TMP/serve.err" &
fi
pid=$!
for _ in $(seq 100); do grep -q listening "$TMP/serve.out" 2>/dev/null && break; sleep 0.1; done
spid=$pid # the server itself, strace's child when traced
[[ -n $STRACE ]] && spid=$(pgrep -P "$pid" -n)
trap 'kill -9 $spid $pid 2>/dev/null; rm -rf "$TMP"' EXIT
port=$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$TMP/serve.out")
U="http://127.0.0.1:$port"

# ---- a NUL or a control character in an id or a value: 400, nobody touched
check "a NUL in the id of an erasure: 400" "$(req DELETE /v1/users/u000002%00zzz "$ADM")" 400
check "... as a JSON error" "$(jget code <"$TMP/body")" bad_uri
check "... and u000002 is still there" "$(req GET /v1/users/u000002/profile "$ANA")" 200
check "a NUL in a profile's id: 400" "$(req GET /v1/users/u000003%00/profile "$ANA")" 400
check "a NUL in a consent's user: 400" \
    "$(req PUT /v1/users/u000003%00x/consents/profiling "$SVC" '{"granted":false}')" 400
check "... in its purpose: 400" \
    "$(req PUT /v1/users/u000003/consents/profiling%00x "$SVC" '{"granted":false}')" 400
check "... the profile is still built" "$(req GET /v1/users/u000003/profile "$ANA"; jget profiling <"$TMP/body")" 200MISSING
check "a NUL in the subject access id: 400" "$(req GET /v1/users/u000004%00/data "$ADM")" 400
check "a line feed in an offers id: 400" "$(req GET /v1/users/u000004%0A/offers "$SVC")" 400
check "a tab in an item id: 400" "$(req GET /v1/items/i00001%09/similar "$SVC")" 400
check "a NUL in a query value: 400" "$(req GET '/v1/users/u000004/offers?category=x%00y' "$SVC")" 400
check "DEL in a query value: 400" "$(req GET '/v1/users/u000004/recommendations?exclude=i00001%7F' "$SVC")" 400
check "a '%' without two hex digits: 400" "$(req GET /v1/users/u00000%zz/profile "$ANA")" 400
check "... at the end of a value: 400" "$(req GET '/v1/users/u000004/offers?category=x%4' "$SVC")" 400
check "an id sent percent-encoded still works" \
    "$(req GET /v1/users/u%30%30%30%30%30%32/profile "$ANA"; echo " $(jget user <"$TMP/body")")" "200 u000002"
check "nobody was erased" "$("$TAILOR" --data "$D" audit list --json 2>/dev/null | python3 -c 'import json,sys; print(sum(e["what"] == "erase" for e in json.load(sys.stdin)))')" 0

# ---- rejected events keep their index, reason and message under a relative --data
check "three bad events" "$(req POST /v1/events "$SVC" '[{"user":"u000001","type":"teleport","ts":"2025-11-30T10:00:00Z"},
{"user":"u000001","type":"view","ts":"not a time"},{"user":"u000001","type":"view"}]')" 200
check_cmd "... each with its index, reason and message" python3 - "$TMP/body" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["quarantined"] == 3, d
assert [(r["index"], r["reason"]) for r in d["rejected"]] == [(0, "unknown_type"), (1, "bad_time"), (2, "missing_field")], d
assert all(r["message"] for r in d["rejected"]), d
PY
check "a malformed line among good ones" "$(req POST /v1/events "$SVC" '{"event_id":"in-1","user":"u000001","type":"view","ts":"2025-11-30T10:00:00Z"}
{"user": "u000001", "type":
{"event_id":"in-2","user":"u000001","type":"view","ts":"2025-11-30T10:01:00Z"}')" 200
check_cmd "... the bad one with its reason" python3 - "$TMP/body" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["accepted"] == 2 and d["quarantined"] == 1, d
assert [(r["index"], r["reason"]) for r in d["rejected"]] == [(1, "bad_json")] and d["rejected"][0]["message"], d
PY
check "an array element that is not an object" "$(req POST /v1/events "$SVC" '[{"event_id":"in-3","user":"u000001","type":"view","ts":"2025-11-30T10:02:00Z"}, 7]')" 200
check "... rejected with its index" "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["accepted"], [(r["index"], r["reason"]) for r in d["rejected"]])' "$TMP/body")" "1 [(1, 'bad_json')]"

# concurrent batches share one group commit; each answer holds its own rejects
for k in $(seq 8); do
    curl -s -H "Authorization: Bearer $SVC" --data-binary "[{\"event_id\":\"grp-$k\",\"user\":\"u000005\",\"type\":\"view\",\"ts\":\"2025-11-30T10:00:00Z\"},{\"user\":\"u000005\",\"type\":\"nope$k\",\"ts\":\"2025-11-30T10:00:00Z\"}]" \
        "$U/v1/events" >"$TMP/grp$k" &
done
wait $(jobs -p | grep -v "^$pid$")
for k in $(seq 8); do
    check "batch $k of a group: its own reject" "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["accepted"], [(r["index"], r["reason"], "nope%s" % sys.argv[2] in r["message"]) for r in d["rejected"]])' "$TMP/grp$k" "$k")" "1 [(1, 'unknown_type', True)]"
done
check "feedback" "$(req POST /v1/feedback "$SVC" '[{"user":"u000006","kind":"complaint","at":"2025-11-30T10:00:00Z"},{"user":"u000006","kind":"shrug","at":"2025-11-30T10:00:00Z"}]')" 200
check "... its bad record with index and reason" "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["accepted"], [(r["index"], r["reason"]) for r in d["rejected"]])' "$TMP/body")" "1 [(1, 'bad_value')]"

# ---- HTTP details
req GET /v1/users/u000002/profile "$ANA" >/dev/null
# on a raw socket: everything the server sends back to a HEAD
check "HEAD on a GET route: as GET, without a body" "$(python3 - "$port" "$ANA" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"HEAD /v1/users/u000002/profile HTTP/1.0\r\nAuthorization: Bearer %s\r\n\r\n" % sys.argv[2].encode())
got = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    got += b
head, _, body = got.partition(b"\r\n\r\n")
lines = head.decode().split("\r\n")
length = [l.split(":")[1].strip() for l in lines if l.lower().startswith("content-length:")]
print(lines[0].split()[1], length[0] if length else "none", len(body))
PY
)" "200 $(wc -c <"$TMP/body" | tr -d ' ') 0"
check "HEAD on a POST route: 405" "$(curl -s -o /dev/null -w '%{http_code}' -I -H "Authorization: Bearer $SVC" "$U/v1/events")" 405
long=$(python3 -c 'print("orders >= 1 and " * 640 + "orders >=")')
check "a bad expression of 10 KB: 400" "$(req POST /v1/segments "$ANA" "{\"name\":\"long\",\"expression\":\"$long\"}")" 400
check_cmd "... quoted in short, the caret under the error" python3 - "$TMP/body" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
m = d["message"]
assert d["code"] == "bad_expression" and len(m) < 300, (len(m), m[:400])
text, caret = m.split("\n")[:2]
assert text.startswith("...") and "orders >=" in text and caret.rstrip().endswith("^") or "^ " in caret, m
PY
req GET /metrics "" >/dev/null
if command -v promtool >/dev/null; then
    check_cmd "/metrics passes promtool check metrics" sh -c 'promtool check metrics <"$1"' _ "$TMP/body"
else
    echo "note: no promtool (Debian package prometheus): /metrics not checked by it"
fi
check_cmd "... every metric has its HELP and TYPE" python3 - "$TMP/body" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
names = {re.match(r"[a-z_]+", l).group(0) for l in t.splitlines() if l and not l.startswith("#")}
base = {re.sub(r"_(bucket|sum|count)$", "", n) for n in names}
for n in base:
    assert "# HELP %s " % n in t and "# TYPE %s " % n in t, n
PY

kill -TERM "$spid"
wait "$pid"
check "the server stopped cleanly" "$?" 0
if [[ -n $STRACE ]]; then
    # files created in the data directory and gone again were copies of a
    # request (SQLite's own journal files and renamed files aside)
    check_cmd "no request body was written to disk" python3 - "$TMP/trace" "$D" <<'PY'
import os, re, sys
trace, d = open(sys.argv[1]).read(), os.path.abspath(sys.argv[2])
def full(p): return os.path.abspath(p)
created = {full(p) for p, fl in re.findall(r'open(?:at)?\([^"]*"([^"]+)", ([A-Z_|]+)', trace) if "O_CREAT" in fl}
renamed = {full(p) for p in re.findall(r'rename\("([^"]+)"', trace)}
assert full(os.path.join(d, "events.log")) in created, "the trace saw no writes"
gone = [p for p in created - renamed if os.path.dirname(p) == d and not os.path.exists(p)
        and not re.search(r"tailor\.db-(wal|shm|journal)$", p)]
assert not gone, gone
PY
fi
finish
