/* engine/nlu/lexicon_int.h — catalog understanding without an LLM: the live
 * catalog's words (titles, brands, categories, tags) with the category
 * each one mostly names, a shipped synonym lexicon ("phone" ->
 * smartphones), and an English word list. Built once per catalog load;
 * a turn only hashes its own words (no scan of the catalog).
 * Private to engine/ (the classifier stage, the product agent, tests). */
#ifndef AISLE_NLU_LEXICON_H
#define AISLE_NLU_LEXICON_H

#include "engine/eng_int.h"
#include <stdbool.h>
#include <stdint.h>

typedef struct eng__lex eng__lex;

/* eng__lex_new: an empty lexicon. `synonyms` is the text of a lexicon
 * file (NULL: none): lines "HEAD: syn, syn, ..." where HEAD is a
 * category name or a word of the catalog; "words: w, w" lines only add
 * words that spelling may correct to. `dict` is the path of an English
 * word list (NULL or unreadable: none; then only long words are
 * corrected). Returns 0 or ENG_ENOMEM. */
int eng__lex_new(const char *synonyms, const char *dict, eng__lex **out);
/* eng__lex_add_product: learn one product's words. 0 or ENG_ENOMEM. */
int eng__lex_add_product(eng__lex *x, const char *title, const char *brand, const char *category,
                         char *const *tags, size_t ntags);
/* eng__lex_finish: resolve categories and build the spelling index;
 * call once, after the last product. 0 or ENG_ENOMEM. */
int eng__lex_finish(eng__lex *x);
void eng__lex_free(eng__lex *x);

/* eng__lex_units: text with a container said between a count and what
 * it counts left out, into out[0..cap), NUL-terminated: "two bags of
 * those" -> "two of those", "a bottle of the gucci" -> "one of the
 * gucci". Only before "of" and a pointer ("those", "them", "it", "the",
 * ...), so "two bags of rice" and "a leather bag" stay as they are.
 * Returns how many units were left out. */
int eng__lex_units(const char *text, char *out, size_t cap);

/* eng__lex_correct: text with misspelt words replaced ("lipstik" ->
 * "lipstick") into out[0..cap), NUL-terminated; an unknown word that is
 * two catalog words run together is split ("rainbird" -> "rain bird").
 * A word that is English, a catalog or lexicon word, or shorter than 4
 * letters (6 without a word list) is never changed. Returns how many words changed; `fixes` (may
 * be NULL) gets "from>to" pairs separated by spaces. Thread-safe. */
int eng__lex_correct(const eng__lex *x, const char *text, char *out, size_t cap, char *fixes, size_t fcap);

typedef struct eng__lex_info {
    int content;           /* content words (not function words) */
    int known;             /* of them, words of the catalog or the lexicon */
    int cues;              /* shopping cues: "gift", "looking for", "need" */
    const char *category;  /* the product type's category, or NULL; owned by x */
    char type[48];         /* the word that named it */
    bool type_literal;     /* that word itself occurs in the catalog's text */
    int type_part;         /* 0: the type came before any "for", "with", "who"... */
    char head[48];         /* a synonym's head ("earbuds" -> "earphones"), else "" */
    int for_whom;          /* 1: men ("for my husband"), 2: women ("for her"), 0: neither or both */
} eng__lex_info;

/* eng__lex_analyse: what the message names. Thread-safe. */
void eng__lex_analyse(const eng__lex *x, const char *text, eng__lex_info *out);

/* eng__lex_category: the catalog's category named `name` exactly (owned
 * by x), or NULL. Thread-safe. */
const char *eng__lex_category(const eng__lex *x, const char *name);

/* eng__lex_words / eng__lex_has_dict: sizes, for notes and tests. */
size_t eng__lex_words(const eng__lex *x);
bool eng__lex_has_dict(const eng__lex *x);
/* eng__lex_names: whether `word` (lower case) names something of the
 * catalog: a word of its titles, brands or categories, a lexicon head or
 * synonym (not a stop word or a cue such as "cheap"). Thread-safe. */
bool eng__lex_names(const eng__lex *x, const char *word);
/* eng__lex_category_of: the category one word resolves to, or NULL. */
const char *eng__lex_category_of(const eng__lex *x, const char *word);

#endif
