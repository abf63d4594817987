/**
 * `sensor serve`: a read-only JSON API over a sensor database, POST /api/predict, /metrics (Prometheus text) and
 * a dashboard page that updates itself.
 * (Over 400 lines: nine routes over one read-only database handle, each short.)
 *
 * Node's own `http` module: nine routes, no middleware, no templating; a framework would add a dependency
 * without doing any of the work that matters here (bounded bodies, exact 4xx reasons, timeouts), which is all
 * explicit below. Nothing a client sends can end the process: every handler runs inside one try/catch that
 * answers 500 and counts it, the body is read with a byte limit, and the database is opened read-only.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer as httpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { CsvRecordReader } from '../classify/csv-records.js';
import { describeMissing, tableRule, type TableClassifier } from '../classify/table-rows.js';
import { cardForRun, type FlowDb, type Scope } from '../report/flow-db.js';
import { dashboardHtml } from './dashboard.js';
import { exposition, type Metric } from '../cli/metrics.js';

export interface ServeLimits {
  /** Largest request body, bytes (413 beyond). 4 MiB: 10,000 CIC-IDS2017 rows (about 330 bytes each) fit. */
  bodyBytes: number;
  /** Most rows in one POST /api/predict (413 beyond). */
  rows: number;
  /** Most rows GET /api/flows and /api/alerts return. */
  flowRows: number;
  /** Predictions running at once (503 beyond: the model thread is shared). */
  predictions: number;
  /** A request must be complete (headers and body) within this many ms (408). */
  requestTimeoutMs: number;
}

export const DEFAULT_LIMITS: ServeLimits = { bodyBytes: 4 << 20, rows: 10_000, flowRows: 10_000, predictions: 4, requestTimeoutMs: 10_000 };

export interface ServeOptions {
  db: FlowDb;
  /** Null: POST /api/predict answers 503 (sensor serve --no-model). */
  table: TableClassifier | null;
  /** Bearer token required on /api/ and /metrics; null = none (loopback only). */
  token: string | null;
  limits?: Partial<ServeLimits>;
}

/** A 4xx/5xx answer: status, one-line reason, and optional details for the JSON body. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const ROUTES: Record<string, string[]> = {
  '/': ['GET', 'HEAD'],
  '/api/runs': ['GET', 'HEAD'],
  '/api/flows': ['GET', 'HEAD'],
  '/api/alerts': ['GET', 'HEAD'],
  '/api/stats': ['GET', 'HEAD'],
  '/api/predict': ['POST'],
  '/metrics': ['GET', 'HEAD'],
};

/** Identity and verdict columns of a flow in the API (plus whichever later columns the database has). */
const FLOW_COLUMNS = ['id', 'run_id', 'flow_id', 'src_ip', 'src_port', 'dst_ip', 'dst_port', 'protocol', 'start_us', 'end_us', 'timestamp', 'label', 'score', 'model'];
const LATER_COLUMNS = ['attack_label', 'attack_score', 'kdd', 'app_label', 'app_score', 'app_model', 'context'];

