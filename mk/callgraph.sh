#!/bin/sh
# mk/callgraph.sh [BUILD] [DIR] — the file-level call graph of the C files
# under DIR (default engine), read from the object files of BUILD (default
# build) with nm: file A -> file B when A uses a symbol B defines. Prints
# every edge with the symbols that make it, then every circle (strongly
# connected component of more than one file) and exits 0. The objects must
# be built first (make BUILD=... all). Used for issue #16 to show that no
# circle goes through engine/exec.c or engine/load.c.
BUILD=${1:-build}
DIR=${2:-engine}
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE/.." || exit 2
objs=$(find "$BUILD/$DIR" -name '*.o' -type f 2>/dev/null | LC_ALL=C sort)
if [ -z "$objs" ]; then echo "callgraph: no objects under $BUILD/$DIR (build first)" >&2; exit 2; fi
for o in $objs; do
    src=${o#"$BUILD"/}
    src=${src%.o}.c
    # defined text/data symbols, then undefined ones
    nm "$o" | awk -v f="$src" '$1 == "U" { print "U", f, $2; next }
        NF == 3 && $2 ~ /^[TDRBCV]$/ { print "D", f, $3 }'
done | awk '
$1 == "D" { def[$3] = $2; next }
$1 == "U" { use[++nu] = $2 SUBSEP $3; next }
END {
    for (i = 1; i <= nu; i++) {
        split(use[i], p, SUBSEP)
        a = p[1]; s = p[2]
        if (!(s in def) || def[s] == a) continue
        b = def[s]
        if (!((a, b) in syms)) { nodes[a] = 1; nodes[b] = 1; adj[a] = adj[a] " " b }
        syms[a, b] = syms[a, b] (syms[a, b] == "" ? "" : ",") s
    }
    n = 0
    for (v in nodes) name[++n] = v
    # sort names for a stable output
    for (i = 2; i <= n; i++) { x = name[i]; for (j = i - 1; j >= 1 && name[j] > x; j--) name[j + 1] = name[j]; name[j + 1] = x }
    print "# edges (file -> file: symbols)"
    for (i = 1; i <= n; i++) {
        m = split(adj[name[i]], to, " ")
        for (k = 2; k <= m; k++) { x = to[k]; for (j = k - 1; j >= 1 && to[j] > x; j--) to[j + 1] = to[j]; to[j + 1] = x }
        for (k = 1; k <= m; k++) if (to[k] != "") printf "%s -> %s: %s\n", name[i], to[k], syms[name[i], to[k]]
    }
    # Tarjan strongly connected components
    idx = 0; sp = 0; ncyc = 0
    for (i = 1; i <= n; i++) if (!(name[i] in index_of)) scc(name[i])
    print "# circles (files that reach each other)"
    if (ncyc == 0) print "none"
    for (c = 1; c <= ncyc; c++) print "circle " c " (" csize[c] " files): " cyc[c]
}
function scc(v,   m, to, k, w, list, cnt) {
    index_of[v] = idx; low[v] = idx; idx++
    stack[++sp] = v; on[v] = 1
    m = split(adj[v], to, " ")
    for (k = 1; k <= m; k++) {
        w = to[k]; if (w == "") continue
        if (!(w in index_of)) { scc(w); if (low[w] < low[v]) low[v] = low[w] }
        else if (on[w] && index_of[w] < low[v]) low[v] = index_of[w]
    }
    if (low[v] == index_of[v]) {
        list = ""; cnt = 0
        do { w = stack[sp--]; on[w] = 0; list = w " " list; cnt++ } while (w != v)
        if (cnt > 1) { ncyc++; cyc[ncyc] = list; csize[ncyc] = cnt }
    }
}'
