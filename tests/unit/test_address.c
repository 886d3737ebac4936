/* tests/unit/test_address.c — the delivery address read from chat text
 * (engine/address.c): one message in the shapes shoppers type (US, UK,
 * Canada, continental Europe; labelled or not), one part per message
 * with the field asked, corrections by label, and what must never be
 * read: card numbers, words that are not an address, a bare word nobody
 * asked for. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "engine/checkout_int.h"

/* `want` is "field=value|field=value"; every field the text yields must
 * be listed, and no other */
static void check(const char *text, const char *wanted, const char *want)
{
    json_object *a = eng__address_parse(text, wanted);
    char buf[512];
    snprintf(buf, sizeof buf, "%s", want);
    size_t n = 0;
    for (char *kv = buf; *kv;) {
        char *bar = strchr(kv, '|');
        if (bar)
            *bar = 0;
        char *eq = strchr(kv, '=');
        assert_non_null(eq);
        *eq = 0;
        json_object *v = json_object_object_get(a, kv);
        if (!v || strcmp(json_object_get_string(v), eq + 1) != 0)
            fail_msg("\"%s\": %s: expected \"%s\", got %s", text, kv, eq + 1, v ? json_object_get_string(v) : "nothing");
        n++;
        kv = bar ? bar + 1 : kv + strlen(kv);
    }
    if ((size_t)json_object_object_length(a) != n)
        fail_msg("\"%s\": expected %zu fields, got %s", text, n, json_object_to_json_string(a));
    json_object_put(a);
}

static void test_house_number(void **state)
{
    (void)state;
    json_object *a = json_object_new_object();
    json_object_object_add(a, "line1", json_object_new_string("221B Baker Street"));
    json_object_object_add(a, "houseNumber", json_object_new_string("19"));
    eng__address_apply_number(a);
    assert_string_equal(json_object_get_string(json_object_object_get(a, "line1")), "19 Baker Street");
    assert_null(json_object_object_get(a, "houseNumber"));
    /* no street to put it on: nothing made up */
    json_object_object_del(a, "line1");
    json_object_object_add(a, "houseNumber", json_object_new_string("19"));
    eng__address_apply_number(a);
    assert_null(json_object_object_get(a, "line1"));
    json_object_put(a);
}

static void test_one_message(void **state)
{
    (void)state;
    /* the words of a correction are no part of it */
    check("that's wrong, it's 31 Maple Drive", NULL, "line1=31 Maple Drive");
    check("wrong city, should be Tacoma", "city", "city=Tacoma");
    check("nope the house number is 15", NULL, "houseNumber=15");
    /* a UK or Canadian postcode right after the city, no name given */
    check("ship to 12 Albion Road, Bristol BS1 5TR, United Kingdom", NULL,
          "line1=12 Albion Road|city=Bristol|postalCode=BS1 5TR|country=GB");
    check("200 King St W, Toronto, ON M5H 3T4, Canada", NULL,
          "line1=200 King St W|city=Toronto|region=ON|postalCode=M5H 3T4|country=CA");
    check("Maya Reed, 220 Birch Avenue, Portland, OR 97205, USA", NULL,
          "name=Maya Reed|line1=220 Birch Avenue|city=Portland|region=OR|postalCode=97205|country=US");
    check("deliver to Omar Haddad, 9 Kings Road, Leeds LS1 4AP, United Kingdom", NULL,
          "name=Omar Haddad|line1=9 Kings Road|city=Leeds|postalCode=LS1 4AP|country=GB");
    check("Lena Vogel; Gartenstrasse 12; 10115 Berlin; Germany", NULL,
          "name=Lena Vogel|line1=Gartenstrasse 12|city=Berlin|postalCode=10115|country=DE");
    check("my address is Ana Costa, 31 Harbour Drive, Halifax, B3H 1A1, Canada", NULL,
          "name=Ana Costa|line1=31 Harbour Drive|city=Halifax|postalCode=B3H 1A1|country=CA");
    check("Tom Beck\n4 Ash Lane\nDenver\n80202-1234\nUS", NULL,
          "name=Tom Beck|line1=4 Ash Lane|city=Denver|postalCode=80202-1234|country=US");
}

