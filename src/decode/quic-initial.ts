/**
 * The server name of a QUIC flow, from the TLS ClientHello its client sends in Initial packets (RFC 9000 §17.2.2),
 * which are encrypted with keys anyone can derive from the packet's Destination Connection ID (RFC 9001 §5.2):
 * derive the client's Initial keys, remove header protection (§5.4), authenticate and decrypt the payload
 * (AES-128-GCM, the tag checked: a packet that is not the client's Initial under these keys — the server's, a
 * corrupt one — is not read), walk its frames (PADDING, PING, ACK, CRYPTO; any other frame ends the walk), put the
 * CRYPTO data back in order and hand the ClientHello to server-name.ts's parser.
 *
 * Versions: QUIC v1 (RFC 9000), v2 (RFC 9369: its own salt, labels and Initial type bits), the IETF drafts 23 to 34,
 * Facebook mvfst's draft versions (0xfaceb001 = draft-22, 0xfaceb002 / 0xfaceb00e = draft-27), Google's T050 and
 * T051 (TLS over IETF-style Initial packets, gQUIC frame numbers), and the reserved versions 0x?a?a?a?a a client sends
 * to force version negotiation (protected as draft-29). Google QUIC's own handshake, a CHLO message whose `SNI` tag
 * holds the name: in cleartext in the first packet for Q024-Q046 (its CHLO found within the packet's first bytes,
 * behind the public or long header), in an encrypted Initial for Q050 (read as above). Not read: 0-RTT packets (the
 * name was in the Initial before them), Retry (no ClientHello), and a ClientHello whose server_name lies beyond
 * REASSEMBLY_BYTES or beyond the flow's first packets.
 *
 * A ClientHello split over several Initial packets (Chrome's post-quantum key share makes it ~1.8 kB; coalesced
 * packets in one datagram too) is put together per flow in a fixed slab of REASSEMBLY_FLOWS entries of
 * REASSEMBLY_BYTES each: an entry is taken by the flow's first Initial that decrypts, kept with the keys it used (a
 * client keeps the keys of its first Destination Connection ID when it changes to the server's), and freed when the
 * name is read or the ClientHello is complete; when all are in use, a packet holding a ClientHello's start takes
 * over the least recently used (a packet without one waits for a free entry). Nothing
 * is allocated after construction; bad bytes never throw (every length is checked against the datagram).
 */

import { Aes128, Aes128Gcm, Hkdf, expandLabelInfo } from './quic-crypto.js';
import { ServerNameRead, type ServerNameReader } from './server-name.js';

/** Flows whose ClientHello can be in reassembly at once, and the bytes of ClientHello kept for each. */
export const REASSEMBLY_FLOWS = 16;
export const REASSEMBLY_BYTES = 4096;
/** The longest QUIC packet copied to be decrypted (a UDP payload's maximum). */
const PACKET_MAX = 65535;
/** AES-GCM's tag, and header protection's sample (RFC 9001 §5.4.2). */
const TAG = 16;
const SAMPLE = 16;
/** Per key set: the AEAD key, its IV, the header protection key. */
const KEY = 0;
const IV = 16;
const HP = 28;
const KEYS = 44;

/** What one version changes: its Initial salt, its key labels, the long header's type bits of an Initial. */
interface QuicVersion {
  salt: Uint8Array;
  keyInfo: Uint8Array;
  ivInfo: Uint8Array;
  hpInfo: Uint8Array;
  initialType: number;
  retryType: number;
  /** Google's T05x: frames in gQUIC's numbering (PADDING 0x00, CRYPTO 0x08; nothing else read). */
  google: boolean;
}

