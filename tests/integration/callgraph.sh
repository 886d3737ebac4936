#!/bin/sh
# tests/integration/callgraph.sh — the file-level call graph of engine/ and stores/
# (mk/callgraph.sh over the objects of the build that made $AISLE) has no
# circle through the executor (exec.c) or the loader (load.c): the stages
# call the turn helpers (turn.c) and the pipeline's lifetime (pipeline.c)
# instead. The checker itself is shown to fail on a copy of the objects
# with a planted file that exec.c calls and that calls exec.c back.
# Prints ok/not ok lines.
cd "$(dirname "$0")/../.." || exit 1
A=${AISLE:-build/aisle}
B=$(cd "$(dirname "$A")" && pwd)
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
check() { if [ "$1" = 0 ]; then echo "ok $2"; else echo "not ok $2"; [ -n "$3" ] && printf '  %s\n' "$3"; fi; }

sh mk/callgraph.sh "$B" engine >"$T/graph" 2>&1; rc=$?
check $rc "mk/callgraph.sh reads the engine's objects" "$(head -5 "$T/graph")"
grep -q '^engine/stages/router.c -> engine/turn.c: .*eng__turn_fail' "$T/graph"
check $? "a stage calls the turn helpers in turn.c" "$(grep -- '-> engine/turn.c' "$T/graph" | head -3)"
! grep -q -- '^engine/stages/.* -> engine/\(exec\|load\).c' "$T/graph"
check $? "no stage calls the executor or the loader" "$(grep -- '^engine/stages/.* -> engine/\(exec\|load\).c' "$T/graph")"
! grep '^circle ' "$T/graph" | grep -q 'engine/\(exec\|load\)\.c'
check $? "no circle goes through exec.c or load.c" "$(grep '^circle ' "$T/graph")"

# the checker can fail: a copy where exec.c's JSON helper lives in a file
# that calls eng_run back
mkdir -p "$T/b/engine"
cp "$B"/engine/*.o "$T/b/engine/"
rm -f "$T/b/engine/jsonutil.o"
cat >"$T/plant.c" <<'EOF'
int eng_run(void);
void *eng__json_path(void *root, const char *path);
void *eng__json_path(void *root, const char *path) { (void)path; eng_run(); return root; }
EOF
${CC:-cc} -c -o "$T/b/engine/jsonutil.o" "$T/plant.c"
sh mk/callgraph.sh "$T/b" engine >"$T/planted" 2>&1
grep '^circle ' "$T/planted" | grep 'engine/exec\.c' | grep -q 'engine/jsonutil\.c'
check $? "a planted circle through exec.c is found" "$(grep '^circle ' "$T/planted")"

# stores/: the entry point (store.c) opens the backends, and no backend
# file calls back into the file that calls it (shared helpers live in
# store_util.c and each backend's *_conn.c)
sh mk/callgraph.sh "$B" stores >"$T/stores" 2>&1
grep -q '^# circles' "$T/stores" && ! grep -q '^circle ' "$T/stores"
check $? "no circle in the call graph of stores/" "$(grep '^circle ' "$T/stores")"
! grep -q -- '^stores/.* -> stores/store\.c' "$T/stores"
check $? "no file of stores/ calls the entry point back" "$(grep -- '-> stores/store\.c' "$T/stores" | head -3)"
