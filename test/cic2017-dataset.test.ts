/**
 * The proof that `--profile cic2017` reproduces the published CIC-IDS2017 rows, not only the CICFlowMeter build
 * that made them: replay the real dataset slice fixtures/reference/cic2017-webattack-sqlinj.pcap and, for every
 * flow we write, find the published row with the same Flow Duration and Total Fwd/Backward packet and byte
 * counts (the closest one, fewest differing cells, when several share them); every one of the dataset's 77
 * feature columns must be equal (integer cells exactly, others within 1e-6 relative; inf/NaN equal themselves).
 *
 * Published rows: fixtures/cic2017/CICIDS2017_sample-webattack-rows.csv (the 21 SQL-injection rows of the public
 * sample, selected by label and position, see fixtures/cic2017/extract.mjs) always; the whole 6,311-row sample
 * from the shared workspace when it is present. The sample is a MachineLearningCSV-style file: 77 features and
 * Label, no Flow ID/addresses/ports/Timestamp, names without leading spaces, the second `Fwd Header Length`
 * named `Fwd Header Length.1` as pandas writes it. Names are trimmed and duplicates numbered the pandas way on
 * both sides, so the raw published CSVs (leading spaces, `Fwd Header Length` twice, identity columns) work too.
 *
 * Also: the sample-wide invariants of the 2017 build (CIC-FEATURES.md §9) on all published rows and on our
 * cic2017 output of the bundled captures and of every lab phase (when the shared workspace is present).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, SHARED, sensor } from './helpers/cli.js';

const PCAP = join(ROOT, 'fixtures/reference/cic2017-webattack-sqlinj.pcap');
const FIXTURE_ROWS = join(ROOT, 'fixtures/cic2017/CICIDS2017_sample-webattack-rows.csv');
const EXTRACT = join(ROOT, 'fixtures/cic2017/extract.mjs');
const SAMPLE = join(SHARED, 'data/cic/CICIDS2017_sample.csv');
const LAB = join(SHARED, 'data/lab');
/** Flows of the slice that have a published row (CIC-FEATURES.md §9, reference/README.md). */
const PUBLISHED_FLOWS = 16;

const out = mkdtempSync(join(tmpdir(), 'sensor-cic2017-dataset-'));
afterAll(() => rmSync(out, { recursive: true, force: true, maxRetries: 3 }));

// ---------------------------------------------------------------------------------------------------------
// CSV tables with dataset column names

interface Table {
  /** Trimmed names, repeats numbered as pandas does: `Fwd Header Length`, `Fwd Header Length.1`. */
  head: string[];
  rows: string[][];
  col: (name: string) => number;
}

function table(text: string): Table {
  const lines = text.split(/\r?\n/).filter((l) => l !== '');
  const seen = new Map<string, number>();
  const head = lines[0]!.split(',').map((raw) => {
    const h = raw.trim();
    const n = seen.get(h) ?? 0;
    seen.set(h, n + 1);
    return n === 0 ? h : `${h}.${n}`;
  });
  const rows = lines.slice(1).map((l) => l.split(',')).filter((cells) => cells[0]!.trim() !== lines[0]!.split(',')[0]!.trim());
  const index = new Map(head.map((h, i) => [h, i]));
  return {
    head,
    rows,
    col: (name) => {
      const i = index.get(name);
      if (i === undefined) throw new Error(`no column ${JSON.stringify(name)}`);
      return i;
    },
  };
}
const readTable = (path: string): Table => table(readFileSync(path, 'utf8'));

const IDENTITY = new Set(['Flow ID', 'Source IP', 'Source Port', 'Destination IP', 'Destination Port', 'Protocol', 'Timestamp',
  'Src IP', 'Src Port', 'Dst IP', 'Dst Port', 'Label']);
/** The match key: equal in our flow and its published row. */
const KEY = ['Flow Duration', 'Total Fwd Packets', 'Total Backward Packets', 'Total Length of Fwd Packets', 'Total Length of Bwd Packets'];

const keyOf = (t: Table, r: string[]): string => KEY.map((k) => String(value(r[t.col(k)]))).join('/');

function value(cell: string | undefined): number {
  const t = (cell ?? '').trim();
  switch (t.toLowerCase()) {
    case 'inf': case 'infinity': return Infinity;
    case '-inf': case '-infinity': return -Infinity;
    case 'nan': return NaN;
  }
  return t === '' ? NaN : Number(t);
}

