/* engine/llm/sse.c — an incremental parser for server-sent events
 * (text/event-stream) as both LLM providers stream them. It sees bytes
 * split at any point (mid-line, mid-UTF-8) and hands over whole events. */
#include "llm_int.h"
#include <string.h>

void eng__sse_init(eng__sse *s, size_t max, eng__sse_event_fn fn, void *ud)
{
    memset(s, 0, sizeof *s);
    eng__buf_init(&s->line);
    eng__buf_init(&s->event);
    eng__buf_init(&s->data);
    s->max = max ? max : LLM_MAX_SSE_LINE;
    s->fn = fn;
    s->ud = ud;
}

void eng__sse_free(eng__sse *s)
{
    eng__buf_free(&s->line);
    eng__buf_free(&s->event);
    eng__buf_free(&s->data);
}

static int dispatch(eng__sse *s)
{
    int rc = 0;
    if (s->has_data) {
        /* the spec keeps a \n after every data line and drops the last one */
        if (s->data.len && s->data.data[s->data.len - 1] == '\n')
            s->data.data[--s->data.len] = '\0';
        rc = s->fn(s->ud, s->event.len ? s->event.data : "message",
                   s->data.data ? s->data.data : "", s->data.len);
    }
    eng__buf_reset(&s->event);
    eng__buf_reset(&s->data);
    s->has_data = false;
    return rc;
}

/* One complete line, without its terminator. */
static int line(eng__sse *s, const char *p, size_t n)
{
    if (n == 0)
        return dispatch(s);
    if (p[0] == ':')
        return 0;                       /* comment, e.g. ": keepalive" */
    const char *colon = memchr(p, ':', n);
    size_t flen = colon ? (size_t)(colon - p) : n;
    const char *v = colon ? colon + 1 : p + n;
    size_t vlen = (size_t)(p + n - v);
    if (vlen && v[0] == ' ') {
        v++;
        vlen--;
    }
    if (flen == 4 && memcmp(p, "data", 4) == 0) {
        if (s->data.len + vlen + 1 > s->max)
            return ENG_ELIMIT;
        eng__buf_add(&s->data, v, vlen);
        eng__buf_addc(&s->data, '\n');
        s->has_data = true;
    } else if (flen == 5 && memcmp(p, "event", 5) == 0) {
        eng__buf_reset(&s->event);
        eng__buf_add(&s->event, v, vlen);
    }
    /* id and retry matter to browsers reconnecting, not to one request */
    return s->data.oom || s->event.oom ? ENG_ENOMEM : 0;
}

int eng__sse_feed(eng__sse *s, const char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (s->cr) {
            s->cr = false;
            if (p[i] == '\n') {
                i++;
                continue;
            }
        }
        /* find the next terminator in what is left */
        size_t j = i;
        while (j < n && p[j] != '\n' && p[j] != '\r')
            j++;
        if (j == n) {                      /* no terminator: keep the piece */
            if (s->line.len + (n - i) > s->max)
                return ENG_ELIMIT;
            eng__buf_add(&s->line, p + i, n - i);
            return s->line.oom ? ENG_ENOMEM : 0;
        }
        int rc;
        if (s->line.len) {                 /* the line began in an earlier chunk */
            if (s->line.len + (j - i) > s->max)
                return ENG_ELIMIT;
            eng__buf_add(&s->line, p + i, j - i);
            if (s->line.oom)
                return ENG_ENOMEM;
            rc = line(s, s->line.data, s->line.len);
            eng__buf_reset(&s->line);
        } else {
            rc = line(s, p + i, j - i);
        }
        if (rc)
            return rc;
        s->cr = p[j] == '\r';
        i = j + 1;
    }
    return 0;
}

int eng__sse_finish(eng__sse *s)
{
    int rc = 0;
    if (s->line.len) {
        rc = line(s, s->line.data, s->line.len);
        eng__buf_reset(&s->line);
    }
    if (!rc)
        rc = dispatch(s);
    return rc;
}
