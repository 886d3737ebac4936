/* stores/store.h — the whole public API of aisle's data layer: users,
 * sessions, cache, catalog (search with filters and facets), carts, orders,
 * long-term memory, audit trail, refresh tokens and rate-limit counters.
 *
 * One opaque `store` handle hides which backend serves each family of data
 * (SQLite by default; Redis for the ephemeral family and MongoDB for the
 * document family at scale).  Nothing outside stores/ can tell which one it
 * has.  Every function returns 0 (STORE_OK) or a negative store_code and, when
 * `err` is not NULL, fills it with a message a person can act on.
 *
 * Threads: a store handle may be shared by any number of threads; each call
 * borrows a backend connection for its duration.  All calls block on I/O
 * (disk or network); none calls back into the caller.
 *
 * Documents crossing this boundary (sessions, memory values, audit details,
 * product JSON) are UTF-8 JSON text with camelCase keys.  Strings the store
 * returns through `char **` out-parameters are malloc'd and owned by the
 * caller (free()); structs filled by the store are released with their
 * *_clear / *_free function.  Input pointers are borrowed for the call only. */
#ifndef AISLE_STORE_H
#define AISLE_STORE_H

#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------------
 * Errors.  Codes are only ever appended; their values never change.
 * ------------------------------------------------------------------ */
typedef enum store_code {
    STORE_OK        = 0,
    STORE_ENOTFOUND = -1,   /* no such user, product, order, key */
    STORE_EEXIST    = -2,   /* unique value taken (e.g. e-mail) */
    STORE_EINVAL    = -3,   /* bad argument (NULL, empty, out of range) */
    STORE_ENOMEM    = -4,
    STORE_EIO       = -5,   /* the backend failed; msg has its words */
    STORE_EBUSY     = -6,   /* database locked longer than the busy timeout */
    STORE_ESTOCK    = -7,   /* not enough stock for an order line */
    STORE_ESTATE    = -8,   /* order not in a state that allows this */
    STORE_EEMPTY    = -9,   /* checkout of an empty cart */
    STORE_EUNAVAIL  = -10,  /* backend unreachable (server down) */
    STORE_ESCHEMA   = -11,  /* file written by a newer aisle, or damaged */
    STORE_ENOTSUP   = -12,  /* the configured backend lacks this family */
    STORE_EREVOKED  = -13,  /* refresh token reused or revoked */
    STORE_EEXPIRED  = -14,  /* refresh token expired */
    STORE_ELIMITED  = -15,  /* rate limit: no token left in the bucket */
    STORE_ECONFIG   = -16   /* bad configuration (unknown backend, URL) */
} store_code;

typedef struct store_err {
    int code;          /* a store_code */
    char msg[256];     /* NUL-terminated, for people */
} store_err;

/* store_strerror: a constant English name for a code ("not found"). */
const char *store_strerror(int code);

/* ---------------------------------------------------------------------
 * Configuration and lifetime.
 * ------------------------------------------------------------------ */
typedef enum store_backend {
    STORE_BACKEND_DEFAULT = 0,   /* SQLite unless a URL/URI picks otherwise */
    STORE_BACKEND_SQLITE  = 1,
    STORE_BACKEND_REDIS   = 2,   /* ephemeral family only */
    STORE_BACKEND_MONGO   = 3    /* document family only */
} store_backend;

/* Clock hook: milliseconds since the epoch.  Tests pass a fake clock to
 * exercise TTLs without sleeping. */
typedef int64_t (*store_clock_fn)(void *ud);

typedef struct store_config {
    const char *sqlite_path;    /* default $AISLE_DB or "var/aisle.db" */
    const char *redis_url;      /* default $AISLE_REDIS_URL (may be NULL) */
    const char *mongo_uri;      /* default $AISLE_MONGO_URI (may be NULL) */
    store_backend documents;    /* users, catalog, carts, orders, memory, audit */
    store_backend ephemeral;    /* sessions, cache, counters, tokens */
    int history_window;         /* turns kept per session history (20) */
    int session_ttl_s;          /* default session TTL in seconds (86400) */
    int pool_size;              /* connections per backend (8) */
    int busy_timeout_ms;        /* SQLite lock wait (5000) */
    const char *synonyms_path;  /* optional synonyms file for search */
    int search_cache;           /* search results kept for the same query
                                   until the catalog changes (SQLite
                                   catalog; 256; 0: none kept) */
    const char *media_dir;      /* the shop's copies of product images
                                   (store_media_*): default $AISLE_MEDIA_DIR,
                                   else "media" beside sqlite_path */
    store_clock_fn clock;       /* NULL: wall clock */
    void *clock_ud;
} store_config;

/* store_config_init: fill `cfg` with defaults, then apply the environment
 * (AISLE_DB, AISLE_REDIS_URL, AISLE_MONGO_URI, AISLE_MEDIA_DIR,
 * AISLE_SEARCH_CACHE: a number of results, 0 for none).  Strings point into the
 * environment or static storage: copy them if the environment may change.
 * A Redis URL makes Redis the ephemeral backend, a Mongo URI makes MongoDB
 * the document backend, unless the caller then sets the fields itself. */
void store_config_init(store_config *cfg);

typedef struct store store;

