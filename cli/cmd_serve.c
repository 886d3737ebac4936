/* cli/cmd_serve.c — placeholder until the gateway lands; says so plainly. */
#include "cli.h"
#include <stdio.h>

int cli_serve(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "aisle %s: not available in this build yet\n", argv[0]);
    return 2;
}
