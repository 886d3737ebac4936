/* cli/test_expect.c — how `aisle test` compares a turn (intent, reply,
 * cards, cart, actions, rule ids, vars) and the store after a conversation
 * (orders, stock, audit trail) with a test file's expectations, writing
 * one readable "expected X, got Y" line per mismatch. */
#include "test_expect_int.h"
#include <ctype.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct chk {
    FILE *out;
    int fails;
} chk;

static void bad(chk *c, const char *fmt, ...) ENG_PRINTF(2, 3);
static void bad(chk *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("    ", c->out);
    vfprintf(c->out, fmt, ap);
    fputc('\n', c->out);
    va_end(ap);
    c->fails++;
}

void tx_strip_lines(json_object *o)
{
    if (json_object_is_type(o, json_type_object)) {
        json_object_object_del(o, "__line");
        json_object_object_foreach(o, k, v)
        {
            (void)k;
            tx_strip_lines(v);
        }
    } else if (json_object_is_type(o, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(o); i++)
            tx_strip_lines(json_object_array_get_idx(o, i));
    }
}

int tx_line(json_object *map)
{
    json_object *l;
    return json_object_object_get_ex(map, "__line", &l) ? json_object_get_int(l) : 0;
}

/* A value as the diff shows it: compact JSON; long ones cut. Static
 * buffers in rotation so one message can show two values. */
static const char *show(json_object *v)
{
    static char bufs[4][400];
    static int k;
    char *b = bufs[k++ & 3];
    json_object *copy = NULL;
    if (json_object_is_type(v, json_type_double)) {
        /* 4.99, not 4.9900000000000002 */
        snprintf(b, sizeof bufs[0], "%.10g", json_object_get_double(v));
        return b;
    }
    if (json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array)) {
        /* the reader's "__line" keys are noise in a diff */
        json_object_deep_copy(v, &copy, NULL);
        tx_strip_lines(copy);
        v = copy;
    }
    const char *s = v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
                      : "null";
    size_t n = strlen(s);
    if (n >= sizeof bufs[0] - 1)
        snprintf(b, sizeof bufs[0], "%.390s...", s);
    else
        snprintf(b, sizeof bufs[0], "%s", s);
    json_object_put(copy);
    return b;
}

static bool is_num(json_object *v)
{
    return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
}

/* Deep, partial match: objects need only the expected keys, arrays match
 * element by element, numbers within half a cent, strings exactly (a
 * number in the context matches its decimal text: order ids, skus). */
static bool match(json_object *want, json_object *got)
{
    if (!want)
        return got == NULL;
    if (!got)
        return false;
    switch (json_object_get_type(want)) {
    case json_type_boolean:
        return json_object_is_type(got, json_type_boolean) &&
               json_object_get_boolean(got) == json_object_get_boolean(want);
    case json_type_int:
    case json_type_double:
        return is_num(got) && fabs(json_object_get_double(got) - json_object_get_double(want)) < 0.005;
    case json_type_string:
        if (json_object_is_type(got, json_type_string) || is_num(got))
            return strcmp(json_object_get_string(got), json_object_get_string(want)) == 0;
        return false;
    case json_type_object: {
        if (!json_object_is_type(got, json_type_object))
            return false;
        json_object_object_foreach(want, k, v)
        {
            if (strncmp(k, "__", 2) == 0)
                continue;
            json_object *g = NULL;
            json_object_object_get_ex(got, k, &g);
            if (!match(v, g))
                return false;
        }
        return true;
    }
    case json_type_array:
        if (!json_object_is_type(got, json_type_array) ||
            json_object_array_length(got) != json_object_array_length(want))
            return false;
        for (size_t i = 0; i < json_object_array_length(want); i++)
            if (!match(json_object_array_get_idx(want, i), json_object_array_get_idx(got, i)))
                return false;
        return true;
    default:
        return got == NULL;
    }
}

/* A scalar or a list of them, as a list. */
static size_t nitems(json_object *v)
{
    return json_object_is_type(v, json_type_array) ? json_object_array_length(v) : v ? 1 : 0;
}

static json_object *item(json_object *v, size_t i)
{
    return json_object_is_type(v, json_type_array) ? json_object_array_get_idx(v, i) : v;
}

