/*
 * Live capture: pcap_create/pcap_activate on an interface, a capture thread
 * that drains the kernel ring into a ring of batch slots, and sp_live_fill
 * that hands those batches to the JS thread. See live.h for the design.
 */
#include "live.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define STATS_EVERY_MS 1000
#define POLL_MS 1000
#define STOP_DRAIN_MS 2000

typedef struct {
  uint8_t *data;
  double *meta;
  size_t data_len;
  size_t count;
  uint64_t started_ms; /* when the first packet went in (for the age-based publish) */
} slot_t;

struct sp_live {
  pthread_t thread;
  int started;
  pthread_mutex_t mu;
  pthread_cond_t cond_free;

  slot_t *slots;
  size_t nslots, data_cap, pkt_cap;
  uint64_t w; /* slots published (capture thread writes, under mu) */
  uint64_t r; /* slots handed to JS (JS writes, under mu) */
  int have_slot; /* capture thread only: slots[w % nslots] is being filled */

  int stop;        /* JS asked to stop (under mu; read atomically by the thread) */
  int closing;     /* close(): do not wait for JS any more, discard */
  int thread_done; /* the thread published its last batch (under mu) */
  int waiting;     /* JS found nothing and wants a notify (under mu) */
  sp_notify_fn notify;
  void *notify_ctx;
  int wake_fd; /* eventfd: wakes the thread's poll on stop/close */
  int nano;
  int timeout_ms;
  int linktype;

  /* Under mu: statistics as 64-bit totals (pcap_stat fields are 32-bit and wrap). */
  double recv, drop, ifdrop;
  unsigned int last_recv, last_drop, last_ifdrop;
  int have_stats;
  uint64_t captured;       /* packets taken from libpcap (thread writes under mu at publish) */
  uint64_t captured_local; /* thread-private running count */
  uint64_t unread_at_stop;
  uint64_t discarded;
  uint64_t oversize;
  uint64_t last_stats_ms;
  char error[PCAP_ERRBUF_SIZE + 64]; /* why capture ended early; "" if it did not (under mu) */
};

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)(ts.tv_nsec / 1000000);
}

static void live_error(sp_error *err, sp_error_kind kind, const char *msg) {
  err->kind = kind;
  snprintf(err->msg, sizeof err->msg, "%s", msg);
}

/* ---- statistics (capture thread) ---- */

static void update_stats(sp_source *s) {
  sp_live *L = s->live;
  struct pcap_stat ps;
  if (pcap_stats(s->pcap, &ps) != 0) return;
  pthread_mutex_lock(&L->mu);
  if (L->have_stats) {
    /* Deltas in unsigned 32-bit arithmetic survive the counters wrapping. */
    L->recv += (double)(unsigned int)(ps.ps_recv - L->last_recv);
    L->drop += (double)(unsigned int)(ps.ps_drop - L->last_drop);
    L->ifdrop += (double)(unsigned int)(ps.ps_ifdrop - L->last_ifdrop);
  } else {
    L->recv = ps.ps_recv;
    L->drop = ps.ps_drop;
    L->ifdrop = ps.ps_ifdrop;
    L->have_stats = 1;
  }
  L->last_recv = ps.ps_recv;
  L->last_drop = ps.ps_drop;
  L->last_ifdrop = ps.ps_ifdrop;
  L->captured = L->captured_local;
  pthread_mutex_unlock(&L->mu);
  L->last_stats_ms = now_ms();
}

/* ---- slots (capture thread) ---- */

/* Makes slots[w % nslots] the one being filled; waits while JS holds every
 * slot. 0 when closing (the caller discards). */
static int acquire_slot(sp_live *L) {
  pthread_mutex_lock(&L->mu);
  while (L->w - L->r >= L->nslots && !L->closing) pthread_cond_wait(&L->cond_free, &L->mu);
  int ok = !L->closing;
  pthread_mutex_unlock(&L->mu);
  if (!ok) return 0;
  slot_t *sl = &L->slots[L->w % L->nslots];
  sl->count = 0;
  sl->data_len = 0;
  L->have_slot = 1;
  return 1;
}

