/**
 * `sensor models drift MODEL DB`: how far the flows of one run are from the data the model was trained on.
 *
 * Each input of the card's `drift_reference` is rebuilt from the run's rows in the `flows` table (the database's
 * `meta.columns` says which SQL column holds which feature; feature-names.ts resolves the card's spelling), prepared
 * as the model sees it (the card's preprocessing; a NULL cell is a NaN the sink could not store), put in the
 * reference's bins, and compared with the training shares by the population stability index:
 *   PSI = Σ over bins (q − p) · ln(q / p),  q = the run's share, p = training's, each floored at 1e-4.
 * PSI ≥ 0.25 is the usual "significant shift"; 0.1–0.25 a moderate one.
 */
import type Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { getProfile } from '../features/profiles.js';
import { resolveInputs, type InputSource } from './feature-names.js';
import { serverNameSpec, SuffixTable } from './server-name-class.js';
import { payloadProtocolValueOfText } from './payload-protocol-class.js';
import { binIndex, preprocessValue, type DriftFeature, type ModelCard } from './model-card.js';

/** Each share is floored at this before the logarithm (an empty bin would make PSI infinite). */
export const PSI_FLOOR = 1e-4;
/** The usual "significant shift" of a population stability index. */
export const DEFAULT_DRIFT_THRESHOLD = 0.25;

export class DriftError extends Error {
  override readonly name = 'DriftError';
  constructor(
    /** 'model': the card cannot be used for drift (exit 2); 'input': the database or run cannot be (exit 3). */
    readonly kind: 'model' | 'input',
    message: string,
  ) {
    super(message);
  }
}

/** Population stability index of shares `q` (the run) against `p` (training), both floored at PSI_FLOOR. */
export function psi(q: ArrayLike<number>, p: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) {
    const a = Math.max(q[i]!, PSI_FLOOR);
    const b = Math.max(p[i]!, PSI_FLOOR);
    s += (a - b) * Math.log(a / b);
  }
  return s;
}

/**
 * The training median as far as the bins tell: the point where the cumulative share reaches 0.5, linear inside a
 * bounded bin; in the first or last (unbounded) bin only a bound is known (`<= e` / `> e`).
 */
export function referenceMedian(f: DriftFeature): { value: number; bound: '' | '<=' | '>' } {
  const { edges, fractions } = f;
  let cum = 0;
  for (let i = 0; i < fractions.length; i++) {
    const next = cum + fractions[i]!;
    if (next >= 0.5 && fractions[i]! > 0) {
      if (i === 0) return { value: edges[0] ?? NaN, bound: '<=' };
      if (i === fractions.length - 1) return { value: edges[i - 1]!, bound: '>' };
      const lo = edges[i - 1]!;
      const hi = edges[i]!;
      return { value: lo + ((0.5 - cum) / fractions[i]!) * (hi - lo), bound: '' };
    }
    cum = next;
  }
  return { value: edges[edges.length - 1] ?? NaN, bound: '>' };
}

export interface FeatureDrift {
  /** The input's name as the card spells it. */
  name: string;
  psi: number;
  /** The run's shares per bin. */
  shares: number[];
  /** Median of the run's (preprocessed) values; filled for the `top` features only. */
  runMedian?: number;
  trainingMedian: { value: number; bound: '' | '<=' | '>' };
}

export interface DriftReport {
  runId: number;
  source: string;
  flows: number;
  /** Every input of the reference, most drifted first. */
  features: FeatureDrift[];
}

const IDENTITY_SQL: Record<string, string> = { srcPort: 'src_port', dstPort: 'dst_port', protocol: 'protocol' };
const q = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** Reads run `runId` (default: the latest) of `dbPath` and measures every reference input's drift. */
export function measureDrift(card: ModelCard, cardPath: string, dbPath: string, runId: number | undefined, top: number): DriftReport {
  const ref = card.drift_reference;
  if (!ref) {
    throw new DriftError('model', `model card ${cardPath}: has no drift_reference (the training distribution of its inputs), so there is nothing to compare the flows with`);
  }
  if (!existsSync(dbPath)) throw new DriftError('input', `cannot read database ${dbPath}: no such file`);
  let db: Database.Database;
  try {
    // Loaded here, not at import: every replay imports this module (classify/cli.ts) and never measures drift.
    const open = createRequire(import.meta.url)('better-sqlite3') as typeof Database;
    db = new open(dbPath, { readonly: true, fileMustExist: true });
  } catch (e) {
    throw new DriftError('input', `cannot read database ${dbPath}: ${(e as Error).message}`);
  }
  try {
    return measure(db, card, dbPath, runId, top);
  } catch (e) {
    if (e instanceof DriftError) throw e;
    const code = String((e as { code?: unknown }).code ?? '');
    if (code === 'SQLITE_NOTADB') throw new DriftError('input', `${dbPath} is not a SQLite database`);
    throw new DriftError('input', `cannot read database ${dbPath}: ${(e as Error).message}`);
  } finally {
    db.close();
  }
}

