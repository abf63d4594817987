/**
 * The network-services, VPN, remote-access, industrial and health rules of the payload-protocol matcher
 * (src/decode/payload/network.ts): messages built here from each protocol's specification, each with near misses
 * that break one rule of the signature (version, length, port, magic, truncation) and must not match; random bytes
 * and every truncation never throw.
 */
import { describe, expect, it } from 'vitest';
import { matchPayload, PAYLOAD_PROTOCOLS, payloadProtocolName } from '../src/decode/payload-protocol.js';
import { collectionsDuringCalls, expectNothingReadPastEnd, expectRandomBytesTakeNone, expectTruncationsNameNoOther, TCP, UDP, ascii, u16, u32, le16, le32, fill, type PayloadCase } from './helpers/payload-cases.js';


function match(bytes: number[], proto: number, srcPort: number, dstPort: number): string | null {
  return payloadProtocolName(matchPayload(Uint8Array.from(bytes), 0, bytes.length, proto, srcPort, dstPort));
}

// ---- messages, from the specifications cited in src/decode/payload/network.ts ----

const stomp = (s: string): number[] => [...ascii(s), 0];
const STOMP_CONNECT = 'CONNECT\naccept-version:1.2\nhost:broker.example\nlogin:guest\npasscode:guest\n\n';

/** A Thrift strict-binary message header (type 1 call) for `name`, then a first field of type `field`. */
const thriftBinary = (name: string, type = 1, field = 12, version = [0x80, 0x01]): number[] =>
  [...version, 0, type, ...u32(name.length), ...ascii(name), ...u32(7), field, ...u16(1), ...fill(8, 0), 0];
/** A Thrift compact message header: 0x82, type/version, varint seqid, varint name length, name, a field header. */
const thriftCompact = (name: string, tv = 0x21, field = 0x1c): number[] => [0x82, tv, 0x05, name.length, ...ascii(name), field, 0x18, 3, ...ascii('abc'), 0, 0];

const ica = (n: number): number[] => Array.from({ length: n }, () => [0x7f, 0x7f, 0x49, 0x43, 0x41, 0x00]).flat();

/** A DNSCrypt resolver response: magic, 24-byte nonce, a 16-byte MAC and a 64-byte padded encrypted response. */
const dnscrypt = (magic = 'r6fnvWj8', body = 80): number[] => [...ascii(magic), ...fill(24, 0x11), ...fill(body, 0x9c)];

/** A Tailscale disco message: magic, 32-byte key, 24-byte nonce, a sealed Ping (16 + 2 + 12 + 32 bytes). */
const disco = (magic = [0x54, 0x53, 0xf0, 0x9f, 0x92, 0xac], box = 62): number[] => [...magic, ...fill(32, 0x21), ...fill(24, 0x42), ...fill(box, 0x63)];

/** A PFCP Heartbeat Request (TS 29.244 §7.4.2.1): node message, Recovery Time Stamp IE (96, 4 bytes). */
function pfcpHeartbeat(flags = 0x20, type = 1, lengthDelta = 0): number[] {
  const ies = [...u16(96), ...u16(4), ...u32(0xe5a1b2c3)];
  const rest = [...[0x00, 0x00, 0x2a], 0, ...ies];
  return [flags, type, ...u16(rest.length + lengthDelta), ...rest];
}
/** A PFCP Session Establishment Request (type 50, S flag, SEID) with a Node ID IE (60) and F-SEID IE (57). */
function pfcpSession(flags = 0x21, type = 50): number[] {
  const ies = [...u16(60), ...u16(5), 0, 10, 0, 0, 1, ...u16(57), ...u16(13), 0x02, ...fill(8, 1), 10, 0, 0, 1];
  const rest = [...fill(8, 0), 0x00, 0x01, 0x02, 0, ...ies];
  return [flags, type, ...u16(rest.length), ...rest];
}

const hl7 = (msh = 'MSH|^~\\&|', framed = true): number[] =>
  [...(framed ? [0x0b] : []), ...ascii(`${msh}LAB|HOSP|EHR|HOSP|20240101120000||ADT^A01|MSG00001|P|2.5\rPID|1||12345\r`), ...(framed ? [0x1c, 0x0d] : [])];

