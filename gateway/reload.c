/* gateway/reload.c — the live pipeline behind an atomic swap, and hot
 * reload.  Turns take a reference (retain) under a mutex, so a swap never
 * pulls a pipeline out from under a turn in flight; the last release
 * frees the old one.  A libuv loop in its own thread watches the
 * pipeline's folder and pipelines/, scripts/, templates/ beside it, and
 * reloads after a short debounce; a file with errors is reported and the
 * previous version keeps serving. */
#include "gw_int.h"
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <uv.h>

#define MAX_WATCH 8
#define MAX_HISTORY 50

eng_pipeline *gw__pipeline(gw_server *s)
{
    pthread_mutex_lock(&s->rl.mu);
    eng_pipeline *p = s->rl.pl;
    if (p)
        eng_pipeline_retain(p);
    pthread_mutex_unlock(&s->rl.mu);
    return p;
}

static json_object *diags_json(const eng_diags *d)
{
    json_object *a = json_object_new_array();
    for (size_t i = 0; i < d->n; i++) {
        const eng_diag *g = &d->items[i];
        json_object *o = json_object_new_object();
        char where[1200];
        snprintf(where, sizeof where, "%s:%d:%d", g->file ? g->file : "", g->line, g->col);
        json_object_object_add(o, "severity", json_object_new_string(g->sev == ENG_DIAG_ERROR ? "error" : "warning"));
        json_object_object_add(o, "file", json_object_new_string(g->file ? g->file : ""));
        json_object_object_add(o, "line", json_object_new_int(g->line));
        json_object_object_add(o, "col", json_object_new_int(g->col));
        json_object_object_add(o, "message", json_object_new_string(g->msg ? g->msg : ""));
        json_object_object_add(o, "where", json_object_new_string(where));
        json_object_array_add(a, o);
    }
    return a;
}

int gw__reload(gw_server *s, const char *why, const char *actor)
{
    eng_diags d;
    eng_diags_init(&d);
    eng_pipeline *np = NULL;
    int64_t t0 = eng_now_us();
    int rc = eng_pipeline_load(s->rl.path, &np, &d);
    int64_t us = eng_now_us() - t0;
    /* the new version learns the catalog's words before it serves (the
     * old one keeps answering meanwhile); a failure here is not fatal:
     * its turns use the built-in vocabulary and retry */
    char wnote[240] = "";
    int64_t wus = 0;
    if (rc == 0) {
        eng_catalog_refresh_background(true);
        int64_t w0 = eng_now_us();
        if (eng_pipeline_warm(np, s->st, wnote, sizeof wnote) < 0)
            fprintf(stderr, "aisle serve: catalog vocabulary not ready: %s\n", wnote);
        wus = eng_now_us() - w0;
    }
    json_object *dj = diags_json(&d);
    json_object *ev = json_object_new_object();
    json_object_object_add(ev, "at", json_object_new_int64((int64_t)time(NULL) * 1000));
    json_object_object_add(ev, "trigger", json_object_new_string(why));
    if (actor)
        json_object_object_add(ev, "actor", json_object_new_string(actor));
    json_object_object_add(ev, "ok", json_object_new_boolean(rc == 0));
    json_object_object_add(ev, "loadUs", json_object_new_int64(us));
    if (rc == 0)
        json_object_object_add(ev, "warmUs", json_object_new_int64(wus));
    json_object_object_add(ev, "errors", json_object_new_int(d.errors));
    json_object_object_add(ev, "warnings", json_object_new_int(d.warnings));
    if (rc == 0) {
        json_object_object_add(ev, "pipeline", json_object_new_string(eng_pipeline_name(np)));
        json_object_object_add(ev, "version", json_object_new_int(eng_pipeline_version(np)));
    } else {
        json_object_object_add(ev, "diagnostics", json_object_get(dj));
    }
    eng_pipeline *old = NULL;
    pthread_mutex_lock(&s->rl.mu);
    if (rc == 0) {
        old = s->rl.pl;
        s->rl.pl = np;
    }
    json_object_put(s->rl.diags);
    s->rl.diags = json_object_get(dj);
    json_object_array_add(s->rl.history, json_object_get(ev));
    size_t n = json_object_array_length(s->rl.history);
    if (n > MAX_HISTORY)
        json_object_array_del_idx(s->rl.history, 0, n - MAX_HISTORY);
    pthread_mutex_unlock(&s->rl.mu);
    if (old)
        eng_pipeline_release(old);   /* turns still holding it keep it alive */
    /* one log line per reload; errors carry FILE:LINE:COL */
    json_object_object_add(ev, "file", json_object_new_string(s->rl.path));
    if (rc != 0 && json_object_array_length(dj)) {
        json_object *first = json_object_array_get_idx(dj, 0);
        json_object_object_add(ev, "where", json_object_get(json_object_object_get(first, "where")));
        json_object_object_add(ev, "message", json_object_get(json_object_object_get(first, "message")));
    }
    gw__log(rc == 0 ? "info" : "error", rc == 0 ? "pipeline_loaded" : "pipeline_rejected", ev);
    json_object_put(dj);
    eng_diags_free(&d);
    return rc == 0 ? 0 : GW_EPIPELINE;
}