/* store_open: open (creating and migrating as needed) the backends chosen
 * by `cfg` (NULL: store_config_init defaults).  On success *out owns the
 * handle; close it with store_close.  Blocks on disk/network.
 * Returns 0, STORE_ECONFIG, STORE_EIO, STORE_EUNAVAIL, STORE_ESCHEMA. */
int store_open(const store_config *cfg, store **out, store_err *err);

/* store_close: release the handle and its connections; NULL is a no-op.
 * No call on the handle may be in flight. */
void store_close(store *s);

/* store_backend_name: "sqlite", "redis" or "mongo" serving a family
 * (STORE_BACKEND_SQLITE..) — for /readyz and logs, never for branching. */
const char *store_backend_name(const store *s, int ephemeral);

/* store_ping: check every backend answers.  0 or STORE_EUNAVAIL/EIO. */
int store_ping(store *s, store_err *err);

/* store_now_ms: the store's clock (the configured hook or wall time). */
int64_t store_now_ms(const store *s);

/* ---------------------------------------------------------------------
 * Users.  The caller hashes passwords (Argon2id); the store keeps the hash.
 * ------------------------------------------------------------------ */
typedef struct store_user {
    int64_t id;
    char email[256];            /* stored lower-cased */
    char name[128];
    char password_hash[256];
    int64_t created_at;         /* ms since epoch */
} store_user;

/* store_user_create: new user.  *id_out receives the id (may be NULL).
 * Returns 0, STORE_EINVAL (empty email/hash), STORE_EEXIST (email taken). */
int store_user_create(store *s, const char *email, const char *password_hash,
                      const char *name, int64_t *id_out, store_err *err);
/* store_user_get / store_user_get_by_email: fill *out.  STORE_ENOTFOUND. */
int store_user_get(store *s, int64_t id, store_user *out, store_err *err);
int store_user_get_by_email(store *s, const char *email, store_user *out,
                            store_err *err);

/* store_user_role_set / store_user_role_get: the user's role, "user" or
 * "admin".  Only an operator's command sets it (`aisle admin grant`);
 * nothing a client sends does.  Kept in the document family beside the
 * user's memory under a reserved owner that the memory calls refuse, so
 * no backend schema changes and no memory endpoint reaches it.  set
 * returns 0, STORE_EINVAL (id <= 0, role not "user"/"admin"),
 * STORE_ENOTFOUND (no such user).  get fills `role` (cap >= 8) with
 * "user" when none was granted; returns 0 or a backend error. */
int store_user_role_set(store *s, int64_t id, const char *role,
                        store_err *err);
int store_user_role_get(store *s, int64_t id, char *role, size_t cap,
                        store_err *err);
/* store_account_put / store_account_get: one small JSON record of the
 * user's account by name ("address": the saved delivery address).  Kept,
 * like the role, under a reserved owner of the memory family that the
 * memory calls refuse, so every documents backend (SQLite, MongoDB) has
 * it and neither /me/memory nor the turn context sees it.  `name` is
 * 1..63 bytes of [a-z0-9_.-]; `json` valid JSON of at most 8 KiB (the
 * caller validates the fields).  put returns 0, STORE_EINVAL,
 * STORE_ENOTFOUND (no such user) or a backend error; get fills *json_out
 * (malloc'd) or returns STORE_ENOTFOUND when none was saved.  Block. */
int store_account_put(store *s, int64_t user_id, const char *name,
                      const char *json, store_err *err);
int store_account_get(store *s, int64_t user_id, const char *name,
                      char **json_out, store_err *err);

/* ---------------------------------------------------------------------
 * Sessions (ephemeral family): one JSON document per session id with a TTL,
 * plus a conversation history windowed to cfg.history_window turns.
 * ------------------------------------------------------------------ */

/* store_session_put: replace the session document; ttl_s <= 0 uses the
 * configured default.  Returns 0, STORE_EINVAL (json not an object). */
int store_session_put(store *s, const char *sid, const char *json, int ttl_s,
                      store_err *err);
/* store_session_get: *json_out = malloc'd document.  STORE_ENOTFOUND when
 * absent or expired.  Reading does not extend the TTL; put does. */
int store_session_get(store *s, const char *sid, char **json_out,
                      store_err *err);
/* store_session_delete: drop document and history; 0 even if absent. */
int store_session_delete(store *s, const char *sid, store_err *err);
/* store_session_append_turn: append one turn (any JSON value) to the
 * history, dropping the oldest beyond the window, and refresh the TTL. */
int store_session_append_turn(store *s, const char *sid, const char *turn_json,
                              store_err *err);
/* store_session_save: store_session_put and store_session_append_turn as
 * one write (turn_json NULL: the put alone): on SQLite one group commit
 * (both or neither), elsewhere the two calls in that order.  Returns
 * when both are written; 0 or the first failure's code. */
int store_session_save(store *s, const char *sid, const char *json, int ttl_s,
                       const char *turn_json, store_err *err);
/* store_session_save_replay: store_session_save(sid, json, ttl_s,
 * turn_json) and store_once_finish(key, result, once_ttl_s) as one write:
 * on SQLite one group commit (the two in one transaction, each with its
 * own outcome: one failing leaves the other written), elsewhere the two
 * calls in that order.  Returns when both are written: the session save's
 * code; *once_rc (never NULL) the replay record's, with its message in
 * *once_err (may be NULL).  Blocks. */
int store_session_save_replay(store *s, const char *sid, const char *json, int ttl_s,
                              const char *turn_json, const char *key, const char *result,
                              int once_ttl_s, int *once_rc, store_err *once_err, store_err *err);
