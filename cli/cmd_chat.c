/* cli/cmd_chat.c — `aisle chat PIPELINE`: a conversation in the terminal.
 * Reads a line, runs a turn, prints the reply (and, with --trace, the
 * intent and each stage's time). The session carries over between turns. */
#include "cli.h"
#include "engine/eng.h"
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char help[] =
    "usage: aisle chat PIPELINE [--db FILE] [--seed CATALOG] [--session ID]\n"
    "                  [--login EMAIL] [--trace]\n\n"
    "A conversation in the terminal: type a message, read the reply.\n"
    "With --db the catalog, cart, orders and session live in that SQLite\n"
    "file (--seed imports a catalog into an empty one).\n"
    "Empty line or end of input (Ctrl-D) ends it. Commands:\n"
    "  /login EMAIL   continue as this user (the cart comes along)\n"
    "  /logout        continue anonymously\n"
    "  /trace         show or hide intent, route and stage timings\n"
    "  /quit          leave\n";

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
    const char *file = NULL, *db = NULL, *seed = NULL, *login = NULL;
    int trace = 0;
    cli_conv c = {0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--trace") == 0)
            trace = 1;
        else if (strcmp(argv[i], "--session") == 0 && i + 1 < argc)
            c.session_id = argv[++i];
        else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
            db = argv[++i];
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            seed = argv[++i];
        else if (strcmp(argv[i], "--login") == 0 && i + 1 < argc)
            login = argv[++i];
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
    if (cli_conv_open(&c, file, db, seed) != 0 || (login && cli_conv_login(&c, login) != 0)) {
        cli_conv_close(&c);
        return 1;
    }
    int tty = isatty(0);
    if (tty)
        printf("aisle chat: %s v%d. Type a message; empty line to quit, /help for commands.\n",
               eng_pipeline_name(c.pipeline), eng_pipeline_version(c.pipeline));
    char line[4096];
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
        if (strcmp(line, "/help") == 0) {
            fputs(help, stdout);
            continue;
        }
        if (strncmp(line, "/login ", 7) == 0) {
            if (cli_conv_login(&c, line + 7) == 0)
                printf("(signed in as %s)\n", line + 7);
            fflush(stdout);
            continue;
        }
        if (strcmp(line, "/logout") == 0) {
            c.user_id[0] = '\0';
            printf("(signed out)\n");
            continue;
        }
        eng_converse_result r;
        if (cli_conv_turn(&c, line, NULL, &r) != 0)
            continue;
        cli_print_reply(stdout, r.reply);
        if (trace && r.turn)
            print_trace(eng_turn_context(r.turn));
        fflush(stdout);
        eng_converse_result_clear(&r);
    }
    cli_conv_close(&c);
    return 0;
}
