/**
 * The systemd unit under a real systemd: `npm run test:systemd` (as root; minutes on first use, then ~1-2 min).
 *
 * Boots Debian 12 with systemd as PID 1 in a container (systemd-nspawn; the root file system is made once with
 * debootstrap and cached outside the checkout, SENSOR_SYSTEMD_ROOT, default /var/cache/sensor-systemd-test/bookworm;
 * each boot runs on a throw-away overlay of it, --volatile=overlay). The sensor is installed the way README's
 * "Install as a service" says: this checkout, already built, at /opt/sensor (bind-mounted read-only, in place of
 * `cp -r . /opt/sensor && npm install`), the host's Node at /usr/bin/node, `useradd ... sensor`, the shipped
 * config/sensor.json in /etc/sensor (with "model" set explicitly and stats every 2 s), the shipped
 * config/sensor.service in /etc/systemd/system, `systemctl enable --now sensor`. The container gets one end of a
 * veth pair, renamed eth1 (the shipped config's interface); traffic is sent into the host's end with tcpreplay.
 *
 * Checked from outside (nsenter into the container, its files through /proc/PID/root):
 * - the service runs as `sensor`, with CAP_NET_RAW and nothing else (effective, permitted, ambient, bounding), no
 *   new privileges, a seccomp filter (the address families), a read-only / and a writable /var/lib/sensor;
 * - it captures and classifies: every flow of the traffic sent is in /var/lib/sensor/flows.sqlite (owned by
 *   sensor, mode 0640) with the same packet and byte counts as `sensor --replay`, each with the model's verdict;
 * - `systemctl reload` after moving the database away opens a new one; `systemctl stop` writes every open flow
 *   (exit status 0); no flow lost across the two files;
 * - a crash (SIGSEGV) is restarted by Restart=on-failure, and the new run appends to the same database;
 * - `journalctl -u sensor -o cat` holds the JSON stats lines.
 * Not part of `npm test` (the first debootstrap takes minutes): skipped there unless SENSOR_SYSTEMD_TEST=1.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandWorks as has, mustRun, ROOT, runCommand, sensor } from './helpers/cli.js';
import { expectPacketsAccounted, flowCounts, runsOf as runs } from './helpers/run-db.js';

const ROOTFS = process.env.SENSOR_SYSTEMD_ROOT ?? '/var/cache/sensor-systemd-test/bookworm';
const MIRROR = process.env.SENSOR_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
const FIX = (n: string): string => join(ROOT, 'fixtures/reference', `${n}.pcap`);
const [A, B, C] = [FIX('zeek-wikipedia'), FIX('cic2017-webattack-sqlinj'), FIX('zeek-http-vlan')];
const MODEL = 'cic2017-attack';
/** The shipped model as the sensor names it in logs and rows: `name@version` from its card. */
const MODEL_ID = `${MODEL}@${(JSON.parse(readFileSync(join(ROOT, 'models', `${MODEL}.json`), 'utf8')) as { version: string }).version}`;
const CAP_NET_RAW = '0000000000002000'; // capability bit 13

