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
 *
 * Layout: `payload/protocols.ts` holds the list and the ids; `payload/bytes.ts` the readers every rule shares; this
 * file the dispatch (matchTcp, matchUdp) and the core rules (web, mail, name services, file sharing, VPNs, VoIP
 * signalling...); each further group of rules is a module of `payload/` (messaging.ts, services.ts, media.ts,
 * infra.ts, network.ts, games.ts, transfer.ts, sessions.ts) reached by one line of matchTcp / matchUdp, after the
 * rules above it, so a new group cannot take a packet an older rule names.
 */
import { PROTO_TCP, PROTO_UDP } from './transport.js';
import { isQuicInitialCandidate } from './quic-initial.js';
import { u16, i32, i32le, ascii, port, has, hasNoCase, find, isDigit, isVersion, isHttp1Version, lineEnd, findNoCase, berLength, berBody, V_HTTP10, V_HTTP11 } from './payload/bytes.js';
import { messagingTcp, messagingUdp, messagingUdpByPort } from './payload/messaging.js';
import { PayloadProtocol } from './payload/protocols.js';
import { infraTcp, infraUdp } from './payload/infra.js';
import { mediaTcp, mediaUdp } from './payload/media.js';
import { servicesTcp, servicesUdp } from './payload/services.js';
import { networkTcp, networkUdp } from './payload/network.js';
import { gamesTcp, gamesUdp } from './payload/games.js';
import { transferTcp, transferUdp } from './payload/transfer.js';
import { sessionsTcp, sessionsUdp } from './payload/sessions.js';
import { infraTwoTcp, infraTwoUdp } from './payload/infra2.js';
import { gamesTwoTcp, gamesTwoUdp } from './payload/games2.js';

export { PAYLOAD_PROTOCOLS, PayloadProtocol, payloadProtocolName, RTP_ID } from './payload/protocols.js';

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
const SOAP = P['SOAP']!;
const MPEGDASH = P['MpegDash']!;
const HTTP_DOWNLOAD = P['HTTP_Download']!;
const HTTP_MEDIA = P['HTTP_Media']!;


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
  if (r === 0) r = messagingTcp(b, p, end, sp, dp);
  if (r === 0) r = servicesTcp(b, p, end, sp, dp);
  if (r === 0) r = mediaTcp(b, p, end, sp, dp);
  if (r === 0) r = infraTcp(b, p, end, sp, dp);
  if (r === 0) r = networkTcp(b, p, end, sp, dp);
  if (r === 0) r = gamesTcp(b, p, end, sp, dp);
  if (r === 0) r = transferTcp(b, p, end, sp, dp);
  if (r === 0) r = sessionsTcp(b, p, end, sp, dp);
  if (r === 0) r = infraTwoTcp(b, p, end, sp, dp);
  if (r === 0) r = gamesTwoTcp(b, p, end, sp, dp);
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
const V_SIP = ascii('SIP/2.0');
const V_RTSP10 = ascii('RTSP/1.0');
const V_RTSP20 = ascii('RTSP/2.0');
const SSH_ = ascii('SSH-');
const RFB_ = ascii('RFB ');
const EHLO = ascii('EHLO ');
const HELO = ascii('HELO ');
const MGCP_VERBS = ['EPCF', 'CRCX', 'MDCX', 'DLCX', 'RQNT', 'NTFY', 'AUEP', 'AUCX', 'RSIP'].map(ascii);
const V_MGCP = ascii('MGCP ');

/** One of `list` at `p`, followed by a space: the position after the space, or -1. */
function methodOf(b: Uint8Array, p: number, end: number, list: readonly Uint8Array[]): number {
  for (let i = 0; i < list.length; i++) {
    const m = list[i]!;
    if (has(b, p, end, m) && b[p + m.length] === 0x20) return p + m.length + 1;
  }
  return -1;
}