/* rule_id -> ruleId: test files use snake_case, the context camelCase. */
static void camel(const char *in, char *out, size_t n)
{
    size_t o = 0;
    for (; *in && o + 1 < n; in++) {
        if (*in == '_' && in[1]) {
            out[o++] = (char)toupper((unsigned char)*++in);
        } else
            out[o++] = *in;
    }
    out[o] = '\0';
}

/* ctx path "cart.items.0.sku" (numeric parts index arrays). */
static json_object *path(json_object *root, const char *p)
{
    char part[128];
    json_object *cur = root;
    while (cur && *p) {
        size_t n = strcspn(p, ".");
        snprintf(part, sizeof part, "%.*s", (int)(n < sizeof part - 1 ? n : sizeof part - 1), p);
        p += n + (p[n] == '.');
        if (json_object_is_type(cur, json_type_array)) {
            char *end;
            long i = strtol(part, &end, 10);
            cur = *end || i < 0 ? NULL : json_object_array_get_idx(cur, (size_t)i);
        } else {
            json_object *v = NULL;
            json_object_object_get_ex(cur, part, &v);
            cur = v;
        }
    }
    return cur;
}

static const char *str_of(json_object *o, const char *p)
{
    json_object *v = path(o, p);
    return v ? json_object_get_string(v) : NULL;
}

/* str_of, "" when absent: for comparisons */
static const char *str0(json_object *o, const char *p)
{
    const char *s = str_of(o, p);
    return s ? s : "";
}

/* Compare the fields of an expected mapping with an object from the
 * context, except `skip` keys the caller handles; `what` names it. */
static void fields(chk *c, const char *what, json_object *want, json_object *got, const char *const *skip)
{
    json_object_object_foreach(want, k, v)
    {
        if (strncmp(k, "__", 2) == 0)
            continue;
        bool skipped = false;
        for (size_t i = 0; skip && skip[i] && !skipped; i++)
            skipped = strcmp(skip[i], k) == 0;
        if (skipped)
            continue;
        char ck[128];
        camel(k, ck, sizeof ck);
        json_object *g = path(got, ck);
        if (!match(v, g))
            bad(c, "%s.%s: expected %s, got %s", what, k, show(v), show(g));
    }
}

/* Rule ids in appliedRules arrays under `o` (cards, cart lines). */
static bool has_rule_in(json_object *list, const char *id)
{
    for (size_t i = 0; list && i < json_object_array_length(list); i++) {
        json_object *x = json_object_array_get_idx(list, i);
        if (strcmp(str0(x, "id"), id) == 0)
            return true;
        json_object *ap = path(x, "appliedRules");
        for (size_t k = 0; ap && k < json_object_array_length(ap); k++)
            if (strcmp(str0(json_object_array_get_idx(ap, k), "id"), id) == 0)
                return true;
    }
    return false;
}

/* Every rule id the turn shows: on cards, cart lines, cart discounts,
 * and vetoed actions. */
static bool rule_seen(json_object *ctx, const char *id)
{
    if (has_rule_in(path(ctx, "reply.cards"), id) || has_rule_in(path(ctx, "cart.items"), id) ||
        has_rule_in(path(ctx, "cart.discounts"), id))
        return true;
    json_object *acts = path(ctx, "actions");
    for (size_t i = 0; acts && i < json_object_array_length(acts); i++) {
        const char *r = str_of(json_object_array_get_idx(acts, i), "ruleId");
        if (r && strcmp(r, id) == 0)
            return true;
    }
    return false;
}

static void check_card(chk *c, json_object *cards, json_object *want)
{
    json_object *nv = path(want, "n");
    size_t n = nv ? (size_t)json_object_get_int(nv) : 1;
    char what[32];
    snprintf(what, sizeof what, "card %zu", n);
    json_object *got = n >= 1 && cards ? json_object_array_get_idx(cards, n - 1) : NULL;
    if (!got) {
        bad(c, "%s: expected a card, got %zu cards", what, cards ? json_object_array_length(cards) : 0);
        return;
    }
    static const char *const skip[] = {"n", "title_contains", "applied_rules", NULL};
    fields(c, what, want, got, skip);
    const char *tc = str_of(want, "title_contains");
    if (tc && !strstr(str_of(got, "title") ? str_of(got, "title") : "", tc))
        bad(c, "%s.title: expected to contain \"%s\", got \"%s\"", what, tc, str_of(got, "title"));
    json_object *ar = path(want, "applied_rules");
    for (size_t i = 0; i < nitems(ar); i++) {
        const char *id = json_object_get_string(item(ar, i));
        json_object *one = json_object_new_array();
        json_object_array_add(one, json_object_get(got));
        if (!has_rule_in(one, id))
            bad(c, "%s.appliedRules: expected %s, got %s", what, id, show(path(got, "appliedRules")));
        json_object_put(one);
    }
}

