/* tests/unit/fake_llm.h — starts and stops the loopback fake LLM
 * provider (tests/fake_llm/server.js) for the tests that talk to it:
 * fake_port is 0 (and the tests skip) when node is not available. */
#ifndef AISLE_TEST_FAKE_LLM_H
#define AISLE_TEST_FAKE_LLM_H

#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t fake_pid;
static int fake_stdin = -1;
static int fake_port;

/* ------------------------------------------------------------ the fake */

static int start_fake(void **state)
{
    (void)state;
    int in[2], out[2];
    signal(SIGPIPE, SIG_IGN);
    if (pipe(in) || pipe(out))
        return 0;
    fake_pid = fork();
    if (fake_pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[1]);
        close(out[0]);
        execlp("node", "node", "tests/fake_llm/server.js", (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    fake_stdin = in[1];
    char line[64] = "";
    size_t n = 0;
    struct pollfd pf = {.fd = out[0], .events = POLLIN};
    while (n + 1 < sizeof line && poll(&pf, 1, 10000) > 0) {
        ssize_t r = read(out[0], line + n, 1);
        if (r <= 0 || line[n] == '\n')
            break;
        n++;
    }
    line[n] = '\0';
    close(out[0]);
    if (sscanf(line, "PORT %d", &fake_port) != 1) {
        fake_port = 0;
        fprintf(stderr, "skip: node or tests/fake_llm/server.js unavailable; LLM tests skipped\n");
    }
    return 0;
}

static int stop_fake(void **state)
{
    (void)state;
    if (fake_stdin >= 0)
        close(fake_stdin);   /* the fake exits when its stdin closes */
    if (fake_pid > 0) {
        kill(fake_pid, SIGTERM);
        waitpid(fake_pid, NULL, 0);
    }
    return 0;
}

#define NEED_FAKE()        \
    do {                   \
        if (!fake_port)    \
            skip();        \
    } while (0)

#endif
