/**
 * Payload-protocol rules for file transfer, file sharing and collaboration protocols: WebDAV and Microsoft's RPC over
 * HTTP (HTTP request lines with their own methods, which the core HTTP rule leaves alone), Lustre's LNet acceptor and
 * UFTP. Reached by one line of payload-protocol.ts's matchTcp / matchUdp (transferTcp / transferUdp), after the
 * groups above it there, so none of them takes a packet an earlier rule names.
 */
import { u16, u16le, i32, i32le, ascii, port, has, lineEnd, isHttp1Version } from './bytes.js';
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
  const type = le ? u16le(b, p + 14) : u16(b, p + 8);
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

const FTP_DATA = P['FTP_DATA']!;
const TFTP = P['TFTP']!;

/**
 * A TCP connection whose first payload is a file or a directory listing: what nDPI names FTP_DATA whatever the ports
 * (its dissector ftp_data.c, behaviour learnt, not copied), so the labeller's verdict for an FTP data connection
 * on ports no table knows (passive mode: an ephemeral server port), and for any raw TCP file transfer. The
 * engine asks only for a flow's first payload packet, when no other rule named it (flows/payload-protocols.ts).
 *
 * - A file: a segment of at least 256 bytes (a data connection sends full segments; nDPI's bound) starting with the
 *   signature its format's specification fixes. The binary formats of nDPI's list: PNG (8 bytes, ISO/IEC 15948
 *   §5.2), GIF87a/89a, JPEG (SOI and a marker, ITU-T T.81 B.1.1.3), PDF (`%PDF-`, ISO 32000 §7.5.2), ZIP local file
 *   header (PKWARE APPNOTE 4.3.7), gzip (RFC 1952 §2.3.1: ID1 ID2, CM 8), bzip2 (`BZh` and a block size 1-9), 7z,
 *   RAR 4/5, a DOS/PE executable (`MZ`, its last-page byte count below 256), Ogg (RFC 3533 §6), RIFF (AVI, WAV),
 *   FLAC, an ID3v2.3 tag (MP3), an MPEG program stream pack (00 00 01 BA), EBML (Matroska, WebM: RFC 8794), FLV
 *   version 1, RPM's lead, an OLE compound file (MS Office, [MS-CFB] 2.2), a Unix ar archive (`!<arch>\n`, .deb).
 *   Left out of nDPI's list: markup and scripts (HTML, XML, PHP, ASP, shell), text that many protocols send raw, and
 *   a few formats with no published signature.
 * - A directory listing (what a data connection carries after LIST): a line in the long format of POSIX `ls -l`,
 *   the file type (`-` `d` `l` `b` `c` `p` `s`), nine permission characters (r, w, and x or its set-id/sticky forms,
 *   or `-`, by position), then a space or an alternate-access mark (`+` `@` `.`), more than 10 bytes in all.
 */
const FILE_SIGNATURES = [
  [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
  ascii('GIF87a'),
  ascii('GIF89a'),
  [0xff, 0xd8, 0xff],
  ascii('%PDF-'),
  [0x50, 0x4b, 0x03, 0x04],
  [0x1f, 0x8b, 0x08],
  [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c],
  [0x52, 0x61, 0x72, 0x21, 0x1a, 0x07],
  ascii('OggS'),
  ascii('RIFF'),
  ascii('fLaC'),
  [0x49, 0x44, 0x33, 0x03],
  [0x00, 0x00, 0x01, 0xba],
  [0x1a, 0x45, 0xdf, 0xa3],
  [0x46, 0x4c, 0x56, 0x01],
  [0xed, 0xab, 0xee, 0xdb],
  [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1],
  ascii('!<arch>\n'),
].map((s) => Uint8Array.from(s));
/** nDPI's shortest file segment. */
const FILE_SEGMENT_MIN = 256;
export function rawFileStart(b: Uint8Array, p: number, end: number): number {
  if (end > b.length) end = b.length;
  if (p < 0 || end - p < 11) return 0;
  if (listingLine(b, p, end)) return FTP_DATA;
  if (end - p < FILE_SEGMENT_MIN) return 0;
  for (let i = 0; i < FILE_SIGNATURES.length; i++) if (has(b, p, end, FILE_SIGNATURES[i]!)) return FTP_DATA;
  if (b[p] === 0x4d && b[p + 1] === 0x5a && b[p + 3] === 0x00) return FTP_DATA; // MZ
  if (b[p] === 0x42 && b[p + 1] === 0x5a && b[p + 2] === 0x68 && b[p + 3]! >= 0x31 && b[p + 3]! <= 0x39) return FTP_DATA; // BZh1-9
  return 0;
}

const LS_TYPES = ascii('-dlbcps');
function listingLine(b: Uint8Array, p: number, end: number): boolean {
  if (LS_TYPES.indexOf(b[p]!) < 0) return false;
  for (let k = 0; k < 9; k++) {
    const c = b[p + 1 + k]!;
    const pos = k % 3;
    const ok =
      c === 0x2d || // '-'
      (pos === 0 && c === 0x72) || // r
      (pos === 1 && c === 0x77) || // w
      (pos === 2 && (c === 0x78 || (k < 6 ? c === 0x73 || c === 0x53 : c === 0x74 || c === 0x54))); // x, s/S, t/T
    if (!ok) return false;
  }
  const after = b[p + 10]!;
  return after === 0x20 || after === 0x2b || after === 0x40 || after === 0x2e;
}

/**
 * TFTP's transfer (RFC 1350 §4-5): the server answers a request from a new port of its own, so the transfer is a
 * flow between two ports no table knows. As nDPI's dissector does (tftp.c, behaviour learnt, not copied), a flow is
 * TFTP when one endpoint sends DATA of block 1 (opcode 3, block 1, then the data: at most 512 bytes, or the block size
 * RFC 2348 lets the two agree, up to 65464; none for an empty file) and the other answers with its ACK (opcode 4,
 * block 1: exactly 4 bytes). flows/payload-protocols.ts keeps which endpoint sent the DATA; these two read one packet
 * each.
 */
export function tftpFirstData(b: Uint8Array, p: number, end: number): boolean {
  if (end > b.length) end = b.length;
  return p >= 0 && end - p >= 4 && end - p <= 4 + 65464 && i32(b, p) === 0x00030001;
}
export function tftpFirstAck(b: Uint8Array, p: number, end: number): number {
  if (end > b.length) end = b.length;
  return p >= 0 && end - p === 4 && i32(b, p) === 0x00040001 ? TFTP : 0;
}
