/**
 * LiveSource: captures from a network interface through the sensor_pcap addon, with the same batch shape as
 * PcapSource: a PacketSource (batch.ts: reused `data` / `meta`, META_STRIDE numbers per packet, see `Meta`).
 *
 * Capture runs on a native thread that drains the kernel ring into a ring of batches, so the kernel ring keeps
 * being emptied while JS is busy. JS pulls batches without blocking:
 *
 *   const src = LiveSource.open('eth0', { filter: 'tcp or udp' });
 *   for (;;) {
 *     const n = await src.nextAsync(1000); // >0: a batch in data/meta; 0: nothing within 1 s; -1: ended
 *     if (n < 0) break;
 *     if (n > 0) engine.ingestBatch(src.linkType, src.data, src.meta, n);
 *     if (stopping) src.stop(); // packets already captured still come out, then -1
 *   }
 *   if (src.warning) log.warn(src.warning); // why capture ended early (interface went down, ...)
 *   src.close();
 *
 * The contents of data/meta are only valid until the next call to next()/nextAsync(). Like a socket, an open
 * LiveSource keeps the process alive (its capture thread holds a reference to it): close() it.
 */
import { readdirSync } from 'node:fs';
import { CaptureError, META_STRIDE, type CaptureErrorKind, type PacketSource } from './batch.js';
import { loadNative, type NativeBinding, type NativeHandle } from './native.js';

const LIVE_DEFAULTS = {
  /** Bytes kept per packet: the largest libpcap accepts, so nothing is truncated. */
  snaplen: 262144,
  promiscuous: true,
  /** Kernel ring: 64 MiB absorbs ~0.5 s of 1 M packets/s of 128-byte frames while JS is busy. */
  bufferSize: 64 * 1024 * 1024,
  /** Kernel block timeout: at low rates a batch reaches JS within this time. */
  timeoutMs: 100,
  batchBytes: 4 * 1024 * 1024,
  batchPackets: 8192,
  /** Batches between the capture thread and JS. */
  ringBatches: 8,
} as const;

export interface LiveSourceOptions {
  /** BPF filter (tcpdump syntax), run in the kernel. */
  filter?: string;
  /** Bytes kept per packet, 64..262144 (default 262144). */
  snaplen?: number;
  /** Put the interface in promiscuous mode (default true; a span port needs it). */
  promiscuous?: boolean;
  /** Kernel capture buffer in bytes (default 64 MiB). */
  bufferSize?: number;
  /** Kernel block timeout in ms, 1..10000 (default 100): latency of a batch at low rates. */
  timeoutMs?: number;
  /** Bytes per batch (default 4 MiB, at least snaplen). */
  batchBytes?: number;
  /** Packets per batch (default 8192). */
  batchPackets?: number;
  /** Batches buffered between the capture thread and JS, 2..1024 (default 8). */
  ringBatches?: number;
}

/** Capture statistics. `received`/`dropped`/`ifDropped` are libpcap's pcap_stats, refreshed once a second. */
export interface LiveStats {
  /** Packets that passed the filter in the kernel, including those dropped (Linux semantics). */
  received: number;
  /** Dropped by the kernel because its buffer was full (JS and the capture thread fell behind). */
  dropped: number;
  /** Dropped by the interface or its driver before the kernel saw them. */
  ifDropped: number;
  /** Packets the capture thread took from libpcap. */
  captured: number;
  /** Packets left in the kernel ring when capture ended (they arrived after stop() finished draining). */
  unreadAtStop: number;
  /** Captured packets thrown away because close() came before they were read (0 after stop + drain). */
  discardedAtClose: number;
}

interface LiveBinding extends NativeBinding {
  openLive(device: string, opts: Record<string, unknown>, onReady: () => void): NativeHandle;
  stopLive(h: NativeHandle): void;
  liveStats(h: NativeHandle): LiveStats & { state: number; nanosecond: boolean };
}

const STATE_ENDED = 2;
/** Linux IFNAMSIZ - 1. */
const MAX_IFACE_LENGTH = 15;

const OPTION_KEYS: ReadonlySet<string> = new Set([
  'filter',
  'snaplen',
  'promiscuous',
  'bufferSize',
  'timeoutMs',
  'batchBytes',
  'batchPackets',
  'ringBatches',
]);

function checkInt(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new TypeError(`${name} must be an integer, got ${typeof v === 'number' ? v : typeof v}`);
  }
  if (v < min || v > max) throw new RangeError(`${name} must be between ${min} and ${max}, got ${v}`);
  return v;
}

type Resolved = Required<Omit<LiveSourceOptions, 'filter'>> & { filter: string | undefined };

