/* engine/pipe_int.h — the loaded pipeline model and the stage-type
 * contract shared by the loader (load.c, link.c), the pipeline's lifetime
 * (pipeline.c), the turn (turn.c), the executor (exec.c) and the stage
 * types (engine/stages/). Internal to engine/. */
#ifndef AISLE_PIPE_INT_H
#define AISLE_PIPE_INT_H

#include "eng_int.h"
#include <stdatomic.h>
#include <yaml.h>

/* What a stage's run says happens next (nginx phase-handler style). */
typedef enum eng_result {
    ENG_R_OK = 0,     /* done; go on to the next stage (or the jump target) */
    ENG_R_DECLINED,   /* not mine; go on to the next stage */
    ENG_R_AGAIN,      /* waiting on I/O; call me again (until the deadline) */
    ENG_R_DONE,       /* the reply is final; stop here */
    ENG_R_ERROR,      /* failed; the turn answers with the error reply */
} eng_result;

/* eng__result_name: "ok", "declined", ... for traces (engine/turn.c). */
const char *eng__result_name(eng_result r);

/* Option kinds a stage type declares for its YAML keys. */
typedef enum eng_field_kind {
    ENG_F_STR,      /* const char * */
    ENG_F_INT,      /* long */
    ENG_F_NUM,      /* double */
    ENG_F_BOOL,     /* bool */
    ENG_F_STRLIST,  /* eng_strlist */
    ENG_F_NODE,     /* int: the yaml node index, for the type's create() */
} eng_field_kind;

typedef struct eng_strlist {
    const char **items;
    size_t n;
} eng_strlist;

typedef struct eng_field {
    const char *name;
    eng_field_kind kind;
    bool required;
    size_t offset;     /* into the type's options struct */
    const char *dflt;  /* default as YAML text, NULL = zero */
    double min, max;   /* for INT/NUM when min < max */
    const char *doc;   /* one line for `aisle lint --explain` and docs */
} eng_field;

typedef struct eng_stage eng_stage;
typedef struct eng_build eng_build;

/* A stage type: one file under engine/stages/ exports one of these. */
typedef struct eng_stage_type {
    const char *name;
    const char *doc;
    const eng_field *fields;   /* terminated by {NULL} */
    size_t opts_size;
    /* create: compile the stage from its options (already parsed into
     * st->opts); report problems with eng__build_error and return 0 or a
     * negative code. May add edges with eng__build_edge. */
    int (*create)(eng_stage *st, eng_build *b);
    /* run: one turn through the stage. */
    eng_result (*run)(const eng_stage *st, eng_turn *t);
    /* destroy: release what create made outside the pipeline pool. */
    void (*destroy)(eng_stage *st);
    /* warm: build now what the stage derives from store s (its catalog
     * caches, engine/catcache_int.h); may be NULL.  0 or -1 (note says why). */
    int (*warm)(const eng_stage *st, struct store *s, char *note, size_t cap);
} eng_stage_type;

/* An edge a stage may jump along (router targets). */
typedef struct eng_edge {
    const char *to_id;
    int to;            /* resolved stage index, -1 = end */
    int line, col;
} eng_edge;

struct eng_stage {
    const char *id;
    const eng_stage_type *type;
    int index;
    int line, col;          /* of the stage's mapping */
    const char *next_id;    /* explicit `next:` or NULL */
    int next_line, next_col;
    int next;               /* resolved: stage index, -1 = end of pipeline */
    eng_edge *edges;
    size_t nedges, edges_cap;
    void *opts;             /* the type's options struct */
    void *data;             /* what create made */
    eng_pipeline *pipe;
};

typedef struct eng_intent {
    const char *name;
    const char *description;
    eng_strlist examples;
    int line, col;
} eng_intent;

struct eng_pipeline {
    _Atomic long refs;
    eng_pool *pool;
    const char *name, *file, *base_dir, *description;
    long version;
    long deadline_ms;
    const char *error_reply, *timeout_reply;
    eng_intent *intents;
    size_t nintents;
    eng_stage *stages;
    size_t nstages;
    struct eng_rules *rules;   /* top-level `rules:` (engine/rules_int.h), or NULL */
    struct eng_kb *knowledge;  /* top-level `knowledge:` (engine/knowledge_int.h), or NULL */
    struct eng_checkout_cfg *checkout; /* top-level `checkout:` (engine/checkout_int.h), or NULL */
};

/* eng__pipeline_destroy: run every stage's destroy and free the pipeline's
 * pool, whatever its reference count (engine/pipeline.c; the loader calls
 * it on a failed load, eng_pipeline_release on the last release). */
void eng__pipeline_destroy(eng_pipeline *p);

/* Build context: what create() sees while a file loads. */
struct eng_build {
    eng_pipeline *p;
    eng_diags *diags;
    const char *file;        /* the file being read (for messages) */
    const char *text;        /* its text, to find positions libyaml omits */
    size_t len;
    yaml_document_t *doc;
    int node;                /* the stage's mapping node */
    eng_stage *stage;
};

/* eng__load_training: the `training:` list at `node` (CSV files whose
 * rows become intent examples; labels not declared become intents).
 * 0, or a negative ENG_E* after reporting through eng__build_error
 * (engine/training.c). */
int eng__load_training(eng_build *b, int node);

/* eng__build_error / eng__build_warn: a diagnostic at a YAML node
 * (node 0 = the stage's own mapping) of the file being loaded. */
