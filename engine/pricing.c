/* engine/pricing.c — the priced cart for callers that hold turn options
 * rather than an eng_shopper (the conversation driver's reply object):
 * the same eng__cart_refresh the commerce core (shop.c) uses, in a turn
 * frame (pool and context, never run). */
#include "commerce.h"

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
