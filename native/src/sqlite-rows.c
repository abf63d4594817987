/*
 * SQLite extension loaded by the sensor's SQLite writer only (src/sinks/sqlite-worker.ts), never needed to read a
 * database: the table-valued function
 *
 *   batch_rows(numbers, stride [, texts, fields])
 *
 * yields one row per `stride` float64 values of the BLOB `numbers` (columns c0 .. c255), and with `texts`, that
 * row's `fields` strings (columns t0 .. t15): `texts` holds every row's fields in order, each one followed by the
 * byte 0x1f. It lets the writer insert a whole batch with one statement and a few bound values:
 *   INSERT INTO flow_features (id, a, b, ...) SELECT ? + rowid, c5, c6, ... FROM batch_rows(?, F)
 * Binding ~100 values a flow from JavaScript cost about twice what SQLite spends storing them; here each number
 * goes from the batch's bytes to SQLite as the same double it would have bound (NaN becomes NULL, as a bound NaN
 * does) and each string as the same UTF-8 text. `numbers` is native-endian (what a Float64Array holds); rowid is
 * the row's index in the batch, from 0. With it, the scalar function batch_label(dictionary, code) (below) gives
 * a label code's text.
 */
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1

#include <stdio.h>
#include <stddef.h>
#include <string.h>

#define NUMBER_COLUMNS 256
#define TEXT_COLUMNS 16
/* The hidden columns after c0 .. c255 and t0 .. t15: the arguments, in order. */
#define COL_NUMBERS (NUMBER_COLUMNS + TEXT_COLUMNS)
#define COL_STRIDE (COL_NUMBERS + 1)
#define COL_TEXTS (COL_NUMBERS + 2)
#define COL_FIELDS (COL_NUMBERS + 3)
#define FIELD_END 0x1f

typedef struct {
  sqlite3_vtab base;
} rows_table;

typedef struct {
  sqlite3_vtab_cursor base;
  const unsigned char *numbers; /* the bound BLOB, valid until the next xFilter or xClose */
  int stride;
  const char *texts, *texts_end; /* the bound text (NULL without), and the current row's first field in it */
  const char *row_text;
  int fields;
  sqlite3_int64 row, rows;
} rows_cursor;

static int rows_error(sqlite3_vtab *t, const char *message) {
  sqlite3_free(t->zErrMsg);
  t->zErrMsg = sqlite3_mprintf("batch_rows: %s", message);
  return SQLITE_ERROR;
}

static int rows_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out,
                        char **err) {
  char sql[(NUMBER_COLUMNS + TEXT_COLUMNS) * 6 + 96];
  int o = snprintf(sql, sizeof sql, "CREATE TABLE x(");
  for (int i = 0; i < NUMBER_COLUMNS; i++) o += snprintf(sql + o, sizeof sql - o, "c%d,", i);
  for (int i = 0; i < TEXT_COLUMNS; i++) o += snprintf(sql + o, sizeof sql - o, "t%d,", i);
  snprintf(sql + o, sizeof sql - o, "numbers HIDDEN, stride HIDDEN, texts HIDDEN, fields HIDDEN)");
  int rc = sqlite3_declare_vtab(db, sql);
  if (rc != SQLITE_OK) return rc;
  rows_table *t = sqlite3_malloc(sizeof *t);
  if (!t) return SQLITE_NOMEM;
  memset(t, 0, sizeof *t);
  *out = &t->base;
  return SQLITE_OK;
}

static int rows_disconnect(sqlite3_vtab *t) {
  sqlite3_free(t);
  return SQLITE_OK;
}

/* The arguments are equality constraints on the hidden columns: numbers and stride always, texts and fields
 * together or not at all. idxNum says whether texts came. Nothing else is indexed. */
static int rows_best_index(sqlite3_vtab *t, sqlite3_index_info *ix) {
  int arg[4] = {-1, -1, -1, -1};
  for (int i = 0; i < ix->nConstraint; i++) {
    const struct sqlite3_index_constraint *c = &ix->aConstraint[i];
    if (c->op != SQLITE_INDEX_CONSTRAINT_EQ || c->iColumn < COL_NUMBERS) continue;
    if (!c->usable) return SQLITE_CONSTRAINT;
    arg[c->iColumn - COL_NUMBERS] = i;
  }
  if (arg[0] < 0 || arg[1] < 0) return rows_error(t, "needs (numbers, stride [, texts, fields])");
  int texts = arg[2] >= 0 && arg[3] >= 0;
  if (!texts && (arg[2] >= 0 || arg[3] >= 0)) return rows_error(t, "texts and fields come together");
  for (int k = 0; k < (texts ? 4 : 2); k++) {
    ix->aConstraintUsage[arg[k]].argvIndex = k + 1;
    ix->aConstraintUsage[arg[k]].omit = 1;
  }
  ix->idxNum = texts;
  ix->estimatedCost = 1;
  return SQLITE_OK;
}

