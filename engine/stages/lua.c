/* engine/stages/lua.c — the `lua` stage: a merchandiser's rule hook.
 * The script is compiled when the pipeline loads; each turn calls one of
 * its functions with the context. What the function may change is copied
 * back field by field; a rule that fails or runs over budget is skipped
 * (on_error: skip) and the trace says why — it never breaks the turn. */
#include "engine/pipe_int.h"
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef struct opts {
    const char *script;
    const char *function;
    const char *on_error;
} opts;

typedef struct data {
    eng_chunk chunk;
    bool fail_on_error;
} data;

static const eng_field fields[] = {
    {"script", ENG_F_STR, true, offsetof(opts, script), NULL, 0, 0, "path of the Lua file"},
    {"function", ENG_F_STR, false, offsetof(opts, function), "run", 0, 0,
     "the function the script defines; called with the turn context"},
    {"on_error", ENG_F_STR, false, offsetof(opts, on_error), "skip", 0, 0,
     "skip (log and go on) or fail (the turn answers with the error reply)"},
    {NULL, 0, false, 0, NULL, 0, 0, NULL},
};

/* Fields of the context a script may change. */
static const char *const writable[] = {"reply", "intent", "entities", "vars", "actions", "results", NULL};

/* Lua reports only a line; find the column of the token it names
 * ("near 'x'") on that line, else the line's first non-blank. */
static int guess_col(const char *src, int line, const char *msg)
{
    const char *p = src;
    for (int l = 1; l < line && p; l++) {
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    if (!p)
        return 1;
    const char *eol = strchr(p, '\n');
    size_t n = eol ? (size_t)(eol - p) : strlen(p);
    const char *near = strstr(msg, "near '");
    if (near) {
        near += 6;
        const char *q = strchr(near, '\'');
        size_t tl = q ? (size_t)(q - near) : 0;
        for (size_t i = 0; tl && i + tl <= n; i++)
            if (memcmp(p + i, near, tl) == 0)
                return (int)i + 1;
    }
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    return (int)i + 1;
}

static int create(eng_stage *st, eng_build *b)
{
    const opts *o = st->opts;
    data *dt = eng__pool_alloc(b->p->pool, sizeof *dt);
    if (!dt)
        return ENG_ENOMEM;
    st->data = dt;
    if (strcmp(o->on_error, "skip") && strcmp(o->on_error, "fail")) {
        eng__build_error(b, eng__build_key_node(b, "on_error"), "\"on_error\" must be skip or fail");
        return ENG_ECONFIG;
    }
    dt->fail_on_error = strcmp(o->on_error, "fail") == 0;
    const char *path = eng__build_path(b, o->script);
    size_t len;
    char *src = eng__read_file(path, &len);
    if (!src) {
        eng__build_error(b, eng__build_key_node(b, "script"), "cannot read Lua script \"%s\": %s", o->script,
                         strerror(errno));
        return ENG_ECONFIG;
    }
    eng_err err = {0};
    int rc = eng__chunk_compile(b->p->pool, o->script, src, len, false, &dt->chunk, &err);
    if (rc == ENG_ELUA) {
        int line = err.line ? err.line : 1;
        eng_diags_add(b->diags, ENG_DIAG_ERROR, path, line, guess_col(src, line, err.msg), "Lua: %s", err.msg);
        rc = ENG_ECONFIG;
    }
    eng__free(src);
    return rc;
}

static eng_result run(const eng_stage *st, eng_turn *t)
{
    const opts *o = st->opts;
    const data *dt = st->data;
    eng_sandbox *sb = eng__sandbox_acquire();
    if (!sb)
        return eng__turn_fail(t, "out of memory creating the Lua sandbox");
    json_object *out = NULL, *ret = NULL;
    eng_err err = {0};
    int rc = eng__sandbox_call(sb, &dt->chunk, o->function, t->ctx, t->deadline_us, writable, &out, &ret,
                               &err);
    eng__sandbox_release(sb);
    if (rc < 0) {
        json_object_put(out);
        json_object_put(ret);
        if (dt->fail_on_error)
            return eng__turn_fail(t, "%s", err.msg);
        eng__turn_note(t, "skipped: %s", err.msg);
        return ENG_R_DECLINED;
    }
    for (size_t i = 0; out && writable[i]; i++) {
        json_object *v;
        if (json_object_object_get_ex(out, writable[i], &v))
            json_object_object_add(t->ctx, writable[i], json_object_get(v));
    }
    eng_result r = ENG_R_OK;
    const char *s = ret && json_object_is_type(ret, json_type_string) ? json_object_get_string(ret) : NULL;
    if (s && strcmp(s, "done") == 0)
        r = ENG_R_DONE;
    else if (s && strcmp(s, "declined") == 0)
        r = ENG_R_DECLINED;
    json_object_put(out);
    json_object_put(ret);
    return r;
}

const eng_stage_type eng__stage_lua = {
    .name = "lua",
    .doc = "runs a function of a sandboxed Lua script with the turn context",
    .fields = fields,
    .opts_size = sizeof(opts),
    .create = create,
    .run = run,
};
