/* engine/jsonutil.c — small helpers over json-c used by stages and
 * templates: dotted-path lookup and typed getters. */
#include "eng_int.h"
#include <stdlib.h>
#include <string.h>

/* A path part of this many bytes or more finds nothing (the part was
 * once copied into a buffer of this size; the contract kept it). */
#define PATH_PART_MAX 128
/* Objects of up to this many members are searched along json-c's list of
 * entries instead of hashed: a turn's context and session objects have 1
 * to 18 members, and comparing each key's first byte costs less than
 * json-c's hash of the part and its probe (about 190 instructions), with
 * no copy of the part to end it with a NUL. */
#define PATH_SCAN_MAX 24

/* The member of `t` (an object's table) named by the part at `p`, which
 * ends at a '.' or the NUL; *len is set to the part's length when found.
 * Returns 1 found (*v the member, NULL for JSON null), 0 absent, -1 when
 * the table is too large to scan (nothing set). Keys of one object are
 * distinct (json-c replaces a key added again; nothing here adds one
 * twice), so the first match is the one the hash would find. */
static int scan_member(struct lh_table *t, const char *p, size_t *len, json_object **v)
{
    if (lh_table_length(t) > PATH_SCAN_MAX)
        return -1;
    const char c0 = p[0];
    for (struct lh_entry *e = lh_table_head(t); e; e = lh_entry_next(e)) {
        const char *k = (const char *)lh_entry_k(e);
        if (k[0] != c0)
            continue;
        size_t i = 1;
        /* a key's '.' never matches: the part ends there */
        while (k[i] && k[i] == p[i] && p[i] != '.')
            i++;
        if (k[i] == '\0' && (p[i] == '\0' || p[i] == '.')) {
            *len = i;
            *v = (json_object *)lh_entry_v(e);
            return 1;
        }
    }
    return 0;
}

json_object *eng__json_path(json_object *root, const char *path)
{
    json_object *cur = root;
    const char *p = path;
    while (cur && *p) {
        if (*p == '.')
            return NULL; /* an empty part */
        struct lh_table *t = json_object_get_object(cur);
        size_t n;
        if (t) {
            int r = scan_member(t, p, &n, &cur);
            if (r == 0 || (r == 1 && n >= PATH_PART_MAX))
                return NULL;
            if (r == 1) {
                p += n;
                if (*p == '.')
                    p++;
                continue;
            }
        }
        const char *dot = strchr(p, '.');
        n = dot ? (size_t)(dot - p) : strlen(p);
        if (n >= PATH_PART_MAX)
            return NULL;
        char key[PATH_PART_MAX];
        memcpy(key, p, n);
        key[n] = '\0';
        if (t) {
            if (!json_object_object_get_ex(cur, key, &cur))
                return NULL;
        } else if (json_object_is_type(cur, json_type_array)) {
            char *end;
            long i = strtol(key, &end, 10);
            if (*end || i < 0 || (size_t)i >= json_object_array_length(cur))
                return NULL;
            cur = json_object_array_get_idx(cur, (size_t)i);
        } else {
            return NULL;
        }
        p += n;
        if (*p == '.')
            p++;
    }
    return cur;
}

const char *eng__json_str(json_object *root, const char *path, const char *dflt)
{
    json_object *v = eng__json_path(root, path);
    if (!v || !json_object_is_type(v, json_type_string))
        return dflt;
    return json_object_get_string(v);
}

void eng__json_set(json_object *root, const char *key, json_object *val)
{
    json_object_object_add(root, key, val);
}
