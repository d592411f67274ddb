#!/usr/bin/env bash
# kill -9 an import again and again; after each kill the store opens and
# `check` passes, and re-importing the same files ends with exactly the
# events of a clean import: none lost, none doubled (same count, same digest
# of event fingerprints, same stats).
#
# KILLS kills land (default 24); each data directory takes one to three
# before an import may finish. Two kinds alternate:
#   - at a random moment of the import (kill -9 after a delay drawn over the
#     length of a clean import), spread over parsing, appending and commits;
#   - inside the commit of a batch: SIGKILL at the entry of the Nth
#     fdatasync, through strace's fault injection; N is drawn, in turn,
#     among a clean import's syncs of the event log (blocks written, SQLite
#     not yet told) and of SQLite (the commit point). Without a
#     working strace, every kill is of the first kind (and the test says so).
# A kill that comes after the import already finished does not count.
#
#   KILLS=24 SEED=42 bash tests/e2e/test_crash.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
set -e
KILLS=${KILLS:-24}
SEED=${SEED:-42}
tmp=$TMP
t0=$(date +%s%N)

"$TAILOR" gen --users 10000 --items 3000 --days 40 --seed 7 --out "$tmp/world" >/dev/null
files=("$tmp/world/users.csv" "$tmp/world/consents.csv" "$tmp/world/events.csv")
import() { "$TAILOR" --data "$1" import --batch 5000 "${files[@]}"; }
events_of() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])["events"])' "$1"; }
partial() { # DIR: its store holds less than the clean import's
    python3 -c '
import json, sys
got, ref = json.loads(sys.argv[1]), json.loads(sys.argv[2])
sys.exit(0 if any(got.get(k, 0) < ref[k] for k in ("events", "users", "consents")) else 1)
' "$("$TAILOR" --data "$1" stats --json)" "$ref_stats"
}

# The reference: one clean import.
import "$tmp/ref" >/dev/null
ref_check=$("$TAILOR" --data "$tmp/ref" check --json)
ref_stats=$("$TAILOR" --data "$tmp/ref" stats --json)
ref_events=$(events_of "$ref_check")
[ "$ref_events" -gt 100000 ] && pass || fail "reference import too small: $ref_events events"

# How long a clean import takes, to spread the kills over it, and how many
# fdatasyncs it makes, to pick the one to die in.
start=$(date +%s%N)
import "$tmp/timing" >/dev/null
dur_ms=$(( ($(date +%s%N) - start) / 1000000 ))
rm -rf "$tmp/timing"
syncs=0
strace_flags=(-f -qq -y)
# LeakSanitizer cannot run under ptrace (it says so and fails): in a
# sanitizer build the traced imports go without it
untraced_leaks=(env "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0")
if command -v strace >/dev/null 2>&1; then
    if "${untraced_leaks[@]}" strace "${strace_flags[@]}" -o "$tmp/strace.log" -e trace=fdatasync \
        "$TAILOR" --data "$tmp/timing" import --batch 5000 "${files[@]}" >/dev/null 2>&1; then
        syncs=$(grep -c 'fdatasync(' "$tmp/strace.log" || true)
        # which of them sync the event log, which SQLite (WAL or database)
        log_at=($(awk '/fdatasync\(/ { n++ } /fdatasync\([0-9]+<[^>]*\/events\.log>/ { print n }' "$tmp/strace.log"))
        sql_at=($(awk '/fdatasync\(/ { n++ } /fdatasync\([0-9]+<[^>]*\/tailor\.db[^>]*>/ { print n }' "$tmp/strace.log"))
        [ "${#log_at[@]}" -gt 0 ] && [ "${#sql_at[@]}" -gt 0 ] || syncs=0
    fi
    rm -rf "$tmp/timing"
fi
[ "$syncs" -gt 0 ] || echo "note: no working strace: every kill at a random moment, none aimed at a commit"

