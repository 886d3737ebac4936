/* gateway/refunds.c — the sweeper that gives back what cancelled orders
 * still owe: at startup (a crash between a cancel and its refund) and
 * every few seconds (a provider that did not answer).  Mapping only: the
 * commerce core's eng_shop_refunds_settle holds the lease and decides;
 * every instance may run it, the store lease lets one at a time refund. */
#include "gw_int.h"
#include <stdlib.h>
#include <string.h>

#define EVERY_MS 5000

static void sweep(gw_server *s)
{
    size_t done = 0, left = 0;
    if (eng_shop_refunds_settle(s->st, &done, &left) < 0) {
        gw__log("warn", "refunds_unavailable", NULL);
        return;
    }
    if (done || left) {
        json_object *f = json_object_new_object();
        json_object_object_add(f, "refunded", json_object_new_int64((int64_t)done));
        json_object_object_add(f, "pending", json_object_new_int64((int64_t)left));
        gw__log(left ? "warn" : "info", "refunds_settled", f);
        json_object_put(f);
    }
}

static void tick(void *arg) { sweep(arg); }

int gw__refunds_start(gw_server *s)
{
    if (!s->st)
        return 0;
    long every = EVERY_MS;
    const char *th = getenv("AISLE_TEST_HOOKS"), *e = getenv("AISLE_TEST_REFUND_SWEEP_MS");
    if (th && strcmp(th, "1") == 0 && e && strtol(e, NULL, 10) > 0)
        every = strtol(e, NULL, 10);
    s->refunds = gw__ticker_start(tick, s, every);
    return s->refunds ? 0 : -1;
}

void gw__refunds_stop(gw_server *s)
{
    gw__ticker_stop(s->refunds);
    s->refunds = NULL;
}
