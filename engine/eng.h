/* engine/eng.h — the whole public API of aisle's pipeline engine.
 *
 * The engine loads a YAML pipeline (intents, stages, routes, templates),
 * and runs one shopper message through it per call ("a turn").  It keeps
 * no state between turns: everything a turn needs comes in through
 * eng_turn_opts and goes out in the turn context.
 *
 * Conventions: functions return 0 (ENG_OK) or a negative eng_code; where
 * there is an `err` or `diags` out-parameter it gets a message a person
 * can act on.  Nothing here blocks on the network unless it says so.
 */
#ifndef AISLE_ENG_H
#define AISLE_ENG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <json-c/json.h>

#define AISLE_VERSION "0.1.0"

#if defined(__GNUC__)
#define ENG_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define ENG_PRINTF(a, b)
#endif

/* Error codes. Only ever appended to. */
typedef enum eng_code {
    ENG_OK = 0,
    ENG_EINVAL = -1,    /* bad argument or malformed input */
    ENG_ENOMEM = -2,    /* out of memory */
    ENG_EIO = -3,       /* a file could not be read */
    ENG_ECONFIG = -4,   /* a pipeline file has errors (see the diagnostics) */
    ENG_ETIMEDOUT = -5, /* the turn's deadline passed */
    ENG_ESTAGE = -6,    /* a stage failed */
    ENG_ELUA = -7,      /* a Lua chunk failed to compile or run */
    ENG_ELIMIT = -8,    /* a sandbox limit (memory, instructions) was hit */
    ENG_ENOTFOUND = -9, /* a named thing does not exist */
} eng_code;

/* eng_strerror: a short English text for an eng_code. Never NULL. */
const char *eng_strerror(int code);

/* One error with an optional position. line/col are 1-based, 0 = none. */
typedef struct eng_err {
    int code;
    int line, col;
    char file[256];
    char msg[512];
} eng_err;

/* eng_err_set: fill `err` (may be NULL) and return `code`. */
int eng_err_set(eng_err *err, int code, const char *fmt, ...) ENG_PRINTF(3, 4);

/* ---------------------------------------------------------------------
 * Diagnostics: what `aisle lint` prints.  Each is FILE:LINE:COL: error|
 * warning: MESSAGE.  A load collects all of them rather than stopping at
 * the first.
 * ------------------------------------------------------------------ */
typedef enum eng_severity { ENG_DIAG_ERROR = 0, ENG_DIAG_WARNING = 1 } eng_severity;

typedef struct eng_diag {
    eng_severity sev;
    int line, col;      /* 1-based; 0 when the problem has no position */
    char *file;         /* owned */
    char *msg;          /* owned */
} eng_diag;

typedef struct eng_diags {
    eng_diag *items;
    size_t n, cap;
    int errors, warnings;
} eng_diags;

/* eng_diags_init / eng_diags_free: an empty list; free releases every item. */
void eng_diags_init(eng_diags *d);
void eng_diags_free(eng_diags *d);

/* eng_diags_add: append one diagnostic (copies file and message). Silently
 * drops it when out of memory; the error count still goes up. */
void eng_diags_add(eng_diags *d, eng_severity sev, const char *file, int line,
                   int col, const char *fmt, ...) ENG_PRINTF(6, 7);

/* eng_diags_print: write every diagnostic, ordered by file, line, column,
 * as "FILE:LINE:COL: error: MESSAGE" (position omitted when 0). */
void eng_diags_print(eng_diags *d, FILE *out);

/* ---------------------------------------------------------------------
 * Allocation.  Every allocation of the engine's own code (and of its Lua
 * states) goes through one hook so that tests can fail the Nth
 * allocation.  json-c's (the turn context) and libyaml's do not.
 * ------------------------------------------------------------------ */

/* eng_alloc_fail_after: make the (n+1)th allocation from now on fail, and
 * every one after it (n = 0: the next one); n < 0 turns failure
 * injection off. Tests only. */
void eng_alloc_fail_after(long n);

/* eng_alloc_fail_once: make only the (n+1)th allocation from now on fail;
 * the ones after it succeed again. Tests only. */
void eng_alloc_fail_once(long n);

/* eng_alloc_failed: how many allocations the injection failed since it
 * was last armed (eng_alloc_fail_after or eng_alloc_fail_once with n >= 0;
 * turning it off keeps the count). 0 after a run: the run never reached
 * the (n+1)th allocation. Tests only. */
long eng_alloc_failed(void);

/* ---------------------------------------------------------------------
 * Built-in intent classifier (engine/nlu/).  A linear model over hashed
 * word and character n-grams, trained in-process; no network, no files.
 * ------------------------------------------------------------------ */
typedef struct eng_clf eng_clf;

typedef struct eng_clf_opts {
    int epochs;          /* passes over the data; default 30 */
    double l2;           /* L2 regularisation strength; default set by train */
    int word_ngrams;     /* 1 or 2 (unigrams + bigrams); default 2 */
    int char_min;        /* character n-gram sizes, 0 = none; default 3 */
    int char_max;        /* default 4 */
    int hash_bits;       /* feature space is 2^hash_bits; default 20 */
    uint64_t seed;       /* shuffling seed; default 1 (training is deterministic) */
} eng_clf_opts;

typedef struct eng_clf_pred {
    const char *label;   /* owned by the model */
    double confidence;   /* calibrated probability in [0,1] */
} eng_clf_pred;

/* eng_clf_opts_default: fill `o` with the defaults above. */
void eng_clf_opts_default(eng_clf_opts *o);

/* eng_clf_train: train on n (text, label) pairs. Labels are any strings;
 * the model's classes are the distinct labels in first-seen order.
 * `o` may be NULL for defaults. On success *out owns a new model.
 * Returns ENG_EINVAL when n == 0 or a text/label is NULL, ENG_ENOMEM.
 * CPU-bound; does not block otherwise. */
int eng_clf_train(const char *const *texts, const char *const *labels, size_t n,
                  const eng_clf_opts *o, eng_clf **out, eng_err *err);

/* eng_clf_predict: classify `text`; fills up to k predictions sorted by
 * confidence (highest first) and returns how many it filled (>= 1 when
 * k >= 1), or a negative eng_code. A text that repeats a training example
 * word for word (after normalisation) gets that example's label at no
 * less than 0.9, unless examples of that text disagree. Thread-safe on a
 * shared model; allocates nothing on the heap. */
