/* engine/knowledge.c — the shop's knowledge file: "## Heading" sections
 * of markdown that the product team writes (returns, shipping, payment,
 * warranty, contact, hours), linted and indexed once at pipeline load
 * into the pipeline's pool, and read by the support agent per turn.
 *
 * Retrieval is BM25 over sections (the heading counts three times), then
 * the chosen section's sentences are ranked by the query words they hold
 * and the best ones are quoted verbatim, so the reply is always the
 * shop's own text. Words are lowercased ASCII with a light suffix
 * stemmer and a few support synonyms on the query side; no network, no
 * model. Limits: one file, MAX_SECTIONS sections, MAX_SENTENCES per
 * section; anything past them is ignored with a warning. */
#include "knowledge_int.h"
#include <ctype.h>
#include <pthread.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_SECTIONS 200
#define MAX_SENTENCES 64
#define MAX_TERMS 64     /* query terms considered */
#define WORD_MAX 32
#define TITLE_WEIGHT 3
/* a word of a "### " line: the section's own words for its topic, more
 * than a word of its text says */
#define KEYWORD_WEIGHT 2
#define TOPIC_WEIGHT 0.5 /* a word of the intent's name, beside the shopper's own */

typedef struct kb_terms {
    const char **w;   /* stemmed words, pool strings */
    int *tf;
    size_t n, cap;
    int len;          /* total weight (BM25 document length) */
} kb_terms;

typedef struct kb_sentence {
    const char *text; /* verbatim, NUL-terminated pool copy */
    kb_terms t;
} kb_sentence;

typedef struct kb_section {
    const char *title;
    const char *keys;   /* the "### " lines' words, one string (NULL: none) */
    int line;
    kb_terms t;
    kb_sentence s[MAX_SENTENCES];
    size_t ns;
} kb_section;

struct eng_kb {
    const char *path;
    kb_section *sec;
    size_t n;
    double avglen;
};

const char *eng__kb_path(const eng_kb *kb) { return kb->path; }

/* ---------------------------------------------------------------- words */

static const char *const stopwords[] = {
    "a", "about", "am", "an", "and", "any", "are", "as", "at", "be", "been", "but", "by", "can", "could",
    "do", "does", "did", "for", "from", "get", "had", "has", "have", "hello", "hi", "how", "i", "if", "in",
    "into", "is", "it", "its", "just", "let", "like", "me", "much", "my", "need", "of", "on", "or", "our",
    "please", "pls", "so", "tell", "than", "that", "the", "their", "them", "then", "there", "these", "this",
    "to", "u", "us", "want", "was", "we", "what", "whats", "when", "where", "which", "who", "why", "will",
    "with", "would", "you", "your", "youre", "yours", "ur", "know", "im", "ive", "id", "also", "until",
    "after", "before", "now", "some", "something", "anything", "still", "ever", "really", "ok", "okay", "should",
    "shall", "may", "might", "must", "there", "here", "thing", "things", "one", "ones", "got", "go", "going",
    /* how shoppers ask for products: "do you sell gazebos" is not about
     * the privacy section's "we never sell your data" */
    "sell", "sells", "selling", "carry", "carries", "guys",
    /* "any chance it'd get here by friday": filler around the question */
    "chance", "chanc", "itd", "itll", "thatll", "possibl",
    /* when: "any deals on at the moment" asks about the deals */
    "moment", "currently", "presently", "today", "todai",
    /* filler adverbs: "when do you actually charge me" */
    "actually", "actual", "actualli", "basically", "basicalli", "exactly", "exactli", "even",
    /* praise around the topic: "any good deals" */
    "good", "nice", "great", "decent", "cool",
    /* verbs of the shop's own sentences ("run your account") that name no topic */
    "run", "runs", "running",
    /* "deliver it to my brother instead of me": no change of an order */
    "instead",
    /* "are there any coupons i could use": the privacy section's "we use
     * your data" is no answer; "hold on", "wait" open a question */
    "use", "using", "hold", "wait",
    /* "would it come before the weekend": not the returns' "come back" */
    "come", "comes", "coming", "came",
    NULL,
};

static void stem(char *w);

/* The stop words as words are compared: stemmed ("there" -> "ther",
 * "please" -> "pleas"), once. */
static const char *stems[sizeof stopwords / sizeof stopwords[0]];
static char stem_buf[sizeof stopwords / sizeof stopwords[0]][24];
static pthread_once_t stems_once = PTHREAD_ONCE_INIT;

static void stems_init(void)
{
    for (size_t i = 0; stopwords[i]; i++) {
        snprintf(stem_buf[i], sizeof stem_buf[i], "%s", stopwords[i]);
        stem(stem_buf[i]);
        stems[i] = stem_buf[i];
    }
}