/** A DICOM A-ASSOCIATE-RQ (PS3.8 §9.3.2) with its Application Context item and one more item. */
function dicomRq(type = 1, version = 1, lengthDelta = 0, uid = '1.2.840.10008.3.1.1.1'): number[] {
  const ctx = [0x10, 0, ...u16(uid.length), ...ascii(uid)];
  const user = [0x50, 0, ...u16(8), 0x51, 0, ...u16(4), ...u32(16384)];
  const body = [...u16(version), 0, 0, ...ascii('ORTHANC'.padEnd(16)), ...ascii('STORESCU'.padEnd(16)), ...fill(32, 0), ...ctx, ...user];
  return [type, 0, ...u32(body.length + lengthDelta), ...body];
}

function crcCcitt(bytes: number[]): number {
  let crc = 0xffff;
  for (const x of bytes) {
    crc ^= x << 8;
    for (let k = 0; k < 8; k++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}
/** An IEEE C37.118 command frame (turn on transmission, CMD 2): 18 bytes with its CRC. */
function c37Command(sync1 = 0x41, crcDelta = 0, sizeDelta = 0): number[] {
  const f = [0xaa, sync1, ...u16(18 + sizeDelta), ...u16(7), ...u32(1700000000), ...u32(0), ...u16(2)];
  return [...f, ...u16((crcCcitt(f) + crcDelta) & 0xffff)];
}
/** An IEEE C37.118 data frame (type 0, version 2) with 10 bytes of data. */
function c37Data(): number[] {
  const data = fill(10, 0x33);
  const f = [0xaa, 0x02, ...u16(16 + data.length), ...u16(7), ...u32(1700000000), ...u32(0x00100000), ...data];
  return [...f, ...u16(crcCcitt(f))];
}

/** A Beckhoff ADS Read request over AMS/TCP: AMS/TCP header, 32-byte AMS header, 12 bytes of data. */
function adsRead(cmd = 2, flags = 0x0004, dataLenDelta = 0, tcpLenDelta = 0): number[] {
  const data = [...le32(0x4020), ...le32(0), ...le32(4)];
  const ams = [192, 168, 1, 8, 1, 1, ...le16(851), 192, 168, 1, 99, 1, 1, ...le16(32905), ...le16(cmd), ...le16(flags), ...le32(data.length + dataLenDelta), ...le32(0), ...le32(1)];
  return [0, 0, ...le32(ams.length + data.length + tcpLenDelta), ...ams, ...data];
}

/** A CPHA FWHA_MY_STATE (opcode 1) of version 541: the 20-byte header, then the state report. */
const cpha = (magic = 0x1a90, opcode = 1): number[] =>
  [...u16(magic), ...u16(541), ...u16(1), ...u16(opcode), ...u16(2), ...u16(0x1234), ...u16(0), ...u16(0xffff), ...u16(7), ...u16(0), ...u16(2), ...u16(3), ...u16(2), ...u16(100), 4, 3, 1, 1, 1, 1, 0, 0];

/** A HiSLIP message: `HS`, type, control code 0, the 4-byte parameter, the 8-byte payload length, the payload. */
const hislip = (type: number, param: number[], payload: number[] = [], lengthDelta = 0): number[] =>
  [0x48, 0x53, type, 0, ...param, ...u32(0), ...u32(payload.length + lengthDelta), ...payload];

/** An OpenFlow message: version, type, length, xid, body. */
const ofp = (version: number, type: number, bodyLen: number, xid: number, body: number[] = fill(bodyLen, 0)): number[] =>
  [version, type, ...u16(8 + bodyLen), ...u32(xid), ...body.slice(0, Math.min(body.length, bodyLen))];

/** An IPv6 header (RFC 8200) with `n` bytes of payload, its payload length off by `delta`. */
const ipv6 = (n: number, delta = 0): number[] => [0x60, 0, 0, 0, ...u16(n + delta), 59, 64, ...fill(16, 0x20), ...fill(16, 0x30), ...fill(n, 0)];
/** An AYIYA packet: 16-byte integer identity, SHA-1 signature (5 words), shared-secret authentication. */
const ayiya = (authOp = 0x11, nh = 41, payload: number[] = ipv6(8), sigHash = 0x52): number[] =>
  [0x41, sigHash, authOp, nh, ...u32(1700000000), ...fill(16, 0x07), ...fill(4 * (sigHash >> 4), 0xee), ...payload];

type Case = PayloadCase;

const SOH = String.fromCharCode(1);
const fixMsg = (begin: string, len: string, type: string): number[] => ascii(`8=${begin}${SOH}9=${len}${SOH}35=${type}${SOH}49=CLIENT${SOH}56=SERVER${SOH}34=1${SOH}52=20240101-00:00:00${SOH}98=0${SOH}108=30${SOH}10=123${SOH}`);
const CASES: Case[] = [
  // FIX (its Standard Message Header: tags 8, 9, 35 first)
  { what: 'FIX 4.2 Logon', bytes: fixMsg('FIX.4.2', '65', 'A'), proto: TCP, ports: [40000, 4000], want: 'FIX' },
  { what: 'FIXT 1.1 Heartbeat, any port', bytes: fixMsg('FIXT.1.1', '49', '0'), proto: TCP, want: 'FIX' },
  { what: 'FIX 4.4 two-character MsgType', bytes: fixMsg('FIX.4.4', '120', 'AE'), proto: TCP, want: 'FIX' },
  { what: 'FIX without BodyLength second: not FIX', bytes: ascii(`8=FIX.4.2${SOH}35=A${SOH}9=65${SOH}49=CLIENT${SOH}56=SERVER${SOH}`), proto: TCP, want: null },
  { what: 'FIX with a BodyLength that is not a number', bytes: fixMsg('FIX.4.2', '6x', 'A'), proto: TCP, want: null },
  { what: 'FIX with a three-character MsgType', bytes: fixMsg('FIX.4.2', '65', 'ABC'), proto: TCP, want: null },
  { what: 'FIX version text other than FIX.d.d / FIXT.d.d', bytes: fixMsg('FIX.42', '65', 'A'), proto: TCP, want: null },
  { what: 'FIX with | for SOH (a log line, not the wire)', bytes: ascii('8=FIX.4.2|9=65|35=A|49=CLIENT|56=SERVER|34=1|'), proto: TCP, want: null },
  { what: 'FIX over UDP: not taken', bytes: fixMsg('FIX.4.2', '65', 'A'), proto: UDP, want: null },
  // STOMP
  { what: 'STOMP CONNECT 1.2', bytes: stomp(STOMP_CONNECT), proto: TCP, ports: [40000, 61613], want: 'STOMP' },
  { what: 'STOMP STOMP frame, CR LF lines', bytes: stomp('STOMP\r\naccept-version:1.1,1.2\r\nhost:/\r\n\r\n'), proto: TCP, want: 'STOMP' },
  { what: 'STOMP CONNECTED', bytes: stomp('CONNECTED\nversion:1.2\nheart-beat:0,0\nserver:ActiveMQ/5.18\n\n'), proto: TCP, ports: [61613, 40000], want: 'STOMP' },
  { what: 'STOMP 1.0 CONNECT without a version: not taken', bytes: stomp('CONNECT\nlogin:guest\npasscode:guest\n\n'), proto: TCP, want: null },
  { what: 'STOMP CONNECT with version 2.0: not STOMP', bytes: stomp('CONNECT\naccept-version:2.0\nhost:/\n\n'), proto: TCP, want: null },
  { what: 'STOMP CONNECT without its NUL', bytes: ascii(STOMP_CONNECT), proto: TCP, want: null },
  { what: 'STOMP CONNECT cut in its headers', bytes: ascii(STOMP_CONNECT).slice(0, 30), proto: TCP, want: null },
  { what: 'STOMP: a header line without a colon', bytes: stomp('CONNECT\naccept-version:1.2\nhost\n\n'), proto: TCP, want: null },
  { what: 'STOMP: SEND is not a connection frame', bytes: stomp('SEND\ndestination:/queue/a\n\nhello'), proto: TCP, want: null },
  { what: 'HTTP CONNECT stays HTTP', bytes: ascii('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'), proto: TCP, want: 'HTTP' },
  // Thrift
  { what: 'Thrift binary call', bytes: thriftBinary('getUser'), proto: TCP, ports: [40000, 9090], want: 'Thrift' },
  { what: 'Thrift binary reply, multiplexed name', bytes: thriftBinary('UserService:getUser', 2, 0), proto: TCP, want: 'Thrift' },
  { what: 'Thrift framed binary oneway', bytes: ((m: number[]) => [...u32(m.length), ...m])(thriftBinary('log', 4, 11)), proto: TCP, want: 'Thrift' },
  { what: 'Thrift compact call', bytes: thriftCompact('ping'), proto: TCP, want: 'Thrift' },
  { what: 'Thrift binary: message type 5', bytes: thriftBinary('getUser', 5), proto: TCP, want: null },
  { what: 'Thrift binary: version 0x8002', bytes: thriftBinary('getUser', 1, 12, [0x80, 0x02]), proto: TCP, want: null },
  { what: 'Thrift binary: field type 5', bytes: thriftBinary('getUser', 1, 5), proto: TCP, want: null },
  { what: 'Thrift binary: name not an identifier', bytes: thriftBinary('get user'), proto: TCP, want: null },
  { what: 'Thrift binary: cut in the name', bytes: thriftBinary('getUser').slice(0, 12), proto: TCP, want: null },
  { what: 'Thrift compact: version 2', bytes: thriftCompact('ping', 0x22), proto: TCP, want: null },
  { what: 'Thrift compact: field type 13', bytes: thriftCompact('ping', 0x21, 0x1d), proto: TCP, want: null },
  // Citrix
  { what: 'Citrix ICA probe, twice', bytes: ica(2), proto: TCP, ports: [1494, 40000], want: 'Citrix' },
  { what: 'Citrix CGP', bytes: [0x1a, ...ascii('CGP/01'), 0x01, 0x00, 0x00], proto: TCP, ports: [40000, 2598], want: 'Citrix' },
  { what: 'Citrix ICA probe, one byte short', bytes: ica(2).slice(0, 11), proto: TCP, want: null },
  { what: 'Citrix ICA probe then other bytes', bytes: [...ica(1), 1, 2, 3, 4, 5, 6], proto: TCP, want: null },
  { what: 'Citrix CGP/02: not taken', bytes: [0x1a, ...ascii('CGP/02'), 0x01], proto: TCP, want: null },
  // Checkmk
  { what: 'Checkmk agent output', bytes: ascii('<<<check_mk>>>\nVersion: 2.2.0p12\nAgentOS: linux\n'), proto: TCP, ports: [6556, 40000], want: 'CHECKMK' },
  { what: 'Checkmk: another section first', bytes: ascii('<<<df>>>\n/dev/sda1 ext4\n'), proto: TCP, want: null },
  { what: 'Checkmk: header cut', bytes: ascii('<<<check_mk>>>'), proto: TCP, want: null },
  // DNSCrypt
  { what: 'DNSCrypt resolver response over UDP', bytes: dnscrypt(), proto: UDP, ports: [443, 50000], want: 'DNScrypt' },
  { what: 'DNSCrypt resolver response over TCP', bytes: ((m: number[]) => [...u16(m.length), ...m])(dnscrypt()), proto: TCP, ports: [443, 50000], want: 'DNScrypt' },
  { what: 'DNSCrypt: other magic', bytes: dnscrypt('r6fnvWj9'), proto: UDP, want: null },
  { what: 'DNSCrypt: too short for nonce, MAC and a DNS header', bytes: dnscrypt('r6fnvWj8', 20), proto: UDP, want: null },
  // Tailscale
  { what: 'Tailscale disco ping', bytes: disco(), proto: UDP, ports: [41641, 41641], want: 'Tailscale' },
  { what: 'Tailscale: magic with another emoji', bytes: disco([0x54, 0x53, 0xf0, 0x9f, 0x92, 0xad]), proto: UDP, want: null },
  { what: 'Tailscale: box too short', bytes: disco(undefined, 10), proto: UDP, want: null },
  // PFCP
  { what: 'PFCP heartbeat request', bytes: pfcpHeartbeat(), proto: UDP, ports: [8805, 8805], want: 'PFCP' },
  { what: 'PFCP session establishment request', bytes: pfcpSession(), proto: UDP, ports: [40000, 8805], want: 'PFCP' },
  { what: 'PFCP with follow-on message', bytes: [...pfcpHeartbeat(0x24), ...pfcpHeartbeat(0x20, 2)], proto: UDP, ports: [8805, 8805], want: 'PFCP' },
  { what: 'PFCP: version 2', bytes: pfcpHeartbeat(0x40), proto: UDP, ports: [8805, 8805], want: null },
  { what: 'PFCP: node message with the S flag', bytes: pfcpHeartbeat(0x21), proto: UDP, ports: [8805, 8805], want: null },
  { what: 'PFCP: session message without the S flag', bytes: pfcpSession(0x20), proto: UDP, ports: [8805, 8805], want: null },
  { what: 'PFCP: length one too long', bytes: pfcpHeartbeat(0x20, 1, 1), proto: UDP, ports: [8805, 8805], want: null },
  { what: 'PFCP: another port', bytes: pfcpHeartbeat(), proto: UDP, ports: [40000, 40001], want: null },
  // Kismet
  { what: 'Kismet greeting', bytes: ascii('*KISMET: 0.0.0 1700000000 \x01Kismet\x01 \x01\x01 0 \n*PROTOCOLS: KISMET,ERROR,ACK\n'), proto: TCP, ports: [2501, 40000], want: 'Kismet' },
  { what: 'Kismet: no version', bytes: ascii('*KISMET: hello\n'), proto: TCP, want: null },
  // HL7
  { what: 'HL7 ADT in MLLP', bytes: hl7(), proto: TCP, ports: [40000, 2575], want: 'HL7' },
  { what: 'HL7 v2.7 with the truncation character', bytes: hl7('MSH|^~\\&#|'), proto: TCP, want: 'HL7' },
  { what: 'HL7 without MLLP framing', bytes: hl7('MSH|^~\\&|', false), proto: TCP, want: 'HL7' },
  { what: 'HL7: three encoding characters', bytes: hl7('MSH|^~\\|'), proto: TCP, want: null },
  { what: 'HL7: repeated encoding character', bytes: hl7('MSH|^^\\&|'), proto: TCP, want: null },
  { what: 'HL7: a letter as separator', bytes: hl7('MSHX^~\\&X'), proto: TCP, want: null },
  { what: 'HL7: another segment first', bytes: [0x0b, ...ascii('PID|1||12345|^~\\&|\r')], proto: TCP, want: null },
  // DICOM
  { what: 'DICOM A-ASSOCIATE-RQ', bytes: dicomRq(), proto: TCP, ports: [40000, 104], want: 'DICOM' },
  { what: 'DICOM A-ASSOCIATE-AC', bytes: dicomRq(2), proto: TCP, ports: [11112, 40000], want: 'DICOM' },
  { what: 'DICOM RQ, PDU running on past the segment', bytes: dicomRq(1, 1, 100), proto: TCP, want: 'DICOM' },
  { what: 'DICOM: protocol version 2', bytes: dicomRq(1, 2), proto: TCP, want: null },
  { what: 'DICOM: PDU length short of the segment', bytes: dicomRq(1, 1, -4), proto: TCP, want: null },
  { what: 'DICOM: A-ASSOCIATE-RJ type 3', bytes: dicomRq(3), proto: TCP, want: null },
  { what: 'DICOM: application context not a DICOM UID', bytes: dicomRq(1, 1, 0, '1.2.840.10009.3.1.1.1'), proto: TCP, want: null },
  // IEEE C37.118
  { what: 'C37.118 command frame over TCP', bytes: c37Command(), proto: TCP, ports: [40000, 4712], want: 'IEEE-C37118' },
  { what: 'C37.118 data frame over UDP', bytes: c37Data(), proto: UDP, ports: [4713, 40000], want: 'IEEE-C37118' },
  { what: 'C37.118 two data frames in a segment', bytes: [...c37Data(), ...c37Data()], proto: TCP, want: 'IEEE-C37118' },
  { what: 'C37.118: bad CRC', bytes: c37Command(0x41, 1), proto: TCP, want: null },
  { what: 'C37.118: frame type 6', bytes: c37Command(0x61), proto: TCP, want: null },
  { what: 'C37.118: version 3', bytes: c37Command(0x43), proto: TCP, want: null },
  { what: 'C37.118: FRAMESIZE past the segment', bytes: c37Command(0x41, 0, 2), proto: TCP, want: null },
  // Beckhoff ADS
  { what: 'ADS Read request', bytes: adsRead(), proto: TCP, ports: [40000, 48898], want: 'BeckhoffADS' },
  { what: 'ADS Read response', bytes: adsRead(2, 0x0005), proto: TCP, ports: [48898, 40000], want: 'BeckhoffADS' },
  { what: 'ADS: command 10', bytes: adsRead(10), proto: TCP, ports: [40000, 48898], want: null },
  { what: 'ADS: no ADS command flag', bytes: adsRead(2, 0x0001), proto: TCP, ports: [40000, 48898], want: null },
  { what: 'ADS: data length off by one', bytes: adsRead(2, 0x0004, 1), proto: TCP, ports: [40000, 48898], want: null },
  { what: 'ADS: AMS/TCP length off by one', bytes: adsRead(2, 0x0004, 0, 1), proto: TCP, ports: [40000, 48898], want: null },
  { what: 'ADS: another port', bytes: adsRead(), proto: TCP, ports: [40000, 48899], want: null },
  // CPHA
  { what: 'CPHA my-state report', bytes: cpha(), proto: UDP, ports: [8116, 8116], want: 'CPHA' },
  { what: 'CPHA: another magic', bytes: cpha(0x1a91), proto: UDP, ports: [8116, 8116], want: null },
  { what: 'CPHA: opcode 11', bytes: cpha(0x1a90, 11), proto: UDP, ports: [8116, 8116], want: null },
  { what: 'CPHA: truncated header', bytes: cpha().slice(0, 14), proto: UDP, ports: [8116, 8116], want: null },
  { what: 'CPHA: another port', bytes: cpha(), proto: UDP, ports: [40000, 40001], want: null },
  // HiSLIP
  { what: 'HiSLIP Initialize', bytes: hislip(0, [0x01, 0x00, 0x52, 0x53], ascii('hislip0')), proto: TCP, ports: [40000, 4880], want: 'HiSLIP' },
  { what: 'HiSLIP InitializeResponse', bytes: hislip(1, [0x01, 0x00, 0x00, 0x01]), proto: TCP, ports: [4880, 40000], want: 'HiSLIP' },
  { what: 'HiSLIP DataEnd running on', bytes: hislip(7, [0, 0, 0, 1], ascii('*IDN?\n'), 100), proto: TCP, ports: [40000, 4880], want: 'HiSLIP' },
  { what: 'HiSLIP: Initialize with a payload length past the segment', bytes: hislip(0, [1, 0, 0x52, 0x53], ascii('hislip0'), 1), proto: TCP, ports: [40000, 4880], want: null },
  { what: 'HiSLIP: message type 38', bytes: hislip(38, [0, 0, 0, 0]), proto: TCP, ports: [40000, 4880], want: null },
  // OpenFlow
  { what: 'OpenFlow 1.3 HELLO', bytes: ofp(4, 0, 0, 1), proto: TCP, ports: [40000, 6653], want: 'OpenFlow' },
  { what: 'OpenFlow 1.0 HELLO then FEATURES_REQUEST (port 6633)', bytes: [...ofp(1, 0, 0, 1), ...ofp(1, 5, 0, 2)], proto: TCP, ports: [6633, 40000], want: 'OpenFlow' },
  { what: 'OpenFlow 1.3 HELLO with a versionbitmap element', bytes: ofp(4, 0, 8, 7, [0, 1, 0, 8, 0, 0, 0, 0x10]), proto: TCP, ports: [40000, 6653], want: 'OpenFlow' },
  { what: 'OpenFlow: version 7', bytes: ofp(7, 0, 0, 1), proto: TCP, ports: [40000, 6653], want: null },
  { what: 'OpenFlow: type 36', bytes: ofp(4, 36, 0, 1), proto: TCP, ports: [40000, 6653], want: null },
  { what: 'OpenFlow: length past the segment', bytes: ofp(4, 0, 4, 1, []), proto: TCP, ports: [40000, 6653], want: null },
  { what: 'OpenFlow: two versions in a segment', bytes: [...ofp(4, 0, 0, 1), ...ofp(1, 0, 0, 2)], proto: TCP, ports: [40000, 6653], want: null },
  { what: 'OpenFlow: another port', bytes: ofp(4, 0, 0, 1), proto: TCP, ports: [40000, 6654], want: null },
  // AYIYA
  { what: 'AYIYA forwarding an IPv6 packet', bytes: ayiya(), proto: UDP, ports: [40000, 5072], want: 'Ayiya' },
  { what: 'AYIYA echo request without payload', bytes: ayiya(0x12, 59, []), proto: UDP, ports: [5072, 40000], want: 'Ayiya' },
  { what: 'AYIYA: SHA-1 with a 4-word signature', bytes: ayiya(0x11, 41, undefined, 0x42), proto: UDP, ports: [40000, 5072], want: null },
  { what: 'AYIYA: opcode 8', bytes: ayiya(0x18), proto: UDP, ports: [40000, 5072], want: null },
  { what: 'AYIYA: IPv6 payload length off by one', bytes: ayiya(0x11, 41, ipv6(8, 1)), proto: UDP, ports: [40000, 5072], want: null },
  { what: 'AYIYA: next header 17', bytes: ayiya(0x11, 17), proto: UDP, ports: [40000, 5072], want: null },
  { what: 'AYIYA: another port', bytes: ayiya(), proto: UDP, ports: [40000, 5073], want: null },
  { what: 'HiSLIP: another port', bytes: hislip(0, [1, 0, 0x52, 0x53], ascii('hislip0')), proto: TCP, ports: [40000, 4881], want: null },
];

describe('network, VPN, remote-access, industrial and health payload rules', () => {
  for (const c of CASES) {
    it(`${c.what}: ${c.want ?? 'nothing'}`, () => {
      const [sp, dp] = c.ports ?? [50000, 40000];
      expect(match(c.bytes, c.proto, sp, dp)).toBe(c.want);
    });
  }

  it('reads only the given range: the byte after it is not looked at', () => {
    const buf = Uint8Array.from([...ascii('<<<check_mk>>>'), 0x0a]);
    expect(matchPayload(buf, 0, buf.length - 1, TCP, 6556, 40000)).toBe(0);
    expect(payloadProtocolName(matchPayload(buf, 0, buf.length, TCP, 6556, 40000))).toBe('CHECKMK');
  });

  it('every message and truncation gets the same answer with any bytes after its range (nothing past `end` is read)', () => {
    expectNothingReadPastEnd(CASES, [[0x0a, 0x00, 0x00, 0x00], [0x00, 0x0d, 0x0a, 0x00], fill(64, 0xff), fill(64, 0x00)]);
  });

  it('the new names are appended, each once', () => {
    const added = ['STOMP', 'Thrift', 'Citrix', 'CHECKMK', 'DNScrypt', 'Tailscale', 'PFCP', 'Kismet', 'HL7', 'DICOM', 'IEEE-C37118', 'BeckhoffADS', 'CPHA', 'HiSLIP', 'OpenFlow', 'Ayiya'];
    expect(added.every((n) => PAYLOAD_PROTOCOLS.filter((x) => x === n).length === 1)).toBe(true);
    expect(PAYLOAD_PROTOCOLS.indexOf('STOMP')).toBeGreaterThan(PAYLOAD_PROTOCOLS.indexOf('Roughtime'));
  });

  it('every truncation of every matching message is never a throw, and a cut message is never another protocol', () => {
    expectTruncationsNameNoOther(CASES);
  });

  it('random bytes on the protocols\' ports never throw and are taken by none of these rules', () => {
    expectRandomBytesTakeNone(['STOMP', 'Thrift', 'Citrix', 'CHECKMK', 'DNScrypt', 'Tailscale', 'PFCP', 'Kismet', 'HL7', 'DICOM', 'IEEE-C37118', 'BeckhoffADS', 'CPHA', 'HiSLIP', 'OpenFlow', 'Ayiya'], [61613, 1494, 2598, 6556, 443, 41641, 8805, 2501, 2575, 104, 4712, 4713, 48898, 8116, 4880, 6653, 6633, 5072]);
  });

  it('allocates nothing once warm: no garbage collection over half a million calls', async () => {
    expect(await collectionsDuringCalls(CASES, 5e5)).toEqual([]);
  });
});
