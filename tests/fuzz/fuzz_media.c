/* tests/fuzz/fuzz_media.c — what `aisle import --fetch-images` reads from
 * outside servers and what GET /media/{name} reads from a client:
 * (1) bytes sniffed for an image type (the ISO BMFF box walk of AVIF
 * included): a type comes with its extension, and the extension with a
 * valid media name; (2) the same bytes as a media name, which must be
 * accepted exactly when they are 64 lower-case hex digits, a dot and a
 * known extension (an independent check); (3) as a source URL. */
#include "stores/store.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int name_reference(const char *s)
{
    static const char *const ext[] = {"jpg", "png", "webp", "gif", "avif", NULL};
    if (strlen(s) < 66)
        return 0;
    for (int i = 0; i < 64; i++)
        if (!strchr("0123456789abcdef", s[i]) || !s[i])
            return 0;
    if (s[64] != '.')
        return 0;
    for (int k = 0; ext[k]; k++)
        if (!strcmp(s + 65, ext[k]))
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *ext = (const char *)1;
    const char *type = store_media_sniff(data, size, &ext);
    if ((type == NULL) != (ext == NULL))
        abort();
    if (type) {
        char name[STORE_MEDIA_NAME_MAX];
        memset(name, 'a', 64);
        name[64] = '.';
        memcpy(name + 65, ext, strlen(ext) + 1);   /* at most "avif" */
        if (!store_media_name_valid(name) || strncmp(type, "image/", 6) != 0)
            abort();
    }
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    if (store_media_name_valid(s) != name_reference(s))
        abort();
    if (store_media_url_valid(s) && strncmp(s, "http://", 7) && strncmp(s, "https://", 8))
        abort();
    free(s);
    return 0;
}