/* Hands the slot being filled to JS (if it holds packets) and wakes JS if it waits. */
static void publish(sp_live *L) {
  if (!L->have_slot || L->slots[L->w % L->nslots].count == 0) return;
  pthread_mutex_lock(&L->mu);
  L->w++;
  L->have_slot = 0;
  L->captured = L->captured_local;
  int wake = L->waiting;
  L->waiting = 0;
  pthread_mutex_unlock(&L->mu);
  if (wake && L->notify) L->notify(L->notify_ctx);
}

static void on_live_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes) {
  sp_source *s = (sp_source *)user;
  sp_live *L = s->live;
  L->captured_local++;
  if (!L->have_slot && !acquire_slot(L)) {
    L->discarded++;
    return;
  }
  size_t len = h->caplen;
  if (len > L->data_cap) { /* only when batch_bytes < snaplen, which the TS side refuses */
    len = L->data_cap;
    L->oversize++;
  }
  slot_t *sl = &L->slots[L->w % L->nslots];
  if (sl->count == L->pkt_cap || (sl->count > 0 && len > L->data_cap - sl->data_len)) {
    publish(L);
    if (!acquire_slot(L)) {
      L->discarded++;
      return;
    }
    sl = &L->slots[L->w % L->nslots];
  }
  if (sl->count == 0) sl->started_ms = now_ms();
  long ns = (long)h->ts.tv_usec;
  if (!L->nano) ns *= 1000;
  sp_write_record(sl->meta + sl->count * SP_META_STRIDE, sl->data, sl->data_len, (double)h->ts.tv_sec, ns, len, h->len,
                  L->linktype, bytes);
  sl->data_len += len;
  sl->count++;
}

/* ---- the capture thread ---- */

static int stop_requested(sp_live *L) { return __atomic_load_n(&L->stop, __ATOMIC_ACQUIRE); }

static void set_thread_error(sp_live *L, const char *fmt, const char *detail) {
  pthread_mutex_lock(&L->mu);
  snprintf(L->error, sizeof L->error, fmt, detail);
  pthread_mutex_unlock(&L->mu);
}

/* Error bits on the packet socket: the interface went down or vanished. */
static int socket_failed(sp_live *L, int fd, short revents) {
  if (revents & POLLNVAL) {
    set_thread_error(L, "%s", "capture socket closed");
    return 1;
  }
  if (revents & (POLLERR | POLLHUP)) {
    int e = 0;
    socklen_t len = sizeof e;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len);
    if (e == ENETDOWN) set_thread_error(L, "%s", "the interface went down");
    else if (e == ENODEV || e == ENXIO) set_thread_error(L, "%s", "the interface disappeared");
    else if (e != 0) set_thread_error(L, "capture socket error: %s", strerror(e));
    else if (revents & POLLHUP) set_thread_error(L, "%s", "hangup on the capture socket");
    else return 0; /* POLLERR without an error: try again */
    return 1;
  }
  return 0;
}

/*
 * After stop: read what the kernel queued before the stop. pcap_stats counts
 * every packet that passed the filter (ps_recv, drops included), so the goal
 * is captured >= recv - drop as of the stop. A TPACKET_V3 block reaches us only
 * when full or after the block timeout, so wait for that; give up on a quiet
 * ring (nothing for two block timeouts) or after STOP_DRAIN_MS.
 */
static void drain_after_stop(sp_source *s, struct pollfd *fds) {
  sp_live *L = s->live;
  update_stats(s);
  pthread_mutex_lock(&L->mu);
  double target = L->recv - L->drop;
  pthread_mutex_unlock(&L->mu);
  uint64_t deadline = now_ms() + STOP_DRAIN_MS;
  int quiet_ms = 2 * L->timeout_ms + 20;
  while ((double)L->captured_local < target) {
    int rc = pcap_dispatch(s->pcap, -1, on_live_packet, (u_char *)s);
    if (rc < 0) break;
    if (rc > 0) continue;
    uint64_t now = now_ms();
    if (now >= deadline) break;
    int wait = (int)(deadline - now < (uint64_t)quiet_ms ? deadline - now : (uint64_t)quiet_ms);
    fds[0].revents = 0;
    int pr = poll(fds, 1, wait);
    if (pr == 0) break; /* nothing more is coming */
    if (pr < 0 && errno != EINTR) break;
    if (fds[0].revents & (POLLERR | POLLHUP | POLLNVAL)) break;
  }
}

