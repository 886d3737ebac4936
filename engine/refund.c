/* engine/refund.c — the money a cancelled order owes back, given back
 * exactly once.  The cancel writes the debt ("refund": {"status":
 * "pending", amount, reference of the charge, provider, last4}) in the
 * same store transaction as the status flip (store_order_cancel_refund);
 * settling it is then a separate step that any request, instance or
 * restart may run:
 *   - the step holds the store lease "refund:<order>" (store_once_begin,
 *     as the checkout's key and the ACP outbox's deliveries), so one
 *     caller at a time asks the provider;
 *   - under the lease it re-reads the order and refunds only a record
 *     still "pending", then marks it "refunded" with a conditional write
 *     (store_order_refund_set, only while pending) and finishes the key;
 *   - a provider that fails leaves the record pending and the lease
 *     released: the next cancel request of the order, the gateway's
 *     sweeper (every few seconds, and at startup) tries again.
 * What stays unprotected: a crash after the provider refunded and before
 * the record says so.  The lease runs out and the next try asks again,
 * for the same charge reference and its full amount: a provider refunds a
 * charge once (a second full refund of it is refused, and the test
 * provider moves no money), so the shopper is never paid twice. */
#include "commerce_int.h"
#include "checkout_int.h"
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LEASE_MS 60000
#define DONE_TTL_S (30 * 86400)

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

json_object *eng__refund_owed(const store_order *o)
{
    json_object *pr = o->pricing_json ? json_tokener_parse(o->pricing_json) : NULL;
    json_object *pay = pr ? json_object_object_get(pr, "payment") : NULL;
    const char *ref = eng__json_str(pay, "reference", "");
    const char *status = eng__json_str(pay, "status", "");
    double amount = json_object_get_double(json_object_object_get(pay, "amount"));
    json_object *r = NULL;
    if (pay && strcmp(status, "paid") == 0 && *ref && amount > 0) {
        r = json_object_new_object();
        ENG_JADD(r, "status", json_object_new_string("pending"));
        ENG_JADD(r, "amount", json_object_new_double(amount));
        ENG_JADD(r, "currency", json_object_get(json_object_object_get(pr, "currency")));
        ENG_JADD(r, "reference", json_object_new_string(ref));
        ENG_JADD(r, "provider", json_object_new_string(eng__json_str(pay, "provider", "test")));
        ENG_JADD(r, "brand", json_object_new_string(eng__json_str(pay, "brand", "card")));
        ENG_JADD(r, "last4", json_object_new_string(eng__json_str(pay, "last4", "")));
        ENG_JADD(r, "owedAt", json_object_new_int64(now_ms()));
    }
    json_object_put(pr);
    return r;
}

int eng__refund_settle(store *s, int64_t order_id)
{
    char key[48], *res = NULL;
    snprintf(key, sizeof key, "refund:%" PRId64, order_id);
    store_err e = {0};
    int rc = store_once_begin(s, key, LEASE_MS, &res, &e);
    free(res);
    if (rc == STORE_EEXIST)
        return 0;                 /* settled before */
    if (rc == STORE_EBUSY)
        return 1;                 /* another caller is settling it now */
    if (rc < 0)
        return ENG_EIO;
    store_order o = {0};
    if (store_order_get(s, order_id, &o, &e) < 0) {
        store_once_abort(s, key, &e);
        return ENG_EIO;
    }
    json_object *r = o.refund_json ? json_tokener_parse(o.refund_json) : NULL;
    store_order_clear(&o);
    if (!r || strcmp(eng__json_str(r, "status", ""), "pending") != 0) {
        /* nothing owed, or settled by someone whose finish was lost */
        json_object_put(r);
        store_once_finish(s, key, "settled", DONE_TTL_S, &e);
        return 0;
    }
    const eng_pay_provider *prov = eng_pay_find(eng__json_str(r, "provider", "test"));
    int64_t cents = llround(json_object_get_double(json_object_object_get(r, "amount")) * 100);
    int prc = prov ? eng__pay_refund(prov, eng__json_str(r, "reference", ""), cents) : ENG_ENOTFOUND;
    if (prc < 0) {
        /* still owed: the next request or the sweeper tries again */
        json_object_put(r);
        store_once_abort(s, key, &e);
        return prc;
    }
    eng__pay_count_cancel_refund();
    ENG_JADD(r, "status", json_object_new_string("refunded"));
    ENG_JADD(r, "at", json_object_new_int64(now_ms()));
    const char *js = json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN);
    int src = STORE_EIO;
    for (int i = 0; i < 5 && src < 0 && src != STORE_ESTATE && src != STORE_ENOTFOUND; i++) {
        if (i) {
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        src = store_order_refund_set(s, order_id, js, &e);
    }
    json_object_put(r);
    if (src < 0 && src != STORE_ESTATE)
        return ENG_EIO;   /* the lease stays: it runs out, then the record is settled again */
    store_once_finish(s, key, "refunded", DONE_TTL_S, &e);
    return 0;
}

int eng_shop_refunds_settle(store *s, size_t *settled, size_t *pending)
{
    size_t ok = 0, left = 0;
    int64_t *ids = NULL;
    size_t n = 0;
    store_err e = {0};
    if (!s)
        return ENG_EINVAL;
    if (store_order_refunds_pending(s, 100, &ids, &n, &e) < 0)
        return ENG_EIO;
    for (size_t i = 0; i < n; i++) {
        if (eng__refund_settle(s, ids[i]) == 0)
            ok++;
        else
            left++;
    }
    free(ids);
    if (settled)
        *settled = ok;
    if (pending)
        *pending = left;
    return 0;
}
