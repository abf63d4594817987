/* Read-ahead ring for offline sources: see readahead.h. */
#include "readahead.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define RA_SLOTS 3

typedef struct {
  uint8_t *data;
  double *meta;
  size_t count;    /* packets in the slot */
  size_t pos;      /* packets already handed to JS */
  size_t data_len; /* bytes used in data */
} ra_slot;

struct sp_readahead {
  sp_fill_fn inner; /* the offline reader, run on the thread */
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  ra_slot slots[RA_SLOTS];
  size_t data_cap, pkt_cap;
  int head, full; /* next slot JS reads; slots filled and not yet released */
  int started, stop, ended, failed;
};

static void *reader(void *arg) {
  sp_source *s = arg;
  sp_readahead *ra = s->readahead;
  int tail = 0;
  for (;;) {
    pthread_mutex_lock(&ra->mu);
    while (ra->full == RA_SLOTS && !ra->stop) pthread_cond_wait(&ra->cv, &ra->mu);
    int stop = ra->stop;
    pthread_mutex_unlock(&ra->mu);
    if (stop) break;
    /* This slot is free and only this thread touches it until it is published. */
    ra_slot *slot = &ra->slots[tail];
    size_t before = s->captured_bytes;
    slot->count = ra->inner(s, slot->data, ra->data_cap, slot->meta, ra->pkt_cap);
    slot->data_len = (size_t)(s->captured_bytes - before);
    slot->pos = 0;
    pthread_mutex_lock(&ra->mu);
    ra->full++;
    if (slot->count == 0) ra->ended = 1; /* an empty slot marks the end of input */
    pthread_cond_broadcast(&ra->cv);
    pthread_mutex_unlock(&ra->mu);
    if (slot->count == 0) break;
    tail = (tail + 1) % RA_SLOTS;
  }
  return NULL;
}

static int start(sp_source *s, size_t data_cap, size_t pkt_cap) {
  sp_readahead *ra = s->readahead;
  ra->data_cap = data_cap;
  ra->pkt_cap = pkt_cap;
  for (int i = 0; i < RA_SLOTS; i++) {
    ra->slots[i].data = malloc(data_cap);
    ra->slots[i].meta = malloc(pkt_cap * SP_META_STRIDE * sizeof(double));
    if (!ra->slots[i].data || !ra->slots[i].meta) return -1;
  }
  if (pthread_create(&ra->thread, NULL, reader, s) != 0) return -1;
  ra->started = 1;
  return 0;
}

/* JS side: copy as much of the next ready slot as fits the caller's buffers. */
static size_t ra_fill(sp_source *s, uint8_t *data, size_t data_cap, double *meta, size_t pkt_cap) {
  sp_readahead *ra = s->readahead;
  if (ra->failed) return ra->inner(s, data, data_cap, meta, pkt_cap); /* no thread: read directly */
  if (!ra->started && start(s, data_cap, pkt_cap) != 0) {
    ra->failed = 1; /* out of memory or threads: fall back to reading on this thread */
    return ra->inner(s, data, data_cap, meta, pkt_cap);
  }
  pthread_mutex_lock(&ra->mu);
  while (ra->full == 0) pthread_cond_wait(&ra->cv, &ra->mu);
  ra_slot *slot = &ra->slots[ra->head];
  pthread_mutex_unlock(&ra->mu);
  if (slot->count == 0) return 0; /* end of input: stays in place, later calls return 0 too */

  size_t n = 0;
  if (slot->pos == 0 && slot->count <= pkt_cap && slot->data_len <= data_cap) {
    /* The usual case (same buffer sizes): the whole slot in two copies, offsets unchanged. */
    memcpy(data, slot->data, slot->data_len);
    memcpy(meta, slot->meta, slot->count * SP_META_STRIDE * sizeof(double));
    n = slot->count;
    slot->pos = slot->count;
  } else {
    /* Smaller caller buffers: hand over what fits, re-basing the offsets. */
    size_t used = 0;
    while (slot->pos < slot->count && n < pkt_cap) {
      const double *m = slot->meta + slot->pos * SP_META_STRIDE;
      size_t len = (size_t)m[SP_META_CAPLEN];
      if (used + len > data_cap && n > 0) break;
      if (len > data_cap - used) len = data_cap - used;
      double *o = meta + n * SP_META_STRIDE;
      memcpy(o, m, SP_META_STRIDE * sizeof(double));
      o[SP_META_CAPLEN] = (double)len;
      o[SP_META_OFFSET] = (double)used;
      memcpy(data + used, slot->data + (size_t)m[SP_META_OFFSET], len);
      used += len;
      n++;
      slot->pos++;
    }
  }
  if (slot->pos == slot->count) {
    pthread_mutex_lock(&ra->mu);
    ra->head = (ra->head + 1) % RA_SLOTS;
    ra->full--;
    pthread_cond_broadcast(&ra->cv);
    pthread_mutex_unlock(&ra->mu);
  }
  return n;
}

void sp_readahead_attach(sp_source *s) {
  sp_readahead *ra = calloc(1, sizeof *ra);
  if (!ra) return; /* no read-ahead: the source reads on the caller's thread */
  pthread_mutex_init(&ra->mu, NULL);
  pthread_cond_init(&ra->cv, NULL);
  ra->inner = s->fill;
  s->readahead = ra;
  s->fill = ra_fill;
}

void sp_readahead_close(sp_source *s) {
  sp_readahead *ra = s->readahead;
  if (!ra) return;
  if (ra->started) {
    pthread_mutex_lock(&ra->mu);
    ra->stop = 1;
    pthread_cond_broadcast(&ra->cv);
    pthread_mutex_unlock(&ra->mu);
    pthread_join(ra->thread, NULL);
  }
  for (int i = 0; i < RA_SLOTS; i++) {
    free(ra->slots[i].data);
    free(ra->slots[i].meta);
  }
  pthread_mutex_destroy(&ra->mu);
  pthread_cond_destroy(&ra->cv);
  s->fill = ra->inner;
  free(ra);
  s->readahead = NULL;
}
