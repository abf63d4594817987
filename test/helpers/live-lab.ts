/**
 * Everything a live capture test needs, so that one is a few lines:
 *
 *   describeLive('my live case', LAB, () => {
 *     const lab = liveLab();
 *     it('…', async () => {
 *       const p = lab.startSensor(['--iface', lab.capIf, '--db', db]);
 *       await p.waitFor((l) => l.event === 'start');
 *       await lab.send(pcap);
 *       expect((await p.stop()).code).toBe(0);
 *     });
 *   });
 *
 * - describeLive() runs the block only when what it needs is here (root, `ip netns`, a sender, tcpreplay, the
 *   addon), else shows one skipped test whose name says exactly what is missing.
 * - liveLab() is the two-namespace lab of scripts/veth-lab.mjs (shared with the soak and the live bench):
 *   `sensor-<id>-cap` holds the sensor's end of a veth pair, `sensor-<id>-snd` the sender's; frames written into
 *   the sender's end arrive unchanged at the sensor's. It is built in beforeAll and taken apart in afterAll, and
 *   the lab owns every process it starts (sensors, senders, commands in its namespaces): afterAll kills them and
 *   waits for them before deleting the namespaces, so a failed or timed-out test leaves no namespace, veth or
 *   process behind. Lab ids come from the worker's pid, so files running in parallel never share a name.
 *
 * Every command is asynchronous and bounded in time (a synchronous spawn would block vitest's worker); only the
 * availability probes at collection time are synchronous (short, bounded).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { LiveSource } from '../../src/sources/live-source.js';
import { loadNative } from '../../src/sources/native.js';
import { checked, commandWorks, ROOT, SENSOR, runCommand, type CliResult } from './cli.js';
// @ts-expect-error: a plain ES module shared with the scripts (no types)
import { setupCommands, teardownSync, vethLab } from '../../scripts/veth-lab.mjs';

export const SEND_FRAMES = fileURLToPath(new URL('./send-frames.py', import.meta.url));

// ---- what a live test needs ---------------------------------------------------------------------------------

/**
 * - `root`: Linux, uid 0 (namespaces, veths and live capture need it);
 * - `netns`: iproute2 installed and `ip netns add` permitted (containers may refuse it);
 * - `sender`: a way to write frames into the veth (tcpreplay, else python3 with test/helpers/send-frames.py);
 * - `tcpreplay`: tcpreplay itself (full speed, --unique-ip);
 * - `addon`: the native capture addon built and loadable;
 * - `capture`: live capture permitted in this namespace (uid 0 in a user namespace, say, is not enough).
 */
export type LiveNeed = 'root' | 'netns' | 'sender' | 'tcpreplay' | 'addon' | 'capture';

/** What a test on the veth lab needs. */
export const LAB: readonly LiveNeed[] = ['root', 'netns', 'sender', 'addon'];

const probed = new Map<string, boolean>();
/** Whether `cmd args` runs, asked once per process. */
function installed(cmd: string, args: string[]): boolean {
  if (!probed.has(cmd)) probed.set(cmd, commandWorks(cmd, args));
  return probed.get(cmd)!;
}

export const hasTcpreplay = (): boolean => installed('tcpreplay', ['--version']);

/** Null when `ip netns add` works here, else why not (first line of ip's error). */
function netnsRefusal(): string | null {
  const probe = `sensor-probe-${process.pid}`;
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'pipe', timeout: 10_000 });
  } catch (e) {
    return String((e as { stderr?: Buffer }).stderr ?? e).trim().split('\n')[0]!;
  }
  try {
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'ignore', timeout: 10_000 });
  } catch {
    /* best effort: nothing else uses the probe's name */
  }
  return null;
}

/**
 * Why a test needing `needs` cannot run here, every missing thing named with how to get it ('; '-separated), or
 * null when it can. A need that cannot be checked without another (the namespace probe without root) is reported
 * through the one missing.
 */