static void *capture_main(void *arg) {
  sp_source *s = (sp_source *)arg;
  sp_live *L = s->live;
  struct pollfd fds[2] = {{pcap_get_selectable_fd(s->pcap), POLLIN, 0}, {L->wake_fd, POLLIN, 0}};
  int failed = 0;
  update_stats(s);
  while (!stop_requested(L)) {
    int rc = pcap_dispatch(s->pcap, -1, on_live_packet, (u_char *)s);
    if (rc == PCAP_ERROR_BREAK) continue;
    if (rc < 0) {
      set_thread_error(L, "%s", pcap_geterr(s->pcap));
      failed = 1;
      break;
    }
    uint64_t now = now_ms();
    if (rc == 0) {
      publish(L); /* the kernel had nothing more: do not sit on a partial batch */
      if (now - L->last_stats_ms >= STATS_EVERY_MS) update_stats(s);
      fds[0].revents = fds[1].revents = 0;
      int pr = poll(fds, 2, POLL_MS);
      if (pr < 0 && errno != EINTR) {
        set_thread_error(L, "poll failed: %s", strerror(errno));
        failed = 1;
        break;
      }
      if (pr > 0 && socket_failed(L, fds[0].fd, fds[0].revents)) {
        failed = 1;
        break;
      }
      if (fds[1].revents & POLLIN) {
        uint64_t v;
        if (read(L->wake_fd, &v, sizeof v) < 0) { /* nothing to do: the flag is what matters */ }
      }
    } else {
      /* Busy ring: publish a partial batch once it is older than the block timeout. */
      if (L->have_slot && now - L->slots[L->w % L->nslots].started_ms >= (uint64_t)L->timeout_ms) publish(L);
      if (now - L->last_stats_ms >= STATS_EVERY_MS) update_stats(s);
    }
  }
  pthread_mutex_lock(&L->mu);
  int closing = L->closing;
  pthread_mutex_unlock(&L->mu);
  if (!failed && !closing) drain_after_stop(s, fds);
  publish(L);
  update_stats(s);
  pthread_mutex_lock(&L->mu);
  double unread = L->recv - L->drop - (double)L->captured_local;
  L->unread_at_stop = unread > 0 ? (uint64_t)unread : 0;
  L->captured = L->captured_local;
  L->thread_done = 1;
  int wake = L->waiting;
  L->waiting = 0;
  pthread_mutex_unlock(&L->mu);
  if (wake && L->notify) L->notify(L->notify_ctx);
  return NULL;
}

/* ---- open / start / stop ---- */

/* sp_stats for a live source: libpcap's counters as last refreshed. */
static void live_stats(sp_source *s, double *received, double *dropped, double *if_dropped) {
  double captured;
  sp_live_stats(s, received, dropped, if_dropped, &captured);
}

