/**
 * Payload-protocol rules for BFCP's floor control and FLUTE's file delivery sessions. Reached by one line of
 * payload-protocol.ts's matchTcp / matchUdp (sessionsTcp / sessionsUdp), after the groups above it there, so none of
 * them takes a packet an earlier rule names. (The HTTP refinements of the same round, SOAP and MpegDash, live in
 * payload-protocol.ts's HTTP rule, which answers every HTTP request first.) A rule for JSON-RPC 2.0 sent raw was
 * written and left out: the suite's nDPI names every flow it took in ../shared/data/ndpi (12, all Stratum mining
 * calls, which are JSON-RPC) Mining, not JSON-RPC.
 */
import { u16 } from './bytes.js';
import { PayloadProtocol } from './protocols.js';

const P = PayloadProtocol as Record<string, number>;
const BFCP = P['BFCP']!;
const FLUTE = P['FLUTE']!;

/** The rules over TCP, each guarding itself by its first byte. */
export function sessionsTcp(b: Uint8Array, p: number, end: number, _sp: number, _dp: number): number {
  const b0 = b[p]!;
  if (b0 === 0x20 || b0 === 0x30) return bfcp(b, p, end, false);
  return 0;
}

/** The same over UDP. */
export function sessionsUdp(b: Uint8Array, p: number, end: number, _sp: number, _dp: number): number {
  const b0 = b[p]!;
  if (b0 === 0x40 || b0 === 0x50) return bfcp(b, p, end, true);
  if (b0 >> 4 === 1) return fluteFdt(b, p, end);
  return 0;
}

/**
 * BFCP (RFC 8855 §5.1, which obsoletes RFC 4582): the 12-byte COMMON-HEADER - Ver (3 bits), R, F, Res (3 bits),
 * Primitive, Payload Length in 4-octet units excluding the header, Conference ID, Transaction ID, User ID - then
 * attributes. Over TCP the version MUST be 1 (RFC 4582's), over UDP 2; Res MUST be zero; the primitive is one of the
 * 17 of §5.1's table (FloorRequest 1 ... GoodbyeAck 17). F marks a fragment of a message too large for a datagram
 * (version 2 only; its Fragment Offset and Length make the header 16 bytes): a fragment is not taken, a
 * conversation's first messages (Hello, FloorRequest) being small. R (a response, in version 2) may be either.
 * Lengths add up exactly: a UDP datagram is one message, 12 + 4 × Payload Length bytes; a TCP segment is one or more
 * whole messages. Each message's payload is attributes (§5.2: Type in 7 bits, M, Length in octets from 2, excluding
 * the padding to a 4-octet boundary) of the 18 types §5.2 defines (BENEFICIARY-ID 1 ... OVERALL-REQUEST-STATUS 18),
 * filling it exactly. BFCP has no registered port (SDP negotiates it, RFC 8856): no port is asked.
 */
function bfcp(b: Uint8Array, p: number, end: number, udp: boolean): number {
  let q = p;
  while (q < end) {
    if (end - q < 12) return 0;
    const b0 = b[q]!;
    if (udp ? b0 !== 0x40 && b0 !== 0x50 : b0 !== 0x20 && b0 !== 0x30) return 0;
    const primitive = b[q + 1]!;
    if (primitive < 1 || primitive > 17) return 0;
    const next = q + 12 + 4 * u16(b, q + 2);
    if (next > end || !bfcpAttributes(b, q + 12, next)) return 0;
    q = next;
    if (udp) break;
  }
  return q === end && q > p ? BFCP : 0;
}

function bfcpAttributes(b: Uint8Array, q: number, end: number): boolean {
  while (q < end) {
    const type = b[q]! >> 1;
    const len = b[q + 1]!;
    if (end - q < 2 || type < 1 || type > 18 || len < 2) return false;
    q += (len + 3) & ~3;
  }
  return q === end;
}

/**
 * FLUTE (RFC 6726; RFC 3926 before it): ALC packets (RFC 5775) whose LCT header (RFC 5651 §5.1; RFC 3451 §5.1 for
 * FLUTE version 1) carries an FDT Instance - the session's file table, sent on TOI 0 with the EXT_FDT header
 * extension (RFC 6726 §3.3, §3.4.1). Only such packets are taken: every other ALC packet is a generic LCT header that
 * other ALC users share (ATSC 3.0's ROUTE, RFC 9223, among them), so nothing else in it names FLUTE.
 *
 * The header: V (4 bits) = 1; C, the congestion control information's size (32 × (C + 1) bits); PSI; S, O and H,
 * the sizes of the TSI (32 × S + 16 × H bits) and TOI (32 × O + 16 × H bits); two bits that RFC 5651 reserves and
 * RFC 3451 used as T and R (a sender current time and an expected residual time, 32 bits each, which are counted
 * when set); A, B; HDR_LEN, the whole header in 32-bit words; the codepoint (not checked: its values are the
 * instantiation's). The TOI is present and 0; the header extensions from the end of the fixed fields fill HDR_LEN
 * exactly (RFC 5651 §5.2: HET ≤ 127 with HEL, its length in 32-bit words, at least 1; HET ≥ 128 one word), and one is
 * EXT_FDT (HET 192) with the FLUTE version 1 or 2; after the header, a FEC Payload ID (at least 4 bytes) and the FDT's
 * data. UDP only, on any port (a session's ports come from its announcement, RFC 6726 §6).
 */
function fluteFdt(b: Uint8Array, p: number, end: number): number {
  const n = end - p;
  if (n < 16) return 0;
  const c = (b[p]! >> 2) & 3;
  const f = b[p + 1]!;
  const s = f >> 7;
  const o = (f >> 5) & 3;
  const h = (f >> 4) & 1;
  const tr = ((f >> 3) & 1) + ((f >> 2) & 1);
  const hdr = 4 * b[p + 2]!;
  const toiLen = 4 * o + 2 * h;
  if (toiLen === 0 || hdr + 4 >= n) return 0;
  const toi = p + 4 + 4 * (c + 1) + 4 * s + 2 * h;
  const last = p + hdr;
  let q = toi + toiLen + 4 * tr;
  if (q > last) return 0;
  for (let k = toi; k < toi + toiLen; k++) if (b[k] !== 0) return 0;
  let fdt = false;
  while (q < last) {
    const het = b[q]!;
    const len = het >= 128 ? 4 : 4 * b[q + 1]!;
    if (len === 0 || q + len > last) return 0;
    if (het === 192) {
      const v = b[q + 1]! >> 4;
      if (v !== 1 && v !== 2) return 0;
      fdt = true;
    }
    q += len;
  }
  return fdt ? FLUTE : 0;
}
