/**
 * Hands each batch of completed flows to every output. An output that fails (disk full, a database locked for
 * too long) is set aside: the others still get every flow, and the flows it did not store are counted. Replay
 * and the live daemon share this, so both lose nothing to one failing output and count the same way.
 */
import { SinkError, type FlowRows, type FlowSink } from './flow-rows.js';

export interface SinkFailure {
  sink: FlowSink;
  /** Short name for counters: `csv`, `sqlite`, ... (counted as `sink.<name>.rows_lost`). */
  name: string;
  error: SinkError;
  /** Flows written by the engine that this sink did not store. */
  rowsLost: number;
}

/** `CsvSink` → `csv`, `SqliteSink` → `sqlite`. */
function sinkName(sink: FlowSink): string {
  return sink.constructor.name.replace(/Sink$/, '').toLowerCase() || 'sink';
}

export class SinkFanout {
  readonly failures = new Map<FlowSink, SinkFailure>();

  /** `onFirstFailure` runs once per sink, when it first fails (the daemon stops then; replay carries on). */
  constructor(private readonly onFirstFailure: (f: SinkFailure) => void = () => undefined) {}

  /** Record that `sink` failed, losing `rows` flows. Only SinkError is expected here; anything else is a bug. */
  fail(sink: FlowSink, e: unknown, rows: number): void {
    if (!(e instanceof SinkError)) throw e;
    const f = this.failures.get(sink);
    if (f) {
      f.rowsLost += rows;
      return;
    }
    const failure = { sink, name: sinkName(sink), error: e, rowsLost: rows };
    this.failures.set(sink, failure);
    this.onFirstFailure(failure);
  }

  /** Write `rows` to every sink that has not failed (awaiting backpressure); count them for those that have. */
  async write(sinks: readonly FlowSink[], rows: FlowRows): Promise<void> {
    for (const sink of sinks) {
      const f = this.failures.get(sink);
      if (f) {
        f.rowsLost += rows.count;
        continue;
      }
      let taken = false;
      try {
        const r = sink.write(rows);
        taken = true;
        if (r !== undefined) await r;
      } catch (e) {
        this.fail(sink, e, taken ? 0 : rows.count);
      }
    }
  }

  /** Flush every sink that has not failed. */
  async flush(sinks: readonly FlowSink[]): Promise<void> {
    for (const sink of sinks) {
      if (this.failures.has(sink)) continue;
      try {
        await sink.flush();
      } catch (e) {
        this.fail(sink, e, 0);
      }
    }
  }

  rowsLost(sink: FlowSink): number {
    return this.failures.get(sink)?.rowsLost ?? 0;
  }
}