const hex = (h: string): Uint8Array => Uint8Array.from(h.match(/../g)!, (b) => parseInt(b, 16));
const CLIENT_IN = expandLabelInfo('client in', 32);
const v1Labels = { keyInfo: expandLabelInfo('quic key', 16), ivInfo: expandLabelInfo('quic iv', 12), hpInfo: expandLabelInfo('quic hp', 16), initialType: 0, retryType: 3, google: false };
const v2Labels = { keyInfo: expandLabelInfo('quicv2 key', 16), ivInfo: expandLabelInfo('quicv2 iv', 12), hpInfo: expandLabelInfo('quicv2 hp', 16), initialType: 1, retryType: 0, google: false };
/** RFC 9001 §5.2. */
const V1: QuicVersion = { salt: hex('38762cf7f55934b34d179ae6a4c80cadccbb7f0a'), ...v1Labels };
/** RFC 9369 §3.3.1, §3.3.2, §3.2. */
const V2: QuicVersion = { salt: hex('0dede3def700a6db819381be6e269dcbf9bd2ed9'), ...v2Labels };
/** draft-ietf-quic-tls-29 §5.2 (drafts 29 to 32). */
const DRAFT_29: QuicVersion = { salt: hex('afbfec289993d24c9e9786f19c6111e04390a899'), ...v1Labels };
/** draft-ietf-quic-tls-23 §5.2 (drafts 23 to 28). */
const DRAFT_23: QuicVersion = { salt: hex('c3eef712c72ebb5a11a7d2432bb46365bef9f502'), ...v1Labels };
/** draft-ietf-quic-tls-21/22 §5.2. */
const DRAFT_22: QuicVersion = { salt: hex('7fbcdb0e7c66bbe9193a96cd21519ebd7a02644a'), ...v1Labels };
/** Google's T050 and T051 (Chromium's quic_crypto salts for its TLS versions). */
const T050: QuicVersion = { salt: hex('7ff579e5acd072915580304c43a2367c60488310'), ...v1Labels, google: true };
const T051: QuicVersion = { salt: hex('7a4edef4e7ccee5fa4506c19124fc8ccda6e033d'), ...v1Labels, google: true };
/** Google's Q050: a CHLO (not TLS) in CRYPTO frames of an IETF-style Initial. */
const Q050: QuicVersion = { salt: hex('504574efd066fe2f9d945cfcdbd3a7f0d3b56b45'), ...v1Labels, google: true };

/** The parameters of QUIC version `v`, or null when its Initial packets are not read. */
export function quicVersion(v: number): QuicVersion | null {
  if (v === 0x00000001) return V1;
  if (v === 0x6b3343cf) return V2;
  if (v >= 0xff000017 && v <= 0xff00001c) return DRAFT_23;
  if (v >= 0xff00001d && v <= 0xff000020) return DRAFT_29;
  if (v === 0xff000021 || v === 0xff000022) return V1; // drafts 33 and 34 took the final salt
  if (v === 0xfaceb001) return DRAFT_22;
  if (v === 0xfaceb002 || v === 0xfaceb00e) return DRAFT_23;
  if (v === 0x54303530) return T050;
  if (v === 0x54303531) return T051;
  if (v === 0x51303530) return Q050;
  // A reserved version (RFC 9000 §15), sent to make the server answer with Version Negotiation: read as draft-29
  // (what Wireshark assumes, and what the clients of the time did); the tag says whether that was so.
  if ((v & 0x0f0f0f0f) === 0x0a0a0a0a) return DRAFT_29;
  return null;
}

/**
 * Could the UDP payload `buf[start .. end)` be a QUIC long-header packet of a version read here, or a Google QUIC
 * packet in cleartext? (A few byte tests.)
 */
export function isQuicInitialCandidate(buf: Uint8Array, start: number, end: number): boolean {
  if (end - start < 7) return false;
  if ((buf[start]! & 0x80) !== 0 && quicVersion(((buf[start + 1]! << 24) | (buf[start + 2]! << 16) | (buf[start + 3]! << 8) | buf[start + 4]!) >>> 0) !== null) return true;
  return gquicCleartext(buf, start, end);
}

