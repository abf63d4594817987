/**
 * The thresholded verdict as a user relies on it (verdict-contract.md): the rule on real held-out rows, checked
 * against a computation written here from the probabilities; SQLite `label`/`score`/`attack_label`/`attack_score`/
 * `kdd` after a replay, `runs.counters.verdicts` and the summary, --alert-threshold over the card's threshold,
 * exact refusals, a database of the previous schema upgraded in place, and `models inspect`.
 * Thresholded models are the default model's ONNX with a card copied and extended here (the card's sha256 covers
 * the ONNX only).
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { Classifier } from '../src/classify/classifier.js';
import { DEFAULT_MODEL_NAME, MODELS_DIR } from '../src/classify/model.js';
import { getProfile } from '../src/features/profiles.js';
import { newFlowRows, type FlowRows } from '../src/sinks/flow-rows.js';
import { sensor } from './helpers/cli.js';
import { ensureBuilt } from './setup/build.js';

const dir = mkdtempSync(join(tmpdir(), 'sensor-verdicts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true, maxRetries: 3 }));
const DEFAULT_CARD = join(MODELS_DIR, `${DEFAULT_MODEL_NAME}.json`);
const shipped = (): Record<string, any> => JSON.parse(readFileSync(DEFAULT_CARD, 'utf8'));
const CAPTURES = ['fixtures/reference/cic2017-webattack-sqlinj.pcap', 'fixtures/reference/zeek-wikipedia.pcap', 'fixtures/reference/edge.pcap'];
/** A KDD mapping of the default model's classes (any valid one will do for the test). */
const kddOf = (classes: string[], benign: string): Record<string, string> =>
  Object.fromEntries(classes.map((c, i) => [c, c === benign ? 'normal' : ['DoS', 'Probe', 'R2L', 'U2R'][i % 4]!]));

/** The default model's ONNX next to a copy of its card with `patch` applied (a field patched to undefined is removed). */
function variant(name: string, patch: Record<string, unknown>): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  const card = { ...shipped(), ...patch };
  copyFileSync(join(MODELS_DIR, card.onnx.file), join(d, card.onnx.file));
  const path = join(d, `${name}.json`);
  writeFileSync(path, JSON.stringify(card, null, 2));
  return path;
}

/** The contract's rule, written out plainly: what a flow's verdict must be given its probabilities. */
function expected(p: number[], classes: string[], benign: string, threshold: number | null) {
  const B = classes.indexOf(benign);
  let A = -1;
  for (let c = 0; c < p.length; c++) if (c !== B && (A < 0 || p[c]! > p[A]!)) A = c;
  let top = 0;
  for (let c = 1; c < p.length; c++) if (p[c]! > p[top]!) top = c;
  const L = threshold === null ? top : p[A]! >= threshold ? A : B;
  return { label: classes[L]!, score: p[L]!, attackLabel: classes[A]!, attackScore: p[A]! };
}

beforeAll(async () => {
  await ensureBuilt(['src/classify/worker.ts', 'src/classify/classifier.ts', 'src/sinks/sqlite-worker.ts', 'src/cli/main.ts']);
});

