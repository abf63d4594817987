/**
 * The SQLite layout of a sensor database and all of its SQL, in one place: the writer (sqlite-worker.ts), the
 * upgrade of older databases and the retention worker take their statements from here.
 *
 * Schema version 4, split so that a flood is written at the rate of a narrow row (binding a value costs about as
 * much as everything else in a row: a typed column per feature caps a writer near 60 k rows/s):
 * - `flow_rows`: one row per flow with what analysts filter and sort on, as typed columns: identity, times, the
 *   first HOT_FEATURES features (duration, packets and payload bytes each way) and the verdicts.
 * - `flow_features`: every other feature as a typed column, `id` = flow_rows.id, normally written in the batch's
 *   own transaction.
 * - `feature_blocks`: a live writer that falls behind stages a batch's full feature vectors as one BLOB (float64
 *   little-endian, row-major, the profile's feature order: meta.columns), for the flow_rows ids first_id ..
 *   first_id + count - 1, and moves it into flow_features off the hot path (whenever no batch waits, and
 *   completely before it closes), then deletes it. A replay never stages.
 * - `flows`: a view joining flow_rows and flow_features with exactly the columns of a version-2 `flows` table
 *   (identity, every feature under its snake-case CIC name, verdicts), so any SQLite client (the sqlite3 shell,
 *   Python) queries features by name. A row whose block is not yet expanded shows NULL in the non-hot feature
 *   columns. `DELETE FROM flows` works too (a trigger deletes from flow_rows, another the flow_features row).
 * - `meta(key, value)`: schema_version, profile, columns (JSON [{name, sql, type}]), created_at;
 * - `runs(id, source, mode, profile, started_at, ended_at, packets, flows, counters, argv)`.
 */

/**
 * 2: flows gained attack_label, attack_score, kdd. 3: flows became a view over flow_rows + flow_features.
 * 4: the application model's verdict, app_label, app_score, app_model. 5: server_name (the flow's TLS SNI, HTTP
 * Host or DNS query name; decode/server-name.ts) and context (why the context stage, classify/context.ts,
 * relabelled the flow). 6: server_name_source (where the name came from: 'flow', 'carried' or 'dns';
 * flows/server-names.ts). 7: payload_protocol (the protocol recognised from the flow's first payload bytes, as nDPI
 * names it; decode/payload-protocol.ts).
 */
export const SCHEMA_VERSION = 7;

/** Columns added to the version-1 `flows` table by version 2 (all nullable: rows written before have NULL). */
const V2_ADDED_COLUMNS = ['attack_label TEXT NULL', 'attack_score REAL NULL', 'kdd TEXT NULL'];

/** The first features of every profile (Flow Duration, Total Fwd/Bwd Packets, Total Length of Fwd/Bwd Packets). */
export const HOT_FEATURES = 5;

/** A feature column as meta.columns records it. */
export interface FeatureColumnSpec {
  /** Header name in the profile's CSV. */
  name: string;
  /** Column name in `flows` (sqlColumnNames in sqlite.ts). */
  sql: string;
  type: 'INTEGER' | 'REAL';
}

/** Identity columns of flow_rows (and of the view), in order, after `id`. */
export const IDENTITY_COLUMNS = [
  'run_id',
  'flow_id',
  'src_ip',
  'src_port',
  'dst_ip',
  'dst_port',
  'protocol',
  'start_us',
  'end_us',
  'timestamp',
] as const;

/** Verdict columns of versions 2-3 (what an upgrade copies from an older `flows`). */
const V3_VERDICT_COLUMNS = ['label', 'score', 'model', 'attack_label', 'attack_score', 'kdd'] as const;

/** The application model's verdict columns, added by version 4 (all nullable: rows written before have NULL). */
const V4_ADDED_COLUMNS = [
  ['app_label', 'TEXT'],
  ['app_score', 'REAL'],
  ['app_model', 'TEXT'],
] as const;

/** Verdict columns, in order: the attack model's, then the application model's. */
export const VERDICT_COLUMNS = [...V3_VERDICT_COLUMNS, ...V4_ADDED_COLUMNS.map(([c]) => c)] as const;

/**
 * Columns added by version 5 (nullable: rows written before have NULL), the view's last: the flow's server name,
 * and the context stage's reason.
 */
const V5_ADDED_COLUMNS = [['server_name', 'TEXT'], ['context', 'TEXT']] as const;
export const NAME_COLUMNS = ['server_name'] as const;
export const CONTEXT_COLUMNS = ['context'] as const;
/** Added by version 6 (NULL in older rows and for flows without a name), the view's last: where the name came from. */
const V6_ADDED_COLUMNS = [['server_name_source', 'TEXT']] as const;
export const NAME_SOURCE_COLUMNS = ['server_name_source'] as const;
/** Added by version 7 (NULL in older rows and for flows without one), the view's last: the payload protocol. */
const V7_ADDED_COLUMNS = [['payload_protocol', 'TEXT']] as const;
export const PAYLOAD_PROTOCOL_COLUMNS = ['payload_protocol'] as const;

