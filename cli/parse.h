/* parse.h -- the words a user types: durations (250ms, 1m30s, 1.5, 0),
 * sizes (512M, 1.5G, 4096) and signals (TERM, SIGKILL, 9); inputs split
 * into words; and a joblog's records read back for --resume.  Each parser
 * returns 0 or UV_EINVAL and never accepts trailing junk. */
#ifndef WD__CLI_PARSE_H
#define WD__CLI_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* A duration in milliseconds.  Units: ms, s, m, h, d, combinable ("1m30s");
 * a bare number means seconds, as in timeout(1).  "0" is 0; any positive
 * duration is at least 1 ms ("0.0004" is 1, never 0 = none). */
int wd__parse_duration(const char *s, uint64_t *ms);

/* A duration as timeout(1) reads one -- a floating-point number as
 * strtod(3) takes it ("1e3", "0x10", " +5", "inf") with an optional
 * suffix s, m, h or d -- or as wd__parse_duration does ("250ms").  0 means
 * none: "0", and "inf", "infinity" or a duration no timer could reach. */
int wd__parse_timeout_duration(const char *s, uint64_t *ms);

/* A size in bytes.  Suffixes K, M, G, T (powers of 1024, optional "B" or
 * "iB"); a bare number means bytes.  A positive size is at least 1. */
int wd__parse_size(const char *s, uint64_t *bytes);

/* A signal by name (with or without SIG, any case; every name kill -l
 * knows, RTMIN+N and RTMAX-N too) or number. */
int wd__parse_signal(const char *s, int *sig);

/* sig's name without "SIG" ("TERM", "RTMIN+2"), or its number, in buf. */
const char *wd__signal_name(int sig, char *buf, size_t n);

/* A count: a decimal integer from lo to hi. */
int wd__parse_count(const char *s, long lo, long hi, long *out);
/* Splits p[0..n) into inputs at sep ('\n' or '\0'), calling emit for
 * each: a final separator does not make an empty input after it, and with
 * '\n' a line's trailing '\r' is dropped (CRLF files). */
void wd__split_inputs(const char *p, size_t n, char sep,
                     void (*emit)(void *ctx, const char *p, size_t n), void *ctx);

/* One joblog record (GNU parallel's nine tab-separated columns: Seq Host
 * Starttime JobRuntime Send Receive Exitval Signal Command), given without
 * its newline: its Seq (>= 1), Exitval and Signal.  UV_EINVAL for anything
 * else: the header, a line with fewer columns or a column that is not a
 * number where one belongs. */
int wd__parse_joblog_line(const char *line, size_t len, size_t *seq, int *exitval,
                         int *sig);

#endif
