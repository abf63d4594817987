/**
 * The one output factory (src/pipeline/sinks.ts), as the live daemon's SIGHUP uses it: outputs open in a fixed
 * order; a reopening keeps a file output whose settings and file are unchanged, and opens a new one when the file
 * was moved away (logrotate) or its settings changed.
 */
import { mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig, type LiveConfig } from '../src/config/schema.js';
import { getProfile } from '../src/features/profiles.js';
import { openSinks, type OpenSink, type SinkContext } from '../src/pipeline/sinks.js';

const dir = mkdtempSync(join(tmpdir(), 'sensor-sinks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = (over: Record<string, unknown>): LiveConfig => {
  const r = parseConfig({ interface: 'eth0', ...over }, {}, {});
  if (!r.config) throw new Error(r.errors.join('\n'));
  return r.config;
};

describe('openSinks', () => {
  it('opens CSV then JSON; on reload keeps what is unchanged, reopens a rotated file or changed settings', async () => {
    const ctx: SinkContext = { mode: 'live', columns: getProfile('cic').columns, source: 'eth0', argv: [], flowIds: { next: 1 } };
    const csv = join(dir, 'flows.csv');
    const json = join(dir, 'eve.json');
    const first = await openSinks(config({ csv, json }), ctx);
    expect(first.map((o) => o.kind)).toEqual(['csv', 'json']);

    const same = await openSinks(config({ csv, json }), ctx, first);
    expect(same[0]).toBe(first[0]);
    expect(same[1]).toBe(first[1]);

    renameSync(csv, `${csv}.1`); // logrotate moved the CSV away
    const rotated = await openSinks(config({ csv, json }), ctx, same);
    expect(rotated[0]).not.toBe(first[0]);
    expect(rotated[1]).toBe(first[1]);

    const other = await openSinks(config({ csv, json, jsonFeatures: true }), ctx, rotated);
    expect(other[0]).toBe(rotated[0]);
    expect(other[1]).not.toBe(first[1]);

    const all = new Set<OpenSink>([...first, ...rotated, ...other]);
    for (const o of all) await o.sink.close();
  });
});
