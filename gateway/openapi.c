/* gateway/openapi.c — embeds gateway/openapi.json in the binary (the
 * assembler's .incbin, path relative to the repository root where make
 * runs), so the server needs no file at run time. */
#include "gw_int.h"

__asm__(".section .rodata\n"
        ".global gw__openapi_doc\n"
        ".type gw__openapi_doc, @object\n"
        ".balign 16\n"
        "gw__openapi_doc:\n"
        ".incbin \"gateway/openapi.json\"\n"
        ".byte 0\n"
        ".previous\n");

extern const char gw__openapi_doc[];

const char *gw_openapi(void) { return gw__openapi_doc; }
