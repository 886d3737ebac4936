/* cli/cmd_run.c — `aisle run PIPELINE --message TEXT [--json]`: one turn,
 * printed as the reply text or, with --json, the whole turn context. */
#include "cli.h"
#include "engine/eng.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: aisle run PIPELINE --message TEXT [--json] [--session ID] [--user ID]\n"
    "                 [--deadline-ms N]\n\n"
    "Runs one message through the pipeline and prints the reply.\n"
    "  --message, -m TEXT  the shopper's message\n"
    "  --json              print the whole turn context (intent, confidence,\n"
    "                      route, entities, reply, trace) as JSON\n"
    "  --session ID        session id (default: local)\n"
    "  --user ID           run as this logged-in user\n"
    "  --deadline-ms N     override the pipeline's per-turn deadline\n";

int cli_run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(help, stdout);
        return 0;
    }
    const char *file = NULL, *msg = NULL;
    int json = 0;
    eng_turn_opts o = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if ((strcmp(a, "--message") == 0 || strcmp(a, "-m") == 0) && i + 1 < argc)
            msg = argv[++i];
        else if (strcmp(a, "--json") == 0)
            json = 1;
        else if (strcmp(a, "--session") == 0 && i + 1 < argc)
            o.session_id = argv[++i];
        else if (strcmp(a, "--user") == 0 && i + 1 < argc)
            o.user_id = argv[++i];
        else if (strcmp(a, "--deadline-ms") == 0 && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v <= 0) {
                fprintf(stderr, "aisle run: --deadline-ms needs a positive number\n");
                return 2;
            }
            o.deadline_ms = v;
        } else if (a[0] == '-') {
            fprintf(stderr, "aisle run: unknown or incomplete option %s\n\n%s", a, help);
            return 2;
        } else if (!file)
            file = a;
        else {
            fprintf(stderr, "aisle run: unexpected argument \"%s\"\n\n%s", a, help);
            return 2;
        }
    }
    if (!file || !msg) {
        fputs(help, stderr);
        return 2;
    }
    eng_diags d;
    eng_diags_init(&d);
    eng_pipeline *p = NULL;
    int rc = eng_pipeline_load(file, &p, &d);
    if (d.n)
        eng_diags_print(&d, stderr);
    eng_diags_free(&d);
    if (rc < 0)
        return 1;
    eng_turn *t = NULL;
    eng_err err = {0};
    rc = eng_run(p, msg, &o, &t, &err);
    if (rc < 0) {
        fprintf(stderr, "aisle run: %s\n", err.msg);
        eng_pipeline_release(p);
        return 1;
    }
    if (json)
        puts(json_object_to_json_string_ext(eng_turn_context(t), JSON_C_TO_STRING_PRETTY |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE));
    else
        puts(eng_turn_reply(t));
    eng_turn_free(t);
    eng_pipeline_release(p);
    return 0;
}
