/**
 * `sensor models drift MODEL DB`, for real: flows replayed from bundled captures into SQLite, a card whose
 * drift_reference is computed HERE from one run's stored rows (quantile edges, shares by the contract's bin rule,
 * written independently of src/classify/drift.ts), then the command compared with a PSI computed here:
 * - the run the reference came from: PSI 0 for every input, exit 0;
 * - other traffic: the inputs above 0.25 and the largest PSI are the ones computed here, exit 5;
 * - exact errors: a card without drift_reference (2), a run the database does not have (3), a database of another
 *   profile (3), no database (3).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { DEFAULT_MODEL_NAME, MODELS_DIR } from '../src/classify/model.js';
import { psi, referenceMedian } from '../src/classify/drift.js';
import { sensor } from './helpers/cli.js';
import { ensureBuilt } from './setup/build.js';

const dir = mkdtempSync(join(tmpdir(), 'sensor-drift-'));
afterAll(() => rmSync(dir, { recursive: true, force: true, maxRetries: 3 }));
const DEFAULT_CARD = join(MODELS_DIR, `${DEFAULT_MODEL_NAME}.json`);
const shipped = (): Record<string, any> => JSON.parse(readFileSync(DEFAULT_CARD, 'utf8'));
const TRAINING = ['fixtures/reference/cic2017-webattack-sqlinj.pcap'];
const OTHER = ['fixtures/reference/zeek-wikipedia.pcap', 'fixtures/reference/zeek-http-vlan.pcap', 'fixtures/reference/edge.pcap'];
const db = join(dir, 'flows.sqlite');

/** Each input the card names that is a stored feature column, with its SQL name (meta.columns, exact name). */
function inputColumns(card: Record<string, any>): { input: string; sql: string }[] {
  const d = new Database(db, { readonly: true });
  const meta = JSON.parse((d.prepare(`SELECT value FROM meta WHERE key = 'columns'`).get() as { value: string }).value) as { name: string; sql: string }[];
  d.close();
  return (card.inputs as string[]).flatMap((input) => {
    const col = meta.find((c) => c.name.trim() === input.trim());
    return col ? [{ input, sql: col.sql }] : [];
  });
}

/** A run's values of one column as the model sees them (NULL = NaN the sink could not store). */
function values(sql: string, runId: number, pre: { nan: number; posinf: number; neginf: number }): number[] {
  const d = new Database(db, { readonly: true });
  const rows = d.prepare(`SELECT "${sql}" AS v FROM flows WHERE run_id = ?`).all(runId) as { v: number | null }[];
  d.close();
  return rows.map(({ v }) => (v === null || Number.isNaN(v) ? pre.nan : v === Infinity ? pre.posinf : v === -Infinity ? pre.neginf : v));
}

/** Shares per bin by the contract's rule: bin i when x <= edges[i] for the first such i, else the last bin. */
function shares(xs: number[], edges: number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const x of xs) {
    let i = 0;
    while (i < edges.length && !(x <= edges[i]!)) i++;
    counts[i]!++;
  }
  return counts.map((c) => c / xs.length);
}

const floor = (x: number): number => Math.max(x, 1e-4);
const psiHere = (q: number[], p: number[]): number => q.reduce((s, qi, i) => s + (floor(qi) - floor(p[i]!)) * Math.log(floor(qi) / floor(p[i]!)), 0);

let card: Record<string, any>;
let cardPath: string;
let columns: { input: string; sql: string }[];

beforeAll(async () => {
  await ensureBuilt(['src/classify/drift.ts', 'src/classify/cli.ts', 'src/sinks/sqlite-worker.ts', 'src/cli/main.ts']);
  const profile = shipped().profile as string;
  for (const files of [TRAINING, OTHER]) {
    const r = await sensor(['--replay', ...files, '--db', db, '--no-model', '--profile', profile, '-q']);
    expect(r.status, r.stderr).toBe(0);
  }
  // The reference: run 1's distribution of every input, in quintile bins.
  card = shipped();
  columns = inputColumns(card);
  expect(columns.length).toBeGreaterThan(40);
  const features: Record<string, unknown> = {};
  for (const { input, sql } of columns) {
    const xs = values(sql, 1, card.preprocessing).sort((a, b) => a - b);
    const edges = [...new Set([0.2, 0.4, 0.6, 0.8].map((q) => xs[Math.floor(q * (xs.length - 1))]!))];
    features[input] = { edges, fractions: shares(xs, edges) };
  }
  card.drift_reference = { method: 'quantile-bins', rows: values(columns[0]!.sql, 1, card.preprocessing).length, features };
  const d = join(dir, 'model');
  mkdirSync(d, { recursive: true });
  copyFileSync(join(MODELS_DIR, card.onnx.file), join(d, card.onnx.file));
  cardPath = join(d, 'with-drift.json');
  writeFileSync(cardPath, JSON.stringify(card, null, 2));
}, 120_000);

/** The table rows `sensor models drift` printed: name, PSI, run median, training median. */
function table(stdout: string): { name: string; psi: number; run: string; training: string }[] {
  const lines = stdout.split('\n');
  const head = lines.findIndex((l) => l.startsWith('feature '));
  return lines
    .slice(head + 1)
    .filter((l) => /^\S.* \d+\.\d{4} /.test(l) && !l.startsWith('drift') && !l.startsWith('no drift'))
    .map((l) => ({ name: l.slice(0, 34).trim(), psi: Number(l.slice(35, 43)), run: l.slice(44, 58).trim(), training: l.slice(59).trim() }));
}

