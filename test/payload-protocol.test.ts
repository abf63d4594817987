/**
 * The payload-protocol matcher (src/decode/payload-protocol.ts) on messages built here from each protocol's
 * specification, each with near misses that break one rule of the signature and must not match; RTP's two-packet
 * rule (src/flows/payload-protocols.ts); and random bytes and every truncation of the messages: never a throw, and
 * no allocation once warm (no garbage collection in a million calls).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matchPayload, PAYLOAD_PROTOCOLS, payloadProtocolName, PayloadProtocol, rtpHeader } from '../src/decode/payload-protocol.js';
import { collectionsDuringCalls, TCP, UDP, ascii, u16, u32, le16, le32, fill, type PayloadCase } from './helpers/payload-cases.js';
import { PAYLOAD_LOOK_PACKETS, PayloadProtocols } from '../src/flows/payload-protocols.js';

const u24 = (n: number): number[] => [(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];

/** The protocol name matchPayload gives `bytes` (null for none). */
function match(bytes: number[] | Uint8Array, proto: number, srcPort: number, dstPort: number): string | null {
  return payloadProtocolName(matchPayload(Uint8Array.from(bytes), 0, bytes.length, proto, srcPort, dstPort));
}

// ---- messages, from the specifications cited in src/decode/payload-protocol.ts ----

/** TLS ClientHello (RFC 8446 §4.1.2) in one record, record version 3.1, legacy_version 3.3. */
function clientHello(recordVersion = [3, 1], helloVersion = [3, 3], hsType = 1): number[] {
  const body = [...helloVersion, ...fill(32, 0x11), 0, ...u16(2), 0x13, 0x01, 1, 0, ...u16(0)];
  const hs = [hsType, ...u24(body.length), ...body];
  return [0x16, ...recordVersion, ...u16(hs.length), ...hs];
}
const appData = (n: number): number[] => [0x17, 3, 3, ...u16(n), ...fill(n)];

/** A DNS query for `name` (RFC 1035 §4.1), type A class IN unless given. */
function dnsQuery(name: string, cls = 1, opcode = 0): number[] {
  const qname = name.split('.').flatMap((l) => [l.length, ...ascii(l)]);
  return [0x12, 0x34, opcode << 3, 0x00, ...u16(1), ...u16(0), ...u16(0), ...u16(0), ...qname, 0, ...u16(1), ...u16(cls)];
}

/** A STUN Binding request (RFC 8489 §5) with a SOFTWARE attribute (0x8022) of `soft`, padded to 4. */
function stun(cookie = 0x2112a442, soft = 'test', type = 0x0001): number[] {
  const v = ascii(soft);
  const attr = [...u16(0x8022), ...u16(v.length), ...v, ...fill((4 - (v.length % 4)) % 4, 0)];
  return [...u16(type), ...u16(attr.length), ...u32(cookie), ...fill(12, 0x77), ...attr];
}

/** An RTP header (RFC 3550 §5.1) and 20 bytes of payload. */
function rtp(seq: number, ssrc = 0x11223344, pt = 0, first = 0x80): number[] {
  return [first, pt, ...u16(seq), ...u32(160 * seq), ...u32(ssrc), ...fill(20, 0xd5)];
}

/** An RTCP Receiver Report without report blocks, then an SDES with one CNAME item (RFC 3550 §6.4.2, §6.5). */
function rtcpRrSdes(firstType = 201): number[] {
  const rr = [0x80, firstType, ...u16(1), ...u32(0xaabbccdd)];
  const item = [1, 4, ...ascii('host'), 0, 0]; // CNAME, then the null item and padding to a word
  const sdes = [0x81, 202, ...u16((4 + item.length) / 4), ...u32(0xaabbccdd), ...item];
  return [...rr, ...sdes];
}

/** An IKEv2 IKE_SA_INIT request header (RFC 7296 §3.1) with `extra` bytes of payloads. */
function ikev2(extra = 8, version = 0x20, exchange = 34, lengthDelta = 0): number[] {
  return [...fill(8, 0x42), ...fill(8, 0), 33, version, exchange, 0x08, ...u32(0), ...u32(28 + extra + lengthDelta), ...fill(extra, 0)];
}

/** A NetBIOS name in the first-level encoding (RFC 1001 §14.1): `name` padded with spaces to 16 bytes. */
function nbName(name: string): number[] {
  const raw = ascii(name.padEnd(16, ' '));
  return [0x20, ...raw.flatMap((c) => [0x41 + (c >> 4), 0x41 + (c & 0xf)]), 0];
}

/** An RDP X.224 Connection Request (MS-RDPBCGR §2.2.1.1) in TPKT, with a cookie line and/or an RDP_NEG_REQ. */
function rdpRequest(cookie: boolean, neg: boolean, tpktLengthDelta = 0): number[] {
  const v = [...(cookie ? ascii('Cookie: mstshash=alice\r\n') : []), ...(neg ? [1, 0, ...le16(8), ...le32(3)] : [])];
  const x224 = [6 + v.length, 0xe0, 0, 0, 0, 0, 0, ...v];
  return [3, 0, ...u16(4 + x224.length + tpktLengthDelta), ...x224];
}

/** An MQTT CONNECT (MQTT 3.1.1 §3.1) for client id `c`. */
function mqttConnect(level = 4, lengthDelta = 0): number[] {
  const vh = [...u16(4), ...ascii('MQTT'), level, 0x02, ...u16(60)];
  const pl = [...u16(1), ...ascii('c')];
  return [0x10, vh.length + pl.length + lengthDelta, ...vh, ...pl];
}

/** OpenVPN's P_CONTROL_HARD_RESET_CLIENT_V2 (opcode 7, key id 0) without tls-auth, or with a `hmac`-byte HMAC. */
function openvpnReset(hmac = 0, opByte = 0x38, pid = 1): number[] {
  const auth = hmac === 0 ? [] : [...fill(hmac, 0x99), ...u32(pid), ...u32(1_700_000_000)];
  return [opByte, ...fill(8, 0x31), ...auth, 0, ...u32(0)];
}

/** An H.225.0 call-signalling message (Q.931 over TPKT) of type `type`: Bearer capability, then a User-user element. */
function h225(type: number, uuDelta = 0): number[] {
  const uu = [0x05, ...fill(20, 0x22)]; // protocol discriminator X.208/X.209 (5), then the PER-coded H323-UserInformation
  const q931 = [8, 2, 0x00, 0x42, type, 0x04, 3, 0x88, 0x90, 0xa5, 0x7e, ...u16(uu.length + uuDelta), ...uu];
  return [3, 0, ...u16(4 + q931.length), ...q931];
}

/** X11's connection setup (X Window System Protocol, Connection Setup), LSB first, with a 16-byte MIT-MAGIC-COOKIE-1. */
function x11Setup(major = 11): number[] {
  return [0x6c, 0, ...le16(major), ...le16(0), ...le16(18), ...le16(16), 0, 0, ...ascii('MIT-MAGIC-COOKIE-1'), 0, 0, ...fill(16, 0x5c)];
}

/** An IAX2 full frame (RFC 5456 §8.1.1) of frame type IAX, subclass `sub`, oseq 0, iseq 0, with information elements. */
function iax(sub: number, ies: [number, number[]][]): number[] {
  return [0x80, 0x01, 0, 0, ...u32(3), 0, 0, 6, sub, ...ies.flatMap(([t, v]) => [t, v.length, ...v])];
}

/** Discord's 74-byte IP discovery packet: type, length 70, SSRC, a NUL-padded 64-byte address, a port. */
function discordDiscovery(type: number, address: string): number[] {
  return [...u16(type), ...u16(70), ...u32(0x1234), ...ascii(address), ...fill(64 - address.length, 0), ...u16(type === 2 ? 50000 : 0)];
}

type Case = PayloadCase;