describe('the verdict rule on held-out rows (in-process, the inference thread computes it)', () => {
  const goldenPath = join(MODELS_DIR, 'train', `golden-${DEFAULT_MODEL_NAME}.json`);
  const golden = JSON.parse(readFileSync(goldenPath, 'utf8')) as { rows: (number | string)[][]; proba: number[][]; classes: string[] };
  const num = (v: number | string): number => (typeof v === 'number' ? v : v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : -Infinity);
  const batch = (): FlowRows => {
    const F = getProfile(shipped().profile).columns.featureNames.length;
    const features = new Float64Array(golden.rows.length * F);
    golden.rows.forEach((r, i) => r.forEach((v, j) => (features[i * F + j] = num(v))));
    return { ...newFlowRows(golden.rows.length, 0), count: golden.rows.length, features, kinds: new Uint8Array(golden.rows.length * F) };
  };
  const card = shipped();
  const kdd = kddOf(card.classes, card.benign);
  const loaded: Classifier[] = [];
  afterAll(async () => {
    for (const c of loaded) await c.close();
  });

  async function check(cardPath: string, opts: { alertThreshold?: number }, threshold: number | null): Promise<{ alerts: number; below: number }> {
    const c = await Classifier.load(cardPath, opts);
    loaded.push(c);
    expect(c.threshold).toBe(threshold);
    const probsRows = batch();
    const probs = await c.probabilities(probsRows);
    const rows = batch();
    await c.classify(rows);
    const C = c.classes.length;
    let alerts = 0;
    let below = 0;
    for (let i = 0; i < rows.count; i++) {
      const p = Array.from(probs.subarray(i * C, (i + 1) * C));
      const want = expected(p, card.classes, card.benign, threshold);
      expect({ label: rows.labels![i], score: rows.scores![i], attackLabel: rows.attackLabels![i], attackScore: rows.attackScores![i] }, `row ${i}`).toEqual(want);
      expect(rows.kdd?.[i] ?? null).toBe(JSON.parse(readFileSync(cardPath, 'utf8')).kdd?.[want.label] ?? null);
      if (want.attackScore >= (threshold ?? Infinity)) alerts++;
      else below++;
    }
    return { alerts, below };
  }

  it('without a threshold: the most probable class; attack_label/attack_score still the best attack class', async () => {
    await check(variant('plain', { kdd, alert_threshold: undefined }), {}, null);
  });
  it("with the card's alert_threshold, and --alert-threshold overriding it: both sides of the line are exercised", async () => {
    const t = 0.62;
    const r = await check(variant('thr', { alert_threshold: t, kdd }), {}, t);
    expect(r.alerts).toBeGreaterThan(0);
    expect(r.below).toBeGreaterThan(0);
    // An override above some rows the card's threshold alerts on: halfway between the lowest such score and the next
    // distinct one (scikit-learn's probabilities in the golden file; far from both at float32's precision).
    const B = golden.classes.indexOf(card.benign);
    const above = golden.proba.map((p) => Math.max(...p.filter((_, k) => k !== B))).filter((x) => x >= t).sort((a, b) => a - b);
    const next = above.find((x) => x > above[0]! + 1e-4)!;
    const over = (above[0]! + next) / 2;
    const o = await check(variant('thr-override', { alert_threshold: 0.05 }), { alertThreshold: over }, over);
    expect(o.below).toBeGreaterThan(r.below);
    expect(o.alerts).toBeGreaterThan(0);
  });
});

// ---- the command line ---------------------------------------------------------------------------------------

type Row = { flow_id: string; src_ip: string; label: string | null; score: number | null; attack_label: string | null; attack_score: number | null; kdd: string | null; model: string | null };

function runRows(db: string, runId: number): Row[] {
  const d = new Database(db, { readonly: true });
  try {
    return d.prepare('SELECT flow_id, src_ip, label, score, attack_label, attack_score, kdd, model FROM flows WHERE run_id = ? ORDER BY id').all(runId) as Row[];
  } finally {
    d.close();
  }
}
function runCounters(db: string, runId: number): Record<string, any> {
  const d = new Database(db, { readonly: true });
  try {
    return JSON.parse((d.prepare('SELECT counters FROM runs WHERE id = ?').get(runId) as { counters: string }).counters);
  } finally {
    d.close();
  }
}
const countBy = (rows: Row[], key: (r: Row) => string | null): Map<string, number> => {
  const m = new Map<string, number>();
  for (const r of rows) m.set(key(r) ?? 'null', (m.get(key(r) ?? 'null') ?? 0) + 1);
  return m;
};

