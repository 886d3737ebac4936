/* cli/cmd_test.c — `aisle test [PATH...]`: runs YAML conversation tests.
 * Each conversation gets a fresh temporary SQLite store seeded with the
 * file's catalog, and its turns go through the engine's conversation
 * driver exactly as `aisle serve` runs them (cli_conv, eng_converse): the
 * expectations (cli/test_expect.c) read the reply object the server
 * sends. Format and keys:
 * docs/testing.md. */
#include "cli.h"
#include "test_expect_int.h"
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

static const char help[] =
    "usage: aisle test [PATH...] [--filter TEXT] [--verbose]\n\n"
    "Runs conversation tests: YAML files (a file, or every *.yaml in a folder;\n"
    "default pipelines/tests/). Every conversation runs against a fresh\n"
    "temporary store seeded with the file's catalog. Prints one line per\n"
    "conversation (ok / FAIL, with what differed), then \"N passed, N failed\".\n"
    "  --filter TEXT  run only conversations whose name contains TEXT\n"
    "  --verbose, -v  print every turn and its reply\n"
    "Exit code: 0 all passed, 1 a test failed or a file has errors, 2 usage.\n"
    "Format: docs/testing.md.\n";

typedef struct run_opts {
    const char *filter;
    int verbose;
    int passed, failed;
} run_opts;

/* ---- YAML to JSON: the test file as json-c values; mappings get their
 * line in "__line" so that a failure can point into the file ---- */

static json_object *node_json(yaml_document_t *d, yaml_node_t *n, int depth)
{
    if (!n || depth > 64)
        return NULL;
    if (n->type == YAML_SCALAR_NODE) {
        const char *v = (const char *)n->data.scalar.value;
        size_t len = n->data.scalar.length;
        if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
            return json_object_new_string_len(v, (int)len);
        /* YAML 1.2 core schema: "yes" and "no" stay words (shoppers say them) */
        if (!len || strcmp(v, "~") == 0 || strcmp(v, "null") == 0)
            return NULL;
        if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)
            return json_object_new_boolean(v[0] == 't');
        if (strspn(v, "0123456789+-.eE") == len && strpbrk(v, "0123456789")) {
            char *end;
            errno = 0;
            long long i = strtoll(v, &end, 10);
            if (!*end && !errno)
                return json_object_new_int64(i);
            double x = strtod(v, &end);
            if (!*end)
                return json_object_new_double(x);
        }
        return json_object_new_string_len(v, (int)len);
    }
    if (n->type == YAML_SEQUENCE_NODE) {
        json_object *a = json_object_new_array();
        for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++)
            json_object_array_add(a, node_json(d, yaml_document_get_node(d, *i), depth + 1));
        return a;
    }
    if (n->type == YAML_MAPPING_NODE) {
        json_object *o = json_object_new_object();
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
            yaml_node_t *k = yaml_document_get_node(d, p->key);
            if (k && k->type == YAML_SCALAR_NODE)
                json_object_object_add(o, (const char *)k->data.scalar.value,
                                       node_json(d, yaml_document_get_node(d, p->value), depth + 1));
        }
        json_object_object_add(o, "__line", json_object_new_int((int)n->start_mark.line + 1));
        return o;
    }
    return NULL;
}

static json_object *read_yaml(const char *file)
{
    FILE *f = fopen(file, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot read: %s\n", file, strerror(errno));
        return NULL;
    }
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    json_object *out = NULL;
    if (!yaml_parser_load(&parser, &doc)) {
        fprintf(stderr, "%s:%zu:%zu: error: %s\n", file, parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                parser.problem ? parser.problem : "invalid YAML");
    } else {
        out = node_json(&doc, yaml_document_get_root_node(&doc), 0);
        yaml_document_delete(&doc);
        if (!json_object_is_type(out, json_type_object)) {
            fprintf(stderr, "%s:1:1: error: a test file is a mapping with pipeline, catalog and conversations\n",
                    file);
            json_object_put(out);
            out = NULL;
        }
    }
    yaml_parser_delete(&parser);
    fclose(f);
    return out;
}

/* ---- temporary stores ---- */