function measure(db: Database.Database, card: ModelCard, dbPath: string, runId: number | undefined, top: number): DriftReport {
  const ref = card.drift_reference!;
  // `flows` is a table up to schema version 2, a view since 3 (src/sinks/sqlite-schema.ts).
  const hasTable = (t: string): boolean => db.prepare(`SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?`).get(t) !== undefined;
  if (!hasTable('meta') || !hasTable('runs') || !hasTable('flows')) throw new DriftError('input', `database ${dbPath} is not a sensor database (no meta, runs and flows tables)`);
  const meta = new Map((db.prepare('SELECT key, value FROM meta').all() as { key: string; value: string }[]).map((r) => [r.key, r.value]));
  const profile = meta.get('profile') ?? '(none)';
  if (profile !== card.profile) {
    throw new DriftError('input', `database ${dbPath} holds flows of profile '${profile}', but model ${card.name}@${card.version} reads profile '${card.profile}' features`);
  }
  const columns = getProfile(card.profile).columns;
  let sqlOf: string[];
  try {
    const stored = JSON.parse(meta.get('columns') ?? 'null') as { name: string; sql: string }[];
    if (!Array.isArray(stored) || stored.length !== columns.featureNames.length || stored.some((c, i) => c.name !== columns.featureNames[i])) throw new Error('other columns');
    sqlOf = stored.map((c) => c.sql);
  } catch {
    throw new DriftError('input', `database ${dbPath} was created for profile '${profile}' with other feature columns than this program's`);
  }

  const runs = db.prepare('SELECT id FROM runs ORDER BY id').all() as { id: number }[];
  if (runs.length === 0) throw new DriftError('input', `database ${dbPath} has no runs`);
  const id = runId ?? runs[runs.length - 1]!.id;
  const run = db.prepare('SELECT id, source FROM runs WHERE id = ?').get(id) as { id: number; source: string } | undefined;
  if (!run) throw new DriftError('input', `database ${dbPath} has no run ${id} (its runs: ${describeIds(runs.map((r) => r.id))})`);

  // The reference's inputs, where each comes from in `flows`, and its preprocessing index.
  const { sources } = resolveInputs(card.inputs, columns);
  const names = Object.keys(ref.features);
  const sqlColumn = (s: InputSource): string =>
    s.from === 'feature' ? sqlOf[s.index]! : s.from === 'identity' ? IDENTITY_SQL[s.field]! : s.from === 'payload-protocol' ? 'payload_protocol' : 'server_name';
  // The stored name as the model read it: none when it came from a source the card does not read (a row stored
  // before sources were recorded counts as the flow's own name, as the engine's rows do).
  const readSources = card.server_names?.sources;
  const hasSourceColumn = (db.prepare('PRAGMA table_info(flows)').all() as { name: string }[]).some((c) => c.name === 'server_name_source');
  const select = (s: InputSource): string =>
    s.from === 'server-name' && readSources && hasSourceColumn
      ? `CASE WHEN COALESCE(${q('server_name_source')}, 'flow') IN (${readSources.map((n) => `'${n}'`).join(', ')}) THEN ${q('server_name')} END`
      : q(sqlColumn(s));
  // Server Name Class is the stored name looked up in the card's table, as the model saw it.
  const names2class = card.server_names ? new SuffixTable(serverNameSpec(card.server_names, card.classes)) : null;
  // Payload Protocol Class: the stored protocol name's place in the card's list, as the model saw it.
  const protocols = card.payload_protocols?.protocols ?? [];
  const value = (s: InputSource, v: unknown): number =>
    s.from === 'server-name'
      ? names2class!.classOfText(v as string | null)
      : s.from === 'payload-protocol'
        ? payloadProtocolValueOfText(protocols, v as string | null)
        : v === null
          ? NaN
          : Number(v);
  const inputIndex = names.map((n) => card.inputs.indexOf(n));
  const selectList = inputIndex.map((j) => select(sources[j]!)).join(', ');
  const stmt = db.prepare(`SELECT ${selectList} FROM flows WHERE run_id = ?`).raw(true);

  const refs = names.map((n) => ref.features[n]!);
  const counts = refs.map((f) => new Float64Array(f.fractions.length));
  const pre = card.preprocessing;
  let n = 0;
  for (const row of stmt.iterate(id) as Iterable<(number | string | null)[]>) {
    n++;
    for (let k = 0; k < names.length; k++) {
      const x = preprocessValue(value(sources[inputIndex[k]!]!, row[k]), pre, inputIndex[k]!);
      counts[k]![binIndex(x, refs[k]!.edges)]!++;
    }
  }
  if (n === 0) throw new DriftError('input', `run ${id} of database ${dbPath} has no flows`);

  const features: FeatureDrift[] = names.map((name, k) => {
    const shares = Array.from(counts[k]!, (c) => c / n);
    return { name, psi: psi(shares, refs[k]!.fractions), shares, trainingMedian: referenceMedian(refs[k]!) };
  });
  features.sort((a, b) => b.psi - a.psi || (a.name < b.name ? -1 : 1));

  // Medians of the run, for the features that will be printed (one column read each).
  for (const f of features.slice(0, top)) {
    const j = card.inputs.indexOf(f.name);
    const values = new Float64Array(n);
    let i = 0;
    for (const [v] of db.prepare(`SELECT ${select(sources[j]!)} FROM flows WHERE run_id = ?`).raw(true).iterate(id) as Iterable<[number | string | null]>) {
      values[i++] = preprocessValue(value(sources[j]!, v), pre, j);
    }
    values.sort();
    f.runMedian = n % 2 === 1 ? values[(n - 1) / 2]! : (values[n / 2 - 1]! + values[n / 2]!) / 2;
  }
  return { runId: id, source: run.source, flows: n, features };
}

