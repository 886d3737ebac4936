/* engine/stages/registry.c — the table of stage types a pipeline may
 * name in `type:`. Adding a stage type is one file and one line here. */
#include "engine/pipe_int.h"
#include <string.h>

static const eng_stage_type *const types[] = {
    &eng__stage_classifier,
    &eng__stage_router,
    &eng__stage_formatter,
    &eng__stage_lua,
    &eng__stage_entities,
    &eng__stage_context,
    &eng__stage_agent,
    &eng__stage_action,
    &eng__stage_llm_agent,
    NULL,
};

const eng_stage_type *const *eng__stage_types(void) { return types; }

const eng_stage_type *eng__stage_type(const char *name)
{
    for (size_t i = 0; types[i]; i++)
        if (strcmp(types[i]->name, name) == 0)
            return types[i];
    return NULL;
}
