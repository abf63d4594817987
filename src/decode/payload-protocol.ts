/**
 * The application protocol of one packet's transport payload, recognised by the protocol's own rule for its first
 * bytes (its specification: RFCs and published protocol documents, cited at each signature), as a number: k + 1 for
 * PAYLOAD_PROTOCOLS[k], 0 when no rule matches. The engine asks for a flow's first payload packets each way until one
 * answers (flows/payload-protocols.ts, which also holds the two-packet rule of RTP).
 *
 * Precision before coverage: a model trusts the answer, so each rule checks what the protocol fixes (magic numbers,
 * versions, lengths that must add up, names spelt the protocol's way) and a rule too loose to be sure of (a single
 * byte, a free-form header) is left out or tied to the protocol's registered port. A packet that is the start of no
 * message (a later TCP segment, a fragment) is simply not recognised.
 *
 * Pure, never throws, allocates nothing (`end` is clamped to `buf.length`; each rule checks the message's length
 * before it reads its fields, and a typed-array read past the buffer gives undefined, which fails every test).
 */
import { PROTO_TCP, PROTO_UDP } from './transport.js';
import { isQuicInitialCandidate } from './quic-initial.js';

/**
 * The protocols, by id - 1. Fixed order, append only (ids are stored and read by models). Names as nDPI spells
 * them, so that its verdicts compare directly.
 */
export const PAYLOAD_PROTOCOLS: readonly string[] = [
  'TLS',
  'HTTP',
  'DNS',
  'QUIC',
  'SSH',
  'RTP',
  'RTCP',
  'STUN',
  'SIP',
  'BitTorrent',
  'WireGuard',
  'OpenVPN',
  'IPSec',
  'NTP',
  'SSDP',
  'DHCP',
  'NetBIOS',
  'SMBv1',
  'SMBv23',
  'RTSP',
  'RTMP',
  'Jabber',
  'MQTT',
  'FTP_CONTROL',
  'SMTP',
  'POP3',
  'IMAP',
  'RDP',
  'VNC',
  'DTLS',
  'MDNS',
  'LLMNR',
  'DHCPV6',
  'SNMP',
  'TFTP',
  'Syslog',
  'Kerberos',
  'Service_Location_Protocol',
  'NFS',
  'MsSQL-TDS',
  'RakNet',
  'Source_Engine',
  'BGP',
  'PPTP',
  'PostgreSQL',
  'MySQL',
  'MongoDB',
  'Git',
  'AMQP',
  'Radius',
  'Telnet',
  'BITCOIN',
  'MGCP',
  'TeamSpeak',
  'RSH',
  'TINC',
  'RMCP',
  'NAT-PMP',
  'WhatsApp',
  'IAX',
  'H323',
  'CiscoSkinny',
  'IRC',
  'Gnutella',
  'eDonkey',
  'XDMCP',
  'Discord',
  'Mumble',
  'TeamViewer',
  'NoMachine',
  'RESP',
  'Memcached',
  'Cassandra',
  'LDAP',
  'AJP',
  'Oracle',
  'DRDA',
  'Zabbix',
  'Nats',
  'Kafka',
  'Modbus',
  'DNP3',
  'IEC60870',
  'OPC-UA',
  'BACnet',
  'COAP',
  'EthernetIP',
  'KNXnet_IP',
  'Diameter',
  'NetFlow',
  'sFlow',
  'SOCKS',
  'Usenet',
  'SMPP',
  'DCERPC',
  'Whois-DAS',
  'Munin',
  'Gearman',
  'Ceph',
  'RSYNC',
  'BFD',
  'PTPv2',
  'HAProxy',
  'AFP',
  'FINS',
  'SOMEIP',
  'HSRP',
  'WSD',
  'Teredo',
  'CAPWAP',
  'LISP',
  'UBNTAC2',
  'TuyaLP',
  'TPLINK_SHP',
  'ZeroMQ',
  'collectd',
  'FastCGI',
  'BJNP',
  'JRMI',
  'Corba',
  'LDP',
  'TiVoConnect',
  'Z3950',
  'Dropbox',
  's7comm',
  'Syncthing',
  'RX',
  'Roughtime',
];

/** Each protocol's id (index + 1), by name. */
export const PayloadProtocol = Object.freeze(Object.fromEntries(PAYLOAD_PROTOCOLS.map((n, i) => [n, i + 1]))) as Readonly<Record<string, number>>;

const P = PayloadProtocol as Record<string, number>;
const TLS = P['TLS']!;
const HTTP = P['HTTP']!;
const DNS = P['DNS']!;
const QUIC = P['QUIC']!;
const SSH = P['SSH']!;
const RTCP = P['RTCP']!;
const STUN = P['STUN']!;
const SIP = P['SIP']!;
const BITTORRENT = P['BitTorrent']!;
const WIREGUARD = P['WireGuard']!;
const OPENVPN = P['OpenVPN']!;
const IPSEC = P['IPSec']!;
const NTP = P['NTP']!;
const SSDP = P['SSDP']!;
const DHCP = P['DHCP']!;
const NETBIOS = P['NetBIOS']!;
const SMB1 = P['SMBv1']!;
const SMB23 = P['SMBv23']!;
const RTSP = P['RTSP']!;
const RTMP = P['RTMP']!;
const JABBER = P['Jabber']!;
const MQTT = P['MQTT']!;
const FTP = P['FTP_CONTROL']!;
const SMTP = P['SMTP']!;
const POP3 = P['POP3']!;
const IMAP = P['IMAP']!;
const RDP = P['RDP']!;
const VNC = P['VNC']!;
const DTLS = P['DTLS']!;
const MDNS = P['MDNS']!;
const LLMNR = P['LLMNR']!;
const DHCPV6 = P['DHCPV6']!;
const SNMP = P['SNMP']!;
const TFTP = P['TFTP']!;
const SYSLOG = P['Syslog']!;
const KERBEROS = P['Kerberos']!;
const SLP = P['Service_Location_Protocol']!;
const NFS = P['NFS']!;
const TDS = P['MsSQL-TDS']!;
const RAKNET = P['RakNet']!;
const SOURCE = P['Source_Engine']!;
const BGP = P['BGP']!;
const PPTP = P['PPTP']!;
const POSTGRES = P['PostgreSQL']!;
const MYSQL = P['MySQL']!;
const MONGO = P['MongoDB']!;
const GIT = P['Git']!;
const AMQP = P['AMQP']!;
const RADIUS = P['Radius']!;
const TELNET = P['Telnet']!;
const BITCOIN = P['BITCOIN']!;
const MGCP = P['MGCP']!;
const TEAMSPEAK = P['TeamSpeak']!;
const RSH = P['RSH']!;
const TINC = P['TINC']!;
const RMCP = P['RMCP']!;
const NATPMP = P['NAT-PMP']!;
const WHATSAPP = P['WhatsApp']!;
const IAX = P['IAX']!;
const H323 = P['H323']!;
const SKINNY = P['CiscoSkinny']!;
const IRC = P['IRC']!;
const GNUTELLA = P['Gnutella']!;
const EDONKEY = P['eDonkey']!;
const XDMCP = P['XDMCP']!;
const DISCORD = P['Discord']!;
const MUMBLE = P['Mumble']!;
const TEAMVIEWER = P['TeamViewer']!;
const NOMACHINE = P['NoMachine']!;

/** RTP's id: decided across two packets by flows/payload-protocols.ts with `rtpHeader`. */
export const RTP_ID = P['RTP']!;

/** The name of protocol `id`, or null for 0 (none) and ids this build does not know. */
export function payloadProtocolName(id: number): string | null {
  return id >= 1 && id <= PAYLOAD_PROTOCOLS.length ? PAYLOAD_PROTOCOLS[id - 1]! : null;
}

const u16 = (b: Uint8Array, p: number): number => (b[p]! << 8) | b[p + 1]!;
// 32-bit fields are read as signed int32 (values above 2^31 are negative): an int32 is a small integer to V8, where an
// unsigned value above 2^31 is a heap number, allocated whenever the read is not inlined. Compare accordingly.
const i32 = (b: Uint8Array, p: number): number => (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
const i32le = (b: Uint8Array, p: number): number => b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24);
const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const port = (a: number, b: number, p: number): boolean => a === p || b === p;

/** Does `buf[p ..)` begin with `lit` (all of it before `end`)? */
function has(buf: Uint8Array, p: number, end: number, lit: Uint8Array): boolean {
  if (end - p < lit.length) return false;
  for (let k = 0; k < lit.length; k++) if (buf[p + k] !== lit[k]) return false;
  return true;
}

/** The same, ASCII letters compared without case (`lit` in upper case). */
function hasNoCase(buf: Uint8Array, p: number, end: number, lit: Uint8Array): boolean {
  if (end - p < lit.length) return false;
  for (let k = 0; k < lit.length; k++) {
    const c = buf[p + k]!;
    if ((c >= 0x61 && c <= 0x7a ? c - 0x20 : c) !== lit[k]) return false;
  }
  return true;
}

/** Where `lit` first occurs in `buf[p .. min(end, p + within))`, or -1. */
function find(buf: Uint8Array, p: number, end: number, within: number, lit: Uint8Array): number {
  const last = Math.min(end, p + within) - lit.length;
  for (let i = p; i <= last; i++) if (buf[i] === lit[0] && has(buf, i, end, lit)) return i;
  return -1;
}

/**
 * The protocol of the payload `buf[start .. end)` of a packet of IP protocol `proto` from port `srcPort` to
 * `dstPort`, or 0. RTP is not among the answers: one RTP header is too weak a sign (rtpHeader).
 */
export function matchPayload(buf: Uint8Array, start: number, end: number, proto: number, srcPort: number, dstPort: number): number {
  if (end > buf.length) end = buf.length;
  if (start < 0 || end - start < 1) return 0;
  if (proto === PROTO_TCP) return matchTcp(buf, start, end, srcPort, dstPort);
  if (proto === PROTO_UDP) return matchUdp(buf, start, end, srcPort, dstPort);
  return 0;
}

// ---------------------------------------------------------------------------------------------------------------
// TCP

function matchTcp(b: Uint8Array, p: number, end: number, sp: number, dp: number): number {
  const b0 = b[p]!;
  let r = 0;
  if (b0 >= 0x14 && b0 <= 0x17) r = tlsRecords(b, p, end);
  else if (b0 >= 0x41 && b0 <= 0x5a) r = textStart(b, p, end, false, sp, dp);
  else if (b0 === 0x00) r = smbOverTcp(b, p, end);
  else if (b0 === 0x13) r = bittorrentHandshake(b, p, end);
  else if (b0 === 0x03) r = tpktRdp(b, p, end) || rtmpHandshake(b, p, end, sp, dp);
  else if (b0 === 0x3c) r = xmppStream(b, p, end);
  else if (b0 === 0x10) r = mqttConnect(b, p, end);
  else if (b0 === 0x32) r = numericReply(b, p, end, sp);
  else if (b0 === 0x2b || b0 === 0x2a) r = popImapGreeting(b, p, end);
  else if (b0 === 0xff) r = bgpMessage(b, p, end) || telnetOptions(b, p, end);
  else if (b0 === 0x12) r = tdsPrelogin(b, p, end);
  else if (b0 === 0x81) r = netbiosSessionRequest(b, p, end);
  if (r !== 0) return r;
  // Protocols whose first bytes are a length or a magic number that may be any byte.
  if (port(sp, dp, 53) || port(sp, dp, 5353)) r = dnsOverTcp(b, p, end, sp, dp);
  if (r === 0) r = openvpnTcp(b, p, end);
  if (r === 0) r = stunMessage(b, p, end, true);
  if (r === 0) r = pptpControl(b, p, end);
  if (r === 0) r = mongoMessage(b, p, end);
  if (r === 0) r = postgresStartup(b, p, end);
  if (r === 0) r = bitcoinMessage(b, p, end);
  if (r === 0) r = mysqlGreeting(b, p, end);
  if (r === 0) r = gitRequest(b, p, end);
  if (r === 0 && b0 === 0x41) r = amqpHeader(b, p, end);
  if (r === 0 && port(sp, dp, 88) && end - p >= 12) r = kerberos(b, p + 4, end, i32(b, p) === end - p - 4);
  if (r === 0 && end - p >= 4 && (b[p]! & 0x80) !== 0 && (i32(b, p) & 0x7fffffff) === end - p - 4) r = oncRpcCall(b, p + 4, end);
  if (r === 0 && port(sp, dp, 427)) r = slpMessage(b, p, end);
  if (r === 0 && port(sp, dp, 1433)) r = tdsPacket(b, p, end);
  if (r === 0 && dp === 514) r = rshRequest(b, p, end);
  if (r === 0 && b0 === 0x30) r = tincId(b, p, end);
  if (r === 0 && (b0 === 0x45 || b0 === 0x57)) r = whatsappHandshake(b, p, end, sp, dp);
  if (r === 0 && b0 === 0x03) r = h225Signalling(b, p, end);
  if (r === 0 && port(sp, dp, 2000)) r = skinnyMessages(b, p, end);
  if (r === 0 && (ircPort(sp) || ircPort(dp))) r = ircRegistration(b, p, end);
  if (r === 0 && b0 === 0x47) r = gnutellaHandshake(b, p, end);
  if (r === 0 && (b0 === 0xe3 || b0 === 0xc5)) r = edonkeyMessages(b, p, end);
  if (r === 0 && b0 === 0x6c && dp >= 6000 && dp <= 6005) r = x11Setup(b, p, end);
  if (r === 0 && b0 === 0x17 && port(sp, dp, 5938)) r = teamviewerTcp(b, p, end);
  if (r === 0 && b0 === 0x4e) r = nomachineHello(b, p, end);
  if (r === 0) r = servicesTcp(b, p, end, sp, dp);
  if (r === 0) r = infraTcp(b, p, end, sp, dp);
  return r;
}

/**
 * TLS (RFC 8446 §5.1, RFC 5246 §6.2.1): records of type 20-23 (change_cipher_spec, alert, handshake,
 * application_data), legacy version 3.0-3.4, length at most 2^14 + 2048. A handshake record opening with a
 * ClientHello or ServerHello (§4.1.2-3) must carry a legacy_version 3.x after its 4-byte header; any other record
 * sequence must be whole records to the segment's end, or whole records and then a record whose header is valid.
 */
function tlsRecords(b: Uint8Array, p: number, end: number): number {
  if (end - p < 5 || !tlsRecordHeader(b, p)) return 0;
  if (b[p] === 0x16 && end - p >= 11 && (b[p + 5] === 1 || b[p + 5] === 2)) {
    return b[p + 9] === 3 && b[p + 10]! <= 4 && (b[p + 6]! << 16 | u16(b, p + 7)) >= 38 ? TLS : 0;
  }
  // Other records (a connection met mid-stream, or after its handshake): at least one whole record first.
  let q = p;
  let whole = 0;
  while (end - q >= 5 && tlsRecordHeader(b, q)) {
    const next = q + 5 + u16(b, q + 3);
    if (next > end) return whole > 0 ? TLS : 0;
    whole++;
    q = next;
  }
  return q === end && whole > 0 ? TLS : 0;
}

function tlsRecordHeader(b: Uint8Array, q: number): boolean {
  const t = b[q]!;
  const len = u16(b, q + 3);
  return t >= 0x14 && t <= 0x17 && b[q + 1] === 3 && b[q + 2]! <= 4 && len > 0 && len <= 16384 + 2048;
}

/**
 * DTLS (RFC 6347 §4.1, RFC 9147 §4): a record of type 20-23, version 0xfeff (1.0) or 0xfefd (1.2, also 1.3's
 * legacy record version), 2-byte epoch, 6-byte sequence number, 2-byte length; the record fits the datagram and the
 * datagram is whole records.
 */
function dtlsRecords(b: Uint8Array, p: number, end: number): number {
  let q = p;
  while (end - q >= 13) {
    const t = b[q]!;
    if (t < 0x14 || t > 0x17 || b[q + 1] !== 0xfe || (b[q + 2] !== 0xff && b[q + 2] !== 0xfd)) return 0;
    const len = u16(b, q + 11);
    if (len === 0 || q + 13 + len > end) return 0;
    q += 13 + len;
  }
  return q === end ? DTLS : 0;
}

