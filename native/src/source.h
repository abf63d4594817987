/*
 * A packet source that fills caller-owned batches: one call copies many packets
 * into a byte buffer plus a Float64 metadata table, so JS pays one native call
 * per batch instead of one callback per packet.
 *
 * This file knows nothing about N-API (addon.c is the glue), so the batching
 * logic stays plain C.
 */
#ifndef SENSOR_SOURCE_H
#define SENSOR_SOURCE_H

#include <pcap/pcap.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>

/* Layout of one packet's row in the meta table: src/sources/batch.ts checks it against META_FIELDS at load. */
#define SP_META_STRIDE 6
enum {
  SP_META_TS_SEC = 0,   /* seconds since the epoch */
  SP_META_TS_NSEC = 1,  /* 0..999999999: handles are always opened at ns precision */
  SP_META_CAPLEN = 2,   /* bytes copied into data (may be < file caplen if oversize) */
  SP_META_WIRELEN = 3,  /* original length on the wire, passed through untouched */
  SP_META_OFFSET = 4,   /* byte offset of the frame in data */
  SP_META_LINKTYPE = 5  /* pcap_datalink of the handle (room for per-interface types) */
};

/* Error kinds; the names (sp_error_kind_name) are CaptureErrorKind in pcap-source.ts. */
typedef enum {
  SP_OK = 0,
  SP_NOT_FOUND,
  SP_PERMISSION,
  SP_IS_DIRECTORY,
  SP_NOT_A_CAPTURE,
  SP_EMPTY,
  SP_UNSUPPORTED,
  SP_BAD_FILTER,
  SP_READ_ERROR
} sp_error_kind;

typedef struct {
  sp_error_kind kind;
  char msg[PCAP_ERRBUF_SIZE + 64]; /* libpcap / errno text, without the path */
  int unknown_magic;               /* libpcap did not recognise the first 4 bytes */
  uint32_t magic;                  /* those bytes, big-endian as they appear in the file */
  int in_gzip;                     /* the magic is from inside a gzip stream */
} sp_error;

const char *sp_error_kind_name(sp_error_kind kind);

typedef enum { SP_SOURCE_OFFLINE = 1, SP_SOURCE_LIVE = 2 /* live.h */ } sp_source_type;

typedef struct sp_live sp_live; /* live capture state, defined in live.c */

typedef struct sp_source sp_source;

/*
 * Fills up to pkt_cap packets into data/meta; returns how many. The one
 * operation that differs between source types: offline reads the file on the
 * caller's thread; a live source will drain a ring filled by its capture
 * thread (pcap_create/pcap_activate), behind the same JS call.
 */
typedef size_t (*sp_fill_fn)(sp_source *s, uint8_t *data, size_t data_cap, double *meta,
                             size_t pkt_cap);
/* Per-kind hooks set by the opener (live.c for live sources), so source.c never calls into live.c. */
typedef void (*sp_stats_fn)(sp_source *s, double *received, double *dropped, double *if_dropped);
typedef void (*sp_release_fn)(sp_source *s);

struct sp_source {
  sp_source_type type;
  sp_fill_fn fill;
  sp_stats_fn stats;         /* NULL offline: packets handed out, no drops */
  sp_release_fn close_hook;  /* before the pcap handle closes (live: stop and join the capture thread) */
  sp_release_fn free_hook;   /* when the struct is freed (live: what close kept readable) */
  pcap_t *pcap; /* NULL once closed */
  int linktype;
  int compressed;
  gzFile gz; /* gzip stream behind pcap's FILE* (owned by that FILE), for gzoffset/gzerror */

  /* A packet that did not fit the previous batch. pcap's packet buffer is only
   * valid until the next read, so the bytes are copied here and emitted first
   * by the next call. */
  struct pcap_pkthdr spill_hdr;
  uint8_t *spill;
  size_t spill_cap;
  int has_spill;

  int done;                /* EOF or a read error was seen: later calls return 0 */
  uint64_t packets;        /* packets handed out */
  uint64_t captured_bytes; /* bytes copied into batches */
  uint64_t oversize;       /* packets truncated because they exceeded a whole batch buffer */
  int64_t file_pos;        /* bytes of the file consumed (compressed bytes for gzip) */
  char warning[PCAP_ERRBUF_SIZE + 160]; /* why the input ended abnormally; "" if it did not */

  /* Live capture (live.c): capture thread, ring of batches, its lock, pcap_stats. NULL offline. */
  sp_live *live;
  /* Offline read-ahead (readahead.c): a reader thread filling a ring of batches. NULL live. */
  struct sp_readahead *readahead;
};

/*
 * Writes one packet's meta row at m and its bytes at data + offset: the one record format both the offline
 * reader and the live capture thread produce. A corrupt or µs-scaled ns value outside 0..1e9-1 is carried
 * into the seconds.
 */
static inline void sp_write_record(double *m, uint8_t *data, size_t offset, double sec, long ns, size_t caplen,
                                   uint32_t wirelen, int linktype, const unsigned char *bytes) {
  const long ns_per_sec = 1000000000L;
  if (ns < 0 || ns >= ns_per_sec) {
    long q = ns / ns_per_sec, r = ns % ns_per_sec;
    if (r < 0) {
      r += ns_per_sec;
      q--;
    }
    sec += (double)q;
    ns = r;
  }
  m[SP_META_TS_SEC] = sec;
  m[SP_META_TS_NSEC] = (double)ns;
  m[SP_META_CAPLEN] = (double)caplen;
  m[SP_META_WIRELEN] = (double)wirelen;
  m[SP_META_OFFSET] = (double)offset;
  m[SP_META_LINKTYPE] = (double)linktype;
  memcpy(data + offset, bytes, caplen);
}

/* Opens a pcap/pcapng file (gzip-compressed or not) at ns precision and applies
 * filter (NULL or "" = none). Returns NULL and fills err on failure. */
sp_source *sp_open_offline(const char *path, const char *filter, sp_error *err);

/* One batch; 0 = end of input (see s->warning for why, if abnormal). */
size_t sp_next(sp_source *s, uint8_t *data, size_t data_cap, double *meta, size_t pkt_cap);

/* Offline: received = packets handed out, no drops. */
void sp_stats(sp_source *s, double *received, double *dropped, double *if_dropped);

/* Releases the pcap handle and spill buffer; counters stay readable. Idempotent. */
void sp_close(sp_source *s);

/* sp_close + free the struct. */
void sp_free(sp_source *s);

#endif
