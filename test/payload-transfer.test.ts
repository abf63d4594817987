/**
 * The file-transfer and collaboration rules of the payload-protocol matcher (src/decode/payload/transfer.ts):
 * messages built here from each protocol's specification (WebDAV's methods, RFC 4918; RPC over HTTP's, MS-RPCH;
 * Lustre's LNet acceptor request; UFTP's header), each with near misses that break one rule of the signature
 * (method, version, length, magic, port, truncation) and must not match; random bytes and every truncation never
 * throw; nothing is allocated per call.
 */
import { describe, expect, it } from 'vitest';
import { matchPayload, PAYLOAD_PROTOCOLS, payloadProtocolName } from '../src/decode/payload-protocol.js';
import { collectionsDuringCalls, expectNothingReadPastEnd, expectRandomBytesTakeNone, expectRandomTailsTakeNone, expectTruncationsNameNoOther, TCP, UDP, ascii, u16, u32, le16, le32, fill, type PayloadCase } from './helpers/payload-cases.js';


function match(bytes: number[], proto: number, srcPort: number, dstPort: number): string | null {
  return payloadProtocolName(matchPayload(Uint8Array.from(bytes), 0, bytes.length, proto, srcPort, dstPort));
}

// ---- messages, from the specifications cited in src/decode/payload/transfer.ts ----

/** A request: request line, headers, an empty line (and a body). */
const request = (line: string, headers = 'Host: files.example\r\nContent-Length: 0\r\n', body = ''): number[] => ascii(`${line}\r\n${headers}\r\n${body}`);
const PROPFIND_BODY = '<?xml version="1.0" encoding="utf-8"?>\n<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>';

/**
 * Lustre's acceptor request: magic, version, the target NID (address 10.0.0.2 on network tcp0, SOCKLND = 2), in
 * little- or big-endian order.
 */
function connreq(opts: { be?: boolean; magic?: number; version?: number; lndType?: number; addr?: number; hello?: number[] } = {}): number[] {
  const w32 = opts.be ? u32 : le32;
  const w16 = opts.be ? u16 : le16;
  const addr = opts.addr ?? 0x0a000002;
  const net = [...w16(0), ...w16(opts.lndType ?? 2)]; // number 0, type SOCKLND: le (num, type); be (type, num) below
  const nid = opts.be ? [...u16(opts.lndType ?? 2), ...u16(0), ...u32(addr)] : [...le32(addr), ...net];
  return [...w32(opts.magic ?? 0xacce7100), ...w32(opts.version ?? 1), ...nid, ...(opts.hello ?? [])];
}
/** A socket LND hello (V2/V3): LNET_PROTO_MAGIC, version 3, then its fixed fields. */
const lnetHello = (be = false): number[] => [...(be ? u32 : le32)(0x45726963), ...(be ? u32 : le32)(3), ...fill(48, 0)];

/** A UFTP header (version, type, sequence, source id, group id, instance, GRTT, group size, reserved) then `body`. */
const uftp = (func: number, body: number[], version = 0x50, reserved = 0): number[] =>
  [version, func, ...u16(7), ...u32(0x0a000001), ...u32(0x12345678), 0, 0x20, 0x01, reserved, ...body];
/** An ANNOUNCE: func, hlen (header in 4-byte words), flags, robustness, cc type, reserved, block size, time, addresses. */
const announce = (hlen = 6, func = 1): number[] => [func, hlen, 0, 20, 0, 0, ...u16(1300), ...u32(1700000000), ...u32(123456), ...u32(0xe0010101), ...u32(0xe0010102)];
/** An ENCRYPTED message: IV, signature length, payload length, then the signature and the payload. */
const encrypted = (sig: number, payload: number, extra = 0): number[] => [...u32(1), ...u32(2), ...u16(sig), ...u16(payload), ...fill(sig + payload + extra, 0x3c)];

type Case = PayloadCase;

