/* tests/redis_server.h — starts and stops a private redis-server on a free
 * loopback port for the tests and benchmarks that need a real one: no
 * persistence, its own temporary folder (log, optional unix socket), and a
 * restart on the same port.  Header-only, like tests/unit/fake_llm.h. */
#ifndef AISLE_TEST_REDIS_SERVER_H
#define AISLE_TEST_REDIS_SERVER_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct redis_server {
    pid_t pid;          /* 0 while not running */
    int port;           /* loopback port, kept across restarts */
    char dir[128];      /* private folder: redis.log, redis.sock */
    char sock[200];     /* unix socket path, "" for none */
    char log[200];
    char why[260];      /* why it did not start, for a skip message (log fits) */
} redis_server;

/* A loopback port nothing listens on right now. */
static int redis_free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* PING over a raw socket with a short timeout: the tests must not depend
 * on the code under test to learn that the server is up. */
static int redis_pings(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct timeval tv = {0, 200000};
    char buf[16] = "";
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok = 0;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        write(fd, "PING\r\n", 6) == 6 && read(fd, buf, sizeof buf - 1) > 0)
        ok = !strncmp(buf, "+PONG", 5);
    if (fd >= 0)
        close(fd);
    return ok;
}

/* (Re)starts the server on rs->port; 0 once it answers PING (within
 * about five seconds), else -1 with rs->why set.  The log is appended
 * to, so a restart keeps the first run's lines. */
static int redis_server_start(redis_server *rs)
{
    char port[16];
    struct timespec ts = {0, 20 * 1000 * 1000};
    snprintf(port, sizeof port, "%d", rs->port);
    fflush(NULL);       /* the child must not write our buffered output again */
    if ((rs->pid = fork()) == 0) {
        FILE *f = freopen(rs->log, "a", stdout);
        (void)f;
        dup2(1, 2);
        if (rs->sock[0])
            execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1",
                   "--save", "", "--appendonly", "no", "--dir", rs->dir,
                   "--unixsocket", rs->sock, "--unixsocketperm", "700", (char *)NULL);
        else
            execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1",
                   "--save", "", "--appendonly", "no", "--dir", rs->dir, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 250; i++) {
        if (redis_pings(rs->port))
            return 0;
        nanosleep(&ts, NULL);
    }
    snprintf(rs->why, sizeof rs->why, "redis-server did not answer PING on port %d (see %s)",
             rs->port, rs->log);
    return -1;
}

/* Sends sig (SIGTERM, or SIGKILL for a crash) and reaps the server. */
static void redis_server_kill(redis_server *rs, int sig)
{
    if (rs->pid > 0) {
        kill(rs->pid, sig);
        waitpid(rs->pid, NULL, 0);
        rs->pid = 0;
    }
}

/* Makes a folder under /tmp named for tag, picks a free port and starts
 * the server, with a unix socket at <dir>/redis.sock when unix_socket is
 * set.  0 when it answers PING; -1 with rs->why set (redis-server not
 * installed, or it did not start).  redis_server_close undoes it either
 * way. */
static int redis_server_open(redis_server *rs, const char *tag, int unix_socket)
{
    memset(rs, 0, sizeof *rs);
    if (system("command -v redis-server >/dev/null 2>&1") != 0) {
        snprintf(rs->why, sizeof rs->why, "redis-server is not installed");
        return -1;
    }
    snprintf(rs->dir, sizeof rs->dir, "/tmp/%s-XXXXXX", tag);
    if (!mkdtemp(rs->dir)) {
        rs->dir[0] = '\0';
        snprintf(rs->why, sizeof rs->why, "could not make a folder under /tmp");
        return -1;
    }
    if ((rs->port = redis_free_port()) <= 0) {
        snprintf(rs->why, sizeof rs->why, "no free loopback port");
        return -1;
    }
    if (unix_socket)
        snprintf(rs->sock, sizeof rs->sock, "%s/redis.sock", rs->dir);
    snprintf(rs->log, sizeof rs->log, "%s/redis.log", rs->dir);
    return redis_server_start(rs);
}

/* Stops the server and removes its folder; 0, or -1 when the folder
 * could not be removed. */
static int redis_server_close(redis_server *rs)
{
    char cmd[200];
    redis_server_kill(rs, SIGTERM);
    if (!rs->dir[0])
        return 0;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", rs->dir);
    rs->dir[0] = '\0';
    return system(cmd) == 0 ? 0 : -1;
}

#endif
