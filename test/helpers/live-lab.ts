/**
 * A two-namespace lab for live capture tests: `<id>-cap` holds the sensor's end of a veth pair, `<id>-snd` the
 * sender's end. Frames written into the sender's end arrive unchanged at the sensor's. Everything the lab
 * creates is removed by `destroy()` (deleting a namespace deletes its veth end, and with it the pair).
 *
 * Every command is asynchronous and bounded in time (a synchronous spawn would block vitest's worker).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ROOT, SENSOR, runCommand } from './cli.js';

export const SEND_FRAMES = fileURLToPath(new URL('./send-frames.py', import.meta.url));

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs a command, SIGKILLed after `timeoutMs`. */
export async function run(cmd: string, args: string[], timeoutMs = 15_000): Promise<Run> {
  const { status, ...rest } = await runCommand(cmd, args, { timeoutMs });
  return { code: status, ...rest };
}

async function must(cmd: string, args: string[], timeoutMs = 15_000): Promise<string> {
  const r = await run(cmd, args, timeoutMs);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.timedOut ? 'timed out' : `exit ${r.code}`}): ${r.stderr.trim()}`);
  return r.stdout;
}

function has(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Why the live tests cannot run here, or null when they can: needs Linux, root, iproute2 with `ip netns`
 * permitted, and a way to send frames (tcpreplay, else python3). Runs at collection time (short, bounded).
 */
export function liveLabUnavailable(): string | null {
  if (process.platform !== 'linux') return 'live capture tests need Linux';
  if (process.getuid?.() !== 0) return 'not root: network namespaces and live capture need root';
  if (!has('ip', ['-V'])) return 'iproute2 (`ip`) is not installed';
  const probe = `sensor-probe-${process.pid}`;
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'pipe', timeout: 10_000 });
  } catch (e) {
    const why = String((e as { stderr?: Buffer }).stderr ?? e).trim().split('\n')[0];
    return `\`ip netns add\` is not permitted here (${why})`;
  }
  try {
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'ignore', timeout: 10_000 });
  } catch {
    /* best effort */
  }
  if (!has('tcpreplay', ['--version']) && !has('python3', ['--version'])) return 'neither tcpreplay nor python3 is installed to send frames';
  return null;
}

export const hasTcpreplay = (): boolean => has('tcpreplay', ['--version']);

export class LiveLab {
  readonly capNs: string;
  readonly sndNs: string;
  readonly capIf: string;
  readonly sndIf: string;
  private created: string[] = [];

  constructor(readonly id: string) {
    this.capNs = `sensor-${id}-cap`;
    this.sndNs = `sensor-${id}-snd`;
    this.capIf = `sv${id}c`;
    this.sndIf = `sv${id}s`;
    if (this.capIf.length > 15) throw new Error(`lab id ${id} too long for an interface name`);
  }

  /** A random id short enough for interface names. */
  static randomId(): string {
    return `${process.pid % 1000}${Math.floor(Math.random() * 46656).toString(36)}`;
  }

