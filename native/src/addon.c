/*
 * N-API glue for source.c. Exports (all plain functions, no classes):
 *
 *   openOffline(path: string, filter?: string | null): Handle   throws Error{code: kind}
 *   next(h: Handle, data: Uint8Array, meta: Float64Array): number
 *   info(h): { linkType, linkTypeName, linkTypeDescription, snaplen, compressed, type }
 *   counters(h): { packets, capturedBytes, filePos, oversize, warning: string | null }
 *   stats(h): { received, dropped, ifDropped }
 *   close(h): undefined                                          idempotent
 *   META_STRIDE, libVersion
 *
 * Live capture (live.c), same handle type, so next/info/counters/stats/close work on it too:
 *   openLive(device: string, opts: {filter, snaplen, promiscuous, bufferSize, timeoutMs, batchBytes,
 *            batchPackets, ringBatches}, onReady: () => void): Handle   throws Error{code: kind}
 *     onReady is called (on the JS thread) when next() had returned 0 and a batch or the end is ready.
 *     next() never blocks on a live handle: 0 means "nothing yet" until liveStats().state is 2 (ended).
 *   stopLive(h): undefined         stop capturing; queued packets still come out of next()
 *   liveStats(h): { state, received, dropped, ifDropped, captured, unreadAtStop, discardedAtClose, nanosecond }
 *
 * A Handle is an empty JS object wrapping an sp_source (napi_wrap, closed by its
 * finalizer if the JS side forgets) and type-tagged so any other object passed
 * in is rejected with a TypeError instead of being dereferenced. Wrong argument
 * types always throw TypeError; nothing here aborts the process. No global state.
 */
#include <node_api.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "source.h"
#include "live.h"

/* Random constant identifying our handles (napi_type_tag_object). */
static const napi_type_tag HANDLE_TAG = {0x7c1f3b9e52a04d6bULL, 0xa83e0f5d2c6b1947ULL};

/* Evaluate an N-API call; on failure make sure an exception is pending and bail out. */
#define NAPI_OK(env, call)                                           \
  do {                                                               \
    if ((call) != napi_ok) {                                         \
      throw_last_error(env);                                         \
      return NULL;                                                   \
    }                                                                \
  } while (0)

static void throw_last_error(napi_env env) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return;
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  napi_throw_error(env, NULL,
                   info && info->error_message ? info->error_message : "N-API call failed");
}

/* Reads argc arguments (missing ones are undefined). */
static bool get_args(napi_env env, napi_callback_info cbinfo, size_t argc, napi_value *argv) {
  size_t n = argc;
  if (napi_get_cb_info(env, cbinfo, &n, argv, NULL, NULL) != napi_ok) {
    throw_last_error(env);
    return false;
  }
  return true;
}

/* Returns the sp_source behind a handle, or NULL with a TypeError pending. */
static sp_source *get_source(napi_env env, napi_value v) {
  napi_valuetype t;
  bool tagged = false;
  void *ptr = NULL;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_object ||
      napi_check_object_type_tag(env, v, &HANDLE_TAG, &tagged) != napi_ok || !tagged ||
      napi_unwrap(env, v, &ptr) != napi_ok || !ptr) {
    napi_throw_type_error(env, NULL, "expected a capture handle from openOffline()");
    return NULL;
  }
  return ptr;
}

/* The source of a call whose only argument is a capture handle; NULL with an exception pending. */
static sp_source *only_source_arg(napi_env env, napi_callback_info cbinfo) {
  napi_value argv[1];
  if (!get_args(env, cbinfo, 1, argv)) return NULL;
  return get_source(env, argv[0]);
}

/* Wraps s in a new type-tagged handle object owned by `fin`; 0 (nothing pending) on failure, s still the caller's. */
static int wrap_source(napi_env env, sp_source *s, napi_finalize fin, napi_value *handle) {
  return napi_create_object(env, handle) == napi_ok && napi_type_tag_object(env, *handle, &HANDLE_TAG) == napi_ok &&
         napi_wrap(env, *handle, s, fin, NULL, NULL) == napi_ok;
}

