/**
 * `--clickhouse URL` against a real ClickHouse server that each test starts on loopback (test/clickhouse-server.ts):
 * - the flows in ClickHouse equal SQLite's for the same replay, every column, in all three profiles;
 * - a server that is down, killed mid-run (SIGKILL) or frozen (SIGSTOP, so an insert is committed after its answer
 *   was given up on): every flow arrives exactly once, counted by (run_id, batch, row);
 * - the spool survives the sensor's own end (SIGTERM with the server down) and the next start sends it.
 * Skipped, saying why, when clickhouse-server is not installed (`.ci/run` installs Debian's).
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, createWriteStream, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, SENSOR, sensor } from './helpers/cli.js';
import { CLICKHOUSE_SERVER, TestClickHouse, unusedPort } from './clickhouse-server.js';
import { ClickHouseSink, defaultSpoolDir } from '../src/sinks/clickhouse.js';
import { APP_VERDICT, CONTEXT_COLUMNS, SERVER_NAME, SERVER_NAME_SOURCE, PAYLOAD_PROTOCOL, createTableSql, flowColumns } from '../src/sinks/clickhouse-rows.js';
import { DEFAULT_MODEL_NAME, MODELS_DIR } from '../src/classify/model.js';
import { getProfile } from '../src/features/profiles.js';
import { sqliteColumnTypes } from '../src/sinks/column-types.js';
import type { FlowRows } from '../src/sinks/flow-rows.js';
import { rowsWithIdentities } from './helpers/flow-rows.js';

const BUNDLED = ['edge', 'cic2017-webattack-sqlinj', 'cic2017-wednesday-tls-flow', 'zeek-http-vlan', 'zeek-wikipedia'].map((n) => join(ROOT, 'fixtures/reference', `${n}.pcap`));
const dir = mkdtempSync(join(tmpdir(), 'sensor-ch-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An application model: the shipped attack model's ONNX under a card of task application (classes renamed). */
function appModel(): string {
  const card = JSON.parse(readFileSync(join(MODELS_DIR, `${DEFAULT_MODEL_NAME}.json`), 'utf8')) as Record<string, any>;
  const app: Record<string, any> = { ...card, name: 'ch-app', task: 'application', classes: card.classes.map((_: string, i: number) => `G${i}`), benign: 'G0' };
  for (const k of ['alert_threshold', 'kdd', 'drift_reference']) delete app[k];
  cpSync(join(MODELS_DIR, card.onnx.file), join(dir, card.onnx.file));
  writeFileSync(join(dir, 'ch-app.json'), JSON.stringify(app));
  return join(dir, 'ch-app.json');
}

/** One TabSeparated cell as ClickHouse prints it: `\N` is NULL, nan/inf are numbers, escapes undone. */
function cell(text: string, type: string): string | number | null {
  if (text === '\\N') return null;
  if (/Int|Float/.test(type)) {
    if (text === 'nan' || text === '-nan') return NaN;
    if (text === 'inf' || text === '+inf') return Infinity;
    if (text === '-inf') return -Infinity;
    return Number(text);
  }
  return text.replace(/\\(.)/g, (_, c: string) => ({ t: '\t', n: '\n', '\\': '\\', "'": "'", '0': '\0' })[c] ?? c);
}

