# mk/lint-c.awk — the C half of `make lint`, run by mk/lint-c.sh over the
# project's .c and .h files (POSIX awk: mawk and gawk both run it).
# Reads each file with its comments and the insides of its string and
# character literals blanked out, and reports FILE:LINE: error: ... for
#  1. a banned function (the list of git's banned.h and curl's checksrc,
#     with the atoi family, whose errors cannot be told from a zero);
#  2. an include that DESIGN.md's layout forbids: a library header outside
#     the folders that may use that library, and an internal header
#     (*_int.h) or another folder's header from a folder that may not;
#  3. a name declared in a module's public header without the module's
#     prefix (eng_/ENG_, store_/STORE_, gw_/GW_, cli_/CLI_; macros may also
#     take the project's AISLE_);
#  4. a header in engine/, stores/, gateway/ or cli/ that is neither its
#     module's public header nor named *_int.h (STYLE.md), but for the
#     ones listed in `pending` below, which wait for their rename.
#  5. a project header not named the one way (docs/architecture.md):
#     one in the file's own folder by its name ("pipe_int.h"), any other
#     by its path from the repository root ("engine/nlu/ent_int.h"),
#     never through "../".
# The exit status is 1 when anything was reported.

BEGIN {
    nbanned = split("strtok strcpy strcat strncpy strncat sprintf vsprintf " \
                    "gets atoi atol atoll atof gmtime localtime ctime ctime_r " \
                    "asctime asctime_r mktemp tmpnam tempnam", banned, " ")
    why["strtok"] = "keeps hidden state between calls; use strtok_r or strcspn/strspn"
    why["strcpy"] = "unbounded; use snprintf or memcpy with a known length"
    why["strcat"] = "unbounded; use snprintf into the remaining space"
    why["strncpy"] = "may leave the copy unterminated; use snprintf"
    why["strncat"] = "its bound is easy to get wrong; use snprintf"
    why["sprintf"] = "unbounded; use snprintf"
    why["vsprintf"] = "unbounded; use vsnprintf"
    why["gets"] = "unbounded; use fgets"
    why["atoi"] = "cannot report a bad number; use strtol with an end pointer"
    why["atol"] = why["atoi"]; why["atoll"] = why["atoi"]
    why["atof"] = "cannot report a bad number; use strtod with an end pointer"
    why["gmtime"] = "returns shared state; use gmtime_r"
    why["localtime"] = "returns shared state; use localtime_r"
    why["ctime"] = "returns shared state; use strftime with localtime_r"
    why["ctime_r"] = why["ctime"]; why["asctime"] = why["ctime"]; why["asctime_r"] = why["ctime"]
    why["mktemp"] = "races with other processes; use mkstemp or mkdtemp"
    why["tmpnam"] = why["mktemp"]; why["tempnam"] = why["mktemp"]
    errors = 0
    # internal headers named before the *_int.h rule were renamed in
    # issue #16 (session 21): none is left outside the rule
    split("", pending)
}

function report(msg) {
    printf "%s:%d: error: %s\n", FILENAME, FNR, msg
    errors++
}

# the line with comments blanked and string/char literals emptied; the
# state of a /* */ comment carries from one line to the next
function strip(s,    out, i, n, c, d, q) {
    out = ""; n = length(s); i = 1
    while (i <= n) {
        c = substr(s, i, 1); d = substr(s, i + 1, 1)
        if (incomment) {
            if (c == "*" && d == "/") { incomment = 0; i += 2; out = out " " }
            else i++
            continue
        }
        if (c == "/" && d == "*") { incomment = 1; i += 2; continue }
        if (c == "/" && d == "/") break
        if (c == "\"" || c == "'") {
            q = c; out = out q; i++
            while (i <= n) {
                c = substr(s, i, 1)
                if (c == "\\") { i += 2; continue }
                i++
                if (c == q) break
            }
            out = out q
            continue
        }
        out = out c; i++
    }
    return out
}

