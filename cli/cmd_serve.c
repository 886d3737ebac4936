/* cli/cmd_serve.c — `aisle serve`: settings (file, environment, flags)
 * → stores → LLM client → gateway, then wait for SIGTERM/SIGINT and shut
 * down gracefully (turns in flight finish, sockets close, stores close). */
#include "cli.h"
#include "config_int.h"
#include "engine/eng.h"
#include "gateway/gw.h"
#include "stores/store.h"
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: aisle serve [--config aisle.yaml] [--listen HOST:PORT] [--pipeline FILE]\n"
    "                   [--db FILE] [--dev] [--seed-catalog FILE] [--ws-listen HOST:PORT]\n"
    "                   [--set KEY=VALUE]...\n"
    "                   [--check] [--routes] [--settings]\n\n"
    "Serves the chat page, the WebSocket chat (/ws) and the REST API (/api/v1).\n"
    "  --config FILE        settings file (also AISLE_CONFIG); the environment\n"
    "                       overrides it, flags override both\n"
    "  --listen HOST:PORT   default 127.0.0.1:8080 (AISLE_LISTEN)\n"
    "  --pipeline FILE      default pipelines/commerce.yaml, else examples/faq/faq.yaml\n"
    "  --db FILE            SQLite file (AISLE_DB), default var/aisle.db\n"
    "  --dev                development mode (AISLE_DEV=1): no JWT secret needed\n"
    "  --seed-catalog FILE  import this catalog when the catalog is empty\n"
    "  --ws-listen HOST:PORT  the chat WebSocket (/ws) on its own event-loop\n"
    "                       listener (AISLE_WS_LISTEN); default auto: the host of\n"
    "                       --listen, its port + 1; none: /ws on --listen (civetweb)\n"
    "  --set KEY=VALUE      any setting by its YAML key, e.g. limits.ip_rps=5\n"
    "  --check              validate the settings and the pipeline, then exit\n"
    "  --routes             print the route table as JSON and exit\n"
    "  --settings           print every setting (Markdown table) and exit\n"
    "Outside --dev, AISLE_JWT_SECRET must be set to 32+ random bytes.\n";

static int seed(store *st, const char *file)
{
    int64_t n = 0;
    store_err e = {0};
    if (store_product_count(st, &n, &e) < 0) {
        fprintf(stderr, "aisle serve: %s\n", e.msg);
        return 1;
    }
    if (n > 0)
        return 0;
    long loaded = 0, rejected = 0;
    if (cli_import_catalog(st, file, NULL, &loaded, &rejected) < 0) {
        fprintf(stderr, "aisle serve: could not import %s\n", file);
        return 1;
    }
    fprintf(stderr, "aisle serve: catalog was empty; imported %ld products from %s (%ld rejected)\n", loaded, file,
            rejected);
    return 0;
}