const CASES: Case[] = [
  // TLS
  { what: 'TLS ClientHello', bytes: clientHello(), proto: TCP, want: 'TLS' },
  { what: 'TLS ServerHello', bytes: clientHello([3, 3], [3, 3], 2), proto: TCP, want: 'TLS' },
  { what: 'TLS records met mid-stream (two application_data records)', bytes: [...appData(40), ...appData(10)], proto: TCP, want: 'TLS' },
  { what: 'TLS record then the start of the next one', bytes: [...appData(40), ...appData(100).slice(0, 30)], proto: TCP, want: 'TLS' },
  { what: 'not TLS: record version 2.0', bytes: clientHello([2, 0]), proto: TCP, want: null },
  { what: 'not TLS: ClientHello legacy_version 4.3', bytes: clientHello([3, 1], [4, 3]), proto: TCP, want: null },
  { what: 'not TLS: a single partial application_data record', bytes: appData(100).slice(0, 50), proto: TCP, want: null },
  { what: 'not TLS: whole record then garbage', bytes: [...appData(20), 0x99, 1, 2, 3, 4, 5], proto: TCP, want: null },
  { what: 'not TLS: record length above 2^14 + 2048', bytes: [0x17, 3, 3, ...u16(18433), ...fill(10)], proto: TCP, want: null },
  // DTLS
  { what: 'DTLS 1.2 record', bytes: [0x16, 0xfe, 0xfd, 0, 0, ...fill(6, 0), ...u16(12), ...fill(12)], proto: UDP, ports: [40000, 40001], want: 'DTLS' },
  { what: 'not DTLS: length past the datagram', bytes: [0x16, 0xfe, 0xfd, 0, 0, ...fill(6, 0), ...u16(13), ...fill(12)], proto: UDP, ports: [40000, 40001], want: null },
  // HTTP, SSDP, SIP, RTSP, SSH, RFB
  { what: 'HTTP request', bytes: ascii('GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n'), proto: TCP, want: 'HTTP' },
  { what: 'HTTP response', bytes: ascii('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'), proto: TCP, want: 'HTTP' },
  { what: 'not HTTP: version 1.2', bytes: ascii('GET / HTTP/1.2\r\n\r\n'), proto: TCP, want: null },
  { what: 'not HTTP: unknown method', bytes: ascii('FETCH / HTTP/1.1\r\n\r\n'), proto: TCP, want: null },
  { what: 'not HTTP: no CRLF in the segment', bytes: ascii('GET / HTTP/1.1'), proto: TCP, want: null },
  { what: 'not HTTP: status without 3 digits', bytes: ascii('HTTP/1.1 20 OK\r\n'), proto: TCP, want: null },
  { what: 'SSDP M-SEARCH', bytes: ascii('M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n\r\n'), proto: UDP, ports: [50000, 1900], want: 'SSDP' },
  { what: 'SSDP response from 1900', bytes: ascii('HTTP/1.1 200 OK\r\nST: upnp:rootdevice\r\n\r\n'), proto: UDP, ports: [1900, 50000], want: 'SSDP' },
  { what: 'not SSDP: M-SEARCH of a path', bytes: ascii('M-SEARCH /x HTTP/1.1\r\n\r\n'), proto: UDP, ports: [50000, 1900], want: null },
  { what: 'not SSDP: an HTTP response over UDP elsewhere', bytes: ascii('HTTP/1.1 200 OK\r\n\r\n'), proto: UDP, ports: [50001, 50000], want: null },
  { what: 'SIP INVITE over UDP', bytes: ascii('INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n\r\n'), proto: UDP, ports: [5060, 5060], want: 'SIP' },
  { what: 'SIP REGISTER over TCP', bytes: ascii('REGISTER sip:example.com SIP/2.0\r\n\r\n'), proto: TCP, want: 'SIP' },
  { what: 'SIP response', bytes: ascii('SIP/2.0 180 Ringing\r\n\r\n'), proto: UDP, ports: [5060, 5060], want: 'SIP' },
  { what: 'not SIP: version 3.0', bytes: ascii('INVITE sip:bob@example.com SIP/3.0\r\n\r\n'), proto: UDP, ports: [5060, 5060], want: null },
  { what: 'not SIP: unknown method', bytes: ascii('DANCE sip:bob@example.com SIP/2.0\r\n\r\n'), proto: UDP, ports: [5060, 5060], want: null },
  { what: 'RTSP OPTIONS', bytes: ascii('OPTIONS rtsp://cam/stream RTSP/1.0\r\nCSeq: 1\r\n\r\n'), proto: TCP, want: 'RTSP' },
  { what: 'RTSP response', bytes: ascii('RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n'), proto: TCP, want: 'RTSP' },
  { what: 'not RTSP: HTTP method GET', bytes: ascii('GET rtsp://cam/stream RTSP/1.0\r\n\r\n'), proto: TCP, want: null },
  { what: 'SSH identification', bytes: ascii('SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n'), proto: TCP, want: 'SSH' },
  { what: 'SSH 1.99 identification, LF only', bytes: ascii('SSH-1.99-Cisco-1.25\n'), proto: TCP, want: 'SSH' },
  { what: 'not SSH: version 3.0', bytes: ascii('SSH-3.0-x\r\n'), proto: TCP, want: null },
  { what: 'not SSH: control byte in the software version', bytes: [...ascii('SSH-2.0-a'), 1, 13, 10], proto: TCP, want: null },
  { what: 'RFB ProtocolVersion', bytes: ascii('RFB 003.008\n'), proto: TCP, want: 'VNC' },
  { what: 'not RFB: 13 bytes', bytes: ascii('RFB 003.008\n\n'), proto: TCP, want: null },
  { what: 'not RFB: a letter among the digits', bytes: ascii('RFB 003.00x\n'), proto: TCP, want: null },
  // BitTorrent
  { what: 'BitTorrent handshake', bytes: [19, ...ascii('BitTorrent protocol'), ...fill(8, 0), ...fill(20, 1), ...fill(20, 2)], proto: TCP, want: 'BitTorrent' },
  { what: 'not BitTorrent: another protocol string', bytes: [19, ...ascii('BitTorrent protocoL'), ...fill(48, 0)], proto: TCP, want: null },
  { what: 'BitTorrent DHT ping', bytes: ascii('d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe'), proto: UDP, ports: [6881, 6881], want: 'BitTorrent' },
  { what: 'not DHT: no message type', bytes: ascii('d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aae'), proto: UDP, ports: [6881, 6881], want: null },
  { what: 'not DHT: unterminated dictionary', bytes: ascii('d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:q'), proto: UDP, ports: [6881, 6881], want: null },
  // BEP 14's Local Service Discovery announce, to its multicast group's port 6771.
  { what: 'BitTorrent LSD announce', bytes: ascii(`BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: 6881\r\nInfohash: ${'0123456789abcdefABCDEF'.padEnd(40, '7')}\r\ncookie: x1\r\n\r\n\r\n`), proto: UDP, ports: [6771, 6771], want: 'BitTorrent' },
  { what: 'BitTorrent LSD announce, two hashes, no cookie, from any port', bytes: ascii(`BT-SEARCH * HTTP/1.1\r\nHost: [ff15::efc0:988f]:6771\r\nPort: 51413\r\nInfohash: ${'a'.repeat(40)}\r\nInfohash: ${'b'.repeat(40)}\r\n\r\n\r\n`), proto: UDP, ports: [40000, 6771], want: 'BitTorrent' },
  { what: 'not LSD: no Port field', bytes: ascii(`BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nInfohash: ${'a'.repeat(40)}\r\n\r\n\r\n`), proto: UDP, ports: [6771, 6771], want: null },
  { what: 'not LSD: an info hash of 39 digits', bytes: ascii(`BT-SEARCH * HTTP/1.1\r\nPort: 6881\r\nInfohash: ${'a'.repeat(39)}\r\n\r\n\r\n`), proto: UDP, ports: [6771, 6771], want: null },
  { what: 'not LSD: a hash digit that is not hexadecimal', bytes: ascii(`BT-SEARCH * HTTP/1.1\r\nPort: 6881\r\nInfohash: ${'g'.repeat(40)}\r\n\r\n\r\n`), proto: UDP, ports: [6771, 6771], want: null },
  { what: 'not LSD: a path, not *', bytes: ascii(`BT-SEARCH /x HTTP/1.1\r\nPort: 6881\r\nInfohash: ${'a'.repeat(40)}\r\n\r\n\r\n`), proto: UDP, ports: [6771, 6771], want: null },
  { what: 'not LSD: over TCP it is no HTTP method', bytes: ascii(`BT-SEARCH * HTTP/1.1\r\nPort: 6881\r\nInfohash: ${'a'.repeat(40)}\r\n\r\n\r\n`), proto: TCP, ports: [40000, 6771], want: null },
  { what: 'not LSD: the fields after the empty line', bytes: ascii(`BT-SEARCH * HTTP/1.1\r\n\r\nPort: 6881\r\nInfohash: ${'a'.repeat(40)}\r\n\r\n`), proto: UDP, ports: [6771, 6771], want: null },
  { what: 'uTP SYN', bytes: [0x41, 0, ...u16(0x1234), ...u32(99), ...u32(0), ...u32(1 << 20), ...u16(1), ...u16(0)], proto: UDP, ports: [6881, 6882], want: 'BitTorrent' },
  { what: 'not uTP: SYN with a timestamp difference', bytes: [0x41, 0, ...u16(0x1234), ...u32(99), ...u32(5), ...u32(1 << 20), ...u16(1), ...u16(0)], proto: UDP, ports: [6881, 6882], want: null },
  // STUN
  { what: 'STUN Binding request', bytes: stun(), proto: UDP, ports: [50000, 3478], want: 'STUN' },
  { what: 'STUN over TCP', bytes: stun(), proto: TCP, want: 'STUN' },
  { what: 'not STUN: another cookie', bytes: stun(0x2112a443), proto: UDP, ports: [50000, 3478], want: null },
  { what: 'not STUN: length short of the datagram', bytes: [...stun(), 0, 0, 0, 0], proto: UDP, ports: [50000, 3478], want: null },
  { what: 'not STUN: top bits set', bytes: stun(0x2112a442, 'test', 0x4001), proto: UDP, ports: [50000, 3478], want: null },
  { what: 'STUN of RFC 3489 (CHANGE-REQUEST)', bytes: [...u16(1), ...u16(8), ...fill(16, 0x66), ...u16(3), ...u16(4), ...u32(0)], proto: UDP, ports: [50000, 3478], want: 'STUN' },
  { what: 'not RFC 3489 STUN: an attribute type it does not define', bytes: [...u16(1), ...u16(8), ...fill(16, 0x66), ...u16(0x20), ...u16(4), ...u32(0)], proto: UDP, ports: [50000, 3478], want: null },
  { what: 'not RFC 3489 STUN: no attribute', bytes: [...u16(1), ...u16(0), ...fill(16, 0x66)], proto: UDP, ports: [50000, 3478], want: null },
  // RTCP, RTP (one packet is not enough)
  { what: 'RTCP RR + SDES', bytes: rtcpRrSdes(), proto: UDP, ports: [5005, 5005], want: 'RTCP' },
  { what: 'not RTCP: compound starting with SDES', bytes: rtcpRrSdes(202), proto: UDP, ports: [5005, 5005], want: null },
  { what: 'not RTCP: lengths short of the datagram', bytes: [...rtcpRrSdes(), 0, 0, 0, 0, 0, 0], proto: UDP, ports: [5005, 5005], want: null },
  { what: 'one RTP packet alone', bytes: rtp(7), proto: UDP, ports: [5004, 5004], want: null },
  // WireGuard, OpenVPN, IPsec
  { what: 'WireGuard handshake initiation', bytes: [1, 0, 0, 0, ...fill(144)], proto: UDP, ports: [51820, 51820], want: 'WireGuard' },
  { what: 'WireGuard handshake response', bytes: [2, 0, 0, 0, ...fill(88)], proto: UDP, ports: [51820, 51820], want: 'WireGuard' },
  { what: 'WireGuard transport data', bytes: [4, 0, 0, 0, ...fill(12), ...fill(32)], proto: UDP, ports: [51820, 51820], want: 'WireGuard' },
  { what: 'not WireGuard: initiation of 147 bytes', bytes: [1, 0, 0, 0, ...fill(143)], proto: UDP, ports: [51820, 51820], want: null },
  { what: 'not WireGuard: reserved byte set', bytes: [1, 0, 1, 0, ...fill(144)], proto: UDP, ports: [51820, 51820], want: null },
  { what: 'not WireGuard: transport data not a multiple of 16', bytes: [4, 0, 0, 0, ...fill(36)], proto: UDP, ports: [51820, 51820], want: null },
  { what: 'OpenVPN hard reset', bytes: openvpnReset(), proto: UDP, ports: [50000, 1194], want: 'OpenVPN' },
  { what: 'OpenVPN hard reset with tls-auth (SHA-1)', bytes: openvpnReset(20), proto: UDP, ports: [50000, 1194], want: 'OpenVPN' },
  { what: 'OpenVPN over TCP', bytes: [...u16(14), ...openvpnReset()], proto: TCP, want: 'OpenVPN' },
  { what: 'OpenVPN server hard reset, acknowledging the client', bytes: [0x40, ...fill(8, 0x32), 1, ...u32(0), ...fill(8, 0x31), ...u32(0)], proto: UDP, ports: [1194, 50000], want: 'OpenVPN' },
  { what: 'OpenVPN server hard reset with tls-auth (SHA-256)', bytes: [0x40, ...fill(8, 0x32), ...fill(32, 0x99), ...u32(1), ...u32(1_700_000_000), 1, ...u32(0), ...fill(8, 0x31), ...u32(0)], proto: UDP, ports: [1194, 50000], want: 'OpenVPN' },
  { what: 'not OpenVPN: server reset acknowledging a zero session', bytes: [0x40, ...fill(8, 0x32), 1, ...u32(0), ...fill(8, 0), ...u32(0)], proto: UDP, ports: [1194, 50000], want: null },
  { what: 'OpenVPN client reset with tls-crypt', bytes: [0x38, ...fill(8, 0x31), ...u32(1), ...u32(1_700_000_000), ...fill(32, 0x99), ...fill(5, 0x77)], proto: UDP, ports: [50000, 1194], want: 'OpenVPN' },
  { what: 'not OpenVPN: tls-crypt reset one byte longer', bytes: [0x38, ...fill(8, 0x31), ...u32(1), ...u32(1_700_000_000), ...fill(32, 0x99), ...fill(6, 0x77)], proto: UDP, ports: [50000, 1194], want: null },
  { what: 'not OpenVPN: key id 1', bytes: openvpnReset(0, 0x39), proto: UDP, ports: [50000, 1194], want: null },
  { what: 'not OpenVPN: tls-auth replay packet-id 0', bytes: openvpnReset(20, 0x38, 0), proto: UDP, ports: [50000, 1194], want: null },
  { what: 'IKEv2 IKE_SA_INIT', bytes: ikev2(), proto: UDP, ports: [500, 500], want: 'IPSec' },
  { what: 'IKEv1 Main Mode', bytes: ikev2(8, 0x10, 2), proto: UDP, ports: [500, 500], want: 'IPSec' },
  { what: 'IKE on 4500 after the non-ESP marker', bytes: [0, 0, 0, 0, ...ikev2()], proto: UDP, ports: [4500, 4500], want: 'IPSec' },
  { what: 'ESP in UDP', bytes: [...u32(0x1000), ...u32(1), ...fill(32)], proto: UDP, ports: [4500, 4500], want: 'IPSec' },
  { what: 'NAT-T keep-alive', bytes: [0xff], proto: UDP, ports: [4500, 4500], want: 'IPSec' },
  { what: 'not IKE: length off by one', bytes: ikev2(8, 0x20, 34, 1), proto: UDP, ports: [500, 500], want: null },
  { what: 'not IKE: version 3.0', bytes: ikev2(8, 0x30), proto: UDP, ports: [500, 500], want: null },
  { what: 'not IKE: another port', bytes: ikev2(), proto: UDP, ports: [501, 501], want: null },
  { what: 'not ESP: reserved SPI', bytes: [...u32(200), ...u32(1), ...fill(32)], proto: UDP, ports: [4500, 4500], want: null },
  // NTP, DHCP, DNS, NetBIOS, SMB
  { what: 'NTPv4 client request', bytes: [0x23, ...fill(47, 0)], proto: UDP, ports: [50000, 123], want: 'NTP' },
  { what: 'NTP control (mode 6) read status', bytes: [0x16, 1, ...u16(1), ...u16(0), ...u16(0), ...u16(0), ...u16(0)], proto: UDP, ports: [50000, 123], want: 'NTP' },
  { what: 'not NTP: mode 0', bytes: [0x20, ...fill(47, 0)], proto: UDP, ports: [50000, 123], want: null },
  { what: 'not NTP: version 0', bytes: [0x03, ...fill(47, 0)], proto: UDP, ports: [50000, 123], want: null },
  { what: 'not NTP: 47 bytes', bytes: [0x23, ...fill(46, 0)], proto: UDP, ports: [50000, 123], want: null },
  { what: 'not NTP: another port', bytes: [0x23, ...fill(47, 0)], proto: UDP, ports: [50000, 124], want: null },
  { what: 'DHCP DISCOVER', bytes: [1, 1, 6, 0, ...fill(232, 0), ...u32(0x63825363), 53, 1, 1, 255], proto: UDP, ports: [68, 67], want: 'DHCP' },
  { what: 'not DHCP: another cookie', bytes: [1, 1, 6, 0, ...fill(232, 0), ...u32(0x63825364), 53, 1, 1, 255], proto: UDP, ports: [68, 67], want: null },
  { what: 'DNS query', bytes: dnsQuery('www.example.com'), proto: UDP, ports: [50000, 53], want: 'DNS' },
  { what: 'DNS over TCP', bytes: [...u16(dnsQuery('example.com').length), ...dnsQuery('example.com')], proto: TCP, ports: [50000, 53], want: 'DNS' },
  { what: 'mDNS query', bytes: dnsQuery('printer.local'), proto: UDP, ports: [5353, 5353], want: 'MDNS' },
  { what: 'LLMNR query', bytes: dnsQuery('host'), proto: UDP, ports: [50000, 5355], want: 'LLMNR' },
  { what: 'not DNS: another port', bytes: dnsQuery('www.example.com'), proto: UDP, ports: [50000, 54], want: null },
  { what: 'not DNS: class 2', bytes: dnsQuery('www.example.com', 2), proto: UDP, ports: [50000, 53], want: null },
  { what: 'not DNS: opcode 3', bytes: dnsQuery('www.example.com', 1, 3), proto: UDP, ports: [50000, 53], want: null },
  { what: 'not DNS: a label of 64 bytes', bytes: dnsQuery(`${'a'.repeat(64)}.com`), proto: UDP, ports: [50000, 53], want: null },
  { what: 'NetBIOS name query', bytes: [0x80, 0x01, 0x01, 0x10, ...u16(1), ...u16(0), ...u16(0), ...u16(0), ...nbName('WORKGROUP'), ...u16(0x20), ...u16(1)], proto: UDP, ports: [137, 137], want: 'NetBIOS' },
  { what: 'not NetBIOS: a name byte outside A-P', bytes: [0x80, 0x01, 0x01, 0x10, ...u16(1), ...u16(0), ...u16(0), ...u16(0), ...nbName('WORKGROUP').map((c, i) => (i === 5 ? 0x51 : c)), ...u16(0x20), ...u16(1)], proto: UDP, ports: [137, 137], want: null },
  { what: 'NetBIOS session request', bytes: [0x81, 0, ...u16(68), ...nbName('SERVER'), ...nbName('CLIENT')], proto: TCP, want: 'NetBIOS' },
  { what: 'SMB2 NEGOTIATE', bytes: [0, ...u24(68), 0xfe, ...ascii('SMB'), ...u16(64), ...fill(62, 0), ...fill(4, 0)], proto: TCP, want: 'SMBv23' },
  { what: 'SMB1 NEGOTIATE', bytes: [0, ...u24(35), 0xff, ...ascii('SMB'), 0x72, ...fill(30, 0)], proto: TCP, want: 'SMBv1' },
  { what: 'not SMB: SMC', bytes: [0, ...u24(68), 0xfe, ...ascii('SMC'), ...fill(64, 0)], proto: TCP, want: null },
  // RDP, RTMP, XMPP, MQTT, banners
  { what: 'RDP connection request with a cookie', bytes: rdpRequest(true, false), proto: TCP, want: 'RDP' },
  { what: 'RDP connection request with RDP_NEG_REQ', bytes: rdpRequest(false, true), proto: TCP, want: 'RDP' },
  { what: 'RDP connection confirm with RDP_NEG_RSP', bytes: [3, 0, ...u16(19), 14, 0xd0, 0, 0, 0x12, 0x34, 0, 2, 0, ...le16(8), ...le32(1)], proto: TCP, want: 'RDP' },
  { what: 'not RDP: TPKT length off by one', bytes: rdpRequest(true, true, 1), proto: TCP, want: null },
  { what: 'not RDP: an X.224 request without RDP fields (ISO-on-TCP)', bytes: [3, 0, ...u16(22), 17, 0xe0, 0, 0, 0, 1, 0, 0xc1, 2, 1, 0, 0xc2, 2, 1, 2, 0xc0, 1, 0x0a], proto: TCP, want: null },
  { what: 'RTMP C0+C1', bytes: [3, ...fill(1536, 0)], proto: TCP, want: 'RTMP' },
  { what: 'RTMP C0+C1 cut by the MSS on port 1935', bytes: [3, ...fill(1447, 0)], proto: TCP, ports: [50000, 1935], want: 'RTMP' },
  { what: 'not RTMP: 1,448 bytes elsewhere', bytes: [3, ...fill(1447, 0)], proto: TCP, ports: [50000, 8080], want: null },
  { what: 'XMPP stream header', bytes: ascii("<?xml version='1.0'?><stream:stream to='example.com' xmlns='jabber:client'>"), proto: TCP, want: 'Jabber' },
  { what: 'not XMPP: other XML', bytes: ascii("<?xml version='1.0'?><html>"), proto: TCP, want: null },
  { what: 'MQTT CONNECT', bytes: mqttConnect(), proto: TCP, want: 'MQTT' },
  { what: 'not MQTT: remaining length off by one', bytes: mqttConnect(4, 1), proto: TCP, want: null },
  { what: 'not MQTT: protocol level 6', bytes: mqttConnect(6), proto: TCP, want: null },
  { what: 'FTP greeting', bytes: ascii('220 ProFTPD Server ready.\r\n'), proto: TCP, ports: [21, 50000], want: 'FTP_CONTROL' },
  { what: 'FTP greeting naming no protocol, from port 21', bytes: ascii('220 Welcome\r\n'), proto: TCP, ports: [21, 50000], want: 'FTP_CONTROL' },
  { what: 'SMTP greeting', bytes: ascii('220 mail.example.com ESMTP Postfix\r\n'), proto: TCP, ports: [25, 50000], want: 'SMTP' },
  { what: 'SMTP EHLO', bytes: ascii('EHLO client.example.com\r\n'), proto: TCP, ports: [50000, 25], want: 'SMTP' },
  { what: 'not a greeting: 220 naming nothing, elsewhere', bytes: ascii('220 Welcome\r\n'), proto: TCP, ports: [8000, 50000], want: null },
  { what: 'POP3 greeting', bytes: ascii('+OK POP3 server ready\r\n'), proto: TCP, ports: [110, 50000], want: 'POP3' },
  { what: 'IMAP greeting', bytes: ascii('* OK [CAPABILITY IMAP4rev1] ready\r\n'), proto: TCP, ports: [143, 50000], want: 'IMAP' },
  { what: 'not IMAP: * NO', bytes: ascii('* NO go away\r\n'), proto: TCP, ports: [143, 50000], want: null },
  // Others
  { what: 'BGP KEEPALIVE', bytes: [...fill(16, 0xff), ...u16(19), 4], proto: TCP, want: 'BGP' },
  { what: 'not BGP: type 9', bytes: [...fill(16, 0xff), ...u16(19), 9], proto: TCP, want: null },
  { what: 'Telnet negotiation', bytes: [0xff, 0xfd, 0x18, 0xff, 0xfd, 0x20, 0xff, 0xfb, 0x01], proto: TCP, want: 'Telnet' },
  { what: 'not Telnet: a data byte among the commands', bytes: [0xff, 0xfd, 0x18, 0x41, 0xfd, 0x20], proto: TCP, want: null },
  { what: 'TDS PRELOGIN', bytes: [0x12, 1, ...u16(20), 0, 0, 1, 0, 0, ...u16(6), ...u16(6), 0xff, 16, 0, 0, 0, 0, 0], proto: TCP, want: 'MsSQL-TDS' },
  { what: 'not TDS: an option past the packet', bytes: [0x12, 1, ...u16(20), 0, 0, 1, 0, 0, ...u16(6), ...u16(7), 0xff, 16, 0, 0, 0, 0, 0], proto: TCP, want: null },
  { what: 'TDS SQL batch met mid-connection on 1433', bytes: [1, 1, ...u16(20), 0, 0x35, 1, 0, ...fill(12, 0x41)], proto: TCP, ports: [50000, 1433], want: 'MsSQL-TDS' },
  { what: 'TDS tabular result continuing past the segment on 1433', bytes: [4, 0, ...u16(4096), 0, 0x35, 1, 0, ...fill(12, 0x41)], proto: TCP, ports: [1433, 50000], want: 'MsSQL-TDS' },
  { what: 'not TDS: an SQL batch elsewhere', bytes: [1, 1, ...u16(20), 0, 0x35, 1, 0, ...fill(12, 0x41)], proto: TCP, ports: [50000, 1434], want: null },
  { what: 'not TDS: window set', bytes: [1, 1, ...u16(20), 0, 0x35, 1, 1, ...fill(12, 0x41)], proto: TCP, ports: [50000, 1433], want: null },
  { what: 'not TDS: type 5', bytes: [5, 1, ...u16(20), 0, 0x35, 1, 0, ...fill(12, 0x41)], proto: TCP, ports: [50000, 1433], want: null },
  { what: 'MySQL server greeting', bytes: [...le16(20), 0, 0, 10, ...ascii('8.0.36'), 0, ...le32(7), ...fill(8, 0x41)], proto: TCP, want: 'MySQL' },
  { what: 'PostgreSQL SSLRequest', bytes: [...u32(8), ...u32(80877103)], proto: TCP, want: 'PostgreSQL' },
  { what: 'PostgreSQL StartupMessage', bytes: [...u32(4 + 4 + 10 + 1), ...u32(196608), ...ascii('user\0bob\0'), ...[0x64, 0]].slice(0, 19).concat([0]), proto: TCP, want: null },
  { what: 'MongoDB OP_MSG', bytes: [...le32(21), ...le32(1), ...le32(0), ...le32(2013), ...le32(0), 0], proto: TCP, want: 'MongoDB' },
  { what: 'not MongoDB: a reply (responseTo set)', bytes: [...le32(21), ...le32(1), ...le32(9), ...le32(2013), ...le32(0), 0], proto: TCP, want: null },
  { what: 'PPTP Start-Control-Connection-Request', bytes: [...u16(156), ...u16(1), ...u32(0x1a2b3c4d), ...u16(1), ...fill(146, 0)], proto: TCP, want: 'PPTP' },
  { what: 'Bitcoin version message', bytes: [...u32(0xf9beb4d9), ...ascii('version'), 0, 0, 0, 0, 0, ...le32(100), ...fill(4, 0)], proto: TCP, want: 'BITCOIN' },
  { what: 'not Bitcoin: a capital in the command', bytes: [...u32(0xf9beb4d9), ...ascii('Version'), 0, 0, 0, 0, 0, ...le32(100), ...fill(4, 0)], proto: TCP, want: null },
  { what: 'SNMPv2c get', bytes: [0x30, 0x0b, 0x02, 0x01, 0x01, 0x04, 0x06, ...ascii('public')], proto: UDP, ports: [50000, 161], want: 'SNMP' },
  { what: 'not SNMP: version 2', bytes: [0x30, 0x0b, 0x02, 0x01, 0x02, 0x04, 0x06, ...ascii('public')], proto: UDP, ports: [50000, 161], want: null },
  { what: 'TFTP read request', bytes: [0, 1, ...ascii('boot.img'), 0, ...ascii('octet'), 0], proto: UDP, ports: [50000, 69], want: 'TFTP' },
  { what: 'not TFTP: unknown mode', bytes: [0, 1, ...ascii('boot.img'), 0, ...ascii('binary'), 0], proto: UDP, ports: [50000, 69], want: null },
  { what: 'syslog message', bytes: ascii('<34>Oct 11 22:14:15 host su: failed'), proto: UDP, ports: [50000, 514], want: 'Syslog' },
  { what: 'not syslog: PRI 192', bytes: ascii('<192>x'), proto: UDP, ports: [50000, 514], want: null },
  { what: 'Kerberos AS-REQ', bytes: [0x6a, 0x08, 0x30, 0x06, 0xa1, 0x04, 0x02, 0x02, 0x00, 0x05], proto: UDP, ports: [50000, 88], want: 'Kerberos' },
  { what: 'Kerberos AS-REQ over TCP', bytes: [...u32(10), 0x6a, 0x08, 0x30, 0x06, 0xa1, 0x04, 0x02, 0x02, 0x00, 0x05], proto: TCP, ports: [50000, 88], want: 'Kerberos' },
  { what: 'not Kerberos: outer length off by one', bytes: [0x6a, 0x09, 0x30, 0x06, 0xa1, 0x04, 0x02, 0x02, 0x00, 0x05], proto: UDP, ports: [50000, 88], want: null },
  { what: 'not Kerberos: APPLICATION 15', bytes: [0x6f, 0x08, 0x30, 0x06, 0xa1, 0x04, 0x02, 0x02, 0x00, 0x05], proto: UDP, ports: [50000, 88], want: null },
  { what: 'SLPv2 service request', bytes: [2, 1, ...u24(20), 0x20, 0, ...u24(0), ...u16(7), ...u16(2), ...ascii('en'), ...u16(0), ...u16(0)], proto: UDP, ports: [50000, 427], want: 'Service_Location_Protocol' },
  { what: 'not SLP: length off by one', bytes: [2, 1, ...u24(21), 0x20, 0, ...u24(0), ...u16(7), ...u16(2), ...ascii('en'), ...u16(0), ...u16(0)], proto: UDP, ports: [50000, 427], want: null },
  { what: 'not SLP: a reserved flag bit', bytes: [2, 1, ...u24(20), 0x20, 1, ...u24(0), ...u16(7), ...u16(2), ...ascii('en'), ...u16(0), ...u16(0)], proto: UDP, ports: [50000, 427], want: null },
  { what: 'RADIUS Access-Request', bytes: [1, 7, ...u16(26), ...fill(16, 3), 1, 6, ...ascii('bob!')], proto: UDP, ports: [50000, 1812], want: 'Radius' },
  { what: 'not RADIUS: attribute overruns', bytes: [1, 7, ...u16(26), ...fill(16, 3), 1, 7, ...ascii('bob!')], proto: UDP, ports: [50000, 1812], want: null },
  { what: 'NFSv3 call over TCP', bytes: [...u32(0x80000000 | 40), ...u32(1), ...u32(0), ...u32(2), ...u32(100003), ...u32(3), ...u32(1), ...u32(0), ...u32(0), ...u32(0), ...u32(0)], proto: TCP, ports: [900, 2049], want: 'NFS' },
  { what: 'not NFS: program 100000 (the portmapper)', bytes: [...u32(0x80000000 | 40), ...u32(1), ...u32(0), ...u32(2), ...u32(100000), ...u32(3), ...u32(1), ...u32(0), ...u32(0), ...u32(0), ...u32(0)], proto: TCP, ports: [900, 2049], want: null },
  { what: 'Source engine A2S_INFO', bytes: [0xff, 0xff, 0xff, 0xff, 0x54, ...ascii('Source Engine Query'), 0], proto: UDP, ports: [50000, 27015], want: 'Source_Engine' },
  { what: 'TeamSpeak 3 Init1 from the client', bytes: [...ascii('TS3INIT1'), 0, 0x65, 0, 0, 0x88, ...fill(21, 0)], proto: UDP, ports: [50000, 9987], want: 'TeamSpeak' },
  { what: 'not TeamSpeak: another packet id', bytes: [...ascii('TS3INIT1'), 0, 0x66, 0, 0, 0x88, ...fill(21, 0)], proto: UDP, ports: [50000, 9987], want: null },
  { what: 'rsh: the standard-error port', bytes: [...ascii('1022'), 0], proto: TCP, ports: [1023, 514], want: 'RSH' },
  { what: 'rsh: port, users and command', bytes: [...ascii('0'), 0, ...ascii('alice'), 0, ...ascii('root'), 0, ...ascii('ls -l'), 0], proto: TCP, ports: [1023, 514], want: 'RSH' },
  { what: 'not rsh: six digits', bytes: [...ascii('102200'), 0], proto: TCP, ports: [1023, 514], want: null },
  { what: 'not rsh: from port 514', bytes: [...ascii('1022'), 0], proto: TCP, ports: [514, 1023], want: null },
  { what: 'tinc ID request', bytes: ascii('0 alice 17.7\n'), proto: TCP, ports: [50000, 655], want: 'TINC' },
  { what: 'not tinc: another request number', bytes: ascii('1 alice 17.7\n'), proto: TCP, ports: [50000, 655], want: null },
  { what: 'not tinc: a dash in the name', bytes: ascii('0 al-ice 17\n'), proto: TCP, ports: [50000, 655], want: null },
  { what: 'NFS MOUNT call over UDP on the port the portmapper gave', bytes: [...u32(7), ...u32(0), ...u32(2), ...u32(100005), ...u32(1), ...u32(1), ...u32(1), ...u32(0), ...u32(0), ...u32(0)], proto: UDP, ports: [900, 671], want: 'NFS' },
  { what: 'not NFS: an RPC reply (message type 1)', bytes: [...u32(7), ...u32(1), ...u32(2), ...u32(100005), ...u32(1), ...u32(1), ...u32(1), ...u32(0), ...u32(0), ...u32(0)], proto: UDP, ports: [900, 671], want: null },
  { what: 'RMCP presence ping (ASF)', bytes: [6, 0, 0xff, 6, ...u32(4542), 0x80, 0, 0, 0], proto: UDP, ports: [50000, 623], want: 'RMCP' },
  { what: 'not RMCP: version 7', bytes: [7, 0, 0xff, 6, ...u32(4542), 0x80, 0, 0, 0], proto: UDP, ports: [50000, 623], want: null },
  { what: 'NAT-PMP external address request', bytes: [0, 0], proto: UDP, ports: [50000, 5351], want: 'NAT-PMP' },
  { what: 'NAT-PMP external address response', bytes: [0, 128, ...u16(0), ...u32(100), 192, 0, 2, 1], proto: UDP, ports: [5351, 50000], want: 'NAT-PMP' },
  { what: 'not NAT-PMP: a mapping request of 11 bytes', bytes: [0, 1, 0, 0, ...u16(4000), ...u16(4000), 0, 0, 14], proto: UDP, ports: [50000, 5351], want: null },
  { what: 'RakNet unconnected ping', bytes: [0x01, ...fill(8, 0), 0x00, 0xff, 0xff, 0x00, 0xfe, 0xfe, 0xfe, 0xfe, 0xfd, 0xfd, 0xfd, 0xfd, 0x12, 0x34, 0x56, 0x78, ...fill(8, 9)], proto: UDP, ports: [50000, 19132], want: 'RakNet' },
  { what: 'not RakNet: magic at the wrong place', bytes: [0x01, ...fill(7, 0), 0x00, 0xff, 0xff, 0x00, 0xfe, 0xfe, 0xfe, 0xfe, 0xfd, 0xfd, 0xfd, 0xfd, 0x12, 0x34, 0x56, 0x78, ...fill(9, 9)], proto: UDP, ports: [50000, 19132], want: null },
  { what: 'DHCPv6 Solicit', bytes: [1, 0x12, 0x34, 0x56, ...u16(8), ...u16(2), ...u16(0)], proto: UDP, ports: [546, 547], want: 'DHCPV6' },
  { what: 'git upload-pack request', bytes: ascii('0027git-upload-pack /project.git\0host=a\0').slice(0, 0x27), proto: TCP, want: 'Git' },
  { what: 'AMQP 0-9-1 header', bytes: [...ascii('AMQP'), 0, 0, 9, 1], proto: TCP, want: 'AMQP' },
  { what: 'MGCP AUEP', bytes: ascii('AUEP 1200 aaln/1@gw.example.net MGCP 1.0\r\n'), proto: UDP, ports: [2727, 2427], want: 'MGCP' },
  { what: 'MGCP 0.1 (the drafts before RFC 2705)', bytes: ascii('RQNT 1 *@gateway.example.com MGCP 0.1\r\nX: 2\r\n\r\n'), proto: UDP, ports: [2427, 2427], want: 'MGCP' },
  { what: 'not MGCP: version without a digit', bytes: ascii('RQNT 1 *@gateway.example.com MGCP x.1\r\n'), proto: UDP, ports: [2427, 2427], want: null },
  { what: 'not MGCP: no transaction id', bytes: ascii('AUEP x aaln/1@gw.example.net MGCP 1.0\r\n'), proto: UDP, ports: [2727, 2427], want: null },
  // WhatsApp (the edge-routing preamble, the connection header, Noise frames)
  { what: 'WhatsApp edge-routing preamble written alone', bytes: ascii('ED\x00\x01'), proto: TCP, ports: [50000, 5222], want: 'WhatsApp' },
  { what: 'WhatsApp preamble, routing data, header and a frame', bytes: [...ascii('ED\x00\x01'), ...u24(4), 0x08, 0x09, 0x08, 0x02, ...ascii('WA'), 6, 3, ...u24(40), ...fill(40)], proto: TCP, ports: [50000, 443], want: 'WhatsApp' },
  { what: 'WhatsApp header and a whole frame, no preamble', bytes: [...ascii('WA'), 6, 3, ...u24(40), ...fill(40)], proto: TCP, ports: [50000, 443], want: 'WhatsApp' },
  { what: 'WhatsApp header written alone on 5222', bytes: [...ascii('WA'), 5, 2], proto: TCP, ports: [50000, 5222], want: 'WhatsApp' },
  { what: 'not WhatsApp: the header alone on another port', bytes: [...ascii('WA'), 5, 2], proto: TCP, ports: [50000, 8080], want: null },
  { what: 'not WhatsApp: a frame one byte short of its length', bytes: [...ascii('WA'), 6, 3, ...u24(40), ...fill(39)], proto: TCP, ports: [50000, 443], want: null },
  { what: 'not WhatsApp: a zero routing length', bytes: [...ascii('ED\x00\x01'), ...u24(0), ...ascii('WA'), 6, 3], proto: TCP, ports: [50000, 443], want: null },
  { what: 'not WhatsApp: ED 0 2', bytes: ascii('ED\x00\x02'), proto: TCP, ports: [50000, 5222], want: null },
  // H.323 (TPKT + Q.931 with H.225.0's two-byte User-user length)
  { what: 'H.225.0 Setup', bytes: h225(5), proto: TCP, ports: [50000, 1720], want: 'H323' },
  { what: 'H.225.0 Release Complete elsewhere', bytes: h225(0x5a), proto: TCP, ports: [50000, 40000], want: 'H323' },
  { what: 'not H.323: a Q.931 message type H.225.0 does not use (0x60)', bytes: h225(0x60), proto: TCP, ports: [50000, 1720], want: null },
  { what: 'not H.323: the User-user length off by one', bytes: h225(5, 1), proto: TCP, ports: [50000, 1720], want: null },
  { what: 'not H.323: a 1-byte call reference', bytes: [3, 0, ...u16(13), 8, 1, 0x42, 5, 0x04, 3, 0x88, 0x90, 0xa5], proto: TCP, ports: [50000, 1720], want: null },
  // Cisco SCCP
  { what: 'SCCP KeepAlive to port 2000', bytes: [...le32(4), ...le32(0), ...le32(0)], proto: TCP, ports: [50000, 2000], want: 'CiscoSkinny' },
  { what: 'SCCP two messages from the call manager (v22 header)', bytes: [...le32(8), ...le32(0x16), ...le32(0x100), ...le32(1), ...le32(4), ...le32(0), ...le32(0x9f)], proto: TCP, ports: [2000, 50000], want: 'CiscoSkinny' },
  { what: 'not SCCP: header version 0x30', bytes: [...le32(4), ...le32(0x30), ...le32(0)], proto: TCP, ports: [50000, 2000], want: null },
  { what: 'not SCCP: message id 0x200', bytes: [...le32(4), ...le32(0), ...le32(0x200)], proto: TCP, ports: [50000, 2000], want: null },
  { what: 'not SCCP: another port', bytes: [...le32(4), ...le32(0), ...le32(0)], proto: TCP, ports: [50000, 2001], want: null },
  // IRC
  { what: 'IRC NICK', bytes: ascii('NICK alice\r\n'), proto: TCP, ports: [50000, 6667], want: 'IRC' },
  { what: 'IRC USER, LF only', bytes: ascii('USER guest 0 * :Ronnie Reagan\n'), proto: TCP, ports: [50000, 6667], want: 'IRC' },
  { what: 'IRC CAP LS 302', bytes: ascii('CAP LS 302\r\nNICK bob\r\n'), proto: TCP, ports: [50000, 6667], want: 'IRC' },
  { what: 'IRC server notice', bytes: ascii(':irc.example.net NOTICE * :*** Looking up your hostname\r\n'), proto: TCP, ports: [6667, 50000], want: 'IRC' },
  { what: 'IRC welcome numeric', bytes: ascii(':irc.example.net 001 alice :Welcome\r\n'), proto: TCP, ports: [6667, 50000], want: 'IRC' },
  { what: 'not IRC: NICK elsewhere', bytes: ascii('NICK alice\r\n'), proto: TCP, ports: [50000, 6000], want: null },
  { what: 'not IRC: USER without a real name', bytes: ascii('USER guest 0 *\r\n'), proto: TCP, ports: [50000, 6667], want: null },
  { what: 'not IRC: a two-digit numeric', bytes: ascii(':irc.example.net 01 alice :Welcome\r\n'), proto: TCP, ports: [6667, 50000], want: null },
  { what: 'not IRC: no line end', bytes: ascii('NICK alice'), proto: TCP, ports: [50000, 6667], want: null },
  // Gnutella
  { what: 'Gnutella 0.6 connect', bytes: ascii('GNUTELLA CONNECT/0.6\r\nUser-Agent: x\r\n\r\n'), proto: TCP, want: 'Gnutella' },
  { what: 'Gnutella 0.4 connect', bytes: ascii('GNUTELLA CONNECT/0.4\n\n'), proto: TCP, want: 'Gnutella' },
  { what: 'Gnutella 0.6 answer', bytes: ascii('GNUTELLA/0.6 200 OK\r\n\r\n'), proto: TCP, want: 'Gnutella' },
  { what: 'not Gnutella: version without digits', bytes: ascii('GNUTELLA CONNECT/x.y\r\n'), proto: TCP, want: null },
  { what: 'not Gnutella: a status of two digits', bytes: ascii('GNUTELLA/0.6 20 OK\r\n'), proto: TCP, want: null },
  // eDonkey
  { what: 'eDonkey Hello', bytes: [0xe3, ...le32(1 + 17), 0x01, 16, ...fill(16, 0x11)], proto: TCP, want: 'eDonkey' },
  { what: 'eMule extension messages, two of them', bytes: [0xc5, ...le32(3), 0x60, 1, 2, 0xe3, ...le32(1), 0x38], proto: TCP, want: 'eDonkey' },
  { what: 'not eDonkey: size one byte long', bytes: [0xe3, ...le32(1 + 18), 0x01, 16, ...fill(16, 0x11)], proto: TCP, want: null },
  { what: 'not eDonkey: protocol byte 0xe4', bytes: [0xe4, ...le32(1 + 17), 0x01, 16, ...fill(16, 0x11)], proto: TCP, want: null },
  // XDMCP and the X11 sessions nDPI names so
  { what: 'XDMCP Query with one authentication name', bytes: [...u16(1), ...u16(2), ...u16(1 + 2 + 18), 1, ...u16(18), ...ascii('MIT-MAGIC-COOKIE-1')], proto: UDP, ports: [50000, 177], want: 'XDMCP' },
  { what: 'XDMCP Query without authentication names', bytes: [...u16(1), ...u16(2), ...u16(1), 0], proto: UDP, ports: [50000, 177], want: 'XDMCP' },
  { what: 'not XDMCP: version 2', bytes: [...u16(2), ...u16(2), ...u16(1), 0], proto: UDP, ports: [50000, 177], want: null },
  { what: 'not XDMCP: names past the length', bytes: [...u16(1), ...u16(2), ...u16(1), 1], proto: UDP, ports: [50000, 177], want: null },
  { what: 'X11 connection setup with an MIT-MAGIC-COOKIE-1', bytes: x11Setup(), proto: TCP, ports: [50000, 6000], want: 'XDMCP' },
  { what: 'not X11: protocol version 10', bytes: x11Setup(10), proto: TCP, ports: [50000, 6000], want: null },
  { what: 'not X11: display port 6100', bytes: x11Setup(), proto: TCP, ports: [50000, 6100], want: null },
  // IAX2
  { what: 'IAX2 NEW with information elements', bytes: iax(1, [[11, [2]], [1, ascii('100')]]), proto: UDP, ports: [4569, 4569], want: 'IAX' },
  { what: 'IAX2 ACK (no elements)', bytes: iax(4, []), proto: UDP, ports: [50000, 4569], want: 'IAX' },
  { what: 'not IAX2: a mini frame (F bit clear)', bytes: iax(1, [[11, [2]]]).map((c, i) => (i === 0 ? c & 0x7f : c)), proto: UDP, ports: [4569, 4569], want: null },
  { what: 'not IAX2: frame type voice (2)', bytes: iax(1, [[11, [2]]]).map((c, i) => (i === 10 ? 2 : c)), proto: UDP, ports: [4569, 4569], want: null },
  { what: 'not IAX2: an element running past the datagram', bytes: iax(1, [[11, [2]]]).slice(0, 14), proto: UDP, ports: [4569, 4569], want: null },
  { what: 'not IAX2: another port', bytes: iax(1, [[11, [2]]]), proto: UDP, ports: [4570, 4570], want: null },
  // Discord, Mumble, TeamViewer
  { what: 'Discord IP discovery request', bytes: discordDiscovery(1, ''), proto: UDP, ports: [50000, 50004], want: 'Discord' },
  { what: 'Discord IP discovery response', bytes: discordDiscovery(2, '203.0.113.7'), proto: UDP, ports: [50004, 50000], want: 'Discord' },
  { what: 'not Discord: length 71', bytes: discordDiscovery(1, '').map((c, i) => (i === 3 ? 71 : c)), proto: UDP, ports: [50000, 50004], want: null },
  { what: 'not Discord: a response without an address', bytes: discordDiscovery(2, ''), proto: UDP, ports: [50004, 50000], want: null },
  { what: 'not Discord: a letter outside hex in the address', bytes: discordDiscovery(2, 'host.example'), proto: UDP, ports: [50004, 50000], want: null },
  { what: 'Mumble ping', bytes: [...u32(0), ...fill(8, 0x31)], proto: UDP, ports: [50000, 64738], want: 'Mumble' },
  { what: 'Mumble ping answer', bytes: [0, 1, 4, 7, ...fill(8, 0x31), ...u32(3), ...u32(100), ...u32(72000)], proto: UDP, ports: [64738, 50000], want: 'Mumble' },
  { what: 'not Mumble: a ping of 13 bytes', bytes: [...u32(0), ...fill(9, 0x31)], proto: UDP, ports: [50000, 64738], want: null },
  { what: 'not Mumble: a ping elsewhere', bytes: [...u32(0), ...fill(8, 0x31)], proto: UDP, ports: [50000, 64739], want: null },
  { what: 'TeamViewer over TCP on 5938', bytes: [0x17, 0x24, 0x0a, ...fill(20, 0)], proto: TCP, ports: [50000, 5938], want: 'TeamViewer' },
  { what: 'TeamViewer over UDP on 5938', bytes: [0, ...fill(10, 1), 0x17, 0x24, ...fill(8, 0)], proto: UDP, ports: [50000, 5938], want: 'TeamViewer' },
  { what: 'not TeamViewer: the magic elsewhere', bytes: [0x17, 0x24, 0x0a, ...fill(20, 0)], proto: TCP, ports: [50000, 5939], want: null },
  { what: 'NoMachine client hello', bytes: ascii('NXSH-8.10.1\n'), proto: TCP, ports: [50000, 4000], want: 'NoMachine' },
  { what: 'NoMachine server hello, CR LF', bytes: ascii('NXD-7.9.2\r\n'), proto: TCP, ports: [4000, 50000], want: 'NoMachine' },
  { what: 'not NoMachine: a version without a dot', bytes: ascii('NXSH-81012\n'), proto: TCP, ports: [50000, 4000], want: null },
  { what: 'not NoMachine: text after the version', bytes: ascii('NXSH-8.1 abc\n'), proto: TCP, ports: [50000, 4000], want: null },
  { what: 'not NoMachine: 15 bytes', bytes: ascii('NXSH-8.10.100\r\n'), proto: TCP, ports: [50000, 4000], want: null },
];