const METHODS_HTTP = ['GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'CONNECT', 'PATCH', 'TRACE'].map(ascii);
const METHODS_SSDP = ['M-SEARCH', 'NOTIFY'].map(ascii);
const METHODS_SIP = ['INVITE', 'ACK', 'BYE', 'CANCEL', 'REGISTER', 'OPTIONS', 'PRACK', 'SUBSCRIBE', 'NOTIFY', 'PUBLISH', 'INFO', 'REFER', 'MESSAGE', 'UPDATE'].map(ascii);
const METHODS_RTSP = ['DESCRIBE', 'ANNOUNCE', 'GET_PARAMETER', 'OPTIONS', 'PAUSE', 'PLAY', 'PLAY_NOTIFY', 'RECORD', 'REDIRECT', 'SETUP', 'SET_PARAMETER', 'TEARDOWN'].map(ascii);
const V_HTTP10 = ascii('HTTP/1.0');
const V_HTTP11 = ascii('HTTP/1.1');
const V_SIP = ascii('SIP/2.0');
const V_RTSP10 = ascii('RTSP/1.0');
const V_RTSP20 = ascii('RTSP/2.0');
const SSH_ = ascii('SSH-');
const RFB_ = ascii('RFB ');
const EHLO = ascii('EHLO ');
const HELO = ascii('HELO ');
const MGCP_VERBS = ['EPCF', 'CRCX', 'MDCX', 'DLCX', 'RQNT', 'NTFY', 'AUEP', 'AUCX', 'RSIP'].map(ascii);
const V_MGCP = ascii('MGCP ');
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;

/** One of `list` at `p`, followed by a space: the position after the space, or -1. */
function methodOf(b: Uint8Array, p: number, end: number, list: readonly Uint8Array[]): number {
  for (let i = 0; i < list.length; i++) {
    const m = list[i]!;
    if (has(b, p, end, m) && b[p + m.length] === 0x20) return p + m.length + 1;
  }
  return -1;
}

/** The end of the line starting at `p` (the index of its CR, followed by LF), or -1 when none within `within`. */
function lineEnd(b: Uint8Array, p: number, end: number, within: number): number {
  const last = Math.min(end - 1, p + within);
  for (let i = p; i < last; i++) {
    const c = b[i]!;
    if (c === 0x0d) return b[i + 1] === 0x0a ? i : -1;
    if (c < 0x20 || c > 0x7e) return -1;
  }
  return -1;
}

/**
 * A payload starting with a text line in upper-case letters: an HTTP/1.x (RFC 9112 §3, §4), SIP (RFC 3261 §7.1-2)
 * or RTSP (RFC 2326 §6, §7; RFC 7826) request line `METHOD SP target SP VERSION CRLF` with one of the protocol's
 * methods, or a status line `VERSION SP 3DIGIT SP`; SSDP (UPnP Device Architecture 2.0 §1.3) is HTTP over UDP;
 * SSH's identification string (RFC 4253 §4.2), SMTP's EHLO/HELO (RFC 5321 §4.1.1.1), MGCP commands (RFC 3435
 * §3.2.1), and RFB's ProtocolVersion (RFC 6143 §7.1.1).
 */
function textStart(b: Uint8Array, p: number, end: number, udp: boolean, sp: number, dp: number): number {
  if (has(b, p, end, SSH_)) return !udp && sshIdent(b, p, end) ? SSH : 0;
  if (has(b, p, end, RFB_)) return !udp && rfbVersion(b, p, end) ? VNC : 0;
  const eol = lineEnd(b, p, end, 2048);
  if (eol < 0) return 0;
  if (statusLine(b, p, eol, V_HTTP11) || statusLine(b, p, eol, V_HTTP10)) return udp ? (port(sp, dp, 1900) ? SSDP : 0) : HTTP;
  if (statusLine(b, p, eol, V_SIP)) return SIP;
  if (statusLine(b, p, eol, V_RTSP10) || statusLine(b, p, eol, V_RTSP20)) return udp ? 0 : RTSP;
  if (!udp && (has(b, p, eol, EHLO) || has(b, p, eol, HELO))) return eol - p > 5 ? SMTP : 0;
  // MGCP's version has a space of its own: `... SP MGCP 1.0` (or the 0.1 of its drafts, RFC 2705 §3.2.1's syntax).
  if (udp && eol - p > 10 && b[eol - 9] === 0x20 && has(b, eol - 8, eol, V_MGCP) && isDigit(b[eol - 3]!) && b[eol - 2] === 0x2e && isDigit(b[eol - 1]!)) {
    return mgcpCommand(b, p, eol - 9) ? MGCP : 0;
  }
  // Request lines: METHOD SP target SP VERSION CRLF.
  let sp1 = p;
  while (sp1 < eol && b[sp1] !== 0x20) sp1++;
  let sp2 = eol;
  while (sp2 > sp1 && b[sp2] !== 0x20) sp2--;
  if (sp1 >= eol || sp2 <= sp1 + 1) return 0;
  const target = sp1 + 1;
  const v = sp2 + 1;
  if (isVersion(b, v, eol, V_HTTP11) || isVersion(b, v, eol, V_HTTP10)) {
    if (udp) return methodOf(b, p, eol, METHODS_SSDP) === target && b[target] === 0x2a && sp2 === target + 1 ? SSDP : 0;
    return methodOf(b, p, eol, METHODS_HTTP) === target ? HTTP : 0;
  }
  if (isVersion(b, v, eol, V_SIP)) return methodOf(b, p, eol, METHODS_SIP) === target ? SIP : 0;
  if (!udp && (isVersion(b, v, eol, V_RTSP10) || isVersion(b, v, eol, V_RTSP20))) return methodOf(b, p, eol, METHODS_RTSP) === target ? RTSP : 0;
  return 0;
}

/** Is the line's rest `buf[v .. eol)` exactly the version `ver`? */
function isVersion(b: Uint8Array, v: number, eol: number, ver: Uint8Array): boolean {
  return v + ver.length === eol && has(b, v, eol, ver);
}

/** A status line of version `ver` at `p`: `VERSION SP 3DIGIT`, then SP and a reason or the line's end. */
function statusLine(b: Uint8Array, p: number, eol: number, ver: Uint8Array): boolean {
  if (!has(b, p, eol, ver) || b[p + ver.length] !== 0x20) return false;
  const d = p + ver.length + 1;
  if (d + 3 > eol) return false;
  for (let k = 0; k < 3; k++) if (b[d + k]! < 0x30 || b[d + k]! > 0x39) return false;
  return d + 3 === eol || b[d + 3] === 0x20;
}

/** MGCP (RFC 3435 §3.2.1): `VERB SP transaction-id SP endpoint SP MGCP 1.0`, the transaction id 1 to 9 digits, an endpoint. */
function mgcpCommand(b: Uint8Array, p: number, sp2: number): boolean {
  const t = methodOf(b, p, sp2, MGCP_VERBS);
  if (t < 0) return false;
  let q = t;
  while (q < sp2 && b[q]! >= 0x30 && b[q]! <= 0x39) q++;
  return q > t && q - t <= 9 && b[q] === 0x20 && q + 1 < sp2;
}

/** SSH (RFC 4253 §4.2): `SSH-protoversion-softwareversion`, protoversion 2.0, 1.99 or 1.x, printable, CR LF or LF. */
function sshIdent(b: Uint8Array, p: number, end: number): boolean {
  const v = p + 4;
  if (end - v < 4) return false;
  const two = b[v] === 0x32 && b[v + 1] === 0x2e && b[v + 2] === 0x30 && b[v + 3] === 0x2d;
  const one = b[v] === 0x31 && b[v + 1] === 0x2e && b[v + 2]! >= 0x30 && b[v + 2]! <= 0x39;
  if (!two && !one) return false;
  // The line ends within its 255 bytes, in printable ASCII.
  const last = Math.min(end, p + 255);
  for (let i = v; i < last; i++) {
    const c = b[i]!;
    if (c === 0x0a || (c === 0x0d && (i + 1 === end || b[i + 1] === 0x0a))) return i > v + 4;
    if (c < 0x20 || c > 0x7e) return false;
  }
  return false;
}

/** RFB (RFC 6143 §7.1.1): exactly 12 bytes, `RFB xxx.yyy\n`, xxx and yyy three digits. */
function rfbVersion(b: Uint8Array, p: number, end: number): boolean {
  if (end - p !== 12 || b[p + 7] !== 0x2e || b[p + 11] !== 0x0a) return false;
  for (let k = 4; k <= 10; k++) if (k !== 7 && (b[p + k]! < 0x30 || b[p + k]! > 0x39)) return false;
  return true;
}

/**
 * SMB over TCP (MS-SMB2 §2.1; RFC 1002 §4.3.6 on port 139, whose session message header is the same with flags 0):
 * a zero byte and a 24-bit length of at least a header, then the SMB header `\xffSMB` (SMB1, MS-CIFS §2.2.3.1),
 * `\xfeSMB` (SMB2/3, MS-SMB2 §2.2.1) or `\xfdSMB` (SMB3 transform header, §2.2.41).
 */
function smbOverTcp(b: Uint8Array, p: number, end: number): number {
  if (end - p < 8 || b[p + 5] !== 0x53 || b[p + 6] !== 0x4d || b[p + 7] !== 0x42 || ((b[p + 1]! << 16) | u16(b, p + 2)) < 32) return 0;
  const m = b[p + 4]!;
  return m === 0xff ? SMB1 : m === 0xfe || m === 0xfd ? SMB23 : 0;
}

/** NetBIOS session request (RFC 1002 §4.3.2): type 0x81, flags 0, length, then two encoded names (§4.1). */
function netbiosSessionRequest(b: Uint8Array, p: number, end: number): number {
  if (end - p < 4 + 68 || b[p + 1] !== 0 || u16(b, p + 2) !== end - p - 4) return 0;
  return netbiosName(b, p + 4, end) === p + 4 + 34 && netbiosName(b, p + 4 + 34, end) > 0 ? NETBIOS : 0;
}

/**
 * A NetBIOS name in the first-level encoding of RFC 1001 §14.1 (RFC 1002 §4.1): length 32, 32 bytes 'A'..'P' (each
 * half-byte of the 16-byte name + 'A'), then the scope's labels and a zero. The position after it, or -1.
 */
function netbiosName(b: Uint8Array, q: number, end: number): number {
  if (end - q < 34 || b[q] !== 0x20) return -1;
  for (let k = 1; k <= 32; k++) if (b[q + k]! < 0x41 || b[q + k]! > 0x50) return -1;
  q += 33;
  for (let labels = 0; labels < 64 && q < end; labels++) {
    const n = b[q]!;
    if (n === 0) return q + 1;
    if (n > 63) return -1;
    q += 1 + n;
  }
  return -1;
}

/** BitTorrent's handshake (BEP 3): the byte 19 and `BitTorrent protocol`, 8 reserved bytes, the 20-byte info hash. */
const BT_PROTOCOL = ascii('\x13BitTorrent protocol');
function bittorrentHandshake(b: Uint8Array, p: number, end: number): number {
  return end - p >= 48 && has(b, p, end, BT_PROTOCOL) ? BITTORRENT : 0;
}

/**
 * RDP's connection request and confirm (MS-RDPBCGR §2.2.1.1, §2.2.1.2): TPKT (RFC 1006 §6: version 3, reserved
 * 0, length = the whole packet) around an X.224 Connection Request (code 0xE0) or Confirm (0xD0) TPDU (X.224
 * §13.3, length indicator = the header's length), whose variable part is RDP's: a `Cookie: mstshash=` line, or an
 * RDP_NEG_REQ / RDP_NEG_RSP / RDP_NEG_FAILURE (type 1, 2 or 3, length 8) ending the packet. Other users of TPKT and
 * X.224 (H.323, ISO-on-TCP, S7) carry neither.
 */
const MSTSHASH = ascii('Cookie: mstshash=');
function tpktRdp(b: Uint8Array, p: number, end: number): number {
  if (end - p < 11 || b[p + 1] !== 0 || u16(b, p + 2) !== end - p) return 0;
  const li = b[p + 4]!;
  const code = b[p + 5]! & 0xf0;
  if ((code !== 0xe0 && code !== 0xd0) || li !== end - p - 5 || (code === 0xe0 && u16(b, p + 6) !== 0)) return 0;
  const v = p + 11;
  if (code === 0xe0 && has(b, v, end, MSTSHASH)) return RDP;
  const neg = end - 8;
  if (neg < v) return 0;
  const t = b[neg]!;
  return ((code === 0xe0 && t === 1) || (code === 0xd0 && (t === 2 || t === 3))) && b[neg + 2] === 8 && b[neg + 3] === 0 ? RDP : 0;
}

/**
 * RTMP's handshake (Adobe RTMP specification 1.0, §5.2.2-4): C0 (version 3) and C1 (1,536 bytes) sent together,
 * exactly 1,537 bytes, or the server's S0+S1+S2, 3,073 bytes; on RTMP's port 1935, the first segment of C0+C1
 * when the path's MSS cut it (1,024 bytes or more).
 */
function rtmpHandshake(b: Uint8Array, p: number, end: number, sp: number, dp: number): number {
  const n = end - p;
  return n === 1537 || n === 3073 || (port(sp, dp, 1935) && n >= 1024 && n < 1537) ? RTMP : 0;
}

/**
 * AMQP's protocol header (AMQP 0-9-1 §4.2.2; AMQP 1.0 §2.2, §5.1, §5.2): the 8 bytes `AMQP`, then 0 0 9 1 (or
 * 1 1 0 9 of 0-9), or protocol id 0, 2 (TLS) or 3 (SASL) with version 1.0.0.
 */
const AMQP_ = ascii('AMQP');
function amqpHeader(b: Uint8Array, p: number, end: number): number {
  if (end - p !== 8 || !has(b, p, end, AMQP_)) return 0;
  const a = b[p + 4]!;
  const v = i32(b, p + 4);
  return v === 0x00000901 || v === 0x01010009 || ((a === 0 || a === 2 || a === 3) && (v & 0xffffff) === 0x010000) ? AMQP : 0;
}

/**
 * Git's transport (Git documentation, gitprotocol-pack "Git Transport" and gitprotocol-common "pkt-line"): the
 * client's first pkt-line, a length of 4 hex digits counting itself and equal to the segment, then
 * `git-upload-pack `, `git-receive-pack ` or `git-upload-archive ` and the path.
 */
const GIT_SERVICES = ['git-upload-pack ', 'git-receive-pack ', 'git-upload-archive '].map(ascii);
function gitRequest(b: Uint8Array, p: number, end: number): number {
  if (end - p < 20) return 0;
  let len = 0;
  for (let k = 0; k < 4; k++) {
    const c = b[p + k]!;
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
    if (d < 0) return 0;
    len = len * 16 + d;
  }
  if (len !== end - p) return 0;
  for (let i = 0; i < GIT_SERVICES.length; i++) if (has(b, p + 4, end, GIT_SERVICES[i]!)) return GIT;
  return 0;
}

/** XMPP (RFC 6120 §4.2, §4.8.5): an XML stream header, `<stream:stream` after an optional `<?xml ...?>` declaration. */
const STREAM = ascii('<stream:stream');
const XMLDECL = ascii('<?xml');
function xmppStream(b: Uint8Array, p: number, end: number): number {
  if (has(b, p, end, STREAM)) return JABBER;
  return has(b, p, end, XMLDECL) && find(b, p, end, 256, STREAM) > 0 ? JABBER : 0;
}

/**
 * MQTT CONNECT (MQTT 3.1.1 §3.1, 5.0 §3.1): packet type 1, flags 0, a Remaining Length (1-4 bytes, base 128) equal
 * to the rest of the segment, then the protocol name `MQTT` (level 4 or 5) or, in 3.1, `MQIsdp` (level 3).
 */
const MQTT_NAME = ascii('\x00\x04MQTT');
const MQISDP_NAME = ascii('\x00\x06MQIsdp');
function mqttConnect(b: Uint8Array, p: number, end: number): number {
  let q = p + 1;
  let len = 0;
  for (let k = 0, mul = 1; ; k++, mul *= 128) {
    if (k === 4 || q >= end) return 0;
    const c = b[q++]!;
    len += (c & 0x7f) * mul;
    if ((c & 0x80) === 0) break;
  }
  if (len !== end - q) return 0;
  if (has(b, q, end, MQTT_NAME)) return b[q + 6] === 4 || b[q + 6] === 5 ? MQTT : 0;
  if (has(b, q, end, MQISDP_NAME)) return b[q + 8] === 3 ? MQTT : 0;
  return 0;
}

/**
 * Server greetings that are a reply code: `220` opening an FTP (RFC 959 §4.2, §5.4) or SMTP (RFC 5321 §4.2,
 * §3.1) session, told apart by the greeting naming its protocol (`FTP`, `SMTP`) or else by the registered port
 * (21; 25, 587); a whole text line.
 */
const FTP_WORD = ascii('FTP');
const SMTP_WORD = ascii('SMTP');
function numericReply(b: Uint8Array, p: number, end: number, sp: number): number {
  if (end - p < 6 || b[p] !== 0x32 || b[p + 1] !== 0x32 || b[p + 2] !== 0x30 || (b[p + 3] !== 0x20 && b[p + 3] !== 0x2d)) return 0;
  const eol = lineEnd(b, p, end, 1024);
  if (eol < 0) return 0;
  if (findNoCase(b, p + 4, eol, SMTP_WORD)) return SMTP;
  if (findNoCase(b, p + 4, eol, FTP_WORD)) return FTP;
  if (sp === 21) return FTP;
  if (sp === 25 || sp === 587) return SMTP;
  return 0;
}

function findNoCase(b: Uint8Array, p: number, end: number, lit: Uint8Array): boolean {
  for (let i = p; i + lit.length <= end; i++) if (hasNoCase(b, i, end, lit)) return true;
  return false;
}

/** POP3's greeting `+OK` (RFC 1939 §4) and IMAP's `* OK` / `* PREAUTH` (RFC 9051 §7.1), whole lines, from the server. */
const POP_OK = ascii('+OK');
const IMAP_OK = ascii('* OK');
const IMAP_PREAUTH = ascii('* PREAUTH');
function popImapGreeting(b: Uint8Array, p: number, end: number): number {
  const eol = lineEnd(b, p, end, 1024);
  if (eol < 0) return 0;
  if (has(b, p, eol, POP_OK) && (eol === p + 3 || b[p + 3] === 0x20)) return eol === end - 2 ? POP3 : 0;
  if ((has(b, p, eol, IMAP_OK) && (eol === p + 4 || b[p + 4] === 0x20)) || has(b, p, eol, IMAP_PREAUTH)) return IMAP;
  return 0;
}

/** BGP (RFC 4271 §4.1): a marker of 16 0xff bytes, a length 19-4096 within the segment, type 1-5 (RFC 2918: 5). */
function bgpMessage(b: Uint8Array, p: number, end: number): number {
  if (end - p < 19) return 0;
  for (let k = 0; k < 16; k++) if (b[p + k] !== 0xff) return 0;
  const len = u16(b, p + 16);
  const t = b[p + 18]!;
  return len >= 19 && len <= 4096 && len <= end - p && t >= 1 && t <= 5 ? BGP : 0;
}

/**
 * Telnet (RFC 854, RFC 855): a segment made only of option negotiations, IAC (0xff) followed by WILL, WONT, DO or
 * DONT (251-254) and an option, at least two of them.
 */
function telnetOptions(b: Uint8Array, p: number, end: number): number {
  const n = end - p;
  if (n < 6 || n % 3 !== 0) return 0;
  for (let q = p; q < end; q += 3) if (b[q] !== 0xff || b[q + 1]! < 251 || b[q + 1] === 255) return 0;
  return TELNET;
}

/**
 * TDS PRELOGIN (MS-TDS §2.2.3.1, §2.2.6.5): packet type 0x12, status EOM (0x01), a length equal to the segment,
 * then option tokens (type, 2-byte offset, 2-byte length) ending with 0xff, the first being VERSION (0), every
 * option's data inside the packet.
 */
function tdsPrelogin(b: Uint8Array, p: number, end: number): number {
  if (end - p < 8 + 6 || b[p + 1] !== 1 || u16(b, p + 2) !== end - p || b[p + 8] !== 0) return 0;
  const body = p + 8;
  const n = end - body;
  for (let q = body, k = 0; q < end && k < 16; q += 5, k++) {
    if (b[q] === 0xff) return k > 0 ? TDS : 0;
    if (q + 5 > end) return 0;
    const off = u16(b, q + 1);
    const len = u16(b, q + 3);
    if (off + len > n) return 0;
  }
  return 0;
}

/**
 * Any TDS packet on SQL Server's port 1433 (MS-TDS §2.2.3.1), for a connection met after its PRELOGIN: a type of
 * §2.2.3.1.1 (SQL batch 1, pre-TDS7 login 2, RPC 3, tabular result 4, attention 6, bulk load 7, federated
 * authentication token 8, transaction manager 14, login 16, SSPI 17, prelogin 18), status bits of §2.2.3.1.2 only,
 * window 0, and a length of more than the header and at most 32,768 (the largest packet size, §2.2.6.4) that fills
 * the segment, runs past it (the packet continues in the next one) or is followed by another packet of that type.
 */
function tdsPacket(b: Uint8Array, p: number, end: number): number {
  if (!tdsHeader(b, p, end)) return 0;
  const next = p + u16(b, p + 2);
  return next >= end || (tdsHeader(b, next, end) && b[next] === b[p]) ? TDS : 0;
}

function tdsHeader(b: Uint8Array, q: number, end: number): boolean {
  if (end - q < 8) return false;
  const t = b[q]!;
  const len = u16(b, q + 2);
  const typed = (t >= 1 && t <= 4) || (t >= 6 && t <= 8) || t === 14 || t === 16 || t === 17 || t === 18;
  return typed && (b[q + 1]! & 0xe4) === 0 && len > 8 && len <= 32768 && b[q + 7] === 0;
}

/**
 * rsh (rshd(8), the BSD remote shell; port 514): the client's first bytes are the port for standard error in ASCII
 * decimal (up to 5 digits) and a zero byte, then optionally the client user, server user and command, each printable
 * and ending in a zero byte, filling the segment.
 */
function rshRequest(b: Uint8Array, p: number, end: number): number {
  let q = p;
  while (q < end && q < p + 5 && isDigit(b[q]!)) q++;
  if (q === p || b[q] !== 0) return 0;
  q++;
  if (q === end) return RSH;
  for (let k = 0; k < 3; k++) {
    const s = q;
    while (q < end && b[q] !== 0) {
      if (b[q]! < 0x20 || b[q]! > 0x7e) return 0;
      q++;
    }
    if (q >= end || (q === s && k < 2)) return 0;
    q++;
  }
  return q === end ? RSH : 0;
}

/**
 * tinc's meta protocol (tinc manual, "The meta-protocol"): the first line is an ID request, `0 name version`, the
 * name of letters, digits and underscores, the protocol version a number with an optional `.minor`, ending in LF.
 */
function tincId(b: Uint8Array, p: number, end: number): number {
  if (end - p < 6 || b[p + 1] !== 0x20 || b[end - 1] !== 0x0a) return 0;
  let q = p + 2;
  while (q < end && (isDigit(b[q]!) || (b[q]! | 0x20) >= 0x61 && (b[q]! | 0x20) <= 0x7a || b[q] === 0x5f)) q++;
  if (q === p + 2 || b[q] !== 0x20) return 0;
  const v = ++q;
  while (q < end && isDigit(b[q]!)) q++;
  if (q === v) return 0;
  if (b[q] === 0x2e) {
    const m = ++q;
    while (q < end && isDigit(b[q]!)) q++;
    if (q === m) return 0;
  }
  return q === end - 1 ? TINC : 0;
}

/**
 * MySQL's initial handshake (MySQL client/server protocol, Protocol::Handshake v10): a packet header (3-byte
 * little-endian length = the rest of the segment, sequence 0), protocol version 10, a printable server version
 * ending in a zero byte.
 */
function mysqlGreeting(b: Uint8Array, p: number, end: number): number {
  if (end - p < 4 + 1 + 2 + 4 + 9) return 0;
  const len = b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16);
  if (len !== end - p - 4 || b[p + 3] !== 0 || b[p + 4] !== 10) return 0;
  let q = p + 5;
  const last = Math.min(end, q + 64);
  for (; q < last; q++) {
    const c = b[q]!;
    if (c === 0) break;
    if (c < 0x20 || c > 0x7e) return 0;
  }
  return q < last && q > p + 6 && b[p + 5]! >= 0x30 && b[p + 5]! <= 0x39 ? MYSQL : 0;
}