describe('replay: verdict columns, counters and summary', () => {
  const card = shipped();
  const kdd = kddOf(card.classes, card.benign);
  const db = join(dir, 'verdicts.sqlite');
  let plain: Row[] = [];
  let threshold = 0;

  beforeAll(async () => {
    const r = await sensor(['--replay', ...CAPTURES, '--db', db, '--model', variant('cli-plain', { kdd, alert_threshold: undefined })]);
    expect(r.status, r.stderr).toBe(0);
    plain = runRows(db, 1);
    // A threshold between two of the run's attack scores, so that flows fall on both sides of it.
    const scores = [...new Set(plain.map((x) => x.attack_score!))].sort((a, b) => a - b);
    expect(scores.length).toBeGreaterThan(3);
    const m = Math.floor(scores.length / 2);
    threshold = Number(((scores[m - 1]! + scores[m]!) / 2).toFixed(6));
  });

  it('without a threshold: label = the most probable class; attack_label = the best attack class (never the benign one)', () => {
    expect(plain.length).toBeGreaterThan(30);
    for (const r of plain) {
      expect(r.attack_label).not.toBe(card.benign);
      expect(card.classes).toContain(r.attack_label);
      // The most probable class is the best attack class exactly when that one beats the benign probability.
      if (r.label !== card.benign) expect([r.label, r.score]).toEqual([r.attack_label, r.attack_score]);
      else expect(r.score!).toBeGreaterThanOrEqual(r.attack_score!);
      expect(r.kdd).toBe(kdd[r.label!]);
    }
  });

  it('--alert-threshold T: label = attack_label when attack_score >= T, else the benign class with its probability', async () => {
    const r = await sensor(['--replay', ...CAPTURES, '--db', db, '--model', variant('cli-card-thr', { kdd, alert_threshold: 1 }), '--alert-threshold', String(threshold)]);
    expect(r.status, r.stderr).toBe(0);
    const rows = runRows(db, 2);
    expect(rows.map((x) => x.flow_id)).toEqual(plain.map((x) => x.flow_id));
    let above = 0;
    rows.forEach((x, i) => {
      const before = plain[i]!;
      // The probabilities do not change with the threshold: the best attack class and its score are the same.
      expect([x.attack_label, x.attack_score]).toEqual([before.attack_label, before.attack_score]);
      if (x.attack_score! >= threshold) {
        above++;
        expect([x.label, x.score]).toEqual([x.attack_label, x.attack_score]);
      } else {
        expect(x.label).toBe(card.benign);
        // p[benign]: known from the plain run when benign was the most probable class there.
        if (before.label === card.benign) expect(x.score).toBe(before.score);
        else expect(x.score! + x.attack_score!).toBeLessThanOrEqual(1 + 1e-6);
      }
      expect(x.kdd).toBe(kdd[x.label!]);
    });
    expect(above).toBeGreaterThan(0);
    expect(above).toBeLessThan(rows.length);

    // runs.counters.verdicts = the labels written, every class listed; the summary prints the non-zero ones.
    const byLabel = countBy(rows, (x) => x.label);
    const verdicts = runCounters(db, 2).verdicts as Record<string, number>;
    expect(Object.keys(verdicts)).toEqual(card.classes);
    for (const c of card.classes) expect(verdicts[c]).toBe(byLabel.get(c) ?? 0);
    const line = card.classes.filter((c: string) => byLabel.has(c)).map((c: string) => `${c} ${byLabel.get(c)!.toLocaleString('en-US')}`).join(', ');
    expect(r.stderr).toContain(`\nverdicts: ${line} (alert threshold ${threshold})\n`);
    // Top alert sources: the source addresses with the most non-benign verdicts.
    const alerts = [...countBy(rows.filter((x) => x.label !== card.benign), (x) => x.src_ip).entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 5);
    expect(r.stderr).toContain(`\ntop alert sources: ${alerts.map(([ip, n]) => `${ip} (${n})`).join(', ')}\n`);
  });

  it("the card's alert_threshold applies when no --alert-threshold is given", async () => {
    const r = await sensor(['--replay', ...CAPTURES, '--db', db, '--model', variant('cli-thr', { kdd, alert_threshold: threshold })]);
    expect(r.status, r.stderr).toBe(0);
    const strip = (rows: Row[]) => rows.map(({ model: _m, ...x }) => x);
    expect(strip(runRows(db, 3))).toEqual(strip(runRows(db, 2)));
  });

  it('--no-model: label, score, attack_label, attack_score and kdd are NULL; no verdicts in the counters; a card without kdd: kdd NULL', async () => {
    const nm = join(dir, 'nomodel.sqlite');
    const r = await sensor(['--replay', CAPTURES[0]!, '--db', nm, '--no-model', '--profile', card.profile]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('verdicts:');
    for (const x of runRows(nm, 1)) expect([x.label, x.score, x.attack_label, x.attack_score, x.kdd]).toEqual([null, null, null, null, null]);
    expect(runCounters(nm, 1).verdicts).toBeUndefined();
    const r2 = await sensor(['--replay', CAPTURES[0]!, '--db', nm, '--model', variant('cli-bare', { kdd: undefined, alert_threshold: undefined })]);
    expect(r2.status, r2.stderr).toBe(0);
    expect(r2.stderr).toContain('(no alert threshold: the most probable class)');
    for (const x of runRows(nm, 2)) {
      expect(x.kdd).toBeNull();
      expect(x.attack_label).not.toBeNull();
    }
  });
});

describe('refusals (exit 2, nothing written)', () => {
  const EDGE = CAPTURES[2]!;
  const refused = async (args: string[]): Promise<string> => {
    const r = await sensor(['--replay', EDGE, '--csv', join(dir, 'never.csv'), ...args]);
    expect(r.status).toBe(2);
    expect(existsSync(join(dir, 'never.csv'))).toBe(false);
    return r.stderr;
  };
  it('--alert-threshold outside (0, 1], or with --no-model', async () => {
    expect(await refused(['--alert-threshold', '0'])).toBe('sensor: --alert-threshold: expected a number in (0, 1], got "0"\n');
    expect(await refused(['--alert-threshold', '1.01'])).toBe('sensor: --alert-threshold: expected a number in (0, 1], got "1.01"\n');
    expect(await refused(['--alert-threshold', '0.5', '--no-model'])).toBe("sensor: --alert-threshold applies to a model's verdicts, but --no-model was given\n");
  });
  it('an application model given as --model', async () => {
    // (no threshold: the validator refuses one on an application model, and that is not what is tested here)
    const app = variant('app', { task: 'application', alert_threshold: undefined });
    expect(await refused(['--model', app])).toBe(
      `sensor: model card ${app}: task is "application", but --model (config "model") takes a model of task "attack" (give it as --app-model)\n`,
    );
  });
});

describe('a database of an older schema (version 1)', () => {
  it('gets attack_label, attack_score and kdd (NULL in its old rows) and keeps its rows', async () => {
    const db = join(dir, 'v1.sqlite');
    const r1 = await sensor(['--replay', CAPTURES[0]!, '--db', db, '-q']);
    expect(r1.status, r1.stderr).toBe(0);
    // Make it what version 1 wrote: flows a table with a column per feature, no verdict columns beyond
    // label/score/model.
    const d = new Database(db);
    d.exec(`CREATE TABLE flows_t AS SELECT * FROM flows; DROP VIEW flows; DROP TABLE flow_rows; DROP TABLE flow_features;
      DROP TABLE feature_blocks; ALTER TABLE flows_t RENAME TO flows;`);
    for (const c of ['attack_label', 'attack_score', 'kdd', 'app_label', 'app_score', 'app_model', 'server_name', 'context', 'server_name_source', 'payload_protocol']) d.exec(`ALTER TABLE flows DROP COLUMN ${c}`);
    d.exec(`UPDATE meta SET value = '1' WHERE key = 'schema_version'`);
    const before = d.prepare('SELECT * FROM flows ORDER BY id').all();
    d.close();

    const r2 = await sensor(['--replay', CAPTURES[0]!, '--db', db, '-q']);
    expect(r2.status, r2.stderr).toBe(0);
    const e = new Database(db, { readonly: true });
    expect((e.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).get() as { value: string }).value).toBe('7');
    const old = e.prepare('SELECT * FROM flows WHERE run_id = 1 ORDER BY id').all() as Record<string, unknown>[];
    expect(old.map(({ attack_label: _a, attack_score: _s, kdd: _k, app_label: _l, app_score: _p, app_model: _m, server_name: _n, context: _c, server_name_source: _o, payload_protocol: _q, ...rest }) => rest)).toEqual(before);
    for (const x of old) expect([x.attack_label, x.attack_score, x.kdd, x.app_label, x.app_score, x.app_model, x.server_name, x.context, x.server_name_source, x.payload_protocol]).toEqual([null, null, null, null, null, null, null, null, null, null]);
    const fresh = e.prepare('SELECT attack_label FROM flows WHERE run_id = 2').all() as { attack_label: string | null }[];
    expect(fresh.length).toBe(old.length);
    for (const x of fresh) expect(x.attack_label).not.toBeNull();
    expect((e.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check).toBe('ok');
    e.close();

    // A version this program does not know is still refused, untouched.
    const f = new Database(db);
    f.exec(`UPDATE meta SET value = '8' WHERE key = 'schema_version'`);
    f.close();
    const r3 = await sensor(['--replay', CAPTURES[0]!, '--db', db, '-q']);
    expect(r3.status).toBe(4);
    expect(r3.stderr).toBe(`sensor: database ${db} has schema version 8, this program writes 7\n`);
  });
});

describe('sensor models inspect shows the verdict fields', () => {
  it('task, threshold, kdd mapping, drift reference', async () => {
    const card = shipped();
    const kdd = kddOf(card.classes, card.benign);
    const m = variant('inspect', { task: 'attack', alert_threshold: 0.7, kdd, drift_reference: { method: 'quantile-bins', rows: 500, features: { [card.inputs[0]]: { edges: [1, 2], fractions: [0.2, 0.3, 0.5] } } } });
    const r = await sensor(['models', 'inspect', m]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('\ntask           attack\n');
    expect(r.stdout).toContain('\nthreshold      alert_threshold 0.7: a flow is an attack when its most likely attack class has p >= 0.7\n');
    expect(r.stdout).toContain(`\nkdd            ${card.classes.map((c: string) => `${c} -> ${kdd[c]}`).join(', ')}\n`);
    expect(r.stdout).toContain(`\ndrift          reference of 1 of ${card.inputs.length} inputs, quantile-bins, 500 training rows (sensor models drift)\n`);
    // A card of the first format version: none of the fields.
    const plain = await sensor(['models', 'inspect', variant('inspect-old', { task: undefined, alert_threshold: undefined, kdd: undefined, drift_reference: undefined })]);
    expect(plain.status, plain.stderr).toBe(0);
    expect(plain.stdout).toContain('\ntask           attack (no task in the card)\n');
    expect(plain.stdout).toContain('\nthreshold      none: the verdict is the most probable class\n');
    expect(plain.stdout).toContain('\nkdd            none\n');
    expect(plain.stdout).toContain('\ndrift          no drift_reference (sensor models drift cannot check this model)\n');
  });
});