int eng_clf_predict(const eng_clf *m, const char *text, eng_clf_pred *top, size_t k);

/* eng_clf_nlabels / eng_clf_label: the model's classes. */
size_t eng_clf_nlabels(const eng_clf *m);
const char *eng_clf_label(const eng_clf *m, size_t i);

/* eng_clf_free: release a model (NULL is fine). */
void eng_clf_free(eng_clf *m);

/* ---------------------------------------------------------------------
 * LLM client (engine/llm/). OpenAI Chat Completions (and compatible
 * servers) and Anthropic Messages over libcurl, streaming or not, always
 * inside a deadline. Optional: everything works without it.
 * ------------------------------------------------------------------ */
typedef enum eng_llm_provider {
    ENG_LLM_OFF = 0,
    ENG_LLM_OPENAI = 1,      /* POST {base}/chat/completions */
    ENG_LLM_ANTHROPIC = 2,   /* POST {base}/messages */
} eng_llm_provider;

typedef struct eng_llm_config {
    eng_llm_provider provider;
    const char *base_url;         /* default https://api.openai.com/v1 or
                                     https://api.anthropic.com/v1 */
    const char *api_key;          /* never logged or put in errors */
    const char *model;            /* e.g. gpt-4o-mini, claude-3-5-haiku-latest */
    long connect_timeout_ms;      /* default 1000 (always capped by the deadline) */
    int max_retries;              /* on 429/5xx/connect errors, while the deadline allows; default 2 */
    int breaker_failures;         /* consecutive failures that open the circuit; default 5 */
    long breaker_cooldown_ms;     /* how long an open circuit refuses calls; default 30000 */
    double temperature;           /* default 0 */
    int max_tokens;               /* default 512 */
} eng_llm_config;

typedef struct eng_llm eng_llm;

typedef struct eng_llm_msg {
    const char *role;      /* "user" or "assistant" */
    const char *content;
} eng_llm_msg;

/* Called with each streamed piece of text as it arrives. */
typedef void (*eng_llm_delta_fn)(void *ud, const char *text, size_t len);

/* eng_llm_config_from_env: fill `c` from AISLE_LLM_PROVIDER (openai,
 * anthropic, off), AISLE_LLM_BASE_URL, AISLE_LLM_API_KEY, AISLE_LLM_MODEL,
 * AISLE_LLM (off disables everything); defaults elsewhere. Strings point
 * into the environment. Returns 0, or ENG_EINVAL (message in err) for an
 * unknown provider. */
int eng_llm_config_from_env(eng_llm_config *c, eng_err *err);

/* eng_llm_new: a client (thread-safe; shares the circuit breaker between
 * threads). NULL on OOM. Copies the config strings. */
eng_llm *eng_llm_new(const eng_llm_config *c);
void eng_llm_free(eng_llm *l);

/* eng_llm_chat: one completion. `system` may be NULL. When on_delta is
 * not NULL the request streams (SSE) and on_delta gets each piece; the
 * whole answer is also returned in *out (malloc'd, caller frees).
 * Blocks until the answer, an error, or deadline_us (eng_now_us clock).
 * Returns 0; ENG_ETIMEDOUT; ENG_EIO (HTTP error, connection failure,
 * malformed answer: err->msg says which, with the HTTP status);
 * ENG_ELIMIT when the circuit is open (not called at all). */
int eng_llm_chat(eng_llm *l, const char *system, const eng_llm_msg *msgs, size_t n,
                 int64_t deadline_us, eng_llm_delta_fn on_delta, void *ud, char **out,
                 eng_err *err);

/* eng_llm_tool_chat: one step of a tool loop.  With on_delta the request
 * streams (SSE): on_delta gets the model's text as it comes, the tool
 * calls are gathered from their streamed pieces, and *out is the same as
 * without (no retry once text reached on_delta).  `msgs` is
 * the conversation in a provider-neutral form, a JSON array of
 *   {"role":"user","content":TEXT}
 *   {"role":"assistant","content":TEXT?,"calls":[{"id","name","arguments":OBJECT}]}
 *   {"role":"tool","id":CALL_ID,"name":NAME,"content":TEXT,"error":BOOL}
 * (consecutive tool messages answer the calls of the assistant message
 * before them); `tools` an array of {"name","description","parameters":
 * JSON Schema}, or NULL; `no_tools` asks for an answer in words (the
 * tools are still declared, tool_choice none).  Both borrowed.  The
 * client turns them into OpenAI's `tools`/`tool_calls`/`role: tool` or
 * Anthropic's `tools`/`tool_use`/`tool_result` blocks.  On 0, *out (the
 * caller puts it) is {"text": STRING (maybe ""), "calls": [{"id", "name",
 * "arguments": OBJECT} or, when the model's arguments were not a JSON
 * object, {"id","name","raw": STRING}], "usage": {"input": N, "output":
 * N}, "stop": the provider's stop reason, "clientUs": microseconds this
 * side spent building the request and reading the answer}.  Deadline, retries, circuit
 * breaker, counters and errors exactly as eng_llm_chat.  Blocks. */
int eng_llm_tool_chat(eng_llm *l, const char *system, json_object *msgs, json_object *tools, bool no_tools,
                      int64_t deadline_us, eng_llm_delta_fn on_delta, void *ud, json_object **out, eng_err *err);

/* eng_llm_stats: counters since start (thread-safe reads). */
typedef struct eng_llm_stats {
    uint64_t calls, failures, retries, timeouts, breaker_rejections;
} eng_llm_stats;
void eng_llm_stats_get(const eng_llm *l, eng_llm_stats *out);

/* ---------------------------------------------------------------------
 * The shop's tools (engine/tools.c), declared once for every agent that
 * shops here: outside agents over MCP (gateway/h_mcp.c) and the
 * assistant's own model (the llm_agent stage).  Each has a name, a
 * description, a JSON Schema of its arguments, who may call it and MCP's
 * hints.  The table is static and immutable: thread-safe.
 * ------------------------------------------------------------------ */
/* ENG_TOOL_STRS: a list of distinct strings of 1 to 127 characters (SKUs);
 * its lo and hi bound the number of items */
