/* tests/fuzz/fuzz_int.h — the one entry point every fuzz target defines
 * (tests/fuzz/fuzz_*.c) and both drivers call: libFuzzer's under
 * `make fuzz`, tests/fuzz/driver.c's replay under `make test`. libFuzzer
 * ships no header for it. */
#ifndef AISLE_FUZZ_INT_H
#define AISLE_FUZZ_INT_H

#include <stddef.h>
#include <stdint.h>

/* LLVMFuzzerTestOneInput: run one input of `size` bytes (not
 * NUL-terminated); returns 0. A crash or sanitizer report is the finding. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