// ---- databases, brokers, industrial/IoT, infrastructure (built from the specifications cited in the source) ----

/** A BER TLV (X.690 §8.1): tag, definite length (short or long form), contents. */
function tlv(tag: number, body: number[]): number[] {
  const n = body.length;
  return [tag, ...(n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff]), ...body];
}
/** An LDAP simple BindRequest (RFC 4511 §4.2) of `version`, message id 1. */
const ldapBind = (version = 3, op = 0x60): number[] => tlv(0x30, [...tlv(0x02, [1]), ...tlv(op, [...tlv(0x02, [version]), ...tlv(0x04, ascii('cn=admin')), ...tlv(0x80, ascii('secret'))])]);
/** A RESP array of bulk strings (the Redis protocol specification). */
const respArray = (...items: string[]): number[] => ascii(`*${items.length}\r\n${items.map((s) => `$${s.length}\r\n${s}\r\n`).join('')}`);
/** A CQL frame (native_protocol_v4.spec §2): version, flags, stream, opcode, body. */
const cql = (version: number, opcode: number, body: number[], stream = 0, lengthDelta = 0): number[] => [version, 0, ...u16(stream), opcode, ...u32(body.length + lengthDelta), ...body];
/** A CQL [string map] (§3) of one entry. */
const cqlMap = (k: string, v: string): number[] => [...u16(1), ...u16(k.length), ...ascii(k), ...u16(v.length), ...ascii(v)];
/** An AJP13 Forward Request (AJPv13 reference): GET (method code 2) of `/` over HTTP/1.1, no headers or attributes. */
function ajpForward(method = 2, proto = 'HTTP/1.1'): number[] {
  const str = (s: string): number[] => [...u16(s.length), ...ascii(s), 0];
  const body = [2, method, ...str(proto), ...str('/'), ...str('10.0.0.1'), 0xff, 0xff, ...str('www'), ...u16(80), 0, ...u16(0), 0xff];
  return [0x12, 0x34, ...u16(body.length), ...body];
}
/** A TNS CONNECT packet (header, then version 314 / lowest 300 and the fixed fields up to offset 34) with `data`. */
function tnsConnect(data: string, version = 314, lengthDelta = 0): number[] {
  const d = ascii(data);
  const fixed = [...u16(version), ...u16(300), ...u16(0), ...u16(8192), ...u16(32767), ...u16(0x4f98), ...u16(0), ...u16(1), ...u16(d.length), ...u16(34), ...u32(0), 0x41, 0x41];
  return [...u16(8 + fixed.length + d.length + lengthDelta), ...u16(0), 1, 0, ...u16(0), ...fixed, ...d];
}
/** A DRDA request DSS (DRDA Vol. 1) carrying a DDM object of code point `cp` with `body` bytes. */
const drda = (cp: number, body: number[], format = 0x41): number[] => [...u16(10 + body.length), 0xd0, format, ...u16(1), ...u16(4 + body.length), ...u16(cp), ...body];
/** A Modbus/TCP ADU (MBAP + PDU). */
const mbap = (pdu: number[], tid = 1, proto = 0, unit = 1): number[] => [...u16(tid), ...u16(proto), ...u16(pdu.length + 1), unit, ...pdu];
/** OPC UA Hello (Part 6 §7.1.2.3) for `url`. */
function opcHello(url = 'opc.tcp://plc:4840', sizeDelta = 0, version = 0): number[] {
  const body = [...le32(version), ...le32(65536), ...le32(65536), ...le32(0), ...le32(0), ...le32(url.length), ...ascii(url)];
  return [...ascii('HELF'), ...le32(8 + body.length + sizeDelta), ...body];
}
/** An EtherNet/IP encapsulation header (little-endian) and its data. */
const enip = (command: number, data: number[], options = 0): number[] => [...le16(command), ...le16(data.length), ...le32(0), ...le32(0), ...fill(8, 0), ...le32(options), ...data];
/** A Diameter message (RFC 6733 §3) with the given AVPs (each code, flags, data; padded to 4). */
function diameter(flags: number, code: number, avps: [number, number, number[]][], version = 1): number[] {
  const body = avps.flatMap(([c, f, d]) => {
    const a = [...u32(c), f, ...u24(8 + d.length), ...d];
    return [...a, ...fill((4 - (a.length % 4)) % 4, 0)];
  });
  return [version, ...u24(20 + body.length), flags, ...u24(code), ...u32(0), ...u32(0x1111), ...u32(0x2222), ...body];
}
const CER_AVPS: [number, number, number[]][] = [[264, 0x40, ascii('client.example.net')], [296, 0x40, ascii('example.net')], [257, 0x40, [0, 1, 10, 0, 0, 1]]];
/** A NetFlow v5 record (Cisco's export format): addresses, interfaces, 3 packets, octets, times, ports, pad1, TCP flags, protocol 6, ToS, ASes, masks, pad2. */
const nf5 = (pad1 = 0): number[] => [10, 0, 0, 1, 10, 0, 0, 2, 0, 0, 0, 0, ...u16(1), ...u16(2), ...u32(3), ...u32(180), ...u32(1000), ...u32(2000), ...u16(50000), ...u16(443), pad1, 0x18, 6, 0, ...u16(0), ...u16(0), 24, 24, 0, 0];
/** An sFlow v5 datagram (IPv4 agent) with one counters sample of `n` bytes. */
const sflow = (n = 8, version = 5, format = 2): number[] => [...u32(version), ...u32(1), 10, 0, 0, 1, ...u32(0), ...u32(7), ...u32(1000), ...u32(1), ...u32(format), ...u32(n), ...fill(n, 0)];
/** An SMPP bind PDU (v3.4 §4.1.1). */
function smppBind(id = 2, version = 0x34, systemId = 'esme01', lengthDelta = 0): number[] {
  const body = [...ascii(systemId), 0, ...ascii('pw'), 0, ...ascii('VMA'), 0, version, 1, 1, 0];
  return [...u32(16 + body.length + lengthDelta), ...u32(id), ...u32(0), ...u32(1), ...body];
}
/** A DCE/RPC bind (C706 §12.6.4.3) with one presentation context, little-endian. */
function dcerpcBind(version = 5, drep0 = 0x10, maxFrag = 5840): number[] {
  const ctx = [...le16(0), 1, 0, ...fill(16, 0x11), ...le16(3), ...le16(0), ...fill(16, 0x22), ...le32(2)];
  const body = [...le16(maxFrag), ...le16(maxFrag), ...le32(0), 1, 0, 0, 0, ...ctx];
  return [version, 0, 11, 0x03, drep0, 0, 0, 0, ...le16(16 + body.length), ...le16(0), ...le32(2), ...body];
}

