/**
 * `sensor serve`, end to end as a user runs it: the real CLI on a real database, answered over HTTP. The API's
 * figures are the database's; POST /api/predict gives `sensor classify`'s verdicts for the same rows in CSV or
 * JSON; malformed, oversized and hostile requests get a 4xx with a reason and the server keeps serving; a token
 * guards everything but the page; the dashboard, in a real Chromium, draws and then updates itself while a
 * replay appends to the database.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { ROOT, sensor } from './helpers/cli.js';
import { serve, type Served } from './helpers/serve.js';
import { ensureBuilt } from './setup/build.js';
import { launchBrowser, NO_BROWSER } from './helpers/browser.js';
import { CsvRecordReader } from '../src/classify/csv-records.js';
import { canonicalFeatureName, spellingsOf } from '../src/classify/feature-names.js';
import { DEFAULT_MODEL_NAME } from '../src/classify/model.js';

const dir = mkdtempSync(join(tmpdir(), 'sensor-serve-'));
afterAll(() => rmSync(dir, { recursive: true, force: true, maxRetries: 3 }));
/** Below the shipped card's threshold, so the small bundled captures have alerts of several classes to show. */
const LOW_T = '0.3';
const DB = join(dir, 'flows.sqlite');
const WEB_ROWS = join(ROOT, 'fixtures/cic2017/CICIDS2017_sample-webattack-rows.csv');
const TOKEN = 'test-token-0123456789abcdef';
/** The shipped model's card (its inputs decide the positions named in a 400). */
const SHIPPED = JSON.parse(readFileSync(join(ROOT, 'models', `${DEFAULT_MODEL_NAME}.json`), 'utf8')) as { inputs: string[] };

const sql = <T>(q: string, ...p: unknown[]): T[] => {
  const db = new Database(DB, { readonly: true });
  try {
    return db.prepare(q).all(...p) as T[];
  } finally {
    db.close();
  }
};

let srv: Served;
const get = (path: string, init: RequestInit = {}): Promise<Response> => fetch(srv.base + path, init);
const json = async (path: string, init: RequestInit = {}): Promise<{ status: number; body: any }> => {
  const r = await get(path, init);
  return { status: r.status, body: await r.json() };
};
const predict = (body: string | Buffer, type = 'text/csv', query = ''): Promise<{ status: number; body: any }> =>
  json(`/api/predict${query}`, { method: 'POST', headers: { 'Content-Type': type }, body });

beforeAll(async () => {
  ensureBuilt(['src/serve/cli.ts', 'src/serve/server.ts', 'src/serve/dashboard.ts', 'src/report/flow-db.ts', 'src/cli/main.ts', 'src/classify/worker.ts', 'src/cli/classify.ts']);
  // No application model in this run (the dashboard says so); the dashboard test appends a run with one.
  const r = await sensor(['--replay', 'fixtures/reference/cic2017-webattack-sqlinj.pcap', 'fixtures/reference/zeek-wikipedia.pcap', '--db', DB, '-q', '--alert-threshold', LOW_T, '--no-app-model']);
  expect(r.status).toBe(0);
  srv = await serve(['--db', DB, '--listen', '127.0.0.1:0', '--request-timeout', '1']);
});

afterAll(async () => {
  if (!srv) return;
  srv.proc.kill('SIGTERM');
  expect(await srv.exited).toBe(0);
  expect(srv.stderr()).toMatch(/stopped\n$/);
});

