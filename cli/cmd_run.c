/* cli/cmd_run.c — `aisle run PIPELINE --message TEXT [--json]`: one turn,
 * printed as the reply text or, with --json, the whole turn context. */
#include "cli.h"
#include "engine/eng.h"
#include <stdio.h>
#include <string.h>

static const char help[] =
    "usage: aisle run PIPELINE --message TEXT [--json] [--db FILE] [--session ID]\n"
    "                 [--login EMAIL] [--message-id ID] [--seed CATALOG]\n\n"
    "Runs one message through the pipeline and prints the reply.\n"
    "  --message, -m TEXT  the shopper's message\n"
    "  --json              print the whole turn context (intent, confidence,\n"
    "                      route, entities, cards, cart, actions, trace) as JSON\n"
    "  --db FILE           the SQLite store: catalog, carts, orders, and the\n"
    "                      session, so that successive runs with the same\n"
    "                      --session are one conversation\n"
    "  --seed CATALOG      import this catalog first when the store's is empty\n"
    "  --session ID        session id (default: terminal)\n"
    "  --login EMAIL       run as this user (created on first use; needs --db)\n"
    "  --message-id ID     the message's id: the same id twice in a session is\n"
    "                      one message (answered again from its first reply)\n";

int cli_run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(help, stdout);
        return 0;
    }
    const char *file = NULL, *msg = NULL, *db = NULL, *seed = NULL, *login = NULL, *mid = NULL;
    int json = 0;
    cli_conv c = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if ((strcmp(a, "--message") == 0 || strcmp(a, "-m") == 0) && i + 1 < argc)
            msg = argv[++i];
        else if (strcmp(a, "--json") == 0)
            json = 1;
        else if (strcmp(a, "--session") == 0 && i + 1 < argc)
            c.session_id = argv[++i];
        else if (strcmp(a, "--db") == 0 && i + 1 < argc)
            db = argv[++i];
        else if (strcmp(a, "--seed") == 0 && i + 1 < argc)
            seed = argv[++i];
        else if (strcmp(a, "--login") == 0 && i + 1 < argc)
            login = argv[++i];
        else if (strcmp(a, "--message-id") == 0 && i + 1 < argc)
            mid = argv[++i];
        else if (a[0] == '-') {
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
    if (cli_conv_open(&c, file, db, seed) != 0 || (login && cli_conv_login(&c, login) != 0)) {
        cli_conv_close(&c);
        return 1;
    }
    eng_converse_result r;
    if (cli_conv_turn(&c, msg, mid, &r) != 0) {
        cli_conv_close(&c);
        return 1;
    }
    int rc = r.store_error[0] ? 1 : 0;
    /* a replayed message id has no context to show: its first reply */
    if (json)
        puts(json_object_to_json_string_ext(r.turn ? eng_turn_context(r.turn) : r.reply,
                                            JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
    else
        cli_print_reply(stdout, r.reply);
    eng_converse_result_clear(&r);
    cli_conv_close(&c);
    return rc;
}
