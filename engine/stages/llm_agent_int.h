/* engine/stages/llm_agent_int.h — the llm_agent stage's tools as the turn
 * runs them (llm_agent_tools.c), shared with the stage (llm_agent.c).
 * Internal to engine/stages/. */
#ifndef AISLE_LLM_AGENT_INT_H
#define AISLE_LLM_AGENT_INT_H

#include "agent_int.h"

/* What the tools did in one turn: the stage reads it to answer, to cut
 * an answer short, and for the trace. */
typedef struct agent_work {
    eng_turn *t;
    int cart_changes;          /* cart or promotion changes that went through */
    bool checkout;             /* request_checkout was accepted: the core asks */
    json_object *cards;        /* product cards to show (owned), or NULL */
    eng_buf done;              /* one sentence per thing done, for a reply
                                  the loop had to cut short */
} agent_work;

/* eng__agent_tool_run: run the shop tool `tool` (an agent tool of
 * engine/tools.c, arguments already checked against its schema) for the
 * turn's shopper through the commerce core.  Returns the tool's result
 * as a new JSON object (caller puts it); *error is set when it is a
 * refusal {"error": code, "message": ...} the model should read and act
 * on.  `n` numbers the turn's tool calls: cart changes get the
 * idempotency key of the turn's n-th action, so a replayed message
 * changes nothing twice.  Blocks on the store. */
json_object *eng__agent_tool_run(agent_work *w, const eng_tool *tool, json_object *args, bool *error);

/* eng__agent_tool_error: a refusal {"error": code, "message": text}. */
json_object *eng__agent_tool_error(const char *code, const char *fmt, ...) ENG_PRINTF(2, 3);

#endif