/* Copies a JS string argument into a malloc'd C string; NULL with TypeError pending. */
static char *get_string(napi_env env, napi_value v, const char *what) {
  napi_valuetype t;
  size_t len = 0;
  char msg[96];
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string ||
      napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    snprintf(msg, sizeof msg, "%s must be a string", what);
    napi_throw_type_error(env, NULL, msg);
    return NULL;
  }
  char *s = malloc(len + 1);
  if (!s) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  if (strlen(s) != len) { /* C would silently cut at the NUL */
    free(s);
    snprintf(msg, sizeof msg, "%s must not contain NUL characters", what);
    napi_throw_type_error(env, NULL, msg);
    return NULL;
  }
  return s;
}

/* Data pointer and element count of a typed array of the given type; false with TypeError pending. */
static bool get_typed(napi_env env, napi_value v, napi_typedarray_type want, const char *what,
                      void **data, size_t *length) {
  bool is = false;
  napi_typedarray_type type;
  char msg[96];
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, v, &type, length, data, NULL, NULL) != napi_ok ||
      type != want) {
    snprintf(msg, sizeof msg, "%s must be a %s", what,
             want == napi_uint8_array ? "Uint8Array" : "Float64Array");
    napi_throw_type_error(env, NULL, msg);
    return false;
  }
  return true;
}

static void finalize_source(napi_env env, void *data, void *hint) {
  sp_free((sp_source *)data);
}

static bool set_number(napi_env env, napi_value obj, const char *key, double value) {
  napi_value v;
  return napi_create_double(env, value, &v) == napi_ok &&
         napi_set_named_property(env, obj, key, v) == napi_ok;
}

static bool set_string(napi_env env, napi_value obj, const char *key, const char *value) {
  napi_value v;
  if (value) {
    if (napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &v) != napi_ok) return false;
  } else if (napi_get_null(env, &v) != napi_ok) {
    return false;
  }
  return napi_set_named_property(env, obj, key, v) == napi_ok;
}

static bool set_bool(napi_env env, napi_value obj, const char *key, bool value) {
  napi_value v;
  return napi_get_boolean(env, value, &v) == napi_ok &&
         napi_set_named_property(env, obj, key, v) == napi_ok;
}

/* Throws Error(msg) with .code = kind name, plus .magic / .gzip when known. */
static void throw_open_error(napi_env env, const sp_error *err) {
  napi_value code, msg, error;
  if (napi_create_string_utf8(env, sp_error_kind_name(err->kind), NAPI_AUTO_LENGTH, &code) !=
          napi_ok ||
      napi_create_string_utf8(env, err->msg, NAPI_AUTO_LENGTH, &msg) != napi_ok ||
      napi_create_error(env, code, msg, &error) != napi_ok) {
    throw_last_error(env);
    return;
  }
  if (err->unknown_magic) set_number(env, error, "magic", (double)err->magic);
  set_bool(env, error, "gzip", err->in_gzip != 0);
  napi_throw(env, error);
}

static napi_value js_open_offline(napi_env env, napi_callback_info cbinfo) {
  napi_value argv[2];
  if (!get_args(env, cbinfo, 2, argv)) return NULL;
  char *path = get_string(env, argv[0], "path");
  if (!path) return NULL;

  char *filter = NULL;
  napi_valuetype ft;
  NAPI_OK(env, napi_typeof(env, argv[1], &ft));
  if (ft != napi_undefined && ft != napi_null) {
    filter = get_string(env, argv[1], "filter");
    if (!filter) {
      free(path);
      return NULL;
    }
  }

  sp_error err;
  sp_source *s = sp_open_offline(path, filter, &err);
  free(path);
  free(filter);
  if (!s) {
    throw_open_error(env, &err);
    return NULL;
  }

  napi_value handle;
  if (!wrap_source(env, s, finalize_source, &handle)) {
    sp_free(s);
    throw_last_error(env);
    return NULL;
  }
  return handle;
}

