/* engine/checkout.c — the facts of a checkout that are not the cart: the
 * shop's checkout settings (the pipeline's `checkout:` section: currency,
 * payment provider, delivery options with prices and free thresholds, the
 * confirmation e-mail template), the delivery address (validated, saved
 * per account through store_account_*), the card as typed (checked before
 * any provider sees it; only brand and last 4 digits leave this file) and
 * the e-mail text.  shop.c's checkout() runs them in order; the public
 * eng_shop_address_* and eng_shop_delivery_options calls are here. */
#include "checkout_int.h"
#include "commerce_int.h"
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ------------------------------------------------------------ settings */
static const char default_email[] =
    "Thank you for your order{{#if address.name}}, {{address.name}}{{/if}}.\n"
    "\n"
    "{{#each items}}{{this.qty}} x {{this.title}}  {{this.lineTotal | money}} {{currency}}\n"
    "{{#each this.appliedRules}}    {{this.reason}}\n{{/each}}{{/each}}"
    "Subtotal: {{subtotal | money}} {{currency}}\n"
    "{{#each discounts}}{{this.reason}}: -{{this.amount | money}} {{currency}}\n{{/each}}"
    "{{#if delivery}}{{delivery.name}} ({{delivery.days}}): {{delivery.price | money}} {{currency}}\n{{/if}}"
    "Total: {{total | money}} {{currency}}\n"
    "{{#if payment.last4}}Paid with {{payment.brand | title}} ending in {{payment.last4}}.\n{{/if}}"
    "{{#if address}}\nDelivery to:\n{{address.name}}\n{{address.line1}}\n"
    "{{#if address.line2}}{{address.line2}}\n{{/if}}"
    "{{address.locality}}\n"
    "{{address.countryName}}\n{{/if}}";

/* compiled once, into a pool that lives as long as the process */
static eng_pool *builtin_pool;   /* kept: it holds the template */
static eng_tmpl *builtin_tmpl;
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;

static void builtin_free(void)
{
    eng__pool_free(builtin_pool);
    builtin_pool = NULL;
    builtin_tmpl = NULL;
}

static void builtin_init(void)
{
    builtin_pool = eng__pool_new(4096);
    if (builtin_pool)
        atexit(builtin_free);
    if (builtin_pool && eng__tmpl_compile(builtin_pool, default_email, 1, 1, &builtin_tmpl, NULL) < 0)
        builtin_tmpl = NULL;
}

static const eng_tmpl *builtin_email(void)
{
    pthread_once(&builtin_once, builtin_init);
    return builtin_tmpl;
}

static const eng_checkout_cfg no_settings = {"USD", "test", NULL, 0, NULL, false};

const eng_checkout_cfg *eng__checkout_cfg(const eng_pipeline *p)
{
    return p && p->checkout ? p->checkout : &no_settings;
}

static const char *const keys[] = {"currency", "payment", "delivery", "confirmation_email", "po_boxes", NULL};
static const char *const opt_keys[] = {"id", "name", "days", "price", "free_over", "countries", NULL};

/* a price in the settings: a number >= 0 with at most two decimals */
static int price_cents(eng_build *b, int node, const char *what, int64_t *out)
{
    const char *v = eng__yscalar(b->doc, node);
    char *end = NULL;
    double d = v ? strtod(v, &end) : NAN;
    if (!v || !*v || (end && *end) || !isfinite(d) || d < 0 || d > 1e7 ||
        fabs(d * 100 - round(d * 100)) > 1e-6) {
        eng__build_error(b, node, "%s must be an amount >= 0 with at most two decimals (e.g. 4.90), not \"%s\"",
                         what, v ? v : "?");
        return ENG_ECONFIG;
    }
    *out = llround(d * 100);
    return 0;
}

static const char *scalar(eng_build *b, int map, const char *key, bool required, const char *what)
{
    int n = eng__ymap_get(b->doc, map, key);
    const char *v = n ? eng__yscalar(b->doc, n) : NULL;
    if (n && (!v || !*v)) {
        eng__build_error(b, n, "\"%s\" must be a non-empty string (%s)", key, what);
        return NULL;
    }
    if (!n && required)
        eng__build_error(b, map, "missing \"%s\" (%s)", key, what);
    return v ? eng__pool_strdup(b->p->pool, v) : NULL;
}

/* `countries`: where the option delivers, a list of ISO 3166-1 alpha-2
 * codes; absent, everywhere.  An unknown code is an error rather than a
 * country silently never served (or served by the wrong price). */