/**
 * A Google QUIC packet of a version whose handshake is in cleartext (Q024-Q046): the version `Q0dd` (dd < 50) after
 * a long header's first byte (Q046), or in a public header with the version flag (0x01), after the 8-byte
 * connection ID when its flag (0x08) is set.
 */
function gquicCleartext(buf: Uint8Array, p: number, end: number): boolean {
  if (end - p < 13) return false;
  const b0 = buf[p]!;
  const v = (b0 & 0x80) !== 0 ? p + 1 : (b0 & 0x01) !== 0 ? ((b0 & 0x08) !== 0 ? p + 9 : p + 1) : -1;
  if (v < 0) return false;
  const d1 = buf[v + 2]!;
  const d2 = buf[v + 3]!;
  return buf[v] === 0x51 && buf[v + 1] === 0x30 && d1 >= 0x30 && d1 <= 0x34 && d2 >= 0x30 && d2 <= 0x39;
}

/** Where Google QUIC's cleartext CHLO is looked for: within this many bytes of the packet's start. */
const GQUIC_CHLO_WITHIN = 64;
const isChlo = (b: Uint8Array, p: number): boolean => b[p] === 0x43 && b[p + 1] === 0x48 && b[p + 2] === 0x4c && b[p + 3] === 0x4f;

export class QuicInitialReader {
  /** Per entry: the flow slot it reassembles for (-1 = free), when it was last used, its keys, bytes contiguous from 0. */
  private readonly owner = new Int32Array(REASSEMBLY_FLOWS).fill(-1);
  private readonly lastUsed = new Float64Array(REASSEMBLY_FLOWS);
  private readonly keys = new Uint8Array(REASSEMBLY_FLOWS * KEYS);
  private readonly contiguous = new Uint32Array(REASSEMBLY_FLOWS);
  /** Per entry: REASSEMBLY_BYTES of CRYPTO data, and which of those bytes arrived. */
  private readonly data = new Uint8Array(REASSEMBLY_FLOWS * REASSEMBLY_BYTES);
  private readonly arrived = new Uint8Array(REASSEMBLY_FLOWS * REASSEMBLY_BYTES);
  private clock = 0;
  /** The packet being decrypted (never the caller's buffer), keys derived from its DCID, header-protection work. */
  private readonly packet = new Uint8Array(PACKET_MAX);
  private readonly derived = new Uint8Array(KEYS);
  private readonly secret = new Uint8Array(32);
  private readonly clientSecret = new Uint8Array(32);
  private readonly nonce = new Uint8Array(12);
  private readonly mask = new Uint8Array(16);
  private readonly hkdf = new Hkdf();
  private readonly hp = new Aes128();
  private readonly gcm = new Aes128Gcm();
  /** Where the last varint read ended. */
  private at = 0;

  /** `names` parses the ClientHello and writes the name (its `length`). */
  constructor(private readonly names: ServerNameReader) {}

