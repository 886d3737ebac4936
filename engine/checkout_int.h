/* engine/checkout_int.h — the shop's checkout settings (the pipeline's
 * `checkout:` section) and the steps of a checkout that shop.c runs:
 * address, delivery, payment card, confirmation e-mail.  Internal to
 * engine/. */
#ifndef AISLE_CHECKOUT_INT_H
#define AISLE_CHECKOUT_INT_H

#include <stdbool.h>
#include "pipe_int.h"

typedef struct eng_delivery_opt {
    const char *id, *name, *days;
    int64_t price_cents;
    int64_t free_over_cents;    /* < 0: never free */
    char (*countries)[3];       /* where it delivers (ISO 3166-1 alpha-2,
                                   upper case); NULL: everywhere */
    size_t ncountries;
} eng_delivery_opt;

typedef struct eng_checkout_cfg {
    const char *currency;       /* "USD" */
    const char *payment;        /* provider name, "test" */
    eng_delivery_opt *opts;
    size_t nopts;
    struct eng_tmpl *email;     /* the confirmation e-mail template */
    bool no_po_boxes;           /* refuse PO boxes and military (APO/FPO/DPO) addresses */
} eng_checkout_cfg;

/* eng__checkout_load: parse the `checkout:` mapping at `node` into a
 * config allocated from the pipeline pool; every problem is an error at
 * its file:line:column.  0, ENG_ECONFIG or ENG_ENOMEM. */
int eng__checkout_load(eng_build *b, int node, eng_checkout_cfg **out);

/* eng__checkout_defaults: the settings of a pipeline without a
 * `checkout:` section (no delivery options, the test provider, the
 * built-in e-mail template).  Never NULL. */
const eng_checkout_cfg *eng__checkout_cfg(const eng_pipeline *p);

/* eng__address_clean: a validated copy of `in` (new object) or NULL with
 * `field` and `why` set. */
json_object *eng__address_clean(json_object *in, char *field, size_t fn, char *why, size_t wn);

/* eng__address_po_box: the address's street lines name a PO box ("PO Box
 * 123", "P.O. Box", "Post Office Box") or a military post office (APO,
 * FPO, DPO). */
bool eng__address_po_box(json_object *a);

/* eng__address_refused: why the shop's settings refuse address `a` (a
 * PO box when `no_po_boxes`), into why[0..wn) with the field, or false. */
bool eng__address_refused(const eng_checkout_cfg *c, json_object *a, char *field, size_t fn, char *why, size_t wn);

/* eng__address_parse: the address parts a chat message states, as a
 * new object with any of name, line1, line2, city, region, postalCode,
 * country (a two-letter code; common names are mapped), phone; empty
 * when none.  `wanted`: the one field just asked for, so that a bare
 * answer ("Leeds") fills it; NULL when none.  Digit runs of 12 or more
 * (a card number) are never read.  Proposes only: nothing is checked
 * here beyond the shape, eng__address_clean checks the rest. */
json_object *eng__address_parse(const char *text, const char *wanted);
/* eng__address_apply_number: a house number said alone ("the house
 * number is 15": the parse's houseNumber) put in front of a's line1 in
 * place of its own, and houseNumber dropped; nothing else changes. */
void eng__address_apply_number(json_object *a);
/* eng__address_missing: the first required field `a` lacks (name,
 * line1, city, postalCode, country), NULL when complete. */
const char *eng__address_missing(json_object *a);

/* eng__delivery_price: the option's price in cents for goods worth
 * `goods_cents` (0 from its free threshold). */
int64_t eng__delivery_price(const eng_delivery_opt *o, int64_t goods_cents);
/* eng__delivery_json: {id, name, days, price, basePrice, freeOver?} */
json_object *eng__delivery_json(const eng_delivery_opt *o, int64_t goods_cents);
/* eng__delivery_find: the option `id` (NULL: the first), or NULL.  Knows
 * nothing of where it goes: a checkout uses eng__delivery_choose. */
const eng_delivery_opt *eng__delivery_find(const eng_checkout_cfg *c, const char *id);

