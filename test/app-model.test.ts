/**
 * The application model beside the attack model (issue 10, items 1 and 5), as a user runs it:
 * - `sensor --replay fixtures/... --db out.sqlite --app-model M` writes both verdicts for every flow, and the
 *   application verdicts are the ones scikit-learn gives for the same flows: a small forest is trained here on the
 *   sensor's own rows (test/helpers/train-app-model.py: groups by server port, inputs that differ from the attack
 *   model's, two of them identity fields), so the stored app_label/app_score are checked against a computation made
 *   outside the sensor;
 * - the CSV keeps the reference header exactly; JSON lines carry verdict.app_group/app_score/app_model; the run's
 *   counters, the summary and `--no-model` / `--no-app-model` each without the other;
 * - refusals before any packet is read, with their exact messages (exit 2, nothing written);
 * - the attack model's own ONNX with a card of task application (the same inputs: the one-tensor path of the
 *   inference thread): the group is the attack model's most probable class renamed, which SQLite's attack columns
 *   show independently;
 * - a version-3 database gets the three columns; the default application model (models/cic2017-app) when it is
 *   installed, and no error and no application verdicts when it is not.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_APP_MODEL_NAME, DEFAULT_MODEL_NAME, MODELS_DIR } from '../src/classify/model.js';
import { findPython } from './helpers/python.js';
import { asOlderSchema } from './helpers/run-db.js';
import { ROOT, runCommand, sensor } from './helpers/cli.js';
import { serve } from './helpers/serve.js';
import { ensureBuilt } from './setup/build.js';

const dir = mkdtempSync(join(tmpdir(), 'sensor-app-model-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const FIXTURES = ['edge', 'cic2017-webattack-sqlinj', 'cic2017-wednesday-tls-flow', 'zeek-http-vlan', 'zeek-wikipedia'].map((n) => join(ROOT, 'fixtures/reference', `${n}.pcap`));
const ATTACK_CARD = JSON.parse(readFileSync(join(MODELS_DIR, `${DEFAULT_MODEL_NAME}.json`), 'utf8')) as Record<string, any>;
const DEFAULT_APP_CARD = join(MODELS_DIR, `${DEFAULT_APP_MODEL_NAME}.json`);

type Row = Record<string, any>;
const rowsOf = (db: string): Row[] => {
  const d = new Database(db, { readonly: true });
  try {
    return d.prepare('SELECT * FROM flows ORDER BY id').all() as Row[];
  } finally {
    d.close();
  }
};
const countersOf = (db: string): Record<string, any> => {
  const d = new Database(db, { readonly: true });
  try {
    return JSON.parse(d.prepare('SELECT counters FROM runs ORDER BY id DESC LIMIT 1').pluck().get() as string);
  } finally {
    d.close();
  }
};
const tally = (values: (string | null)[]): Record<string, number> => {
  const o: Record<string, number> = {};
  for (const v of values) if (v !== null) o[v] = (o[v] ?? 0) + 1;
  return o;
};
const nonZero = (o: Record<string, number>): Record<string, number> => Object.fromEntries(Object.entries(o).filter(([, n]) => n > 0));
const csvLines = (path: string): string[] => readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');
/** A CSV line without its last column (Label: the attack verdict, or the reference's constant without a model). */
const withoutLabel = (line: string): string => line.slice(0, line.lastIndexOf(','));

/** The attack model's ONNX beside a copy of its card made an application model with these group names. */
function toyAppModel(name: string, patch: Record<string, unknown> = {}): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  const card: Record<string, any> = { ...ATTACK_CARD, name, task: 'application', classes: GROUPS, benign: 'Other', ...patch };
  for (const k of ['alert_threshold', 'kdd', 'drift_reference']) delete card[k];
  copyFileSync(join(MODELS_DIR, ATTACK_CARD.onnx.file), join(d, ATTACK_CARD.onnx.file));
  const path = join(d, `${name}.json`);
  writeFileSync(path, JSON.stringify(card, null, 2));
  return path;
}
const GROUPS = ['Web', 'Media', 'Chat', 'VoIP', 'VPN', 'Network', 'Other'].slice(0, (ATTACK_CARD.classes as string[]).length);

