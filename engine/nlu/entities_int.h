/* engine/nlu/entities_int.h — internals of the entity extractor, shared
 * between entities.c (tokenizer and extraction) and entities_vocab.c (the
 * cue-word table and the phrase table). Never included from outside
 * engine/nlu/. */
#ifndef AISLE_NLU_ENTITIES_INT_H
#define AISLE_NLU_ENTITIES_INT_H

#include "ent_int.h"
#include <stdint.h>

/* ------------------------------------------------------------ cue words */
enum {
    L_NONE = 0, L_A, L_VERB, L_OVER, L_CLAUSE, L_UNIT, L_AND, L_DET, L_AT, L_UNDER, L_BEST,
    L_BETWEEN, L_CUR, L_BUDGET, L_CHEAPER, L_CHEAPEST, L_NOUN, L_NOUNS, L_COUPLE, L_DOZEN, L_NUM,
    L_ORD, L_TENS, L_SYS, L_EXPENSIVE, L_FROM, L_HALF, L_MORE, L_HUNDRED, L_NUMBER, L_IT, L_LEAST,
    L_LESS, L_MAX, L_MIN, L_MOST, L_NO, L_OF, L_ONE, L_ONES, L_OR, L_ORDER, L_PCS, L_PLUS,
    L_PRICIER, L_PRICIEST, L_QTY, L_RATED, L_SIZE, L_STARTING, L_THAN, L_THIS, L_THE, L_THEM,
    L_THESE, L_THOUSAND, L_TO, L_UP, L_WITHIN,
};

typedef struct ent_cue {
    const char *w;
    unsigned char id;     /* L_* */
    signed char val;      /* a number word's value, a currency's or size system's index */
} ent_cue;

/* eng__ent_is_colour: whether w[0..n) is one of the built-in colour
 * words ("black", "navy blue"), case aside. */
bool eng__ent_is_colour(const char *w, size_t n);

/* eng__ent_cue: the cue word w[0..n) (folded, no stemming), or NULL. */
const ent_cue *eng__ent_cue(const char *w, size_t n);

/* ------------------------------------------------------------ tokens */
enum { TK_WORD = 1, TK_NUM, TK_SYM };

typedef struct ent_tok {
    uint32_t s, e;        /* bytes of the token */
    uint32_t ne;          /* TK_NUM: end of the numeric part; a suffix ("x", "nd", "eu") follows */
    uint8_t kind, lx, used, dec;  /* dec: the number has a decimal point */
    signed char val;      /* the cue word's value */
    char ch;              /* TK_SYM: ASCII char; 'E' euro, 'P' pound sign */
    double num;
    uint64_t h;           /* hash of the folded word */
} ent_tok;

#define ENT_STEM_MAX 48   /* a folded word, NUL included */
#define ENT_MAXTOK 8      /* words in a vocabulary phrase */
#define ENT_NORM_MAX (ENT_MAXTOK * ENT_STEM_MAX + ENT_MAXTOK)

/* eng__ent_tokenize: split s[0..len) into tokens; writes at most max,
 * returns how many there are. */
size_t eng__ent_tokenize(const unsigned char *s, size_t len, ent_tok *out, size_t max);

/* eng__ent_join: append token t's folded, stemmed word to norm[0..bl)
 * (which holds ENT_NORM_MAX), after a space unless it is the first;
 * returns the new length, not NUL-terminated. */
size_t eng__ent_join(char *norm, size_t bl, const unsigned char *s, const ent_tok *t);

/* The hash of a phrase: its words' hashes mixed in order. */
static inline uint64_t eng__ent_mix(uint64_t h, uint64_t t)
{
    uint64_t z = h ^ t;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* ------------------------------------------------------------ phrases */
typedef struct ent_phrase {
    uint64_t h;
    const char *norm;     /* folded words joined by single spaces */
    const char *canon;
    uint8_t ntok, type;
} ent_phrase;

struct eng__ent_vocab {
    eng_pool *pool;
    ent_phrase *tab;      /* open addressing; cap is a power of two */
    size_t cap;
    int maxtok;
    size_t count[ENG_ENT_NTYPES];
};

/* eng__ent_vfind: the entry for (h, norm), or the empty slot where it
 * would go (norm NULL). */
ent_phrase *eng__ent_vfind(const eng__ent_vocab *v, uint64_t h, const char *norm);

#endif