async function selectAll(ch: TestClickHouse, table: string, where = ''): Promise<{ names: string[]; rows: (string | number | null)[][] }> {
  const desc = (await ch.query(`DESCRIBE TABLE sensor.${table}`)).trim().split('\n').map((l) => l.split('\t'));
  const names = desc.map((d) => d[0]!).filter((n) => n !== 'inserted_at');
  const types = new Map(desc.map((d) => [d[0]!, d[1]!]));
  const text = await ch.query(`SELECT ${names.map((n) => `\`${n}\``).join(', ')} FROM sensor.${table} ${where} ORDER BY run_id, batch, row FORMAT TabSeparated`);
  const rows = text === '' ? [] : text.replace(/\n$/, '').split('\n').map((l) => l.split('\t').map((c, i) => cell(c, types.get(names[i]!)!)));
  return { names, rows };
}

/** Counts rows and distinct (run_id, batch, row): equal when nothing arrived twice. */
async function counts(ch: TestClickHouse, table: string): Promise<{ rows: number; distinct: number; runs: Map<string, number> }> {
  const [rows, distinct] = (await ch.query(`SELECT count(), uniqExact(run_id, batch, row) FROM sensor.${table}`)).trim().split('\t').map(Number);
  const runs = new Map(
    (await ch.query(`SELECT run_id, count() FROM sensor.${table} GROUP BY run_id`))
      .trim()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.split('\t'))
      .map(([r, n]) => [r!, Number(n)]),
  );
  return { rows: rows!, distinct: distinct!, runs };
}

/** `flows N` of a replay summary (at the start of a line, or after the progress line it clears). */
function flowsOf(stderr: string): number {
  const m = /(?:^|\r\x1b\[K)packets \d+ {2}flows (\d+)/m.exec(stderr);
  if (!m) throw new Error(`no summary in: ${stderr}`);
  return Number(m[1]);
}

/**
 * Feeds the FIFO at `path` (made with mkfifo) a capture's packets again and again, as a live feed: the sensor
 * reading it always has data, so its loop comes round and sees a stop request. Returns the function that stops.
 */
function feedFifo(path: string, capture: string): () => void {
  const pcap = readFileSync(capture);
  const more = pcap.subarray(24);
  const feed = createWriteStream(path);
  feed.on('error', () => undefined); // EPIPE once the sensor stops reading
  feed.write(pcap.subarray(0, 24));
  const feeding = setInterval(() => {
    if (feed.writableLength < 1 << 20) feed.write(more);
  }, 5);
  return () => {
    clearInterval(feeding);
    feed.destroy();
  };
}

const SERVER_NOTE = CLICKHOUSE_SERVER === undefined ? ' [skipped: clickhouse-server is not installed; .ci/run installs it]' : '';

describe.skipIf(CLICKHOUSE_SERVER === undefined)(`ClickHouse output (clickhouse-server on loopback)${SERVER_NOTE}`, () => {
  let ch: TestClickHouse;
  beforeAll(async () => {
    ch = await TestClickHouse.create();
    await ch.start();
  });
  afterAll(async () => {
    ch.thaw();
    await ch.kill();
    rmSync(ch.dir, { recursive: true, force: true });
  });

  it.each([
    ['cic2017', ['--alert-threshold', '0.3', '--app-model', appModel()]],
    ['cic', ['--profile', 'cic', '--no-model']],
    ['fixed', ['--profile', 'fixed', '--no-model', '--ipv6']],
  ])('flows in ClickHouse equal SQLite\'s, every column (%s)', async (profile, extra) => {
    const db = join(dir, `eq-${profile}.sqlite`);
    const r = await sensor(['--replay', ...BUNDLED, '--db', db, '--clickhouse', `${ch.url}/sensor`, '--clickhouse-spool', join(dir, `spool-eq-${profile}`), '--sensor-name', "span 1 'x'", ...extra]);
    expect(r.stderr).toContain('sink.clickhouse.rows_sent=');
    expect(r.status).toBe(0);
    const sq = new Database(db, { readonly: true });
    const sqRows = sq.prepare('SELECT * FROM flows ORDER BY id').all() as Record<string, unknown>[];
    sq.close();
    const { names, rows } = await selectAll(ch, `flows_${profile}`);
    expect(rows.length).toBe(sqRows.length);
    expect(rows.length).toBeGreaterThan(30);
    // Every SQLite column (but its own row id and run number) is a ClickHouse column of the same name.
    const shared = Object.keys(sqRows[0]!).filter((k) => k !== 'id' && k !== 'run_id');
    expect(names.filter((n) => !['sensor', 'run_id', 'batch', 'row'].includes(n))).toEqual(shared);
    let cells = 0;
    rows.forEach((row, i) => {
      const byName = new Map(names.map((n, j) => [n, row[j]]));
      expect(byName.get('sensor')).toBe("span 1 'x'");
      for (const k of shared) {
        const want = sqRows[i]![k];
        const got = byName.get(k);
        // SQLite stores NaN (CIC's rates of a zero-length flow) as NULL; ClickHouse keeps the NaN.
        if (want === null && typeof got === 'number' && Number.isNaN(got)) continue;
        if (got !== want) expect({ row: i, column: k, clickhouse: got }).toEqual({ row: i, column: k, clickhouse: want });
        cells++;
      }
    });
    expect(cells).toBeGreaterThan(rows.length * 80);
    if (profile === 'cic2017') {
      expect(rows.some((r) => r[names.indexOf('label')] !== null && r[names.indexOf('attack_score')] !== null)).toBe(true);
      expect(rows.every((r) => r[names.indexOf('app_label')] !== null && r[names.indexOf('app_model')] === 'ch-app@' + String(r[names.indexOf('model')]).split('@')[1])).toBe(true);
    }
  });

  it.each([
    ['older', 'no application columns, no context, no server_name', [...APP_VERDICT, ...CONTEXT_COLUMNS, ...SERVER_NAME, ...SERVER_NAME_SOURCE, ...PAYLOAD_PROTOCOL]],
    ['older4', 'no context, no server_name', [...CONTEXT_COLUMNS, ...SERVER_NAME, ...SERVER_NAME_SOURCE, ...PAYLOAD_PROTOCOL]],
    ['older5', 'no server_name_source', [...SERVER_NAME_SOURCE, ...PAYLOAD_PROTOCOL]],
    ['older6', 'no payload_protocol', [...PAYLOAD_PROTOCOL]],
  ])('a table an earlier version made (%s: %s) gets the columns, NULL in its old rows', async (database, _, missing) => {
    const old = flowColumns(getProfile('cic2017').columns).filter((c) => !missing.some((a) => a.name === c.name));
    await ch.query(`CREATE DATABASE IF NOT EXISTS ${database}`);
    await ch.query(createTableSql(database, 'flows_cic2017', old));
    const cols = old.map((c) => `\`${c.name}\``).join(', ');
    // One row as the earlier version wrote it, copied from the equality test's table.
    await ch.query(`INSERT INTO ${database}.flows_cic2017 (${cols}) SELECT ${cols} FROM sensor.flows_cic2017 LIMIT 1`);
    const r = await sensor(['--replay', BUNDLED[4]!, '--clickhouse', `${ch.url}/${database}`, '--clickhouse-spool', join(dir, `spool-${database}`), '--app-model', appModel(), '-q']);
    expect(r.status, r.stderr).toBe(0);
    const desc = (await ch.query(`DESCRIBE TABLE ${database}.flows_cic2017`)).trim().split('\n').map((l) => l.split('\t').slice(0, 2).join(' '));
    expect(desc).toEqual([...flowColumns(getProfile('cic2017').columns).map((c) => `${c.name} ${c.type}`), 'inserted_at DateTime']);
    const byModel = (await ch.query(`SELECT app_model, count() FROM ${database}.flows_cic2017 GROUP BY app_model FORMAT TabSeparated`)).trim().split('\n').sort();
    if (missing.includes(APP_VERDICT[0]!)) {
      expect(byModel).toHaveLength(2);
      expect(byModel[0]).toBe('\\N\t1');
      expect(byModel[1]).toMatch(/^ch-app@\S+\t[1-9]\d*$/);
    } else expect(byModel).toEqual([expect.stringMatching(/^ch-app@\S+\t[1-9]\d*$/)]); // the old row had its verdict
    // The old row has no name (NULL); the replayed capture's names arrived (zeek-wikipedia: HTTP and DNS).
    const names = (await ch.query(`SELECT isNull(server_name) AS none, count() FROM ${database}.flows_cic2017 GROUP BY none ORDER BY none FORMAT TabSeparated`)).trim().split('\n');
    expect(names).toHaveLength(2);
    expect(names[0]).toMatch(/^0\t[1-9]\d*$/);
    expect(names[1]).toMatch(/^1\t[1-9]\d*$/);
    // Every new row's name has its source (only the old row may have a name without one).
    const sourceless = (await ch.query(`SELECT count() FROM ${database}.flows_cic2017 WHERE isNotNull(server_name) AND isNull(server_name_source) FORMAT TabSeparated`)).trim();
    expect(Number(sourceless)).toBeLessThanOrEqual(1);
    const sources = (await ch.query(`SELECT DISTINCT server_name_source FROM ${database}.flows_cic2017 WHERE isNotNull(server_name_source) FORMAT TabSeparated`)).trim().split('\n');
    expect(sources).toContain('flow');
    // The old row has no payload protocol; the capture's HTTP and DNS flows have theirs.
    const protocols = (await ch.query(`SELECT DISTINCT payload_protocol FROM ${database}.flows_cic2017 WHERE isNotNull(payload_protocol) ORDER BY payload_protocol FORMAT TabSeparated`)).trim().split('\n');
    expect(protocols).toEqual(expect.arrayContaining(['DNS', 'HTTP']));
  });

  it('an unwritable spool directory or a refused login is exit 4', async () => {
    writeFileSync(join(dir, 'a-file'), '');
    const spool = await sensor(['--replay', BUNDLED[0]!, '--clickhouse', ch.url, '--clickhouse-spool', join(dir, 'a-file', 'spool')]);
    expect(spool.status).toBe(4);
    expect(spool.stderr).toContain(`ClickHouse spool directory ${join(dir, 'a-file', 'spool')} is not writable`);
    // A server that answers and refuses the login is not an outage to wait out.
    const login = await sensor(['--replay', BUNDLED[0]!, '--no-model', '--clickhouse', ch.url.replace('//', '//nobody:secret@'), '--clickhouse-spool', join(dir, 'spool-login')]);
    expect(login.status).toBe(4);
    expect(login.stderr).toContain(`ClickHouse ${ch.url.replace('//', '//nobody:***@')}/ refused: Code: 192`);
    expect(login.stderr).not.toContain('secret');
  });

  it('server down at start, SIGTERM, then back: the spool survives the sensor and every flow arrives once', async () => {
    const spool = join(dir, 'spool-down');
    const url = `${ch.url}/sensor`;
    await ch.kill();
    // 1. A replay with the server down: exit 0, the flows spooled, said on stderr and in the counters.
    const r1 = await sensor(['--replay', ...BUNDLED, '--clickhouse', url, '--clickhouse-spool', spool, '--profile', 'cic', '--no-model']);
    expect(r1.status).toBe(0);
    const n1 = flowsOf(r1.stderr);
    expect(r1.stderr).toContain(`sink.clickhouse.rows_spooled=${n1}`);
    expect(r1.stderr).toMatch(/did not take \d+ flows: spooled in /);
    const files1 = readdirSync(spool).filter((f) => f.endsWith('.rowbinary'));
    expect(files1.length).toBeGreaterThan(0);
    // 2. Another run, stopped by SIGTERM while the server is still down (capture from a FIFO, like a live feed).
    const fifo = join(dir, 'feed.pcap');
    spawnSync('mkfifo', [fifo]);
    const child = spawn(process.execPath, [SENSOR, '--replay', fifo, '--clickhouse', url, '--clickhouse-spool', spool, '--profile', 'cic', '--no-model', '--progress'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err2 = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err2 += d));
    const stopFeeding = feedFifo(fifo, BUNDLED[4]!);
    const closed = new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    // SIGTERM once the sensor is spooling (it says so when it opens the output with the server down) and its progress
    // line shows packets read, so that this run has flows of its own to spool.
    await waitFor(() => err2.includes('spooling flows in') && / [1-9][\d,]* packets /.test(err2), 30_000);
    child.kill('SIGTERM');
    const status2 = await closed;
    stopFeeding();
    expect(err2).toContain('spooled in');
    expect(status2).toBe(130);
    const n2 = flowsOf(err2);
    expect(readdirSync(spool).filter((f) => f.endsWith('.rowbinary')).length).toBeGreaterThan(files1.length);
    // 3. The server is back: the next start sends the spool first, then its own flows; the spool empties.
    await ch.start();
    const r3 = await sensor(['--replay', BUNDLED[0]!, '--clickhouse', url, '--clickhouse-spool', spool, '--profile', 'cic', '--no-model']);
    expect(r3.status).toBe(0);
    expect(r3.stderr).toContain(`${n1 + n2} flows in`);
    const n3 = flowsOf(r3.stderr);
    expect(r3.stderr).toContain(`sink.clickhouse.rows_sent=${n1 + n2 + n3}`);
    expect(readdirSync(spool).filter((f) => f.endsWith('.rowbinary'))).toEqual([]);
    const c = await counts(ch, 'flows_cic');
    // flows_cic also holds the equality test's run: this test's three runs are the ones it did not have.
    const before = (await ch.query(`SELECT count() FROM sensor.flows_cic WHERE sensor != 'span 1 \\'x\\''`)).trim();
    expect(Number(before)).toBe(n1 + n2 + n3);
    expect(c.distinct).toBe(c.rows);
    expect([...c.runs.values()].sort((a, b) => a - b)).toEqual(expect.arrayContaining([n1, n2, n3].sort((a, b) => a - b)));
  });

  it('killed and frozen mid-insert: every flow arrives exactly once', async () => {
    if (!ch.running) await ch.start();
    const columns = getProfile('cic').columns;
    const F = columns.featureNames.length;
    const spool = join(dir, 'spool-kill');
    const events: string[] = [];
    const sink = await ClickHouseSink.open(`${ch.url}/sensor`, columns, {
      spoolDir: spool,
      sensor: 'kill-test',
      backpressure: false,
      requestTimeoutMs: 1500,
      onEvent: (e) => events.push(e.message),
    });
    const batch = (n: number, seed: number): FlowRows => {
      const features = new Float64Array(n * F);
      for (let i = 0; i < features.length; i++) features[i] = sqliteColumnTypes(columns.featureNames)[i % F] === 'INTEGER' ? (i * 7 + seed) % 100_000 : Math.sin(i + seed) * 1e6;
      const rows = rowsWithIdentities(Array.from({ length: n }, (_, i) => ({ srcIp: '10.0.0.1', srcPort: i % 65536, dstIp: '10.0.0.2', dstPort: 80, protocol: 6, startUs: 1e15 + i, endUs: 1e15 + i + 5 })), F);
      rows.features = features;
      return rows;
    };
    let written = 0;
    const write = (n: number, seed: number, to: ClickHouseSink = sink): void => {
      void to.write(batch(n, seed));
      written += n;
    };
    // A stream of 10,000-row batches (~7 MB each) while the server is killed twice and restarted.
    for (let k = 0; k < 2; k++) {
      for (let b = 0; b < 6; b++) {
        write(10_000, k * 100 + b);
        await new Promise((r) => setTimeout(r, 60));
      }
      await ch.kill();
      for (let b = 6; b < 9; b++) write(10_000, k * 100 + b);
      await ch.start();
    }
    // Frozen: the insert's bytes sit in the server's socket buffer, the sink gives up waiting (1.5 s), the server
    // wakes and may commit it. The sink must find those rows before sending the batch again.
    await waitFor(() => sink.counters.rows_sent === written, 120_000);
    const committedAfterAnswerLost = sink.counters.rows_already_stored;
    ch.freeze();
    write(200, 999);
    await new Promise((r) => setTimeout(r, 2500));
    ch.thaw();
    await waitFor(() => sink.counters.rows_sent === written, 120_000);
    await sink.close();
    // Slow (frozen, no error yet) with the live setting: past maxMemoryBatches the batches go to disk, not RAM.
    const slow = await ClickHouseSink.open(`${ch.url}/sensor`, columns, { spoolDir: spool, sensor: 'kill-test', backpressure: false, maxMemoryBatches: 2 });
    ch.freeze();
    for (let b = 0; b < 6; b++) write(1000, 500 + b, slow);
    const spooledWhileSlow = slow.counters.batches_spooled;
    ch.thaw();
    await waitFor(() => slow.counters.rows_sent === 6000, 120_000);
    await slow.close();
    expect(spooledWhileSlow).toBeGreaterThanOrEqual(3);
    const c = await counts(ch, 'flows_cic');
    const mine = Number((await ch.query(`SELECT count() FROM sensor.flows_cic WHERE sensor = 'kill-test'`)).trim());
    expect(mine).toBe(written);
    expect(c.distinct).toBe(c.rows);
    expect(sink.counters.retries).toBeGreaterThan(0);
    // The frozen insert is either committed after the thaw (found by the check, not sent again) or dropped with
    // its connection (sent again): never both, never neither, as `mine` above shows.
    expect([0, 200]).toContain(sink.counters.rows_already_stored - committedAfterAnswerLost);
    expect(events.some((e) => e.includes('unavailable'))).toBe(true);
    expect(events.some((e) => e.includes('is back'))).toBe(true);
    expect(readdirSync(spool).filter((f) => f.endsWith('.rowbinary'))).toEqual([]);
  });

  it('batches the server stored but whose files outlived the sensor (killed before it deleted them) are not sent twice', async () => {
    if (!ch.running) await ch.start();
    const columns = getProfile('cic').columns;
    const F = columns.featureNames.length;
    const spool = join(dir, 'spool-stale');
    const saved = join(dir, 'spool-stale-saved');
    const rows = (n: number, seed: number): FlowRows => {
      const r = rowsWithIdentities(Array.from({ length: n }, (_, i) => ({ srcIp: '10.1.0.1', srcPort: i, dstIp: '10.1.0.2', dstPort: 443, protocol: 6, startUs: i, endUs: i + 1 })), F);
      r.features.fill(seed);
      return r;
    };
    const opts = { spoolDir: spool, sensor: 'stale-test', backpressure: true };
    // 1. Server unreachable (nothing listens on that port): both batches go to the spool.
    const down = await ClickHouseSink.open(`http://127.0.0.1:${await unusedPort()}/sensor`, columns, opts);
    await down.write(rows(300, 1));
    await down.write(rows(200, 2));
    await down.close();
    cpSync(spool, saved, { recursive: true });
    // 2. Sent by the next start.
    const up = await ClickHouseSink.open(`${ch.url}/sensor`, columns, opts);
    await waitFor(() => up.counters.rows_sent === 500, 60_000);
    await up.close();
    expect(up.counters.rows_already_stored).toBe(0);
    // 3. The same files again, as if that start had been killed after the server stored them: found, not sent.
    cpSync(saved, spool, { recursive: true });
    const again = await ClickHouseSink.open(`${ch.url}/sensor`, columns, opts);
    await waitFor(() => again.counters.rows_sent === 500, 60_000);
    await again.close();
    expect(again.counters.rows_already_stored).toBe(500);
    const [n, distinct] = (await ch.query(`SELECT count(), uniqExact(run_id, batch, row) FROM sensor.flows_cic WHERE sensor = 'stale-test'`)).trim().split('\t').map(Number);
    expect(n).toBe(500);
    expect(distinct).toBe(500);
  });
});