  /**
   * The UDP payload `buf[start .. end)` of the flow in `slot`: read the Initial packets in it; returns the
   * ClientHello's name (written at `out[outOff ..]`, length in the ServerNameReader) once the ClientHello is
   * complete enough, else None.
   */
  read(slot: number, buf: Uint8Array, start: number, end: number, out: Uint8Array, outOff: number): ServerNameRead {
    if (end > buf.length) end = buf.length;
    if (start < 0 || start >= end) return ServerNameRead.None;
    if (gquicCleartext(buf, start, end)) {
      // The CHLO, in the first packet's STREAM frame for stream 1, right after the headers and the 12-byte hash.
      const stop = Math.min(end - 8, start + GQUIC_CHLO_WITHIN);
      for (let q = start + 9; q <= stop; q++) if (isChlo(buf, q)) return this.chlo(buf, q, end, out, outOff);
      return ServerNameRead.None;
    }
    let entry = -1;
    let p = start;
    // Each long-header packet coalesced in the datagram (RFC 9000 §12.2); a short header takes the rest.
    while (p >= 0 && end - p >= 7 && (buf[p]! & 0x80) !== 0) {
      const v = quicVersion(((buf[p + 1]! << 24) | (buf[p + 2]! << 16) | (buf[p + 3]! << 8) | buf[p + 4]!) >>> 0);
      if (v === null) break;
      let q = p + 5;
      const dcidLen = buf[q]!;
      if (dcidLen > 20) break;
      const dcid = q + 1;
      q = dcid + dcidLen;
      if (q >= end) break;
      const scidLen = buf[q]!;
      if (scidLen > 20) break;
      q += 1 + scidLen;
      const type = (buf[p]! >> 4) & 3;
      if (type === v.retryType) break; // a Retry has no Length: nothing after it can be found
      if (type === v.initialType) {
        const tokenLen = this.varint(buf, q, end);
        if (tokenLen < 0) break;
        q = this.at + tokenLen;
      }
      const length = this.varint(buf, q, end);
      if (length < 0) break;
      const pnOff = this.at;
      const packetEnd = pnOff + length;
      if (packetEnd > end) break;
      if (type === v.initialType) {
        const e = this.initialPacket(slot, buf, p, packetEnd, dcid, dcidLen, pnOff, v);
        if (e >= 0) entry = e;
      }
      p = packetEnd;
    }
    return entry < 0 ? ServerNameRead.None : this.clientHello(entry, out, outOff);
  }

  /**
   * One Initial packet `buf[p .. packetEnd)`, its packet number at `pnOff`: decrypt it with the flow's entry's keys
   * or, failing that, with keys from its DCID (then the entry starts again); add its CRYPTO data to the entry.
   * Returns the entry, or -1 when the packet does not decrypt.
   */
  private initialPacket(slot: number, buf: Uint8Array, p: number, packetEnd: number, dcid: number, dcidLen: number, pnOff: number, v: QuicVersion): number {
    const len = packetEnd - p;
    const pn = pnOff - p;
    if (len > PACKET_MAX || pn + 4 + SAMPLE > len || len - pn < 1 + TAG) return -1;
    let e = -1;
    for (let i = 0; i < REASSEMBLY_FLOWS; i++) if (this.owner[i] === slot) e = i;
    let payload = -1;
    if (e >= 0) {
      this.copyPacket(buf, p, len);
      payload = this.unprotect(len, pn, this.keys, e * KEYS);
    }
    if (payload < 0) {
      this.deriveKeys(buf, dcid, dcidLen, v);
      this.copyPacket(buf, p, len); // again: a failed try changed the copy's header
      payload = this.unprotect(len, pn, this.derived, 0);
      if (payload < 0) return -1;
      // A new entry; when none is free, only a packet with the ClientHello's start takes over the least recently
      // used one (so the later packets of a flow whose entry was taken over do not take over others in turn).
      if (e < 0) e = this.take(slot, this.frames(-1, payload, len - TAG, v.google));
      if (e < 0) return -1;
      this.keys.set(this.derived, e * KEYS);
      this.contiguous[e] = 0;
      this.arrived.fill(0, e * REASSEMBLY_BYTES, (e + 1) * REASSEMBLY_BYTES);
    }
    this.lastUsed[e] = ++this.clock;
    this.frames(e, payload, len - TAG, v.google);
    return e;
  }

  /** `buf[p .. p+len)` into the packet buffer (a loop: a subarray would be an object per packet). */
  private copyPacket(buf: Uint8Array, p: number, len: number): void {
    const pkt = this.packet;
    for (let i = 0; i < len; i++) pkt[i] = buf[p + i]!;
  }

  /** The client's Initial keys for the DCID `buf[dcid .. +dcidLen)` (RFC 9001 §5.2, §5.1) into `derived`. */
  private deriveKeys(buf: Uint8Array, dcid: number, dcidLen: number, v: QuicVersion): void {
    this.hkdf.extract(v.salt, buf, dcid, dcidLen, this.secret, 0);
    this.hkdf.expandLabel(this.secret, 0, CLIENT_IN, this.clientSecret, 0);
    this.hkdf.expandLabel(this.clientSecret, 0, v.keyInfo, this.derived, KEY);
    this.hkdf.expandLabel(this.clientSecret, 0, v.ivInfo, this.derived, IV);
    this.hkdf.expandLabel(this.clientSecret, 0, v.hpInfo, this.derived, HP);
  }

