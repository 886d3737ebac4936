/* tests/unit/test_entities.c — the entity extractor (engine/nlu/entities.c)
 * with exact spans for every kind, and the `entities` stage: options and
 * their lint errors, references resolved against shown products, the
 * catalog vocabulary from a real SQLite store, and a random-bytes fuzz. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/nlu/ent_int.h"
#include "stores/store.h"
#include "sqlite_store.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static eng__ent_vocab *vocab(void)
{
    static const char *brands[] = {"Nike", "The North Face", "Levi's", "Dr. Martens"};
    static const char *cats[] = {"hiking boots", "mens-shoes", "laptops"};
    static const char *colors[] = {"fuchsia"};
    static const char *from[] = {"sneakers", "trainers"}, *to[] = {"mens-shoes", "nowhere"};
    bool ok[2];
    eng__ent_lists l = {colors, 1, brands, 4, cats, 3, from, to, 2, ok};
    eng__ent_vocab *v = NULL;
    assert_int_equal(eng__ent_vocab_new(&l, &v), 0);
    assert_true(ok[0]);
    assert_false(ok[1]);
    return v;
}

/* Expect entity #k of `text` to be of `type` spanning exactly `span`. */
static const eng__ent *find(const eng__ent *e, int n, const char *text, eng__ent_type type, const char *span)
{
    const char *p = strstr(text, span);
    assert_non_null(p);
    for (int i = 0; i < n; i++)
        if (e[i].type == type && e[i].start == (uint32_t)(p - text) && e[i].end == (uint32_t)(p - text + strlen(span)))
            return &e[i];
    for (int i = 0; i < n; i++)
        print_message("  got %s [%u,%u) \"%.*s\"\n", eng__ent_type_name(e[i].type), e[i].start, e[i].end,
                      (int)(e[i].end - e[i].start), text + e[i].start);
    fail_msg("%s: no %s \"%s\"", text, eng__ent_type_name(type), span);
    return NULL;
}

static int ex(const eng__ent_vocab *v, const char *text, eng__ent *e)
{
    int n = eng__ent_extract(v, text, strlen(text), e, 64);
    assert_true(n >= 0);
    return n;
}

static void test_table_sorted(void **state)
{
    (void)state;
    assert_int_equal(eng__ent_selfcheck(), 0);
}

static void test_design_examples(void **state)
{
    (void)state;
    eng__ent_vocab *v = vocab();
    eng__ent e[64];
    const char *t = "waterproof hiking boots under $120";
    int n = ex(v, t, e);
    assert_int_equal(n, 2);
    assert_string_equal(find(e, n, t, ENG_ENT_CATEGORY, "hiking boots")->str, "hiking boots");
    const eng__ent *m = find(e, n, t, ENG_ENT_MONEY, "under $120");
    assert_true(isnan(m->min) && m->max == 120 && isnan(m->num));
    assert_string_equal(m->currency, "USD");

    t = "add the second one, size 10";
    n = ex(v, t, e);
    assert_int_equal(n, 2);
    m = find(e, n, t, ENG_ENT_REFERENCE, "the second one");
    assert_int_equal(m->ref, ENG_REF_ORDINAL);
    assert_int_equal(m->index, 1);
    m = find(e, n, t, ENG_ENT_SIZE, "size 10");
    assert_int_equal(m->ve - m->vs, 2);

    t = "I'll take two of the blue ones";
    n = ex(v, t, e);
    assert_int_equal(n, 2);
    assert_true(find(e, n, t, ENG_ENT_QUANTITY, "two")->num == 2);
    m = find(e, n, t, ENG_ENT_REFERENCE, "the blue ones");
    assert_int_equal(m->ref, ENG_REF_ATTRIBUTE);
    assert_int_equal(m->attr_type, ENG_ENT_COLOR);
    assert_string_equal(m->str, "blue");
    assert_true(m->plural);

    t = "where is my order #A123-45?";
    n = ex(v, t, e);
    assert_int_equal(n, 1);
    m = find(e, n, t, ENG_ENT_ORDER, "#A123-45");
    assert_int_equal(m->vs, 19);
    eng__ent_vocab_free(v);
}

