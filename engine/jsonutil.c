/* engine/jsonutil.c — small helpers over json-c used by stages and
 * templates: dotted-path lookup and typed getters. */
#include "eng_int.h"
#include <stdlib.h>
#include <string.h>

json_object *eng__json_path(json_object *root, const char *path)
{
    json_object *cur = root;
    const char *p = path;
    char key[128];
    while (cur && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n == 0 || n >= sizeof key)
            return NULL;
        memcpy(key, p, n);
        key[n] = '\0';
        if (json_object_is_type(cur, json_type_object)) {
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