static int load_countries(eng_build *b, int node, eng_delivery_opt *o)
{
    yaml_node_t *n = eng__ynode(b->doc, node);
    size_t cnt = n && n->type == YAML_SEQUENCE_NODE
                     ? (size_t)(n->data.sequence.items.top - n->data.sequence.items.start) : 0;
    if (!n || n->type != YAML_SEQUENCE_NODE || cnt == 0 || cnt > 300) {
        eng__build_error(b, node, "\"countries\" must be a list of two-letter country codes like [US, CA] "
                                  "(leave it out for an option that delivers everywhere)");
        return ENG_ECONFIG;
    }
    if (!(o->countries = eng__pool_alloc(b->p->pool, cnt * sizeof *o->countries)))
        return ENG_ENOMEM;
    int rc = 0;
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
        const char *v = eng__yscalar(b->doc, *it);
        char code[3];
        bool upper = v && strlen(v) == 2 && isupper((unsigned char)v[0]) && isupper((unsigned char)v[1]);
        if (v && strcmp(v, "UK") == 0) {
            eng__build_error(b, *it, "\"UK\" is not an ISO 3166-1 code: the United Kingdom is GB");
            rc = ENG_ECONFIG;
            continue;
        }
        if (!upper || !eng__country_norm(v, code)) {
            eng__build_error(b, *it, "\"%s\" is not a country code (ISO 3166-1 alpha-2, upper case, like US, GB, PT)",
                             v ? v : "?");
            rc = ENG_ECONFIG;
            continue;
        }
        bool dup = false;
        for (size_t k = 0; k < o->ncountries && !dup; k++)
            dup = strcmp(o->countries[k], code) == 0;
        if (dup) {
            eng__build_error(b, *it, "country %s is listed twice", code);
            rc = ENG_ECONFIG;
            continue;
        }
        memcpy(o->countries[o->ncountries++], code, 3);
    }
    return rc;
}

static int load_option(eng_build *b, int node, eng_delivery_opt *o)
{
    yaml_node_t *n = eng__ynode(b->doc, node);
    if (!n || n->type != YAML_MAPPING_NODE) {
        eng__build_error(b, node, "a delivery option must be a mapping {id, name, days, price, free_over?, countries?}");
        return ENG_ECONFIG;
    }
    int rc = eng__build_check_keys(b, node, opt_keys, false, "delivery option key",
                                   " (id, name, days, price, free_over, countries)");
    o->id = scalar(b, node, "id", true, "a short name like standard");
    o->name = scalar(b, node, "name", true, "what the shopper reads, like Standard delivery");
    o->days = scalar(b, node, "days", false, "how long it takes, like 3-5 business days");
    if (!o->days)
        o->days = "";
    if (!o->id || !o->name)
        rc = ENG_ECONFIG;
    for (const char *c = o->id; c && *c; c++)
        if (!(islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '-' || *c == '_')) {
            eng__build_error(b, eng__ymap_get(b->doc, node, "id"),
                             "a delivery option id uses a-z, 0-9, - and _ only (\"%s\")", o->id);
            rc = ENG_ECONFIG;
            break;
        }
    int pn = eng__ymap_get(b->doc, node, "price");
    if (!pn) {
        eng__build_error(b, node, "missing \"price\" (the option's price, e.g. 4.90; 0 for free)");
        rc = ENG_ECONFIG;
    } else if (price_cents(b, pn, "price", &o->price_cents) < 0) {
        rc = ENG_ECONFIG;
    }
    o->free_over_cents = -1;
    int fn = eng__ymap_get(b->doc, node, "free_over");
    if (fn && price_cents(b, fn, "free_over", &o->free_over_cents) < 0)
        rc = ENG_ECONFIG;
    int cn = eng__ymap_get(b->doc, node, "countries");
    if (cn) {
        int r = load_countries(b, cn, o);
        if (r == ENG_ENOMEM)
            return r;
        if (r < 0)
            rc = ENG_ECONFIG;
    }
    return rc;
}