static void test_money(void **state)
{
    (void)state;
    static const struct {
        const char *text, *span;
        double amount, min, max;
        const char *cur;
    } c[] = {
        {"boots for $50 please", "$50", 50, NAN, NAN, "USD"},
        {"50 dollars", "50 dollars", 50, NAN, NAN, "USD"},
        {"anything under $50?", "under $50", NAN, NAN, 50, "USD"},
        /* amounts in words, and "around" a fifth either side */
        {"shoes under fifty", "under fifty", NAN, NAN, 50, NULL},
        {"watches less than a grand", "less than a grand", NAN, NAN, 1000, NULL},
        {"laptops around 1500", "around 1500", NAN, 1200, 1800, NULL},
        {"over 20", "over 20", NAN, 20, NAN, NULL},
        {"at least 20 euros", "at least 20 euros", NAN, 20, NAN, "EUR"},
        {"between 20 and 40", "between 20 and 40", NAN, 20, 40, NULL},
        {"sofas 20-40", "20-40", NAN, 20, 40, NULL},
        {"from \xc2\xa3" "40 to \xc2\xa3" "20", "from \xc2\xa3" "40 to \xc2\xa3" "20", NAN, 20, 40, "GBP"},
        {"less than 100 bucks", "less than 100 bucks", NAN, NAN, 100, "USD"},
        {"cheaper than 30", "cheaper than 30", NAN, NAN, 30, NULL},
        {"30\xe2\x82\xac max", "30\xe2\x82\xac max", NAN, NAN, 30, "EUR"},
        {"\xe2\x82\xac" "1,299.50", "\xe2\x82\xac" "1,299.50", 1299.5, NAN, NAN, "EUR"},
        {"$1.5k budget", "$1.5k", 1500, NAN, NAN, "USD"},
        {"$100+ headphones", "$100+", NAN, 100, NAN, "USD"},
        {"USD 50 or less", "USD 50 or less", NAN, NAN, 50, "USD"},
        /* a budget is the most to spend, however it is said */
        {"my budget is around 800", "budget is around 800", NAN, NAN, 800, NULL},
        {"budget's about 800", "budget's about 800", NAN, NAN, 800, NULL},
        {"a budget of roughly 300 dollars", "budget of roughly 300 dollars", NAN, NAN, 300, "USD"},
        /* a lower bound said not to be passed is the most to spend */
        {"nothing over 300", "over 300", NAN, NAN, 300, NULL},
        {"i don't want anything above $80", "above $80", NAN, NAN, 80, "USD"},
        {"none more than 40 please", "more than 40", NAN, NAN, 40, NULL},
        /* ...but not across "but": over 100, under 500 */
        {"nothing too cheap but over 100", "over 100", NAN, 100, NAN, NULL},
    };
    eng__ent e[64];
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        int n = ex(NULL, c[i].text, e);
        const eng__ent *m = find(e, n, c[i].text, ENG_ENT_MONEY, c[i].span);
        if (isnan(c[i].amount) != isnan(m->num) || isnan(c[i].min) != isnan(m->min) ||
            isnan(c[i].max) != isnan(m->max) || (!isnan(m->num) && m->num != c[i].amount) ||
            (!isnan(m->min) && m->min != c[i].min) || (!isnan(m->max) && m->max != c[i].max))
            fail_msg("%s: got amount %g min %g max %g", c[i].text, m->num, m->min, m->max);
        if (c[i].cur)
            assert_string_equal(m->currency, c[i].cur);
        else
            assert_null(m->currency);
    }
    /* counts and measures are not prices */
    const char *t = "I want 2 kg of rice at 3:30 pm, 20% off, up to 2";
    int n = ex(NULL, t, e);
    for (int i = 0; i < n; i++)
        assert_int_not_equal(e[i].type, ENG_ENT_MONEY);
}

static void test_quantities(void **state)
{
    (void)state;
    static const struct {
        const char *text, *span;
        double v;
    } c[] = {
        {"add 2 to cart", "2", 2},         {"two please", "two", 2},
        {"a dozen eggs", "a dozen", 12},    {"half a dozen", "half a dozen", 6},
        {"a couple of mugs", "a couple of", 2}, {"3x socks", "3x", 3},
        {"socks x3", "x3", 3},              {"twenty-five cups", "twenty-five", 25},
        {"qty: 4", "qty: 4", 4},           {"3 pcs", "3 pcs", 3},
        {"two dozen roses", "two dozen", 24},
        /* how many times a product is wanted */
        {"add it twice", "twice", 2},       {"the cheapest 3 times", "3 times", 3},
        {"thrice please", "thrice", 3},
    };
    eng__ent e[64];
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        int n = ex(NULL, c[i].text, e);
        assert_true(find(e, n, c[i].text, ENG_ENT_QUANTITY, c[i].span)->num == c[i].v);
    }
    /* not counts: prices, sizes, units, times, "which one" */
    const char *no[] = {"$5", "size 9", "2 kg", "at 3:30", "which one is it", "10.5", "in 2024",
                        "twice as many", "wrong one, the chanel", "the other one", "a different one please"};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        int n = ex(NULL, no[i], e);
        for (int k = 0; k < n; k++)
            if (e[k].type == ENG_ENT_QUANTITY)
                fail_msg("\"%s\" has a quantity", no[i]);
    }
}

/* Model numbers and inches after a name are product words: no count, no
 * price; counts and prices around them still are. */
