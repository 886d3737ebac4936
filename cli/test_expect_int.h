/* cli/test_expect_int.h — the expectations of `aisle test` (cli/test_expect.c):
 * one turn's context or the store after a conversation against what a
 * conversation test file says. Internal to cli/; docs/testing.md is the
 * reference for every key. */
#ifndef AISLE_TEST_EXPECT_H
#define AISLE_TEST_EXPECT_H

#include "engine/eng.h"
#include "stores/store.h"
#include <stdio.h>

/* tx_check_turn: compare `expect` (a mapping from the test file) with the
 * turn: `rep` is the reply object the server sends (eng_converse), `ctx`
 * the turn context, NULL for a replayed message. Each mismatch is one
 * indented line on `out` ("    cart.count: expected 2, got 1"). Returns
 * the number of mismatches; an unknown key counts as one, so a typo never
 * passes silently. */
int tx_check_turn(FILE *out, json_object *expect, json_object *ctx, json_object *rep);

/* tx_check_after: the `after:` mapping against the store: orders of the
 * users the conversation logged in as (uids[0..n)), stock, audit trail. */
int tx_check_after(FILE *out, json_object *after, store *s, const int64_t *uids, size_t n);

/* tx_strip_lines: remove the "__line" keys the YAML reader adds to every
 * mapping (for values handed to the engine or the store). */
void tx_strip_lines(json_object *o);

/* tx_line: the line of a mapping from the test file, 0 when unknown. */
int tx_line(json_object *map);

#endif
