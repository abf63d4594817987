/**
 * `sensor report DB`: the HTML a user opens offline. Its figures are the database's (checked against SQL), the
 * columns a later version adds (kdd, app_label, attack_score) are drawn when present and said to be absent
 * otherwise, the drift section's PSI is the contract's, and in a real Chromium the charts have drawn marks and no
 * request leaves the file.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { ROOT, sensor } from './helpers/cli.js';
import { ensureBuilt } from './setup/build.js';
import { launchBrowser, NO_BROWSER } from './helpers/browser.js';
import { binIndex } from '../src/classify/model-card.js';
import { psi } from '../src/classify/drift.js';
import { DEFAULT_MODEL_NAME } from '../src/classify/model.js';

const dir = mkdtempSync(join(tmpdir(), 'sensor-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true, maxRetries: 3 }));
/** Below the shipped card's threshold, so the small bundled captures have alerts of several classes to show. */
const LOW_T = '0.3';
const DB = join(dir, 'flows.sqlite');
const CAPTURES = ['fixtures/reference/cic2017-webattack-sqlinj.pcap', 'fixtures/reference/zeek-wikipedia.pcap', 'fixtures/reference/cic2017-wednesday-tls-flow.pcap'];
/** The shipped model's card: what the report can show depends on its fields (kdd, drift_reference). */
const SHIPPED = JSON.parse(readFileSync(join(ROOT, 'models', `${DEFAULT_MODEL_NAME}.json`), 'utf8')) as { name: string; version: string; kdd?: object; drift_reference?: { features: object } };
/** Kept after the run for a person to look at (the test prints where). */
const SCREENSHOT = join(dir, 'report.png');

beforeAll(async () => {
  ensureBuilt(['src/report/cli.ts', 'src/report/report.ts', 'src/report/charts.ts', 'src/report/flow-db.ts', 'src/cli/main.ts', 'src/classify/worker.ts']);
  // --no-app-model: this run is the one without application groups (the report says so below).
  const r = await sensor(['--replay', ...CAPTURES, '--db', DB, '-q', '--alert-threshold', LOW_T, '--no-app-model']);
  expect(r.status).toBe(0);
});

const text = (html: string): string => html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');

