/**
 * `sensor classify FLOWS.csv`, as a user runs it on CSVs that CICFlowMeter or the public datasets wrote: the
 * verdicts are the packet path's (same model, same rows → same label and score as a replay into SQLite), whatever
 * spelling and order the header uses; missing columns are named; bad rows are kept, counted and named; the
 * contract's threshold/attack_label/kdd rule holds on every row.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { ROOT, SENSOR, runCommand, sensor } from './helpers/cli.js';
import { ensureBuilt } from './setup/build.js';
import { CsvRecordReader } from '../src/classify/csv-records.js';
import { parseCell, tableVerdicts, type TableRule } from '../src/classify/table-rows.js';
import { spellingsOf, canonicalFeatureName } from '../src/classify/feature-names.js';
import { DEFAULT_MODEL_NAME } from '../src/classify/model.js';

const dir = mkdtempSync(join(tmpdir(), 'sensor-classify-csv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true, maxRetries: 3 }));
/** Below the shipped card's threshold, so the small bundled captures have alerts of several classes to show. */
const LOW_T = '0.3';
const SAMPLE = join(ROOT, 'fixtures/train/CICIDS2017_sample-every4th.csv');
const MODEL_ONNX = join(ROOT, 'models', `${DEFAULT_MODEL_NAME}.onnx`);
const MODEL_CARD = join(ROOT, 'models', `${DEFAULT_MODEL_NAME}.json`);
/** The shipped model's card: names, inputs and threshold come from it, so these tests follow a retrained model. */
const SHIPPED = JSON.parse(readFileSync(MODEL_CARD, 'utf8')) as { name: string; version: string; inputs: string[]; alert_threshold?: number };
const MODEL_ID = `${SHIPPED.name}@${SHIPPED.version}`;
const inputNo = (name: string): number => {
  const i = SHIPPED.inputs.indexOf(name);
  if (i < 0) throw new Error(`the shipped model has no input ${name}`);
  return i + 1;
};

function parseCsv(text: string): string[][] {
  const r = new CsvRecordReader();
  return [...r.push(text), ...r.end()].map((x) => x.fields);
}
function rowsOf(path: string): { header: string[]; rows: string[][] } {
  const all = parseCsv(readFileSync(path, 'latin1'));
  return { header: all[0]!, rows: all.slice(1) };
}
const col = (header: string[], name: string): number => {
  const i = header.indexOf(name);
  if (i < 0) throw new Error(`no column ${name}`);
  return i;
};

beforeAll(() => {
  ensureBuilt(['src/cli/classify.ts', 'src/classify/table-rows.ts', 'src/classify/csv-records.ts', 'src/cli/main.ts', 'src/classify/worker.ts']);
});

describe('the verdicts are the packet path\'s', () => {
  it('a replay\'s own CSV, classified again, gives every flow the label and score SQLite stored', async () => {
    const csv = join(dir, 'replay.csv');
    const db = join(dir, 'replay.sqlite');
    const r = await sensor(['--replay', 'fixtures/reference/cic2017-webattack-sqlinj.pcap', 'fixtures/reference/zeek-wikipedia.pcap', '--csv', csv, '--db', db, '-q', '--alert-threshold', LOW_T]);
    expect(r.stderr).toBe('');
    const out = join(dir, 'replay-verdicts.csv');
    const c = await sensor(['classify', csv, '--out', out, '--alert-threshold', LOW_T]);
    expect(c.stderr).toBe('');
    expect(c.status).toBe(0);
    const { header, rows } = rowsOf(out);
    const stored = new Database(db, { readonly: true }).prepare('SELECT flow_id, timestamp, flow_duration, label, score FROM flows').all() as { flow_id: string; timestamp: string; flow_duration: number; label: string; score: number }[];
    expect(rows.length).toBe(stored.length);
    expect(rows.length).toBeGreaterThan(40);
    const byKey = new Map(stored.map((s) => [`${s.flow_id}|${s.timestamp}|${s.flow_duration}`, s]));
    const labels = new Set<string>();
    for (const row of rows) {
      const s = byKey.get(`${row[0]}|${row[col(header, 'Timestamp')]}|${row[col(header, 'Flow Duration')]}`)!;
      expect(s).toBeDefined();
      expect(row[col(header, 'predicted_label')]).toBe(s.label);
      expect(Number(row[col(header, 'predicted_score')])).toBe(s.score);
      expect(row[col(header, 'model')]).toBe(MODEL_ID);
      labels.add(s.label);
    }
    expect(labels.size).toBeGreaterThan(1); // benign and attack rows both seen
    // The input's rows are written back byte for byte, verdict columns appended.
    const inLines = readFileSync(csv, 'latin1').split('\n');
    const outLines = readFileSync(out, 'latin1').split('\n');
    expect(outLines.length).toBe(inLines.length);
    inLines.forEach((l, i) => (l === '' ? expect(outLines[i]).toBe('') : expect(outLines[i]!.startsWith(l + ',')).toBe(true)));
    // The summary counts per predicted class and against the input's own Label.
    expect(c.stdout).toContain(`${csv}: ${rows.length} rows, ${rows.length} classified by ${MODEL_ID}`);
    expect(c.stdout).toMatch(/^BENIGN +\d+ +[\d.]+ % +0\.\d{3}$/m);
  });
});

