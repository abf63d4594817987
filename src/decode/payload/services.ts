/**
 * Payload-protocol rules for databases, message brokers, industrial and IoT protocols, network infrastructure and
 * management. Reached by one line of payload-protocol.ts's matchTcp / matchUdp (servicesTcp / servicesUdp), after
 * the rules above it there, so none of them takes a packet an earlier rule names.
 */
import { u16, u16le, i32, i32le, ascii, port, has, find, isDigit, lineEnd, findNoCase, berLength, berBody } from './bytes.js';
import { PayloadProtocol } from './protocols.js';

const P = PayloadProtocol as Record<string, number>;
const HTTP = P['HTTP']!;
const TFTP = P['TFTP']!;


const RESP = P['RESP']!;
const MEMCACHED = P['Memcached']!;
const CASSANDRA = P['Cassandra']!;
const LDAP = P['LDAP']!;
const AJP = P['AJP']!;
const ORACLE = P['Oracle']!;
const DRDA = P['DRDA']!;
const ZABBIX = P['Zabbix']!;
const NATS = P['Nats']!;
const KAFKA = P['Kafka']!;
const MODBUS = P['Modbus']!;
const DNP3 = P['DNP3']!;
const IEC104 = P['IEC60870']!;
const OPCUA = P['OPC-UA']!;
const BACNET = P['BACnet']!;
const COAP = P['COAP']!;
const ENIP = P['EthernetIP']!;
const KNX = P['KNXnet_IP']!;
const DIAMETER = P['Diameter']!;
const NETFLOW = P['NetFlow']!;
const SFLOW = P['sFlow']!;
const SOCKS = P['SOCKS']!;
const USENET = P['Usenet']!;
const SMPP = P['SMPP']!;
const DCERPC = P['DCERPC']!;
const WHOIS = P['Whois-DAS']!;
const MUNIN = P['Munin']!;
const GEARMAN = P['Gearman']!;
const CEPH = P['Ceph']!;
const RSYNC = P['RSYNC']!;
const BFD = P['BFD']!;
const PTP = P['PTPv2']!;
const HAPROXY = P['HAProxy']!;
const AFP = P['AFP']!;
const FINS = P['FINS']!;
const SOMEIP = P['SOMEIP']!;

/** The services' rules over TCP, each guarding itself by its first bytes or its port. */
export function servicesTcp(b: Uint8Array, p: number, end: number, sp: number, dp: number): number {
  const b0 = b[p]!;
  let r = 0;
  if (b0 === 0x2a) r = respCommand(b, p, end);
  else if (b0 === 0x12 || b0 === 0x41) r = ajpPacket(b, p, end, sp, dp);
  else if (b0 === 0x5a) r = zabbixHeader(b, p, end);
  else if (b0 === 0x49 || b0 === 0x43) r = natsHello(b, p, end);
  else if (b0 === 0x01) r = diameterMessage(b, p, end);
  else if (b0 === 0x23) r = muninGreeting(b, p, end);
  else if (b0 === 0x63) r = cephBanner(b, p, end);
  else if (b0 === 0x40) r = rsyncGreeting(b, p, end);
  else if (b0 === 0x50 || b0 === 0x0d) r = proxyHeader(b, p, end);
  else if (b0 === 0x00 && b[p + 1] === 0x52 && b[p + 2] === 0x45) r = gearmanPacket(b, p, end);
  else if (b0 === 0x46) r = finsTcp(b, p, end);
  if (r === 0 && (b0 === 0x48 || b0 === 0x41 || b0 === 0x4f)) r = opcUaMessage(b, p, end);
  if (r === 0 && (b0 & 0x7f) >= 3 && (b0 & 0x7f) <= 5) r = cqlFrame(b, p, end, sp, dp);
  if (r === 0 && b0 === 0x05) r = dnp3Frame(b, p, end) || dcerpcHeader(b, p, end);
  if (r === 0 && end - p >= 10 && b[p + 2] === 0xd0) r = drdaDss(b, p, end);
  if (r === 0 && end - p >= 34 && b[p + 4] === 1) r = tnsConnect(b, p, end, sp, dp);
  if (r === 0 && end - p >= 17 && b[p + 4]! <= 0x80 && b[p + 5] === 0 && b[p + 6] === 0) r = smppBind(b, p, end);
  if (r === 0 && end - p >= 14 && b[p] === 0 && b[p + 4] === 0) r = kafkaRequest(b, p, end, sp, dp);
  if (r === 0 && end - p >= 16 && b[p + 12] === 1) r = someipMessages(b, p, end);
  if (r !== 0) return r;
  // Rules tied to the protocol's registered port.
  if (port(sp, dp, 389) || port(sp, dp, 3268)) r = ldapMessage(b, p, end, false);
  else if (port(sp, dp, 502)) r = modbusAdus(b, p, end);
  else if (port(sp, dp, 2404)) r = iec104Apdus(b, p, end);
  else if (port(sp, dp, 11211)) r = memcachedMessage(b, p, end);
  else if (port(sp, dp, 44818)) r = enipEncapsulation(b, p, end);
  else if (port(sp, dp, 3671)) r = knxnetIp(b, p, end);
  else if (port(sp, dp, 1080)) r = socksRequest(b, p, end, dp === 1080);
  else if (sp === 119 || sp === 433) r = nntpGreeting(b, p, end);
  else if (dp === 43) r = whoisQuery(b, p, end);
  else if (port(sp, dp, 548)) r = dsiHeader(b, p, end);
  return r;
}

/** The services' rules over UDP. */
export function servicesUdp(b: Uint8Array, p: number, end: number, sp: number, dp: number): number {
  const b0 = b[p]!;
  let r = 0;
  if (b0 === 0x05) r = dnp3Frame(b, p, end);
  else if (b0 === 0x00) r = netflowExport(b, p, end, sp, dp) || sflowDatagram(b, p, end);
  if (r === 0 && end - p >= 16 && b[p + 12] === 1) r = someipMessages(b, p, end);
  if (r !== 0) return r;
  if (port(sp, dp, 389)) r = ldapMessage(b, p, end, true);
  else if (port(sp, dp, 11211)) r = end - p >= 8 && b[p + 6] === 0 && b[p + 7] === 0 && u16(b, p + 2) < u16(b, p + 4) ? memcachedMessage(b, p + 8, end) : 0;
  else if (port(sp, dp, 44818)) r = enipEncapsulation(b, p, end);
  else if (port(sp, dp, 3671)) r = knxnetIp(b, p, end);
  else if (port(sp, dp, 5683)) r = coapMessage(b, p, end);
  else if ((sp >= 47808 && sp <= 47823) || (dp >= 47808 && dp <= 47823)) r = bacnetBvll(b, p, end);
  else if (port(sp, dp, 3784) || port(sp, dp, 4784)) r = bfdControl(b, p, end);
  else if (port(sp, dp, 319) || port(sp, dp, 320)) r = ptpMessage(b, p, end);
  else if (port(sp, dp, 9600)) r = finsUdp(b, p, end);
  return r;
}