describe('ClickHouse options and table', () => {
  it("the default spool: the unit's state directory under systemd (its home is hidden), else the XDG state home", () => {
    expect(defaultSpoolDir({ STATE_DIRECTORY: '/var/lib/sensor', HOME: '/nonexistent' })).toBe('/var/lib/sensor/clickhouse-spool');
    expect(defaultSpoolDir({ STATE_DIRECTORY: '/var/lib/sensor:/var/lib/other' })).toBe('/var/lib/sensor/clickhouse-spool');
    expect(defaultSpoolDir({ XDG_STATE_HOME: '/home/u/.state' })).toBe('/home/u/.state/sensor/clickhouse-spool');
  });

  it('SIGTERM the moment the output says it is spooling (no server): exit 130, the flows read so far spooled', async () => {
    // The stop handler must be in place before the outputs open: a ClickHouse output that finds no server says so
    // from inside open(). Before, a SIGTERM then killed the process (no summary, no spool of this run).
    const port = await unusedPort();
    for (let i = 0; i < 4; i++) {
      const run = mkdtempSync(join(dir, 'sigterm-open-'));
      const fifo = join(run, 'feed.pcap');
      spawnSync('mkfifo', [fifo]);
      const child = spawn(process.execPath, [SENSOR, '--replay', fifo, '--clickhouse', `http://127.0.0.1:${port}/sensor`, '--clickhouse-spool', join(run, 'spool'), '--no-model'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      let sent = false;
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        err += d;
        if (!sent && err.includes('spooling flows in')) {
          sent = true;
          child.kill('SIGTERM');
        }
      });
      const stopFeeding = feedFifo(fifo, BUNDLED[4]!);
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r) => child.on('close', (c, s) => r([c, s])));
      stopFeeding();
      expect({ code, signal, err }).toMatchObject({ code: 130, signal: null });
      // Every flow the run wrote is in the spool (a stop before the first packet writes none, and says nothing).
      const n = flowsOf(err);
      if (n > 0) expect(err).toContain(`sink.clickhouse.rows_spooled=${n}`);
      else expect(err).not.toContain('sink.clickhouse.rows_spooled');
    }
  });

  it('a bad URL is exit 2 with the expectation, in replay and live (flag and config key)', async () => {
    const bad = await sensor(['--replay', BUNDLED[0]!, '--clickhouse', 'ftp://x']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe('sensor: --clickhouse: expected an http:// or https:// URL (ClickHouse\'s HTTP interface), got "ftp://x"\n');
    const config = join(dir, 'live.json');
    writeFileSync(config, JSON.stringify({ interface: 'lo', clickhouse: 'http://host:8123/a/b', model: null }));
    const live = await sensor(['--config', config]);
    expect(live.status).toBe(2);
    expect(live.stderr).toContain('"clickhouse": expected at most one path segment (the database) in the URL, got "http://host:8123/a/b"');
  });


  it('the table names every feature column; its order is the profile\'s', () => {
    const cols = flowColumns(getProfile('cic2017').columns).map((c) => c.name);
    expect(cols.slice(0, 4)).toEqual(['sensor', 'run_id', 'batch', 'row']);
    expect(cols).toContain('fwd_header_length_1');
    expect(cols.slice(-13)).toEqual(['label', 'score', 'model', 'attack_label', 'attack_score', 'kdd', 'app_label', 'app_score', 'app_model', 'server_name', 'context', 'server_name_source', 'payload_protocol']);
  });
});

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}
