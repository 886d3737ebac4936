/* engine/turn_products.c — the products a turn has read, kept for the
 * rest of the turn. An "add it to my cart" turn reads its product four
 * times (the agent's focus, its proposal, the cart change, the cart's
 * line), each read about 22,800 instructions; the later ones take a copy
 * of the first (store_product_copy, about 2,000).
 *
 * What a copy can miss: a change another process commits to the product
 * while the turn runs, which the turn then shows as it would had that
 * change come a moment later (its next turn reads the store again: the
 * copies live and die with the turn's pool). The turn's own writes that
 * change products (an order placed or cancelled changes stock) drop
 * every copy: engine/shop.c calls eng__products_forget after
 * store_order_place and store_order_cancel_refund, the only such writes a
 * turn makes. Only products found are kept, by the sku as asked, at most
 * TURN_PRODUCTS_MAX; a read that fails is not kept and fails again. */
#include "commerce_int.h"
#include <stdlib.h>
#include <string.h>

#define TURN_PRODUCTS_MAX 8

struct eng_turn_products {
    size_t n;
    struct {
        char *sku;          /* as asked */
        store_product p;
    } e[TURN_PRODUCTS_MAX];
};

static void forget(struct eng_turn_products *tp)
{
    for (size_t i = 0; i < tp->n; i++) {
        free(tp->e[i].sku);
        store_product_clear(&tp->e[i].p);
    }
    tp->n = 0;
}

static void on_pool_free(void *arg) { forget(arg); }

int eng__product_get(eng_turn *t, const char *sku, store_product *out, store_err *err)
{
    struct eng_turn_products *tp = t->products;
    if (tp && sku)
        for (size_t i = 0; i < tp->n; i++)
            if (strcmp(tp->e[i].sku, sku) == 0) {
                if (store_product_copy(out, &tp->e[i].p) == 0)
                    return 0;
                break;   /* out of memory: read as before */
            }
    int rc = store_product_get(eng__store(t), sku, out, err);
    if (rc != 0)
        return rc;
    if (!tp) {
        tp = eng__pool_alloc(t->pool, sizeof *tp);
        if (!tp || eng__pool_cleanup(t->pool, on_pool_free, tp) != 0)
            return rc;   /* nothing kept: the next read goes to the store */
        t->products = tp;
    }
    if (tp->n < TURN_PRODUCTS_MAX) {
        char *k = strdup(sku);
        if (k && store_product_copy(&tp->e[tp->n].p, out) == 0)
            tp->e[tp->n++].sku = k;
        else
            free(k);
    }
    return rc;
}

void eng__products_forget(eng_turn *t)
{
    if (t->products)
        forget(t->products);
}
