/*
 * Read-ahead for offline sources: a reader thread runs the offline fill (libpcap read + copy into a batch)
 * into a small ring of batches while JS works on the previous one, so reading the file overlaps decoding and
 * flow work instead of adding to it. JS's next() copies a ready batch into its own buffers (one memcpy of the
 * frame bytes), the same interface as before.
 */
#ifndef SENSOR_READAHEAD_H
#define SENSOR_READAHEAD_H

#include "source.h"

typedef struct sp_readahead sp_readahead;

/* Wraps s->fill (the offline reader) so it runs on a reader thread started on the first fill. */
void sp_readahead_attach(sp_source *s);
/* Stops and joins the reader thread (before the pcap handle is closed); frees the ring. Idempotent. */
void sp_readahead_close(sp_source *s);

#endif
