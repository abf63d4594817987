/**
 * A two-namespace lab for live capture tests (scripts/veth-lab.mjs, shared with the soak and the live bench):
 * `<id>-cap` holds the sensor's end of a veth pair, `<id>-snd` the sender's end. Frames written into the sender's
 * end arrive unchanged at the sensor's. Everything the lab creates is removed by `destroy()`.
 *
 * Every command is asynchronous and bounded in time (a synchronous spawn would block vitest's worker).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ROOT, SENSOR, runCommand, type CliResult } from './cli.js';
// @ts-expect-error: a plain ES module shared with the scripts (no types)
import { randomId, setupCommands, vethLab } from '../../scripts/veth-lab.mjs';

export const SEND_FRAMES = fileURLToPath(new URL('./send-frames.py', import.meta.url));

/** Runs a command, SIGKILLed after `timeoutMs`. */
export function run(cmd: string, args: string[], timeoutMs = 15_000): Promise<CliResult> {
  return runCommand(cmd, args, { timeoutMs });
}

async function must(cmd: string, args: string[], timeoutMs = 15_000): Promise<string> {
  const r = await run(cmd, args, timeoutMs);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.timedOut ? 'timed out' : `exit ${r.status}`}): ${r.stderr.trim()}`);
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
  /** What removes each thing create() made, in the order made. */
  private undo: [string, string[]][] = [];

  constructor(readonly id: string) {
    const lab = vethLab(id) as { capNs: string; sndNs: string; capIf: string; sndIf: string };
    this.capNs = lab.capNs;
    this.sndNs = lab.sndNs;
    this.capIf = lab.capIf;
    this.sndIf = lab.sndIf;
  }

  /** A random id short enough for interface names. */
  static randomId(): string {
    return randomId() as string;
  }

  /** Builds the lab, with an address on each end. */
  async create(): Promise<void> {
    for (const [cmd, args, undo] of setupCommands(vethLab(this.id), { addresses: true }) as [string, string[], string[]?][]) {
      await must(cmd, args);
      if (undo) this.undo.push([cmd, undo]);
    }
  }

  /** Removes everything create() made; safe to call after a partial create or twice. */
  async destroy(): Promise<void> {
    // The veth's own undo only matters if it never moved into a namespace (deleting one deletes its end).
    for (const [cmd, args] of this.undo.reverse()) await run(cmd, args, 10_000);
    this.undo = [];
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
