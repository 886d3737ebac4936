/* engine/stages/agent.c — the `agent` stage: one of the four commerce
 * agents (product, cart, order, support) chosen by `agent:`, with the
 * pipeline's business rules plus the agent's own `rules:`. Each agent
 * reads the intent, entities and session, asks the stores, and writes
 * results, cards and actions; the `action` stage then carries actions
 * out exactly once. */
#include "agent.h"
#include <stddef.h>
#include <string.h>

static const eng_field fields[] = {
    {"agent", ENG_F_STR, true, offsetof(agent_opts, agent), NULL, 0, 0, "product, cart, order or support"},
    {"rules", ENG_F_NODE, false, offsetof(agent_opts, rules_node), NULL, 0, 0,
     "Lua rules files for this agent, applied after the pipeline's"},
    {"page_size", ENG_F_INT, false, offsetof(agent_opts, page_size), "5", 1, 50, "product cards per answer"},
    {"confirm_orders", ENG_F_BOOL, false, offsetof(agent_opts, confirm_orders), "true", 0, 0,
     "ask the shopper to confirm before placing an order"},
    {NULL, 0, false, 0, NULL, 0, 0, NULL},
};

static const struct {
    const char *name;
    agent_fn fn;
} agents[] = {
    {"product", eng__agent_product},
    {"cart", eng__agent_cart},
    {"order", eng__agent_order},
    {"support", eng__agent_support},
};

static int create(eng_stage *st, eng_build *b)
{
    agent_opts *o = st->opts;
    for (size_t i = 0; i < sizeof agents / sizeof *agents; i++)
        if (strcmp(o->agent, agents[i].name) == 0) {
            st->data = (void *)agents[i].fn;
            return o->rules_node ? eng__rules_load(b, o->rules_node, &o->rules) : 0;
        }
    eng__build_error(b, eng__build_key_node(b, "agent"),
                     "unknown agent \"%s\" (use product, cart, order or support)", o->agent);
    return ENG_ECONFIG;
}

static eng_result run(const eng_stage *st, eng_turn *t)
{
    agent_fn fn = (agent_fn)st->data;
    return fn(st, t, st->opts);
}

void eng__agent_price(const eng_stage *st, eng_turn *t, const agent_opts *o, json_object *cards)
{
    eng__rules_price(st->pipe->rules, t, cards);
    if (o->rules)
        eng__rules_price(o->rules, t, cards);
}

json_object *eng__agent_veto(const eng_stage *st, eng_turn *t, const agent_opts *o, const char *hook,
                             json_object *action)
{
    json_object *v = eng__rules_veto(st->pipe->rules, t, hook, action);
    if (!v && o->rules)
        v = eng__rules_veto(o->rules, t, hook, action);
    return v;
}

const char *eng__agent_intent(eng_turn *t) { return eng__json_str(t->ctx, "intent.name", ""); }

int eng__agent_cart_refresh(const eng_stage *st, eng_turn *t) { return eng__cart_refresh(t, st->pipe->rules); }

const eng_stage_type eng__stage_agent = {
    .name = "agent",
    .doc = "a commerce agent: product, cart, order or support",
    .fields = fields,
    .opts_size = sizeof(agent_opts),
    .create = create,
    .run = run,
};