static void test_models(void **state)
{
    (void)state;
    eng__ent e[64];
    const char *none[] = {"iphone 13 pro", "add the iphone 6 to my cart", "dell xps 13 9300", "vivo x21",
                          "model 42-A saw", "a 12 in pan", "galaxy s10"};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        int n = ex(NULL, none[i], e);
        for (int k = 0; k < n; k++)
            if (e[k].type == ENG_ENT_QUANTITY || e[k].type == ENG_ENT_MONEY)
                fail_msg("\"%s\" has a %s", none[i], eng__ent_type_name(e[k].type));
    }
    static const struct {
        const char *text, *span;
        double v;
    } q[] = {
        {"add 2 of the first one", "2", 2}, {"make it 12", "12", 12}, {"put 2 in my cart", "2", 2},
        {"mascara x3", "x3", 3},            {"i want 3 of the iphone 6", "3", 3},
    };
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        int n = ex(NULL, q[i].text, e);
        assert_true(find(e, n, q[i].text, ENG_ENT_QUANTITY, q[i].span)->num == q[i].v);
    }
    /* a bound followed by an order is still a price */
    const char *t = "mens shoes under 120 cheapest first";
    int n = ex(NULL, t, e);
    assert_true(find(e, n, t, ENG_ENT_MONEY, "under 120")->max == 120);
    t = "phones 200-300";
    n = ex(NULL, t, e);
    assert_true(find(e, n, t, ENG_ENT_MONEY, "200-300")->min == 200);
}

/* A count said again after a correction is the one meant: the earlier
 * is marked negated; two counts of two products are both kept. */
static void test_corrected_counts(void **state)
{
    (void)state;
    eng__ent e[64];
    static const struct {
        const char *text, *old, *meant;
    } c[] = {
        {"add 2 kiwis, sorry, 3", "2", "3"},
        {"put five apples in, no wait, six", "five", "six"},
        {"i need 4 lemons oops 2", "4", "2"},
        {"get me 3 no make that 4", "3", "4"},
        {"add 10 eggs, actually i mean 12", "10", "12"},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        int n = ex(NULL, c[i].text, e);
        assert_true(find(e, n, c[i].text, ENG_ENT_QUANTITY, c[i].old)->negated);
        assert_false(find(e, n, c[i].text, ENG_ENT_QUANTITY, c[i].meant)->negated);
    }
    const char *both[] = {"add 3 eggs and 2 milks", "2 kiwis, actually 3 lemons too",
                          "make it two actually, one is for my sister", "3 of those and also 2 of these"};
    for (size_t i = 0; i < sizeof both / sizeof both[0]; i++) {
        int n = ex(NULL, both[i], e);
        for (int k = 0; k < n; k++)
            if (e[k].type == ENG_ENT_QUANTITY && e[k].negated)
                fail_msg("\"%s\": a count left out", both[i]);
    }
}

static void test_sizes_colors_brands(void **state)
{
    (void)state;
    eng__ent_vocab *v = vocab();
    eng__ent e[64];
    const char *t = "size 42 EU, XL, medium or US 10 in navy blue";
    int n = ex(v, t, e);
    assert_int_equal(n, 5);
    assert_string_equal(find(e, n, t, ENG_ENT_SIZE, "size 42 EU")->system, "EU");
    assert_string_equal(find(e, n, t, ENG_ENT_SIZE, "XL")->str, "XL");
    assert_string_equal(find(e, n, t, ENG_ENT_SIZE, "medium")->str, "M");
    assert_string_equal(find(e, n, t, ENG_ENT_SIZE, "US 10")->system, "US");
    assert_string_equal(find(e, n, t, ENG_ENT_COLOR, "navy blue")->str, "navy");   /* longest first */
    t = "10.5 and 32x34 jeans, size 8-10, size M";
    n = ex(v, t, e);
    find(e, n, t, ENG_ENT_SIZE, "10.5");
    find(e, n, t, ENG_ENT_SIZE, "32x34");
    find(e, n, t, ENG_ENT_SIZE, "size 8-10");
    assert_string_equal(find(e, n, t, ENG_ENT_SIZE, "size M")->str, "M");
    t = "THE NORTH FACE jacket in Fuchsia, dr martens, levis and men's shoes; sneakers";
    n = ex(v, t, e);
    assert_int_equal(n, 6);
    assert_string_equal(find(e, n, t, ENG_ENT_BRAND, "THE NORTH FACE")->str, "The North Face");
    assert_string_equal(find(e, n, t, ENG_ENT_COLOR, "Fuchsia")->str, "fuchsia");
    assert_string_equal(find(e, n, t, ENG_ENT_BRAND, "dr martens")->str, "Dr. Martens");
    assert_string_equal(find(e, n, t, ENG_ENT_BRAND, "levis")->str, "Levi's");
    assert_string_equal(find(e, n, t, ENG_ENT_CATEGORY, "men's shoes")->str, "mens-shoes");
    assert_string_equal(find(e, n, t, ENG_ENT_CATEGORY, "sneakers")->str, "mens-shoes");   /* alias */
    /* a brand is a name: "nikes" is no Nike filter (the words still
     * search), while the brand itself is */
    t = "a Nike cap and two nikes";
    n = ex(v, t, e);
    assert_string_equal(find(e, n, t, ENG_ENT_BRAND, "Nike")->str, "Nike");
    for (int i = 0; i < n; i++)
        assert_false(e[i].type == ENG_ENT_BRAND && e[i].start == 19);
    /* word boundaries: no "red" in "bored", no "Nike" in "Nikes2" */
    t = "I am bored of tanned Nikes2";
    n = ex(v, t, e);
    assert_int_equal(n, 0);
    eng__ent_vocab_free(v);
}

