/* tests/unit/test_agent_words.c — eng__agent_has_word, the agents' "does
 * the message hold one of these words" (engine/stages/agent.c): whole
 * words and phrases, case aside, and the index of the message's word
 * starts that passes over most listed words without a scan must answer
 * exactly as a plain scan does. Also the readings built on it: answers
 * to our questions (eng__agent_hesitates, eng__agent_yes_and_more) and
 * order numbers (eng__agent_said_order_number). */
#define _GNU_SOURCE /* strcasestr */
#include "engine/stages/agent_int.h"
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>

/* the plain scan the index must agree with */
static bool reference(const char *text, const char *const *words)
{
    for (size_t i = 0; words[i]; i++) {
        size_t n = strlen(words[i]);
        for (const char *p = strcasestr(text, words[i]); p; p = strcasestr(p + 1, words[i]))
            if ((p == text || !isalnum((unsigned char)p[-1])) && !isalnum((unsigned char)p[n]))
                return true;
    }
    return false;
}

static void test_words(void **state)
{
    (void)state;
    static const char *const add[] = {"add", "put", "throw in", NULL};
    assert_true(eng__agent_has_word("please ADD it", add));
    assert_true(eng__agent_has_word("Throw In a kiwi", add));
    assert_false(eng__agent_has_word("address", add));          /* inside a word */
    assert_false(eng__agent_has_word("padd it", add));
    static const char *const em[] = {"'em", "i'll", "x2", "a", NULL};
    assert_true(eng__agent_has_word("take 'em", em));
    assert_true(eng__agent_has_word("I'll take it", em));
    assert_true(eng__agent_has_word("lipstick x2", em));
    assert_true(eng__agent_has_word("a", em));
    assert_false(eng__agent_has_word("", em));
    /* the same text asked again, and another text of the same length */
    assert_true(eng__agent_has_word("put it in", add));
    assert_false(eng__agent_has_word("pot it in", add));
}

/* random texts and word lists over a small alphabet (so that matches,
 * near misses and boundaries are frequent): the index answers as the
 * scan does, for texts under and over its size */
static void test_same_as_scan(void **state)
{
    (void)state;
    static const char alphabet[] = "abAB1 '-";
    srand(7);
    char text[700], words[6][8];
    const char *list[7];
    for (int round = 0; round < 20000; round++) {
        size_t len = (size_t)(rand() % (round % 50 == 0 ? 690 : 24));
        for (size_t i = 0; i < len; i++)
            text[i] = alphabet[rand() % (int)(sizeof alphabet - 1)];
        text[len] = '\0';
        int nw = 1 + rand() % 6;
        for (int w = 0; w < nw; w++) {
            size_t wl = 1 + (size_t)(rand() % 4);
            for (size_t i = 0; i < wl; i++)
                words[w][i] = alphabet[rand() % (int)(sizeof alphabet - 1)];
            words[w][wl] = '\0';
            list[w] = words[w];
        }
        list[nw] = NULL;
        if (eng__agent_has_word(text, list) != reference(text, list))
            fail_msg("\"%s\": the index and the scan disagree", text);
    }
}

/* Answers to "Shall I place the order?": a hesitation is no yes, "yeah
 * nah" is a no, and a yes that says more is told apart from a plain one
 * (engine/stages/agent.c). */
static void test_answers(void **state)
{
    (void)state;
    const char *hesitant[] = {"hmm not sure", "ok hold on", "hmm ok wait", "ok so", "let me think about it",
                              "one sec", "umm", "hmm ok", "idk", "maybe later", "ok so..."};
    for (size_t i = 0; i < sizeof hesitant / sizeof *hesitant; i++)
        assert_int_equal(eng__agent_hesitates(hesitant[i]), 1);
    assert_int_equal(eng__agent_hesitates("yeah nah"), 2);
    assert_int_equal(eng__agent_hesitates("yeah no"), 2);
    const char *sure[] = {"yes", "yes please", "hmm yes", "go on then", "ok but just 2", "yep, place it",
                          "sure thing", "hmm only 3 actually"};
    for (size_t i = 0; i < sizeof sure / sizeof *sure; i++)
        assert_int_equal(eng__agent_hesitates(sure[i]), 0);
    assert_int_equal(eng__agent_yes_and_more("yes please go ahead, thank you"), AGENT_YES_PLAIN);
    assert_int_equal(eng__agent_yes_and_more("yep that's right, place it"), AGENT_YES_PLAIN);
    assert_int_equal(eng__agent_yes_and_more("fine, yes with the saved card"), AGENT_YES_PLAIN);
    assert_int_equal(eng__agent_yes_and_more("yes without the spatula"), AGENT_YES_REMOVE);
    assert_int_equal(eng__agent_yes_and_more("yep but minus the spatula"), AGENT_YES_REMOVE);
    assert_int_equal(eng__agent_yes_and_more("yes please, and add a wok too"), AGENT_YES_ADD);
    assert_int_equal(eng__agent_yes_and_more("yes but leave it at the back door"), AGENT_YES_OTHER);
}

/* Order numbers as shoppers write them; a count after "order" that
 * names products is none. */
static void test_order_numbers(void **state)
{
    (void)state;
    const struct {
        const char *text;
        int64_t id;
    } cases[] = {{"cancel order 1", 1},       {"where's #1", 1},         {"cancel no. 1", 1},
                 {"track order one", 1},      {"cancel 2", 2},           {"cancel order number 3 please", 3},
                 {"what's the status of order 12 please", 12},          {"cancel orders 1 and 2", 1},
                 {"order 2 lipsticks", 0},    {"cancel my order", 0},    {"cancel the last one", 0},
                 {"i want to order 3 kiwis", 0}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int64_t got = eng__agent_said_order_number(cases[i].text);
        if (got != cases[i].id)
            fail_msg("\"%s\": expected %lld, got %lld", cases[i].text, (long long)cases[i].id, (long long)got);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_words), cmocka_unit_test(test_same_as_scan),
                                       cmocka_unit_test(test_answers), cmocka_unit_test(test_order_numbers)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
