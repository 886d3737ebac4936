/* cli/conversation.c — a conversation from the command line: pipeline,
 * optional store and LLM, the session carried between turns, and log-in
 * as an operator would do it. Shared by `aisle run` and `aisle chat`. */
#include "cli.h"
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int cli_conv_open(cli_conv *c, const char *pipeline, const char *db, const char *seed)
{
    eng_diags d;
    eng_diags_init(&d);
    int rc = eng_pipeline_load(pipeline, &c->pipeline, &d);
    if (d.n)
        eng_diags_print(&d, stderr);
    eng_diags_free(&d);
    if (rc < 0)
        return 1;
    if (db) {
        store_config cfg;
        cli_store_config(&cfg, db);
        if (cli_store_open("aisle", &cfg, &c->store))
            return 1;
        int64_t n = 0;
        if (seed && store_product_count(c->store, &n, NULL) == 0 && n == 0) {
            long loaded = 0, rejected = 0;
            cli_import_catalog(c->store, seed, NULL, &loaded, &rejected);
            fprintf(stderr, "aisle: catalog was empty: imported %ld products from %s\n", loaded, seed);
        }
    }
    eng_llm_config lc;
    eng_err le = {0};
    if (eng_llm_config_from_env(&lc, &le) == 0 && lc.provider != ENG_LLM_OFF)
        c->llm = eng_llm_new(&lc);
    if (!c->session_id)
        c->session_id = "terminal";
    return 0;
}

void cli_conv_close(cli_conv *c)
{
    eng_pipeline_release(c->pipeline);
    if (c->store)
        store_close(c->store);
    eng_llm_free(c->llm);
    json_object_put(c->session);
    memset(c, 0, sizeof *c);
}

int cli_conv_turn(cli_conv *c, const char *text, const char *message_id, eng_converse_result *r)
{
    eng_deps deps = {.store = c->store, .llm = c->llm};
    eng_converse_opts o = {
        .text = text, .session_id = c->session_id, .user_id = c->user_id[0] ? c->user_id : NULL,
        .message_id = message_id, .deps = &deps, .session = c->session,
    };
    eng_err err = {0};
    if (eng_converse(c->pipeline, &o, r, &err) < 0) {
        fprintf(stderr, "aisle: %s\n", err.msg);
        eng_converse_result_clear(r);
        return 1;
    }
    /* the turn ran, but what it changed was not all kept */
    if (r->store_error[0])
        fprintf(stderr, "aisle: error: %s\n", r->store_error);
    if (!c->store && r->session) {
        /* no store: the session lives here, between turns */
        json_object_put(c->session);
        c->session = json_object_get(r->session);
    }
    return 0;
}

int cli_conv_login(cli_conv *c, const char *email)
{
    if (!c->store) {
        fprintf(stderr, "aisle: logging in needs a store (--db FILE)\n");
        return 1;
    }
    store_user u = {0};
    store_err err = {0};
    int64_t id = 0;
    if (store_user_get_by_email(c->store, email, &u, &err) == 0) {
        id = u.id;
    } else if (store_user_create(c->store, email, "!terminal-login", NULL, &id, &err) < 0) {
        fprintf(stderr, "aisle: cannot log in as %s: %s\n", email, err.msg);
        return 1;
    }
    snprintf(c->user_id, sizeof c->user_id, "%" PRId64, id);
    /* the anonymous cart joins the user's through the commerce core, as
     * a login over the gateway does */
    eng_shopper w = {.pipe = c->pipeline, .store = c->store, .user_id = id, .session_id = c->session_id,
                     .session = c->session, .via = "cli"};
    eng_shop_result r;
    if (eng_shop_cart_merge(&w, c->session_id, &r) < 0 || r.status != ENG_SHOP_OK)
        fprintf(stderr, "aisle: could not merge the cart: %s\n", r.reason[0] ? r.reason : "invalid session");
    eng_shop_result_clear(&r);
    char into[64];
    snprintf(into, sizeof into, "user:%" PRId64, id);
    store_audit_append(c->store, into, "login", "terminal", NULL, NULL);
    return 0;
}

void cli_print_reply(FILE *out, json_object *reply)
{
    json_object *rep = json_object_object_get(reply, "reply");
    fprintf(out, "%s\n", json_object_get_string(json_object_object_get(rep, "text")));
    json_object *cards = json_object_object_get(rep, "cards");
    for (size_t i = 0; i < json_object_array_length(cards); i++) {
        json_object *c = json_object_array_get_idx(cards, i), *v;
        const char *brand = json_object_object_get_ex(c, "brand", &v) && v ? json_object_get_string(v) : NULL;
        double price = json_object_object_get_ex(c, "finalPrice", &v) ? json_object_get_double(v) : 0;
        char pr[48];
        if (json_object_get_boolean(json_object_object_get(c, "priceMissing")))
            snprintf(pr, sizeof pr, "price on request");
        else
            snprintf(pr, sizeof pr, "$%.2f", price);
        fprintf(out, "  %zu. %s%s%s%s %s\n", i + 1, json_object_get_string(json_object_object_get(c, "title")),
                brand ? " (" : "", brand ? brand : "", brand ? ")" : "", pr);
    }
    json_object *sugg = json_object_object_get(rep, "suggestions");
    for (size_t i = 0; i < json_object_array_length(sugg); i++)
        fprintf(out, "%s[%s]", i ? " " : "  ", json_object_get_string(json_object_array_get_idx(sugg, i)));
    if (json_object_array_length(sugg))
        fprintf(out, "\n");
}