/* store_session_save_once: the first answer to a message, kept with its
 * session: the replay record `result` for key (1..255 bytes, kept
 * once_ttl_s seconds) is written only when the key has no live record
 * (none, or an expired reservation or result), and then, in the same
 * write, store_session_save(sid, json, ttl_s, turn_json); otherwise
 * nothing is written.  On SQLite one group commit (one transaction), on
 * Redis one script; a backend without the op reserves the key
 * (store_once_begin) and then saves with store_session_save_replay.
 * Returns 0: all written; STORE_EEXIST: the key has a live result,
 * *first_out (malloc'd) is it; STORE_EBUSY: another caller holds the key
 * (store_once_begin) -- wait for its result (store_once_peek); nothing
 * written on either; else an error of the write (nothing written).
 * *first_out is NULL on every return but STORE_EEXIST.  The caller must
 * not hold the key itself (it would find its own reservation: use
 * store_session_save_replay).  Blocks. */
int store_session_save_once(store *s, const char *sid, const char *json, int ttl_s,
                            const char *turn_json, const char *key, const char *result,
                            int once_ttl_s, char **first_out, store_err *err);
/* store_session_history: *json_out = JSON array of the kept turns, oldest
 * first ("[]" when none or expired). */
int store_session_history(store *s, const char *sid, char **json_out,
                          store_err *err);

/* Cache (ephemeral family): opaque values with a TTL. */
int store_cache_put(store *s, const char *key, const char *value, int ttl_s,
                    store_err *err);
/* store_cache_get: *value_out malloc'd; STORE_ENOTFOUND when absent/expired. */
int store_cache_get(store *s, const char *key, char **value_out,
                    store_err *err);

/* ---------------------------------------------------------------------
 * Catalog.
 * ------------------------------------------------------------------ */
typedef struct store_product {
    char *sku;                  /* required, unique */
    char *title;                /* required */
    char *brand;                /* may be NULL */
    char *category;             /* may be NULL */
    char *description;          /* may be NULL */
    char *thumbnail;            /* may be NULL */
    char **images;              /* n_images URLs */
    size_t n_images;
    char **tags;                /* n_tags words */
    size_t n_tags;
    double price;               /* >= 0 */
    double discount_pct;        /* 0..100 */
    double rating;              /* 0..5 */
    int64_t stock;              /* >= 0 */
    int price_missing;          /* 1: the catalog gives no price (an import
                                   without a price column): shown, never
                                   sold; `price` is 0 and means nothing */
    int stock_untracked;        /* 1: the catalog keeps no stock for it
                                   (an import without a stock column):
                                   always available, never decremented,
                                   `stock` is 0 and means nothing */
    char *thumbnail_media;      /* the shop's own copy of `thumbnail` as the
                                   gateway serves it ("/media/<sha256>.jpg"),
                                   filled by store_product_get and
                                   store_search when one is stored (aisle
                                   import --fetch-images); NULL otherwise.
                                   `thumbnail` keeps the source URL. Never
                                   written by an upsert. */
    char **images_media;        /* NULL, or n_images entries: the shop's
                                   copy of each image, or NULL for one not
                                   stored (as thumbnail_media) */
    char *facts;                /* may be NULL: the product's other facts as
                                   a JSON object text, with these keys when
                                   the catalog has them: "warranty",
                                   "shipping", "returns" (strings), "weight"
                                   (number, as the catalog gives it),
                                   "dimensions" (object {width,height,depth}
                                   numbers), "minOrder" (integer). Written
                                   by upsert, read by store_product_get (not
                                   needed by search hits). At most 4 KiB; a
                                   larger value is refused by upsert with
                                   STORE_EINVAL (as is text that is not a
                                   JSON object). An upsert without facts
                                   stores none (as description, brand). */
} store_product;

/* The most bytes of store_product.facts an upsert accepts. */
#define STORE_PRODUCT_FACTS_MAX 4096

/* store_product_clear: free every field of a product the store filled. */
void store_product_clear(store_product *p);
/* store_product_copy: *dst = a copy of *src that owns its own strings
 * (every field, the media names included; src is not changed). Returns
 * 0, or STORE_ENOMEM with *dst cleared. Clear dst with
 * store_product_clear. Does not block. */
int store_product_copy(store_product *dst, const store_product *src);
/* store_product_to_json: *json_out = malloc'd camelCase document
 * (sku, title, brand, category, price, discountPercentage, rating, stock,
 * description, thumbnail, images, tags, and "facts" as a JSON object when
 * the product has them).  Where the shop has its own copy
 * of an image (thumbnail_media, images_media) `thumbnail` and `images`
 * name the copy and "originalThumbnail" / "originalImages" keep the
 * source URLs; store_product_from_json reads those back as the sources,
 * so a document read and written back keeps them. */
int store_product_to_json(const store_product *p, char **json_out,
                          store_err *err);
/* store_product_to_object: the same document as a json-c object (a new
 * reference, json_object_put it), for a caller that goes on to change or
 * nest it rather than print it: no printing and parsing back.  NULL when
 * p is NULL or memory runs out.  Declared with the struct's tag so that
 * this header needs no json-c; json-c's json_object is that struct. */
