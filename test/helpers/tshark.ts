/**
 * tshark's reading of a capture for the cross-check tests: the given fields of every packet the display filter keeps,
 * one row per packet (the first occurrence of each field, '' when absent), with tshark's preferences as `-o` pairs
 * (how it reads TCP, for one).
 */
import { spawnSync } from 'node:child_process';
import { expect } from 'vitest';

export function tsharkFields(pcap: string, filter: string, fields: readonly string[], preferences: readonly string[] = []): string[][] {
  const args = ['-r', pcap, '-n'];
  for (const p of preferences) args.push('-o', p);
  args.push('-Y', filter, '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=f');
  for (const f of fields) args.push('-e', f);
  const r = spawnSync('tshark', args, { encoding: 'utf8', timeout: 120_000, maxBuffer: 1 << 28 });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const row = l.split('\t');
      while (row.length < fields.length) row.push('');
      return row;
    });
}