static int copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb");
    if (!a)
        return errno == ENOENT ? 0 : -1;
    FILE *b = fopen(to, "wb");
    if (!b) {
        fclose(a);
        return -1;
    }
    char buf[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(buf, 1, sizeof buf, a)) > 0)
        if (fwrite(buf, 1, n, b) != n)
            rc = -1;
    fclose(a);
    if (fclose(b) != 0)
        rc = -1;
    return rc;
}

static int open_store(const char *path, store **out)
{
    store_config cfg;
    cli_store_config(&cfg, path);
    /* a test's store is always a private SQLite file, whatever the
     * environment says about Redis or MongoDB */
    cfg.redis_url = NULL;
    cfg.mongo_uri = NULL;
    cfg.ephemeral = STORE_BACKEND_SQLITE;
    return cli_store_open("aisle test", &cfg, out) ? -1 : 0;
}

/* len, what snprintf returned for a path in a buffer of cap bytes: 0
 * when it fit; a path cut short would name another file, so -1 (said). */
static int path_fits(int len, size_t cap, const char *dir)
{
    if (len >= 0 && (size_t)len < cap)
        return 0;
    fprintf(stderr, "aisle test: a path under %s is too long\n", dir);
    return -1;
}

/* The store every conversation of a file starts from: the catalog is
 * imported once, then each conversation gets a copy of the file. */
static int make_template(const char *dir, const char *catalog, char *tpl, size_t n)
{
    if (path_fits(snprintf(tpl, n, "%s/template.db", dir), n, dir) < 0)
        return -1;
    store *s = NULL;
    if (open_store(tpl, &s) < 0)
        return -1;
    int rc = 0;
    if (catalog) {
        long loaded = 0, rejected = 0;
        if (cli_import_catalog(s, catalog, NULL, &loaded, &rejected) < 0 || loaded == 0) {
            fprintf(stderr, "aisle test: could not import the catalog %s\n", catalog);
            rc = -1;
        }
    }
    store_close(s);
    return rc;
}

static int fresh_store(const char *tpl, const char *dir, int k, store **out, char *db, size_t n)
{
    char a[PATH_MAX], b[PATH_MAX];
    if (path_fits(snprintf(db, n, "%s/conv-%d.db", dir, k), n, dir) < 0 ||
        path_fits(snprintf(a, sizeof a, "%s-wal", tpl), sizeof a, dir) < 0 ||
        path_fits(snprintf(b, sizeof b, "%s-wal", db), sizeof b, dir) < 0)
        return -1;
    if (copy_file(tpl, db) < 0 || copy_file(a, b) < 0) {
        fprintf(stderr, "aisle test: cannot copy the store to %s: %s\n", db, strerror(errno));
        return -1;
    }
    return open_store(db, out);
}

/* ---- one conversation ---- */

static const char *sget(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : NULL;
}

static int login(cli_conv *c, const char *email, int64_t *uids, size_t *nu)
{
    if (cli_conv_login(c, email) != 0)
        return -1;
    int64_t id = strtoll(c->user_id, NULL, 10);
    for (size_t i = 0; i < *nu; i++)
        if (uids[i] == id)
            return 0;
    if (*nu < 16)
        uids[(*nu)++] = id;
    return 0;
}

/* user.address / user.card: the logged-in user's saved delivery address
 * or card, saved through the commerce core as the checkout page saves
 * them (`what` names the key in messages). */
static int seed_account(cli_conv *c, const char *what,
                        int (*save)(const eng_shopper *, json_object *, eng_shop_result *), json_object *v,
                        FILE *out)
{
    eng_shopper w = {.pipe = c->pipeline, .store = c->store, .user_id = strtoll(c->user_id, NULL, 10),
                     .session_id = c->session_id, .via = "cli"};
    eng_shop_result r;
    int rc = w.user_id ? save(&w, v, &r) : ENG_EINVAL;
    bool good = rc == 0 && r.status == ENG_SHOP_OK;
    if (!good)
        fprintf(out, "    user.%s: %s\n", what, rc < 0 ? "needs a user (user: {email: ...}) and a store" : r.reason);
    if (rc == 0)
        eng_shop_result_clear(&r);
    return good ? 0 : -1;
}

