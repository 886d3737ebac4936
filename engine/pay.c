/* engine/pay.c — payment providers behind one small vtable, and the
 * built-in "test" provider.  The test provider reaches nothing outside the
 * process and moves no money: its answer depends on the card number only,
 * and its reference is derived from the idempotency key and the amount,
 * so the same key always gets the same charge back (a retry, a concurrent
 * duplicate, a restart).  A real provider keeps that promise server-side
 * with the same key.  The registry is a small fixed table under a lock. */
#include "eng_int.h"
#include "checkout_int.h"
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define PROVIDERS_MAX 16

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static const eng_pay_provider *providers[PROVIDERS_MAX];
static size_t nproviders;

int eng_pay_luhn_ok(const char *d)
{
    size_t n = d ? strlen(d) : 0;
    if (n == 0)
        return 0;
    int sum = 0;
    for (size_t i = 0; i < n; i++) {
        char c = d[n - 1 - i];
        if (c < '0' || c > '9')
            return 0;
        int v = c - '0';
        if (i % 2 == 1) {
            v *= 2;
            if (v > 9)
                v -= 9;
        }
        sum += v;
    }
    return sum % 10 == 0;
}

const char *eng_pay_card_brand(const char *d)
{
    if (!d)
        return "card";
    if (d[0] == '4')
        return "visa";
    if ((d[0] == '5' && d[1] >= '1' && d[1] <= '5') || (d[0] == '2' && d[1] >= '2' && d[1] <= '7'))
        return "mastercard";
    if (d[0] == '3' && (d[1] == '4' || d[1] == '7'))
        return "amex";
    if (strncmp(d, "6011", 4) == 0 || (d[0] == '6' && d[1] == '5'))
        return "discover";
    return "card";
}

/* FNV-1a: a stable reference from the key and amount, no state kept */
static uint64_t fnv(const char *s, uint64_t h)
{
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* the test cards that decline; a reason for the shopper, else NULL */
static const char *test_declines(const char *number)
{
    if (strcmp(number, "4000000000000002") == 0)
        return "the card was declined";
    if (strcmp(number, "4000000000009995") == 0)
        return "the card has insufficient funds";
    return NULL;
}

static int test_charge(const eng_pay_provider *p, const eng_pay_req *req, eng_pay_result *out)
{
    (void)p;
    memset(out, 0, sizeof *out);
    if (!req || (!req->card_number && !req->token) || req->amount_cents < 0)
        return ENG_EINVAL;
    char amt[32];
    snprintf(amt, sizeof amt, "%lld", (long long)req->amount_cents);
    uint64_t h = fnv(amt, fnv(req->idempotency_key, 1469598103934665603ULL));
    snprintf(out->reference, sizeof out->reference, "test_ch_%016llx", (unsigned long long)h);
    if (req->token) {   /* a saved card: only tokens this provider made */
        out->approved = strncmp(req->token, "test_tok_", 9) == 0;
        if (!out->approved)
            snprintf(out->reason, sizeof out->reason, "the saved card is not known: please enter it again");
        return 0;
    }
    const char *no = test_declines(req->card_number);
    if (no) {
        snprintf(out->reason, sizeof out->reason, "%s", no);
        return 0;
    }
    out->approved = 1;
    return 0;
}

static int test_save(const eng_pay_provider *p, const eng_pay_req *req, eng_pay_result *out)
{
    (void)p;
    memset(out, 0, sizeof *out);
    if (!req || !req->card_number)
        return ENG_EINVAL;
    const char *no = test_declines(req->card_number);
    if (no) {
        snprintf(out->reason, sizeof out->reason, "%s", no);
        return 0;
    }
    /* random: nothing of the number but what the shop shows anyway */
    char rnd[33];
    eng__random_hex(rnd, 16);
    snprintf(out->token, sizeof out->token, "test_tok_%s", rnd);
    out->approved = 1;
    return 0;
}

static int test_refund(const eng_pay_provider *p, const char *reference, int64_t amount_cents)
{
    (void)p;
    (void)amount_cents;
    return reference && strncmp(reference, "test_ch_", 8) == 0 ? 0 : ENG_EINVAL;
}

static const eng_pay_provider test_provider = {"test", test_charge, test_refund, test_save, NULL};

static eng_pay_stats stats;   /* under mu */

void eng__pay_count(int outcome)
{
    pthread_mutex_lock(&mu);
    if (outcome == ENG__PAY_APPROVED)
        stats.approved++;
    else if (outcome == ENG__PAY_DECLINED)
        stats.declined++;
    else
        stats.errors++;
    pthread_mutex_unlock(&mu);
}

void eng__pay_count_cancel_refund(void)
{
    pthread_mutex_lock(&mu);
    stats.cancel_refunds++;
    pthread_mutex_unlock(&mu);
}

int eng__pay_refund(const eng_pay_provider *p, const char *reference, int64_t amount_cents)
{
    pthread_mutex_lock(&mu);
    stats.refunds++;
    pthread_mutex_unlock(&mu);
    return p->refund(p, reference, amount_cents);
}

void eng_pay_stats_get(eng_pay_stats *out)
{
    pthread_mutex_lock(&mu);
    *out = stats;
    pthread_mutex_unlock(&mu);
}

int eng_pay_register(const eng_pay_provider *p)
{
    if (!p || !p->name || !*p->name || !p->charge || !p->refund)
        return ENG_EINVAL;
    int rc = 0;
    pthread_mutex_lock(&mu);
    size_t i = 0;
    while (i < nproviders && strcmp(providers[i]->name, p->name) != 0)
        i++;
    if (i < nproviders)
        providers[i] = p;
    else if (nproviders < PROVIDERS_MAX)
        providers[nproviders++] = p;
    else
        rc = ENG_ENOMEM;
    pthread_mutex_unlock(&mu);
    return rc;
}

const eng_pay_provider *eng_pay_find(const char *name)
{
    if (!name)
        return NULL;
    const eng_pay_provider *found = NULL;
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < nproviders && !found; i++)
        if (strcmp(providers[i]->name, name) == 0)
            found = providers[i];
    pthread_mutex_unlock(&mu);
    if (!found && strcmp(name, "test") == 0)
        found = &test_provider;
    return found;
}
