/* engine/stages/action.c — the `action` stage: carries out the actions
 * the agents decided on through the commerce core (engine/shop.c), which
 * vetoes, prices, changes the store and audits, exactly once per action
 * key: a key is reserved in the same store transaction as its effect, so
 * a message run again (a retry, a reconnect, a concurrent duplicate) gets
 * the first outcome back instead of a second change.  Support hand-offs
 * are recorded here: they touch no cart or order. */
#include "engine/commerce_int.h"
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef struct opts {
    long remember_s;
} opts;

static const eng_field fields[] = {
    {"remember_s", ENG_F_INT, false, offsetof(opts, remember_s), "86400", 60, 31536000,
     "kept for compatibility: action outcomes now live with the change itself in the store"},
    {NULL, 0, false, 0, NULL, 0, 0, NULL},
};

static void outcome(json_object *a, const char *status, const char *message)
{
    ENG_JADD(a, "status", json_object_new_string(status));
    if (message && *message)
        ENG_JADD(a, "message", json_object_new_string(message));
}

void eng__action_record(eng_turn *t, json_object *a, const eng_shop_result *r, bool *cart_changed)
{
    const char *type = eng__json_str(a, "type", "");
    if (r->replayed)
        ENG_JADD(a, "replayed", json_object_new_boolean(1));
    switch (r->status) {
    case ENG_SHOP_OK:
        outcome(a, "done", NULL);
        if (strncmp(type, "cart.", 5) == 0) {
            ENG_JADD(a, "newQty", json_object_new_int64(r->qty));
            *cart_changed = true;
        } else if (strcmp(type, "order.create") == 0 && r->order) {
            json_object *res = json_object_new_object();
            ENG_JADD(res, "orderId", json_object_get(eng__json_path(r->order, "id")));
            ENG_JADD(res, "status", json_object_get(eng__json_path(r->order, "status")));
            ENG_JADD(res, "total", json_object_get(eng__json_path(r->order, "total")));
            ENG_JADD(res, "discounts", json_object_get(eng__json_path(r->order, "discounts")));
            ENG_JADD(a, "result", res);
            *cart_changed = true;
        } else if (strcmp(type, "order.cancel") == 0 && r->order) {
            ENG_JADD(a, "result", json_object_get(r->order));
            /* the reply shows the order as the cancel left it: its refund */
            json_object *res = eng__json_path(t->ctx, "results");
            if (json_object_is_type(res, json_type_object))
                json_object_object_add(res, "order", json_object_get(r->order));
        } else if (strncmp(type, "promo.", 6) == 0) {
            *cart_changed = true;
        }
        break;
    case ENG_SHOP_DENIED:
        outcome(a, "denied", r->reason);
        ENG_JADD(a, "ruleId", json_object_new_string(r->rule_id));
        ENG_JADD(a, "ruleVersion", json_object_get(eng__json_path(r->veto, "version")));
        eng__set_var(t, "denied", json_object_new_string(r->reason));
        eng__turn_note(t, "%s vetoed by %s", type, r->rule_id);
        break;
    default:
        outcome(a, "failed", r->reason);
        ENG_JADD(a, "reason", json_object_new_string(eng_shop_status_name(r->status)));
        break;
    }
    if (strcmp(type, "promo.apply") == 0) {
        eng__set_var(t, "promoCode", json_object_get(eng__json_path(a, "code")));
        eng__set_var(t, "promoValid", json_object_new_boolean(r->status == ENG_SHOP_OK));
        if (r->status != ENG_SHOP_OK)
            eng__set_var(t, "promoReason", json_object_new_string(r->reason));
        if (r->status == ENG_SHOP_CODE_INVALID && r->rule_id[0])
            eng__set_var(t, "promoDeclined", json_object_new_boolean(1));   /* a code, not for this cart */
    }
    if (r->cart)
        ENG_JADD(t->ctx, "cart", json_object_get(r->cart));
}

/* Several new lines added by one turn ("add the first and the third"),
 * kept for "undo" in the next message: {type: "cart.add", lines: [{sku,
 * title}], turn, id}. False (nothing kept) when any change was another
 * kind, or added to a line the cart already held. */