static bool is_stop(const char *w)
{
    pthread_once(&stems_once, stems_init);
    for (int i = 0; stopwords[i]; i++)
        if (strcmp(w, stopwords[i]) == 0 || strcmp(w, stems[i]) == 0)
            return true;
    return false;
}

/* stem: a light English suffix stripper, the same on both sides, so that
 * "returns", "returned", "returning" meet, as do "shipping" and "ship". */
static void stem(char *w)
{
    size_t n = strlen(w);
#define ENDS(s) (n > strlen(s) && strcmp(w + n - strlen(s), s) == 0)
    if (n > 4 && ENDS("ies")) {
        w[n - 3] = 'y';
        w[n -= 2] = '\0';
    } else if (n > 4 && (ENDS("ches") || ENDS("shes") || ENDS("sses") || ENDS("xes"))) {
        w[n -= 2] = '\0';
    } else if (n > 3 && w[n - 1] == 's' && !ENDS("ss") && !ENDS("us") && !ENDS("is")) {
        w[--n] = '\0';
    }
    if (n > 5 && ENDS("ing")) {
        w[n -= 3] = '\0';
    } else if (n > 4 && ENDS("ed")) {
        w[n -= 2] = '\0';
    }
    if (n > 3 && w[n - 1] == w[n - 2] && !strchr("lsz", w[n - 1]) && !isdigit((unsigned char)w[n - 1]))
        w[--n] = '\0';
    if (n > 5 && ENDS("ery"))
        w[--n] = '\0';  /* delivery -> deliver */
    if (n > 4 && w[n - 1] == 'e')
        w[--n] = '\0';  /* close, closed -> clos */
#undef ENDS
}

/* next_word: the next word of s (letters and digits; apostrophes are
 * dropped inside words) lowercased and stemmed into w; NULL at the end. */
static const char *next_word(const char *s, const char *end, char *w)
{
    while (s < end && !isalnum((unsigned char)*s))
        s++;
    if (s >= end)
        return NULL;
    size_t n = 0;
    while (s < end && (isalnum((unsigned char)*s) || *s == '\'' || (unsigned char)*s >= 0x80)) {
        if (isalnum((unsigned char)*s) && n < WORD_MAX - 1)
            w[n++] = (char)tolower((unsigned char)*s);
        s++;
    }
    w[n] = '\0';
    stem(w);
    return s;
}

static int terms_add(eng_pool *pool, kb_terms *t, const char *w, int weight)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->w[i], w) == 0) {
            t->tf[i] += weight;
            t->len += weight;
            return 0;
        }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        const char **nw = eng__pool_alloc(pool, cap * sizeof *nw);
        int *ntf = eng__pool_alloc(pool, cap * sizeof *ntf);
        if (!nw || !ntf)
            return ENG_ENOMEM;
        if (t->n) {
            memcpy(nw, t->w, t->n * sizeof *nw);
            memcpy(ntf, t->tf, t->n * sizeof *ntf);
        }
        t->w = nw;
        t->tf = ntf;
        t->cap = cap;
    }
    if (!(t->w[t->n] = eng__pool_strdup(pool, w)))
        return ENG_ENOMEM;
    t->tf[t->n++] = weight;
    t->len += weight;
    return 0;
}

/* Whether the run of non-space bytes [s, e) is an e-mail address or a
 * web address: its parts ("help", "example", "shop") are no words of the
 * section ("do you have shop stool" is no question for the contact
 * section because of "help@example.shop"). */
static bool address_run(const char *s, const char *e)
{
    if (e - s >= 4 && strncasecmp(s, "www.", 4) == 0)
        return true;
    for (const char *p = s; p < e; p++)
        if (*p == '@' || (p + 3 <= e && strncmp(p, "://", 3) == 0))
            return true;
    return false;
}

static int terms_text(eng_pool *pool, kb_terms *t, const char *s, size_t len, int weight)
{
    char w[WORD_MAX];
    const char *end = s + len;
    while (s < end) {
        while (s < end && isspace((unsigned char)*s))
            s++;
        const char *run = s;
        while (s < end && !isspace((unsigned char)*s))
            s++;
        if (s == run || address_run(run, s))
            continue;
        for (const char *p = run; (p = next_word(p, s, w));)
            if (*w && !is_stop(w) && terms_add(pool, t, w, weight) < 0)
                return ENG_ENOMEM;
    }
    return 0;
}

static int terms_tf(const kb_terms *t, const char *w)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->w[i], w) == 0)
            return t->tf[i];
    return 0;
}

/* -------------------------------------------------------------- loading */

