/*
 * Offline packet source: opens pcap/pcapng (optionally gzip-compressed) files
 * with libpcap and copies packets into caller-owned batches. See source.h.
 */
#include "source.h"
#include "readahead.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


const char *sp_error_kind_name(sp_error_kind kind) {
  switch (kind) {
    case SP_NOT_FOUND: return "not-found";
    case SP_PERMISSION: return "permission";
    case SP_IS_DIRECTORY: return "is-directory";
    case SP_NOT_A_CAPTURE: return "not-a-capture";
    case SP_EMPTY: return "empty";
    case SP_UNSUPPORTED: return "unsupported";
    case SP_BAD_FILTER: return "bad-filter";
    case SP_READ_ERROR: return "read-error";
    default: return "ok";
  }
}

static void set_error(sp_error *err, sp_error_kind kind, const char *msg) {
  err->kind = kind;
  snprintf(err->msg, sizeof err->msg, "%s", msg);
}

static void set_errno_error(sp_error *err, int e) {
  sp_error_kind kind = SP_READ_ERROR;
  if (e == ENOENT || e == ENOTDIR) kind = SP_NOT_FOUND;
  else if (e == EACCES || e == EPERM) kind = SP_PERMISSION;
  else if (e == EISDIR) kind = SP_IS_DIRECTORY;
  set_error(err, kind, strerror(e));
}

/* libpcap reports open failures only as text; sort them into our kinds. */
static void set_pcap_open_error(sp_error *err, const char *msg) {
  if (strstr(msg, "unknown file format")) {
    set_error(err, SP_NOT_A_CAPTURE, msg);
    err->unknown_magic = 1;
  } else if (strstr(msg, "truncated") || strstr(msg, "error reading")) {
    set_error(err, SP_READ_ERROR, msg);
  } else if (strstr(msg, "unsupported") || strstr(msg, "archaic") || strstr(msg, "supported")) {
    set_error(err, SP_UNSUPPORTED, msg);
  } else {
    set_error(err, SP_NOT_A_CAPTURE, msg); /* known magic, corrupt header */
  }
}

/* ---- streamed input: a FILE* that reads through zlib, so libpcap needs no changes ----
 *
 * Used for gzip files and for inputs that cannot seek (a pipe, a FIFO, stdin). zlib passes non-gzip data
 * through unchanged, so one path serves both. The first bytes are peeked once (gzip detection, the magic
 * for error messages) and then served again from the cookie, so nothing needs to rewind. */

typedef struct {
  gzFile gz;
  unsigned char peek[4];
  int npeek; /* bytes in peek */
  int pos;   /* bytes of peek already served */
} gz_cookie;

static ssize_t gz_cookie_read(void *cookie, char *buf, size_t size) {
  gz_cookie *c = cookie;
  size_t n = 0;
  while (c->pos < c->npeek && n < size) buf[n++] = (char)c->peek[c->pos++];
  if (n == size) return (ssize_t)n;
  size_t want = size - n;
  if (want > INT_MAX) want = INT_MAX; /* gzread counts in int */
  int got = gzread(c->gz, buf + n, (unsigned)want);
  if (got < 0) {
    if (n > 0) return (ssize_t)n;
    errno = EIO; /* the zlib message is added to the warning by the caller */
    return -1;
  }
  return (ssize_t)(n + (size_t)got);
}

static int gz_cookie_close(void *cookie) {
  gz_cookie *c = cookie;
  int rc = gzclose(c->gz) == Z_OK ? 0 : EOF;
  free(c);
  return rc;
}

static const cookie_io_functions_t gz_cookie_io = {
    .read = gz_cookie_read, .write = NULL, .seek = NULL, .close = gz_cookie_close};

/*
 * Replaces the plain FILE* *fpp with one that yields the (decompressed) stream from its start, and reads its
 * first bytes into m. `from_start`: seek the descriptor back to 0 first (a regular file whose first bytes
 * were already read); a pipe is used as it is. Returns bytes read into m (0..4) or -1 with err set.
 */
static int open_stream(FILE **fpp, gzFile *gzp, unsigned char m[4], int from_start, sp_error *err) {
  /* dup instead of reopening by name: the same file we already checked. */
  int fd = dup(fileno(*fpp));
  fclose(*fpp);
  *fpp = NULL;
  if (fd < 0 || (from_start && lseek(fd, 0, SEEK_SET) < 0)) {
    set_errno_error(err, errno);
    if (fd >= 0) close(fd);
    return -1;
  }
  gzFile gz = gzdopen(fd, "rb");
  if (!gz) {
    close(fd);
    set_error(err, SP_READ_ERROR, "cannot open gzip stream");
    return -1;
  }
  gzbuffer(gz, 256 * 1024); /* fewer read() calls; must precede the first read */
  gz_cookie *c = calloc(1, sizeof *c);
  int got = c ? gzread(gz, c->peek, 4) : -1;
  if (got < 0) {
    int errnum;
    char msg[256];
    snprintf(msg, sizeof msg, c ? "corrupt gzip data: %s" : "out of memory%s", c ? gzerror(gz, &errnum) : "");
    free(c);
    gzclose(gz);
    set_error(err, SP_READ_ERROR, msg);
    return -1;
  }
  c->gz = gz;
  c->npeek = got;
  memcpy(m, c->peek, (size_t)got);
  FILE *fp = fopencookie(c, "rb", gz_cookie_io);
  if (!fp) {
    set_errno_error(err, errno);
    gz_cookie_close(c);
    return -1;
  }
  /* gzread decompresses straight into large destinations; a big stdio buffer
   * means one gzread per 256 KiB rather than per 4 KiB. */
  setvbuf(fp, NULL, _IOFBF, 256 * 1024);
  *fpp = fp;
  *gzp = gz;
  return got;
}