static void test_orders_emails(void **state)
{
    (void)state;
    eng__ent e[64];
    const char *t = "order 123456789 never came; mail John.Doe+x@Example.co.uk.";
    int n = ex(NULL, t, e);
    assert_int_equal(n, 2);
    find(e, n, t, ENG_ENT_ORDER, "123456789");
    find(e, n, t, ENG_ENT_EMAIL, "John.Doe+x@Example.co.uk");
    t = "my order number is AB-7781, not @foo or a@b";
    n = ex(NULL, t, e);
    assert_int_equal(n, 1);
    find(e, n, t, ENG_ENT_ORDER, "AB-7781");
    /* the shop's own numbers start at #1: after "order" any length */
    t = "what's happening with order #1";
    n = ex(NULL, t, e);
    find(e, n, t, ENG_ENT_ORDER, "#1");
    t = "status of order number 7 please";
    n = ex(NULL, t, e);
    find(e, n, t, ENG_ENT_ORDER, "7");
    /* a count is no order number; a bare short "#1" is none either */
    static const char *const none[] = {"order 2 of those", "the #1 best seller", "i want to order 3", NULL};
    for (size_t i = 0; none[i]; i++) {
        n = ex(NULL, none[i], e);
        for (int k = 0; k < n; k++)
            if (e[k].type == ENG_ENT_ORDER)
                fail_msg("\"%s\": read an order number", none[i]);
    }
}

