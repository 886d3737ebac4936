/* cli/cli.h — the aisle binary's commands. Each command lives in its own
 * file cli/cmd_NAME.c and takes the arguments after its name (argv[0] is
 * the command name). Each returns the process exit code: 0 success,
 * 1 the work found problems (lint errors, failed tests), 2 usage error. */
#ifndef AISLE_CLI_H
#define AISLE_CLI_H

int cli_run(int argc, char **argv);         /* aisle run PIPELINE --message TEXT [--json] */
int cli_chat(int argc, char **argv);        /* aisle chat PIPELINE */
int cli_lint(int argc, char **argv);        /* aisle lint FILE... */
int cli_eval(int argc, char **argv);        /* aisle eval ... (intent) / aisle eval search ... */
int cli_eval_search(int argc, char **argv); /* aisle eval search --db FILE --judgments FILE.csv */
int cli_import(int argc, char **argv);      /* aisle import --catalog FILE [--db FILE] */
int cli_search(int argc, char **argv);      /* aisle search --db FILE QUERY | --queries FILE */
int cli_serve(int argc, char **argv);       /* aisle serve [--config aisle.yaml] */

/* cli_wants_help: 1 when argv has -h or --help. */
int cli_wants_help(int argc, char **argv);

#endif