/** A POP3/IMAP/SMTP/FTP client never starts so; kept for DNS over TCP (RFC 1035 §4.2.2): a 2-byte length first. */
function dnsOverTcp(b: Uint8Array, p: number, end: number, sp: number, dp: number): number {
  if (end - p < 2 + 12 || u16(b, p) !== end - p - 2) return 0;
  return dnsMessage(b, p + 2, end, sp, dp);
}

/**
 * OpenVPN over TCP (OpenVPN's network protocol, ssl.h / "OpenVPN protocol" in its source documentation): each
 * packet behind a 2-byte length; the first one a P_CONTROL_HARD_RESET_CLIENT_V2/V3 (see openvpnReset).
 */
function openvpnTcp(b: Uint8Array, p: number, end: number): number {
  if (end - p < 16 || u16(b, p) !== end - p - 2) return 0;
  return openvpnReset(b, p + 2, end);
}

/**
 * PPTP (RFC 2637 §2.1): a control message's length equal to the segment, message type 1 (control) and the magic
 * cookie 0x1A2B3C4D, control message type 1-15.
 */
function pptpControl(b: Uint8Array, p: number, end: number): number {
  if (end - p < 16 || u16(b, p) !== end - p || u16(b, p + 2) !== 1 || i32(b, p + 4) !== 0x1a2b3c4d) return 0;
  const t = u16(b, p + 8);
  return t >= 1 && t <= 15 ? PPTP : 0;
}

/**
 * MongoDB's wire protocol (MongoDB manual, "Wire Protocol"): a little-endian header, messageLength = the segment,
 * requestID, responseTo (0 for a client's request), opCode OP_MSG (2013), OP_QUERY (2004) or OP_COMPRESSED (2012).
 */
function mongoMessage(b: Uint8Array, p: number, end: number): number {
  if (end - p < 21 || i32le(b, p) !== end - p || i32le(b, p + 8) !== 0) return 0;
  const op = i32le(b, p + 12);
  return op === 2013 || op === 2004 || op === 2012 ? MONGO : 0;
}

/**
 * PostgreSQL (frontend/backend protocol 3.0, "Message Formats"): a StartupMessage (length = the segment, protocol
 * 196608 = 3.0, then a `user` parameter among name/value strings) or an SSLRequest / GSSENCRequest (length 8, code
 * 80877103 / 80877104).
 */
const PG_USER = ascii('user\x00');
function postgresStartup(b: Uint8Array, p: number, end: number): number {
  if (end - p < 8 || i32(b, p) !== end - p) return 0;
  const code = i32(b, p + 4);
  if (end - p === 8) return code === 80877103 || code === 80877104 ? POSTGRES : 0;
  return code === 196608 && b[end - 1] === 0 && find(b, p + 8, end, 256, PG_USER) > 0 ? POSTGRES : 0;
}

/**
 * Bitcoin's P2P messages (Bitcoin developer reference, "Message Headers"): the network's start string (main
 * F9BEB4D9, testnet3 0B110907, regtest FABFB5DA, signet 0A03CF40), a 12-byte command of lower-case ASCII padded with
 * zeros, a little-endian payload length within 32 MB.
 */
function bitcoinMessage(b: Uint8Array, p: number, end: number): number {
  if (end - p < 24) return 0;
  const magic = i32(b, p);
  if (magic !== (0xf9beb4d9 | 0) && magic !== 0x0b110907 && magic !== (0xfabfb5da | 0) && magic !== 0x0a03cf40) return 0;
  let k = 0;
  while (k < 12 && b[p + 4 + k]! >= 0x61 && b[p + 4 + k]! <= 0x7a) k++;
  if (k === 0) return 0;
  for (let z = k; z < 12; z++) if (b[p + 4 + z] !== 0) return 0;
  const len = i32le(b, p + 16);
  return len >= 0 && len <= 32 << 20 ? BITCOIN : 0;
}

// ---------------------------------------------------------------------------------------------------------------
// UDP

function matchUdp(b: Uint8Array, p: number, end: number, sp: number, dp: number): number {
  let r = 0;
  if (port(sp, dp, 53) || port(sp, dp, 5353) || port(sp, dp, 5355)) r = dnsMessage(b, p, end, sp, dp);
  if (r !== 0) return r;
  const b0 = b[p]!;
  if (b0 >= 0x41 && b0 <= 0x5a) r = textStart(b, p, end, true, sp, dp);
  if (r === 0 && b0 < 2) r = stunMessage(b, p, end, false);
  if (r === 0 && isQuicInitialCandidate(b, p, end) && ((b0 & 0x40) !== 0 || (b0 & 0x80) === 0)) r = QUIC;
  if (r === 0 && b0 >= 0x14 && b0 <= 0x17) r = dtlsRecords(b, p, end);
  if (r === 0 && (b0 === 1 || b0 === 2)) r = dhcp(b, p, end);
  if (r === 0 && b0 >= 1 && b0 <= 4) r = wireguard(b, p, end);
  if (r === 0) r = openvpnReset(b, p, end);
  if (r === 0 && b0 === 0x64) r = bencodeKrpc(b, p, end);
  if (r === 0 && b0 === 0x41) r = utpSyn(b, p, end);
  if (r === 0 && (b0 & 0xc0) === 0x80) r = rtcpCompound(b, p, end);
  if (r !== 0) return r;
  // Rules that need the registered port.
  if (port(sp, dp, 500) || port(sp, dp, 4500)) r = ike(b, p, end, sp, dp);
  else if (port(sp, dp, 123)) r = ntp(b, p, end);
  else if (port(sp, dp, 137)) r = netbiosNameService(b, p, end);
  else if (port(sp, dp, 138)) r = netbiosDatagram(b, p, end);
  else if (port(sp, dp, 546) || port(sp, dp, 547)) r = dhcpv6(b, p, end);
  else if (port(sp, dp, 161) || port(sp, dp, 162)) r = snmp(b, p, end);
  else if (port(sp, dp, 69)) r = tftpRequest(b, p, end);
  else if (port(sp, dp, 514)) r = syslog(b, p, end);
  else if (port(sp, dp, 88)) r = kerberos(b, p, end, true);
  else if (port(sp, dp, 427)) r = slpMessage(b, p, end);
  else if (port(sp, dp, 1812) || port(sp, dp, 1813) || port(sp, dp, 1645) || port(sp, dp, 1646)) r = radius(b, p, end);
  else if (port(sp, dp, 623)) r = rmcp(b, p, end);
  else if (port(sp, dp, 5351)) r = natPmp(b, p, end, sp === 5351);
  else if (port(sp, dp, 4569)) r = iaxOpening(b, p, end);
  else if (dp === 177) r = xdmcpQuery(b, p, end);
  else if (port(sp, dp, 64738)) r = mumblePing(b, p, end, sp === 64738);
  else if (port(sp, dp, 5938)) r = teamviewerUdp(b, p, end);
  if (r === 0 && end - p >= 40 && b[p + 4] === 0 && b[p + 8] === 0) r = oncRpcCall(b, p, end);
  if (r === 0) r = classicStun(b, p, end);
  if (r === 0 && b0 === 0xff) r = sourceEngineQuery(b, p, end);
  if (r === 0) r = raknetOffline(b, p, end);
  if (r === 0 && b0 === 0x54) r = teamspeakInit(b, p, end);
  if (r === 0 && b0 === 0 && end - p === 74) r = discordIpDiscovery(b, p, end);
  if (r === 0) r = servicesUdp(b, p, end, sp, dp);
  if (r === 0) r = infraUdp(b, p, end, sp, dp);
  return r;
}

