/* engine/llmstage.c — what the LLM-backed stage options share: the time
 * an LLM call may take inside the turn's deadline, recording a fallback
 * in the context and the trace, and pulling a JSON object out of a
 * model's answer (which may wrap it in prose or code fences). */
#include "llmstage_int.h"
#include <string.h>

int64_t eng__llm_deadline(const eng_turn *t, long timeout_ms, long reserve_ms)
{
    int64_t now = eng_now_us();
    int64_t d = now + (int64_t)timeout_ms * 1000;
    int64_t cap = t->deadline_us - (int64_t)reserve_ms * 1000;
    return d < cap ? d : cap;
}

eng_llm *eng__turn_llm(const eng_turn *t)
{
    return t->opts && t->opts->deps ? t->opts->deps->llm : NULL;
}

void eng__fallback(eng_turn *t, const char *stage, const char *reason)
{
    json_object *fb = eng__json_path(t->ctx, "fallbacks");
    if (!fb) {
        fb = json_object_new_array();
        ENG_JADD(t->ctx, "fallbacks", fb);
    }
    json_object *e = json_object_new_object();
    ENG_JADD(e, "stage", json_object_new_string(stage));
    ENG_JADD(e, "kind", json_object_new_string("llm"));
    ENG_JADD(e, "reason", json_object_new_string(reason));
    json_object_array_add(fb, e);
}

json_object *eng__json_in_text(const char *s)
{
    const char *a = strchr(s, '{'), *b = strrchr(s, '}');
    if (!a || !b || b < a)
        return NULL;
    json_tokener *tok = json_tokener_new_ex(8);
    if (!tok)
        return NULL;
    json_object *o = json_tokener_parse_ex(tok, a, (int)(b - a + 1));
    if (json_tokener_get_error(tok) != json_tokener_success || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}
