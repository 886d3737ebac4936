/* engine/session_memo.c — the session as json-c would read it, kept from
 * the save before, so that a turn whose stored session is still the text
 * this process wrote last does not parse it again (json_tokener: about
 * 120,000 instructions for a 1 KB session, more than a cart change).
 *
 * It is a memo of parse(text), not state: the session still comes from
 * the store every turn, and an entry is used only when the text the store
 * gave back is byte for byte the text the entry was made from.  Another
 * instance's write, a failed save or a session changed by any other path
 * is a different text: a miss, and the text is parsed as before.
 *
 * An entry is a copy made when the session was printed for its save (the
 * turn's object goes on to the reply and the caller), built as the parser
 * would build it from that text: every double keeps the text it was
 * printed as (json_object_new_double_s), so that eng_json_tidy_doubles and
 * the printer treat it as they treat a parsed one.  A hit moves the entry
 * out (the turn then owns it alone: json-c objects are not shared between
 * threads); a concurrent turn of the same session misses and parses.
 *
 * Bounded: ENG_MEMO_SLOTS slots by hash of the session id (a collision
 * replaces), texts up to ENG_MEMO_MAX_TEXT bytes and ENG_MEMO_BUDGET bytes
 * of texts in all (the objects take about ten times their text: a 1 KB
 * session of the commerce mix, 10 KB; every slot full of those, 10 MB),
 * nesting up to ENG_MEMO_MAX_DEPTH (json_tokener's own limit is 32:
 * deeper texts are left to it, so a session it refuses stays refused). */
#include "eng_int.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ENG_MEMO_SLOTS 1024        /* a power of two */
#define ENG_MEMO_STRIPES 32
#define ENG_MEMO_MAX_TEXT (8 * 1024)
#define ENG_MEMO_BUDGET (4 * 1024 * 1024)
#define ENG_MEMO_MAX_DEPTH 24

typedef struct memo_entry {
    json_object *obj;   /* owned */
    size_t len;         /* of the text */
    char *sid;          /* points into text's block, after the text */
    char text[];        /* text NUL sid NUL */
} memo_entry;

static memo_entry *slots[ENG_MEMO_SLOTS];
static pthread_mutex_t stripes[ENG_MEMO_STRIPES] = {
#define M1 PTHREAD_MUTEX_INITIALIZER
#define M4 M1, M1, M1, M1
    M4, M4, M4, M4, M4, M4, M4, M4,
#undef M4
#undef M1
};
static atomic_ullong n_hits, n_misses, n_puts;
static atomic_size_t held;   /* bytes of the kept texts */
static atomic_int enabled = 1;

static size_t slot_of(const char *sid)
{
    uint64_t h = 1469598103934665603ull;   /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)sid; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return (size_t)(h & (ENG_MEMO_SLOTS - 1));
}

static void entry_free(memo_entry *e)
{
    if (e) {
        atomic_fetch_sub_explicit(&held, e->len, memory_order_relaxed);
        json_object_put(e->obj);
        free(e);
    }
}

/* json-c's text for a double that has none of its own, as its default
 * serializer writes it: "%.17g" (in the C locale) with ".0" added when
 * that reads as an integer.  snprintf's "%.17g" costs about 4,000
 * instructions, more than the rest of a double's copy; here the 17
 * digits come from exact integer arithmetic (the double is m * 2^e2, m
 * under 2^53; m * 10^k fits 128 bits for the k used), rounded half to
 * even as glibc rounds an exact decimal expansion, in about 300.  Only
 * for the numbers "%.17g" writes without an exponent (1e-4 <= |d| <
 * 1e17 after rounding) and zeros; false for any other (NaN, infinities,
 * subnormals, exponents): the caller asks json-c.  b holds at least 32
 * bytes.  Exposed for its test as eng__session_memo_double_text. */
static const uint64_t pow10_u64[20] = {
    1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
    100000000ull, 1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull,
    10000000000000ull, 100000000000000ull, 1000000000000000ull, 10000000000000000ull,
    100000000000000000ull, 1000000000000000000ull, 10000000000000000000ull,
};

/* floor(m * 2^e2 * 10^k) for 0 <= k <= 22, -120 <= e2 <= 4, and whether
 * the rest is over, at or under one half (*half: 1, 0, -1) */
static unsigned __int128 scaled(uint64_t m, int e2, int k, int *half)
{
    unsigned __int128 n = (unsigned __int128)m * pow10_u64[k < 19 ? k : 18];
    if (k > 18)
        n *= pow10_u64[k - 18];
    if (e2 >= 0) {
        *half = -1;   /* an integer: no rest */
        return n << e2;
    }
    unsigned s = (unsigned)-e2;
    unsigned __int128 rest = n & (((unsigned __int128)1 << s) - 1), mid = (unsigned __int128)1 << (s - 1);
    *half = rest > mid ? 1 : rest == mid ? 0 : -1;
    return n >> s;
}