static void check_cart(chk *c, json_object *want, json_object *cart)
{
    if (!json_object_is_type(want, json_type_object)) {
        bad(c, "cart: expected a mapping in the test file");
        return;
    }
    if (!cart) {
        bad(c, "cart: expected %s, got no cart (no store, or it was not loaded)", show(want));
        return;
    }
    static const char *const skip[] = {"items", "lines", "discounts", NULL};
    fields(c, "cart", want, cart, skip);
    json_object *items = path(cart, "items");
    json_object *lines = path(want, "lines");
    if (lines && (size_t)json_object_get_int(lines) != (items ? json_object_array_length(items) : 0))
        bad(c, "cart.lines: expected %d, got %zu", json_object_get_int(lines), items ? json_object_array_length(items) : 0);
    json_object *wi = path(want, "items");
    for (size_t i = 0; i < nitems(wi); i++) {
        json_object *w = item(wi, i), *g = NULL;
        const char *sku = str_of(w, "sku");
        for (size_t k = 0; sku && items && k < json_object_array_length(items) && !g; k++)
            if (strcmp(str0(json_object_array_get_idx(items, k), "sku"), sku) == 0)
                g = json_object_array_get_idx(items, k);
        if (!sku && items)
            g = json_object_array_get_idx(items, i);
        char what[160];
        snprintf(what, sizeof what, "cart.items[%s]", sku ? sku : "");
        if (!g) {
            bad(c, "%s: expected a line %s, got %s", what, show(w), show(items));
            continue;
        }
        static const char *const iskip[] = {"title_contains", "applied_rules", NULL};
        fields(c, what, w, g, iskip);
        const char *tc = str_of(w, "title_contains");
        if (tc && !strstr(str_of(g, "title") ? str_of(g, "title") : "", tc))
            bad(c, "%s.title: expected to contain \"%s\", got \"%s\"", what, tc, str_of(g, "title"));
        json_object *ar = path(w, "applied_rules");
        for (size_t k = 0; k < nitems(ar); k++)
            if (!has_rule_in(path(g, "appliedRules"), json_object_get_string(item(ar, k))))
                bad(c, "%s.appliedRules: expected %s, got %s", what, json_object_get_string(item(ar, k)),
                    show(path(g, "appliedRules")));
    }
    json_object *wd = path(want, "discounts");
    json_object *ds = path(cart, "discounts");
    if (wd && nitems(wd) == 0 && ds && json_object_array_length(ds))
        bad(c, "cart.discounts: expected none, got %s", show(ds));
    for (size_t i = 0; i < nitems(wd); i++)
        if (!has_rule_in(ds, json_object_get_string(item(wd, i))))
            bad(c, "cart.discounts: expected %s, got %s", json_object_get_string(item(wd, i)), show(ds));
}

static bool action_matches(json_object *w, json_object *g)
{
    json_object_object_foreach(w, k, v)
    {
        if (strncmp(k, "__", 2) == 0)
            continue;
        char ck[128];
        camel(k, ck, sizeof ck);
        json_object *gv = path(g, ck);
        if (strcmp(k, "message") == 0 && v && json_object_is_type(v, json_type_string)) {
            if (!gv || !strstr(json_object_get_string(gv), json_object_get_string(v)))
                return false;
        } else if (!match(v, gv))
            return false;
    }
    return true;
}

