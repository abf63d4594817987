/**
 * Payload-protocol rules for file transfer, file sharing and collaboration protocols: WebDAV and Microsoft's RPC over
 * HTTP (HTTP request lines with their own methods, which the core HTTP rule leaves alone), Lustre's LNet acceptor and
 * UFTP. Reached by one line of payload-protocol.ts's matchTcp / matchUdp (transferTcp / transferUdp), after the
 * groups above it there, so none of them takes a packet an earlier rule names.
 */
import { u16, i32, i32le, ascii, port, has, lineEnd, isHttp1Version } from './bytes.js';
import { PayloadProtocol } from './protocols.js';

const P = PayloadProtocol as Record<string, number>;
const WEBDAV = P['WebDAV']!;
const MS_RPCH = P['MS-RPCH']!;
const LUSTRE = P['Lustre']!;
const UFTP = P['UFTP']!;

/** The rules over TCP, each guarding itself by its first bytes. */
export function transferTcp(b: Uint8Array, p: number, end: number, _sp: number, _dp: number): number {
  const b0 = b[p]!;
  if (b0 >= 0x41 && b0 <= 0x5a) return extensionRequest(b, p, end);
  if (b0 === 0x00 || b0 === 0xac) return lnetConnreq(b, p, end);
  return 0;
}

/** The same over UDP. */
export function transferUdp(b: Uint8Array, p: number, end: number, sp: number, dp: number): number {
  const b0 = b[p]!;
  if ((b0 === 0x40 || b0 === 0x50) && port(sp, dp, 1044)) return uftpMessage(b, p, end);
  return 0;
}

/**
 * An HTTP/1.x request line (RFC 9112 §3: `method SP request-target SP HTTP-version CRLF`) whose method is one of
 * WebDAV's (RFC 4918 §9: PROPFIND, PROPPATCH, MKCOL, COPY, MOVE, LOCK, UNLOCK) or of RPC over HTTP version 2
 * ([MS-RPCH] §2.1.2.1: RPC_IN_DATA and RPC_OUT_DATA, which open its IN and OUT channels - Outlook Anywhere's). The
 * core HTTP rule names only the methods of RFC 9110, so these lines reach this one; the target is one word (no
 * space), the version HTTP/1.1 or HTTP/1.0 ending the line.
 */
const METHODS_WEBDAV = ['PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK'].map(ascii);
const METHODS_RPCH = ['RPC_IN_DATA', 'RPC_OUT_DATA'].map(ascii);
function extensionRequest(b: Uint8Array, p: number, end: number): number {
  const eol = lineEnd(b, p, end, 2048);
  if (eol < 0) return 0;
  let id = 0;
  let target = -1;
  for (let i = 0; i < METHODS_WEBDAV.length && target < 0; i++) target = methodAt(b, p, eol, METHODS_WEBDAV[i]!);
  if (target > 0) id = WEBDAV;
  for (let i = 0; i < METHODS_RPCH.length && target < 0; i++) target = methodAt(b, p, eol, METHODS_RPCH[i]!);
  if (target > 0 && id === 0) id = MS_RPCH;
  if (target < 0) return 0;
  let sp = target;
  while (sp < eol && b[sp] !== 0x20) sp++;
  if (sp === target || sp >= eol) return 0;
  return isHttp1Version(b, sp + 1, eol) ? id : 0;
}
/** The method `m` then a space at `p` (before `eol`): where the target starts, or -1. */
function methodAt(b: Uint8Array, p: number, eol: number, m: Uint8Array): number {
  return has(b, p, eol, m) && b[p + m.length] === 0x20 ? p + m.length + 1 : -1;
}

/**
 * Lustre's LNet acceptor (Lustre source, lnet/include/uapi/linux/lnet/lnet-idl.h `lnet_acceptor_connreq` and
 * lnet/lnet/acceptor.c `lnet_connect`): the connecting node's first 16 bytes, in its own byte order - the magic
 * LNET_PROTO_ACCEPTOR_MAGIC 0xacce7100, the acceptor version 1, and the target NID, whose network is the socket LND's
 * (type SOCKLND = 2 in the top 16 bits of the network, above its number) and whose address is not zero. Older
 * clients send the LND's hello right after it in the same write: then the next 4 bytes are LNET_PROTO_MAGIC
 * 0x45726963 or LNET_PROTO_TCP_MAGIC 0xeebc0ded in the same byte order.
 */
function lnetConnreq(b: Uint8Array, p: number, end: number): number {
  const n = end - p;
  if (n < 16) return 0;
  const le = b[p] === 0x00 && b[p + 1] === 0x71 && b[p + 2] === 0xce && b[p + 3] === 0xac;
  const be = b[p] === 0xac && b[p + 1] === 0xce && b[p + 2] === 0x71 && b[p + 3] === 0x00;
  if (!le && !be) return 0;
  const version = le ? i32le(b, p + 4) : i32(b, p + 4);
  // The NID: a 64-bit number, the address in its low 32 bits, the network (type << 16 | number) in the high ones.
  const addr = le ? i32le(b, p + 8) : i32(b, p + 12);
  const type = le ? b[p + 14]! | (b[p + 15]! << 8) : (b[p + 8]! << 8) | b[p + 9]!;
  if (version !== 1 || type !== 2 || addr === 0) return 0;
  if (n === 16) return LUSTRE;
  if (n < 20) return 0;
  const hello = le ? i32le(b, p + 16) : i32(b, p + 16);
  return hello === 0x45726963 || hello === (0xeebc0ded | 0) ? LUSTRE : 0;
}

/**
 * UFTP on its port 1044, the multicast file transfer of Dennis Bush (its source's uftp.h, versions 4 and 5; the
 * servers send to the clients' port 1044, which they answer from): the 16-byte header -
 * version 0x40 or 0x50, the message type (ANNOUNCE 1 ... CC_ACK 21), sequence number, source and group ids, group
 * instance, GRTT, group size and a reserved zero byte - then the message. An ENCRYPTED message (18) carries a 12-byte
 * header (IV, signature length, payload length) whose lengths fill the datagram; every other message repeats its
 * type in its first byte, then its header length in 4-byte words (at least 1), which the datagram holds.
 */
function uftpMessage(b: Uint8Array, p: number, end: number): number {
  const n = end - p;
  const func = b[p + 1]!;
  if (n < 20 || func < 1 || func > 21 || b[p + 15] !== 0) return 0;
  if (func === 18) return n >= 28 && 28 + u16(b, p + 24) + u16(b, p + 26) === n ? UFTP : 0;
  const hlen = b[p + 17]!;
  return b[p + 16] === func && hlen >= 1 && 16 + 4 * hlen <= n ? UFTP : 0;
}