sp_source *sp_open_live(const sp_live_options *o, sp_error *err) {
  memset(err, 0, sizeof *err);
  char errbuf[PCAP_ERRBUF_SIZE] = "";
  pcap_t *p = pcap_create(o->device, errbuf);
  if (!p) {
    live_error(err, SP_READ_ERROR, errbuf);
    return NULL;
  }
  pcap_set_snaplen(p, o->snaplen);
  pcap_set_promisc(p, o->promisc ? 1 : 0);
  pcap_set_timeout(p, o->timeout_ms);
  pcap_set_immediate_mode(p, 0); /* batches: the kernel hands over whole blocks */
  pcap_set_buffer_size(p, o->buffer_size);
  /* Nanoseconds where the kernel has them; otherwise libpcap stays at µs and we scale. */
  pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO);

  int rc = pcap_activate(p);
  if (rc < 0) {
    sp_error_kind kind = SP_READ_ERROR;
    if (rc == PCAP_ERROR_NO_SUCH_DEVICE) kind = SP_NOT_FOUND;
    else if (rc == PCAP_ERROR_PERM_DENIED || rc == PCAP_ERROR_PROMISC_PERM_DENIED) kind = SP_PERMISSION;
    const char *detail = pcap_geterr(p);
    char msg[PCAP_ERRBUF_SIZE + 64];
    if (rc == PCAP_ERROR && detail && detail[0]) snprintf(msg, sizeof msg, "%s", detail);
    else if (detail && detail[0] && strcmp(detail, pcap_statustostr(rc)) != 0)
      snprintf(msg, sizeof msg, "%s (%s)", pcap_statustostr(rc), detail);
    else snprintf(msg, sizeof msg, "%s", pcap_statustostr(rc));
    live_error(err, kind, msg);
    pcap_close(p);
    return NULL;
  }

  if (o->filter && o->filter[0]) {
    struct bpf_program prog;
    if (pcap_compile(p, &prog, o->filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
      live_error(err, SP_BAD_FILTER, pcap_geterr(p));
      pcap_close(p);
      return NULL;
    }
    int frc = pcap_setfilter(p, &prog);
    pcap_freecode(&prog);
    if (frc != 0) {
      live_error(err, SP_BAD_FILTER, pcap_geterr(p));
      pcap_close(p);
      return NULL;
    }
  }
  if (pcap_setnonblock(p, 1, errbuf) != 0 || pcap_get_selectable_fd(p) < 0) {
    live_error(err, SP_READ_ERROR, errbuf[0] ? errbuf : "no selectable descriptor for this capture");
    pcap_close(p);
    return NULL;
  }

  sp_source *s = calloc(1, sizeof *s);
  sp_live *L = calloc(1, sizeof *L);
  size_t n = o->ring_batches < 2 ? 2 : o->ring_batches;
  slot_t *slots = calloc(n, sizeof *slots);
  int ok = s && L && slots;
  for (size_t i = 0; ok && i < n; i++) {
    slots[i].data = malloc(o->batch_bytes);
    slots[i].meta = malloc(o->batch_packets * SP_META_STRIDE * sizeof(double));
    ok = slots[i].data && slots[i].meta;
  }
  int efd = ok ? eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC) : -1;
  if (!ok || efd < 0) {
    if (efd >= 0) close(efd);
    for (size_t i = 0; slots && i < n; i++) {
      free(slots[i].data);
      free(slots[i].meta);
    }
    free(slots);
    free(L);
    free(s);
    pcap_close(p);
    live_error(err, SP_READ_ERROR, ok ? "eventfd failed" : "out of memory for the capture ring");
    return NULL;
  }
  pthread_mutex_init(&L->mu, NULL);
  pthread_cond_init(&L->cond_free, NULL);
  L->slots = slots;
  L->nslots = n;
  L->data_cap = o->batch_bytes;
  L->pkt_cap = o->batch_packets;
  L->wake_fd = efd;
  L->nano = pcap_get_tstamp_precision(p) == PCAP_TSTAMP_PRECISION_NANO;
  L->timeout_ms = o->timeout_ms;
  L->linktype = pcap_datalink(p);

  s->type = SP_SOURCE_LIVE;
  s->fill = sp_live_fill;
  s->stats = live_stats;
  s->close_hook = sp_live_close;
  s->free_hook = sp_live_free;
  s->pcap = p;
  s->linktype = L->linktype;
  s->live = L;
  return s;
}

void sp_live_set_notify(sp_source *s, sp_notify_fn fn, void *ctx) {
  s->live->notify = fn;
  s->live->notify_ctx = ctx;
}

int sp_live_start(sp_source *s, sp_error *err) {
  sp_live *L = s->live;
  if (L->started) return 0;
  /* The capture thread takes no signals: Node's handlers run on the main thread. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int rc = pthread_create(&L->thread, NULL, capture_main, s);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != 0) {
    live_error(err, SP_READ_ERROR, strerror(rc));
    return -1;
  }
  L->started = 1;
  return 0;
}

static void wake_thread(sp_live *L) {
  uint64_t one = 1;
  if (write(L->wake_fd, &one, sizeof one) < 0) { /* counter full: a wake-up is pending anyway */ }
}

void sp_live_stop(sp_source *s) {
  sp_live *L = s->live;
  if (!L) return;
  __atomic_store_n(&L->stop, 1, __ATOMIC_RELEASE);
  if (L->started) wake_thread(L);
}