/** The end of 1 to `max` ASCII digits at `q`, or -1. */
function digitsEnd(b: Uint8Array, q: number, end: number, max: number): number {
  let e = q;
  while (e < end && e - q < max && isDigit(b[e]!)) e++;
  return e > q && !isDigit(b[e] ?? 0) ? e : -1;
}
/** The value of the ASCII digits `buf[q .. e)`. */
function decimal(b: Uint8Array, q: number, e: number): number {
  let v = 0;
  for (let i = q; i < e; i++) v = v * 10 + b[i]! - 0x30;
  return v;
}
const crlfAt = (b: Uint8Array, q: number): boolean => b[q] === 0x0d && b[q + 1] === 0x0a;

/**
 * RESP, Redis's serialization protocol (redis.io, "Redis serialization protocol specification"): a client sends
 * each command as an array of bulk strings, `*<count>CRLF` then `$<length>CRLF<bytes>CRLF` per element, the first
 * element being the command's name (letters; `.`, `_`, `-` and `|` in module and container commands). The array's
 * header and its first element must be exact; what follows is the next element (`$`), the next command (`*`) or
 * the segment's end.
 */
function respCommand(b: Uint8Array, p: number, end: number): number {
  const c = digitsEnd(b, p + 1, end, 6);
  if (c < 0 || !crlfAt(b, c)) return 0;
  const n = decimal(b, p + 1, c);
  const q = c + 2;
  if (n < 1 || b[q] !== 0x24) return 0;
  const l = digitsEnd(b, q + 1, end, 2);
  if (l < 0 || !crlfAt(b, l)) return 0;
  const name = l + 2;
  const len = decimal(b, q + 1, l);
  if (len < 1 || name + len + 2 > end || !crlfAt(b, name + len)) return 0;
  for (let i = name; i < name + len; i++) {
    const ch = b[i]! | 0x20;
    if (!(ch >= 0x61 && ch <= 0x7a) && b[i] !== 0x2e && b[i] !== 0x5f && b[i] !== 0x2d && b[i] !== 0x7c) return 0;
  }
  const next = name + len + 2;
  return next === end || b[next] === (n > 1 ? 0x24 : 0x2a) ? RESP : 0;
}

/**
 * Memcached (memcached's doc/protocol.txt; the binary protocol of its wiki's "BinaryProtocolRevamped"), on its port
 * 11211: a text line `<command> ...CRLF` starting with one of the protocol's commands or reply words, followed by a
 * space or the line's end; or a binary packet: magic 0x80 (request) or 0x81 (response), an opcode 0x00-0x48, data
 * type 0, the extras and key lengths inside the total body length, and the body within the segment. Over UDP the
 * caller skips the 8-byte frame header (request id, sequence number < datagram count, reserved zero).
 */
const MEMCACHED_WORDS = [
  'get', 'gets', 'gat', 'gats', 'set', 'add', 'replace', 'append', 'prepend', 'cas', 'delete', 'incr', 'decr', 'touch',
  'stats', 'version', 'flush_all', 'verbosity', 'quit', 'mg', 'ms', 'md', 'ma', 'mn', 'me',
  'VALUE', 'STORED', 'NOT_STORED', 'EXISTS', 'NOT_FOUND', 'END', 'DELETED', 'TOUCHED', 'STAT', 'VERSION', 'ERROR', 'CLIENT_ERROR', 'SERVER_ERROR',
].map(ascii);
function memcachedMessage(b: Uint8Array, p: number, end: number): number {
  const n = end - p;
  if (n < 4) return 0;
  const m = b[p]!;
  if (m === 0x80 || m === 0x81) {
    if (n < 24 || b[p + 1]! > 0x48 || b[p + 5] !== 0) return 0;
    const body = i32(b, p + 8);
    return body >= 0 && u16(b, p + 2) + b[p + 4]! <= body && 24 + body <= n ? MEMCACHED : 0;
  }
  const eol = lineEnd(b, p, end, 1024);
  if (eol < 0) return 0;
  for (let i = 0; i < MEMCACHED_WORDS.length; i++) {
    const w = MEMCACHED_WORDS[i]!;
    if (has(b, p, eol + 1, w) && (b[p + w.length] === 0x20 || p + w.length === eol)) return MEMCACHED;
  }
  return 0;
}

/**
 * Cassandra's CQL native protocol (cassandra's doc/native_protocol_v4.spec §2, v3 and v5 alike): a 9-byte frame
 * header, version 3-5 (bit 7 set from the server), flags of §2.2 only, a stream id (≥ 0 from the client), an opcode
 * of §2.4 for that direction, and a body length equal to the rest of the segment. A connection opens with STARTUP
 * (a string map naming CQL_VERSION) or OPTIONS (empty), answered by SUPPORTED (naming CQL_VERSION), READY (empty) or
 * AUTHENTICATE (the authenticator's class name); the empty ones and any other frame count only on CQL's port 9042.
 */
const CQL_VERSION = ascii('CQL_VERSION');
const AUTHENTICATOR = ascii('Authenticator');
function cqlFrame(b: Uint8Array, p: number, end: number, sp: number, dp: number): number {
  if (end - p < 9 || (b[p + 1]! & 0xe0) !== 0 || i32(b, p + 5) !== end - p - 9) return 0;
  const response = (b[p]! & 0x80) !== 0;
  const op = b[p + 4]!;
  const body = p + 9;
  if (!response) {
    if (b[p + 2]! >= 0x80) return 0;
    if (op === 0x01) return end - body >= 4 && u16(b, body) >= 1 && find(b, body, end, 512, CQL_VERSION) > 0 ? CASSANDRA : 0;
    const known = op === 0x05 ? end === body : op === 0x07 || op === 0x09 || op === 0x0a || op === 0x0b || op === 0x0d || op === 0x0f;
    return known && port(sp, dp, 9042) ? CASSANDRA : 0;
  }
  if (op === 0x06) return find(b, body, end, 1024, CQL_VERSION) > 0 ? CASSANDRA : 0;
  if (op === 0x03) return find(b, body, end, 256, AUTHENTICATOR) > 0 ? CASSANDRA : 0;
  const known = op === 0x02 ? end === body : op === 0x00 || op === 0x08 || op === 0x0c || op === 0x0e || op === 0x10;
  return known && port(sp, dp, 9042) ? CASSANDRA : 0;
}

/**
 * LDAP (RFC 4511 §4.1.1, §4.2-4.14, BER of §5.1) on its ports 389 and 3268 (global catalog), and CLDAP over UDP 389
 * (RFC 1798; MS-ADTS §6.3.3): an LDAPMessage SEQUENCE holding a messageID INTEGER of 1-4 bytes, not negative, then a
 * protocolOp of RFC 4511's APPLICATION tags, whose length stays inside the message; a BindRequest's version is 1-3.
 * The message ends the datagram, or the segment, or is followed by the next one; over TCP a long message may run on
 * into the next segment.
 */