/* memory: {namespace: {key: value}} for the logged-in user. */
static int seed_memory(cli_conv *c, json_object *mem, FILE *out)
{
    int64_t uid = strtoll(c->user_id, NULL, 10);
    if (!uid) {
        fprintf(out, "    memory: needs a user (user: {email: ...}); memory is per user\n");
        return -1;
    }
    json_object_object_foreach(mem, ns, keys)
    {
        if (!json_object_is_type(keys, json_type_object)) {
            fprintf(out, "    memory.%s: expected a mapping of keys to values\n", ns);
            return -1;
        }
        json_object_object_foreach(keys, k, v)
        {
            if (store_memory_put(c->store, uid, ns, k, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN),
                                 NULL) < 0) {
                fprintf(out, "    memory.%s.%s: the store refused it\n", ns, k);
                return -1;
            }
        }
    }
    return 0;
}

static void print_turn(FILE *out, const eng_converse_result *r)
{
    json_object *intent = json_object_object_get(r->reply, "intent");
    const char *reply = json_object_get_string(json_object_object_get(json_object_object_get(r->reply, "reply"), "text"));
    fprintf(out, "      intent %s (%.2f)%s; reply: ", sget(intent, "name") ? sget(intent, "name") : "none",
            json_object_get_double(json_object_object_get(intent, "confidence")), r->replayed ? ", replayed" : "");
    for (const char *p = reply ? reply : ""; *p; p++)
        fputs(*p == '\n' ? "\n        " : (char[2]){*p, 0}, out);
    fputc('\n', out);
}

/* Runs the turns; mismatches go to `out`. Returns the number of failures. */
static int run_turns(cli_conv *c, json_object *conv, FILE *out, const run_opts *ro, int64_t *uids, size_t *nu)
{
    json_object *turns = json_object_object_get(conv, "turns");
    int fails = 0;
    if (!json_object_is_type(turns, json_type_array) || !json_object_array_length(turns)) {
        fprintf(out, "    line %d: a conversation needs `turns:`, a list\n", tx_line(conv));
        return 1;
    }
    for (size_t i = 0; i < json_object_array_length(turns); i++) {
        json_object *turn = json_object_array_get_idx(turns, i);
        int line = tx_line(turn);
        /* login: EMAIL, or {email, address?, card?} as `user:` seeds them */
        json_object *lv = json_object_object_get(turn, "login");
        const char *email = json_object_is_type(lv, json_type_object) ? sget(lv, "email") : sget(turn, "login");
        if (email) {
            if (login(c, email, uids, nu) < 0) {
                fprintf(out, "  turn %zu (line %d): cannot log in as %s\n", i + 1, line, email);
                return fails + 1;
            }
            json_object *addr = json_object_is_type(lv, json_type_object) ? json_object_object_get(lv, "address") : NULL;
            json_object *card = json_object_is_type(lv, json_type_object) ? json_object_object_get(lv, "card") : NULL;
            if (addr)
                tx_strip_lines(addr);
            if (card)
                tx_strip_lines(card);
            if ((addr && seed_account(c, "address", eng_shop_address_set, addr, out) < 0) ||
                (card && seed_account(c, "card", eng_shop_payment_save, card, out) < 0))
                return fails + 1;
            if (ro->verbose)
                fprintf(out, "  %zu. (logged in as %s)\n", i + 1, email);
            continue;
        }
        if (json_object_object_get_ex(turn, "logout", NULL)) {
            c->user_id[0] = '\0';
            continue;
        }
        const char *say = sget(turn, "say");
        if (!say) {
            fprintf(out, "  turn %zu (line %d): a turn has `say:`, `login:` or `logout:`\n", i + 1, line);
            return fails + 1;
        }
        json_object *rep = json_object_object_get(turn, "repeat");
        int repeat = rep ? json_object_get_int(rep) : 1;
        if (repeat < 1 || repeat > 10)
            repeat = 1;
        /* an explicit id, so that a repeat is the same message again */
        char mid[64];
        const char *given = sget(turn, "id");
        if (given)
            snprintf(mid, sizeof mid, "%s", given);
        else
            snprintf(mid, sizeof mid, "m%zu", i + 1);
        json_object *expect = json_object_object_get(turn, "expect");
        for (int r = 0; r < repeat; r++) {
            eng_converse_result t;
            if (cli_conv_turn(c, say, mid, &t) != 0) {
                fprintf(out, "  turn %zu (line %d) \"%s\": the engine refused the message\n", i + 1, line, say);
                return fails + 1;
            }
            if (ro->verbose) {
                fprintf(out, "  %zu. > %s%s\n", i + 1, say, r ? " (again)" : "");
                print_turn(out, &t);
            }
            if (t.store_error[0]) {
                /* what `aisle serve` logs as session_save_failed */
                fprintf(out, "  turn %zu (line %d) \"%s\": the store did not keep the turn: %s\n", i + 1, line,
                        say, t.store_error);
                fails++;
            }
            if (expect) {
                char *buf = NULL;
                size_t len = 0;
                FILE *d = open_memstream(&buf, &len);
                int n = d ? tx_check_turn(d, expect, t.turn ? eng_turn_context(t.turn) : NULL, t.reply) : 1;
                if (d)
                    fclose(d);
                if (n) {
                    fprintf(out, "  turn %zu (line %d) \"%s\"", i + 1, line, say);
                    if (repeat > 1)
                        fprintf(out, " (run %d of %d)", r + 1, repeat);
                    fprintf(out, ":\n%s", buf ? buf : "");
                    if (!ro->verbose)
                        print_turn(out, &t);
                    fails += n;
                }
                free(buf);
            }
            eng_converse_result_clear(&t);
        }
    }
    return fails;
}