function validateOptions(opts: unknown): Resolved {
  const out: Resolved = { ...LIVE_DEFAULTS, filter: undefined };
  if (opts === undefined || opts === null) return out;
  if (typeof opts !== 'object' || Array.isArray(opts)) throw new TypeError('options must be an object');
  for (const key of Object.keys(opts)) {
    if (!OPTION_KEYS.has(key)) throw new TypeError(`unknown option "${key}"`);
  }
  const o = opts as Record<string, unknown>;
  if (o.filter !== undefined) {
    if (typeof o.filter !== 'string') throw new TypeError('filter must be a string');
    if (o.filter.includes('\0')) throw new TypeError('filter must not contain NUL characters');
    out.filter = o.filter.trim() === '' ? undefined : o.filter;
  }
  if (o.promiscuous !== undefined) {
    if (typeof o.promiscuous !== 'boolean') throw new TypeError('promiscuous must be a boolean');
    out.promiscuous = o.promiscuous;
  }
  if (o.snaplen !== undefined) out.snaplen = checkInt('snaplen', o.snaplen, 64, 262144);
  if (o.bufferSize !== undefined) out.bufferSize = checkInt('bufferSize', o.bufferSize, 65536, 2 ** 31 - 1);
  if (o.timeoutMs !== undefined) out.timeoutMs = checkInt('timeoutMs', o.timeoutMs, 1, 10_000);
  if (o.batchPackets !== undefined) out.batchPackets = checkInt('batchPackets', o.batchPackets, 1, 1 << 22);
  if (o.ringBatches !== undefined) out.ringBatches = checkInt('ringBatches', o.ringBatches, 2, 1024);
  if (o.batchBytes !== undefined) out.batchBytes = checkInt('batchBytes', o.batchBytes, 65536, 1 << 30);
  if (out.batchBytes < out.snaplen) {
    throw new RangeError(`batchBytes (${out.batchBytes}) must be at least snaplen (${out.snaplen})`);
  }
  return out;
}

function checkIface(iface: unknown): string {
  if (typeof iface !== 'string') throw new TypeError('interface must be a string');
  if (iface === '') throw new TypeError('interface must not be empty');
  if (iface.length > MAX_IFACE_LENGTH || /[\s/\0]/.test(iface)) {
    throw new TypeError(`interface name "${iface}" is not valid: at most ${MAX_IFACE_LENGTH} characters, no spaces or "/"`);
  }
  return iface;
}

/** Interfaces present on this host (for the "no such interface" message), or [] if unknown. */
function listInterfaces(): string[] {
  try {
    return readdirSync('/sys/class/net').sort();
  } catch {
    return [];
  }
}

const KINDS: ReadonlySet<string> = new Set(['not-found', 'permission', 'bad-filter', 'read-error']);

/** The addon's open error ({code: kind, message: libpcap text}) as a one-line CaptureError naming the interface. */
function fromNative(e: unknown, iface: string, filter: string | undefined): unknown {
  if (!(e instanceof Error) || e instanceof TypeError || e instanceof RangeError) return e;
  const code = (e as Error & { code?: unknown }).code;
  const kind: CaptureErrorKind = typeof code === 'string' && KINDS.has(code) ? (code as CaptureErrorKind) : 'read-error';
  const detail = e.message.replace(/\s+/g, ' ').trim();
  let message: string;
  switch (kind) {
    case 'not-found': {
      const present = listInterfaces();
      message = `${iface}: no such interface${present.length > 0 ? ` (present: ${present.join(', ')})` : ''}`;
      break;
    }
    case 'permission':
      message = `${iface}: permission denied: live capture needs root or CAP_NET_RAW${detail ? ` (${detail})` : ''}`;
      break;
    case 'bad-filter':
      message = `${iface}: bad filter ${JSON.stringify(filter ?? '')}${detail ? `: ${detail}` : ''}`;
      break;
    default:
      message = `${iface}: cannot capture${detail ? `: ${detail}` : ''}`;
  }
  return new CaptureError(kind, iface, message, { cause: e });
}

export class LiveSource implements PacketSource {
  /** Interface name. */
  readonly iface: string;
  /** pcap_datalink of the interface, e.g. 1 for Ethernet. */
  readonly linkType: number;
  /** pcap_datalink_val_to_name, e.g. "EN10MB". */
  readonly linkTypeName: string;
  readonly snaplen: number;
  readonly filter: string | undefined;
  readonly promiscuous: boolean;
  readonly bufferSize: number;
  /** True when the kernel gives nanosecond timestamps (else µs, scaled to ns in `meta`). */
  readonly nanosecond: boolean;
  /** Frame bytes of the current batch (reused). */
  readonly data: Uint8Array;
  /** META_STRIDE numbers per packet of the current batch (reused); see Meta in pcap-source.ts. */
  readonly meta: Float64Array;

  #native: LiveBinding;
  #handle: NativeHandle | null;
  #packets = 0;
  #waiter: (() => void) | null = null;
  #final: { stats: LiveStats; warning: string | undefined } | undefined;

