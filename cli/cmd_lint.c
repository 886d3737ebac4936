/* cli/cmd_lint.c — `aisle lint FILE...`: loads each pipeline and prints
 * every problem as FILE:LINE:COL: error|warning: MESSAGE. Exit 1 when any
 * file has errors (warnings alone exit 0, or 1 with --strict). */
#include "cli.h"
#include "engine/eng.h"
#include <stdio.h>
#include <string.h>

static const char help[] =
    "usage: aisle lint [--strict] [--quiet] FILE...\n\n"
    "Checks pipeline files: YAML syntax, unknown keys and stage types, missing\n"
    "options, route targets, unreachable stages, cycles, duplicate ids, Lua in\n"
    "route conditions and scripts, templates. Prints FILE:LINE:COL: error: MESSAGE.\n"
    "  --strict  warnings fail too\n"
    "  --quiet   print nothing when a file is clean\n"
    "Exit status: 0 clean, 1 problems found, 2 usage error.\n";

int cli_lint(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(help, stdout);
        return 0;
    }
    int strict = 0, quiet = 0, files = 0, errors = 0, warnings = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--strict") == 0) {
            strict = 1;
            continue;
        }
        if (strcmp(argv[i], "--quiet") == 0) {
            quiet = 1;
            continue;
        }
        if (argv[i][0] == '-') {
            fprintf(stderr, "aisle lint: unknown option %s\n%s", argv[i], help);
            return 2;
        }
        files++;
        eng_diags d;
        eng_diags_init(&d);
        eng_pipeline *p = NULL;
        eng_pipeline_load(argv[i], &p, &d);
        eng_diags_print(&d, stdout);
        errors += d.errors;
        warnings += d.warnings;
        if (!quiet && !d.errors && !d.warnings)
            printf("%s: ok\n", argv[i]);
        eng_diags_free(&d);
        eng_pipeline_release(p);
    }
    if (!files) {
        fputs(help, stderr);
        return 2;
    }
    if (errors || warnings)
        printf("%d error%s, %d warning%s\n", errors, errors == 1 ? "" : "s", warnings, warnings == 1 ? "" : "s");
    return errors || (strict && warnings) ? 1 : 0;
}