describe('every header spelling the card accepts gives the same verdicts', () => {
  let reference: string[];
  beforeAll(async () => {
    const out = join(dir, 'sample-verdicts.csv');
    const r = await sensor(['classify', SAMPLE, '--out', out, '-q']);
    expect(r.status).toBe(0);
    const { header, rows } = rowsOf(out);
    reference = rows.map((x) => `${x[col(header, 'predicted_label')]} ${x[col(header, 'predicted_score')]}`);
    expect(new Set(reference.map((x) => x.split(' ')[0])).size).toBeGreaterThanOrEqual(5);
  });

  it('"--out -" writes the same rows to standard output (the summary then goes to stderr); "-" as the file reads stdin', async () => {
    const r = await sensor(['classify', SAMPLE, '--out', '-']);
    expect(r.status).toBe(0);
    expect(readFileSync(join(dir, 'sample-verdicts.csv'), 'latin1')).toBe(r.stdout);
    expect(r.stderr).toContain(' rows, ');
    const piped = await runCommand('bash', ['-c', `node "${SENSOR}" classify - --out - -q < "${SAMPLE}"`]);
    expect([piped.status, piped.stdout]).toEqual([0, r.stdout]);
  });

  /** The sample with its header renamed by `rename` and its columns in `order` (indexes into the original). */
  async function variantVerdicts(name: string, rename: (h: string, i: number) => string, order?: number[], extra = ''): Promise<string[]> {
    const { header, rows } = rowsOf(SAMPLE);
    const idx = order ?? header.map((_, i) => i);
    const csvText = [idx.map((i) => rename(header[i]!, i)).join(','), ...rows.map((r) => idx.map((i) => r[i]).join(','))].join(extra || '\n') + (extra || '\n');
    const path = join(dir, `${name}.csv`);
    writeFileSync(path, csvText, 'latin1');
    const out = join(dir, `${name}-verdicts.csv`);
    const r = await sensor(['classify', path, '--out', out, '-q']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const o = rowsOf(out);
    return o.rows.map((x) => `${x[col(o.header, 'predicted_label')]} ${x[col(o.header, 'predicted_score')]}`);
  }
  const spelling = (k: number) => (h: string): string => {
    const c = canonicalFeatureName(h);
    return c === undefined ? h : spellingsOf(c)[Math.min(k, spellingsOf(c).length - 1)]!;
  };

  it('CICFlowMeter master\'s names', async () => expect(await variantVerdicts('master', spelling(0))).toEqual(reference));
  it('a header in another tool\'s spelling is accepted with a note that the values may differ', async () => {
    const note = 'note: the header is spelled as CICFlowMeter master writes it; the model reads profile cic2017 features (the CICFlowMeter build that made CIC-IDS2017). Columns the two compute differently shift the verdicts (README: Which profile?).\n';
    expect((await sensor(['classify', join(dir, 'master.csv')])).stdout.endsWith(note)).toBe(true);
    expect((await sensor(['classify', SAMPLE])).stdout).not.toContain('note:');
  });
  it('CSE-CIC-IDS2018\'s abbreviations', async () => expect(await variantVerdicts('y2018', spelling(2))).toEqual(reference));
  it('the Python port\'s snake_case keys', async () => expect(await variantVerdicts('python', spelling(3))).toEqual(reference));
  it('CIC-IDS2017\'s leading spaces, other case, CRLF line ends, columns in reverse order', async () => {
    const { header } = rowsOf(SAMPLE);
    const reversed = header.map((_, i) => header.length - 1 - i);
    expect(await variantVerdicts('spaces', (h, i) => (i % 2 ? ` ${h.toUpperCase()}` : ` ${h.toLowerCase()} `), reversed, '\r\n')).toEqual(reference);
  });
});

describe('bad input is named, counted and kept', () => {
  it('missing columns: exit 3, each named with the spellings accepted, nothing written', async () => {
    const { header, rows } = rowsOf(SAMPLE);
    const drop = new Set([col(header, 'Flow Bytes/s'), col(header, 'Init_Win_bytes_backward')]);
    const keep = header.map((_, i) => i).filter((i) => !drop.has(i));
    const path = join(dir, 'missing.csv');
    writeFileSync(path, [keep.map((i) => header[i]).join(','), ...rows.slice(0, 5).map((r) => keep.map((i) => r[i]).join(','))].join('\n') + '\n');
    const out = join(dir, 'missing-out.csv');
    const r = await sensor(['classify', path, '--out', out]);
    expect(r.status).toBe(3);
    expect(r.stderr).toBe(
      `sensor classify: ${path} lacks 2 column(s) the model ${MODEL_ID} needs:\n` +
        `sensor classify: missing column "Flow Bytes/s" (model input ${inputNo('Flow Bytes/s')} of ${SHIPPED.inputs.length}; accepted spellings: "Flow Bytes/s", "Flow Byts/s", "flow_byts_s", any case, spaces around ignored)\n` +
        `sensor classify: missing column "Init_Win_bytes_backward" (model input ${inputNo('Init_Win_bytes_backward')} of ${SHIPPED.inputs.length}; accepted spellings: "Bwd Init Win Bytes", "Init_Win_bytes_backward", "Init Bwd Win Byts", "init_bwd_win_byts", any case, spaces around ignored)\n`,
    );
    expect(existsSync(out)).toBe(false);
  });

  it('a bad cell, a short row and a blank row: every row written, the bad ones without verdict, named, exit 3', async () => {
    const text = readFileSync(SAMPLE, 'latin1').split('\n').slice(0, 8);
    const header = text[0]!.split(',');
    const fd = col(header, 'Flow Duration');
    const bad = text[2]!.split(',');
    bad[fd] = 'abc';
    text[2] = bad.join(',');
    text[4] = text[4]!.split(',').slice(0, 20).join(',');
    text[6] = header.map(() => '').join(',');
    const path = join(dir, 'bad.csv');
    writeFileSync(path, text.join('\n') + '\n');
    const out = join(dir, 'bad-out.csv');
    const r = await sensor(['classify', path, '--out', out]);
    expect(r.status).toBe(3);
    expect(r.stdout).toContain('7 rows, 4 classified');
    expect(r.stdout).toContain('1 empty rows (every field blank): no verdict');
    // The first model input (in card order) whose column the 20-field row lacks is the one named.
    const lacking = SHIPPED.inputs.find((n) => header.indexOf(n) >= 20)!;
    expect(r.stdout).toContain(`2 rows could not be classified (written without a verdict):\n  line 3: column "Flow Duration": "abc" is not a number\n  line 5: no value in column "${lacking}" (the row has 20 fields)\n`);
    const o = rowsOf(out);
    expect(o.rows.length).toBe(7);
    // The verdict columns are appended to each row as it is (the short row keeps its 20 fields).
    expect(o.rows.map((x) => x[x.length - 6] !== '')).toEqual([true, false, true, false, true, false, true]);
  });

  it('gzip-compressed input: the same rows; cut short: the rows before the cut kept, a warning, exit 3', async () => {
    const plain = readFileSync(SAMPLE);
    const gz = join(dir, 'sample.csv.gz');
    writeFileSync(gz, gzipSync(plain));
    const out = join(dir, 'gz-out.csv');
    expect((await sensor(['classify', gz, '--out', out, '-q'])).status).toBe(0);
    const ref = join(dir, 'plain-out.csv');
    expect((await sensor(['classify', SAMPLE, '--out', ref, '-q'])).status).toBe(0);
    expect(readFileSync(out).equals(readFileSync(ref))).toBe(true);
    const cut = join(dir, 'cut.csv.gz');
    writeFileSync(cut, gzipSync(plain).subarray(0, 20_000));
    const cutOut = join(dir, 'cut-out.csv');
    const r = await sensor(['classify', cut, '--out', cutOut]);
    expect(r.status).toBe(3);
    expect(r.stderr).toBe(`sensor classify: warning: ${cut}: damaged gzip stream (unexpected end of file); the rows before it are kept, the partial last line is not\n`);
    const kept = readFileSync(cutOut, 'latin1').split('\n').filter((l) => l !== '');
    expect(kept.length).toBeGreaterThan(10);
    // Every kept line is a whole line of the reference output (no partial row).
    const refLines = new Set(readFileSync(ref, 'latin1').split('\n'));
    expect(kept.every((l) => refLines.has(l))).toBe(true);
  });

  it('usage errors: exit 2 with the exact message; unreadable input exit 3; unwritable output exit 4', async () => {
    const t = await sensor(['classify', SAMPLE, '--alert-threshold', '0']);
    expect([t.status, t.stderr]).toEqual([2, 'sensor classify: Expected --alert-threshold to be a number in (0, 1], got "0"\n']);
    const m = await sensor(['classify', join(dir, 'nope.csv')]);
    expect([m.status, m.stderr]).toEqual([3, `sensor classify: cannot read ${join(dir, 'nope.csv')}: no such file\n`]);
    const e = join(dir, 'empty.csv');
    writeFileSync(e, '');
    const er = await sensor(['classify', e]);
    expect([er.status, er.stderr]).toEqual([3, `sensor classify: ${e} is empty (expected a header line of CICFlowMeter column names)\n`]);
    const o = await sensor(['classify', SAMPLE, '--out', join(dir, 'no/such/dir/out.csv')]);
    expect([o.status, o.stderr]).toEqual([4, `sensor classify: cannot write ${join(dir, 'no/such/dir/out.csv')}: no such file\n`]);
    const copy = join(dir, 'self.csv');
    copyFileSync(SAMPLE, copy);
    const self = await sensor(['classify', copy, '--out', copy]);
    expect([self.status, self.stderr]).toEqual([2, `sensor classify: --out ${copy} is the input file: write the verdicts elsewhere\n`]);
    expect(readFileSync(copy).equals(readFileSync(SAMPLE))).toBe(true);
    const h = await sensor(['classify', '--help']);
    expect(h.status).toBe(0);
    expect(h.stdout).toContain('Usage: sensor classify FLOWS.csv');
    expect(h.stdout).toContain('Exit codes: 0 every row classified');
  });
});

describe('CSV records', () => {
  const text = 'a,"b,1","c ""q"""\r\n1,"multi\nline",3\n,,\n"x",y,"" \n\nlast,no,end';
  const expected = [
    { fields: ['a', 'b,1', 'c "q"'], raw: 'a,"b,1","c ""q"""', line: 1 },
    { fields: ['1', 'multi\nline', '3'], raw: '1,"multi\nline",3', line: 2 },
    { fields: ['', '', ''], raw: ',,', line: 4 },
    { fields: ['x', 'y', ' '], raw: '"x",y,"" ', line: 5 },
    { fields: [''], raw: '', line: 6 },
    { fields: ['last', 'no', 'end'], raw: 'last,no,end', line: 7 },
  ];
  it('quotes, doubled quotes, line ends inside quotes, CRLF and LF, a last line without its end', () => {
    const r = new CsvRecordReader();
    expect([...r.push(text), ...r.end()]).toEqual(expected);
    expect(r.lineEnd).toBe('\r\n');
  });
  it('the same records whatever the chunk boundaries (every split point, and one character at a time)', () => {
    for (let cut = 0; cut <= text.length; cut++) {
      const r = new CsvRecordReader();
      expect([...r.push(text.slice(0, cut)), ...r.push(text.slice(cut)), ...r.end()]).toEqual(expected);
    }
    const r = new CsvRecordReader();
    const got = [...text].flatMap((c) => r.push(c));
    expect([...got, ...r.end()]).toEqual(expected);
  });
});

describe('the contract\'s verdict rule', () => {
  const rule: TableRule = { model: 'm@1', task: 'attack', classes: ['BENIGN', 'DoS', 'PortScan'], benign: 'BENIGN', threshold: 0.5, kdd: { BENIGN: 'normal', DoS: 'DoS', PortScan: 'Probe' } };
  // Probabilities exact in float32, as the model's output is.
  const one = (p: number[], r: TableRule = rule) => tableVerdicts(Float32Array.from(p), 1, r)[0];
  it('attack_label is the most likely non-benign class; the label crosses to it at the threshold', () => {
    expect(one([0.625, 0.25, 0.125])).toEqual({ label: 'BENIGN', score: 0.625, model: 'm@1', attack_label: 'DoS', attack_score: 0.25, kdd: 'normal' });
    expect(one([0.5, 0, 0.5])).toEqual({ label: 'PortScan', score: 0.5, model: 'm@1', attack_label: 'PortScan', attack_score: 0.5, kdd: 'Probe' });
    // Below the line: benign even though an attack class is the argmax.
    expect(one([0.125, 0.4375, 0.4375])!.label).toBe('BENIGN');
    // Ties go to the first class in card order.
    expect(one([0.125, 0.4375, 0.4375])!.attack_label).toBe('DoS');
    // No threshold: argmax, the attack fields still there; no kdd map: null.
    expect(one([0.125, 0.4375, 0.4375], { ...rule, threshold: null, kdd: null })).toEqual({ label: 'DoS', score: 0.4375, model: 'm@1', attack_label: 'DoS', attack_score: 0.4375, kdd: null });
    // Application task: argmax, no attack fields.
    expect(one([0.25, 0.625, 0.125], { ...rule, task: 'application', threshold: null })).toMatchObject({ label: 'DoS', attack_label: null, attack_score: null });
    // A batch: row by row.
    expect(tableVerdicts(Float32Array.from([0.625, 0.25, 0.125, 0.5, 0, 0.5]), 2, rule).map((v) => v.label)).toEqual(['BENIGN', 'PortScan']);
  });

  it('cells: Java and Python numbers, Infinity/NaN spellings; anything else is refused', () => {
    expect([parseCell('1.0E-4'), parseCell(' 79 '), parseCell('Infinity'), parseCell('-inf'), parseCell(null), parseCell(3)]).toEqual([1e-4, 79, Infinity, -Infinity, NaN, 3]);
    expect([parseCell('NaN'), parseCell(''), parseCell(' nan ')]).toEqual([NaN, NaN, NaN]);
    for (const bad of ['abc', '0x10', '1,5', '--1', undefined, {}, true]) expect(parseCell(bad)).toBeUndefined();
  });

  it('with the card\'s kdd map and alert_threshold, and --alert-threshold overriding it, on every row', async () => {
    const d = join(dir, 'kddmodel');
    mkdirSync(d, { recursive: true });
    copyFileSync(MODEL_ONNX, join(d, 'kdd.onnx'));
    const card = JSON.parse(readFileSync(MODEL_CARD, 'utf8'));
    const kdd: Record<string, string> = { BENIGN: 'normal', Bot: 'R2L', BruteForce: 'R2L', DoS: 'DoS', Infiltration: 'U2R', PortScan: 'Probe', WebAttack: 'R2L' };
    Object.assign(card, { task: 'attack', alert_threshold: 0.99, kdd }); // above most of the model's attack scores, so it changes some verdicts
    card.onnx.file = 'kdd.onnx';
    card.onnx.sha256 = createHash('sha256').update(readFileSync(join(d, 'kdd.onnx'))).digest('hex');
    writeFileSync(join(d, 'kdd.json'), JSON.stringify(card));
    for (const [args, T] of [[[], 0.99], [['--alert-threshold', '0.6'], 0.6]] as const) {
      const out = join(dir, `kdd-${T}.csv`);
      const r = await sensor(['classify', SAMPLE, '--model', join(d, 'kdd.json'), '--out', out, ...args]);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`alert threshold ${T}`);
      const { header, rows } = rowsOf(out);
      const [l, s, al, as, k] = ['predicted_label', 'predicted_score', 'attack_label', 'attack_score', 'kdd'].map((n) => col(header, n));
      let alerts = 0;
      let below = 0;
      for (const row of rows) {
        const attackScore = Number(row[as!]);
        expect(row[al!]).not.toBe('BENIGN');
        if (attackScore >= T) {
          alerts++;
          expect([row[l!], row[s!]]).toEqual([row[al!], row[as!]]);
        } else {
          if (row[al!] !== '' && attackScore > 1 - attackScore) below++; // would have been the argmax
          expect(row[l!]).toBe('BENIGN');
        }
        expect(row[k!]).toBe(kdd[row[l!]!]);
      }
      expect(alerts).toBeGreaterThan(100);
      if (T === 0.99) expect(below).toBeGreaterThan(0); // the threshold changed some argmax verdicts
    }
  });
});
