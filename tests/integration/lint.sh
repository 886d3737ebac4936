#!/bin/sh
# tests/integration/lint.sh — the C half of `make lint` (mk/lint-c.sh) is
# itself tested: it passes on this tree, and on a copy with a planted
# strtok(), a planted <sqlite3.h> in engine/, a backend's library in
# another backend, an internal header from another folder, an unprefixed
# public name, a new header not named *_int.h and an include written
# another way than the one style (../, a path from the file's folder, a
# rooted path into the file's own folder) it fails naming FILE:LINE.
# Prints ok/not ok lines.
cd "$(dirname "$0")/../.." || exit 1
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
check() { if [ "$1" = 0 ]; then echo "ok $2"; else echo "not ok $2"; [ -n "$3" ] && printf '  %s\n' "$3"; fi; }

sh mk/lint-c.sh >"$T/clean" 2>&1; rc=$?
[ $rc = 0 ] && grep -q "no findings" "$T/clean"; check $? "lint-c passes on the tree" "$(head -20 "$T/clean")"

# one copy a finding, so each is seen to fail on its own
plant() {   # plant NAME: a fresh copy of the C folders in $T/NAME
    rm -rf "$T/$1"; mkdir -p "$T/$1"
    cp -R engine stores gateway cli "$T/$1/"
}

# fails NAME WANT TITLE: lint-c on the copy NAME exits 1 with a line
# that starts with WANT (a grep pattern: FILE:LINE: error: ...)
fails() {
    sh mk/lint-c.sh "$T/$1" >"$T/out" 2>&1; rc=$?
    [ $rc = 1 ] && grep -q "^$2" "$T/out"
    check $? "$3" "$(cat "$T/out")"
}

plant strtok
f=$(ls engine/*.c | head -1)
n=$(($(wc -l <"$f") + 1))
printf 'static char *lint_planted(char *s) { return strtok(s, " "); }\n' >>"$T/strtok/$f"
fails strtok "$f:$n: error: strtok() is banned" "lint-c fails on a planted strtok, naming $f:$n"

plant comment   # the same words in a comment or a string are no call
printf '/* strtok(s, " ") */\nstatic const char *lint_words = "sprintf(buf, x)";\n' >>"$T/comment/$f"
sh mk/lint-c.sh "$T/comment" >"$T/out" 2>&1
check $? "lint-c passes a banned name inside a comment or a string" "$(cat "$T/out")"

plant sqlite
printf '#include <stdio.h>\n#include <sqlite3.h>\n' >"$T/sqlite/engine/lint_planted.c"
fails sqlite "engine/lint_planted.c:2: error: <sqlite3.h> is sqlite's; engine/ may not include it" \
    "lint-c fails on a planted #include <sqlite3.h> in engine/, naming FILE:LINE"

plant backend   # a backend's library belongs to its own folder only
printf '#include <hiredis.h>\n' >"$T/backend/stores/sqlite/lint_planted.c"
fails backend "stores/sqlite/lint_planted.c:1: error: <hiredis.h> is hiredis's" "lint-c fails on <hiredis.h> in stores/sqlite/"

plant internal
printf '#include "stores/sqlite/sqlite_int.h"\n' >"$T/internal/gateway/lint_planted.c"
fails internal "gateway/lint_planted.c:1: error: includes stores/sqlite/sqlite_int.h, the internals of stores/" \
    "lint-c fails on another folder's *_int.h"

plant prefix
n=$(($(wc -l <engine/eng.h) + 1))
printf 'int planted_no_prefix(int x);\n' >>"$T/prefix/engine/eng.h"
fails prefix "engine/eng.h:$n: error: function \`planted_no_prefix\` in a public header lacks the prefix eng_" \
    "lint-c fails on an unprefixed name in engine/eng.h"

plant header    # a new internal header is named *_int.h
printf '#pragma once\n' >"$T/header/engine/lint_planted.h"
fails header "engine/lint_planted.h:1: error: an internal header is named \*_int.h" \
    "lint-c fails on a new header that is neither public nor *_int.h"

# one include style: a header of the file's own folder by its name, any
# other from the repository root, never through ../
plant relative
printf '#include "../pipe_int.h"\n' >"$T/relative/engine/stages/lint_planted.c"
fails relative "engine/stages/lint_planted.c:1: error: #include \"../pipe_int.h\" goes through ../" \
    "lint-c fails on a planted #include \"../pipe_int.h\", naming FILE:LINE"

plant below     # a path from the file's folder down is not rooted either
printf '#include <stdio.h>\n#include "stages/agent_int.h"\n' >"$T/below/engine/lint_planted.c"
fails below "engine/lint_planted.c:2: error: #include \"stages/agent_int.h\" is a path from this file's folder" \
    "lint-c fails on #include \"stages/agent_int.h\" in engine/"

plant ownfolder # the file's own folder: by the header's name alone
printf '#include "engine/pipe_int.h"\n' >"$T/ownfolder/engine/lint_planted.c"
fails ownfolder "engine/lint_planted.c:1: error: #include \"engine/pipe_int.h\" is in this file's own folder; include it by its name, \"pipe_int.h\"" \
    "lint-c fails on a rooted path to a header of the file's own folder"
