/* engine/rules_dryrun.c — what a rules file would change before anyone
 * saves it live: prices over the whole catalog, ranking for sample
 * queries, discounts on sample carts and vetoes on sample actions. It runs
 * the rules through the same calls the agents make (engine/rules.c), in a
 * turn of its own that touches nothing in the store. */
#include "commerce_int.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const default_queries[] = {"shoes", "perfume", "phone", "watch", "mascara", NULL};

/* Every product of the catalog as cards, in pages the store allows. */
static json_object *all_cards(store *s)
{
    json_object *cards = json_object_new_array();
    for (int off = 0;; off += 200) {
        store_search_query q;
        store_search_query_init(&q);
        q.limit = 200;
        q.offset = off;
        store_search_result res = {0};
        if (store_search(s, &q, &res, NULL) < 0 || res.n_hits == 0) {
            store_search_result_free(&res);
            break;
        }
        for (size_t i = 0; i < res.n_hits; i++)
            json_object_array_add(cards, eng__card(&res.hits[i].product, false));
        size_t n = res.n_hits;
        store_search_result_free(&res);
        if (n < 200)
            break;
    }
    return cards;
}

static json_object *prices(const eng_rules *r, eng_turn *t, json_object *cards)
{
    eng__rules_price(r, t, cards);
    json_object *out = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(cards); i++) {
        json_object *c = json_object_array_get_idx(cards, i);
        json_object *ap = eng__json_path(c, "appliedRules");
        if (!ap || !json_object_array_length(ap))
            continue;
        json_object *o = json_object_new_object();
        ENG_JADD(o, "sku", json_object_get(eng__json_path(c, "sku")));
        ENG_JADD(o, "title", json_object_get(eng__json_path(c, "title")));
        ENG_JADD(o, "before", json_object_get(eng__json_path(c, "price")));
        ENG_JADD(o, "after", json_object_get(eng__json_path(c, "finalPrice")));
        ENG_JADD(o, "rules", json_object_get(ap));
        json_object_array_add(out, o);
    }
    return out;
}

static json_object *skus(json_object *cards, const size_t *order, size_t n)
{
    json_object *a = json_object_new_array();
    for (size_t i = 0; i < n; i++)
        json_object_array_add(a, json_object_get(eng__json_path(json_object_array_get_idx(cards, order[i]), "sku")));
    return a;
}

/* One query: the store's top 10 before, the top 10 after the boosts, and
 * the multipliers that are not 1. hook "recommend" ranks by rating, as the
 * product agent does. */
static json_object *ranking(const eng_rules *r, eng_turn *t, store *s, const char *query, const char *hook)
{
    store_search_query q;
    store_search_query_init(&q);
    q.text = query;
    q.limit = 30;
    bool rec = strcmp(hook, "recommend") == 0;
    if (rec)
        q.sort = STORE_SORT_RATING;
    store_search_result res = {0};
    if (store_search(s, &q, &res, NULL) < 0) {
        store_search_result_free(&res);
        return NULL;
    }
    size_t n = res.n_hits;
    json_object *cards = json_object_new_array();
    double *score = calloc(n + 1, sizeof *score), *mult = calloc(n + 1, sizeof *mult);
    size_t *order = calloc(n + 1, sizeof *order);
    json_object *o = NULL;
    if (score && mult && order) {
        for (size_t i = 0; i < n; i++) {
            json_object_array_add(cards, eng__card(&res.hits[i].product, false));
            score[i] = rec ? res.hits[i].product.rating : res.hits[i].score;
            order[i] = i;
        }
        eng__rules_boost(r, t, hook, cards, mult);
        o = json_object_new_object();
        ENG_JADD(o, "query", json_object_new_string(query));
        ENG_JADD(o, "hook", json_object_new_string(hook));
        ENG_JADD(o, "before", skus(cards, order, n < 10 ? n : 10));
        /* stable insertion sort by boosted score, as the product agent does */
        for (size_t i = 1; i < n; i++)
            for (size_t j = i; j > 0 && score[order[j]] * mult[order[j]] > score[order[j - 1]] * mult[order[j - 1]]; j--) {
                size_t x = order[j];
                order[j] = order[j - 1];
                order[j - 1] = x;
            }
        ENG_JADD(o, "after", skus(cards, order, n < 10 ? n : 10));
        json_object *boosts = json_object_new_array();
        for (size_t i = 0; i < n; i++)
            if (fabs(mult[i] - 1.0) > 1e-9) {
                json_object *b = json_object_new_object();
                ENG_JADD(b, "sku", json_object_get(eng__json_path(json_object_array_get_idx(cards, i), "sku")));
                ENG_JADD(b, "multiplier", json_object_new_double(mult[i]));
                json_object_array_add(boosts, b);
            }
        ENG_JADD(o, "boosts", boosts);
    }
    free(score);
    free(mult);
    free(order);
    json_object_put(cards);
    store_search_result_free(&res);
    return o;
}

static double money2(double v) { return floor(v * 100 + 0.5) / 100; }

