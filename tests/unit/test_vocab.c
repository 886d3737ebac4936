/* tests/unit/test_vocab.c — catalog understanding (engine/nlu/lexicon.c):
 * which category a word names (from the catalog's own text and from the
 * shipped lexicon), spelling correction that never turns an English word
 * into a catalog word, the product type of a message, and the entity
 * extractor's sizes and dimensions that are not prices. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/nlu/ent_int.h"
#include "engine/nlu/lexicon_int.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WORDS "/usr/share/dict/words"

static const char *const syn =
    "# test lexicon\n"
    "smartphones: phone, mobile, cellphone\n"
    "fragrances: perfume, cologne\n"
    "earphones: earbuds\n"
    "nowhere-category: gizmo\n"
    "words: cheaper, cheapest\n";

typedef struct prod {
    const char *title, *brand, *cat, *tags[3];
} prod;

static const prod catalog[] = {
    {"iPhone 13 Pro", "Apple", "smartphones", {"smartphones", "apple"}},
    {"Galaxy S10", "Samsung", "smartphones", {"smartphones"}},
    {"Realme C35", "Realme", "smartphones", {"smartphones"}},
    {"iPhone 12 Silicone Case", "Apple", "mobile-accessories", {"electronics", "phone accessories"}},
    {"Beats Flex Wireless Earphones", "Beats", "mobile-accessories", {"electronics", "wireless earphones"}},
    {"Dior J'adore", "Dior", "fragrances", {"fragrances", "perfumes"}},
    {"Red Lipstick", "Chic", "beauty", {"beauty", "lipstick"}},
    {"Essence Mascara Lash Princess", "Essence", "beauty", {"beauty", "mascara"}},
    {"Red Onions", NULL, "groceries", {"vegetables"}},
    {"Fork", NULL, "kitchen-accessories", {"kitchen tools", "utensils"}},
    {"Sports Sneakers Off White", "Nike", "mens-shoes", {"footwear", "athletic shoes"}},
    {"Rolex Datejust", "Rolex", "mens-watches", {"watches", "luxury watches"}},
    {"Rolex Cellini Moonphase", "Rolex", "womens-watches", {"watches", "luxury watches"}},
    {"Dell XPS 13 Laptop", "Dell", "laptops", {"laptops"}},
    {"Samsung Galaxy Tab", "Samsung", "tablets", {"electronics", "tablets"}},
};

static eng__lex *build(const char *dict, bool with_catalog)
{
    eng__lex *x = NULL;
    assert_int_equal(eng__lex_new(syn, dict, &x), 0);
    for (size_t i = 0; with_catalog && i < sizeof catalog / sizeof catalog[0]; i++) {
        const prod *p = &catalog[i];
        size_t n = 0;
        while (n < 3 && p->tags[n])
            n++;
        assert_int_equal(eng__lex_add_product(x, p->title, p->brand, p->cat, (char *const *)p->tags, n), 0);
    }
    assert_int_equal(eng__lex_finish(x), 0);
    return x;
}

static bool have_words(void) { return access(WORDS, R_OK) == 0; }

static void cat_is(const eng__lex *x, const char *w, const char *want)
{
    const char *got = eng__lex_category_of(x, w);
    if (!want) {
        if (got)
            fail_msg("\"%s\": expected no category, got %s", w, got);
        return;
    }
    if (!got || strcmp(got, want) != 0)
        fail_msg("\"%s\": expected %s, got %s", w, want, got ? got : "none");
}

static void test_categories(void **state)
{
    (void)state;
    eng__lex *x = build(NULL, true);
    /* the lexicon: a synonym names its head's category */
    cat_is(x, "phone", "smartphones");
    cat_is(x, "phones", "smartphones");
    cat_is(x, "Cologne", "fragrances");
    cat_is(x, "earbuds", "mobile-accessories");   /* via the catalog word "earphones" */
    /* the catalog's own text: a tag names a type, a category its name */
    cat_is(x, "lipstick", "beauty");
    cat_is(x, "mascara", "beauty");
    cat_is(x, "tablets", "tablets");
    cat_is(x, "laptop", "laptops");
    /* words spread over categories name none */
    cat_is(x, "red", NULL);
    cat_is(x, "watches", NULL);
    cat_is(x, "apple", NULL);
    /* a head this catalog does not have does nothing */
    cat_is(x, "gizmo", NULL);
    eng__lex_free(x);
    /* no catalog: no categories at all */
    x = build(NULL, false);
    cat_is(x, "phone", NULL);
    eng__lex_free(x);
}

