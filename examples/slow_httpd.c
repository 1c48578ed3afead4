/* slow_httpd.c -- the server crawl.sh crawls: a small HTTP server on
 * 127.0.0.1 (libuv) that answers every request after a delay, as a busy
 * site does, and counts what a polite crawler must keep low: requests in
 * flight at once, and how fast requests arrived (from the first to the
 * last).
 *
 *   slow_httpd [DELAY_MS]     (default 200; prints "port N" when ready)
 *
 * GET /stats answers those figures and starts counting afresh; any other
 * GET answers a small page.  SIGTERM or SIGINT stops it. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

typedef struct {
  uv_tcp_t tcp;
  uv_timer_t delay;
  uv_write_t wr;
  char req[2048];
  size_t len;
  char resp[512];
  int counted, handles;
} conn;

static struct {
  uv_loop_t *loop;
  uv_tcp_t server;
  uv_signal_t term, intr;
  uint64_t delay_ms;
  unsigned in_flight, most_in_flight, requests;
  uint64_t first, last; /* arrival times, ns */
} H;

static void arrived(void) {
  H.last = uv_hrtime();
  if (H.requests++ == 0)
    H.first = H.last;
  if (++H.in_flight > H.most_in_flight)
    H.most_in_flight = H.in_flight;
}

static void on_closed(uv_handle_t *h) {
  conn *c = h->data;
  if (--c->handles == 0)
    free(c);
}

static void finish(conn *c) {
  if (c->counted)
    H.in_flight--;
  c->counted = 0;
  uv_close((uv_handle_t *)&c->tcp, on_closed);
  uv_close((uv_handle_t *)&c->delay, on_closed);
}

static void on_written(uv_write_t *w, int status) {
  (void)status;
  finish(w->data);
}

static void respond(conn *c) {
  uv_buf_t b = uv_buf_init(c->resp, (unsigned)strlen(c->resp));
  c->wr.data = c;
  if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0)
    finish(c);
}

static void on_delay(uv_timer_t *t) { respond(t->data); }

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  conn *c = s->data;
  (void)buf;
  if (n < 0) {
    uv_read_stop(s);
    finish(c);
    return;
  }
  c->len += (size_t)n;
  c->req[c->len] = '\0';
  if (strstr(c->req, "\r\n\r\n") == NULL) {
    if (c->len == sizeof(c->req) - 1)
      finish(c);
    return;
  }
  uv_read_stop(s);
  char body[256];
  if (strncmp(c->req, "GET /stats ", 11) == 0) {
    double span = (H.last - H.first) / 1e9;
    snprintf(body, sizeof(body),
             "requests %u, most at once %u, %.1f requests/s\n", H.requests,
             H.most_in_flight, H.requests > 1 && span > 0 ? (H.requests - 1) / span : 0.0);
    H.requests = H.most_in_flight = 0;
  } else {
    arrived();
    c->counted = 1;
    snprintf(body, sizeof(body), "page %u\n", H.requests);
  }
  snprintf(c->resp, sizeof(c->resp),
           "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
           "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
           strlen(body), body);
  if (c->counted)
    uv_timer_start(&c->delay, on_delay, H.delay_ms, 0);
  else
    respond(c);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  conn *c = h->data;
  (void)hint;
  *buf = uv_buf_init(c->req + c->len, (unsigned)(sizeof(c->req) - 1 - c->len));
}

static void on_connection(uv_stream_t *server, int status) {
  if (status < 0)
    return;
  conn *c = calloc(1, sizeof(*c));
  uv_tcp_init(H.loop, &c->tcp);
  uv_timer_init(H.loop, &c->delay);
  c->tcp.data = c->delay.data = c;
  c->handles = 2;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 ||
      uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
    finish(c);
}

static void on_signal(uv_signal_t *s, int sig) {
  (void)s;
  (void)sig;
  uv_stop(H.loop);
}

int main(int argc, char **argv) {
  H.loop = uv_default_loop();
  H.delay_ms = argc > 1 ? strtoull(argv[1], NULL, 10) : 200;
  if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
    fprintf(stderr, "usage: slow_httpd [DELAY_MS]\n");
    return 2;
  }
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", 0, &addr);
  uv_tcp_init(H.loop, &H.server);
  int err = uv_tcp_bind(&H.server, (const struct sockaddr *)&addr, 0);
  if (err == 0)
    err = uv_listen((uv_stream_t *)&H.server, 511, on_connection);
  if (err) {
    fprintf(stderr, "slow_httpd: %s\n", uv_strerror(err));
    return 1;
  }
  int len = sizeof(addr);
  uv_tcp_getsockname(&H.server, (struct sockaddr *)&addr, &len);
  printf("port %d\n", ntohs(addr.sin_port));
  fflush(stdout);
  uv_signal_init(H.loop, &H.term);
  uv_signal_init(H.loop, &H.intr);
  uv_signal_start(&H.term, on_signal, SIGTERM);
  uv_signal_start(&H.intr, on_signal, SIGINT);
  uv_run(H.loop, UV_RUN_DEFAULT);
  return 0;
}