static napi_value js_next(napi_env env, napi_callback_info cbinfo) {
  napi_value argv[3];
  if (!get_args(env, cbinfo, 3, argv)) return NULL;
  sp_source *s = get_source(env, argv[0]);
  if (!s) return NULL;
  void *data, *meta;
  size_t data_len, meta_len;
  if (!get_typed(env, argv[1], napi_uint8_array, "data", &data, &data_len)) return NULL;
  if (!get_typed(env, argv[2], napi_float64_array, "meta", &meta, &meta_len)) return NULL;
  if (data_len == 0 || meta_len < SP_META_STRIDE) {
    napi_throw_range_error(env, NULL, "data and meta must hold at least one packet (detached buffer?)");
    return NULL;
  }
  if (s->live && (data_len < sp_live_slot_bytes(s) || meta_len / SP_META_STRIDE < sp_live_slot_packets(s))) {
    napi_throw_range_error(env, NULL, "data and meta must hold a whole live batch (batchBytes, batchPackets)");
    return NULL;
  }
  size_t n = sp_next(s, data, data_len, meta, meta_len / SP_META_STRIDE);
  napi_value result;
  NAPI_OK(env, napi_create_double(env, (double)n, &result));
  return result;
}

static napi_value js_info(napi_env env, napi_callback_info cbinfo) {
  napi_value obj;
  sp_source *s = only_source_arg(env, cbinfo);
  if (!s) return NULL;
  NAPI_OK(env, napi_create_object(env, &obj));
  const char *name = pcap_datalink_val_to_name(s->linktype);
  const char *desc = pcap_datalink_val_to_description(s->linktype);
  if (!set_number(env, obj, "linkType", s->linktype) ||
      !set_string(env, obj, "linkTypeName", name) ||
      !set_string(env, obj, "linkTypeDescription", desc) ||
      !set_number(env, obj, "snaplen", s->pcap ? pcap_snapshot(s->pcap) : 0) ||
      !set_bool(env, obj, "compressed", s->compressed != 0) ||
      !set_string(env, obj, "type", s->type == SP_SOURCE_LIVE ? "live" : "offline")) {
    throw_last_error(env);
    return NULL;
  }
  return obj;
}

static napi_value js_counters(napi_env env, napi_callback_info cbinfo) {
  napi_value obj;
  sp_source *s = only_source_arg(env, cbinfo);
  if (!s) return NULL;
  NAPI_OK(env, napi_create_object(env, &obj));
  if (!set_number(env, obj, "packets", (double)s->packets) ||
      !set_number(env, obj, "capturedBytes", (double)s->captured_bytes) ||
      !set_number(env, obj, "filePos", (double)s->file_pos) ||
      !set_number(env, obj, "oversize", (double)s->oversize) ||
      !set_string(env, obj, "warning", s->warning[0] ? s->warning : NULL)) {
    throw_last_error(env);
    return NULL;
  }
  return obj;
}

static napi_value js_stats(napi_env env, napi_callback_info cbinfo) {
  napi_value obj;
  sp_source *s = only_source_arg(env, cbinfo);
  if (!s) return NULL;
  double received, dropped, if_dropped;
  sp_stats(s, &received, &dropped, &if_dropped);
  NAPI_OK(env, napi_create_object(env, &obj));
  if (!set_number(env, obj, "received", received) ||
      !set_number(env, obj, "dropped", dropped) ||
      !set_number(env, obj, "ifDropped", if_dropped)) {
    throw_last_error(env);
    return NULL;
  }
  return obj;
}

/* ---- live capture ---- */

/* Runs on the JS thread for each notify from the capture thread: call onReady(). */
static void live_call_js(napi_env env, napi_value js_cb, void *context, void *data) {
  if (!env || !js_cb) return; /* the environment is going away */
  napi_value undefined;
  if (napi_get_undefined(env, &undefined) != napi_ok) return;
  napi_call_function(env, undefined, js_cb, 0, NULL, NULL);
}

/* Capture thread: queue one onReady() call; never blocks. */
static void live_notify(void *ctx) {
  napi_call_threadsafe_function((napi_threadsafe_function)ctx, NULL, napi_tsfn_nonblocking);
}