struct json_object *store_product_to_object(const store_product *p);
/* store_product_from_json: parse one product document (the camelCase keys
 * above; DummyJSON's shape is accepted as is: without a "facts" object,
 * warrantyInformation, shippingInformation, returnPolicy, weight,
 * dimensions and minimumOrderQuantity become the facts).  Facts keep
 * only the keys listed at store_product.facts, of the right types,
 * strings cut to 512 bytes; anything else in them is dropped, never
 * refused.  Fills *out (clear it
 * after).  Returns 0 or STORE_EINVAL with the reason in err. */
int store_product_from_json(const char *json, store_product *out,
                            store_err *err);

/* store_product_upsert: insert or update by sku (re-import never
 * duplicates) and reindex it.  Returns 0, STORE_EINVAL (no sku/title,
 * negative price/stock). */
int store_product_upsert(store *s, const store_product *p, store_err *err);
/* store_product_upsert_many: the same for n products in one transaction
 * (much faster for imports).  Stops at the first invalid product:
 * *failed_index (may be NULL) gets its index, nothing is written. */
int store_product_upsert_many(store *s, const store_product *p, size_t n,
                              size_t *failed_index, store_err *err);
/* store_product_get: fill *out by sku.  STORE_ENOTFOUND. */
int store_product_get(store *s, const char *sku, store_product *out,
                      store_err *err);
/* store_product_delete: remove by sku.  STORE_ENOTFOUND. */
int store_product_delete(store *s, const char *sku, store_err *err);
/* store_product_count: number of products. */
int store_product_count(store *s, int64_t *n_out, store_err *err);
/* store_product_each: call fn for every product, in no particular order,
 * streaming (nothing is held for the whole catalog); the product is
 * borrowed for the call.  fn returns nonzero to stop early: that value is
 * returned.  Writes during the walk may or may not be seen. */
typedef int (*store_product_fn)(void *ud, const store_product *p);
int store_product_each(store *s, store_product_fn fn, void *ud, store_err *err);
/* store_catalog_generation: a number that changes on every catalog write
 * (upsert, delete, import, from any process sharing the store), for
 * caches built from the catalog.  STORE_ENOTSUP where the backend keeps
 * none (the caller then refreshes by age). */
int store_catalog_generation(store *s, int64_t *gen_out, store_err *err);

typedef enum store_sort {
    STORE_SORT_RELEVANCE = 0,   /* empty text: by rating, then sku */
    STORE_SORT_PRICE_ASC,
    STORE_SORT_PRICE_DESC,
    STORE_SORT_RATING
} store_sort;

/* Search flags. */
#define STORE_SEARCH_FACETS   0x1   /* fill category/brand/price facets */
#define STORE_SEARCH_PLAIN    0x2   /* baseline: words OR'ed, plain BM25, no
                                       correction/synonyms/units/proximity */
#define STORE_SEARCH_NO_SPELL 0x4   /* no spelling correction */
#define STORE_SEARCH_CATEGORY_FACET 0x10 /* the category facet alone (what
                                       a chat reply uses): no brand or
                                       price queries */
#define STORE_SEARCH_ALL_WORDS 0x8  /* every word of the text (or one of its
                                       spellings or synonyms) must match:
                                       a refinement ("shoes" then "red")
                                       narrows instead of widening */

typedef struct store_search_query {
    const char *text;           /* shopper text, any bytes; NULL/"" = browse */
    const char *category;       /* exact filter or NULL */
    const char *brand;          /* exact filter (case-insensitive) or NULL */
    const char *not_brand;      /* leaves this brand out (case-insensitive), or NULL */
    const char *not_word;       /* leaves out products whose title holds this
                                   word (ASCII case-insensitive, as a part of
                                   the title: "iphone" leaves "iPhone X" out),
                                   or NULL: "a phone but not an iphone" */
    double price_min;           /* < 0: none */
    double price_max;           /* < 0: none */
    double min_rating;          /* <= 0: none */
    int in_stock;               /* 1: stock > 0 only */
    store_sort sort;
    int offset;                 /* >= 0 */
    int limit;                  /* 1..200; 0 means 20 */
    int flags;                  /* STORE_SEARCH_* */
} store_search_query;

/* store_search_query_init: no filters, relevance, limit 20. */
void store_search_query_init(store_search_query *q);

typedef struct store_search_hit {
    store_product product;
    double score;               /* higher is better; comparable per query */
} store_search_hit;

typedef struct store_facet {
    char *value;                /* category, brand, or "0-25" price bucket */
    int64_t count;
} store_facet;

typedef struct store_search_result {
    store_search_hit *hits;
    size_t n_hits;
    int64_t total;              /* matches before pagination */
    store_facet *categories, *brands, *prices;
    size_t n_categories, n_brands, n_prices;
    char *corrected;            /* the query as understood after spelling
                                   correction, when it changed; else NULL */
} store_search_result;

/* store_search: full-text search with filters, sort, pagination and
 * (flag) facets.  The text is never interpreted as query syntax: quotes,
 * '*', AND/OR/NEAR and SQL fragments are ordinary words.  Fills *out (free
 * with store_search_result_free).  Returns 0 (also for no hits), EINVAL. */
int store_search(store *s, const store_search_query *q,
                 store_search_result *out, store_err *err);
void store_search_result_free(store_search_result *r);