static void run_conversation(eng_pipeline *p, const char *tpl, const char *dir, int k, const char *file,
                             json_object *conv, run_opts *ro)
{
    const char *name = sget(conv, "name");
    char fallback[32];
    if (!name) {
        snprintf(fallback, sizeof fallback, "conversation %d", k + 1);
        name = fallback;
    }
    if (ro->filter && !strstr(name, ro->filter))
        return;
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out)
        return;
    int fails = 0;
    cli_conv c = {0};
    char db[PATH_MAX];
    int64_t uids[16];
    size_t nu = 0;
    if (fresh_store(tpl, dir, k, &c.store, db, sizeof db) < 0) {
        fails++;
    } else {
        eng_pipeline_retain(p);
        c.pipeline = p;
        c.session_id = "test";
        json_object *user = json_object_object_get(conv, "user");
        const char *email = json_object_is_type(user, json_type_string) ? json_object_get_string(user)
                                                                          : sget(user, "email");
        json_object *mem = json_object_object_get(conv, "memory");
        if (email && login(&c, email, uids, &nu) < 0)
            fails++;
        json_object *addr = json_object_is_type(user, json_type_object) ? json_object_object_get(user, "address") : NULL;
        if (!fails && addr) {
            tx_strip_lines(addr);
            fails += seed_account(&c, "address", eng_shop_address_set, addr, out) < 0;
        }
        json_object *card = json_object_is_type(user, json_type_object) ? json_object_object_get(user, "card") : NULL;
        if (!fails && card) {
            tx_strip_lines(card);
            fails += seed_account(&c, "card", eng_shop_payment_save, card, out) < 0;
        }
        if (!fails && mem) {
            tx_strip_lines(mem);
            fails += seed_memory(&c, mem, out) < 0;
        }
        if (!fails)
            fails += run_turns(&c, conv, out, ro, uids, &nu);
        json_object *after = json_object_object_get(conv, "after");
        if (!fails && after) {
            char *ab = NULL;
            size_t al = 0;
            FILE *d = open_memstream(&ab, &al);
            int n = d ? tx_check_after(d, after, c.store, uids, nu) : 1;
            if (d)
                fclose(d);
            if (n)
                fprintf(out, "  after the conversation (line %d):\n%s", tx_line(after), ab ? ab : "");
            fails += n;
            free(ab);
        }
        cli_conv_close(&c);
        cli_remove_sqlite(db);
    }
    fclose(out);
    if (fails) {
        ro->failed++;
        printf("FAIL %s: %s (line %d)\n%s", file, name, tx_line(conv), buf ? buf : "");
    } else {
        ro->passed++;
        printf("ok   %s: %s\n", file, name);
        if (ro->verbose && buf)
            fputs(buf, stdout);
    }
    fflush(stdout);
    free(buf);
}

/* A path from the test file, relative to its folder. */
static void rel_path(const char *file, const char *p, char *out, size_t n)
{
    if (p[0] == '/') {
        snprintf(out, n, "%s", p);
        return;
    }
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", file);
    snprintf(out, n, "%s/%s", dirname(tmp), p);
}

/* walked: found by walking a folder, where pipelines and templates sit
 * beside the tests; a file without `conversations:` is then not a test. */
