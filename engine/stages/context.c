/* engine/stages/context.c — the `context` stage: loads what the turn
 * needs to know about the shopper from the stores — the user, long-term
 * memory and the priced cart (the session itself comes with the turn).
 * Without a store it declines and the turn goes on without them. */
#include "engine/commerce_int.h"
#include <inttypes.h>
#include <stddef.h>
#include <string.h>

typedef struct opts {
    eng_strlist load;
} opts;

static const eng_field fields[] = {
    {"load", ENG_F_STRLIST, false, offsetof(opts, load), NULL, 0, 0,
     "what to load: user, memory, cart (default: all three)"},
    {NULL, 0, false, 0, NULL, 0, 0, NULL},
};

static bool wants(const opts *o, const char *what)
{
    if (!o->load.n)
        return true;
    for (size_t i = 0; i < o->load.n; i++)
        if (strcmp(o->load.items[i], what) == 0)
            return true;
    return false;
}

static int create(eng_stage *st, eng_build *b)
{
    const opts *o = st->opts;
    static const char *const known[] = {"session", "user", "memory", "cart", NULL};
    for (size_t i = 0; i < o->load.n; i++) {
        bool ok = false;
        for (size_t k = 0; known[k]; k++)
            ok |= strcmp(o->load.items[i], known[k]) == 0;
        if (!ok) {
            eng__build_error(b, eng__build_key_node(b, "load"),
                             "\"load\" takes session, user, memory and cart, not \"%s\"", o->load.items[i]);
            return ENG_ECONFIG;
        }
    }
    return 0;
}

static eng_result run(const eng_stage *st, eng_turn *t)
{
    const opts *o = st->opts;
    store *s = eng__store(t);
    if (!s) {
        eng__turn_note(t, "no store: nothing loaded");
        return ENG_R_DECLINED;
    }
    int64_t uid = eng__user_id(t);
    char note[200] = "";
    size_t nl = 0;
    if (uid && wants(o, "user")) {
        store_user u = {0};
        if (store_user_get(s, uid, &u, NULL) == 0) {
            json_object *user = eng__json_path(t->ctx, "user");
            ENG_JADD(user, "email", json_object_new_string(u.email));
            if (u.name[0])
                ENG_JADD(user, "name", json_object_new_string(u.name));
            nl += (size_t)snprintf(note + nl, sizeof note - nl, "user ");
        }
    }
    if (uid && wants(o, "memory")) {
        char *js = NULL;
        if (store_memory_list(s, uid, NULL, &js, NULL) == 0 && js) {
            json_object *m = json_tokener_parse(js);
            if (m)
                ENG_JADD(t->ctx, "memory", m);
            nl += (size_t)snprintf(note + nl, sizeof note - nl, "memory ");
        }
        free(js);
    }
    if (wants(o, "cart") && eng__cart_refresh(t) == 0)
        snprintf(note + nl, sizeof note - nl, "cart(%" PRId64 ")",
                 json_object_get_int64(eng__json_path(t->ctx, "cart.count")));
    eng__turn_note(t, "%s", note);
    return ENG_R_OK;
}

const eng_stage_type eng__stage_context = {
    .name = "context",
    .doc = "loads the user, long-term memory and the priced cart from the stores",
    .fields = fields,
    .opts_size = sizeof(opts),
    .create = create,
    .run = run,
};