static bool remember_adds(eng_turn *t, json_object *acts)
{
    json_object *lines = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(acts); i++) {
        json_object *a = json_object_array_get_idx(acts, i);
        const char *type = eng__json_str(a, "type", "");
        if (strncmp(type, "cart.", 5) != 0 || strcmp(eng__json_str(a, "status", ""), "done") != 0)
            continue;
        if (strcmp(type, "cart.add") != 0 || !eng__json_str(a, "sku", NULL) ||
            json_object_get_int64(eng__json_path(a, "currentQty")) != 0) {
            json_object_put(lines);
            return false;
        }
        json_object *l = json_object_new_object();
        ENG_JADD(l, "sku", json_object_get(eng__json_path(a, "sku")));
        ENG_JADD(l, "title", json_object_get(eng__json_path(a, "title")));
        ENG_JADD(l, "qty", json_object_new_int64(json_object_get_int64(eng__json_path(a, "newQty"))));
        json_object_array_add(lines, l);
    }
    json_object *sess = eng__session(t), *c = json_object_new_object();
    ENG_JADD(c, "type", json_object_new_string("cart.add"));
    ENG_JADD(c, "lines", lines);
    ENG_JADD(c, "turn", json_object_new_int64(json_object_get_int64(eng__json_path(sess, "turns"))));
    ENG_JADD(c, "id", json_object_new_string(eng__json_str(t->ctx, "message.id", "m")));
    ENG_JADD(sess, "lastChange", c);
    return true;
}

/* The one cart line this turn changed, kept in the session for "undo
 * that" and "actually just one" in the next message: its product, and
 * its count before and after. A turn that added several new lines keeps
 * those (remember_adds); one that made other changes to several, or
 * none, leaves nothing to take back. */
static void remember_change(eng_turn *t, json_object *acts)
{
    json_object *sess = eng__session(t), *one = NULL, *gone = NULL;
    for (size_t i = 0; i < json_object_array_length(acts); i++) {
        json_object *a = json_object_array_get_idx(acts, i);
        const char *type = eng__json_str(a, "type", "");
        if (strncmp(type, "cart.", 5) != 0 || strcmp(eng__json_str(a, "status", ""), "done") != 0)
            continue;
        if (one && !gone && json_object_get_boolean(eng__json_path(a, "afterDone"))) {
            gone = a;   /* a swap: the line given up for the one just added */
            continue;
        }
        if (strcmp(type, "cart.clear") == 0 && !one && i + 1 == json_object_array_length(acts) &&
            json_object_array_length(eng__json_path(a, "was")) > 0) {
            /* the cart emptied: its lines, to put back if asked */
            json_object *c = json_object_new_object();
            ENG_JADD(c, "type", json_object_new_string("cart.clear"));
            ENG_JADD(c, "cleared", json_object_get(eng__json_path(a, "was")));
            ENG_JADD(c, "turn", json_object_new_int64(json_object_get_int64(eng__json_path(sess, "turns"))));
            ENG_JADD(c, "id", json_object_new_string(eng__json_str(t->ctx, "message.id", "m")));
            ENG_JADD(sess, "lastChange", c);
            return;
        }
        if (one || !eng__json_str(a, "sku", NULL) || strcmp(type, "cart.clear") == 0) {
            if (!remember_adds(t, acts))
                json_object_object_del(sess, "lastChange");
            return;
        }
        one = a;
    }
    if (!one)
        return;
    json_object *c = json_object_new_object();
    if (gone) {
        json_object *was = json_object_new_object();
        ENG_JADD(was, "sku", json_object_get(eng__json_path(gone, "sku")));
        ENG_JADD(was, "title", json_object_get(eng__json_path(gone, "title")));
        ENG_JADD(was, "qty", json_object_new_int64(json_object_get_int64(eng__json_path(gone, "currentQty"))));
        ENG_JADD(c, "replaced", was);
    }
    static const char *const kept[] = {"type", "sku", "title", NULL};
    for (size_t i = 0; kept[i]; i++)
        json_object_object_add(c, kept[i], json_object_get(eng__json_path(one, kept[i])));
    ENG_JADD(c, "before", json_object_new_int64(json_object_get_int64(eng__json_path(one, "currentQty"))));
    ENG_JADD(c, "after", json_object_new_int64(json_object_get_int64(eng__json_path(one, "newQty"))));
    ENG_JADD(c, "turn", json_object_new_int64(json_object_get_int64(eng__json_path(sess, "turns"))));
    ENG_JADD(c, "id", json_object_new_string(eng__json_str(t->ctx, "message.id", "m")));
    ENG_JADD(sess, "lastChange", c);
}