static void test_references(void **state)
{
    (void)state;
    eng__ent_vocab *v = vocab();
    static const struct {
        const char *text, *span;
        eng__ref_kind kind;
        int index;
    } c[] = {
        {"the 2nd please", "the 2nd", ENG_REF_ORDINAL, 1},
        {"I want the last one", "the last one", ENG_REF_ORDINAL, -1},
        {"the second to last", "the second to last", ENG_REF_ORDINAL, -2},
        /* where it goes after the reference: "to my cart", "into the basket" */
        {"add the second to my cart", "the second", ENG_REF_ORDINAL, 1},
        {"put the third into my basket", "the third", ENG_REF_ORDINAL, 2},
        {"add the cheapest to my cart", "the cheapest", ENG_REF_COMPARATIVE, 0},
        /* a kind or a state after the place in the list */
        {"tell me about the second watch", "the second watch", ENG_REF_ORDINAL, 1},
        {"is the third available", "the third", ENG_REF_ORDINAL, 2},
        {"the fourth is too expensive", "the fourth", ENG_REF_ORDINAL, 3},
        {"the second looks nice", "the second", ENG_REF_ORDINAL, 1},
        {"is the fourth any good", "the fourth", ENG_REF_ORDINAL, 3},
        {"the second samsung", "the second samsung", ENG_REF_ORDINAL, 1},
        {"option 3", "option 3", ENG_REF_ORDINAL, 2},
        {"that one", "that one", ENG_REF_DEMONSTRATIVE, 0},
        {"add it to my cart", "it", ENG_REF_DEMONSTRATIVE, 0},
        {"I'll take this", "this", ENG_REF_DEMONSTRATIVE, 0},
        {"the cheaper one", "the cheaper one", ENG_REF_COMPARATIVE, 0},
        {"the cheapest", "the cheapest", ENG_REF_COMPARATIVE, 0},
        {"the most expensive one", "the most expensive one", ENG_REF_COMPARATIVE, 0},
        /* the list after "of" is the one shown: one reference, not two */
        {"the cheapest of those", "the cheapest of those", ENG_REF_COMPARATIVE, 0},
        {"tell me about the priciest of them", "the priciest of them", ENG_REF_COMPARATIVE, 0},
        {"the third of these please", "the third of these", ENG_REF_ORDINAL, 2},
        {"get me the cheaper of the two", "the cheaper of the two", ENG_REF_COMPARATIVE, 0},
        {"the red one", "the red one", ENG_REF_ATTRIBUTE, 0},
        {"the Nike ones", "the Nike ones", ENG_REF_ATTRIBUTE, 0},
    };
    eng__ent e[64];
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        int n = ex(v, c[i].text, e);
        const eng__ent *r = find(e, n, c[i].text, ENG_ENT_REFERENCE, c[i].span);
        assert_int_equal(r->ref, c[i].kind);
        if (c[i].kind == ENG_REF_ORDINAL)
            assert_int_equal(r->index, c[i].index);
    }
    /* several at once: each its own reference, in the order said */
    static const struct {
        const char *text;
        int n, index[4];
    } many[] = {
        {"add the first and third to my cart", 2, {0, 2}},
        {"the 1st, 3rd and 4th", 3, {0, 2, 3}},
        {"the second and the fourth ones", 2, {1, 3}},
        {"add the first two", 2, {0, 1}},
        {"the first 3 please", 3, {0, 1, 2}},
        {"the first one and then something else", 1, {0}},
        {"the first time and the second", 1, {1}},
        {"add the first aid kit", 0, {0}},
    };
    for (size_t i = 0; i < sizeof many / sizeof many[0]; i++) {
        int n = ex(v, many[i].text, e), refs = 0;
        for (int k = 0; k < n; k++) {
            if (e[k].type != ENG_ENT_REFERENCE)
                continue;
            if (refs >= many[i].n || e[k].ref != ENG_REF_ORDINAL || e[k].index != many[i].index[refs])
                fail_msg("\"%s\": reference %d is not ordinal %d", many[i].text, refs,
                         refs < many[i].n ? many[i].index[refs] : -99);
            refs++;
        }
        if (refs != many[i].n)
            fail_msg("\"%s\": %d references, %d expected", many[i].text, refs, many[i].n);
    }
    /* left out, not pointed at: "but not the fourth" (a "no" answers) */
    static const struct {
        const char *text;
        int n;
        bool negated[3];
    } left[] = {
        {"get me the second and third but not the fourth", 3, {false, false, true}},
        {"all of them except the cheapest", 2, {false, true}},   /* "them", then the one left out */
        {"no the fourth", 1, {false}},
        {"anything other than the first one", 1, {true}},
    };
    for (size_t i = 0; i < sizeof left / sizeof left[0]; i++) {
        int n = ex(v, left[i].text, e), refs = 0;
        for (int k = 0; k < n; k++) {
            if (e[k].type != ENG_ENT_REFERENCE)
                continue;
            if (refs >= left[i].n || e[k].negated != left[i].negated[refs])
                fail_msg("\"%s\": reference %d negated %d", left[i].text, refs, e[k].negated);
            refs++;
        }
        if (refs != left[i].n)
            fail_msg("\"%s\": %d references, %d expected", left[i].text, refs, left[i].n);
    }
    /* "the two cheapest": ranked comparatives, one a product */
    static const struct {
        const char *text;
        int n;
        eng__ref_cmp cmp;
    } top[] = {
        {"add the two cheapest", 2, ENG_CMP_CHEAPEST},
        {"compare the 3 best rated ones", 3, ENG_CMP_BEST_RATED},
        {"the two most expensive please", 2, ENG_CMP_PRICIEST},
    };
    for (size_t i = 0; i < sizeof top / sizeof top[0]; i++) {
        int n = ex(v, top[i].text, e), refs = 0;
        for (int k = 0; k < n; k++) {
            if (e[k].type != ENG_ENT_REFERENCE)
                continue;
            if (e[k].ref != ENG_REF_COMPARATIVE || e[k].cmp != top[i].cmp || e[k].index != refs)
                fail_msg("\"%s\": reference %d is not comparative %d ranked %d", top[i].text, refs, top[i].cmp, refs);
            refs++;
        }
        if (refs != top[i].n)
            fail_msg("\"%s\": %d references, %d expected", top[i].text, refs, top[i].n);
    }
    eng__ent_vocab_free(v);
    v = vocab();
    /* a brand, colour or type not wanted: marked, its span from the cue */
    static const struct {
        const char *text, *span;
        eng__ent_type type;
        bool negated;
    } neg[] = {
        {"laptops not from nike", "not from nike", ENG_ENT_BRAND, true},
        {"shoes except nike", "except nike", ENG_ENT_BRAND, true},
        {"anything but red", "anything but red", ENG_ENT_COLOR, true},
        {"boots other than the north face", "other than the north face", ENG_ENT_BRAND, true},
        {"no nike please", "no nike", ENG_ENT_BRAND, true},
        {"nike shoes", "nike", ENG_ENT_BRAND, false},
        {"red but not too bright", "red", ENG_ENT_COLOR, false},
    };
    for (size_t i = 0; i < sizeof neg / sizeof neg[0]; i++) {
        int n = ex(v, neg[i].text, e);
        const eng__ent *r = find(e, n, neg[i].text, neg[i].type, neg[i].span);
        if (r->negated != neg[i].negated)
            fail_msg("\"%s\": negated %d", neg[i].text, r->negated);
    }
    /* a search, not a reference; a figure of speech, not an ordinal */
    const char *no[] = {"cheapest hiking boots", "the first time", "it is raining"};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        int n = ex(v, no[i], e);
        for (int k = 0; k < n; k++)
            if (e[k].type == ENG_ENT_REFERENCE)
                fail_msg("\"%s\" has a reference", no[i]);
    }
    eng__ent_vocab_free(v);
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t next(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

static void test_fuzz(void **state)
{
    (void)state;
    eng__ent_vocab *v = vocab();
    static const char *bits[] = {"$", "\xe2\x82\xac", "#", "@", ".", "-", " ", "the ", "one ", "under ", "size ",
                                 "2", "10.5", "x", "nike", "order ", "\xc2", "\xe2\x80", ",", "1,000", "'s"};
    char buf[4096];
    eng__ent e[8];
    for (int round = 0; round < 20000; round++) {
        size_t len = next() % sizeof buf;
        for (size_t i = 0; i < len;) {
            if (next() % 3 == 0) {
                buf[i++] = (char)next();
            } else {
                const char *b = bits[next() % (sizeof bits / sizeof bits[0])];
                size_t bl = strlen(b);
                if (i + bl > len)
                    break;
                memcpy(buf + i, b, bl);
                i += bl;
            }
        }
        int n = eng__ent_extract(v, buf, len, e, 8);
        assert_true(n >= 0 && n <= 8);
        for (int k = 0; k < n; k++)
            assert_true(e[k].start < e[k].end && e[k].end <= len && (k == 0 || e[k - 1].start <= e[k].start));
    }
    /* long input: over the 512-token stack buffer */
    size_t big = 1 << 20;
    char *s = malloc(big);
    assert_non_null(s);
    for (size_t i = 0; i < big; i++)
        s[i] = "2 red $5 "[i % 9];
    assert_int_equal(eng__ent_extract(v, s, big, e, 8), 8);
    free(s);
    assert_int_equal(eng__ent_extract(v, NULL, 0, e, 8), 0);
    eng__ent_vocab_free(v);
}

/* ----------------------------------------------------------- the stage */
static const char pipe_y[] =
    "pipeline: shop\n"
    "intents:\n"
    "  search: [do you have trail running shoes, show me sofas under 500, waterproof boots]\n"
    "  add_to_cart: [add it to my cart, I'll take two of the blue ones, add the second one]\n"
    "stages:\n"
    "  - { id: nlu, type: classifier, threshold: 0 }\n"
    "  - id: slots\n"
    "    type: entities\n"
    "    brands: [Nike, Salomon]\n"
    "    categories: [hiking boots]\n"
    "    aliases: { sneakers: Nike }\n"
    "    max_entities: 8\n"
    "  - id: reply\n"
    "    type: formatter\n"
    "    templates:\n"
    "      default: \"{{intent.name}} q={{slots.quantity}} max={{slots.maxPrice}} sku={{slots.sku}}\"\n";

static eng_pipeline *load(const char *y, const char *expect_diag)
{
    eng_diags d;
    eng_diags_init(&d);
    eng_pipeline *p = NULL;
    int rc = eng_pipeline_load_buffer("e.yaml", y, strlen(y), ".", &p, &d);
    if (expect_diag) {
        char *out = NULL;
        size_t ol = 0;
        FILE *f = open_memstream(&out, &ol);
        eng_diags_print(&d, f);
        fclose(f);
        if (!strstr(out, expect_diag))
            fail_msg("want \"%s\" in:\n%s", expect_diag, out);
        free(out);
    } else if (rc) {
        eng_diags_print(&d, stderr);
    }
    eng_diags_free(&d);
    if (!expect_diag)
        assert_int_equal(rc, 0);
    return p;
}

static const char shown_json[] =
    "{\"shown\": [{\"sku\": \"S1\", \"title\": \"Red trail boot\", \"price\": 120, \"rating\": 4.1},"
    " {\"sku\": \"S2\", \"title\": \"Hiker\", \"price\": 90, \"color\": \"Blue\", \"rating\": 4.8},"
    " {\"sku\": \"S3\", \"title\": \"Nike runner\", \"price\": 150, \"brand\": \"Nike\"}]}";

static void test_pipeline(void **state)
{
    (void)state;
    eng_pipeline *p = load(pipe_y, NULL);
    json_object *sess = json_tokener_parse(shown_json);
    eng_turn_opts o = {.session = sess};
    eng_turn *t = NULL;
    assert_int_equal(eng_run(p, "I'll take two of the blue ones", &o, &t, NULL), 0);
    assert_string_equal(eng_turn_reply(t), "add_to_cart q=2 max= sku=S2");
    json_object *ctx = eng_turn_context(t);
    json_object *ents = json_object_object_get(ctx, "entities");
    assert_int_equal(json_object_array_length(ents), 2);
    json_object *r = json_object_array_get_idx(ents, 1);
    assert_string_equal(json_object_get_string(json_object_object_get(r, "kind")), "attribute");
    assert_string_equal(json_object_get_string(json_object_object_get(r, "text")), "the blue ones");
    assert_int_equal(json_object_get_int(json_object_object_get(r, "start")), 17);
    assert_int_equal(json_object_get_int(json_object_object_get(r, "index")), 1);
    assert_string_equal(eng__json_str(r, "product.title", ""), "Hiker");
    eng_turn_free(t);

    const struct { const char *msg, *sku; } c[] = {
        {"add the second one", "S2"}, {"the last one", "S3"}, {"the cheapest one", "S2"},
        {"the most expensive one", "S3"}, {"the best rated one", "S2"}, {"the red one", "S1"},
        {"the sneakers one", "S3"}, {"the fifth one", ""},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        assert_int_equal(eng_run(p, c[i].msg, &o, &t, NULL), 0);
        const char *sku = eng__json_str(eng_turn_context(t), "slots.sku", "");
        if (strcmp(sku, c[i].sku) != 0)
            fail_msg("%s: sku \"%s\", want \"%s\"", c[i].msg, sku, c[i].sku);
        eng_turn_free(t);
    }
    /* unresolved without shown products, but kept with its kind */
    assert_int_equal(eng_run(p, "waterproof hiking boots under $120, the second one", NULL, &t, NULL), 0);
    ctx = eng_turn_context(t);
    assert_string_equal(eng__json_str(ctx, "slots.category", ""), "hiking boots");
    assert_int_equal(json_object_get_int(eng__json_path(ctx, "slots.maxPrice")), 120);
    assert_string_equal(eng__json_str(ctx, "slots.currency", ""), "USD");
    assert_string_equal(eng__json_str(ctx, "slots.reference.kind", ""), "ordinal");
    assert_false(json_object_get_boolean(eng__json_path(ctx, "slots.reference.resolved")));
    assert_int_equal(json_object_get_int(eng__json_path(ctx, "slots.reference.index")), 1);
    assert_string_equal(eng__json_str(ctx, "trace.1.note", ""), "3 entities: category, money, reference");
    eng_turn_free(t);
    /* max_entities caps the list */
    assert_int_equal(eng_run(p, "1 2 3 4 5 6 7 8 9 10 11 12", NULL, &t, NULL), 0);
    assert_int_equal(json_object_array_length(json_object_object_get(eng_turn_context(t), "entities")), 8);
    eng_turn_free(t);
    json_object_put(sess);
    eng_pipeline_release(p);
}

static void test_catalog(void **state)
{
    (void)state;
    char dir[] = "/tmp/aisle-ent-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/t.db", dir);
    store *s = test_sqlite_store(path);
    store_err err = {0};
    store_product pr = {.sku = "K1", .title = "Trail shoe", .brand = "Salomon", .category = "mens-shoes", .price = 99};
    assert_int_equal(store_product_upsert(s, &pr, &err), 0);
    pr = (store_product){.sku = "K2", .title = "Parka", .brand = "Patagonia", .category = "womens-jackets", .price = 199};
    assert_int_equal(store_product_upsert(s, &pr, &err), 0);
    eng_pipeline *p = load(pipe_y, NULL);
    eng_deps deps = {.store = s};
    eng_turn_opts o = {.deps = &deps};
    eng_turn *t = NULL;
    assert_int_equal(eng_run(p, "patagonia women's jackets", &o, &t, NULL), 0);
    json_object *ctx = eng_turn_context(t);
    assert_string_equal(eng__json_str(ctx, "slots.brand", ""), "Patagonia");
    assert_string_equal(eng__json_str(ctx, "slots.category", ""), "womens-jackets");
    assert_non_null(strstr(eng__json_str(ctx, "trace.1.note", ""), "catalog vocabulary loaded: 2 brands, 2 categories"));
    eng_turn_free(t);
    /* without the store: only the options' names */
    assert_int_equal(eng_run(p, "patagonia", NULL, &t, NULL), 0);
    assert_int_equal(json_object_array_length(json_object_object_get(eng_turn_context(t), "entities")), 0);
    eng_turn_free(t);
    eng_pipeline_release(p);
    store_close(s);
    unlink(path);
    char side[80];
    snprintf(side, sizeof side, "%s-wal", path), unlink(side);
    snprintf(side, sizeof side, "%s-shm", path), unlink(side);
    rmdir(dir);
}