/**
 * DNS (RFC 1035 §4.1) on its ports (53; mDNS 5353, RFC 6762; LLMNR 5355, RFC 4795): opcode 0-2, 4 or 5, Z clear in
 * a query, at most 64 questions and a sane record count, and the first question a name of labels of 1-63 bytes
 * (or compression pointers in a response) followed by its type and class; a message without questions (mDNS
 * announcements, and responses that carry none) must walk its first record the same way.
 */
function dnsMessage(b: Uint8Array, p: number, end: number, sp: number, dp: number): number {
  if (end - p < 12) return 0;
  const flags = u16(b, p + 2);
  const opcode = (flags >> 11) & 0xf;
  if (opcode === 3 || opcode > 5) return 0;
  const qd = u16(b, p + 4);
  const an = u16(b, p + 6);
  const ns = u16(b, p + 8);
  const ar = u16(b, p + 10);
  if (qd > 64 || an + ns + ar > 1024 || qd + an + ns + ar === 0) return 0;
  const q = dnsName(b, p + 12, end, (flags & 0x8000) !== 0 || qd === 0);
  if (q < 0 || q + 4 > end) return 0;
  // The class: IN (1), CH (3), HS (4), ANY (255), the mDNS unicast/cache-flush bit aside (RFC 6762 §5.4, §10.2).
  const cls = u16(b, q + 2) & 0x7fff;
  const type = u16(b, q);
  if (type === 0 || (cls !== 1 && cls !== 3 && cls !== 4 && cls !== 255)) return 0;
  if (port(sp, dp, 5353)) return MDNS;
  if (port(sp, dp, 5355)) return LLMNR;
  return DNS;
}

/** A domain name at `q` (labels, or a compression pointer when `pointers`): the position after it, or -1. */
function dnsName(b: Uint8Array, q: number, end: number, pointers: boolean): number {
  for (let total = 0; q < end; ) {
    const n = b[q]!;
    if (n === 0) return q + 1;
    if ((n & 0xc0) === 0xc0) return pointers && q + 2 <= end ? q + 2 : -1;
    if (n > 63) return -1;
    total += n + 1;
    if (total > 255) return -1;
    q += 1 + n;
  }
  return -1;
}

/**
 * STUN (RFC 8489 §5, formerly RFC 5389 §6): the two top bits zero, a length that is a multiple of 4, the magic
 * cookie 0x2112A442, the 20-byte header plus length = the datagram (over TCP, at most the segment: RFC 8489 §6.2.2
 * frames nothing else), the method Binding or a TURN method (RFC 8656 §17: 3-4, 6-10) or the legacy ones of RFC 5766;
 * and the attributes walk to the message's end.
 */
function stunMessage(b: Uint8Array, p: number, end: number, tcp: boolean): number {
  if (end - p < 20 || (b[p]! & 0xc0) !== 0 || i32(b, p + 4) !== 0x2112a442) return 0;
  const len = u16(b, p + 2);
  if ((len & 3) !== 0 || (tcp ? 20 + len > end - p : 20 + len !== end - p)) return 0;
  return stunAttributes(b, p + 20, p + 20 + len) ? STUN : 0;
}

/** STUN attributes (RFC 8489 §14): type, length, value padded to 4 bytes, exactly filling the message. */
function stunAttributes(b: Uint8Array, q: number, end: number): boolean {
  for (let k = 0; q < end && k < 64; k++) {
    if (end - q < 4) return false;
    q += 4 + ((u16(b, q + 2) + 3) & ~3);
  }
  return q === end;
}

/**
 * STUN of RFC 3489 (§11.1, before the magic cookie): message type 0x0001, 0x0101, 0x0111 (Binding) or 0x0002,
 * 0x0102, 0x0112 (Shared Secret), length = the datagram's rest, and attributes of that RFC's types (1-11) that
 * exactly fill it, at least one (a bare 20-byte request is too easily something else).
 */
function classicStun(b: Uint8Array, p: number, end: number): number {
  if (end - p < 28 || b[p]! > 1) return 0;
  const t = u16(b, p);
  if (t !== 0x0001 && t !== 0x0101 && t !== 0x0111 && t !== 0x0002 && t !== 0x0102 && t !== 0x0112) return 0;
  if (u16(b, p + 2) !== end - p - 20) return 0;
  let q = p + 20;
  for (let k = 0; q < end && k < 32; k++) {
    if (end - q < 4) return 0;
    const at = u16(b, q);
    if (at < 1 || at > 11) return 0;
    q += 4 + u16(b, q + 2);
  }
  return q === end ? STUN : 0;
}

/**
 * RTCP compound packets (RFC 3550 §6.1, Appendix A.2): every packet version 2; the first a Sender or Receiver Report
 * (200, 201) without padding, its length holding its report blocks; the others types 200-207 (RFC 4585: 205, 206;
 * RFC 3611: 207); the lengths adding up exactly to the datagram.
 */
function rtcpCompound(b: Uint8Array, p: number, end: number): number {
  if (end - p < 8) return 0;
  const t = b[p + 1]!;
  const rc = b[p]! & 0x1f;
  if ((b[p]! & 0x20) !== 0 || (t !== 200 && t !== 201)) return 0;
  const words = u16(b, p + 2);
  if (words < (t === 200 ? 6 : 1) + 6 * rc) return 0;
  let q = p;
  for (let k = 0; q < end && k < 16; k++) {
    if (end - q < 4 || (b[q]! & 0xc0) !== 0x80 || b[q + 1]! < 200 || b[q + 1]! > 207) return 0;
    q += 4 + 4 * u16(b, q + 2);
  }
  return q === end ? RTCP : 0;
}

/**
 * An RTP header (RFC 3550 §5.1): version 2, a payload type that is not one RTCP's types alias (72-76, RFC 5761 §4),
 * the CSRC list and a header extension (§5.3.1) inside the datagram, padding (its count in the last byte) no
 * longer than the payload. One header is too weak to call a flow RTP; flows/payload-protocols.ts asks for two of
 * the same SSRC and payload type with consecutive sequence numbers (Appendix A.1's probation).
 */
export function rtpHeader(b: Uint8Array, p: number, end: number): boolean {
  if (end > b.length) end = b.length;
  if (p < 0 || end - p < 12) return false;
  const b0 = b[p]!;
  const pt = b[p + 1]! & 0x7f;
  if ((b0 & 0xc0) !== 0x80 || (pt >= 72 && pt <= 76)) return false;
  let h = p + 12 + 4 * (b0 & 0x0f);
  if (h > end) return false;
  if ((b0 & 0x10) !== 0) {
    if (h + 4 > end) return false;
    h += 4 + 4 * u16(b, h + 2);
    if (h > end) return false;
  }
  if ((b0 & 0x20) !== 0) {
    const pad = b[end - 1]!;
    if (pad === 0 || h + pad > end) return false;
  }
  return true;
}
/** The SSRC, sequence number and payload type of an RTP header at `p` (after rtpHeader said yes). */
export const rtpSsrc = (b: Uint8Array, p: number): number => i32(b, p + 8);
export const rtpSequence = (b: Uint8Array, p: number): number => u16(b, p + 2);
export const rtpPayloadType = (b: Uint8Array, p: number): number => b[p + 1]! & 0x7f;

/**
 * DHCP (RFC 2131 §2, §3): op 1 or 2, a hardware type and address length of at most 16, hops ≤ 16, and the magic
 * cookie 99.130.83.99 at offset 236 (RFC 2132 §2).
 */
function dhcp(b: Uint8Array, p: number, end: number): number {
  return end - p >= 240 && b[p + 2]! <= 16 && b[p + 3]! <= 16 && i32(b, p + 236) === 0x63825363 ? DHCP : 0;
}

/**
 * WireGuard (whitepaper "WireGuard: Next Generation Kernel Network Tunnel" §5.4): a message type 1-4 then three
 * reserved zero bytes; handshake initiation 148 bytes, response 92, cookie reply 64, transport data 16 bytes of
 * header plus a payload padded to 16 and its 16-byte tag (at least 32, a multiple of 16).
 */
function wireguard(b: Uint8Array, p: number, end: number): number {
  if (end - p < 32 || b[p + 1] !== 0 || b[p + 2] !== 0 || b[p + 3] !== 0) return 0;
  const n = end - p;
  const t = b[p]!;
  return (t === 1 && n === 148) || (t === 2 && n === 92) || (t === 3 && n === 64) || (t === 4 && n % 16 === 0) ? WIREGUARD : 0;
}

/**
 * OpenVPN's first packets (OpenVPN protocol, src/openvpn/ssl_pkt.h and the "OpenVPN protocol" notes of its source):
 * the client's P_CONTROL_HARD_RESET_CLIENT_V2 (7) or _V3 (10) with key id 0, an 8-byte session id, then - without
 * tls-auth - an empty ack array (0) and message packet-id 0, and nothing after; with tls-auth, an HMAC (16, 20, 32 or
 * 64 bytes), a replay packet-id ≥ 1 and a time come first. The server's P_CONTROL_HARD_RESET_SERVER_V2 (8) is laid
 * out the same but acknowledges the client's reset: an ack array of one packet-id 0, the client's (non-zero)
 * session id, then its own packet-id 0. With tls-crypt (its source's doc/tls-crypt-v2.txt, the wrapping of tls-crypt)
 * the session id is followed by a replay packet-id ≥ 1, a time and a 32-byte tag, then the same fields encrypted
 * without changing their length: only the packet-id, the time and the length are checked then.
 */
function openvpnReset(b: Uint8Array, p: number, end: number): number {
  const op = b[p];
  const server = op === 0x40;
  if (op !== 0x38 && op !== 0x50 && !server) return 0;
  const n = end - p;
  const tail = server ? 1 + 4 + 8 + 4 : 1 + 4;
  if (n === 9 + 8 + 32 + tail && replayStamp(b, p + 9)) return OPENVPN;
  for (let i = 0; i < HMACS.length; i++) {
    const h = HMACS[i]!;
    if (n !== 9 + (h > 0 ? h + 8 : 0) + tail) continue;
    let q = p + 9;
    if (h > 0) {
      if (!replayStamp(b, q + h)) return 0;
      q += h + 8;
    }
    if (!server) return b[q] === 0 && i32(b, q + 1) === 0 ? OPENVPN : 0;
    return b[q] === 1 && i32(b, q + 1) === 0 && (i32(b, q + 5) !== 0 || i32(b, q + 9) !== 0) && i32(b, q + 13) === 0 ? OPENVPN : 0;
  }
  return 0;
}
/** A replay packet-id of a connection's first packets (1-255) and a time since 2001 (the 32-bit Unix time). */
function replayStamp(b: Uint8Array, q: number): boolean {
  const pid = i32(b, q);
  const time = i32(b, q + 4);
  return pid >= 1 && pid < 256 && (time >= 1e9 || time < 0); // negative: after 2038
}

/** The HMAC sizes of tls-auth (none; MD5, SHA-1, SHA-256, SHA-512), each tried where it would be 8 bytes before the rest. */
const HMACS = [0, 16, 20, 32, 64];

/**
 * BitTorrent's DHT (BEP 5, KRPC over bencoding, BEP 3): a dictionary whose keys are strings, starting `d1:a` (query
 * arguments), `d1:e` (error), `d1:r` (response), or another sorted key, holding the message type `1:y1:q`, `1:y1:r`
 * or `1:y1:e`, and ending with `e`.
 */
const KRPC_Y = ascii('1:y1:');
function bencodeKrpc(b: Uint8Array, p: number, end: number): number {
  if (end - p < 12 || b[p + 1]! < 0x31 || b[p + 1]! > 0x39 || b[end - 1] !== 0x65) return 0;
  let y = find(b, p + 1, end, 2048, KRPC_Y);
  while (y > 0) {
    const t = b[y + 5];
    if (t === 0x71 || t === 0x72 || t === 0x65) return BITTORRENT;
    y = find(b, y + 1, end, 2048, KRPC_Y);
  }
  return 0;
}

/**
 * uTP (BEP 29): ST_SYN (type 4, version 1), no extension, 20 bytes: a connection's first packet, with
 * timestamp_difference 0 (nothing received yet).
 */
function utpSyn(b: Uint8Array, p: number, end: number): number {
  return end - p === 20 && b[p + 1] === 0 && i32(b, p + 8) === 0 ? BITTORRENT : 0;
}

/**
 * IKE (RFC 7296 §3.1, RFC 2408 §3.1) on port 500, or on 4500 after the four zero bytes of the non-ESP marker
 * (RFC 3948 §2.2): a non-zero initiator SPI, version 1.0 or 2.0, an exchange type of its version (IKEv1: 1-5, 32;
 * IKEv2: 34-37, RFC 5723: 38, RFC 9242: 43-44) and a length equal to the message. On 4500, a datagram of one 0xff
 * byte is a NAT keep-alive (§2.3), and one beginning with a non-zero SPI of at least 256 (RFC 4303 §2.1: 1-255 are
 * reserved) and a sequence number ≥ 1 is ESP in UDP.
 */
function ike(b: Uint8Array, p: number, end: number, sp: number, dp: number): number {
  let q = p;
  if (port(sp, dp, 4500)) {
    if (end - p === 1 && b[p] === 0xff) return IPSEC;
    if (end - p >= 4 && i32(b, p) === 0) q = p + 4;
    else {
      const spi = i32(b, p);
      return end - p >= 16 && (spi >= 256 || spi < 0) && i32(b, p + 4) !== 0 ? IPSEC : 0;
    }
  }
  if (end - q < 28 || (i32(b, q) === 0 && i32(b, q + 4) === 0)) return 0;
  const v = b[q + 17]!;
  const x = b[q + 18]!;
  const ok = v === 0x10 ? (x >= 1 && x <= 5) || x === 32 : v === 0x20 ? (x >= 34 && x <= 38) || x === 43 || x === 44 : false;
  return ok && i32(b, q + 24) === end - q ? IPSEC : 0;
}

/**
 * NTP (RFC 5905 §7.3, port 123): version 1-4; modes 1-5 a 48-byte header, then extension fields or a MAC (key id
 * and a 16- or 20-byte digest); mode 6 (RFC 9327 control messages) and 7 (ntpd's private) a 12- or 8-byte header.
 */
function ntp(b: Uint8Array, p: number, end: number): number {
  const n = end - p;
  const vn = (b[p]! >> 3) & 7;
  const mode = b[p]! & 7;
  if (vn < 1 || vn > 4) return 0;
  if (mode === 6) {
    // The data (count bytes) padded to 4, then possibly a MAC (key id and a digest of at most 20 bytes).
    const extra = n - 12 - u16(b, p + 10);
    return n >= 12 && extra >= 0 && extra < 4 + 24 ? NTP : 0;
  }
  if (mode === 7) return n >= 8 ? NTP : 0;
  if (mode === 0) return 0;
  return n === 48 || n === 48 + 20 || n === 48 + 24 || (n > 48 && n % 4 === 0 && b[p + 1]! <= 16) ? NTP : 0;
}

/**
 * NetBIOS name service (RFC 1002 §4.2.1, port 137): a DNS-like header (opcode 0, 5-8; at most a few records) whose
 * first question or record name is a NetBIOS name in its first-level encoding.
 */
function netbiosNameService(b: Uint8Array, p: number, end: number): number {
  if (end - p < 12 + 34) return 0;
  const opcode = (b[p + 2]! >> 3) & 0xf;
  if (opcode !== 0 && (opcode < 5 || opcode > 8)) return 0;
  if (u16(b, p + 4) + u16(b, p + 6) + u16(b, p + 8) + u16(b, p + 10) > 16) return 0;
  const q = netbiosName(b, p + 12, end);
  return q > 0 && q + 4 <= end ? NETBIOS : 0;
}