const SERVICE_CASES: Case[] = [
  // Databases and brokers
  { what: 'RESP command (Redis PING)', bytes: respArray('PING'), proto: TCP, ports: [50000, 6379], want: 'RESP' },
  { what: 'RESP command with arguments, anywhere', bytes: respArray('SET', 'key', 'value'), proto: TCP, want: 'RESP' },
  { what: 'not RESP: bulk length off by one', bytes: ascii('*1\r\n$5\r\nPING\r\n'), proto: TCP, want: null },
  { what: 'not RESP: a digit in the command name', bytes: respArray('P1NG'), proto: TCP, want: null },
  { what: 'Memcached text get on 11211', bytes: ascii('get user:42\r\n'), proto: TCP, ports: [50000, 11211], want: 'Memcached' },
  { what: 'Memcached binary GET request on 11211', bytes: [0x80, 0x00, ...u16(3), 0, 0, ...u16(0), ...u32(3), ...u32(0), ...fill(8, 0), ...ascii('key')], proto: TCP, ports: [50000, 11211], want: 'Memcached' },
  { what: 'Memcached stats over UDP (frame header first)', bytes: [...u16(1), ...u16(0), ...u16(1), ...u16(0), ...ascii('stats\r\n')], proto: UDP, ports: [50000, 11211], want: 'Memcached' },
  { what: 'not Memcached: a text get elsewhere', bytes: ascii('get user:42\r\n'), proto: TCP, ports: [50000, 11212], want: null },
  { what: 'not Memcached: binary data type 1', bytes: [0x80, 0x00, ...u16(3), 0, 1, ...u16(0), ...u32(3), ...u32(0), ...fill(8, 0), ...ascii('key')], proto: TCP, ports: [50000, 11211], want: null },
  { what: 'not Memcached: UDP frame header with reserved bytes set', bytes: [...u16(1), ...u16(0), ...u16(1), ...u16(1), ...ascii('stats\r\n')], proto: UDP, ports: [50000, 11211], want: null },
  { what: 'Cassandra STARTUP (v4)', bytes: cql(4, 0x01, cqlMap('CQL_VERSION', '3.0.0')), proto: TCP, want: 'Cassandra' },
  { what: 'Cassandra SUPPORTED (v4 response)', bytes: cql(0x84, 0x06, [...u16(1), ...u16(11), ...ascii('CQL_VERSION'), ...u16(1), ...u16(5), ...ascii('3.4.5')]), proto: TCP, ports: [9042, 50000], want: 'Cassandra' },
  { what: 'Cassandra OPTIONS on 9042', bytes: cql(4, 0x05, []), proto: TCP, ports: [50000, 9042], want: 'Cassandra' },
  { what: 'not Cassandra: OPTIONS elsewhere', bytes: cql(4, 0x05, []), proto: TCP, ports: [50000, 9043], want: null },
  { what: 'not Cassandra: STARTUP body length off by one', bytes: cql(4, 0x01, cqlMap('CQL_VERSION', '3.0.0'), 0, 1), proto: TCP, want: null },
  { what: 'not Cassandra: protocol version 6', bytes: cql(6, 0x01, cqlMap('CQL_VERSION', '3.0.0')), proto: TCP, want: null },
  { what: 'LDAP BindRequest on 389', bytes: ldapBind(), proto: TCP, ports: [50000, 389], want: 'LDAP' },
  { what: 'CLDAP search over UDP 389', bytes: tlv(0x30, [...tlv(0x02, [7]), ...tlv(0x63, [...tlv(0x04, []), 0x0a, 1, 0, 0x0a, 1, 0])]), proto: UDP, ports: [50000, 389], want: 'LDAP' },
  { what: 'not LDAP: bind version 4', bytes: ldapBind(4), proto: TCP, ports: [50000, 389], want: null },
  { what: 'not LDAP: APPLICATION 20 (undefined)', bytes: ldapBind(3, 0x74), proto: TCP, ports: [50000, 389], want: null },
  { what: 'not LDAP: a BindRequest elsewhere', bytes: ldapBind(), proto: TCP, ports: [50000, 390], want: null },
  { what: 'AJP13 Forward Request', bytes: ajpForward(), proto: TCP, ports: [50000, 8009], want: 'AJP' },
  { what: 'AJP13 Send Headers from the container', bytes: [0x41, 0x42, ...u16(9), 4, ...u16(200), ...u16(2), ...ascii('OK'), 0, ...u16(0)], proto: TCP, ports: [8009, 50000], want: 'AJP' },
  { what: 'not AJP: method code 0', bytes: ajpForward(0), proto: TCP, ports: [50000, 8009], want: null },
  { what: 'not AJP: protocol not HTTP/', bytes: ajpForward(2, 'HTXP/1.1'), proto: TCP, ports: [50000, 8009], want: null },
  { what: 'Oracle TNS CONNECT with a connect descriptor', bytes: tnsConnect('(DESCRIPTION=(CONNECT_DATA=(SERVICE_NAME=orcl))(ADDRESS=(PROTOCOL=TCP)(HOST=db)(PORT=1521)))'), proto: TCP, ports: [50000, 1522], want: 'Oracle' },
  { what: 'not Oracle: TNS version 200', bytes: tnsConnect('(DESCRIPTION=(CONNECT_DATA=(SID=orcl)))', 200), proto: TCP, ports: [50000, 1522], want: null },
  { what: 'not Oracle: packet length off by one', bytes: tnsConnect('(DESCRIPTION=(CONNECT_DATA=(SID=orcl)))', 314, 1), proto: TCP, ports: [50000, 1522], want: null },
  { what: 'not Oracle: no descriptor away from 1521', bytes: tnsConnect('x'.repeat(40)), proto: TCP, ports: [50000, 1522], want: null },
  { what: 'DRDA EXCSAT', bytes: drda(0x1041, [...u16(8), ...u16(0x115e), ...ascii('db2c')]), proto: TCP, ports: [50000, 50001], want: 'DRDA' },
  { what: 'not DRDA: DDM length not DSS length - 6', bytes: [...u16(18), 0xd0, 0x41, ...u16(1), ...u16(11), ...u16(0x1041), ...fill(8, 0)], proto: TCP, want: null },
  { what: 'not DRDA: an unknown code point', bytes: drda(0x1234, [...u16(8), ...u16(0x115e), ...ascii('db2c')]), proto: TCP, want: null },
  { what: 'Zabbix request', bytes: [...ascii('ZBXD'), 1, ...le32(17), ...le32(0), ...ascii('{"request":"ok"}\n')], proto: TCP, ports: [50000, 10051], want: 'Zabbix' },
  { what: 'not Zabbix: flags without the protocol bit', bytes: [...ascii('ZBXD'), 2, ...le32(17), ...le32(0), ...ascii('{"request":"ok"}\n')], proto: TCP, ports: [50000, 10051], want: null },
  { what: 'NATS INFO', bytes: ascii('INFO {"server_id":"NA1","version":"2.10.7","max_payload":1048576}\r\n'), proto: TCP, ports: [4222, 50000], want: 'Nats' },
  { what: 'NATS CONNECT', bytes: ascii('CONNECT {"verbose":false,"pedantic":false,"lang":"go"}\r\n'), proto: TCP, ports: [50000, 4222], want: 'Nats' },
  { what: 'not NATS: INFO without server_id', bytes: ascii('INFO {"version":"2.10.7"}\r\n'), proto: TCP, want: null },
  { what: 'Kafka ApiVersions request', bytes: [...u32(19), ...u16(18), ...u16(3), ...u32(1), ...u16(9), ...ascii('rdkafka01')], proto: TCP, want: 'Kafka' },
  { what: 'Kafka Metadata request on 9092', bytes: [...u32(14), ...u16(3), ...u16(9), ...u32(2), ...u16(4), ...ascii('app1')], proto: TCP, ports: [50000, 9092], want: 'Kafka' },
  { what: 'not Kafka: a Metadata request elsewhere', bytes: [...u32(14), ...u16(3), ...u16(9), ...u32(2), ...u16(4), ...ascii('app1')], proto: TCP, ports: [50000, 9093], want: null },
  { what: 'not Kafka: size off by one', bytes: [...u32(20), ...u16(18), ...u16(3), ...u32(1), ...u16(9), ...ascii('rdkafka01')], proto: TCP, want: null },
  // Industrial and IoT
  { what: 'Modbus/TCP read holding registers', bytes: mbap([3, ...u16(0), ...u16(10)]), proto: TCP, ports: [50000, 502], want: 'Modbus' },
  { what: 'Modbus/TCP two ADUs in one segment', bytes: [...mbap([3, ...u16(0), ...u16(10)]), ...mbap([6, ...u16(1), ...u16(5)], 2)], proto: TCP, ports: [50000, 502], want: 'Modbus' },
  { what: 'not Modbus: protocol id 1', bytes: mbap([3, ...u16(0), ...u16(10)], 1, 1), proto: TCP, ports: [50000, 502], want: null },
  { what: 'Modbus/TCP exception response (illegal data address)', bytes: mbap([0x83, 2]), proto: TCP, ports: [502, 50000], want: 'Modbus' },
  { what: 'not Modbus: function code 0', bytes: mbap([0, ...u16(0), ...u16(10)]), proto: TCP, ports: [50000, 502], want: null },
  { what: 'not Modbus: an exception response with exception code 12', bytes: mbap([0x83, 12]), proto: TCP, ports: [502, 50000], want: null },
  { what: 'not Modbus: another port', bytes: mbap([3, ...u16(0), ...u16(10)]), proto: TCP, ports: [50000, 503], want: null },
  { what: 'DNP3 Reset Link States (the published frame 05 64 05 C0 01 00 00 04 E9 21)', bytes: [0x05, 0x64, 0x05, 0xc0, 0x01, 0x00, 0x00, 0x04, 0xe9, 0x21], proto: TCP, ports: [50000, 20000], want: 'DNP3' },
  { what: 'DNP3 over UDP', bytes: [0x05, 0x64, 0x05, 0xc0, 0x01, 0x00, 0x00, 0x04, 0xe9, 0x21], proto: UDP, ports: [50000, 20000], want: 'DNP3' },
  { what: 'not DNP3: header CRC wrong', bytes: [0x05, 0x64, 0x05, 0xc0, 0x01, 0x00, 0x00, 0x04, 0xe9, 0x22], proto: TCP, ports: [50000, 20000], want: null },
  { what: 'not DNP3: user data announced but missing', bytes: [0x05, 0x64, 0x06, 0xc0, 0x01, 0x00, 0x00, 0x04, 0xe9, 0x21], proto: TCP, ports: [50000, 20000], want: null },
  { what: 'IEC 104 STARTDT act', bytes: [0x68, 4, 0x07, 0, 0, 0], proto: TCP, ports: [50000, 2404], want: 'IEC60870' },
  { what: 'IEC 104 I-format interrogation', bytes: [0x68, 14, 0, 0, 0, 0, 100, 1, 6, 0, 1, 0, 0, 0, 0, 20], proto: TCP, ports: [50000, 2404], want: 'IEC60870' },
  { what: 'not IEC 104: two U functions at once', bytes: [0x68, 4, 0x0f, 0, 0, 0], proto: TCP, ports: [50000, 2404], want: null },
  { what: 'not IEC 104: length past the segment', bytes: [0x68, 5, 0x07, 0, 0, 0], proto: TCP, ports: [50000, 2404], want: null },
  { what: 'OPC UA Hello', bytes: opcHello(), proto: TCP, ports: [50000, 4840], want: 'OPC-UA' },
  { what: 'OPC UA Acknowledge', bytes: [...ascii('ACKF'), ...le32(28), ...le32(0), ...le32(65536), ...le32(65536), ...le32(0), ...le32(0)], proto: TCP, ports: [4840, 50000], want: 'OPC-UA' },
  { what: 'not OPC UA: Hello size off by one', bytes: opcHello('opc.tcp://plc:4840', 1), proto: TCP, ports: [50000, 4840], want: null },
  { what: 'not OPC UA: Hello of an http URL', bytes: opcHello('http://plc:4840'), proto: TCP, ports: [50000, 4840], want: null },
  { what: 'BACnet/IP Who-Is broadcast', bytes: [0x81, 0x0b, ...u16(12), 0x01, 0x20, 0xff, 0xff, 0x00, 0xff, 0x10, 0x08], proto: UDP, ports: [47808, 47808], want: 'BACnet' },
  { what: 'not BACnet: BVLL length off by one', bytes: [0x81, 0x0b, ...u16(13), 0x01, 0x20, 0xff, 0xff, 0x00, 0xff, 0x10, 0x08], proto: UDP, ports: [47808, 47808], want: null },
  { what: 'not BACnet: NPDU version 2', bytes: [0x81, 0x0b, ...u16(12), 0x02, 0x20, 0xff, 0xff, 0x00, 0xff, 0x10, 0x08], proto: UDP, ports: [47808, 47808], want: null },
  { what: 'CoAP confirmable GET /.well-known/core', bytes: [0x42, 0x01, ...u16(0x1234), 0xab, 0xcd, 0xbb, ...ascii('.well-known'), 0x04, ...ascii('core')], proto: UDP, ports: [50000, 5683], want: 'COAP' },
  { what: 'CoAP empty ACK', bytes: [0x60, 0x00, ...u16(0x1234)], proto: UDP, ports: [5683, 50000], want: 'COAP' },
  { what: 'not CoAP: token length 9', bytes: [0x49, 0x01, ...u16(0x1234), ...fill(9, 1)], proto: UDP, ports: [50000, 5683], want: null },
  { what: 'not CoAP: option running past the datagram', bytes: [0x40, 0x01, ...u16(0x1234), 0xb5, ...ascii('abc')], proto: UDP, ports: [50000, 5683], want: null },
  { what: 'EtherNet/IP RegisterSession', bytes: enip(0x65, [...le16(1), ...le16(0)]), proto: TCP, ports: [50000, 44818], want: 'EthernetIP' },
  { what: 'EtherNet/IP ListIdentity over UDP', bytes: enip(0x63, []), proto: UDP, ports: [50000, 44818], want: 'EthernetIP' },
  { what: 'not EtherNet/IP: options set', bytes: enip(0x65, [...le16(1), ...le16(0)], 1), proto: TCP, ports: [50000, 44818], want: null },
  { what: 'not EtherNet/IP: command 0x99', bytes: enip(0x99, [...le16(1), ...le16(0)]), proto: TCP, ports: [50000, 44818], want: null },
  { what: 'KNXnet/IP search request', bytes: [0x06, 0x10, ...u16(0x0201), ...u16(14), 0x08, 0x01, 192, 168, 1, 2, ...u16(3671)], proto: UDP, ports: [50000, 3671], want: 'KNXnet_IP' },
  { what: 'not KNXnet/IP: protocol version 0x20', bytes: [0x06, 0x20, ...u16(0x0201), ...u16(14), 0x08, 0x01, 192, 168, 1, 2, ...u16(3671)], proto: UDP, ports: [50000, 3671], want: null },
  { what: 'not KNXnet/IP: total length short of the datagram', bytes: [0x06, 0x10, ...u16(0x0201), ...u16(12), 0x08, 0x01, 192, 168, 1, 2, ...u16(3671)], proto: UDP, ports: [50000, 3671], want: null },
  // Infrastructure and management
  { what: 'Diameter Capabilities-Exchange-Request', bytes: diameter(0x80, 257, CER_AVPS), proto: TCP, ports: [50000, 3868], want: 'Diameter' },
  { what: 'not Diameter: version 2', bytes: diameter(0x80, 257, CER_AVPS, 2), proto: TCP, ports: [50000, 3868], want: null },
  { what: 'not Diameter: a reserved command flag', bytes: diameter(0x81, 257, CER_AVPS), proto: TCP, ports: [50000, 3868], want: null },
  { what: 'not Diameter: AVP length overrunning the message', bytes: diameter(0x80, 257, CER_AVPS).map((x, i) => (i === 27 ? x + 8 : x)), proto: TCP, ports: [50000, 3868], want: null },
  { what: 'NetFlow v5 with two records', bytes: [...u16(5), ...u16(2), ...fill(20, 1), ...nf5(), ...nf5()], proto: UDP, ports: [50000, 2055], want: 'NetFlow' },
  { what: 'not NetFlow: a v5 record with pad1 set', bytes: [...u16(5), ...u16(2), ...fill(20, 1), ...nf5(), ...nf5(1)], proto: UDP, ports: [50000, 2055], want: null },
  { what: 'NetFlow v9 template FlowSet', bytes: [...u16(9), ...u16(1), ...fill(16, 1), ...u16(0), ...u16(16), ...u16(256), ...u16(2), ...u16(8), ...u16(4), ...u16(12), ...u16(4)], proto: UDP, ports: [50000, 2055], want: 'NetFlow' },
  { what: 'IPFIX message with a data Set', bytes: [...u16(10), ...u16(28), ...fill(12, 1), ...u16(256), ...u16(12), ...fill(8, 3)], proto: UDP, ports: [50000, 4739], want: 'NetFlow' },
  { what: 'not NetFlow: v5 one record short', bytes: [...u16(5), ...u16(2), ...fill(20, 1), ...nf5()], proto: UDP, ports: [50000, 2055], want: null },
  { what: 'not IPFIX: Set id 4', bytes: [...u16(10), ...u16(28), ...fill(12, 1), ...u16(4), ...u16(12), ...fill(8, 3)], proto: UDP, ports: [50000, 4739], want: null },
  { what: 'sFlow v5 counters sample', bytes: sflow(), proto: UDP, ports: [50000, 6343], want: 'sFlow' },
  { what: 'not sFlow: version 4', bytes: sflow(8, 4), proto: UDP, ports: [50000, 6343], want: null },
  { what: 'not sFlow: sample format 9', bytes: sflow(8, 5, 9), proto: UDP, ports: [50000, 6343], want: null },
  { what: 'SOCKS 5 greeting to 1080', bytes: [5, 2, 0, 2], proto: TCP, ports: [50000, 1080], want: 'SOCKS' },
  { what: 'SOCKS 4a CONNECT to 1080', bytes: [4, 1, ...u16(80), 0, 0, 0, 1, ...ascii('bob'), 0, ...ascii('example.com'), 0], proto: TCP, ports: [50000, 1080], want: 'SOCKS' },
  { what: 'not SOCKS: greeting counting 3 methods, carrying 2', bytes: [5, 3, 0, 2], proto: TCP, ports: [50000, 1080], want: null },
  { what: 'not SOCKS: greeting elsewhere', bytes: [5, 2, 0, 2], proto: TCP, ports: [50000, 1081], want: null },
  { what: 'NNTP greeting', bytes: ascii('200 news.example.com InterNetNews server INN 2.7 ready\r\n'), proto: TCP, ports: [119, 50000], want: 'Usenet' },
  { what: 'not NNTP: 500 from 119', bytes: ascii('500 nope\r\n'), proto: TCP, ports: [119, 50000], want: null },
  { what: 'SMPP bind_transmitter', bytes: smppBind(), proto: TCP, ports: [50000, 2775], want: 'SMPP' },
  { what: 'SMPP bind_transceiver_resp', bytes: [...u32(16 + 6), ...u32(0x80000009), ...u32(0), ...u32(1), ...ascii('smsc1'), 0], proto: TCP, ports: [2775, 50000], want: 'SMPP' },
  { what: 'not SMPP: interface version 0x40', bytes: smppBind(2, 0x40), proto: TCP, ports: [50000, 2775], want: null },
  { what: 'not SMPP: command length off by one', bytes: smppBind(2, 0x34, 'esme01', 1), proto: TCP, ports: [50000, 2775], want: null },
  { what: 'DCE/RPC bind', bytes: dcerpcBind(), proto: TCP, ports: [50000, 135], want: 'DCERPC' },
  { what: 'not DCE/RPC: version 4 (connectionless)', bytes: dcerpcBind(4), proto: TCP, ports: [50000, 135], want: null },
  { what: 'not DCE/RPC: data representation 0x20', bytes: dcerpcBind(5, 0x20), proto: TCP, ports: [50000, 135], want: null },
  { what: 'not DCE/RPC: bind with a fragment size of 1,024', bytes: dcerpcBind(5, 0x10, 1024), proto: TCP, ports: [50000, 135], want: null },
  { what: 'WHOIS query to 43', bytes: ascii('example.com\r\n'), proto: TCP, ports: [50000, 43], want: 'Whois-DAS' },
  { what: 'not WHOIS: two lines', bytes: ascii('example.com\r\nexample.org\r\n'), proto: TCP, ports: [50000, 43], want: null },
  { what: 'Munin node greeting', bytes: ascii('# munin node at web01.example.net\n'), proto: TCP, ports: [4949, 50000], want: 'Munin' },
  { what: 'not Munin: a space in the host name', bytes: ascii('# munin node at web 01\n'), proto: TCP, ports: [4949, 50000], want: null },
  { what: 'Gearman SUBMIT_JOB request', bytes: [0, ...ascii('REQ'), ...u32(7), ...u32(12), ...ascii('reverse'), 0, ...ascii('id'), 0, ...ascii('a')], proto: TCP, ports: [50000, 4730], want: 'Gearman' },
  { what: 'not Gearman: packet type 0', bytes: [0, ...ascii('REQ'), ...u32(0), ...u32(12), ...ascii('reverse'), 0, ...ascii('id'), 0, ...ascii('a')], proto: TCP, ports: [50000, 4730], want: null },
  { what: 'not Gearman: size past the segment', bytes: [0, ...ascii('REQ'), ...u32(7), ...u32(13), ...ascii('reverse'), 0, ...ascii('id'), 0, ...ascii('a')], proto: TCP, ports: [50000, 4730], want: null },
  { what: 'Ceph msgr2 banner', bytes: [...ascii('ceph v2\n'), ...le16(16), ...fill(16, 0)], proto: TCP, ports: [50000, 3300], want: 'Ceph' },
  { what: 'Ceph messenger v1 banner', bytes: [...ascii('ceph v027'), ...fill(136, 0)], proto: TCP, ports: [6789, 50000], want: 'Ceph' },
  { what: 'not Ceph: msgr2 banner payload of 15 bytes', bytes: [...ascii('ceph v2\n'), ...le16(15), ...fill(15, 0)], proto: TCP, ports: [50000, 3300], want: null },
  { what: 'rsync daemon greeting', bytes: ascii('@RSYNCD: 31.0 sha512 sha256 sha1 md5 md4\n'), proto: TCP, ports: [873, 50000], want: 'RSYNC' },
  { what: 'not rsync: no LF', bytes: ascii('@RSYNCD: 31.0'), proto: TCP, ports: [873, 50000], want: null },
  { what: 'BFD control packet (Up)', bytes: [0x20, 0xc0, 3, 24, ...u32(1), ...u32(2), ...u32(300000), ...u32(300000), ...u32(0)], proto: UDP, ports: [49152, 3784], want: 'BFD' },
  { what: 'BFD control packet (Down, peer not known yet)', bytes: [0x20, 0x40, 3, 24, ...u32(1), ...u32(0), ...u32(1000000), ...u32(1000000), ...u32(0)], proto: UDP, ports: [49152, 3784], want: 'BFD' },
  { what: 'not BFD: version 0', bytes: [0x00, 0xc0, 3, 24, ...u32(1), ...u32(2), ...u32(300000), ...u32(300000), ...u32(0)], proto: UDP, ports: [49152, 3784], want: null },
  { what: 'not BFD: Up without Your Discriminator', bytes: [0x20, 0xc0, 3, 24, ...u32(1), ...u32(0), ...u32(300000), ...u32(300000), ...u32(0)], proto: UDP, ports: [49152, 3784], want: null },
  { what: 'PTPv2 Sync', bytes: [0x00, 0x02, ...u16(44), 0, 0, ...u16(0x0200), ...fill(8, 0), ...fill(4, 0), ...fill(10, 7), ...u16(1), 0, 0, ...fill(10, 0)], proto: UDP, ports: [319, 319], want: 'PTPv2' },
  { what: 'not PTP: version 1', bytes: [0x00, 0x01, ...u16(44), 0, 0, ...u16(0x0200), ...fill(8, 0), ...fill(4, 0), ...fill(10, 7), ...u16(1), 0, 0, ...fill(10, 0)], proto: UDP, ports: [319, 319], want: null },
  { what: 'not PTP: an Announce of 44 bytes', bytes: [0x0b, 0x02, ...u16(44), 0, 0, ...u16(0x0200), ...fill(8, 0), ...fill(4, 0), ...fill(10, 7), ...u16(1), 5, 1, ...fill(10, 0)], proto: UDP, ports: [320, 320], want: null },
  { what: 'PROXY protocol v1', bytes: ascii('PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n'), proto: TCP, ports: [50000, 443], want: 'HAProxy' },
  { what: 'PROXY protocol v2 (TCP over IPv4)', bytes: [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, 0x21, 0x11, ...u16(12), 192, 0, 2, 1, 198, 51, 100, 2, ...u16(56324), ...u16(443)], proto: TCP, ports: [50000, 443], want: 'HAProxy' },
  { what: 'not PROXY v2: version 3', bytes: [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, 0x31, 0x11, ...u16(12), 192, 0, 2, 1, 198, 51, 100, 2, ...u16(56324), ...u16(443)], proto: TCP, ports: [50000, 443], want: null },
  { what: 'AFP DSIOpenSession over DSI', bytes: [0, 4, ...u16(1), ...u32(0), ...u32(6), ...u32(0), 1, 4, ...u32(1024)], proto: TCP, ports: [50000, 548], want: 'AFP' },
  { what: 'not AFP: DSI command 7', bytes: [0, 7, ...u16(1), ...u32(0), ...u32(6), ...u32(0), 1, 4, ...u32(1024)], proto: TCP, ports: [50000, 548], want: null },
  { what: 'not AFP: reserved bytes set', bytes: [0, 4, ...u16(1), ...u32(0), ...u32(6), ...u32(1), 1, 4, ...u32(1024)], proto: TCP, ports: [50000, 548], want: null },
  { what: 'FINS/TCP node address data send', bytes: [...ascii('FINS'), ...u32(12), ...u32(0), ...u32(0), ...u32(0)], proto: TCP, ports: [50000, 9600], want: 'FINS' },
  { what: 'not FINS/TCP: node address send of the wrong length', bytes: [...ascii('FINS'), ...u32(16), ...u32(0), ...u32(0), ...u32(0), ...u32(0)], proto: TCP, ports: [50000, 9600], want: null },
  { what: 'FINS/UDP memory area read', bytes: [0x80, 0, 2, 0, 10, 0, 0, 20, 0, 1, 0x01, 0x01, 0x82, 0, 100, 0, 0, 1], proto: UDP, ports: [50000, 9600], want: 'FINS' },
  { what: 'not FINS/UDP: ICF with a reserved bit', bytes: [0x84, 0, 2, 0, 10, 0, 0, 20, 0, 1, 0x01, 0x01, 0x82, 0, 100, 0, 0, 1], proto: UDP, ports: [50000, 9600], want: null },
  { what: 'not FINS/UDP: MRC 0x10', bytes: [0x80, 0, 2, 0, 10, 0, 0, 20, 0, 1, 0x10, 0x01, 0x82, 0, 100, 0, 0, 1], proto: UDP, ports: [50000, 9600], want: null },
  { what: 'SOME/IP-SD message over UDP', bytes: [...u32(0xffff8100), ...u32(8 + 12), ...u32(0x00000001), 1, 1, 0x02, 0, 0xc0, 0, 0, 0, ...u32(0), ...u32(0)], proto: UDP, ports: [30490, 30490], want: 'SOMEIP' },
  { what: 'SOME/IP request and response over TCP', bytes: [...u32(0x12340001), ...u32(8 + 4), ...u32(0x00010001), 1, 1, 0x00, 0, ...u32(7), ...u32(0x12340001), ...u32(8), ...u32(0x00010001), 1, 1, 0x80, 0], proto: TCP, ports: [50000, 30501], want: 'SOMEIP' },
  { what: 'not SOME/IP: protocol version 2', bytes: [...u32(0xffff8100), ...u32(8 + 12), ...u32(0x00000001), 2, 1, 0x02, 0, 0xc0, 0, 0, 0, ...u32(0), ...u32(0)], proto: UDP, ports: [30490, 30490], want: null },
  { what: 'not SOME/IP: a request with an error return code', bytes: [...u32(0x12340001), ...u32(8 + 4), ...u32(0x00010001), 1, 1, 0x00, 1, ...u32(7)], proto: UDP, ports: [50000, 30501], want: null },
  { what: 'not SOME/IP: length one past the datagram', bytes: [...u32(0xffff8100), ...u32(8 + 13), ...u32(0x00000001), 1, 1, 0x02, 0, 0xc0, 0, 0, 0, ...u32(0), ...u32(0)], proto: UDP, ports: [30490, 30490], want: null },
  { what: 'not PROXY v1: a line over 107 bytes', bytes: ascii(`PROXY TCP4 192.0.2.1 198.51.100.2 56324 443 ${'x'.repeat(70)}\r\n`), proto: TCP, ports: [50000, 443], want: null },
];
CASES.push(...SERVICE_CASES);

