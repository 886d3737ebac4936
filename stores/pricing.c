/* stores/pricing.c — the pricing agreed at checkout, as the engine sends
 * it ({"total", "items": [{"sku", "finalPrice"}]}), parsed once so that
 * every backend stores order lines at the prices the shopper saw. */
#include "store_int.h"
#include <json-c/json.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int store__pricing_parse(const char *json, store__pricing *p, store_err *err)
{
    memset(p, 0, sizeof *p);
    p->total = -1;
    if (!json)
        return 0;
    json_object *o = json_tokener_parse(json), *v, *items;
    if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, "total", &v) ||
        !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int))) {
        json_object_put(o);
        return store__fail(err, STORE_EINVAL, "pricing: a JSON object with a numeric \"total\" is needed");
    }
    p->total = json_object_get_double(v);
    if (!isfinite(p->total) || p->total < 0) {
        json_object_put(o);
        return store__fail(err, STORE_EINVAL, "pricing: total must be a number >= 0");
    }
    /* delivery is charged on top of the goods: {"delivery": {"price": D}} */
    json_object *dl, *dp;
    if (json_object_object_get_ex(o, "delivery", &dl) && json_object_object_get_ex(dl, "price", &dp)) {
        p->delivery = json_object_get_double(dp);
        if (!isfinite(p->delivery) || p->delivery < 0 || p->delivery > p->total) {
            json_object_put(o);
            return store__fail(err, STORE_EINVAL, "pricing: delivery.price must be a number from 0 to the total");
        }
    }
    if (json_object_object_get_ex(o, "items", &items) && json_object_is_type(items, json_type_array)) {
        size_t n = json_object_array_length(items);
        p->lines = calloc(n ? n : 1, sizeof *p->lines);
        if (!p->lines) {
            json_object_put(o);
            return store__fail(err, STORE_ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < n; i++) {
            json_object *it = json_object_array_get_idx(items, i), *sku, *fp, *q;
            if (!json_object_object_get_ex(it, "sku", &sku) || !json_object_object_get_ex(it, "finalPrice", &fp))
                continue;
            double u = json_object_get_double(fp);
            if (!isfinite(u) || u < 0)
                continue;
            snprintf(p->lines[p->n].sku, sizeof p->lines[p->n].sku, "%s", json_object_get_string(sku));
            p->lines[p->n].qty = json_object_object_get_ex(it, "qty", &q) && json_object_is_type(q, json_type_int)
                                     ? json_object_get_int64(q) : 0;
            p->lines[p->n++].unit = u;
        }
    }
    json_object_put(o);
    return 0;
}

double store__pricing_unit(const store__pricing *p, const char *sku, double dflt)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->lines[i].sku, sku) == 0)
            return p->lines[i].unit;
    return dflt;
}

int store__pricing_check(const store__pricing *p, double subtotal, store_err *err)
{
    /* promotions lower prices; a checkout never charges above the catalog
     * (plus the delivery the shopper chose) */
    if (p->total >= 0 && p->total - p->delivery > subtotal + 0.005)
        return store__fail(err, STORE_EINVAL, "pricing: total %.2f is above the catalog subtotal %.2f"
                           " plus delivery %.2f", p->total, subtotal, p->delivery);
    return 0;
}

int store__pricing_match(const store__pricing *p, const store_cart *c, store_err *err)
{
    bool qtys = false;
    for (size_t i = 0; i < p->n; i++)
        qtys |= p->lines[i].qty > 0;
    if (p->total < 0 || !qtys)
        return 0;
    bool same = p->n == c->n_items;
    for (size_t i = 0; same && i < c->n_items; i++) {
        bool found = false;
        for (size_t k = 0; k < p->n && !found; k++)
            found = strcmp(p->lines[k].sku, c->items[i].sku) == 0 && p->lines[k].qty == c->items[i].qty;
        same = found;
    }
    if (!same)
        return store__fail(err, STORE_ESTATE, "the cart changed after it was priced: price it again");
    return 0;
}

void store__pricing_free(store__pricing *p)
{
    free(p->lines);
    memset(p, 0, sizeof *p);
}
