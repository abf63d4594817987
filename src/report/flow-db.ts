/**
 * Read-only access to a sensor database (schema: src/sinks/sqlite-schema.ts; `flows` is a table up to schema
 * version 2, a view since 3): its runs, and the summaries the
 * report and the HTTP API show. Columns that only some databases have (`attack_label`, `attack_score`, `kdd`,
 * `app_label`, added by later versions) are looked up in `PRAGMA table_info(flows)`; a query that needs one
 * returns null when it is absent, and the caller says "not recorded".
 *
 * Opened read-only, so a live daemon can keep writing (WAL) while this reads.
 */
import { existsSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { canonicalFeatureName } from '../classify/feature-names.js';
import { readModelCard } from '../classify/model.js';
import type { ModelCard } from '../classify/model-card.js';

export class FlowDbError extends Error {
  override readonly name = 'FlowDbError';
}

export interface RunRow {
  id: number;
  source: string | null;
  mode: string | null;
  profile: string | null;
  started_at: string | null;
  ended_at: string | null;
  packets: number | null;
  flows: number | null;
  counters: Record<string, unknown> | null;
  argv: string[] | null;
}

export interface FeatureColumn {
  /** Header name in the profile's CSV. */
  name: string;
  /** Column name in `flows`. */
  sql: string;
}

export interface Count {
  key: string;
  n: number;
}

/** Which flows a query covers: one run, or all; optionally only flows that started at or after `sinceUs`. */
export interface Scope {
  runId?: number;
  sinceUs?: number;
}

export class FlowDb {
  readonly columns: ReadonlySet<string>;
  readonly features: readonly FeatureColumn[];
  readonly profile: string;

  private constructor(
    readonly path: string,
    readonly db: Database.Database,
  ) {
    this.columns = new Set((db.prepare('PRAGMA table_info(flows)').all() as { name: string }[]).map((c) => c.name));
    const meta = new Map((db.prepare('SELECT key, value FROM meta').all() as { key: string; value: string }[]).map((r) => [r.key, r.value]));
    this.profile = meta.get('profile') ?? '';
    try {
      this.features = (JSON.parse(meta.get('columns') ?? '[]') as FeatureColumn[]).map((c) => ({ name: c.name, sql: c.sql }));
    } catch {
      this.features = [];
    }
  }

  /** Open a sensor database read-only; FlowDbError (one line naming the path) when it is not one. */
  static open(path: string): FlowDb {
    if (!existsSync(path)) throw new FlowDbError(`cannot read database ${path}: no such file`);
    if (statSync(path).isDirectory()) throw new FlowDbError(`cannot read database ${path}: it is a directory`);
    let db: Database.Database;
    try {
      db = new Database(path, { readonly: true, fileMustExist: true });
      db.pragma('busy_timeout = 2000');
    } catch (e) {
      throw new FlowDbError(`cannot read database ${path}: ${(e as Error).message}`);
    }
    try {
      const tables = new Set((db.prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')").all() as { name: string }[]).map((r) => r.name));
      const lacking = ['meta', 'runs', 'flows'].filter((t) => !tables.has(t));
      if (lacking.length > 0) throw new FlowDbError(`${path} is not a sensor database (no ${lacking.join(', ')} table${lacking.length > 1 ? 's' : ''})`);
      return new FlowDb(path, db);
    } catch (e) {
      db.close();
      if (e instanceof FlowDbError) throw e;
      const code = String((e as { code?: unknown }).code ?? '');
      if (code === 'SQLITE_NOTADB') throw new FlowDbError(`${path} is not a SQLite database`);
      throw new FlowDbError(`cannot read database ${path}: ${(e as Error).message}`);
    }
  }

  close(): void {
    this.db.close();
  }

  has(column: string): boolean {
    return this.columns.has(column);
  }

  runs(): RunRow[] {
    return (this.db.prepare('SELECT * FROM runs ORDER BY id').all() as Record<string, unknown>[]).map(toRun);
  }

  run(id: number): RunRow | undefined {
    const r = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as Record<string, unknown> | undefined;
    return r ? toRun(r) : undefined;
  }

  latestRunId(): number | undefined {
    return (this.db.prepare('SELECT max(id) AS id FROM runs').get() as { id: number | null }).id ?? undefined;
  }

  /** The SQL column of a feature, by any spelling (first copy). */
  featureColumn(name: string, copy = 0): string | undefined {
    const c = canonicalFeatureName(name);
    const matches = this.features.filter((f) => canonicalFeatureName(f.name) === c);
    return (matches[copy] ?? matches[0])?.sql;
  }

  /** `WHERE` clause and parameters of a scope, with extra conditions. */
  where(scope: Scope, ...extra: string[]): { sql: string; params: unknown[] } {
    const parts: string[] = [];
    const params: unknown[] = [];
    if (scope.runId !== undefined) {
      parts.push('run_id = ?');
      params.push(scope.runId);
    }
    if (scope.sinceUs !== undefined) {
      parts.push('start_us >= ?');
      params.push(scope.sinceUs);
    }
    parts.push(...extra);
    return { sql: parts.length > 0 ? `WHERE ${parts.join(' AND ')}` : '', params };
  }

  /** The benign class: the model card's when known, else BENIGN/benign/normal if any flow has it. */
  benignLabel(card: ModelCard | null): string | null {
    if (card) return card.benign;
    const labels = this.countBy('label', {}).map((c) => c.key);
    return ['BENIGN', 'Benign', 'benign', 'normal', 'Normal'].find((b) => labels.includes(b)) ?? null;
  }

  /** Condition for an alert (a flow with a verdict other than the benign class). */
  alertSql(benign: string | null): string {
    return benign === null ? 'label IS NOT NULL' : `label IS NOT NULL AND label != '${benign.replace(/'/g, "''")}'`;
  }

  count(scope: Scope, ...extra: string[]): number {
    const w = this.where(scope, ...extra);
    return (this.db.prepare(`SELECT count(*) AS n FROM flows ${w.sql}`).get(...w.params) as { n: number }).n;
  }

  /** Flows per value of a column (NULL shown as "(none)"), most first; null when the column is absent. */
  countBy(column: string, scope: Scope, limit = 1000, ...extra: string[]): Count[] {
    if (!this.has(column)) return [];
    const w = this.where(scope, ...extra);
    const rows = this.db.prepare(`SELECT "${column}" AS k, count(*) AS n FROM flows ${w.sql} GROUP BY "${column}" ORDER BY n DESC, k LIMIT ${Math.floor(limit)}`).all(...w.params) as { k: unknown; n: number }[];
    return rows.map((r) => ({ key: r.k === null ? '(none)' : String(r.k), n: r.n }));
  }

  /** First packet of the earliest flow and last packet of the latest, in µs; null when there is no flow. */
  span(scope: Scope): { startUs: number; endUs: number } | null {
    const w = this.where(scope);
    const r = this.db.prepare(`SELECT min(start_us) AS s, max(end_us) AS e FROM flows ${w.sql}`).get(...w.params) as { s: number | null; e: number | null };
    return r.s === null || r.e === null ? null : { startUs: r.s, endUs: r.e };
  }

  /** Flows per time bin and label: series[label][bin], bins of `binUs` from `startUs` by flow start time. */
  timeSeries(scope: Scope, startUs: number, binUs: number, bins: number, column = 'label'): Record<string, number[]> {
    const w = this.where(scope);
    const rows = this.db
      .prepare(`SELECT (start_us - ?) / ? AS b, "${column}" AS k, count(*) AS n FROM flows ${w.sql} GROUP BY b, k`)
      .all(startUs, binUs, ...w.params) as { b: number; k: string | null; n: number }[];
    const series: Record<string, number[]> = {};
    for (const r of rows) {
      const k = r.k ?? '(none)';
      const b = Math.min(bins - 1, Math.max(0, Math.floor(r.b)));
      (series[k] ??= new Array<number>(bins).fill(0))[b]! += r.n;
    }
    return series;
  }

  /** Counts of a REAL column in equal bins [lo + i·w, lo + (i+1)·w) over [lo, hi]; values outside go to the end bins. */
  histogram(column: string, scope: Scope, lo: number, hi: number, bins: number, ...extra: string[]): number[] | null {
    if (!this.has(column)) return null;
    const w = this.where(scope, `"${column}" IS NOT NULL`, ...extra);
    const rows = this.db
      .prepare(`SELECT min(${bins - 1}, max(0, CAST(floor(("${column}" - ?) / ?) AS INTEGER))) AS b, count(*) AS n FROM flows ${w.sql} GROUP BY b`)
      .all(lo, (hi - lo) / bins, ...w.params) as { b: number; n: number }[];
    const out = new Array<number>(bins).fill(0);
    for (const r of rows) out[r.b]! += r.n;
    return out;
  }
}

function toRun(r: Record<string, unknown>): RunRow {
  const json = <T>(v: unknown): T | null => {
    if (typeof v !== 'string') return null;
    try {
      return JSON.parse(v) as T;
    } catch {
      return null;
    }
  };
  return {
    id: r.id as number,
    source: (r.source as string | null) ?? null,
    mode: (r.mode as string | null) ?? null,
    profile: (r.profile as string | null) ?? null,
    started_at: (r.started_at as string | null) ?? null,
    ended_at: (r.ended_at as string | null) ?? null,
    packets: (r.packets as number | null) ?? null,
    flows: (r.flows as number | null) ?? null,
    counters: json<Record<string, unknown>>(r.counters),
    argv: json<string[]>(r.argv),
  };
}

/**
 * The card of the model that labelled a run's flows (`model` = `name@version`), when it is installed in models/
 * with that version; null otherwise. `spec` (--model) names one explicitly.
 */
export function cardForRun(db: FlowDb, scope: Scope, spec?: string): { card: ModelCard; note?: string } | { card: null; note: string } {
  if (spec !== undefined) return { card: readModelCard(spec).card };
  if (!db.has('model')) return { card: null, note: 'the flows have no model column' };
  const w = db.where(scope, 'model IS NOT NULL');
  const row = db.db.prepare(`SELECT model FROM flows ${w.sql} LIMIT 1`).get(...w.params) as { model: string } | undefined;
  if (!row) return { card: null, note: 'no flow of this run has a verdict (run with --no-model?)' };
  const at = row.model.lastIndexOf('@');
  const name = at > 0 ? row.model.slice(0, at) : row.model;
  const version = at > 0 ? row.model.slice(at + 1) : '';
  try {
    const { card } = readModelCard(name);
    if (card.version !== version) return { card: null, note: `the run's model is ${row.model}, but models/${name}.json is version ${card.version} (give --model with the run's card)` };
    return { card };
  } catch {
    return { card: null, note: `the run's model ${row.model} is not installed in models/ (give --model with its card)` };
  }
}
