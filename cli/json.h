/* json.h -- JSON output helpers for --json. */
#ifndef WD__CLI_JSON_H
#define WD__CLI_JSON_H

#include <stddef.h>
#include <stdio.h>

/* Writes n bytes at data as one JSON string, quotes included. */
void wd__json_string(FILE *f, const void *data, size_t n);

#endif