int sp_live_state(sp_source *s) {
  sp_live *L = s->live;
  if (!L || !L->started) return SP_LIVE_ENDED;
  pthread_mutex_lock(&L->mu);
  int st = L->thread_done ? (L->r == L->w ? SP_LIVE_ENDED : SP_LIVE_STOPPING)
                          : (stop_requested(L) ? SP_LIVE_STOPPING : SP_LIVE_CAPTURING);
  pthread_mutex_unlock(&L->mu);
  return st;
}

int sp_live_nano(sp_source *s) { return s->live ? s->live->nano : 0; }

/* ---- the JS side ---- */

size_t sp_live_fill(sp_source *s, uint8_t *data, size_t data_cap, double *meta, size_t pkt_cap) {
  sp_live *L = s->live;
  if (!L || !L->slots) return 0;
  pthread_mutex_lock(&L->mu);
  if (L->r == L->w) {
    if (!L->thread_done) L->waiting = 1;
    else if (L->error[0] && !s->warning[0]) snprintf(s->warning, sizeof s->warning, "%s", L->error);
    s->oversize = L->oversize;
    pthread_mutex_unlock(&L->mu);
    return 0;
  }
  slot_t *sl = &L->slots[L->r % L->nslots];
  pthread_mutex_unlock(&L->mu);
  /* The addon checks that the caller's buffers are at least the slot size. */
  size_t bytes = sl->data_len <= data_cap ? sl->data_len : data_cap;
  size_t count = sl->count <= pkt_cap ? sl->count : pkt_cap;
  memcpy(data, sl->data, bytes);
  memcpy(meta, sl->meta, count * SP_META_STRIDE * sizeof(double));
  s->captured_bytes += bytes;
  pthread_mutex_lock(&L->mu);
  L->r++;
  pthread_cond_signal(&L->cond_free);
  pthread_mutex_unlock(&L->mu);
  return count;
}

void sp_live_stats(sp_source *s, double *received, double *dropped, double *if_dropped,
                   double *captured) {
  sp_live *L = s->live;
  pthread_mutex_lock(&L->mu);
  *received = L->recv;
  *dropped = L->drop;
  *if_dropped = L->ifdrop;
  *captured = (double)L->captured;
  pthread_mutex_unlock(&L->mu);
}

void sp_live_losses(sp_source *s, double *unread_at_stop, double *discarded_at_close) {
  sp_live *L = s->live;
  pthread_mutex_lock(&L->mu);
  *unread_at_stop = (double)L->unread_at_stop;
  *discarded_at_close = (double)L->discarded;
  pthread_mutex_unlock(&L->mu);
}

void *sp_live_notify_ctx(sp_source *s) { return s->live ? s->live->notify_ctx : NULL; }

size_t sp_live_slot_bytes(sp_source *s) { return s->live ? s->live->data_cap : 0; }
size_t sp_live_slot_packets(sp_source *s) { return s->live ? s->live->pkt_cap : 0; }

void sp_live_close(sp_source *s) {
  sp_live *L = s->live;
  if (!L || !L->slots) return;
  if (L->started) {
    pthread_mutex_lock(&L->mu);
    L->closing = 1;
    pthread_cond_broadcast(&L->cond_free);
    pthread_mutex_unlock(&L->mu);
    __atomic_store_n(&L->stop, 1, __ATOMIC_RELEASE);
    wake_thread(L);
    pthread_join(L->thread, NULL);
    L->started = 0;
    /* Batches published but never read were lost to close(): count them. */
    for (uint64_t i = L->r; i < L->w; i++) L->discarded += L->slots[i % L->nslots].count;
    L->r = L->w;
  }
  if (L->error[0] && !s->warning[0]) snprintf(s->warning, sizeof s->warning, "%s", L->error);
  s->oversize = L->oversize;
  for (size_t i = 0; i < L->nslots; i++) {
    free(L->slots[i].data);
    free(L->slots[i].meta);
  }
  free(L->slots);
  L->slots = NULL;
  close(L->wake_fd);
  L->wake_fd = -1;
  L->thread_done = 1;
}

void sp_live_free(sp_source *s) {
  sp_live *L = s->live;
  if (!L) return;
  pthread_mutex_destroy(&L->mu);
  pthread_cond_destroy(&L->cond_free);
  free(L);
  s->live = NULL;
}