static void check_actions(chk *c, json_object *want, json_object *acts)
{
    size_t ng = acts ? json_object_array_length(acts) : 0;
    if (nitems(want) == 0) {
        if (ng)
            bad(c, "actions: expected none, got %s", show(acts));
        return;
    }
    bool used[64] = {0};
    for (size_t i = 0; i < nitems(want); i++) {
        json_object *w = item(want, i);
        bool found = false;
        for (size_t k = 0; k < ng && k < 64 && !found; k++)
            if (!used[k] && action_matches(w, json_object_array_get_idx(acts, k)))
                found = used[k] = true;
        if (!found) {
            /* the useful part of each action, not its whole payload */
            char got[600] = "";
            size_t o = 0;
            for (size_t k = 0; k < ng && o < sizeof got - 1; k++) {
                json_object *a = json_object_array_get_idx(acts, k);
                o += (size_t)snprintf(got + o, sizeof got - o, "%s{type: %s, status: %s%s%s}", k ? ", " : "",
                                      str_of(a, "type"), str_of(a, "status"), str_of(a, "message") ? ", message: " : "",
                                      str_of(a, "message") ? str_of(a, "message") : "");
            }
            bad(c, "actions: expected %s, got [%s]", show(w), got);
        }
    }
}

static void check_text_list(chk *c, const char *what, json_object *want, const char *got, bool contains)
{
    for (size_t i = 0; i < nitems(want); i++) {
        const char *s = json_object_get_string(item(want, i));
        if ((strstr(got, s) != NULL) != contains)
            bad(c, "%s: expected %s\"%s\"", what, contains ? "" : "no ", s);
    }
}