typedef enum eng_tool_type { ENG_TOOL_STR, ENG_TOOL_INT, ENG_TOOL_NUM, ENG_TOOL_STRS } eng_tool_type;
typedef enum eng_tool_auth {
    ENG_TOOL_ANYONE = 0,      /* browsing: no shopper needed */
    ENG_TOOL_SESSION,         /* a shopper's session (anonymous or signed in) */
    ENG_TOOL_USER,            /* a signed-in shopper */
} eng_tool_auth;

typedef struct eng_tool_arg {
    const char *name;
    eng_tool_type type;
    bool required;
    double lo, hi;            /* strings: length in characters; numbers: range */
    bool printable;           /* strings of printable ASCII only */
    const char *desc;
} eng_tool_arg;

typedef struct eng_tool {
    const char *name, *title, *desc;
    eng_tool_auth auth;
    bool read_only, destructive, idempotent;   /* MCP annotations */
    bool agent;               /* offered to the assistant's own model;
                                 confirm_checkout is not: only the
                                 shopper's own "yes" places an order */
    eng_tool_arg args[6];     /* ends at name == NULL */
} eng_tool;

/* eng_tools: the table (n set to its length). Never NULL. */
const eng_tool *eng_tools(size_t *n);
/* eng_tool_find: the tool called `name`, or NULL. */
const eng_tool *eng_tool_find(const char *name);
/* eng_tool_check_args: NULL when `args` (borrowed) fits the tool's
 * schema (types, ranges, lengths, required fields, no unknown fields);
 * otherwise what is wrong, written into buf (n bytes) and returned. */
const char *eng_tool_check_args(const eng_tool *t, json_object *args, char *buf, size_t n);
/* eng_tool_schema: a new JSON Schema object of the tool's arguments
 * (caller puts it); NULL on OOM. */
json_object *eng_tool_schema(const eng_tool *t);
/* eng_tool_compare: compare_products' result for `products` (borrowed: an
 * array of priced product objects, each with sku, title, finalPrice and
 * rating, in the order asked): a new object {items: [{sku, title, brand,
 * category, price, finalPrice, rating, stock}], cheapest: SKU, bestRated:
 * SKU, sameProduct: whether one product is both}; the first one wins a
 * tie.  Caller puts it; NULL on OOM.  Does not block. */
json_object *eng_tool_compare(json_object *products);

/* ---------------------------------------------------------------------
 * Pipelines.
 * ------------------------------------------------------------------ */
typedef struct eng_pipeline eng_pipeline;

/* eng_pipeline_load: read, validate and compile the pipeline at `path`
 * (templates and Lua files it names are resolved relative to the file's
 * folder).  Every problem found goes into `diags` (which may be NULL);
 * warnings do not fail the load.  On success *out holds one reference.
 * Returns ENG_EIO (file unreadable), ENG_ECONFIG (errors in diags),
 * ENG_ENOMEM.  Reads files; does not touch the network. */
int eng_pipeline_load(const char *path, eng_pipeline **out, eng_diags *diags);

/* eng_pipeline_load_buffer: the same from memory. `name` is the file name
 * used in messages; `base_dir` resolves relative paths (NULL = "."). */
int eng_pipeline_load_buffer(const char *name, const char *text, size_t len,
                             const char *base_dir, eng_pipeline **out,
                             eng_diags *diags);

/* eng_pipeline_retain / eng_pipeline_release: reference counting; the
 * last release frees the pipeline. Thread-safe. A pipeline is immutable
 * once loaded, so any number of threads may run turns on it at once. */
void eng_pipeline_retain(eng_pipeline *p);
void eng_pipeline_release(eng_pipeline *p);

/* Accessors; strings are owned by the pipeline. */
const char *eng_pipeline_name(const eng_pipeline *p);
int eng_pipeline_version(const eng_pipeline *p);
const char *eng_pipeline_file(const eng_pipeline *p);

/* eng_pipeline_knowledge_ask: answer `question` from the pipeline's
 * knowledge file (its `knowledge:` markdown) as the support agent does:
 * the best section's title and its most relevant sentences, quoted in
 * the file's own words. 1 with *title and *text (malloc'd) when the file
 * answers well enough; 0 when it does not or the pipeline has no
 * knowledge file; ENG_EINVAL on NULL arguments, ENG_ENOMEM. Thread-safe. */
int eng_pipeline_knowledge_ask(const eng_pipeline *p, const char *question, char **title, char **text);
/* eng_pipeline_knowledge_file: the knowledge file's path, or NULL. */
const char *eng_pipeline_knowledge_file(const eng_pipeline *p);

/* eng_pipeline_examples: the intents' training examples as parallel
 * arrays (*texts[i] is an example of intent *labels[i]); the arrays are
 * malloc'd (caller frees both with free()), the strings are owned by the
 * pipeline. Returns 0 or ENG_ENOMEM. */
int eng_pipeline_examples(const eng_pipeline *p, const char ***texts, const char ***labels, size_t *n);

/* eng_pipeline_graph: a new JSON description of the pipeline (name,
 * version, intents, stages with type and options summary, edges) for the
 * inspector. The caller owns the returned object (json_object_put). */
json_object *eng_pipeline_graph(const eng_pipeline *p);

/* ---------------------------------------------------------------------
 * Turns.
 * ------------------------------------------------------------------ */
struct store;   /* stores/store.h */

/* eng_pipeline_warm: build now, in this thread, what the pipeline's
 * stages derive from store `s`'s catalog (the spelling and product-type
 * vocabulary, the brand and category names), so that no turn waits for
 * it.  Call it after loading and before the pipeline serves (a reload
 * warms the new version while the old one keeps serving).  Later catalog
 * writes are noticed by the turns (store_catalog_generation, checked at
 * most once a second) and rebuilt as eng_catalog_refresh_background says.
 * 0, or -1 with `note` naming the stage that failed (turns then use the
 * built-in vocabulary and retry later). */
int eng_pipeline_warm(eng_pipeline *p, struct store *s, char *note, size_t cap);

/* eng_catalog_refresh_background: when on, a turn that finds a catalog
 * cache stale starts its rebuild on a thread of its own and goes on with
 * the previous version (servers); when off (the default), that turn
 * rebuilds it itself (the CLI and tests: deterministic).  Process-wide;
 * set it before serving. */