typedef struct kb_reader {
    eng_build *b;
    eng_kb *kb;
    const char *path;
    kb_section *cur;
    bool warned;
} kb_reader;

static void kb_error(kb_reader *r, int line, int col, const char *fmt, ...) ENG_PRINTF(4, 5);

static void kb_error(kb_reader *r, int line, int col, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    eng_diags_add(r->b->diags, ENG_DIAG_ERROR, r->path, line, col, "%s", msg);
}

/* An abbreviation's full stop does not end a sentence. */
static bool abbrev_before(const char *start, const char *dot)
{
    static const char *const abbr[] = {"e.g", "i.e", "etc", "approx", "incl", "no", "vs", "Mr", "Mrs", "Dr", "St", NULL};
    for (int i = 0; abbr[i]; i++) {
        size_t n = strlen(abbr[i]);
        if ((size_t)(dot - start) >= n && strncasecmp(dot - n, abbr[i], n) == 0 &&
            (dot - n == start || !isalnum((unsigned char)dot[-(long)n - 1])))
            return true;
    }
    return false;
}

static int add_sentence(kb_reader *r, const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s))
        s++, n--;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (!n)
        return 0;
    kb_section *sec = r->cur;
    if (sec->ns == MAX_SENTENCES) {
        if (!r->warned)
            eng_diags_add(r->b->diags, ENG_DIAG_WARNING, r->path, sec->line, 1,
                          "section \"%s\" has more than %d sentences; the rest are not searched", sec->title,
                          MAX_SENTENCES);
        r->warned = true;
        return 0;
    }
    kb_sentence *st = &sec->s[sec->ns];
    if (!(st->text = eng__pool_strndup(r->b->p->pool, s, n)))
        return ENG_ENOMEM;
    sec->ns++;
    if (terms_text(r->b->p->pool, &st->t, s, n, 1) < 0 || terms_text(r->b->p->pool, &sec->t, s, n, 1) < 0)
        return ENG_ENOMEM;
    return 0;
}

/* split: a paragraph or list item into sentences at ". ", "! ", "? "
 * followed by a capital letter, a digit or a quote. */
static int split(kb_reader *r, const char *s, size_t n)
{
    const char *start = s, *end = s + n;
    for (const char *p = s; p < end; p++) {
        if ((*p == '.' || *p == '!' || *p == '?') && p + 2 < end && p[1] == ' ' &&
            (isupper((unsigned char)p[2]) || isdigit((unsigned char)p[2]) || p[2] == '"') &&
            !(*p == '.' && abbrev_before(start, p))) {
            int rc = add_sentence(r, start, (size_t)(p + 1 - start));
            if (rc)
                return rc;
            start = p + 2;
        }
    }
    return add_sentence(r, start, (size_t)(end - start));
}

/* A list item's marker ("- ", "* ", "+ ", "12. "): its length, else 0. */
static size_t list_marker(const char *s, size_t n)
{
    if (n >= 2 && (s[0] == '-' || s[0] == '*' || s[0] == '+') && s[1] == ' ')
        return 2;
    size_t i = 0;
    while (i < n && isdigit((unsigned char)s[i]))
        i++;
    if (i && i + 1 < n && (s[i] == '.' || s[i] == ')') && s[i + 1] == ' ')
        return i + 2;
    return 0;
}

static int flush(kb_reader *r, eng_buf *para)
{
    int rc = 0;
    if (para->oom)
        return ENG_ENOMEM;
    if (para->len && r->cur)
        rc = split(r, para->data, para->len);
    eng__buf_reset(para);
    return rc;
}

static int close_section(kb_reader *r)
{
    if (r->cur && r->cur->ns == 0) {
        kb_error(r, r->cur->line, 1, "section \"%s\" is empty: write the shop's answer under the heading",
                 r->cur->title);
        return ENG_ECONFIG;
    }
    return 0;
}

