/* engine/nlu/features.c — turns a message into the classifier's features:
 * normalised word uni/bigrams and padded character n-grams, hashed into
 * 2^hash_bits buckets and deduplicated with counts. Stack only, so the
 * same code serves training and thread-safe prediction.
 */
#include "clf_int.h"
#include <string.h>

/* Seeds keep the namespaces apart: the word "ab" and the character
 * n-gram "ab" must not share a bucket by construction. */
#define SEED_WORD 0x811c9dc5u
#define SEED_BIGRAM 0x9e3779b1u
#define SEED_CHAR 0x85ebca6bu

static inline uint32_t fmix32(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

static inline uint32_t fnv_step(uint32_t h, unsigned char c) { return (h ^ c) * 0x01000193u; }

static inline int is_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c >= 0x80 || c == '\'';
}

/* The length of the count word ("two" .. "twelve", "twenty") that s
 * starts with and that ends there, or 0. */
static size_t number_word(const unsigned char *s)
{
    static const char *const words[] = {"two",  "three", "four",   "five",   "six",    "seven",
                                        "eight", "nine", "ten", "eleven", "twelve", "twenty", NULL};
    for (size_t i = 0; words[i]; i++) {
        size_t k = 0;
        while (words[i][k] && s[k] && (s[k] | 0x20) == (unsigned char)words[i][k])
            k++;
        if (!words[i][k] && !is_word_byte(s[k]))
            return k;
    }
    return 0;
}

/* The length of the verb s starts with, one of `verbs`, when the next
 * word points at what is moved ("pop it in", "chuck the first one in",
 * "whack two in", "bin the second one"), or 0. "throw pillow" and
 * "selfie stick" keep their words. */
static size_t verb_with_object(const unsigned char *s, const char *const *verbs)
{
    static const char *const objects[] = {"it", "that", "this", "them", "those", "these", "the", "a", "an",
                                          "another", "one", "in", "both", "all", "some", "em", "two", "three",
                                          "four", "five", "six", "seven", "eight", "nine", "ten", NULL};
    for (size_t i = 0; verbs[i]; i++) {
        size_t k = 0;
        while (verbs[i][k] && s[k] && (s[k] | 0x20) == (unsigned char)verbs[i][k])
            k++;
        if (verbs[i][k] || is_word_byte(s[k]))
            continue;
        const unsigned char *w = s + k;
        while (*w == ' ')
            w++;
        if (*w >= '0' && *w <= '9')
            return k;
        for (size_t j = 0; objects[j]; j++) {
            size_t m = 0;
            while (objects[j][m] && w[m] && (w[m] | 0x20) == (unsigned char)objects[j][m])
                m++;
            if (!objects[j][m] && !is_word_byte(w[m]))
                return k;
        }
        return 0;
    }
    return 0;
}

/* Shoppers' words for putting in a cart read as "put"; for taking out,
 * as "remove". */
static const char *const placing[] = {"pop", "chuck", "bung", "whack", "shove", "toss", "throw", "stick",
                                      "stuff", "slap", "plonk", "dump", "slip", NULL};
static const char *const removing[] = {"bin", "ditch", "scrap", "nix", "axe", "lose", NULL};

/* The length of s's start that spells `pat` (case aside; an apostrophe
 * of pat matches ', a phone's U+2019 or nothing), or 0. */
static size_t spells(const unsigned char *s, const char *pat)
{
    size_t k = 0;
    for (const char *p = pat; *p; p++) {
        if (*p == '\'') {
            if (s[k] == '\'')
                k++;
            else if (s[k] == 0xE2 && s[k + 1] == 0x80 && s[k + 2] == 0x99)
                k += 3;
            continue;
        }
        if (!s[k] || (s[k] | 0x20) != (unsigned char)*p)
            return 0;
        k++;
    }
    return is_word_byte(s[k]) ? 0 : k;
}

/* The length of a phrase s starts with that the model should read as
 * other words, those in *to; or 0. Spelled-out negations ("do not",
 * "cannot") as their contracted forms ("dont", "cant"): shoppers write
 * both. "I'm after a kettle" (British for "I want") as "i want"; chat
 * shorthand ("u", "ur") as the words. */
