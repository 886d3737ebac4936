/* engine/csv.c — a small RFC 4180 reader for training files: quoted
 * fields with doubled quotes, embedded commas and newlines, CRLF; a field
 * at a time, or the fields a caller picks out of a record. */
#include "eng_int.h"
#include <string.h>

char *eng_csv_field(char **p, char *end, int *end_of_row)
{
    char *s = *p, *out = s, *start = s;
    if (s < end && *s == '"') {
        s++;
        while (s < end) {
            if (*s == '"') {
                if (s + 1 < end && s[1] == '"') {
                    *out++ = '"';
                    s += 2;
                    continue;
                }
                s++;
                break;
            }
            *out++ = *s++;
        }
        /* anything between the closing quote and the delimiter is kept,
         * as most readers do */
        while (s < end && *s != ',' && *s != '\n' && *s != '\r')
            *out++ = *s++;
    } else {
        while (s < end && *s != ',' && *s != '\n' && *s != '\r')
            *out++ = *s++;
    }
    *end_of_row = 1;
    if (s < end && *s == ',') {
        *end_of_row = 0;
        s++;
    } else {
        if (s < end && *s == '\r')
            s++;
        if (s < end && *s == '\n')
            s++;
    }
    *out = '\0'; /* out <= the delimiter, so this never clobbers unread input */
    *p = s;
    return start;
}

int eng_csv_row(char **p, char *end, const int *cols, const char **got, size_t n)
{
    for (size_t i = 0; i < n; i++)
        got[i] = NULL;
    int col = 0, eor = 0;
    const char *first = "";
    while (!eor) {
        char *f = eng_csv_field(p, end, &eor);
        if (col == 0)
            first = f;
        for (size_t i = 0; i < n; i++)
            if (cols[i] == col)
                got[i] = f;
        col++;
    }
    return col == 1 && !*first ? 0 : col;
}
