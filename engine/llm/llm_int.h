/* engine/llm/llm_int.h — internals of the LLM client, shared only by the
 * files in engine/llm/: the client struct, the wire-format vtable that
 * hides OpenAI from Anthropic, and the server-sent-events parser. */
#ifndef AISLE_LLM_INT_H
#define AISLE_LLM_INT_H

#include "engine/eng_int.h"
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>

/* Answers larger than this are refused: a runaway stream must not eat the
 * turn's memory. Raw bodies (JSON around the text) get a larger cap. */
#define LLM_MAX_ANSWER (256u * 1024u)
#define LLM_MAX_BODY (1024u * 1024u)
#define LLM_MAX_SSE_LINE (256u * 1024u)

/* ------------------------------------------------------------------ SSE
 * An incremental text/event-stream parser (engine/llm/sse.c). Bytes may be
 * split anywhere; events are dispatched whole. on_event returns 0 to go on
 * or a negative eng_code to stop (returned by feed). */
typedef int (*eng__sse_event_fn)(void *ud, const char *event, const char *data,
                                 size_t len);

typedef struct eng__sse {
    eng_buf line, event, data;
    bool cr;            /* the previous byte was \r: a following \n belongs to it */
    bool has_data;      /* a data: field was seen for the pending event */
    size_t max;         /* cap on one line and on one event's data */
    eng__sse_event_fn fn;
    void *ud;
} eng__sse;

void eng__sse_init(eng__sse *s, size_t max, eng__sse_event_fn fn, void *ud);
void eng__sse_free(eng__sse *s);
/* 0, ENG_ELIMIT (a line or event over the cap), ENG_ENOMEM, or what fn returned. */
int eng__sse_feed(eng__sse *s, const char *p, size_t n);
/* End of stream: a last line without its newline and an event without its
 * blank line are still dispatched (lenient, as browsers are not). */
int eng__sse_finish(eng__sse *s);

/* ----------------------------------------------------------- wire formats
 * What a streamed event meant. */
typedef enum llm_ev {
    LLM_EV_NONE = 0,   /* nothing for us (role chunk, ping, message_start) */
    LLM_EV_DELTA,      /* text appended to `text` */
    LLM_EV_DONE,       /* [DONE] / message_stop */
    LLM_EV_ERROR,      /* the provider reported an error; message in `text` */
    LLM_EV_BAD,        /* not JSON or not the expected shape */
} llm_ev;

typedef struct eng_llm eng_llm;

typedef struct llm_wire {
    const char *name;         /* "openai", "anthropic": used in messages */
    const char *path;         /* appended to base_url */
    const char *default_base;
    const char *default_model;
    /* add provider headers (auth, version); NULL on OOM */
    struct curl_slist *(*headers)(const eng_llm *l, struct curl_slist *h);
    /* the request body; false on OOM */
    bool (*body)(const eng_llm *l, const char *system, const eng_llm_msg *m,
                 size_t n, bool stream, eng_buf *out);
    /* a non-streamed 200 answer: append the text to `text`, or return
     * false with a reason (static string) in *why */
    bool (*answer)(json_object *root, eng_buf *text, const char **why);
    /* one streamed event: append a delta or an error message to `text` */
    llm_ev (*event)(const char *event, const char *data, size_t len, eng_buf *text);
    /* the request body of one tool-loop step from the neutral
     * conversation (eng_llm_tool_chat in eng.h); false on OOM */
    bool (*tool_body)(const eng_llm *l, const char *system, json_object *conv, json_object *tools,
                      bool no_tools, bool stream, eng_buf *out);
    /* a tool-loop answer into the neutral {text, calls, usage, stop}
     * object `out`; false with a reason (static string) in *why */
    bool (*tool_answer)(json_object *root, json_object *out, const char **why);
    /* one streamed event of a tool-loop step: a text delta into `text`
     * (LLM_EV_DELTA), or the calls, usage and stop reason gathered into
     * `acc` ({calls: [{id, name, partial: the arguments' JSON text so
     * far}], usage, stop}; eng__llm_tool_finish completes it) */
    llm_ev (*tool_event)(const char *event, const char *data, size_t len, json_object *acc, eng_buf *text);
} llm_wire;