static int parse(kb_reader *r, const char *text, size_t len)
{
    eng_pool *pool = r->b->p->pool;
    eng_kb *kb = r->kb;
    int rc = 0, line = 0;
    bool fence = false;
    eng_buf para;
    eng__buf_init(&para);
    for (const char *p = text, *end = text + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        line++;
        const char *s = p;
        size_t n = (size_t)(le - p);
        p = nl ? nl + 1 : end;
        if (n && s[n - 1] == '\r')
            n--;
        size_t ind = 0;
        while (ind < n && (s[ind] == ' ' || s[ind] == '\t'))
            ind++;
        if (n - ind >= 3 && strncmp(s + ind, "```", 3) == 0) {
            fence = !fence;
            continue;
        }
        if (fence)
            continue;
        if (ind == n) { /* blank line ends a paragraph */
            if ((rc = flush(r, &para)) == ENG_ENOMEM)
                goto out;
            continue;
        }
        size_t h = 0;
        while (h < n && s[h] == '#')
            h++;
        if (h && (h == n || s[h] == ' ' || s[h] == '\t')) { /* "#tag" is text */
            if ((rc = flush(r, &para)) == ENG_ENOMEM)
                goto out;
            if (h != 2) /* "# Title" and "### Sub" headings: words only */
            {
                if (h > 2 && r->cur && terms_text(pool, &r->cur->t, s + h, n - h, KEYWORD_WEIGHT) < 0) {
                    rc = ENG_ENOMEM;
                    goto out;
                }
                if (h > 2 && r->cur) {
                    /* kept whole: a one-word question that names the topic */
                    size_t had = r->cur->keys ? strlen(r->cur->keys) : 0;
                    char *k = eng__pool_alloc(pool, had + (n - h) + 2);
                    if (!k) {
                        rc = ENG_ENOMEM;
                        goto out;
                    }
                    if (had)
                        memcpy(k, r->cur->keys, had);
                    k[had] = ' ';
                    memcpy(k + had + 1, s + h, n - h);
                    k[had + 1 + (n - h)] = '\0';
                    r->cur->keys = k;
                }
                continue;
            }
            const char *t = s + h;
            size_t tn = n - h;
            while (tn && isspace((unsigned char)*t))
                t++, tn--;
            while (tn && (isspace((unsigned char)t[tn - 1]) || t[tn - 1] == '#'))
                tn--;
            if (close_section(r) < 0)
                rc = ENG_ECONFIG;
            r->cur = NULL;
            if (!tn) {
                kb_error(r, line, 1, "a \"##\" heading needs a title (e.g. \"## Returns\")");
                rc = ENG_ECONFIG;
                continue;
            }
            for (size_t i = 0; i < kb->n; i++)
                if (strlen(kb->sec[i].title) == tn && strncasecmp(kb->sec[i].title, t, tn) == 0) {
                    kb_error(r, line, (int)(t - s) + 1, "duplicate section \"%.*s\" (first at line %d)", (int)tn, t,
                             kb->sec[i].line);
                    rc = ENG_ECONFIG;
                    goto next_line;
                }
            if (kb->n == MAX_SECTIONS) {
                kb_error(r, line, 1, "more than %d sections", MAX_SECTIONS);
                rc = ENG_ECONFIG;
                goto out;
            }
            r->cur = &kb->sec[kb->n++];
            r->cur->line = line;
            r->warned = false;
            if (!(r->cur->title = eng__pool_strndup(pool, t, tn)) ||
                terms_text(pool, &r->cur->t, t, tn, TITLE_WEIGHT) < 0) {
                rc = ENG_ENOMEM;
                goto out;
            }
            continue;
        }
        if (!r->cur)
            continue; /* an introduction before the first section */
        size_t m = list_marker(s + ind, n - ind);
        if (m) { /* each list item stands alone */
            if ((rc = flush(r, &para)) == ENG_ENOMEM)
                goto out;
            eng__buf_add(&para, s + ind + m, n - ind - m);
            continue;
        }
        if (para.len)
            eng__buf_addc(&para, ' ');
        eng__buf_add(&para, s + ind, n - ind);
    next_line:;
    }
    if (flush(r, &para) == ENG_ENOMEM) {
        rc = ENG_ENOMEM;
        goto out;
    }
    if (close_section(r) < 0)
        rc = ENG_ECONFIG;
    if (!kb->n && rc == 0) {
        kb_error(r, 1, 1, "no sections: start each topic with a \"## \" heading (e.g. \"## Returns\")");
        rc = ENG_ECONFIG;
    }
out:
    eng__buf_free(&para);
    return rc;
}

int eng__kb_load(eng_build *b, int node, eng_kb **out)
{
    const char *rel = eng__yscalar(b->doc, node);
    if (!rel || !*rel) {
        eng__build_error(b, node, "\"knowledge\" must name a markdown file (e.g. knowledge/shop.md)");
        return ENG_ECONFIG;
    }
    const char *path = eng__build_path(b, rel);
    if (!path)
        return ENG_ENOMEM;
    size_t len;
    char *text = eng__read_file(path, &len);
    if (!text) {
        eng__build_error(b, node, "cannot read knowledge file \"%s\": %s", rel, strerror(errno));
        return ENG_ECONFIG;
    }
    int rc = 0;
    eng_kb *kb = eng__pool_alloc(b->p->pool, sizeof *kb);
    if (!kb || !(kb->sec = eng__pool_alloc(b->p->pool, MAX_SECTIONS * sizeof *kb->sec))) {
        rc = ENG_ENOMEM;
        goto out;
    }
    kb->path = path;
    if (!eng_utf8_valid(text, len)) {
        eng_diags_add(b->diags, ENG_DIAG_ERROR, path, 1, 1, "file is not valid UTF-8");
        rc = ENG_ECONFIG;
        goto out;
    }
    kb_reader r = {.b = b, .kb = kb, .path = path};
    rc = parse(&r, text, len);
    if (rc == 0) {
        double tot = 0;
        for (size_t i = 0; i < kb->n; i++)
            tot += kb->sec[i].t.len;
        kb->avglen = kb->n ? tot / (double)kb->n : 1;
        *out = kb;
    }
out:
    eng__free(text);
    return rc;
}