function ldapMessage(b: Uint8Array, p: number, end: number, udp: boolean): number {
  if (end - p < 7 || b[p] !== 0x30) return 0;
  const msgEnd = berLength(b, p + 1, end);
  if (msgEnd < 0 || (udp ? msgEnd !== end : msgEnd < end && b[msgEnd] !== 0x30)) return 0;
  let q = berBody(b, p + 1);
  const idLen = b[q + 1]!;
  if (b[q] !== 0x02 || idLen < 1 || idLen > 4 || (b[q + 2]! & 0x80) !== 0) return 0;
  q += 2 + idLen;
  const op = b[q]!;
  const constructed = op === 0x60 || op === 0x61 || (op >= 0x63 && op <= 0x69) || (op >= 0x6b && op <= 0x6f) || (op >= 0x73 && op <= 0x79 && op !== 0x74 && op !== 0x75 && op !== 0x76);
  if (!constructed && op !== 0x42 && op !== 0x4a && op !== 0x50) return 0;
  const opEnd = berLength(b, q + 1, end);
  if (opEnd < 0 || opEnd > msgEnd) return 0;
  if (op === 0x60) {
    const v = berBody(b, q + 1);
    return b[v] === 0x02 && b[v + 1] === 1 && b[v + 2]! >= 1 && b[v + 2]! <= 3 ? LDAP : 0;
  }
  return LDAP;
}

/**
 * AJP13 (Apache Tomcat Connectors, "AJP Protocol Reference", AJPv13): a packet from the web server is 0x1234, a
 * length, then a Forward Request (code 2) with an HTTP method code (1-28) and the protocol string (2-byte length,
 * `HTTP/`..., a zero), or a CPing (10, length 1); a packet from the container is `AB`, a length, then Send Headers
 * (4) with a status of 100-599 and its message string (length, text, a zero), or a CPong (9, length 1). The 5-byte
 * CPing and CPong are tied to AJP's port 8009.
 */
const HTTP_SLASH = ascii('HTTP/');
function ajpPacket(b: Uint8Array, p: number, end: number, sp: number, dp: number): number {
  if (end - p < 5) return 0;
  const len = u16(b, p + 2);
  const code = b[p + 4];
  if (b[p] === 0x12 && b[p + 1] === 0x34) {
    if (code === 10) return len === 1 && end - p === 5 && port(sp, dp, 8009) ? AJP : 0;
    const pl = u16(b, p + 6);
    if (code !== 2 || b[p + 5]! < 1 || b[p + 5]! > 28 || pl < 8 || 8 + pl >= 4 + len) return 0;
    return has(b, p + 8, end, HTTP_SLASH) && b[p + 8 + pl] === 0 ? AJP : 0;
  }
  if (b[p] === 0x41 && b[p + 1] === 0x42) {
    if (code === 9) return len === 1 && end - p === 5 && port(sp, dp, 8009) ? AJP : 0;
    const status = u16(b, p + 5);
    const ml = u16(b, p + 7);
    if (code !== 4 || status < 100 || status > 599 || 9 + ml >= 4 + len) return 0;
    return b[p + 9 + ml] === 0 ? AJP : 0;
  }
  return 0;
}

/**
 * Oracle Net's TNS CONNECT packet (the TNS header as Wireshark's TNS dissector documents it: packet length, packet
 * checksum, type, a reserved byte, header checksum; the connect descriptor of Oracle Net Services Reference,
 * "Syntax Rules for Configuration Files"): a length equal to the segment, zero checksums and reserved byte, type 1
 * (CONNECT), a version and a lowest compatible version of 300-399 (the compatible one not above the other), and the
 * descriptor `(DESCRIPTION=...` in the connect data; without it (connect data over 230 bytes travels in the next
 * packet), on Oracle's port 1521.
 */
const TNS_DESCRIPTION = ascii('(DESCRIPTION');
const TNS_CONNECT_DATA = ascii('(CONNECT_DATA');
function tnsConnect(b: Uint8Array, p: number, end: number, sp: number, dp: number): number {
  if (u16(b, p) !== end - p || u16(b, p + 2) !== 0 || b[p + 5] !== 0 || u16(b, p + 6) !== 0) return 0;
  const v = u16(b, p + 8);
  const lowest = u16(b, p + 10);
  if (v < 300 || v > 399 || lowest < 300 || lowest > v) return 0;
  return findNoCase(b, p + 34, end, TNS_DESCRIPTION) || findNoCase(b, p + 34, end, TNS_CONNECT_DATA) || port(sp, dp, 1521) ? ORACLE : 0;
}

/**
 * DRDA (The Open Group, DRDA Vol. 1 "Data Stream Structures" and Vol. 3 "DDM Architecture"): a DSS header - its
 * length (at least 10), the magic 0xD0, a format byte whose DSS type is 1-5 (request, reply, object, encrypted
 * object, communication), a correlation id - then the DDM object's length, the DSS length less its 6-byte header,
 * and the code point of a connection's first commands or their replies (EXCSAT 0x1041, ACCSEC 0x106D, SECCHK
 * 0x106E, ACCRDB 0x2001; EXCSATRD 0x1443, ACCSECRD 0x14AC, SECCHKRM 0x1219, ACCRDBRM 0x2201). The DSS fits the segment.
 */
function drdaDss(b: Uint8Array, p: number, end: number): number {
  const len = u16(b, p);
  const type = b[p + 3]! & 0x0f;
  if (len < 10 || len > end - p || type < 1 || type > 5 || u16(b, p + 6) !== len - 6) return 0;
  const cp = u16(b, p + 8);
  return cp === 0x1041 || cp === 0x106d || cp === 0x106e || cp === 0x2001 || cp === 0x1443 || cp === 0x14ac || cp === 0x1219 || cp === 0x2201 ? DRDA : 0;
}

/**
 * Zabbix (Zabbix documentation, "Zabbix protocols", header and data length): `ZBXD`, flags with the protocol bit
 * (0x01) and only the compression (0x02) and large-packet (0x04) bits besides, then the data length and the
 * reserved (uncompressed) length, 4 bytes each little-endian (8 each for a large packet); the data fill the segment
 * or run on past it.
 */
const ZBXD = ascii('ZBXD');
function zabbixHeader(b: Uint8Array, p: number, end: number): number {
  const f = b[p + 4]!;
  if (end - p < 13 || !has(b, p, end, ZBXD) || (f & 0x01) === 0 || f > 7) return 0;
  if ((f & 0x04) !== 0) return end - p >= 21 ? ZABBIX : 0;
  const len = i32le(b, p + 5);
  return len >= end - p - 13 && len <= 1 << 30 ? ZABBIX : 0;
}

/**
 * NATS (NATS documentation, "Client Protocol"): the server's `INFO {...}` naming its `server_id`, or the client's
 * `CONNECT {...}` with its `verbose` option, a JSON object ending the line, `}` CR LF.
 */
const NATS_INFO = ascii('INFO {');
const NATS_CONNECT = ascii('CONNECT {');
const NATS_SERVER_ID = ascii('"server_id"');
const NATS_VERBOSE = ascii('"verbose"');
function natsHello(b: Uint8Array, p: number, end: number): number {
  const info = has(b, p, end, NATS_INFO);
  if (!info && !has(b, p, end, NATS_CONNECT)) return 0;
  const eol = lineEnd(b, p, end, 8192);
  if (eol < 0 || b[eol - 1] !== 0x7d) return 0;
  return find(b, p, eol, 8192, info ? NATS_SERVER_ID : NATS_VERBOSE) > 0 ? NATS : 0;
}

