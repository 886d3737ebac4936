/* engine/json_print.c — json-c's compact text of a value, written without
 * json-c's printer: the session printed for its save and the reply
 * printed for the replay record, every turn, cost json-c one printbuf
 * call per token (and snprintf for each integer), then a strdup.
 *
 * The text is byte for byte json_object_to_json_string_ext's with
 * JSON_C_TO_STRING_PLAIN, with or without JSON_C_TO_STRING_NOSLASHESCAPE
 * (json-c 0.16: members in insertion order, "\/" unless that flag is
 * given, control characters as "\u00xx" in lower case, 0x7f as it is).
 * It relies on what json-c and this code base give a value: json-c's
 * own serializers, and json_object_userdata_to_json_string on doubles
 * that keep a text (the parser's json_object_new_double_s and
 * eng_json_tidy_doubles, the only serializer set here; the session memo
 * relies on the same).  A double without a text is written by
 * eng__session_memo_double_text where it can, else by json-c. */
#include "eng_int.h"
#include <inttypes.h>
#include <stdint.h>
#include <string.h>

typedef struct jw {
    char *p;
    size_t len, cap;
    int oom;
} jw;

/* this thread's first size for a text: the longest of its recent texts
 * (a session and a reply of a few KB each turn), so that a text is
 * rarely copied while it grows; it comes down slowly after a long one */
static _Thread_local size_t first_cap = 1024;

static int grow(jw *w, size_t n)
{
    if (w->oom)
        return -1;
    size_t cap = w->cap ? w->cap : first_cap;
    while (cap - w->len < n + 1)
        cap *= 2;
    char *p = eng__realloc(w->p, cap);
    if (!p) {
        w->oom = 1;
        return -1;
    }
    w->p = p;
    w->cap = cap;
    return 0;
}

/* room for n bytes more (and the NUL), or NULL (out of memory) */
static inline char *room(jw *w, size_t n)
{
    if (w->cap - w->len < n + 1 && grow(w, n) < 0)
        return NULL;
    return w->p + w->len;
}

static inline void put(jw *w, const char *s, size_t n)
{
    char *d = room(w, n);
    if (d) {
        memcpy(d, s, n);
        w->len += n;
    }
}

static inline void put1(jw *w, char c)
{
    char *d = room(w, 1);
    if (d) {
        *d = c;
        w->len++;
    }
}

/* bytes json-c escapes: control characters, '"', '\\' and '/' */
static const unsigned char esc[256] = {
    [0 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1, ['/'] = 1,
};

/* 0x80 in each byte of x that is below 0x20 or equal to '"', '\\' or
 * (slash) '/': the bytes json-c escapes, eight at a time (a borrow may
 * mark a byte after a marked one too: only "none" is exact, which is all
 * it is asked) */
static inline uint64_t special8(uint64_t x, int slash)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
#define ZERO_BYTE(v) (((v) - ones) & ~(v) & high)
    uint64_t m = ((x - 0x20 * ones) & ~x & high) | ZERO_BYTE(x ^ ('"' * ones)) | ZERO_BYTE(x ^ ('\\' * ones));
    if (slash)
        m |= ZERO_BYTE(x ^ ('/' * ones));
#undef ZERO_BYTE
    return m;
}

/* s[0..n) between quotes, escaped as json-c's json_escape_str does */
static void put_string(jw *w, const char *s, size_t n, int noslash)
{
    /* room for the worst case (every byte "\u00xx") at once: the runs
     * between escapes are then copied without a check each */
    if (n > (SIZE_MAX - 2) / 6 || !room(w, 6 * n + 2))
        return;
    char *d = w->p + w->len;
    *d++ = '"';
    size_t i = 0;
    while (i < n) {
        size_t start = i;
        /* skip what needs no escape, eight bytes at a time */
        while (i + 8 <= n) {
            uint64_t x;
            memcpy(&x, s + i, 8);
            if (special8(x, !noslash))
                break;
            i += 8;
        }
        while (i < n) {
            unsigned char c = (unsigned char)s[i];
            if (esc[c] && !(c == '/' && noslash))
                break;
            i++;
            if ((i & 7) == 0 && i + 8 <= n)
                break;   /* back to eight at a time */
        }
        memcpy(d, s + start, i - start);
        d += i - start;
        if (i == n || !esc[(unsigned char)s[i]] || (s[i] == '/' && noslash))
            continue;
        unsigned char c = (unsigned char)s[i++];
        *d++ = '\\';
        switch (c) {
        case '\b': *d++ = 'b'; break;
        case '\n': *d++ = 'n'; break;
        case '\r': *d++ = 'r'; break;
        case '\t': *d++ = 't'; break;
        case '\f': *d++ = 'f'; break;
        case '"': *d++ = '"'; break;
        case '\\': *d++ = '\\'; break;
        case '/': *d++ = '/'; break;
        default: {
            static const char hex[] = "0123456789abcdef";
            memcpy(d, "u00", 3);
            d[3] = hex[c >> 4];
            d[4] = hex[c & 0xf];
            d += 5;
        }
        }
    }
    *d++ = '"';
    w->len = (size_t)(d - w->p);
}

