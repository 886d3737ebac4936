/* stores/effects.c — the backend-neutral pieces of exactly-once effects:
 * checking an audit record before a transaction starts, adding the order
 * id to its detail, and the small JSON document in which a keyed cart
 * change keeps its first outcome.  Every backend stores the same shapes. */
#include "store_int.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

int store__audit_check(const store_audit_rec *a, store_err *err)
{
    json_object *v;
    if (!a)
        return 0;
    if (!a->actor || !*a->actor || !a->action || !*a->action)
        return store__fail(err, STORE_EINVAL, "audit record needs an actor and an action");
    if (!a->detail_json || !strcmp(a->detail_json, "null") || store__json_plain(a->detail_json))
        return 0;
    if (!(v = json_tokener_parse(a->detail_json)))
        return store__fail(err, STORE_EINVAL, "audit detail is not valid JSON");
    json_object_put(v);
    return 0;
}

int store__audit_detail_with(const char *detail, const char *name, int64_t val,
                             char **out, store_err *err)
{
    json_object *o = detail && strcmp(detail, "null") ? json_tokener_parse(detail)
                                                      : json_object_new_object();
    *out = NULL;
    if (!o || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return store__fail(err, STORE_EINVAL, "audit detail must be a JSON object"
                           " (the store adds \"%s\" to it)", name);
    }
    json_object_object_add(o, name, json_object_new_int64(val));
    *out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return *out ? 0 : store__fail(err, STORE_ENOMEM, "out of memory");
}

int store__cart_outcome_json(const store_cart_outcome *o, char **out,
                             store_err *err)
{
    json_object *j = json_object_new_object();
    json_object_object_add(j, "qty", json_object_new_int64(o->qty));
    json_object_object_add(j, "stock", json_object_new_int64(o->stock));
    *out = strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
    json_object_put(j);
    return *out ? 0 : store__fail(err, STORE_ENOMEM, "out of memory");
}

int store__cart_outcome_parse(const char *json, store_cart_outcome *o,
                              store_err *err)
{
    json_object *j = json ? json_tokener_parse(json) : NULL, *v;
    if (!j || !json_object_is_type(j, json_type_object)) {
        json_object_put(j);
        return store__fail(err, STORE_EIO, "kept cart outcome is damaged");
    }
    o->qty = json_object_object_get_ex(j, "qty", &v) ? json_object_get_int64(v) : 0;
    o->stock = json_object_object_get_ex(j, "stock", &v) ? json_object_get_int64(v) : 0;
    json_object_put(j);
    return 0;
}