/* ------------------------------------------------------------ retrieval */

/* Query-side synonyms: shoppers' words for the topics shops write about.
 * Each pair adds the second (stemmed) word when the first is asked. */
static const char *const synonyms[][2] = {
    {"refund", "return"},   {"money", "refund"},      {"exchang", "return"},  {"send", "return"},     {"send", "ship"},
    {"ship", "deliver"},    {"deliver", "ship"},      {"postag", "ship"},     {"post", "ship"},
    {"arriv", "deliver"},   {"courier", "deliver"},   {"dispatch", "ship"},   {"parcel", "deliver"},
    {"pay", "payment"},     {"paid", "payment"},      {"card", "payment"},    {"checkout", "payment"},
    {"guarant", "warranty"}, {"broken", "warranty"},  {"faulty", "warranty"}, {"defect", "warranty"},
    {"open", "hour"},       {"clos", "hour"},         {"time", "hour"},
    {"phone", "contact"},   {"call", "contact"},      {"email", "contact"},   {"reach", "contact"},
    {"talk", "contact"},    {"address", "contact"},   {"locat", "address"},   {"country", "region"},
    {"abroad", "international"}, {"worldwid", "international"}, {"overseas", "international"},
    {"cancel", "cancellation"}, {"privacy", "data"},  {"personal", "data"},  {"gift", "card"},
    {"choic", "option"},    {"method", "option"},     {"way", "option"},      {"kind", "option"},
    {"fast", "express"},    {"quick", "express"},     {"rush", "express"},    {"overnight", "express"},
    {"uk", "kingdom"},      {"britain", "kingdom"},   {"england", "kingdom"}, {"scotland", "kingdom"},
    {"wale", "kingdom"},    {"eu", "european"},       {"europ", "european"},  {"usa", "state"},
    /* the Union's members shoppers name most */
    {"ireland", "european"}, {"franc", "european"},   {"germani", "european"}, {"spain", "european"},
    {"itali", "european"},  {"netherland", "european"}, {"holland", "european"}, {"belgium", "european"},
    {"portug", "european"}, {"portugal", "european"}, {"greece", "european"},
    {"germany", "european"}, {"italy", "european"}, {"netherlands", "european"}, {"austria", "european"},  {"poland", "european"}, {"sweden", "european"},
    {"denmark", "european"}, {"finland", "european"}, {"greec", "european"},
    /* American spelling, and other words for paying over time */
    {"installment", "instalment"}, {"monthli", "instalment"}, {"financ", "instalment"},
    {"crypto", "cryptocurr"}, {"internationally", "international"},
    /* "it came broken": it arrived */
    {"came", "arriv"},
    /* "deliver it to my brother": someone else, a recipient */
    {"brother", "recipient"}, {"sister", "recipient"}, {"mum", "recipient"},   {"mom", "recipient"},    {"mother", "recipient"},
    {"dad", "recipient"},      {"father", "recipient"}, {"friend", "recipient"}, {"wife", "recipient"},  {"husband", "recipient"},
    {"son", "recipient"},      {"daughter", "recipient"}, {"grandma", "recipient"}, {"grandpa", "recipient"},
    {"girlfriend", "recipient"}, {"boyfriend", "recipient"}, {"partner", "recipient"}, {"colleagu", "recipient"},
};

typedef struct qterm {
    char w[WORD_MAX];
    double weight;
    int from; /* a synonym: the index of the shopper's word it stands for; else -1 */
} qterm;

/* The terms of `q` appended to out[n..MAX_TERMS); each word weighs
 * `weight`, each of its synonyms half that. Returns the new count. */