// ---- games, streaming and media, remote access ----

/** An MPEG-TS packet (ISO/IEC 13818-1 §2.4.3.2): sync byte, PID 0x100, adaptation_field_control `afc`, 184 payload bytes. */
const tsPacket = (afc = 1, sync = 0x47): number[] => [sync, 0x41, 0x00, (afc << 4) | 3, ...fill(184, 0xa5)];

/** A Hazel Hello carrying Among Us's handshake (Hazel-Networking's UdpConnection; Impostor's HandshakeReader). */
function hazelHello(version: number, hazel = 0, name = 'Red'): number[] {
  return [0x08, ...u16(1), hazel, ...le32(version), name.length, ...ascii(name), ...fill(4, 0)];
}
const AMONG_US_2021_6_30 = 2021 * 25000 + 6 * 1800 + 30 * 50;

/** Spotify's ClientHello framing (librespot handshake.rs): 0x00 0x04, the total length, build_info {product ...}. */
function spotifyHello(extra = 0, tag = 0x52): number[] {
  const buildInfo = [0x50, 0x00, 0xf0, 0x01, 0x00, 0xc0, 0x02, 0x80, 0xc0, 0xa0, 0x8b, 0x04, 0x00, 0x00];
  const body = [tag, buildInfo.length, ...buildInfo, 0x52, 0x04, ...fill(4, 0x01), 0xa2, 0x01, 0x10, ...fill(16, 0x33)];
  return [0x00, 0x04, ...u32(6 + body.length + extra), ...body];
}