beforeAll(async () => {
  await ensureBuilt(['src/classify/worker.ts', 'src/classify/classifier.ts', 'src/sinks/sqlite-worker.ts', 'src/cli/main.ts']);
});

describe('refused before any packet is read (exit 2, one exact line, nothing written)', () => {
  const out = join(dir, 'never.csv');
  const refused = async (args: string[]): Promise<string> => {
    const r = await sensor(['--replay', FIXTURES[0]!, '--csv', out, ...args]);
    expect(r.status, r.stderr).toBe(2);
    expect(existsSync(out)).toBe(false);
    return r.stderr;
  };
  const attackCard = join(MODELS_DIR, `${DEFAULT_MODEL_NAME}.json`);

  it('a model in the wrong slot', async () => {
    const app = toyAppModel('slot-app');
    expect(await refused(['--model', app])).toBe(`sensor: model card ${app}: task is "application", but --model (config "model") takes a model of task "attack" (give it as --app-model)\n`);
    expect(await refused(['--app-model', attackCard])).toBe(
      `sensor: model card ${attackCard}: task is "attack", but --app-model (config "appModel") takes a model of task "application" (give it as --model)\n`,
    );
  });

  it('a task the sensor does not know', async () => {
    const odd = toyAppModel('odd-task', { task: 'anomaly' });
    expect(await refused(['--app-model', odd])).toBe(`sensor: model card ${odd}: task: expected "attack" or "application", got "anomaly"\n`);
    expect(await refused(['--model', odd])).toBe(`sensor: model card ${odd}: task: expected "attack" or "application", got "anomaly"\n`);
  });

  it('two models for one task', async () => {
    const app = toyAppModel('twice-app');
    expect(await refused(['--model', attackCard, '--model', 'other.onnx'])).toBe(
      `sensor: --model: expected one model (a run takes one model per task: --model for the attack model, --app-model for the application model), got ${JSON.stringify([attackCard, 'other.onnx'])}\n`,
    );
    expect(await refused(['--app-model', app, '--app-model', app])).toBe(
      `sensor: --app-model: expected one model (a run takes one model per task: --app-model for the application model, --model for the attack model), got ${JSON.stringify([app, app])}\n`,
    );
  });

  it('an application model of another profile than --profile, or than the named attack model', async () => {
    const app = toyAppModel('profile-app');
    expect(await refused(['--app-model', app, '--profile', 'cic'])).toBe(`sensor: model card ${app}: the model reads profile cic2017 features, but --profile cic was given\n`);
    // The same attack model's card said to read `fixed` features (its inputs exist in every profile).
    const fixedAttack = join(dir, 'fixed-attack.json');
    copyFileSync(join(MODELS_DIR, ATTACK_CARD.onnx.file), join(dir, ATTACK_CARD.onnx.file));
    writeFileSync(fixedAttack, JSON.stringify({ ...ATTACK_CARD, profile: 'fixed' }));
    expect(await refused(['--model', fixedAttack, '--app-model', app])).toBe(
      `sensor: model card ${app}: the application model reads profile cic2017 features, but the attack model (${fixedAttack}) reads fixed: a run computes one profile (give models of one profile, or --no-model / --no-app-model)\n`,
    );
  });
});

describe('the attack model\'s ONNX under an application card (both models read the same inputs: one tensor)', () => {
  it('the group is the attack model\'s most probable class, renamed; both verdicts on every flow', async () => {
    const app = toyAppModel('same-inputs');
    const db = join(dir, 'same-inputs.sqlite');
    const r = await sensor(['--replay', ...FIXTURES, '--db', db, '--app-model', app, '-q']);
    expect(r.status, r.stderr).toBe(0);
    const rows = rowsOf(db);
    expect(rows.length).toBeGreaterThan(30);
    const classes = ATTACK_CARD.classes as string[];
    const threshold = ATTACK_CARD.alert_threshold as number;
    expect(threshold).toBeGreaterThan(0.5); // so an attack verdict is also the most probable class
    for (const f of rows) {
      // p[label] and p[attack_label] are stored; the most probable class is one of the two.
      const top = f.label === f.attack_label || f.attack_score > f.score ? f.attack_label : f.label;
      expect({ id: f.id, group: f.app_label, score: f.app_score }).toEqual({ id: f.id, group: GROUPS[classes.indexOf(top)], score: Math.max(f.score, f.attack_score) });
      expect(f.app_model).toBe(`same-inputs@${ATTACK_CARD.version}`);
      expect(f.model).toBe(`${ATTACK_CARD.name}@${ATTACK_CARD.version}`);
    }
  });
});