/* ---------------------------------------------------------------------
 * Media: the shop's own copies of product images, so that its pages do
 * not depend on a third-party CDN.  `aisle import --fetch-images` fetches
 * them; the gateway serves them at STORE_MEDIA_PATH<name>.  Kept as files
 * under store_config.media_dir whatever backend holds the documents: one
 * file per distinct content, named <sha256 hex>.<ext> by its sniffed
 * type, written once and never changed, and an index from source URL to
 * file (media_dir/index.tsv, appended under flock).  Instances that serve
 * one catalog share the directory.  Every call blocks on the disk.
 * ------------------------------------------------------------------ */
#define STORE_MEDIA_MAX_BYTES (5 * 1024 * 1024)   /* largest copy kept */
#define STORE_MEDIA_NAME_MAX 72                   /* "<64 hex>.avif" + NUL */
#define STORE_MEDIA_URL_MAX 2048                  /* longest source URL */
#define STORE_MEDIA_PATH "/media/"                /* where the gateway serves them */

/* store_media_sniff: the image type of `bytes` by its magic numbers, never
 * by what a server declared: "image/jpeg", "image/png", "image/webp",
 * "image/gif" or "image/avif", with *ext (may be NULL) "jpg", "png",
 * "webp", "gif", "avif"; NULL (and *ext NULL) for anything else. */
const char *store_media_sniff(const void *bytes, size_t len, const char **ext);
/* store_media_name_valid: 1 when name is one store_media_put writes
 * (64 lower-case hex digits, '.', a known extension): no path, no dots
 * to climb out of the directory.  0 otherwise. */
int store_media_name_valid(const char *name);
/* store_media_url_valid: 1 for an http:// or https:// URL of at most
 * STORE_MEDIA_URL_MAX bytes without control characters. */
int store_media_url_valid(const char *url);
/* store_media_dir: the directory in use (borrowed; lives as the store). */
const char *store_media_dir(const store *s);
/* store_media_put: keep `bytes` (1..STORE_MEDIA_MAX_BYTES, a sniffed
 * image) as the copy of `url` (store_media_url_valid).  sha256_hex is the
 * content's SHA-256 as 64 lower-case hex digits: the caller hashes
 * (stores/ links no crypto library).  The file is written through a
 * temporary and a rename, and only when absent, so equal content from two
 * URLs is one file; name_out (may be NULL, STORE_MEDIA_NAME_MAX bytes)
 * gets its name.  Returns 0, STORE_EINVAL (the message says which
 * check), STORE_EIO. */
int store_media_put(store *s, const char *url, const void *bytes, size_t len,
                    const char *sha256_hex, char *name_out, store_err *err);
/* store_media_lookup: the stored copy of `url` into name
 * (STORE_MEDIA_NAME_MAX bytes).  0 or STORE_ENOTFOUND.  Re-reads the
 * index only when the file changed (one stat per call). */
int store_media_lookup(store *s, const char *url, char *name, store_err *err);
/* store_media_read: the bytes of a stored copy (malloc'd, *len bytes)
 * and its content type (static).  STORE_EINVAL when name is not
 * store_media_name_valid, STORE_ENOTFOUND, STORE_EIO, STORE_ENOMEM. */
int store_media_read(store *s, const char *name, char **bytes, size_t *len,
                     const char **content_type, store_err *err);
/* store_media_open: the same copy opened for streaming: *fd (read-only,
 * close-on-exec; the caller closes it), *len its size, *content_type.
 * Returns as store_media_read, without reading the bytes: a server sends
 * a large copy in pieces instead of holding it whole per request. */
int store_media_open(store *s, const char *name, int *fd, size_t *len,
                     const char **content_type, store_err *err);

/* ---------------------------------------------------------------------
 * Carts, keyed by a caller-chosen cart id ("anon:<sid>", "user:<id>").
 * ------------------------------------------------------------------ */
typedef struct store_cart_item {
    char sku[128];
    char title[256];
    int64_t qty;
    double unit_price;          /* current catalog price */
} store_cart_item;

typedef struct store_cart {
    store_cart_item *items;     /* in order of addition */
    size_t n_items;
    double subtotal;
} store_cart;

void store_cart_clear_struct(store_cart *c);
/* store_cart_get: fill *out (empty cart when none). */
int store_cart_get(store *s, const char *cart_id, store_cart *out,
                   store_err *err);
/* store_cart_set_qty: set a line's quantity (0 removes it).
 * STORE_ENOTFOUND (no such product), STORE_EINVAL (qty < 0). */
int store_cart_set_qty(store *s, const char *cart_id, const char *sku,
                       int64_t qty, store_err *err);
/* store_cart_remove: remove a line; 0 even when absent. */
int store_cart_remove(store *s, const char *cart_id, const char *sku,
                      store_err *err);
/* store_cart_clear: empty the cart. */
int store_cart_clear(store *s, const char *cart_id, store_err *err);
/* store_cart_merge: add every line of `from` into `into` (quantities
 * summed) and empty `from`, atomically.  Used at login. */
int store_cart_merge(store *s, const char *from, const char *into,
                     store_err *err);

/* ---------------------------------------------------------------------
 * Orders.
 * ------------------------------------------------------------------ */
typedef struct store_order_line {
    char sku[128];
    char title[256];
    int64_t qty;
    double unit_price;
} store_order_line;

