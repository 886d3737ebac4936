/* stores/json_check.c — whether a JSON value the store is asked to keep
 * reads back, without building it.  Every session save, history entry and
 * audit row is checked (store__check_json, store__audit_check), and json-c
 * can only check a text by building its objects (a chat turn's history
 * entry: about 20,000 instructions, a strdup per key, a hash table per
 * object) to throw them away.
 *
 * store__json_plain recognises a subset that json-c is known to read: an
 * object or array from the first byte to the last, RFC 8259's grammar
 * inside (white space, strings without raw control characters and with
 * valid escapes, numbers as the RFC writes them, true, false, null, plus
 * json-c's NaN, Infinity and -Infinity, which it prints), nested at most
 * STORE_JSON_PLAIN_DEPTH deep (json-c refuses past 32).  What it does not
 * recognise is not refused: the caller asks json-c, as before, so what is
 * accepted stays exactly what json_tokener_parse accepts.  Every text
 * json-c prints (the engine's sessions, turns, details) is in the subset
 * unless nested deeper. */
#include "store_int.h"

#include <stdint.h>
#include <string.h>

#define STORE_JSON_PLAIN_DEPTH 16

/* past the string whose quote is at s; NULL: not in the subset */
static const char *str_end(const char *s)
{
    for (s++;; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"')
            return s + 1;
        if (c < 0x20)   /* the end of the text, or a raw control character */
            return NULL;
        if (c == '\\') {
            c = (unsigned char)*++s;
            if (c == 'u') {
                for (int k = 1; k <= 4; k++) {
                    unsigned char h = (unsigned char)s[k];
                    if (!((h >= '0' && h <= '9') || ((h | 0x20) >= 'a' && (h | 0x20) <= 'f')))
                        return NULL;
                }
                s += 4;
            } else if (!strchr("\"\\/bfnrt", c) || !c) {
                return NULL;
            }
        }
    }
}

static const char *digits(const char *s)
{
    const char *b = s;
    while (*s >= '0' && *s <= '9')
        s++;
    return s > b ? s : NULL;
}

/* past the number, true, false, null, NaN, Infinity or -Infinity at s */
static const char *scalar_end(const char *s)
{
    static const char *const words[] = {"true", "false", "null", "NaN", "Infinity", "-Infinity"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        size_t l = strlen(words[i]);
        if (strncmp(s, words[i], l) == 0)
            return s + l;
    }
    if (*s == '-')
        s++;
    if (*s == '0')
        s++;
    else if (!(s = digits(s)))
        return NULL;
    if (*s == '.' && !(s = digits(s + 1)))
        return NULL;
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!(s = digits(s)))
            return NULL;
    }
    return s;
}

static const char *ws(const char *s)
{
    while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
        s++;
    return s;
}

int store__json_plain(const char *json)
{
    if (!json || (*json != '{' && *json != '['))
        return 0;
    /* bit d of `arr`: the container at depth d is an array */
    uint32_t arr = 0;
    int depth = 0;
    const char *s = json;
    for (;;) {
        /* s is at a value */
        if (*s == '{' || *s == '[') {
            if (++depth > STORE_JSON_PLAIN_DEPTH)
                return 0;
            int a = *s == '[';
            arr = a ? arr | (1u << depth) : arr & ~(1u << depth);
            s = ws(s + 1);
            if (*s == (a ? ']' : '}')) {
                s++;
                depth--;
                goto after_value;
            }
            if (!a)
                goto member;
            continue;
        }
        if (*s == '"')
            s = str_end(s);
        else
            s = scalar_end(s);
        if (!s)
            return 0;
    after_value:
        if (depth == 0)
            return *s == '\0';
        s = ws(s);
        if (*s == ',') {
            s = ws(s + 1);
            if (arr & (1u << depth))
                continue;
            goto member;
        }
        if (*s != ((arr & (1u << depth)) ? ']' : '}'))
            return 0;
        s++;
        depth--;
        goto after_value;
    member:
        /* s is at a member's name */
        if (*s != '"' || !(s = str_end(s)))
            return 0;
        s = ws(s);
        if (*s != ':')
            return 0;
        s = ws(s + 1);
    }
}