/**
 * A payload starting with a text line in upper-case letters: an HTTP/1.x (RFC 9112 §3, §4), SIP (RFC 3261 §7.1-2)
 * or RTSP (RFC 2326 §6, §7; RFC 7826) request line `METHOD SP target SP VERSION CRLF` with one of the protocol's
 * methods, or a status line `VERSION SP 3DIGIT SP`; SSDP (UPnP Device Architecture 2.0 §1.3) is HTTP over UDP, and
 * so is BitTorrent's Local Service Discovery (BEP 14, btSearchFields);
 * SSH's identification string (RFC 4253 §4.2), SMTP's EHLO/HELO (RFC 5321 §4.1.1.1), MGCP commands (RFC 3435
 * §3.2.1), and RFB's ProtocolVersion (RFC 6143 §7.1.1). An HTTP request is refined by what its first packet shows
 * (httpRequestKind: SOAP, MpegDash, a BitTorrent tracker announce).
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
  if (isHttp1Version(b, v, eol)) {
    if (udp) {
      if (b[target] !== 0x2a || sp2 !== target + 1) return 0;
      if (methodOf(b, p, eol, METHODS_SSDP) === target) return SSDP;
      return methodOf(b, p, eol, METHOD_BT_SEARCH) === target && btSearchFields(b, eol + 2, end) ? BITTORRENT : 0;
    }
    return methodOf(b, p, eol, METHODS_HTTP) === target ? httpRequestKind(b, p, target, sp2, eol, end) : 0;
  }
  if (isVersion(b, v, eol, V_SIP)) return methodOf(b, p, eol, METHODS_SIP) === target ? SIP : 0;
  if (!udp && (isVersion(b, v, eol, V_RTSP10) || isVersion(b, v, eol, V_RTSP20))) return methodOf(b, p, eol, METHODS_RTSP) === target ? RTSP : 0;
  return 0;
}

/**
 * What an HTTP/1.x request (its request line already checked) carries, when its first packet names it: SOAP, an
 * MPEG-DASH resource or a BitTorrent tracker announce, else plain HTTP. Refinements of the HTTP answer, here rather
 * than in a later module, because this rule answers HTTP for every such request first.
 *
 * - SOAP: a POST whose header section (as far as the packet holds it) has a `SOAPAction` field (SOAP 1.1, W3C Note
 *   of 8 May 2000, §6.1.1: a client MUST send it with every SOAP HTTP request) or the media type
 *   `application/soap+xml` (SOAP 1.2 Part 2 §7.1.4; RFC 3902 registers the type) in `Content-Type`. Field names
 *   and media types are compared without case (RFC 9110 §5.1, §8.3.1); a field line is `name:` at a line's start,
 *   with no space before the colon (RFC 9112 §5.1).
 * - MpegDash: the request target's path, before any `?` query (RFC 3986 §3.3-3.4; origin form, or the path
 *   after the authority of the absolute form, RFC 9112 §3.2), ends in a name with the extension of a DASH manifest,
 *   `.mpd` (ISO/IEC 23009-1, the application/dash+xml registration), or of an ISO BMFF media segment, `.m4s` (the
 *   video/iso.segment registration; DASH-IF's segment naming). Spelt in lower case as the specifications spell
 *   them, and compared with case: a URI's path is case-sensitive (RFC 3986 §6.2.2.1), so `.MPD` is another name.
 *   An HLS stream of fragmented MP4 may also name its segments `.m4s`: such a segment is taken as DASH's, the same
 *   application group (Media) either way. Left out: HLS playlists (`.m3u8`, RFC 8216 §4), written and dropped
 *   because the suite's nDPI names every such request in ../shared/data/ndpi plain HTTP (3 flows, 2 captures);
 *   `.ts`, MPEG-2 transport stream segments, a name too common for other files. A response's Content-Type, the
 *   server's later packet, is httpResponseKind's.
 * - BitTorrent: a tracker announce (BEP 3, "Trackers"): a GET whose query has the two keys every announce carries,
 *   `info_hash` and `peer_id` (names compared as BEP 3 spells them). The announce URL's path is the tracker's own
 *   (`/announce`, `/announce.php`...), so the query decides, not the path.
 */
const POST_ = ascii('POST ');
const SOAPACTION = ascii('SOAPACTION:');
const CONTENT_TYPE = ascii('CONTENT-TYPE:');
const SOAP_XML = ascii('APPLICATION/SOAP+XML');
const EXT_MPD = ascii('.mpd');
const EXT_M4S = ascii('.m4s');
const GET_ = ascii('GET ');
const Q_INFO_HASH = ascii('info_hash=');
const Q_PEER_ID = ascii('peer_id=');
function httpRequestKind(b: Uint8Array, p: number, target: number, sp2: number, eol: number, end: number): number {
  if (has(b, p, target, POST_) && soapHeaders(b, eol + 2, end)) return SOAP;
  // The path: from the target's `/` (origin form) or from the first `/` after `scheme://authority`, to `?` or the end.
  let q = target;
  if (b[q] !== 0x2f) {
    while (q < sp2 - 2 && !(b[q] === 0x3a && b[q + 1] === 0x2f && b[q + 2] === 0x2f)) q++;
    q += 3;
    while (q < sp2 && b[q] !== 0x2f) q++;
  }
  let e = q;
  while (e < sp2 && b[e] !== 0x3f) e++;
  if (endsWith(b, q, e, EXT_MPD) || endsWith(b, q, e, EXT_M4S)) return MPEGDASH;
  if (has(b, p, target, GET_) && e < sp2 && queryHas(b, e + 1, sp2, Q_INFO_HASH) && queryHas(b, e + 1, sp2, Q_PEER_ID)) return BITTORRENT;
  return HTTP;
}

