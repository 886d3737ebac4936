/* cli/config_int.h — `aisle serve`'s settings: one table maps each setting to
 * its YAML key (aisle.yaml), its environment variable and its default.
 * Precedence, lowest first: defaults, the config file, the environment,
 * command-line flags. */
#ifndef AISLE_CLI_CONFIG_H
#define AISLE_CLI_CONFIG_H

#include <stdio.h>
#include "gateway/gw.h"
#include "stores/store.h"

typedef struct cli_config {
    gw_config gw;
    store_config store;
    const char *seed_catalog;    /* import when the catalog is empty */
    char *owned[96];             /* strings copied from the file/env */
    int nowned;
} cli_config;

/* cli_config_init: defaults (gw_config_init, store_config_init without
 * its environment, the default pipeline). */
void cli_config_init(cli_config *c);

/* cli_config_load_file: apply a YAML file.  Unknown keys and wrong types
 * are errors: the message in err (FILE:LINE:COL: ...).  0 or -1. */
int cli_config_load_file(cli_config *c, const char *path, char *err, size_t errn);

/* cli_config_apply_env: apply every AISLE_* variable that is set.
 * 0, or -1 with the offending variable in err. */
int cli_config_apply_env(cli_config *c, char *err, size_t errn);

/* cli_config_set: set one setting by YAML key ("http.max_body_bytes")
 * from text.  0, or -1 (unknown key or bad value; message in err). */
int cli_config_set(cli_config *c, const char *key, const char *value, char *err, size_t errn);

/* cli_config_print_table: every setting as a Markdown table row
 * (key, env, default, meaning); for docs/operations.md. */
void cli_config_print_table(FILE *out);

/* cli_config_free: release the copied strings. */
void cli_config_free(cli_config *c);

#endif
