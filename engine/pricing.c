/* engine/pricing.c — the rules' prices and vetoes outside a chat turn, so
 * that the REST channel (catalog, cart, checkout) shows and charges what
 * the chat does. Each call builds a turn frame (pool and context, never
 * run) and asks the same rule code the agents use. */
#include "commerce.h"

int eng_price_products(eng_pipeline *p, const eng_turn_opts *o, json_object *products, eng_err *err)
{
    eng_turn *t = NULL;
    int rc = eng__turn_new(p, "", o, &t, err);
    if (rc < 0)
        return rc;
    eng__shop_price(t, products);
    eng_turn_free(t);
    return 0;
}

int eng_cart_priced(eng_pipeline *p, const eng_turn_opts *o, json_object **out, eng_err *err)
{
    *out = NULL;
    if (!o || !o->deps || !o->deps->store)
        return eng_err_set(err, ENG_EINVAL, "a priced cart needs a store");
    eng_turn *t = NULL;
    int rc = eng__turn_new(p, "", o, &t, err);
    if (rc < 0)
        return rc;
    rc = eng__cart_refresh(t);
    if (rc == 0)
        *out = json_object_get(eng__json_path(t->ctx, "cart"));
    else
        eng_err_set(err, ENG_EIO, "%s", t->note[0] ? t->note : "the cart is not available");
    eng_turn_free(t);
    return rc < 0 ? ENG_EIO : 0;
}

int eng_rules_veto(eng_pipeline *p, const eng_turn_opts *o, const char *hook, json_object *action,
                   json_object **veto, eng_err *err)
{
    *veto = NULL;
    eng_turn *t = NULL;
    int rc = eng__turn_new(p, "", o, &t, err);
    if (rc < 0)
        return rc;
    *veto = eng__shop_veto(t, hook, action);
    eng_turn_free(t);
    return 0;
}