export function liveUnavailable(needs: readonly LiveNeed[]): string | null {
  const missing: string[] = [];
  const want = new Set(needs);
  const isRoot = process.platform === 'linux' && process.getuid?.() === 0;
  if ((want.has('root') || want.has('netns')) && !isRoot) {
    const what = want.has('netns') ? 'network namespaces, veths and live capture need' : 'live capture needs';
    missing.push(process.platform !== 'linux' ? `live capture needs Linux, this is ${process.platform}` : `not root (uid ${process.getuid?.()}): ${what} root`);
  }
  if (want.has('netns')) {
    if (!installed('ip', ['-V'])) missing.push('`ip` is not installed (apt-get install -y iproute2)');
    else if (isRoot) {
      const why = netnsRefusal();
      if (why !== null) missing.push(`\`ip netns add\` is not permitted here (${why})`);
    }
  }
  if (want.has('tcpreplay') && !hasTcpreplay()) missing.push('tcpreplay is not installed (apt-get install -y tcpreplay)');
  else if (want.has('sender') && !hasTcpreplay() && !installed('python3', ['--version'])) {
    missing.push('nothing to send frames with: neither tcpreplay nor python3 is installed (apt-get install -y tcpreplay)');
  }
  let addon = true;
  try {
    loadNative();
  } catch (e) {
    addon = false;
    if (want.has('addon') || want.has('capture')) missing.push((e as Error).message);
  }
  if (want.has('capture') && isRoot && addon) {
    try {
      LiveSource.open('lo', { bufferSize: 1 << 20 }).close();
    } catch (e) {
      missing.push(`live capture is not permitted here (${(e as Error).message})`);
    }
  }
  return missing.length > 0 ? missing.join('; ') : null;
}

/** describe(name, fn) when `needs` are met; otherwise one skipped test named `skipped: <what is missing>`. */
export function describeLive(name: string, needs: readonly LiveNeed[], fn: () => void): void {
  const why = liveUnavailable(needs);
  if (why === null) describe(name, fn);
  else describe(name, () => it.skip(`skipped: ${why}`, () => undefined));
}

// ---- the lab ---------------------------------------------------------------------------------------------------

export interface LabOptions {
  /**
   * An address on the sensor's end (default true: the daemon tests want an addressed interface). Without one its
   * kernel answers nothing (no ARP reply, no RST), so exactly the frames sent arrive there and nothing else.
   */
  captureAddress?: boolean;
  /** Bring up the capture namespace's loopback (a new namespace's is down), e.g. for the metrics endpoint. */
  loopback?: boolean;
}

let labsMade = 0;
/** A lab id unique among running processes: the pid (unique while this worker lives) and a count within it. */
function nextLabId(): string {
  return `${process.pid.toString(36)}${(labsMade++).toString(36)}`;
}

/**
 * The lab for the enclosing describe block: built in its beforeAll, taken apart (with every process it started)
 * in its afterAll. Call it inside describeLive(…, LAB, …).
 */
export function liveLab(opts: LabOptions = {}): LiveLab {
  const lab = new LiveLab(nextLabId(), opts);
  beforeAll(() => lab.create(), 60_000);
  afterAll(() => lab.destroy(), 60_000);
  return lab;
}

/** A process the lab started, and its end. */
interface Owned {
  child: ChildProcess;
  closed: Promise<void>;
}

export class LiveLab {
  private names: { id: string; capNs: string; sndNs: string; capIf: string; sndIf: string };
  /** What removes each thing create() made, in the order made. */
  private undo: [string, string[]][] = [];
  private readonly owned = new Set<Owned>();
  /** Set if the process exits before destroy() ran (a worker torn down mid-test): remove the lab synchronously. */
  private readonly onExit = (): void => {
    for (const o of this.owned) o.child.kill('SIGKILL');
    teardownSync(this.names);
  };

  constructor(
    id: string,
    private readonly opts: LabOptions = {},
  ) {
    this.names = vethLab(id);
  }

  get id(): string {
    return this.names.id;
  }
  /** The namespace and the interface the sensor captures on. */
  get capNs(): string {
    return this.names.capNs;
  }
  get capIf(): string {
    return this.names.capIf;
  }
  /** The namespace and the interface frames are sent from. */
  get sndNs(): string {
    return this.names.sndNs;
  }
  get sndIf(): string {
    return this.names.sndIf;
  }

