/* tests/unit/test_agent_words.c — eng__agent_has_word, the agents' "does
 * the message hold one of these words" (engine/stages/agent.c): whole
 * words and phrases, case aside, and the index of the message's word
 * starts that passes over most listed words without a scan must answer
 * exactly as a plain scan does. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_words), cmocka_unit_test(test_same_as_scan)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