/**
 * Kafka (Apache Kafka, "A Guide To The Kafka Protocol" / kafka.apache.org/protocol, "Common Request and Response
 * Structure"): a request is its size (the rest of the segment), request_api_key, request_api_version, a correlation
 * id ≥ 0 and the client id (a 2-byte length, -1 for none, then printable text). The first request of a client,
 * ApiVersions (key 18, versions 0-4), counts anywhere; other requests (keys 0-74, versions ≤ 20) on Kafka's port 9092.
 */
function kafkaRequest(b: Uint8Array, p: number, end: number, sp: number, dp: number): number {
  if (i32(b, p) !== end - p - 4) return 0;
  const key = u16(b, p + 4);
  const v = u16(b, p + 6);
  if (i32(b, p + 8) < 0) return 0;
  const idLen = u16(b, p + 12);
  if (idLen !== 0xffff) {
    if (p + 14 + idLen > end) return 0;
    for (let i = p + 14; i < p + 14 + idLen; i++) if (b[i]! < 0x20 || b[i]! > 0x7e) return 0;
  }
  if (key === 18) return v <= 4 ? KAFKA : 0;
  return key <= 74 && v <= 20 && port(sp, dp, 9092) ? KAFKA : 0;
}

/**
 * Modbus/TCP on its port 502 (MODBUS Messaging on TCP/IP Implementation Guide V1.0b §3.1.3; MODBUS Application
 * Protocol Specification V1.1b3 §6, §7): ADUs filling the segment exactly, each an MBAP header - transaction id,
 * protocol id 0, a length of 2-254 counting the unit id and the PDU - then a function code of 1-127 (§4.1, §5: public,
 * user-defined and reserved codes alike, as vendors' own functions use the latter) or an exception response (code
 * + 0x80, length 3) with an exception code 1-11 (§7).
 */
function modbusAdus(b: Uint8Array, p: number, end: number): number {
  let q = p;
  for (let k = 0; q < end && k < 16; k++) {
    if (end - q < 8 || u16(b, q + 2) !== 0) return 0;
    const len = u16(b, q + 4);
    if (len < 2 || len > 254 || q + 6 + len > end) return 0;
    const fc = b[q + 7]!;
    if ((fc & 0x7f) === 0) return 0;
    if (fc >= 0x80 && (len !== 3 || b[q + 8]! < 1 || b[q + 8]! > 11)) return 0;
    q += 6 + len;
  }
  return q === end ? MODBUS : 0;
}

/**
 * DNP3 (IEEE 1815-2012 §9.2, the data link frame): start bytes 0x05 0x64, a length of 5-255 (control, addresses
 * and user data), control, destination and source addresses, and the CRC-16/DNP (polynomial 0x3D65, reflected,
 * complemented; stored low byte first) of those 8 header bytes; the frame - the header, then the user data in
 * blocks of 16 bytes each followed by its CRC - fits the segment.
 */
function dnp3Frame(b: Uint8Array, p: number, end: number): number {
  if (end - p < 10 || b[p] !== 0x05 || b[p + 1] !== 0x64 || b[p + 2]! < 5) return 0;
  const data = b[p + 2]! - 5;
  if (10 + data + 2 * ((data + 15) >> 4) > end - p) return 0;
  return crcDnp(b, p, 8) === u16le(b, p + 8) ? DNP3 : 0;
}
function crcDnp(b: Uint8Array, q: number, n: number): number {
  let crc = 0;
  for (let i = 0; i < n; i++) {
    crc ^= b[q + i]!;
    for (let k = 0; k < 8; k++) crc = (crc & 1) !== 0 ? (crc >>> 1) ^ 0xa6bc : crc >>> 1;
  }
  return ~crc & 0xffff;
}

/**
 * IEC 60870-5-104 on its port 2404 (IEC 60870-5-104 §5.1-5.3): APDUs filling the segment exactly, each the start
 * byte 0x68, the APDU's length (4-253) and four control octets: an S-format frame (0x01, 0x00, length 4), a
 * U-format frame (exactly one of STARTDT, STOPDT, TESTFR act/con, then zeros, length 4), or an I-format frame
 * (bit 0 of the first octet clear) carrying an ASDU whose type identification is 1-127 and whose length holds at
 * least its 6-byte header.
 */
function iec104Apdus(b: Uint8Array, p: number, end: number): number {
  let q = p;
  for (let k = 0; q < end && k < 32; k++) {
    if (end - q < 6 || b[q] !== 0x68) return 0;
    const len = b[q + 1]!;
    const c0 = b[q + 2]!;
    if (len < 4 || len > 253 || q + 2 + len > end) return 0;
    if ((c0 & 1) === 0) {
      if (len < 4 + 6 || b[q + 6] === 0 || b[q + 6]! > 127) return 0;
    } else if ((c0 & 3) === 1) {
      if (len !== 4 || c0 !== 0x01 || b[q + 3] !== 0) return 0;
    } else if (len !== 4 || (c0 !== 0x07 && c0 !== 0x0b && c0 !== 0x13 && c0 !== 0x23 && c0 !== 0x43 && c0 !== 0x83) || b[q + 3] !== 0 || b[q + 4] !== 0 || b[q + 5] !== 0) return 0;
    q += 2 + len;
  }
  return q === end ? IEC104 : 0;
}

/**
 * OPC UA's connection protocol (OPC 10000-6, "UA Part 6: Mappings", §7.1.2): a message header - the type `HEL`,
 * `ACK`, `ERR`, `OPN`, `MSG` or `CLO`, the chunk type `F` (`C` and `A` for MSG), and the message size (4 bytes
 * little-endian, header included). Hello: the size equal to the segment, protocol version 0, receive and send buffer
 * sizes of at least 8,192, and an endpoint URL string starting `opc.` inside the message; Acknowledge: exactly 28
 * bytes, version 0, buffers of at least 8,192; OpenSecureChannel: its security policy URI of the OPC Foundation.
 */
const OPC_HEL = ascii('HELF');
const OPC_ACK = ascii('ACKF');
const OPC_OPN = ascii('OPNF');
const OPC_URL = ascii('opc.');
const OPC_POLICY = ascii('http://opcfoundation.org/UA/SecurityPolicy#');
function opcUaMessage(b: Uint8Array, p: number, end: number): number {
  const n = end - p;
  if (n < 28) return 0;
  const size = i32le(b, p + 4);
  const buffersOk = i32le(b, p + 8) === 0 && i32le(b, p + 12) >= 8192 && i32le(b, p + 16) >= 8192;
  if (has(b, p, end, OPC_HEL)) {
    const urlLen = i32le(b, p + 28);
    return size === n && buffersOk && urlLen >= 4 && 32 + urlLen <= n && has(b, p + 32, end, OPC_URL) ? OPCUA : 0;
  }
  if (has(b, p, end, OPC_ACK)) return size === 28 && n === 28 && buffersOk ? OPCUA : 0;
  // OpenSecureChannel: header, secure channel id, then the policy URI (its length, its bytes); certificates may
  // carry the message past the segment.
  const uriLen = i32le(b, p + 12);
  return has(b, p, end, OPC_OPN) && uriLen >= OPC_POLICY.length && size >= 16 + uriLen && has(b, p + 16, end, OPC_POLICY) ? OPCUA : 0;
}