/**
 * NetBIOS datagram service (RFC 1002 §4.4, port 138): message type 0x10-0x12 (direct unique, group, broadcast) with
 * the source and destination names encoded after the 14-byte header, or 0x13-0x16 (error, query, responses).
 */
function netbiosDatagram(b: Uint8Array, p: number, end: number): number {
  const t = b[p]!;
  if (t >= 0x10 && t <= 0x12) {
    const q = netbiosName(b, p + 14, end);
    return q > 0 && netbiosName(b, q, end) > 0 ? NETBIOS : 0;
  }
  return t >= 0x14 && t <= 0x16 && end - p >= 10 + 34 && netbiosName(b, p + 10, end) > 0 ? NETBIOS : 0;
}

/** DHCPv6 (RFC 8415 §8, §21.1, ports 546/547): message type 1-13, a 3-byte transaction id, options filling the datagram. */
function dhcpv6(b: Uint8Array, p: number, end: number): number {
  const t = b[p]!;
  if (end - p < 8 || t < 1 || t > 13) return 0;
  let q = p + 4;
  for (let k = 0; q < end && k < 64; k++) {
    if (end - q < 4 || u16(b, q) === 0) return 0;
    q += 4 + u16(b, q + 2);
  }
  return q === end ? DHCPV6 : 0;
}

/**
 * SNMP (RFC 3416, RFC 3412; BER, X.690), ports 161/162: a SEQUENCE whose length is the datagram's, then the version
 * INTEGER 0, 1 or 3 (v1, v2c, v3).
 */
function snmp(b: Uint8Array, p: number, end: number): number {
  if (end - p < 8 || b[p] !== 0x30) return 0;
  const q = berLength(b, p + 1, end);
  if (q < 0 || q !== end) return 0;
  const v = berBody(b, p + 1);
  return b[v] === 0x02 && b[v + 1] === 0x01 && (b[v + 2] === 0 || b[v + 2] === 1 || b[v + 2] === 3) ? SNMP : 0;
}

/** A BER definite length at `q`: the end of its contents (after the length bytes), or -1. */
function berLength(b: Uint8Array, q: number, end: number): number {
  if (q >= end) return -1;
  const l0 = b[q]!;
  if (l0 < 0x80) return q + 1 + l0;
  const n = l0 & 0x7f;
  if (n === 0 || n > 3 || q + 1 + n > end) return -1;
  let len = 0;
  for (let k = 1; k <= n; k++) len = len * 256 + b[q + k]!;
  return q + 1 + n + len;
}

/** Where the contents start after the BER length at `q`. */
function berBody(b: Uint8Array, q: number): number {
  const l0 = b[q]!;
  return l0 < 0x80 ? q + 1 : q + 1 + (l0 & 0x7f);
}

/**
 * TFTP (RFC 1350 §5, port 69): a read or write request (opcode 1, 2), a printable file name ending in a zero,
 * and the mode `netascii`, `octet` or `mail` (any case) ending in a zero.
 */
const TFTP_MODES = ['NETASCII\x00', 'OCTET\x00', 'MAIL\x00'].map(ascii);
function tftpRequest(b: Uint8Array, p: number, end: number): number {
  if (end - p < 9 || b[p] !== 0 || (b[p + 1] !== 1 && b[p + 1] !== 2)) return 0;
  let q = p + 2;
  while (q < end && b[q] !== 0) {
    if (b[q]! < 0x20 || b[q]! > 0x7e) return 0;
    q++;
  }
  if (q === p + 2 || q >= end) return 0;
  for (let i = 0; i < TFTP_MODES.length; i++) if (hasNoCase(b, q + 1, end, TFTP_MODES[i]!)) return TFTP;
  return 0;
}

/** Syslog (RFC 5424 §6.2.1, RFC 3164 §4.1.1, port 514): `<PRI>`, PRI 0-191 in 1-3 digits without leading zero. */
function syslog(b: Uint8Array, p: number, end: number): number {
  if (end - p < 4 || b[p] !== 0x3c) return 0;
  let q = p + 1;
  let v = 0;
  while (q < end && q < p + 4 && b[q]! >= 0x30 && b[q]! <= 0x39) v = v * 10 + b[q++]! - 0x30;
  if (q === p + 1 || b[q] !== 0x3e || v > 191 || (b[p + 1] === 0x30 && q > p + 2)) return 0;
  return SYSLOG;
}

/**
 * Kerberos (RFC 4120 §5.4.1, §5.4.2, §5.5.1, §5.9.1; port 88): an APPLICATION-tagged message AS-REQ (10), AS-REP
 * (11), TGS-REQ (12), TGS-REP (13), AP-REQ (14) or KRB-ERROR (30), constructed, whose BER length fills the message,
 * holding a SEQUENCE; over TCP (§7.2.2) behind a 4-byte length, which `whole` says was checked.
 */
function kerberos(b: Uint8Array, p: number, end: number, whole: boolean): number {
  if (!whole || end - p < 8) return 0;
  const t = b[p]!;
  if (!((t >= 0x6a && t <= 0x6e) || t === 0x7e)) return 0;
  if (berLength(b, p + 1, end) !== end) return 0;
  return b[berBody(b, p + 1)] === 0x30 ? KERBEROS : 0;
}

/**
 * SLP version 2 (RFC 2608 §8, port 427): version 2, function 1-11, a 3-byte length equal to the message, reserved
 * flag bits zero, a language tag of 1-16 bytes inside it. Version 1 (RFC 2165 §7): version 1, function 1-10, a
 * 2-byte length equal to the message.
 */
function slpMessage(b: Uint8Array, p: number, end: number): number {
  const n = end - p;
  if (n < 12 || b[p + 1]! < 1 || b[p + 1]! > 11) return 0;
  if (b[p] === 2) {
    if (n < 16 || ((b[p + 2]! << 16) | u16(b, p + 3)) !== n || (b[p + 5]! & 0x1f) !== 0 || b[p + 6] !== 0) return 0;
    const lang = u16(b, p + 12);
    return lang >= 1 && lang <= 16 && 14 + lang <= n ? SLP : 0;
  }
  return b[p] === 1 && b[p + 1]! <= 10 && u16(b, p + 2) === n ? SLP : 0;
}

/**
 * RADIUS (RFC 2865 §3, RFC 2866 §3; ports 1812/1813, 1645/1646): code 1-5, 11-13, 40-45 (RFC 5176), a length of
 * 20-4096 equal to the datagram, and attributes (type, length ≥ 2) filling it.
 */
function radius(b: Uint8Array, p: number, end: number): number {
  const c = b[p]!;
  if (end - p < 20 || !((c >= 1 && c <= 5) || (c >= 11 && c <= 13) || (c >= 40 && c <= 45)) || u16(b, p + 2) !== end - p) return 0;
  let q = p + 20;
  for (let k = 0; q < end && k < 128; k++) {
    if (end - q < 2 || b[q + 1]! < 2) return 0;
    q += b[q + 1]!;
  }
  return q === end ? RADIUS : 0;
}

/**
 * An ONC RPC call (RFC 5531 §9) to NFS (program 100003, versions 2-4, RFC 1094 / 1813 / 7530) or its MOUNT protocol
 * (program 100005, versions 1-3, RFC 1094 appendix A, RFC 1813 §5): xid, message type CALL (0), RPC version 2, the
 * program, version, procedure, and an AUTH_NONE/AUTH_SYS/RPCSEC_GSS credential flavor. Over UDP on any port (MOUNT's
 * is assigned by the portmapper): 12 fixed bytes are enough.
 */
function oncRpcCall(b: Uint8Array, p: number, end: number): number {
  if (end - p < 40 || i32(b, p + 4) !== 0 || i32(b, p + 8) !== 2) return 0;
  const prog = i32(b, p + 12);
  const v = i32(b, p + 16);
  const flavor = i32(b, p + 24);
  const known = (prog === 100003 && v >= 2 && v <= 4) || (prog === 100005 && v >= 1 && v <= 3);
  return known && (flavor === 0 || flavor === 1 || flavor === 6) ? NFS : 0;
}

/**
 * RMCP (DMTF ASF 2.0, DSP0136 §3.2.2.1; IPMI 2.0 §13.1.3), port 623: version 6, a reserved zero byte, a sequence
 * number, and the class of message (ASF 6, IPMI 7, OEM 8; bit 7 for an acknowledgement, whose other bits stay 0-8).
 */
function rmcp(b: Uint8Array, p: number, end: number): number {
  if (end - p < 4 || b[p] !== 6 || b[p + 1] !== 0) return 0;
  const c = b[p + 3]! & 0x9f;
  return (c & 0x7f) >= 6 && (c & 0x7f) <= 8 && (b[p + 3]! & 0x60) === 0 ? RMCP : 0;
}

/**
 * NAT-PMP (RFC 6886 §3.2-3.5), port 5351: version 0; to the gateway an address request (opcode 0, 2 bytes) or a
 * mapping request (opcode 1 or 2, 12 bytes, reserved zero); from it, the same opcode + 128 with a result code 0-5,
 * 12 bytes (address) or 16 (mapping).
 */
function natPmp(b: Uint8Array, p: number, end: number, fromGateway: boolean): number {
  const n = end - p;
  if (b[p] !== 0) return 0;
  const op = b[p + 1]!;
  if (!fromGateway) return (op === 0 && n === 2) || ((op === 1 || op === 2) && n === 12 && b[p + 2] === 0 && b[p + 3] === 0) ? NATPMP : 0;
  const result = n >= 4 ? u16(b, p + 2) : 99;
  return result <= 5 && ((op === 128 && n === 12) || ((op === 129 || op === 130) && n === 16)) ? NATPMP : 0;
}

/**
 * Source engine server queries (Valve Developer Community, "Server queries"): the simple-packet header 0xFFFFFFFF
 * then A2S_INFO `T` with the string `Source Engine Query` and its zero byte.
 */
const A2S_INFO = ascii('\xff\xff\xff\xffTSource Engine Query\x00');
function sourceEngineQuery(b: Uint8Array, p: number, end: number): number {
  return has(b, p, end, A2S_INFO) ? SOURCE : 0;
}

/**
 * TeamSpeak 3's connection handshake (the protocol as documented by the ReSpeak project, "TeamSpeak 3 protocol",
 * Init1): the 8-byte MAC field holds `TS3INIT1`, then packet id 101 (0x0065), both ways.
 */
const TS3INIT1 = ascii('TS3INIT1\x00\x65');
function teamspeakInit(b: Uint8Array, p: number, end: number): number {
  return end - p >= 16 && has(b, p, end, TS3INIT1) ? TEAMSPEAK : 0;
}

/**
 * RakNet's offline messages (RakNet's MessageIdentifiers.h and its OFFLINE_MESSAGE_DATA_ID): unconnected ping
 * (0x01, 0x02) and pong (0x1c), open connection request/reply 1 and 2 (0x05-0x08), each carrying the 16-byte magic
 * 00FFFF00 FEFEFEFE FDFDFDFD 12345678 at its fixed place (after the 8-byte time for pings, after time and GUID for
 * pongs, right after the id otherwise).
 */
const RAKNET_MAGIC = Uint8Array.of(0x00, 0xff, 0xff, 0x00, 0xfe, 0xfe, 0xfe, 0xfe, 0xfd, 0xfd, 0xfd, 0xfd, 0x12, 0x34, 0x56, 0x78);
function raknetOffline(b: Uint8Array, p: number, end: number): number {
  const id = b[p]!;
  const at = id === 0x01 || id === 0x02 ? 9 : id === 0x1c ? 17 : id >= 0x05 && id <= 0x08 ? 1 : -1;
  return at > 0 && has(b, p + at, end, RAKNET_MAGIC) ? RAKNET : 0;
}


// ---------------------------------------------------------------------------------------------------------------
// Messaging, VoIP, P2P, remote access

/**
 * WhatsApp's chat connection (its Noise transport as published by the open clients that speak it, e.g. whatsmeow's
 * socket package and whatsapp-rust's edge routing): an optional edge-routing preamble `ED` 0 1, a 3-byte big-endian
 * length and that many bytes of routing data (a short protobuf message), then the connection header `WA`, a magic
 * value and a dictionary version (small numbers), then frames of a 3-byte big-endian length and that many bytes.
 * Clients write these pieces apart, so a segment may hold only the 4-byte preamble, or only the 4-byte header (then
 * on WhatsApp's chat ports, 443 and 5222). Otherwise: the preamble and its routing data, alone or followed by the
 * header and frames of which the last may run past the segment; or the header and whole frames filling the segment.
 */
const WA_EDGE = Uint8Array.of(0x45, 0x44, 0x00, 0x01);
function whatsappHandshake(b: Uint8Array, p: number, end: number, sp: number, dp: number): number {
  let q = p;
  const edge = has(b, p, end, WA_EDGE);
  if (edge) {
    if (end - p === 4) return WHATSAPP;
    if (end - p < 8) return 0;
    const n = (b[p + 4]! << 16) | u16(b, p + 5);
    if (n < 1 || n > 255) return 0;
    q = p + 7 + n;
    if (q === end) return WHATSAPP;
  }
  if (end - q < 4 || b[q] !== 0x57 || b[q + 1] !== 0x41 || b[q + 2]! < 1 || b[q + 2]! > 15 || b[q + 3]! > 15) return 0;
  q += 4;
  if (q === end) return edge || port(sp, dp, 443) || port(sp, dp, 5222) ? WHATSAPP : 0;
  let frames = 0;
  for (; q < end && frames < 8; frames++) {
    if (end - q < 3) return 0;
    const n = (b[q]! << 16) | u16(b, q + 1);
    if (n === 0) return 0;
    q += 3 + n;
  }
  return q === end || (edge && q > end) ? WHATSAPP : 0;
}

/**
 * H.323 call signalling (ITU-T H.225.0 §7, Q.931 §4 messages over TPKT, RFC 1006 §6): TPKT version 3, reserved 0, a
 * length equal to the segment; Q.931's protocol discriminator 8, a 2-byte call reference (H.225.0's length 2), a
 * message type H.225.0 uses (alerting 1, call proceeding 2, progress 3, setup 5, connect 7, setup acknowledge 13,
 * release complete 90, facility 98, notify 110, status enquiry 117, information 123, status 125), and information
 * elements walking exactly to the end: one byte when bit 8 is set, else identifier, length and contents, the
 * length of the User-user element (126) on two bytes as H.225.0 codes it.
 */
function h225Signalling(b: Uint8Array, p: number, end: number): number {
  if (end - p < 4 + 5 + 2 || b[p + 1] !== 0 || u16(b, p + 2) !== end - p || b[p + 4] !== 0x08 || b[p + 5] !== 2) return 0;
  const t = b[p + 8]!;
  const known = (t >= 1 && t <= 3) || t === 5 || t === 7 || t === 13 || t === 90 || t === 98 || t === 110 || t === 117 || t === 123 || t === 125;
  if (!known) return 0;
  let q = p + 9;
  let k = 0;
  for (; q < end && k < 32; k++) {
    const id = b[q]!;
    if ((id & 0x80) !== 0) q += 1;
    else if (id === 0x7e) q += end - q >= 3 ? 3 + u16(b, q + 1) : end + 1;
    else q += end - q >= 2 ? 2 + b[q + 1]! : end + 1;
  }
  return q === end && k > 0 ? H323 : 0;
}

/**
 * Cisco SCCP ("Skinny"; the message layout of Wireshark's SCCP dissector, from Cisco's message definitions), on its
 * port 2000: messages of a little-endian data length (of the message after the length and version fields), a
 * header version (0 basic, 0x0A, 0x0B, 0x0F-0x16 for protocol versions 10-22) and a message id of the station's
 * (0x0000-0x009F) or the call manager's (0x0100-0x0160, 0x8000, 0x8100-0x8101), whole messages filling the segment.
 */