  /**
   * Builds the lab (addresses on both ends unless told otherwise). A name left over from a dead process that had
   * this pid is never reused: on "File exists" the lab takes another id. A partial build is taken apart.
   */
  async create(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      process.once('exit', this.onExit);
      const cmds = setupCommands(this.names, { addresses: true, captureAddress: this.opts.captureAddress ?? true, loopback: this.opts.loopback ?? false }) as [string, string[], string[]?][];
      try {
        for (const [cmd, args, undo] of cmds) {
          await this.must(cmd, args);
          if (undo) this.undo.push([cmd, undo]);
        }
        return;
      } catch (e) {
        await this.destroy();
        if (attempt >= 2 || !/File exists/.test(String(e))) throw e;
        this.names = vethLab(`${nextLabId()}${Math.floor(Math.random() * 36).toString(36)}`);
      }
    }
  }

  /**
   * Kills every process the lab started and waits for them (a namespace lives as long as a process in it), then
   * removes everything create() made. Safe after a partial create, or twice. Throws if a namespace stays.
   */
  async destroy(): Promise<void> {
    for (const o of this.owned) o.child.kill('SIGKILL');
    await Promise.race([Promise.all([...this.owned].map((o) => o.closed)), new Promise((r) => setTimeout(r, 10_000))]);
    this.owned.clear();
    // The veth's own undo only matters if it never moved into a namespace (deleting one deletes its end).
    const failed: string[] = [];
    for (const [cmd, args] of this.undo.reverse()) {
      const r = await runCommand(cmd, args, { timeoutMs: 10_000 });
      if (r.status !== 0 && !/No such file|Cannot find device|does not exist/.test(r.stderr)) failed.push(`${cmd} ${args.join(' ')}: ${r.stderr.trim()}`);
    }
    this.undo = [];
    process.removeListener('exit', this.onExit);
    if (failed.length > 0) throw new Error(`the live lab ${this.id} was not fully removed:\n${failed.join('\n')}`);
  }

  /** Starts a process the lab owns (killed at destroy()). */
  private own(cmd: string, args: string[], stdio: 'ignore' | 'pipe'): ChildProcess {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: stdio === 'pipe' ? ['ignore', 'pipe', 'pipe'] : 'ignore' });
    const o: Owned = { child, closed: new Promise((r) => child.on('close', () => r())) };
    this.owned.add(o);
    void o.closed.then(() => this.owned.delete(o));
    return child;
  }

  /** Runs `cmd args` to its end (SIGKILLed after `timeoutMs`, or at destroy()), collecting its output. */
  run(cmd: string, args: string[], timeoutMs = 15_000): Promise<CliResult> {
    const child = this.own(cmd, args, 'pipe');
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    return new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (status, signal) => {
        clearTimeout(timer);
        resolve({ status, signal, stdout, stderr, timedOut });
      });
    });
  }

  /** run(), throwing with its stderr unless it exits 0; resolves with its stdout. */
  private async must(cmd: string, args: string[], timeoutMs = 15_000): Promise<string> {
    return checked(cmd, args, await this.run(cmd, args, timeoutMs));
  }

  /** Runs `cmd args` inside the capture namespace (e.g. a client of the daemon's loopback endpoint). */
  inCapture(cmd: string, args: string[], timeoutMs = 15_000): Promise<CliResult> {
    return this.run('ip', ['netns', 'exec', this.capNs, cmd, ...args], timeoutMs);
  }

  /** Sends a capture's frames from the sender's end as fast as possible; resolves with the frames sent. */
  async send(pcap: string, loops = 1, timeoutMs = 60_000): Promise<number> {
    if (hasTcpreplay()) {
      const out = await this.must('ip', ['netns', 'exec', this.sndNs, 'tcpreplay', '-q', '--topspeed', `--loop=${loops}`, '-i', this.sndIf, pcap], timeoutMs);
      const m = /Actual: (\d+) packets/.exec(out);
      if (!m) throw new Error(`cannot read tcpreplay's packet count from: ${out}`);
      return Number(m[1]);
    }
    const out = await this.must('ip', ['netns', 'exec', this.sndNs, 'python3', SEND_FRAMES, this.sndIf, pcap, String(loops)], timeoutMs);
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
    return this.own('ip', args, 'ignore');
  }

  /** Starts `sensor ARGS` in the capture namespace; `uidArgs`: run it through `setpriv uidArgs`. */
  startSensor(args: string[], opts: { uidArgs?: string[] } = {}): SensorProcess {
    const prefix = opts.uidArgs ? ['setpriv', ...opts.uidArgs] : [];
    return new SensorProcess(this.own('ip', ['netns', 'exec', this.capNs, ...prefix, process.execPath, SENSOR, ...args], 'pipe'));
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
}