/**
 * BACnet/IP on 47808-47823 (ANSI/ASHRAE 135, Annex J.2): the BVLL type 0x81, a function 0x00-0x0B and a length
 * equal to the datagram; for the functions carrying an NPDU (Forwarded-NPDU 0x04 after the 6-byte originating
 * address, Distribute-Broadcast-To-Network 0x09, Original-Unicast 0x0A and -Broadcast 0x0B) the NPDU's version 1
 * and its control octet's reserved bits 6 and 4 clear (§6.2.1-6.2.2).
 */
function bacnetBvll(b: Uint8Array, p: number, end: number): number {
  const fn = b[p + 1]!;
  if (end - p < 4 || b[p] !== 0x81 || fn > 0x0b || u16(b, p + 2) !== end - p) return 0;
  const npdu = fn === 0x04 ? p + 10 : fn >= 0x09 ? p + 4 : -1;
  if (npdu < 0) return BACNET;
  return end - npdu >= 2 && b[npdu] === 0x01 && (b[npdu + 1]! & 0x50) === 0 ? BACNET : 0;
}

/**
 * CoAP on its port 5683 (RFC 7252 §3, §5.2, §12.1; RFC 8132 §6 for FETCH/PATCH/iPATCH): version 1, a token of at
 * most 8 bytes, a code of a registered class and detail (requests 0.01-0.07; responses 2.01-2.05, 2.31, 4.00-4.06,
 * 4.08, 4.12, 4.13, 4.15, 4.29, 5.00-5.05), an Empty message (0.00) of exactly 4 bytes; then options whose deltas
 * and lengths (nibble 15 reserved) walk to the datagram's end or to the payload marker 0xFF followed by a payload.
 */
function coapMessage(b: Uint8Array, p: number, end: number): number {
  if (end - p < 4 || (b[p]! >> 6) !== 1) return 0;
  const tkl = b[p]! & 0x0f;
  const code = b[p + 1]!;
  const cls = code >> 5;
  const d = code & 0x1f;
  if (code === 0) return end - p === 4 && tkl === 0 ? COAP : 0;
  const ok = cls === 0 ? d <= 7 : cls === 2 ? (d >= 1 && d <= 5) || d === 31 : cls === 4 ? d <= 6 || d === 8 || d === 12 || d === 13 || d === 15 || d === 29 : cls === 5 ? d <= 5 : false;
  if (!ok || tkl > 8) return 0;
  let q = p + 4 + tkl;
  for (let k = 0; q < end && k < 32; k++) {
    const o = b[q]!;
    if (o === 0xff) return q + 1 < end ? COAP : 0;
    const delta = o >> 4;
    const len = o & 0x0f;
    if (delta === 15 || len === 15) return 0;
    // Extended delta and length bytes (§3.1): 13 adds one byte (+ 13), 14 two (+ 269).
    let v = q + 1 + (delta === 13 ? 1 : delta === 14 ? 2 : 0);
    let l = len;
    if (len === 13) {
      l = 13 + (b[v] ?? 0);
      v += 1;
    } else if (len === 14) {
      l = 269 + (v + 1 < end ? u16(b, v) : 0);
      v += 2;
    }
    q = v + l;
  }
  return q === end ? COAP : 0;
}

/**
 * EtherNet/IP's encapsulation on its port 44818 (ODVA, The CIP Networks Library Vol. 2, EtherNet/IP Adaptation of
 * CIP, §2-3): 24-byte headers, little-endian - a command (NOP 0x00, ListServices 0x04, ListIdentity 0x63,
 * ListInterfaces 0x64, RegisterSession 0x65, UnRegisterSession 0x66, SendRRData 0x6F, SendUnitData 0x70,
 * IndicateStatus 0x72, Cancel 0x73), the length of the data after the header, a session handle, a status, the
 * sender context and options 0 - filling the segment exactly; RegisterSession's data is protocol version 1 and
 * options 0.
 */
function enipEncapsulation(b: Uint8Array, p: number, end: number): number {
  let q = p;
  for (let k = 0; q < end && k < 16; k++) {
    if (end - q < 24 || b[q + 1] !== 0 || i32(b, q + 20) !== 0) return 0;
    const c = b[q]!;
    const len = u16le(b, q + 2);
    if (!(c === 0x00 || c === 0x04 || (c >= 0x63 && c <= 0x66) || c === 0x6f || c === 0x70 || c === 0x72 || c === 0x73)) return 0;
    if (c === 0x65 && len === 4 && (b[q + 24] !== 1 || b[q + 25] !== 0)) return 0;
    q += 24 + len;
  }
  return q === end ? ENIP : 0;
}

/**
 * KNXnet/IP on its port 3671 (KNX Standard 03.08.02 "KNXnet/IP Core" §2.3, §5; 03.08.03-05 for device management,
 * tunnelling and routing; 03.08.09 for security): header length 0x06, protocol version 0x10, a service type of the
 * core (0x0201-0x020C), device management (0x0310, 0x0311), tunnelling (0x0420-0x0425, with tunnelling v2's feature
 * services), routing (0x0530-0x0533) or security (0x0950-0x0956) families, and a total length equal to the message;
 * messages fill the segment exactly.
 */
function knxnetIp(b: Uint8Array, p: number, end: number): number {
  let q = p;
  for (let k = 0; q < end && k < 16; k++) {
    if (end - q < 6 || b[q] !== 0x06 || b[q + 1] !== 0x10) return 0;
    const s = u16(b, q + 2);
    const len = u16(b, q + 4);
    const known = (s >= 0x0201 && s <= 0x020c) || s === 0x0310 || s === 0x0311 || (s >= 0x0420 && s <= 0x0425) || (s >= 0x0530 && s <= 0x0533) || (s >= 0x0950 && s <= 0x0956);
    if (!known || len < 6) return 0;
    q += len;
  }
  return q === end ? KNX : 0;
}

/**
 * Diameter (RFC 6733 §3, §4.1): version 1, a message length that is a multiple of 4, at least the 20-byte header and
 * within the segment, command flags whose reserved bits are clear (E only on an answer), and AVPs - code, flags with
 * reserved bits clear, a length of at least 8 (12 with the V bit's vendor id), padded to 4 - walking exactly to
 * the message's end, at least two of them.
 */
function diameterMessage(b: Uint8Array, p: number, end: number): number {
  if (end - p < 20 + 16) return 0;
  const len = (b[p + 1]! << 16) | u16(b, p + 2);
  const f = b[p + 4]!;
  if (len < 36 || (len & 3) !== 0 || len > end - p || (f & 0x0f) !== 0 || (f & 0xa0) === 0xa0) return 0;
  const m = p + len;
  let q = p + 20;
  let avps = 0;
  for (; q < m && avps < 256; avps++) {
    if (m - q < 8) return 0;
    const af = b[q + 4]!;
    const al = (b[q + 5]! << 16) | u16(b, q + 6);
    if ((af & 0x1f) !== 0 || al < ((af & 0x80) !== 0 ? 12 : 8)) return 0;
    q += (al + 3) & ~3;
  }
  return q === m && avps >= 2 ? DIAMETER : 0;
}

