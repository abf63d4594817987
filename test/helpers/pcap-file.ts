/**
 * Test-only classic pcap reader and writer (libpcap format: 24-byte file header, 16-byte record headers;
 * microsecond 0xa1b2c3d4 or nanosecond 0xa1b23c4d magic, either byte order; `.gz` files are gunzipped).
 * Lets tests decode real captures without the native addon. Not for production: it reads the whole file.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

export interface PcapRecord {
  /** Timestamp in microseconds since the epoch (nanosecond files are truncated to µs). */
  tsUs: number;
  /** Offset of the frame bytes in `PcapFile.data`. */
  offset: number;
  caplen: number;
  wirelen: number;
}

export interface PcapFile {
  linkType: number;
  snaplen: number;
  nanosecond: boolean;
  bigEndian: boolean;
  /** The whole file: frames are `data[offset .. offset + caplen)`. */
  data: Uint8Array;
  records: PcapRecord[];
}

/** Parse a classic pcap held in memory. A truncated final record is dropped; a bad magic throws. */
export function parsePcap(data: Uint8Array): PcapFile {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.length < 24) throw new Error('pcap: file shorter than its header');
  const magicLe = view.getUint32(0, true);
  let le: boolean;
  let nanosecond: boolean;
  if (magicLe === 0xa1b2c3d4 || magicLe === 0xa1b23c4d) {
    le = true;
    nanosecond = magicLe === 0xa1b23c4d;
  } else {
    const magicBe = view.getUint32(0, false);
    if (magicBe !== 0xa1b2c3d4 && magicBe !== 0xa1b23c4d) throw new Error(`pcap: bad magic 0x${magicBe.toString(16)}`);
    le = false;
    nanosecond = magicBe === 0xa1b23c4d;
  }
  const snaplen = view.getUint32(16, le);
  const linkType = view.getUint32(20, le) & 0x0fffffff; // upper bits: FCS length flags
  const records: PcapRecord[] = [];
  let pos = 24;
  while (pos + 16 <= data.length) {
    const sec = view.getUint32(pos, le);
    const frac = view.getUint32(pos + 4, le);
    const caplen = view.getUint32(pos + 8, le);
    const wirelen = view.getUint32(pos + 12, le);
    if (pos + 16 + caplen > data.length) break;
    records.push({ tsUs: sec * 1e6 + (nanosecond ? Math.floor(frac / 1000) : frac), offset: pos + 16, caplen, wirelen });
    pos += 16 + caplen;
  }
  return { linkType, snaplen, nanosecond, bigEndian: !le, data, records };
}

/** Read a classic pcap file (gunzipped first when the name ends in `.gz`). */
export function readPcapFile(path: string): PcapFile {
  const raw = readFileSync(path);
  const bytes = path.endsWith('.gz') ? gunzipSync(raw) : raw;
  return parsePcap(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

/** A frame to write: its bytes, and optionally a timestamp (µs) and an original length (default: caplen). */
export interface PcapFrame {
  data: Uint8Array;
  tsUs?: number;
  wirelen?: number;
}

/** Writes the 24-byte file header of a little-endian microsecond classic pcap at the start of `view`. */
export function putPcapHeader(view: DataView, linkType: number, snaplen = 262144): void {
  view.setUint32(0, 0xa1b2c3d4, true);
  view.setUint16(4, 2, true);
  view.setUint16(6, 4, true);
  view.setUint32(16, snaplen, true);
  view.setUint32(20, linkType, true);
}

/** Writes a 16-byte record header at `pos` (the frame's bytes follow it); returns where the frame goes. */
export function putRecordHeader(view: DataView, pos: number, tsUs: number, caplen: number, wirelen = caplen): number {
  view.setUint32(pos, Math.floor(tsUs / 1e6), true);
  view.setUint32(pos + 4, tsUs % 1e6, true);
  view.setUint32(pos + 8, caplen, true);
  view.setUint32(pos + 12, wirelen, true);
  return pos + 16;
}

/** Build a little-endian microsecond classic pcap holding `frames` (timestamps default to 1 s apart). */
export function writePcap(linkType: number, frames: (Uint8Array | PcapFrame)[], snaplen = 262144): Uint8Array {
  const norm = frames.map((f) => (f instanceof Uint8Array ? { data: f } : f));
  const size = 24 + norm.reduce((n, f) => n + 16 + f.data.length, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  putPcapHeader(view, linkType, snaplen);
  let pos = 24;
  norm.forEach((f, i) => {
    const at = putRecordHeader(view, pos, f.tsUs ?? 1_700_000_000_000_000 + i * 1_000_000, f.data.length, f.wirelen);
    out.set(f.data, at);
    pos = at + f.data.length;
  });
  return out;
}