function unavailable(): string | null {
  if (process.env.SENSOR_SYSTEMD_TEST !== '1') return 'run with `npm run test:systemd` (boots a container; minutes on first use)';
  if (process.platform !== 'linux') return 'needs Linux';
  if (process.getuid?.() !== 0) return 'needs root (systemd-nspawn, veth)';
  for (const [cmd, arg, pkg] of [
    ['systemd-nspawn', '--version', 'systemd-container'],
    ['nsenter', '--version', 'util-linux'],
    ['ip', '-V', 'iproute2'],
    ['tcpreplay', '--version', 'tcpreplay'],
  ] as const) {
    if (!has(cmd, [arg])) return `${cmd} is not installed (apt-get install -y ${pkg})`;
  }
  if (!existsSync(join(ROOTFS, 'usr/lib/systemd/systemd')) && !has('debootstrap', ['--version'])) return `no root file system at ${ROOTFS} and debootstrap is not installed`;
  return null;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const must = (cmd: string, args: string[], timeoutMs = 30_000): Promise<string> => mustRun(cmd, args, { timeoutMs });

/** Builds the cached root file system once: Debian 12 minbase with systemd, D-Bus and libpcap (for the addon). */
async function ensureRootfs(): Promise<void> {
  if (existsSync(join(ROOTFS, 'usr/lib/systemd/systemd'))) return;
  const tmp = `${ROOTFS}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(ROOTFS, '..'), { recursive: true });
  await must('debootstrap', ['--variant=minbase', '--include=systemd,systemd-sysv,dbus,libpcap0.8', 'bookworm', tmp, MIRROR], 30 * 60_000);
  renameSync(tmp, ROOTFS);
}

/** A booted container: its nspawn process, the PID of its systemd (host view), commands inside it. */
class Container {
  nspawn: ChildProcess | undefined;
  leader = 0;
  console = '';
  readonly name = `sensor-sd-${process.pid % 10000}`;
  readonly hostIf = `sdh${process.pid % 10000}`;
  readonly peerIf = `sdc${process.pid % 10000}`;

  async boot(): Promise<void> {
    this.nspawn = spawn(
      'systemd-nspawn',
      [
        '--register=no',
        '--keep-unit',
        '--quiet',
        '--console=read-only',
        '-D',
        ROOTFS,
        '--volatile=overlay', // the cached tree stays untouched; each boot starts clean
        '--private-network',
        '-M',
        this.name,
        `--bind-ro=${ROOT.replace(/\/$/, '')}:/opt/sensor`,
        `--bind-ro=${process.execPath}:/usr/bin/node`,
        '-b',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.nspawn.stdout!.setEncoding('utf8').on('data', (d: string) => (this.console += d));
    this.nspawn.stderr!.setEncoding('utf8').on('data', (d: string) => (this.console += d));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (this.nspawn.exitCode !== null) throw new Error(`systemd-nspawn exited ${this.nspawn.exitCode}: ${this.console}`);
      const kids = await runCommand('ps', ['--ppid', String(this.nspawn.pid), '-o', 'pid=,comm=']);
      const m = /(\d+)\s+systemd\b/.exec(kids.stdout);
      if (m) {
        this.leader = Number(m[1]);
        const state = await runCommand('nsenter', ['-t', String(this.leader), '-a', 'systemctl', 'is-system-running'], { timeoutMs: 10_000 });
        if (/^(running|degraded)/.test(state.stdout)) return;
      }
      await sleep(250);
    }
    throw new Error(`the container did not boot in 60 s: ${this.console.slice(-2000)}`);
  }

  /** Runs a command inside the container (all its namespaces). */
  run(args: string[], timeoutMs = 30_000): ReturnType<typeof runCommand> {
    return runCommand('nsenter', ['-t', String(this.leader), '-a', ...args], { timeoutMs });
  }

  async must(args: string[], timeoutMs = 30_000): Promise<string> {
    return must('nsenter', ['-t', String(this.leader), '-a', ...args], timeoutMs);
  }

  /** A path inside the container, seen from the host. */
  path(p: string): string {
    return `/proc/${this.leader}/root${p}`;
  }

  /**
   * A copy of a database inside the container (with its -wal/-shm), to open from the host: SQLite resolves the
   * symbolic links in a path, and /proc/PID/root would resolve to the host's own /.
   */
  copyDb(p: string): string {
    const to = mkdtempSync(join(dir, 'db-'));
    const name = join(to, p.split('/').pop()!);
    for (const ext of ['', '-wal', '-shm']) if (existsSync(this.path(p + ext))) copyFileSync(this.path(p + ext), name + ext);
    return name;
  }

  /** A veth pair: the container's end renamed eth1 (as the shipped config expects), up, no address, no IPv6. */
  async addInterface(): Promise<void> {
    await must('ip', ['link', 'add', this.hostIf, 'type', 'veth', 'peer', 'name', this.peerIf]);
    await must('sysctl', ['-qw', `net.ipv6.conf.${this.hostIf}.disable_ipv6=1`]);
    await must('ip', ['link', 'set', this.peerIf, 'netns', String(this.leader)]);
    const inNet = (args: string[]): Promise<string> => must('nsenter', ['-t', String(this.leader), '-n', ...args]);
    await inNet(['ip', 'link', 'set', this.peerIf, 'name', 'eth1']);
    await inNet(['sysctl', '-qw', 'net.ipv6.conf.eth1.disable_ipv6=1']);
    // MTU 9000: the captures hold frames larger than 1,500 bytes (taken on hosts with segmentation offload).
    await inNet(['ip', 'link', 'set', 'eth1', 'mtu', '9000', 'up']); // README: the span port needs no address
    await must('ip', ['link', 'set', this.hostIf, 'mtu', '9000', 'up']);
  }

  /** Sends a capture's frames into the host's end of the veth; resolves with the count tcpreplay sent. */
  async send(pcap: string): Promise<number> {
    const out = await must('tcpreplay', ['-q', '--topspeed', '-i', this.hostIf, pcap], 60_000);
    expect(out).toMatch(/Failed packets:\s+0\b/);
    return Number(/Actual: (\d+) packets/.exec(out)![1]);
  }

  /** The unit's log as JSON objects (lines that are not JSON are left out). */
  async journal(): Promise<Record<string, unknown>[]> {
    const out = await this.must(['journalctl', '-u', 'sensor', '-o', 'cat', '--no-pager']);
    const lines: Record<string, unknown>[] = [];
    for (const l of out.split('\n')) {
      if (!l.startsWith('{')) continue;
      try {
        lines.push(JSON.parse(l) as Record<string, unknown>);
      } catch {
        /* a line split by journald's line limit */
      }
    }
    return lines;
  }

  async waitJournal(pred: (l: Record<string, unknown>) => boolean, what: string, timeoutMs = 30_000, skip = 0): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = (await this.journal()).slice(skip).find(pred);
      if (hit) return hit;
      if (Date.now() > deadline) {
        const tail = await this.run(['journalctl', '-u', 'sensor', '--no-pager', '-n', '40']);
        throw new Error(`journal: ${what} not seen in ${timeoutMs} ms:\n${tail.stdout}`);
      }
      await sleep(300);
    }
  }

  async show(prop: string): Promise<string> {
    return (await this.must(['systemctl', 'show', '-p', prop, '--value', 'sensor'])).trim();
  }

  async shutdown(): Promise<void> {
    if (this.leader) await this.run(['systemctl', 'poweroff'], 10_000).catch(() => undefined);
    const n = this.nspawn;
    if (n && n.exitCode === null) {
      const exited = new Promise((r) => n.once('close', r));
      await Promise.race([exited, sleep(30_000)]);
      if (n.exitCode === null) n.kill('SIGKILL');
    }
    await runCommand('ip', ['link', 'del', this.hostIf], { timeoutMs: 10_000 });
  }
}

const why = unavailable();
// made only when the tests run (removed after them): the reference replays' databases and the journal copies
const dir = why === null ? mkdtempSync(join(tmpdir(), 'sensor-systemd-')) : '';

if (why !== null) {
  describe('systemd unit', () => {
    it.skip(`skipped: ${why}`, () => undefined);
  });
} else {
  describe('config/sensor.service under systemd (nspawn container)', () => {
    const c = new Container();
    const replayed = new Map<string, string[]>();
    const expected = async (pcap: string): Promise<string[]> => {
      if (!replayed.has(pcap)) {
        const db = join(dir, `replay-${replayed.size}.sqlite`);
        const r = await sensor(['--replay', pcap, '--db', db, '--profile', 'cic2017', '--no-model', '-q'], { timeoutMs: 60_000 });
        expect(r.status, r.stderr).toBe(0);
        replayed.set(pcap, flowCounts(db));
      }
      return replayed.get(pcap)!;
    };
    const DB = '/var/lib/sensor/flows.sqlite';

    beforeAll(async () => {
      await ensureRootfs();
      await c.boot();
      await c.addInterface();
      // README, "Install as a service" (the checkout is already at /opt/sensor, built, and Node at /usr/bin/node).
      await c.must(['useradd', '--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'sensor']);
      await c.must(['install', '-d', '/etc/sensor']);
      await c.must(['cp', '/opt/sensor/config/sensor.json', '/etc/sensor/']);
      const cfg = JSON.parse(readFileSync(c.path('/etc/sensor/sensor.json'), 'utf8')) as Record<string, unknown>;
      // "Set interface (and the rest)": eth1 as shipped; the model explicitly (its profile), stats every 2 s.
      writeFileSync(c.path('/etc/sensor/sensor.json'), JSON.stringify({ ...cfg, model: MODEL, profile: 'cic2017', statsInterval: 2 }, null, 2));
      await c.must(['cp', '/opt/sensor/config/sensor.service', '/etc/systemd/system/']);
      await c.must(['systemctl', 'daemon-reload']);
      await c.must(['systemctl', 'enable', '--now', 'sensor'], 60_000);
    }, 40 * 60_000);

    afterAll(async () => {
      await c.shutdown();
      rmSync(dir, { recursive: true, force: true });
    }, 60_000);

    it('runs as sensor with CAP_NET_RAW only, under the unit hardening', async () => {
      const start = await c.waitJournal((l) => l.event === 'start', 'the start line');
      expect(start).toMatchObject({ interface: 'eth1', model: MODEL_ID, profile: 'cic2017', db: DB });
      expect(await c.show('ActiveState')).toBe('active');
      const pid = await c.show('MainPID');
      const uid = (await c.must(['id', '-u', 'sensor'])).trim();
      const status = await c.must(['cat', `/proc/${pid}/status`]);
      const field = (k: string): string => new RegExp(`^${k}:\\s*(.*)$`, 'm').exec(status)![1]!.trim();
      expect(field('Uid').split(/\s+/)).toEqual([uid, uid, uid, uid]);
      for (const k of ['CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) expect(field(k), k).toBe(CAP_NET_RAW);
      expect(field('NoNewPrivs')).toBe('1');
      expect(field('Seccomp')).toBe('2');
      const mounts = (await c.must(['cat', `/proc/${pid}/mountinfo`])).split('\n').map((l) => l.split(' '));
      const opts = (mp: string): string => mounts.filter((m) => m[4] === mp).at(-1)?.[5] ?? 'not mounted';
      expect(opts('/')).toMatch(/^ro\b/);
      expect(opts('/var/lib/sensor')).toMatch(/^rw\b/);
    }, 60_000);

    it('captures and classifies into /var/lib/sensor; reload after moving the database away opens a new one; stop writes every open flow', async () => {
      const sentA = await c.send(A);
      await c.waitJournal((l) => l.event === 'stats' && (l.packets as number) >= sentA, 'a stats line with the frames of A');
      const st = statSync(c.path(DB));
      expect(st.uid).toBe(Number((await c.must(['id', '-u', 'sensor'])).trim()));
      expect(st.mode & 0o777).toBe(0o640); // UMask=0027

      // Log rotation as README says: move the database (and its -wal/-shm) away, then `systemctl reload`.
      for (const ext of ['', '-wal', '-shm']) if (existsSync(c.path(DB + ext))) renameSync(c.path(DB + ext), c.path(`${DB}.1${ext}`));
      const before = (await c.journal()).length;
      await c.must(['systemctl', 'reload', 'sensor']);
      await c.waitJournal((l) => l.event === 'reload' && l.msg === 'reload: outputs reopened', 'reload: outputs reopened', 30_000, before);
      const sentB = await c.send(B);
      const open = await c.waitJournal((l) => l.event === 'stats' && (l.packets as number) >= sentA + sentB, 'a stats line with A and B', 30_000, before);
      expect(open.flows_active as number).toBeGreaterThan(0); // flows still open when the stop comes

      await c.must(['systemctl', 'stop', 'sensor'], 90_000);
      expect(await c.show('ActiveState')).toBe('inactive');
      expect(await c.show('ExecMainStatus')).toBe('0');
      const stop = await c.waitJournal((l) => l.event === 'stop', 'the stop line');
      expect(stop.exitCode).toBe(0);

      // No flow lost across the two files; every flow has the model's verdict.
      const [rotated, current] = [c.copyDb(`${DB}.1`), c.copyDb(DB)];
      const live = [...flowCounts(rotated), ...flowCounts(current)].sort();
      expect(live).toEqual([...(await expected(A)), ...(await expected(B))].sort());
      for (const f of [rotated, current]) {
        const conn = new Database(f, { readonly: true });
        expect(conn.prepare('SELECT count(*) AS n FROM flows WHERE label IS NULL OR model IS NOT ?').get(MODEL_ID)).toEqual({ n: 0 });
        conn.close();
        const [run] = runs(f);
        expect(run!.ended_at, f).not.toBeNull();
      }
      expectPacketsAccounted(runs(current)[0]!.counters);
    }, 180_000);

    it('a crash (SIGSEGV) is restarted by Restart=on-failure; the new run appends to the database', async () => {
      await c.must(['systemctl', 'start', 'sensor'], 60_000);
      const skip = (await c.journal()).length;
      await c.waitJournal((l) => l.event === 'start', 'the start line', 30_000, skip);
      const pid = await c.show('MainPID');
      expect(await c.show('NRestarts')).toBe('0');
      await c.send(A);
      await c.must(['systemctl', 'kill', '--kill-whom=main', '--signal=SEGV', 'sensor']);
      // RestartSec=5s, then the model loads again.
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && !((await c.show('NRestarts')) === '1' && (await c.show('ActiveState')) === 'active')) await sleep(500);
      expect(await c.show('NRestarts')).toBe('1');
      expect(await c.show('ActiveState')).toBe('active');
      expect(await c.show('MainPID')).not.toBe(pid);
      const deadline2 = Date.now() + 30_000;
      while (Date.now() < deadline2 && (await c.journal()).slice(skip).filter((l) => l.event === 'start').length < 2) await sleep(300);
      const after = (await c.journal()).length;
      const sentC = await c.send(C);
      await c.waitJournal((l) => l.event === 'stats' && (l.packets as number) >= sentC, 'a stats line with C', 30_000, after);
      await c.must(['systemctl', 'stop', 'sensor'], 90_000);
      expect(await c.show('ExecMainStatus')).toBe('0');

      const db = c.copyDb(DB);
      const all = runs(db);
      expect(all.map((r) => r.ended_at !== null)).toEqual([true, false, true]); // the crashed run never ended
      expect(flowCounts(db, all[2]!.id)).toEqual(await expected(C));
      const conn = new Database(db, { readonly: true });
      expect(conn.pragma('integrity_check', { simple: true })).toBe('ok');
      conn.close();
    }, 180_000);

    it('journalctl -u sensor shows the JSON stats lines', async () => {
      const stats = (await c.journal()).filter((l) => l.event === 'stats');
      expect(stats.length).toBeGreaterThan(2);
      for (const s of stats) {
        expect(Object.keys(s)).toEqual(expect.arrayContaining(['time', 'packets', 'packets_per_s', 'kernel_dropped', 'interface_dropped', 'flows_active', 'flows_written', 'not_in_flows']));
      }
      expect(stats.some((s) => (s.packets as number) > 0)).toBe(true);
    }, 30_000);

    it("onnxruntime's telemetry stays off (the unit sets ORT_DISABLE_TELEMETRY)", async () => {
      const all = await c.must(['journalctl', '-u', 'sensor', '-o', 'cat', '--no-pager']);
      expect(all).toContain('"event":"start"');
      expect(all.split('\n').filter((l) => /telemetry/i.test(l))).toEqual([]);
    }, 30_000);
  });
}