function skinnyMessages(b: Uint8Array, p: number, end: number): number {
  let q = p;
  let k = 0;
  for (; q < end && k < 16; k++) {
    if (end - q < 12) return 0;
    const len = i32le(b, q);
    const v = i32le(b, q + 4);
    const id = i32le(b, q + 8);
    if (len < 4 || len > 65536) return 0;
    if (!(v === 0 || v === 0x0a || v === 0x0b || (v >= 0x0f && v <= 0x16))) return 0;
    if (!(id <= 0x9f && id >= 0) && !(id >= 0x100 && id <= 0x160) && id !== 0x8000 && id !== 0x8100 && id !== 0x8101) return 0;
    q += 8 + len;
  }
  return q === end && k > 0 ? SKINNY : 0;
}

/** IRC's ports: 194 (IANA `irc`) and 6660-6669 (IANA `ircu` 6665-6669, and the range servers listen on). */
const ircPort = (x: number): boolean => x === 194 || (x >= 6660 && x <= 6669);

/**
 * IRC connection registration (RFC 2812 §3.1, RFC 1459 §4.1; IRCv3 capability negotiation): the client's first line
 * `PASS`, `NICK`, `USER` (a user, a mode, an unused parameter and a `:`-prefixed real name) or `CAP LS`; the server's
 * first line a prefixed `NOTICE` or 3-digit numeric reply (RFC 2812 §2.3.1, §5), or `NOTICE AUTH`; each a line of
 * printable characters ending in CR LF or LF (§2.3.1 allows both in practice), on IRC's ports.
 */
const IRC_CLIENT = ['PASS ', 'NICK ', 'USER ', 'CAP LS'].map(ascii);
const IRC_NOTICE = ascii('NOTICE ');
const IRC_AUTH = ascii('AUTH ');
function ircRegistration(b: Uint8Array, p: number, end: number): number {
  let eol = p;
  const last = Math.min(end, p + 512); // RFC 2812 §2.3: a message is at most 512 bytes with its CR LF
  while (eol < last && b[eol] !== 0x0a) {
    const c = b[eol]!;
    if ((c < 0x20 || c > 0x7e) && !(c === 0x0d && eol + 1 < last && b[eol + 1] === 0x0a)) return 0;
    eol++;
  }
  if (eol >= last || eol === p) return 0;
  const stop = b[eol - 1] === 0x0d ? eol - 1 : eol;
  if (b[p] === 0x3a) {
    // `:prefix SP command`: the prefix without spaces, then NOTICE, or three digits and a space.
    let q = p + 1;
    while (q < stop && b[q] !== 0x20) q++;
    if (q === p + 1 || q >= stop) return 0;
    q++;
    if (has(b, q, stop, IRC_NOTICE)) return IRC;
    return stop - q > 4 && isDigit(b[q]!) && isDigit(b[q + 1]!) && isDigit(b[q + 2]!) && b[q + 3] === 0x20 ? IRC : 0;
  }
  if (has(b, p, stop, IRC_NOTICE)) return has(b, p + IRC_NOTICE.length, stop, IRC_AUTH) ? IRC : 0;
  for (let i = 0; i < IRC_CLIENT.length; i++) {
    const cmd = IRC_CLIENT[i]!;
    if (!has(b, p, stop, cmd)) continue;
    if (i === 3) return stop === p + cmd.length || b[p + cmd.length] === 0x20 ? IRC : 0;
    const arg = p + cmd.length;
    if (arg >= stop || b[arg] === 0x20) return 0;
    if (i !== 2) return IRC;
    // USER <user> <mode> <unused> :<realname>
    let spaces = 0;
    let q = arg;
    while (q < stop && spaces < 3) if (b[q++] === 0x20) spaces++;
    return spaces === 3 && b[q] === 0x3a ? IRC : 0;
  }
  return 0;
}

/**
 * Gnutella's handshake (The Gnutella Protocol Specification v0.4 §2.1 and v0.6, RFC-Gnutella 0.6 §2.2): the
 * servent's `GNUTELLA CONNECT/x.y` line, or the answer `GNUTELLA/x.y` and a 3-digit status code, each ending in
 * CR LF (0.6) or LF (0.4).
 */
const GNUTELLA_CONNECT = ascii('GNUTELLA CONNECT/');
const GNUTELLA_REPLY = ascii('GNUTELLA/');
function gnutellaHandshake(b: Uint8Array, p: number, end: number): number {
  const connect = has(b, p, end, GNUTELLA_CONNECT);
  if (!connect && !has(b, p, end, GNUTELLA_REPLY)) return 0;
  let q = p + (connect ? GNUTELLA_CONNECT.length : GNUTELLA_REPLY.length);
  if (end - q < 4 || !isDigit(b[q]!) || b[q + 1] !== 0x2e || !isDigit(b[q + 2]!)) return 0;
  q += 3;
  if (connect) return b[q] === 0x0a || (b[q] === 0x0d && end - q >= 2 && b[q + 1] === 0x0a) ? GNUTELLA : 0;
  return end - q >= 6 && b[q] === 0x20 && isDigit(b[q + 1]!) && isDigit(b[q + 2]!) && isDigit(b[q + 3]!) && (b[q + 4] === 0x20 || b[q + 4] === 0x0d) ? GNUTELLA : 0;
}

/**
 * eDonkey / eMule over TCP (Kulbak and Bickson, "The eMule Protocol Specification", 2005, §6.1 TCP header): the
 * protocol byte 0xE3 (eDonkey) or 0xC5 (eMule extensions), a 4-byte little-endian size of the rest of the message (its
 * opcode and payload), whole messages filling the segment.
 */
function edonkeyMessages(b: Uint8Array, p: number, end: number): number {
  let q = p;
  let k = 0;
  for (; q < end && k < 16; k++) {
    if (end - q < 6 || (b[q] !== 0xe3 && b[q] !== 0xc5)) return 0;
    const size = i32le(b, q + 1);
    if (size < 1 || size > 1 << 20) return 0;
    q += 5 + size;
  }
  return q === end && k > 0 ? EDONKEY : 0;
}

/**
 * An X11 session's connection setup (X Window System Protocol, X11R7, "Connection Setup"; Xsecurity(7)) to display
 * ports 6000-6005, which nDPI names XDMCP (the X sessions a display manager runs): byte order `l` (LSB first), an
 * unused byte, protocol version 11.0, the authorization protocol name's and data's lengths, two unused bytes, then the
 * name `MIT-MAGIC-COOKIE-1` and its 16-byte cookie, each padded to 4 bytes, filling the segment (48 bytes).
 */
const MIT_COOKIE = ascii('MIT-MAGIC-COOKIE-1');
function x11Setup(b: Uint8Array, p: number, end: number): number {
  if (end - p !== 48 || b[p + 2] !== 11 || b[p + 3] !== 0 || b[p + 4] !== 0 || b[p + 5] !== 0) return 0;
  if (b[p + 6] !== 18 || b[p + 7] !== 0 || b[p + 8] !== 16 || b[p + 9] !== 0) return 0;
  return has(b, p + 12, end, MIT_COOKIE) ? XDMCP : 0;
}

/**
 * XDMCP (X Display Manager Control Protocol 1.1, "Protocol Format", "Query"), to port 177: version 1, opcode Query
 * (2), a length equal to the rest of the datagram, and the body a count of authentication names each an ARRAY8 (a
 * 2-byte length and that many bytes) walking exactly to the end. (The broadcast and indirect queries are left out:
 * nDPI, whose names ours follow, names only the direct one.)
 */
function xdmcpQuery(b: Uint8Array, p: number, end: number): number {
  if (end - p < 7 || u16(b, p) !== 1 || u16(b, p + 2) !== 2 || u16(b, p + 4) !== end - p - 6) return 0;
  const n = b[p + 6]!;
  let q = p + 7;
  for (let k = 0; k < n; k++) {
    if (end - q < 2) return 0;
    q += 2 + u16(b, q);
  }
  return q === end ? XDMCP : 0;
}

/**
 * IAX2 (RFC 5456 §8.1.1, §8.2, §8.4, §8.6), port 4569: a full frame (F bit set) opening a call or a registration:
 * outbound sequence number 0, inbound 0 or 1, frame type IAX (6), subclass 1-15 (NEW ... REGACK) without the C bit,
 * and information elements (type, length, data) walking exactly to the end of the datagram.
 */
function iaxOpening(b: Uint8Array, p: number, end: number): number {
  if (end - p < 12 || (b[p]! & 0x80) === 0 || b[p + 8] !== 0 || b[p + 9]! > 1 || b[p + 10] !== 6) return 0;
  const sub = b[p + 11]!;
  if (sub < 1 || sub > 15) return 0;
  let q = p + 12;
  for (let k = 0; q < end && k < 32; k++) {
    if (end - q < 2 || b[q] === 0) return 0;
    q += 2 + b[q + 1]!;
  }
  return q === end ? IAX : 0;
}

/**
 * Discord's voice IP discovery (Discord Developer Documentation, "Voice Connections", "IP Discovery"): exactly 74
 * bytes, type 1 (request) or 2 (response), length 70, the SSRC, a 64-byte address field holding a NUL-terminated
 * IPv4/IPv6 text address (empty in a request), and a port.
 */
function discordIpDiscovery(b: Uint8Array, p: number, end: number): number {
  const t = u16(b, p);
  if (end - p !== 74 || (t !== 1 && t !== 2) || u16(b, p + 2) !== 70) return 0;
  for (let q = p + 8; q < p + 72; q++) {
    const c = b[q]!;
    if (c === 0) return q > p + 8 || t === 1 ? DISCORD : 0;
    if (!(isDigit(c) || c === 0x2e || c === 0x3a || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66))) return 0;
  }
  return 0;
}

/**
 * Mumble's UDP ping (Mumble protocol documentation, "UDP Ping packet", the legacy format every server answers), on
 * its port 64738: to the server 12 bytes, a zero request type and an 8-byte identifier; from it 24 bytes, a version
 * (a zero byte, then major ≥ 1, minor, patch), the echoed identifier, users, slots and bandwidth.
 */
function mumblePing(b: Uint8Array, p: number, end: number, fromServer: boolean): number {
  if (!fromServer) return end - p === 12 && i32(b, p) === 0 ? MUMBLE : 0;
  return end - p === 24 && b[p] === 0 && b[p + 1]! >= 1 ? MUMBLE : 0;
}

/**
 * TeamViewer on its port 5938. Its protocol is not published; the magic 0x17 0x24 that opens its command packets
 * (over TCP at the segment's start; over UDP after an 11-byte header whose first byte, a counter, starts at 0) is the
 * one nDPI's teamviewer dissector knows, and on this port nDPI names a flow TeamViewer by it alone.
 */
function teamviewerTcp(b: Uint8Array, p: number, end: number): number {
  return end - p > 2 && b[p] === 0x17 && b[p + 1] === 0x24 ? TEAMVIEWER : 0;
}
function teamviewerUdp(b: Uint8Array, p: number, end: number): number {
  return end - p > 13 && b[p] === 0 && b[p + 11] === 0x17 && b[p + 12] === 0x24 ? TEAMVIEWER : 0;
}

/**
 * NoMachine's session handshake (its NX protocol is not published; as nDPI's nomachine dissector describes it): before
 * its TLS, the client sends `NXSH-` and the server `NXD-`, each followed by a version and nothing else, in a segment of
 * 11 to 14 bytes. Checked here: the version is dotted numbers (`8.10.1`), and only a line end or spaces follow it.
 */
const NXSH = ascii('NXSH-');
const NXD = ascii('NXD-');
function nomachineHello(b: Uint8Array, p: number, end: number): number {
  const n = end - p;
  if (n < 11 || n > 14) return 0;
  let q = has(b, p, end, NXSH) ? p + NXSH.length : has(b, p, end, NXD) ? p + NXD.length : -1;
  if (q < 0 || !isDigit(b[q]!)) return 0;
  let dots = 0;
  for (; q < end && (isDigit(b[q]!) || b[q] === 0x2e); q++) if (b[q] === 0x2e) dots++;
  if (dots < 1 || b[q - 1] === 0x2e) return 0;
  for (; q < end; q++) if (b[q] !== 0x0a && b[q] !== 0x0d && b[q] !== 0x20 && b[q] !== 0) return 0;
  return NOMACHINE;
}