const CASES: Case[] = [
  // WebDAV
  { what: 'WebDAV PROPFIND with its body', bytes: request('PROPFIND /remote.php/dav/files/alice/ HTTP/1.1', 'Host: cloud.example\r\nDepth: 1\r\nContent-Type: application/xml\r\n', PROPFIND_BODY), proto: TCP, ports: [50000, 80], want: 'WebDAV' },
  { what: 'WebDAV MKCOL', bytes: request('MKCOL /docs/new/ HTTP/1.1'), proto: TCP, want: 'WebDAV' },
  { what: 'WebDAV MOVE, HTTP/1.0', bytes: request('MOVE /docs/a.txt HTTP/1.0', 'Destination: http://files.example/docs/b.txt\r\n'), proto: TCP, want: 'WebDAV' },
  { what: 'WebDAV LOCK', bytes: request('LOCK /docs/a.txt HTTP/1.1', 'Timeout: Second-600\r\n'), proto: TCP, want: 'WebDAV' },
  { what: 'WebDAV UNLOCK', bytes: request('UNLOCK /docs/a.txt HTTP/1.1', 'Lock-Token: <urn:uuid:e71d4fae-5dec-22d6-fea5-00a0c91e6be4>\r\n'), proto: TCP, want: 'WebDAV' },
  { what: 'WebDAV PROPPATCH, request line alone in the segment', bytes: ascii('PROPPATCH /docs/a.txt HTTP/1.1\r\n'), proto: TCP, want: 'WebDAV' },
  { what: 'WebDAV COPY through a proxy (absolute target)', bytes: request('COPY http://files.example/a HTTP/1.1'), proto: TCP, want: 'WebDAV' },
  { what: 'GET stays HTTP', bytes: request('GET /docs/a.txt HTTP/1.1'), proto: TCP, want: 'HTTP' },
  { what: 'PUT stays HTTP', bytes: request('PUT /docs/a.txt HTTP/1.1'), proto: TCP, want: 'HTTP' },
  { what: 'WebDAV method, lower case: not taken', bytes: request('propfind / HTTP/1.1'), proto: TCP, want: null },
  { what: 'WebDAV method, HTTP/2.0: not taken', bytes: request('PROPFIND / HTTP/2.0'), proto: TCP, want: null },
  { what: 'WebDAV method, no version', bytes: request('PROPFIND /'), proto: TCP, want: null },
  { what: 'WebDAV method, no target', bytes: request('PROPFIND  HTTP/1.1'), proto: TCP, want: null },
  { what: 'WebDAV method, target with a space', bytes: request('MKCOL /a b HTTP/1.1'), proto: TCP, want: null },
  { what: 'WebDAV method glued to the target', bytes: request('MOVED /a HTTP/1.1'), proto: TCP, want: null },
  { what: 'WebDAV line cut before its CR LF', bytes: ascii('PROPFIND /docs/ HTTP/1.1'), proto: TCP, want: null },
  { what: 'WebDAV method over UDP: not taken', bytes: request('PROPFIND / HTTP/1.1'), proto: UDP, want: null },
  { what: 'DeltaV REPORT (RFC 3253): not WebDAV here', bytes: request('REPORT /svn/repo/!svn/me HTTP/1.1'), proto: TCP, want: null },
  // MS-RPCH
  { what: 'RPC over HTTP: RPC_IN_DATA', bytes: request('RPC_IN_DATA /rpc/rpcproxy.dll?mail.example.com:6001 HTTP/1.1', 'Accept: application/rpc\r\nContent-Length: 1073741824\r\nHost: mail.example.com\r\n'), proto: TCP, ports: [50000, 80], want: 'MS-RPCH' },
  { what: 'RPC over HTTP: RPC_OUT_DATA, HTTP/1.0', bytes: request('RPC_OUT_DATA /rpc/rpcproxy.dll?mail.example.com:6004 HTTP/1.0', 'Content-Length: 76\r\n'), proto: TCP, want: 'MS-RPCH' },
  { what: 'RPC over HTTP: RPC_IN_DAT (cut method)', bytes: request('RPC_IN_DAT /rpc/rpcproxy.dll HTTP/1.1'), proto: TCP, want: null },
  { what: 'RPC over HTTP: version HTTP/1.2', bytes: request('RPC_IN_DATA /rpc/rpcproxy.dll HTTP/1.2'), proto: TCP, want: null },
  // Lustre
  { what: 'Lustre acceptor request, little-endian', bytes: connreq(), proto: TCP, ports: [1023, 988], want: 'Lustre' },
  { what: 'Lustre acceptor request, big-endian', bytes: connreq({ be: true }), proto: TCP, ports: [1022, 988], want: 'Lustre' },
  { what: 'Lustre acceptor request with the hello after it', bytes: connreq({ hello: lnetHello() }), proto: TCP, ports: [1023, 988], want: 'Lustre' },
  { what: 'Lustre big-endian request with a big-endian hello', bytes: connreq({ be: true, hello: lnetHello(true) }), proto: TCP, want: 'Lustre' },
  { what: 'Lustre: acceptor version 2', bytes: connreq({ version: 2 }), proto: TCP, want: null },
  { what: 'Lustre: another LND type (o2ib, 5)', bytes: connreq({ lndType: 5 }), proto: TCP, want: null },
  { what: 'Lustre: NID address 0', bytes: connreq({ addr: 0 }), proto: TCP, want: null },
  { what: 'Lustre: the magic of the other byte order for the rest', bytes: [...le32(0xacce7100), ...u32(1), ...connreq().slice(8)], proto: TCP, want: null },
  { what: 'Lustre: LNET_PROTO_MAGIC in place of the acceptor magic', bytes: connreq({ magic: 0x45726963 }), proto: TCP, want: null },
  { what: 'Lustre: request followed by other bytes', bytes: connreq({ hello: [1, 2, 3, 4, 5, 6, 7, 8] }), proto: TCP, want: null },
  { what: 'Lustre: request cut to 15 bytes', bytes: connreq().slice(0, 15), proto: TCP, want: null },
  { what: 'Lustre request over UDP: not taken', bytes: connreq(), proto: UDP, want: null },
  // UFTP
  { what: 'UFTP 5 ANNOUNCE to a client', bytes: uftp(1, announce()), proto: UDP, ports: [40000, 1044], want: 'UFTP' },
  { what: 'UFTP 4 REGISTER from a client', bytes: uftp(2, [2, 11, ...u16(0), ...u32(1700000000), ...u32(5), ...fill(32, 0x77)], 0x40), proto: UDP, ports: [1044, 40000], want: 'UFTP' },
  { what: 'UFTP FILESEG', bytes: uftp(9, [9, 2, ...u16(1), ...u16(0), ...u16(3), ...fill(1300, 0x61)]), proto: UDP, ports: [40000, 1044], want: 'UFTP' },
  { what: 'UFTP ENCRYPTED', bytes: uftp(18, encrypted(16, 120)), proto: UDP, ports: [40000, 1044], want: 'UFTP' },
  { what: 'UFTP ENCRYPTED, lengths one short of the datagram', bytes: uftp(18, encrypted(16, 120, 1)), proto: UDP, ports: [40000, 1044], want: null },
  { what: 'UFTP: version 0x30', bytes: uftp(1, announce(), 0x30), proto: UDP, ports: [40000, 1044], want: null },
  { what: 'UFTP: message type 22', bytes: uftp(22, announce(6, 22)), proto: UDP, ports: [40000, 1044], want: null },
  { what: 'UFTP: body type not the header\'s', bytes: uftp(1, announce(6, 2)), proto: UDP, ports: [40000, 1044], want: null },
  { what: 'UFTP: reserved byte set', bytes: uftp(1, announce(), 0x50, 1), proto: UDP, ports: [40000, 1044], want: null },
  { what: 'UFTP: header length 0', bytes: uftp(1, announce(0)), proto: UDP, ports: [40000, 1044], want: null },
  { what: 'UFTP: header length past the datagram', bytes: uftp(1, announce(7)), proto: UDP, ports: [40000, 1044], want: null },
  { what: 'UFTP: another port', bytes: uftp(1, announce()), proto: UDP, ports: [40000, 1045], want: null },
  { what: 'UFTP over TCP: not taken', bytes: uftp(1, announce()), proto: TCP, ports: [40000, 1044], want: null },
];

