#!/bin/sh
# tests/integration/conversations.sh — the shipped conversation tests
# (pipelines/tests, scripts/tests) through `aisle test`, one "ok NAME" /
# "not ok NAME" line per conversation for tests/run.sh; failures keep the
# runner's diff under their line.
A=${AISLE:-build/aisle}
OUT=$(mktemp); trap 'rm -f "$OUT"' EXIT
$A test pipelines/tests scripts/tests >"$OUT" 2>&1
rc=$?
awk '
/^ok   /   { sub(/^ok   /, ""); print "ok " $0; next }
/^FAIL /   { sub(/^FAIL /, ""); print "not ok " $0; next }
/^[0-9]+ passed, [0-9]+ failed$/ { summary = $0; next }
           { print "  " $0 }
END        { if (summary == "") print "not ok aisle test printed no summary" }
' "$OUT"
# a file that does not load fails the run without a conversation line
if [ $rc -ne 0 ] && ! grep -q '^FAIL ' "$OUT"; then echo "not ok aisle test exited $rc"; fi
exit 0
