/* cli/cmd_chat.c — `aisle chat PIPELINE`: a conversation in the terminal.
 * Reads a line, runs a turn, prints the reply (and, with --trace, the
 * intent and each stage's time). The session carries over between turns. */
#include "cli.h"
#include "engine/eng.h"
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char help[] =
    "usage: aisle chat PIPELINE [--trace] [--session ID] [--user ID]\n\n"
    "A conversation in the terminal: type a message, read the reply.\n"
    "Empty line or end of input (Ctrl-D) ends it. Commands: /trace toggles\n"
    "the per-turn trace, /quit leaves.\n";

static void print_trace(json_object *ctx)
{
    json_object *intent = json_object_object_get(ctx, "intent");
    printf("  [intent %s %.2f, route %s]", json_object_get_string(json_object_object_get(intent, "name")),
           json_object_get_double(json_object_object_get(intent, "confidence")),
           json_object_get_string(json_object_object_get(ctx, "route")));
    json_object *tr = json_object_object_get(ctx, "trace");
    for (size_t i = 0; i < json_object_array_length(tr); i++) {
        json_object *e = json_object_array_get_idx(tr, i);
        printf(" %s %lldus", json_object_get_string(json_object_object_get(e, "stage")),
               (long long)json_object_get_int64(json_object_object_get(e, "us")));
    }
    printf("\n");
}

int cli_chat(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(help, stdout);
        return 0;
    }
    const char *file = NULL;
    int trace = 0;
    eng_turn_opts o = {.session_id = "terminal"};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--trace") == 0)
            trace = 1;
        else if (strcmp(argv[i], "--session") == 0 && i + 1 < argc)
            o.session_id = argv[++i];
        else if (strcmp(argv[i], "--user") == 0 && i + 1 < argc)
            o.user_id = argv[++i];
        else if (argv[i][0] == '-' || file) {
            fprintf(stderr, "aisle chat: unexpected argument \"%s\"\n\n%s", argv[i], help);
            return 2;
        } else
            file = argv[i];
    }
    if (!file) {
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
    int tty = isatty(0);
    if (tty)
        printf("aisle chat: %s v%d. Type a message; empty line to quit.\n", eng_pipeline_name(p),
               eng_pipeline_version(p));
    json_object *session = json_object_new_object();
    char line[4096];
    long turns = 0;
    for (;;) {
        if (tty) {
            fputs("> ", stdout);
            fflush(stdout);
        }
        if (!fgets(line, sizeof line, stdin))
            break;
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || strcmp(line, "/quit") == 0)
            break;
        if (strcmp(line, "/trace") == 0) {
            trace = !trace;
            continue;
        }
        json_object_object_add(session, "turns", json_object_new_int64(turns++));
        o.session = session;
        eng_turn *t = NULL;
        eng_err err = {0};
        if (eng_run(p, line, &o, &t, &err) < 0) {
            printf("(error: %s)\n", err.msg);
            continue;
        }
        printf("%s\n", eng_turn_reply(t));
        json_object *sugg = json_object_object_get(json_object_object_get(eng_turn_context(t), "reply"),
                                                   "suggestions");
        for (size_t i = 0; i < json_object_array_length(sugg); i++)
            printf("%s[%s]", i ? " " : "  ", json_object_get_string(json_object_array_get_idx(sugg, i)));
        if (json_object_array_length(sugg))
            printf("\n");
        if (trace)
            print_trace(eng_turn_context(t));
        fflush(stdout);
        eng_turn_free(t);
    }
    json_object_put(session);
    eng_pipeline_release(p);
    return 0;
}
