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
    return eng__llm_body_finish(l, root, stream, out);
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


/* ------------------------------------------------------------ tool loop
 * The neutral conversation (eng.h, eng_llm_tool_chat) as Chat Completions
 * messages: assistant tool_calls with their arguments as a JSON string,
 * one {"role":"tool"} message per result. */
static json_object *oa_message(json_object *m)
{
    const char *role = eng__json_str(m, "role", "user");
    json_object *o = json_object_new_object(), *calls;
    if (strcmp(role, "tool") == 0) {
        json_object_object_add(o, "role", json_object_new_string("tool"));
        json_object_object_add(o, "tool_call_id", json_object_new_string(eng__json_str(m, "id", "")));
        json_object_object_add(o, "content", json_object_new_string(eng__json_str(m, "content", "")));
        return o;
    }
    json_object_object_add(o, "role", json_object_new_string(role));
    const char *text = eng__json_str(m, "content", "");
    bool has_calls = json_object_object_get_ex(m, "calls", &calls) && json_object_array_length(calls) > 0;
    /* an assistant message that only calls tools has null content */
    json_object_object_add(o, "content", has_calls && !*text ? NULL : json_object_new_string(text));
    if (!has_calls)
        return o;
    json_object *tc = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(calls); i++) {
        json_object *c = json_object_array_get_idx(calls, i), *f = json_object_new_object(), *e = json_object_new_object();
        json_object *args;
        json_object_object_add(f, "name", json_object_new_string(eng__json_str(c, "name", "")));
        json_object_object_add(f, "arguments",
                               json_object_new_string(json_object_object_get_ex(c, "arguments", &args)
                                                          ? json_object_to_json_string_ext(args, JSON_C_TO_STRING_PLAIN)
                                                          : eng__json_str(c, "raw", "{}")));
        json_object_object_add(e, "id", json_object_new_string(eng__json_str(c, "id", "")));
        json_object_object_add(e, "type", json_object_new_string("function"));
        json_object_object_add(e, "function", f);
        json_object_array_add(tc, e);
    }
    json_object_object_add(o, "tool_calls", tc);
    return o;
}

static bool oa_tool_body(const eng_llm *l, const char *system, json_object *conv, json_object *tools, bool no_tools,
                         bool stream, eng_buf *out)
{
    json_object *root = json_object_new_object(), *msgs = json_object_new_array();
    if (!root || !msgs) {
        json_object_put(root);
        json_object_put(msgs);
        return false;
    }
    if (system) {
        json_object *sm = json_object_new_object();
        json_object_object_add(sm, "role", json_object_new_string("system"));
        json_object_object_add(sm, "content", json_object_new_string(system));
        json_object_array_add(msgs, sm);
    }
    for (size_t i = 0; i < json_object_array_length(conv); i++)
        json_object_array_add(msgs, oa_message(json_object_array_get_idx(conv, i)));
    json_object_object_add(root, "model", json_object_new_string(l->model));
    json_object_object_add(root, "messages", msgs);
    if (tools && json_object_array_length(tools)) {
        json_object *ts = json_object_new_array();
        for (size_t i = 0; i < json_object_array_length(tools); i++) {
            json_object *t = json_object_array_get_idx(tools, i), *f = json_object_new_object(), *e = json_object_new_object();
            json_object_object_add(f, "name", json_object_get(json_object_object_get(t, "name")));
            json_object_object_add(f, "description", json_object_get(json_object_object_get(t, "description")));
            json_object_object_add(f, "parameters", json_object_get(json_object_object_get(t, "parameters")));
            json_object_object_add(e, "type", json_object_new_string("function"));
            json_object_object_add(e, "function", f);
            json_object_array_add(ts, e);
        }
        json_object_object_add(root, "tools", ts);
        json_object_object_add(root, "tool_choice", json_object_new_string(no_tools ? "none" : "auto"));
    }
    if (stream) {   /* the token counts come in a last chunk only when asked for */
        json_object *so = json_object_new_object();
        json_object_object_add(so, "include_usage", json_object_new_boolean(1));
        json_object_object_add(root, "stream_options", so);
    }
    return eng__llm_body_finish(l, root, stream, out);
}

