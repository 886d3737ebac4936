/* engine/stages/agent_support.c — the support agent: FAQ topics (the
 * answers live in the formatter's templates), returns and refunds, and
 * hand-off to a person, recorded as an event (an action and an audit
 * record) so the support team sees who asked and why. */
#include "agent.h"
#include <string.h>

/* Intents that mean "let me talk to a person". */
static const char *const handoff[] = {"contact_human_agent", "complaint", NULL};

eng_result eng__agent_support(const eng_stage *st, eng_turn *t, const agent_opts *o)
{
    (void)st;
    (void)o;
    const char *intent = eng__agent_intent(t);
    eng__set_var(t, "topic", json_object_new_string(intent));
    for (size_t i = 0; handoff[i]; i++) {
        if (strcmp(intent, handoff[i]) != 0)
            continue;
        json_object *a = json_object_new_object();
        json_object_object_add(a, "reason", json_object_new_string(intent));
        json_object_object_add(a, "text", json_object_new_string(eng__json_str(t->ctx, "message.text", "")));
        json_object *act = eng__action_add(t, "support.handoff", a);
        eng__set_var(t, "handoff", json_object_new_boolean(1));
        eng__set_var(t, "ticket", json_object_get(eng__json_path(act, "key")));
        eng__turn_note(t, "hand-off to a person (%s)", intent);
        return ENG_R_OK;
    }
    eng__turn_note(t, "topic %s", intent);
    return ENG_R_OK;
}