/* what names catalog things: title words, brands, synonyms; never the
 * words around them */
static void test_names(void **state)
{
    (void)state;
    eng__lex *x = build(NULL, true);
    const char *yes[] = {"watches", "watch", "rolex", "perfume", "cologne", "lipstick", "onions", "fork", NULL};
    const char *no[] = {"delete", "warranty", "please", "the", "my", "gizmo", NULL};
    for (size_t i = 0; yes[i]; i++)
        if (!eng__lex_names(x, yes[i]))
            fail_msg("\"%s\": expected a catalog word", yes[i]);
    for (size_t i = 0; no[i]; i++)
        if (eng__lex_names(x, no[i]))
            fail_msg("\"%s\": expected no catalog word", no[i]);
    eng__lex_free(x);
    /* without a catalog only the lexicon's heads that the catalog has
     * would name anything: none */
    x = build(NULL, false);
    assert_false(eng__lex_names(x, "rolex"));
    eng__lex_free(x);
}

static void fixes(const eng__lex *x, const char *in, const char *want)
{
    char out[256], fx[128];
    eng__lex_correct(x, in, out, sizeof out, fx, sizeof fx);
    if (strcmp(out, want) != 0)
        fail_msg("\"%s\": expected \"%s\", got \"%s\" (%s)", in, want, out, fx);
}

static void test_spelling(void **state)
{
    (void)state;
    eng__lex *x = build(WORDS, true);
    fixes(x, "lipstik", "lipstick");
    fixes(x, "red lipstik under 20", "red lipstick under 20");
    fixes(x, "mascra please", "mascara please");
    fixes(x, "Sneekers", "sneakers");
    fixes(x, "anything cheeper?", "anything cheaper?");
    fixes(x, "do you have a lapotp", "do you have a laptop");   /* transposed letters */
    fixes(x, "show me tablts", "show me tablets");             /* the plural stays a plural */
    fixes(x, "perfum", "perfume");
    /* case, punctuation and numbers around a fix stay as typed */
    fixes(x, "MASCRA!!! x2", "mascara!!! x2");
    /* short words, numbers and model names are left alone */
    fixes(x, "realme c35 or s10", "realme c35 or s10");
    fixes(x, "dell xps", "dell xps");
    /* "4" for "for" after a word that asks, before a word; never a count
     * or a model number */
    fixes(x, "looking 4 a hoodie", "looking for a hoodie");
    fixes(x, "gift 4 my dad", "gift for my dad");
    fixes(x, "apple watch series 4", "apple watch series 4");
    fixes(x, "looking 4", "looking 4");
    fixes(x, "looking 4 5 pens", "looking 4 5 pens");
    fixes(x, "a 4 pack of socks", "a 4 pack of socks");
    if (have_words()) {
        /* English words are never "corrected" into catalog words */
        fixes(x, "need a new bag for work", "need a new bag for work");
        fixes(x, "a gift for my son", "a gift for my son");
        fixes(x, "something to wear", "something to wear");
        fixes(x, "sort by price", "sort by price");
        fixes(x, "a cheep one", "a cheep one");   /* "cheep" is a word */
        assert_true(eng__lex_has_dict(x));
    }
    eng__lex_free(x);
    /* no word list: it still works, only long words are corrected */
    x = build("/nonexistent/words", true);
    assert_false(eng__lex_has_dict(x));
    fixes(x, "need a new bag for work", "need a new bag for work");
    fixes(x, "write me a poem", "write me a poem");   /* not "white": 5 letters */
    fixes(x, "mascra", "mascara");
    fixes(x, "lipstik", "lipstick");
    eng__lex_free(x);
    /* nothing to correct to: the text comes back as it was */
    x = build(NULL, false);
    fixes(x, "lipstik", "lipstik");
    fixes(x, "anything cheeper", "anything cheaper");   /* "words:" lines of the lexicon */
    eng__lex_free(x);
    /* short cart words mistyped, by what is around them */
    x = build(NULL, true);
    fixes(x, "ad it to my crt", "add it to my cart");
    fixes(x, "ad 3 kiwis", "add 3 kiwis");
    fixes(x, "saw an ad for shoes", "saw an ad for shoes");
    fixes(x, "crt", "crt");
    eng__lex_free(x);
    /* a tiny buffer is cut, never overrun */
    x = build(NULL, true);
    char small[8];
    eng__lex_correct(x, "mascra mascra mascra", small, sizeof small, NULL, 0);
    assert_int_equal(strlen(small), 7);
    eng__lex_free(x);
}