void eng__build_error(eng_build *b, int node, const char *fmt, ...) ENG_PRINTF(3, 4);
void eng__build_warn(eng_build *b, int node, const char *fmt, ...) ENG_PRINTF(3, 4);
/* eng__build_check_keys: report each key of the mapping `node` that is
 * not in `keys` (NULL-terminated) as `unknown WHAT "KEY"WHERE` (WHERE
 * formatted from where_fmt), followed when `suggest` by eng__suggest's
 * hint; a key that is not a string as "keys must be strings". The one
 * unknown-key check of the loader and the stage types. 0, or ENG_ECONFIG
 * when it reported any (a node that is not a mapping is not checked). */
int eng__build_check_keys(eng_build *b, int node, const char *const *keys, bool suggest,
                          const char *what, const char *where_fmt, ...) ENG_PRINTF(6, 7);
/* eng__suggest: " (did you mean "x"?)" in buf when one of `names` is
 * close to `word` (one or two edits away, or word a prefix of it:
 * "deadline" for "deadline_ms"), else "" (engine/yamlutil.c). */
const char *eng__suggest(char *buf, size_t n, const char *word, const char *const *names);
/* eng__build_key_node: the value node of `key` in the stage mapping (0 if absent). */
int eng__build_key_node(eng_build *b, const char *key);
/* eng__build_edge: record that the stage may jump to `to_id` (position
 * of node for messages). */
int eng__build_edge(eng_build *b, const char *to_id, int node);
/* eng__build_path: resolve a file named in the pipeline (relative to
 * the pipeline's folder, then its parent). Pool string. */
const char *eng__build_path(eng_build *b, const char *rel);
/* eng__read_file: whole file into a new NUL-terminated buffer (eng__free). */
char *eng__read_file(const char *path, size_t *len);

/* eng__link: the graph checks after the stages loaded (engine/link.c):
 * resolve `next:` and router targets to stage indexes, compute each
 * stage's next, report unknown targets, unreachable stages and cycles as
 * diagnostics. 0, or ENG_ECONFIG when it reported an error. */
int eng__link(eng_build *b);

/* eng__build_scalar_pos: where the text of scalar `node` starts
 * (inside quotes; on the first content line of a | or > block). */
void eng__build_scalar_pos(eng_build *b, int node, int *line, int *col);

/* yaml helpers */
yaml_node_t *eng__ynode(yaml_document_t *d, int i);
const char *eng__yscalar(yaml_document_t *d, int i);   /* NULL if not a scalar */
int eng__ymap_get(yaml_document_t *d, int map, const char *key);
int eng__ynode_line(yaml_document_t *d, int i);        /* 1-based; 0 when no node */
int eng__ynode_col(yaml_document_t *d, int i);         /* 1-based; 0 when no node */
const char *eng__ynode_kind(yaml_document_t *d, int i); /* "a scalar", "a list", "a mapping" */
/* eng__parse_long: a whole decimal integer; 0, or -1 when s is not one. */
int eng__parse_long(const char *s, long *out);
/* eng__yaml_strlist: a list of scalars (or one scalar) at `node` into
 * *out (pool strings); reports a wrong shape as "`what` must be a list
 * of strings". 0, ENG_ECONFIG or ENG_ENOMEM. */
int eng__yaml_strlist(eng_build *b, int node, eng_strlist *out, const char *what);

/* The turn being run. */
struct eng_turn {
    eng_pool *pool;
    json_object *ctx;
    const eng_pipeline *p;
    const eng_turn_opts *opts;
    int64_t deadline_us;
    int jump;               /* set by a stage to jump to a stage index */
    const char *stage;      /* the id of the stage running now (NULL outside run_graph) */
    char note[256];         /* a stage's note for its trace entry */
    char errmsg[512];       /* a stage's error, when it returns ENG_R_ERROR */
    int claim;              /* opts->claim asked: 0 not yet, 1 granted, -1 refused */
    json_object *cart_read; /* ctx.cart as eng__cart_set last built it from the
                               store's lines (a reference, so that no other
                               object takes its address); NULL once the
                               commerce core may have changed the cart
                               otherwise (eng__cart_stale) */
    struct eng_turn_products *products; /* products read this turn
                                           (engine/turn_products.c); in the
                                           pool, NULL until the first */
};

/* The turn helpers below live in engine/turn.c, apart from the executor
 * (exec.c), so that the stage files depend on them and not on exec.c.
 * eng__turn_new: a turn with its pool and context, not yet run (eng_run
 * runs it; the pricing API uses it as the frame for rule calls). */
int eng__turn_new(eng_pipeline *p, const char *text, const eng_turn_opts *o, eng_turn **out, eng_err *err);

/* eng__turn_note / eng__turn_fail: set the trace note or the error. */
void eng__turn_note(eng_turn *t, const char *fmt, ...) ENG_PRINTF(2, 3);
eng_result eng__turn_fail(eng_turn *t, const char *fmt, ...) ENG_PRINTF(2, 3);

/* The stage type registry (stages/registry.c). */
const eng_stage_type *eng__stage_type(const char *name);
const eng_stage_type *const *eng__stage_types(void);

/* Stage types. */
extern const eng_stage_type eng__stage_classifier;
extern const eng_stage_type eng__stage_router;
extern const eng_stage_type eng__stage_formatter;
extern const eng_stage_type eng__stage_lua;
extern const eng_stage_type eng__stage_entities;
extern const eng_stage_type eng__stage_context;
extern const eng_stage_type eng__stage_agent;
extern const eng_stage_type eng__stage_action;
extern const eng_stage_type eng__stage_llm_agent;

#endif