static size_t query_terms(const char *q, qterm *out, size_t n, double weight)
{
    char w[WORD_MAX];
    const char *end = q + strlen(q);
    /* "can I get it by friday", "before christmas": a day after "by" or
     * "before" asks when a delivery comes (not when the shop opens), and
     * is read as that word */
    static const char *const days[] = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                                       "sunday", "weekend", "tomorrow", "christma", "birthday", "holiday",
                                       "next", NULL};
    bool after_by = false;
    while ((q = next_word(q, end, w)) && n < MAX_TERMS) {
        bool by = strcmp(w, "by") == 0 || strcmp(w, "befor") == 0 || strcmp(w, "before") == 0;
        bool deadline = false;
        for (size_t i = 0; after_by && days[i] && !deadline; i++)
            deadline = strcmp(w, days[i]) == 0;
        /* "by the 15th": a day of the month */
        size_t digits = strspn(w, "0123456789");
        if (after_by && digits && digits < strlen(w) &&
            (strcmp(w + digits, "st") == 0 || strcmp(w + digits, "nd") == 0 || strcmp(w + digits, "rd") == 0 ||
             strcmp(w + digits, "th") == 0))
            deadline = true;
        /* "by 5pm tomorrow", "by noon on friday": a time of day keeps the
         * day to come a deadline */
        bool hour = after_by && ((digits && (strcmp(w + digits, "pm") == 0 || strcmp(w + digits, "am") == 0 ||
                                             !w[digits])) ||
                                 strcmp(w, "noon") == 0 || strcmp(w, "pm") == 0 || strcmp(w, "am") == 0 ||
                                 strcmp(w, "on") == 0);
        after_by = by || (after_by && !deadline && (hour || strcmp(w, "the") == 0 || strcmp(w, "thi") == 0 ||
                                                     strcmp(w, "this") == 0 || strcmp(w, "next") == 0));
        if (deadline)
            snprintf(w, sizeof w, "deliver");
        /* a number names no topic: "order #1" is not the warranty's "1 year" */
        if (!*w || is_stop(w) || strspn(w, "0123456789") == strlen(w))
            continue;
        const char *add[1 + sizeof synonyms / sizeof synonyms[0]];
        size_t na = 0;
        add[na++] = w;
        for (size_t i = 0; i < sizeof synonyms / sizeof synonyms[0]; i++)
            if (strcmp(w, synonyms[i][0]) == 0)
                add[na++] = synonyms[i][1];
        int own = -1;
        for (size_t a = 0; a < na && n < MAX_TERMS; a++) {
            bool dup = false;
            for (size_t k = 0; k < n && !dup; k++) {
                dup = strcmp(out[k].w, add[a]) == 0;
                /* "gift card": "card" came first as the synonym of
                 * "gift"; said too, it is the shopper's own word */
                if (dup && !a && out[k].from >= 0) {
                    out[k].from = -1;
                    out[k].weight = weight;
                    own = (int)k;
                }
            }
            if (dup)
                continue;
            snprintf(out[n].w, sizeof out[n].w, "%s", add[a]);
            out[n].from = a ? own : -1;
            if (!a)
                own = (int)n;
            out[n++].weight = a ? weight / 2 : weight; /* a synonym counts half */
        }
    }
    return n;
}

/* The words of an intent's name ("check_payment_methods" -> "payment
 * methods"), into out[0..cap): what the shopper asked about, beside the
 * words they used. Verbs that every support intent starts with say
 * nothing about the topic. */
static void topic_words(const char *topic, char *out, size_t cap)
{
    static const char *const generic[] = {"check", "get", "know", "ask", "see", "view", "set", "place", "track",
                                          "about", "contact", "make", NULL};
    size_t o = 0;
    out[0] = '\0';
    for (const char *p = topic ? topic : ""; *p;) {
        while (*p == '_' || *p == ' ')
            p++;
        size_t k = strcspn(p, "_ ");
        bool skip = k == 0;
        for (size_t i = 0; generic[i] && !skip; i++)
            skip = strlen(generic[i]) == k && strncmp(generic[i], p, k) == 0;
        if (!skip && o + k + 2 < cap) {
            memcpy(out + o, p, k);
            o += k;
            out[o++] = ' ';
            out[o] = '\0';
        }
        p += k;
    }
}

static double idf(const eng_kb *kb, const char *w)
{
    int df = 0;
    for (size_t i = 0; i < kb->n; i++)
        df += terms_tf(&kb->sec[i].t, w) > 0;
    if (!df)
        return 0;
    return log(1.0 + ((double)kb->n - df + 0.5) / (df + 0.5));
}

static bool in_words(const char *text, const char *word)
{
    char w[WORD_MAX];
    for (const char *p = text, *e = p + (text ? strlen(text) : 0); text && (p = next_word(p, e, w));)
        if (strcmp(w, word) == 0)
            return true;
    return false;
}

static bool in_title(const kb_section *s, const char *word) { return in_words(s->title, word); }

/* Whether every word of the section's heading (stop words aside) is
 * one of the shopper's own words of the query. */