/** A published cell against ours: integer cells exactly, others within 1e-6 relative. */
function same(published: string, ours: string): boolean {
  const p = value(published);
  const o = value(ours);
  if (Number.isNaN(p) || Number.isNaN(o)) return Number.isNaN(p) && Number.isNaN(o) && published.trim() !== '' && ours.trim() !== '';
  if (p === o) return true;
  if (/^\s*-?\d+\s*$/.test(published) || !Number.isFinite(p) || !Number.isFinite(o)) return false;
  return Math.abs(p - o) <= 1e-6 * Math.max(Math.abs(p), Math.abs(o));
}

interface Found {
  flow: number;
  row: number;
  differing: string[];
}
interface Comparison {
  flows: number;
  found: Found[];
  /** Our flows with no published row of the same key. */
  notFound: number[];
  columns: string[];
  differingCells: number;
  byColumn: Record<string, number>;
}

/** Pairs each of our flows with its closest published row of the same key and counts differing cells. */
function compare(ours: Table, published: Table): Comparison {
  const columns = published.head.filter((h) => !IDENTITY.has(h));
  const missing = columns.filter((c) => !ours.head.includes(c));
  if (missing.length > 0) throw new Error(`our CSV lacks the dataset's columns ${JSON.stringify(missing)}`);
  const pc = columns.map((c) => published.col(c));
  const oc = columns.map((c) => ours.col(c));
  const byKey = new Map<string, number[]>();
  published.rows.forEach((r, i) => {
    const k = keyOf(published, r);
    byKey.set(k, [...(byKey.get(k) ?? []), i]);
  });
  const used = new Set<number>();
  const found: Found[] = [];
  const notFound: number[] = [];
  ours.rows.forEach((r, flow) => {
    let best: Found | undefined;
    for (const row of byKey.get(keyOf(ours, r)) ?? []) {
      const p = published.rows[row]!;
      const differing = columns.filter((_, j) => !same(p[pc[j]!]!, r[oc[j]!]!));
      // Fewest differing cells; on a tie, a row no other flow has taken yet.
      if (!best || differing.length < best.differing.length || (differing.length === best.differing.length && used.has(best.row) && !used.has(row))) {
        best = { flow, row, differing };
      }
    }
    if (best) {
      used.add(best.row);
      found.push(best);
    } else notFound.push(flow);
  });
  const byColumn: Record<string, number> = {};
  for (const f of found) for (const c of f.differing) byColumn[c] = (byColumn[c] ?? 0) + 1;
  return { flows: ours.rows.length, found, notFound, columns, differingCells: found.reduce((n, f) => n + f.differing.length, 0), byColumn };
}

/** Counts, then the differing columns of the first few flows (by our flow's identity, the published row's line). */
function report(c: Comparison, ours: Table): string {
  const who = (flow: number): string => {
    const r = ours.rows[flow]!;
    const id = ['Source IP', 'Source Port', 'Destination IP', 'Destination Port', 'Timestamp'].filter((n) => ours.head.includes(n)).map((n) => r[ours.col(n)]);
    return id.length > 0 ? id.join(' ') : `flow ${flow + 1}`;
  };
  const cells = c.found.length * c.columns.length;
  const lines = [`${c.found.length}/${c.flows} flows found, ${cells - c.differingCells}/${cells} cells equal; differing by column ${JSON.stringify(c.byColumn)}`];
  for (const f of c.found.filter((x) => x.differing.length > 0).slice(0, 5)) lines.push(`  ${who(f.flow)} vs published line ${f.row + 2}: ${f.differing.join(', ')}`);
  if (c.notFound.length > 0) lines.push(`  no published row: ${c.notFound.map(who).join('; ')}`);
  return lines.join('\n');
}

async function replay(pcap: string, profile: string, name: string): Promise<Table> {
  const csv = join(out, `${name}.${profile}.csv`);
  const r = await sensor(['--replay', pcap, '--profile', profile, '--csv', csv, '--no-model', '-q'], { timeoutMs: 600_000 });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return readTable(csv);
}

// ---------------------------------------------------------------------------------------------------------
// The 2017 build's invariants (CIC-FEATURES.md §9), true in all 6,311 published sample rows

const FLAG_COLUMNS = ['FIN Flag Count', 'SYN Flag Count', 'RST Flag Count', 'PSH Flag Count', 'ACK Flag Count', 'URG Flag Count',
  'CWE Flag Count', 'ECE Flag Count', 'Fwd PSH Flags', 'Bwd PSH Flags', 'Fwd URG Flags', 'Bwd URG Flags'];