static int rows_open(sqlite3_vtab *t, sqlite3_vtab_cursor **out) {
  rows_cursor *c = sqlite3_malloc(sizeof *c);
  if (!c) return SQLITE_NOMEM;
  memset(c, 0, sizeof *c);
  *out = &c->base;
  return SQLITE_OK;
}

static int rows_close(sqlite3_vtab_cursor *c) {
  sqlite3_free(c);
  return SQLITE_OK;
}

static int rows_filter(sqlite3_vtab_cursor *cur, int idx_num, const char *idx_str, int argc, sqlite3_value **argv) {
  rows_cursor *c = (rows_cursor *)cur;
  sqlite3_vtab *t = cur->pVtab;
  memset(&c->numbers, 0, sizeof *c - offsetof(rows_cursor, numbers));
  if (sqlite3_value_type(argv[0]) != SQLITE_BLOB) return rows_error(t, "numbers must be a BLOB");
  /* sqlite3_value_blob before sqlite3_value_bytes: the documented order. */
  c->numbers = sqlite3_value_blob(argv[0]);
  sqlite3_int64 bytes = sqlite3_value_bytes(argv[0]);
  sqlite3_int64 stride = sqlite3_value_int64(argv[1]);
  if (stride < 1 || stride > NUMBER_COLUMNS || bytes % (8 * stride) != 0) {
    sqlite3_free(t->zErrMsg);
    t->zErrMsg = sqlite3_mprintf("batch_rows: %lld bytes are not rows of %lld doubles (1 to %d a row)", bytes, stride,
                                 NUMBER_COLUMNS);
    return SQLITE_ERROR;
  }
  c->stride = (int)stride;
  c->rows = bytes / (8 * stride);
  if (idx_num) {
    sqlite3_int64 fields = sqlite3_value_int64(argv[3]);
    if (fields < 1 || fields > TEXT_COLUMNS) return rows_error(t, "fields must be 1 to 16");
    c->texts = (const char *)sqlite3_value_text(argv[2]);
    if (!c->texts) return rows_error(t, "texts must be a text");
    c->texts_end = c->texts + sqlite3_value_bytes(argv[2]);
    c->fields = (int)fields;
    /* Every row has its fields: count the terminators once, so xColumn never reads past the text. */
    sqlite3_int64 ends = 0;
    for (const char *p = c->texts; (p = memchr(p, FIELD_END, (size_t)(c->texts_end - p))) != NULL; p++) ends++;
    if (ends != c->rows * fields) {
      sqlite3_free(t->zErrMsg);
      t->zErrMsg = sqlite3_mprintf("batch_rows: %lld text fields for %lld rows of %lld", ends, c->rows, fields);
      return SQLITE_ERROR;
    }
    c->row_text = c->texts;
  }
  return SQLITE_OK;
}

static int rows_next(sqlite3_vtab_cursor *cur) {
  rows_cursor *c = (rows_cursor *)cur;
  c->row++;
  if (c->texts && c->row < c->rows) {
    for (int f = 0; f < c->fields; f++) c->row_text = (const char *)memchr(c->row_text, FIELD_END, (size_t)(c->texts_end - c->row_text)) + 1;
  }
  return SQLITE_OK;
}

static int rows_eof(sqlite3_vtab_cursor *cur) {
  rows_cursor *c = (rows_cursor *)cur;
  return c->row >= c->rows;
}

static int rows_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int i) {
  rows_cursor *c = (rows_cursor *)cur;
  if (i < NUMBER_COLUMNS) {
    if (i >= c->stride) {
      sqlite3_result_null(ctx);
      return SQLITE_OK;
    }
    double v;
    memcpy(&v, c->numbers + ((size_t)c->row * (size_t)c->stride + (size_t)i) * 8, sizeof v);
    sqlite3_result_double(ctx, v);
    return SQLITE_OK;
  }
  i -= NUMBER_COLUMNS;
  if (i >= TEXT_COLUMNS || !c->texts || i >= c->fields) {
    /* A hidden argument column, or a text column the batch does not have. */
    sqlite3_result_null(ctx);
    return SQLITE_OK;
  }
  const char *p = c->row_text;
  for (int f = 0; f < i; f++) p = (const char *)memchr(p, FIELD_END, (size_t)(c->texts_end - p)) + 1;
  const char *end = memchr(p, FIELD_END, (size_t)(c->texts_end - p));
  sqlite3_result_text(ctx, p, (int)(end - p), SQLITE_TRANSIENT);
  return SQLITE_OK;
}

