/* engine/llm/openai.c — the OpenAI Chat Completions wire format (also what
 * most "OpenAI-compatible" servers speak): request body, headers, the
 * non-streamed answer and the streamed `data: {chunk}` / `data: [DONE]`. */
#include "llm_int.h"
#include <string.h>

static struct curl_slist *oa_headers(const eng_llm *l, struct curl_slist *h)
{
    eng_buf b;
    eng__buf_init(&b);
    eng__buf_printf(&b, "Authorization: Bearer %s", l->api_key ? l->api_key : "");
    struct curl_slist *n = b.oom ? NULL : curl_slist_append(h, b.data);
    /* the header held the key: wipe our copy before giving the memory back */
    if (b.data)
        memset(b.data, 0, b.cap);
    eng__buf_free(&b);
    return n;
}

static bool oa_body(const eng_llm *l, const char *system, const eng_llm_msg *m, size_t n,
                    bool stream, eng_buf *out)
{
    json_object *root = json_object_new_object();
    /* OpenAI carries the system prompt as the first message */
    json_object *msgs = eng__llm_json_messages(system, m, n);
    if (!root || !msgs) {
        json_object_put(root);
        json_object_put(msgs);
        return false;
    }
    json_object_object_add(root, "model", json_object_new_string(l->model));
    json_object_object_add(root, "messages", msgs);
    json_object_object_add(root, "temperature", json_object_new_double(l->temperature));
    json_object_object_add(root, "max_tokens", json_object_new_int(l->max_tokens));
    json_object_object_add(root, "stream", json_object_new_boolean(stream));
    eng__buf_adds(out, json_object_to_json_string_ext(
                           root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(root);
    return !out->oom;
}

/* choices[0] of an answer or a chunk, NULL when absent */
static json_object *first_choice(json_object *root)
{
    json_object *ch;
    if (!json_object_object_get_ex(root, "choices", &ch) ||
        !json_object_is_type(ch, json_type_array) || json_object_array_length(ch) == 0)
        return NULL;
    return json_object_array_get_idx(ch, 0);
}

static bool oa_answer(json_object *root, eng_buf *text, const char **why)
{
    json_object *c = first_choice(root), *msg, *content;
    if (!c) {
        *why = "no choices[0] in the answer";
        return false;
    }
    if (!json_object_object_get_ex(c, "message", &msg) ||
        !json_object_object_get_ex(msg, "content", &content) ||
        !json_object_is_type(content, json_type_string)) {
        *why = "no choices[0].message.content in the answer";
        return false;
    }
    eng__buf_add(text, json_object_get_string(content),
                 (size_t)json_object_get_string_len(content));
    return true;
}

static llm_ev oa_event(const char *event, const char *data, size_t len, eng_buf *text)
{
    (void)event;   /* OpenAI streams unnamed events */
    if (len == 6 && memcmp(data, "[DONE]", 6) == 0)
        return LLM_EV_DONE;
    json_object *root = json_tokener_parse(data);
    if (!root || !json_object_is_type(root, json_type_object)) {
        json_object_put(root);
        return LLM_EV_BAD;
    }
    llm_ev ev = LLM_EV_NONE;
    json_object *c = first_choice(root), *delta, *content;
    if (json_object_object_get_ex(root, "error", NULL)) {
        /* compatible servers report mid-stream failures this way */
        if (!eng__llm_error_text(data, len, text))
            eng__buf_adds(text, "error event without a message");
        ev = LLM_EV_ERROR;
    } else if (c && json_object_object_get_ex(c, "delta", &delta) &&
               json_object_object_get_ex(delta, "content", &content) &&
               json_object_is_type(content, json_type_string)) {
        int n = json_object_get_string_len(content);
        if (n > 0) {
            eng__buf_add(text, json_object_get_string(content), (size_t)n);
            ev = LLM_EV_DELTA;
        }
    } else if (!json_object_object_get_ex(root, "choices", NULL)) {
        ev = LLM_EV_BAD;
    }
    /* chunks with only a role, a finish_reason or usage carry no text */
    json_object_put(root);
    return ev;
}

const llm_wire eng__llm_openai = {
    .name = "openai",
    .path = "/chat/completions",
    .default_base = "https://api.openai.com/v1",
    .default_model = "gpt-4o-mini",
    .headers = oa_headers,
    .body = oa_body,
    .answer = oa_answer,
    .event = oa_event,
};
