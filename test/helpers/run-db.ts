/**
 * What a sensor run wrote to its SQLite database, read the way the live, kill and systemd tests compare it: the
 * `runs` rows with their counters, the packet accounting every run satisfies, and each flow's identity and counts.
 */
import Database from 'better-sqlite3';
import { expect } from 'vitest';

/** A run's counters as the daemon stores them in `runs.counters` (and logs them in its stop line). */
export interface RunCounters {
  packets: number;
  flows: number;
  packets_in_written_flows: number;
  packets_not_in_written_flows: Record<string, number>;
  info: Record<string, number>;
  /** The capture's own view, in live runs (src/cli/live-telemetry.ts). */
  capture: {
    kernel_received: number;
    kernel_dropped: number;
    interface_dropped: number;
    captured: number;
    unread_at_stop: number;
    discarded_at_close: number;
  };
}

export interface RunRow {
  id: number;
  mode: string;
  source: string;
  ended_at: string | null;
  packets: number;
  flows: number;
  counters: RunCounters;
}

/** The `runs` rows of a sensor database, in order, counters parsed. */
export function runsOf(db: string): RunRow[] {
  const conn = new Database(db, { readonly: true });
  try {
    const rows = conn.prepare('SELECT id, mode, source, ended_at, packets, flows, counters FROM runs ORDER BY id').all() as (Omit<RunRow, 'counters'> & { counters: string })[];
    return rows.map((r) => ({ ...r, counters: JSON.parse(r.counters) as RunCounters }));
  } finally {
    conn.close();
  }
}

/** The accounting every run satisfies: each packet is in a written flow or under one reason; none left open. */
export function expectPacketsAccounted(c: Pick<RunCounters, 'packets' | 'packets_in_written_flows' | 'packets_not_in_written_flows'>): void {
  const reasons = Object.values(c.packets_not_in_written_flows).reduce((a, b) => a + b, 0);
  expect(c.packets_in_written_flows + reasons, JSON.stringify(c)).toBe(c.packets);
  expect(c.packets_not_in_written_flows['flow.open_packets']).toBe(0);
}

/**
 * Flow identity and packet/byte counts, one JSON string per flow, sorted: what a live run and a replay of the same
 * frames agree on (timing left out on purpose: live timing is not the capture's). Reads either naming of the count
 * columns (cic and fixed: `total_fwd_packet`…; cic2017: `total_fwd_packets`…). `runId`: that run's flows only.
 */
export function flowCounts(db: string, runId?: number): string[] {
  const conn = new Database(db, { readonly: true });
  try {
    const cic2017 = (conn.prepare("SELECT count(*) AS n FROM pragma_table_info('flows') WHERE name = 'total_fwd_packets'").get() as { n: number }).n > 0;
    const [fp, bp, fb, bb] = cic2017
      ? ['total_fwd_packets', 'total_backward_packets', 'total_length_of_fwd_packets', 'total_length_of_bwd_packets']
      : ['total_fwd_packet', 'total_bwd_packets', 'total_length_of_fwd_packet', 'total_length_of_bwd_packet'];
    const stmt = conn.prepare(
      `SELECT flow_id, src_ip, src_port, dst_ip, dst_port, protocol, ${fp} AS fp, ${bp} AS bp, ${fb} AS fb, ${bb} AS bb
         FROM flows ${runId === undefined ? '' : 'WHERE run_id = ?'}`,
    );
    return ((runId === undefined ? stmt.all() : stmt.all(runId)) as object[]).map((r) => JSON.stringify(r)).sort();
  } finally {
    conn.close();
  }
}

/**
 * Makes a database this sensor wrote into what an older one wrote, for the upgrade tests: flow_rows without
 * `columns` (the flows view names them together, in this order), the view and its delete trigger made again
 * without them, and meta's schema_version set to `version`.
 */
export function asOlderSchema(db: Database.Database, columns: readonly string[], version: number): void {
  const view = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'view' AND name = 'flows'").pluck().get() as string;
  const names = columns.map((c) => `, r.${c}`).join('');
  if (!view.includes(names)) throw new Error(`asOlderSchema: the flows view does not name ${columns.join(', ')} together`);
  db.exec(`DROP VIEW flows; ${columns.map((c) => `ALTER TABLE flow_rows DROP COLUMN ${c};`).join(' ')}
    ${view.replace(names, '')};
    CREATE TRIGGER flows_delete INSTEAD OF DELETE ON flows BEGIN DELETE FROM flow_rows WHERE id = old.id; END;
    UPDATE meta SET value = '${version}' WHERE key = 'schema_version';`);
}
