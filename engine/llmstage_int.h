/* engine/llmstage_int.h — helpers for stage options that call an LLM and fall
 * back to the built-in behaviour (engine/llmstage.c). Internal. */
#ifndef AISLE_LLMSTAGE_H
#define AISLE_LLMSTAGE_H

#include "pipe_int.h"

/* eng__llm_deadline: now + timeout_ms, but at least reserve_ms before
 * the turn's deadline, so the fallback still fits. eng_now_us clock. */
int64_t eng__llm_deadline(const eng_turn *t, long timeout_ms, long reserve_ms);

/* eng__turn_llm: the turn's LLM client, NULL when none is configured. */
eng_llm *eng__turn_llm(const eng_turn *t);

/* eng__fallback: append {stage, kind: "llm", reason} to ctx.fallbacks. */
void eng__fallback(eng_turn *t, const char *stage, const char *reason);

/* eng__json_in_text: the JSON object in a model's answer (from the first
 * '{' to the last '}'; depth at most 8), or NULL. Caller puts it. */
json_object *eng__json_in_text(const char *s);

#endif