void eng_catalog_refresh_background(bool on);

typedef struct eng_deps {
    struct store *store;   /* may be NULL: stages that need it decline */
    eng_llm *llm;          /* may be NULL: LLM options fall back to the
                              built-in model and templates */
} eng_deps;

typedef struct eng_turn_opts {
    const char *session_id;   /* NULL: "local" */
    const char *message_id;   /* NULL: derived from session and text */
    const char *user_id;      /* NULL: anonymous */
    json_object *session;     /* borrowed: state carried over from earlier
                                 turns (history, shown products); NULL = {} */
    int64_t deadline_ms;      /* 0: the pipeline's `deadline_ms` */
    const eng_deps *deps;     /* NULL: no stores, no LLM */
    eng_llm_delta_fn on_delta;/* streamed reply text as it is made (an LLM
                                 phrasing the reply); NULL: none */
    void *delta_ud;
    int (*claim)(void *ud);   /* called once, before the turn's first change
                                 to the shop (a cart change, a promotion
                                 code, an order, a cancel, an audited
                                 hand-off): 0 lets it and every later one
                                 go ahead; nonzero refuses them all
                                 (ENG_SHOP_UNAVAILABLE), as another attempt
                                 at the same message owns its changes.
                                 NULL: no claim (eng_converse sets it) */
    void *claim_ud;
} eng_turn_opts;

typedef struct eng_turn eng_turn;

/* eng_run: run `text` through the pipeline.  Returns 0 whenever the turn
 * produced a reply, including when a stage failed or the deadline passed
 * (the reply then says so, and the context has "error" or "timedOut");
 * returns ENG_EINVAL for bad arguments or text that is not UTF-8, and
 * ENG_ENOMEM.  *out owns the turn's memory until eng_turn_free.
 * Blocks for at most the deadline. Thread-safe. */
int eng_run(eng_pipeline *p, const char *text, const eng_turn_opts *o,
            eng_turn **out, eng_err *err);

/* eng_turn_context: the turn context (message, session, intent, entities,
 * route, actions, results, reply, trace...). Borrowed: valid until
 * eng_turn_free. */
json_object *eng_turn_context(const eng_turn *t);

/* eng_turn_reply: the reply text (never NULL). Borrowed. */
const char *eng_turn_reply(const eng_turn *t);

/* eng_turn_free: release everything the turn allocated (NULL is fine). */
void eng_turn_free(eng_turn *t);

/* ---------------------------------------------------------------------
 * The commerce core (engine/shop.c): the one implementation of every
 * change to a cart, a promotion code or an order, for every channel --
 * the chat's action stage, the REST handlers, the CLI, and any channel
 * added later call only these.  Each call validates its input, prices
 * through one path (the pipeline's rules and every agent's), runs the
 * veto hooks with the cart and the action in view, writes its audit entry
 * once (in the store's transaction), and fills a typed result with a
 * reason a shopper can read.  All block on the store.
 * ------------------------------------------------------------------ */
typedef enum eng_shop_status {
    ENG_SHOP_OK = 0,
    ENG_SHOP_DENIED,          /* a rule vetoed it: reason, rule_id */
    ENG_SHOP_NOT_FOUND,       /* no such product or order (or not yours) */
    ENG_SHOP_NOT_IN_CART,     /* set/remove of a line the cart lacks */
    ENG_SHOP_STOCK,           /* more than the stock (or the line cap) */
    ENG_SHOP_EMPTY,           /* checkout of an empty cart */
    ENG_SHOP_STATE,           /* order not in a state that allows it */
    ENG_SHOP_INVALID,         /* bad argument: reason says which */
    ENG_SHOP_CODE_INVALID,    /* no promotion knows that code (or it
                                 refused this cart): the codes kept are
                                 unchanged */
    ENG_SHOP_LOGIN,           /* needs a signed-in shopper */
    ENG_SHOP_UNAVAILABLE,     /* the store failed: try again */
    ENG_SHOP_CHANGED,         /* checkout: the cart changed after it was
                                 priced or confirmed; nothing ordered */
    ENG_SHOP_PAYMENT          /* checkout: the payment was declined (reason
                                 says why): nothing ordered, nothing taken
                                 from stock; another card may be tried,
                                 with the same idempotency key */
} eng_shop_status;

/* Who is shopping, and where. */
typedef struct eng_shopper {
    eng_pipeline *pipe;       /* its rules price and veto; may be NULL */
    struct store *store;      /* required */
    int64_t user_id;          /* 0: anonymous */
    const char *session_id;   /* required when anonymous: the cart is
                                 "anon:<sid>", else "user:<id>" */
    json_object *session;     /* borrowed session state (promotion codes
                                 live here: "promoCodes"); the promo calls
                                 change it and the caller saves it; NULL:
                                 none */
    const char *via;          /* "chat", "rest", "cli", "mcp"... for the
                                 audit trail */
    const char *cart_id;      /* NULL: the shopper's own cart ("user:<id>"
                                 or "anon:<sid>"); else this cart, one the
                                 channel keeps apart from the shopper's
                                 (an ACP checkout session's), priced and
                                 ordered as user_id's when there is one */
} eng_shopper;

typedef struct eng_shop_result {
    eng_shop_status status;
    char reason[256];         /* for the shopper, "" when OK */
    char rule_id[128];        /* the vetoing rule (DENIED); CODE_INVALID: the
                                 code, when a rule knows it and declined
                                 this cart ("" for a code nobody knows) */
    int replayed;             /* the idempotency key had been used: the
                                 first outcome is returned, nothing ran */
    int64_t qty;              /* the line's quantity after a cart change */
    json_object *cart;        /* the priced cart after the call (owned) */
    json_object *order;       /* the order (checkout, cancel, lookups) */
    json_object *veto;        /* the veto {deny, id, version, file} */
    json_object *info;        /* the saved address (address calls) or the
                                 delivery options (eng_shop_delivery_options) */
    char field[32];           /* INVALID from a checkout fact: which one
                                 ("address.postalCode", "delivery",
                                 "payment.cardNumber"...), else "" */
} eng_shop_result;

/* eng_shop_result_clear: put the result's JSON and zero it. */
void eng_shop_result_clear(eng_shop_result *r);
/* eng_shop_status_name: "ok", "denied", "not-found"... (problem slugs) */
const char *eng_shop_status_name(eng_shop_status s);