static eng_result run(const eng_stage *st, eng_turn *t)
{
    json_object *acts = eng__json_path(t->ctx, "actions");
    size_t n = acts ? json_object_array_length(acts) : 0;
    if (!n) {
        eng__turn_note(t, "nothing to do");
        return ENG_R_DECLINED;
    }
    if (!eng__store(t))
        return eng__turn_fail(t, "actions need a store");
    bool changed = false;
    int done = 0, replayed = 0, failed = 0;
    for (size_t i = 0; i < n; i++) {
        json_object *a = json_object_array_get_idx(acts, i);
        if (strcmp(eng__json_str(a, "status", ""), "pending") != 0)
            continue;
        const char *type = eng__json_str(a, "type", "");
        json_object *before = i > 0 ? json_object_array_get_idx(acts, i - 1) : NULL;
        if (json_object_get_boolean(eng__json_path(a, "afterDone")) &&
            (!before || strcmp(eng__json_str(before, "status", ""), "done") != 0)) {
            /* a swap's removal waits on its add: nothing given up for a
             * product that could not be had */
            outcome(a, "skipped", NULL);
            eng__turn_note(t, "%s skipped: the change before it was not done", type);
            continue;
        }
        if (strcmp(type, "support.handoff") == 0) {
            eng__audit(t, "support.handoff", eng__json_str(a, "key", ""), a);
            outcome(a, "done", NULL);
            done++;
            continue;
        }
        if (strcmp(type, "cart.clear") == 0 && eng__json_path(t->ctx, "cart.items")) {
            /* what the cart held, for "undo that" / "put everything
             * back" in the next message (remember_change) */
            json_object *was = json_object_new_array(), *items = eng__json_path(t->ctx, "cart.items");
            for (size_t k = 0; k < json_object_array_length(items); k++) {
                json_object *it = json_object_array_get_idx(items, k), *l = json_object_new_object();
                ENG_JADD(l, "sku", json_object_get(eng__json_path(it, "sku")));
                ENG_JADD(l, "title", json_object_get(eng__json_path(it, "title")));
                ENG_JADD(l, "qty", json_object_get(eng__json_path(it, "qty")));
                json_object_array_add(was, l);
            }
            ENG_JADD(a, "was", was);
        }
        eng_shop_result r;
        eng__shop_do(t, a, &r);
        eng__action_record(t, a, &r, &changed);
        const char *status = eng__json_str(a, "status", "");
        done += strcmp(status, "done") == 0;
        failed += strcmp(status, "failed") == 0;
        replayed += r.replayed;
        eng_shop_result_clear(&r);
    }
    json_object *last = json_object_array_get_idx(acts, n - 1);
    for (size_t i = n; i-- > 0;)   /* what the reply reports: the last one tried */
        if (strcmp(eng__json_str(json_object_array_get_idx(acts, i), "status", ""), "skipped") != 0) {
            last = json_object_array_get_idx(acts, i);
            break;
        }
    eng__set_var(t, "lastAction", json_object_get(last));
    remember_change(t, acts);
    if (changed)
        eng__set_var(t, "cartChanged", json_object_new_boolean(1));
    json_object *pend = eng__json_path(t->ctx, "session.pending");
    if (changed && strcmp(eng__json_str(pend, "type", ""), "order.create") == 0) {
        /* the summary the order's question showed no longer holds (a
         * code applied while it waited): the question is dropped, and
         * the reply says so (formatter, vars.checkoutDropped) */
        json_object_object_del(eng__session(t), "pending");
        json_object_object_del(eng__json_path(t->ctx, "vars"), "stillPending");
        eng__set_var(t, "orderQuestionDropped", json_object_new_boolean(1));
        eng__turn_note(t, "the cart changed while the order was asked: the question dropped");
    }
    eng__turn_note(t, "%d done, %d replayed, %d failed", done, replayed, failed);
    (void)st;
    return ENG_R_OK;
}

const eng_stage_type eng__stage_action = {
    .name = "action",
    .doc = "carries out the agents' actions through the commerce core, once per idempotency key",
    .fields = fields,
    .opts_size = sizeof(opts),
    .run = run,
};