static void put_int(jw *w, json_object *v)
{
    /* an int64, or a uint64 past INT64_MAX (json-c clamps get_int64 to
     * INT64_MAX for those; get_uint64 gives INT64_MAX for INT64_MAX) */
    int64_t i = json_object_get_int64(v);
    uint64_t u = i == INT64_MAX ? json_object_get_uint64(v) : i < 0 ? 0 - (uint64_t)i : (uint64_t)i;
    char t[24];
    size_t k = sizeof t;
    do {
        t[--k] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (i < 0)
        t[--k] = '-';
    put(w, t + k, sizeof t - k);
}

static void put_value(jw *w, json_object *v, int flags)
{
    if (!v) {
        put(w, "null", 4);
        return;
    }
    int noslash = (flags & JSON_C_TO_STRING_NOSLASHESCAPE) != 0;
    switch (json_object_get_type(v)) {
    case json_type_null: /* no value has it (NULL is null); as json-c */
        put(w, "null", 4);
        break;
    case json_type_boolean:
        if (json_object_get_boolean(v))
            put(w, "true", 4);
        else
            put(w, "false", 5);
        break;
    case json_type_int:
        put_int(w, v);
        break;
    case json_type_double: {
        const char *t = json_object_get_userdata(v);
        char b[32];
        if (!t)
            t = eng__session_memo_double_text(json_object_get_double(v), b)
                    ? b : json_object_to_json_string_ext(v, flags);
        if (t)
            put(w, t, strlen(t));
        else
            w->oom = 1;
        break;
    }
    case json_type_string:
        put_string(w, json_object_get_string(v), (size_t)json_object_get_string_len(v), noslash);
        break;
    case json_type_array: {
        struct array_list *a = json_object_get_array(v);
        put1(w, '[');
        for (size_t i = 0; i < a->length; i++) {
            if (i)
                put1(w, ',');
            put_value(w, (json_object *)a->array[i], flags);
        }
        put1(w, ']');
        break;
    }
    case json_type_object: {
        int first = 1;
        put1(w, '{');
        json_object_object_foreach(v, k, m)
        {
            if (!first)
                put1(w, ',');
            first = 0;
            put_string(w, k, strlen(k), noslash);
            put1(w, ':');
            put_value(w, m, flags);
        }
        put1(w, '}');
        break;
    }
    }
}

char *eng__json_print(json_object *o, int flags, size_t *len)
{
    jw w = {0};
    if (flags & ~JSON_C_TO_STRING_NOSLASHESCAPE) {
        /* spaced or pretty: json-c's own, copied */
        size_t n = 0;
        const char *t = json_object_to_json_string_length(o, flags, &n);
        if (!t || !room(&w, n))
            goto oom;
        memcpy(w.p, t, n);
        w.len = n;
    } else {
        put_value(&w, o, flags);
        if (w.oom || !room(&w, 0))
            goto oom;
    }
    w.p[w.len] = '\0';
    if (w.len + w.len / 8 + 64 > first_cap)
        first_cap = w.len + w.len / 8 + 64 < 256 * 1024 ? w.len + w.len / 8 + 64 : 256 * 1024;
    else if (first_cap > 1024)
        first_cap -= (first_cap - w.len) / 16;
    if (len)
        *len = w.len;
    return w.p;
oom:
    eng__free(w.p);
    return NULL;
}