const BULK_COLUMNS = ['Fwd Avg Bytes/Bulk', 'Fwd Avg Packets/Bulk', 'Fwd Avg Bulk Rate', 'Bwd Avg Bytes/Bulk', 'Bwd Avg Packets/Bulk', 'Bwd Avg Bulk Rate'];
const SUBFLOW_TOTALS = [['Subflow Fwd Packets', 'Total Fwd Packets'], ['Subflow Fwd Bytes', 'Total Length of Fwd Packets'],
  ['Subflow Bwd Packets', 'Total Backward Packets'], ['Subflow Bwd Bytes', 'Total Length of Bwd Packets']] as const;

/** Violations of the invariants, by rule: each flag column 0 or 1 (first packet only); SYN Flag Count (the first
 * packet's PSH) = Fwd + Bwd PSH Flags; CWE Flag Count (its URG) = Fwd + Bwd URG Flags; subflow = totals; bulk 0;
 * both Fwd Header Length columns equal; at least 2 packets (single-packet flows are never written). */
function invariantViolations(t: Table): Record<string, number> {
  const bad: Record<string, number> = {};
  const v = (r: string[], c: string): number => value(r[t.col(c)]);
  const fail = (rule: string): void => void (bad[rule] = (bad[rule] ?? 0) + 1);
  for (const r of t.rows) {
    for (const c of FLAG_COLUMNS) if (v(r, c) !== 0 && v(r, c) !== 1) fail(`${c} in {0,1}`);
    if (v(r, 'SYN Flag Count') !== v(r, 'Fwd PSH Flags') + v(r, 'Bwd PSH Flags')) fail('SYN Flag Count = Fwd + Bwd PSH Flags');
    if (v(r, 'CWE Flag Count') !== v(r, 'Fwd URG Flags') + v(r, 'Bwd URG Flags')) fail('CWE Flag Count = Fwd + Bwd URG Flags');
    for (const [s, total] of SUBFLOW_TOTALS) if (v(r, s) !== v(r, total)) fail(`${s} = ${total}`);
    for (const c of BULK_COLUMNS) if (v(r, c) !== 0) fail(`${c} = 0`);
    if (v(r, 'Fwd Header Length.1') !== v(r, 'Fwd Header Length')) fail('Fwd Header Length.1 = Fwd Header Length');
    if (v(r, 'Total Fwd Packets') + v(r, 'Total Backward Packets') < 2) fail('at least 2 packets');
  }
  return bad;
}

// ---------------------------------------------------------------------------------------------------------

const haveSample = existsSync(SAMPLE);
let ours: Table;

beforeAll(async () => {
  ours = await replay(PCAP, 'cic2017', 'sqlinj');
});

describe('--profile cic2017 against the published CIC-IDS2017 rows (SQL-injection slice)', () => {
  it('has every dataset feature column in our header, under the same name', () => {
    const published = readTable(FIXTURE_ROWS);
    expect(published.rows.length).toBe(21);
    expect(published.head.filter((h) => !IDENTITY.has(h))).toHaveLength(77);
    expect(ours.head.filter((h) => !IDENTITY.has(h))).toEqual(published.head.filter((h) => !IDENTITY.has(h)));
  });

  it(`finds >= ${PUBLISHED_FLOWS} of our flows in the bundled published rows, all 77 columns equal`, () => {
    const c = compare(ours, readTable(FIXTURE_ROWS));
    expect(c.columns).toHaveLength(77);
    expect(c.found.length, report(c, ours)).toBeGreaterThanOrEqual(PUBLISHED_FLOWS);
    expect(new Set(c.found.map((f) => f.row)).size, 'one published row per flow').toBe(c.found.length);
    expect(c.differingCells, report(c, ours)).toBe(0);
  });

  it('reads the raw published CSV style too (leading spaces, `Fwd Header Length` twice)', () => {
    const [head, ...rest] = readFileSync(FIXTURE_ROWS, 'utf8').split('\n');
    const raw = head!.split(',').map((h, i) => (i === 0 ? h : ` ${h.replace(/\.1$/, '')}`)).join(',');
    const c = compare(ours, table([raw, ...rest].join('\n')));
    expect(c.columns).toContain('Fwd Header Length.1');
    expect(c.found.length, report(c, ours)).toBeGreaterThanOrEqual(PUBLISHED_FLOWS);
    expect(c.differingCells, report(c, ours)).toBe(0);
  });

  it.skipIf(!haveSample)(`finds >= ${PUBLISHED_FLOWS} of our flows in the whole public sample (6,311 rows), all 77 columns equal`, () => {
    const sample = readTable(SAMPLE);
    expect(sample.rows).toHaveLength(6311);
    const c = compare(ours, sample);
    expect(c.found.length, report(c, ours)).toBeGreaterThanOrEqual(PUBLISHED_FLOWS);
    expect(new Set(c.found.map((f) => f.row)).size, 'one published row per flow').toBe(c.found.length);
    expect(c.differingCells, report(c, ours)).toBe(0);
  });

  it.skipIf(!haveSample)('bundled rows are what fixtures/cic2017/extract.mjs selects from the sample', () => {
    execFileSync(process.execPath, [EXTRACT, SAMPLE, '--check'], { cwd: ROOT, stdio: 'pipe' });
  });
});

