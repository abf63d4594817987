/**
 * Robustness on ~135 real captures from public test suites (../shared/corpus, README there): each replays with
 * exit 0, or stops with exit 3 and exactly one stderr line naming the file and the reason. None crashes (exit 1,
 * a signal), hangs (each run is bounded to 60 s) or grows without bound (peak RSS under 256 MB: the runtime takes
 * ~70 MB and the largest file is 2.6 MB, so more means something grows with the input).
 *
 * What each file must do is derived from the file itself: a capture whose link types (from its pcap header or
 * pcapng interface blocks) the decoder supports must replay (exit 0); one with another link type must be refused
 * with exit 3. Special cases checked further: the gzip-compressed capture, the cut-short file, the header-only
 * file, and a cut made here in the middle of a record (every flow before the cut is written).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, SHARED } from './helpers/cli.js';
import { captures, linkTypesOf, runSensor, supportedLinkTypes } from './helpers/corpus.js';
import { loadCsv } from './helpers/parity.js';
import { parsePcap, writePcap } from './helpers/pcap-file.js';

const CORPUS = join(SHARED, 'corpus');
const present = existsSync(CORPUS);
const RSS_LIMIT_KB = 256 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'sensor-corpus-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const files = captures(CORPUS);

describe.skipIf(!present)('corpus: every capture replays or is refused with one line', () => {
  it('the corpus is there (~135 files)', () => {
    expect(files.length).toBeGreaterThan(100);
  });

  it.each(files.map((f) => [relative(CORPUS, f), f]))('%s', async (_name, file) => {
    const csv = join(dir, 'out.csv');
    const r = await runSensor(['--replay', file, '--csv', csv, '--profile', 'cic', '--no-model', '-q']);
    expect(r.timedOut, 'did not finish within 60 s').toBe(false);
    expect(r.signal, r.stderr).toBe(null);
    if (r.maxRssKb !== undefined) expect(r.maxRssKb).toBeLessThan(RSS_LIMIT_KB);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    const types = linkTypesOf(file);
    const readable = supportedLinkTypes(types);
    if (readable) {
      expect(r.status, r.stderr).toBe(0);
      // -q leaves only warnings (a cut-short file), one line each, naming the file.
      for (const l of lines) expect(l).toMatch(new RegExp(`^sensor: warning: ${escape(file)}: `));
    } else {
      expect(r.status, r.stderr).toBe(3);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^sensor: ${escape(file)}: `));
    }
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe.skipIf(!present)('corpus: the special files', () => {
  it('the gzip-compressed capture replays like its decompressed bytes', async () => {
    const gz = join(CORPUS, 'zeek', 'echo-connections.pcap.gz');
    const plain = join(dir, 'echo-connections.pcap');
    writeFileSync(plain, gunzipSync(readFileSync(gz)));
    const a = join(dir, 'gz.csv');
    const b = join(dir, 'plain.csv');
    expect((await runSensor(['--replay', gz, '--csv', a, '--profile', 'fixed', '--no-model', '-q'])).status).toBe(0);
    expect((await runSensor(['--replay', plain, '--csv', b, '--profile', 'fixed', '--no-model', '-q'])).status).toBe(0);
    // 82,582 packets of 500 TCP echo connections (tshark -z conv,tcp): at least one flow per connection.
    expect(loadCsv(a).rows.length).toBeGreaterThanOrEqual(500);
    expect(readFileSync(a, 'utf8')).toBe(readFileSync(b, 'utf8'));
  });

  it('the cut-short file: exit 0, one warning naming the file, the packet before the cut is read', async () => {
    const file = join(CORPUS, 'ndpi', 'fuzz-2021-10-13.pcap');
    const db = join(dir, 'cut.sqlite');
    const r = await runSensor(['--replay', file, '--db', db, '--profile', 'fixed', '--no-model', '-q']);
    expect(r.status).toBe(0);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^sensor: warning: ${escape(file)}: .*truncated.*flows before the cut are kept`));
    // tshark reads one packet before it reports the cut; so must we (it is in the run's packet count).
    const { default: Database } = await import('better-sqlite3');
    const d = new Database(db, { readonly: true });
    const run = d.prepare('SELECT packets, counters FROM runs').get() as { packets: number; counters: string };
    d.close();
    expect(run.packets).toBe(1);
    expect(JSON.parse(run.counters).info['capture.files_cut_short']).toBe(1);
  });

  it('the header-only file: exit 0, a CSV with the header and no flow', async () => {
    const csv = join(dir, 'empty.csv');
    const r = await runSensor(['--replay', join(CORPUS, 'zeek', 'empty.pcap'), '--csv', csv, '--profile', 'cic', '--no-model', '-q']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(readFileSync(csv, 'utf8').split('\n').filter((l) => l !== '')).toHaveLength(1);
  });
});

describe('a capture cut in the middle of a record', () => {
  // fixtures/reference/zeek-http-vlan.pcap: 14 packets of HTTP over VLAN. Cut it inside record 9's bytes: the
  // flows must be exactly those of the 8 complete records before the cut (written as a clean file here).
  const src = join(ROOT, 'fixtures', 'reference', 'zeek-http-vlan.pcap');
  const pcap = parsePcap(new Uint8Array(readFileSync(src)));
  const keep = 8;
  const rec = pcap.records[keep]!;
  const cut = join(dir, 'cut.pcap');
  writeFileSync(cut, pcap.data.subarray(0, rec.offset + Math.floor(rec.caplen / 2)));
  const prefix = join(dir, 'prefix.pcap');
  writeFileSync(
    prefix,
    writePcap(
      pcap.linkType,
      pcap.records.slice(0, keep).map((r) => ({ data: pcap.data.subarray(r.offset, r.offset + r.caplen), tsUs: r.tsUs, wirelen: r.wirelen })),
      pcap.snaplen,
    ),
  );
  it.each(['cic', 'fixed', 'cic2017'])('%s: every flow before the cut, one warning line, exit 0', async (profile) => {
    const a = join(dir, `cut-${profile}.csv`);
    const b = join(dir, `prefix-${profile}.csv`);
    const r = await runSensor(['--replay', cut, '--csv', a, '--profile', profile, '--no-model', '-q']);
    expect(r.status).toBe(0);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`sensor: warning: ${cut}: `);
    expect((await runSensor(['--replay', prefix, '--csv', b, '--profile', profile, '--no-model', '-q'])).status).toBe(0);
    const got = loadCsv(a).rows;
    expect(got.length).toBeGreaterThan(0);
    expect(readFileSync(a, 'utf8')).toBe(readFileSync(b, 'utf8'));
  });
});