/** An Icecast source request (Icecast 2 / libshout source protocol). */
const icecast = (version = 'HTTP/1.0', header = 'ice-name: Radio One'): number[] =>
  ascii(`SOURCE /live.ogg ${version}\r\nAuthorization: Basic c291cmNlOmhhY2ttZQ==\r\nContent-Type: application/ogg\r\n${header}\r\n\r\n`);

/** MS-RDPEUDP SYN (§3.1.5.1.1) or SYN+ACK: FEC header, SYNDATA payload with the MTUs, zero-padded to 1,232 bytes. */
function rdpUdpSyn(flags = 0x0001, sourceAck = 0xffffffff, mtu = 1232, size = 1232): number[] {
  const d = [...u32(sourceAck), ...u16(64), ...u16(flags), ...u32(0x12345678), ...u16(mtu), ...u16(mtu)];
  return [...d, ...fill(size - d.length, 0)];
}

/** netcode.io's connection request (STANDARD.md): 0, version info, protocol id, expiry, nonce (24 bytes in 1.02), token. */
function netcodeRequest(version = 'NETCODE 1.02', nonce = 24, token = 1024): number[] {
  return [0, ...ascii(version), 0, ...le32(0x1234), ...le32(0), ...le32(0x65000000), ...le32(0), ...fill(nonce, 0x3c), ...fill(token, 0xe1)];
}

const MEDIA_CASES: Case[] = [
  { what: 'netcode.io connection request (1.02)', bytes: netcodeRequest(), proto: UDP, ports: [50000, 40000], want: 'Yojimbo' },
  { what: 'netcode.io connection request (1.01, 8-byte sequence)', bytes: netcodeRequest('NETCODE 1.01', 8), proto: UDP, ports: [50000, 40000], want: 'Yojimbo' },
  { what: 'not netcode.io: a 1.02 request one byte short', bytes: netcodeRequest('NETCODE 1.02', 24, 1023), proto: UDP, ports: [50000, 40000], want: null },
  { what: 'not netcode.io: version 2.00', bytes: netcodeRequest('NETCODE 2.00'), proto: UDP, ports: [50000, 40000], want: null },
  { what: 'MPEG-TS: 7 transport packets in a datagram', bytes: Array.from({ length: 7 }, () => tsPacket()).flat(), proto: UDP, ports: [50000, 1234], want: 'MpegTS' },
  { what: 'MPEG-TS: two packets, one with an adaptation field', bytes: [...tsPacket(3), ...tsPacket()], proto: UDP, ports: [50000, 5000], want: 'MpegTS' },
  { what: 'not MPEG-TS: a lone 188-byte packet', bytes: tsPacket(), proto: UDP, ports: [50000, 5000], want: null },
  { what: 'not MPEG-TS: the second packet without its sync byte', bytes: [...tsPacket(), ...tsPacket(1, 0x48)], proto: UDP, ports: [50000, 1234], want: null },
  { what: 'not MPEG-TS: reserved adaptation_field_control 00', bytes: [...tsPacket(), ...tsPacket(0)], proto: UDP, ports: [50000, 1234], want: null },
  { what: 'not MPEG-TS: 189 bytes', bytes: [...tsPacket(), 0], proto: UDP, ports: [50000, 1234], want: null },
  { what: 'not MPEG-TS: over TCP', bytes: [...tsPacket(), ...tsPacket()], proto: TCP, ports: [50000, 1234], want: null },
  { what: 'Among Us Hazel Hello to 22023', bytes: hazelHello(AMONG_US_2021_6_30), proto: UDP, ports: [50000, 22023], want: 'AmongUs' },
  { what: 'not Among Us: a version of year 1999', bytes: hazelHello(1999 * 25000 + 1800), proto: UDP, ports: [50000, 22023], want: null },
  { what: 'not Among Us: Hazel version 2', bytes: hazelHello(AMONG_US_2021_6_30, 2), proto: UDP, ports: [50000, 22023], want: null },
  { what: 'not Among Us: a name running past the datagram', bytes: hazelHello(AMONG_US_2021_6_30).slice(0, 11), proto: UDP, ports: [50000, 22023], want: null },
  { what: 'not Among Us: another port', bytes: hazelHello(AMONG_US_2021_6_30), proto: UDP, ports: [50000, 22024], want: null },
  { what: 'Spotify LAN discovery', bytes: [...ascii('SpotUdp0'), ...fill(36, 0x11)], proto: UDP, ports: [57621, 57621], want: 'Spotify' },
  { what: 'not Spotify discovery: from another port', bytes: [...ascii('SpotUdp0'), ...fill(36, 0x11)], proto: UDP, ports: [50000, 57621], want: null },
  { what: 'not Spotify discovery: SpotUdp1', bytes: [...ascii('SpotUdp1'), ...fill(36, 0x11)], proto: UDP, ports: [57621, 57621], want: null },
  { what: 'Spotify ClientHello', bytes: spotifyHello(), proto: TCP, ports: [50000, 4070], want: 'Spotify' },
  { what: 'not Spotify: ClientHello length off by one', bytes: spotifyHello(1), proto: TCP, ports: [50000, 4070], want: null },
  { what: 'not Spotify: first field not build_info', bytes: spotifyHello(0, 0x5a), proto: TCP, ports: [50000, 4070], want: null },
  { what: 'Icecast SOURCE request', bytes: icecast(), proto: TCP, ports: [50000, 8000], want: 'IceCast' },
  { what: 'Icecast SOURCE request, ICE/1.0', bytes: icecast('ICE/1.0', 'ice-public: 1'), proto: TCP, ports: [50000, 8000], want: 'IceCast' },
  { what: 'not Icecast: no ice- header', bytes: icecast('HTTP/1.0', 'icy-name: x'), proto: TCP, ports: [50000, 8000], want: null },
  { what: 'not Icecast: version RTSP/1.0', bytes: icecast('RTSP/1.0'), proto: TCP, ports: [50000, 8000], want: null },
  { what: 'RDP over UDP: SYN', bytes: rdpUdpSyn(), proto: UDP, ports: [50000, 3389], want: 'RDP' },
  { what: 'RDP over UDP: SYN+ACK with SYNEX and correlation id', bytes: rdpUdpSyn(0x1805, 0x0badcafe), proto: UDP, ports: [3389, 50000], want: 'RDP' },
  { what: 'not RDP over UDP: SYN with a source ack', bytes: rdpUdpSyn(0x0001, 7), proto: UDP, ports: [50000, 3389], want: null },
  { what: 'not RDP over UDP: MTU 1000', bytes: rdpUdpSyn(0x0001, 0xffffffff, 1000), proto: UDP, ports: [50000, 3389], want: null },
  { what: 'not RDP over UDP: not padded to 1,232', bytes: rdpUdpSyn(0x0001, 0xffffffff, 1232, 1231), proto: UDP, ports: [50000, 3389], want: null },
  { what: 'not RDP over UDP: another port', bytes: rdpUdpSyn(), proto: UDP, ports: [50000, 3390], want: null },
];
CASES.push(...MEDIA_CASES);
// ---- infrastructure, discovery, IoT, storage and messaging middleware (round 2; specifications cited in the source) ----

/** HSRP v1 (RFC 2281 §5): version 0, op code, state, hello 3 s, hold 10 s, priority 100, group 1, reserved, `cisco` authentication, virtual address. */
const hsrp1 = (op = 0, state = 16): number[] => [0, op, state, 3, 10, 100, 1, 0, ...ascii('cisco'), 0, 0, 0, 192, 168, 1, 254];
/** HSRP v2 Group State TLV (type 1, length 40) then a text authentication TLV (type 3). */
const hsrp2 = (version = 2): number[] => [1, 40, version, 0, 6, 4, ...u16(1), ...fill(6, 0xaa), ...u32(100), ...u32(3000), ...u32(10000), 192, 168, 1, 254, ...fill(12, 0), 3, 8, ...ascii('cisco'), 0, 0, 0];
/** A WS-Discovery Probe (SOAP 1.2 envelope) with the discovery namespace `ns`. */
const wsdProbe = (ns = 'http://schemas.xmlsoap.org/ws/2005/04/discovery'): number[] =>
  ascii(`<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:wsd="${ns}"><soap:Header/><soap:Body><wsd:Probe/></soap:Body></soap:Envelope>`);