typedef struct store_order {
    int64_t id;
    int64_t user_id;
    char status[16];            /* "placed", "shipped", "cancelled" */
    char idempotency_key[128];
    double total;
    int64_t created_at;         /* ms */
    store_order_line *lines;
    size_t n_lines;
    char *pricing_json;         /* the pricing agreed at checkout (rules,
                                   discounts), malloc'd; NULL when the
                                   order was placed at catalog prices */
    int replayed;               /* set by store_order_place: 1 when the
                                   idempotency key had already placed this
                                   order (nothing was done this time) */
    char *refund_json;          /* the refund its cancel owes or made, a
                                   JSON object {"status": "pending" |
                                   "refunded", "amount", "reference",
                                   "provider", ...}, malloc'd; NULL: none */
} store_order;

void store_order_clear(store_order *o);
/* store_order_create: turn cart `cart_id` into an order for `user_id`.
 * In one transaction: checks and decrements stock, writes the order,
 * empties the cart.  The same idempotency key (per user) returns the
 * same order without side effects.  Concurrent checkouts of the last
 * unit: exactly one succeeds, the others get STORE_ESTOCK.
 * Returns 0, STORE_EEMPTY, STORE_ESTOCK, STORE_EINVAL, STORE_EBUSY. */
int store_order_create(store *s, int64_t user_id, const char *cart_id,
                       const char *idempotency_key, store_order *out,
                       store_err *err);
/* store_order_create_priced: the same, at the prices the shopper agreed
 * to (promotions, discounts). pricing_json is
 *   {"total": T, "items": [{"sku": S, "finalPrice": P, ...}], ...}
 * (the engine's priced cart): each line is stored at its finalPrice (the
 * catalog price for skus it does not list), the order's total is T, and
 * the whole document is kept with the order (store_order.pricing_json)
 * so support can explain every price. A "delivery": {"price": D} member
 * is charged on top: T may exceed the catalog subtotal by D. STORE_EINVAL
 * when it is not that shape, T is negative, D is outside 0..T, or T - D
 * is above the catalog subtotal. */
int store_order_create_priced(store *s, int64_t user_id, const char *cart_id,
                              const char *idempotency_key, const char *pricing_json,
                              store_order *out, store_err *err);
/* store_order_get: fill *out.  STORE_ENOTFOUND. */
int store_order_get(store *s, int64_t order_id, store_order *out,
                    store_err *err);
/* store_order_list: newest first, at most `limit` (0: 50).  *out is a
 * malloc'd array of *n orders; free with store_order_list_free. */
int store_order_list(store *s, int64_t user_id, int limit, store_order **out,
                     size_t *n, store_err *err);
void store_order_list_free(store_order *orders, size_t n);
/* store_order_cancel: cancel a "placed" order of `user_id` and put its
 * stock back.  STORE_ENOTFOUND (not this user's), STORE_ESTATE. */
int store_order_cancel(store *s, int64_t user_id, int64_t order_id,
                       store_err *err);
/* store_order_set_status: operator move ("shipped"); STORE_ESTATE when
 * the order is cancelled. */
int store_order_set_status(store *s, int64_t order_id, const char *status,
                           store_err *err);

/* ---------------------------------------------------------------------
 * Exactly-once effects.  An effect (a cart change, an order, a
 * cancellation) may carry an idempotency key and an audit record: the key
 * is reserved and the audit row written in the same transaction as the
 * effect (SQLite), or by one conditional write / transaction (MongoDB),
 * so a repeat of the key -- concurrent or after a crash -- returns the
 * first outcome and changes and audits nothing.
 * ------------------------------------------------------------------ */
typedef struct store_audit_rec {
    const char *actor;          /* "user:7", "session:abc" */
    const char *action;         /* "cart.add", "order.create", ... */
    const char *subject;        /* "order:12", a cart id, a sku */
    const char *detail_json;    /* may be NULL */
} store_audit_rec;

typedef enum store_cart_op {
    STORE_CART_ADD = 1,         /* qty += n (the line is created) */
    STORE_CART_SET = 2,         /* qty = n; 0 removes the line */
    STORE_CART_REMOVE = 3,      /* remove the line */
    STORE_CART_CLEAR = 4        /* empty the cart */
} store_cart_op;

typedef struct store_cart_change {
    const char *cart_id;
    store_cart_op op;
    const char *sku;            /* NULL for CLEAR */
    int64_t qty;                /* n for ADD (>= 1) and SET (>= 0) */
    int64_t max_qty;            /* cap on the line after the change (besides
                                   stock); <= 0: none */
    const char *idempotency_key;/* NULL: no replay protection */
    const store_audit_rec *audit;/* NULL: none */
    store_cart *cart_after;     /* NULL, or where a backend that can puts the
                                   cart's lines as the change left them, read
                                   in the change's own transaction (as they
                                   are, on a replay): see outcome.cart_read */
} store_cart_change;

typedef struct store_cart_outcome {
    int64_t qty;                /* the line's quantity after the change
                                   (after the first change, on a replay) */
    int64_t stock;              /* the product's stock when it was checked; -1: not kept */
    int replayed;               /* 1: the key had been used; nothing done */
    int cart_read;              /* 1: c->cart_after was filled (the caller
                                   frees it with store_cart_clear_struct);
                                   0: it was not (left empty), read the cart
                                   with store_cart_get */
} store_cart_outcome;

