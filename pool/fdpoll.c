/* fdpoll.c -- a descriptor watched on the loop by a heap-allocated
 * uv_poll_t.  The handle lives on the heap so that closing it never waits
 * for the pool to be freed, and a new worker process gets a new handle. */
#include <stdlib.h>
#include <unistd.h>

#include "pool.h"

wd__fdpoll *wd__fdpoll_open(uv_loop_t *loop, int fd, uv_poll_cb cb,
                            void *owner, int events) {
  wd__fdpoll *fp = calloc(1, sizeof(*fp));
  if (fp == NULL)
    return NULL;
  if (uv_poll_init(loop, &fp->h, fd) != 0) {
    free(fp);
    return NULL;
  }
  fp->fd = fd;
  fp->owner = owner;
  fp->h.data = fp;
  uv_unref((uv_handle_t *)&fp->h);
  fp->events = events;
  if (events)
    uv_poll_start(&fp->h, events, cb);
  return fp;
}

void wd__fdpoll_set(wd__fdpoll *fp, int events) {
  if (events == fp->events)
    return;
  fp->events = events;
  if (events)
    uv_poll_start(&fp->h, events, fp->h.poll_cb);
  else
    uv_poll_stop(&fp->h);
}

static void free_handle(uv_handle_t *h) { free(h->data); }

void wd__fdpoll_close(wd__fdpoll *fp) {
  /* uv_close() takes the fd out of epoll at once, so closing the fd right
   * after cannot leave a stale registration behind. */
  uv_close((uv_handle_t *)&fp->h, free_handle);
  close(fp->fd);
}