/**
 * Does the query `b[q .. e)` (after its `?`) have the parameter `key` (with its `=`): at the query's start or after
 * an `&` (the form encoding of HTML's application/x-www-form-urlencoded, which BEP 3's tracker requests use)?
 */
function queryHas(b: Uint8Array, q: number, e: number, key: Uint8Array): boolean {
  for (let i = q; i + key.length <= e; i++) if ((i === q || b[i - 1] === 0x26) && has(b, i, e, key)) return true;
  return false;
}

/** Does the path `b[q .. e)` end in a file name (at least one byte, not `/`) and then the extension `ext`? */
function endsWith(b: Uint8Array, q: number, e: number, ext: Uint8Array): boolean {
  const s = e - ext.length;
  return s - 1 > q && b[s - 1] !== 0x2f && has(b, s, e, ext);
}

/**
 * A SOAP request's header fields from `q` (the line after the request line): `SOAPAction:`, or `Content-Type:` with
 * the media type application/soap+xml.
 */
function soapHeaders(b: Uint8Array, q: number, end: number): boolean {
  return fieldValue(b, q, end, SOAPACTION) >= 0 || mediaTypeIs(b, fieldValue(b, q, end, CONTENT_TYPE), end, SOAP_XML);
}

/**
 * Where the value of header field `name` (upper case, with its colon) starts, after optional whitespace, among the
 * field lines from `q` to the empty line ending the header section (or the packet's end, or 8 KiB); -1 when no line
 * starts with the name. Field names are compared without case (RFC 9110 §5.1); a field line is `name:` at a line's
 * start, with no space before the colon (RFC 9112 §5.1).
 */
function fieldValue(b: Uint8Array, q: number, end: number, name: Uint8Array): number {
  const last = Math.min(end, q + 8192);
  while (q < last) {
    if (b[q] === 0x0d) return -1; // the empty line: the header section ended
    if (hasNoCase(b, q, last, name)) {
      let v = q + name.length;
      while (v < last && (b[v] === 0x20 || b[v] === 0x09)) v++;
      return v;
    }
    // The next line: after this one's LF.
    while (q < last && b[q] !== 0x0a) q++;
    q++;
  }
  return -1;
}

/**
 * The end of the media type `type/subtype` that starts at `v` (a Content-Type value, RFC 9110 §8.3.1): the first CR,
 * `;` (its parameters) or whitespace, which must be within the packet and 128 bytes; else -1 (a cut value).
 */
function mediaTypeEnd(b: Uint8Array, v: number, end: number): number {
  if (v < 0) return -1;
  const last = Math.min(end, v + 128);
  for (let e = v; e < last; e++) {
    const c = b[e]!;
    if (c === 0x0d || c === 0x3b || c === 0x20 || c === 0x09) return e;
  }
  return -1;
}

/** Is the media type at `v` (-1: none) `type` (upper case), compared without case (RFC 9110 §8.3.1)? */
function mediaTypeIs(b: Uint8Array, v: number, end: number, type: Uint8Array): boolean {
  return isType(b, v, mediaTypeEnd(b, v, end), type);
}

/** Is the media type `b[v .. e)` (its end found by mediaTypeEnd) `type` (upper case), without case? */
function isType(b: Uint8Array, v: number, e: number, type: Uint8Array): boolean {
  return e - v === type.length && hasNoCase(b, v, e, type);
}

/**
 * What an HTTP/1.x response says it carries, from its status line (RFC 9112 §4) and its `Content-Type` (RFC 9110
 * §8.3): HTTP_Download for a file download, HTTP_Media for audio or video, HTTP for any other media type, and 0 when
 * the packet is no status line with a whole Content-Type field (a response without one, a later segment, a
 * request). flows/payload-protocols.ts asks it for the server's packets once a flow's request made it HTTP.
 *
 * Which media types are a download is the labeller's taxonomy, as the application groups are: those for which nDPI's
 * HTTP dissector puts the flow in its category Download, whatever the server's name: application/octet-stream
 * (arbitrary binary data, which RFC 2046 §4.5.1 has a client save to a file), the archives x-tar, x-zip and x-bzip,
 * and the executables java-vm, vnd.ms-cab-compressed, vnd.microsoft.portable-executable, x-msdownload and x-dosexec.
 * Media: the top-level types audio and video (RFC 2046 §4.3, §4.4), and application/mpeg, which nDPI files under
 * Streaming. The type alone decides, compared without case; its parameters do not matter. Left out: the file name of
 * a `Content-Disposition: attachment` (RFC 6266), which nDPI also reads for .exe, .msi and .cab.
 */