/**
 * NetFlow and IPFIX export datagrams (Cisco, "NetFlow Export Datagram Format": version 5, a 24-byte header and
 * `count` (1-30) records of 48 bytes, the datagram exactly that long, each record's pad1 (offset 36) and pad2
 * (46-47) bytes zero and its packet count ≥ 1; RFC 3954 §5: version 9, a count ≥ 1, FlowSets of id 0, 1 or ≥ 256 and
 * length ≥ 4 walking exactly to the datagram's end; RFC 7011 §3.1, §3.3.2: IPFIX, version 10, a message length
 * equal to the datagram and Sets of id 2, 3 or ≥ 256 walking exactly to it). Not on TFTP's port 69, whose ERROR
 * packets begin 0x0005.
 */
function netflowExport(b: Uint8Array, p: number, end: number, sp: number, dp: number): number {
  const n = end - p;
  if (n < 20 || b[p] !== 0 || port(sp, dp, 69)) return 0;
  const v = b[p + 1]!;
  const count = u16(b, p + 2);
  if (v === 5) {
    if (count < 1 || count > 30 || n !== 24 + 48 * count) return 0;
    for (let r = p + 24; r < end; r += 48) if (b[r + 36] !== 0 || b[r + 46] !== 0 || b[r + 47] !== 0 || i32(b, r + 16) === 0) return 0;
    return NETFLOW;
  }
  if (v === 9) return count >= 1 && flowSets(b, p + 20, end, 0, 1) ? NETFLOW : 0;
  if (v === 10) return count === n && n >= 16 + 4 && flowSets(b, p + 16, end, 2, 3) ? NETFLOW : 0;
  return 0;
}
/** FlowSets / Sets (id `t1`, `t2` or ≥ 256, length ≥ 4) walking exactly from `q` to `end`, at least one. */
function flowSets(b: Uint8Array, q: number, end: number, t1: number, t2: number): boolean {
  let k = 0;
  for (; q < end && k < 64; k++) {
    if (end - q < 4) return false;
    const id = u16(b, q);
    const len = u16(b, q + 2);
    if ((id !== t1 && id !== t2 && id < 256) || len < 4) return false;
    q += len;
  }
  return k > 0 && q === end;
}

/**
 * sFlow version 5 (sFlow.org, "sFlow Version 5", §"sFlow Datagram Format"): version 5, the agent address type 1
 * (IPv4) or 2 (IPv6) and address, sub-agent id, sequence number, uptime, the number of samples (1-64), then the
 * samples - a data format of enterprise 0 and format 1-4 (flow, counters, expanded flow, expanded counters) and a
 * length - walking exactly to the datagram's end.
 */
function sflowDatagram(b: Uint8Array, p: number, end: number): number {
  if (end - p < 36 || i32(b, p) !== 5) return 0;
  const t = i32(b, p + 4);
  if (t !== 1 && t !== 2) return 0;
  let q = p + 8 + (t === 1 ? 4 : 16) + 12;
  const samples = i32(b, q);
  if (samples < 1 || samples > 64) return 0;
  q += 4;
  for (let k = 0; k < samples; k++) {
    if (end - q < 8) return 0;
    const fmt = i32(b, q);
    const len = i32(b, q + 4);
    if (fmt < 1 || fmt > 4 || len < 0 || len > end - q - 8) return 0;
    q += 8 + len;
  }
  return q === end ? SFLOW : 0;
}

/**
 * SOCKS on its port 1080: to the proxy, a SOCKS 5 greeting (RFC 1928 §3: version 5, 1-255 methods, each assigned
 * 0x00-0x03 or private 0x80-0xFE, exactly that long) or a SOCKS 4/4a request ("SOCKS: A protocol for TCP proxy
 * across firewalls", and its 4A extension: version 4, command 1 or 2, port, address, a printable user id and a
 * zero, then for 4A's address 0.0.0.x a host name and a zero, ending the segment); from it, SOCKS 5's method
 * selection (version 5, a listed method or 0xFF) or SOCKS 4's reply (0, code 90-93, 8 bytes).
 */
function socksRequest(b: Uint8Array, p: number, end: number, toProxy: boolean): number {
  const n = end - p;
  if (!toProxy) {
    if (n === 2) return b[p] === 5 && (b[p + 1]! <= 3 || b[p + 1]! >= 0x80) ? SOCKS : 0;
    return n === 8 && b[p] === 0 && b[p + 1]! >= 90 && b[p + 1]! <= 93 ? SOCKS : 0;
  }
  if (b[p] === 5) {
    if (n < 3 || b[p + 1] !== n - 2) return 0;
    for (let i = p + 2; i < end; i++) if (b[i]! > 3 && (b[i]! < 0x80 || b[i] === 0xff)) return 0;
    return SOCKS;
  }
  if (b[p] !== 4 || n < 9 || (b[p + 1] !== 1 && b[p + 1] !== 2)) return 0;
  let q = p + 8;
  const names = b[p + 4] === 0 && b[p + 5] === 0 && b[p + 6] === 0 && b[p + 7] !== 0 ? 2 : 1;
  for (let k = 0; k < names; k++) {
    while (q < end && b[q] !== 0) {
      if (b[q]! < 0x20 || b[q]! > 0x7e) return 0;
      q++;
    }
    if (q >= end) return 0;
    q++;
  }
  return q === end ? SOCKS : 0;
}

/**
 * NNTP's greeting from its ports 119 and 433 (RFC 3977 §5.1.1): a whole line `200` (posting allowed) or `201`
 * (prohibited), a space and text, CR LF ending the segment.
 */
function nntpGreeting(b: Uint8Array, p: number, end: number): number {
  if (end - p < 6 || b[p] !== 0x32 || b[p + 1] !== 0x30 || (b[p + 2] !== 0x30 && b[p + 2] !== 0x31) || b[p + 3] !== 0x20) return 0;
  return lineEnd(b, p, end, 1024) === end - 2 ? USENET : 0;
}

/**
 * SMPP (SMPP v3.4 §2.2.1, §3.2, §4.1; SMPP 5.0 §4.1.1): a PDU header - command_length equal to the segment,
 * command_id, command_status, sequence_number ≥ 1 - of a bind_receiver (1), bind_transmitter (2) or
 * bind_transceiver (9) with status 0, then system_id (≤ 16), password (≤ 9), system_type (≤ 13) as printable
 * C-octet strings, interface_version (≤ 0x34, or 0x50), addr_ton (0-6), addr_npi and address_range (≤ 41) ending the
 * PDU; or its response (command_id | 0x80000000) carrying a system_id, then optionally the sc_interface_version TLV.
 */