static bool title_said(const kb_section *s, const qterm *q, size_t nq)
{
    char w[WORD_MAX];
    size_t words = 0;
    for (const char *p = s->title, *e = p + strlen(p); (p = next_word(p, e, w));) {
        if (!*w || is_stop(w))
            continue;
        bool said = false;
        for (size_t k = 0; k < nq && !said; k++)
            said = q[k].weight >= 1.0 && q[k].from < 0 && strcmp(q[k].w, w) == 0;
        if (!said)
            return false;
        words++;
    }
    return words > 0;
}

/* Sections scoring below this share only common words with the query.
 * BM25 over sections of a shop file: one rare word matched scores about
 * 1.5-3, a stop-word-only overlap well under 1. */
#define KB_THRESHOLD 1.2

bool eng__kb_answers(const eng_kb *kb, const char *query, const char *topic, bool strict, eng_kb_hit *hit)
{
    hit->title = NULL;
    hit->score = 0;
    hit->matched = hit->words = 0;
    hit->named = false;
    if (!kb || !eng__kb_ask(kb, query, topic, hit))
        return false;
    /* strictly: most of the shopper's words, two at least, or the one
     * word asked is the section's topic ("any deals?") */
    return hit->score >= KB_THRESHOLD && hit->matched > 0 &&
           (!strict || (hit->matched >= 2 && hit->matched * 2 >= hit->words) ||
            (hit->words == 1 && hit->matched == 1 && hit->named));
}

/* The idf of both words of every pair of consecutive query words (the
 * shopper's own, synonyms left out) that some sentence of `s` holds next
 * to each other, in that order. */
static double phrase_bonus(const kb_section *s, const qterm *q, const double *qidf, size_t nq)
{
    double bonus = 0;
    size_t prev = SIZE_MAX;
    for (size_t k = 0; k < nq; k++) {
        if (q[k].weight < 1.0)
            continue;
        if (prev != SIZE_MAX) {
            bool found = false;
            for (size_t j = 0; j < s->ns && !found; j++) {
                char a[WORD_MAX], b[WORD_MAX];
                const char *p = s->s[j].text, *e = p + strlen(p);
                if (!(p = next_word(p, e, a)))
                    continue;
                while (!found && (p = next_word(p, e, b))) {
                    found = strcmp(a, q[prev].w) == 0 && strcmp(b, q[k].w) == 0;
                    memcpy(a, b, sizeof a);
                }
            }
            if (found)
                bonus += qidf[prev] + qidf[k];
        }
        prev = k;
    }
    return bonus;
}

