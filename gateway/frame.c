/* gateway/frame.c — the WebSocket reply frame: the REST chat's answer
 * object with the reply's members lifted to the top, {type:"reply",
 * clientMsgId?, text, cards, suggestions, needsLogin, confirmation,
 * uiActions, actions, cart, traceId, intent, sessionId, replayed?}.
 *
 * The conversation driver has already printed the answer once (its
 * replay record, eng_converse_result.reply_text), so the frame is cut
 * from that text instead of printing the same cards and cart a second
 * time: the record is json-c's plain print of the answer (no white
 * space, one member per name), and a member's value is the same bytes
 * whether json-c prints it inside the answer or inside the frame.  A text
 * that is not in that form (white space outside strings, a name twice,
 * anything unexpected) is not cut: the frame is then built and printed
 * from the object, as before (gw__reply_frame_obj). */
#include "gw_int.h"
#include <stdlib.h>
#include <string.h>

/* the answer's members the frame carries, in the frame's order: first
 * those of its "reply" object, then its own */
static const char *const reply_keys[] = {"text", "cards", "suggestions", "needsLogin", "confirmation", "uiActions"};
static const char *const top_keys[] = {"actions", "cart", "traceId", "intent", "sessionId"};
#define NREPLY (sizeof reply_keys / sizeof reply_keys[0])
#define NTOP (sizeof top_keys / sizeof top_keys[0])

json_object *gw__reply_frame_obj(json_object *answer, const char *cmid, int replayed)
{
    json_object *f = json_object_new_object(), *v;
    json_object_object_add(f, "type", json_object_new_string("reply"));
    if (cmid)
        json_object_object_add(f, "clientMsgId", json_object_new_string(cmid));
    json_object *rep = json_object_object_get_ex(answer, "reply", &v) ? v : NULL;
    for (size_t i = 0; i < NREPLY; i++)
        if (rep && json_object_object_get_ex(rep, reply_keys[i], &v))
            json_object_object_add(f, reply_keys[i], json_object_get(v));
    for (size_t i = 0; i < NTOP; i++)
        if (json_object_object_get_ex(answer, top_keys[i], &v))
            json_object_object_add(f, top_keys[i], json_object_get(v));
    if (replayed)
        json_object_object_add(f, "replayed", json_object_new_boolean(1));
    return f;
}

/* ------------------------------------------------ cutting the record */

typedef struct span {
    const char *name;   /* inside the text, after its opening quote */
    size_t name_len;
    size_t off, len;    /* the value */
} span;

#define MAX_MEMBERS 24

/* past the string whose opening quote is at t[i]; 0: unterminated */
static size_t skip_string(const char *t, size_t n, size_t i)
{
    for (i++; i < n;) {
        i += strcspn(t + i, "\"\\");
        if (i >= n)
            return 0;
        if (t[i] == '"')
            return i + 1;
        i += 2;   /* an escape: the character after the backslash */
    }
    return 0;
}

/* past the value at t[i] (json-c's plain print); 0: not one */
static size_t skip_value(const char *t, size_t n, size_t i)
{
    if (i >= n)
        return 0;
    char c = t[i];
    if (c == '"')
        return skip_string(t, n, i);
    if (c == '{' || c == '[') {
        int depth = 0;
        while (i < n) {
            c = t[i];
            if (c == '"') {
                if (!(i = skip_string(t, n, i)))
                    return 0;
                continue;
            }
            if (c == '{' || c == '[')
                depth++;
            else if (c == '}' || c == ']') {
                if (--depth == 0)
                    return i + 1;
            } else if (c == ' ' || c == '\n' || c == '\t' || c == '\r')
                return 0;   /* not json-c's plain print */
            i++;
        }
        return 0;
    }
    size_t s = i;
    while (i < n && t[i] != ',' && t[i] != '}' && t[i] != ']') {
        if (t[i] == ' ' || t[i] == '\n' || t[i] == '\t' || t[i] == '\r' || t[i] == '"')
            return 0;
        i++;
    }
    return i > s ? i : 0;
}

/* the members of the object t[i..]: -1 unless it is one in json-c's
 * plain print with at most MAX_MEMBERS members, each name once */
