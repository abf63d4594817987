/**
 * PcapSource: reads pcap / pcapng files (optionally gzip-compressed) through the sensor_pcap addon
 * in batches: a PacketSource (batch.ts, with the layout of `meta`). One next() call fills the reused `data` /
 * `meta` buffers with many packets:
 *
 *   const src = PcapSource.openFile('capture.pcap');
 *   for (let n = src.next(); n > 0; n = src.next()) {
 *     for (let i = 0; i < n; i++) {
 *       const m = i * META_STRIDE;
 *       const frame = src.data.subarray(src.meta[m + Meta.Offset], src.meta[m + Meta.Offset] + src.meta[m + Meta.CapLen]);
 *       // timestamps: src.meta[m + Meta.TsSec] s + src.meta[m + Meta.TsNsec] ns
 *     }
 *   }
 *   if (src.warning) log.warn(src.warning);
 *   src.close();
 *
 * The contents of data/meta are only valid until the next call to next().
 */
import * as fs from 'node:fs';
import { loadNative, type NativeBinding, type NativeCounters, type NativeHandle } from './native.js';
import { CAPTURE_ERROR_KINDS, CaptureError, META_STRIDE, type CaptureErrorKind, type PacketSource } from './batch.js';

const DEFAULT_BATCH_BYTES = 4 * 1024 * 1024;
const DEFAULT_BATCH_PACKETS = 8192;
const MAX_BATCH_BYTES = 1024 * 1024 * 1024;
const MAX_BATCH_PACKETS = 1 << 22;

export interface PcapSourceOptions {
  /** BPF filter (tcpdump syntax), applied by libpcap before packets reach JS. */
  filter?: string;
  /** Size of the reused `data` buffer (default 4 MiB). A larger packet is truncated to fit (see `oversize`). */
  batchBytes?: number;
  /** Packets per batch, i.e. rows of `meta` (default 8192). */
  batchPackets?: number;
}

const OPTION_KEYS: ReadonlySet<string> = new Set(['filter', 'batchBytes', 'batchPackets']);

function checkInt(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new TypeError(`${name} must be an integer, got ${typeof v === 'number' ? v : typeof v}`);
  }
  if (v < min || v > max) throw new RangeError(`${name} must be between ${min} and ${max}, got ${v}`);
  return v;
}

function validateOptions(opts: unknown): Required<Omit<PcapSourceOptions, 'filter'>> & { filter: string | undefined } {
  if (opts === undefined || opts === null) {
    return { filter: undefined, batchBytes: DEFAULT_BATCH_BYTES, batchPackets: DEFAULT_BATCH_PACKETS };
  }
  if (typeof opts !== 'object' || Array.isArray(opts)) throw new TypeError('options must be an object');
  for (const key of Object.keys(opts)) {
    if (!OPTION_KEYS.has(key)) throw new TypeError(`unknown option "${key}"`);
  }
  const o = opts as Record<string, unknown>;
  let filter: string | undefined;
  if (o.filter !== undefined) {
    if (typeof o.filter !== 'string') throw new TypeError('filter must be a string');
    if (o.filter.includes('\0')) throw new TypeError('filter must not contain NUL characters');
    filter = o.filter.trim() === '' ? undefined : o.filter;
  }
  const batchBytes =
    o.batchBytes === undefined ? DEFAULT_BATCH_BYTES : checkInt('batchBytes', o.batchBytes, 1, MAX_BATCH_BYTES);
  const batchPackets =
    o.batchPackets === undefined
      ? DEFAULT_BATCH_PACKETS
      : checkInt('batchPackets', o.batchPackets, 1, MAX_BATCH_PACKETS);
  return { filter, batchBytes, batchPackets };
}

const ERRNO_KINDS: Readonly<Record<string, CaptureErrorKind>> = {
  ENOENT: 'not-found',
  ENOTDIR: 'not-found',
  EACCES: 'permission',
  EPERM: 'permission',
  EISDIR: 'is-directory',
};

function describe(kind: CaptureErrorKind, path: string, detail: string): string {
  switch (kind) {
    case 'not-found':
      return `${path}: no such file`;
    case 'permission':
      return `${path}: permission denied`;
    case 'is-directory':
      return `${path}: is a directory`;
    case 'empty':
      return `${path}: empty file`;
    case 'not-a-capture':
      return `${path}: not a capture file${detail}`;
    case 'unsupported':
      return `${path}: unsupported capture format${detail}`;
    case 'bad-filter':
      return `${path}: bad filter${detail}`;
    case 'read-error':
      return `${path}: read error${detail}`;
  }
}

/** Existence, permission, directory and empty checks in JS, for exact messages before libpcap runs. */
function precheck(path: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(path);
    if (!st.isDirectory()) fs.accessSync(path, fs.constants.R_OK);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const kind = (err.code && ERRNO_KINDS[err.code]) || 'read-error';
    const detail = kind === 'read-error' ? `: ${err.message}` : '';
    throw new CaptureError(kind, path, describe(kind, path, detail), { cause: e });
  }
  if (st.isDirectory()) throw new CaptureError('is-directory', path, describe('is-directory', path, ''));
  if (st.isFile() && st.size === 0) throw new CaptureError('empty', path, describe('empty', path, ''));
}

