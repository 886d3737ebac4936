/* engine/buf.c — a growable, always NUL-terminated byte buffer. */
#include "eng_int.h"
#include <stdio.h>
#include <string.h>

void eng__buf_init(eng_buf *b) { memset(b, 0, sizeof *b); }

void eng__buf_free(eng_buf *b)
{
    eng__free(b->data);
    memset(b, 0, sizeof *b);
}

void eng__buf_reset(eng_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

static bool reserve(eng_buf *b, size_t extra)
{
    if (b->oom)
        return false;
    if (b->len + extra + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *d = eng__realloc(b->data, cap);
    if (!d) {
        b->oom = true;
        return false;
    }
    b->data = d;
    b->cap = cap;
    return true;
}

void eng__buf_add(eng_buf *b, const char *s, size_t n)
{
    if (!reserve(b, n))
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void eng__buf_adds(eng_buf *b, const char *s) { eng__buf_add(b, s, strlen(s)); }

void eng__buf_addc(eng_buf *b, char c) { eng__buf_add(b, &c, 1); }

void eng__buf_vprintf(eng_buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0 || !reserve(b, (size_t)n))
        return;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void eng__buf_printf(eng_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    eng__buf_vprintf(b, fmt, ap);
    va_end(ap);
}