/** `1-3, 7` */
function describeIds(ids: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < ids.length; ) {
    let j = i;
    while (j + 1 < ids.length && ids[j + 1] === ids[j]! + 1) j++;
    parts.push(j > i ? `${ids[i]}-${ids[j]}` : String(ids[i]));
    i = j + 1;
  }
  return parts.join(', ');
}

/** A number for a table: integers as they are, others with 4 significant digits. */
function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(4)));
}

/** The report as `sensor models drift` prints it. */
export function formatDrift(card: ModelCard, dbPath: string, r: DriftReport, threshold: number, top: number): string {
  const ref = card.drift_reference!;
  const over = r.features.filter((f) => f.psi > threshold);
  const lines = [
    `model      ${card.name}@${card.version}: training reference of ${r.features.length} inputs, ${ref.rows.toLocaleString('en-US')} rows`,
    `run        ${r.runId} of ${dbPath} (${r.source}): ${r.flows.toLocaleString('en-US')} flows`,
    `${'feature'.padEnd(34)} ${'PSI'.padStart(8)} ${'median (run)'.padStart(14)} ${'median (training)'.padStart(18)}`,
  ];
  for (const f of r.features.slice(0, top)) {
    const m = f.trainingMedian;
    const training = `${m.bound === '' ? '' : `${m.bound} `}${formatValue(m.value)}`;
    lines.push(`${f.name.trim().padEnd(34)} ${f.psi.toFixed(4).padStart(8)} ${formatValue(f.runMedian!).padStart(14)} ${training.padStart(18)}`);
  }
  lines.push(
    over.length > 0
      ? `drift: ${over.length} of ${r.features.length} inputs have PSI above ${threshold} (largest ${r.features[0]!.psi.toFixed(4)}, ${r.features[0]!.name.trim()})`
      : `no drift: every input's PSI is at most ${threshold} (largest ${r.features[0]!.psi.toFixed(4)}, ${r.features[0]!.name.trim()})`,
  );
  return lines.join('\n') + '\n';
}