function smppBind(b: Uint8Array, p: number, end: number): number {
  if (i32(b, p) !== end - p || b[p + 7] === 0 || i32(b, p + 12) < 1) return 0;
  const id = b[p + 7]!;
  if ((id !== 1 && id !== 2 && id !== 9) || (b[p + 4] !== 0 && b[p + 4] !== 0x80)) return 0;
  let q = cString(b, p + 16, end, 16);
  if (b[p + 4] === 0x80) {
    if (q < 0) return 0;
    return q === end || (end - q === 5 && u16(b, q) === 0x0210 && u16(b, q + 2) === 1) ? SMPP : 0;
  }
  if (i32(b, p + 8) !== 0 || q < 0) return 0;
  q = cString(b, q, end, 9);
  if (q < 0) return 0;
  q = cString(b, q, end, 13);
  if (q < 0 || end - q < 4) return 0;
  const v = b[q]!;
  if ((v > 0x34 && v !== 0x50) || b[q + 1]! > 6) return 0;
  return cString(b, q + 3, end, 41) === end ? SMPP : 0;
}
/** A C-octet string of at most `max` printable characters and its zero at `q`: the position after it, or -1. */
function cString(b: Uint8Array, q: number, end: number, max: number): number {
  const last = Math.min(end, q + max + 1);
  for (let i = q; i < last; i++) {
    if (b[i] === 0) return i + 1;
    if (b[i]! < 0x20 || b[i]! > 0x7e) return -1;
  }
  return -1;
}

/**
 * DCE/RPC's connection-oriented PDUs (The Open Group, C706 "DCE 1.1: Remote Procedure Call" §12.6.3): version 5,
 * minor version 0 or 1, a PDU type of 0-19, the data representation label (integer byte order 0x10 or 0x00, a
 * floating-point format 0-3, two zero bytes), a fragment length of at least the 16-byte header and the
 * authentication trailer, which is the segment, or is followed by the next PDU; a bind (11) or alter-context (14) of
 * at least its 28 bytes, with fragment sizes of at least 1,432 (§12.6.4.3 - the minimum every implementation takes).
 */
function dcerpcHeader(b: Uint8Array, p: number, end: number): number {
  if (end - p < 16 || b[p + 1]! > 1 || b[p + 2]! > 19 || (b[p + 4] !== 0x10 && b[p + 4] !== 0x00) || b[p + 5]! > 3 || b[p + 6] !== 0 || b[p + 7] !== 0) return 0;
  const le = b[p + 4] === 0x10;
  const frag = le ? u16le(b, p + 8) : u16(b, p + 8);
  const auth = le ? u16le(b, p + 10) : u16(b, p + 10);
  if (frag < 16 + auth || frag > end - p || (frag < end - p && b[p + frag] !== 5)) return 0;
  const t = b[p + 2]!;
  if (t === 11 || t === 14) {
    const xmit = le ? u16le(b, p + 16) : u16(b, p + 16);
    const recv = le ? u16le(b, p + 18) : u16(b, p + 18);
    return frag >= 28 && xmit >= 1432 && recv >= 1432 ? DCERPC : 0;
  }
  return DCERPC;
}

/** WHOIS (RFC 3912 §2) to its port 43: the query, one printable line of 1-512 bytes ending the segment with CR LF. */
function whoisQuery(b: Uint8Array, p: number, end: number): number {
  return end - p >= 3 && end - p <= 514 && b[p] !== 0x20 && lineEnd(b, p, end, 514) === end - 2 ? WHOIS : 0;
}

/** Munin (Munin documentation, "Munin node protocol"): the node's greeting, `# munin node at <host>` and LF, ending the segment. */
const MUNIN_GREETING = ascii('# munin node at ');
function muninGreeting(b: Uint8Array, p: number, end: number): number {
  if (end - p < MUNIN_GREETING.length + 2 || !has(b, p, end, MUNIN_GREETING) || b[end - 1] !== 0x0a) return 0;
  for (let i = p + MUNIN_GREETING.length; i < end - 1; i++) if (b[i]! < 0x21 || b[i]! > 0x7e) return 0;
  return MUNIN;
}

/**
 * Gearman (gearman.org, "Protocol", binary packets): the magic `\0REQ` or `\0RES`, a packet type of 1-43, the data's
 * size; the packet ends the segment or is followed by the next one.
 */
function gearmanPacket(b: Uint8Array, p: number, end: number): number {
  if (end - p < 12 || (b[p + 3] !== 0x51 && b[p + 3] !== 0x53)) return 0;
  const type = i32(b, p + 4);
  const size = i32(b, p + 8);
  if (type < 1 || type > 43 || size < 0 || size > end - p - 12) return 0;
  const next = p + 12 + size;
  return next === end || (b[next] === 0 && b[next + 1] === 0x52 && b[next + 2] === 0x45) ? GEARMAN : 0;
}

/**
 * Ceph's messenger banners (Ceph documentation, "Messenger v2" - `ceph v2` and LF, then the 2-byte length of the
 * banner's payload: its two 8-byte feature sets - and, for the older messenger, its banner `ceph v027`).
 */
const CEPH_V2 = ascii('ceph v2\n');
const CEPH_V1 = ascii('ceph v027');
function cephBanner(b: Uint8Array, p: number, end: number): number {
  if (has(b, p, end, CEPH_V2)) return end - p >= 10 && u16le(b, p + 8) === 16 ? CEPH : 0;
  return has(b, p, end, CEPH_V1) ? CEPH : 0;
}

/**
 * rsync's daemon protocol (rsync's csprotocol.txt): the greeting `@RSYNCD: <version>` (digits, an optional
 * `.<sub-version>`, then optionally the checksum names), or its replies `@RSYNCD: OK`, `EXIT`, `AUTHREQD <challenge>`,
 * a printable line ending the segment with LF.
 */
const RSYNCD = ascii('@RSYNCD: ');
function rsyncGreeting(b: Uint8Array, p: number, end: number): number {
  const q = p + RSYNCD.length;
  if (end - q < 2 || !has(b, p, end, RSYNCD) || b[end - 1] !== 0x0a) return 0;
  if (!isDigit(b[q]!) && b[q] !== 0x4f && b[q] !== 0x45 && b[q] !== 0x41) return 0;
  for (let i = q; i < end - 1; i++) if (b[i]! < 0x20 || b[i]! > 0x7e) return 0;
  return RSYNC;
}

/**
 * BFD control packets on their ports 3784 (RFC 5881) and 4784 (RFC 5883): version 1 (RFC 5880 §4.1), a diagnostic
 * of 0-8, the multipoint bit clear, a detection multiplier ≥ 1, a length of 24 (at least 26 with the
 * authentication bit) equal to the datagram, a non-zero My Discriminator, and Your Discriminator zero only in the
 * AdminDown or Down state (§6.8.6).
 */
function bfdControl(b: Uint8Array, p: number, end: number): number {
  if (end - p < 24 || (b[p]! >> 5) !== 1 || (b[p]! & 0x1f) > 8 || (b[p + 1]! & 0x01) !== 0 || b[p + 2] === 0) return 0;
  const len = b[p + 3]!;
  if (len !== end - p || ((b[p + 1]! & 0x04) !== 0 ? len < 26 : len !== 24) || i32(b, p + 4) === 0) return 0;
  return i32(b, p + 8) !== 0 || b[p + 1]! >> 6 <= 1 ? BFD : 0;
}