int tx_check_turn(FILE *out, json_object *expect, json_object *ctx, json_object *rep)
{
    chk c = {out, 0};
    /* what the shopper sees is checked on the reply object every channel
     * sends; only vars, ctx, route and rule errors need the turn context,
     * which a replayed message does not have */
    const char *reply = str_of(rep, "reply.text");
    if (!reply)
        reply = "";
    json_object *cards = path(rep, "reply.cards");
    size_t ncards = cards ? json_object_array_length(cards) : 0;
    json_object_object_foreach(expect, key, want)
    {
        if (strncmp(key, "__", 2) == 0)
            continue;
        if (strcmp(key, "intent") == 0 || strcmp(key, "route") == 0) {
            bool is_intent = strcmp(key, "intent") == 0;
            if (!is_intent && !ctx) {
                bad(&c, "route: a replayed message has no turn context to check");
                continue;
            }
            const char *got = is_intent ? str_of(rep, "intent.name") : str_of(ctx, "route");
            bool ok = false;
            for (size_t i = 0; i < nitems(want) && !ok; i++)
                ok = got && strcmp(got, json_object_get_string(item(want, i))) == 0;
            if (!ok)
                bad(&c, "%s: expected %s, got %s", key, show(want), got ? got : "none");
        } else if (strcmp(key, "reply_contains") == 0) {
            check_text_list(&c, "reply", want, reply, true);
        } else if (strcmp(key, "reply_not_contains") == 0) {
            check_text_list(&c, "reply", want, reply, false);
        } else if (strcmp(key, "reply_matches") == 0) {
            for (size_t i = 0; i < nitems(want); i++) {
                regex_t re;
                const char *pat = json_object_get_string(item(want, i));
                if (regcomp(&re, pat, REG_EXTENDED | REG_NOSUB) != 0) {
                    bad(&c, "reply_matches: \"%s\" is not a valid regular expression", pat);
                    continue;
                }
                if (regexec(&re, reply, 0, NULL, 0) != 0)
                    bad(&c, "reply: expected to match /%s/", pat);
                regfree(&re);
            }
        } else if (strcmp(key, "cards") == 0 || strcmp(key, "cards_min") == 0 || strcmp(key, "cards_max") == 0) {
            int64_t n = json_object_get_int64(want);
            bool ok = key[5] == '\0' ? (int64_t)ncards == n : key[6] == 'm' && key[7] == 'i' ? (int64_t)ncards >= n
                                                                                              : (int64_t)ncards <= n;
            if (!ok)
                bad(&c, "%s: expected %lld, got %zu cards", key, (long long)n, ncards);
        } else if (strcmp(key, "card_prices_max") == 0 || strcmp(key, "card_prices_min") == 0) {
            double lim = json_object_get_double(want);
            bool max = strcmp(key, "card_prices_max") == 0;
            for (size_t i = 0; i < ncards; i++) {
                json_object *cd = json_object_array_get_idx(cards, i);
                double p = json_object_get_double(path(cd, "finalPrice"));
                if (max ? p > lim + 0.005 : p < lim - 0.005)
                    bad(&c, "card %zu (%s): finalPrice %.2f is %s %.2f", i + 1, str_of(cd, "sku"), p,
                        max ? "above" : "below", lim);
            }
        } else if (strcmp(key, "cards_include") == 0 || strcmp(key, "cards_exclude") == 0 ||
                   strcmp(key, "cards_order") == 0) {
            long last = -1;
            int before = c.fails;
            for (size_t i = 0; i < nitems(want); i++) {
                const char *sku = json_object_get_string(item(want, i));
                long at = -1;
                for (size_t k = 0; k < ncards && at < 0; k++)
                    if (strcmp(str0(json_object_array_get_idx(cards, k), "sku"), sku) == 0)
                        at = (long)k;
                if (strcmp(key, "cards_exclude") == 0 ? at >= 0 : at < 0)
                    bad(&c, "%s: %s is %sshown", key, sku, at >= 0 ? "" : "not ");
                else if (strcmp(key, "cards_order") == 0 && at <= last)
                    bad(&c, "cards_order: %s is card %ld, before the previous one", sku, at + 1);
                if (at >= 0)
                    last = at;
            }
            if (c.fails > before && strcmp(key, "cards_exclude") != 0) {
                char got[600] = "";
                size_t o = 0;
                for (size_t k = 0; k < ncards && o < sizeof got - 1; k++)
                    o += (size_t)snprintf(got + o, sizeof got - o, "%s%s", k ? ", " : "",
                                          str_of(json_object_array_get_idx(cards, k), "sku"));
                fprintf(out, "      cards shown: [%s]\n", got);
            }
        } else if (strcmp(key, "card_titles_contain") == 0) {
            for (size_t i = 0; i < nitems(want); i++) {
                const char *s = json_object_get_string(item(want, i));
                bool ok = false;
                for (size_t k = 0; k < ncards && !ok; k++)
                    ok = strstr(str0(json_object_array_get_idx(cards, k), "title"), s) != NULL;
                if (!ok)
                    bad(&c, "cards: expected a title containing \"%s\"", s);
            }
        } else if (strcmp(key, "card_titles_not_contain") == 0) {
            for (size_t i = 0; i < nitems(want); i++) {
                const char *s = json_object_get_string(item(want, i));
                for (size_t k = 0; k < ncards; k++)
                    if (strstr(str0(json_object_array_get_idx(cards, k), "title"), s)) {
                        bad(&c, "cards: expected no title containing \"%s\", got \"%s\"", s,
                            str0(json_object_array_get_idx(cards, k), "title"));
                        break;
                    }
            }
        } else if (strcmp(key, "card") == 0) {
            for (size_t i = 0; i < nitems(want); i++)
                check_card(&c, cards, item(want, i));
        } else if (strcmp(key, "applied_rules") == 0 || strcmp(key, "not_applied_rules") == 0) {
            bool want_seen = key[0] == 'a';
            for (size_t i = 0; i < nitems(want); i++) {
                const char *id = json_object_get_string(item(want, i));
                if (rule_seen(rep, id) != want_seen)
                    bad(&c, "rule %s: expected %s, got %s", id, want_seen ? "applied" : "not applied",
                        want_seen ? "not applied" : "applied");
            }
        } else if (strcmp(key, "cart") == 0) {
            check_cart(&c, want, path(rep, "cart"));
        } else if (strcmp(key, "actions") == 0) {
            check_actions(&c, want, path(rep, "actions"));
        } else if (!ctx && (strcmp(key, "vars") == 0 || strcmp(key, "ctx") == 0 || strcmp(key, "rule_errors") == 0)) {
            bad(&c, "%s: a replayed message has no turn context to check", key);
        } else if (strcmp(key, "vars") == 0 || strcmp(key, "ctx") == 0) {
            json_object *base = key[0] == 'v' ? path(ctx, "vars") : ctx;
            if (!json_object_is_type(want, json_type_object)) {
                bad(&c, "%s: expected a mapping in the test file", key);
                continue;
            }
            json_object_object_foreach(want, k, v)
            {
                if (strncmp(k, "__", 2) == 0)
                    continue;
                json_object *g = path(base, k);
                if (!match(v, g))
                    bad(&c, "%s.%s: expected %s, got %s", key, k, show(v), show(g));
            }
        } else if (strcmp(key, "rule_errors") == 0) {
            json_object *errs = path(ctx, "vars.ruleErrors");
            size_t n = errs ? json_object_array_length(errs) : 0;
            if (is_num(want)) {
                if ((int64_t)n != json_object_get_int64(want))
                    bad(&c, "rule_errors: expected %lld, got %s", (long long)json_object_get_int64(want), show(errs));
            } else
                for (size_t i = 0; i < nitems(want); i++) {
                    const char *id = json_object_get_string(item(want, i));
                    bool ok = false;
                    for (size_t k = 0; k < n && !ok; k++) {
                        json_object *e = json_object_array_get_idx(errs, k);
                        ok = (str_of(e, "id") && strcmp(str_of(e, "id"), id) == 0) ||
                             (str_of(e, "file") && strcmp(str_of(e, "file"), id) == 0);
                    }
                    if (!ok)
                        bad(&c, "rule_errors: expected %s to fail, got %s", id, show(errs));
                }
        } else if (strcmp(key, "suggestions_contain") == 0) {
            json_object *sg = path(rep, "reply.suggestions");
            for (size_t i = 0; i < nitems(want); i++) {
                const char *s = json_object_get_string(item(want, i));
                bool ok = false;
                for (size_t k = 0; sg && k < json_object_array_length(sg) && !ok; k++)
                    ok = strstr(json_object_get_string(json_object_array_get_idx(sg, k)), s) != NULL;
                if (!ok)
                    bad(&c, "suggestions: expected one containing \"%s\", got %s", s, show(sg));
            }
        } else if (strcmp(key, "needs_login") == 0) {
            bool got = json_object_get_boolean(path(rep, "reply.needsLogin"));
            if (got != json_object_get_boolean(want))
                bad(&c, "needs_login: expected %s, got %s", json_object_get_boolean(want) ? "true" : "false",
                    got ? "true" : "false");
        } else if (strcmp(key, "confirmation") == 0) {
            /* the kind of question the reply leaves open; null: none */
            json_object *cf = path(rep, "reply.confirmation");
            const char *kind = cf ? str_of(cf, "kind") : NULL;
            const char *w = json_object_is_type(want, json_type_string) ? json_object_get_string(want) : NULL;
            if (w ? !kind || strcmp(kind, w) != 0 : kind != NULL)
                bad(&c, "confirmation: expected %s, got %s", w ? w : "none", kind ? kind : "none");
        } else if (strcmp(key, "ui_actions") == 0) {
            /* the page's actions by type, in order: [open_checkout] */
            json_object *ua = path(rep, "reply.uiActions");
            size_t n = ua ? json_object_array_length(ua) : 0;
            bool ok = n == nitems(want);
            for (size_t i = 0; ok && i < n; i++)
                ok = strcmp(str0(json_object_array_get_idx(ua, i), "type"), json_object_get_string(item(want, i))) == 0;
            if (!ok)
                bad(&c, "ui_actions: expected %s, got %s", show(want), show(ua));
        } else {
            bad(&c, "unknown expectation \"%s\" (see docs/testing.md)", key);
        }
    }
    return c.fails;
}