extern const llm_wire eng__llm_openai;
extern const llm_wire eng__llm_anthropic;

/* eng__llm_json_messages: the [{role, content}, ...] array both formats
 * share, led by {"role":"system"} when `system` is not NULL. NULL on OOM. */
json_object *eng__llm_json_messages(const char *system, const eng_llm_msg *m, size_t n);

/* eng__llm_body_finish: add what both formats send alike (temperature,
 * max_tokens, stream) to the request `root`, write it to `out` and put
 * root. false on OOM. */
bool eng__llm_body_finish(const eng_llm *l, json_object *root, bool stream, eng_buf *out);

/* eng__llm_call_args: set a normalised call's "arguments" from the
 * model's argument text `raw` when it is a JSON object (empty: {}), else
 * keep the text as "raw" (the stage answers it with a tool error). */
void eng__llm_call_args(json_object *call, const char *raw);

/* eng__llm_stream_call: the call at position i of acc.calls, created
 * (with empty id, name and partial) when missing. Borrowed. */
json_object *eng__llm_stream_call(json_object *acc, size_t i);

/* eng__llm_append: append s to the string member `key` of o. */
void eng__llm_append(json_object *o, const char *key, const char *s);

/* eng__llm_error_text: the provider's own error message from an error
 * body ({"error":{"message":..., "type":...}} in both formats), appended
 * to `out`; false when the body has none. */
bool eng__llm_error_text(const char *body, size_t len, eng_buf *out);

/* -------------------------------------------------------------- client */
typedef struct eng_llm {
    eng_llm_provider provider;
    const llm_wire *wire;
    char *base_url, *api_key, *model, *url;
    long connect_timeout_ms;
    int max_retries, breaker_failures;
    long breaker_cooldown_ms;
    double temperature;
    int max_tokens;
    int log_level;            /* 0 off, 1 warn (breaker changes), 2 debug (every failure) */

    /* circuit breaker: a mutex is simpler than lock-free state and costs
     * nothing beside a network call */
    pthread_mutex_t mu;
    int consecutive;          /* breaker-counted failures in a row */
    int64_t open_until_us;    /* 0 = closed */
    bool trial;               /* half-open: one trial call is in flight */

    _Atomic uint64_t calls, failures, retries, timeouts, rejections;
} eng_llm;

/* ---------------------------------------------------------- one attempt
 * One HTTP exchange (engine/llm/http.c) on the calling thread's cached
 * curl handle. The outcome says whether it may be retried and whether it
 * counts against the circuit breaker. */
typedef struct llm_try {
    int code;                 /* 0, ENG_EIO, ENG_ETIMEDOUT, ENG_ENOMEM */
    long status;              /* HTTP status; 0 when no response came */
    bool retryable;           /* 429, 5xx, connection failures */
    bool counts;              /* a provider failure (not a 4xx, not OOM) */
    bool delivered;           /* deltas already went to on_delta: never retry */
    int64_t retry_after_ms;   /* from Retry-After / retry-after-ms; -1 = none */
    eng_buf answer;           /* the text when code == 0 */
    bool want_json;           /* keep the JSON answer (json) instead of its text */
    json_object *json;        /* the answer's root when want_json and code == 0;
                                 a streamed tool step's gathered answer
                                 ({calls, usage, stop, streamed: true}) */
    eng_buf msg;              /* what went wrong when code != 0 */
} llm_try;

void eng__llm_try_init(llm_try *t);
void eng__llm_try_free(llm_try *t);

/* eng__llm_attempt: POST `body` with `headers` to l->url, giving up at
 * deadline_us. Streams when on_delta is not NULL. Blocks. */
void eng__llm_attempt(const eng_llm *l, const char *body, size_t body_len,
                      struct curl_slist *headers, int64_t deadline_us,
                      eng_llm_delta_fn on_delta, void *ud, llm_try *t);

#endif