/**
 * PTP version 2 on its ports 319 and 320 (IEEE 1588-2008 §13.3, Annex D): a message type of §13.3.2.2 (Sync,
 * Delay_Req, Pdelay_Req, Pdelay_Resp: 0-3; Follow_Up, Delay_Resp, Pdelay_Resp_Follow_Up, Announce, Signaling,
 * Management: 8-13), versionPTP 2 (minorVersionPTP 0 or 1 of IEEE 1588-2019 in the high nibble), and a messageLength
 * within the datagram of at least the type's fixed size (44 for Sync, Delay_Req, Follow_Up and Signaling; 48 for
 * Management; 54 for Delay_Resp and the peer-delay messages; 64 for Announce).
 */
function ptpMessage(b: Uint8Array, p: number, end: number): number {
  if (end - p < 44 || (b[p + 1]! & 0x0f) !== 2 || b[p + 1]! >> 4 > 1) return 0;
  const t = b[p]! & 0x0f;
  const min = t === 0 || t === 1 || t === 8 || t === 12 ? 44 : t === 13 ? 48 : t === 2 || t === 3 || t === 9 || t === 10 ? 54 : t === 11 ? 64 : 0;
  const len = u16(b, p + 2);
  return min > 0 && len >= min && len <= end - p ? PTP : 0;
}

/**
 * The PROXY protocol (HAProxy's doc/proxy-protocol.txt) a proxy sends before the connection's own bytes: version 1,
 * a line `PROXY TCP4 ` / `PROXY TCP6 ` with the addresses and ports, or `PROXY UNKNOWN`, at most 107 bytes ending
 * with CR LF; version 2, the 12-byte signature, version 2 with the command LOCAL (0) or PROXY (1), a family and
 * transport of §2.2 (unspecified, TCP or UDP over IPv4, IPv6 or UNIX), and the length of the addresses within the
 * segment.
 */
const PROXY_TCP4 = ascii('PROXY TCP4 ');
const PROXY_TCP6 = ascii('PROXY TCP6 ');
const PROXY_UNKNOWN = ascii('PROXY UNKNOWN');
const PROXY_V2 = Uint8Array.of(0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a);
function proxyHeader(b: Uint8Array, p: number, end: number): number {
  if (has(b, p, end, PROXY_V2)) {
    const fam = b[p + 13]!;
    const famOk = fam === 0 || ((fam >> 4) >= 1 && (fam >> 4) <= 3 && (fam & 0x0f) >= 1 && (fam & 0x0f) <= 2);
    return end - p >= 16 && (b[p + 12] === 0x20 || b[p + 12] === 0x21) && famOk && 16 + u16(b, p + 14) <= end - p ? HAPROXY : 0;
  }
  if (!has(b, p, end, PROXY_TCP4) && !has(b, p, end, PROXY_TCP6) && !has(b, p, end, PROXY_UNKNOWN)) return 0;
  const eol = lineEnd(b, p, end, 108);
  return eol > 0 && eol + 2 - p <= 107 ? HAPROXY : 0;
}

/**
 * AFP over DSI on its port 548 (Apple, "AFP Reference" / Apple Filing Protocol Programming Guide, "Data Stream
 * Interface"): a 16-byte DSI header - flags 0 (request) or 1 (reply), a command (CloseSession 1, Command 2,
 * GetStatus 3, OpenSession 4, Tickle 5, Write 6, Attention 8), a request id, an error code or data offset, the total
 * data length (the rest of the segment, or more when the data run on), and 4 reserved zero bytes.
 */
function dsiHeader(b: Uint8Array, p: number, end: number): number {
  if (end - p < 16 || b[p]! > 1 || b[p + 1]! < 1 || b[p + 1]! > 8 || b[p + 1] === 7 || i32(b, p + 12) !== 0) return 0;
  const total = i32(b, p + 8);
  return total >= end - p - 16 && total <= 1 << 20 ? AFP : 0;
}

/**
 * Omron FINS over TCP (Omron W342, FINS/TCP header): `FINS`, the length of what follows it (the rest of the segment,
 * or more when a frame runs on), a command - node address data send to the server (0) or from it (1), FINS frame
 * send (2), its error notification (3), connection confirmation (6) - and an error code; the first commands carry
 * exactly their node addresses (length 12 for 0, 16 for 1).
 */
const FINS_MAGIC = ascii('FINS');
function finsTcp(b: Uint8Array, p: number, end: number): number {
  if (end - p < 16 || !has(b, p, end, FINS_MAGIC)) return 0;
  const len = i32(b, p + 4);
  const cmd = i32(b, p + 8);
  if (len < 8 || len < end - p - 8) return 0;
  if (cmd === 0) return len === 12 ? FINS : 0;
  if (cmd === 1) return len === 16 ? FINS : 0;
  return cmd === 2 || cmd === 3 || cmd === 6 ? FINS : 0;
}

/**
 * Omron FINS over UDP on its port 9600 (Omron W227, "FINS Commands Reference Manual", §"FINS Command and Response
 * Frames"): ICF with the gateway bit set and only the response and no-response bits besides (0x80, 0x81, 0xC0,
 * 0xC1), RSV 0, a gateway count GCT of 0-7, network addresses DNA and SNA of 0-127, then the command's MRC of the
 * manual's command list (memory, parameter and program areas, run mode, configuration, status, time, messages,
 * access rights, error log, file memory, debugging).
 */
function finsUdp(b: Uint8Array, p: number, end: number): number {
  const icf = b[p]!;
  if (end - p < 12 || (icf & 0xbe) !== 0x80 || b[p + 1] !== 0 || b[p + 2]! > 7 || b[p + 3]! > 127 || b[p + 6]! > 127) return 0;
  const mrc = b[p + 10]!;
  return (mrc >= 1 && mrc <= 7) || mrc === 9 || mrc === 0x0c || (mrc >= 0x21 && mrc <= 0x23) || mrc === 0x26 || mrc === 0x28 ? FINS : 0;
}

/**
 * SOME/IP (AUTOSAR, "SOME/IP Protocol Specification", PRS_SOMEIP §4.1.2): messages filling the datagram or segment
 * exactly, each a message id, a length (at least 8) counting the rest of the header and the payload, a request id,
 * protocol version 1, an interface version, a message type of the specification (request 0x00, request without
 * return 0x01, notification 0x02, response 0x80, error 0x81, each also with the TP flag 0x20), and a return code of
 * at most 0x5E (E_OK, 0x00, in a request or notification).
 */
function someipMessages(b: Uint8Array, p: number, end: number): number {
  let q = p;
  for (let k = 0; q < end && k < 16; k++) {
    if (end - q < 16 || b[q + 12] !== 1) return 0;
    const len = i32(b, q + 4);
    const t = b[q + 14]! & 0xdf;
    const rc = b[q + 15]!;
    if (len < 8 || len > end - q - 8 || !(t <= 2 || t === 0x80 || t === 0x81) || rc > 0x5e || (t <= 2 && rc !== 0)) return 0;
    q += 8 + len;
  }
  return q === end ? SOMEIP : 0;
}