/* ---- open ---- */

static size_t offline_fill(sp_source *s, uint8_t *data, size_t data_cap, double *meta,
                           size_t pkt_cap);

sp_source *sp_open_offline(const char *path, const char *filter, sp_error *err) {
  memset(err, 0, sizeof *err);

  FILE *fp = fopen(path, "rb");
  if (!fp) {
    set_errno_error(err, errno);
    return NULL;
  }
  /* fopen() succeeds on a directory on Linux; only reads fail. */
  struct stat st;
  if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
    fclose(fp);
    set_errno_error(err, EISDIR);
    return NULL;
  }

  /* Peek at the first bytes: gzip detection, and the magic for error messages. */
  unsigned char m[4] = {0, 0, 0, 0};
  int got;
  gzFile gz = NULL;
  if (fstat(fileno(fp), &st) == 0 && !S_ISREG(st.st_mode)) {
    /* A pipe, FIFO or stdin cannot rewind: read it through the streamed path from the first byte. */
    got = open_stream(&fp, &gz, m, 0, err);
    if (got < 0) return NULL;
    err->in_gzip = !gzdirect(gz);
  } else {
    got = (int)fread(m, 1, 4, fp);
    if (got == 0 && ferror(fp)) {
      set_errno_error(err, errno);
      fclose(fp);
      return NULL;
    }
    if (got >= 2 && m[0] == 0x1f && m[1] == 0x8b) {
      got = open_stream(&fp, &gz, m, 1, err);
      if (got < 0) return NULL;
      err->in_gzip = 1;
    } else {
      rewind(fp);
      /* libpcap does two small freads per packet; a bigger stdio buffer cuts read() calls. */
      setvbuf(fp, NULL, _IOFBF, 256 * 1024);
    }
  }
  if (got < 4) {
    set_error(err, got == 0 ? SP_EMPTY : SP_NOT_A_CAPTURE,
              got == 0 ? "empty file" : "file too short for a capture header");
    fclose(fp);
    return NULL;
  }
  err->magic = ((uint32_t)m[0] << 24) | ((uint32_t)m[1] << 16) | ((uint32_t)m[2] << 8) | m[3];

  /* Nanosecond precision always: libpcap scales µs pcap and every pcapng
   * if_tsresol to ns, so consumers see one timestamp unit. */
  char errbuf[PCAP_ERRBUF_SIZE] = "";
  pcap_t *p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (!p) {
    fclose(fp); /* on failure the FILE is still ours */
    set_pcap_open_error(err, errbuf);
    return NULL;
  }

  if (filter && filter[0]) {
    struct bpf_program prog;
    if (pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
      set_error(err, SP_BAD_FILTER, pcap_geterr(p));
      pcap_close(p);
      return NULL;
    }
    int rc = pcap_setfilter(p, &prog);
    pcap_freecode(&prog); /* setfilter keeps its own copy */
    if (rc != 0) {
      set_error(err, SP_BAD_FILTER, pcap_geterr(p));
      pcap_close(p);
      return NULL;
    }
  }

  sp_source *s = calloc(1, sizeof *s);
  if (!s) {
    pcap_close(p);
    set_error(err, SP_READ_ERROR, "out of memory");
    return NULL;
  }
  s->type = SP_SOURCE_OFFLINE;
  s->fill = offline_fill;
  sp_readahead_attach(s); /* reading overlaps JS work from the first next() */
  s->pcap = p;
  s->linktype = pcap_datalink(p);
  s->gz = gz;
  s->compressed = err->in_gzip;
  return s;
}

/* ---- batching ---- */

typedef struct {
  sp_source *s;
  uint8_t *data;
  size_t data_cap;
  size_t data_len;
  double *meta;
  size_t count;
  int stopped; /* we called pcap_breakloop during this batch */
} batch;

