/* engine/stages/action.c — the `action` stage: carries out the actions
 * the agents decided on (cart changes, orders, cancellations, hand-offs)
 * through the stores, exactly once per idempotency key: the outcome of
 * each key is kept, and a message run again (a retry, a reconnect) gets
 * the first outcome back instead of a second change. */
#include "../commerce.h"
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef struct opts {
    long remember_s;
} opts;

static const eng_field fields[] = {
    {"remember_s", ENG_F_INT, false, offsetof(opts, remember_s), "86400", 60, 31536000,
     "how long an action's outcome is kept for replays, in seconds"},
    {NULL, 0, false, 0, NULL, 0, 0, NULL},
};

static void outcome(json_object *a, const char *status, const char *message)
{
    json_object_object_add(a, "status", json_object_new_string(status));
    if (message)
        json_object_object_add(a, "message", json_object_new_string(message));
}

static int cart_line_qty(store *s, const char *cid, const char *sku, int64_t *qty)
{
    store_cart c = {0};
    if (store_cart_get(s, cid, &c, NULL) < 0)
        return -1;
    *qty = 0;
    for (size_t i = 0; i < c.n_items; i++)
        if (strcmp(c.items[i].sku, sku) == 0)
            *qty = c.items[i].qty;
    store_cart_clear_struct(&c);
    return 0;
}

static json_object *order_result(const store_order *o)
{
    json_object *r = json_object_new_object();
    json_object_object_add(r, "orderId", json_object_new_int64(o->id));
    json_object_object_add(r, "status", json_object_new_string(o->status));
    json_object_object_add(r, "catalogTotal", json_object_new_double(o->total));
    return r;
}

/* Carry out one action; fills status/message/result on `a`. */
static void execute(eng_turn *t, json_object *a, bool *cart_changed)
{
    store *s = eng__store(t);
    const char *type = eng__json_str(a, "type", "");
    const char *sku = eng__json_str(a, "sku", NULL);
    char cid[160];
    eng__cart_id(t, cid, sizeof cid);
    store_err err = {0};
    int rc = 0;
    if (strcmp(type, "cart.add") == 0 || strcmp(type, "cart.set") == 0) {
        int64_t cur = 0, qty = json_object_get_int64(eng__json_path(a, "qty"));
        if (!sku || cart_line_qty(s, cid, sku, &cur) < 0)
            return outcome(a, "failed", "the cart is not available right now");
        int64_t want = strcmp(type, "cart.add") == 0 ? cur + qty : qty;
        int64_t stock = json_object_get_int64(eng__json_path(a, "stock"));
        if (eng__json_path(a, "stock") && want > stock) {
            char m[160];
            snprintf(m, sizeof m, "only %" PRId64 " in stock", stock);
            return outcome(a, "failed", m);
        }
        rc = store_cart_set_qty(s, cid, sku, want, &err);
        json_object_object_add(a, "newQty", json_object_new_int64(want));
        *cart_changed = rc == 0;
    } else if (strcmp(type, "cart.remove") == 0) {
        rc = sku ? store_cart_remove(s, cid, sku, &err) : STORE_EINVAL;
        *cart_changed = rc == 0;
    } else if (strcmp(type, "cart.clear") == 0) {
        rc = store_cart_clear(s, cid, &err);
        *cart_changed = rc == 0;
    } else if (strcmp(type, "order.create") == 0) {
        store_order o = {0};
        /* the order keeps the prices the shopper agreed to, rule ids and all */
        json_object *pricing = json_object_new_object();
        static const char *const keep[] = {"total", "subtotal", "discounts", "items", NULL};
        for (size_t k = 0; keep[k]; k++)
            json_object_object_add(pricing, keep[k], json_object_get(eng__json_path(a, keep[k])));
        rc = store_order_create_priced(s, eng__user_id(t), cid, eng__json_str(a, "key", ""),
                                       json_object_to_json_string_ext(pricing, JSON_C_TO_STRING_PLAIN), &o, &err);
        json_object_put(pricing);
        if (rc == 0) {
            json_object *r = order_result(&o);
            /* the promotions' total is what the shopper agreed to pay */
            json_object_object_add(r, "total", json_object_get(eng__json_path(a, "total")));
            json_object_object_add(r, "discounts", json_object_get(eng__json_path(a, "discounts")));
            json_object_object_add(a, "result", r);
            json_object *detail = json_object_new_object();
            json_object_object_add(detail, "orderId", json_object_new_int64(o.id));
            json_object_object_add(detail, "total", json_object_get(eng__json_path(a, "total")));
            json_object_object_add(detail, "catalogTotal", json_object_new_double(o.total));
            json_object_object_add(detail, "discounts", json_object_get(eng__json_path(a, "discounts")));
            json_object *rules = json_object_new_array();
            json_object *items = eng__json_path(a, "items");
            for (size_t i = 0; items && i < json_object_array_length(items); i++) {
                json_object *ap = eng__json_path(json_object_array_get_idx(items, i), "appliedRules");
                for (size_t k = 0; ap && k < json_object_array_length(ap); k++)
                    json_object_array_add(rules, json_object_get(json_object_array_get_idx(ap, k)));
            }
            json_object_object_add(detail, "appliedRules", rules);
            char subj[64];
            snprintf(subj, sizeof subj, "order:%" PRId64, o.id);
            eng__audit(t, "order.create", subj, detail);
            json_object_put(detail);
            store_order_clear(&o);
            *cart_changed = true;
        }
    } else if (strcmp(type, "order.cancel") == 0) {
        int64_t id = json_object_get_int64(eng__json_path(a, "orderId"));
        rc = store_order_cancel(s, eng__user_id(t), id, &err);
        if (rc == 0) {
            char subj[64];
            snprintf(subj, sizeof subj, "order:%" PRId64, id);
            eng__audit(t, "order.cancel", subj, NULL);
        }
    } else if (strcmp(type, "support.handoff") == 0) {
        eng__audit(t, "support.handoff", eng__json_str(a, "key", ""), a);
    } else {
        return outcome(a, "failed", "unknown action");
    }
    if (rc < 0) {
        const char *m = rc == STORE_ESTOCK ? "not enough stock for an item in the cart"
                        : rc == STORE_EEMPTY ? "the cart is empty"
                        : rc == STORE_ESTATE ? "that order can no longer be cancelled"
                        : rc == STORE_ENOTFOUND ? "not found" : err.msg;
        return outcome(a, "failed", m);
    }
    outcome(a, "done", NULL);
    if (strncmp(type, "cart.", 5) == 0)
        eng__audit(t, type, sku ? sku : cid, a);
}