/** Turns the addon's open error ({code: kind, message: libpcap text, magic?, gzip}) into a CaptureError. */
function fromNative(e: unknown, path: string, filter: string | undefined): unknown {
  if (!(e instanceof Error) || e instanceof TypeError || e instanceof RangeError) return e;
  const ne = e as Error & { code?: unknown; magic?: unknown; gzip?: unknown };
  const kind: CaptureErrorKind =
    typeof ne.code === 'string' && CAPTURE_ERROR_KINDS.has(ne.code) ? (ne.code as CaptureErrorKind) : 'read-error';
  const libpcap = ne.message.replace(/\s+/g, ' ').trim();
  let detail = libpcap ? `: ${libpcap}` : '';
  if (kind === 'not-a-capture' && typeof ne.magic === 'number') {
    const hex = ne.magic.toString(16).padStart(8, '0');
    detail = ` (unknown magic 0x${hex}${ne.gzip === true ? ' inside gzip' : ''})`;
  } else if (kind === 'bad-filter') {
    detail = ` ${JSON.stringify(filter ?? '')}${detail}`;
  }
  let message = describe(kind, path, detail);
  if (kind === 'empty' && ne.gzip === true) message += ' (gzip with no data)';
  return new CaptureError(kind, path, message, { cause: e });
}

export class PcapSource implements PacketSource {
  readonly path: string;
  /** pcap_datalink of the file, e.g. 1 for Ethernet. */
  readonly linkType: number;
  /** pcap_datalink_val_to_name, e.g. "EN10MB" ("DLT_<n>" if libpcap has no name). */
  readonly linkTypeName: string;
  /** True when the file was gzip-compressed. */
  readonly compressed: boolean;
  /** Snapshot length from the file header. */
  readonly snaplen: number;
  /** The BPF filter in effect, if any. */
  readonly filter: string | undefined;
  /** Frame bytes of the current batch (reused). */
  readonly data: Uint8Array;
  /** META_STRIDE numbers per packet of the current batch (reused); see Meta. */
  readonly meta: Float64Array;

  #native: NativeBinding;
  #handle: NativeHandle | null;
  #packets = 0;
  #final: NativeCounters | undefined;

  private constructor(
    native: NativeBinding,
    handle: NativeHandle,
    path: string,
    filter: string | undefined,
    batchBytes: number,
    batchPackets: number,
  ) {
    this.#native = native;
    this.#handle = handle;
    const info = native.info(handle);
    this.path = path;
    this.filter = filter;
    this.linkType = info.linkType;
    this.linkTypeName = info.linkTypeName ?? `DLT_${info.linkType}`;
    this.compressed = info.compressed;
    this.snaplen = info.snaplen;
    this.data = new Uint8Array(batchBytes);
    this.meta = new Float64Array(batchPackets * META_STRIDE);
  }

  /** The file, for messages (PacketSource). */
  get name(): string {
    return this.path;
  }

  /** Opens a pcap or pcapng file (gzip detected by content). Throws CaptureError. */
  static openFile(path: string, opts?: PcapSourceOptions): PcapSource {
    if (typeof path !== 'string') throw new TypeError('path must be a string');
    if (path === '') throw new TypeError('path must not be empty');
    if (path.includes('\0')) throw new TypeError('path must not contain NUL characters');
    const { filter, batchBytes, batchPackets } = validateOptions(opts);
    const native = loadNative();
    precheck(path);
    let handle: NativeHandle;
    try {
      handle = native.openOffline(path, filter ?? null);
    } catch (e) {
      throw fromNative(e, path, filter);
    }
    return new PcapSource(native, handle, path, filter, batchBytes, batchPackets);
  }

  /**
   * Fills `data` / `meta` with the next batch and returns its packet count; 0 means end of input
   * (also after close()). A file that is cut short ends normally here and sets `warning`.
   */
  next(): number {
    if (this.#handle === null) return 0;
    const n = this.#native.next(this.#handle, this.data, this.meta);
    this.#packets += n;
    return n;
  }

  #counters(): NativeCounters {
    return this.#final ?? this.#native.counters(this.#handle as NativeHandle);
  }

  /** Why the input ended abnormally (one line, e.g. libpcap's "truncated dump file; ..."), else undefined. */
  get warning(): string | undefined {
    return this.#counters().warning ?? undefined;
  }

  /** Packets returned by next() so far. */
  get packetsRead(): number {
    return this.#packets;
  }

  /** Bytes of the file consumed so far (compressed bytes for gzip): compare with the file size for progress. */
  get bytesRead(): number {
    return this.#counters().filePos;
  }

  /** Frame bytes copied into batches so far. */
  get capturedBytes(): number {
    return this.#counters().capturedBytes;
  }

  /** Packets larger than the whole `data` buffer, truncated to batchBytes. */
  get oversize(): number {
    return this.#counters().oversize;
  }

  /** Offline: received = packets read, no drops. */
  stats(): { received: number; dropped: number; ifDropped: number } {
    if (this.#handle === null) return { received: this.#packets, dropped: 0, ifDropped: 0 };
    return this.#native.stats(this.#handle);
  }

  /** Releases the file and libpcap handle. Idempotent; counters and warning stay readable. */
  close(): void {
    if (this.#handle === null) return;
    this.#final = this.#native.counters(this.#handle);
    this.#native.close(this.#handle);
    this.#handle = null;
  }
}