static int rows_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid) {
  *rowid = ((rows_cursor *)cur)->row;
  return SQLITE_OK;
}

static sqlite3_module rows_module = {
    .iVersion = 0,
    .xCreate = NULL, /* eponymous only: used as batch_rows(...), never CREATE VIRTUAL TABLE */
    .xConnect = rows_connect,
    .xBestIndex = rows_best_index,
    .xDisconnect = rows_disconnect,
    .xDestroy = NULL,
    .xOpen = rows_open,
    .xClose = rows_close,
    .xFilter = rows_filter,
    .xNext = rows_next,
    .xEof = rows_eof,
    .xColumn = rows_column,
    .xRowid = rows_rowid,
};

/*
 * batch_label(dictionary, code): entry `code` of a batch's label dictionary, as text; NULL when the code is NULL
 * or not an entry. The dictionary is every entry in order, each written as its length in UTF-8 bytes, ':', then
 * its bytes ("6:BENIGN3:DoS"), so any text fits. Bound once per batch, it is parsed on the first row and kept with
 * the statement (sqlite3_set_auxdata) for the others: the writer maps a label code to its text for every row and
 * label column without parsing the dictionary again (json's ->> did, for each of the five label columns).
 */
typedef struct {
  int entries;
  int *start, *length; /* into text */
  char *text;
} label_dictionary;

/* The dictionary's entries, or NULL (out of memory, or text that is not a dictionary). One allocation. */
static label_dictionary *parse_dictionary(const char *text, int bytes) {
  int entries = 0;
  for (int at = 0; at < bytes;) {
    long length = 0;
    int digits = 0;
    while (at < bytes && text[at] >= '0' && text[at] <= '9' && digits < 10) length = length * 10 + (text[at++] - '0'), digits++;
    if (digits == 0 || at >= bytes || text[at] != ':' || length > bytes - at - 1) return NULL;
    at += 1 + (int)length;
    entries++;
  }
  label_dictionary *d = sqlite3_malloc64(sizeof *d + (sqlite3_uint64)entries * 2 * sizeof(int) + (sqlite3_uint64)bytes + 1);
  if (!d) return NULL;
  d->entries = entries;
  d->start = (int *)(d + 1);
  d->length = d->start + entries;
  d->text = (char *)(d->length + entries);
  memcpy(d->text, text, (size_t)bytes);
  for (int at = 0, k = 0; k < entries; k++) {
    int length = 0;
    while (text[at] != ':') length = length * 10 + (text[at++] - '0');
    d->start[k] = at + 1;
    d->length[k] = length;
    at += 1 + length;
  }
  return d;
}

static void batch_label(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL || sqlite3_value_type(argv[1]) == SQLITE_NULL) {
    sqlite3_result_null(ctx);
    return;
  }
  label_dictionary *d = sqlite3_get_auxdata(ctx, 0);
  int fresh = d == NULL;
  if (fresh) {
    const char *text = (const char *)sqlite3_value_text(argv[0]);
    int bytes = sqlite3_value_bytes(argv[0]);
    d = text ? parse_dictionary(text, bytes) : NULL;
    if (!d) {
      sqlite3_result_error(ctx, "batch_label: the dictionary is not length:text entries", -1);
      return;
    }
  }
  sqlite3_int64 code = sqlite3_value_int64(argv[1]);
  if (code < 0 || code >= d->entries) sqlite3_result_null(ctx);
  else sqlite3_result_text(ctx, d->text + d->start[code], d->length[code], SQLITE_TRANSIENT);
  /* Kept for the next rows; SQLite frees it when the bound dictionary changes or the statement is reset (and at
   * once when it cannot keep it: the result above is already a copy). */
  if (fresh) sqlite3_set_auxdata(ctx, 0, d, sqlite3_free);
}

/* The entry point SQLite derives from the file name sensor_sqlite_rows.node. */
__attribute__((visibility("default"))) int sqlite3_sensorsqliterows_init(sqlite3 *db, char **err,
                                                                         const sqlite3_api_routines *api) {
  SQLITE_EXTENSION_INIT2(api);
  int rc = sqlite3_create_module(db, "batch_rows", &rows_module, NULL);
  if (rc != SQLITE_OK) return rc;
  return sqlite3_create_function_v2(db, "batch_label", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, batch_label, NULL, NULL, NULL);
}
