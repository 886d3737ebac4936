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
    return eng__llm_body_finish(l, root, stream, out);
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


/* ------------------------------------------------------------ tool loop
 * The neutral conversation (eng.h, eng_llm_tool_chat) as Messages:
 * assistant content blocks (text, tool_use with its input object) and the
 * results of one step's calls as one user message of tool_result blocks. */
static bool an_tool_body(const eng_llm *l, const char *system, json_object *conv, json_object *tools, bool no_tools,
                         bool stream, eng_buf *out)
{
    json_object *root = json_object_new_object(), *msgs = json_object_new_array(), *results = NULL;
    if (!root || !msgs) {
        json_object_put(root);
        json_object_put(msgs);
        return false;
    }
    for (size_t i = 0; i < json_object_array_length(conv); i++) {
        json_object *m = json_object_array_get_idx(conv, i), *calls;
        const char *role = eng__json_str(m, "role", "user"), *text = eng__json_str(m, "content", "");
        if (strcmp(role, "tool") == 0) {
            if (!results) {
                json_object *um = json_object_new_object();
                results = json_object_new_array();
                json_object_object_add(um, "role", json_object_new_string("user"));
                json_object_object_add(um, "content", results);
                json_object_array_add(msgs, um);
            }
            json_object *b = json_object_new_object();
            json_object_object_add(b, "type", json_object_new_string("tool_result"));
            json_object_object_add(b, "tool_use_id", json_object_new_string(eng__json_str(m, "id", "")));
            json_object_object_add(b, "content", json_object_new_string(text));
            if (json_object_get_boolean(json_object_object_get(m, "error")))
                json_object_object_add(b, "is_error", json_object_new_boolean(1));
            json_object_array_add(results, b);
            continue;
        }
        results = NULL;
        json_object *o = json_object_new_object();
        json_object_object_add(o, "role", json_object_new_string(role));
        if (!json_object_object_get_ex(m, "calls", &calls) || json_object_array_length(calls) == 0) {
            json_object_object_add(o, "content", json_object_new_string(*text ? text : "…"));
        } else {
            json_object *blocks = json_object_new_array();
            if (*text) {
                json_object *b = json_object_new_object();
                json_object_object_add(b, "type", json_object_new_string("text"));
                json_object_object_add(b, "text", json_object_new_string(text));
                json_object_array_add(blocks, b);
            }
            for (size_t k = 0; k < json_object_array_length(calls); k++) {
                json_object *c = json_object_array_get_idx(calls, k), *b = json_object_new_object(), *args;
                json_object_object_add(b, "type", json_object_new_string("tool_use"));
                json_object_object_add(b, "id", json_object_new_string(eng__json_str(c, "id", "")));
                json_object_object_add(b, "name", json_object_new_string(eng__json_str(c, "name", "")));
                json_object_object_add(b, "input", json_object_object_get_ex(c, "arguments", &args)
                                                       ? json_object_get(args) : json_object_new_object());
                json_object_array_add(blocks, b);
            }
            json_object_object_add(o, "content", blocks);
        }
        json_object_array_add(msgs, o);
    }
    json_object_object_add(root, "model", json_object_new_string(l->model));
    if (system)
        json_object_object_add(root, "system", json_object_new_string(system));
    json_object_object_add(root, "messages", msgs);
    if (tools && json_object_array_length(tools)) {
        json_object *ts = json_object_new_array(), *choice = json_object_new_object();
        for (size_t i = 0; i < json_object_array_length(tools); i++) {
            json_object *t = json_object_array_get_idx(tools, i), *e = json_object_new_object();
            json_object_object_add(e, "name", json_object_get(json_object_object_get(t, "name")));
            json_object_object_add(e, "description", json_object_get(json_object_object_get(t, "description")));
            json_object_object_add(e, "input_schema", json_object_get(json_object_object_get(t, "parameters")));
            json_object_array_add(ts, e);
        }
        json_object_object_add(root, "tools", ts);
        json_object_object_add(choice, "type", json_object_new_string(no_tools ? "none" : "auto"));
        json_object_object_add(root, "tool_choice", choice);
    }
    return eng__llm_body_finish(l, root, stream, out);
}

