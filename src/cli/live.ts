/**
 * `sensor --iface IFACE` / `sensor --config FILE`: the live daemon. Captures from an interface (LiveSource),
 * feeds the same engine and sinks as replay, and behaves as a service:
 *
 * - Flow expiry: the CIC rules as in replay, plus the idle timeout in packet time, plus a tick once a second that
 *   expires idle flows at "now in packet time" = the latest packet's time + the wall time since it arrived, so a
 *   quiet network still flushes its flows. Partial output batches reach the sinks at least once a second.
 * - SIGTERM / SIGINT: stop capturing, read what the kernel had queued, end every active flow, write it, record the
 *   run's counters, close SQLite cleanly, exit 0.
 * - SIGHUP: reread the config file; reopen the database and CSV (log rotation) without touching the flow table.
 *   Keys that need a new capture or engine (interface, filter, profile, timeouts, ...) are reported as needing a
 *   restart and keep their running value.
 * - A JSON log line (pino) on stdout for journald: start, stop, and every `statsInterval` seconds the packet rate,
 *   kernel and interface drops, active flows, flows written and the decode counters. The same counters go to the
 *   run's row in `runs` (ended_at stays NULL until the end).
 * - Retention: flows whose first packet is older than `retention` days are deleted hourly, in small chunks, by a
 *   worker thread with its own connection (off the packet path).
 * - Verdicts: with the default model or `model` (unless `model` is null), completed flows are classified in the
 *   model's worker thread (pipelined as in replay) before the sinks get them; the model decides the profile unless
 *   one was given. If inference fails, flows keep being written without verdicts (logged, counted). The stats
 *   line and the run's counters carry the verdicts by class.
 *
 * Exit codes (cli/exit-codes.ts): 0 stopped by a signal with everything written; 2 bad usage or configuration;
 * 3 the capture could not start, or ended by itself (interface went down); 4 an output failed; 1 a bug.
 */
import { readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import yargs from 'yargs';
import pino, { type Logger } from 'pino';
import { ExitCode } from './exit-codes.js';
import { strictCommandLine, UsageError } from './usage.js';
import { parseConfig, RELOADABLE_KEYS, FIELDS, type ConfigKey, type LiveConfig } from '../config/schema.js';
import { LiveSource, type LiveStats } from '../sources/live-source.js';
import { CaptureError } from '../sources/pcap-source.js';
import { SUPPORTED_LINK_TYPES } from '../decode/decode.js';
import { Engine } from '../engine/engine.js';
import { getProfile } from '../features/profiles.js';
import { CsvSink } from '../sinks/csv.js';
import { SqliteSink, type RunCounters } from '../sinks/sqlite.js';
import { FLOW_END_NAMES, FlowEnd, SinkError, type FlowRows, type FlowSink } from '../sinks/flow-rows.js';
import { JsonSink } from '../sinks/json.js';
import { ClickHouseSink, defaultSpoolDir, type ClickHouseEvent } from '../sinks/clickhouse.js';
import { Histogram, MetricsError, serveMetrics, type Metric } from './metrics.js';
import { SinkFanout } from '../sinks/fanout.js';
import { ModelError, type Classifier } from '../classify/classifier.js';
import { chooseModel } from '../classify/cli.js';
import { VerdictQueue } from '../classify/stage.js';

/** nextAsync() timeout: the longest the loop waits before looking at signals, timers and the clock. */
const TICK_MS = 250;
/** Idle expiry and partial-batch flush period. */
const EXPIRE_EVERY_MS = 1000;
/** The loop yields to the event loop (signals, SQLite acks, tsfn calls) at least this often. */
const YIELD_EVERY_MS = 50;
const RETENTION_EVERY_MS = 3600_000;
const BATCH_FLOWS = 1024;
/** A JSON lines file may fall this far behind before batches are dropped (and counted) rather than queued. */
const JSON_MAX_BUFFERED_BYTES = 64 << 20;
/** At most one warning about dropped JSON lines this often (the count is in every stats line). */
const JSON_DROP_WARN_EVERY_MS = 10_000;
/** Inference latency histogram bounds, seconds per batch. */
const INFERENCE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export interface LiveIo {
  env: Readonly<Record<string, string | undefined>>;
  /** Where usage/config errors go before the logger exists (one line each). */
  stderr: (line: string) => void;
  /** Logger destination (default: stdout, synchronous, so nothing is lost at exit). */
  logStream?: pino.DestinationStream;
}

/** Command-line flags of live mode: the config keys plus --config. Values stay text for parseConfig. */
function parseLiveArgs(argv: string[]): { configFile: string | undefined; values: Partial<Record<ConfigKey, unknown>> } {
  // yargs reads a lone "-" as a positional argument; keep it as the value so the config check says why it is refused.
  const args: string[] = [];
  for (const a of argv) {
    const last = args.length - 1;
    if (a === '-' && (args[last] === '--csv' || args[last] === '--json')) args[last] += '=-';
    else args.push(a);
  }
  const y = strictCommandLine(yargs(args))
    .scriptName('sensor')
    .usage(
      'Usage: sensor --iface IFACE [--config FILE] [--db PATH] [--csv PATH] [--json PATH] [options]\n\n' +
        'Captures live from a network interface (a span/mirror port), assembles bidirectional flows and\n' +
        'writes CICFlowMeter-compatible features to SQLite, CSV and/or JSON lines, until SIGTERM/SIGINT.\n' +
        'SIGHUP reopens the outputs and rereads the config file. --metrics serves Prometheus metrics.\n' +
        'Every option can also be set in the JSON config file (key in brackets) or as an environment\n' +
        'variable SENSOR_<KEY>; the command line wins over the environment, which wins over the file.',
    )
    .option('config', { type: 'string', describe: 'JSON config file (see config/sensor.json).' })
    .option('iface', { alias: ['interface', 'i'], type: 'string', describe: 'Interface to capture on [interface].' })
    .option('filter', { type: 'string', describe: 'BPF filter, tcpdump syntax [filter].' })
    .option('db', { type: 'string', describe: 'SQLite database to append flows to [db].' })
    .option('csv', { type: 'string', describe: 'CSV file to append flows to; header written when new [csv].' })
    .option('profile', { type: 'string', describe: 'cic | fixed | cic2017 (default: the model\'s, cic2017 for the default model; cic with --no-model) [profile].' })
    .option('flow-timeout', { type: 'string', describe: 'Flow timeout, s from the first packet (default 120) [flowTimeout].' })
    .option('activity-timeout', { type: 'string', describe: 'Active/Idle threshold, s (default 5) [activityTimeout].' })
    .option('idle-timeout', { type: 'string', describe: 'End a flow after S s without packets; 0 = never (default: the flow timeout) [idleTimeout].' })
    .option('snaplen', { type: 'string', describe: 'Bytes kept per packet (default 262144) [snaplen].' })
    .option('buffer-size', { type: 'string', describe: 'Kernel capture buffer, MiB (default 64) [bufferSize].' })
    .option('promiscuous', { type: 'boolean', describe: 'Promiscuous mode (default on; --no-promiscuous) [promiscuous].' })
    .option('stats-interval', { type: 'string', describe: 'Seconds between stats log lines; 0 = off (default 60) [statsInterval].' })
    .option('model', { type: 'string', describe: 'ONNX model path or name in models/ (default: the shipped model; --no-model: none) [model].' })
    .option('alert-threshold', { type: 'string', describe: 'Alert when the most likely attack class has at least this probability, in (0, 1] (default: the card\'s) [alertThreshold].' })
    .option('retention', { type: 'string', describe: 'Delete flows older than N days; 0 = keep (default 0) [retention].' })
    .option('max-flows', { type: 'string', describe: 'Flow table capacity (default 262144) [maxFlows].' })
    .option('port-direction', { type: 'boolean', describe: 'Direction by address and port [portDirection].' })
    .option('ipv6', { type: 'boolean', describe: 'Make flows of IPv6 packets [ipv6].' })
    .option('json', { type: 'string', describe: 'JSON lines file (EVE-style flow and alert events, Community ID) to append to; reopened on SIGHUP [json].' })
    .option('json-alerts-only', { type: 'boolean', describe: 'Write only alert events to --json [jsonAlertsOnly].' })
    .option('clickhouse', { type: 'string', describe: 'ClickHouse HTTP URL to insert flows into, http://[user:password@]host:8123[/database]; an outage or a slow server spools to disk [clickhouse].' })
    .option('clickhouse-spool', { type: 'string', describe: 'Directory of the ClickHouse spool (default ~/.local/state/sensor/clickhouse-spool) [clickhouseSpool].' })
    .option('json-features', { type: 'boolean', describe: 'Add every CIC feature to each JSON event [jsonFeatures].' })
    .option('sensor-name', { type: 'string', describe: 'The `sensor` field of JSON events (default: the host name) [sensorName].' })
    .option('metrics', { type: 'string', describe: 'Serve Prometheus metrics at http://ADDR/metrics: PORT (on 127.0.0.1), HOST:PORT or [IPv6]:PORT [metrics].' })
    .example('sensor --iface eth0 --db /var/lib/sensor/flows.sqlite', 'Capture on eth0 into SQLite')
    .example('sensor --config /etc/sensor/sensor.json', 'Everything from the config file (the systemd unit does this)')
    .example('sensor --iface eth0 --json /var/log/sensor/eve.json --metrics 127.0.0.1:9464', 'JSON events, and Prometheus metrics on loopback')
    .epilog('Exit codes: 0 stopped by SIGTERM/SIGINT with every flow written, 2 bad usage/config, 3 capture failed, 4 output failed (or the metrics address cannot be used), 1 internal error.');
  const a = y.parseSync() as Record<string, unknown>;
  if (Array.isArray(a._) && a._.length > 0) throw new UsageError(`Unexpected argument: ${String(a._[0])}`);
  const values: Partial<Record<ConfigKey, unknown>> = {};
  for (const f of FIELDS) {
    const v = a[f.flag];
    if (v !== undefined) values[f.key] = Array.isArray(v) ? v[v.length - 1] : v;
  }
  const configFile = a.config === undefined ? undefined : String(a.config);
  return { configFile, values };
}

/** Reads and parses the config file; throws UsageError with one line. */
function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (e as Error).message;
    throw new UsageError(`config ${path}: ${why}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`config ${path}: not valid JSON: ${(e as Error).message}`);
  }
}

function loadConfig(argv: string[], env: LiveIo['env']): { config: LiveConfig; configFile: string | undefined; profileGiven: boolean } {
  const args = parseLiveArgs(argv);
  const json = args.configFile === undefined ? undefined : readConfigFile(args.configFile);
  const r = parseConfig(json, args.values, env, { file: args.configFile ?? 'config file' });
  if (!r.config) throw new ConfigErrors(r.errors);
  return { config: r.config, configFile: args.configFile, profileGiven: r.sources.profile !== 'default' };
}

class ConfigErrors extends Error {
  constructor(readonly errors: string[]) {
    super(errors.join('\n'));
  }
}

/** Deletes old flows in a worker thread with its own connection, in chunks, so the sink's writer never waits long. */
function runRetention(db: string, days: number): Promise<number> {
  const require = createRequire(import.meta.url);
  const code = `
const { workerData, parentPort } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.db, { timeout: 30000 });
let deleted = 0;
try {
  const has = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'flows'").get();
  if (has) {
    const del = db.prepare('DELETE FROM flows WHERE id IN (SELECT id FROM flows WHERE start_us < ? LIMIT 2000)');
    const pause = new Int32Array(new SharedArrayBuffer(4));
    for (;;) {
      const n = del.run(workerData.cutoffUs).changes;
      deleted += n;
      if (n < 2000) break;
      Atomics.wait(pause, 0, 0, 5); // let the flow writer take the lock between chunks
    }
  }
} finally {
  db.close();
}
parentPort.postMessage(deleted);
`;
  const cutoffUs = Math.floor((Date.now() - days * 86400_000) * 1000);
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { db, cutoffUs, driver: require.resolve('better-sqlite3') } });
    w.unref();
    w.once('message', (n: number) => resolve(n));
    w.once('error', reject);
    w.once('exit', (c) => (c !== 0 ? reject(new Error(`retention worker exited with code ${c}`)) : undefined));
  });
}

interface Outputs {
  sinks: FlowSink[];
  sqlite: SqliteSink | undefined;
  /** Kept across SIGHUP (its spool is one directory per process). */
  clickhouse: ClickHouseSink | undefined;
  csv: CsvSink | undefined;
  /** Inode of the CSV when opened, to notice rotation on SIGHUP. */
  csvIno: number | undefined;
  json: JsonSink | undefined;
  /** Inode of the JSON file when opened (rotation), and the settings it was opened with. */
  jsonIno: number | undefined;
  jsonKey: string | undefined;
}

/** What the JSON sink needs beyond the config: shared across reopenings. */
interface JsonContext {
  benignClass: string | undefined;
  flowIds: { next: number };
  onDrop: (lines: number) => void;
}

/** The JSON settings a reopened file must share with the open one to be kept. */
function jsonKey(cfg: LiveConfig): string | undefined {
  return cfg.json === undefined ? undefined : JSON.stringify([cfg.json, cfg.jsonAlertsOnly, cfg.jsonFeatures, cfg.sensorName]);
}

async function openOutputs(cfg: LiveConfig, argv: string[], columns: ReturnType<typeof getProfile>['columns'], json: JsonContext, clickhouseEvents?: (e: ClickHouseEvent) => void): Promise<Outputs> {
  const out: Outputs = { sinks: [], sqlite: undefined, clickhouse: undefined, csv: undefined, csvIno: undefined, json: undefined, jsonIno: undefined, jsonKey: undefined };
  try {
    if (cfg.csv !== undefined) {
      out.csv = new CsvSink(cfg.csv, columns, { append: true });
      out.csvIno = inode(cfg.csv);
      out.sinks.push(out.csv);
    }
    if (cfg.json !== undefined) {
      out.json = new JsonSink(cfg.json, columns, {
        sensor: cfg.sensorName ?? hostname(),
        iface: cfg.interface,
        ...(json.benignClass !== undefined ? { benignClass: json.benignClass } : {}),
        alertsOnly: cfg.jsonAlertsOnly,
        features: cfg.jsonFeatures,
        append: true,
        // The capture must not wait for a slow disk: past this, batches are dropped and counted.
        dropAboveBytes: JSON_MAX_BUFFERED_BYTES,
        onDrop: json.onDrop,
        flowIds: json.flowIds,
      });
      out.jsonIno = inode(cfg.json);
      out.jsonKey = jsonKey(cfg);
      out.sinks.push(out.json);
    }
    if (cfg.clickhouse !== undefined && clickhouseEvents !== undefined) {
      out.clickhouse = await ClickHouseSink.open(cfg.clickhouse, columns, {
        spoolDir: cfg.clickhouseSpool ?? defaultSpoolDir(),
        sensor: cfg.sensorName ?? hostname(),
        backpressure: false, // the capture must not wait: a slow server spools
        onEvent: clickhouseEvents,
      });
      out.sinks.push(out.clickhouse);
    }
    if (cfg.db !== undefined) {
      out.sqlite = await SqliteSink.open(cfg.db, columns, { source: cfg.interface, mode: 'live', profile: cfg.profile, argv });
      out.sinks.push(out.sqlite);
    }
  } catch (e) {
    for (const s of out.sinks) await s.close().catch(() => undefined);
    throw e;
  }
  return out;
}

function inode(path: string): number | undefined {
  try {
    return statSync(path).ino;
  } catch {
    return undefined;
  }
}

function nonZero(c: Record<string, number>): Record<string, number> {
  const o: Record<string, number> = {};
  for (const [k, v] of Object.entries(c)) if (v !== 0) o[k] = v;
  return o;
}

/** Runs the daemon until a signal (or a capture error); returns the exit code. */
export async function runLive(argv: string[], io: LiveIo = { env: process.env, stderr: (l) => process.stderr.write(l + '\n') }): Promise<number> {
  let loaded: ReturnType<typeof loadConfig>;
  try {
    loaded = loadConfig(argv, io.env);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`sensor: ${e.message}`);
      if (!e.message.startsWith('config ')) io.stderr('Run sensor --iface x --help for the options.');
      return ExitCode.Usage;
    }
    if (e instanceof ConfigErrors) {
      for (const line of e.errors) io.stderr(`sensor: ${line}`);
      return ExitCode.Usage;
    }
    throw e;
  }
  // The model (the default one unless `model` says otherwise or is null) is checked before the capture starts
  // (every problem, exit 2); unless a profile was given, it decides the profile, as in replay. The default model
  // with another profile is not an error: no verdicts, and a line that says why.
  let classifier: Classifier | undefined;
  try {
    const c = loaded.config;
    const choice = await chooseModel(c.model === null ? false : c.model, loaded.profileGiven ? c.profile : undefined, c.alertThreshold);
    classifier = choice.classifier;
    if (choice.notice) io.stderr(`sensor: ${choice.notice}`);
  } catch (e) {
    if (e instanceof ModelError) {
      for (const p of e.problems) io.stderr(`sensor: ${p}`);
      return ExitCode.Usage;
    }
    throw e;
  }
  if (loaded.config.jsonAlertsOnly && !classifier) {
    io.stderr('sensor: jsonAlertsOnly needs verdicts, and no model is set (alerts are flows a model calls an attack)');
    return ExitCode.Usage;
  }
  try {
    return await daemon(argv, io, loaded, classifier);
  } finally {
    await classifier?.close();
  }
}

/** The profile a configuration runs with: the model's unless one was given. */
function effectiveConfig(c: LiveConfig, profileGiven: boolean, classifier: Classifier | undefined): LiveConfig {
  return classifier && !profileGiven ? { ...c, profile: classifier.profile } : c;
}

async function daemon(argv: string[], io: LiveIo, loaded: ReturnType<typeof loadConfig>, classifier: Classifier | undefined): Promise<number> {
  let cfg = effectiveConfig(loaded.config, loaded.profileGiven, classifier);
  const log: Logger = pino(
    { base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } },
    io.logStream ?? pino.destination({ fd: 1, sync: true }),
  );

  // Capture first: a missing interface, no permission or a bad filter fails before any output is touched.
  let src: LiveSource;
  try {
    src = LiveSource.open(cfg.interface, {
      ...(cfg.filter !== undefined ? { filter: cfg.filter } : {}),
      snaplen: cfg.snaplen,
      promiscuous: cfg.promiscuous,
      bufferSize: cfg.bufferSize * 1024 * 1024,
    });
    if (!SUPPORTED_LINK_TYPES.includes(src.linkType)) {
      const name = src.linkTypeName;
      const type = src.linkType;
      src.close();
      throw new CaptureError('unsupported', cfg.interface, `${cfg.interface}: unsupported link type ${name} (${type}); supported: Ethernet, Linux cooked (SLL, SLL2), raw IP, BSD loopback`);
    }
  } catch (e) {
    if (e instanceof CaptureError) {
      io.stderr(`sensor: ${e.message}`);
      return ExitCode.Input;
    }
    throw e;
  }

  const profile = getProfile(cfg.profile);

  // Metrics before the outputs, so an address in use fails before a run is recorded.
  let collect: () => readonly Metric[] = () => [];
  let metricsServer: Server | undefined;
  if (cfg.metrics !== undefined) {
    try {
      metricsServer = await serveMetrics(cfg.metrics.host, cfg.metrics.port, () => collect());
    } catch (e) {
      src.close();
      if (e instanceof MetricsError) {
        io.stderr(`sensor: ${e.message}`);
        return ExitCode.Output;
      }
      throw e;
    }
  }

  let jsonLinesDropped = 0;
  let lastDropWarning = -Infinity;
  const jsonContext: JsonContext = {
    benignClass: classifier?.card.benign,
    flowIds: { next: 1 },
    onDrop: (lines) => {
      jsonLinesDropped += lines;
      const now = performance.now();
      if (now - lastDropWarning >= JSON_DROP_WARN_EVERY_MS) {
        lastDropWarning = now;
        log.warn({ event: 'json_lines_dropped', json: cfg.json ?? null, dropped: jsonLinesDropped }, `the JSON file cannot keep up: ${jsonLinesDropped} lines dropped so far (sink.json.lines_dropped)`);
      }
    },
  };
  let outputs: Outputs;
  try {
    outputs = await openOutputs(cfg, argv, profile.columns, jsonContext, (e) => log[e.level]({ event: e.event }, e.message));
  } catch (e) {
    src.close();
    metricsServer?.close();
    if (e instanceof SinkError) {
      io.stderr(`sensor: ${e.message}`);
      return ExitCode.Output;
    }
    throw e;
  }

  const pending: FlowRows[] = [];
  const engine = new Engine({
    profile,
    flowTimeoutUs: Math.round(cfg.flowTimeout * 1e6),
    activityTimeoutUs: Math.round(cfg.activityTimeout * 1e6),
    idleTimeoutUs: Math.round(cfg.idleTimeout * 1e6),
    maxFlows: cfg.maxFlows,
    batchSize: BATCH_FLOWS,
    portAwareDirection: cfg.portDirection,
    ipv6: cfg.ipv6,
    onFlows: (rows) => {
      pending.push(rows);
      if (!verdictsFailed) verdicts?.submit(rows);
    },
  });
  // Verdicts between the engine and the sinks (the model's worker thread), pipelined as in replay. If inference
  // fails, flows keep being written, without verdicts, and counted.
  const verdicts = classifier ? new VerdictQueue(classifier) : undefined;
  let verdictsFailed = false;
  let unclassified = 0;
  let lostWithInference = 0;
  const featureCount = profile.columns.featureNames.length;

  // A sink that fails is set aside (the others keep every flow); the daemon then stops and exits 4.
  let exitCode: number = ExitCode.Ok;
  const fanout = new SinkFanout(({ error }) => {
    log.error({ event: 'output_failed', error: error.message }, `output failed: ${error.message}; stopping`);
    exitCode = ExitCode.Output;
    requestStop('output failed');
  });
  const sinkFailed = (sink: FlowSink, e: unknown, rows: number): void => fanout.fail(sink, e, rows);
  // final = false in the packet loop: a batch whose verdicts are not in yet waits, unless too many wait.
  const drain = async (final = true): Promise<void> => {
    while (pending.length > 0) {
      const v = verdicts;
      if (v && !verdictsFailed && !final && !v.isDone(pending[0]!) && pending.length <= v.maxInFlight) break;
      const rows = pending.shift()!;
      if (v) {
        try {
          await v.done(rows);
        } catch (e) {
          if (!verdictsFailed) {
            log.error({ event: 'model_failed', error: (e as Error).message }, `${(e as Error).message}: flows are written without verdicts from now on`);
          }
          verdictsFailed = true;
        }
        if (rows.model === undefined) unclassified += rows.count;
        if (rows.features.length < rows.count * featureCount) {
          // The features were lent to an inference thread that died with them.
          lostWithInference += rows.count;
          continue;
        }
      }
      countWritten(rows);
      await fanout.write(outputs.sinks, rows);
    }
  };
  // For /metrics: flows handed to the outputs, by why they ended (the verdicts are counted by the verdict queue's
  // tally, which the stats line prints too).
  const flowsEnded = new Array<number>(FLOW_END_NAMES.length).fill(0);
  const countWritten = (rows: FlowRows): void => {
    for (let i = 0; i < rows.count; i++) {
      const r = rows.endReasons?.[i];
      if (r !== undefined) flowsEnded[r]!++;
    }
  };
  const inferenceLatency = new Histogram(INFERENCE_BUCKETS);
  if (verdicts) verdicts.onClassified = (ms) => inferenceLatency.observe(ms / 1000);

  const captureCounters = (s: LiveStats): Record<string, number> => ({
    kernel_received: s.received,
    kernel_dropped: s.dropped,
    interface_dropped: s.ifDropped,
    captured: s.captured,
    unread_at_stop: s.unreadAtStop,
    discarded_at_close: s.discardedAtClose,
  });
  const runCounters = (): RunCounters => {
    const a = engine.accounting();
    const info: Record<string, number> = { ...a.info };
    for (const f of fanout.failures.values()) info[`sink.${f.name}.rows_lost`] = f.rowsLost;
    Object.assign(info, outputs?.clickhouse?.info());
    if (cfg.json !== undefined || jsonLinesDropped > 0) info['sink.json.lines_dropped'] = jsonLinesDropped;
    if (classifier) {
      info['verdicts.unclassified_flows'] = unclassified;
      info['verdicts.flows_lost'] = lostWithInference;
    }
    return {
      packets: a.packets,
      flows: a.flows,
      packets_in_written_flows: a.packetsInWrittenFlows,
      packets_not_in_written_flows: { ...a.packetsNotInWrittenFlows },
      info,
      capture: captureCounters(src.stats()),
      ...(verdicts ? { verdicts: verdicts.tally.verdicts() } : {}),
    };
  };

  // ---- signals ----
  let stopReason: string | null = null;
  let reloadRequested = false;
  function requestStop(reason: string): void {
    if (stopReason !== null) return;
    stopReason = reason;
    src.stop(); // the capture thread drains what the kernel queued, then nextAsync() gives -1
  }
  const onTerm = (sig: NodeJS.Signals): void => {
    if (stopReason !== null) {
      log.warn({ event: 'signal', signal: sig }, `${sig} again: already stopping`);
      return;
    }
    log.info({ event: 'signal', signal: sig }, `${sig}: stopping`);
    requestStop(sig);
  };
  const onHup = (): void => {
    reloadRequested = true;
  };
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onTerm);
  process.on('SIGHUP', onHup);

  log.info(
    {
      event: 'start',
      interface: src.iface,
      linkType: src.linkTypeName,
      snaplen: src.snaplen,
      bufferSize: src.bufferSize,
      promiscuous: src.promiscuous,
      nanosecond: src.nanosecond,
      filter: src.filter ?? null,
      profile: cfg.profile,
      flowTimeout: cfg.flowTimeout,
      activityTimeout: cfg.activityTimeout,
      idleTimeout: cfg.idleTimeout,
      db: cfg.db ?? null,
      csv: cfg.csv ?? null,
      json: cfg.json ?? null,
      metrics: cfg.metrics ? `http://${cfg.metrics.host.includes(':') ? `[${cfg.metrics.host}]` : cfg.metrics.host}:${cfg.metrics.port}/metrics` : null,
      runId: outputs.sqlite?.runId ?? null,
      retention: cfg.retention,
      model: classifier?.id ?? null,
      alertThreshold: classifier?.threshold ?? null,
    },
    `capturing on ${src.iface}`,
  );

  // ---- retention ----
  let retentionBusy = false;
  let lastRetention = -Infinity;
  const maybeRetention = (now: number): void => {
    if (cfg.retention <= 0 || cfg.db === undefined || retentionBusy || now - lastRetention < RETENTION_EVERY_MS) return;
    lastRetention = now;
    retentionBusy = true;
    const db = cfg.db;
    const days = cfg.retention;
    runRetention(db, days).then(
      (n) => {
        retentionBusy = false;
        log.info({ event: 'retention', db, days, deleted: n }, `retention: deleted ${n} flows older than ${days} days`);
      },
      (e: unknown) => {
        retentionBusy = false;
        log.error({ event: 'retention', db, error: (e as Error).message }, `retention failed: ${(e as Error).message}`);
      },
    );
  };

  // ---- stats ----
  // Event-loop delay: the packet loop yields every YIELD_EVERY_MS, so a long synchronous stretch (a huge batch of
  // expiries, a slow sink call) shows here; the soak watches it with memory and the queues.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const started = performance.now();
  let lastStats = started;
  let lastStatsPackets = 0;
  let lastStatsFlows = 0;
  let lastStatsDrops = 0;
  /** Memory, event-loop delay over the interval, and how many flow batches wait at each stage. */
  const processHealth = (): Record<string, number> => {
    const m = process.memoryUsage();
    const ms = (ns: number): number => (Number.isFinite(ns) ? +(ns / 1e6).toFixed(1) : 0);
    return {
      rss_mib: +(m.rss / 1048576).toFixed(1),
      heap_used_mib: +(m.heapUsed / 1048576).toFixed(1),
      loop_delay_p99_ms: ms(loopDelay.percentile(99)),
      loop_delay_max_ms: ms(loopDelay.max),
      batches_waiting: pending.length,
      batches_classifying: verdicts?.inFlight ?? 0,
      batches_writing_sqlite: outputs.sqlite?.batchesInFlight ?? 0,
    };
  };
  const logStats = (now: number, event: string, updateRun = true): void => {
    const s = src.stats();
    const a = engine.accounting();
    const dt = (now - lastStats) / 1000;
    const drops = s.dropped + s.ifDropped;
    const fields = {
      event,
      interval_s: +dt.toFixed(3),
      packets: a.packets,
      packets_per_s: dt > 0 ? Math.round((a.packets - lastStatsPackets) / dt) : 0,
      kernel_received: s.received,
      kernel_dropped: s.dropped,
      interface_dropped: s.ifDropped,
      drops_in_interval: drops - lastStatsDrops,
      flows_active: engine.table.size,
      flows_written: a.flows,
      flows_per_s: dt > 0 ? Math.round((a.flows - lastStatsFlows) / dt) : 0,
      not_in_flows: nonZero(a.packetsNotInWrittenFlows),
      info: nonZero({ ...a.info, 'sink.json.lines_dropped': jsonLinesDropped, ...outputs.clickhouse?.info() }),
      ...(verdicts ? { verdicts: verdicts.tally.verdicts() } : {}),
      process: processHealth(),
    };
    if (drops > lastStatsDrops) log.warn(fields, `stats: ${drops - lastStatsDrops} packets dropped in the last ${dt.toFixed(0)} s`);
    else log.info(fields, 'stats');
    lastStats = now;
    lastStatsPackets = a.packets;
    lastStatsFlows = a.flows;
    lastStatsDrops = drops;
    loopDelay.reset();
    if (updateRun && outputs.sqlite && !fanout.failures.has(outputs.sqlite)) {
      const sq = outputs.sqlite;
      sq.updateRun(runCounters()).catch((e: unknown) => sinkFailed(sq, e, 0));
    }
  };

  // ---- /metrics: the stats line's counters, read when scraped ----
  collect = (): Metric[] => {
    const s = src.stats();
    const a = engine.accounting();
    const counter = (name: string, help: string, value: number): Metric => ({ name, help, type: 'counter', samples: [{ value }] });
    const gauge = (name: string, help: string, value: number): Metric => ({ name, help, type: 'gauge', samples: [{ value }] });
    const labelled = (name: string, help: string, label: string, entries: [string, number][], type: Metric['type'] = 'counter'): Metric => ({
      name,
      help,
      type,
      samples: entries.map(([k, value]) => ({ labels: { [label]: k }, value })),
    });
    const { 'flow.open_packets': openPackets = 0, ...reasons } = a.packetsNotInWrittenFlows;
    const { 'flows.active': _active, ...info } = a.info;
    const metrics: Metric[] = [
      counter('sensor_packets_total', 'Packets read from the capture.', a.packets),
      counter('sensor_kernel_received_packets_total', 'Packets the kernel passed the filter (including those it dropped).', s.received),
      counter('sensor_kernel_dropped_packets_total', 'Packets the kernel dropped because its capture buffer was full.', s.dropped),
      counter('sensor_interface_dropped_packets_total', 'Packets the interface or its driver dropped.', s.ifDropped),
      counter('sensor_flows_written_total', 'Flows completed by the engine (they reach the outputs once classified).', a.flows),
      gauge('sensor_flows_active', 'Flows open in the flow table.', engine.table.size),
      gauge('sensor_open_flow_packets', 'Packets in flows still open.', openPackets),
      labelled('sensor_flows_ended_total', 'Flows written to the outputs, by why they ended.', 'reason', FLOW_END_NAMES.map((n, i) => [n, flowsEnded[i]!])),
      labelled('sensor_packets_not_in_written_flows_total', 'Packets not in a written flow, by reason.', 'reason', Object.entries(reasons)),
      labelled('sensor_events_total', 'Counts about flows, files and outputs (the runs counters\' info group).', 'counter', Object.entries({ ...info, 'sink.json.lines_dropped': jsonLinesDropped, ...outputs.clickhouse?.info() })),
      labelled('sensor_verdicts_total', 'Flows written, by the verdict\'s label.', 'label', Object.entries(verdicts?.tally.verdicts() ?? {})),
      gauge('sensor_output_queue_batches', 'Batches of completed flows waiting for verdicts or outputs.', pending.length),
      gauge('sensor_verdict_queue_batches', 'Batches being classified by the model.', verdicts?.inFlight ?? 0),
      gauge('sensor_capture_queue_packets', 'Packets captured by the capture thread and not yet read by the engine.', Math.max(0, s.captured - a.packets)),
      gauge('sensor_json_buffered_bytes', 'Bytes of JSON lines waiting for the file.', outputs.json?.buffered ?? 0),
      { name: 'sensor_inference_seconds', help: 'Time to classify one batch of flows in the model thread.', type: 'histogram', samples: inferenceLatency.samples() },
    ];
    return metrics;
  };

  // ---- SIGHUP: reopen outputs, reread config ----
  const reload = async (): Promise<void> => {
    let next = cfg;
    try {
      const l = loadConfig(argv, io.env);
      next = effectiveConfig(l.config, l.profileGiven, classifier);
    } catch (e) {
      const lines = e instanceof ConfigErrors ? e.errors : [(e as Error).message];
      for (const l of lines) log.error({ event: 'reload', error: l }, `reload: ${l}`);
      log.warn({ event: 'reload' }, 'reload: configuration rejected, keeping the running one; reopening outputs');
    }
    const restartNeeded = FIELDS.map((f) => f.key).filter((k) => !RELOADABLE_KEYS.has(k) && JSON.stringify(next[k]) !== JSON.stringify(cfg[k]));
    if (restartNeeded.length > 0) {
      log.warn({ event: 'reload', keys: restartNeeded }, `reload: ${restartNeeded.join(', ')} changed; restart the service to apply`);
    }
    const applied: LiveConfig = { ...cfg };
    for (const k of RELOADABLE_KEYS) (applied as unknown as Record<string, unknown>)[k] = next[k];
    if (applied.jsonAlertsOnly && !classifier) {
      log.error({ event: 'reload', key: 'jsonAlertsOnly' }, 'reload: jsonAlertsOnly needs verdicts, and no model is set; keeping every flow in the JSON output');
      applied.jsonAlertsOnly = false;
    }
    // Everything completed so far goes to the current outputs first.
    engine.flushRows();
    await drain();
    // New outputs before the old ones close, so a failure keeps the old ones.
    const keepCsv = outputs.csv !== undefined && applied.csv === cfg.csv && inode(applied.csv!) === outputs.csvIno && !fanout.failures.has(outputs.csv);
    // The JSON file likewise (logrotate: moved away, or another path or settings: a new file).
    const keepJson = outputs.json !== undefined && jsonKey(applied) === outputs.jsonKey && inode(applied.json!) === outputs.jsonIno && !fanout.failures.has(outputs.json);
    let fresh: Outputs;
    try {
      fresh = await openOutputs({ ...applied, csv: keepCsv ? undefined : applied.csv, json: keepJson ? undefined : applied.json }, argv, profile.columns, jsonContext);
    } catch (e) {
      log.error({ event: 'reload', error: (e as Error).message }, `reload: cannot open outputs (${(e as Error).message}); keeping the current ones`);
      return;
    }
    const old = outputs;
    if (old.sqlite && !fanout.failures.has(old.sqlite)) {
      await old.sqlite.finishRun(runCounters()).catch((e: unknown) => sinkFailed(old.sqlite!, e, 0));
    }
    for (const s of old.sinks) {
      if (s === old.clickhouse) continue;
      if (keepCsv && s === old.csv) continue;
      if (keepJson && s === old.json) continue;
      await s.close().catch((e: unknown) => log.error({ event: 'reload', error: (e as Error).message }, `reload: closing an output: ${(e as Error).message}`));
    }
    if (keepCsv) {
      fresh.csv = old.csv;
      fresh.csvIno = old.csvIno;
      fresh.sinks.unshift(old.csv!);
    }
    if (keepJson) {
      fresh.json = old.json;
      fresh.jsonIno = old.jsonIno;
      fresh.jsonKey = old.jsonKey;
      fresh.sinks.splice(keepCsv ? 1 : 0, 0, old.json!); // before SQLite, as openOutputs orders them
    }
    if (old.clickhouse) {
      fresh.clickhouse = old.clickhouse;
      fresh.sinks.push(old.clickhouse);
    }
    outputs = fresh;
    cfg = applied;
    lastRetention = -Infinity;
    log.info({ event: 'reload', db: cfg.db ?? null, csv: cfg.csv ?? null, json: cfg.json ?? null, runId: outputs.sqlite?.runId ?? null, statsInterval: cfg.statsInterval, retention: cfg.retention }, 'reload: outputs reopened');
  };

  // ---- the loop ----
  let lastExpire = started;
  let lastYield = started;
  let lastArrival = started;
  try {
    for (;;) {
      const n = await src.nextAsync(TICK_MS);
      if (n < 0) break;
      const now = performance.now();
      if (n > 0) {
        engine.ingestBatch(src.linkType, src.data, src.meta, n);
        lastArrival = now;
      }
      if (now - lastExpire >= EXPIRE_EVERY_MS) {
        lastExpire = now;
        if (cfg.idleTimeout > 0 && engine.table.size > 0) {
          // "Now" in packet time: the latest packet's time plus the wall time since its batch arrived.
          engine.expireIdle(engine.nowUs + (now - lastArrival) * 1000, engine.table.size + 1);
        }
        engine.flushRows();
        maybeRetention(now);
      }
      if (pending.length > 0) await drain(false);
      if (cfg.statsInterval > 0 && now - lastStats >= cfg.statsInterval * 1000) logStats(now, 'stats');
      if (reloadRequested && stopReason === null) {
        reloadRequested = false;
        log.info({ event: 'signal', signal: 'SIGHUP' }, 'SIGHUP: reopening outputs and rereading the configuration');
        await reload();
      }
      if (now - lastYield >= YIELD_EVERY_MS) {
        lastYield = now;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }

    // Capture ended: by a signal, an output failure, or by itself (interface down).
    const warning = src.warning;
    if (stopReason === null) {
      log.error({ event: 'capture_ended', error: warning ?? 'unknown' }, `capture on ${src.iface} ended: ${warning ?? 'unknown reason'}`);
      if (exitCode === ExitCode.Ok) exitCode = ExitCode.Input;
    }
    engine.finish(FlowEnd.Shutdown);
    await drain();
    await fanout.flush(outputs.sinks);
    src.close();
    logStats(performance.now(), 'final_stats', false);
    const counters = runCounters();
    if (outputs.sqlite && !fanout.failures.has(outputs.sqlite)) {
      await outputs.sqlite.finishRun(counters).catch((e: unknown) => sinkFailed(outputs.sqlite!, e, 0));
    }
    for (const s of outputs.sinks) {
      await s.close().catch((e: unknown) => (fanout.failures.has(s) ? undefined : sinkFailed(s, e, 0)));
    }
    log.info(
      {
        event: 'stop',
        reason: stopReason ?? 'capture ended',
        seconds: +((performance.now() - started) / 1000).toFixed(3),
        counters,
        exitCode,
      },
      `stopped: ${engine.flowsWritten} flows written, ${engine.packets} packets`,
    );
    return exitCode;
  } finally {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onTerm);
    process.off('SIGHUP', onHup);
    loopDelay.disable();
    src.close();
    metricsServer?.closeAllConnections();
    metricsServer?.close();
  }
}

/** True when the command line asks for live capture (main.ts hands such a command line to runLive). */
export function isLiveCommand(argv: readonly string[]): boolean {
  return argv.some((a) => /^(--iface|--interface|--config)(=|$)/.test(a) || a === '-i' || /^-i\S/.test(a));
}
