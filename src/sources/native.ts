/**
 * Loader and types for the sensor_pcap N-API addon (native/). The addon does capture and
 * batching only; use PcapSource (pcap-source.ts) rather than calling it directly.
 */
import { createRequire } from 'node:module';
import { checkBatchLayout } from './batch.js';

/** Opaque capture handle returned by openOffline (a type-tagged object). */
export interface NativeHandle {
  readonly __nativeHandle: unique symbol;
}

export interface NativeInfo {
  linkType: number;
  linkTypeName: string | null;
  linkTypeDescription: string | null;
  snaplen: number;
  compressed: boolean;
  type: 'offline';
}

export interface NativeCounters {
  packets: number;
  capturedBytes: number;
  /** Bytes of the file consumed (compressed bytes for gzip). */
  filePos: number;
  oversize: number;
  warning: string | null;
}

export interface NativeBinding {
  /** Per-packet stride of the meta Float64Array, and the offset of each field in a row (checked at load). */
  readonly META_STRIDE: number;
  readonly META_FIELDS: Readonly<Record<string, number>>;
  readonly libVersion: string;
  openOffline(path: string, filter?: string | null): NativeHandle;
  /** Fills data/meta with one batch; returns the packet count, 0 at end of input. */
  next(handle: NativeHandle, data: Uint8Array, meta: Float64Array): number;
  info(handle: NativeHandle): NativeInfo;
  counters(handle: NativeHandle): NativeCounters;
  stats(handle: NativeHandle): { received: number; dropped: number; ifDropped: number };
  close(handle: NativeHandle): void;
}

/** Same relative path from src/sources/ (vitest) and dist/sources/ (compiled): both sit two levels below the root. */
const ADDON_PATH = '../../native/build/Release/sensor_pcap.node';

let binding: NativeBinding | undefined;

/** Loads the addon on first use, so importing this module never fails by itself. */
export function loadNative(): NativeBinding {
  if (binding) return binding;
  const require = createRequire(import.meta.url);
  let loaded: NativeBinding;
  try {
    loaded = require(ADDON_PATH) as NativeBinding;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'MODULE_NOT_FOUND') {
      throw new Error('native addon not built: run npm install (needs libpcap-dev)', { cause: e });
    }
    // Built but not loadable (e.g. libpcap.so missing, built for another Node ABI).
    const reason = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new Error(`native addon failed to load: ${reason} (rebuild with npm install; needs libpcap-dev)`, {
      cause: e,
    });
  }
  checkBatchLayout(loaded);
  binding = loaded;
  return binding;
}