describe('the read-only API answers what the database holds', () => {
  it('/api/runs', async () => {
    const { status, body } = await json('/api/runs');
    expect(status).toBe(200);
    expect(body.runs.map((r: any) => [r.id, r.source, r.flows])).toEqual(sql<any>('SELECT id, source, flows FROM runs').map((r) => [r.id, r.source, r.flows]));
    expect(body.runs[0].counters.packets).toBeGreaterThan(0);
  });

  it('/api/flows: newest first, filters, limit, features', async () => {
    const all = sql<{ id: number }>('SELECT id FROM flows ORDER BY start_us DESC, id DESC LIMIT 5');
    const five = await json('/api/flows?limit=5');
    expect(five.body.flows.map((f: any) => f.id)).toEqual(all.map((r) => r.id));
    const web = await json('/api/flows?label=WebAttack&dst_port=80&limit=1000');
    expect(web.body.count).toBe(sql<{ n: number }>("SELECT count(*) n FROM flows WHERE label = 'WebAttack' AND dst_port = 80")[0]!.n);
    expect(web.body.count).toBeGreaterThan(0);
    expect(web.body.flows.every((f: any) => f.label === 'WebAttack' && f.dst_port === 80)).toBe(true);
    const alerts = await json('/api/flows?alerts=true&limit=1000');
    expect(alerts.body.count).toBe(sql<{ n: number }>("SELECT count(*) n FROM flows WHERE label != 'BENIGN'")[0]!.n);
    const f = await json(`/api/flows?limit=1&features=true&src_ip=172.16.0.1`);
    const row = sql<any>('SELECT flow_duration, fwd_header_length_1 FROM flows WHERE id = ?', f.body.flows[0].id)[0];
    expect(f.body.flows[0].features['Flow Duration']).toBe(row.flow_duration);
    expect(f.body.flows[0].features['Fwd Header Length.1']).toBe(row.fwd_header_length_1);
    const since = sql<{ s: number }>('SELECT start_us s FROM flows ORDER BY start_us DESC LIMIT 1 OFFSET 3')[0]!.s;
    expect((await json(`/api/flows?since=${since}&limit=100`)).body.count).toBe(sql<{ n: number }>('SELECT count(*) n FROM flows WHERE start_us >= ?', since)[0]!.n);
  });

  it('/api/alerts and /api/stats', async () => {
    const a = await json('/api/alerts?limit=1000');
    expect(a.body.flows.length).toBeGreaterThan(0);
    expect(a.body.flows.every((f: any) => f.label !== 'BENIGN')).toBe(true);
    const s = await json('/api/stats');
    const labels = sql<{ label: string; n: number }>('SELECT label, count(*) n FROM flows GROUP BY label');
    expect(s.body.flows_total).toBe(labels.reduce((x, l) => x + l.n, 0));
    expect(Object.fromEntries(s.body.by_label.map((c: any) => [c.key, c.n]))).toEqual(Object.fromEntries(labels.map((l) => [l.label, l.n])));
    expect(s.body.flows).toBe(s.body.flows_total);
    expect(s.body.alerts).toBe(a.body.flows.length);
    // kdd and app_label are columns (NULL when the card maps no KDD categories, or with no application model).
    for (const [col, key] of [['kdd', 'by_kdd'], ['app_label', 'by_app']] as const) {
      const counts = sql<{ k: string | null; n: number }>(`SELECT ${col} k, count(*) n FROM flows GROUP BY ${col}`);
      expect(Object.fromEntries(s.body[key].map((c: any) => [c.key, c.n]))).toEqual(Object.fromEntries(counts.map((c) => [c.k ?? '(none)', c.n])));
    }
    // A window covers the flows that started in its last seconds of traffic.
    const newest = sql<{ m: number }>('SELECT max(start_us) m FROM flows')[0]!.m;
    const w = await json('/api/stats?window=60');
    expect(w.body.flows).toBe(sql<{ n: number }>('SELECT count(*) n FROM flows WHERE start_us > ?', newest - 60e6)[0]!.n);
    expect(w.body.flows).toBeLessThan(s.body.flows_total);
    expect(w.body.by_label.reduce((x: number, c: any) => x + c.n, 0)).toBe(w.body.flows);
  });

  it('bad query parameters: 400 naming the parameter', async () => {
    const cases: [string, string][] = [
      ['/api/flows?limit=0', 'query parameter limit: expected an integer from 1 to 10000, got "0"'],
      ['/api/flows?limit=abc', 'query parameter limit: expected an integer from 1 to 10000, got "abc"'],
      ['/api/flows?dst_port=70000', 'query parameter dst_port: expected an integer from 0 to 65535, got "70000"'],
      ['/api/flows?since=yesterday', 'query parameter since: expected microseconds since the epoch or an ISO 8601 date, got "yesterday"'],
      ['/api/flows?alerts=maybe', 'query parameter alerts: expected true or false, got "maybe"'],
      ['/api/flows?limit=1&limit=2', 'query parameter "limit" is given more than once'],
      ['/api/runs?x=1', 'unknown query parameter "x" (this path takes none)'],
      ['/api/predict?alert_threshold=0', 'query parameter alert_threshold: expected a number in (0, 1], got "0"'],
    ];
    for (const [path, error] of cases) {
      const r = await json(path, path.startsWith('/api/predict') ? { method: 'POST', headers: { 'Content-Type': 'text/csv' }, body: 'a\n1\n' } : {});
      expect([path, r.status, r.body.error]).toEqual([path, 400, error]);
    }
    const unknown = await json('/api/flows?label=x&colour=red');
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatch(/^unknown query parameter "colour" \(allowed: run, label, /);
  });

  it('/metrics is Prometheus text with the database\'s counts', async () => {
    const r = await get('/metrics');
    expect(r.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await r.text();
    for (const line of text.trimEnd().split('\n')) expect(line).toMatch(/^(# (HELP|TYPE) [a-z_]+ .+|[a-z_]+(\{([a-z_]+="[^"]*",?)+\})? -?[\d.e+]+)$/);
    for (const l of sql<{ label: string; n: number }>('SELECT label, count(*) n FROM flows GROUP BY label')) expect(text).toContain(`sensor_db_flows{label="${l.label}"} ${l.n}\n`);
    expect(text).toMatch(/sensor_serve_requests_total\{path="\/api\/runs",code="200"\} [1-9]/);
  });
});

describe('POST /api/predict', () => {
  let expected: { label: string; score: number }[];
  beforeAll(async () => {
    const out = join(dir, 'web-verdicts.csv');
    expect((await sensor(['classify', WEB_ROWS, '--out', out, '-q'])).status).toBe(0);
    const r = new CsvRecordReader();
    const rec = [...r.push(readFileSync(out, 'latin1')), ...r.end()].map((x) => x.fields);
    const h = rec[0]!;
    expected = rec.slice(1).map((x) => ({ label: x[h.indexOf('predicted_label')]!, score: Number(x[h.indexOf('predicted_score')]) }));
  });

  it('CIC CSV rows: the verdicts sensor classify gives', async () => {
    const { status, body } = await predict(readFileSync(WEB_ROWS));
    expect(status).toBe(200);
    expect(body.count).toBe(21);
    expect(body.verdicts.map((v: any) => ({ label: v.label, score: v.score }))).toEqual(expected);
    expect(Object.keys(body.verdicts[0])).toEqual(['label', 'score', 'model', 'attack_label', 'attack_score', 'kdd']);
  });

  it('JSON objects with the Python port\'s keys, and a threshold', async () => {
    const r = new CsvRecordReader();
    const rec = [...r.push(readFileSync(WEB_ROWS, 'latin1')), ...r.end()].map((x) => x.fields);
    const keys = rec[0]!.map((h) => {
      const c = canonicalFeatureName(h);
      return c === undefined ? h : spellingsOf(c)[3] ?? h;
    });
    const objects = rec.slice(1).map((row) => Object.fromEntries(row.map((v, i) => [keys[i], v === 'Infinity' ? 'Infinity' : Number.isNaN(Number(v)) ? v : Number(v)])));
    const { status, body } = await predict(JSON.stringify({ rows: objects }), 'application/json');
    expect(status).toBe(200);
    expect(body.verdicts.map((v: any) => ({ label: v.label, score: v.score }))).toEqual(expected);
    const t = await predict(JSON.stringify(objects), 'application/json', '?alert_threshold=0.8');
    expect(t.body.alert_threshold).toBe(0.8);
    for (const v of t.body.verdicts) expect(v.label).toBe(v.attack_score >= 0.8 ? v.attack_label : 'BENIGN');
    expect(t.body.verdicts.some((v: any) => v.label === 'BENIGN')).toBe(true);
  });

  it('names each missing column and each bad cell (400)', async () => {
    const lines = readFileSync(WEB_ROWS, 'utf8').split('\n');
    const header = lines[0]!.split(',');
    const keep = header.map((_, i) => i).filter((i) => !['Flow Bytes/s', 'Idle Min'].includes(header[i]!));
    const cut = lines.filter((l) => l).map((l) => keep.map((i) => l.split(',')[i]).join(',')).join('\n');
    const m = await predict(cut);
    expect(m.status).toBe(400);
    expect(m.body.error).toBe('2 column(s) the model needs are missing: "Flow Bytes/s", "Idle Min"');
    expect(m.body.missing.map((x: any) => [x.column, x.position, x.accepted])).toEqual([
      ['Flow Bytes/s', SHIPPED.inputs.indexOf('Flow Bytes/s') + 1, ['Flow Bytes/s', 'Flow Byts/s', 'flow_byts_s']],
      ['Idle Min', SHIPPED.inputs.indexOf('Idle Min') + 1, ['Idle Min', 'idle_min']],
    ]);
    const bad = lines.slice();
    const cells = bad[3]!.split(',');
    cells[0] = 'DROP TABLE flows';
    bad[3] = cells.join(',');
    const b = await predict(bad.join('\n'));
    expect(b.status).toBe(400);
    expect(b.body.rows).toEqual([{ row: 3, message: 'column "Flow Duration": "DROP TABLE flows" is not a number' }]);
  });

  it('malformed, oversized and hostile bodies get a 4xx with a reason; the server keeps serving', async () => {
    const big = Buffer.alloc(5 << 20, 'a');
    const cases: [string, () => Promise<{ status: number; body: any }>, number, RegExp][] = [
      ['5 MiB body', () => predict(big), 413, /^body of 5242880 bytes; at most 4194304$/],
      ['5 MiB body, chunked (no length)', () => json('/api/predict', { method: 'POST', headers: { 'Content-Type': 'text/csv' }, body: new Blob([big]).stream(), duplex: 'half' } as RequestInit), 413, /^body larger than 4194304 bytes$/],
      ['10,001 rows', () => predict('Flow Duration\n' + '1\n'.repeat(10_001)), 413, /^10001 rows; at most 10000 per request$/],
      ['not JSON', () => predict('{"rows": [', 'application/json'), 400, /^the body is not valid JSON: /],
      ['JSON of another shape', () => predict('{"flows": []}', 'application/json'), 400, /^expected a JSON array of objects/],
      ['an array of numbers', () => predict('[1, 2]', 'application/json'), 400, /^row 1 is not a JSON object \(got number\)$/],
      ['nested 200k deep', () => predict('['.repeat(200_000) + ']'.repeat(200_000), 'application/json'), 400, /./],
      ['__proto__ and constructor keys', () => predict('[{"__proto__": {"polluted": 1}, "constructor": 1, "Flow Duration": 5}]', 'application/json'), 400, new RegExp(`^${SHIPPED.inputs.length - 1} column\\(s\\) the model needs are missing`)],
      ['2,000 distinct keys', () => predict(JSON.stringify([Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`k${i}`, i]))]), 'application/json'), 400, /^the rows use 2000 different keys/],
      ['an empty body', () => predict(''), 400, /^the CSV body is empty/],
      ['a header without rows', () => predict('Flow Duration\n'), 400, /^no rows in the body$/],
      ['form data', () => predict('a=1', 'application/x-www-form-urlencoded'), 415, /^Content-Type must be text\/csv .* got "application\/x-www-form-urlencoded"$/],
      ['GET on predict', () => json('/api/predict'), 405, /^GET is not allowed on \/api\/predict \(allowed: POST\)$/],
      ['an unknown path', () => json('/api/../../etc/passwd'), 404, /^no such path "\/etc\/passwd"/],
    ];
    for (const [name, send, status, message] of cases) {
      const r = await send();
      expect([name, r.status]).toEqual([name, status]);
      expect(r.body.error).toMatch(message);
    }
    expect(({} as any).polluted).toBeUndefined();
    // Raw sockets: garbage instead of HTTP gets 400; a request whose body never arrives gets 408 after the timeout.
    const raw = (data: string, waitMs: number): Promise<string> =>
      new Promise((resolve) => {
        const u = new URL(srv.base);
        const s = connect(Number(u.port), u.hostname, () => s.write(data));
        let got = '';
        s.setEncoding('utf8').on('data', (d: string) => (got += d));
        const t = setTimeout(() => s.destroy(), waitMs);
        s.on('close', () => {
          clearTimeout(t);
          resolve(got);
        });
      });
    expect(await raw('GARBAGE / NOT-HTTP\r\n\r\n', 5000)).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    const t0 = Date.now();
    expect(await raw('POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: 1000\r\n\r\nFlow Duration\n', 10_000)).toMatch(/^HTTP\/1\.1 408 /);
    expect(Date.now() - t0).toBeLessThan(5000);
    // Still serving, and every refusal was counted.
    expect((await json('/api/runs')).status).toBe(200);
    const metrics = await (await get('/metrics')).text();
    expect(metrics).toMatch(/sensor_serve_requests_total\{path="\/api\/predict",code="413"\} 3\n/);
    expect(metrics).toContain('sensor_serve_internal_errors_total 0\n');
  });
});

describe('address and token', () => {
  it('refuses a non-loopback address without a token (exit 2, nothing listens)', async () => {
    const r = await sensor(['serve', '--db', DB, '--listen', '0.0.0.0:0']);
    expect([r.status, r.stderr]).toEqual([
      2,
      'sensor serve: refusing to listen on 0.0.0.0:0 without --token: the API would give every flow to anyone who can reach it (give --token or --token-file, or listen on 127.0.0.1)\n',
    ]);
    const missing = await sensor(['serve', '--db', join(dir, 'none.sqlite')]);
    expect([missing.status, missing.stderr]).toEqual([3, `sensor serve: cannot read database ${join(dir, 'none.sqlite')}: no such file\n`]);
    const inUse = await sensor(['serve', '--db', DB, '--listen', new URL(srv.base).host]);
    expect([inUse.status, inUse.stderr]).toEqual([4, `sensor serve: cannot listen on ${new URL(srv.base).host}: the address is in use\n`]);
  });

  it('--listen, --token and --help: exact messages (exit 2 / 0)', async () => {
    const bad = await sensor(['serve', '--db', DB, '--listen', 'localhost']);
    expect([bad.status, bad.stderr]).toEqual([2, 'sensor serve: Expected --listen HOST:PORT or [IPv6]:PORT with a port from 0 to 65535, got "localhost"\n']);
    const short = await sensor(['serve', '--db', DB, '--token', 'short']);
    expect([short.status, short.stderr]).toEqual([2, 'sensor serve: Expected a token of at least 16 characters (e.g. openssl rand -hex 24)\n']);
    const v6 = await sensor(['serve', '--db', DB, '--listen', '[::]:0']);
    expect(v6.status).toBe(2);
    expect(v6.stderr).toMatch(/^sensor serve: refusing to listen on \[::\]:0 without --token/);
    const h = await sensor(['serve', '--help']);
    expect(h.status).toBe(0);
    expect(h.stdout).toContain('Usage: sensor serve --db DB [--listen 127.0.0.1:8080]');
    expect(h.stdout).toContain('Exit codes: 0 stopped by SIGTERM/SIGINT');
  });

  it('with --token-file: 401 without or with a wrong token, 200 with it; the page itself is open', async () => {
    const file = join(dir, 'token');
    writeFileSync(file, TOKEN + '\n');
    const s = await serve(['--db', DB, '--listen', '0.0.0.0:0', '--token-file', file, '--no-model']);
    const port = new URL(s.base).port;
    const base = `http://127.0.0.1:${port}`;
    try {
      const none = await fetch(`${base}/api/runs`);
      expect([none.status, none.headers.get('www-authenticate'), (await none.json()).error]).toEqual([401, 'Bearer', 'a bearer token is required (Authorization: Bearer TOKEN)']);
      expect((await fetch(`${base}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}x` } })).status).toBe(401);
      expect((await fetch(`${base}/api/runs`, { headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
      expect((await fetch(`${base}/`)).status).toBe(200);
      const p = await fetch(`${base}/api/predict`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'text/csv' }, body: 'a\n1\n' });
      expect([p.status, (await p.json()).error]).toEqual([503, 'no model is loaded (sensor serve --no-model)']);
    } finally {
      s.proc.kill('SIGTERM');
      expect(await s.exited).toBe(0);
    }
  });
});

describe.skipIf(NO_BROWSER !== null)(`the dashboard in Chromium${NO_BROWSER ? ` (skipped: ${NO_BROWSER})` : ''}`, () => {
  it('draws the database\'s figures, then updates itself while a replay appends flows', async () => {
    const { browser, close } = await launchBrowser();
    try {
      const page = await browser.newPage();
      const requests: string[] = [];
      const errors: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      await page.goto(`${srv.base}/`);
      const before = sql<{ n: number }>('SELECT count(*) n FROM flows')[0]!.n;
      await page.waitForFunction((n) => document.getElementById('flows')!.textContent === n.toLocaleString('en-US'), before, { timeout: 20_000 });
      const marks = (id: string): Promise<number> =>
        page.evaluate((i) => [...document.querySelectorAll(`#${i} rect.mark`)].filter((r) => r.getBoundingClientRect().width > 0 && r.getBoundingClientRect().height > 0).length, id);
      // Alerts by class over the last 5 minutes of traffic: one bar per class seen there.
      const classes = sql<{ n: number }>("SELECT count(DISTINCT label) n FROM flows WHERE label != 'BENIGN' AND start_us > (SELECT max(start_us) FROM flows) - 300e6")[0]!.n;
      expect(classes).toBeGreaterThan(0);
      expect(await marks('by-class')).toBe(classes);
      expect(await marks('recent')).toBeGreaterThan(0);
      expect(await page.locator('#talkers tr').count()).toBeGreaterThan(1);
      expect(await page.locator('#apps').textContent()).toContain('not recorded');
      // A second run appends to the database while the page is open, with an application model (the shipped
      // attack model's ONNX under a card of task application: its classes renamed as groups).
      const appCard = { ...SHIPPED, name: 'dash-app', task: 'application', classes: (SHIPPED as any).classes.map((_: string, i: number) => `Group${i}`), benign: 'Group0' } as Record<string, unknown>;
      for (const k of ['alert_threshold', 'kdd', 'drift_reference']) delete appCard[k];
      copyFileSync(join(ROOT, 'models', (SHIPPED as any).onnx.file), join(dir, (SHIPPED as any).onnx.file));
      writeFileSync(join(dir, 'dash-app.json'), JSON.stringify(appCard));
      const r = await sensor(['--replay', 'fixtures/reference/cic2017-wednesday-tls-flow.pcap', 'fixtures/reference/edge.pcap', '--db', DB, '-q', '--alert-threshold', LOW_T, '--app-model', join(dir, 'dash-app.json')]);
      expect(r.status).toBe(0);
      const after = sql<{ n: number }>('SELECT count(*) n FROM flows')[0]!.n;
      expect(after).toBeGreaterThan(before);
      await page.waitForFunction((n) => document.getElementById('flows')!.textContent === n.toLocaleString('en-US'), after, { timeout: 20_000 });
      await page.waitForFunction(() => /^\d+\.\d$/.test(document.getElementById('rate')!.textContent ?? ''), undefined, { timeout: 20_000 });
      // The newest flows (the window) are the second run's: their groups are drawn, one bar per group seen.
      const groups = sql<{ n: number }>('SELECT count(DISTINCT coalesce(app_label, \'\')) n FROM flows WHERE start_us > (SELECT max(start_us) FROM flows) - 300e6')[0]!.n;
      expect(await marks('apps')).toBe(groups);
      expect(await page.locator('#apps').textContent()).toMatch(/Group\d/);
      await page.screenshot({ path: join(dir, 'dashboard.png'), fullPage: true });
      console.log(`dashboard screenshot: ${join(dir, 'dashboard.png')}`);
      expect(errors).toEqual([]);
      expect(requests.every((u) => u.startsWith(srv.base + '/'))).toBe(true);
      expect(requests.filter((u) => u.endsWith('/api/stats?window=300')).length).toBeGreaterThan(1);
    } finally {
      await close();
    }
  });
});
