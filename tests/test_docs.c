/* test_docs.c -- the manual says what the program and the library are.
 *
 * A man page is written by hand, so it drifts from the code unless a test
 * holds the two together: for warden and each of its commands, the options
 * that `--help` prints and the options the man page lists (its term lines,
 * `*-t*, *--timeout*=_DURATION_`) must be the same set, each command that
 * `warden --help` names must have its entry in warden(1), and every function
 * a public header declares must appear in a section-3 page.  The pages are
 * read from man/ (tests run from the repo root); `--help` from WD_BIN. */
#include <ctype.h>
#include <glob.h>

#include "helpers.h"

enum {
  MAX_OPTS = 128,     /* options of one command; --help has fewer than 100 */
  MAX_NAME = 48,      /* the longest option or function name, with room */
  MAX_TEXT = 1 << 17, /* a help text, a page, or every section-3 page */
};

typedef struct {
  char name[MAX_OPTS][MAX_NAME];
  size_t n;
} names;

/* Reads a whole file or a command's stdout into buf, NUL-terminated. */
static void slurp(FILE *f, char *buf, size_t cap) {
  size_t n = fread(buf, 1, cap - 1, f);
  ck_assert_msg(n < cap - 1, "text longer than %zu bytes", cap - 1);
  buf[n] = '\0';
}

static void read_file(const char *path, char *buf, size_t cap) {
  FILE *f = fopen(path, "r");
  ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
  slurp(f, buf, cap);
  fclose(f);
}

static void read_help(const char *cmd, char *buf, size_t cap) {
  char line[256];
  snprintf(line, sizeof(line), "%s %s --help", WD_BIN, cmd);
  FILE *p = popen(line, "r");
  ck_assert_msg(p != NULL, "%s: %s", line, strerror(errno));
  slurp(p, buf, cap);
  ck_assert_msg(pclose(p) == 0, "%s did not exit 0", line);
}

static int is_name_char(int c) {
  return isalnum(c) || c == '-' || c == '_';
}

/* The start of the line after l's, or its terminating NUL. */
static const char *next_line(const char *l) {
  const char *eol = strchr(l, '\n');
  return eol != NULL ? eol + 1 : l + strlen(l);
}

static int has(const names *s, const char *name) {
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(s->name[i], name) == 0)
      return 1;
  return 0;
}

/* Adds the option that starts at p (a '-' and name characters). */
static void add_option(names *s, const char *p) {
  size_t len = 1;
  while (is_name_char((unsigned char)p[len]))
    len++;
  ck_assert_msg(len < MAX_NAME && s->n < MAX_OPTS, "option list too long at %.20s", p);
  char name[MAX_NAME];
  memcpy(name, p, len);
  name[len] = '\0';
  if (!has(s, name))
    snprintf(s->name[s->n++], MAX_NAME, "%s", name);
}

/* The options --help defines: on a line that starts, after its indent,
 * with an option, every option before the first double space
 * ("  -t, --timeout=DURATION  deadline ..."). */
static void help_options(const char *help, names *s) {
  for (const char *l = help; *l; l = next_line(l)) {
    const char *p = l;
    while (*p == ' ')
      p++;
    if (p == l || *p != '-')
      continue;
    const char *end = strstr(p, "  ");
    const char *eol = strchr(p, '\n');
    if (end == NULL || (eol != NULL && eol < end))
      end = eol != NULL ? eol : p + strlen(p);
    for (const char *q = p; q < end; q++)
      if (*q == '-' && (q == p || q[-1] == ' ') && is_name_char((unsigned char)q[1]))
        add_option(s, q);
  }
}

/* The options a page lists: on its term lines, which start with "*-",
 * every "*-..." there (scdoc's bold). */
static void page_options(const char *page, names *s) {
  for (const char *l = page; *l; l = next_line(l)) {
    if (strncmp(l, "*-", 2) != 0)
      continue;
    const char *eol = strchr(l, '\n');
    if (eol == NULL)
      eol = l + strlen(l);
    for (const char *q = l; q + 1 < eol; q++)
      if (q[0] == '*' && q[1] == '-' && is_name_char((unsigned char)q[2]))
        add_option(s, q + 1);
  }
}

/* Appends to msg each name of a that b lacks. */
static void missing(const names *a, const names *b, const char *what, char *msg, size_t cap) {
  for (size_t i = 0; i < a->n; i++)
    if (!has(b, a->name[i])) {
      size_t len = strlen(msg);
      snprintf(msg + len, cap - len, " %s %s;", a->name[i], what);
    }
}

