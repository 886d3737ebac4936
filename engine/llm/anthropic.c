/* engine/llm/anthropic.c — the Anthropic Messages wire format: x-api-key
 * and anthropic-version headers, a top-level `system`, `content` blocks in
 * the answer and typed events (content_block_delta, message_stop, error). */
#include "llm_int.h"
#include <string.h>

static struct curl_slist *an_headers(const eng_llm *l, struct curl_slist *h)
{
    eng_buf b;
    eng__buf_init(&b);
    eng__buf_printf(&b, "x-api-key: %s", l->api_key ? l->api_key : "");
    struct curl_slist *n = b.oom ? NULL : curl_slist_append(h, b.data);
    if (b.data)
        memset(b.data, 0, b.cap);   /* it held the key */
    eng__buf_free(&b);
    if (n)
        n = curl_slist_append(n, "anthropic-version: 2023-06-01");
    return n;
}

static bool an_body(const eng_llm *l, const char *system, const eng_llm_msg *m, size_t n,
                    bool stream, eng_buf *out)
{
    json_object *root = json_object_new_object();
    json_object *msgs = eng__llm_json_messages(NULL, m, n);
    if (!root || !msgs) {
        json_object_put(root);
        json_object_put(msgs);
        return false;
    }
    json_object_object_add(root, "model", json_object_new_string(l->model));
    if (system)
        json_object_object_add(root, "system", json_object_new_string(system));
    json_object_object_add(root, "messages", msgs);
    json_object_object_add(root, "max_tokens", json_object_new_int(l->max_tokens));
    json_object_object_add(root, "temperature", json_object_new_double(l->temperature));
    json_object_object_add(root, "stream", json_object_new_boolean(stream));
    eng__buf_adds(out, json_object_to_json_string_ext(
                           root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(root);
    return !out->oom;
}

static bool an_answer(json_object *root, eng_buf *text, const char **why)
{
    json_object *content;
    if (!json_object_object_get_ex(root, "content", &content) ||
        !json_object_is_type(content, json_type_array)) {
        *why = "no content array in the answer";
        return false;
    }
    /* content[0] is the text in practice; joining every text block also
     * covers answers that put a tool or thinking block first */
    bool any = false;
    size_t n = json_object_array_length(content);
    for (size_t i = 0; i < n; i++) {
        json_object *blk = json_object_array_get_idx(content, i), *t;
        if (strcmp(eng__json_str(blk, "type", ""), "text") != 0 ||
            !json_object_object_get_ex(blk, "text", &t) ||
            !json_object_is_type(t, json_type_string))
            continue;
        eng__buf_add(text, json_object_get_string(t), (size_t)json_object_get_string_len(t));
        any = true;
    }
    if (!any)
        *why = "no content[].text in the answer";
    return any;
}

static llm_ev an_event(const char *event, const char *data, size_t len, eng_buf *text)
{
    json_object *root = json_tokener_parse(data);
    if (!root || !json_object_is_type(root, json_type_object)) {
        json_object_put(root);
        return LLM_EV_BAD;
    }
    /* the data's own "type" is authoritative; the event line repeats it */
    const char *type = eng__json_str(root, "type", event);
    llm_ev ev = LLM_EV_NONE;
    if (strcmp(type, "content_block_delta") == 0) {
        json_object *d, *t;
        if (!json_object_object_get_ex(root, "delta", &d)) {
            ev = LLM_EV_BAD;
        } else if (strcmp(eng__json_str(d, "type", ""), "text_delta") == 0) {
            if (!json_object_object_get_ex(d, "text", &t) ||
                !json_object_is_type(t, json_type_string)) {
                ev = LLM_EV_BAD;
            } else if (json_object_get_string_len(t) > 0) {
                eng__buf_add(text, json_object_get_string(t),
                             (size_t)json_object_get_string_len(t));
                ev = LLM_EV_DELTA;
            }
        }   /* input_json_delta, thinking_delta: not text for the shopper */
    } else if (strcmp(type, "message_stop") == 0) {
        ev = LLM_EV_DONE;
    } else if (strcmp(type, "error") == 0) {
        if (!eng__llm_error_text(data, len, text))
            eng__buf_adds(text, "error event without a message");
        ev = LLM_EV_ERROR;
    }
    json_object_put(root);
    return ev;
}

const llm_wire eng__llm_anthropic = {
    .name = "anthropic",
    .path = "/messages",
    .default_base = "https://api.anthropic.com/v1",
    .default_model = "claude-3-5-haiku-latest",
    .headers = an_headers,
    .body = an_body,
    .answer = an_answer,
    .event = an_event,
};