/* Cart changes.  `key` (may be NULL) makes the change exactly once.
 * Return 0 when the call ran (see r->status), ENG_EINVAL on NULL args. */
int eng_shop_cart_add(const eng_shopper *w, const char *sku, int64_t qty, const char *key,
                      eng_shop_result *r);
int eng_shop_cart_set(const eng_shopper *w, const char *sku, int64_t qty, const char *key,
                      eng_shop_result *r);
int eng_shop_cart_remove(const eng_shopper *w, const char *sku, const char *key, eng_shop_result *r);
int eng_shop_cart_clear(const eng_shopper *w, const char *key, eng_shop_result *r);
/* eng_shop_price: for each object of the array `products` (with sku,
 * price, and brand/category/... that rules may read) set finalPrice and
 * appliedRules [{id, version, reason, before, after}] as the shopper's
 * cart and orders will price it. 0 or ENG_EINVAL. */
int eng_shop_price(const eng_shopper *w, json_object *products);
/* eng_shop_cart: the priced cart, unchanged. */
int eng_shop_cart(const eng_shopper *w, eng_shop_result *r);
/* eng_shop_cart_merge: at login, move the anonymous cart of session_id
 * into user_id's (quantities summed, within stock). */
int eng_shop_cart_merge(const eng_shopper *w, const char *anon_session_id, eng_shop_result *r);
/* Promotion codes: apply keeps every code already valid; an unknown or
 * refused code is reported and changes nothing. */
int eng_shop_promo_apply(const eng_shopper *w, const char *code, eng_shop_result *r);
int eng_shop_promo_remove(const eng_shopper *w, const char *code, eng_shop_result *r);
/* eng_shop_checkout: the priced cart becomes an order, exactly once per
 * key (required), stock taken in the same transaction; vetoes see the
 * cart.  Without checkout facts: eng_shop_checkout_with(co NULL) -- the
 * account's saved address and saved card, both required (INVALID with
 * r->field "address" or "payment" and r->info {"missing": [...]}:
 * nothing ordered, charged or taken from stock), the first delivery
 * option that delivers to the address (its price added to the total;
 * INVALID with field "address.country" when none does). */
int eng_shop_checkout(const eng_shopper *w, const char *key, eng_shop_result *r);
/* eng_shop_checkout_confirmed: eng_shop_checkout, but only when the cart
 * priced now is `confirmed` (a priced cart from eng_shop_cart that the
 * shopper agreed to): the same lines, quantities, final prices and
 * total; otherwise ENG_SHOP_CHANGED, the cart now in r->cart, nothing
 * ordered. `confirmed` NULL: as eng_shop_checkout. */
int eng_shop_checkout_confirmed(const eng_shopper *w, const char *key, json_object *confirmed,
                                eng_shop_result *r);
/* The facts of a checkout (engine/checkout.c): where it goes, how, and
 * how it is paid.  Every channel passes the same struct to
 * eng_shop_checkout_with; the shop's settings (the pipeline's `checkout:`
 * section, docs/pipelines.md) list the delivery options and name the
 * payment provider. */
typedef struct eng_checkout {
    json_object *address;     /* {name, line1, line2?, city, region?,
                                 postalCode, country (ISO 3166 alpha-2),
                                 phone?}; NULL: the account's saved one */
    bool save_address;        /* keep `address` as the account's saved one
                                 once the order is placed */
    const char *delivery;     /* a delivery option id; NULL: the first that
                                 delivers to the address's country (an
                                 option that does not: INVALID, field
                                 "delivery"; none does: field
                                 "address.country") */
    json_object *payment;     /* {cardNumber, expiry "MM/YY", cvc}, or
                                 {"saved": true} for the account's saved
                                 card, or {"token", "brand"?, "last4"?}: a
                                 reusable token the shop's provider made
                                 (its `save`) for a card an outside agent
                                 delegated (ACP); NULL: no payment step
                                 (required when `require_payment`) */
    bool save_payment;        /* keep the card with the provider as the
                                 account's saved card once the order is
                                 placed (brand, last 4 and the provider's
                                 token are kept; never the number) */
    bool require_payment;     /* refuse (INVALID, field "payment") without one */
} eng_checkout;

/* eng_shop_checkout_with: eng_shop_checkout_confirmed with the checkout's
 * facts.  `co` NULL (the chat's "yes", MCP's confirm_checkout): the
 * saved address and the saved card, both required -- every channel's
 * rule: no order without an address and a payment (INVALID, r->info
 * {"missing": ["address"?, "payment"?]} when either is not on the
 * account; the channel sends the shopper to the checkout page).  In order:
 * validates the facts (INVALID, r->field names the fact: nothing charged),
 * prices the cart plus delivery (free from the option's threshold), asks
 * the vetoes, reserves the key (store_once_begin: a concurrent duplicate
 * waits for the first), charges the provider once under "<user>:<key>"
 * (PAYMENT when declined: nothing ordered, the key stays free for another
 * card), places the order with stock in one store transaction, and
 * refunds the charge when the order cannot be placed (stock, a changed
 * cart) or was already placed by the same key with another charge.  The
 * order keeps the address, the delivery option, the card's brand, last 4
 * digits and the provider's reference (never the number), every discount
 * with its reason, and the confirmation e-mail text rendered once from
 * the settings' template.  Blocks on the store and the provider. */
int eng_shop_checkout_with(const eng_shopper *w, const char *key, json_object *confirmed,
                           const eng_checkout *co, eng_shop_result *r);
/* eng_shop_checkout_quote: what a checkout on the saved facts would order
 * now (signed-in shopper): r->cart the priced cart, r->info = {delivery
 * {id, name, days, price, ...}, address?, payment? {brand, last4},
 * goodsTotal, total (goods + delivery: what would be charged),
 * otherDelivery [...], currency, missing: ["address"?, "payment"?]}.
 * `delivery`: an option id (NULL: the first; INVALID field "delivery"
 * when the shop has none of that id).  EMPTY for an empty cart, LOGIN
 * when anonymous.  The same quote the chat's confirmation question
 * shows; `missing` is the same check the checkout makes. */