int eng__kb_ask(const eng_kb *kb, const char *query, const char *topic, eng_kb_hit *hit)
{
    memset(hit, 0, sizeof *hit);
    if (!kb || !query)
        return 0;
    qterm q[MAX_TERMS];
    double qidf[MAX_TERMS];
    size_t nq = query_terms(query, q, 0, 1.0), ntopic = nq;
    if (topic && *topic) {
        /* the topic's words weigh less than the shopper's own and never
         * count as matched words: they break ties ("what payment options
         * do you have" is about payment, not shipping options) */
        char tw[128];
        topic_words(topic, tw, sizeof tw);
        ntopic = nq < MAX_TERMS - 4 ? nq : MAX_TERMS - 4;
        nq = query_terms(tw, q, ntopic, TOPIC_WEIGHT);
    }
    for (size_t k = 0; k < nq; k++)
        qidf[k] = idf(kb, q[k].w);
    size_t nprimary = 0;
    for (size_t k = 0; k < nq; k++)
        nprimary += q[k].weight >= 1.0;
    const double k1 = 1.2, bb = 0.75;
    double best = 0;
    int bi = -1, bmatched = 0;
    bool bnamed = false;
    for (size_t i = 0; i < kb->n; i++) {
        const kb_section *s = &kb->sec[i];
        double sc = 0;
        int matched = 0;
        bool named = false;
        for (size_t k = 0; k < nq; k++) {
            int tf = terms_tf(&s->t, q[k].w);
            if (!tf)
                continue;
            matched += q[k].weight >= 1.0;
            named |= q[k].weight >= 1.0 && (in_title(s, q[k].w) || in_words(s->keys, q[k].w));
            sc += q[k].weight * qidf[k] * (tf * (k1 + 1)) / (tf + k1 * (1 - bb + bb * s->t.len / kb->avglen));
            /* a word of the heading names the topic: more than BM25's
             * saturated term frequency says */
            if (tf >= TITLE_WEIGHT && in_title(s, q[k].w))
                sc += q[k].weight * qidf[k];
        }
        /* two of the shopper's words side by side in a sentence, as they
         * wrote them: "american express" is the payment network, not the
         * express delivery */
        if (matched >= 2)
            sc += phrase_bonus(s, q, qidf, nq);
        /* coordination (as Lucene's coord): a section that holds more of
         * the shopper's own words beats one that repeats a single word */
        sc *= (0.25 + matched) / (0.25 + (double)nprimary);
        /* the whole heading said ("how do gift cards work"): that topic,
         * over a section that only mentions its words ("gift cards can be
         * combined with any other payment method ... works") */
        if (title_said(s, q, nq))
            sc *= 1.5;
        /* a section that holds a word of the shopper's beats one that
         * holds only words of the topic */
        if ((matched > 0) > (bmatched > 0) || ((matched > 0) == (bmatched > 0) && sc > best)) {
            best = sc;
            bi = (int)i;
            bmatched = matched;
            bnamed = named;
        }
    }
    if (bi < 0)
        return 0;
    const kb_section *s = &kb->sec[bi];
    hit->title = s->title;
    hit->line = s->line;
    hit->score = best;
    hit->matched = bmatched;
    hit->named = bnamed;
    hit->words = (int)nprimary;
    /* the topic's words chose the section, not its sentences */
    for (size_t k = ntopic; k < nq; k++)
        qidf[k] = 0;
    /* the section's sentences by the query words they hold, leaving out
     * the words of the heading: "which payment methods" asks for the
     * section's gist, not for the sentence that repeats "payment method" */
    char w[WORD_MAX];
    for (const char *p = s->title, *e = p + strlen(p); (p = next_word(p, e, w));) {
        for (size_t k = 0; k < nq; k++)
            if (strcmp(q[k].w, w) == 0)
                qidf[k] = 0;
    }
    /* a shopper's word no sentence holds ("portugal", named only in the
     * keyword line) is stood for by its synonym ("european") in full */
    double sw[MAX_TERMS];
    for (size_t k = 0; k < nq; k++) {
        sw[k] = q[k].weight;
        int f = q[k].from;
        bool held = false;
        for (size_t j = 0; f >= 0 && j < s->ns && !held; j++)
            held = terms_tf(&s->s[j].t, q[f].w) != 0;
        if (f >= 0 && !held)
            sw[k] = q[f].weight;
    }
    double ss[MAX_SENTENCES];
    double top = 0;
    for (size_t j = 0; j < s->ns; j++) {
        ss[j] = 0;
        for (size_t k = 0; k < nq; k++)
            if (terms_tf(&s->s[j].t, q[k].w))
                ss[j] += sw[k] * qidf[k];
        ss[j] *= j == 0 ? 1.2 : j == 1 ? 1.1 : 1.0; /* a section opens with its gist */
        if (ss[j] > top)
            top = ss[j];
    }
    bool pick[MAX_SENTENCES] = {false};
    if (top <= 0) {
        /* only the heading matched: the section's opening */
        for (size_t j = 0; j < s->ns && j < 2; j++)
            pick[j] = true;
    } else {
        /* the best sentence, and up to two more that score near it */
        int taken = 0;
        for (int round = 0; round < 3; round++) {
            int bj = -1;
            for (size_t j = 0; j < s->ns; j++)
                if (!pick[j] && ss[j] > 0 && (bj < 0 || ss[j] > ss[bj]))
                    bj = (int)j;
            if (bj < 0 || (taken && ss[bj] < 0.5 * top))
                break;
            pick[bj] = true;
            taken++;
        }
    }
    size_t o = 0;
    for (size_t j = 0; j < s->ns; j++) {
        if (!pick[j])
            continue;
        size_t n = strlen(s->s[j].text);
        if (o + n + 2 >= sizeof hit->text)
            break;
        if (o)
            hit->text[o++] = ' ';
        memcpy(hit->text + o, s->s[j].text, n);
        o += n;
    }
    hit->text[o] = '\0';
    return 1;
}

int eng_pipeline_knowledge_ask(const eng_pipeline *p, const char *question, char **title, char **text)
{
    if (!p || !question || !title || !text)
        return ENG_EINVAL;
    *title = *text = NULL;
    eng_kb_hit hit;
    if (!p->knowledge || !eng__kb_answers(p->knowledge, question, NULL, false, &hit) || !hit.title)
        return 0;
    *title = strdup(hit.title);
    *text = strdup(hit.text);
    if (!*title || !*text) {
        free(*title);
        free(*text);
        *title = *text = NULL;
        return ENG_ENOMEM;
    }
    return 1;
}

const char *eng_pipeline_knowledge_file(const eng_pipeline *p)
{
    return p && p->knowledge ? eng__kb_path(p->knowledge) : NULL;
}