static void test_labels_and_parts(void **state)
{
    (void)state;
    check("the city is Salem", NULL, "city=Salem");
    check("zip: 97301", NULL, "postalCode=97301");
    check("postcode is ls2 7ew", NULL, "postalCode=LS2 7EW");
    check("the street is 14 Elm Street", NULL, "line1=14 Elm Street");
    check("country: france", NULL, "country=FR");
    check("my name is Ruth Ngata", NULL, "name=Ruth Ngata");
    /* a bare answer fills the one field asked, and only that */
    check("Wellington", "city", "city=Wellington");
    check("New Zealand", "country", "country=NZ");
    check("Galway", NULL, "");
    check("Leeds LS1 4AP", "city", "city=Leeds|postalCode=LS1 4AP");
}

static void test_inferred_and_names(void **state)
{
    (void)state;
    /* a US state and a ZIP name the country */
    check("12 Oak Street, Springfield, IL 62704", NULL,
          "line1=12 Oak Street|city=Springfield|region=IL|postalCode=62704|country=US");
    check("Priya Nair, 77 Lake Shore Drive, Chicago, IL 60611-2034", NULL,
          "name=Priya Nair|line1=77 Lake Shore Drive|city=Chicago|region=IL|postalCode=60611-2034|country=US");
    /* a region that is no US state, or no ZIP, names none */
    check("5 Quay Street, Auckland, ZZ 1010", NULL, "line1=5 Quay Street|city=Auckland|region=ZZ|postalCode=1010");
    /* asked for a name, chat is no name */
    check("standard is fine", "name", "");
    check("yes that's the one", "name", "");
    check("same as before", "name", "");
    check("Jo Marsh", "name", "name=Jo Marsh");
    check("Siobhan O'Neill-Brady", "name", "name=Siobhan O'Neill-Brady");
}

static void test_never_read(void **state)
{
    (void)state;
    /* a card number is never part of an address, even when asked */
    check("4242 4242 4242 4242", "postalCode", "");
    check("4242424242424242", "name", "");
    check("Ann Lee, 4242 4242 4242 4242, 12/30, 123", NULL, "");
    /* "no" is an answer, not Norway; a search is not an address */
    check("no", NULL, "");
    check("show me sunglasses", NULL, "");
    check("yes", NULL, "");
    /* a change of mind while the address is asked is not a name */
    check("actually wait, add one more bottle first", NULL, "");
    check("hold on, remove the watch", "name", "");
    /* a name before the rest still is */
    check("Ann Lee, 10115 Berlin", NULL, "name=Ann Lee|postalCode=10115|city=Berlin");
    /* dashed postal codes: Portugal, Poland */
    check("Ana Silva, 12 Rua Augusta, 1100-048 Lisboa, Portugal", NULL,
          "name=Ana Silva|line1=12 Rua Augusta|postalCode=1100-048|city=Lisboa|country=PT");
    check("Jan Nowak, ul. Marszalkowska 10, 00-950 Warszawa, Poland", NULL,
          "name=Jan Nowak|line1=ul. Marszalkowska 10|postalCode=00-950|city=Warszawa|country=PL");
}

static void test_missing(void **state)
{
    (void)state;
    json_object *a = eng__address_parse("Maya Reed, 220 Birch Avenue", NULL);
    assert_string_equal(eng__address_missing(a), "city");
    json_object_object_add(a, "city", json_object_new_string("Portland"));
    json_object_object_add(a, "postalCode", json_object_new_string("97205"));
    assert_string_equal(eng__address_missing(a), "country");
    json_object_object_add(a, "country", json_object_new_string("US"));
    assert_null(eng__address_missing(a));
    json_object_put(a);
}

/* the confirmation e-mail's address as each country writes it (the
 * built-in template: eng__checkout_cfg(NULL)), and the order document
 * left as it was */