int eng_shop_checkout_quote(const eng_shopper *w, const char *delivery, eng_shop_result *r);
/* eng_shop_address_get: the account's saved address into r->info
 * (NOT_FOUND when none; LOGIN when anonymous). */
int eng_shop_address_get(const eng_shopper *w, eng_shop_result *r);
/* eng_shop_address_set: validate `address` (as eng_checkout.address;
 * INVALID with r->field and a reason naming the field and its bound, or
 * field "address.country" when no delivery option of w->pipe's settings
 * delivers there: nothing saved) and save it; the cleaned address into
 * r->info. */
int eng_shop_address_set(const eng_shopper *w, json_object *address, eng_shop_result *r);
/* eng_pipeline_currency / eng_pipeline_payment: the shop's currency
 * ("USD") and its payment provider's name ("test") from the pipeline's
 * `checkout:` settings (their defaults without). Owned by the pipeline. */
const char *eng_pipeline_currency(const eng_pipeline *p);
const char *eng_pipeline_payment(const eng_pipeline *p);
/* eng_shop_address_check: validate `address` exactly as a checkout will
 * (nothing saved): OK with the cleaned address in r->info, or INVALID
 * with r->field and a reason.  For channels that collect the address
 * before the order (ACP checkout sessions).  Never blocks. */
int eng_shop_address_check(json_object *address, eng_shop_result *r);
/* eng_shop_payment_get: the account's saved card into r->info as
 * {provider, brand, last4} (NOT_FOUND when none; LOGIN when anonymous).
 * eng_shop_payment_save: check `card` ({cardNumber, expiry, cvc}:
 * INVALID with r->field) and keep it with the shop's provider (PAYMENT
 * when it refuses the card); the card as r->info.  The chat's checkout
 * pays with the saved card only (without one it hands over to the
 * checkout page: card digits are never taken in the chat).  eng_shop_payment_forget: drop it.  Block
 * on the store and the provider. */
int eng_shop_payment_get(const eng_shopper *w, eng_shop_result *r);
int eng_shop_payment_save(const eng_shopper *w, json_object *card, eng_shop_result *r);
int eng_shop_payment_forget(const eng_shopper *w, eng_shop_result *r);
/* eng_shop_delivery_options: the shop's delivery options priced for the
 * shopper's cart now: r->info = {"currency", "items": [{id, name, days,
 * price, basePrice, freeOver?, countries?}], chosen?}, r->cart the priced
 * cart.  The same as eng_shop_delivery_to(w, NULL, NULL, r). */
int eng_shop_delivery_options(const eng_shopper *w, eng_shop_result *r);
/* eng_shop_delivery_to: the delivery options that deliver to `country`
 * (an address's two-letter code, any case; NULL: not known yet, every
 * option), priced for the shopper's cart now, and the one a checkout with
 * `delivery` (an option id; NULL: the first that delivers there) would
 * charge: r->info = {currency, country?, items: [{id, name, days, price,
 * basePrice, freeOver?, countries? (where it delivers; absent:
 * everywhere)}], chosen? {the option as in items}, refused? {field,
 * reason}}.  `refused` instead of `chosen` when no option delivers to
 * `country` (field "address.country", reason "we can't deliver to
 * Australia yet (...)") or `delivery` is no option or does not deliver
 * there (field "delivery"); a checkout would be refused the same way.
 * Status as eng_shop_cart.  Blocks on the store. */
int eng_shop_delivery_to(const eng_shopper *w, const char *country, const char *delivery, eng_shop_result *r);

/* ---------------------------------------------------------------------
 * Payment providers (engine/pay.c): a small vtable; the shop's settings
 * name one (`checkout.payment`, default "test").  The built-in "test"
 * provider moves no money and reaches no outside service: it approves
 * 4242 4242 4242 4242 (and any other number that passes the Luhn check)
 * and declines 4000 0000 0000 0002 (card declined) and 4000 0000 0000
 * 9995 (insufficient funds).  Card numbers are checked (digits, length,
 * Luhn, expiry, CVC) before any provider sees them.
 * ------------------------------------------------------------------ */
typedef struct eng_pay_req {
    const char *idempotency_key; /* the provider charges once per key */
    int64_t amount_cents;
    const char *currency;        /* "USD" */
    const char *card_number;     /* digits only; NULL when paying with `token` */
    int exp_month, exp_year;     /* 1-12, four digits */
    const char *cvc;
    const char *token;           /* a saved card (from save), or NULL */
} eng_pay_req;

typedef struct eng_pay_result {
    int approved;                /* 1: charged (or saved); 0: declined (reason) */
    char reference[64];          /* the provider's id of the charge */
    char reason[128];            /* for the shopper when declined */
    char token[64];              /* save: the provider's reusable token */
} eng_pay_result;

typedef struct eng_pay_provider {
    const char *name;
    /* charge: 0 when the provider answered (out->approved says how), a
     * negative code when it could not be reached (nothing charged). The
     * same idempotency_key again returns the first answer. */
    int (*charge)(const struct eng_pay_provider *p, const eng_pay_req *req, eng_pay_result *out);
    /* refund: give the charge `reference` back in full; 0 or a negative
     * code. Must be idempotent per charge: a charge already given back
     * answers 0 again and moves no money (as real providers refuse a
     * second full refund of one charge). The shop relies on it: a crash
     * after the provider refunded but before the order says so is
     * settled by asking again (engine/refund.c). */
    int (*refund)(const struct eng_pay_provider *p, const char *reference, int64_t amount_cents);
    /* save: keep the card with the provider for later charges (no money
     * moves): out->token when approved; 0 or a negative code. NULL: this
     * provider keeps no cards. */
    int (*save)(const struct eng_pay_provider *p, const eng_pay_req *req, eng_pay_result *out);
    void *ud;
} eng_pay_provider;

/* eng_pay_register: make provider p (borrowed, lives until exit) known by
 * p->name; replaces one of the same name.  0, ENG_EINVAL, ENG_ENOMEM (at
 * most 16).  Thread-safe; call before loading pipelines that name it. */
int eng_pay_register(const eng_pay_provider *p);
/* eng_pay_find: the provider named `name` ("test" is always there), or NULL. */
const eng_pay_provider *eng_pay_find(const char *name);
/* eng_http_post: POST `body` to `url` (http or https, no redirects) with
 * `headers` ("Name: value", NULL-terminated; may be NULL), within
 * timeout_ms.  *status: the answer's HTTP status, -1 when none came.
 * 0, ENG_EIO (no answer), ENG_EINVAL, ENG_ENOMEM.  Blocks; thread-safe. */
