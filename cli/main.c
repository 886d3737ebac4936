/* cli/main.c — the aisle binary: dispatches to one command per file. */
#include "cli.h"
#include "engine/eng.h"
#include <stdio.h>
#include <string.h>

typedef struct command {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} command;

static const command commands[] = {
    {"serve", cli_serve, "serve the chat page, WebSocket chat and REST API"},
    {"run", cli_run, "run one message through a pipeline and print the reply"},
    {"chat", cli_chat, "talk to a pipeline in the terminal"},
    {"lint", cli_lint, "check pipeline files; errors as FILE:LINE:COL"},
    {"eval", cli_eval, "measure the intent model (or, `eval search`, catalog search)"},
    {"import", cli_import, "load a product catalog (JSON or CSV) into a store"},
    {"search", cli_search, "search a catalog from the command line"},
    {"test", cli_test, "run conversation tests (YAML) against a fresh store"},
    {"rules", cli_rules, "dry-run Lua business rules over the catalog and sample carts"},
    {"admin", cli_admin, "grant or revoke an account's admin role"},
    {NULL, NULL, NULL},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: aisle COMMAND [ARGS]\n\n"
                 "aisle runs a conversational shopping assistant declared in YAML pipelines.\n\n"
                 "commands:\n");
    for (const command *c = commands; c->name; c++)
        fprintf(out, "  %-8s %s\n", c->name, c->summary);
    fprintf(out, "\n`aisle COMMAND --help` tells more. `aisle --version` prints the version.\n");
}

int cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("aisle %s\n", AISLE_VERSION);
        return 0;
    }
    for (const command *c = commands; c->name; c++)
        if (strcmp(argv[1], c->name) == 0)
            return c->fn(argc - 1, argv + 1);
    fprintf(stderr, "aisle: unknown command \"%s\"\n\n", argv[1]);
    usage(stderr);
    return 2;
}