int eng__checkout_load(eng_build *b, int node, eng_checkout_cfg **out)
{
    yaml_node_t *n = eng__ynode(b->doc, node);
    if (!n || n->type != YAML_MAPPING_NODE) {
        eng__build_error(b, node, "\"checkout\" must be a mapping {currency, payment, delivery, confirmation_email}");
        return ENG_ECONFIG;
    }
    eng_checkout_cfg *c = eng__pool_alloc(b->p->pool, sizeof *c);
    if (!c)
        return ENG_ENOMEM;
    memset(c, 0, sizeof *c);
    int rc = eng__build_check_keys(b, node, keys, false, "checkout key",
                                   " (currency, payment, delivery, confirmation_email, po_boxes)");
    int pn = eng__ymap_get(b->doc, node, "po_boxes");
    if (pn) {
        const char *v = eng__yscalar(b->doc, pn);
        if (v && strcmp(v, "false") == 0)
            c->no_po_boxes = true;
        else if (!v || strcmp(v, "true") != 0) {
            eng__build_error(b, pn, "\"po_boxes\" must be true or false (whether PO boxes and military addresses "
                                    "are delivered to)");
            rc = ENG_ECONFIG;
        }
    }
    c->currency = scalar(b, node, "currency", false, "ISO 4217 code, like USD");
    if (!c->currency)
        c->currency = "USD";
    if (strlen(c->currency) != 3 || !isupper((unsigned char)c->currency[0]) ||
        !isupper((unsigned char)c->currency[1]) || !isupper((unsigned char)c->currency[2])) {
        eng__build_error(b, eng__ymap_get(b->doc, node, "currency") ? eng__ymap_get(b->doc, node, "currency") : node,
                         "\"currency\" must be a three-letter code like USD, not \"%s\"", c->currency);
        rc = ENG_ECONFIG;
    }
    c->payment = scalar(b, node, "payment", false, "the payment provider, like test");
    if (!c->payment)
        c->payment = "test";
    if (!eng_pay_find(c->payment)) {
        eng__build_error(b, eng__ymap_get(b->doc, node, "payment") ? eng__ymap_get(b->doc, node, "payment") : node,
                         "no payment provider \"%s\" (this build knows \"test\"; others are registered with "
                         "eng_pay_register)", c->payment);
        rc = ENG_ECONFIG;
    }
    int dn = eng__ymap_get(b->doc, node, "delivery");
    yaml_node_t *d = dn ? eng__ynode(b->doc, dn) : NULL;
    if (d && d->type != YAML_SEQUENCE_NODE) {
        eng__build_error(b, dn, "\"delivery\" must be a list of options {id, name, days, price, free_over?}");
        rc = ENG_ECONFIG;
    } else if (d) {
        size_t cnt = (size_t)(d->data.sequence.items.top - d->data.sequence.items.start);
        if (cnt == 0 || cnt > 32) {
            eng__build_error(b, dn, "\"delivery\" needs 1 to 32 options");
            rc = ENG_ECONFIG;
        } else if (!(c->opts = eng__pool_alloc(b->p->pool, cnt * sizeof *c->opts))) {
            return ENG_ENOMEM;
        } else {
            memset(c->opts, 0, cnt * sizeof *c->opts);
            for (yaml_node_item_t *it = d->data.sequence.items.start; it < d->data.sequence.items.top; it++) {
                eng_delivery_opt *o = &c->opts[c->nopts];
                int r = load_option(b, *it, o);
                if (r == ENG_ENOMEM)
                    return r;
                if (r < 0) {
                    rc = ENG_ECONFIG;
                    continue;
                }
                for (size_t k = 0; k < c->nopts; k++)
                    if (strcmp(c->opts[k].id, o->id) == 0) {
                        eng__build_error(b, *it, "delivery option \"%s\" is listed twice", o->id);
                        rc = ENG_ECONFIG;
                    }
                c->nopts++;
            }
        }
    }
    int en = eng__ymap_get(b->doc, node, "confirmation_email");
    if (en) {
        const char *src = eng__yscalar(b->doc, en);
        int line, col;
        eng__build_scalar_pos(b, en, &line, &col);
        eng_err err = {0};
        int r = src ? eng__tmpl_compile(b->p->pool, src, line, col, &c->email, &err) : ENG_EINVAL;
        if (r == ENG_ENOMEM)
            return r;
        if (r < 0) {
            if (src)
                eng_diags_add(b->diags, ENG_DIAG_ERROR, b->file, err.line ? err.line : line,
                              err.line ? err.col : col, "confirmation_email: %s", err.msg);
            else
                eng__build_error(b, en, "\"confirmation_email\" must be a template string");
            rc = ENG_ECONFIG;
        }
    }
    *out = c;
    return rc;
}

/* ------------------------------------------------------------ address */
typedef struct afield {
    const char *name;
    bool required;
    size_t max;           /* bytes */
    const char *label;
} afield;

static const afield afields[] = {
    {"name", true, 100, "the recipient's name"},
    {"line1", true, 120, "the street address"},
    {"line2", false, 120, "the second address line"},
    {"city", true, 80, "the city"},
    {"region", false, 80, "the state or region"},
    {"postalCode", true, 16, "the postal code"},
    {"country", true, 2, "the country (a two-letter code like US)"},
    {"phone", false, 32, "the phone number"},
    {NULL, false, 0, NULL},
};

static bool text_ok(const char *s, size_t n)
{
    if (!eng_utf8_valid(s, n))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 32 || s[i] == 127)
            return false;
    return true;
}