static void test_lint(void **state)
{
    (void)state;
    static const struct { const char *stage, *diag; } c[] = {
        {"{ id: e, type: entities, aliases: [a, b] }",
         "e.yaml:3:39: error: \"aliases\" must be a mapping of synonym: name"},
        {"{ id: e, type: entities, aliases: { kicks: [a] } }",
         "e.yaml:3:48: error: alias \"kicks\" must map to one brand"},
        {"{ id: e, type: entities, max_entities: 0 }",
         "e.yaml:3:44: error: \"max_entities\" must be between 1 and 256, not 0"},
        {"{ id: e, type: entities, use_catalog: maybe }", "e.yaml:3:43: error: \"use_catalog\" must be true or false"},
        {"{ id: e, type: entities, brands: { a: b } }", "e.yaml:3:38: error: brands must be a list of strings"},
        {"{ id: e, type: entities, brands: [\"\"] }", "e.yaml:3:39: error: \"brands\" has an empty name"},
        {"{ id: e, type: entities, colour: [red] }", "e.yaml:3:30: error: unknown key \"colour\" in entities stage \"e\" (did you mean \"colors\"?)"},
        {"{ id: e, type: entities, vocabulary: nope.txt }",
         "e.yaml:3:42: error: cannot read vocabulary file \"nope.txt\""},
        {"{ id: e, type: entities, use_catalog: false, aliases: { kicks: sneakerz } }",
         "e.yaml:3:59: warning: alias \"kicks\" names \"sneakerz\", which is not a known brand"},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        char y[512];
        snprintf(y, sizeof y, "pipeline: e\nstages:\n  - %s\n", c[i].stage);
        eng_pipeline *p = load(y, c[i].diag);
        eng_pipeline_release(p);
    }
}