/** An IPv6 header (RFC 8200) with `payload` bytes after it (next header 59: none, as in a Teredo bubble). */
const ipv6 = (payload: number[], lengthDelta = 0, version = 6): number[] => [version << 4, 0, 0, 0, ...u16(payload.length + lengthDelta), 59, 255, ...fill(16, 0x20), ...fill(16, 0xfe), ...payload];
/** A CAPWAP control message (RFC 5415 §4.3, §4.5): header of 2 words (RID 1, WBID 1, `bits` in T..K and flags), type, elements. */
function capwapControl(type = 1, bits = 0, elemLengthDelta = 0): number[] {
  const elems = [...u16(20), ...u16(1), 1, ...u16(44), ...u16(1), 0x0e];
  return [...u32((2 << 19) | (1 << 14) | (1 << 9) | bits), ...u16(0), ...u16(0), ...u32(type), 0, ...u16(3 + elems.length + elemLengthDelta), 0, ...elems];
}
/** A LISP Map-Register (RFC 9301 §5.6) with one EID record of mask length `mask` and one IPv4 locator. */
function lispRegister(alg = 1, authLen = 20, mask = 24, count = 1, xtrId = false): number[] {
  const rec = [...u32(1440), 1, mask, ...u16(0), ...u16(0), ...u16(1), 192, 0, 2, 0, 1, 100, 255, 0, ...u16(0x0005), ...u16(1), 198, 51, 100, 1];
  return [xtrId ? 0x32 : 0x30, 0, 0, count, ...fill(8, 0x42), 0, alg, ...u16(authLen), ...fill(authLen, 0xab), ...rec, ...(xtrId ? fill(24, 0x5c) : [])];
}
/** A LISP Encapsulated Control Message (RFC 9301 §5.8): ECM header, IPv4 + UDP to 4342, and an 8-byte message. */
const lispEcm = (dport = 4342): number[] => [0x80, 0, 0, 0, 0x45, 0, ...u16(36), ...u16(1), ...u16(0), 64, 17, ...u16(0), 10, 0, 0, 1, 10, 0, 0, 2, ...u16(4342), ...u16(dport), ...u16(16), ...u16(0), 0x10, 0, 0, 1, ...fill(4, 7)];
/** A Ubiquiti discovery reply: version 1, command 0, length, TLVs (MAC + IPv4, MAC, hostname). */
const ubntReply = (lengthDelta = 0): number[] => {
  const tlvs = [0x02, ...u16(10), ...fill(6, 0x24), 192, 168, 1, 20, 0x01, ...u16(6), ...fill(6, 0x24), 0x0b, ...u16(5), ...ascii('ubnt1')];
  return [1, 0, ...u16(tlvs.length + lengthDelta), ...tlvs];
};
/** A Tuya LAN frame (3.3): prefix, sequence, command, length, return code, payload, CRC, suffix. */
function tuya(payload: number[], suffix = 0x0000aa55, lengthDelta = 0): number[] {
  return [...u32(0x000055aa), ...u32(1), ...u32(0x13), ...u32(4 + payload.length + 8 + lengthDelta), ...u32(0), ...payload, ...u32(0x12345678), ...u32(suffix)];
}
/** TP-Link smart-home autokey XOR (key 171, then each cipher byte). */
function tplinkEncrypt(text: string): number[] {
  let key = 171;
  return ascii(text).map((c) => (key = c ^ key));
}
const TPLINK_QUERY = '{"system":{"get_sysinfo":{}}}';
/** A ZMTP 3.0 greeting (64 bytes): signature, version 3.0, mechanism, as-server, filler. */
const zmtp3 = (mechanism = 'NULL', pad8 = 1, major = 3): number[] => [0xff, ...fill(7, 0), pad8, 0x7f, major, 0, ...ascii(mechanism), ...fill(20 - mechanism.length, 0), 0, ...fill(31, 0)];
/** collectd binary parts: host, high-resolution time, plugin, values (one gauge). */
const collectdHost = (s: string, nul = true): number[] => [...u16(0), ...u16(4 + s.length + (nul ? 1 : 0)), ...ascii(s), ...(nul ? [0] : [])];
const collectdPacket = (valuesDelta = 0): number[] => [...collectdHost('host1'), ...u16(8), ...u16(12), ...u32(0x1234), ...u32(0), ...u16(2), ...u16(8), ...ascii('cpu'), 0, ...u16(6), ...u16(15 + valuesDelta), ...u16(1), 1, ...fill(8, 0)];
/** FastCGI BEGIN_REQUEST (role Responder) then a PARAMS record of the same request (spec §8, §5.1). */
const fcgiBegin = (role = 1, nextType = 4, reserved = 0): number[] => [1, 1, ...u16(1), ...u16(8), 0, 0, ...u16(role), 0, reserved, 0, 0, 0, 0, 1, nextType, ...u16(1), ...u16(4), 0, 0, 2, 0, ...ascii('AB')];
/** A BJNP header (`BJNP`, device type, command, error, sequence, session, payload length) and its payload. */
const bjnp = (type = 0x01, payload: number[] = [], lengthDelta = 0): number[] => [...ascii('BJNP'), type, 0x01, 0, 0, ...u16(1), ...u16(0), ...u32(payload.length + lengthDelta), ...payload];
/** An LDP PDU (RFC 5036 §3.1) carrying one Hello message (§3.5.2) with Common Hello Parameters and an IPv4 transport address. */
function ldpHello(version = 1, msgType = 0x0100, pduDelta = 0): number[] {
  const params = [...u16(0x0400), ...u16(4), ...u16(15), ...u16(0), ...u16(0x0401), ...u16(4), 10, 0, 0, 1];
  const msg = [...u16(msgType), ...u16(4 + params.length), ...u32(1), ...params];
  return [...u16(version), ...u16(6 + msg.length + pduDelta), 10, 0, 0, 1, ...u16(0), ...msg];
}
const TIVO_BEACON = 'tivoconnect=1\nswversion=1.0\nmethod=broadcast\nidentity={D936E980-79E2-4A5A-9F00-0E8B3F2D4F4D}\nmachine=den\nplatform=pc/win-nt\nservices=TiVoMediaServer:8080/http\n';
/** A Z39.50 initRequest (Z39.50-2003 Appendix 1): [20] with protocolVersion [3], options [4], preferredMessageSize [5], exceptionalRecordSize [6]. */
const z3950Init = (tag = 0xb4): number[] => tlv(tag, [...tlv(0x83, [5, 0xe0]), ...tlv(0x84, [0, 0xe0, 0x00]), ...tlv(0x85, [...u32(1048576)]), ...tlv(0x86, [...u32(1048576)])]);
/** An S7comm PDU (ROSCTR, parameters, data) in a COTP data TPDU in a TPKT (RFC 1006). */
function s7(rosctr = 1, param: number[] = [0xf0, 0, ...u16(1), ...u16(1), ...u16(480)], data: number[] = [], lengthDelta = 0, protocolId = 0x32): number[] {
  const hdr = [protocolId, rosctr, ...u16(0), ...u16(0x0400), ...u16(param.length), ...u16(data.length), ...(rosctr === 2 || rosctr === 3 ? [0, 0] : [])];
  const tpdu = [2, 0xf0, 0x80, ...hdr, ...param, ...data];
  return [3, 0, ...u16(4 + tpdu.length + lengthDelta), ...tpdu];
}
/** An Rx header (epoch, connection, call, sequence, serial, type, flags, user status, security index, checksum, service) and its payload. */
const rx = (type = 1, call = 1, flags = 0x03, security = 2, payload: number[] = fill(8, 0)): number[] => [...u32(0x5f3a1b2c), ...u32(0x8c4a0004), ...u32(call), ...u32(1), ...u32(1), type, flags, 0, security, ...u16(0), ...u16(1), ...payload];
/** A Roughtime tag-value map (PROTOCOL.md): NONC (64 bytes) and PAD\xff, tags ascending as little-endian numbers. */
function roughtimeRequest(padTag = 0xff444150, pad = 944): number[] {
  return [...le32(2), ...le32(64), ...le32(0x434e4f4e), ...le32(padTag), ...fill(64, 0x11), ...fill(pad, 0)];
}
const DROPBOX_ANNOUNCE = '{"host_int": 123456789012, "version": [2, 0], "displayname": "", "port": 17500, "namespaces": [50, 60]}';

const INFRA_CASES: Case[] = [
  { what: 'HSRP v1 hello (Active)', bytes: hsrp1(), proto: UDP, ports: [1985, 1985], want: 'HSRP' },
  { what: 'HSRP v2 Group State TLV and text authentication', bytes: hsrp2(), proto: UDP, ports: [1985, 1985], want: 'HSRP' },
  { what: 'not HSRP: state 3', bytes: hsrp1(0, 3), proto: UDP, ports: [1985, 1985], want: null },
  { what: 'not HSRP: op code 3', bytes: hsrp1(3), proto: UDP, ports: [1985, 1985], want: null },
  { what: 'not HSRP: a stray byte after the hello', bytes: [...hsrp1(), 0], proto: UDP, ports: [1985, 1985], want: null },
  { what: 'not HSRP: v2 TLV of version 3', bytes: hsrp2(3), proto: UDP, ports: [1985, 1985], want: null },
  { what: 'not HSRP: a hello elsewhere', bytes: hsrp1(), proto: UDP, ports: [1986, 1986], want: null },
  { what: 'WS-Discovery Probe (2005 namespace)', bytes: wsdProbe(), proto: UDP, ports: [50000, 3702], want: 'WSD' },
  { what: 'WS-Discovery 1.1 Probe', bytes: wsdProbe('http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01'), proto: UDP, ports: [50000, 3702], want: 'WSD' },
  { what: 'not WSD: a SOAP envelope of another namespace', bytes: wsdProbe('http://example.com/ns/other'), proto: UDP, ports: [50000, 3702], want: null },
  { what: 'not WSD: a Probe elsewhere', bytes: wsdProbe(), proto: UDP, ports: [50000, 3703], want: null },
  { what: 'Teredo bubble', bytes: ipv6([]), proto: UDP, ports: [50000, 3544], want: 'Teredo' },
  { what: 'Teredo with origin indication', bytes: [0, 0, ...u16(0x3b5f), 0x3f, 0x57, 0xfe, 0xfd, ...ipv6(fill(8, 1))], proto: UDP, ports: [3544, 50000], want: 'Teredo' },
  { what: 'Teredo with authentication indicator', bytes: [0, 1, 0, 0, ...fill(8, 0x11), 0, ...ipv6([])], proto: UDP, ports: [50000, 3544], want: 'Teredo' },
  { what: 'not Teredo: payload length past the datagram', bytes: ipv6([], 8), proto: UDP, ports: [50000, 3544], want: null },
  { what: 'not Teredo: IPv4 inside', bytes: ipv6([], 0, 4), proto: UDP, ports: [50000, 3544], want: null },
  { what: 'CAPWAP Discovery Request', bytes: capwapControl(), proto: UDP, ports: [50000, 5246], want: 'CAPWAP' },
  { what: 'CAPWAP DTLS-protected control packet', bytes: [1, 0, 0, 0, 0x16, 0xfe, 0xfd, ...fill(8, 0), ...u16(20), ...fill(20, 1)], proto: UDP, ports: [5246, 50000], want: 'CAPWAP' },
  { what: 'CAPWAP data: a native IEEE 802.11 probe request (T bit, binding 1)', bytes: [...u32((2 << 19) | (1 << 14) | (1 << 9) | 0x100), ...u16(0), ...u16(0), 0x40, 0x00, ...u16(0), ...fill(18, 0xff), ...u16(0x10), 0, 0], proto: UDP, ports: [50000, 5247], want: 'CAPWAP' },
  { what: 'CAPWAP data keep-alive (K bit) with its Session ID', bytes: [...u32((2 << 19) | (1 << 9) | 0x08), ...u16(0), ...u16(0), ...u16(20), ...u16(35), ...u16(16), ...fill(16, 0x33)], proto: UDP, ports: [50000, 5247], want: 'CAPWAP' },
  { what: 'not CAPWAP: an 802.11 frame of protocol version 1', bytes: [...u32((2 << 19) | (1 << 14) | (1 << 9) | 0x100), ...u16(0), ...u16(0), 0x41, 0x00, ...u16(0), ...fill(18, 0xff), ...u16(0x10), 0, 0], proto: UDP, ports: [50000, 5247], want: null },
  { what: 'not CAPWAP: a keep-alive whose element overruns', bytes: [...u32((2 << 19) | (1 << 9) | 0x08), ...u16(0), ...u16(0), ...u16(20), ...u16(35), ...u16(17), ...fill(16, 0x33)], proto: UDP, ports: [50000, 5247], want: null },
  { what: 'not CAPWAP: a control message on the data port', bytes: capwapControl(), proto: UDP, ports: [50000, 5247], want: null },
  { what: 'not CAPWAP: a fragment (F bit)', bytes: capwapControl(1, 0x80), proto: UDP, ports: [50000, 5246], want: null },
  { what: 'not CAPWAP: message type 27', bytes: capwapControl(27), proto: UDP, ports: [50000, 5246], want: null },
  { what: 'not CAPWAP: element length off by one', bytes: capwapControl(1, 0, 1), proto: UDP, ports: [50000, 5246], want: null },
  { what: 'not CAPWAP: DTLS preamble with reserved bytes set', bytes: [1, 0, 1, 0, 0x16, 0xfe, 0xfd, ...fill(8, 0), ...u16(20), ...fill(20, 1)], proto: UDP, ports: [5246, 50000], want: null },
  { what: 'LISP Map-Register (HMAC-SHA-1)', bytes: lispRegister(), proto: UDP, ports: [4342, 4342], want: 'LISP' },
  { what: 'LISP Map-Register with xTR-ID and site-ID (I bit)', bytes: lispRegister(1, 20, 24, 1, true), proto: UDP, ports: [4342, 4342], want: 'LISP' },
  { what: 'not LISP: xTR-ID and site-ID without the I bit', bytes: [...lispRegister(), ...fill(24, 0x5c)], proto: UDP, ports: [4342, 4342], want: null },
  { what: 'LISP Encapsulated Control Message', bytes: lispEcm(), proto: UDP, ports: [50000, 4342], want: 'LISP' },
  { what: 'not LISP: EID mask length 33 for IPv4', bytes: lispRegister(1, 20, 33), proto: UDP, ports: [4342, 4342], want: null },
  { what: 'not LISP: HMAC-SHA-1 with 16 bytes', bytes: lispRegister(1, 16), proto: UDP, ports: [4342, 4342], want: null },
  { what: 'not LISP: two records counted, one present', bytes: lispRegister(1, 20, 24, 2), proto: UDP, ports: [4342, 4342], want: null },
  { what: 'not LISP: ECM carrying UDP to another port', bytes: lispEcm(4343), proto: UDP, ports: [50000, 4342], want: null },
  { what: 'Ubiquiti discovery request', bytes: [1, 0, 0, 0], proto: UDP, ports: [50000, 10001], want: 'UBNTAC2' },
  { what: 'Ubiquiti discovery reply', bytes: ubntReply(), proto: UDP, ports: [10001, 50000], want: 'UBNTAC2' },
  { what: 'not Ubiquiti: reply length off by one', bytes: ubntReply(1), proto: UDP, ports: [10001, 50000], want: null },
  { what: 'not Ubiquiti: a request from the port', bytes: [1, 0, 0, 0], proto: UDP, ports: [10001, 50000], want: null },
  { what: 'Tuya LAN broadcast (3.3)', bytes: tuya(fill(32, 0x9c)), proto: UDP, ports: [49152, 6667], want: 'TuyaLP' },
  { what: 'Tuya LAN frame over TCP 6668', bytes: tuya(fill(16, 0x9c)), proto: TCP, ports: [50000, 6668], want: 'TuyaLP' },
  { what: 'not Tuya: wrong suffix', bytes: tuya(fill(32, 0x9c), 0x0000aa56), proto: UDP, ports: [49152, 6667], want: null },
  { what: 'not Tuya: length off by one', bytes: tuya(fill(32, 0x9c), 0x0000aa55, 1), proto: UDP, ports: [49152, 6667], want: null },
  { what: 'not Tuya: a frame elsewhere', bytes: tuya(fill(32, 0x9c)), proto: UDP, ports: [49152, 6670], want: null },
  { what: 'TP-Link smart home query over UDP', bytes: tplinkEncrypt(TPLINK_QUERY), proto: UDP, ports: [50000, 9999], want: 'TPLINK_SHP' },
  { what: 'TP-Link smart home query over TCP', bytes: [...u32(TPLINK_QUERY.length), ...tplinkEncrypt(TPLINK_QUERY)], proto: TCP, ports: [50000, 9999], want: 'TPLINK_SHP' },
  { what: 'not TP-Link: plain JSON', bytes: ascii(TPLINK_QUERY), proto: UDP, ports: [50000, 9999], want: null },
  { what: 'not TP-Link: TCP length off by one', bytes: [...u32(TPLINK_QUERY.length + 1), ...tplinkEncrypt(TPLINK_QUERY)], proto: TCP, ports: [50000, 9999], want: null },
  { what: 'not TP-Link: enciphered text that is no JSON object', bytes: tplinkEncrypt('{"system":{"get_sysinfo":null'), proto: UDP, ports: [50000, 9999], want: null },
  { what: 'ZeroMQ ZMTP 3.0 greeting', bytes: zmtp3(), proto: TCP, ports: [50000, 5555], want: 'ZeroMQ' },
  { what: 'ZeroMQ signature alone', bytes: zmtp3().slice(0, 10), proto: TCP, ports: [5555, 50000], want: 'ZeroMQ' },
  { what: 'not ZeroMQ: a padding byte set', bytes: zmtp3().map((c, i) => (i === 3 ? 1 : c)), proto: TCP, ports: [50000, 5555], want: null },
  { what: 'not ZeroMQ: mechanism in lower case', bytes: zmtp3('null'), proto: TCP, ports: [50000, 5555], want: null },
  { what: 'not ZeroMQ: major version 4', bytes: zmtp3('NULL', 1, 4), proto: TCP, ports: [50000, 5555], want: null },
  { what: 'collectd values', bytes: collectdPacket(), proto: UDP, ports: [50000, 25826], want: 'collectd' },
  { what: 'not collectd: values part length off', bytes: collectdPacket(1), proto: UDP, ports: [50000, 25826], want: null },
  { what: 'not collectd: host without its NUL', bytes: [...collectdHost('host1', false), ...collectdPacket().slice(14)], proto: UDP, ports: [50000, 25826], want: null },
  { what: 'not collectd: an unknown part type', bytes: [...collectdPacket(), ...u16(0x0300), ...u16(4)], proto: UDP, ports: [50000, 25826], want: null },
  { what: 'FastCGI BEGIN_REQUEST and PARAMS', bytes: fcgiBegin(), proto: TCP, ports: [50000, 9000], want: 'FastCGI' },
  { what: 'not FastCGI: role 4', bytes: fcgiBegin(4), proto: TCP, ports: [50000, 9000], want: null },
  { what: 'not FastCGI: reserved byte set', bytes: fcgiBegin(1, 4, 1), proto: TCP, ports: [50000, 9000], want: null },
  { what: 'not FastCGI: followed by STDOUT', bytes: fcgiBegin(1, 6), proto: TCP, ports: [50000, 9000], want: null },
  { what: 'BJNP printer discovery', bytes: bjnp(), proto: UDP, ports: [50000, 8611], want: 'BJNP' },
  { what: 'BJNP scanner reply with payload', bytes: bjnp(0x82, fill(24, 3)), proto: UDP, ports: [8612, 50000], want: 'BJNP' },
  { what: 'not BJNP: device type 3', bytes: bjnp(0x03), proto: UDP, ports: [50000, 8611], want: null },
  { what: 'not BJNP: payload length off', bytes: bjnp(0x82, fill(24, 3), 1), proto: UDP, ports: [8612, 50000], want: null },
  { what: 'Java RMI StreamProtocol header', bytes: [...ascii('JRMI'), 0, 2, 0x4b], proto: TCP, ports: [50000, 1099], want: 'JRMI' },
  { what: 'Java RMI ProtocolAck', bytes: [0x4e, ...u16(8), ...ascii('10.0.0.2'), ...u32(50000)], proto: TCP, ports: [1099, 50000], want: 'JRMI' },
  { what: 'not JRMI: version 3', bytes: [...ascii('JRMI'), 0, 3, 0x4b], proto: TCP, ports: [50000, 1099], want: null },
  { what: 'not JRMI: protocol 0x4A', bytes: [...ascii('JRMI'), 0, 2, 0x4a], proto: TCP, ports: [50000, 1099], want: null },
  { what: 'not JRMI: ProtocolAck one byte long', bytes: [0x4e, ...u16(8), ...ascii('10.0.0.2'), ...u32(50000), 0], proto: TCP, ports: [1099, 50000], want: null },
  { what: 'CORBA GIOP 1.2 Request (little-endian)', bytes: [...ascii('GIOP'), 1, 2, 1, 0, ...le32(24), ...fill(24, 0)], proto: TCP, ports: [50000, 2809], want: 'Corba' },
  { what: 'CORBA GIOP 1.0 Reply (big-endian)', bytes: [...ascii('GIOP'), 1, 0, 0, 1, ...u32(16), ...fill(16, 0)], proto: TCP, ports: [2809, 50000], want: 'Corba' },
  { what: 'CORBA GIOP 1.2 Request in a datagram', bytes: [...ascii('GIOP'), 1, 2, 1, 0, ...le32(24), ...fill(24, 0)], proto: UDP, ports: [50000, 15984], want: 'Corba' },
  { what: 'not GIOP: a datagram shorter than its message', bytes: [...ascii('GIOP'), 1, 2, 1, 0, ...le32(25), ...fill(24, 0)], proto: UDP, ports: [50000, 15984], want: null },
  { what: 'CORBA MIOP packet (1 of 1, big-endian)', bytes: [...ascii('MIOP'), 0x10, 0x02, ...u16(36), ...u32(0), ...u32(1), ...u32(8), ...fill(8, 0x61), ...ascii('GIOP'), 1, 2, 0, 0, ...u32(12), ...fill(12, 0)], proto: UDP, ports: [50000, 15984], want: 'Corba' },
  { what: 'not MIOP: packet number past the count', bytes: [...ascii('MIOP'), 0x10, 0x02, ...u16(36), ...u32(1), ...u32(1), ...u32(8), ...fill(8, 0x61), ...ascii('GIOP'), 1, 2, 0, 0, ...u32(12), ...fill(12, 0)], proto: UDP, ports: [50000, 15984], want: null },
  { what: 'not MIOP: header version 2.0', bytes: [...ascii('MIOP'), 0x20, 0x02, ...u16(36), ...u32(0), ...u32(1), ...u32(8), ...fill(8, 0x61), ...ascii('GIOP'), 1, 2, 0, 0, ...u32(12), ...fill(12, 0)], proto: UDP, ports: [50000, 15984], want: null },
  { what: 'not GIOP: version 2.0', bytes: [...ascii('GIOP'), 2, 0, 0, 0, ...u32(16), ...fill(16, 0)], proto: TCP, ports: [50000, 2809], want: null },
  { what: 'not GIOP: Fragment in 1.0', bytes: [...ascii('GIOP'), 1, 0, 0, 7, ...u32(16), ...fill(16, 0)], proto: TCP, ports: [50000, 2809], want: null },
  { what: 'not GIOP: size short of the segment', bytes: [...ascii('GIOP'), 1, 2, 0, 0, ...u32(15), ...fill(16, 0)], proto: TCP, ports: [50000, 2809], want: null },
  { what: 'LDP Hello over UDP', bytes: ldpHello(), proto: UDP, ports: [646, 646], want: 'LDP' },
  { what: 'LDP Initialization over TCP', bytes: ldpHello(1, 0x0200), proto: TCP, ports: [50000, 646], want: 'LDP' },
  { what: 'not LDP: version 2', bytes: ldpHello(2), proto: UDP, ports: [646, 646], want: null },
  { what: 'not LDP: message type 0x0500', bytes: ldpHello(1, 0x0500), proto: UDP, ports: [646, 646], want: null },
  { what: 'not LDP: PDU length off by one', bytes: ldpHello(1, 0x0100, 1), proto: UDP, ports: [646, 646], want: null },
  { what: 'TiVo Connect beacon', bytes: ascii(TIVO_BEACON), proto: UDP, ports: [2190, 2190], want: 'TiVoConnect' },
  { what: 'TiVo Connect beacon over TCP', bytes: ascii(TIVO_BEACON), proto: TCP, ports: [50000, 2190], want: 'TiVoConnect' },
  { what: 'not TiVo: no version', bytes: ascii('tivoconnect=x\n'), proto: UDP, ports: [2190, 2190], want: null },
  { what: 'not TiVo: a beacon elsewhere', bytes: ascii(TIVO_BEACON), proto: UDP, ports: [2191, 2191], want: null },
  { what: 'Z39.50 initRequest', bytes: z3950Init(), proto: TCP, ports: [50000, 210], want: 'Z3950' },
  { what: 'not Z39.50: tag [19]', bytes: z3950Init(0xb3), proto: TCP, ports: [50000, 210], want: null },
  { what: 'not Z39.50: a byte after the PDU', bytes: [...z3950Init(), 0], proto: TCP, ports: [50000, 210], want: null },
  { what: 'not Z39.50: elsewhere', bytes: z3950Init(), proto: TCP, ports: [50000, 211], want: null },
  { what: 'Dropbox LAN sync announcement', bytes: ascii(DROPBOX_ANNOUNCE), proto: UDP, ports: [17500, 17500], want: 'Dropbox' },
  { what: 'not Dropbox: the announcement cut short', bytes: ascii(DROPBOX_ANNOUNCE.slice(0, -1)), proto: UDP, ports: [17500, 17500], want: null },
  { what: 'not Dropbox: no host_int', bytes: ascii(DROPBOX_ANNOUNCE.replace('host_int', 'host_id')), proto: UDP, ports: [17500, 17500], want: null },
  { what: 'not Dropbox: from another port', bytes: ascii(DROPBOX_ANNOUNCE), proto: UDP, ports: [50000, 17500], want: null },
  { what: 'S7comm Setup Communication (Job)', bytes: s7(), proto: TCP, ports: [50000, 102], want: 's7comm' },
  { what: 'S7comm Ack_Data with data', bytes: s7(3, [0x04, 1], [0xff, 0x04, ...u16(16), 0x12, 0x34]), proto: TCP, ports: [102, 50000], want: 's7comm' },
  { what: 'not S7comm: ROSCTR 4', bytes: s7(4), proto: TCP, ports: [50000, 102], want: null },
  { what: 'not S7comm: TPKT length off by one', bytes: s7(1, undefined, [], 1), proto: TCP, ports: [50000, 102], want: null },
  { what: 'not S7comm: protocol id 0x33', bytes: s7(1, undefined, [], 0, 0x33), proto: TCP, ports: [50000, 102], want: null },
  { what: 'not S7comm: a Job elsewhere', bytes: s7(), proto: TCP, ports: [50000, 103], want: null },
  { what: 'Syncthing local discovery announcement', bytes: [...u32(0x2ea7d90b), 0x0a, 32, ...fill(32, 0x6b), 0x12, 4, ...ascii('tcp:'), 0x18, 1], proto: UDP, ports: [21027, 21027], want: 'Syncthing' },
  { what: 'not Syncthing: a device ID of 31 bytes', bytes: [...u32(0x2ea7d90b), 0x0a, 31, ...fill(31, 0x6b), 0x12, 4, ...ascii('tcp:'), 0x18, 1], proto: UDP, ports: [21027, 21027], want: null },
  { what: 'not Syncthing: another magic', bytes: [...u32(0x2ea7d90c), 0x0a, 32, ...fill(32, 0x6b), 0x12, 4, ...ascii('tcp:'), 0x18, 1], proto: UDP, ports: [21027, 21027], want: null },
  { what: 'AFS Rx data packet (client call)', bytes: rx(), proto: UDP, ports: [7001, 7000], want: 'RX' },
  { what: 'AFS Rx ack', bytes: rx(2, 1, 0x00, 2, fill(20, 0)), proto: UDP, ports: [7000, 7001], want: 'RX' },
  { what: 'not Rx: packet type 10', bytes: rx(10), proto: UDP, ports: [7001, 7000], want: null },
  { what: 'not Rx: security index 4', bytes: rx(1, 1, 0x03, 4), proto: UDP, ports: [7001, 7000], want: null },
  { what: 'not Rx: a data packet without a call', bytes: rx(1, 0), proto: UDP, ports: [7001, 7000], want: null },
  { what: 'not Rx: elsewhere', bytes: rx(), proto: UDP, ports: [50000, 7010], want: null },
  { what: 'Roughtime request (original protocol) on 2002', bytes: roughtimeRequest(), proto: UDP, ports: [50000, 2002], want: 'Roughtime' },
  { what: 'Roughtime request (IETF framing)', bytes: [...ascii('ROUGHTIM'), ...le32(1024), ...roughtimeRequest()], proto: UDP, ports: [50000, 2003], want: 'Roughtime' },
  { what: 'not Roughtime: tags out of order', bytes: roughtimeRequest(0x434e4f4d), proto: UDP, ports: [50000, 2002], want: null },
  { what: 'not Roughtime: a length that is no multiple of 4', bytes: roughtimeRequest(0xff444150, 943), proto: UDP, ports: [50000, 2002], want: null },
  { what: 'not Roughtime: IETF framing with the length off', bytes: [...ascii('ROUGHTIM'), ...le32(1028), ...roughtimeRequest()], proto: UDP, ports: [50000, 2003], want: null },
  { what: 'not Roughtime: a bare message elsewhere', bytes: roughtimeRequest(), proto: UDP, ports: [50000, 2003], want: null },
];
CASES.push(...INFRA_CASES);