json_object *eng__address_clean(json_object *in, char *field, size_t fn, char *why, size_t wn)
{
    if (!in || !json_object_is_type(in, json_type_object)) {
        snprintf(field, fn, "address");
        snprintf(why, wn, "a delivery address is needed (name, line1, city, postalCode, country)");
        return NULL;
    }
    json_object_object_foreach(in, k, kv) {
        (void)kv;
        bool known = false;
        for (const afield *f = afields; f->name; f++)
            known |= strcmp(f->name, k) == 0;
        if (!known) {
            snprintf(field, fn, "address");
            snprintf(why, wn, "the address has an unknown field \"%.40s\"", k);
            return NULL;
        }
    }
    json_object *out = json_object_new_object();
    for (const afield *f = afields; f->name; f++) {
        json_object *v = json_object_object_get(in, f->name);
        snprintf(field, fn, "address.%s", f->name);
        if (v && !json_object_is_type(v, json_type_string)) {
            snprintf(why, wn, "%s must be text", f->label);
            json_object_put(out);
            return NULL;
        }
        const char *s = v ? json_object_get_string(v) : "";
        size_t n = v ? (size_t)json_object_get_string_len(v) : 0;
        /* trim the white space a form leaves around */
        while (n && isspace((unsigned char)*s))
            s++, n--;
        while (n && isspace((unsigned char)s[n - 1]))
            n--;
        if (n == 0) {
            if (f->required) {
                snprintf(why, wn, "%s is required", f->label);
                json_object_put(out);
                return NULL;
            }
            continue;
        }
        if (n > f->max || !text_ok(s, n) || memchr(s, 0, n)) {
            snprintf(why, wn, "%s must be at most %zu characters of plain text", f->label, f->max);
            json_object_put(out);
            return NULL;
        }
        char buf[128];
        memcpy(buf, s, n);
        buf[n] = 0;
        if (strcmp(f->name, "country") == 0) {
            for (size_t i = 0; i < n; i++)
                buf[i] = (char)toupper((unsigned char)buf[i]);
            if (n != 2 || !isupper((unsigned char)buf[0]) || !isupper((unsigned char)buf[1])) {
                snprintf(why, wn, "%s", f->label);
                json_object_put(out);
                return NULL;
            }
        }
        if (strcmp(f->name, "postalCode") == 0)
            for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char)buf[i]) && buf[i] != ' ' && buf[i] != '-') {
                    snprintf(why, wn, "the postal code may have letters, digits, spaces and dashes only");
                    json_object_put(out);
                    return NULL;
                }
        json_object_object_add(out, f->name, json_object_new_string_len(buf, (int)n));
    }
    field[0] = 0;
    why[0] = 0;
    return out;
}

/* ------------------------------------------------------------ delivery */
int64_t eng__delivery_price(const eng_delivery_opt *o, int64_t goods_cents)
{
    if (o->free_over_cents >= 0 && goods_cents >= o->free_over_cents)
        return 0;
    return o->price_cents;
}

static json_object *cents(int64_t c) { return json_object_new_double((double)c / 100.0); }

json_object *eng__delivery_json(const eng_delivery_opt *o, int64_t goods_cents)
{
    json_object *j = json_object_new_object();
    ENG_JADD(j, "id", json_object_new_string(o->id));
    ENG_JADD(j, "name", json_object_new_string(o->name));
    ENG_JADD(j, "days", json_object_new_string(o->days));
    ENG_JADD(j, "price", cents(eng__delivery_price(o, goods_cents)));
    ENG_JADD(j, "basePrice", cents(o->price_cents));
    if (o->free_over_cents >= 0)
        ENG_JADD(j, "freeOver", cents(o->free_over_cents));
    return j;
}

const eng_delivery_opt *eng__delivery_find(const eng_checkout_cfg *c, const char *id)
{
    if (!c->nopts)
        return NULL;
    if (!id)
        return &c->opts[0];
    for (size_t i = 0; i < c->nopts; i++)
        if (strcmp(c->opts[i].id, id) == 0)
            return &c->opts[i];
    return NULL;
}

bool eng__delivery_serves(const eng_delivery_opt *o, const char *country)
{
    if (!o->countries || !country)
        return true;
    char cc[3];
    if (!eng__country_norm(country, cc))
        return false;
    for (size_t i = 0; i < o->ncountries; i++)
        if (strcmp(o->countries[i], cc) == 0)
            return true;
    return false;
}

size_t eng__delivery_for(const eng_checkout_cfg *c, const char *country, const eng_delivery_opt **out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < c->nopts && n < cap; i++)
        if (eng__delivery_serves(&c->opts[i], country))
            out[n++] = &c->opts[i];
    return n;
}

json_object *eng__delivery_countries_json(const eng_delivery_opt *o)
{
    if (!o->countries)
        return NULL;
    json_object *a = json_object_new_array();
    for (size_t i = 0; i < o->ncountries; i++)
        json_object_array_add(a, json_object_new_string(o->countries[i]));
    return a;
}

/* "the United States, Canada, the United Kingdom and the European Union":
 * every country some option delivers to, in the settings' order, the
 * European Union named once when all its members are served */