const DOWNLOAD_TYPES = [
  'APPLICATION/OCTET-STREAM',
  'APPLICATION/X-TAR',
  'APPLICATION/X-ZIP',
  'APPLICATION/X-BZIP',
  'APPLICATION/JAVA-VM',
  'APPLICATION/VND.MS-CAB-COMPRESSED',
  'APPLICATION/VND.MICROSOFT.PORTABLE-EXECUTABLE',
  'APPLICATION/X-MSDOWNLOAD',
  'APPLICATION/X-DOSEXEC',
].map(ascii);
const MPEG = ascii('APPLICATION/MPEG');
const AUDIO_ = ascii('AUDIO/');
const VIDEO_ = ascii('VIDEO/');
export function httpResponseKind(b: Uint8Array, p: number, end: number): number {
  if (end > b.length) end = b.length;
  if (p < 0 || b[p] !== 0x48) return 0; // 'H'
  const eol = lineEnd(b, p, end, 2048);
  if (eol < 0 || !(statusLine(b, p, eol, V_HTTP11) || statusLine(b, p, eol, V_HTTP10))) return 0;
  const v = fieldValue(b, eol + 2, end, CONTENT_TYPE);
  const e = mediaTypeEnd(b, v, end);
  if (e < 0) return 0;
  for (let i = 0; i < DOWNLOAD_TYPES.length; i++) if (isType(b, v, e, DOWNLOAD_TYPES[i]!)) return HTTP_DOWNLOAD;
  if (isType(b, v, e, MPEG)) return HTTP_MEDIA;
  if (e - v > AUDIO_.length && (hasNoCase(b, v, e, AUDIO_) || hasNoCase(b, v, e, VIDEO_))) return HTTP_MEDIA;
  return HTTP;
}

/**
 * BitTorrent's Local Service Discovery announce (BEP 14), after its request line `BT-SEARCH * HTTP/1.1`: the header
 * section has a `Port:` field and an `Infohash:` field whose value is an info hash, 40 hexadecimal digits, ended by
 * the line's CR (BEP 14's fields; BEP 3's 20-byte SHA-1 hash, in hex). SSDP's syntax on another method, which no
 * other protocol uses.
 */
const METHOD_BT_SEARCH = [ascii('BT-SEARCH')];
const FIELD_PORT = ascii('PORT:');
const FIELD_INFOHASH = ascii('INFOHASH:');
function btSearchFields(b: Uint8Array, q: number, end: number): boolean {
  if (fieldValue(b, q, end, FIELD_PORT) < 0) return false;
  const v = fieldValue(b, q, end, FIELD_INFOHASH);
  if (v < 0 || v + 40 >= end || b[v + 40] !== 0x0d) return false;
  for (let k = 0; k < 40; k++) {
    const c = b[v + k]!;
    if (!(isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
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
  else r = messagingUdpByPort(b, p, end, sp, dp);
  if (r === 0 && end - p >= 40 && b[p + 4] === 0 && b[p + 8] === 0) r = oncRpcCall(b, p, end);
  if (r === 0) r = classicStun(b, p, end);
  if (r === 0 && b0 === 0xff) r = sourceEngineQuery(b, p, end);
  if (r === 0) r = raknetOffline(b, p, end);
  if (r === 0 && b0 === 0x54) r = teamspeakInit(b, p, end);
  if (r === 0) r = messagingUdp(b, p, end);
  if (r === 0) r = servicesUdp(b, p, end, sp, dp);
  if (r === 0) r = mediaUdp(b, p, end, sp, dp);
  if (r === 0) r = infraUdp(b, p, end, sp, dp);
  if (r === 0) r = networkUdp(b, p, end, sp, dp);
  if (r === 0) r = gamesUdp(b, p, end, sp, dp);
  if (r === 0) r = transferUdp(b, p, end, sp, dp);
  if (r === 0) r = sessionsUdp(b, p, end, sp, dp);
  if (r === 0) r = infraTwoUdp(b, p, end, sp, dp);
  if (r === 0) r = gamesTwoUdp(b, p, end, sp, dp);
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
