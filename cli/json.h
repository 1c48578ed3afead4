/* json.h -- JSON output helpers for --json. */
#ifndef WD_CLI_JSON_H
#define WD_CLI_JSON_H

#include <stddef.h>
#include <stdio.h>

/* Writes n bytes at data as one JSON string, quotes included. */
void wd_json_string(FILE *f, const void *data, size_t n);

#endif