/* a container between a count and what it counts is left out */
static void units(const char *in, const char *want, int changed)
{
    char out[128];
    assert_int_equal(eng__lex_units(in, out, sizeof out), changed);
    assert_string_equal(out, want);
}

static void test_units(void **state)
{
    (void)state;
    units("two bags of those please", "two of those please", 1);
    units("3 packs of them", "3 of them", 1);
    units("a bottle of the gucci please", "one of the gucci please", 1);
    units("An  jar of it", "one of it", 1);
    units("could i get a couple of tubes of it", "could i get a couple of it", 1);
    units("two bags, three boxes of these", "two bags, three of these", 1);
    /* a container that is the thing, or counts a thing named, stays */
    units("two bags of rice", "two bags of rice", 0);
    units("a leather bag for work", "a leather bag for work", 0);
    units("bags of those", "bags of those", 0);
    units("the bag of the year", "the bag of the year", 0);
    units("", "", 0);
    /* a tiny buffer is cut, never overrun */
    char small[6];
    eng__lex_units("two bags of those", small, sizeof small);
    assert_int_equal(strlen(small), 5);
}

static void test_analyse(void **state)
{
    (void)state;
    eng__lex *x = build(WORDS, true);
    eng__lex_info in;
    eng__lex_analyse(x, "show me the cheapest phone", &in);
    assert_non_null(in.category);
    assert_string_equal(in.category, "smartphones");
    assert_string_equal(in.type, "phone");
    assert_int_equal(in.content, 1);
    assert_int_equal(in.known, 1);
    /* the type before "for" wins over what follows */
    eng__lex_analyse(x, "perfume for my girlfriend", &in);
    assert_string_equal(in.category, "fragrances");
    assert_int_equal(in.type_part, 0);
    /* the last typed word of a compound: phone accessories are accessories */
    eng__lex_analyse(x, "phone accessories", &in);
    assert_non_null(in.category);
    assert_string_equal(in.category, "mobile-accessories");
    assert_string_equal(in.type, "accessories");
    /* a product noun of the catalog right after the type, and last, is
     * the thing bought ("phone cases" are cases); a colour, a brand, or
     * words between are not ("phone black", "phone apple", "a phone,
     * but not an iphone") */
    eng__lex_analyse(x, "do you sell phone cases", &in);
    assert_null(in.category);
    eng__lex_analyse(x, "phone black", &in);
    assert_non_null(in.category);
    eng__lex_analyse(x, "phone apple", &in);
    assert_non_null(in.category);
    eng__lex_analyse(x, "a phone, but not an iphone", &in);
    assert_non_null(in.category);
    assert_string_equal(in.category, "smartphones");
    eng__lex_analyse(x, "phone case silicone", &in);   /* more words: the type stays */
    assert_non_null(in.category);
    /* an English word the catalog lacks, right after the type, is the
     * thing bought, and the shop has none: not phones ("phone tripod");
     * words about shopping itself keep the type ("phone deals") */
    eng__lex_analyse(x, "a phone tripod", &in);
    assert_null(in.category);
    eng__lex_analyse(x, "phone deals", &in);
    assert_non_null(in.category);
    eng__lex_analyse(x, "phone quickly", &in);
    assert_non_null(in.category);
    /* a comma ends a part: the camera of "a phone, good camera" is the
     * phone's, not the thing bought */
    eng__lex_analyse(x, "a new phone, good camera", &in);
    assert_non_null(in.category);
    assert_string_equal(in.category, "smartphones");
    /* a synonym carries its head word for the search */
    eng__lex_analyse(x, "cheap earbuds", &in);
    assert_string_equal(in.head, "earphones");
    eng__lex_analyse(x, "a mobile", &in);
    assert_string_equal(in.head, "");   /* the head is the category's own name */
    /* a type named only after "who" is in passing */
    eng__lex_analyse(x, "who won the mobile award", &in);
    assert_int_equal(in.type_part, 1);
    /* shopping cues without catalog words */
    eng__lex_analyse(x, "i need a gift for my dad", &in);
    assert_null(in.category);
    assert_int_equal(in.known, 0);
    assert_true(in.cues >= 2);
    /* not about the shop */
    eng__lex_analyse(x, "what is the capital of france", &in);
    assert_int_equal(in.known, 0);
    assert_null(in.category);
    eng__lex_analyse(x, "", &in);
    assert_int_equal(in.content, 0);
    eng__lex_analyse(NULL, "phone", &in);
    assert_null(in.category);
    eng__lex_free(x);
}