static int members(const char *t, size_t n, size_t i, span *m, int *nm)
{
    *nm = 0;
    if (i >= n || t[i] != '{')
        return -1;
    i++;
    if (i < n && t[i] == '}')
        return 0;
    while (i < n) {
        if (t[i] != '"' || *nm == MAX_MEMBERS)
            return -1;
        size_t e = skip_string(t, n, i);
        if (!e || e >= n || t[e] != ':')
            return -1;
        span *s = &m[(*nm)++];
        s->name = t + i + 1, s->name_len = e - i - 2;
        for (int k = 0; k < *nm - 1; k++)
            if (m[k].name_len == s->name_len && memcmp(m[k].name, s->name, s->name_len) == 0)
                return -1;
        size_t v = e + 1, ve = skip_value(t, n, v);
        if (!ve || ve >= n)
            return -1;
        s->off = v, s->len = ve - v;
        if (t[ve] == '}')
            return 0;
        if (t[ve] != ',')
            return -1;
        i = ve + 1;
    }
    return -1;
}

static const span *find(const span *m, int nm, const char *name)
{
    size_t l = strlen(name);
    for (int k = 0; k < nm; k++)
        if (m[k].name_len == l && memcmp(m[k].name, name, l) == 0)
            return &m[k];
    return NULL;
}

static void add(char **p, const char *s, size_t n)
{
    memcpy(*p, s, n);
    *p += n;
}

char *gw__reply_frame_text(const char *rec, size_t len, const char *cmid, int replayed, size_t *out_len)
{
    span top[MAX_MEMBERS], rep[MAX_MEMBERS];
    int nt = 0, nr = 0;
    if (!rec || members(rec, len, 0, top, &nt) < 0)
        return NULL;
    /* the whole of the record ends with its object */
    if (nt > 0 && top[nt - 1].off + top[nt - 1].len + 1 != len)
        return NULL;
    if (nt == 0 && len != 2)
        return NULL;
    const span *r = find(top, nt, "reply");
    if (r && rec[r->off] == '{' && members(rec, len, r->off, rep, &nr) < 0)
        return NULL;
    /* the client's id as json-c writes it */
    json_object *id = cmid ? json_object_new_string(cmid) : NULL;
    size_t id_len = 0;
    const char *id_js =
        id ? json_object_to_json_string_length(id, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &id_len)
           : NULL;
    if (cmid && !id_js) {
        json_object_put(id);
        return NULL;
    }
    const span *pick[NREPLY + NTOP];
    const char *names[NREPLY + NTOP];
    size_t np = 0, need = sizeof "{\"type\":\"reply\"" + sizeof ",\"clientMsgId\":" + id_len + sizeof ",\"replayed\":true}";
    for (size_t i = 0; i < NREPLY; i++) {
        const span *s = nr ? find(rep, nr, reply_keys[i]) : NULL;
        if (s)
            pick[np] = s, names[np++] = reply_keys[i];
    }
    for (size_t i = 0; i < NTOP; i++) {
        const span *s = find(top, nt, top_keys[i]);
        if (s)
            pick[np] = s, names[np++] = top_keys[i];
    }
    for (size_t i = 0; i < np; i++)
        need += strlen(names[i]) + 4 + pick[i]->len;
    char *out = malloc(need), *p = out;
    if (!out) {
        json_object_put(id);
        return NULL;
    }
    add(&p, "{\"type\":\"reply\"", 15);
    if (id_js) {
        add(&p, ",\"clientMsgId\":", 15);
        add(&p, id_js, id_len);
    }
    json_object_put(id);
    for (size_t i = 0; i < np; i++) {
        size_t kl = strlen(names[i]);
        add(&p, ",\"", 2);
        add(&p, names[i], kl);
        add(&p, "\":", 2);
        add(&p, rec + pick[i]->off, pick[i]->len);
    }
    if (replayed)
        add(&p, ",\"replayed\":true", 16);
    add(&p, "}", 1);
    *p = '\0';
    if (out_len)
        *out_len = (size_t)(p - out);
    return out;
}