static void check_command(const char *cmd, const char *page_path) {
  static char help[MAX_TEXT], page[MAX_TEXT];
  read_help(cmd, help, sizeof(help));
  read_file(page_path, page, sizeof(page));
  names h = {0}, p = {0};
  help_options(help, &h);
  page_options(page, &p);
  ck_assert_msg(h.n >= 2, "warden %s --help: no options found", cmd);
  char msg[4096] = "";
  missing(&h, &p, "is in --help but not in the page", msg, sizeof(msg));
  missing(&p, &h, "is in the page but not in --help", msg, sizeof(msg));
  ck_assert_msg(msg[0] == '\0', "%s:%s", page_path, msg);
}

START_TEST(warden_page_has_every_option_and_command) {
  check_command("", "man/warden.1.scd");
  static char help[MAX_TEXT], page[MAX_TEXT];
  read_help("", help, sizeof(help));
  read_file("man/warden.1.scd", page, sizeof(page));
  /* "Commands:" then "  exec   run one command ..." up to a blank line. */
  const char *l = strstr(help, "Commands:\n");
  ck_assert_msg(l != NULL, "warden --help lists no commands");
  int n = 0;
  for (l = strchr(l, '\n') + 1; *l == ' '; l = strchr(l, '\n') + 1) {
    char name[MAX_NAME], term[MAX_NAME + 4];
    ck_assert(sscanf(l, " %47s", name) == 1);
    snprintf(term, sizeof(term), "\n*%s*\n", name);
    ck_assert_msg(strstr(page, term) != NULL, "man/warden.1.scd: no entry for command %s", name);
    n++;
  }
  ck_assert_int_ge(n, 3);
}
END_TEST

START_TEST(exec_page_matches_help) {
  check_command("exec", "man/warden-exec.1.scd");
}
END_TEST

START_TEST(run_page_matches_help) {
  check_command("run", "man/warden-run.1.scd");
}
END_TEST

START_TEST(resize_page_matches_help) {
  check_command("resize", "man/warden-resize.1.scd");
}
END_TEST

/* Appends each public function a header declares (wd_name followed by
 * '(', not wd__) that text lacks as a whole word. */
static void undocumented(const char *header, const char *text, char *msg, size_t cap) {
  for (const char *q = strstr(header, "wd_"); q != NULL; q = strstr(q + 1, "wd_")) {
    if ((q > header && is_name_char((unsigned char)q[-1])) || q[3] == '_')
      continue;
    size_t len = 3;
    while (is_name_char((unsigned char)q[len]))
      len++;
    if (q[len] != '(')
      continue;
    int found = 0;
    for (const char *t = strstr(text, "wd_"); t != NULL && !found; t = strstr(t + 1, "wd_"))
      found = strncmp(t, q, len) == 0 && !is_name_char((unsigned char)t[len]) &&
              (t == text || !is_name_char((unsigned char)t[-1]));
    if (!found && strlen(msg) + len + 3 < cap)
      snprintf(msg + strlen(msg), cap - strlen(msg), " %.*s;", (int)len, q);
  }
}

START_TEST(every_public_function_has_its_page) {
  static char text[MAX_TEXT], header[MAX_TEXT];
  glob_t pages, headers;
  ck_assert_int_eq(glob("man/*.3.scd", 0, NULL, &pages), 0);
  ck_assert_int_eq(glob("include/*.h", 0, NULL, &headers), 0);
  size_t len = 0;
  for (size_t i = 0; i < pages.gl_pathc; i++) {
    read_file(pages.gl_pathv[i], text + len, sizeof(text) - len);
    len += strlen(text + len);
  }
  char msg[4096] = "";
  for (size_t i = 0; i < headers.gl_pathc; i++) {
    read_file(headers.gl_pathv[i], header, sizeof(header));
    undocumented(header, text, msg, sizeof(msg));
  }
  globfree(&pages);
  globfree(&headers);
  ck_assert_msg(msg[0] == '\0', "declared in include/ but in no man/*.3.scd:%s", msg);
}
END_TEST

int main(void) {
  Suite *s = suite_create("docs");
  TCase *tc = tcase_create("docs");
  tcase_add_test(tc, warden_page_has_every_option_and_command);
  tcase_add_test(tc, exec_page_matches_help);
  tcase_add_test(tc, run_page_matches_help);
  tcase_add_test(tc, resize_page_matches_help);
  tcase_add_test(tc, every_public_function_has_its_page);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