/* Where the options deliver.  `country` is an address's two-letter code
 * (any case; "UK" is GB); NULL means not known yet, which every option
 * serves.  These are the one place the destination is matched: the chat
 * checkout, the order, the REST options, ACP's fulfillment options and
 * the support agent's free-delivery hint all go through them. */
/* eng__delivery_serves: whether option `o` delivers to `country`. */
bool eng__delivery_serves(const eng_delivery_opt *o, const char *country);
/* eng__delivery_for: the options of `c` that deliver to `country`, in the
 * settings' order, into out[0..cap); their number. */
size_t eng__delivery_for(const eng_checkout_cfg *c, const char *country, const eng_delivery_opt **out, size_t cap);
/* eng__delivery_choose: the option a checkout to `country` uses: `id`
 * (NULL: the first option that delivers there).  0 with *out set (NULL
 * only when the shop has no options at all and `id` is NULL), or -1 with
 * `field` and a reason a shopper can read in `why`: "address.country"
 * when no option delivers there ("we can't deliver to Australia yet (we
 * deliver to ...)"), "delivery" when `id` is no option or does not
 * deliver there ("Express delivery does not deliver to Portugal; ...").
 * Never falls back to another option than the one asked for. */
int eng__delivery_choose(const eng_checkout_cfg *c, const char *country, const char *id,
                         const eng_delivery_opt **out, char *field, size_t fn, char *why, size_t wn);
/* eng__delivery_countries_json: the option's countries as a new array,
 * NULL when it delivers everywhere. */
json_object *eng__delivery_countries_json(const eng_delivery_opt *o);

/* engine/country.c: ISO 3166-1 alpha-2.  eng__country_norm: `in` as an
 * upper-case code in out ("uk" is GB); false when it is no country's.
 * eng__country_name: "Australia", "the United Kingdom"; NULL when no
 * country's.  eng__country_in_eu: whether upper-case `code` is one of the
 * European Union's members (eng__country_eu_count of them). */
bool eng__country_norm(const char *in, char out[3]);
const char *eng__country_name(const char *code);
bool eng__country_in_eu(const char *code);
size_t eng__country_eu_count(void);

/* A card as the shopper typed it, checked. */
typedef struct eng_card {
    char number[20];            /* digits only */
    int exp_month, exp_year;
    char cvc[5];
    char brand[16], last4[5];
} eng_card;

/* eng__card_check: parse {cardNumber, expiry "MM/YY" or "MM/YYYY", cvc}
 * (spaces and dashes in the number are ignored) at time `now_s`; 0, or -1
 * with field/why set. */
int eng__card_check(json_object *payment, int64_t now_s, eng_card *c, char *field, size_t fn,
                    char *why, size_t wn);

/* eng__payment_keep: keep card `c` with the shop's provider (its save
 * op) and as the account's saved card {provider, brand, last4, token}.
 * 0 with out->approved set (out->reason when refused), or a negative
 * code (the provider keeps no cards, or failed; the store failed). */
int eng__payment_keep(struct store *s, int64_t uid, const eng_checkout_cfg *cfg, const eng_card *c,
                      eng_pay_result *out);
/* eng__payment_saved: the account's saved card (new object) or NULL. */
json_object *eng__payment_saved(struct store *s, int64_t uid);

/* eng__checkout_email: render the confirmation e-mail for the order
 * document `doc` (the pricing kept with the order). New string
 * (eng__free) or NULL. */
char *eng__checkout_email(const eng_checkout_cfg *c, json_object *doc);

/* eng__pay_count: one provider charge and how it answered;
 * eng__pay_refund: prov->refund, counted.  Read by eng_pay_stats_get. */
enum { ENG__PAY_APPROVED, ENG__PAY_DECLINED, ENG__PAY_ERROR };
void eng__pay_count(int outcome);
/* eng__pay_count_cancel_refund: one cancelled order's refund given back */
void eng__pay_count_cancel_refund(void);
int eng__pay_refund(const eng_pay_provider *p, const char *reference, int64_t amount_cents);

#endif