/* A sample cart priced as eng__cart_refresh prices a real one. */
static json_object *cart_of(const eng_rules *r, eng_turn *t, store *s, json_object *sample, size_t k)
{
    json_object *items = json_object_new_array();
    json_object *prods = eng__json_path(sample, "products");
    double before = 0;
    int64_t count = 0;
    for (size_t i = 0; prods && i < json_object_array_length(prods); i++) {
        json_object *sp = json_object_array_get_idx(prods, i);
        const char *sku = eng__json_str(sp, "sku", NULL);
        if (!sku)
            sku = eng__json_str(sp, "id", NULL);
        store_product p = {0};
        if (!sku || store_product_get(s, sku, &p, NULL) < 0)
            continue;
        int64_t qty = json_object_get_int64(eng__json_path(sp, "quantity"));
        if (qty < 1)
            qty = 1;
        json_object *line = eng__card(&p, false);
        ENG_JADD(line, "qty", json_object_new_int64(qty));
        ENG_JADD(line, "unitPrice", json_object_new_double(money2(p.price)));
        before += money2(p.price) * (double)qty;
        count += qty;
        store_product_clear(&p);
        json_object_array_add(items, line);
    }
    eng__rules_price(r, t, items);
    double subtotal = 0;
    for (size_t i = 0; i < json_object_array_length(items); i++) {
        json_object *l = json_object_array_get_idx(items, i);
        double lt = json_object_get_double(eng__json_path(l, "finalPrice")) *
                    (double)json_object_get_int64(eng__json_path(l, "qty"));
        ENG_JADD(l, "lineTotal", json_object_new_double(money2(lt)));
        subtotal += lt;
    }
    json_object *cart = json_object_new_object();
    char id[32];
    snprintf(id, sizeof id, "sample:%zu", k + 1);
    json_object *sid = eng__json_path(sample, "id");
    ENG_JADD(cart, "id", sid ? json_object_new_string(json_object_get_string(sid)) : json_object_new_string(id));
    ENG_JADD(cart, "items", items);
    ENG_JADD(cart, "count", json_object_new_int64(count));
    ENG_JADD(cart, "subtotal", json_object_new_double(money2(subtotal)));
    bool known = false;
    const char *denied = NULL;
    const char *code = eng__json_str(sample, "promoCode", NULL);
    json_object *ds = eng__rules_cart(r, t, cart, code, &known, &denied);
    double off = 0;
    for (size_t i = 0; i < json_object_array_length(ds); i++)
        off += json_object_get_double(eng__json_path(json_object_array_get_idx(ds, i), "amount"));
    if (off > subtotal)
        off = subtotal;
    ENG_JADD(cart, "before", json_object_new_double(money2(before)));
    ENG_JADD(cart, "discounts", ds);
    ENG_JADD(cart, "total", json_object_new_double(money2(subtotal - off)));
    if (code)
        ENG_JADD(cart, "promoValid", json_object_new_boolean(known && !denied));
    if (denied)
        ENG_JADD(cart, "promoDenied", json_object_new_string(denied));
    return cart;
}

/* Ask the on() hooks about one action; a report entry either way. */
static void veto(const eng_rules *r, eng_turn *t, json_object *action, json_object *out)
{
    const char *hook = eng__json_str(action, "type", "");
    json_object *v = eng__rules_veto(r, t, hook, action);
    json_object *e = json_object_new_object();
    ENG_JADD(e, "action", action);
    if (v) {
        ENG_JADD(e, "denied", json_object_get(eng__json_path(v, "deny")));
        ENG_JADD(e, "ruleId", json_object_get(eng__json_path(v, "id")));
        if (eng__json_path(v, "failed"))
            ENG_JADD(e, "ruleFailed", json_object_new_boolean(1));
        json_object_put(v);
    }
    json_object_array_add(out, e);
}

static json_object *cart_action(const char *type, json_object *card, int64_t qty)
{
    json_object *a = json_object_new_object();
    ENG_JADD(a, "type", json_object_new_string(type));
    static const char *const keep[] = {"sku", "title", "price", "category", "brand", "stock", NULL};
    for (size_t i = 0; keep[i]; i++)
        json_object_object_add(a, keep[i], json_object_get(eng__json_path(card, keep[i])));
    ENG_JADD(a, "qty", json_object_new_int64(qty));
    ENG_JADD(a, "currentQty", json_object_new_int64(0));
    ENG_JADD(a, "newQty", json_object_new_int64(qty));
    return a;
}

/* Sample actions: a cart.add of 1 and of 11 units of the first product of
 * each category, a cart.set of 11, and an order.create per sample cart. */
