/*
 * Live capture behind the same sp_source / sp_next batch interface as files.
 *
 * A capture thread owns the pcap handle once activated: it drains the kernel
 * ring (pcap_dispatch, non-blocking, woken by poll) into a ring of batch slots
 * owned by this module, and publishes a slot when it is full or the kernel had
 * nothing more. sp_next (the JS thread) copies the oldest published slot into
 * the caller's batch and frees it; it never blocks. When nothing is published
 * it records that the caller is waiting, and the capture thread calls the
 * notify function once the next slot (or the end) is ready, so the JS side can
 * sleep on a promise instead of polling.
 *
 * When every slot is published and unread (JS is behind), the capture thread
 * waits for a free slot and stops reading the kernel ring meanwhile: the
 * kernel's buffer absorbs the burst, and what it cannot hold is counted by the
 * kernel (pcap_stats ps_drop). Nothing is dropped silently here.
 *
 * All libpcap calls after activation happen on the capture thread (pcap_stats
 * too, once a second and at the end); the JS thread reads the cached values.
 */
#ifndef SENSOR_LIVE_H
#define SENSOR_LIVE_H

#include "source.h"

typedef struct {
  const char *device;   /* interface name, e.g. "eth0" */
  const char *filter;   /* BPF filter, NULL or "" = none */
  int snaplen;          /* bytes kept per packet */
  int promisc;          /* 1 = promiscuous mode */
  int buffer_size;      /* kernel ring size in bytes (pcap_set_buffer_size) */
  int timeout_ms;       /* kernel block timeout: latency bound at low rates */
  size_t batch_bytes;   /* bytes per batch slot (>= snaplen) */
  size_t batch_packets; /* packets per batch slot */
  size_t ring_batches;  /* batch slots between the capture thread and JS (>= 2) */
} sp_live_options;

/* Capture state, see sp_live_state. */
enum { SP_LIVE_CAPTURING = 0, SP_LIVE_STOPPING = 1, SP_LIVE_ENDED = 2 };

/* Creates and activates the capture, applies the filter. Does not start the
 * thread yet (sp_live_start), so the caller can install its notify function.
 * NULL with err filled on failure: SP_NOT_FOUND (no such interface),
 * SP_PERMISSION (needs root / CAP_NET_RAW), SP_BAD_FILTER, SP_READ_ERROR. */
sp_source *sp_open_live(const sp_live_options *o, sp_error *err);

/* Called on the capture thread when a batch or the end is ready and the
 * consumer said it was waiting (at most once per wait). */
typedef void (*sp_notify_fn)(void *ctx);
void sp_live_set_notify(sp_source *s, sp_notify_fn fn, void *ctx);

/* Starts the capture thread. 0 on success, else -1 with err filled. */
int sp_live_start(sp_source *s, sp_error *err);

/* Asks the capture thread to stop: it reads what the kernel already queued
 * (bounded: at most 2 s), publishes it, takes final stats and ends. Batches
 * keep coming from sp_next until sp_live_state says SP_LIVE_ENDED and none is
 * left. Returns at once. Idempotent. */
void sp_live_stop(sp_source *s);

/* SP_LIVE_CAPTURING, SP_LIVE_STOPPING, or SP_LIVE_ENDED (thread finished and
 * every published batch handed out). */
int sp_live_state(sp_source *s);

/* 1 when timestamps are nanoseconds from the kernel, 0 when libpcap fell back
 * to microseconds (scaled to ns in meta either way). */
int sp_live_nano(sp_source *s);

/* Latest pcap_stats (refreshed once a second and at the end) and the packets
 * the capture thread has taken from libpcap so far. */
void sp_live_stats(sp_source *s, double *received, double *dropped, double *if_dropped,
                   double *captured);

/* Packets that arrived in the kernel ring but were left unread when capture
 * ended (after stop's bounded drain), and packets thrown away because the
 * source was closed without stop + drain. */
void sp_live_losses(sp_source *s, double *unread_at_stop, double *discarded_at_close);

/* Batch slot capacity: the caller's data/meta must hold at least this much. */
size_t sp_live_slot_bytes(sp_source *s);
size_t sp_live_slot_packets(sp_source *s);

/* The ctx given to sp_live_set_notify (the addon releases it after close). */
void *sp_live_notify_ctx(sp_source *s);

/* The live source's fill, close and free hooks (set on the sp_source by sp_open_live). */
size_t sp_live_fill(sp_source *s, uint8_t *data, size_t data_cap, double *meta, size_t pkt_cap);
void sp_live_close(sp_source *s); /* stops and joins the thread, frees the slots */
void sp_live_free(sp_source *s);  /* frees what sp_live_close kept readable */

#endif
