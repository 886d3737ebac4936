/* engine/stages/agent.h — the `agent` stage's options and the four
 * agents it dispatches to (agent_product.c, agent_cart.c, agent_order.c,
 * agent_support.c). Internal to engine/stages/. */
#ifndef AISLE_AGENT_H
#define AISLE_AGENT_H

#include "../commerce.h"

typedef struct agent_opts {
    const char *agent;
    int rules_node;
    long page_size;
    bool confirm_orders;
    eng_rules *rules;      /* the agent's own rules, after the pipeline's */
} agent_opts;

typedef eng_result (*agent_fn)(const eng_stage *st, eng_turn *t, const agent_opts *o);

eng_result eng__agent_product(const eng_stage *st, eng_turn *t, const agent_opts *o);
eng_result eng__agent_cart(const eng_stage *st, eng_turn *t, const agent_opts *o);
eng_result eng__agent_order(const eng_stage *st, eng_turn *t, const agent_opts *o);
eng_result eng__agent_support(const eng_stage *st, eng_turn *t, const agent_opts *o);

/* Rules helpers over the pipeline's rules then the agent's own. */
void eng__agent_price(const eng_stage *st, eng_turn *t, const agent_opts *o, json_object *cards);
json_object *eng__agent_veto(const eng_stage *st, eng_turn *t, const agent_opts *o, const char *hook,
                             json_object *action);
/* eng__agent_intent: the turn's intent name ("" when none). */
const char *eng__agent_intent(eng_turn *t);
/* eng__agent_cart_refresh: the priced cart into ctx.cart. */
int eng__agent_cart_refresh(const eng_stage *st, eng_turn *t);

#endif
