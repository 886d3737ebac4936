/* cli/cli.h — the aisle binary's commands. Each command lives in its own
 * file cli/cmd_NAME.c and takes the arguments after its name (argv[0] is
 * the command name). Each returns the process exit code: 0 success,
 * 1 the work found problems (lint errors, failed tests), 2 usage error. */
#ifndef AISLE_CLI_H
#define AISLE_CLI_H

int cli_run(int argc, char **argv);         /* aisle run PIPELINE --message TEXT [--json] */
int cli_chat(int argc, char **argv);        /* aisle chat PIPELINE */
int cli_lint(int argc, char **argv);        /* aisle lint FILE... */
int cli_eval(int argc, char **argv);        /* aisle eval ... (intent) / aisle eval search ... */
int cli_eval_search(int argc, char **argv); /* aisle eval search --db FILE --judgments FILE.csv */
int cli_import(int argc, char **argv);      /* aisle import --catalog FILE [--db FILE] */
int cli_search(int argc, char **argv);      /* aisle search --db FILE QUERY | --queries FILE */
int cli_serve(int argc, char **argv);       /* aisle serve [--config aisle.yaml] */
int cli_test(int argc, char **argv);        /* aisle test [PATH...] */
int cli_rules(int argc, char **argv);       /* aisle rules dry-run FILE.lua */
int cli_admin(int argc, char **argv);       /* aisle admin grant|revoke|show EMAIL [--db FILE] */

/* A conversation from the command line (cli/conversation.c): a pipeline,
 * optionally a store (sessions, catalog, carts, orders), a session id and
 * a logged-in user. `aisle run` and `aisle chat` share it. */
#include "engine/eng.h"
#include "stores/store.h"

typedef struct cli_conv {
    eng_pipeline *pipeline;
    store *store;            /* NULL: no store (FAQ-style pipelines) */
    eng_llm *llm;            /* NULL: no LLM configured */
    const char *session_id;
    char user_id[32];        /* "" when anonymous */
    json_object *session;    /* used when there is no store */
} cli_conv;

/* cli_conv_open: load the pipeline (diagnostics to stderr), open the store
 * when db is not NULL (importing `seed` into an empty catalog when given),
 * and the LLM from the environment. 0, or 1 after printing why. */
int cli_conv_open(cli_conv *c, const char *pipeline, const char *db, const char *seed);
void cli_conv_close(cli_conv *c);

/* cli_conv_turn: one message through the engine's conversation driver
 * (eng_converse), exactly as `aisle serve` runs it: a message id already
 * answered in this session is replayed (r->replayed, r->turn NULL).
 * r->reply is the reply object the server sends. The caller clears r
 * with eng_converse_result_clear. 0, or 1 (message printed; r cleared). */
int cli_conv_turn(cli_conv *c, const char *text, const char *message_id, eng_converse_result *r);

/* cli_print_reply: a reply object as a terminal shows it: the text, then
 * each card ("  1. Title (Brand) $9.99"), then the suggestions. */
void cli_print_reply(FILE *out, json_object *reply);

/* cli_conv_login: log in as the user with this e-mail (created on first
 * use, as an operator tool would), merging the anonymous cart into the
 * user's. 0 or 1 (message printed). */
int cli_conv_login(cli_conv *c, const char *email);

/* cli_import_catalog: load a catalog file (JSON in DummyJSON's shape, or
 * CSV with a --map style column mapping) into the store; rejected rows
 * are reported on stderr. Returns 0 or a store code. */
int cli_import_catalog(store *st, const char *path, const char *map, long *loaded, long *rejected);

/* aisle import --fetch-images (cli/fetch_images.c): the shop's own copy
 * of every product image in the store, each source URL fetched once. */
typedef struct cli_fetch_opts {
    int parallel;            /* transfers at once, 1..16 (4) */
    int connect_timeout_s;   /* (5) */
    int timeout_s;           /* a whole transfer, redirects included (20) */
    int max_redirects;       /* (3) */
    long max_bytes;          /* largest image (STORE_MEDIA_MAX_BYTES) */
    int max_images;          /* fetched in one run; the rest next run (10000) */
} cli_fetch_opts;

typedef struct cli_fetch_stats {
    long products;           /* products with at least one image URL */
    long fetched, stored, failed, left;  /* distinct URLs: fetched now, stored
                                            before, failed, over max_images */
    long failed_products;    /* products with a failed URL */
} cli_fetch_stats;

void cli_fetch_opts_init(cli_fetch_opts *o);
/* cli_fetch_images: fetch every image URL of the store's products that
 * the media index lacks (store_media_*), at most o->max_images of them,
 * and keep each that passes the checks (http/https, at most o->max_bytes,
 * an image Content-Type and image bytes).  Each failure is printed on
 * stderr with its product ("  product SKU (Title): URL: why") and never
 * stops the run.  Blocks on the network.  0, or 1 when the catalog could
 * not be read (a failed image is not an error of the run). */
int cli_fetch_images(store *st, const cli_fetch_opts *o, cli_fetch_stats *stats);

/* cli_wants_help: 1 when argv has -h or --help. */
int cli_wants_help(int argc, char **argv);

/* cli_read_file (cli/util.c): the whole file at `path`, NUL-terminated
 * (malloc'd; the caller frees), its length in *len unless len is NULL.
 * NULL after printing "CMD: cannot read PATH: why" on stderr. */
char *cli_read_file(const char *cmd, const char *path, size_t *len);

/* cli_store_config: the store settings from the environment
 * (store_config_init), then a command's --db: when db is not NULL the
 * documents (catalog, carts, orders, users) live in that SQLite file,
 * whatever AISLE_MONGO_URI says. */
void cli_store_config(store_config *cfg, const char *db);

/* cli_remove_sqlite: remove the SQLite file at path with its -wal, -shm
 * and -journal files (those that are there). */
void cli_remove_sqlite(const char *path);

/* cli_store_open: store_open with cfg; 0, or 1 after printing "CMD:
 * cannot open the store PATH: why" (*out NULL). Blocks on the backends'
 * connections. */
int cli_store_open(const char *cmd, const store_config *cfg, store **out);

#endif