static bool oa_tool_answer(json_object *root, json_object *out, const char **why)
{
    json_object *c = first_choice(root), *msg, *v, *calls = json_object_new_array();
    if (!c || !json_object_object_get_ex(c, "message", &msg) || !json_object_is_type(msg, json_type_object)) {
        json_object_put(calls);
        *why = "no choices[0].message in the answer";
        return false;
    }
    json_object_object_add(out, "text", json_object_new_string(eng__json_str(msg, "content", "")));
    if (json_object_object_get_ex(msg, "tool_calls", &v) && json_object_is_type(v, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            json_object *tc = json_object_array_get_idx(v, i), *f, *n = json_object_new_object();
            json_object_object_get_ex(tc, "function", &f);
            json_object_object_add(n, "id", json_object_new_string(eng__json_str(tc, "id", "")));
            json_object_object_add(n, "name", json_object_new_string(eng__json_str(f, "name", "")));
            /* the arguments are the model's text: they may not be JSON */
            eng__llm_call_args(n, eng__json_str(f, "arguments", ""));
            json_object_array_add(calls, n);
        }
    }
    json_object_object_add(out, "calls", calls);
    json_object *u = json_object_new_object(), *usage = NULL;
    json_object_object_get_ex(root, "usage", &usage);
    json_object_object_add(u, "input", json_object_new_int64(json_object_get_int64(json_object_object_get(usage, "prompt_tokens"))));
    json_object_object_add(u, "output",
                           json_object_new_int64(json_object_get_int64(json_object_object_get(usage, "completion_tokens"))));
    json_object_object_add(out, "usage", u);
    json_object_object_add(out, "stop", json_object_new_string(eng__json_str(c, "finish_reason", "")));
    return true;
}

/* A streamed step: content deltas are text; tool_calls deltas carry an
 * index, the id and name once, and the arguments' JSON text in pieces. */
static llm_ev oa_tool_event(const char *event, const char *data, size_t len, json_object *acc, eng_buf *text)
{
    (void)event;
    if (len == 6 && memcmp(data, "[DONE]", 6) == 0)
        return LLM_EV_DONE;
    json_object *root = json_tokener_parse(data), *v;
    if (!root || !json_object_is_type(root, json_type_object)) {
        json_object_put(root);
        return LLM_EV_BAD;
    }
    llm_ev ev = LLM_EV_NONE;
    json_object *c = first_choice(root), *delta = NULL;
    if (json_object_object_get_ex(root, "error", NULL)) {
        if (!eng__llm_error_text(data, len, text))
            eng__buf_adds(text, "error event without a message");
        json_object_put(root);
        return LLM_EV_ERROR;
    }
    if (json_object_object_get_ex(root, "usage", &v) && json_object_is_type(v, json_type_object)) {
        json_object *u = json_object_new_object();
        json_object_object_add(u, "input", json_object_get(json_object_object_get(v, "prompt_tokens")));
        json_object_object_add(u, "output", json_object_get(json_object_object_get(v, "completion_tokens")));
        json_object_object_add(acc, "usage", u);
    }
    if (c && json_object_object_get_ex(c, "finish_reason", &v) && json_object_is_type(v, json_type_string))
        json_object_object_add(acc, "stop", json_object_get(v));
    if (c && json_object_object_get_ex(c, "delta", &delta)) {
        const char *content = eng__json_str(delta, "content", "");
        if (*content) {
            eng__buf_adds(text, content);
            ev = LLM_EV_DELTA;
        }
        json_object *tcs;
        if (json_object_object_get_ex(delta, "tool_calls", &tcs) && json_object_is_type(tcs, json_type_array)) {
            for (size_t i = 0; i < json_object_array_length(tcs); i++) {
                json_object *tc = json_object_array_get_idx(tcs, i), *f = NULL;
                int64_t idx = json_object_get_int64(json_object_object_get(tc, "index"));
                json_object *call = idx >= 0 ? eng__llm_stream_call(acc, (size_t)idx) : NULL;
                if (!call)
                    continue;
                if (*eng__json_str(tc, "id", ""))
                    json_object_object_add(call, "id", json_object_new_string(eng__json_str(tc, "id", "")));
                json_object_object_get_ex(tc, "function", &f);
                if (*eng__json_str(f, "name", ""))
                    json_object_object_add(call, "name", json_object_new_string(eng__json_str(f, "name", "")));
                if (*eng__json_str(f, "arguments", ""))
                    eng__llm_append(call, "partial", eng__json_str(f, "arguments", ""));
            }
        }
    } else if (!c && !json_object_object_get_ex(root, "choices", NULL)) {
        ev = LLM_EV_BAD;
    }
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
    .tool_body = oa_tool_body,
    .tool_answer = oa_tool_answer,
    .tool_event = oa_tool_event,
};
