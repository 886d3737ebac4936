/* cli/cmd_admin.c — `aisle admin grant|revoke|show EMAIL [--db FILE |
 * --mongo URI]`: the only way an account becomes an administrator.  The
 * role is kept by the store (store_user_role_set); registering an address
 * never grants it, whatever the configuration says.  The account must
 * exist first, so nobody can register into a role waiting for them.  Each
 * change is audited with the operator's login name as the actor. */
#include "cli.h"
#include "stores/store.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: aisle admin grant|revoke|show EMAIL [--db FILE | --mongo URI]\n\n"
                 "  grant   give the registered account EMAIL the admin role\n"
                 "  revoke  make it an ordinary user again\n"
                 "  show    print its role\n\n"
                 "The store is the one `aisle serve` uses: --db FILE (SQLite), --mongo URI,\n"
                 "or AISLE_DB / AISLE_MONGO_URI.  A running server picks the change up at the\n"
                 "user's next login or token refresh (access tokens carry the role until\n"
                 "they expire).\n");
}

int cli_admin(int argc, char **argv)
{
    const char *verb = NULL, *email = NULL, *db = NULL, *mongo = NULL;
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--db") && i + 1 < argc)
            db = argv[++i];
        else if (!strcmp(argv[i], "--mongo") && i + 1 < argc)
            mongo = argv[++i];
        else if (argv[i][0] != '-' && !verb)
            verb = argv[i];
        else if (argv[i][0] != '-' && !email)
            email = argv[i];
        else {
            fprintf(stderr, "aisle admin: unexpected argument %s\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!verb || !email ||
        (strcmp(verb, "grant") && strcmp(verb, "revoke") && strcmp(verb, "show"))) {
        usage(stderr);
        return 2;
    }
    store_config cfg;
    cli_store_config(&cfg, db);
    if (mongo) {
        cfg.mongo_uri = mongo;
        cfg.documents = STORE_BACKEND_MONGO;
    }
    cfg.redis_url = NULL;   /* roles live in the document family */
    cfg.ephemeral = STORE_BACKEND_SQLITE;
    cfg.pool_size = 1;
    store *st;
    if (cli_store_open("aisle admin", &cfg, &st))
        return 1;
    int rc = 1;
    store_err err = {0};
    store_user u;
    char role[16];
    if (store_user_get_by_email(st, email, &u, &err) != 0) {
        fprintf(stderr, "aisle admin: %s: %s\n", email,
                err.code == STORE_ENOTFOUND ? "no such account (register it first)" : err.msg);
    } else if (!strcmp(verb, "show")) {
        if (store_user_role_get(st, u.id, role, sizeof role, &err) == 0) {
            printf("%s %s\n", u.email, role);
            rc = 0;
        } else
            fprintf(stderr, "aisle admin: %s\n", err.msg);
    } else {
        const char *to = !strcmp(verb, "grant") ? "admin" : "user";
        if (store_user_role_set(st, u.id, to, &err) != 0) {
            fprintf(stderr, "aisle admin: %s\n", err.msg);
        } else {
            const char *who = getenv("USER");
            char actor[96], detail[64];
            snprintf(actor, sizeof actor, "cli:%s", who && *who ? who : "operator");
            snprintf(detail, sizeof detail, "{\"role\":\"%s\"}", to);
            store_audit_append(st, actor, !strcmp(verb, "grant") ? "admin.grant" : "admin.revoke", u.email,
                               detail, NULL);
            printf("%s is now %s\n", u.email, to);
            rc = 0;
        }
    }
    store_close(st);
    return rc;
}