describe('the comparison catches a wrong feature', () => {
  it('one wrong cell in any of the 77 columns of one flow fails it', () => {
    const published = readTable(FIXTURE_ROWS);
    const base = compare(ours, published);
    // A flow whose key is unique among the published rows, so a wrong cell cannot find another row instead.
    const target = base.found.find((f) => {
      const k = keyOf(ours, ours.rows[f.flow]!);
      return published.rows.filter((r) => keyOf(published, r) === k).length === 1;
    })!;
    expect(target).toBeDefined();
    const caught: string[] = [];
    for (const c of base.columns) {
      const j = ours.col(c);
      const rows = ours.rows.map((r) => [...r]);
      const cell = value(rows[target.flow]![j]);
      rows[target.flow]![j] = String(Number.isFinite(cell) ? cell * 1.01 + 1 : 1);
      const broken = compare({ ...ours, rows }, published);
      if (broken.differingCells > 0 || broken.found.length < base.found.length) caught.push(c);
    }
    expect(caught).toEqual(base.columns);
  });

  it('CICFlowMeter master (--profile cic, columns renamed to the dataset names) does not pass', async () => {
    const cic = await replay(PCAP, 'cic', 'sqlinj');
    // Same features in the same order, master's names; master has no second Fwd Header Length (a copy of the first).
    const names = ours.head.filter((h) => h !== 'Fwd Header Length.1');
    expect(cic.head).toHaveLength(names.length);
    const renamed = table([names.join(','), ...cic.rows.map((r) => r.join(','))].join('\n'));
    const withCopy: Table = { ...renamed, head: [...renamed.head, 'Fwd Header Length.1'], rows: renamed.rows.map((r) => [...r, r[renamed.col('Fwd Header Length')]!]) };
    const idx = new Map(withCopy.head.map((h, i) => [h, i]));
    withCopy.col = (n) => idx.get(n)!;
    const c = compare(withCopy, readTable(FIXTURE_ROWS));
    const passes = c.found.length >= PUBLISHED_FLOWS && c.differingCells === 0;
    expect(passes, report(c, withCopy)).toBe(false);
  });
});

describe('invariants of the 2017 build (CIC-FEATURES.md §9)', () => {
  it('hold in the bundled published rows', () => {
    expect(invariantViolations(readTable(FIXTURE_ROWS))).toEqual({});
  });

  it.skipIf(!haveSample)('hold in all 6,311 rows of the public sample', () => {
    const sample = readTable(SAMPLE);
    expect(sample.rows).toHaveLength(6311);
    expect(invariantViolations(sample)).toEqual({});
  });

  const bundled = readdirSync(join(ROOT, 'fixtures/reference')).filter((f) => f.endsWith('.pcap'));
  it('hold in our cic2017 output of every bundled capture', async () => {
    let flows = 0;
    for (const f of bundled) {
      const t = await replay(join(ROOT, 'fixtures/reference', f), 'cic2017', f);
      flows += t.rows.length;
      expect(invariantViolations(t), f).toEqual({});
    }
    expect(flows).toBeGreaterThan(0);
  });

  const lab = existsSync(LAB) ? readdirSync(LAB).filter((f) => /^phase-.*\.pcap(\.gz)?$/.test(f)) : [];
  describe.skipIf(lab.length === 0)('in our cic2017 output of the lab phases', () => {
    for (const f of lab) {
      it(f, { timeout: 600_000 }, async () => {
        const t = await replay(join(LAB, f), 'cic2017', f);
        expect(t.rows.length).toBeGreaterThan(0);
        expect(invariantViolations(t)).toEqual({});
      });
    }
  });
});