static void test_vocabulary_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/aisle-voc-XXXXXX", path[64], y[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/v.txt", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("# shop words\nbrand: Hoka One One\ncategory: trail shoes   # comment\ncolor: sand\n"
          "alias: hokas = Hoka One One\n", f);
    fclose(f);
    snprintf(y, sizeof y, "pipeline: e\nstages:\n  - { id: e, type: entities, vocabulary: %s }\n", path);
    eng_pipeline *p = load(y, NULL);
    eng_turn *t = NULL;
    assert_int_equal(eng_run(p, "sand hokas or HOKA ONE ONE trail shoes", NULL, &t, NULL), 0);
    json_object *ents = json_object_object_get(eng_turn_context(t), "entities");
    assert_int_equal(json_object_array_length(ents), 4);
    assert_string_equal(eng__json_str(ents, "1.value", ""), "Hoka One One");
    assert_string_equal(eng__json_str(ents, "2.text", ""), "HOKA ONE ONE");
    eng_turn_free(t);
    eng_pipeline_release(p);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("brand: X\n  shade: teal\nalias: nope\n", f);
    fclose(f);
    char want[128];
    snprintf(want, sizeof want, "%s:2:3: error: expected \"brand: NAME\"", path);
    eng_pipeline_release(load(y, want));
    snprintf(want, sizeof want, "%s:3:8: error: \"alias:\" needs \"SYNONYM = NAME\"", path);
    eng_pipeline_release(load(y, want));
    unlink(path);
    rmdir(dir);
}