static void check_orders(chk *c, json_object *want, store *s, const int64_t *uids, size_t nu)
{
    store_order all[64];
    size_t n = 0;
    for (size_t u = 0; u < nu; u++) {
        store_order *list = NULL;
        size_t k = 0;
        if (store_order_list(s, uids[u], 50, &list, &k, NULL) < 0)
            continue;
        for (size_t i = 0; i < k; i++)
            if (n < 64 && store_order_get(s, list[i].id, &all[n], NULL) == 0)
                n++;
        store_order_list_free(list, k);
    }
    json_object *cnt = is_num(want) ? want : path(want, "count");
    if (cnt && (int64_t)n != json_object_get_int64(cnt))
        bad(c, "orders: expected %lld, got %zu", (long long)json_object_get_int64(cnt), n);
    if (json_object_is_type(want, json_type_object)) {
        /* status and total: the newest order of the conversation */
        store_order *o = NULL;
        for (size_t i = 0; i < n; i++)
            if (!o || all[i].id > o->id)
                o = &all[i];
        json_object *st = path(want, "status"), *tot = path(want, "total"), *cont = path(want, "contains");
        if ((st || tot || cont) && !o)
            bad(c, "orders: expected an order, got none");
        if (o && st && strcmp(o->status, json_object_get_string(st)) != 0)
            bad(c, "orders.status: expected %s, got %s", json_object_get_string(st), o->status);
        if (o && tot && fabs(o->total - json_object_get_double(tot)) >= 0.005)
            bad(c, "orders.total: expected %.2f, got %.2f", json_object_get_double(tot), o->total);
        for (size_t i = 0; o && i < nitems(cont); i++) {
            const char *s2 = json_object_get_string(item(cont, i));
            if (!o->pricing_json || !strstr(o->pricing_json, s2))
                bad(c, "orders: expected the order's pricing to mention \"%s\", got %.300s", s2,
                    o->pricing_json ? o->pricing_json : "(no pricing)");
        }
    }
    for (size_t i = 0; i < n; i++)
        store_order_clear(&all[i]);
}

