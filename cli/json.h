/* json.h -- JSON output helpers for --json. */
#ifndef WD__CLI_JSON_H
#define WD__CLI_JSON_H

#include <stddef.h>
#include <stdio.h>

/* Writes n bytes at data as one JSON string, quotes included. */
void wd__json_string(FILE *f, const void *data, size_t n);
/* Writes the inside of a JSON string (no quotes) for bytes that come in
 * chunks: unless final, an unfinished UTF-8 sequence at the end is left
 * for the next chunk.  Returns how many bytes it consumed. */
size_t wd__json_bytes(FILE *f, const void *data, size_t n, int final);

#endif
