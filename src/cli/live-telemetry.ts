/**
 * What the live daemon tells its operator while it runs, read from the pipeline and the capture: the stats log
 * line (every `statsInterval` seconds, and once at stop), the `/metrics` samples (read when scraped), and the
 * process's health (memory, event-loop delay, queued batches). Nothing here runs on the packet path.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { LiveSource, LiveStats } from '../sources/live-source.js';
import { FLOW_END_NAMES } from '../sinks/flow-rows.js';
import type { SqliteSink } from '../sinks/sqlite.js';
import type { JsonSink } from '../sinks/json.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { Histogram, type Metric } from './metrics.js';

/** Inference latency histogram bounds, seconds per batch. */
const INFERENCE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

function nonZero(c: Record<string, number>): Record<string, number> {
  const o: Record<string, number> = {};
  for (const [k, v] of Object.entries(c)) if (v !== 0) o[k] = v;
  return o;
}

/** The `capture` group of the run's counters. */
function captureCounters(s: LiveStats): Record<string, number> {
  return {
    kernel_received: s.received,
    kernel_dropped: s.dropped,
    interface_dropped: s.ifDropped,
    captured: s.captured,
    unread_at_stop: s.unreadAtStop,
    discarded_at_close: s.discardedAtClose,
  };
}

export class LiveTelemetry {
  /** JSON lines dropped because the file could not keep up (`sink.json.lines_dropped`). */
  jsonLinesDropped = 0;
  private readonly inferenceLatency = new Histogram(INFERENCE_BUCKETS);
  // Event-loop delay: the packet loop yields every 50 ms, so a long synchronous stretch (a huge batch of expiries,
  // a slow output call) shows here; the soak watches it with memory and the queues.
  private readonly loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private lastStats = performance.now();
  private lastStatsPackets = 0;
  private lastStatsFlows = 0;
  private lastStatsDrops = 0;

  constructor(
    private readonly src: LiveSource,
    private readonly pipeline: Pipeline,
    private readonly log: Logger,
    /** Whether a JSON output is configured (then `sink.json.lines_dropped` is always counted). */
    private readonly jsonConfigured: () => boolean,
  ) {
    this.loopDelay.enable();
    if (pipeline.verdicts) pipeline.verdicts.onClassified = (ms) => this.inferenceLatency.observe(ms / 1000);
  }

  /** Seconds since the last stats line. */
  sinceStats(now: number): number {
    return now - this.lastStats;
  }

  private sink<T>(kind: string): T | undefined {
    return this.pipeline.sinks.find((o) => o.kind === kind)?.sink as T | undefined;
  }

  /** The run's counters (the `runs` row): the pipeline's, the JSON drops, the capture's. */
  runCounters(): ReturnType<Pipeline['counters']> {
    const extra: Record<string, number> = {};
    if (this.jsonConfigured() || this.jsonLinesDropped > 0) extra['sink.json.lines_dropped'] = this.jsonLinesDropped;
    return this.pipeline.counters(extra, { capture: captureCounters(this.src.stats()) });
  }

  /** Memory, event-loop delay over the interval, and how many flow batches wait at each stage. */
  private processHealth(): Record<string, number> {
    const m = process.memoryUsage();
    const ms = (ns: number): number => (Number.isFinite(ns) ? +(ns / 1e6).toFixed(1) : 0);
    return {
      rss_mib: +(m.rss / 1048576).toFixed(1),
      heap_used_mib: +(m.heapUsed / 1048576).toFixed(1),
      loop_delay_p99_ms: ms(this.loopDelay.percentile(99)),
      loop_delay_max_ms: ms(this.loopDelay.max),
      batches_waiting: this.pipeline.batchesWaiting,
      batches_classifying: this.pipeline.verdicts?.inFlight ?? 0,
      batches_writing_sqlite: this.sink<SqliteSink>('sqlite')?.batchesInFlight ?? 0,
      sqlite_features_pending: this.sink<SqliteSink>('sqlite')?.featuresPending ?? 0,
    };
  }