  /**
   * Remove header protection from the packet copy (`len` bytes, packet number at `pn`) and open its payload with
   * the keys at `keys[k ..]`. Returns where the plaintext starts, or -1 when the tag does not match.
   */
  private unprotect(len: number, pn: number, keys: Uint8Array, k: number): number {
    const pkt = this.packet;
    this.hp.setKey(keys, k + HP).encryptBlock(pkt, pn + 4, this.mask, 0);
    pkt[0] = pkt[0]! ^ (this.mask[0]! & 0x0f);
    const pnLen = (pkt[0]! & 3) + 1;
    for (let i = 0; i < 12; i++) this.nonce[i] = keys[k + IV + i]!;
    for (let i = 0; i < pnLen; i++) {
      pkt[pn + i] = pkt[pn + i]! ^ this.mask[1 + i]!;
      // The packet number, left-padded to the IV's length, xored into it (§5.3). The first packets' numbers are
      // small, so the truncated number is the full one.
      this.nonce[12 - pnLen + i] = this.nonce[12 - pnLen + i]! ^ pkt[pn + i]!;
    }
    const header = pn + pnLen;
    const ctLen = len - header - TAG;
    if (ctLen < 0) return -1;
    this.gcm.setKey(keys, k + KEY);
    return this.gcm.open(this.nonce, 0, pkt, 0, header, header, ctLen) ? header : -1;
  }

  /**
   * The frames of the plaintext `packet[p .. end)` (RFC 9000 §19, or gQUIC's numbering when `google`): CRYPTO data
   * into entry `e` (none when -1); stops at any frame not listed. Returns whether a CRYPTO frame starts at offset 0.
   */
  private frames(e: number, p: number, end: number, google: boolean): boolean {
    let start = false;
    const pkt = this.packet;
    const crypto = google ? 0x08 : 0x06;
    while (p < end) {
      const type = pkt[p]!;
      p++;
      if (type === 0x00 || (type === 0x01 && !google)) continue; // PADDING, PING
      if ((type === 0x02 || type === 0x03) && !google) {
        // ACK: largest, delay, range count, first range, then (gap, range) pairs; ACK_ECN adds three counts.
        let n = 4;
        for (let i = 0; i < n && p >= 0; i++) {
          const x = this.varint(pkt, p, end);
          if (x < 0) return start;
          p = this.at;
          if (i === 2) n += 2 * x + (type === 0x03 ? 3 : 0);
        }
        continue;
      }
      if (type !== crypto) return start;
      const offset = this.varint(pkt, p, end);
      if (offset < 0) return start;
      const length = this.varint(pkt, this.at, end);
      if (length < 0) return start;
      p = this.at;
      if (p + length > end) return start;
      if (offset === 0 && length > 0) start = true;
      if (e >= 0) this.cryptoData(e, offset, p, length);
      p += length;
    }
    return start;
  }

  /** CRYPTO data `packet[from .. +length)` at stream offset `offset`, kept where it falls inside the entry. */
  private cryptoData(e: number, offset: number, from: number, length: number): void {
    const base = e * REASSEMBLY_BYTES;
    const stop = Math.min(offset + length, REASSEMBLY_BYTES);
    for (let o = offset; o < stop; o++) {
      this.data[base + o] = this.packet[from + o - offset]!;
      this.arrived[base + o] = 1;
    }
    let c = this.contiguous[e]!;
    while (c < REASSEMBLY_BYTES && this.arrived[base + c] === 1) c++;
    this.contiguous[e] = c;
  }