static void served_places(const eng_checkout_cfg *c, char *buf, size_t n)
{
    char seen[300][3];
    size_t ns = 0, eu = 0;
    for (size_t i = 0; i < c->nopts; i++)
        for (size_t k = 0; k < c->opts[i].ncountries && ns < sizeof seen / sizeof *seen; k++) {
            bool dup = false;
            for (size_t j = 0; j < ns && !dup; j++)
                dup = strcmp(seen[j], c->opts[i].countries[k]) == 0;
            if (!dup) {
                memcpy(seen[ns++], c->opts[i].countries[k], 3);
                eu += eng__country_in_eu(c->opts[i].countries[k]);
            }
        }
    bool as_eu = eu == eng__country_eu_count();
    const char *names[300];
    size_t nn = 0;
    bool eu_said = false;
    for (size_t j = 0; j < ns; j++) {
        if (as_eu && eng__country_in_eu(seen[j])) {
            if (!eu_said)
                names[nn++] = "the European Union";
            eu_said = true;
            continue;
        }
        const char *nm = eng__country_name(seen[j]);
        names[nn++] = nm ? nm : seen[j];
    }
    size_t used = 0;
    buf[0] = 0;
    for (size_t j = 0; j < nn && used < n; j++)
        used += (size_t)snprintf(buf + used, n - used, "%s%s", j == 0 ? "" : j + 1 == nn ? " and " : ", ", names[j]);
}

int eng__delivery_choose(const eng_checkout_cfg *c, const char *country, const char *id,
                         const eng_delivery_opt **out, char *field, size_t fn, char *why, size_t wn)
{
    *out = NULL;
    field[0] = 0;
    why[0] = 0;
    if (!c->nopts && !id)
        return 0;
    char cc[3];
    const char *place = country && eng__country_norm(country, cc) ? eng__country_name(cc) : NULL;
    char quoted[16];
    if (!place) {
        snprintf(quoted, sizeof quoted, "\"%.8s\"", country ? country : "");
        place = quoted;
    }
    const eng_delivery_opt *ok[32];
    size_t n = eng__delivery_for(c, country, ok, sizeof ok / sizeof *ok);
    if (c->nopts && n == 0) {
        char where[400];
        served_places(c, where, sizeof where);
        snprintf(field, fn, "address.country");
        snprintf(why, wn, "we can't deliver to %s yet (we deliver to %s)", place, where);
        return -1;
    }
    if (!id) {
        *out = ok[0];
        return 0;
    }
    const eng_delivery_opt *o = eng__delivery_find(c, id);
    if (o && eng__delivery_serves(o, country)) {
        *out = o;
        return 0;
    }
    /* the options there are: by id for a wrong id, by name otherwise */
    char list[400] = "";
    size_t used = 0;
    for (size_t i = 0; i < n && used < sizeof list; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i == 0 ? "" : o ? (i + 1 == n ? " and " : ", ") : ", ",
                                 o ? ok[i]->name : ok[i]->id);
    snprintf(field, fn, "delivery");
    if (!o)
        snprintf(why, wn, "there is no delivery option \"%.40s\"%s%s", id, n ? "; choose one of: " : "", list);
    else
        snprintf(why, wn, "%s does not deliver to %s (%s %s)", o->name, place, list, n == 1 ? "does" : "do");
    return -1;
}

/* ------------------------------------------------------------ card */
static int fail(char *field, size_t fn, const char *f, char *why, size_t wn, const char *msg)
{
    snprintf(field, fn, "%s", f);
    snprintf(why, wn, "%s", msg);
    return -1;
}

int eng__card_check(json_object *payment, int64_t now_s, eng_card *c, char *field, size_t fn, char *why,
                    size_t wn)
{
    memset(c, 0, sizeof *c);
    if (!payment || !json_object_is_type(payment, json_type_object))
        return fail(field, fn, "payment", why, wn, "a payment card is needed (cardNumber, expiry, cvc)");
    json_object *num = json_object_object_get(payment, "cardNumber");
    json_object *exp = json_object_object_get(payment, "expiry");
    json_object *cvc = json_object_object_get(payment, "cvc");
    const char *s = json_object_is_type(num, json_type_string) ? json_object_get_string(num) : NULL;
    size_t nd = 0;
    for (size_t i = 0; s && s[i]; i++) {
        if (s[i] == ' ' || s[i] == '-')
            continue;
        if (!isdigit((unsigned char)s[i]) || nd >= 19 || i > 40)
            return fail(field, fn, "payment.cardNumber", why, wn,
                        "the card number must be 12 to 19 digits (spaces allowed)");
        c->number[nd++] = s[i];
    }
    c->number[nd] = 0;
    if (nd < 12)
        return fail(field, fn, "payment.cardNumber", why, wn, "the card number must be 12 to 19 digits (spaces allowed)");
    if (!eng_pay_luhn_ok(c->number))
        return fail(field, fn, "payment.cardNumber", why, wn, "that card number is not valid: please check it");
    const char *e = json_object_is_type(exp, json_type_string) ? json_object_get_string(exp) : NULL;
    int mm = 0, yy = 0;
    size_t el = e ? strlen(e) : 0;
    bool shape = e && (el == 5 || el == 7) && isdigit((unsigned char)e[0]) && isdigit((unsigned char)e[1]) &&
                 e[2] == '/';
    for (size_t i = 3; shape && i < el; i++)
        shape = isdigit((unsigned char)e[i]);
    if (shape) {
        mm = (e[0] - '0') * 10 + (e[1] - '0');
        yy = (int)strtol(e + 3, NULL, 10);
        if (el == 5)
            yy += 2000;
    }
    if (!shape || mm < 1 || mm > 12)
        return fail(field, fn, "payment.expiry", why, wn, "the expiry date must be MM/YY, like 12/30");
    time_t now = (time_t)now_s;
    struct tm tm;
    gmtime_r(&now, &tm);
    if (yy < tm.tm_year + 1900 || (yy == tm.tm_year + 1900 && mm < tm.tm_mon + 1))
        return fail(field, fn, "payment.expiry", why, wn, "the card has expired");
    if (yy > tm.tm_year + 1900 + 25)
        return fail(field, fn, "payment.expiry", why, wn, "the expiry date is too far away: please check it");
    const char *v = json_object_is_type(cvc, json_type_string) ? json_object_get_string(cvc) : NULL;
    size_t vl = v ? strlen(v) : 0;
    bool cvc_ok = vl == 3 || vl == 4;
    for (size_t i = 0; cvc_ok && i < vl; i++)
        cvc_ok = isdigit((unsigned char)v[i]);
    if (!cvc_ok)
        return fail(field, fn, "payment.cvc", why, wn, "the security code (CVC) must be 3 or 4 digits");
    memcpy(c->cvc, v, vl + 1);
    c->exp_month = mm;
    c->exp_year = yy;
    snprintf(c->brand, sizeof c->brand, "%s", eng_pay_card_brand(c->number));
    snprintf(c->last4, sizeof c->last4, "%s", c->number + nd - 4);
    field[0] = 0;
    why[0] = 0;
    return 0;
}