static void email_address(const char *addr, const char *lines)
{
    char doc[512];
    snprintf(doc, sizeof doc, "{\"items\":[],\"subtotal\":1,\"total\":1,\"address\":%s}", addr);
    json_object *d = json_tokener_parse(doc);
    assert_non_null(d);
    char *mail = eng__checkout_email(eng__checkout_cfg(NULL), d);
    assert_non_null(mail);
    if (!strstr(mail, lines))
        fail_msg("e-mail\n%s\nlacks\n%s", mail, lines);
    json_object *a = json_object_object_get(d, "address");
    assert_null(json_object_object_get(a, "locality"));
    assert_null(json_object_object_get(a, "countryName"));
    eng__free(mail);
    json_object_put(d);
}

/* What shoppers type around an address at the order's summary: the
 * request before the street, a street said without commas, a unit said
 * apart; and the addresses a shop may refuse (PO boxes, APO/FPO/DPO). */
static void test_said_around(void **state)
{
    (void)state;
    check("can you ship it to 8 Elm Street, Boston MA 02108 instead", NULL,
          "line1=8 Elm Street|city=Boston|region=MA|postalCode=02108|country=US");
    check("my new address is 40 Oak Street, Austin TX 78702", NULL,
          "line1=40 Oak Street|city=Austin|region=TX|postalCode=78702|country=US");
    check("send it to 300 Cedar Ave Houston TX 77002", NULL,
          "line1=300 Cedar Ave|city=Houston|region=TX|postalCode=77002|country=US");
    check("deliver to apt 4, 10 Main St, Austin TX 78701", NULL,
          "line1=10 Main St|line2=apt 4|city=Austin|region=TX|postalCode=78701|country=US");
    check("45 Church Street Apt 3, Boston, MA 02108", NULL,
          "line1=45 Church Street Apt 3|city=Boston|region=MA|postalCode=02108|country=US");
    const char *po[] = {"PO Box 123, Austin TX 78701", "P.O. Box 9, Leeds LS1 4AP, UK", "Unit 5, APO AE 09012"};
    for (size_t i = 0; i < sizeof po / sizeof *po; i++) {
        json_object *a = eng__address_parse(po[i], NULL);
        assert_true(eng__address_po_box(a));
        json_object_put(a);
    }
    const char *street[] = {"12 Post Office Road, Leeds LS1 4AP, UK", "4 Apollo Way, Austin TX 78701"};
    for (size_t i = 0; i < sizeof street / sizeof *street; i++) {
        json_object *a = eng__address_parse(street[i], NULL);
        assert_false(eng__address_po_box(a));
        json_object_put(a);
    }
}

static void test_email_address(void **state)
{
    (void)state;
    email_address("{\"name\":\"Ann\",\"line1\":\"1 Main Street\",\"city\":\"Springfield\",\"region\":\"IL\","
                  "\"postalCode\":\"62701\",\"country\":\"US\"}",
                  "Ann\n1 Main Street\nSpringfield, IL 62701\nUnited States\n");
    email_address("{\"name\":\"Sam Lee\",\"line1\":\"4 Bay Road\",\"city\":\"Leeds\",\"postalCode\":\"LS1 4AP\","
                  "\"country\":\"GB\"}",
                  "Sam Lee\n4 Bay Road\nLeeds LS1 4AP\nUnited Kingdom\n");
    email_address("{\"name\":\"Eva\",\"line1\":\"Hauptstr. 5\",\"line2\":\"2. OG\",\"city\":\"Berlin\","
                  "\"postalCode\":\"10115\",\"country\":\"DE\"}",
                  "Eva\nHauptstr. 5\n2. OG\n10115 Berlin\nGermany\n");
    /* a country without a rule: postal code first, the code as its name */
    email_address("{\"name\":\"Jo\",\"line1\":\"Rua 1\",\"city\":\"Lisboa\",\"postalCode\":\"1000-001\","
                  "\"country\":\"PT\"}",
                  "Jo\nRua 1\n1000-001 Lisboa\nPT\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_message), cmocka_unit_test(test_house_number),
        cmocka_unit_test(test_labels_and_parts),
        cmocka_unit_test(test_inferred_and_names),
        cmocka_unit_test(test_never_read),
        cmocka_unit_test(test_missing),
        cmocka_unit_test(test_email_address),
        cmocka_unit_test(test_said_around),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