static void test_speed(void **state)
{
    (void)state;
    eng__ent_vocab *v = vocab();
    const char *msgs[] = {"waterproof hiking boots under $120", "add the second one, size 10",
                          "I'll take two of the blue ones", "where is my order #A123-45?",
                          "do you have Nike sneakers between 20 and 40 dollars in black or navy blue"};
    eng__ent e[32];
    int64_t t0 = eng_now_us();
    int reps = 20000;
    for (int r = 0; r < reps; r++)
        for (int i = 0; i < 5; i++)
            eng__ent_extract(v, msgs[i], strlen(msgs[i]), e, 32);
    double us = (double)(eng_now_us() - t0) / (reps * 5.0);
    print_message("entities: %.2f us per message\n", us);
    assert_true(us < 50);
    eng__ent_vocab_free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_sorted),   cmocka_unit_test(test_design_examples),
        cmocka_unit_test(test_money),          cmocka_unit_test(test_quantities),
        cmocka_unit_test(test_models),         cmocka_unit_test(test_corrected_counts),
        cmocka_unit_test(test_sizes_colors_brands), cmocka_unit_test(test_orders_emails),
        cmocka_unit_test(test_references),     cmocka_unit_test(test_fuzz),
        cmocka_unit_test(test_pipeline),       cmocka_unit_test(test_catalog),
        cmocka_unit_test(test_lint),           cmocka_unit_test(test_vocabulary_file),
        cmocka_unit_test(test_speed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