// ---------------------------------------------------------------------------------------------------------------
// Databases, message brokers, industrial and IoT protocols, network infrastructure and management. Tried after
// every rule above (one line in matchTcp / matchUdp), so none of them takes a packet an earlier rule names.

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
function servicesTcp(b: Uint8Array, p: number, end: number, sp: number, dp: number): number {
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
function servicesUdp(b: Uint8Array, p: number, end: number, sp: number, dp: number): number {
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
  return crcDnp(b, p, 8) === (b[p + 8]! | (b[p + 9]! << 8)) ? DNP3 : 0;
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
    const len = b[q + 2]! | (b[q + 3]! << 8);
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
  const frag = le ? b[p + 8]! | (b[p + 9]! << 8) : u16(b, p + 8);
  const auth = le ? b[p + 10]! | (b[p + 11]! << 8) : u16(b, p + 10);
  if (frag < 16 + auth || frag > end - p || (frag < end - p && b[p + frag] !== 5)) return 0;
  const t = b[p + 2]!;
  if (t === 11 || t === 14) {
    const xmit = le ? b[p + 16]! | (b[p + 17]! << 8) : u16(b, p + 16);
    const recv = le ? b[p + 18]! | (b[p + 19]! << 8) : u16(b, p + 18);
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
  if (has(b, p, end, CEPH_V2)) return end - p >= 10 && (b[p + 8]! | (b[p + 9]! << 8)) === 16 ? CEPH : 0;
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

// ---------------------------------------------------------------------------------------------------------------
// Network infrastructure, discovery, IoT and smart home, storage and messaging middleware (round 2). Tried after
// every rule above (one line in matchTcp / matchUdp), so none of them takes a packet an earlier rule names.

const HSRP = P['HSRP']!;
const WSD = P['WSD']!;
const TEREDO = P['Teredo']!;
const CAPWAP = P['CAPWAP']!;
const LISP = P['LISP']!;
const UBNTAC2 = P['UBNTAC2']!;
const TUYALP = P['TuyaLP']!;
const TPLINK_SHP = P['TPLINK_SHP']!;
const ZEROMQ = P['ZeroMQ']!;
const COLLECTD = P['collectd']!;
const FASTCGI = P['FastCGI']!;
const BJNP = P['BJNP']!;
const JRMI = P['JRMI']!;
const CORBA = P['Corba']!;
const LDP = P['LDP']!;
const TIVOCONNECT = P['TiVoConnect']!;
const Z3950 = P['Z3950']!;
const DROPBOX = P['Dropbox']!;
const S7COMM = P['s7comm']!;
const SYNCTHING = P['Syncthing']!;
const RX = P['RX']!;
const ROUGHTIME = P['Roughtime']!;

/** The infrastructure and middleware rules over TCP, each guarding itself by its first bytes or its port. */
function infraTcp(b: Uint8Array, p: number, end: number, sp: number, dp: number): number {
  const b0 = b[p]!;
  let r = 0;
  if (b0 === 0xff) r = zmtpGreeting(b, p, end);
  else if (b0 === 0x4a || b0 === 0x4e) r = jrmiHandshake(b, p, end);
  else if (b0 === 0x47) r = giopMessage(b, p, end, false);
  else if (b0 === 0x01) r = fastcgiBegin(b, p, end);
  else if (b0 === 0x42 || b0 === 0x4d) r = bjnpHeader(b, p, end);
  if (r !== 0) return r;
  if (port(sp, dp, 9999)) r = tplinkShp(b, p, end, true);
  else if (port(sp, dp, 6668)) r = tuyaFrame(b, p, end);
  else if (port(sp, dp, 646)) r = ldpPdus(b, p, end);
  else if (port(sp, dp, 2190)) r = tivoBeacon(b, p, end);
  else if (port(sp, dp, 210)) r = z3950Pdu(b, p, end);
  else if (port(sp, dp, 102)) r = s7commPdu(b, p, end);
  return r;
}

/** The same over UDP. */
function infraUdp(b: Uint8Array, p: number, end: number, sp: number, dp: number): number {
  const b0 = b[p]!;
  let r = 0;
  if (b0 === 0x42 || b0 === 0x4d) r = bjnpHeader(b, p, end);
  else if (b0 === 0x47) r = giopMessage(b, p, end, true);
  if (r === 0 && b0 === 0x4d) r = miopPacket(b, p, end);
  if (r === 0 && b0 === 0x52) r = roughtimePacket(b, p, end);
  if (r !== 0) return r;
  if (port(sp, dp, 1985)) r = hsrp(b, p, end);
  else if (port(sp, dp, 3702)) r = wsDiscovery(b, p, end);
  else if (port(sp, dp, 3544)) r = teredo(b, p, end);
  else if (port(sp, dp, 5246)) r = capwap(b, p, end, true);
  else if (port(sp, dp, 5247)) r = capwap(b, p, end, false);
  else if (port(sp, dp, 4342)) r = lispControl(b, p, end);
  else if (port(sp, dp, 10001)) r = ubntDiscovery(b, p, end, dp === 10001);
  else if (port(sp, dp, 6666) || port(sp, dp, 6667)) r = tuyaFrame(b, p, end);
  else if (port(sp, dp, 9999)) r = tplinkShp(b, p, end, false);
  else if (port(sp, dp, 25826)) r = collectdParts(b, p, end);
  else if (port(sp, dp, 646)) r = ldpPdus(b, p, end);
  else if (port(sp, dp, 2190)) r = tivoBeacon(b, p, end);
  else if (sp === 17500 && dp === 17500) r = dropboxLanSync(b, p, end);
  else if (port(sp, dp, 21027)) r = syncthingAnnounce(b, p, end);
  else if ((sp >= 7000 && sp <= 7009) || (dp >= 7000 && dp <= 7009)) r = rxPacket(b, p, end);
  else if (port(sp, dp, 2002)) r = roughtimeMessage(b, p, end) ? ROUGHTIME : 0;
  return r;
}

/**
 * HSRP on its port 1985. Version 1 (RFC 2281 §5): 20 bytes - version 0, op code Hello, Coup or Resign (0-2), a
 * state of §5 (Initial 0, Learn 1, Listen 2, Speak 4, Standby 8, Active 16), hello and hold times, priority, group,
 * a reserved byte, 8 bytes of authentication data and the virtual address - alone, or followed by TLVs (Cisco's MD5
 * authentication) walking exactly to the datagram's end. Version 2 (Cisco, "HSRP Version 2"): TLVs walking exactly
 * to the end, the first a Group State TLV (type 1, length 40) of version 2, op code 0-2, state 0-6, IP version 4 or 6.
 */
function hsrp(b: Uint8Array, p: number, end: number): number {
  if (end - p < 20) return 0;
  if (b[p] === 0) {
    const s = b[p + 2]!;
    if (b[p + 1]! > 2 || !(s === 0 || s === 1 || s === 2 || s === 4 || s === 8 || s === 16)) return 0;
    return hsrpTlvs(b, p + 20, end) ? HSRP : 0;
  }
  if (b[p] !== 1 || b[p + 1] !== 40 || end - p < 42 || b[p + 2] !== 2 || b[p + 3]! > 2 || b[p + 4]! > 6 || (b[p + 5] !== 4 && b[p + 5] !== 6)) return 0;
  return hsrpTlvs(b, p, end) ? HSRP : 0;
}
function hsrpTlvs(b: Uint8Array, q: number, end: number): boolean {
  for (let k = 0; q < end && k < 8; k++) {
    if (end - q < 2 || b[q] === 0 || b[q]! > 4) return false;
    q += 2 + b[q + 1]!;
  }
  return q === end;
}

/**
 * WS-Discovery on its port 3702 (OASIS "Web Services Dynamic Discovery" 1.1 §2.4, SOAP over UDP): a SOAP envelope
 * (`<?xml` or the `<...Envelope` element first) naming the discovery namespace of version 1.1
 * (`docs.oasis-open.org/ws-dd/ns/discovery/2009/01`) or of the 2005 draft (`schemas.xmlsoap.org/ws/2005/04/discovery`).
 */
const WSD_NS_11 = ascii('ws-dd/ns/discovery/2009/01');
const WSD_NS_2005 = ascii('ws/2005/04/discovery');
const XML_DECL = ascii('<?xml');
const ENVELOPE = ascii('Envelope');
function wsDiscovery(b: Uint8Array, p: number, end: number): number {
  if (end - p < 64 || b[p] !== 0x3c) return 0;
  const env = find(b, p, end, 256, ENVELOPE);
  if (env < 0 || (!has(b, p, end, XML_DECL) && env > p + 32)) return 0;
  return find(b, env, end, 2048, WSD_NS_11) > 0 || find(b, env, end, 2048, WSD_NS_2005) > 0 ? WSD : 0;
}

/**
 * Teredo on its port 3544 (RFC 4380 §5.1.1): an IPv6 packet whose payload length fills the rest of the datagram,
 * after the optional authentication indicator (0x0001, ID and authentication lengths, the client ID, the
 * authentication value, an 8-byte nonce and the confirmation byte) and origin indication (0x0000, port, address).
 */
function teredo(b: Uint8Array, p: number, end: number): number {
  let q = p;
  if (end - q >= 13 && b[q] === 0 && b[q + 1] === 1) q += 13 + b[q + 2]! + b[q + 3]!;
  if (end - q >= 8 && b[q] === 0 && b[q + 1] === 0) q += 8;
  return end - q >= 40 && b[q]! >> 4 === 6 && u16(b, q + 4) === end - q - 40 ? TEREDO : 0;
}

/**
 * CAPWAP on its ports 5246 (control) and 5247 (data) (RFC 5415): a DTLS-protected packet - the preamble of version 0
 * and type 1 with 3 reserved zero bytes (§4.2), then a DTLS record header (content type 20-23, version 1.0 or 1.2) -
 * or a clear packet whose header (§4.3) has preamble 0, an HLEN of at least 2 words within the datagram, the F bit
 * and the reserved flags clear and a Wireless Binding ID of 0, 1 or 3. On the control port the T bit is clear and a
 * control message follows (§4.5): a message type of the IANA enterprise 0 (1-26, §4.5.1), the Message Element Length
 * counting what follows the sequence number, flags 0, and message elements (type, length) walking exactly to the
 * end. On the data port (§4.4): a keep-alive (the K bit, T clear) - the length of its message elements, which walk
 * exactly to the end - or an IEEE 802.11 frame in its native format (T set, binding 1; RFC 5416 §3) whose frame
 * control has protocol version 0 and a defined type.
 */
function capwap(b: Uint8Array, p: number, end: number, control: boolean): number {
  if (end - p < 12) return 0;
  if (b[p] === 0x01) {
    const t = b[p + 4]!;
    return b[p + 1] === 0 && b[p + 2] === 0 && b[p + 3] === 0 && t >= 20 && t <= 23 && b[p + 5] === 0xfe && (b[p + 6] === 0xff || b[p + 6] === 0xfd) ? CAPWAP : 0;
  }
  if (b[p] !== 0) return 0;
  const w = i32(b, p);
  const hlen = ((w >> 19) & 0x1f) * 4;
  const wbid = (w >> 9) & 0x1f;
  const native = (w & 0x100) !== 0;
  if (hlen < 8 || (w & 0x87) !== 0 || !(wbid <= 1 || wbid === 3) || end - p < hlen + 2) return 0;
  const q = p + hlen;
  if (!control) {
    if ((w & 0x08) !== 0) return !native && u16(b, q) === end - q - 2 && capwapElements(b, q + 2, end) ? CAPWAP : 0;
    return native && wbid === 1 && (b[q]! & 0x03) === 0 && (b[q]! & 0x0c) !== 0x0c ? CAPWAP : 0;
  }
  if (native || end - q < 8) return 0;
  const type = i32(b, q);
  return type >= 1 && type <= 26 && b[q + 7] === 0 && u16(b, q + 5) === end - q - 5 && capwapElements(b, q + 8, end) ? CAPWAP : 0;
}
function capwapElements(b: Uint8Array, e: number, end: number): boolean {
  for (let k = 0; e < end && k < 64; k++) {
    if (end - e < 4) return false;
    e += 4 + u16(b, e + 2);
  }
  return e === end;
}

/**
 * LISP control messages on port 4342 (RFC 9301 §5): Map-Register (type 3) and Map-Notify (4) - a record count ≥ 1,
 * the 8-byte nonce, a Key ID and an Algorithm ID (RFC 6833's 16-bit Key ID 0-2 reads the same) of none (0, no
 * authentication data), HMAC-SHA-1-96 (1: 12 or 20 bytes) or HMAC-SHA-256-128 (2: 16 or 32 bytes) with that
 * authentication data length, then EID records; Map-Reply (2) - a record count ≥ 1, the nonce,
 * EID records; each record (§5.4) a TTL, a locator count, an EID mask length within its AFI (IPv4 1: 32, IPv6 2: 128),
 * and that many locators (§5.4: priorities, weights, flags, an IPv4 or IPv6 locator), the records walking exactly to
 * the datagram's end (or to the 16-byte xTR-ID and 8-byte site-ID that end a Map-Register or Map-Notify with the I
 * bit, §5.6). An Encapsulated Control Message (type 8, §5.8): its 4-byte header, then an IPv4 header (version
 * 4, IHL 5, total length filling the datagram) carrying UDP to port 4342.
 */
function lispControl(b: Uint8Array, p: number, end: number): number {
  if (end - p < 12) return 0;
  const type = b[p]! >> 4;
  if (type === 8) {
    const q = p + 4;
    return end - q >= 28 && b[q] === 0x45 && u16(b, q + 2) === end - q && b[q + 9] === 17 && u16(b, q + 22) === 4342 ? LISP : 0;
  }
  const count = b[p + 3]!;
  if (count < 1 || count > 32) return 0;
  let q = p + 12;
  let last = end;
  if (type === 3 || type === 4) {
    if (end - q < 4) return 0;
    const alg = b[q + 1]!;
    const alen = u16(b, q + 2);
    if (!((alg === 0 && alen === 0) || (alg === 1 && (alen === 12 || alen === 20)) || (alg === 2 && (alen === 16 || alen === 32)))) return 0;
    q += 4 + alen;
    if ((b[p]! & (type === 3 ? 0x02 : 0x08)) !== 0) last = end - 24; // the I bit: the xTR-ID and site-ID end the message
  } else if (type !== 2) return 0;
  for (let k = 0; k < count; k++) {
    q = lispRecord(b, q, last);
    if (q < 0) return 0;
  }
  return q === last ? LISP : 0;
}
function lispRecord(b: Uint8Array, q: number, end: number): number {
  if (end - q < 12) return -1;
  const locators = b[q + 4]!;
  const mask = b[q + 5]!;
  const afi = u16(b, q + 10);
  if (afi === 1 ? mask > 32 : afi === 2 ? mask > 128 : true) return -1;
  q += 12 + (afi === 1 ? 4 : 16);
  for (let k = 0; k < locators; k++) {
    if (end - q < 8) return -1;
    const lafi = u16(b, q + 6);
    if (lafi !== 1 && lafi !== 2) return -1;
    q += 8 + (lafi === 1 ? 4 : 16);
  }
  return q <= end ? q : -1;
}

/**
 * Ubiquiti's device discovery on port 10001 (the UBNT discovery protocol, as Wireshark's `ubdp` dissector documents
 * it): version 1 or 2, a command, the length of what follows, then TLVs (1-byte type, 2-byte length) walking exactly
 * to the datagram's end; or the version-1 discovery request `01 00 00 00` to the port.
 */
function ubntDiscovery(b: Uint8Array, p: number, end: number, toPort: boolean): number {
  if (end - p < 4 || (b[p] !== 1 && b[p] !== 2) || u16(b, p + 2) !== end - p - 4) return 0;
  if (end - p === 4) return toPort && b[p] === 1 && b[p + 1] === 0 ? UBNTAC2 : 0;
  let q = p + 4;
  let n = 0;
  for (; q < end && n < 64; n++) {
    if (end - q < 3 || b[q] === 0) return 0;
    q += 3 + u16(b, q + 1);
  }
  return q === end && n >= 2 ? UBNTAC2 : 0;
}

/**
 * Tuya's LAN protocol (Tuya, "Local area network communication" of its device protocol; the 3.1-3.4 frames and 3.5's,
 * as the tinytuya project documents them) on UDP 6666/6667 and TCP 6668: one frame filling the datagram or segment -
 * the prefix 0x000055AA, a sequence number, a command, the length of the rest (return code, payload, CRC or HMAC,
 * suffix) and the suffix 0x0000AA55; in 3.5, prefix 0x00006699, 2 unknown bytes, sequence, command, the length and
 * the suffix 0x00009966.
 */
function tuyaFrame(b: Uint8Array, p: number, end: number): number {
  if (end - p < 24 || b[p] !== 0 || b[p + 1] !== 0) return 0;
  if (b[p + 2] === 0x55 && b[p + 3] === 0xaa) {
    return i32(b, p + 12) === end - p - 16 && i32(b, end - 4) === 0x0000aa55 ? TUYALP : 0;
  }
  if (b[p + 2] === 0x66 && b[p + 3] === 0x99) {
    return i32(b, p + 14) === end - p - 18 && i32(b, end - 4) === 0x00009966 ? TUYALP : 0;
  }
  return 0;
}

/**
 * TP-Link's smart-home protocol on port 9999 (softScheck, "Reverse Engineering the TP-Link HS110", 2016): JSON
 * enciphered with an autokey XOR (key 171, then each cipher byte is the next key), over TCP behind a 4-byte length
 * equal to the rest of the segment. The plain text must be a JSON object: `{"`, then printable text, and `}` last.
 */
function tplinkShp(b: Uint8Array, p: number, end: number, tcp: boolean): number {
  let q = p;
  if (tcp) {
    if (end - p < 8 || i32(b, p) !== end - p - 4) return 0;
    q += 4;
  }
  if (end - q < 4 || b[q] !== 0xd0 || b[q + 1] !== 0xf2) return 0; // `{"` under keys 171 and 0xd0
  let key = 171;
  let c = 0;
  for (let i = q; i < end; i++) {
    c = b[i]! ^ key;
    key = b[i]!;
    if (c < 0x20 || c > 0x7e) {
      if (c !== 0x0a && c !== 0x0d && c !== 0x09) return 0;
    }
  }
  return c === 0x7d ? TPLINK_SHP : 0;
}

/**
 * ZeroMQ's ZMTP greeting (ZMTP 3.0, rfc.zeromq.org 23; 3.1, 37; the 2.0 signature it keeps, 15): the signature 0xFF,
 * 8 padding bytes (zeros, the last one 0 or 1) and 0x7F, alone or followed by the major version (3, or 1 for ZMTP
 * 2.0); a whole ZMTP 3 greeting (64 bytes) also carries its minor version (0, 1), a mechanism name (`NULL`, `PLAIN`,
 * `CURVE`... upper-case letters, digits, `-_.+`, zero-padded to 20 bytes), as-server 0 or 1 and 31 zero bytes.
 */
function zmtpGreeting(b: Uint8Array, p: number, end: number): number {
  if (end - p < 10 || b[p + 9] !== 0x7f || b[p + 8]! > 1) return 0;
  for (let i = p + 1; i < p + 8; i++) if (b[i] !== 0) return 0;
  if (end - p === 10) return ZEROMQ;
  const major = b[p + 10]!;
  if (major !== 3 && major !== 1) return 0;
  if (end - p === 11 || major === 1) return end - p <= 14 ? ZEROMQ : 0;
  if (end - p === 12) return b[p + 11]! <= 1 ? ZEROMQ : 0;
  if (end - p < 64 || b[p + 11]! > 1) return 0;
  let i = p + 12;
  for (; i < p + 32 && b[i] !== 0; i++) {
    const c = b[i]!;
    if (!((c >= 0x41 && c <= 0x5a) || isDigit(c) || c === 0x2d || c === 0x5f || c === 0x2e || c === 0x2b)) return 0;
  }
  if (i === p + 12) return 0;
  for (; i < p + 32; i++) if (b[i] !== 0) return 0;
  if (b[p + 32]! > 1) return 0;
  for (i = p + 33; i < p + 64; i++) if (b[i] !== 0) return 0;
  return ZEROMQ;
}

/**
 * collectd's binary network protocol on its port 25826 (collectd wiki, "Binary protocol"): parts walking exactly to
 * the datagram's end, at least two, each a known type (host 0, time 1, plugin 2, plugin instance 3, type 4, type
 * instance 5, values 6, interval 7, high-resolution time 8 and interval 9, message 0x100, severity 0x101, signature
 * 0x200, encryption 0x210) and a length counting its 4-byte header: 12 for the numbers, 6 + 9 × count for values,
 * a zero-terminated string for the names.
 */
function collectdParts(b: Uint8Array, p: number, end: number): number {
  let q = p;
  let n = 0;
  for (; q < end && n < 256; n++) {
    if (end - q < 5) return 0;
    const type = u16(b, q);
    const len = u16(b, q + 2);
    if (len < 5 || len > end - q) return 0;
    if (type === 1 || type === 7 || type === 8 || type === 9 || type === 0x101) {
      if (len !== 12) return 0;
    } else if (type === 6) {
      if (len !== 6 + 9 * u16(b, q + 4)) return 0;
    } else if (type <= 5 || type === 0x100) {
      if (b[q + len - 1] !== 0) return 0;
    } else if (type !== 0x200 && type !== 0x210) return 0;
    q += len;
  }
  return q === end && n >= 2 ? COLLECTD : 0;
}

/**
 * FastCGI (Open Market, "FastCGI Specification" 1.0, §8): the web server's first record, FCGI_BEGIN_REQUEST - version
 * 1, type 1, a request id ≥ 1, content length 8, a reserved zero byte; its body a role (Responder 1, Authorizer 2,
 * Filter 3), flags 0 or 1 (FCGI_KEEP_CONN) and 5 reserved zero bytes - ending the segment or followed by the next
 * record of the request (version 1, FCGI_PARAMS 4 or FCGI_STDIN 5, the same request id).
 */
function fastcgiBegin(b: Uint8Array, p: number, end: number): number {
  if (end - p < 16 || b[p + 1] !== 1 || u16(b, p + 2) === 0 || u16(b, p + 4) !== 8 || b[p + 7] !== 0) return 0;
  const role = u16(b, p + 8);
  if (role < 1 || role > 3 || b[p + 10]! > 1) return 0;
  for (let i = p + 11; i < p + 16; i++) if (b[i] !== 0) return 0;
  const q = p + 16 + b[p + 6]!;
  if (q === end) return FASTCGI;
  return end - q >= 8 && b[q] === 1 && (b[q + 1] === 4 || b[q + 1] === 5) && u16(b, q + 2) === u16(b, p + 2) ? FASTCGI : 0;
}

/**
 * Canon's BJNP (printer and scanner discovery and commands on ports 8611-8614, as the cups-bjnp project documents
 * it): the magic `BJNP` (or `MFNP` of the multi-function devices), a device type (printer 0x01, scanner 0x02; 0x81,
 * 0x82 in replies), a command code, error, sequence and session fields, and the payload length: the rest of the
 * datagram or segment.
 */
const BJNP_MAGIC = ascii('BJNP');
const MFNP_MAGIC = ascii('MFNP');
function bjnpHeader(b: Uint8Array, p: number, end: number): number {
  if (end - p < 16 || (!has(b, p, end, BJNP_MAGIC) && !has(b, p, end, MFNP_MAGIC))) return 0;
  const t = b[p + 4]! & 0x7f;
  return (t === 1 || t === 2) && i32(b, p + 12) === end - p - 16 ? BJNP : 0;
}

/**
 * Java RMI's transport (Java RMI Specification §10.2): the client's header `JRMI`, version 1 or 2 and a protocol
 * (StreamProtocol 0x4B, SingleOpProtocol 0x4C, MultiplexProtocol 0x4D), alone or followed by a message (Call 0x50,
 * Ping 0x52, DgcAck 0x54); the server's ProtocolAck (0x4E) with the client's host as a Java UTF string (printable,
 * at most 255 bytes) and its port, filling the segment exactly. (ProtocolNotSupported, the one byte 0x4F, says too
 * little.)
 */
const JRMI_MAGIC = ascii('JRMI');
function jrmiHandshake(b: Uint8Array, p: number, end: number): number {
  if (b[p] === 0x4e) {
    if (end - p < 8) return 0;
    const n = u16(b, p + 1);
    if (n < 1 || n > 255 || end - p !== 3 + n + 4) return 0;
    for (let i = p + 3; i < p + 3 + n; i++) if (b[i]! < 0x21 || b[i]! > 0x7e) return 0;
    return JRMI;
  }
  if (end - p < 7 || !has(b, p, end, JRMI_MAGIC) || b[p + 4] !== 0 || (b[p + 5] !== 1 && b[p + 5] !== 2) || b[p + 6]! < 0x4b || b[p + 6]! > 0x4d) return 0;
  return end - p === 7 || b[p + 7] === 0x50 || b[p + 7] === 0x52 || b[p + 7] === 0x54 ? JRMI : 0;
}

/**
 * CORBA's GIOP (OMG, CORBA 3.3 Part 2, §9.4.1 "GIOP Message Header"): `GIOP`, version 1.0-1.3, flags (the byte order
 * bit; from 1.1 also the fragment bit; the rest clear), a message type of the version (Request 0 ... MessageError 6,
 * Fragment 7 from 1.1) and the message size in the flagged byte order: the rest of the segment, or more when the
 * message runs on (at most 16 MiB); over UDP (GIOP is transport-independent, §9.2), exactly the rest of the datagram.
 */
const GIOP_MAGIC = ascii('GIOP');
function giopMessage(b: Uint8Array, p: number, end: number, datagram: boolean): number {
  if (end - p < 12 || !has(b, p, end, GIOP_MAGIC) || b[p + 4] !== 1 || b[p + 5]! > 3) return 0;
  const minor = b[p + 5]!;
  const flags = b[p + 6]!;
  if (flags > (minor === 0 ? 1 : 3) || b[p + 7]! > (minor === 0 ? 6 : 7)) return 0;
  const size = flags & 1 ? i32le(b, p + 8) : i32(b, p + 8);
  return datagram ? (size === end - p - 12 ? CORBA : 0) : size >= end - p - 12 && size <= 1 << 24 ? CORBA : 0;
}

/**
 * CORBA's MIOP (OMG, "Unreliable Multicast Inter-ORB Protocol" 1.0, PacketHeader_1_0), GIOP's datagram transport:
 * `MIOP`, header version 1.0 (0x10), flags of byte order and last fragment only, then in that byte order the packet
 * length, the packet number, below the number of packets, and the unique id's length (at most 252) with its bytes,
 * all within the datagram.
 */
const MIOP_MAGIC = ascii('MIOP');
function miopPacket(b: Uint8Array, p: number, end: number): number {
  if (end - p < 20 || !has(b, p, end, MIOP_MAGIC) || b[p + 4] !== 0x10 || b[p + 5]! > 3) return 0;
  const le = (b[p + 5]! & 1) !== 0;
  const count = le ? i32le(b, p + 12) : i32(b, p + 12);
  const index = le ? i32le(b, p + 8) : i32(b, p + 8);
  const idLen = le ? i32le(b, p + 16) : i32(b, p + 16);
  return count >= 1 && index >= 0 && index < count && idLen >= 0 && idLen <= 252 && 20 + idLen <= end - p ? CORBA : 0;
}

/**
 * LDP on its port 646 (RFC 5036 §3.1, §3.5): PDUs of version 1 whose PDU length (after the version and length
 * fields) walks exactly to the end, each an LSR id and label space then messages - a type of RFC 5036 §3.7
 * (Notification 0x0001, Hello 0x0100, Initialization 0x0200, KeepAlive 0x0201, Address 0x0300/0x0301, the label
 * messages 0x0400-0x0404) with the U bit, its length (≥ 4, for the message id) - filling the PDU exactly.
 */
function ldpPdus(b: Uint8Array, p: number, end: number): number {
  let q = p;
  for (let k = 0; q < end && k < 16; k++) {
    if (end - q < 14 || u16(b, q) !== 1) return 0;
    const pduEnd = q + 4 + u16(b, q + 2);
    if (pduEnd > end) return 0;
    let m = q + 10;
    for (let j = 0; m < pduEnd && j < 64; j++) {
      if (pduEnd - m < 8) return 0;
      const t = u16(b, m) & 0x7fff;
      if (!(t === 0x0001 || t === 0x0100 || t === 0x0200 || t === 0x0201 || t === 0x0300 || t === 0x0301 || (t >= 0x0400 && t <= 0x0404))) return 0;
      const len = u16(b, m + 2);
      if (len < 4) return 0;
      m += 4 + len;
    }
    if (m !== pduEnd) return 0;
    q = pduEnd;
  }
  return q === end ? LDP : 0;
}

/**
 * TiVo Connect discovery on its port 2190 (TiVo Inc., "TiVo Connect Automatic Machine Discovery Protocol"): the
 * beacon, lines of `key=value`, the first `tivoconnect=` and a version number.
 */
const TIVOCONNECT_KEY = ascii('TIVOCONNECT=');
function tivoBeacon(b: Uint8Array, p: number, end: number): number {
  return hasNoCase(b, p, end, TIVOCONNECT_KEY) && end - p > TIVOCONNECT_KEY.length && isDigit(b[p + TIVOCONNECT_KEY.length]!) ? TIVOCONNECT : 0;
}

/**
 * Z39.50 on its port 210 (ANSI/NISO Z39.50-2003, §3.2 and its ASN.1 in Appendix 1): one BER-encoded PDU filling the
 * segment exactly, tagged as one of the protocol's APDUs (initRequest [20] ... close [48], context-specific and
 * constructed: 0xB4-0xBF, or 0xBF with the high tag numbers 31-48), whose first element is context-specific.
 */
function z3950Pdu(b: Uint8Array, p: number, end: number): number {
  if (end - p < 4) return 0;
  const t = b[p]!;
  let q = p + 1;
  if (t === 0xbf) {
    if (b[q]! < 31 || b[q]! > 48) return 0;
    q++;
  } else if (t < 0xb4 || t > 0xbe) return 0;
  if (berLength(b, q, end) !== end) return 0;
  const v = berBody(b, q);
  return v < end && (b[v]! & 0xc0) === 0x80 ? Z3950 : 0;
}

/**
 * Dropbox's LAN sync discovery (UDP broadcasts from and to port 17500, the `db-lsp-disc` announcement Wireshark
 * documents): one JSON object naming the client's `"host_int"` and the announcement's `"version"`.
 */
const DROPBOX_HOST_INT = ascii('"host_int"');
const DROPBOX_VERSION = ascii('"version"');
function dropboxLanSync(b: Uint8Array, p: number, end: number): number {
  if (end - p < 32 || b[p] !== 0x7b || b[p + 1] !== 0x22) return 0;
  let e = end - 1;
  while (e > p && (b[e] === 0x0a || b[e] === 0x0d || b[e] === 0x20)) e--;
  return b[e] === 0x7d && find(b, p, end, 1024, DROPBOX_HOST_INT) > 0 && find(b, p, end, 1024, DROPBOX_VERSION) > 0 ? DROPBOX : 0;
}

/**
 * S7 communication (Siemens S7comm) on ISO-TSAP's port 102: a TPKT (RFC 1006 §6: version 3, reserved 0, a length
 * filling the segment exactly) carrying an ISO 8073 data TPDU (length indicator 2, code 0xF0, the EOT bit with a TPDU
 * number) whose user data is an S7 PDU, as Siemens' S7 protocol is documented (the Snap7 project, Wireshark's
 * `s7comm` dissector): protocol id 0x32, a ROSCTR of Job 1, Ack 2, Ack_Data 3 or Userdata 7, a reserved zero word, the
 * PDU reference, and parameter and data lengths that, with the header (12 bytes for Ack and Ack_Data, which carry an
 * error class and code, else 10), fill the TPDU exactly.
 */
function s7commPdu(b: Uint8Array, p: number, end: number): number {
  if (end - p < 17 || b[p] !== 3 || b[p + 1] !== 0 || u16(b, p + 2) !== end - p) return 0;
  if (b[p + 4] !== 2 || b[p + 5] !== 0xf0 || b[p + 7] !== 0x32 || u16(b, p + 9) !== 0) return 0;
  const rosctr = b[p + 8]!;
  if (!(rosctr === 1 || rosctr === 2 || rosctr === 3 || rosctr === 7)) return 0;
  const header = rosctr === 2 || rosctr === 3 ? 12 : 10;
  return p + 7 + header + u16(b, p + 13) + u16(b, p + 15) === end ? S7COMM : 0;
}

/**
 * Syncthing's local discovery on its port 21027 (Syncthing documentation, "Local Discovery Protocol v4"): the magic
 * 0x2EA7D90B, then the Announce message in protocol buffers, opening with field 1, the device ID, of 32 bytes.
 */
function syncthingAnnounce(b: Uint8Array, p: number, end: number): number {
  return end - p >= 38 && i32(b, p) === 0x2ea7d90b && b[p + 4] === 0x0a && b[p + 5] === 32 ? SYNCTHING : 0;
}

/**
 * AFS's Rx RPC on the AFS ports 7000-7009 (file server, callback, protection, volume location, authentication, volume,
 * ..., as OpenAFS documents Rx's wire format, rx_packet.h): the 28-byte header - epoch (non-zero: the connection's
 * start time), connection id, call number, sequence, serial (non-zero), a packet type (data 1, ack 2, busy 3, abort 4,
 * ackall 5, challenge 6, response 7, debug 8, params 9, version 13), flags of the defined bits (client-initiated,
 * request-ack, last packet, more packets, slow start, jumbo: 0x3F), a security index of 0-3 and a service id; a data
 * packet carries a call number and sequence ≥ 1 and its payload.
 */
function rxPacket(b: Uint8Array, p: number, end: number): number {
  if (end - p < 28 || i32(b, p) === 0 || i32(b, p + 16) === 0 || b[p + 21]! > 0x3f || b[p + 23]! > 3) return 0;
  const type = b[p + 20]!;
  if (type === 1) return i32(b, p + 8) !== 0 && i32(b, p + 12) !== 0 && end - p > 28 ? RX : 0;
  return (type >= 2 && type <= 9) || type === 13 ? RX : 0;
}

/**
 * Roughtime (IETF draft-ietf-ntp-roughtime §5, and Google's original protocol, roughtime PROTOCOL.md): the IETF
 * packet - `ROUGHTIM`, then the little-endian length of the message that fills the rest of the datagram - or, on
 * the registered port 2002, the bare message of the original protocol. A message is a tag-value map, little-endian:
 * the number of tags (1-64), that many less one offsets (multiples of 4, non-decreasing, within the values), the tags
 * in strictly ascending order, then the values; its length is a multiple of 4.
 */
const ROUGHTIM = ascii('ROUGHTIM');
function roughtimePacket(b: Uint8Array, p: number, end: number): number {
  return end - p >= 20 && has(b, p, end, ROUGHTIM) && i32le(b, p + 8) === end - p - 12 && roughtimeMessage(b, p + 12, end) ? ROUGHTIME : 0;
}
function roughtimeMessage(b: Uint8Array, q: number, end: number): boolean {
  const len = end - q;
  const n = i32le(b, q);
  if (len < 8 || len % 4 !== 0 || n < 1 || n > 64 || 8 * n > len) return false;
  const values = len - 8 * n;
  let last = 0;
  for (let k = 1; k < n; k++) {
    const off = i32le(b, q + 4 * k);
    if (off < last || off % 4 !== 0 || off > values) return false;
    last = off;
  }
  const tags = q + 4 * n;
  // Tags compared as unsigned 32-bit numbers, kept in int32 range: flipping the sign bit preserves the order.
  for (let k = 1; k < n; k++) if ((i32le(b, tags + 4 * k) ^ 0x80000000) <= (i32le(b, tags + 4 * (k - 1)) ^ 0x80000000)) return false;
  return true;
}
