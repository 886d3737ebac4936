/* stores/store_util.c — what every part of stores/ shares and that needs
 * nothing of the entry point (store.c): errors, strings, JSON checks, the
 * clock, and freeing the structs the API hands out. The backends call
 * these, never store.c, so the entry point and the backends it opens do
 * not call each other. */
#include "store_int.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

int store__fail(store_err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

char *store__strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

int store__check_json(const char *json, const char *what, store_err *err)
{
    json_object *v;
    if (!strcmp(json, "null") || store__json_plain(json))
        return 0;
    if (!(v = json_tokener_parse(json)))
        return store__fail(err, STORE_EINVAL, "%s is not valid JSON", what);
    json_object_put(v);
    return 0;
}

json_object *store__json_or_string(const char *t)
{
    json_object *v = t ? json_tokener_parse(t) : NULL;
    if (!v && t && strcmp(t, "null") != 0)
        v = json_object_new_string(t);
    return v;
}

int64_t store_now_ms(const store *s)
{
    struct timeval tv;
    if (s && s->cfg.clock)
        return s->cfg.clock(s->cfg.clock_ud);
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

void store_order_clear(store_order *o)
{
    if (o) {
        free(o->lines);
        free(o->pricing_json);
        free(o->refund_json);
        o->lines = NULL;
        o->pricing_json = NULL;
        o->refund_json = NULL;
        o->n_lines = 0;
    }
}

void store_order_list_free(store_order *orders, size_t n)
{
    for (size_t i = 0; i < n; i++)
        store_order_clear(&orders[i]);
    free(orders);
}

void store_cart_clear_struct(store_cart *c)
{
    if (c) {
        free(c->items);
        memset(c, 0, sizeof *c);
    }
}