/* Appends one packet; the caller has checked it fits or that the batch is empty. */
static inline void put(batch *b, const struct pcap_pkthdr *h, const u_char *bytes) {
  size_t len = h->caplen;
  size_t room = b->data_cap - b->data_len;
  if (len > room) { /* larger than a whole (empty) batch buffer: truncate */
    len = room;
    b->s->oversize++;
  }
  /* Classic pcap stores ts_sec as unsigned 32 bits but libpcap reads it as a
   * signed int32: undo that. */
  double sec = (double)h->ts.tv_sec;
  if (h->ts.tv_sec < 0 && h->ts.tv_sec >= INT32_MIN) sec += 4294967296.0;
  sp_write_record(b->meta + b->count * SP_META_STRIDE, b->data, b->data_len, sec, (long)h->ts.tv_usec, len, h->len,
                  b->s->linktype, bytes);
  b->data_len += len;
  b->count++;
}

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes) {
  batch *b = (batch *)user;
  if (b->stopped) return; /* cannot happen with libpcap's loop, but stay safe */
  if (h->caplen > b->data_cap - b->data_len && b->count > 0) {
    /* Does not fit what is left: keep a copy for the next batch and stop. */
    sp_source *s = b->s;
    if (h->caplen > s->spill_cap) {
      uint8_t *n = realloc(s->spill, h->caplen);
      if (!n) {
        snprintf(s->warning, sizeof s->warning, "out of memory keeping a %u-byte packet",
                 h->caplen);
        s->done = 1;
        b->stopped = 1;
        pcap_breakloop(s->pcap);
        return;
      }
      s->spill = n;
      s->spill_cap = h->caplen;
    }
    memcpy(s->spill, bytes, h->caplen);
    s->spill_hdr = *h;
    s->has_spill = 1;
    b->stopped = 1;
    pcap_breakloop(s->pcap);
    return;
  }
  put(b, h, bytes);
}

static void update_file_pos(sp_source *s) {
  if (s->gz) {
    s->file_pos = gzoffset(s->gz);
  } else {
    off_t pos = ftello(pcap_file(s->pcap));
    if (pos >= 0) s->file_pos = pos;
  }
}

static size_t offline_fill(sp_source *s, uint8_t *data, size_t data_cap, double *meta,
                           size_t pkt_cap) {
  batch b = {s, data, data_cap, 0, meta, 0, 0};
  if (s->has_spill) {
    s->has_spill = 0;
    put(&b, &s->spill_hdr, s->spill);
  }
  while (!s->done && !b.stopped && b.count < pkt_cap) {
    size_t left = pkt_cap - b.count;
    int want = left > INT_MAX ? INT_MAX : (int)left;
    int r = pcap_dispatch(s->pcap, want, on_packet, (u_char *)&b);
    if (r == PCAP_ERROR_BREAK) {
      /* libpcap leaves the breakloop flag set when the previous batch stopped
       * after delivering packets; this call just consumed it. Go again. */
      continue;
    }
    if (r < 0) {
      /* e.g. "truncated dump file; ...": keep what we have, end the input. */
      int n = snprintf(s->warning, sizeof s->warning, "%s", pcap_geterr(s->pcap));
      if (s->gz && n >= 0 && (size_t)n < sizeof s->warning) {
        int errnum = Z_OK;
        const char *zmsg = gzerror(s->gz, &errnum);
        /* zlib prefixes the name given to gzdopen ("<fd:N>: "): noise in a warning. */
        if (zmsg && strncmp(zmsg, "<fd:", 4) == 0 && strstr(zmsg, ">: ")) zmsg = strstr(zmsg, ">: ") + 3;
        if (errnum != Z_OK && zmsg && zmsg[0])
          snprintf(s->warning + n, sizeof s->warning - (size_t)n, " (gzip: %s)", zmsg);
      }
      s->done = 1;
    } else if (!b.stopped && r < want) {
      s->done = 1; /* pcap_dispatch returns short (or 0) only at end of file */
    }
  }
  s->captured_bytes += b.data_len;
  update_file_pos(s);
  return b.count;
}

size_t sp_next(sp_source *s, uint8_t *data, size_t data_cap, double *meta, size_t pkt_cap) {
  if (!s->pcap || data_cap == 0 || pkt_cap == 0) return 0;
  size_t n = s->fill(s, data, data_cap, meta, pkt_cap);
  s->packets += n;
  return n;
}

void sp_stats(sp_source *s, double *received, double *dropped, double *if_dropped) {
  if (s->stats) {
    s->stats(s, received, dropped, if_dropped);
    return;
  }
  /* pcap_stats() is not available on savefiles. */
  *received = (double)s->packets;
  *dropped = 0;
  *if_dropped = 0;
}

void sp_close(sp_source *s) {
  if (s->close_hook) s->close_hook(s); /* live: joins the capture thread before its pcap handle goes */
  if (s->readahead) sp_readahead_close(s); /* joins the reader thread before its pcap handle goes */
  if (s->pcap) {
    pcap_close(s->pcap); /* fcloses the FILE, which gzcloses the gzip stream */
    s->pcap = NULL;
    s->gz = NULL;
  }
  free(s->spill);
  s->spill = NULL;
  s->spill_cap = 0;
  s->has_spill = 0;
}

void sp_free(sp_source *s) {
  if (!s) return;
  sp_close(s);
  if (s->free_hook) s->free_hook(s);
  free(s);
}