/* A turn hashes its words only: correcting and analysing a message stays
 * far under the turn budget however big the catalog. */
static void test_speed(void **state)
{
    (void)state;
    eng__lex *x = NULL;
    assert_int_equal(eng__lex_new(syn, WORDS, &x), 0);
    char title[64], cat[32];
    char *tags[1] = {cat};
    for (int i = 0; i < 20000; i++) {
        snprintf(title, sizeof title, "Product%d Widget%d Gadget", i, i % 97);
        snprintf(cat, sizeof cat, "category%d", i % 40);
        assert_int_equal(eng__lex_add_product(x, title, "Brand", cat, tags, 1), 0);
    }
    assert_int_equal(eng__lex_finish(x), 0);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    char out[256];
    eng__lex_info in;
    for (int i = 0; i < 2000; i++) {
        eng__lex_correct(x, "do you have a widgte for my grandmothr under 50", out, sizeof out, NULL, 0);
        eng__lex_analyse(x, out, &in);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double us = ((double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3) / 2000;
    printf("# correct + analyse: %.1f us per message at 20000 products\n", us);
    assert_true(us < 200);   /* about 5 us on a laptop; generous for sanitizers */
    eng__lex_free(x);
}

/* ------------------------------------------------------------ sizes are not prices */
static int ents(const char *text, eng__ent *e)
{
    return eng__ent_extract(NULL, text, strlen(text), e, 16);
}

static bool has_type(const eng__ent *e, int n, eng__ent_type t)
{
    for (int i = 0; i < n; i++)
        if (e[i].type == t)
            return true;
    return false;
}

static void test_dimensions(void **state)
{
    (void)state;
    eng__ent e[16];
    int n = ents("3-1/2 inch screws", e);
    assert_false(has_type(e, n, ENG_ENT_MONEY));
    n = ents("a 60 x 32 x 72 shower stall", e);
    assert_false(has_type(e, n, ENG_ENT_MONEY));
    assert_false(has_type(e, n, ENG_ENT_QUANTITY));
    n = ents("2x8x16 concrete blocks", e);
    assert_false(has_type(e, n, ENG_ENT_MONEY));
    n = ents("1/2 inch pipe under 20", e);
    assert_int_equal(n, 1);
    assert_int_equal(e[0].type, ENG_ENT_MONEY);
    assert_true(e[0].max == 20);
    n = ents("2 by 4 lumber", e);
    assert_false(has_type(e, n, ENG_ENT_QUANTITY));
    /* price ranges and bounds still are prices */
    n = ents("laptops between 1000 and 1500", e);
    assert_int_equal(n, 1);
    assert_true(e[0].min == 1000 && e[0].max == 1500);
    n = ents("shoes under 50 sorted by price", e);
    assert_int_equal(n, 1);
    assert_int_equal(e[0].type, ENG_ENT_MONEY);
    assert_true(e[0].max == 50);
    n = ents("$20-$40", e);
    assert_int_equal(n, 1);
    assert_true(e[0].min == 20 && e[0].max == 40);
    /* counts are still counts */
    n = ents("add 2 of them", e);
    assert_true(has_type(e, n, ENG_ENT_QUANTITY));
    assert_int_equal(eng__ent_selfcheck(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_categories), cmocka_unit_test(test_names), cmocka_unit_test(test_spelling), cmocka_unit_test(test_units), cmocka_unit_test(test_analyse),
        cmocka_unit_test(test_speed),      cmocka_unit_test(test_dimensions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