const ADDED = ['WebDAV', 'MS-RPCH', 'Lustre', 'UFTP'];

describe('file-transfer and collaboration payload rules', () => {
  for (const c of CASES) {
    it(`${c.what}: ${c.want ?? 'nothing'}`, () => {
      const [sp, dp] = c.ports ?? [50000, 40000];
      expect(match(c.bytes, c.proto, sp, dp)).toBe(c.want);
    });
  }

  it('every message and truncation gets the same answer with any bytes after its range (nothing past `end` is read)', () => {
    expectNothingReadPastEnd(CASES, [[0x0d, 0x0a, 0x0d, 0x0a], [0x00, 0x00, 0x00, 0x00], fill(64, 0xff), [...ascii('ric'), 0x45]]);
  });

  it('the new names are appended after the earlier ones, each once', () => {
    expect(ADDED.every((n) => PAYLOAD_PROTOCOLS.filter((x) => x === n).length === 1)).toBe(true);
    expect(PAYLOAD_PROTOCOLS.indexOf('WebDAV')).toBeGreaterThan(PAYLOAD_PROTOCOLS.indexOf('Ayiya'));
  });

  it('every truncation of every matching message is never a throw, and a cut message is never another protocol of these', () => {
    expectTruncationsNameNoOther(CASES, ADDED);
  });

  it('random bytes on the protocols\' ports never throw and are taken by none of these rules', () => {
    expectRandomBytesTakeNone(ADDED, [80, 988, 1044, 40000]);
  });

  it('random bytes behind each rule\'s fixed first bytes are not taken either', () => {
    const heads: [number[], number, number][] = [
      [ascii('PROPFIND '), TCP, 80],
      [ascii('RPC_IN_DATA '), TCP, 80],
      [le32(0xacce7100), TCP, 988],
      [[0x50], UDP, 1044],
    ];
    expectRandomTailsTakeNone(ADDED, heads);
  });

  it('allocates nothing once warm: no garbage collection over half a million calls', async () => {
    expect(await collectionsDuringCalls(CASES, 5e5)).toEqual([]);
  });
});