describe('payload protocol signatures (messages built from their specifications)', () => {
  it.each(CASES.map((c) => [c.what, c] as const))('%s', (_what, c) => {
    const [sp, dp] = c.ports ?? [50000, 40000];
    expect(match(c.bytes, c.proto, sp, dp)).toBe(c.want);
  });

  it('names every protocol as the list does, ids k + 1, 0 for none', () => {
    PAYLOAD_PROTOCOLS.forEach((name, k) => {
      expect(PayloadProtocol[name]).toBe(k + 1);
      expect(payloadProtocolName(k + 1)).toBe(name);
    });
    expect(payloadProtocolName(0)).toBeNull();
    expect(payloadProtocolName(PAYLOAD_PROTOCOLS.length + 1)).toBeNull();
    expect(new Set(PAYLOAD_PROTOCOLS).size).toBe(PAYLOAD_PROTOCOLS.length);
    expect(PAYLOAD_PROTOCOLS.length).toBeLessThan(256); // a Uint8Array column per flow
  });

  it('reads only the given range: a message in a larger buffer, cut before its end, is not recognised', () => {
    const msg = stun();
    const buf = Uint8Array.from([9, 9, ...msg, ...fill(30, 0)]);
    expect(payloadProtocolName(matchPayload(buf, 2, 2 + msg.length, UDP, 50000, 3478))).toBe('STUN');
    expect(matchPayload(buf, 2, 2 + msg.length - 1, UDP, 50000, 3478)).toBe(0);
    expect(matchPayload(buf, 2, 2 + msg.length + 1, UDP, 50000, 3478)).toBe(0);
  });

  it('nothing for other transports', () => {
    expect(match(stun(), 1, 0, 0)).toBeNull();
    expect(match(clientHello(), 132, 0, 0)).toBeNull();
  });
});

describe('RTP: two packets in a row of one direction (RFC 3550 A.1)', () => {
  const flows = (): PayloadProtocols => {
    const p = new PayloadProtocols(4);
    p.reset(1);
    return p;
  };
  const look = (p: PayloadProtocols, bytes: number[], fromA = true): boolean => p.look(1, fromA, Uint8Array.from(bytes), 0, bytes.length, UDP, 40000, 40002);

  it('same SSRC and payload type, sequence + 1 (also across the 16-bit wrap): RTP', () => {
    for (const seq of [7, 0xffff]) {
      const p = flows();
      expect(look(p, rtp(seq))).toBe(false);
      expect(p.ids[1]).toBe(0);
      expect(look(p, rtp((seq + 1) & 0xffff))).toBe(true);
      expect(payloadProtocolName(p.ids[1]!)).toBe('RTP');
    }
  });

  it('a header extension and CSRCs are read (RFC 3550 §5.3.1; RFC 8285 one-byte extensions)', () => {
    const ext = (seq: number): number[] => [0x91, 96, ...u16(seq), ...u32(0), ...u32(5), ...u32(6), 0xbe, 0xde, ...u16(1), 0x10, 0xff, 0, 0, ...fill(30)];
    const p = flows();
    look(p, ext(1));
    expect(look(p, ext(2))).toBe(true);
  });

  it('not RTP: a gap, another SSRC, another payload type, the other direction, RTCP-reserved types, version 1', () => {
    const cases: [number[], number[], boolean][] = [
      [rtp(7), rtp(9), true],
      [rtp(7), rtp(8, 0x11223345), true],
      [rtp(7, 0x11223344, 0), rtp(8, 0x11223344, 8), true],
      [rtp(7, 0x11223344, 72), rtp(8, 0x11223344, 72), true],
      [rtp(7, 1, 0, 0x40), rtp(8, 1, 0, 0x40), true],
      [rtp(7), rtp(8), false],
    ];
    for (const [a, b, sameWay] of cases) {
      const p = flows();
      look(p, a, true);
      expect(look(p, b, sameWay)).toBe(false);
      expect(p.ids[1]).toBe(0);
    }
  });

  it('a packet that is no RTP header between two that are breaks the pair', () => {
    const p = flows();
    look(p, rtp(7));
    look(p, [1, 2, 3]);
    expect(look(p, rtp(8))).toBe(false);
    expect(look(p, rtp(9))).toBe(true);
  });

  it('rtpHeader: padding and the CSRC list must fit', () => {
    const padded = [0xa0, 0, ...u16(1), ...u32(0), ...u32(1), ...fill(7, 0), 8];
    expect(rtpHeader(Uint8Array.from(padded), 0, padded.length)).toBe(true);
    padded[padded.length - 1] = 9;
    expect(rtpHeader(Uint8Array.from(padded), 0, padded.length)).toBe(false);
    const csrcs = [0x8f, 0, ...u16(1), ...u32(0), ...u32(1), ...fill(56, 0)];
    expect(rtpHeader(Uint8Array.from(csrcs), 0, csrcs.length)).toBe(false);
  });

  it(`looks at most ${PAYLOAD_LOOK_PACKETS} payload packets each way, and a decided flow keeps its protocol`, () => {
    const p = flows();
    for (let k = 0; k < PAYLOAD_LOOK_PACKETS; k++) look(p, [1, 2, 3]);
    expect(look(p, stun())).toBe(false);
    expect(look(p, stun(), false)).toBe(true);
    expect(payloadProtocolName(p.ids[1]!)).toBe('STUN');
    expect(look(p, clientHello(), false)).toBe(false);
    expect(payloadProtocolName(p.ids[1]!)).toBe('STUN');
  });
});

describe('robustness', () => {
  it('random bytes, ports and lengths never throw and give a known id', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 }), fc.boolean(), (bytes, sp, dp, tcp) => {
        const id = matchPayload(bytes, 0, bytes.length, tcp ? TCP : UDP, sp, dp);
        expect(id >= 0 && id <= PAYLOAD_PROTOCOLS.length).toBe(true);
        // Out-of-range windows are tolerated, not read past.
        expect(matchPayload(bytes, 0, bytes.length + 40, tcp ? TCP : UDP, sp, dp) >= 0).toBe(true);
        expect(matchPayload(bytes, -3, 2, tcp ? TCP : UDP, sp, dp)).toBe(0);
      }),
      { numRuns: 3000 },
    );
  });

  it('every truncation and one-byte mutation of every message never throws', () => {
    for (const c of CASES) {
      const [sp, dp] = c.ports ?? [50000, 40000];
      const buf = Uint8Array.from(c.bytes);
      for (let n = 0; n <= buf.length; n++) matchPayload(buf, 0, n, c.proto, sp, dp);
      for (let i = 0; i < buf.length; i += Math.max(1, buf.length >> 5)) {
        const m = buf.slice();
        m[i] ^= 0xff;
        matchPayload(m, 0, m.length, c.proto, sp, dp);
      }
    }
  });

  it('allocates nothing once warm: no garbage collection over a million calls', async () => {
    const rnd = fc.sample(fc.uint8Array({ minLength: 1, maxLength: 200 }), 64);
    expect(await collectionsDuringCalls(CASES, 1e6, rnd)).toEqual([]);
  });
});