static json_object *vetoes(const eng_rules *r, eng_turn *t, json_object *cards, json_object *carts)
{
    json_object *out = json_object_new_array();
    json_object *seen = json_object_new_object();
    /* ctx.cart, as the commerce core shows it to a veto: empty for the
     * sample adds, the sample cart for its order */
    json_object *empty = json_object_new_object();
    ENG_JADD(empty, "items", json_object_new_array());
    ENG_JADD(empty, "count", json_object_new_int(0));
    ENG_JADD(empty, "subtotal", json_object_new_double(0));
    ENG_JADD(empty, "total", json_object_new_double(0));
    ENG_JADD(t->ctx, "cart", empty);
    for (size_t i = 0; i < json_object_array_length(cards); i++) {
        json_object *c = json_object_array_get_idx(cards, i);
        const char *cat = eng__json_str(c, "category", "");
        if (json_object_object_get_ex(seen, cat, NULL))
            continue;
        json_object_object_add(seen, cat, NULL);
        veto(r, t, cart_action("cart.add", c, 1), out);
        if (i == 0) {
            veto(r, t, cart_action("cart.add", c, 11), out);
            veto(r, t, cart_action("cart.set", c, 11), out);
        }
    }
    json_object_put(seen);
    for (size_t i = 0; i < json_object_array_length(carts); i++) {
        json_object *cart = json_object_array_get_idx(carts, i);
        ENG_JADD(t->ctx, "cart", json_object_get(cart));
        json_object *a = json_object_new_object();
        ENG_JADD(a, "type", json_object_new_string("order.create"));
        static const char *const keep[] = {"id", "total", "subtotal", "discounts", "items", NULL};
        for (size_t k = 0; keep[k]; k++)
            json_object_object_add(a, strcmp(keep[k], "id") == 0 ? "cartId" : keep[k],
                                   json_object_get(eng__json_path(cart, keep[k])));
        veto(r, t, a, out);
    }
    json_object_object_del(t->ctx, "cart");
    return out;
}

int eng_rules_dry_run(const char *lua_file, struct store *s, const eng_dry_run_opts *o, json_object **report,
                      eng_diags *diags)
{
    *report = NULL;
    if (!lua_file || !s)
        return ENG_EINVAL;
    eng_dry_run_opts dflt = {0};
    if (!o)
        o = &dflt;
    eng_turn t = {0};
    if (!(t.pool = eng__pool_new(0)))
        return ENG_ENOMEM;
    eng_rules *r = NULL;
    int rc = eng__rules_load_file(t.pool, lua_file, &r, diags);
    if (rc < 0) {
        eng__pool_free(t.pool);
        return rc;
    }
    json_object *carts_in = NULL;
    if (o->carts_json) {
        carts_in = json_tokener_parse(o->carts_json);
        json_object *inner = eng__json_path(carts_in, "carts");
        if (inner)
            inner = json_object_get(inner);
        else if (json_object_is_type(carts_in, json_type_array))
            inner = json_object_get(carts_in);
        json_object_put(carts_in);
        carts_in = inner;
        if (!carts_in) {
            eng_diags_add(diags, ENG_DIAG_ERROR, "carts", 0, 0,
                          "sample carts must be JSON: {\"carts\": [{\"products\": [{\"sku\" or \"id\", \"quantity\"}]}]}");
            eng__pool_free(t.pool);
            return ENG_EINVAL;
        }
    }
    /* the context a rule sees: what the shopper's turn would carry */
    t.ctx = json_object_new_object();
    ENG_JADD(t.ctx, "sessionId", json_object_new_string("dry-run"));
    ENG_JADD(t.ctx, "vars", json_object_new_object());
    json_object *mem = o->memory_json ? json_tokener_parse(o->memory_json) : NULL;
    ENG_JADD(t.ctx, "memory", mem ? mem : json_object_new_object());
    /* generous: the whole catalog goes through in one call per hook */
    t.deadline_us = eng_now_us() + 30 * 1000000LL;

    json_object *rep = json_object_new_object();
    ENG_JADD(rep, "file", json_object_new_string(lua_file));
    json_object *cards = all_cards(s);
    ENG_JADD(rep, "products", json_object_new_int64((int64_t)json_object_array_length(cards)));
    ENG_JADD(rep, "prices", prices(r, &t, cards));
    json_object *rank = json_object_new_array();
    const char *const *qs = o->queries && o->n_queries ? o->queries : default_queries;
    size_t nq = o->queries && o->n_queries ? o->n_queries : sizeof default_queries / sizeof *default_queries - 1;
    for (size_t i = 0; i < nq; i++) {
        json_object *x = ranking(r, &t, s, qs[i], "search");
        if (x)
            json_object_array_add(rank, x);
    }
    json_object *x = ranking(r, &t, s, "", "recommend");
    if (x)
        json_object_array_add(rank, x);
    ENG_JADD(rep, "ranking", rank);
    json_object *carts = json_object_new_array();
    for (size_t i = 0; carts_in && i < json_object_array_length(carts_in); i++)
        json_object_array_add(carts, cart_of(r, &t, s, json_object_array_get_idx(carts_in, i), i));
    ENG_JADD(rep, "carts", carts);
    ENG_JADD(rep, "vetoes", vetoes(r, &t, cards, carts));
    json_object *errs = eng__json_path(t.ctx, "vars.ruleErrors");
    ENG_JADD(rep, "ruleErrors", errs ? json_object_get(errs) : json_object_new_array());
    json_object_put(cards);
    json_object_put(carts_in);
    json_object_put(t.ctx);
    eng__pool_free(t.pool);
    *report = rep;
    return 0;
}
