/**
 * End to end with a model whose group depends only on one input (test/helpers/server-name-model.py): `Server Name
 * Class` (test/server-name-class.test.ts) or `Payload Protocol Class` (test/payload-protocol-class.test.ts). The
 * group and score the sensor stores for a flow then say which value its input had.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'vitest';
import { validateModelCard } from '../../src/classify/model-card.js';
import { ROOT, runCommand, sensor } from './cli.js';

/** The model in DIR/model (names.onnx, card names.json); its classes and scikit-learn's probabilities per value 0..4. */
export async function makeOneInputModel(python: string, dir: string, table: unknown, payload: boolean): Promise<{ card: string; proba: number[][] }> {
  mkdirSync(join(dir, 'model'));
  const t = await runCommand(python, [join(ROOT, 'test/helpers/server-name-model.py'), join(dir, 'model'), JSON.stringify(table), ...(payload ? ['--payload'] : [])]);
  expect(t.status, t.stderr).toBe(0);
  const { proba } = JSON.parse(readFileSync(join(dir, 'model', 'expected.json'), 'utf8')) as { proba: number[][] };
  return { card: join(dir, 'model', 'names.json'), proba };
}

/** The model's classes (server-name-model.py's CLASSES). */
export const ONE_INPUT_CLASSES = ['Web', 'Network', 'Other'];

/**
 * Replays `captures` into `db` with the model as the application model (and `extra` options), and checks that every
 * flow has the group and score of the value `valueOf` gives its stored `column`; returns the values met.
 */
export async function expectVerdictsByValue(o: {
  captures: string[];
  card: string;
  db: string;
  extra: string[];
  column: 'server_name' | 'payload_protocol';
  /** The SQL that gives the text the model read, when it is not the column as stored. */
  textSql?: string;
  valueOf: (text: string | null) => number;
  proba: number[][];
}): Promise<Set<number>> {
  const r = await sensor(['--replay', ...o.captures, '--db', o.db, '--no-model', '--app-model', o.card, '-q', ...o.extra]);
  expect(r.status, r.stderr).toBe(0);
  const d = new Database(o.db, { readonly: true });
  type Row = { flow_id: string; text: string | null; app_label: string | null; app_score: number | null };
  let rows: Row[];
  try {
    rows = d.prepare(`SELECT flow_id, ${o.textSql ?? o.column} AS text, app_label, app_score FROM flows ORDER BY id`).all() as Row[];
  } finally {
    d.close();
  }
  const values = new Set<number>();
  for (const f of rows) {
    const v = o.valueOf(f.text);
    values.add(v);
    const p = o.proba[v]!;
    const k = p.indexOf(Math.max(...p));
    expect({ flow: f.flow_id, [o.column]: f.text, label: f.app_label }).toEqual({ flow: f.flow_id, [o.column]: f.text, label: ONE_INPUT_CLASSES[k] });
    expect(f.app_score).toBeCloseTo(p[k]!, 6);
  }
  return values;
}

/**
 * The model's two refusals, each an exit 2 before any packet or row is read: `sensor --replay` with its card less
 * `key` (the table its input's values come from), saying so (`replayError`); and `sensor classify` of a CIC CSV with
 * the whole card (`classifyError`, the whole of stderr), since no CIC column holds the input.
 */
export async function expectRefusals(o: { card: string; key: string; dir: string; capture: string; replayError: string; classifyError: string }): Promise<void> {
  const bad = JSON.parse(readFileSync(o.card, 'utf8')) as Record<string, unknown>;
  delete bad[o.key];
  const badCard = join(o.dir, 'model', `without-${o.key}.json`);
  writeFileSync(badCard, JSON.stringify(bad));
  const r = await sensor(['--replay', o.capture, '--db', join(o.dir, 'refused.sqlite'), '--no-model', '--app-model', badCard]);
  expect(r.status).toBe(2);
  expect(r.stderr).toContain(o.replayError);
  const csv = await sensor(['classify', join(ROOT, 'fixtures/reference/edge.cicflowmeter-2017.csv'), '--model', o.card]);
  expect(csv.status).toBe(2);
  expect(csv.stderr).toBe(o.classifyError);
}

/** A card with `input` and Destination Port as its inputs and otherwise valid, with `extra`'s fields on top. */
export function oneInputCard(input: string, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    format: 'sensor-model-card/1', name: 't', version: '1', profile: 'cic2017', task: 'application',
    onnx: { file: 't.onnx', input: 'input', probabilities: 'probabilities', sha256: '0'.repeat(64) },
    inputs: [input, 'Destination Port'],
    preprocessing: { nan: 0, posinf: 0, neginf: 0, clip: null, scale: null },
    classes: ['Web', 'Network', 'Other'], benign: 'Other',
    provenance: { data: ['x'], created: '2026-12-07', code_commit: 'x', command: 'x' }, metrics: {},
    ...extra,
  };
}

/** What validateModelCard refuses in `card` ([] when it passes). */
export function cardErrors(card: Record<string, unknown>): string[] {
  const r = validateModelCard(card);
  return r.ok ? [] : r.errors;
}