export function createServer(opts: ServeOptions): Server {
  const limits: ServeLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const db = opts.db;
  const tokenDigest = opts.token === null ? null : createHash('sha256').update(opts.token).digest();
  const requests = new Map<string, number>();
  const counters = { predictRows: 0, predictRequests: 0, internalErrors: 0 };
  let predicting = 0;
  const cache = new Map<string, { at: number; ttl: number; body: unknown }>();
  const dashboard = dashboardHtml();

  const flowColumns = (): string[] => [...FLOW_COLUMNS, ...LATER_COLUMNS.filter((c) => db.has(c))];
  let benignKnown: string | null | undefined;
  const benign = (): string | null => {
    if (benignKnown) return benignKnown;
    // The database's own model decides what is benign; the predict model is the fallback.
    const card = cardForRun(db, {}).card ?? opts.table?.card;
    const b = card ? card.benign : db.benignLabel(null);
    if (b !== null) benignKnown = b;
    return b;
  };

  /**
   * Answers kept for a second, or five times as long as they took: the queries block the event loop (SQLite is
   * synchronous), so on a big database they take at most about a sixth of the time however often they are asked.
   */
  const cached = <T>(key: string, make: () => T): T => {
    const c = cache.get(key);
    const now = Date.now();
    if (c && now - c.at < c.ttl) return c.body as T;
    const t0 = performance.now();
    const body = make();
    cache.set(key, { at: now, ttl: Math.max(1000, 5 * (performance.now() - t0)), body });
    if (cache.size > 100) cache.delete(cache.keys().next().value!);
    return body;
  };

  function authorized(req: IncomingMessage): boolean {
    if (tokenDigest === null) return true;
    const h = req.headers.authorization ?? '';
    const m = /^Bearer (.+)$/i.exec(h);
    if (!m) return false;
    // Digests of equal length, compared in constant time: the time taken says nothing about the token.
    return timingSafeEqual(createHash('sha256').update(m[1]!.trim()).digest(), tokenDigest);
  }

  async function handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<{ status: number; body?: unknown; text?: string; type?: string; headers?: Record<string, string> }> {
    const path = url.pathname;
    const methods = Object.hasOwn(ROUTES, path) ? ROUTES[path] : undefined;
    if (!methods) throw new HttpError(404, `no such path ${JSON.stringify(path)} (paths: ${Object.keys(ROUTES).join(', ')})`);
    if (!methods.includes(req.method ?? '')) throw new HttpError(405, `${req.method} is not allowed on ${path} (allowed: ${methods.join(', ')})`, {}, { Allow: methods.join(', ') });
    if (path === '/') return { status: 200, text: dashboard.html, type: 'text/html; charset=utf-8', headers: { 'Content-Security-Policy': dashboard.csp } };
    if (!authorized(req)) throw new HttpError(401, 'a bearer token is required (Authorization: Bearer TOKEN)', {}, { 'WWW-Authenticate': 'Bearer' });
    switch (path) {
      case '/api/runs':
        params(url, []);
        return { status: 200, body: { runs: db.runs() } };
      case '/api/flows':
        return { status: 200, body: flows(url, false) };
      case '/api/alerts':
        return { status: 200, body: flows(url, true) };
      case '/api/stats':
        return { status: 200, body: stats(url) };
      case '/metrics':
        params(url, []);
        return { status: 200, text: metrics(), type: 'text/plain; version=0.0.4; charset=utf-8' };
      case '/api/predict':
        return { status: 200, body: await predict(req, url) };
    }
    throw new HttpError(404, `no such path ${path}`);
  }

  /** Query parameters: every name must be one of `allowed` (400 naming the others). */
  function params(url: URL, allowed: string[]): URLSearchParams {
    for (const k of new Set(url.searchParams.keys())) {
      if (!allowed.includes(k)) throw new HttpError(400, `unknown query parameter ${JSON.stringify(k)}${allowed.length > 0 ? ` (allowed: ${allowed.join(', ')})` : ' (this path takes none)'}`, { parameter: k });
      if (url.searchParams.getAll(k).length > 1) throw new HttpError(400, `query parameter ${JSON.stringify(k)} is given more than once`, { parameter: k });
    }
    return url.searchParams;
  }
  function intParam(p: URLSearchParams, name: string, min: number, max: number): number | undefined {
    const v = p.get(name);
    if (v === null) return undefined;
    if (!/^-?\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new HttpError(400, `query parameter ${name}: expected an integer from ${min} to ${max}, got ${JSON.stringify(v)}`, { parameter: name });
    return Number(v);
  }
  function numParam(p: URLSearchParams, name: string, min: number, max: number, minOpen = false): number | undefined {
    const v = p.get(name);
    if (v === null) return undefined;
    const x = Number(v);
    if (v.trim() === '' || !Number.isFinite(x) || x < min || x > max || (minOpen && x === min)) throw new HttpError(400, `query parameter ${name}: expected a number in ${minOpen ? '(' : '['}${min}, ${max}], got ${JSON.stringify(v)}`, { parameter: name });
    return x;
  }
  function timeParam(p: URLSearchParams, name: string): number | undefined {
    const v = p.get(name);
    if (v === null) return undefined;
    // Microseconds since the epoch (as start_us), or an ISO 8601 date.
    if (/^\d{1,17}$/.test(v)) return Number(v);
    const t = Date.parse(v);
    if (Number.isNaN(t)) throw new HttpError(400, `query parameter ${name}: expected microseconds since the epoch or an ISO 8601 date, got ${JSON.stringify(v)}`, { parameter: name });
    return t * 1000;
  }

  function flows(url: URL, alertsOnly: boolean) {
    const p = params(url, ['run', 'label', 'app_label', 'src_ip', 'dst_ip', 'src_port', 'dst_port', 'protocol', 'since', 'until', 'min_score', 'limit', 'features', ...(alertsOnly ? [] : ['alerts'])]);
    const limit = intParam(p, 'limit', 1, limits.flowRows) ?? 100;
    const where: string[] = [];
    const args: unknown[] = [];
    const eq = (col: string, v: unknown): void => {
      where.push(`"${col}" = ?`);
      args.push(v);
    };
    const run = intParam(p, 'run', 1, Number.MAX_SAFE_INTEGER);
    if (run !== undefined) eq('run_id', run);
    for (const k of ['label', 'src_ip', 'dst_ip'] as const) {
      const v = p.get(k);
      if (v !== null) eq(k, v);
    }
    const app = p.get('app_label');
    if (app !== null) {
      // A database written before the application model has no such column: no flow is in any group.
      if (db.has('app_label')) eq('app_label', app);
      else where.push('0');
    }
    for (const k of ['src_port', 'dst_port'] as const) {
      const v = intParam(p, k, 0, 65535);
      if (v !== undefined) eq(k, v);
    }
    const proto = intParam(p, 'protocol', 0, 255);
    if (proto !== undefined) eq('protocol', proto);
    const since = timeParam(p, 'since');
    if (since !== undefined) {
      where.push('start_us >= ?');
      args.push(since);
    }
    const until = timeParam(p, 'until');
    if (until !== undefined) {
      where.push('start_us < ?');
      args.push(until);
    }
    const minScore = numParam(p, 'min_score', 0, 1);
    if (minScore !== undefined) {
      where.push('score >= ?');
      args.push(minScore);
    }
    const flag = (name: string): boolean => {
      const v = p.get(name);
      if (v === null) return false;
      if (v === 'true' || v === '1') return true;
      if (v === 'false' || v === '0') return false;
      throw new HttpError(400, `query parameter ${name}: expected true or false, got ${JSON.stringify(v)}`, { parameter: name });
    };
    if (alertsOnly || flag('alerts')) where.push(db.alertSql(benign()));
    const withFeatures = flag('features');
    const cols = flowColumns().map((c) => `"${c}"`);
    if (withFeatures) cols.push(...db.features.map((f) => `"${f.sql}"`));
    const sql = `SELECT ${cols.join(', ')} FROM flows ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY start_us DESC, id DESC LIMIT ${limit}`;
    const rows = db.db.prepare(sql).all(...args) as Record<string, unknown>[];
    if (withFeatures) {
      // Features under the profile's CSV names, apart from the identity and verdict fields.
      for (const r of rows) {
        const f: Record<string, unknown> = {};
        for (const c of db.features) {
          f[c.name in f ? `${c.name}.1` : c.name] = r[c.sql];
          delete r[c.sql];
        }
        r.features = f;
      }
    }
    return { count: rows.length, limit, flows: rows };
  }

  function stats(url: URL) {
    const p = params(url, ['run', 'window']);
    const run = intParam(p, 'run', 1, Number.MAX_SAFE_INTEGER);
    // window: only the flows that started in the last S seconds of traffic (index range: cheap on a big database).
    const windowS = intParam(p, 'window', 1, 366 * 86400);
    return cached(`stats ${run} ${windowS}`, () => {
      const scope: Scope = run === undefined ? {} : { runId: run };
      const b = benign();
      const alert = db.alertSql(b);
      const w = db.where(scope);
      const ends = db.db.prepare(`SELECT min(start_us) AS first, max(start_us) AS newest FROM flows ${w.sql}`).get(...w.params) as { first: number | null; newest: number | null };
      const maxId = (db.db.prepare('SELECT max(id) AS m FROM flows').get() as { m: number | null }).m ?? 0;
      // Windows are in packet time, ending at the newest flow's start (a replayed day has no "now").
      const seriesS = windowS ?? 300;
      const part: Scope = windowS === undefined || ends.newest === null ? scope : { ...scope, sinceUs: ends.newest - windowS * 1e6 + 1 };
      let recent: { window_s: number; end_us: number; bin_s: number; flows: number; flows_per_s: number; series: Record<string, number[]> } | null = null;
      if (ends.newest !== null) {
        const startUs = ends.newest - seriesS * 1e6 + 1;
        const bins = 30;
        const binUs = Math.ceil((seriesS * 1e6) / bins);
        const inWindow = { ...scope, sinceUs: startUs };
        const n = db.count(inWindow);
        recent = { window_s: seriesS, end_us: ends.newest, bin_s: binUs / 1e6, flows: n, flows_per_s: n / seriesS, series: db.timeSeries(inWindow, startUs, binUs, bins) };
      }
      return {
        generated_at: new Date().toISOString(),
        run: run ?? null,
        window_s: windowS ?? null,
        benign: b,
        // The model's classes in card order when its card is installed, so colors match the report's.
        classes: (cardForRun(db, scope).card ?? opts.table?.card)?.classes ?? null,
        flows_total: db.count(scope),
        max_flow_id: maxId,
        first_start_us: ends.first,
        newest_start_us: ends.newest,
        // The rest covers the window when one is given, else the run or the whole database.
        flows: db.count(part),
        alerts: db.count(part, alert),
        by_label: db.countBy('label', part, 50),
        by_kdd: db.has('kdd') ? db.countBy('kdd', part, 10) : null,
        by_app: db.has('app_label') ? db.countBy('app_label', part, 20) : null,
        top_talkers: db.countBy('src_ip', part, 10),
        top_alert_sources: db.countBy('src_ip', part, 10, alert),
        top_alert_targets: db.countBy('dst_ip', part, 10, alert),
        top_dst_ports: db.countBy('dst_port', part, 10),
        recent,
      };
    });
  }

  /** Prometheus text, written by the live daemon's formatter (cli/metrics.ts). */
  function metrics(): string {
    const s = cached('metrics', () => ({
      labels: db.countBy('label', {}, 100),
      apps: db.countBy('app_label', {}, 100),
      runs: db.runs().length,
      newest: (db.db.prepare('SELECT max(start_us) AS m FROM flows').get() as { m: number | null }).m,
    }));
    const list: Metric[] = [
      {
        name: 'sensor_serve_requests_total',
        help: 'HTTP requests answered, by path and status code.',
        type: 'counter',
        samples: [...requests.entries()].map(([k, value]) => {
          const [path, code] = k.split(' ');
          return { labels: { path: path!, code: code! }, value };
        }),
      },
      { name: 'sensor_serve_predict_rows_total', help: 'Rows classified by POST /api/predict.', type: 'counter', samples: [{ value: counters.predictRows }] },
      { name: 'sensor_serve_internal_errors_total', help: 'Requests that failed inside the server (answered 500).', type: 'counter', samples: [{ value: counters.internalErrors }] },
      { name: 'sensor_db_flows', help: 'Flows in the database, by verdict label ("(none)" = not classified).', type: 'gauge', samples: s.labels.map((c) => ({ labels: { label: c.key }, value: c.n })) },
      { name: 'sensor_db_flows_by_app', help: 'Flows in the database, by application group ("(none)" = no application model).', type: 'gauge', samples: s.apps.map((c) => ({ labels: { group: c.key }, value: c.n })) },
      { name: 'sensor_db_runs', help: 'Runs recorded in the database.', type: 'gauge', samples: [{ value: s.runs }] },
    ];
    if (s.newest !== null) list.push({ name: 'sensor_db_newest_flow_start_seconds', help: "First packet time of the newest flow in the database.", type: 'gauge', samples: [{ value: s.newest / 1e6 }] });
    return exposition(list);
  }

  async function predict(req: IncomingMessage, url: URL) {
    const p = params(url, ['alert_threshold']);
    const t = numParam(p, 'alert_threshold', 0, 1, true);
    const table = opts.table;
    if (!table) throw new HttpError(503, 'no model is loaded (sensor serve --no-model)');
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'text/csv' && type !== 'application/json') throw new HttpError(415, `Content-Type must be text/csv (CIC CSV rows with a header line) or application/json (an array of objects, or {"rows": [...]}), got ${JSON.stringify(type || '(none)')}`);
    if (predicting >= limits.predictions) throw new HttpError(503, `${predicting} predictions are running; try again shortly`, {}, { 'Retry-After': '1' });
    predicting++;
    try {
      const body = await readBody(req, limits.bodyBytes);
      const { header, rows } = type === 'text/csv' ? csvTable(body) : jsonTable(body);
      if (rows.length === 0) throw new HttpError(400, 'no rows in the body');
      if (rows.length > limits.rows) throw new HttpError(413, `${rows.length} rows; at most ${limits.rows} per request`);
      const m = table.columns(header);
      if (!m.ok) {
        const lines = describeMissing(m.missing, table.card.inputs.length);
        throw new HttpError(400, `${m.missing.length} column(s) the model needs are missing: ${m.missing.map((x) => JSON.stringify(x.input.trim())).join(', ')}`, { missing: m.missing.map((x, i) => ({ column: x.input.trim(), position: x.position + 1, accepted: x.accepted, message: lines[i] })) });
      }
      const rule = t === undefined ? table.rule : tableRule(table.card, table.rule.model, t);
      const { verdicts, problems } = await table.classify(rows, m.columns, header, rule);
      if (problems.length > 0) {
        throw new HttpError(400, `${problems.length} row(s) have bad cells: ${problems.slice(0, 3).map((x) => `row ${x.row + 1}: ${x.message}`).join('; ')}${problems.length > 3 ? '; ...' : ''}`, {
          rows: problems.slice(0, 100).map((x) => ({ row: x.row + 1, message: x.message })),
        });
      }
      counters.predictRows += rows.length;
      counters.predictRequests++;
      return { model: rule.model, alert_threshold: rule.threshold, count: verdicts.length, verdicts };
    } finally {
      predicting--;
    }
  }

  const server = httpServer({ requestTimeout: limits.requestTimeoutMs, headersTimeout: Math.min(limits.requestTimeoutMs, 10_000), keepAliveTimeout: 5000, connectionsCheckingInterval: Math.min(1000, limits.requestTimeoutMs), maxHeaderSize: 16 * 1024 }, (req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      url = new URL('http://localhost/bad-url');
    }
    const route = Object.hasOwn(ROUTES, url.pathname) ? url.pathname : 'other';
    const send = (status: number, body: string, type: string, headers: Record<string, string> = {}): void => {
      const key = `${route} ${status}`;
      requests.set(key, (requests.get(key) ?? 0) + 1);
      if (res.headersSent || res.destroyed) return;
      res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', ...headers });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    handle(req, res, url).then(
      (r) => send(r.status, r.text ?? JSON.stringify(r.body), r.type ?? 'application/json; charset=utf-8', r.headers),
      (e: unknown) => {
        if (e instanceof HttpError) {
          // After a refused body: answer at once, then let the rest of it drain (bounded) and close the connection.
          // (No Connection: close here: Node would cut the socket while the client is still sending.)
          send(e.status, JSON.stringify({ error: e.message, ...e.details }), 'application/json; charset=utf-8', e.headers);
          if (e.status === 413) discardBody(req);
          return;
        }
        counters.internalErrors++;
        process.stderr.write(`sensor serve: internal error on ${req.method} ${url.pathname}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
        send(500, JSON.stringify({ error: 'internal error (logged by the server)' }), 'application/json; charset=utf-8');
      },
    );
  });
  server.on('clientError', (err, socket) => {
    // Malformed HTTP, oversized headers, timeouts: a 4xx if the socket still takes one, then close.
    const code = (err as NodeJS.ErrnoException).code;
    const status = code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    if (socket.writable) socket.end(`HTTP/1.1 ${status} ${status === 408 ? 'Request Timeout' : status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    else socket.destroy();
  });
  return server;
}

/**
 * Throw away the rest of a refused body, so the client, still sending, gets to read the 413 instead of a reset.
 * Bounded: past 64 MiB the connection is cut (and the request timeout bounds the time).
 */
function discardBody(req: IncomingMessage): void {
  let n = 0;
  req.on('data', (c: Buffer) => {
    n += c.length;
    if (n > 64 << 20) req.destroy();
  });
  req.resume();
}

/** The request body as text, at most `limit` bytes (413 beyond: the caller answers, then discards the rest). */
function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new HttpError(413, `body of ${declared} bytes; at most ${limit}`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > limit) {
        req.off('data', onData);
        req.pause();
        reject(new HttpError(413, `body larger than ${limit} bytes`));
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', (e) => reject(new HttpError(400, `reading the body failed: ${e.message}`)));
    req.on('aborted', () => reject(new HttpError(400, 'the client aborted the body')));
  });
}

function csvTable(body: string): { header: string[]; rows: string[][] } {
  const r = new CsvRecordReader();
  const records = [...r.push(body), ...r.end()].filter((x) => x.raw.trim() !== '');
  if (records.length === 0) throw new HttpError(400, 'the CSV body is empty (expected a header line of CIC column names, then rows)');
  return { header: records[0]!.fields, rows: records.slice(1).map((x) => x.fields) };
}

/** An array of objects (or {"rows": [...]}) → a table whose header is every key, in order of first use. */
function jsonTable(body: string): { header: string[]; rows: unknown[][] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (e) {
    throw new HttpError(400, `the body is not valid JSON: ${(e as Error).message}`);
  }
  const list = Array.isArray(parsed) ? parsed : typeof parsed === 'object' && parsed !== null && Array.isArray((parsed as { rows?: unknown }).rows) ? (parsed as { rows: unknown[] }).rows : null;
  if (list === null) throw new HttpError(400, 'expected a JSON array of objects (CIC column name → value), or {"rows": [...]}');
  const index = new Map<string, number>();
  list.forEach((o, i) => {
    if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new HttpError(400, `row ${i + 1} is not a JSON object (got ${Array.isArray(o) ? 'an array' : o === null ? 'null' : typeof o})`, { row: i + 1 });
    for (const k of Object.keys(o)) if (!index.has(k)) index.set(k, index.size);
  });
  if (index.size > 1000) throw new HttpError(400, `the rows use ${index.size} different keys; CIC rows have fewer than 100`);
  const header = [...index.keys()];
  const rows = list.map((o) => {
    const obj = o as Record<string, unknown>;
    const cells: unknown[] = new Array(header.length);
    for (const k of Object.keys(obj)) {
      const v = obj[k];
      // A nested value is not a cell: leave it for the per-row check to name.
      cells[index.get(k)!] = typeof v === 'object' && v !== null ? String(JSON.stringify(v)).slice(0, 40) : v;
    }
    return cells;
  });
  return { header, rows };
}