  async create(): Promise<void> {
    const a = 100 + Math.floor(Math.random() * 150);
    const b = Math.floor(Math.random() * 250);
    for (const ns of [this.capNs, this.sndNs]) {
      await must('ip', ['netns', 'add', ns]);
      this.created.push(ns);
    }
    await must('ip', ['link', 'add', this.capIf, 'type', 'veth', 'peer', 'name', this.sndIf]);
    this.created.push(`link:${this.capIf}`);
    await must('ip', ['link', 'set', this.capIf, 'netns', this.capNs]);
    await must('ip', ['link', 'set', this.sndIf, 'netns', this.sndNs]);
    for (const [ns, dev, host] of [
      [this.capNs, this.capIf, 1],
      [this.sndNs, this.sndIf, 2],
    ] as const) {
      // No IPv6 (no router solicitations, no MLD): the sensor's end hears only the frames the test sends.
      await must('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
      await must('ip', ['-n', ns, 'link', 'set', dev, 'mtu', '9000', 'up']);
      await must('ip', ['-n', ns, 'addr', 'add', `10.${a}.${b}.${host}/24`, 'dev', dev]);
    }
  }

  /** Removes everything create() made; safe to call after a partial create or twice. */
  async destroy(): Promise<void> {
    for (const what of this.created.reverse()) {
      if (what.startsWith('link:')) {
        await run('ip', ['link', 'del', what.slice(5)], 10_000); // only if it never moved into a namespace
      } else {
        await run('ip', ['netns', 'del', what], 10_000);
      }
    }
    this.created = [];
  }

  /** Sends a capture's frames from the sender's end as fast as possible; resolves with the frames sent. */
  async send(pcap: string, loops = 1, timeoutMs = 60_000): Promise<number> {
    if (hasTcpreplay()) {
      const out = await must('ip', ['netns', 'exec', this.sndNs, 'tcpreplay', '-q', '--topspeed', `--loop=${loops}`, '-i', this.sndIf, pcap], timeoutMs);
      const m = /Actual: (\d+) packets/.exec(out);
      if (!m) throw new Error(`cannot read tcpreplay's packet count from: ${out}`);
      return Number(m[1]);
    }
    const out = await must('ip', ['netns', 'exec', this.sndNs, 'python3', SEND_FRAMES, this.sndIf, pcap, String(loops)], timeoutMs);
    return Number(out.trim());
  }

  /**
   * Starts sending in a loop until killed (for traffic while something else happens). `uniqueIp`: tcpreplay
   * changes the addresses on every loop, so each loop makes new flows and the old ones go idle and complete.
   */
  sendForever(pcap: string, opts: { uniqueIp?: boolean } = {}): ChildProcess {
    const args = hasTcpreplay()
      ? ['netns', 'exec', this.sndNs, 'tcpreplay', '-q', '--topspeed', '--loop=0', ...(opts.uniqueIp ? ['--unique-ip'] : []), '-i', this.sndIf, pcap]
      : ['netns', 'exec', this.sndNs, 'python3', SEND_FRAMES, this.sndIf, pcap, '100000000'];
    return spawn('ip', args, { cwd: ROOT, stdio: 'ignore' });
  }

  /** Starts `sensor ARGS` in the capture namespace. */
  startSensor(args: string[], opts: { uidArgs?: string[] } = {}): SensorProcess {
    const prefix = opts.uidArgs ? ['setpriv', ...opts.uidArgs] : [];
    return new SensorProcess(spawn('ip', ['netns', 'exec', this.capNs, ...prefix, process.execPath, SENSOR, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
  }
}

/** A running sensor: its JSON log lines, stderr, and exit. */
export class SensorProcess {
  readonly lines: Record<string, unknown>[] = [];
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private partial = '';

  constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      this.stdout += d;
      this.partial += d;
      let nl: number;
      while ((nl = this.partial.indexOf('\n')) >= 0) {
        const line = this.partial.slice(0, nl);
        this.partial = this.partial.slice(nl + 1);
        try {
          this.lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          /* not a log line */
        }
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  }

  /** Resolves with the first log line matching `pred`; rejects after `timeoutMs` or if the process exits first. */
  async waitFor(pred: (l: Record<string, unknown>) => boolean, timeoutMs = 15_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    let done = false;
    void this.exited.then(() => (done = true));
    for (;;) {
      const hit = this.lines.find(pred);
      if (hit) return hit;
      if (done || Date.now() > deadline) {
        throw new Error(`sensor: expected log line not seen (${done ? 'process exited' : 'timed out'}).\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Sends `sig` and waits for the exit (SIGKILL after `timeoutMs`). */
  async stop(sig: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null; timedOut: boolean }> {
    // `ip netns exec` execs the command, so the pid is the sensor's own.
    this.child.kill(sig);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.child.kill('SIGKILL');
    }, timeoutMs);
    const r = await this.exited;
    clearTimeout(timer);
    return { ...r, timedOut };
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}