export function q(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Does the database have a `flows` table (versions 1-2) or view (version 3)? */
export const FLOWS_PRESENT_SQL = "SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND name = 'flows'";

/**
 * Retention (src/cli: deletes flows whose first packet is older than a cutoff, in chunks): `present` tells whether
 * the database has flows at all, `deleteChunk(cutoffUs, limit)` deletes up to `limit` of them and its `changes`
 * count them. Works on every schema version: on version 3 it deletes from flow_rows (a trigger removes the
 * flow_features rows); the plain `flows` table of versions 1-2 is gone once a sensor opens such a database.
 */
export const RETENTION_SQL = {
  present: "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'flow_rows'",
  deleteChunk: 'DELETE FROM flow_rows WHERE id IN (SELECT id FROM flow_rows WHERE start_us < ? LIMIT ?)',
} as const;

function hot(specs: readonly FeatureColumnSpec[]): readonly FeatureColumnSpec[] {
  return specs.slice(0, HOT_FEATURES);
}

function cold(specs: readonly FeatureColumnSpec[]): readonly FeatureColumnSpec[] {
  return specs.slice(HOT_FEATURES);
}

const RUNS_DDL = `
CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  source TEXT,
  mode TEXT CHECK (mode IN ('replay', 'live')),
  profile TEXT,
  started_at TEXT,
  ended_at TEXT,
  packets INTEGER,
  flows INTEGER,
  counters TEXT,
  argv TEXT
);`;

/** flow_rows, flow_features, the view, its triggers and the indexes (runs must exist). */
function flowsDdl(specs: readonly FeatureColumnSpec[]): string {
  const typed = (cs: readonly FeatureColumnSpec[]): string => cs.map((c) => `,\n  ${q(c.sql)} ${c.type}`).join('');
  return `
CREATE TABLE flow_rows (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id),
  flow_id TEXT,
  src_ip TEXT,
  src_port INTEGER,
  dst_ip TEXT,
  dst_port INTEGER,
  protocol INTEGER,
  start_us INTEGER,
  end_us INTEGER,
  timestamp TEXT${typed(hot(specs))},
  label TEXT NULL,
  score REAL NULL,
  model TEXT NULL,
  attack_label TEXT NULL,
  attack_score REAL NULL,
  kdd TEXT NULL,
  app_label TEXT NULL,
  app_score REAL NULL,
  app_model TEXT NULL,
  server_name TEXT NULL,
  context TEXT NULL,
  server_name_source TEXT NULL,
  payload_protocol TEXT NULL
);
CREATE TABLE feature_blocks (
  first_id INTEGER PRIMARY KEY,
  count INTEGER NOT NULL,
  features BLOB NOT NULL
);
CREATE TABLE flow_features (
  id INTEGER PRIMARY KEY${typed(cold(specs))}
);
CREATE INDEX flow_rows_run_id ON flow_rows(run_id);
CREATE INDEX flow_rows_start_us ON flow_rows(start_us);
CREATE TRIGGER flow_rows_delete AFTER DELETE ON flow_rows BEGIN
  DELETE FROM flow_features WHERE id = old.id;
END;
${flowsViewDdl(specs)}`;
}

/** The view `flows` and its delete trigger (dropped and made again when an upgrade adds verdict columns). */
function flowsViewDdl(specs: readonly FeatureColumnSpec[]): string {
  const viewFeatures = specs.map((c, i) => `${i < HOT_FEATURES ? 'r' : 'f'}.${q(c.sql)}`).join(', ');
  return `
CREATE VIEW flows AS SELECT r.id, ${IDENTITY_COLUMNS.map((c) => `r.${c}`).join(', ')},
  ${viewFeatures},
  ${[...VERDICT_COLUMNS, ...NAME_COLUMNS, ...CONTEXT_COLUMNS, ...NAME_SOURCE_COLUMNS, ...PAYLOAD_PROTOCOL_COLUMNS].map((c) => `r.${c}`).join(', ')}
FROM flow_rows r LEFT JOIN flow_features f ON f.id = r.id;
CREATE TRIGGER flows_delete INSTEAD OF DELETE ON flows BEGIN
  DELETE FROM flow_rows WHERE id = old.id;
END;
`;
}

/** The whole schema of a new database (meta rows are inserted by the caller). */
export function createSchemaSql(specs: readonly FeatureColumnSpec[]): string {
  return `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);\n${RUNS_DDL}\n${flowsDdl(specs)}`;
}

/**
 * Statements that bring a database of an older version to this one, run in order inside one transaction. From 1
 * or 2 (`flows` a table with a typed column per feature): the old rows are copied by SQL (no row passes through
 * JavaScript) into the current layout, their features straight to flow_features. From 3: flow_rows gains the
 * application verdict columns, from 4 the server name and the context column, from 5 the name's source, from 6 the
 * payload protocol (NULL in the old rows), and the view is made again with them.
 */
export function upgradeSql(fromVersion: number, specs: readonly FeatureColumnSpec[]): string[] {
  const out: string[] = [];
  if (fromVersion < 2) for (const col of V2_ADDED_COLUMNS) out.push(`ALTER TABLE flows ADD COLUMN ${col}`);
  if (fromVersion < 3) {
    const rowCols = ['id', ...IDENTITY_COLUMNS, ...hot(specs).map((c) => c.sql), ...V3_VERDICT_COLUMNS].map(q).join(', ');
    const featureCols = ['id', ...cold(specs).map((c) => c.sql)].map(q).join(', ');
    out.push('ALTER TABLE flows RENAME TO flows_v2');
    out.push(flowsDdl(specs));
    out.push(`INSERT INTO flow_rows (${rowCols}) SELECT ${rowCols} FROM flows_v2`);
    out.push(`INSERT INTO flow_features (${featureCols}) SELECT ${featureCols} FROM flows_v2`);
    out.push('DROP TABLE flows_v2');
  } else {
    const added = [
      ...(fromVersion < 4 ? V4_ADDED_COLUMNS : []),
      ...(fromVersion < 5 ? V5_ADDED_COLUMNS : []),
      ...(fromVersion < 6 ? V6_ADDED_COLUMNS : []),
      ...V7_ADDED_COLUMNS,
    ];
    for (const [c, type] of added) out.push(`ALTER TABLE flow_rows ADD COLUMN ${c} ${type} NULL`);
    out.push('DROP VIEW flows'); // its INSTEAD OF trigger goes with it
    out.push(flowsViewDdl(specs));
  }
  out.push(`UPDATE meta SET value = '${SCHEMA_VERSION}' WHERE key = 'schema_version'`);
  return out;
}

/** Rows per multi-row INSERT: measured best around 32-64; fewer when 32766 bound variables would not allow it. */
export const MAX_ROWS_PER_STATEMENT = 64;

/** The hot-path INSERT into flow_rows, for `rows` rows; its columns in binding order (`id` first). */
export function insertFlowRowsSql(specs: readonly FeatureColumnSpec[], rows: number): { sql: string; columns: string[] } {
  const columns = ['id', ...IDENTITY_COLUMNS, ...hot(specs).map((c) => c.sql), ...VERDICT_COLUMNS, ...NAME_COLUMNS, ...CONTEXT_COLUMNS, ...NAME_SOURCE_COLUMNS, ...PAYLOAD_PROTOCOL_COLUMNS];
  return { sql: multiInsert('flow_rows', columns, rows), columns };
}

/** Rows per statement for a table of `columns` bound values per row. */
export function rowsPerStatement(columns: number): number {
  return Math.max(1, Math.min(MAX_ROWS_PER_STATEMENT, Math.floor(32_000 / columns)));
}

/** The off-hot-path INSERT into flow_features, for `rows` rows: `id`, then the non-hot features in order. */
export function insertFlowFeaturesSql(specs: readonly FeatureColumnSpec[], rows: number): { sql: string; columns: string[] } {
  const columns = ['id', ...cold(specs).map((c) => c.sql)];
  return { sql: multiInsert('flow_features', columns, rows), columns };
}

/** What the writer's batch_rows gives per flow_rows row, in order: numbers (c0 ..), then texts (t0 ..). */
export const ROW_NUMBERS = ['src_port', 'dst_port', 'protocol', 'start_us', 'end_us'] as const;
/** After ROW_NUMBERS and the hot features: the scores, then the label codes (into the batch's dictionaries). */
export const ROW_SCORES = ['score', 'attack_score', 'app_score'] as const;
export const ROW_LABEL_CODES = ['label', 'attack_label', 'kdd', 'app_label', 'context'] as const;
/** The texts per row; server_name, its source and payload_protocol are '' for none (made NULL by the INSERT). */
export const ROW_TEXTS = ['flow_id', 'src_ip', 'dst_ip', 'timestamp', 'server_name', 'server_name_source', 'payload_protocol'] as const;

/** Numbers per flow_rows row through batch_rows. */
export function rowNumbersStride(specs: readonly FeatureColumnSpec[]): number {
  return ROW_NUMBERS.length + hot(specs).length + ROW_SCORES.length + ROW_LABEL_CODES.length;
}

/**
 * The INSERT into flow_rows of a whole batch through the writer's SQLite extension (batch_rows): binds @first (the
 * first row's id), @run, @numbers (rowNumbersStride numbers a row, float64; a NaN label code is NULL), @texts
 * (ROW_TEXTS, each followed by 0x1f), the models' names @model and @app_model, and each label column's dictionary
 * (@label, @attack_label, @kdd, @app_label, @context; labelDictionary's text), indexed by the row's code.
 */
export function insertFlowRowsFromBatchSql(specs: readonly FeatureColumnSpec[]): string {
  const c: Record<string, string> = {};
  let k = 0;
  for (const name of [...ROW_NUMBERS, ...hot(specs).map((s) => s.sql), ...ROW_SCORES]) c[name] = `c${k++}`;
  for (const name of ROW_LABEL_CODES) c[name] = `batch_label(@${name}, c${k++})`;
  ROW_TEXTS.forEach((name, i) => (c[name] = `t${i}`));
  c['server_name'] = `nullif(${c['server_name']}, '')`;
  c['server_name_source'] = `nullif(${c['server_name_source']}, '')`;
  c['payload_protocol'] = `nullif(${c['payload_protocol']}, '')`;
  c['id'] = '@first + rowid';
  c['run_id'] = '@run';
  c['model'] = '@model';
  c['app_model'] = '@app_model';
  const columns = insertFlowRowsSql(specs, 1).columns;
  return `INSERT INTO flow_rows (${columns.map(q).join(', ')}) SELECT ${columns.map((n) => c[n]!).join(', ')} FROM batch_rows(@numbers, ${rowNumbersStride(specs)}, @texts, ${ROW_TEXTS.length})`;
}

/**
 * The INSERT into flow_features of a whole batch from one BLOB of its feature vectors (float64, row-major, the
 * profile's order), through the writer's SQLite extension (native/src/sqlite-rows.c: `batch_rows(numbers, stride)`
 * yields one row per vector, columns c0 ..): bind the first row's id, then the BLOB.
 */
export function insertFlowFeaturesFromBlobSql(specs: readonly FeatureColumnSpec[]): string {
  const columns = ['id', ...cold(specs).map((c) => c.sql)];
  const values = cold(specs).map((_, k) => `c${HOT_FEATURES + k}`);
  return `INSERT INTO flow_features (${columns.map(q).join(', ')}) SELECT ${['? + rowid', ...values].join(', ')} FROM batch_rows(?, ${specs.length})`;
}

/** The id the next batch starts at (read inside its transaction, so concurrent writers cannot collide). */
export const NEXT_FLOW_ID_SQL = 'SELECT coalesce(max(id), 0) + 1 FROM flow_rows';

/** Stages a batch's feature vectors (bind: first_id, count, features). */
export const INSERT_FEATURE_BLOCK_SQL = 'INSERT INTO feature_blocks (first_id, count, features) VALUES (?, ?, ?)';

/** The oldest block not yet expanded: first_id, count, features. */
export const OLDEST_FEATURE_BLOCK_SQL = 'SELECT first_id, count, features FROM feature_blocks ORDER BY first_id LIMIT 1';

/** Drops a block once expanded (bind: first_id). */
export const DELETE_FEATURE_BLOCK_SQL = 'DELETE FROM feature_blocks WHERE first_id = ?';

/** Deletes the feature rows of ids first .. last that have no flow_rows row (bind: first, last). */
export const PRUNE_ORPHAN_FEATURES_SQL =
  'DELETE FROM flow_features WHERE id BETWEEN ? AND ? AND NOT EXISTS (SELECT 1 FROM flow_rows r WHERE r.id = flow_features.id)';

/** Flows whose features wait in blocks. */
export const PENDING_FEATURE_ROWS_SQL = 'SELECT coalesce(sum(count), 0) FROM feature_blocks';

function multiInsert(table: string, columns: readonly string[], rows: number): string {
  const one = `(${new Array(columns.length).fill('?').join(',')})`;
  return `INSERT INTO ${table} (${columns.map(q).join(', ')}) VALUES ${new Array(rows).fill(one).join(',')}`;
}

/**
 * A label column's dictionary as the writer's batch_label(dictionary, code) reads it: each entry as its length in
 * UTF-8 bytes, ':', then the entry ("6:BENIGN3:DoS"), so any text fits (native/src/sqlite-rows.c).
 */
export function labelDictionary(entries: readonly string[]): string {
  let text = '';
  for (const e of entries) text += `${Buffer.byteLength(e, 'utf8')}:${e}`;
  return text;
}