/* After sp_close joined the capture thread nothing calls notify any more: let the loop go. */
static void release_live_notify(sp_source *s) {
  napi_threadsafe_function tsfn = (napi_threadsafe_function)sp_live_notify_ctx(s);
  if (!tsfn) return;
  sp_live_set_notify(s, NULL, NULL);
  napi_release_threadsafe_function(tsfn, napi_tsfn_abort);
}

static void finalize_live(napi_env env, void *data, void *hint) {
  sp_source *s = (sp_source *)data;
  sp_close(s);
  release_live_notify(s);
  sp_free(s);
}

/* Reads an optional integer property in [min, max]; false with an exception pending. */
static bool get_int_opt(napi_env env, napi_value obj, const char *key, double min, double max,
                        double *out) {
  napi_value v;
  napi_valuetype t;
  char msg[128];
  if (napi_get_named_property(env, obj, key, &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok) {
    throw_last_error(env);
    return false;
  }
  if (t == napi_undefined) return true;
  double d = 0;
  if (t == napi_boolean) {
    bool b = false;
    napi_get_value_bool(env, v, &b);
    *out = b ? 1 : 0;
    return true;
  }
  if (t != napi_number || napi_get_value_double(env, v, &d) != napi_ok || d != (double)(long long)d ||
      d < min || d > max) {
    snprintf(msg, sizeof msg, "%s must be an integer from %.0f to %.0f", key, min, max);
    napi_throw_range_error(env, NULL, msg);
    return false;
  }
  *out = d;
  return true;
}

static napi_value js_open_live(napi_env env, napi_callback_info cbinfo) {
  napi_value argv[3];
  if (!get_args(env, cbinfo, 3, argv)) return NULL;
  napi_valuetype t;
  NAPI_OK(env, napi_typeof(env, argv[1], &t));
  if (t != napi_object) {
    napi_throw_type_error(env, NULL, "options must be an object");
    return NULL;
  }
  NAPI_OK(env, napi_typeof(env, argv[2], &t));
  if (t != napi_function) {
    napi_throw_type_error(env, NULL, "onReady must be a function");
    return NULL;
  }
  double snaplen = 262144, promisc = 1, buffer = 64 << 20, timeout = 100;
  double batch_bytes = 4 << 20, batch_packets = 8192, ring = 8;
  if (!get_int_opt(env, argv[1], "snaplen", 64, 262144, &snaplen) ||
      !get_int_opt(env, argv[1], "promiscuous", 0, 1, &promisc) ||
      !get_int_opt(env, argv[1], "bufferSize", 65536, 2147483647.0, &buffer) ||
      !get_int_opt(env, argv[1], "timeoutMs", 1, 10000, &timeout) ||
      !get_int_opt(env, argv[1], "batchBytes", 65536, 1 << 30, &batch_bytes) ||
      !get_int_opt(env, argv[1], "batchPackets", 1, 1 << 22, &batch_packets) ||
      !get_int_opt(env, argv[1], "ringBatches", 2, 1024, &ring))
    return NULL;
  if (batch_bytes < snaplen) {
    napi_throw_range_error(env, NULL, "batchBytes must be at least snaplen");
    return NULL;
  }
  char *device = get_string(env, argv[0], "device");
  if (!device) return NULL;
  char *filter = NULL;
  napi_value fv;
  NAPI_OK(env, napi_get_named_property(env, argv[1], "filter", &fv));
  NAPI_OK(env, napi_typeof(env, fv, &t));
  if (t != napi_undefined && t != napi_null) {
    filter = get_string(env, fv, "filter");
    if (!filter) {
      free(device);
      return NULL;
    }
  }

  sp_live_options o = {device, filter, (int)snaplen, (int)promisc, (int)buffer, (int)timeout,
                       (size_t)batch_bytes, (size_t)batch_packets, (size_t)ring};
  sp_error err;
  sp_source *s = sp_open_live(&o, &err);
  free(device);
  free(filter);
  if (!s) {
    throw_open_error(env, &err);
    return NULL;
  }

  napi_value name, handle;
  napi_threadsafe_function tsfn = NULL;
  if (napi_create_string_utf8(env, "sensor_pcap.onReady", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_threadsafe_function(env, argv[2], NULL, name, 0, 1, NULL, NULL, NULL, live_call_js,
                                      &tsfn) != napi_ok) {
    sp_free(s);
    throw_last_error(env);
    return NULL;
  }
  sp_live_set_notify(s, live_notify, tsfn);
  if (!wrap_source(env, s, finalize_live, &handle)) {
    release_live_notify(s);
    sp_free(s);
    throw_last_error(env);
    return NULL;
  }
  if (sp_live_start(s, &err) != 0) {
    sp_close(s); /* the wrap's finalizer frees it later */
    release_live_notify(s);
    throw_open_error(env, &err);
    return NULL;
  }
  return handle;
}

static napi_value js_stop_live(napi_env env, napi_callback_info cbinfo) {
  sp_source *s = only_source_arg(env, cbinfo);
  if (!s) return NULL;
  sp_live_stop(s);
  return NULL;
}

static napi_value js_live_stats(napi_env env, napi_callback_info cbinfo) {
  napi_value obj;
  sp_source *s = only_source_arg(env, cbinfo);
  if (!s) return NULL;
  if (!s->live) {
    napi_throw_type_error(env, NULL, "expected a live capture handle from openLive()");
    return NULL;
  }
  double received, dropped, if_dropped, captured, unread, discarded;
  sp_live_stats(s, &received, &dropped, &if_dropped, &captured);
  sp_live_losses(s, &unread, &discarded);
  NAPI_OK(env, napi_create_object(env, &obj));
  if (!set_number(env, obj, "state", sp_live_state(s)) ||
      !set_number(env, obj, "received", received) || !set_number(env, obj, "dropped", dropped) ||
      !set_number(env, obj, "ifDropped", if_dropped) || !set_number(env, obj, "captured", captured) ||
      !set_number(env, obj, "unreadAtStop", unread) ||
      !set_number(env, obj, "discardedAtClose", discarded) ||
      !set_bool(env, obj, "nanosecond", sp_live_nano(s) != 0)) {
    throw_last_error(env);
    return NULL;
  }
  return obj;
}

static napi_value js_close(napi_env env, napi_callback_info cbinfo) {
  sp_source *s = only_source_arg(env, cbinfo);
  if (!s) return NULL;
  sp_close(s); /* the struct itself lives until the handle is collected */
  release_live_notify(s);
  return NULL; /* undefined */
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"openOffline", NULL, js_open_offline, NULL, NULL, NULL, napi_enumerable, NULL},
      {"next", NULL, js_next, NULL, NULL, NULL, napi_enumerable, NULL},
      {"info", NULL, js_info, NULL, NULL, NULL, napi_enumerable, NULL},
      {"counters", NULL, js_counters, NULL, NULL, NULL, napi_enumerable, NULL},
      {"stats", NULL, js_stats, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"openLive", NULL, js_open_live, NULL, NULL, NULL, napi_enumerable, NULL},
      {"stopLive", NULL, js_stop_live, NULL, NULL, NULL, napi_enumerable, NULL},
      {"liveStats", NULL, js_live_stats, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok)
    return NULL;
  /* The packet batch layout, checked by src/sources/batch.ts when it loads the addon. */
  napi_value fields;
  if (napi_create_object(env, &fields) != napi_ok || !set_number(env, fields, "TsSec", SP_META_TS_SEC) ||
      !set_number(env, fields, "TsNsec", SP_META_TS_NSEC) || !set_number(env, fields, "CapLen", SP_META_CAPLEN) ||
      !set_number(env, fields, "WireLen", SP_META_WIRELEN) || !set_number(env, fields, "Offset", SP_META_OFFSET) ||
      !set_number(env, fields, "LinkType", SP_META_LINKTYPE) ||
      napi_set_named_property(env, exports, "META_FIELDS", fields) != napi_ok)
    return NULL;
  if (!set_number(env, exports, "META_STRIDE", SP_META_STRIDE) ||
      !set_string(env, exports, "libVersion", pcap_lib_version()))
    return NULL;
  return exports;
}