static eng_result run(const eng_stage *st, eng_turn *t)
{
    const opts *o = st->opts;
    store *s = eng__store(t);
    json_object *acts = eng__json_path(t->ctx, "actions");
    size_t n = acts ? json_object_array_length(acts) : 0;
    if (!n) {
        eng__turn_note(t, "nothing to do");
        return ENG_R_DECLINED;
    }
    if (!s)
        return eng__turn_fail(t, "actions need a store");
    bool changed = false;
    int done = 0, replayed = 0, failed = 0;
    for (size_t i = 0; i < n; i++) {
        json_object *a = json_object_array_get_idx(acts, i);
        char ck[300];
        snprintf(ck, sizeof ck, "action:%s", eng__json_str(a, "key", ""));
        char *prev = NULL;
        if (store_cache_get(s, ck, &prev, NULL) == 0 && prev) {
            /* seen before: the first outcome stands, nothing runs again */
            json_object *p = json_tokener_parse(prev);
            free(prev);
            static const char *const keep[] = {"status", "message", "result", "newQty", NULL};
            for (size_t k = 0; p && keep[k]; k++) {
                json_object *v;
                if (json_object_object_get_ex(p, keep[k], &v))
                    json_object_object_add(a, keep[k], json_object_get(v));
            }
            json_object_put(p);
            json_object_object_add(a, "replayed", json_object_new_boolean(1));
            replayed++;
            continue;
        }
        if (strcmp(eng__json_str(a, "status", ""), "pending") == 0)
            execute(t, a, &changed);
        const char *status = eng__json_str(a, "status", "");
        done += strcmp(status, "done") == 0;
        failed += strcmp(status, "failed") == 0;
        json_object *rec = json_object_new_object();
        static const char *const keep[] = {"status", "message", "result", "newQty", NULL};
        for (size_t k = 0; keep[k]; k++) {
            json_object *v;
            if (json_object_object_get_ex(a, keep[k], &v))
                json_object_object_add(rec, keep[k], json_object_get(v));
        }
        /* failures are not remembered: trying again may work */
        if (strcmp(status, "failed") != 0)
            store_cache_put(s, ck, json_object_to_json_string(rec), (int)o->remember_s, NULL);
        json_object_put(rec);
    }
    json_object *last = json_object_array_get_idx(acts, n - 1);
    eng__set_var(t, "lastAction", json_object_get(last));
    if (changed) {
        eng__cart_refresh(t, st->pipe->rules);
        eng__set_var(t, "cartChanged", json_object_new_boolean(1));
    }
    eng__turn_note(t, "%d done, %d replayed, %d failed", done, replayed, failed);
    return ENG_R_OK;
}

const eng_stage_type eng__stage_action = {
    .name = "action",
    .doc = "carries out the agents' actions through the stores, once per idempotency key",
    .fields = fields,
    .opts_size = sizeof(opts),
    .run = run,
};