int eng_http_post(const char *url, const char *const *headers, const char *body, int timeout_ms, long *status);

/* eng_pay_stats_get: what the checkouts of this process asked of payment
 * providers: charges by their answer, and refunds (for /metrics, and
 * the tests that count charges).  refunds counts every refund asked of a
 * provider; cancel_refunds those of cancelled orders that it accepted. */
typedef struct eng_pay_stats {
    uint64_t approved, declined, errors, refunds;
    uint64_t cancel_refunds;
} eng_pay_stats;
void eng_pay_stats_get(eng_pay_stats *out);
/* eng_pay_card_brand: "visa", "mastercard", "amex", "discover" or "card"
 * for a string of digits. */
const char *eng_pay_card_brand(const char *digits);
/* eng_pay_luhn_ok: 1 when the digits pass the Luhn check. */
int eng_pay_luhn_ok(const char *digits);

/* eng_shop_cancel: cancel a placed order of the shopper.  A paid order's
 * refund is owed from the same store transaction as the cancel (the
 * order's "refund": {"status": "pending", ...}) and given back through its
 * provider before this returns when the provider answers ("refunded");
 * a cancel of an order already cancelled (ENG_SHOP_STATE) settles a
 * refund still pending first.  Exactly once across concurrent cancels,
 * instances and crashes: see engine/refund.c.  Blocks. */
int eng_shop_cancel(const eng_shopper *w, int64_t order_id, eng_shop_result *r);
/* eng_shop_refunds_settle: give back every refund that cancelled orders
 * still owe (a crash between a cancel and its refund, a provider that did
 * not answer), each exactly once; `aisle serve` runs it at startup and
 * every few seconds.  *settled / *pending (may be NULL): how many were
 * given back now / are still owed.  0, ENG_EINVAL, ENG_EIO.  Blocks. */
int eng_shop_refunds_settle(struct store *s, size_t *settled, size_t *pending);
/* eng_shop_order: one order of the shopper into r->order; eng_shop_orders:
 * the newest `limit` as r->order = {"items": [...]} */
int eng_shop_order(const eng_shopper *w, int64_t order_id, eng_shop_result *r);
int eng_shop_orders(const eng_shopper *w, int limit, eng_shop_result *r);

/* eng_session_load: the session state saved for `sid` (a new object the
 * caller puts; {} when there is none or it expired), ready for
 * eng_turn_opts.session. Blocks on the store. Returns 0 or ENG_EIO. */
int eng_session_load(struct store *s, const char *sid, json_object **out, eng_err *err);

/* eng_session_save: after a turn, store its context's `session` for
 * `sid` (ttl_s <= 0: the store's default) and append a summary of the
 * turn (message, intent, reply text, route, time) to the session's
 * windowed history. Blocks on the store. Returns 0 or ENG_EIO. */
int eng_session_save(struct store *s, const char *sid, const eng_turn *t, int ttl_s, eng_err *err);

/* ---------------------------------------------------------------------
 * The conversation driver (engine/session.c): one shopper message of a
 * conversation, the same code for `aisle serve` (REST and WebSocket chat),
 * `aisle chat`, `aisle run` and `aisle test`.  It validates the message;
 * answers a resent message id from its first result (a kept one at once,
 * one in flight when it is kept); reads the session with that lookup;
 * runs the turn, whose changes to the shop are claimed for this attempt
 * (store_once_begin) before the first of them -- a concurrent copy of the
 * message changes nothing and is answered with the first result; saves
 * the session (counting turns), the history entry and the replay record
 * in one write, which a copy that changed nothing makes only if no answer
 * is kept yet (docs/stores.md, "One write a chat turn"); and builds the
 * reply object every channel sends.  Channels keep their transport,
 * metrics and events.
 * ------------------------------------------------------------------ */
typedef enum eng_converse_status {
    ENG_CONV_OK = 0,          /* r->reply is the answer (maybe replayed) */
    ENG_CONV_INVALID_UTF8,    /* the text is not UTF-8 */
    ENG_CONV_EMPTY,           /* the text is empty or only white space */
    ENG_CONV_TOO_LONG,        /* the text is over max_message_bytes */
    ENG_CONV_BAD_ID,          /* the message id is not 1-64 printable ASCII */
    ENG_CONV_REFUSED,         /* the engine refused the text (err says why) */
    ENG_CONV_BUSY,            /* the same message id was still being
                                 answered when the deadline came: retry */
    ENG_CONV_FAILED           /* the store or the engine failed (err) */
} eng_converse_status;

typedef struct eng_converse_opts {
    const char *text;           /* the shopper's message (required) */
    const char *session_id;     /* required */
    const char *user_id;        /* NULL: anonymous */
    const char *message_id;     /* the client's message id: with a store,
                                   the same id in the same session is
                                   answered once (replayed after); NULL:
                                   an id derived from session and text */
    const char *trace_id;       /* NULL: a random one (32 hex digits) */
    const eng_deps *deps;       /* deps->store NULL: no replay, no history,
                                   the session lives in `session` */
    json_object *session;       /* borrowed; used only without a store: the
                                   state carried in memory (r->session is
                                   the state after the turn) */
    int64_t deadline_ms;        /* 0: the pipeline's; also how long a
                                   duplicate waits for the first result */
    size_t max_message_bytes;   /* 0: no limit here */
    int session_ttl_s;          /* <= 0: the store's default */
    int replay_ttl_s;           /* how long a result answers a resent id;
                                   <= 0: 86400 */
    eng_llm_delta_fn on_delta;  /* streamed reply text; NULL: none */
    void *delta_ud;
} eng_converse_opts;