json_object *gw__pipelines_json(gw_server *s)
{
    eng_pipeline *p = gw__pipeline(s);
    json_object *o = json_object_new_object();
    if (p) {
        json_object_object_add(o, "graph", eng_pipeline_graph(p));
        json_object_object_add(o, "name", json_object_new_string(eng_pipeline_name(p)));
        json_object_object_add(o, "version", json_object_new_int(eng_pipeline_version(p)));
        json_object_object_add(o, "file", json_object_new_string(eng_pipeline_file(p)));
        eng_pipeline_release(p);
    }
    pthread_mutex_lock(&s->rl.mu);
    json_object_object_add(o, "diagnostics", json_object_get(s->rl.diags));
    /* the history is copied: it keeps changing under the lock */
    json_object *h = NULL;
    json_object_deep_copy(s->rl.history, &h, NULL);
    pthread_mutex_unlock(&s->rl.mu);
    json_object_object_add(o, "reloads", h ? h : json_object_new_array());
    json_object_object_add(o, "watching", json_object_new_boolean(s->watch != NULL));
    return o;
}

/* ---------------------------------------------------------------------
 * The watcher thread
 * ------------------------------------------------------------------ */
struct gw_watch {
    gw_server *s;
    uv_loop_t loop;
    uv_async_t stop;
    uv_timer_t debounce;
    uv_fs_event_t ev[MAX_WATCH];
    int nev;
    uv_thread_t thread;
};

static void on_debounce(uv_timer_t *t)
{
    struct gw_watch *w = t->data;
    gw__reload(w->s, "watch", NULL);
}

static void on_change(uv_fs_event_t *h, const char *fname, int events, int status)
{
    (void)events;
    struct gw_watch *w = h->data;
    if (status < 0)
        return;
    /* editors write temp files and swap; only files we could load matter */
    if (fname) {
        const char *dot = strrchr(fname, '.');
        if (!dot || (strcmp(dot, ".yaml") != 0 && strcmp(dot, ".yml") != 0 && strcmp(dot, ".lua") != 0 &&
                     strcmp(dot, ".md") != 0))  /* .md: the knowledge file */
            return;
    }
    uv_timer_start(&w->debounce, on_debounce, (uint64_t)w->s->cfg.reload_debounce_ms, 0);
}

static void on_stop(uv_async_t *a)
{
    struct gw_watch *w = a->data;
    for (int i = 0; i < w->nev; i++)
        uv_close((uv_handle_t *)&w->ev[i], NULL);
    uv_close((uv_handle_t *)&w->debounce, NULL);
    uv_close((uv_handle_t *)&w->stop, NULL);
}

static void run(void *arg)
{
    struct gw_watch *w = arg;
    uv_run(&w->loop, UV_RUN_DEFAULT);
}

static void add_dir(struct gw_watch *w, const char *dir)
{
    struct stat st;
    char real[4096];
    if (w->nev >= MAX_WATCH || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || !realpath(dir, real))
        return;
    for (int i = 0; i < w->nev; i++) {
        char got[4096];
        size_t n = sizeof got;
        if (uv_fs_event_getpath(&w->ev[i], got, &n) == 0 && strcmp(got, real) == 0)
            return;
    }
    uv_fs_event_t *h = &w->ev[w->nev];
    if (uv_fs_event_init(&w->loop, h) != 0)
        return;
    h->data = w;
    if (uv_fs_event_start(h, on_change, real, 0) != 0) {
        uv_close((uv_handle_t *)h, NULL);
        return;
    }
    w->nev++;
}

int gw__watch_start(gw_server *s)
{
    struct gw_watch *w = calloc(1, sizeof *w);
    if (!w || uv_loop_init(&w->loop) != 0) {
        free(w);
        return GW_ENOMEM;
    }
    w->s = s;
    uv_async_init(&w->loop, &w->stop, on_stop);
    w->stop.data = w;
    uv_timer_init(&w->loop, &w->debounce);
    w->debounce.data = w;
    char tmp[1024], dir[1024], sub[1100];
    snprintf(tmp, sizeof tmp, "%s", s->rl.path);
    snprintf(dir, sizeof dir, "%s", dirname(tmp));
    add_dir(w, dir);
    static const char *subs[] = {"scripts", "templates", "knowledge"};
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        snprintf(sub, sizeof sub, "%s/%s", dir, subs[i]);
        add_dir(w, sub);
    }
    add_dir(w, "pipelines");
    add_dir(w, "scripts");
    add_dir(w, "pipelines/templates");
    add_dir(w, "pipelines/knowledge");
    if (uv_thread_create(&w->thread, run, w) != 0) {
        on_stop(&w->stop);
        uv_run(&w->loop, UV_RUN_DEFAULT);
        uv_loop_close(&w->loop);
        free(w);
        return GW_ENOMEM;
    }
    s->watch = w;
    return 0;
}

void gw__watch_stop(gw_server *s)
{
    struct gw_watch *w = s->watch;
    if (!w)
        return;
    uv_async_send(&w->stop);
    uv_thread_join(&w->thread);
    uv_loop_close(&w->loop);
    free(w);
    s->watch = NULL;
}
