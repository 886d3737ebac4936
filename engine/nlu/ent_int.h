/* engine/nlu/ent_int.h — the entity extractor behind the `entities`
 * stage: a pure function from message text and compiled vocabularies to
 * typed spans. Private to engine/ (the stage and its unit test). */
#ifndef AISLE_NLU_ENTITIES_H
#define AISLE_NLU_ENTITIES_H

#include "engine/eng_int.h"

typedef enum eng__ent_type {
    ENG_ENT_QUANTITY = 0,
    ENG_ENT_MONEY,
    ENG_ENT_COLOR,
    ENG_ENT_SIZE,
    ENG_ENT_BRAND,
    ENG_ENT_CATEGORY,
    ENG_ENT_ORDER,
    ENG_ENT_EMAIL,
    ENG_ENT_REFERENCE,
    ENG_ENT_NTYPES
} eng__ent_type;

typedef enum eng__ref_kind {
    ENG_REF_ORDINAL = 0,     /* "the second one", "the 2nd", "the last one" */
    ENG_REF_DEMONSTRATIVE,   /* "that one", "this", "it", "those" */
    ENG_REF_COMPARATIVE,     /* "the cheaper one", "the cheapest" */
    ENG_REF_ATTRIBUTE,       /* "the red one", "the Nike ones" */
} eng__ref_kind;

/* Comparative references: which end of which scale. */
typedef enum eng__ref_cmp { ENG_CMP_CHEAPEST = 0, ENG_CMP_PRICIEST, ENG_CMP_BEST_RATED } eng__ref_cmp;

/* One entity. Spans are byte offsets into the text given to extract. */
typedef struct eng__ent {
    eng__ent_type type;
    uint32_t start, end;       /* the whole span, cue words included ("under $50") */
    uint32_t vs, ve;           /* ORDER, EMAIL, numeric SIZE: the value's own bytes */
    double num;                /* QUANTITY; MONEY exact amount (NAN for a bound or range) */
    double min, max;           /* MONEY: NAN where open */
    const char *currency;      /* MONEY: "USD", "EUR", "GBP" or NULL (unstated) */
    const char *str;           /* COLOR/BRAND/CATEGORY canonical name, letter SIZE ("XL");
                                  owned by the vocabulary or static */
    const char *system;        /* SIZE: "EU", "US", "UK" or NULL */
    eng__ref_kind ref;         /* REFERENCE */
    int index;                 /* ORDINAL: 0-based; negative counts from the end (-1 = last) */
    eng__ref_cmp cmp;          /* COMPARATIVE */
    eng__ent_type attr_type;   /* ATTRIBUTE: COLOR, BRAND or SIZE; its value in str */
    bool plural;               /* REFERENCE: "ones", "those", "them" */
    bool negated;              /* BRAND, COLOR, CATEGORY: said not to be wanted ("not from apple",
                                  "anything but red", "except samsung"); the span starts at the cue.
                                  REFERENCE: left out ("but not the fourth", "except the cheapest").
                                  QUANTITY: said again after a correction ("2 kiwis, sorry, 3": the 2) */
} eng__ent;

/* What a vocabulary is built from. Aliases map a synonym to the name of
 * an entry of any list (or a built-in colour or size word); the synonym
 * then yields that entry's type and canonical name. */
typedef struct eng__ent_lists {
    const char *const *colors;
    size_t ncolors;
    const char *const *brands;
    size_t nbrands;
    const char *const *categories;
    size_t ncategories;
    const char *const *alias_from, *const *alias_to;
    size_t naliases;
    bool *alias_resolved;      /* optional out: naliases flags, true when the target was found */
} eng__ent_lists;

typedef struct eng__ent_vocab eng__ent_vocab;

/* eng__ent_vocab_new: compile the lists (copied; built-in colours and
 * size words are always included) into a hashed phrase table. Names are
 * matched case-insensitively on word boundaries with light plural
 * folding ("boots" = "boot", "men's shoes" = "mens-shoes"); phrases over
 * 8 words are ignored. Returns 0 or ENG_ENOMEM. */
int eng__ent_vocab_new(const eng__ent_lists *l, eng__ent_vocab **out);
void eng__ent_vocab_free(eng__ent_vocab *v);
/* eng__ent_vocab_count: phrases of one type (COLOR, BRAND, CATEGORY, SIZE). */
size_t eng__ent_vocab_count(const eng__ent_vocab *v, eng__ent_type type);

/* eng__ent_extract: find entities in text[0..len) (any bytes; no NUL
 * needed), in order of position, at most max of them. Returns how many
 * it wrote, or ENG_ENOMEM (only for texts over 512 tokens, which need a
 * heap buffer). `v` may be NULL (built-in words only). Thread-safe. */
int eng__ent_extract(const eng__ent_vocab *v, const char *text, size_t len, eng__ent *out, size_t max);

/* eng__ent_type_name: "quantity", "money", "color", ... */
const char *eng__ent_type_name(eng__ent_type t);

/* eng__ent_selfcheck: 0 when the built-in word table is sorted (tests). */
int eng__ent_selfcheck(void);

#endif