static size_t phrase(const unsigned char *s, const char **to)
{
    static const char *const pairs[][2] = {
        {"do not", "dont"},     {"does not", "doesnt"}, {"did not", "didnt"},   {"is not", "isnt"},
        {"are not", "arent"},   {"was not", "wasnt"},   {"can not", "cant"},    {"cannot", "cant"},
        {"will not", "wont"},   {"would not", "wouldnt"}, {"should not", "shouldnt"}, {"have not", "havent"},
        {"has not", "hasnt"},   {"i'm after", "i want"}, {"i am after", "i want"}, {"we're after", "we want"},
        {"we are after", "we want"},
        /* chat shorthand: "do u ship to ireland", "is ur shop open"; only
         * beside a word it goes with, for "u bolt" and "u shaped" are
         * product words */
        {"r u", "are you"},     {"are u", "are you"},   {"do u", "do you"},     {"can u", "can you"},
        {"could u", "could you"}, {"will u", "will you"}, {"would u", "would you"}, {"have u", "have you"},
        {"did u", "did you"},   {"thank u", "thank you"}, {"u guys", "you guys"}, {"u have", "you have"},
        {"u got", "you got"},   {"u sell", "you sell"}, {"u ship", "you ship"}, {"u deliver", "you deliver"},
        {"u accept", "you accept"}, {"u take", "you take"}, {"u do", "you do"}, {"ur shop", "your shop"},
        {"ur store", "your store"}, {"ur site", "your site"}, {"ur website", "your website"},
        {"ur return", "your return"}, {"ur returns", "your returns"}, {"ur policy", "your policy"},
        {"ur prices", "your prices"}, {"ur delivery", "your delivery"}, {"ur shipping", "your shipping"},
        {"ur hours", "your hours"}, {"ur opening", "your opening"},
        /* yes in other spellings (as examples they pulled product
         * queries with "up" or "huh" in them towards confirm) */
        {"yup", "yes"},         {"yeh", "yes"},         {"yah", "yes"},         {"mhm", "yes"},
        {"mhmm", "yes"},        {"uh huh", "yes"},      {"uh-huh", "yes"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        size_t k = spells(s, pairs[i][0]);
        if (k) {
            *to = pairs[i][1];
            return k;
        }
    }
    return 0;
}

/* The length of an emoji that answers like a word at s (a thumbs up is
 * "yes"), with any skin-tone modifier after it; *to gets the word. 0
 * when s starts no such emoji. */
static size_t emoji_word(const unsigned char *s, const char **to)
{
    static const struct {
        const char *bytes, *word;
    } table[] = {
        {"\xF0\x9F\x91\x8D", "yes"},    /* thumbs up */
        {"\xF0\x9F\x91\x8C", "ok"},     /* OK hand */
        {"\xE2\x9C\x85", "yes"},         /* check mark button */
        {"\xE2\x9C\x94", "yes"},         /* heavy check mark */
        {"\xF0\x9F\x91\x8E", "no"},     /* thumbs down */
        {"\xE2\x9D\x8C", "no"},          /* cross mark */
        {"\xF0\x9F\x99\x8F", "thanks"}, /* folded hands */
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        size_t k = strlen(table[i].bytes);
        if (strncmp((const char *)s, table[i].bytes, k) != 0)   /* stops at the NUL */
            continue;
        /* U+1F3FB..U+1F3FF, the skin tones; U+FE0F, the emoji style */
        if (s[k] == 0xF0 && s[k + 1] == 0x9F && s[k + 2] == 0x8F && s[k + 3] >= 0xBB && s[k + 3] <= 0xBF)
            k += 4;
        else if (s[k] == 0xEF && s[k + 1] == 0xB8 && s[k + 2] == 0x8F)
            k += 3;
        *to = table[i].word;
        return k;
    }
    return 0;
}

size_t eng__clf_normalise(const char *text, char *out, size_t cap)
{
    const unsigned char *s = (const unsigned char *)(text ? text : "");
    size_t n = 0;
    int in_word = 0, in_digits = 0;
    if (cap == 0)
        return 0;
    for (; *s && n + 2 < cap; s++) {
        unsigned char c = *s;
        /* U+2019 (right single quote) is how phones type apostrophes; drop
         * it like ASCII ' so "don’t" and "don't" both become "dont" */
        if (c == 0xE2 && s[1] == 0x80 && s[2] == 0x99) {
            s += 2;
            continue;
        }
        const char *said = NULL;
        size_t ne = c >= 0xE2 ? emoji_word(s, &said) : 0;
        if (ne && n + strlen(said) + 2 < cap) {
            if (in_word)
                out[n++] = ' ';
            memcpy(out + n, said, strlen(said));
            n += strlen(said);
            out[n++] = ' ';
            in_word = in_digits = 0;
            s += ne - 1;
            continue;
        }
        if (!is_word_byte(c)) {
            if (in_word)
                out[n++] = ' ';
            in_word = in_digits = 0;
            continue;
        }
        if (c == '\'')
            continue;
        /* words read as one other word: "do not" as "dont"; "pop it in",
         * "bung two in the trolley" as "put it in" (a shopper's word for
         * putting in a cart); "bin the second one", "ditch it" as
         * "remove ..." */
        size_t nw = 0;
        const char *as = NULL;
        if (!in_word && !(nw = phrase(s, &as))) {
            if ((nw = verb_with_object(s, placing)) > 0)
                as = "put";
            else if ((nw = verb_with_object(s, removing)) > 0)
                as = "remove";
        }
        if (nw && n + strlen(as) + 1 < cap) {
            memcpy(out + n, as, strlen(as));
            n += strlen(as);
            in_word = 1;
            in_digits = 0;
            s += nw - 1;
            continue;
        }
        if (!in_word && (nw = number_word(s)) > 0) {
            /* "make it two" reads like "make it 2": a count in words is
             * the same digit run ("one" stays a word: "this one") */
            out[n++] = '0';
            in_word = 1;
            in_digits = 0;
            s += nw - 1;
            continue;
        }
        if (c >= '0' && c <= '9') {
            /* order numbers, amounts and times say nothing about intent:
             * every digit run becomes one '0' */
            if (in_digits)
                continue;
            in_digits = 1;
            c = '0';
        } else {
            in_digits = 0;
            if (c >= 'A' && c <= 'Z')
                c = (unsigned char)(c + 32);
            else if (c == 0xC3 && s[1] >= 0x80 && s[1] <= 0x9E && s[1] != 0x97) {
                /* Latin-1 capitals (À..Þ) fold to their small forms */
                out[n++] = (char)c;
                c = (unsigned char)(s[1] + 0x20);
                s++;
            }
        }
        out[n++] = (char)c;
        in_word = 1;
    }
    if (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
    return n;
}

/* Dedup table: open addressing over bucket+1 (0 = empty). Sized for
 * CLF_MAX_FEATS at load factor 1/2. */
#define TAB_SIZE (2 * CLF_MAX_FEATS)

typedef struct fx_state {
    const clf_fx *fx;
    clf_feat *out;
    size_t n;
    uint32_t tmask;   /* table size - 1: sized to the text, so short
                         messages clear only a small part of it */
    int shift;
    uint32_t key[TAB_SIZE];
    uint16_t idx[TAB_SIZE];
} fx_state;

static inline void add(fx_state *st, uint32_t h, uint8_t block)
{
    uint32_t b = fmix32(h) >> st->shift;
    uint32_t slot = (b * 0x9e3779b1u) & st->tmask;
    for (;;) {
        uint32_t k = st->key[slot];
        if (k == b + 1) {
            clf_feat *f = &st->out[st->idx[slot]];
            if (f->count < UINT16_MAX)
                f->count++;
            return;
        }
        if (k == 0)
            break;
        slot = (slot + 1) & st->tmask;
    }
    if (st->n >= CLF_MAX_FEATS)
        return;
    st->key[slot] = b + 1;
    st->idx[slot] = (uint16_t)st->n;
    st->out[st->n++] = (clf_feat){.bucket = b, .count = 1, .block = block};
}

size_t eng__clf_extract(const clf_fx *fx, const char *text, clf_feat *out)
{
    char norm[CLF_MAX_TEXT + 2];
    size_t len = eng__clf_normalise(text, norm, sizeof norm);
    fx_state st;
    st.fx = fx;
    st.out = out;
    st.n = 0;
    st.shift = 32 - fx->hash_bits;
    /* a text of len bytes has at most (nchar+1)*(2*len+2) features
     * (each token: a word, a bigram, nchar n-grams per padded position) */
    size_t nchar = fx->char_min > 0 ? (size_t)(fx->char_max - fx->char_min + 1) : 0;
    size_t est = (nchar + 1) * (2 * len + 2) + 4, tab = 64;
    if (est > CLF_MAX_FEATS)
        est = CLF_MAX_FEATS;
    while (tab < 2 * est)
        tab *= 2;
    st.tmask = (uint32_t)tab - 1;
    memset(st.key, 0, tab * sizeof st.key[0]);

    uint32_t prev = 0;
    int have_prev = 0, ntok = 0;
    size_t i = 0;
    while (i < len && ntok < CLF_MAX_TOKENS) {
        size_t start = i;
        while (i < len && norm[i] != ' ')
            i++;
        const unsigned char *w = (const unsigned char *)norm + start;
        size_t wl = i - start;
        i++; /* the space */
        ntok++;

        uint32_t h = SEED_WORD;
        for (size_t j = 0; j < wl; j++)
            h = fnv_step(h, w[j]);
        add(&st, h, CLF_BLOCK_WORD);
        if (fx->word_ngrams >= 2 && have_prev)
            add(&st, (prev * SEED_BIGRAM) ^ fmix32(h + SEED_BIGRAM), CLF_BLOCK_WORD);
        prev = h;
        have_prev = 1;

        if (fx->char_min <= 0)
            continue;
        /* character n-grams over "<word>": the padding marks where a
         * word starts and ends, which carries most of the morphology */
        size_t pl = wl + 2;
        for (size_t a = 0; a < pl; a++) {
            uint32_t c = SEED_CHAR;
            for (int k = 1; k <= fx->char_max && a + (size_t)k <= pl; k++) {
                size_t p = a + (size_t)k - 1;
                unsigned char ch = p == 0 ? '<' : p == pl - 1 ? '>' : w[p - 1];
                c = fnv_step(c, ch);
                if (k >= fx->char_min)
                    add(&st, c ^ (uint32_t)k, CLF_BLOCK_CHAR);
            }
        }
    }
    return st.n;
}