describe('sensor models drift', () => {
  it('the run the reference was computed from: PSI 0 for every input, exit 0', async () => {
    const r = await sensor(['models', 'drift', cardPath, db, '--run', '1', '--top', '3']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const t = table(r.stdout);
    expect(t).toHaveLength(3);
    for (const row of t) expect(row.psi).toBe(0);
    expect(r.stdout).toMatch(/\nno drift: every input's PSI is at most 0\.25 \(largest 0\.0000, .+\)\n$/);
    expect(r.stdout).toContain(`run        1 of ${db} (${TRAINING[0]}): `);
  });

  it('other traffic (the latest run): the same inputs above 0.25 and the same PSI as computed here, exit 5', async () => {
    const r = await sensor(['models', 'drift', cardPath, db, '--top', '5']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(5);
    const here = columns
      .map(({ input, sql }) => {
        const ref = card.drift_reference.features[input];
        const xs = values(sql, 2, card.preprocessing);
        const sorted = [...xs].sort((a, b) => a - b);
        const n = sorted.length;
        const median = n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
        return { name: input.trim(), psi: psiHere(shares(xs, ref.edges), ref.fractions), median };
      })
      .sort((a, b) => b.psi - a.psi);
    const over = here.filter((f) => f.psi > 0.25);
    expect(over.length).toBeGreaterThan(0);
    expect(r.stdout).toContain(`\ndrift: ${over.length} of ${columns.length} inputs have PSI above 0.25 (largest ${here[0]!.psi.toFixed(4)}, `);
    const t = table(r.stdout);
    expect(t).toHaveLength(5);
    t.forEach((row, i) => {
      expect(row.psi).toBeCloseTo(here[i]!.psi, 4);
      const mine = here.find((f) => f.name === row.name)!;
      expect(Math.abs(mine.psi - row.psi)).toBeLessThan(1e-4);
      expect(Number(row.run)).toBeCloseTo(mine.median, Math.max(0, 3 - Math.floor(Math.log10(Math.abs(mine.median) || 1))));
    });
    // A higher threshold: no input above it, exit 0.
    const calm = await sensor(['models', 'drift', cardPath, db, '--threshold', String(Math.ceil(here[0]!.psi + 1))]);
    expect(calm.status).toBe(0);
  });

  it('exact errors: no drift_reference (2), no such run (3), another profile (3), no database (3), bad options (2)', async () => {
    const { drift_reference: _ref, ...bare } = card;
    const noRef = join(dir, 'model', 'no-drift.json');
    writeFileSync(noRef, JSON.stringify(bare, null, 2));
    const plain = await sensor(['models', 'drift', noRef, db]);
    expect(plain.status).toBe(2);
    expect(plain.stderr).toBe(`sensor: model card ${noRef}: has no drift_reference (the training distribution of its inputs), so there is nothing to compare the flows with\n`);

    const noRun = await sensor(['models', 'drift', cardPath, db, '--run', '9']);
    expect(noRun.status).toBe(3);
    expect(noRun.stderr).toBe(`sensor: database ${db} has no run 9 (its runs: 1-2)\n`);

    const cic = join(dir, 'cic.sqlite');
    const r = await sensor(['--replay', TRAINING[0]!, '--db', cic, '--no-model', '-q']);
    expect(r.status, r.stderr).toBe(0);
    const other = await sensor(['models', 'drift', cardPath, cic]);
    expect(other.status).toBe(3);
    expect(other.stderr).toBe(`sensor: database ${cic} holds flows of profile 'cic', but model ${card.name}@${card.version} reads profile '${card.profile}' features\n`);

    const none = await sensor(['models', 'drift', cardPath, join(dir, 'nope.sqlite')]);
    expect(none.status).toBe(3);
    expect(none.stderr).toBe(`sensor: cannot read database ${join(dir, 'nope.sqlite')}: no such file\n`);

    const bad = await sensor(['models', 'drift', cardPath, db, '--threshold', '0', '--top', '0']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe('sensor: Expected --threshold to be a positive number (PSI), got "0"\nsensor: Expected --top to be a positive integer, got "0"\nRun sensor models --help for the commands.\n');
  });
});

describe("the shipped model's own reference", () => {
  it('is read: every input of the card against its training rows (exit 0 or 5 by what the run holds)', async () => {
    const c = shipped();
    const r = await sensor(['models', 'drift', DEFAULT_CARD, db]);
    expect([0, 5], r.stderr).toContain(r.status);
    expect(r.stdout.split('\n')[0]).toBe(`model      ${c.name}@${c.version}: training reference of ${Object.keys(c.drift_reference.features).length} inputs, ${c.drift_reference.rows.toLocaleString('en-US')} rows`);
    expect(Object.keys(c.drift_reference.features)).toEqual(c.inputs);
  });
});

describe('PSI and the training median from the bins', () => {
  it('PSI = Σ (q − p) ln(q / p), each share floored at 1e-4', () => {
    expect(psi([0.5, 0.5], [0.5, 0.5])).toBe(0);
    expect(psi([0.9, 0.1], [0.5, 0.5])).toBeCloseTo(0.4 * Math.log(0.9 / 0.5) + -0.4 * Math.log(0.1 / 0.5), 12);
    expect(psi([1, 0], [0.5, 0.5])).toBeCloseTo(0.5 * Math.log(2) + (1e-4 - 0.5) * Math.log(1e-4 / 0.5), 12);
  });
  it('median: interpolated inside a bounded bin, a bound in the open ones', () => {
    expect(referenceMedian({ edges: [0, 10, 20], fractions: [0.2, 0.2, 0.4, 0.2] })).toEqual({ value: 12.5, bound: '' });
    expect(referenceMedian({ edges: [5], fractions: [0.7, 0.3] })).toEqual({ value: 5, bound: '<=' });
    expect(referenceMedian({ edges: [5], fractions: [0.3, 0.7] })).toEqual({ value: 5, bound: '>' });
  });
});