/* ------------------------------------------------------------ e-mail */
/* The envelope's city line as the address's country writes it: "Springfield,
 * IL 62701" in the US, Canada and Australia, "Leeds LS1 4AP" in the UK and
 * Ireland, "10115 Berlin" on the continent; and the country's name.  Given
 * to the e-mail template as address.locality and address.countryName (the
 * page's AddressBlock writes the same), never stored with the order. */
static const struct {
    const char *code, *name;
    char style; /* 'a': city, region postal; 'b': city postal; else postal city, region */
} countries[] = {
    {"US", "United States", 'a'}, {"CA", "Canada", 'a'},      {"AU", "Australia", 'a'},
    {"GB", "United Kingdom", 'b'}, {"IE", "Ireland", 'b'},    {"DE", "Germany", 0},
    {"FR", "France", 0},           {"IT", "Italy", 0},        {"ES", "Spain", 0},
    {"NL", "Netherlands", 0},
};

static void address_view(json_object *a, bool add)
{
    if (!json_object_is_type(a, json_type_object))
        return;
    if (!add) {
        json_object_object_del(a, "locality");
        json_object_object_del(a, "countryName");
        return;
    }
    const char *city = eng__json_str(a, "city", ""), *region = eng__json_str(a, "region", "");
    const char *zip = eng__json_str(a, "postalCode", ""), *cc = eng__json_str(a, "country", "");
    const char *name = cc;
    char style = 0;
    for (size_t i = 0; i < sizeof countries / sizeof *countries; i++)
        if (strcasecmp(cc, countries[i].code) == 0) {
            name = countries[i].name;
            style = countries[i].style;
        }
    eng_buf b;
    eng__buf_init(&b);
    if (style == 'a')
        eng__buf_printf(&b, "%s%s%s%s%s", city, *region ? ", " : "", region, *zip ? " " : "", zip);
    else if (style == 'b')
        eng__buf_printf(&b, "%s%s%s", city, *zip ? " " : "", zip);
    else
        eng__buf_printf(&b, "%s%s%s%s%s", zip, *zip ? " " : "", city, *region ? ", " : "", region);
    ENG_JADD(a, "locality", json_object_new_string(b.data ? b.data : ""));
    ENG_JADD(a, "countryName", json_object_new_string(name));
    eng__buf_free(&b);
}

