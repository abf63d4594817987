/**
 * The SQLite output under faults, through the CLI as a user runs it:
 * - directory missing, read-only file system, directory the user may not write, database locked by another
 *   process: one line naming the database and the reason, exit 4, at start-up (before any packet is read);
 * - disk full mid-run: the replay goes on, the CSV gets every flow, one line says how many flows the database
 *   lost, exit 4; the database stays consistent and holds exactly the other flows;
 * - SIGKILL mid-replay: the database opens, passes integrity_check and holds every flow committed before the
 *   kill; and a replay hands completed flows to the sinks within about a second even when they complete slowly
 *   (so a kill loses at most the last second).
 *
 * Root can write anywhere (chmod does not stop it): the read-only cases use a read-only tmpfs mount, and the
 * permission case runs the sensor as `nobody` (setpriv). Where mount or setpriv are unavailable the case is
 * skipped with the reason.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, SENSOR, runCommand, type CliResult } from './helpers/cli.js';
import { ethIpv4Tcp, ethIpv4Udp, Flags } from './helpers/frames.js';
import { writePcap, type PcapFrame } from './helpers/pcap-file.js';

const dir = mkdtempSync(join(tmpdir(), 'sensor-dbfaults-'));
chmodSync(dir, 0o755); // so that `nobody` can read the capture in it
const mounts: string[] = [];
afterAll(() => {
  for (const m of mounts) spawnSync('umount', [m]);
  rmSync(dir, { recursive: true, force: true });
});

const IS_ROOT = process.getuid?.() === 0;
const T0 = 1_700_000_000_000_000;

/** A run of the CLI, with its stderr split into lines. */
type Result = CliResult & { lines: string[] };

async function run(args: string[], opts: { asNobody?: boolean; timeoutMs?: number } = {}): Promise<Result> {
  const argv = [SENSOR, ...args, '--no-model', '-q'];
  const [cmd, full] = opts.asNobody
    ? ['setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, ...argv]]
    : [process.execPath, argv];
  const r = await runCommand(cmd, full, { timeoutMs: opts.timeoutMs ?? 60_000 });
  return { ...r, lines: r.stderr.split('\n').filter((l) => l !== '') };
}

/** `n` distinct UDP conversations of a request and a reply each: the cic profile writes each as one 2-packet flow. */
function udpConversations(n: number): string {
  const frames: PcapFrame[] = [];
  for (let i = 0; i < n; i++) {
    const client = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    frames.push({ data: ethIpv4Udp({ sport: 40000, dport: 53 }, new Uint8Array(20), { src: client, dst: '192.0.2.1' }), tsUs: T0 + i * 100 });
    frames.push({ data: ethIpv4Udp({ sport: 53, dport: 40000 }, new Uint8Array(60), { src: '192.0.2.1', dst: client }), tsUs: T0 + i * 100 + 50 });
  }
  const path = join(dir, `udp-${n}.pcap`);
  if (!existsSync(path)) writeFileSync(path, writePcap(1, frames));
  return path;
}

function csvRows(path: string): number {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l !== '').length - 1;
}

/** Mounts a tmpfs at a new directory (root only); returns its path, or the reason it cannot. */
function mountTmpfs(options: string): { path?: string; reason?: string } {
  if (!IS_ROOT) return { reason: 'mounting a tmpfs needs root' };
  const path = mkdtempSync(join(dir, 'mnt-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', path], { encoding: 'utf8' });
  if (r.status !== 0) return { reason: `mount -t tmpfs not permitted here: ${(r.stderr || r.error?.message || '').trim()}` };
  mounts.push(path);
  return { path };
}

const small = udpConversations(50);