# the folder rules: a file's top folder, and for stores/ its backend
function top(path,    p) {
    p = path; sub(/^\.\//, "", p)
    sub(/\/.*/, "", p)
    return p
}
function folder(path,    p) {
    p = path; sub(/^\.\//, "", p)
    if (p ~ /^stores\/(sqlite|redis|mongo)\//) { sub(/\/[^\/]*$/, "", p); return p }
    return top(p)
}
function dirname(path,    p) {
    p = path
    if (p !~ /\//) return "."
    sub(/\/[^\/]*$/, "", p)
    return p
}
# "a/b/../c.h" -> "a/c.h"
function normalize(path,    parts, n, i, out, k, stack) {
    n = split(path, parts, "/"); k = 0
    for (i = 1; i <= n; i++) {
        if (parts[i] == "" || parts[i] == ".") continue
        if (parts[i] == ".." && k > 0 && stack[k] != "..") { k--; continue }
        stack[++k] = parts[i]
    }
    out = ""
    for (i = 1; i <= k; i++) out = out (i > 1 ? "/" : "") stack[i]
    return out
}

# which library a header belongs to ("" for the C library, POSIX and the
# compiler's own headers, which every folder may include)
function library(h) {
    if (h == "yaml.h") return "libyaml"
    if (h ~ /^json-c\//) return "json-c"
    if (h ~ /^(lua|lauxlib|lualib|luaconf)\.h$/) return "lua"
    if (h ~ /^curl\//) return "libcurl"
    if (h == "uv.h" || h ~ /^uv\//) return "libuv"
    if (h == "civetweb.h") return "civetweb"
    if (h == "sqlite3.h" || h == "sqlite3ext.h") return "sqlite"
    if (h ~ /^(hiredis\.h|async\.h|read\.h|sds\.h|adapters\/|hiredis\/)/) return "hiredis"
    if (h ~ /^(mongoc|bson|libmongoc|libbson)/) return "mongoc"
    if (h == "sodium.h" || h ~ /^sodium\//) return "libsodium"
    if (h ~ /^openssl\//) return "openssl"
    if (h == "jwt.h") return "libjwt"
    if (h == "cmocka.h") return "cmocka"
    return ""
}
# DESIGN.md, "Layout": who may include which library
function allowed(f, lib) {
    if (f == "cli") return 1
    if (f == "engine") return lib ~ /^(libyaml|json-c|lua|libcurl)$/
    if (f == "stores") return lib == "json-c"
    if (f == "stores/sqlite") return lib ~ /^(json-c|sqlite)$/
    if (f == "stores/redis") return lib ~ /^(json-c|hiredis|libuv)$/
    if (f == "stores/mongo") return lib ~ /^(json-c|mongoc)$/
    if (f == "gateway") return lib ~ /^(json-c|civetweb|libuv|libjwt|openssl|libsodium)$/
    return 1
}
# a project header `h` (path from the root) included from folder `f`
function project_include(f, h,    ht) {
    ht = top(h)
    if (ht == top(f) || top(f) == "tests") return ""   # tests may look inside
    if (h ~ /_int\.h$/) return "includes " h ", the internals of " ht "/; use its public header"
    if (f == "engine" && h != "stores/store.h")
        return "engine/ includes only stores/store.h of the other folders, not " h
    if (f ~ /^stores/)
        return "stores/ includes no other folder's header, not " h
    if (f == "gateway" && h !~ /^(engine\/eng\.h|stores\/store\.h)$/)
        return "gateway/ includes only engine/eng.h and stores/store.h of the other folders, not " h
    return ""
}

# the one include style: "" when `h` (as written in FILENAME) follows it
function include_style(h,    d, here) {
    if (h ~ /^\.\.?\//)
        return "#include \"" h "\" goes through " substr(h, 1, index(h, "/")) "; name the header from the repository root (docs/architecture.md)"
    if (h !~ /\//) return ""
    if (h !~ /^(engine|stores|gateway|cli|tests)\//)
        return "#include \"" h "\" is a path from this file's folder; name the header from the repository root (docs/architecture.md)"
    here = dirname(FILENAME); sub(/^\.\//, "", here)
    d = dirname(h)
    if (d == here)
        return "#include \"" h "\" is in this file's own folder; include it by its name, \"" substr(h, length(d) + 2) "\" (docs/architecture.md)"
    return ""
}

function check_include(line, code,    h, quoted, lib, f, p, msg) {
    h = line
    sub(/^[ \t]*#[ \t]*include[ \t]*/, "", h)
    quoted = substr(h, 1, 1) == "\""
    h = substr(h, 2); sub(/[>"].*/, "", h)
    f = folder(FILENAME)
    if (!quoted) {
        lib = library(h)
        if (lib != "" && !allowed(f, lib))
            report("<" h "> is " lib "'s; " f "/ may not include it (DESIGN.md, Layout)")
        return
    }
    msg = include_style(h)
    if (msg != "") report(msg)
    # "x.h" resolves beside the file first, then from the root (-I.)
    p = normalize(dirname(FILENAME) "/" h)
    sub(/^\.\//, "", p)
    if (!(p in exists)) p = h
    msg = project_include(f, normalize(p))
    if (msg != "") report(msg)
}

# public headers: the module API whose names must carry its prefix
function public_prefix(path,    p) {
    p = path; sub(/^\.\//, "", p)
    if (p == "engine/eng.h") return "eng"
    if (p == "stores/store.h") return "store"
    if (p == "gateway/gw.h") return "gw"
    if (p == "cli/cli.h") return "cli"
    return ""
}
function prefixed(name, pfx, macro,    up) {
    up = toupper(pfx)
    if (name == pfx) return 1
    if (index(name, pfx "_") == 1 || index(name, up "_") == 1) return 1
    if (macro && index(name, "AISLE_") == 1) return 1
    return 0
}
# a forward declaration may name another module's type
function any_module(name) {
    return name ~ /^(eng|store|gw|cli)(_|$)/
}
function check_name(name, what) {
    if (name == "" || prefixed(name, pfx, what == "macro")) return
    if ((FILENAME ":" FNR ":" name) in seen) return
    seen[FILENAME ":" FNR ":" name] = 1
    report(what " `" name "` in a public header lacks the prefix " pfx "_ (STYLE.md)")
}
function last_ident(s,    t) {
    t = s
    sub(/[ \t]*=.*$/, "", t)                  # initialiser
    gsub(/\[[^\]]*\]/, "", t)                 # array bounds
    gsub(/__attribute__[ \t]*\(\(.*\)\)/, "", t)
    sub(/[^A-Za-z0-9_]*$/, "", t)
    if (match(t, /[A-Za-z_][A-Za-z0-9_]*$/)) return substr(t, RSTART, RLENGTH)
    return ""
}
# one declaration at file scope, its braces' contents dropped
function check_decl(s,    t, name) {
    gsub(/[ \t]+/, " ", s); sub(/^ /, "", s)
    if (s == "" || s ~ /^extern "C"/) return
    if (s ~ /^(struct|union|enum) [A-Za-z_][A-Za-z0-9_]* ?;$/) {       # forward declaration
        t = s; sub(/^(struct|union|enum) /, "", t); sub(/ ?;$/, "", t)
        if (!any_module(t)) check_name(t, "type")
        return
    }
    if (match(s, /(struct|union|enum) [A-Za-z_][A-Za-z0-9_]* ?\{/)) {  # a tag
        t = substr(s, RSTART, RLENGTH); sub(/^[a-z]+ /, "", t); sub(/ ?\{$/, "", t)
        check_name(t, "type")
    }
    if (s ~ /^typedef /) {
        if (match(s, /\( ?\* ?[A-Za-z_][A-Za-z0-9_]* ?\)/)) {           # function pointer
            t = substr(s, RSTART, RLENGTH); gsub(/[() *]/, "", t)
            check_name(t, "type")
        } else check_name(last_ident(s), "type")
        return
    }
    if (s ~ /^[^{]*\(/) {                                                  # function
        t = s; sub(/ ?\(.*/, "", t)
        check_name(last_ident(t), "function")
        return
    }
    if (s !~ /^(struct|union|enum) [A-Za-z0-9_]* ?\{\} ?;$/)
        check_name(last_ident(s), "variable")
}
function check_enum_body(s,    n, items, i, t) {
    n = split(s, items, ",")
    for (i = 1; i <= n; i++) {
        t = items[i]; sub(/^[ \t]*/, "", t)
        if (match(t, /^[A-Za-z_][A-Za-z0-9_]*/)) check_name(substr(t, 1, RLENGTH), "constant")
    }
}

# a file begins: the path of each file is known before the first is read
FNR == 1 {
    if (!listed) { for (i = 1; i < ARGC; i++) { p = ARGV[i]; sub(/^\.\//, "", p); exists[p] = 1; exists[ARGV[i]] = 1 } listed = 1 }
    incomment = 0; depth = 0; decl = ""; enumbody = ""; inenum = 0; cont = 0
    pfx = public_prefix(FILENAME)
    p = FILENAME; sub(/^\.\//, "", p)
    if (p ~ /\.h$/ && p ~ /^(engine|stores|gateway|cli)\// && pfx == "" && p !~ /_int\.h$/ && !(p in pending))
        report("an internal header is named *_int.h (STYLE.md); " p " is neither that nor its module's public header")
}

{
    raw = $0
    startcomment = incomment
    code = strip(raw)
    # preprocessor lines: includes and macros (continuations skipped)
    if (cont) { cont = raw ~ /\\$/; next }
    if (!startcomment && code ~ /^[ \t]*#/) {
        cont = raw ~ /\\$/
        if (code ~ /^[ \t]*#[ \t]*include[ \t]*[<"]/) check_include(raw, code)
        else if (pfx != "" && code ~ /^[ \t]*#[ \t]*define[ \t]/) {
            t = code; sub(/^[ \t]*#[ \t]*define[ \t]+/, "", t)
            match(t, /^[A-Za-z_][A-Za-z0-9_]*/)
            check_name(substr(t, 1, RLENGTH), "macro")
        }
        next
    }
    for (b = 1; b <= nbanned; b++) {
        if (match(code, "(^|[^A-Za-z0-9_.>])" banned[b] "[ \t]*\\(")) {
            report(banned[b] "() is banned: " why[banned[b]])
        }
    }
    if (pfx == "") next
    # file-scope declarations of a public header, one character at a time
    n = length(code)
    for (i = 1; i <= n; i++) {
        c = substr(code, i, 1)
        if (c == "{") {
            if (depth == 0) {
                decl = decl "{"
                inenum = decl ~ /(^|[^A-Za-z0-9_])enum( [A-Za-z_][A-Za-z0-9_]*)? ?\{$/
                enumbody = ""
            } else if (inenum) enumbody = enumbody c
            depth++
        } else if (c == "}") {
            depth--
            if (depth == 0) {
                decl = decl "}"
                if (inenum) check_enum_body(enumbody)
                inenum = 0
                # an inline function's body ends its declaration
                if (decl ~ /^[^{=]*\)[ \t]*\{\}$/) { check_decl(decl); decl = "" }
            } else if (inenum) enumbody = enumbody c
        } else if (depth == 0) {
            if (c == ";") { check_decl(decl ";"); decl = "" }
            else decl = decl c
        } else if (inenum && depth == 1) enumbody = enumbody c
    }
    if (depth == 0) decl = decl " "
    else if (inenum) enumbody = enumbody " "
}

END { exit errors ? 1 : 0 }