describe.skipIf(existsSync(DEFAULT_APP_CARD))('without models/cic2017-app (not installed yet)', () => {
  it('the default is no application model: no error, no line about it, NULL app columns', async () => {
    const db = join(dir, 'no-default.sqlite');
    const r = await sensor(['--replay', FIXTURES[0]!, '--db', db]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/app|application/i);
    const rows = rowsOf(db);
    expect(rows.length).toBeGreaterThan(0);
    for (const f of rows) expect([f.app_label, f.app_score, f.app_model, f.label === null]).toEqual([null, null, null, false]);
    expect(countersOf(db).app_groups).toBeUndefined();
  });
});

describe.skipIf(!existsSync(DEFAULT_APP_CARD))(`the default application model (${DEFAULT_APP_MODEL_NAME})${existsSync(DEFAULT_APP_CARD) ? '' : ' [skipped: models/cic2017-app.json is not installed yet]'}`, () => {
  it('is used without any option: both verdicts on every flow, counted per group', async () => {
    const card = JSON.parse(readFileSync(DEFAULT_APP_CARD, 'utf8')) as Record<string, any>;
    const db = join(dir, 'default-app.sqlite');
    const r = await sensor(['--replay', ...FIXTURES, '--db', db]);
    expect(r.status, r.stderr).toBe(0);
    const rows = rowsOf(db);
    expect(rows.length).toBeGreaterThan(30);
    for (const f of rows) {
      expect(f.model).toBe(`${ATTACK_CARD.name}@${ATTACK_CARD.version}`);
      expect(f.app_model).toBe(`${card.name}@${card.version}`);
      expect(card.classes).toContain(f.app_label);
      expect(f.app_score).toBeGreaterThan(0);
    }
    expect(nonZero(countersOf(db).app_groups)).toEqual(tally(rows.map((f) => f.app_label)));
    expect(r.stderr).toContain(`(${card.name}@${card.version})`);
  });

  it('--no-model leaves it out too: a run without classification, profile cic, no line about it', async () => {
    const db = join(dir, 'no-model-default-app.sqlite');
    const r = await sensor(['--replay', ...FIXTURES, '--db', db, '--no-model']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('application');
    const rows = rowsOf(db);
    expect(rows.length).toBeGreaterThan(30);
    for (const f of rows) expect([f.model, f.app_label, f.app_model]).toEqual([null, null, null]);
  });
});

describe('a database of schema version 3 (before the application columns)', () => {
  it('gets app_label, app_score, app_model (NULL in its old rows) and keeps every row', async () => {
    const db = join(dir, 'v3.sqlite');
    expect((await sensor(['--replay', FIXTURES[1]!, '--db', db, '-q', '--no-app-model'])).status).toBe(0);
    // Make it what version 3 wrote: flow_rows without the three columns, the view without them.
    const d = new Database(db);
    asOlderSchema(d, ['app_label', 'app_score', 'app_model', 'server_name', 'context', 'server_name_source', 'payload_protocol'], 3);
    const before = d.prepare('SELECT * FROM flows ORDER BY id').all() as Row[];
    expect(Object.keys(before[0]!)).not.toContain('app_label');
    d.close();

    const app = toyAppModel('upgrade-app');
    const r = await sensor(['--replay', FIXTURES[1]!, '--db', db, '-q', '--app-model', app]);
    expect(r.status, r.stderr).toBe(0);
    const e = new Database(db, { readonly: true });
    expect(e.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get()).toBe('7');
    const old = e.prepare('SELECT * FROM flows WHERE run_id = 1 ORDER BY id').all() as Row[];
    expect(old.map(({ app_label: _l, app_score: _s, app_model: _m, server_name: _n, context: _c, server_name_source: _o, payload_protocol: _p, ...rest }) => rest)).toEqual(before);
    for (const x of old) expect([x.app_label, x.app_score, x.app_model, x.context]).toEqual([null, null, null, null]);
    const fresh = e.prepare('SELECT app_label, app_model FROM flows WHERE run_id = 2').all() as Row[];
    expect(fresh.length).toBe(old.length);
    for (const x of fresh) expect([GROUPS.includes(x.app_label), x.app_model]).toEqual([true, `upgrade-app@${ATTACK_CARD.version}`]);
    expect(e.prepare('PRAGMA integrity_check').pluck().get()).toBe('ok');
    e.close();
    // The view's delete trigger came back with it.
    const w = new Database(db);
    w.exec('DELETE FROM flows WHERE run_id = 1');
    expect(w.prepare('SELECT count(*) FROM flow_rows WHERE run_id = 1').pluck().get()).toBe(0);
    w.close();
  });
});

const python = findPython(['sklearn', 'onnx', 'numpy']);
const noPython = python === undefined ? ' [skipped: python3-sklearn or python3-onnx not installed; .ci/run installs them]' : '';

describe.skipIf(python === undefined)(`a model trained here with scikit-learn on the sensor's own rows${noPython}`, () => {
  const model = join(dir, 'trained');
  const plain = join(dir, 'plain.csv');
  let expected: { classes: string[]; proba: number[][]; truth: string[] };
  const db = join(dir, 'both.sqlite');
  const csv = join(dir, 'both.csv');
  const json = join(dir, 'both.json');
  let both: Awaited<ReturnType<typeof sensor>>;

  beforeAll(async () => {
    mkdirSync(model, { recursive: true });
    const r = await sensor(['--replay', ...FIXTURES, '--profile', 'cic2017', '--no-model', '--no-app-model', '--csv', plain, '-q']);
    expect(r.status, r.stderr).toBe(0);
    const t = await runCommand(python!, [join(ROOT, 'test/helpers/train-app-model.py'), plain, model]);
    expect(t.status, t.stderr).toBe(0);
    expected = JSON.parse(readFileSync(join(model, 'expected.json'), 'utf8'));
    both = await sensor(['--replay', ...FIXTURES, '--db', db, '--csv', csv, '--json', json, '--app-model', join(model, 'test-app.json')]);
    expect(both.status, both.stderr).toBe(0);
  }, 120_000);

  it('every flow has both verdicts; the application verdict is scikit-learn\'s for that flow', () => {
    const rows = rowsOf(db);
    const plainLines = csvLines(plain).slice(1);
    expect(rows.length).toBe(plainLines.length);
    expect(expected.proba.length).toBe(rows.length);
    // The groups the test model was trained on are all present, so a wrong mapping cannot pass by luck.
    expect(new Set(expected.truth)).toEqual(new Set(expected.classes));
    rows.forEach((f, i) => {
      // Row i of SQLite is row i of the CSV the model was trained from (same flow id and timestamp).
      const cells = plainLines[i]!.split(',');
      expect([f.flow_id, f.timestamp]).toEqual([cells[0], cells[6]]);
      expect(f.label).not.toBeNull();
      expect(f.model).toBe(`${ATTACK_CARD.name}@${ATTACK_CARD.version}`);
      const p = expected.proba[i]!;
      const best = p.indexOf(Math.max(...p));
      expect(f.app_label).toBe(expected.classes[best]);
      expect(Math.abs(f.app_score - p[best]!)).toBeLessThan(1e-6);
      expect(f.app_model).toBe('test-app@1');
    });
  });

  it('the CSV keeps the reference header and rows; only Label carries a verdict', () => {
    const ref = csvLines(join(ROOT, 'fixtures/reference/edge.cicflowmeter-2017.csv'))[0];
    const lines = csvLines(csv);
    expect(lines[0]).toBe(ref);
    expect(lines.map(withoutLabel)).toEqual(csvLines(plain).map(withoutLabel));
    expect(lines.join('\n')).not.toMatch(/test-app|,Web\b|,Network\b/);
  });

  it('JSON lines carry verdict.app_group, app_score, app_model, equal to SQLite\'s', () => {
    const events = readFileSync(json, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.event_type === 'flow');
    const rows = rowsOf(db);
    expect(events.length).toBe(rows.length);
    events.forEach((e, i) => {
      const f = rows[i]!;
      expect(e.verdict).toEqual({ label: f.label, score: f.score, model: f.model, attack_label: f.attack_label, attack_score: f.attack_score, kdd: f.kdd, app_group: f.app_label, app_score: f.app_score, app_model: f.app_model, context: f.context });
    });
  });

  it('runs.counters.app_groups and the summary count flows per group', () => {
    const rows = rowsOf(db);
    const c = countersOf(db);
    expect(Object.keys(c.app_groups)).toEqual(expected.classes);
    expect(nonZero(c.app_groups)).toEqual(tally(rows.map((f) => f.app_label)));
    expect(nonZero(c.verdicts)).toEqual(tally(rows.map((f) => f.label)));
    const counts = Object.entries(nonZero(c.app_groups)).map(([g, n]) => `${g} ${n}`).join(', ');
    expect(both.stderr).toContain(`\napplication groups: ${counts} (test-app@1)\n`);
  });

  it('sensor report draws the groups with the database\'s counts and names the model', async () => {
    const out = join(dir, 'report.html');
    const r = await sensor(['report', db, '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const apps = readFileSync(out, 'utf8').split('<section id="apps">')[1]!.split('</section>')[0]!;
    const text = apps.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
    expect(text).toContain('Named by test-app@1.');
    const counts = tally(rowsOf(db).map((f) => f.app_label));
    for (const [g, n] of Object.entries(counts)) expect(text).toContain(`${g} ${n}`);
    expect(apps.match(/class="mark"/g)!.length).toBe(Object.keys(counts).length);
  });

  it('sensor serve: /api/flows has the application verdict and filters by app_label; /api/stats counts the groups', async () => {
    const { proc, base } = await serve(['--db', db, '--listen', '127.0.0.1:0', '--no-model']);
    try {
      const rows = rowsOf(db);
      const counts = tally(rows.map((f) => f.app_label));
      for (const [group, n] of Object.entries(counts)) {
        const body = (await (await fetch(`${base}/api/flows?app_label=${group}&limit=1000`)).json()) as { flows: Row[] };
        expect(body.flows.length).toBe(n);
        for (const f of body.flows) expect([f.app_label, f.app_model, typeof f.app_score]).toEqual([group, 'test-app@1', 'number']);
      }
      const stats = (await (await fetch(`${base}/api/stats`)).json()) as { by_app: { key: string; n: number }[] };
      expect(Object.fromEntries(stats.by_app.map((c) => [c.key, c.n]))).toEqual(counts);
    } finally {
      proc.kill('SIGTERM');
    }
  });

  it('--no-model with an application model still writes application verdicts, and the reverse', async () => {
    const appOnly = join(dir, 'app-only.sqlite');
    const appJson = join(dir, 'app-only.json');
    const r = await sensor(['--replay', ...FIXTURES, '--db', appOnly, '--json', appJson, '--no-model', '--app-model', join(model, 'test-app.json'), '-q']);
    expect(r.status, r.stderr).toBe(0);
    const withBoth = rowsOf(db);
    const rows = rowsOf(appOnly);
    expect(rows.length).toBe(withBoth.length);
    rows.forEach((f, i) => {
      expect([f.label, f.score, f.model, f.attack_label, f.kdd]).toEqual([null, null, null, null, null]);
      expect([f.app_label, f.app_score, f.app_model]).toEqual([withBoth[i]!.app_label, withBoth[i]!.app_score, 'test-app@1']);
    });
    const v = JSON.parse(readFileSync(appJson, 'utf8').split('\n')[0]!).verdict;
    expect([v.label, v.model, v.app_model]).toEqual([null, null, 'test-app@1']);
    const c = countersOf(appOnly);
    expect(c.verdicts).toBeUndefined();
    expect(nonZero(c.app_groups)).toEqual(tally(rows.map((f) => f.app_label)));

    const attackOnly = join(dir, 'attack-only.sqlite');
    expect((await sensor(['--replay', ...FIXTURES, '--db', attackOnly, '--no-app-model', '-q'])).status).toBe(0);
    for (const f of rowsOf(attackOnly)) expect([f.label !== null, f.app_label, f.app_score, f.app_model]).toEqual([true, null, null, null]);
    expect(countersOf(attackOnly).app_groups).toBeUndefined();
  });
});

describe('the live daemon\'s setting appModel (config file, SENSOR_APP_MODEL, --app-model)', () => {
  it('is read from each source like model, and checked the same way', async () => {
    const { parseConfig } = await import('../src/config/schema.js');
    const base = { interface: 'eth0', db: '/tmp/x.sqlite' };
    expect(parseConfig({ ...base, appModel: 'web.json' }, {}, {}).config?.appModel).toBe('web.json');
    expect(parseConfig({ ...base, appModel: null }, {}, {}).config?.appModel).toBeNull();
    expect(parseConfig(base, {}, { SENSOR_APP_MODEL: 'none' }).config?.appModel).toBeNull();
    expect(parseConfig({ ...base, appModel: 'a.json' }, { appModel: false }, {}).config?.appModel).toBeNull();
    expect(parseConfig(base, {}, {}).config?.appModel).toBeUndefined(); // the default one, when installed
    expect(parseConfig({ ...base, appModel: 3 }, {}, {}, { file: 'sensor.json' }).errors).toEqual([
      'sensor.json: "appModel": expected a path to an ONNX model (.onnx or its .json card) or a model name in models/, or null / false / --no-app-model for none, got 3',
    ]);
  });
});

describe('buildModelInputs / InputBuilder: every model\'s input of a batch', () => {
  it('equals building each model\'s input alone (plain, identity inputs with clipping, scaling; a shared spec)', async () => {
    const { buildModelInput, buildModelInputs } = await import('../src/classify/input.js');
    const stride = 7;
    const count = 50;
    const features = new Float64Array(count * stride).map((_, k) => [NaN, Infinity, -Infinity][k % 11] ?? (k * 7919) % 1000 - 300);
    const identity = new Float64Array(count * 2).map((_, k) => (k * 31) % 65536);
    const pre = { nan: -1, posinf: 1e9, neginf: -1e9, clip: null, scale: null };
    const plain = { featureIndex: [0, 3, 6], identityIndex: [-1, -1, -1], preprocessing: pre };
    const withIdentity = { featureIndex: [-1, 2, -1, 5], identityIndex: [1, -1, 0, -1], preprocessing: { ...pre, clip: [-100, 500] as [number, number] } };
    const scaled = { featureIndex: [1, 4], identityIndex: [-1, -1], preprocessing: { ...pre, scale: { center: [10, -3], scale: [2, 0.5] } } };
    const specs = [plain, withIdentity, scaled, { ...plain }];
    const fused = buildModelInputs(features, stride, count, identity, specs);
    specs.forEach((s, k) => expect(Array.from(fused[k]!)).toEqual(Array.from(buildModelInput(features, stride, count, identity, s))));
    expect(fused[3]).toBe(fused[0]); // the same inputs and preprocessing: one array
  });

  it('InputBuilder reuses its arrays from batch to batch: a smaller batch after a larger one is built exactly as alone', async () => {
    const { buildModelInput, InputBuilder } = await import('../src/classify/input.js');
    const stride = 5;
    const pre = { nan: -1, posinf: 7, neginf: -7, clip: null, scale: null };
    const specs = [
      { featureIndex: [4, 0, 2], identityIndex: [-1, -1, -1], preprocessing: pre },
      { featureIndex: [-1, -1], identityIndex: [0, 1], preprocessing: pre },
    ];
    const builder = new InputBuilder(specs);
    const batch = (count: number, seed: number) => ({
      count,
      features: new Float64Array(count * stride).map((_, k) => [NaN, Infinity, -Infinity][(k + seed) % 7] ?? ((k + seed) * 7919) % 1000),
      identity: new Float64Array(count * 2).map((_, k) => ((k + seed) * 31) % 65536),
    });
    let first: Float32Array | undefined;
    for (const b of [batch(40, 1), batch(13, 2), batch(40, 3), batch(0, 4)]) {
      const got = builder.build(b.features, stride, b.count, b.identity);
      first ??= got[0];
      specs.forEach((s, k) => expect(Array.from(got[k]!)).toEqual(Array.from(buildModelInput(b.features, stride, b.count, b.identity, s))));
    }
    // The 13-flow batch was built in the 40-flow batch's memory, not in a new array.
    expect(builder.build(batch(13, 5).features, stride, 13, batch(13, 5).identity)[0]!.buffer).toBe(first!.buffer);
  });
});