int cli_serve(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(help, stdout);
        return 0;
    }
    cli_config cfg;
    cli_config_init(&cfg);
    char err[1024] = "";
    const char *file = getenv("AISLE_CONFIG");
    int check = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            file = argv[++i];
        else if (strcmp(argv[i], "--routes") == 0) {
            json_object *r = gw_routes_json();
            puts(json_object_to_json_string_ext(r, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
            json_object_put(r);
            return 0;
        } else if (strcmp(argv[i], "--settings") == 0) {
            cli_config_print_table(stdout);
            return 0;
        }
    }
    int rc = 2;
    if (file && cli_config_load_file(&cfg, file, err, sizeof err) < 0) {
        fprintf(stderr, "aisle serve: %s\n", err);
        goto out;
    }
    if (cli_config_apply_env(&cfg, err, sizeof err) < 0) {
        fprintf(stderr, "aisle serve: %s\n", err);
        goto out;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char *key = NULL;
        char kv[256];
        if (strcmp(a, "--config") == 0 && v) {
            i++;
            continue;
        } else if (strcmp(a, "--listen") == 0 && v)
            key = "listen";
        else if (strcmp(a, "--pipeline") == 0 && v)
            key = "pipeline";
        else if (strcmp(a, "--db") == 0 && v)
            key = "store.db";
        else if (strcmp(a, "--seed-catalog") == 0 && v)
            key = "seed_catalog";
        else if (strcmp(a, "--ws-listen") == 0 && v)
            key = "ws.listen";
        else if (strcmp(a, "--dev") == 0) {
            cfg.gw.dev = 1;
            continue;
        } else if (strcmp(a, "--check") == 0) {
            check = 1;
            continue;
        } else if (strcmp(a, "--set") == 0 && v && strchr(v, '=')) {
            size_t kl = (size_t)(strchr(v, '=') - v);
            snprintf(kv, sizeof kv, "%.*s", (int)(kl < sizeof kv ? kl : sizeof kv - 1), v);
            if (cli_config_set(&cfg, kv, strchr(v, '=') + 1, err, sizeof err) < 0) {
                fprintf(stderr, "aisle serve: --set: %s\n", err);
                goto out;
            }
            i++;
            continue;
        } else {
            fprintf(stderr, "aisle serve: unknown or incomplete option %s\n\n%s", a, help);
            goto out;
        }
        if (cli_config_set(&cfg, key, v, err, sizeof err) < 0) {
            fprintf(stderr, "aisle serve: %s\n", err);
            goto out;
        }
        i++;
    }
    gw_err ge = {0};
    if (gw_config_check(&cfg.gw, &ge) < 0) {
        fprintf(stderr, "aisle serve: refusing to start: %s\n", ge.msg);
        rc = 1;
        goto out;
    }
    if (check) {
        eng_diags d;
        eng_diags_init(&d);
        eng_pipeline *p = NULL;
        int lrc = eng_pipeline_load(cfg.gw.pipeline_path, &p, &d);
        eng_diags_print(&d, stderr);
        eng_diags_free(&d);
        if (p)
            eng_pipeline_release(p);
        fprintf(stderr, "aisle serve: settings %s\n", lrc == 0 ? "ok" : "ok, but the pipeline has errors");
        rc = lrc == 0 ? 0 : 1;
        goto out;
    }
    /* signals go to sigwait below, never to a worker thread: block them
     * before any thread starts so every thread inherits the mask */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    rc = 1;
    store *st = NULL;
    store_err se = {0};
    if (store_open(&cfg.store, &st, &se) < 0) {
        fprintf(stderr, "aisle serve: cannot open the store: %s\n", se.msg);
        goto out;
    }
    if (cfg.seed_catalog && *cfg.seed_catalog && seed(st, cfg.seed_catalog) != 0) {
        store_close(st);
        goto out;
    }
    eng_llm_config lc;
    eng_err ee = {0};
    eng_llm *llm = NULL;
    if (eng_llm_config_from_env(&lc, &ee) < 0) {
        fprintf(stderr, "aisle serve: %s\n", ee.msg);
        store_close(st);
        goto out;
    }
    if (lc.provider != ENG_LLM_OFF)
        llm = eng_llm_new(&lc);
    gw_server *srv = NULL;
    if (gw_start(&cfg.gw, st, llm, &srv, &ge) < 0) {
        fprintf(stderr, "aisle serve: %s\n", ge.msg);
        eng_llm_free(llm);
        store_close(st);
        goto out;
    }
    fprintf(stderr, "aisle serve: listening on http://%s (pipeline %s)%s\n", cfg.gw.listen, cfg.gw.pipeline_path,
            cfg.gw.dev ? " [dev mode]" : "");
    if (gw_ws_port(srv))
        fprintf(stderr, "aisle serve: chat WebSocket on ws://%s/ws (port %d, event loop)\n", gw_ws_address(srv),
                gw_ws_port(srv));
    int sig = 0;
    sigwait(&set, &sig);
    fprintf(stderr, "aisle serve: %s received, shutting down\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    gw_stop(srv);
    eng_llm_free(llm);
    store_close(st);
    rc = 0;
out:
    cli_config_free(&cfg);
    return rc;
}