RANDOM=$SEED
kills=0 timed=0 in_log_sync=0 in_sql_sync=0 in_other_sync=0 midway=0 empty=0 dirs=0
while [ "$kills" -lt "$KILLS" ] && [ "$dirs" -lt $((KILLS * 2)) ]; do
    dirs=$((dirs + 1))
    d="$tmp/crash$dirs"
    for k in 1 2 3; do
        rc=0
        if [ "$syncs" -gt 0 ] && [ $((kills % 2)) -eq 1 ]; then
            # alternately one of the event log's and one of SQLite's (in a
            # clean import; an import resumed after a kill syncs a little
            # differently, so where it died is read from strace's log)
            if [ $((kills % 4)) -eq 1 ]; then
                n=${log_at[$((RANDOM % ${#log_at[@]}))]}
            else
                n=${sql_at[$((RANDOM % ${#sql_at[@]}))]}
            fi
            # in a subshell, so that bash does not tell of the kill
            ("${untraced_leaks[@]}" strace "${strace_flags[@]}" -o "$tmp/strace.log" -e trace=fdatasync \
                -e inject=fdatasync:signal=KILL:when=$n \
                "$TAILOR" --data "$d" import --batch 5000 "${files[@]}" >/dev/null 2>&1 || exit) 2>/dev/null || rc=$?
            how="at fdatasync $n of $syncs, of $(awk '/fdatasync\(/ { match($0, /<[^>]*>/); p[$1] = substr($0, RSTART + 1, RLENGTH - 2) }
                /fdatasync/ && /= \?/ { print p[$1]; exit }' "$tmp/strace.log")"
        else
            "$TAILOR" --data "$d" import --batch 5000 "${files[@]}" >/dev/null 2>&1 &
            pid=$!
            delay_ms=$((RANDOM % (dur_ms + 1)))
            sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
            kill -9 "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || rc=$?
            how="after $delay_ms ms of $dur_ms"
        fi
        [ "$rc" -eq 0 ] && break # finished before the kill: not a kill point
        [ "$rc" -eq 137 ] || { fail "dir $dirs: the import failed on its own (exit $rc)"; break; }
        kills=$((kills + 1))
        case $how in
        at*events.log*) in_log_sync=$((in_log_sync + 1)) ;;
        at*tailor.db*) in_sql_sync=$((in_sql_sync + 1)) ;;
        at*) in_other_sync=$((in_other_sync + 1)) ;;
        *) timed=$((timed + 1)) ;;
        esac
        # the store opens after the kill and checks
        if after=$("$TAILOR" --data "$d" check --json 2>"$tmp/err"); then
            pass
            # cut short: fewer events, users or consents than a clean import
            partial "$d" && midway=$((midway + 1))
        elif grep -q "nothing was ever committed\|no tailor data here yet\|no data directory here" "$tmp/err"; then
            pass # killed before the first commit: the directory holds nothing yet
            empty=$((empty + 1))
            midway=$((midway + 1))
        else
            fail "kill $kills ($how): check after the kill: $(cat "$tmp/err")"
        fi
        [ $((RANDOM % 3)) -eq 0 ] && break
    done
    import "$d" >/dev/null
    got_check=$("$TAILOR" --data "$d" check --json)
    got_stats=$("$TAILOR" --data "$d" stats --json)
    if python3 - "$ref_check" "$got_check" "$ref_stats" "$got_stats" "$tmp/lostdoubled" <<'EOF'
import json, sys
rc, gc, rs, gs = (json.loads(a) for a in sys.argv[1:5])
with open(sys.argv[5], "a") as f:
    f.write("%d %d\n" % (max(0, rc["events"] - gc["events"]), max(0, gc["events"] - rc["events"])))
assert gc["ok"], gc
assert gc["events"] == rc["events"], (gc["events"], rc["events"])
assert gc["events_digest"] == rc["events_digest"], "different events"
for k in ("users", "items", "events", "consents", "events_by_type", "events_by_day", "quarantined"):
    assert gs[k] == rs[k], (k, gs[k], rs[k])
EOF
    then pass; else fail "dir $dirs (last kill $how): store after re-import differs from the clean import"; fi
    rm -rf "$d"
done
[ "$kills" -ge "$KILLS" ] && pass || fail "only $kills of $KILLS kills landed before the import finished"
# The kills must have landed inside imports, and some inside commits, or
# the test proves little.
[ "$midway" -ge $((KILLS / 2)) ] && pass || fail "only $midway of $kills kills interrupted an import"
if [ "$syncs" -gt 0 ]; then
    [ $((in_log_sync + in_sql_sync)) -ge $((KILLS / 4)) ] && pass ||
        fail "too few kills inside a commit: $in_log_sync at the event log's fsync, $in_sql_sync at SQLite's"
fi
read -r lost doubled < <(awk '{l += $1; d += $2} END {print l + 0, d + 0}' "$tmp/lostdoubled")
echo "import crash test: $kills kills in $dirs directories ($timed at random moments, $in_log_sync at the" \
    "event log's fsync, $in_sql_sync at SQLite's fsync, $in_other_sync at another fsync;" \
    "$midway mid-import, $empty before the first commit), lost=$lost doubled=$doubled after re-import" \
    "(seed $SEED, $(( ($(date +%s%N) - t0) / 1000000 )) ms)"
finish
