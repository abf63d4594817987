/**
 * Outputs as the live daemon uses them: a restarted service must not erase what it wrote. CsvSink with
 * `append` writes the header only into a new (empty) file, appends after existing rows, and refuses a file whose
 * first line is another profile's header. SqliteSink.updateRun records counters while ended_at stays NULL.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getProfile } from '../src/features/profiles.js';
import { CsvSink, headerLine } from '../src/sinks/csv.js';
import { SinkError, type FlowRows } from '../src/sinks/flow-rows.js';
import { SqliteSink } from '../src/sinks/sqlite.js';
import { ensureBuilt } from './setup/build.js';
import { rowsWithIdentities } from './helpers/flow-rows.js';

const dir = mkdtempSync(join(tmpdir(), 'sensor-live-out-'));
afterAll(() => rmSync(dir, { recursive: true, force: true, maxRetries: 3 }));
const cic = getProfile('cic').columns;
const fixed = getProfile('fixed').columns;

function rows(n: number, columns = cic): FlowRows {
  const F = columns.featureNames.length;
  const r = rowsWithIdentities(
    Array.from({ length: n }, (_, i) => ({
      srcIp: '10.0.0.1', srcPort: 1000 + i, dstIp: '10.0.0.2', dstPort: 80, protocol: 6,
      startUs: 1_700_000_000_000_000 + i, endUs: 1_700_000_000_000_100 + i,
    })),
    F,
  );
  r.features.fill(1);
  return r;
}

describe('CsvSink append (live restarts)', () => {
  it('header once, then rows of every run after one another', async () => {
    const path = join(dir, 'a.csv');
    for (let run = 0; run < 3; run++) {
      const s = new CsvSink(path, cic, { append: true });
      await s.write(rows(2));
      await s.close();
    }
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    expect(lines[0]).toBe(headerLine(cic).trimEnd());
    expect(lines.length).toBe(1 + 3 * 2);
    expect(lines.filter((l) => l === lines[0]).length).toBe(1);
  });

  it("refuses to append to another profile's CSV, leaving it untouched", async () => {
    const path = join(dir, 'b.csv');
    const s = new CsvSink(path, fixed);
    await s.write(rows(1, fixed));
    await s.close();
    const before = readFileSync(path, 'utf8');
    let err: unknown;
    try {
      new CsvSink(path, cic, { append: true });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SinkError);
    expect((err as SinkError).kind).toBe('profile-mismatch');
    expect((err as SinkError).message).toBe(`${path} holds CSV of another profile or format (its first line differs): use another file`);
    expect(readFileSync(path, 'utf8')).toBe(before);
  });

  it('an empty existing file gets the header', async () => {
    const path = join(dir, 'c.csv');
    writeFileSync(path, '');
    const s = new CsvSink(path, cic, { append: true });
    await s.close();
    expect(readFileSync(path, 'utf8')).toBe(headerLine(cic));
  });
});

describe('SqliteSink.updateRun', () => {
  beforeAll(() => ensureBuilt(['src/sinks/sqlite-worker.ts', 'src/sinks/sqlite.ts']));

  it('stores the counters so far with ended_at NULL; finishRun then ends the run', async () => {
    const path = join(dir, 'u.sqlite');
    const s = await SqliteSink.open(path, cic, { source: 'eth9', mode: 'live', profile: 'cic', argv: [] });
    await s.write(rows(3));
    await s.updateRun({ packets: 10, flows: 3, capture: { kernel_dropped: 2 } });
    const read = (): { ended_at: string | null; packets: number; flows: number; counters: string } => {
      const db = new Database(path, { readonly: true });
      try {
        return db.prepare('SELECT ended_at, packets, flows, counters FROM runs WHERE id = ?').get(s.runId) as never;
      } finally {
        db.close();
      }
    };
    expect(read()).toMatchObject({ ended_at: null, packets: 10, flows: 3 });
    expect(JSON.parse(read().counters)).toEqual({ packets: 10, flows: 3, capture: { kernel_dropped: 2 } });
    await s.finishRun({ packets: 12, flows: 3 });
    await s.close();
    expect(read().ended_at).not.toBeNull();
    expect(read().packets).toBe(12);
  });
});