typedef struct eng_converse_result {
    eng_converse_status status;
    int replayed;               /* 1: answered from the first result; the
                                   turn did not run (turn is NULL) */
    eng_turn *turn;             /* the turn that ran (context for traces
                                   and metrics); owned */
    json_object *reply;         /* the reply object every channel sends:
                                   {sessionId, intent {name, confidence},
                                   reply {text, cards, suggestions}, cart,
                                   actions, traceId}; owned */
    json_object *session;       /* the session after the turn; owned; NULL
                                   on a replay */
    char trace_id[40];
    int64_t elapsed_us;         /* time in eng_run */
    char store_error[512];      /* "" or the store writes that failed after
                                   the turn ran (session, history, replay
                                   record): the reply stands, the caller
                                   reports them */
    char *reply_text;           /* `reply` as JSON text, doubles tidied and
                                   slashes unescaped, as the replay record
                                   keeps it (a replay: the record itself),
                                   so a channel that sends the object as it
                                   is need not print it again; owned; NULL
                                   when no record was made (no message id
                                   or no store) */
} eng_converse_result;

/* eng_converse: one message through `p` (see above).  Returns 0 with
 * r->status ENG_CONV_OK; else a negative eng_code with r->status saying
 * which and err a message: ENG_EINVAL (INVALID_UTF8, EMPTY, TOO_LONG,
 * BAD_ID, REFUSED), ENG_ETIMEDOUT (BUSY), ENG_EIO or ENG_ENOMEM (FAILED).
 * Blocks on the store and for at most about the deadline.  Thread-safe.
 * Release r with eng_converse_result_clear, whatever was returned. */
int eng_converse(eng_pipeline *p, const eng_converse_opts *o, eng_converse_result *r, eng_err *err);
void eng_converse_result_clear(eng_converse_result *r);

/* eng_json_tidy_doubles: give every double in `o` (recursively) its
 * shortest text that reads back to the same value (9.99, not
 * 9.9900000000000002), per object -- never a process-wide format.  A
 * double that has a text of its own already (tidied before, parsed by
 * json-c, made with json_object_new_double_s) keeps it, so tidying a
 * tree twice costs a walk.  Changes `o` (not thread-safe on a shared
 * tree); never fails (a double left as json-c prints it when out of
 * memory). */
void eng_json_tidy_doubles(json_object *o);

/* eng_csv_field: parse one RFC 4180 field at *p (before `end`): quotes
 * doubled inside quoted fields, which may hold commas and newlines. The
 * field is unquoted in place and returned (NUL-terminated); *p moves past
 * its delimiter; *end_of_row is set when the field ended its record. */
char *eng_csv_field(char **p, char *end, int *end_of_row);

/* eng_csv_row: read the record at *p (before `end`) with eng_csv_field
 * and pick `n` of its fields: got[i] is field number cols[i] (0-based;
 * unquoted in place, NUL-terminated, pointing into the buffer), or NULL
 * when the record has fewer fields. *p moves past the record. Returns how
 * many fields the record had, or 0 for a blank line (one empty field).
 * Allocates nothing; never fails. */
int eng_csv_row(char **p, char *end, const int *cols, const char **got, size_t n);

/* eng_utf8_valid: 1 when buf[0..len) is well-formed UTF-8, else 0. */
int eng_utf8_valid(const char *buf, size_t len);

/* eng_now_us: monotonic clock in microseconds. */
int64_t eng_now_us(void);

/* ---------------------------------------------------------------------
 * Rule dry-run: what a merchandiser's rules file would change, before it
 * is saved live (`aisle rules dry-run`).
 * ------------------------------------------------------------------ */
typedef struct eng_dry_run_opts {
    const char *carts_json;          /* sample carts: {"carts": [{"id", "promoCode"?,
                                        "products": [{"sku" (or "id"), "quantity"}]}]}
                                        or the bare list; NULL: none */
    const char *const *queries;      /* sample search queries; NULL: a built-in few */
    size_t n_queries;
    const char *memory_json;         /* ctx.memory the rules see, e.g.
                                        {"preferences": {"brand": "Nike"}}; NULL: {} */
} eng_dry_run_opts;

/* eng_rules_dry_run: compile `lua_file` on its own (syntax errors go to
 * diags as FILE:LINE:COL) and run its hooks over every product of the
 * store's catalog (price), the sample queries (boost "search", and
 * "recommend" by rating), the sample carts (price, cart_rule, promo) and
 * sample actions (on: cart.add of 1 and 11 units, cart.set of 11, an
 * order.create per cart). *report (caller puts it) is
 *   {file, products, prices: [{sku, title, before, after, rules}],
 *    ranking: [{query, hook, before, after, boosts}], carts: [{id, before,
 *    subtotal, discounts, total, ...}], vetoes: [{action, denied?, ruleId?}],
 *    ruleErrors: [...]}.
 * Reads the store, writes nothing. Returns 0, ENG_ECONFIG (the file does
 * not compile), ENG_EINVAL (bad carts JSON, in diags), ENG_ENOMEM. */
int eng_rules_dry_run(const char *lua_file, struct store *s, const eng_dry_run_opts *o,
                      json_object **report, eng_diags *diags);

/* ---------------------------------------------------------------------
 * Rule errors: every time a merchandiser's rule fails while it runs (an
 * error, a limit, the deadline) -- in a chat turn or outside one (REST
 * pricing, vetoes, the dry-run) -- the engine tells one process-wide
 * hook, so that the host can log and count it. The same failure also
 * goes into the turn's ctx.vars.ruleErrors (for the trace and the
 * inspector). A file that fails at load is a load diagnostic instead.
 * ------------------------------------------------------------------ */
typedef struct eng_rule_error {
    const char *rule_id;  /* "cart_limits.lua:on:cart.add", an explicit id,
                             or the file's name when no rule can be blamed */
    const char *file;     /* the rules file as the pipeline names it */
    int line;             /* line in that file; 0 unknown */
    const char *hook;     /* "price", "boost:search", "on:cart.add", "cart",
                             "promo:CODE" */
    const char *message;  /* what went wrong, without the position */
    const char *error;    /* the whole Lua message ("file:line: ...") */
    int denied;           /* 1: a veto failed closed, its action was denied */
} eng_rule_error;

/* Called on the thread that ran the rule; every string is borrowed for
 * the call only. Must not block for long, nor call back into rules. */
typedef void (*eng_rule_error_fn)(void *ud, const eng_rule_error *e);

/* eng_on_rule_error: make fn(ud, e) the hook (NULL: none). One hook per
 * process; a later call replaces it. Thread-safe; never blocks for long. */
void eng_on_rule_error(eng_rule_error_fn fn, void *ud);

#endif
