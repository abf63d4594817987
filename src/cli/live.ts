/**
 * `sensor --iface IFACE` / `sensor --config FILE`: the live daemon. Captures from an interface (LiveSource) into
 * the same pipeline as replay (src/pipeline/: engine, verdicts, outputs, run counters); this file is the service
 * around it (the stats line and /metrics are in live-telemetry.ts):
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
 * - Verdicts: with the default models or `model` / `appModel` (unless null), completed flows are classified in the
 *   models' worker thread (pipelined as in replay) before the sinks get them; the models decide the profile unless
 *   one was given. If inference fails, flows keep being written without verdicts (logged, counted). The stats
 *   line and the run's counters carry the verdicts by class and the flows per application group.
 *
 * Exit codes (cli/exit-codes.ts): 0 stopped by a signal with everything written; 2 bad usage or configuration;
 * 3 the capture could not start, or ended by itself (interface went down); 4 an output failed; 1 a bug.
 *
 * (About 400 lines: signals, reload and retention around the pipeline; the rest lives in live-args.ts and
 * live-telemetry.ts.)
 */
import type { Server } from 'node:http';
import { setThreadNice } from '../sources/thread-priority.js';
import pino, { type Logger } from 'pino';
import { ExitCode } from './exit-codes.js';
import { UsageError } from './usage.js';
import { ConfigErrors, loadConfig } from './live-args.js';
import { alertsOnlyWithoutModel, RELOADABLE_KEYS, FIELDS, type LiveConfig } from '../config/schema.js';
import { LiveSource } from '../sources/live-source.js';
import { CaptureError } from '../sources/batch.js';
import { SUPPORTED_LINK_TYPES } from '../decode/decode.js';
import { getProfile } from '../features/profiles.js';
import { FlowEnd, SinkError, type FlowSink } from '../sinks/flow-rows.js';
import { runRetention } from '../sinks/retention.js';
import type { SqliteSink } from '../sinks/sqlite.js';
import { MetricsError, serveMetrics, type Metric } from './metrics.js';
import { LiveTelemetry } from './live-telemetry.js';
import { Pipeline } from '../pipeline/pipeline.js';
import { openSinks, type OpenSink, type SinkContext } from '../pipeline/sinks.js';
import { type FlowClassifier } from '../classify/classifier.js';
import { ModelError } from '../classify/model.js';
import { chooseModels } from '../classify/cli.js';
import { VerdictQueue } from '../classify/stage.js';

/** nextAsync() timeout: the longest the loop waits before looking at signals, timers and the clock. */
const TICK_MS = 250;
/** The loop yields to the event loop (signals, SQLite acks, tsfn calls) at least this often. */
const YIELD_EVERY_MS = 50;
const RETENTION_EVERY_MS = 3600_000;
/** At most one warning about dropped JSON lines this often (the count is in every stats line). */
const JSON_DROP_WARN_EVERY_MS = 10_000;

export interface LiveIo {
  env: Readonly<Record<string, string | undefined>>;
  /** Where usage/config errors go before the logger exists (one line each). */
  stderr: (line: string) => void;
  /** Logger destination (default: stdout, synchronous, so nothing is lost at exit). */
  logStream?: pino.DestinationStream;
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
  setThreadNice(loaded.config.threadNice);
  let classifier: FlowClassifier | undefined;
  try {
    const c = loaded.config;
    const choice = await chooseModels({ attack: c.model === null ? false : c.model, application: c.appModel === null ? false : c.appModel }, loaded.profileGiven ? c.profile : undefined, c.alertThreshold);
    classifier = choice.classifier;
    for (const n of choice.notices) io.stderr(`sensor: ${n}`);
  } catch (e) {
    if (e instanceof ModelError) {
      for (const p of e.problems) io.stderr(`sensor: ${p}`);
      return ExitCode.Usage;
    }
    throw e;
  }
  if (loaded.config.jsonAlertsOnly && !classifier?.attack) {
    io.stderr(`sensor: ${alertsOnlyWithoutModel('live')}`);
    return ExitCode.Usage;
  }
  try {
    return await daemon(argv, io, loaded, classifier);
  } finally {
    await classifier?.close();
  }
}