int eng__session_memo_double_text(double d, char *b)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    int neg = (int)(bits >> 63), bexp = (int)((bits >> 52) & 0x7ff);
    uint64_t frac = bits & ((1ull << 52) - 1);
    char *o = b;
    if (neg)
        *o++ = '-';
    if (bexp == 0 && frac == 0) {
        memcpy(o, "0.0", 4);
        return 1;
    }
    if (bexp == 0 || bexp == 0x7ff)
        return 0;   /* subnormal, NaN, infinity */
    uint64_t m = frac | (1ull << 52);
    int e2 = bexp - 1075;
    if (e2 > 4 || e2 < -120)
        return 0;   /* 2^57 and more (past 1e17), or far under 1e-4 */
    /* X = floor(log10 |d|): estimated from the binary exponent, then
     * moved until floor(|d| * 10^(16 - X)) has 17 digits */
    int x = (int)((e2 + 52) * 30103L / 100000L) - ((e2 + 52) < 0);
    int half = -1;
    unsigned __int128 q = 0;
    for (int tries = 0; tries < 4; tries++) {
        if (x < -6 || x > 16)
            return 0;   /* far from what is written without an exponent */
        q = scaled(m, e2, 16 - x, &half);
        if (q >= pow10_u64[17])
            x++;
        else if (q < pow10_u64[16])
            x--;
        else
            break;
    }
    if (q < pow10_u64[16] || q >= pow10_u64[17])
        return 0;
    uint64_t dg = (uint64_t)q;
    if (half > 0 || (half == 0 && (dg & 1)))
        dg++;
    if (dg == pow10_u64[17]) {
        dg = pow10_u64[16];
        x++;
    }
    if (x < -4 || x > 16)
        return 0;   /* "%.17g" writes an exponent */
    char ds[17];
    for (int i = 16; i >= 0; i--) {
        ds[i] = (char)('0' + dg % 10);
        dg /= 10;
    }
    int last = 16;   /* the last digit kept: trailing zeros go */
    while (last > 0 && ds[last] == '0')
        last--;
    if (x >= 0) {
        memcpy(o, ds, (size_t)x + 1);
        o += x + 1;
        *o++ = '.';
        if (last > x) {
            memcpy(o, ds + x + 1, (size_t)(last - x));
            o += last - x;
        } else {
            *o++ = '0';   /* json-c's ".0" */
        }
    } else {
        *o++ = '0';
        *o++ = '.';
        for (int i = -1; i > x; i--)
            *o++ = '0';
        memcpy(o, ds, (size_t)last + 1);
        o += last + 1;
    }
    *o = '\0';
    return 1;
}

/* A copy of src as json_tokener would build it from src's printed text
 * (JSON_C_TO_STRING_PLAIN); NULL with *ok 0 when it cannot be made (out of
 * memory, too deep).  A NULL src is JSON null: NULL with *ok untouched. */
static json_object *copy_as_read(json_object *src, int depth, int *ok)
{
    if (!src || !*ok)
        return NULL;
    if (depth > ENG_MEMO_MAX_DEPTH) {
        *ok = 0;
        return NULL;
    }
    json_object *d = NULL;
    switch (json_object_get_type(src)) {
    case json_type_null:
        return NULL;
    case json_type_boolean:
        d = json_object_new_boolean(json_object_get_boolean(src));
        break;
    case json_type_int: {
        /* the parser makes an int64, or a uint64 past INT64_MAX */
        int64_t i = json_object_get_int64(src);
        uint64_t u = json_object_get_uint64(src);
        d = i == INT64_MAX && u > (uint64_t)INT64_MAX ? json_object_new_uint64(u) : json_object_new_int64(i);
        break;
    }
    case json_type_double: {
        /* the parser keeps a number's text: the text it was printed as.
         * json-c prints a double that has a text of its own (read, or
         * tidied by eng_json_tidy_doubles: the only serializer this code
         * base sets) as that text, any other with its own format */
        const char *t = json_object_get_userdata(src);
        char b[32];
        if (!t)
            t = eng__session_memo_double_text(json_object_get_double(src), b)
                    ? b : json_object_to_json_string_ext(src, JSON_C_TO_STRING_PLAIN);
        d = t ? json_object_new_double_s(json_object_get_double(src), t) : NULL;
        break;
    }
    case json_type_string:
        d = json_object_new_string_len(json_object_get_string(src), json_object_get_string_len(src));
        break;
    case json_type_array: {
        size_t n = json_object_array_length(src);
        d = json_object_new_array_ext((int)(n ? n : 1));
        for (size_t i = 0; d && i < n && *ok; i++) {
            json_object *v = copy_as_read(json_object_array_get_idx(src, i), depth + 1, ok);
            if (*ok && json_object_array_add(d, v) != 0) {
                json_object_put(v);
                *ok = 0;
            }
        }
        break;
    }
    case json_type_object:
        d = json_object_new_object();
        if (!d)
            break;
        json_object_object_foreach(src, k, v)
        {
            json_object *c = copy_as_read(v, depth + 1, ok);
            /* keys of one object are distinct: no look-up needed */
            if (!*ok || json_object_object_add_ex(d, k, c, JSON_C_OBJECT_ADD_KEY_IS_NEW) != 0) {
                json_object_put(c);
                *ok = 0;
                break;
            }
        }
        break;
    }
    if (!d || !*ok) {
        json_object_put(d);
        *ok = 0;
        return NULL;
    }
    return d;
}