/* store_cart_apply: one atomic cart change.  ADD is an atomic increment
 * (never read-modify-write by the caller); ADD and SET check, in the same
 * transaction, that the product exists (STORE_ENOTFOUND) and that the new
 * quantity is within stock and max_qty (STORE_ESTOCK, out->stock set).
 * REMOVE of an absent line: STORE_ENOTFOUND.  With a key (1..511 bytes,
 * already scoped to the cart: another cart's equal key is another key), the first outcome is kept with the cart; a repeat
 * returns it with replayed = 1 and changes and audits nothing.  Only a
 * change that succeeded keeps its key: a refused one may be retried with
 * the same key.  The audit row's subject defaults to the cart id.
 * Returns 0, STORE_ENOTFOUND, STORE_ESTOCK, STORE_EINVAL (arguments, or
 * an audit record without actor/action or with detail that is not JSON),
 * STORE_EBUSY, STORE_EIO.  Blocks.  With c->cart_after, the SQLite
 * backend also returns the cart after a change that succeeded (or was
 * replayed), saving the caller its own read; a failed change leaves it
 * empty and cart_read 0. */
int store_cart_apply(store *s, const store_cart_change *c,
                     store_cart_outcome *out, store_err *err);

typedef struct store_order_req {
    int64_t user_id;
    const char *cart_id;
    const char *idempotency_key;/* required; unique per user */
    const char *pricing_json;   /* as store_order_create_priced; NULL:
                                   catalog prices */
    const store_audit_rec *audit;/* written with the order, not on replay;
                                   its detail gets "orderId" added */
} store_order_req;

/* store_order_place: store_order_create(_priced) in one transaction with
 * the audit record; out->replayed tells a replay of the key from a new
 * order (never guessed from timestamps).  The audit detail must be a JSON
 * object or NULL (STORE_EINVAL otherwise, nothing done); its subject
 * defaults to "order:<id>".  Returns as store_order_create.  Blocks. */
int store_order_place(store *s, const store_order_req *req, store_order *out,
                      store_err *err);

/* store_order_cancel_audited: store_order_cancel with the audit record
 * written in the same transaction (NULL: none; subject defaults to
 * "order:<id>"); a cancel that fails (STORE_ESTATE, ...) writes none. */
int store_order_cancel_audited(store *s, int64_t user_id, int64_t order_id,
                               const store_audit_rec *audit, store_err *err);
/* store_order_cancel_refund: store_order_cancel_audited that also keeps
 * refund_json (a JSON object, status "pending": the refund the cancel
 * owes) with the order, in the same transaction (SQLite) or the same
 * conditional write as the status flip (MongoDB): an order is never
 * cancelled without the record of the money it owes back.  NULL: none.
 * STORE_EINVAL when refund_json is not a JSON object.  Blocks. */
int store_order_cancel_refund(store *s, int64_t user_id, int64_t order_id,
                              const store_audit_rec *audit,
                              const char *refund_json, store_err *err);
/* store_order_refund_set: replace a cancelled order's refund record with
 * refund_json (a JSON object), only while its status is still "pending"
 * (so a settled refund is never reopened).  STORE_ENOTFOUND (no order),
 * STORE_ESTATE (not cancelled, no refund owed, or no longer pending),
 * STORE_EINVAL.  Blocks. */
int store_order_refund_set(store *s, int64_t order_id, const char *refund_json,
                           store_err *err);
/* store_order_refunds_pending: the ids of orders whose refund record's
 * status is "pending", oldest first, at most `limit` (0: 100).  *ids is
 * malloc'd (free()), NULL when *n is 0.  Blocks. */
int store_order_refunds_pending(store *s, int limit, int64_t **ids, size_t *n,
                                store_err *err);

/* Replays of whole requests (ephemeral family): a chat message resent with
 * the same client message id, answered from its first result.
 * store_once_begin: try to reserve `key` (1..255 bytes) for lease_ms > 0
 * (a holder that crashes frees it when the lease runs out; leases follow
 * the store clock).  Returns 0: reserved, the caller does the work and
 * then store_once_finish (or store_once_abort); STORE_EEXIST: finished
 * before, *result_out (malloc'd) is its result; STORE_EBUSY: another
 * caller holds it now -- wait and call again.  *result_out is NULL on
 * every other return.  There is no holder token: finish/abort by a holder
 * whose lease ran out act on the key whoever holds it now, so choose a
 * lease longer than the work. */
int store_once_begin(store *s, const char *key, int lease_ms,
                     char **result_out, store_err *err);
/* store_once_finish: keep `result` for key for ttl_s seconds (<= 0: the
 * session TTL).  STORE_EEXIST when the key already has a live result: the
 * first one is kept. */
int store_once_finish(store *s, const char *key, const char *result,
                      int ttl_s, store_err *err);
/* store_once_peek: the state of key, read only: 0 when it has no live
 * reservation or result; STORE_EEXIST with *result_out (malloc'd) its
 * result; STORE_EBUSY while a caller holds it.  *result_out is NULL on
 * every other return.  A waiter polls this rather than store_once_begin
 * (a read, not a write transaction).  Blocks. */
int store_once_peek(store *s, const char *key, char **result_out, store_err *err);
/* store_session_get_replay: what a message's turn reads before it runs,
 * in one read (one connection and one read transaction on SQLite, one
 * round trip on Redis): store_once_peek(key) and, when that finds
 * nothing, store_session_get(sid).  Returns the peek's code: 0 with
 * *json_out the session (malloc'd; NULL when none or expired),
 * STORE_EEXIST with *result_out (malloc'd), STORE_EBUSY, or an error.
 * Both outs are NULL on every other return.  Blocks. */
