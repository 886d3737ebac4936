/* engine/diag.c — errors and diagnostics: the messages a person reads
 * when a pipeline file or a turn goes wrong. */
#include "eng_int.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *eng_strerror(int code)
{
    switch (code) {
    case ENG_OK: return "ok";
    case ENG_EINVAL: return "invalid argument or input";
    case ENG_ENOMEM: return "out of memory";
    case ENG_EIO: return "file could not be read";
    case ENG_ECONFIG: return "configuration has errors";
    case ENG_ETIMEDOUT: return "deadline exceeded";
    case ENG_ESTAGE: return "stage failed";
    case ENG_ELUA: return "Lua error";
    case ENG_ELIMIT: return "sandbox limit exceeded";
    case ENG_ENOTFOUND: return "not found";
    default: return "unknown error";
    }
}

int eng_err_set(eng_err *err, int code, const char *fmt, ...)
{
    if (err) {
        err->code = code;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void eng_diags_init(eng_diags *d) { memset(d, 0, sizeof *d); }

void eng_diags_free(eng_diags *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++) {
        eng__free(d->items[i].file);
        eng__free(d->items[i].msg);
    }
    eng__free(d->items);
    memset(d, 0, sizeof *d);
}

void eng_diags_add(eng_diags *d, eng_severity sev, const char *file, int line,
                   int col, const char *fmt, ...)
{
    if (!d)
        return;
    if (sev == ENG_DIAG_ERROR)
        d->errors++;
    else
        d->warnings++;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        eng_diag *it = eng__realloc(d->items, cap * sizeof *it);
        if (!it)
            return;
        d->items = it;
        d->cap = cap;
    }
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    eng_diag *g = &d->items[d->n];
    g->sev = sev;
    g->line = line;
    g->col = col;
    g->file = eng__strdup(file ? file : "<input>");
    g->msg = eng__strdup(msg);
    if (!g->file || !g->msg) {
        eng__free(g->file);
        eng__free(g->msg);
        return;
    }
    d->n++;
}

static int diag_cmp(const void *a, const void *b)
{
    const eng_diag *x = a, *y = b;
    int c = strcmp(x->file, y->file);
    if (c)
        return c;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    return 0;
}

void eng_diags_print(eng_diags *d, FILE *out)
{
    /* by file, line, column: equal positions rarely carry two messages */
    if (d->n > 1)
        qsort(d->items, d->n, sizeof *d->items, diag_cmp);
    for (size_t i = 0; i < d->n; i++) {
        const eng_diag *g = &d->items[i];
        const char *sev = g->sev == ENG_DIAG_ERROR ? "error" : "warning";
        if (g->line > 0)
            fprintf(out, "%s:%d:%d: %s: %s\n", g->file, g->line, g->col, sev, g->msg);
        else
            fprintf(out, "%s: %s: %s\n", g->file, sev, g->msg);
    }
}

int64_t eng_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int eng_utf8_valid(const char *buf, size_t len)
{
    const unsigned char *s = (const unsigned char *)buf, *e = s + len;
    while (s < e) {
        unsigned char c = *s;
        if (c < 0x80) {
            s++;
            continue;
        }
        size_t n;
        unsigned cp;
        if (c >= 0xC2 && c <= 0xDF) { n = 1; cp = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { n = 2; cp = c & 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { n = 3; cp = c & 0x07; }
        else return 0;
        if ((size_t)(e - s) <= n)
            return 0;
        for (size_t i = 1; i <= n; i++) {
            if ((s[i] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i] & 0x3F);
        }
        if ((n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return 0;
        s += n + 1;
    }
    return 1;
}