  /** Logs the stats line (a warning when packets were dropped in the interval). */
  logStats(now: number, event: string): void {
    const s = this.src.stats();
    const engine = this.pipeline.engine;
    const a = engine.accounting();
    const dt = (now - this.lastStats) / 1000;
    const drops = s.dropped + s.ifDropped;
    const verdicts = this.pipeline.verdicts;
    const fields = {
      event,
      interval_s: +dt.toFixed(3),
      packets: a.packets,
      packets_per_s: dt > 0 ? Math.round((a.packets - this.lastStatsPackets) / dt) : 0,
      kernel_received: s.received,
      kernel_dropped: s.dropped,
      interface_dropped: s.ifDropped,
      drops_in_interval: drops - this.lastStatsDrops,
      flows_active: engine.activeFlows,
      flows_written: a.flows,
      flows_per_s: dt > 0 ? Math.round((a.flows - this.lastStatsFlows) / dt) : 0,
      not_in_flows: nonZero(a.packetsNotInWrittenFlows),
      info: nonZero({ ...a.info, 'sink.json.lines_dropped': this.jsonLinesDropped }),
      ...(verdicts?.tally ? { verdicts: verdicts.tally.verdicts() } : {}),
      ...(verdicts?.appTally ? { app_groups: verdicts.appTally.verdicts() } : {}),
      process: this.processHealth(),
    };
    if (drops > this.lastStatsDrops) this.log.warn(fields, `stats: ${drops - this.lastStatsDrops} packets dropped in the last ${dt.toFixed(0)} s`);
    else this.log.info(fields, 'stats');
    this.lastStats = now;
    this.lastStatsPackets = a.packets;
    this.lastStatsFlows = a.flows;
    this.lastStatsDrops = drops;
    this.loopDelay.reset();
  }

  /** The stats line's counters as Prometheus metrics, read when scraped. */
  collect(): Metric[] {
    const s = this.src.stats();
    const engine = this.pipeline.engine;
    const a = engine.accounting();
    const verdicts = this.pipeline.verdicts;
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
    return [
      counter('sensor_packets_total', 'Packets read from the capture.', a.packets),
      counter('sensor_kernel_received_packets_total', 'Packets the kernel passed the filter (including those it dropped).', s.received),
      counter('sensor_kernel_dropped_packets_total', 'Packets the kernel dropped because its capture buffer was full.', s.dropped),
      counter('sensor_interface_dropped_packets_total', 'Packets the interface or its driver dropped.', s.ifDropped),
      counter('sensor_flows_written_total', 'Flows completed by the engine (they reach the outputs once classified).', a.flows),
      gauge('sensor_flows_active', 'Flows open in the flow table.', engine.activeFlows),
      gauge('sensor_open_flow_packets', 'Packets in flows still open.', openPackets),
      labelled('sensor_flows_ended_total', 'Flows written to the outputs, by why they ended.', 'reason', FLOW_END_NAMES.map((n, i) => [n, this.pipeline.flowsEnded[i]!])),
      labelled('sensor_packets_not_in_written_flows_total', 'Packets not in a written flow, by reason.', 'reason', Object.entries(reasons)),
      labelled('sensor_events_total', 'Counts about flows, files and outputs (the runs counters\' info group).', 'counter', Object.entries({ ...info, 'sink.json.lines_dropped': this.jsonLinesDropped })),
      labelled('sensor_verdicts_total', 'Flows written, by the verdict\'s label.', 'label', Object.entries(verdicts?.tally?.verdicts() ?? {})),
      labelled('sensor_app_groups_total', 'Flows written, by the application model\'s group.', 'group', Object.entries(verdicts?.appTally?.verdicts() ?? {})),
      gauge('sensor_output_queue_batches', 'Batches of completed flows waiting for verdicts or outputs.', this.pipeline.batchesWaiting),
      gauge('sensor_verdict_queue_batches', 'Batches being classified by the model.', verdicts?.inFlight ?? 0),
      gauge('sensor_capture_queue_packets', 'Packets captured by the capture thread and not yet read by the engine.', Math.max(0, s.captured - a.packets)),
      gauge('sensor_json_buffered_bytes', 'Bytes of JSON lines waiting for the file.', this.sink<JsonSink>('json')?.buffered ?? 0),
      { name: 'sensor_inference_seconds', help: 'Time to classify one batch of flows in the model thread.', type: 'histogram', samples: this.inferenceLatency.samples() },
    ];
  }

  close(): void {
    this.loopDelay.disable();
  }
}