  private constructor(native: LiveBinding, iface: string, o: Resolved) {
    this.#native = native;
    this.iface = iface;
    this.filter = o.filter;
    this.promiscuous = o.promiscuous;
    this.bufferSize = o.bufferSize;
    this.data = new Uint8Array(o.batchBytes);
    this.meta = new Float64Array(o.batchPackets * META_STRIDE);
    let handle: NativeHandle;
    try {
      handle = native.openLive(
        iface,
        {
          filter: o.filter ?? null,
          snaplen: o.snaplen,
          promiscuous: o.promiscuous,
          bufferSize: o.bufferSize,
          timeoutMs: o.timeoutMs,
          batchBytes: o.batchBytes,
          batchPackets: o.batchPackets,
          ringBatches: o.ringBatches,
        },
        () => this.#onReady(),
      );
    } catch (e) {
      throw fromNative(e, iface, o.filter);
    }
    this.#handle = handle;
    const info = native.info(handle);
    this.linkType = info.linkType;
    this.linkTypeName = info.linkTypeName ?? `DLT_${info.linkType}`;
    this.snaplen = info.snaplen;
    this.nanosecond = native.liveStats(handle).nanosecond;
  }

  /**
   * Starts capturing on `iface` (needs root or CAP_NET_RAW). Throws CaptureError: 'not-found' (no such
   * interface), 'permission', 'bad-filter', 'read-error' (anything else libpcap refuses, e.g. interface down);
   * TypeError/RangeError for bad arguments.
   */
  static open(iface: string, opts?: LiveSourceOptions): LiveSource {
    const name = checkIface(iface);
    const o = validateOptions(opts);
    return new LiveSource(loadNative() as LiveBinding, name, o);
  }

  #onReady(): void {
    const w = this.#waiter;
    this.#waiter = null;
    w?.();
  }

  /** Copies the oldest captured batch into data/meta and returns its packet count; 0 if none is ready. Never blocks. */
  next(): number {
    if (this.#handle === null) return 0;
    const n = this.#native.next(this.#handle, this.data, this.meta);
    this.#packets += n;
    return n;
  }

  /**
   * The next batch: resolves with its packet count as soon as one is captured, with 0 when none came within
   * `timeoutMs` (a tick: the caller can expire idle flows), or with -1 once capture has ended (after stop(), or
   * on an error: see `warning`) and every captured batch was returned. One call at a time.
   */
  async nextAsync(timeoutMs = 1000): Promise<number> {
    if (this.#waiter !== null) throw new Error('nextAsync() is already waiting');
    const n = this.next();
    if (n > 0) return n;
    if (this.ended) return -1;
    // next() returned 0 and told the capture thread we wait: it calls onReady once a batch or the end is ready.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#waiter = null;
        resolve();
      }, timeoutMs);
      this.#waiter = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    const m = this.next();
    if (m > 0) return m;
    return this.ended ? -1 : 0;
  }

  /**
   * Stops capturing. The capture thread first reads what the kernel already queued (bounded, ~2 s at most), so
   * every packet that arrived before stop() still comes out of next()/nextAsync(), then nextAsync() gives -1.
   */
  stop(): void {
    if (this.#handle !== null) this.#native.stopLive(this.#handle);
  }

  /** True once capture has ended and every captured batch was returned. */
  get ended(): boolean {
    if (this.#handle === null) return true;
    return this.#native.liveStats(this.#handle).state === STATE_ENDED;
  }

  /** Why capture ended early (e.g. "the interface went down"), else undefined. Set once `ended`. */
  get warning(): string | undefined {
    if (this.#final) return this.#final.warning;
    return this.#native.counters(this.#handle as NativeHandle).warning ?? undefined;
  }

  /** Packets returned by next() so far. */
  get packetsRead(): number {
    return this.#packets;
  }

  /** Kernel and interface counters (pcap_stats, refreshed once a second and at the end) and capture losses. */
  stats(): LiveStats {
    if (this.#final) return { ...this.#final.stats };
    const { received, dropped, ifDropped, captured, unreadAtStop, discardedAtClose } = this.#native.liveStats(
      this.#handle as NativeHandle,
    );
    return { received, dropped, ifDropped, captured, unreadAtStop, discardedAtClose };
  }

  /** The interface, for messages (PacketSource). */
  get name(): string {
    return this.iface;
  }

  /** Stops the capture thread and releases the handle. Idempotent; stats() and warning stay readable. */
  close(): void {
    if (this.#handle === null) return;
    const h = this.#handle;
    this.#native.close(h);
    this.#final = { stats: this.stats(), warning: this.#native.counters(h).warning ?? undefined };
    this.#handle = null;
    this.#onReady();
  }
}