  /**
   * The ClientHello of entry `e` so far: its name if the part that arrived holds it; the entry is freed when a
   * name is read or the ClientHello (or the slab's share of it) is complete.
   */
  private clientHello(e: number, out: Uint8Array, outOff: number): ServerNameRead {
    const base = e * REASSEMBLY_BYTES;
    const have = this.contiguous[e]!;
    if (have < 8) return ServerNameRead.None;
    const d = this.data;
    let r: ServerNameRead;
    let whole: number;
    if (isChlo(d, base)) {
      // Q050's CHLO: its header, its tag table, then the values up to the last tag's end offset.
      r = this.chlo(d, base, base + have, out, outOff);
      const n = d[base + 4]! | (d[base + 5]! << 8);
      const last = base + 8 + 8 * n - 4;
      whole = n === 0 ? 8 : have >= 8 + 8 * n ? 8 + 8 * n + (d[last]! | (d[last + 1]! << 8) | (d[last + 2]! << 16)) + d[last + 3]! * 2 ** 24 : Infinity;
    } else {
      r = this.names.clientHello(d, base, base + have, out, outOff);
      whole = d[base] !== 1 ? 0 : 4 + ((d[base + 1]! << 16) | (d[base + 2]! << 8) | d[base + 3]!);
    }
    if (r !== ServerNameRead.None || have >= whole || have === REASSEMBLY_BYTES) this.owner[e] = -1;
    return r;
  }

  /**
   * Google QUIC's client hello at `buf[p ..]` (p at its tag "CHLO"), bounded by `end`: a uint16 count of entries
   * (little-endian, as all of it), 2 bytes of padding, the entries (tag, end offset of its value: 4 bytes each),
   * then the values; the value of the tag "SNI\0" as a name.
   */
  private chlo(buf: Uint8Array, p: number, end: number, out: Uint8Array, outOff: number): ServerNameRead {
    if (p + 8 > end || !isChlo(buf, p)) return ServerNameRead.None;
    const n = buf[p + 4]! | (buf[p + 5]! << 8);
    const values = p + 8 + 8 * n;
    let from = 0;
    for (let i = 0; i < n; i++) {
      const t = p + 8 + 8 * i;
      if (t + 8 > end) return ServerNameRead.None;
      const to = (buf[t + 4]! | (buf[t + 5]! << 8) | (buf[t + 6]! << 16)) + buf[t + 7]! * 2 ** 24;
      if (to < from) return ServerNameRead.None;
      if (buf[t] === 0x53 && buf[t + 1] === 0x4e && buf[t + 2] === 0x49 && buf[t + 3] === 0) {
        if (values + to > end) return ServerNameRead.None;
        return this.names.copyName(buf, values + from, to - from, out, outOff);
      }
      from = to;
    }
    return ServerNameRead.None;
  }

  /** An entry for `slot`: a free one, else (when `evict`) the least recently used; -1 when none. */
  private take(slot: number, evict: boolean): number {
    let e = -1;
    for (let i = 0; i < REASSEMBLY_FLOWS; i++) {
      if (this.owner[i] === -1) {
        e = i;
        break;
      }
      if (evict && (e < 0 || this.lastUsed[i]! < this.lastUsed[e]!)) e = i;
    }
    if (e >= 0) this.owner[e] = slot;
    return e;
  }

  /**
   * The variable-length integer at `buf[p ..]` (RFC 9000 §16), not reading at or past `end`: its value, `at` set
   * past it; -1 when it does not fit or is beyond 2^31 (no length in a datagram is).
   */
  private varint(buf: Uint8Array, p: number, end: number): number {
    if (p >= end) return -1;
    const b0 = buf[p]!;
    const n = 1 << (b0 >> 6);
    if (p + n > end) return -1;
    let v = b0 & 0x3f;
    for (let i = 1; i < n; i++) {
      if (v >= 2 ** 23) return -1;
      v = v * 256 + buf[p + i]!;
    }
    this.at = p + n;
    return v;
  }
}