/** The profile a configuration runs with: the model's unless one was given. */
function effectiveConfig(c: LiveConfig, profileGiven: boolean, classifier: FlowClassifier | undefined): LiveConfig {
  return classifier && !profileGiven ? { ...c, profile: classifier.profile } : c;
}

/**
 * The daemon: opens the capture, the metrics endpoint and the outputs (in that order, so the cheapest failure
 * comes first), then runs the pipeline until a signal, answering SIGHUP with a reload, logging stats and pruning
 * old flows on their clocks.
 */
async function daemon(argv: string[], io: LiveIo, loaded: ReturnType<typeof loadConfig>, classifier: FlowClassifier | undefined): Promise<number> {
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

  let telemetry: LiveTelemetry | undefined;
  let lastDropWarning = -Infinity;
  const sinkContext: SinkContext = {
    mode: 'live',
    columns: profile.columns,
    source: cfg.interface,
    argv,
    ...(classifier?.attack ? { benignClass: classifier.attack.card.benign } : {}),
    flowIds: { next: 1 },
    onClickHouseEvent: (e) => log[e.level]({ event: e.event }, e.message),
    onJsonDrop: (lines) => {
      if (!telemetry) return;
      telemetry.jsonLinesDropped += lines;
      const now = performance.now();
      if (now - lastDropWarning >= JSON_DROP_WARN_EVERY_MS) {
        lastDropWarning = now;
        log.warn({ event: 'json_lines_dropped', json: cfg.json ?? null, dropped: telemetry.jsonLinesDropped }, `the JSON file cannot keep up: ${telemetry.jsonLinesDropped} lines dropped so far (sink.json.lines_dropped)`);
      }
    },
  };
  // ---- signals ----
  // In place before the outputs open (a ClickHouse output may wait for its server): a stop then ends the run
  // cleanly instead of killing the process.
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
  const stopListening = (): void => {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onTerm);
    process.off('SIGHUP', onHup);
  };

  let sinks: OpenSink[];
  try {
    sinks = await openSinks(cfg, sinkContext);
  } catch (e) {
    stopListening();
    src.close();
    metricsServer?.close();
    if (e instanceof SinkError) {
      io.stderr(`sensor: ${e.message}`);
      return ExitCode.Output;
    }
    throw e;
  }

  // An output that fails is set aside (the others keep every flow); the daemon then stops and exits 4. If
  // inference fails, flows keep being written, without verdicts, and counted.
  let exitCode: number = ExitCode.Ok;
  const pipeline = new Pipeline({
    profile,
    settings: cfg,
    sinks,
    ...(classifier ? { verdicts: new VerdictQueue(classifier) } : {}),
    context: cfg.context && (cfg.contextThresholds ?? {}),
    continueWithoutVerdicts: true,
    onModelFailed: (e) => log.error({ event: 'model_failed', error: e.message }, `${e.message}: flows are written without verdicts from now on`),
    onSinkFailed: ({ error }) => {
      log.error({ event: 'output_failed', error: error.message }, `output failed: ${error.message}; stopping`);
      exitCode = ExitCode.Output;
      requestStop('output failed');
    },
  });
  const sinkFailed = (sink: FlowSink, e: unknown): void => pipeline.fanout.fail(sink, e, 0);
  const failed = (o: OpenSink): boolean => pipeline.fanout.failures.has(o.sink);
  const sqliteOf = (list: readonly OpenSink[]): SqliteSink | undefined => list.find((o) => o.kind === 'sqlite' && !failed(o))?.sink as SqliteSink | undefined;
  const tel = new LiveTelemetry(src, pipeline, log, () => cfg.json !== undefined);
  telemetry = tel;
  collect = () => tel.collect();
  /** The stats line, and the run's row brought up to date. */
  const logStats = (now: number, event: string, updateRun = true): void => {
    tel.logStats(now, event);
    const sq = sqliteOf(pipeline.sinks);
    if (updateRun && sq) sq.updateRun(tel.runCounters()).catch((e: unknown) => sinkFailed(sq, e));
  };

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
      runId: sqliteOf(sinks)?.runId ?? null,
      retention: cfg.retention,
      model: classifier?.attack?.id ?? null,
      alertThreshold: classifier?.attack?.threshold ?? null,
      appModel: classifier?.app?.id ?? null,
    },
    `capturing on ${src.iface}`,
  );

  // ---- retention, hourly, in a worker thread ----
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

  // ---- SIGHUP: reread the config, reopen the outputs (log rotation) ----
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
    if (applied.jsonAlertsOnly && !classifier?.attack) {
      log.error({ event: 'reload', key: 'jsonAlertsOnly' }, 'reload: jsonAlertsOnly needs verdicts, and no model is set; keeping every flow in the JSON output');
      applied.jsonAlertsOnly = false;
    }
    // Everything completed so far goes to the current outputs first.
    await pipeline.flush();
    // New outputs before the old ones close, so a failure keeps the old ones. A file output whose settings and
    // file are unchanged is kept (logrotate moved it away, or other settings: a new file); SQLite starts a new run.
    const old = pipeline.sinks;
    let fresh: OpenSink[];
    try {
      fresh = await openSinks(applied, sinkContext, old.filter((o) => !failed(o)));
    } catch (e) {
      log.error({ event: 'reload', error: (e as Error).message }, `reload: cannot open outputs (${(e as Error).message}); keeping the current ones`);
      return;
    }
    const oldSqlite = sqliteOf(old);
    if (oldSqlite) await oldSqlite.finishRun(tel.runCounters()).catch((e: unknown) => sinkFailed(oldSqlite, e));
    for (const o of old) {
      if (fresh.includes(o)) continue;
      await o.sink.close().catch((e: unknown) => log.error({ event: 'reload', error: (e as Error).message }, `reload: closing an output: ${(e as Error).message}`));
    }
    pipeline.setSinks(fresh);
    cfg = applied;
    lastRetention = -Infinity;
    log.info({ event: 'reload', db: cfg.db ?? null, csv: cfg.csv ?? null, json: cfg.json ?? null, runId: sqliteOf(fresh)?.runId ?? null, statsInterval: cfg.statsInterval, retention: cfg.retention }, 'reload: outputs reopened');
  };

  // ---- the loop ----
  const started = performance.now();
  let lastYield = started;
  let lastArrival = started;
  try {
    for (;;) {
      const n = await src.nextAsync(TICK_MS);
      if (n < 0) break;
      const now = performance.now();
      if (n > 0) {
        const waiting = pipeline.ingest(src.linkType, src.data, src.meta, n);
        if (waiting) await waiting; // --workers: every slot of the shards' ring in use
        lastArrival = now;
      }
      // Idle flows end at the live clock: the latest packet's time plus the wall time since its batch arrived.
      await pipeline.pump(now, cfg.idleTimeout > 0 ? now - lastArrival : undefined);
      maybeRetention(now);
      if (cfg.statsInterval > 0 && tel.sinceStats(now) >= cfg.statsInterval * 1000) logStats(now, 'stats');
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
    await pipeline.finish(FlowEnd.Shutdown);
    src.close();
    logStats(performance.now(), 'final_stats', false);
    const counters = tel.runCounters();
    const sq = sqliteOf(pipeline.sinks);
    if (sq) await sq.finishRun(counters).catch((e: unknown) => sinkFailed(sq, e));
    for (const o of pipeline.sinks) {
      await o.sink.close().catch((e: unknown) => (failed(o) ? undefined : sinkFailed(o.sink, e)));
    }
    log.info(
      {
        event: 'stop',
        reason: stopReason ?? 'capture ended',
        seconds: +((performance.now() - started) / 1000).toFixed(3),
        counters,
        exitCode,
      },
      `stopped: ${pipeline.engine.flowsWritten} flows written, ${pipeline.engine.packets} packets`,
    );
    return exitCode;
  } finally {
    stopListening();
    tel.close();
    src.close();
    await pipeline.close();
    metricsServer?.closeAllConnections();
    metricsServer?.close();
  }
}