int tx_check_after(FILE *out, json_object *after, store *s, const int64_t *uids, size_t n)
{
    chk c = {out, 0};
    char *audit_js = NULL;
    json_object *audit = NULL;
    json_object_object_foreach(after, key, want)
    {
        if (strncmp(key, "__", 2) == 0)
            continue;
        if (strcmp(key, "orders") == 0) {
            check_orders(&c, want, s, uids, n);
        } else if (strcmp(key, "stock") == 0) {
            json_object_object_foreach(want, sku, v)
            {
                if (strncmp(sku, "__", 2) == 0)
                    continue;
                store_product p = {0};
                if (store_product_get(s, sku, &p, NULL) < 0)
                    bad(&c, "stock.%s: no such product", sku);
                else if (p.stock != json_object_get_int64(v))
                    bad(&c, "stock.%s: expected %lld, got %lld", sku, (long long)json_object_get_int64(v),
                        (long long)p.stock);
                store_product_clear(&p);
            }
        } else if (strcmp(key, "audit_contains") == 0 || strcmp(key, "audit_count") == 0) {
            if (!audit && store_audit_list(s, NULL, NULL, 1000, &audit_js, NULL) == 0)
                audit = json_tokener_parse(audit_js);
            size_t na = audit ? json_object_array_length(audit) : 0;
            if (key[6] == 'c' && key[7] == 'o' && key[8] == 'n') {
                /* a string: an event with that action, or mentioning it */
                for (size_t i = 0; i < nitems(want); i++) {
                    json_object *w = item(want, i);
                    bool ok = false;
                    for (size_t k = 0; k < na && !ok; k++) {
                        json_object *e = json_object_array_get_idx(audit, k);
                        if (json_object_is_type(w, json_type_string))
                            ok = strcmp(str_of(e, "action") ? str_of(e, "action") : "", json_object_get_string(w)) == 0 ||
                                 strstr(json_object_to_json_string(e), json_object_get_string(w));
                        else {
                            const char *a = str_of(w, "action"), *sub = str_of(w, "subject"), *ct = str_of(w, "contains");
                            ok = (!a || strcmp(str_of(e, "action") ? str_of(e, "action") : "", a) == 0) &&
                                 (!sub || strcmp(str_of(e, "subject") ? str_of(e, "subject") : "", sub) == 0) &&
                                 (!ct || strstr(json_object_to_json_string(e), ct));
                        }
                    }
                    if (!ok)
                        bad(&c, "audit: expected an event %s, got %zu events", show(w), na);
                }
            } else {
                json_object_object_foreach(want, act, v)
                {
                    if (strncmp(act, "__", 2) == 0)
                        continue;
                    int64_t cnt = 0;
                    for (size_t k = 0; k < na; k++)
                        cnt += strcmp(str0(json_object_array_get_idx(audit, k), "action"), act) == 0;
                    if (cnt != json_object_get_int64(v))
                        bad(&c, "audit_count.%s: expected %lld, got %lld", act, (long long)json_object_get_int64(v),
                            (long long)cnt);
                }
            }
        } else {
            bad(&c, "unknown after-conversation check \"%s\" (see docs/testing.md)", key);
        }
    }
    json_object_put(audit);
    free(audit_js);
    return c.fails;
}