describe('refused at start-up with one line and exit 4', () => {
  it('the directory of the database does not exist', async () => {
    const db = join(dir, 'no-such-dir', 'flows.sqlite');
    const r = await run(['--replay', small, '--db', db]);
    expect(r.status).toBe(4);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toContain(db);
    expect(r.lines[0]).toMatch(/does not exist/);
  });

  const ro = mountTmpfs('ro,size=1m');
  it.skipIf(!ro.path)(`a read-only file system${ro.reason ? ` [skipped: ${ro.reason}]` : ''}`, async () => {
    const db = join(ro.path!, 'flows.sqlite');
    const r = await run(['--replay', small, '--db', db]);
    expect(r.status).toBe(4);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toContain(db);
    expect(r.lines[0]).toMatch(/not writable|read-only/);
    expect(existsSync(db)).toBe(false);
  });

  const hasSetpriv = spawnSync('setpriv', ['--version'], { stdio: 'ignore' }).status === 0;
  const canDrop = !IS_ROOT || hasSetpriv;
  it.skipIf(!canDrop)(`a directory the user may not write${canDrop ? '' : ' [skipped: root without setpriv cannot be denied a write]'}`, async () => {
    const locked = join(dir, 'readonly-dir');
    mkdirSync(locked);
    chmodSync(locked, 0o555);
    const db = join(locked, 'flows.sqlite');
    const r = await run(['--replay', small, '--db', db], { asNobody: IS_ROOT });
    expect(r.status).toBe(4);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toContain(db);
    expect(r.lines[0]).toMatch(/not writable/);
  });

  /** Another process that opens `db` and holds BEGIN EXCLUSIVE until killed; resolves once it holds the lock. */
  function holdExclusive(db: string, journal: 'wal' | 'delete'): Promise<ChildProcess> {
    const script = `
      const D = require(${JSON.stringify(join(ROOT, 'node_modules', 'better-sqlite3'))});
      const d = new D(${JSON.stringify(db)});
      d.pragma('journal_mode = ${journal}');
      d.exec('CREATE TABLE IF NOT EXISTS other (x)');
      d.exec('BEGIN EXCLUSIVE');
      d.exec('INSERT INTO other VALUES (1)');
      process.stdout.write('locked\\n');
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    return new Promise((resolve, reject) => {
      child.stdout!.once('data', () => resolve(child));
      child.once('exit', (c) => reject(new Error(`lock holder exited ${c}`)));
    });
  }

  it.each(['wal', 'delete'] as const)('the database is locked by another process (BEGIN EXCLUSIVE, journal %s)', async (journal) => {
    const db = join(dir, `locked-${journal}.sqlite`);
    if (journal === 'wal') expect((await run(['--replay', small, '--db', db, '--profile', 'cic'])).status).toBe(0); // a sensor database
    const holder = await holdExclusive(db, journal);
    try {
      const t0 = performance.now();
      const r = await run(['--replay', small, '--db', db, '--profile', 'cic']);
      expect(r.status).toBe(4);
      expect(r.lines).toHaveLength(1);
      expect(r.lines[0]).toContain(db);
      expect(r.lines[0]).toMatch(/locked/);
      expect(performance.now() - t0).toBeLessThan(30_000); // the 2 s busy timeout, not the 30 s write one
    } finally {
      holder.kill('SIGKILL');
    }
  });
});

describe('disk full while writing', () => {
  const fs = mountTmpfs('size=2m');
  it.skipIf(!fs.path)(`the CSV gets every flow, one line counts the flows the database lost, exit 4${fs.reason ? ` [skipped: ${fs.reason}]` : ''}`, async () => {
    const flows = 20_000; // ~20 MB of rows: ten times the file system
    const pcap = udpConversations(flows);
    const db = join(fs.path!, 'flows.sqlite');
    const csv = join(dir, 'full.csv');
    const r = await run(['--replay', pcap, '--db', db, '--csv', csv, '--profile', 'cic']);
    expect(r.status).toBe(4);
    expect(r.signal).toBe(null);
    // The replay went on: the CSV holds every flow.
    expect(csvRows(csv)).toBe(flows);
    expect(r.lines).toHaveLength(1);
    const m = /^sensor: writing database (\S+) failed: .*full.*; (\d+) of (\d+) flows not written there/.exec(r.lines[0]!);
    expect(m, r.lines[0]).not.toBeNull();
    expect(m![1]).toBe(db);
    const lost = Number(m![2]);
    expect(Number(m![3])).toBe(flows);
    expect(lost).toBeGreaterThan(0);
    // The database is consistent and holds exactly the flows it did not lose.
    const d = new Database(db, { readonly: true });
    try {
      expect(d.pragma('integrity_check', { simple: true })).toBe('ok');
      const n = (d.prepare('SELECT count(*) AS n FROM flows').get() as { n: number }).n;
      expect(n).toBe(flows - lost);
    } finally {
      d.close();
    }
  });
});

describe('SIGKILL during a replay', () => {
  it('a long replay killed mid-way: the database opens, passes integrity_check, keeps every committed flow', async () => {
    const pcap = udpConversations(20_000);
    const db = join(dir, 'killed.sqlite');
    // 40 passes over the file (1.6 M packets): still writing when killed.
    const child = spawn(process.execPath, [SENSOR, '--replay', ...Array.from({ length: 40 }, () => pcap), '--db', db, '--profile', 'cic', '--no-model', '-q'], {
      cwd: ROOT,
      stdio: 'ignore',
    });
    const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
    let seen = 0;
    const started = performance.now();
    while (seen < 5000 && performance.now() - started < 60_000) {
      await new Promise((r) => setTimeout(r, 50));
      seen = committedFlows(db);
    }
    expect(child.exitCode, 'the replay ended before it could be killed').toBe(null);
    child.kill('SIGKILL');
    await exited;
    const d = new Database(db, { readonly: true });
    try {
      expect(d.pragma('integrity_check', { simple: true })).toBe('ok');
      expect((d.prepare('SELECT count(*) AS n FROM flows').get() as { n: number }).n).toBeGreaterThanOrEqual(seen);
      expect(d.prepare('SELECT ended_at FROM runs').get()).toEqual({ ended_at: null }); // visibly unfinished
    } finally {
      d.close();
    }
  });

  it('flows that complete slowly still reach the sinks within about a second (in-process, a slow source)', async () => {
    // The SQLite worker commits each batch it gets at once, but the engine collects completed flows in batches of
    // 1024 and a replay hands them over between input batches. Here input batches come every 250 ms, each with
    // one complete TCP connection (SYN, SYN-ACK, ACK, then the server's FIN, which ends the flow in the cic
    // profile) and filler packets of one long UDP flow: the output batch never fills, so only the time-based
    // hand-over gets a flow to the sinks before the end of the input.
    const { replay } = await import('../src/cli/replay.js');
    const { getProfile } = await import('../src/features/profiles.js');
    const { META_STRIDE } = await import('../src/sources/batch.js');
    const c = { src: '10.0.0.1', dst: '10.0.0.2' };
    const s = { src: '10.0.0.2', dst: '10.0.0.1' };
    const filler = ethIpv4Udp({ sport: 5000, dport: 6000 }, new Uint8Array(4), { src: '10.9.9.9', dst: '10.9.9.8' });
    const BURSTS = 14;
    const completedAt = new Map<number, number>(); // client port -> wall time its batch left the source
    const data = new Uint8Array(1 << 20);
    const meta = new Float64Array(4096 * META_STRIDE);
    const sleeper = new Int32Array(new SharedArrayBuffer(4));
    let burst = 0;
    let inputDone = Infinity; // when the source reported the end of its input
    const source = {
      path: 'slow-source',
      linkType: 1,
      data,
      meta,
      warning: undefined,
      bytesRead: 0,
      close: () => undefined,
      next(): number {
        if (burst === BURSTS) {
          inputDone = Math.min(inputDone, performance.now());
          return 0;
        }
        Atomics.wait(sleeper, 0, 0, 250); // a source that delivers a batch every 250 ms
        const port = 20000 + burst;
        const t = T0 + burst * 1_000_000;
        const frames = [
          { data: ethIpv4Tcp({ sport: port, dport: 80, flags: Flags.SYN }, [], c), tsUs: t },
          { data: ethIpv4Tcp({ sport: 80, dport: port, flags: Flags.SYN | Flags.ACK }, [], s), tsUs: t + 10 },
          { data: ethIpv4Tcp({ sport: port, dport: 80, flags: Flags.ACK }, [], c), tsUs: t + 20 },
          { data: ethIpv4Tcp({ sport: 80, dport: port, flags: Flags.FIN | Flags.ACK }, [], s), tsUs: t + 30 },
          ...Array.from({ length: 100 }, (_, i) => ({ data: filler, tsUs: t + 100 + i })),
        ];
        let off = 0;
        frames.forEach((f, i) => {
          const m = i * META_STRIDE;
          meta[m] = Math.floor(f.tsUs / 1e6);
          meta[m + 1] = (f.tsUs % 1e6) * 1000;
          meta[m + 2] = f.data.length;
          meta[m + 3] = f.data.length;
          meta[m + 4] = off;
          meta[m + 5] = 1;
          data.set(f.data, off);
          off += f.data.length;
        });
        completedAt.set(port, performance.now());
        burst++;
        return frames.length;
      },
    };
    const writtenAt = new Map<number, number>();
    const sink = {
      write(rows: { count: number; srcPorts: Uint16Array; dstPorts: Uint16Array }): void {
        for (let i = 0; i < rows.count; i++) {
          const port = Math.max(rows.srcPorts[i]!, rows.dstPorts[i]!);
          if (port >= 20000 && port < 20000 + BURSTS) writtenAt.set(port, performance.now());
        }
      },
      flush: async () => undefined,
      close: async () => undefined,
    };
    await replay(
      {
        profile: getProfile('cic'),
        settings: { flowTimeout: 120, activityTimeout: 5, idleTimeout: 0, maxFlows: 1024, portDirection: false, ipv6: false },
        sinks: [{ kind: 'test', sink: sink as never, key: '', ino: undefined }],
      },
      [source as never],
    );
    expect([...writtenAt.keys()].sort()).toEqual([...completedAt.keys()].sort());
    // Flows completed in the first seconds were handed over while input was still coming in...
    const early = [...completedAt].filter(([port]) => writtenAt.get(port)! < inputDone);
    expect(early.length).toBeGreaterThan(BURSTS / 2);
    // ...each within the 1 s hand-over period plus one input batch (250 ms), with slack for a loaded machine.
    const delays = [...completedAt].map(([port, at]) => writtenAt.get(port)! - at);
    expect(Math.max(...delays)).toBeLessThan(1800);
  });
});

/** Rows in `flows` as another reader sees them now (0 while the database or table does not exist yet). */
function committedFlows(db: string): number {
  if (!existsSync(db)) return 0;
  try {
    const d = new Database(db, { readonly: true, fileMustExist: true, timeout: 1000 });
    try {
      return (d.prepare('SELECT count(*) AS n FROM flows').get() as { n: number }).n;
    } finally {
      d.close();
    }
  } catch {
    return 0;
  }
}