static bool an_tool_answer(json_object *root, json_object *out, const char **why)
{
    json_object *content, *usage = NULL;
    if (!json_object_object_get_ex(root, "content", &content) || !json_object_is_type(content, json_type_array)) {
        *why = "no content array in the answer";
        return false;
    }
    eng_buf text;
    eng__buf_init(&text);
    json_object *calls = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(content); i++) {
        json_object *b = json_object_array_get_idx(content, i), *in;
        const char *type = eng__json_str(b, "type", "");
        if (strcmp(type, "text") == 0) {
            eng__buf_adds(&text, eng__json_str(b, "text", ""));
        } else if (strcmp(type, "tool_use") == 0) {
            json_object *n = json_object_new_object();
            json_object_object_add(n, "id", json_object_new_string(eng__json_str(b, "id", "")));
            json_object_object_add(n, "name", json_object_new_string(eng__json_str(b, "name", "")));
            if (json_object_object_get_ex(b, "input", &in) && json_object_is_type(in, json_type_object))
                json_object_object_add(n, "arguments", json_object_get(in));
            else
                json_object_object_add(n, "raw", json_object_new_string(in ? json_object_to_json_string(in) : ""));
            json_object_array_add(calls, n);
        }
    }
    json_object_object_add(out, "text", json_object_new_string(text.data ? text.data : ""));
    eng__buf_free(&text);
    json_object_object_add(out, "calls", calls);
    json_object_object_get_ex(root, "usage", &usage);
    json_object *u = json_object_new_object();
    json_object_object_add(u, "input", json_object_new_int64(json_object_get_int64(json_object_object_get(usage, "input_tokens"))));
    json_object_object_add(u, "output", json_object_new_int64(json_object_get_int64(json_object_object_get(usage, "output_tokens"))));
    json_object_object_add(out, "usage", u);
    json_object_object_add(out, "stop", json_object_new_string(eng__json_str(root, "stop_reason", "")));
    return true;
}

/* A streamed step: text_delta blocks are text; a tool_use block opens
 * with its id and name (content_block_start) and its input comes as
 * input_json_delta pieces; usage in message_start and message_delta. */
static llm_ev an_tool_event(const char *event, const char *data, size_t len, json_object *acc, eng_buf *text)
{
    json_object *root = json_tokener_parse(data), *v;
    if (!root || !json_object_is_type(root, json_type_object)) {
        json_object_put(root);
        return LLM_EV_BAD;
    }
    const char *type = eng__json_str(root, "type", event);
    llm_ev ev = LLM_EV_NONE;
    json_object *usage = json_object_object_get(acc, "usage");
    if (!usage) {
        usage = json_object_new_object();
        json_object_object_add(acc, "usage", usage);
    }
    int64_t block = json_object_get_int64(json_object_object_get(root, "index"));
    char bkey[32];
    snprintf(bkey, sizeof bkey, "block%lld", (long long)block);
    json_object *blocks = json_object_object_get(acc, "blocks");
    if (!blocks) {
        blocks = json_object_new_object();
        json_object_object_add(acc, "blocks", blocks);
    }
    if (strcmp(type, "message_start") == 0) {
        json_object *u = eng__json_path(root, "message.usage");
        json_object_object_add(usage, "input", json_object_get(json_object_object_get(u, "input_tokens")));
    } else if (strcmp(type, "content_block_start") == 0) {
        json_object *cb = json_object_object_get(root, "content_block");
        if (strcmp(eng__json_str(cb, "type", ""), "tool_use") == 0) {
            size_t n = json_object_array_length(json_object_object_get(acc, "calls"));
            json_object *call = eng__llm_stream_call(acc, n);
            if (call) {
                json_object_object_add(call, "id", json_object_new_string(eng__json_str(cb, "id", "")));
                json_object_object_add(call, "name", json_object_new_string(eng__json_str(cb, "name", "")));
                json_object_object_add(blocks, bkey, json_object_new_int64((int64_t)n));
            }
        }
    } else if (strcmp(type, "content_block_delta") == 0) {
        json_object *d = json_object_object_get(root, "delta");
        const char *dt = eng__json_str(d, "type", "");
        if (strcmp(dt, "input_json_delta") == 0 && json_object_object_get_ex(blocks, bkey, &v)) {
            json_object *call = eng__llm_stream_call(acc, (size_t)json_object_get_int64(v));
            if (call)
                eng__llm_append(call, "partial", eng__json_str(d, "partial_json", ""));
        } else {   /* text (or a malformed delta): as for a text answer */
            json_object_put(root);
            return an_event(event, data, len, text);
        }
    } else if (strcmp(type, "message_delta") == 0) {
        json_object *u = json_object_object_get(root, "usage");
        if (u)
            json_object_object_add(usage, "output", json_object_get(json_object_object_get(u, "output_tokens")));
        if (*eng__json_str(root, "delta.stop_reason", ""))
            json_object_object_add(acc, "stop", json_object_new_string(eng__json_str(root, "delta.stop_reason", "")));
    } else {
        /* message_stop, error, ping: as for a text answer */
        json_object_put(root);
        return an_event(event, data, len, text);
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
    .tool_body = an_tool_body,
    .tool_answer = an_tool_answer,
    .tool_event = an_tool_event,
};