json_object *eng__session_memo_copy(json_object *src)
{
    int ok = 1;
    json_object *c = copy_as_read(src, 1, &ok);
    return ok ? c : NULL;
}

void eng__session_memo_put(const char *sid, const char *text, size_t len, json_object *sess)
{
    if (!sid || !text || !sess || len > ENG_MEMO_MAX_TEXT || !atomic_load_explicit(&enabled, memory_order_relaxed) ||
        !json_object_is_type(sess, json_type_object) ||
        atomic_load_explicit(&held, memory_order_relaxed) + len > ENG_MEMO_BUDGET)
        return;
    size_t sl = strlen(sid);
    memo_entry *e = malloc(sizeof *e + len + 1 + sl + 1);
    if (!e)
        return;
    e->obj = eng__session_memo_copy(sess);
    if (!e->obj) {
        free(e);
        return;
    }
    e->len = len;
    memcpy(e->text, text, len);
    e->text[len] = '\0';
    e->sid = e->text + len + 1;
    memcpy(e->sid, sid, sl + 1);
    atomic_fetch_add_explicit(&held, len, memory_order_relaxed);
    size_t k = slot_of(sid);
    pthread_mutex_t *mu = &stripes[k % ENG_MEMO_STRIPES];
    pthread_mutex_lock(mu);
    memo_entry *old = slots[k];
    slots[k] = e;
    pthread_mutex_unlock(mu);
    entry_free(old);
    atomic_fetch_add_explicit(&n_puts, 1, memory_order_relaxed);
}

json_object *eng__session_memo_take(const char *sid, const char *text, size_t len)
{
    if (!sid || !text)
        return NULL;
    size_t k = slot_of(sid);
    pthread_mutex_t *mu = &stripes[k % ENG_MEMO_STRIPES];
    memo_entry *e = NULL;
    pthread_mutex_lock(mu);
    if (slots[k] && strcmp(slots[k]->sid, sid) == 0) {
        /* this session's entry goes either way: used, or stale */
        e = slots[k];
        slots[k] = NULL;
    }
    pthread_mutex_unlock(mu);
    if (e && e->len == len && memcmp(e->text, text, len) == 0) {
        json_object *o = e->obj;
        atomic_fetch_sub_explicit(&held, e->len, memory_order_relaxed);
        free(e);
        atomic_fetch_add_explicit(&n_hits, 1, memory_order_relaxed);
        return o;
    }
    entry_free(e);
    atomic_fetch_add_explicit(&n_misses, 1, memory_order_relaxed);
    return NULL;
}

void eng__session_memo_set(int on)
{
    atomic_store(&enabled, on ? 1 : 0);
    if (on)
        return;
    for (size_t k = 0; k < ENG_MEMO_SLOTS; k++) {
        pthread_mutex_t *mu = &stripes[k % ENG_MEMO_STRIPES];
        pthread_mutex_lock(mu);
        memo_entry *e = slots[k];
        slots[k] = NULL;
        pthread_mutex_unlock(mu);
        entry_free(e);
    }
}

size_t eng__session_memo_held(void)
{
    return atomic_load(&held);
}

void eng__session_memo_stats(unsigned long long *hits, unsigned long long *misses, unsigned long long *puts)
{
    if (hits)
        *hits = atomic_load(&n_hits);
    if (misses)
        *misses = atomic_load(&n_misses);
    if (puts)
        *puts = atomic_load(&n_puts);
}