static void run_file(const char *file, run_opts *ro, bool walked)
{
    json_object *doc = read_yaml(file);
    if (!doc) {
        ro->failed++;
        return;
    }
    if (walked && !json_object_object_get_ex(doc, "conversations", NULL)) {
        json_object_put(doc);
        return;
    }
    const char *pl = sget(doc, "pipeline"), *cat = sget(doc, "catalog");
    json_object *convs = json_object_object_get(doc, "conversations");
    char pipe_path[PATH_MAX], cat_path[PATH_MAX], tpl[PATH_MAX];
    eng_pipeline *p = NULL;
    if (!pl || !json_object_is_type(convs, json_type_array)) {
        fprintf(stderr, "%s:1:1: error: a test file needs `pipeline:` and `conversations:` (a list)\n", file);
        ro->failed++;
        goto done;
    }
    rel_path(file, pl, pipe_path, sizeof pipe_path);
    if (cat)
        rel_path(file, cat, cat_path, sizeof cat_path);
    eng_diags d;
    eng_diags_init(&d);
    int rc = eng_pipeline_load(pipe_path, &p, &d);
    if (d.errors)
        eng_diags_print(&d, stderr);
    eng_diags_free(&d);
    if (rc < 0) {
        fprintf(stderr, "%s: the pipeline %s does not load\n", file, pipe_path);
        ro->failed++;
        goto done;
    }
    const char *tmpdir = getenv("TMPDIR");
    char dtemplate[PATH_MAX];
    snprintf(dtemplate, sizeof dtemplate, "%s/aisle-test-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    if (!mkdtemp(dtemplate)) {
        fprintf(stderr, "aisle test: cannot make a temporary folder: %s\n", strerror(errno));
        ro->failed++;
        goto done;
    }
    if (make_template(dtemplate, cat ? cat_path : NULL, tpl, sizeof tpl) < 0) {
        ro->failed++;
    } else {
        for (size_t i = 0; i < json_object_array_length(convs); i++)
            run_conversation(p, tpl, dtemplate, (int)i, file, json_object_array_get_idx(convs, i), ro);
    }
    cli_remove_sqlite(tpl);
    rmdir(dtemplate);
done:
    eng_pipeline_release(p);
    json_object_put(doc);
}

static int by_name(const struct dirent **a, const struct dirent **b) { return strcmp((*a)->d_name, (*b)->d_name); }

static int visible(const struct dirent *e) { return e->d_name[0] != '.'; }

static bool yaml_name(const char *n)
{
    size_t l = strlen(n);
    return (l > 5 && strcmp(n + l - 5, ".yaml") == 0) || (l > 4 && strcmp(n + l - 4, ".yml") == 0);
}

/* A file, or every *.yaml test file under a folder (recursively, in name
 * order, so output is stable). */
static void run_path(const char *path, run_opts *ro, int depth)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        fprintf(stderr, "aisle test: %s: %s\n", path, strerror(errno));
        ro->failed++;
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        if (depth == 0 || yaml_name(path))
            run_file(path, ro, depth > 0);
        return;
    }
    if (depth > 8)
        return;
    struct dirent **list = NULL;
    int n = scandir(path, &list, visible, by_name);
    for (int i = 0; i < n; i++) {
        char f[PATH_MAX];
        size_t l = strlen(path);
        snprintf(f, sizeof f, "%s%s%s", path, l && path[l - 1] == '/' ? "" : "/", list[i]->d_name);
        run_path(f, ro, depth + 1);
        free(list[i]);
    }
    free(list);
}

int cli_test(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(help, stdout);
        return 0;
    }
    run_opts ro = {0};
    const char *paths[64];
    int np = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc)
            ro.filter = argv[++i];
        else if (strcmp(argv[i], "--verbose") == 0 || strcmp(argv[i], "-v") == 0)
            ro.verbose = 1;
        else if (argv[i][0] == '-' || np == 64) {
            fprintf(stderr, "aisle test: unexpected argument \"%s\"\n\n%s", argv[i], help);
            return 2;
        } else
            paths[np++] = argv[i];
    }
    if (!np)
        paths[np++] = "pipelines/tests";
    for (int i = 0; i < np; i++)
        run_path(paths[i], &ro, 0);
    printf("%d passed, %d failed\n", ro.passed, ro.failed);
    return ro.failed ? 1 : 0;
}
