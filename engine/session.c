/* engine/session.c — carries a conversation's state between turns
 * through the session store: load it before a turn, save the turn's
 * `session` and a summary of the turn after. Channels (the gateway, the
 * terminal chat) call these; the engine itself keeps nothing. */
#include "eng_int.h"
#include "stores/store.h"
#include <stdlib.h>

int eng_session_load(struct store *s, const char *sid, json_object **out, eng_err *err)
{
    *out = NULL;
    char *js = NULL;
    store_err se = {0};
    int rc = store_session_get(s, sid, &js, &se);
    if (rc == STORE_ENOTFOUND || (rc == 0 && !js)) {
        *out = json_object_new_object();
        return *out ? 0 : eng_err_set(err, ENG_ENOMEM, "out of memory");
    }
    if (rc < 0)
        return eng_err_set(err, ENG_EIO, "session store: %s", se.msg);
    json_object *o = json_tokener_parse(js);
    free(js);
    if (!o || !json_object_is_type(o, json_type_object)) {
        /* a damaged session is a fresh start, not an outage */
        json_object_put(o);
        o = json_object_new_object();
    }
    *out = o;
    return o ? 0 : eng_err_set(err, ENG_ENOMEM, "out of memory");
}

int eng_session_save(struct store *s, const char *sid, const eng_turn *t, int ttl_s, eng_err *err)
{
    json_object *ctx = eng_turn_context(t);
    json_object *sess = eng__json_path(ctx, "session");
    if (!sess)
        return 0;
    /* count turns so that derived message ids differ between turns */
    json_object_object_add(sess, "turns",
                           json_object_new_int64(json_object_get_int64(eng__json_path(sess, "turns")) + 1));
    store_err se = {0};
    if (store_session_put(s, sid, json_object_to_json_string_ext(sess, JSON_C_TO_STRING_PLAIN), ttl_s, &se) < 0)
        return eng_err_set(err, ENG_EIO, "session store: %s", se.msg);
    json_object *turn = json_object_new_object();
    json_object_object_add(turn, "messageId", json_object_get(eng__json_path(ctx, "message.id")));
    json_object_object_add(turn, "text", json_object_get(eng__json_path(ctx, "message.text")));
    json_object_object_add(turn, "intent", json_object_get(eng__json_path(ctx, "intent.name")));
    json_object_object_add(turn, "route", json_object_get(eng__json_path(ctx, "route")));
    json_object_object_add(turn, "reply", json_object_get(eng__json_path(ctx, "reply.text")));
    int rc = store_session_append_turn(s, sid, json_object_to_json_string_ext(turn, JSON_C_TO_STRING_PLAIN), &se);
    json_object_put(turn);
    if (rc < 0)
        return eng_err_set(err, ENG_EIO, "session store: %s", se.msg);
    return 0;
}