char *eng__checkout_email(const eng_checkout_cfg *c, json_object *doc)
{
    const eng_tmpl *t = c->email ? c->email : builtin_email();
    if (!t)
        return NULL;
    eng_buf b;
    eng__buf_init(&b);
    json_object *a = eng__json_path(doc, "address");
    address_view(a, true);
    int rc = eng__tmpl_render(t, doc, &b);
    address_view(a, false);
    if (rc < 0 || b.oom) {
        eng__buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* ------------------------------------------------------------ public API */
typedef struct acall {
    eng_turn_opts o;
    eng_deps deps;
    char uid[32];
    eng_turn *t;
} acall;

/* the address calls need no cart, but a signed-in shopper */
static int need_user(const eng_shopper *w, eng_shop_result *r)
{
    memset(r, 0, sizeof *r);
    if (!w || !w->store)
        return ENG_EINVAL;
    if (!w->user_id) {
        r->status = ENG_SHOP_LOGIN;
        snprintf(r->reason, sizeof r->reason, "please sign in to keep an address or a card");
        return 1;
    }
    return 0;
}

int eng_shop_address_get(const eng_shopper *w, eng_shop_result *r)
{
    int rc = need_user(w, r);
    if (rc)
        return rc < 0 ? rc : 0;
    char *js = NULL;
    store_err e = {0};
    rc = store_account_get(w->store, w->user_id, "address", &js, &e);
    if (rc == STORE_ENOTFOUND) {
        r->status = ENG_SHOP_NOT_FOUND;
        snprintf(r->reason, sizeof r->reason, "no delivery address is saved yet");
        return 0;
    }
    if (rc < 0) {
        r->status = ENG_SHOP_UNAVAILABLE;
        snprintf(r->reason, sizeof r->reason, "the address is not available right now; please try again");
        return 0;
    }
    r->info = json_tokener_parse(js);
    free(js);
    r->status = r->info ? ENG_SHOP_OK : ENG_SHOP_NOT_FOUND;
    if (!r->info)
        snprintf(r->reason, sizeof r->reason, "no delivery address is saved yet");
    return 0;
}

const char *eng_pipeline_currency(const eng_pipeline *p) { return eng__checkout_cfg(p)->currency; }
const char *eng_pipeline_payment(const eng_pipeline *p) { return eng__checkout_cfg(p)->payment; }

bool eng__address_refused(const eng_checkout_cfg *c, json_object *a, char *field, size_t fn, char *why, size_t wn)
{
    if (!c || !c->no_po_boxes || !eng__address_po_box(a))
        return false;
    snprintf(field, fn, "address.line1");
    snprintf(why, wn, "we can't deliver to PO boxes or military addresses; please give a street address");
    return true;
}

int eng_shop_address_check(json_object *address, eng_shop_result *r)
{
    memset(r, 0, sizeof *r);
    r->info = eng__address_clean(address, r->field, sizeof r->field, r->reason, sizeof r->reason);
    r->status = r->info ? ENG_SHOP_OK : ENG_SHOP_INVALID;
    return 0;
}

int eng_shop_address_set(const eng_shopper *w, json_object *address, eng_shop_result *r)
{
    int rc = need_user(w, r);
    if (rc)
        return rc < 0 ? rc : 0;
    json_object *a = eng__address_clean(address, r->field, sizeof r->field, r->reason, sizeof r->reason);
    if (!a) {
        r->status = ENG_SHOP_INVALID;
        return 0;
    }
    /* an address the shop cannot deliver to is not kept for a checkout */
    const eng_delivery_opt *o;
    if (eng__address_refused(eng__checkout_cfg(w->pipe), a, r->field, sizeof r->field, r->reason, sizeof r->reason)) {
        json_object_put(a);
        r->status = ENG_SHOP_INVALID;
        return 0;
    }
    if (eng__delivery_choose(eng__checkout_cfg(w->pipe), eng__json_str(a, "country", NULL), NULL, &o, r->field,
                             sizeof r->field, r->reason, sizeof r->reason) < 0) {
        json_object_put(a);
        r->status = ENG_SHOP_INVALID;
        return 0;
    }
    store_err e = {0};
    rc = store_account_put(w->store, w->user_id, "address", json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN), &e);
    if (rc < 0) {
        json_object_put(a);
        r->field[0] = 0;
        r->status = ENG_SHOP_UNAVAILABLE;
        snprintf(r->reason, sizeof r->reason, "the address could not be saved right now; please try again");
        return 0;
    }
    r->info = a;
    r->status = ENG_SHOP_OK;
    return 0;
}

/* ------------------------------------------------------------ saved card */
int eng__payment_keep(store *s, int64_t uid, const eng_checkout_cfg *c, const eng_card *card,
                      eng_pay_result *out)
{
    memset(out, 0, sizeof *out);
    const eng_pay_provider *p = eng_pay_find(c->payment);
    if (!p || !p->save)
        return ENG_EINVAL;
    eng_pay_req q = {NULL, 0, c->currency, card->number, card->exp_month, card->exp_year, card->cvc, NULL};
    int rc = p->save(p, &q, out);
    if (rc < 0 || !out->approved)
        return rc;
    json_object *j = json_object_new_object();
    ENG_JADD(j, "provider", json_object_new_string(c->payment));
    ENG_JADD(j, "brand", json_object_new_string(card->brand));
    ENG_JADD(j, "last4", json_object_new_string(card->last4));
    ENG_JADD(j, "token", json_object_new_string(out->token));
    store_err e = {0};
    rc = store_account_put(s, uid, "payment", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN), &e);
    json_object_put(j);
    return rc < 0 ? ENG_EIO : 0;
}

json_object *eng__payment_saved(store *s, int64_t uid)
{
    char *js = NULL;
    store_err e = {0};
    if (!uid || store_account_get(s, uid, "payment", &js, &e) < 0)
        return NULL;
    json_object *j = js ? json_tokener_parse(js) : NULL;
    free(js);
    if (!j || !json_object_is_type(j, json_type_object) || !json_object_object_get(j, "token")) {
        json_object_put(j);
        return NULL;
    }
    return j;
}

