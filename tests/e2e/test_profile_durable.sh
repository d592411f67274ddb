#!/usr/bin/env bash
# test_profile_durable.sh -- `profile build` puts the snapshot in place
# with the store's commit discipline, read off strace: the new file's data
# fsync'd, then renamed over profiles.tlp, then the directory fsync'd; a
# temporary file left by a killed build goes at the next read.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

D=$TMP/d
"$TAILOR" gen --users 300 --items 100 --days 10 --seed 3 --dirty 0 --out "$TMP/w" >/dev/null
"$TAILOR" --data "$D" import "$TMP"/w/{users,items,events}.csv >/dev/null 2>&1
if ! command -v strace >/dev/null 2>&1; then
    echo "SKIP: no strace: the order of fsync and rename cannot be seen"
    exit 0
fi
# LeakSanitizer cannot run under ptrace: a sanitizer build runs without it here
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -qq -y -o "$TMP/trace" \
    -e trace=fsync,fdatasync,rename,renameat,renameat2 "$TAILOR" --data "$D" profile build >/dev/null
check_cmd "profile build ran under strace" test -s "$D/profiles.tlp"
# the steps on the snapshot, in order, one word each
steps=$(awk -v d="$D" '
    index($0, "profiles.tlp.tmp>)") && /sync\(/ { print "file-sync" }
    /rename/ && index($0, "profiles.tlp.tmp\"") { print "rename" }
    index($0, "<" d ">)") && /sync\(/ { print "dir-sync" }' "$TMP/trace" | tr '\n' ' ')
check "fsync of the new snapshot, rename, fsync of the directory" \
    "$(grep -o 'file-sync rename dir-sync' <<<"$steps")" "file-sync rename dir-sync"

# a build killed half way leaves profiles.tlp.tmp: the next read removes it
head -c 100 "$D/profiles.tlp" >"$D/profiles.tlp.tmp"
"$TAILOR" --data "$D" profile show u000001 >/dev/null
check "a killed build's temporary file goes at the next read" "$(ls "$D" | grep -c 'profiles.tlp.tmp')" 0
finish
