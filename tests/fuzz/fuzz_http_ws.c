/* tests/fuzz/fuzz_http_ws.c — the HTTP and WebSocket entry of a real
 * gateway: gw_start in this process (the FAQ example pipeline, a SQLite
 * store in a temporary directory, development mode) listening on loopback,
 * HTTP on civetweb and the chat WebSocket on the event loop (ws.listen).
 *
 * An input's first byte picks what it is written to:
 *   bit 0 clear: the HTTP listener, the rest raw (request line, headers,
 *                body, pipelined requests...);
 *   bit 0 set:   the event-loop listener; with bit 1 set a valid upgrade
 *                request goes first, so that the rest are WebSocket
 *                frames (masked or not, fragmented, control frames,
 *                declared lengths of any size), else the rest is the
 *                upgrade request itself.
 * The bytes are written and the reply is read until the server closes or
 * 300 ms pass (HTTP: the write side shut first; WebSocket: left open, and
 * reading stops 40 ms after the server went quiet). Every 32 inputs, and after the
 * last one the standalone driver replays, `GET /healthz` on a fresh
 * connection must answer 200: a crash, a sanitizer report or a server that
 * stops answering is a finding (abort). */
#define _GNU_SOURCE
#include "gateway/gw.h"
#include "stores/store.h"
#include "fuzz_int.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static gw_server *srv;
static store *st;
static int http_port, ws_port;
static unsigned long inputs;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Write all of p (the server may close early: EPIPE ends it quietly). */
static void put(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t k = send(fd, c, n, MSG_NOSIGNAL);
        if (k <= 0)
            return;
        c += k;
        n -= (size_t)k;
    }
}

/* Read until the server closes, `ms` pass, or (idle_ms > 0) nothing more
 * comes for idle_ms after the first bytes; the first bytes into buf. */
static size_t drain(int fd, int ms, int idle_ms, char *buf, size_t cap)
{
    size_t got = 0, any = 0;
    char tmp[4096];
    int64_t end = now_ms() + ms;
    for (;;) {
        int left = (int)(end - now_ms());
        if (left <= 0)
            break;
        if (any && idle_ms > 0 && left > idle_ms)
            left = idle_ms;
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, left) <= 0)
            break;
        ssize_t k = recv(fd, tmp, sizeof tmp, 0);
        if (k <= 0)
            break;
        any += (size_t)k;
        if (buf && got + 1 < cap) {
            size_t c = (size_t)k < cap - 1 - got ? (size_t)k : cap - 1 - got;
            memcpy(buf + got, tmp, c);
            got += c;
            buf[got] = 0;
        }
    }
    return got;
}

static void healthy(void)
{
    char buf[256] = "";
    for (int attempt = 0; attempt < 20; attempt++) {
        int fd = dial(http_port);
        if (fd >= 0) {
            static const char rq[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
            put(fd, rq, sizeof rq - 1);
            drain(fd, 2000, 0, buf, sizeof buf);
            close(fd);
            if (strncmp(buf, "HTTP/1.1 200", 12) == 0)
                return;
        }
        usleep(100000);
    }
    fprintf(stderr, "fuzz_http_ws: /healthz stopped answering 200 (last answer: %.80s)\n", buf);
    abort();
}

static void stop(void)
{
    if (srv)
        healthy();
    gw_stop(srv);
    store_close(st);
    srv = NULL;
    st = NULL;
}

static void start(void)
{
    signal(SIGPIPE, SIG_IGN);
    char dir[] = "/tmp/aisle-fuzz-XXXXXX", db[64];
    if (!mkdtemp(dir))
        abort();
    snprintf(db, sizeof db, "%s/fuzz.db", dir);
    store_config sc;
    store_config_init(&sc);
    sc.sqlite_path = db;
    sc.redis_url = NULL;
    sc.mongo_uri = NULL;
    sc.documents = STORE_BACKEND_SQLITE;
    sc.ephemeral = STORE_BACKEND_SQLITE;
    store_err se = {0};
    if (store_open(&sc, &st, &se) < 0) {
        fprintf(stderr, "fuzz_http_ws: store: %s\n", se.msg);
        abort();
    }
    gw_config c;
    gw_config_init(&c);
    c.listen = "127.0.0.1:0";
    c.ws_listen = "127.0.0.1:0";
    c.pipeline_path = "examples/faq/faq.yaml";
    c.ui_dir = "ui/dist";
    c.dev = 1;
    c.watch = 0;
    c.access_log = 0;
    c.num_threads = 16;
    c.request_timeout_ms = 1000;
    c.ws_handshake_timeout_ms = 1000;
    c.shutdown_grace_ms = 1000;
    /* the fuzzer is one client sending many requests fast */
    c.ip_rps = c.user_rps = 1e6;
    c.ip_burst = c.user_burst = 1e6;
    c.max_conns_per_ip = 1000;
    gw_err ge = {0};
    if (gw_start(&c, st, NULL, &srv, &ge) < 0) {
        fprintf(stderr, "fuzz_http_ws: gw_start: %s (run from the repository root)\n", ge.msg);
        abort();
    }
    http_port = gw_port(srv);
    ws_port = gw_ws_port(srv);
    if (http_port <= 0 || ws_port <= 0)
        abort();
    atexit(stop);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!srv)
        start();
    if (size < 1 || size > 65536)
        return 0;
    int mode = data[0];
    int fd = dial(mode & 1 ? ws_port : http_port);
    if (fd < 0)
        abort();   /* the listener is gone */
    if ((mode & 3) == 3) {
        static const char up[] = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
        put(fd, up, sizeof up - 1);
    }
    put(fd, data + 1, size - 1);
    /* HTTP: the end of the request is the end of the input. A WebSocket
     * stays open while its turns run (an EOF would drop it first): read
     * until the server has been quiet a little */
    if (!(mode & 1))
        shutdown(fd, SHUT_WR);
    /* FUZZ_HTTP_WS_SHOW=1 prints the start of each answer (to check
     * that seeds reach what they aim at) */
    static int show = -1;
    if (show < 0)
        show = getenv("FUZZ_HTTP_WS_SHOW") != NULL;
    char ans[512] = "";
    drain(fd, 300, mode & 1 ? 40 : 0, show ? ans : NULL, sizeof ans);
    if (show) {
        for (char *p = ans; *p; p++)
            if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
                *p = '.';
        fprintf(stderr, "answer: %.300s\n", ans);
    }
    close(fd);
    if (++inputs % 32 == 0)
        healthy();
    return 0;
}