/* the saved card as the shopper sees it: no token */
static json_object *card_shown(json_object *saved)
{
    json_object *o = json_object_new_object();
    static const char *const keep[] = {"provider", "brand", "last4", NULL};
    for (size_t i = 0; keep[i]; i++)
        json_object_object_add(o, keep[i], json_object_get(json_object_object_get(saved, keep[i])));
    return o;
}

int eng_shop_payment_get(const eng_shopper *w, eng_shop_result *r)
{
    int rc = need_user(w, r);
    if (rc)
        return rc < 0 ? rc : 0;
    json_object *saved = eng__payment_saved(w->store, w->user_id);
    if (!saved) {
        r->status = ENG_SHOP_NOT_FOUND;
        snprintf(r->reason, sizeof r->reason, "no card is saved");
        return 0;
    }
    r->info = card_shown(saved);
    json_object_put(saved);
    r->status = ENG_SHOP_OK;
    return 0;
}

int eng_shop_payment_save(const eng_shopper *w, json_object *card, eng_shop_result *r)
{
    int rc = need_user(w, r);
    if (rc)
        return rc < 0 ? rc : 0;
    eng_card c;
    if (eng__card_check(card, (int64_t)time(NULL), &c, r->field, sizeof r->field, r->reason, sizeof r->reason) < 0) {
        r->status = ENG_SHOP_INVALID;
        return 0;
    }
    eng_pay_result out;
    rc = eng__payment_keep(w->store, w->user_id, eng__checkout_cfg(w->pipe), &c, &out);
    if (rc < 0) {
        r->status = ENG_SHOP_UNAVAILABLE;
        snprintf(r->reason, sizeof r->reason, "the card could not be saved right now; please try again");
        return 0;
    }
    if (!out.approved) {
        r->status = ENG_SHOP_PAYMENT;
        snprintf(r->field, sizeof r->field, "payment");
        snprintf(r->reason, sizeof r->reason, "the card was not accepted: %s", out.reason);
        return 0;
    }
    r->info = json_object_new_object();
    ENG_JADD(r->info, "provider", json_object_new_string(eng__checkout_cfg(w->pipe)->payment));
    ENG_JADD(r->info, "brand", json_object_new_string(c.brand));
    ENG_JADD(r->info, "last4", json_object_new_string(c.last4));
    r->status = ENG_SHOP_OK;
    return 0;
}

int eng_shop_payment_forget(const eng_shopper *w, eng_shop_result *r)
{
    int rc = need_user(w, r);
    if (rc)
        return rc < 0 ? rc : 0;
    store_err e = {0};
    rc = store_account_put(w->store, w->user_id, "payment", "null", &e);
    r->status = rc < 0 ? ENG_SHOP_UNAVAILABLE : ENG_SHOP_OK;
    if (rc < 0)
        snprintf(r->reason, sizeof r->reason, "the card could not be removed right now; please try again");
    return 0;
}

int eng_shop_delivery_to(const eng_shopper *w, const char *country, const char *delivery, eng_shop_result *r)
{
    int rc = eng_shop_cart(w, r);
    if (rc < 0 || r->status != ENG_SHOP_OK)
        return rc;
    const eng_checkout_cfg *c = eng__checkout_cfg(w->pipe);
    int64_t goods = llround(json_object_get_double(eng__json_path(r->cart, "total")) * 100);
    const eng_delivery_opt *ok[32], *chosen = NULL;
    size_t n = eng__delivery_for(c, country && *country ? country : NULL, ok, sizeof ok / sizeof *ok);
    json_object *items = json_object_new_array();
    for (size_t i = 0; i < n; i++) {
        json_object *j = eng__delivery_json(ok[i], goods);
        json_object *cs = eng__delivery_countries_json(ok[i]);
        if (cs)
            ENG_JADD(j, "countries", cs);
        json_object_array_add(items, j);
    }
    r->info = json_object_new_object();
    ENG_JADD(r->info, "currency", json_object_new_string(c->currency));
    char cc[3];
    if (country && *country)
        ENG_JADD(r->info, "country",
                 json_object_new_string(eng__country_norm(country, cc) ? cc : country));
    ENG_JADD(r->info, "items", items);
    char field[64], why[sizeof r->reason];
    if (eng__delivery_choose(c, country && *country ? country : NULL, delivery, &chosen, field, sizeof field, why,
                             sizeof why) < 0) {
        json_object *p = json_object_new_object();
        ENG_JADD(p, "field", json_object_new_string(field));
        ENG_JADD(p, "reason", json_object_new_string(why));
        ENG_JADD(r->info, "refused", p);
    } else if (chosen) {
        ENG_JADD(r->info, "chosen", eng__delivery_json(chosen, goods));
    }
    return 0;
}

int eng_shop_delivery_options(const eng_shopper *w, eng_shop_result *r)
{
    return eng_shop_delivery_to(w, NULL, NULL, r);
}