int store_session_get_replay(store *s, const char *sid, const char *key, char **json_out,
                             char **result_out, store_err *err);
/* store_once_abort: release a reservation without a result; 0 also when
 * there is none.  A finished key keeps its result. */
int store_once_abort(store *s, const char *key, store_err *err);

/* ---------------------------------------------------------------------
 * Events between instances (ephemeral family): what one `aisle serve`
 * publishes reaches the subscribers of every instance that shares the
 * backend, itself included: a cart changed through one instance updates
 * the open chats on all of them. Redis: PUBLISH/SUBSCRIBE on channels
 * under the key prefix; delivery is at most once and only to instances
 * subscribed at that moment (a reconnecting subscriber misses what was
 * published meanwhile). SQLite: STORE_ENOTSUP (one instance only).
 * ------------------------------------------------------------------ */
typedef void (*store_event_fn)(void *ud, const char *msg, size_t len);
typedef struct store_sub store_sub;

/* store_event_publish: send msg (len bytes, any content) on channel.
 * 0, STORE_ENOTSUP, STORE_EUNAVAIL, STORE_EINVAL. */
int store_event_publish(store *s, const char *channel, const char *msg,
                        size_t len, store_err *err);
/* store_event_subscribe: call fn(ud, msg, len) on a thread of the
 * store's for every message on channel until store_event_unsubscribe;
 * reconnects by itself after an outage (0.1 s, doubling up to 2 s).
 * The backend need not be reachable now. 0, STORE_ENOTSUP, STORE_ENOMEM. */
int store_event_subscribe(store *s, const char *channel, store_event_fn fn,
                          void *ud, store_sub **out, store_err *err);
/* store_event_unsubscribe: stop and join the subscriber; after it returns
 * fn is never called again. NULL is a no-op. Call before store_close. */
void store_event_unsubscribe(store *s, store_sub *sub);

/* ---------------------------------------------------------------------
 * Long-term memory: per user, namespaced ("preferences", "sizes",
 * "brands", "purchases") key -> JSON value.
 * ------------------------------------------------------------------ */
int store_memory_put(store *s, int64_t user_id, const char *ns,
                     const char *key, const char *json, store_err *err);
/* store_memory_get: *json_out malloc'd.  STORE_ENOTFOUND. */
int store_memory_get(store *s, int64_t user_id, const char *ns,
                     const char *key, char **json_out, store_err *err);
/* store_memory_list: *json_out = {"key": value, ...} for one namespace,
 * or {"ns": {"key": value}} for all when ns is NULL. */
int store_memory_list(store *s, int64_t user_id, const char *ns,
                      char **json_out, store_err *err);
int store_memory_delete(store *s, int64_t user_id, const char *ns,
                        const char *key, store_err *err);

/* ---------------------------------------------------------------------
 * Audit trail: append-only.
 * ------------------------------------------------------------------ */
/* store_audit_append: record {actor, action, subject, detail, time}.
 * detail_json may be NULL. */
int store_audit_append(store *s, const char *actor, const char *action,
                       const char *subject, const char *detail_json,
                       store_err *err);
/* store_audit_list: *json_out = JSON array of events, newest first,
 * filtered by actor/subject when not NULL, at most limit (0: 100). */
int store_audit_list(store *s, const char *actor, const char *subject,
                     int limit, char **json_out, store_err *err);

/* ---------------------------------------------------------------------
 * Refresh tokens (ephemeral family).  The caller hashes tokens; the store
 * never sees a raw token.
 * ------------------------------------------------------------------ */
typedef struct store_token {
    char family[64];
    int64_t user_id;
    int64_t expires_at;         /* ms */
} store_token;

/* store_token_put: remember a new token hash in `family`. */
int store_token_put(store *s, const char *token_hash, const char *family,
                    int64_t user_id, int64_t expires_at, store_err *err);
/* store_token_rotate: exchange old for new (same family), atomically.
 * *out gets the family and user.  A hash already rotated (reuse) revokes
 * the whole family and returns STORE_EREVOKED (*out still gets the
 * family and user, so the caller can end that family's access tokens);
 * STORE_EEXPIRED, STORE_ENOTFOUND otherwise. */
int store_token_rotate(store *s, const char *old_hash, const char *new_hash,
                       int64_t new_expires_at, store_token *out,
                       store_err *err);
/* store_token_revoke_family: logout everywhere for that family. */
int store_token_revoke_family(store *s, const char *family, store_err *err);

/* ---------------------------------------------------------------------
 * Counters (ephemeral family).
 * ------------------------------------------------------------------ */
/* store_ratelimit_take: atomic token bucket `key` refilling `rate` tokens
 * per second up to `burst`; takes one token at time `now_ms`.
 * Returns 0 when allowed, STORE_ELIMITED when not, with *retry_after_s
 * (may be NULL) = seconds until a token is available (0 when allowed). */
int store_ratelimit_take(store *s, const char *key, double rate, double burst,
                         int64_t now_ms, double *retry_after_s,
                         store_err *err);
/* store_counter_add: atomically add delta; *value_out the new value. */
int store_counter_add(store *s, const char *key, int64_t delta,
                      int64_t *value_out, store_err *err);

#endif