/** Every URL-like reference: attribute values and CSS url(), plus any http(s):// anywhere. */
function externalReferences(html: string): string[] {
  const refs = [...html.matchAll(/\b(?:href|src|action|srcset|xlink:href|poster|data)\s*=\s*["']?([^"'\s>]+)/gi)].map((m) => m[1]!).filter((v) => !v.startsWith('#'));
  const css = [...html.matchAll(/url\(\s*['"]?([^'")]+)/gi)].map((m) => m[1]!);
  const literal = [...html.matchAll(/(?:https?:)?\/\/[a-z0-9.-]+/gi)].map((m) => m[0]);
  return [...refs, ...css, ...literal];
}

describe('sensor report on a replayed run', () => {
  let html: string;
  beforeAll(async () => {
    const out = join(dir, 'report.html');
    const r = await sensor(['report', DB, '--out', out]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`^sensor report: run 1 of ${DB} -> ${out} \\(\\d+ KiB, [\\d.]+ s\\)\\n$`));
    html = readFileSync(out, 'utf8');
  });

  it('states the run and its verdict counts as the database holds them', () => {
    const db = new Database(DB, { readonly: true });
    const flows = (db.prepare('SELECT count(*) n FROM flows').get() as { n: number }).n;
    const labels = db.prepare('SELECT label, count(*) n FROM flows GROUP BY label ORDER BY n DESC').all() as { label: string; n: number }[];
    const run = db.prepare('SELECT packets, source FROM runs WHERE id = 1').get() as { packets: number; source: string };
    const alerts = labels.filter((l) => l.label !== 'BENIGN').reduce((a, l) => a + l.n, 0);
    db.close();
    const t = text(html);
    expect(labels.length).toBeGreaterThan(1);
    expect(t).toContain(`source ${run.source}`);
    expect(t).toContain(`packets ${run.packets.toLocaleString('en-US')}`);
    expect(t).toContain(`flows (rows in this database) ${flows}`);
    expect(t).toContain(`alerts ${alerts} (${((100 * alerts) / flows).toFixed(2)} % of flows): flows whose label is not BENIGN`);
    for (const l of labels) expect(t).toContain(`${l.label} ${l.n} ${((100 * l.n) / flows).toFixed(1)} %`);
    // The table of top alerts lists every alert (fewer than 25 here), best score first.
    const rows = html.split('<table class="alerts">')[1]!.split('</table>')[0]!.match(/<tr>/g)!.length - 1;
    expect(rows).toBe(Math.min(25, alerts));
  });

  it('says what this run did not record instead of drawing it', () => {
    const t = text(html);
    // The run's own --alert-threshold, marked on the attack_score histogram.
    expect(html.split('<section id="scores">')[1]!.split('</section>')[0]).toContain(`threshold ${LOW_T}`);
    expect(t).toContain('Application groups: not recorded: this run had no application model (app_label is empty for this run; see --app-model).');
    expect(t).not.toContain('attack_score: not recorded');
    const db = new Database(DB, { readonly: true });
    if (SHIPPED.kdd) {
      for (const c of db.prepare('SELECT kdd k, count(*) n FROM flows GROUP BY kdd').all() as { k: string; n: number }[]) expect(t).toContain(`${c.k} ${c.n}`);
    } else expect(t).toContain("KDD categories: not recorded by this run's model (its card has no kdd map).");
    const flows = db.prepare('SELECT count(*) FROM flows').pluck().get() as number;
    db.close();
    if (SHIPPED.drift_reference) {
      expect(t).toMatch(new RegExp(`over this run's ${flows} flows, against the card's drift_reference .* major, \\d+ moderate of ${Object.keys(SHIPPED.drift_reference.features).length} inputs`));
    } else expect(t).toContain(`Not shown: the card of ${SHIPPED.name}@${SHIPPED.version} has no drift_reference.`);
  });

  it('a database of an older version (no attack_label, attack_score, kdd columns): those sections say so', async () => {
    const old = join(dir, 'v1.sqlite');
    copyFileSync(DB, old);
    const db = new Database(old);
    // flows as a version-1 table (a column per feature, no attack_label, attack_score, kdd, app_*), read as it is.
    db.exec(`CREATE TABLE flows_t AS SELECT * FROM flows; DROP VIEW flows; ALTER TABLE flows_t RENAME TO flows;
      ALTER TABLE flows DROP COLUMN attack_label; ALTER TABLE flows DROP COLUMN attack_score; ALTER TABLE flows DROP COLUMN kdd;
      ALTER TABLE flows DROP COLUMN app_label; ALTER TABLE flows DROP COLUMN app_score; ALTER TABLE flows DROP COLUMN app_model;`);
    db.close();
    const out = join(dir, 'v1.html');
    expect((await sensor(['report', old, '--out', out])).status).toBe(0);
    const t = text(readFileSync(out, 'utf8'));
    expect(t).toContain("KDD categories (kdd): not recorded by this run's model (the database has no such column).");
    expect(t).toContain("attack_score: not recorded by this run's model (the database has no such column).");
    expect(t).toContain("Application groups (app_label): not recorded by this run's model (the database has no such column).");
    expect(t).toContain(`Top ${Math.min(25, new Database(DB, { readonly: true }).prepare("SELECT count(*) FROM flows WHERE label != 'BENIGN'").pluck().get() as number)} alerts`);
  });

  it('names no external URL', () => {
    expect(externalReferences(html)).toEqual([]);
  });

  it.skipIf(NO_BROWSER !== null)(`renders in Chromium with drawn charts and no request leaving the file${NO_BROWSER ? ` (skipped: ${NO_BROWSER})` : ''}`, async () => {
    const { browser, close } = await launchBrowser();
    try {
      const page = await browser.newPage();
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      const url = pathToFileURL(join(dir, 'report.html')).href;
      await page.goto(url);
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      // Every chart of these sections has marks with a visible size.
      const marks = await page.evaluate(() =>
        [...document.querySelectorAll('section')].map((s) => ({
          id: s.id,
          charts: [...s.querySelectorAll('svg.chart')].map((svg) => [...svg.querySelectorAll('rect.mark')].filter((r) => r.getBoundingClientRect().width > 0 && r.getBoundingClientRect().height > 0).length),
        })),
      );
      const of = (id: string): number[] => marks.find((m) => m.id === id)!.charts;
      expect(of('time').length).toBe(2);
      expect(of('time').every((n) => n > 0)).toBe(true);
      expect(of('verdicts')).toEqual([new Database(DB, { readonly: true }).prepare('SELECT count(DISTINCT label) n FROM flows').pluck().get()]);
      expect(of('talkers').length).toBe(4);
      expect(of('talkers').every((n) => n > 0)).toBe(true);
      expect(of('scores').length).toBe(3); // benign scores, alert scores, attack_score of every flow
      if (SHIPPED.kdd) expect(of('kdd')).toEqual([new Database(DB, { readonly: true }).prepare('SELECT count(DISTINCT kdd) n FROM flows').pluck().get()]);
      if (SHIPPED.drift_reference) expect(of('drift')[0]).toBeGreaterThan(0);
      expect(of('scores').every((n) => n > 0)).toBe(true);
      expect(requests).toEqual([url]);
      console.log(`report screenshot: ${SCREENSHOT}`);
    } finally {
      await close();
    }
  });
});

describe('columns of later versions, and drift against the card\'s reference', () => {
  const db2 = join(dir, 'verdicts.sqlite');
  const model = join(dir, 'model');
  const edges = [1000, 100000, 10000000];
  const fractions = [0.1, 0.2, 0.3, 0.4];
  let html: string;

  beforeAll(async () => {
    copyFileSync(DB, db2);
    const db = new Database(db2);
    // kdd values (the shipped card has no map) and app_label (empty: the run had no application model), set by
    // rule so the test knows them. (flows made a plain table first: a view's rows cannot be updated.)
    db.exec(`CREATE TABLE flows_t AS SELECT * FROM flows; DROP VIEW flows; ALTER TABLE flows_t RENAME TO flows;
      UPDATE flows SET kdd = CASE label WHEN 'BENIGN' THEN 'normal' WHEN 'DoS' THEN 'DoS' ELSE 'R2L' END, app_label = CASE dst_port WHEN 80 THEN 'Web' WHEN 53 THEN 'DNS' ELSE 'Other' END;`);
    db.close();
    mkdirSync(model, { recursive: true });
    copyFileSync(join(ROOT, 'models', `${DEFAULT_MODEL_NAME}.onnx`), join(model, 'drift.onnx'));
    const card = JSON.parse(readFileSync(join(ROOT, 'models', `${DEFAULT_MODEL_NAME}.json`), 'utf8'));
    card.onnx.file = 'drift.onnx';
    card.onnx.sha256 = createHash('sha256').update(readFileSync(join(model, 'drift.onnx'))).digest('hex');
    card.alert_threshold = 0.7;
    card.drift_reference = { method: 'quantile-bins', rows: 1000, features: { 'Flow Duration': { edges, fractions }, 'Total Fwd Packets': { edges: [1, 5], fractions: [0.2, 0.5, 0.3] } } };
    writeFileSync(join(model, 'drift.json'), JSON.stringify(card));
    const out = join(dir, 'verdicts.html');
    const r = await sensor(['report', db2, '--model', join(model, 'drift.json'), '--out', out]);
    expect(r.status).toBe(0);
    html = readFileSync(out, 'utf8');
  });

  it('draws KDD categories and application groups with the database\'s counts', () => {
    const db = new Database(db2, { readonly: true });
    const t = text(html);
    for (const col of ['kdd', 'app_label']) {
      const counts = db.prepare(`SELECT ${col} k, count(*) n FROM flows GROUP BY k`).all() as { k: string; n: number }[];
      for (const c of counts) expect(t).toContain(`${c.k} ${c.n}`);
    }
    db.close();
    const kdd = html.split('<section id="kdd">')[1]!.split('</section>')[0]!;
    expect(kdd.match(/class="mark"/g)!.length).toBe(new Database(db2, { readonly: true }).prepare('SELECT count(DISTINCT kdd) FROM flows').pluck().get());
    // The run was made with --alert-threshold, which overrides the card's 0.7: the report says both.
    expect(html.split('<section id="scores">')[1]!.split('</section>')[0]).toContain(`threshold ${LOW_T}`);
    expect(text(html)).toContain(`alert threshold ${LOW_T} (this run's --alert-threshold; the card's is 0.7)`);
  });

  it('PSI per input, computed independently here from the flows\' values and the reference bins', () => {
    const db = new Database(db2, { readonly: true });
    const durations = db.prepare('SELECT flow_duration FROM flows').pluck().all() as number[];
    db.close();
    // The contract's bin rule, written out: x <= e1 → bin 0, ..., x > e_last → last bin.
    const counts = [0, 0, 0, 0];
    for (const x of durations) counts[x <= edges[0]! ? 0 : x <= edges[1]! ? 1 : x <= edges[2]! ? 2 : 3]!++;
    const actual = counts.map((c) => c / durations.length);
    let expected = 0;
    for (let i = 0; i < 4; i++) expected += (Math.max(actual[i]!, 1e-4) - fractions[i]!) * Math.log(Math.max(actual[i]!, 1e-4) / fractions[i]!);
    expect(psi(actual, fractions)).toBeCloseTo(expected, 12);
    expect(text(html)).toContain(`Flow Duration ${expected.toFixed(4)}`);
    expect(text(html)).toContain(`over this run's ${durations.length} flows, against the card's drift_reference (1,000 training rows)`);
  });

  it('the bin rule on its edges', () => {
    expect([0, 1, 1.5, 5, 6].map((x) => binIndex(x, [1, 5]))).toEqual([0, 0, 1, 1, 2]);
    expect(psi([0.5, 0.5], [0.5, 0.5])).toBe(0);
  });
});

describe('a model whose card has no kdd map and no drift_reference', () => {
  it('the KDD and drift sections say so instead of drawing', async () => {
    // The shipped ONNX with a card of the first format version, as a user's older model would have.
    const d = join(dir, 'old-card');
    mkdirSync(d, { recursive: true });
    const { kdd: _k, drift_reference: _d, ...old } = JSON.parse(readFileSync(join(ROOT, 'models', `${DEFAULT_MODEL_NAME}.json`), 'utf8'));
    copyFileSync(join(ROOT, 'models', old.onnx.file), join(d, old.onnx.file));
    const card = join(d, 'old.json');
    writeFileSync(card, JSON.stringify(old));
    const db = join(dir, 'old-card.sqlite');
    expect((await sensor(['--replay', CAPTURES[0]!, '--db', db, '--model', card, '-q'])).status).toBe(0);
    const out = join(dir, 'old-card.html');
    const r = await sensor(['report', db, '--model', card, '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const t = text(readFileSync(out, 'utf8'));
    expect(t).toContain("KDD categories: not recorded by this run's model (its card has no kdd map).");
    expect(t).toContain(`Not shown: the card of ${old.name}@${old.version} has no drift_reference.`);
  });
});

describe('errors: exact message and exit code', () => {
  it('a database that is missing or not a sensor database: exit 3; no such run: exit 2; unwritable output: exit 4', async () => {
    const missing = await sensor(['report', join(dir, 'nope.sqlite')]);
    expect([missing.status, missing.stderr]).toEqual([3, `sensor report: cannot read database ${join(dir, 'nope.sqlite')}: no such file\n`]);
    const other = join(dir, 'other.sqlite');
    new Database(other).exec('CREATE TABLE t (x)');
    const o = await sensor(['report', other]);
    expect([o.status, o.stderr]).toEqual([3, `sensor report: ${other} is not a sensor database (no meta, runs, flows tables)\n`]);
    const notDb = join(dir, 'text.sqlite');
    writeFileSync(notDb, 'hello, this is not a database at all; it is long enough to have a header'.repeat(4));
    const n = await sensor(['report', notDb]);
    expect(n.status).toBe(3);
    expect(n.stderr).toMatch(/^sensor report: (.* is not a SQLite database|cannot read database .*: file is not a database)\n$/);
    const run = await sensor(['report', DB, '--run', '7']);
    expect([run.status, run.stderr]).toEqual([2, `sensor report: ${DB} has no run 7 (its runs: 1)\n`]);
    const out = await sensor(['report', DB, '--out', join(dir, 'no/dir/r.html')]);
    expect([out.status, out.stderr]).toEqual([4, `sensor report: cannot write ${join(dir, 'no/dir/r.html')}: directory does not exist\n`]);
    expect(existsSync(join(dir, 'no'))).toBe(false);
    const self = await sensor(['report', DB, '--out', DB]);
    expect([self.status, self.stderr]).toEqual([2, `sensor report: --out ${DB} is the database: write the report elsewhere\n`]);
    const h = await sensor(['report', '--help']);
    expect(h.status).toBe(0);
    expect(h.stdout).toContain('Usage: sensor report DB [--run N] [--out report.html]');
  });
});
