/**
 * The sixth round of payload rules: BFCP and FLUTE (src/decode/payload/sessions.ts), and the HTTP refinements SOAP
 * and MpegDash (httpRequestKind in src/decode/payload-protocol.ts; with them, since stop 27, a BitTorrent tracker
 * announce). Messages built here from each specification (RFC 8855's common header and attributes; the SOAP 1.1
 * Note's and SOAP 1.2's HTTP requests; DASH and ISO BMFF segment names; BEP 3's announce; RFC 5651/6726's LCT
 * header with EXT_FDT), each with near misses that break one rule of the signature and must not match (plain HTTP
 * requests, HLS playlists included, stay HTTP; JSON-RPC sent raw, whose rule was left out, is nothing); random bytes
 * and every truncation never throw; nothing is allocated per call.
 */
import { describe, expect, it } from 'vitest';
import { matchPayload, PAYLOAD_PROTOCOLS, payloadProtocolName } from '../src/decode/payload-protocol.js';
import { collectionsDuringCalls, expectNothingReadPastEnd, expectRandomBytesTakeNone, expectRandomTailsTakeNone, expectTruncationsNameNoOther, TCP, UDP, ascii, u16, u32, fill, type PayloadCase } from './helpers/payload-cases.js';

function match(bytes: number[], proto: number, srcPort: number, dstPort: number): string | null {
  return payloadProtocolName(matchPayload(Uint8Array.from(bytes), 0, bytes.length, proto, srcPort, dstPort));
}

// ---- BFCP (RFC 8855 §5) ----

/** A COMMON-HEADER (first byte: Ver << 5 | R << 4 | F << 3 | Res) and the attributes, Payload Length from them. */
const bfcp = (first: number, primitive: number, attrs: number[], lengthWords = attrs.length / 4): number[] =>
  [first, primitive, ...u16(lengthWords), ...u32(0x00c0ffee), ...u16(0x1234), ...u16(7), ...attrs];
const V1 = 0x20;
const V2 = 0x40;
const V2_RESPONSE = 0x50;
/** An attribute: Type (7 bits), M, Length (without padding), contents, padding to 4 octets. */
function attr(type: number, contents: number[], m = 1): number[] {
  const len = 2 + contents.length;
  return [(type << 1) | m, len, ...contents, ...fill((4 - (len % 4)) % 4, 0)];
}
const FLOOR_ID = attr(2, u16(1));
const REQUEST_STATUS = attr(5, [3, 0]); // Granted, queue position 0
const FLOOR_REQUEST_INFORMATION = attr(15, [...u16(9), ...attr(18, [...u16(9), ...REQUEST_STATUS]), ...attr(17, [...u16(1), ...REQUEST_STATUS])]);
const SUPPORTED_PRIMITIVES = attr(11, Array.from({ length: 17 }, (_, i) => i + 1));
const SUPPORTED_ATTRIBUTES = attr(10, Array.from({ length: 18 }, (_, i) => (i + 1) << 1));
const FLOOR_REQUEST = bfcp(V1, 1, FLOOR_ID);
const FLOOR_REQUEST_STATUS = bfcp(V1, 4, FLOOR_REQUEST_INFORMATION);

// ---- HTTP requests ----

const request = (line: string, headers = 'Host: media.example\r\nUser-Agent: player/1.0\r\n', body = ''): number[] => ascii(`${line}\r\n${headers}\r\n${body}`);
/** SOAP 1.1's request as its §6.1 describes it: text/xml, a SOAPAction field, the envelope in the body. */
const SOAP11_ENVELOPE = '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body><m:GetLastTradePrice xmlns:m="Some-URI"><symbol>DIS</symbol></m:GetLastTradePrice></SOAP-ENV:Body></SOAP-ENV:Envelope>';
const SOAP12_ENVELOPE = '<?xml version="1.0"?><env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body/></env:Envelope>';
const soap11 = (action = 'SOAPAction: "Some-URI"', method = 'POST'): number[] =>
  request(`${method} /StockQuote HTTP/1.1`, `Host: www.stockquoteserver.example\r\nContent-Type: text/xml; charset="utf-8"\r\nContent-Length: ${SOAP11_ENVELOPE.length}\r\n${action}\r\n`, SOAP11_ENVELOPE);
const soap12 = (type: string): number[] =>
  request('POST /Reservations HTTP/1.1', `Host: travelcompany.example.org\r\nContent-Type: ${type}\r\nContent-Length: ${SOAP12_ENVELOPE.length}\r\n`, SOAP12_ENVELOPE);

// ---- JSON-RPC 2.0 (jsonrpc.org/specification §4-7): no rule (see sessions.ts), so nothing ----

const json = (s: string): number[] => [...new TextEncoder().encode(s)];

// ---- FLUTE (RFC 5651 §5.1, RFC 5775 §4.1, RFC 6726 §3.3-3.4) ----

interface Lct {
  version?: number; c?: number; s?: number; o?: number; h?: number; t?: number; r?: number;
  toi?: number; exts?: number[]; hdrLenDelta?: number; fecPayloadId?: number[]; data?: number[];
}
/** EXT_FDT: HET 192, FLUTE version (4 bits), FDT Instance ID (20 bits). */
const extFdt = (v = 2, id = 0x00017): number[] => [192, (v << 4) | ((id >> 16) & 0xf), (id >> 8) & 0xff, id & 0xff];
/** EXT_FTI for Compact No-Code (RFC 5445 §2.1): HET 64, HEL 4, transfer length (48 bits), reserved, symbol length, max block length. */
const extFti = (hel = 4): number[] => [64, hel, ...u16(0), ...u32(1290), ...u16(0), ...u16(1428), ...u32(64)];
const FDT_XML = '<?xml version="1.0" encoding="UTF-8"?><FDT-Instance xmlns="urn:IETF:metadata:2005:FLUTE:FDT" Expires="3900000000"><File TOI="1" Content-Location="file:///news.mp4" Content-Length="1290"/></FDT-Instance>';
/** An ALC/LCT packet: the LCT header (HDR_LEN computed, plus `hdrLenDelta` words), a FEC Payload ID, the data. */
function lct(o: Lct = {}): number[] {
  const [c, s, ob, h, t, r] = [o.c ?? 0, o.s ?? 1, o.o ?? 1, o.h ?? 0, o.t ?? 0, o.r ?? 0];
  const toiBytes = 4 * ob + 2 * h;
  const toi = toiBytes === 0 ? [] : [...fill(toiBytes - 1, 0), o.toi ?? 0];
  const fixed = [...fill(4 * (c + 1), 0x11), ...fill(4 * s + 2 * h, 0x33), ...toi, ...fill(4 * (t + r), 0x22)];
  const exts = o.exts ?? [...extFdt(), ...extFti()];
  const words = (4 + fixed.length + exts.length) / 4 + (o.hdrLenDelta ?? 0);
  const first = ((o.version ?? 1) << 4) | (c << 2);
  const flags = (s << 7) | (ob << 5) | (h << 4) | (t << 3) | (r << 2);
  return [first, flags, words, 0, ...fixed, ...exts, ...(o.fecPayloadId ?? [0, 0, 0, 0]), ...(o.data ?? ascii(FDT_XML))];
}

type Case = PayloadCase;

const CASES: Case[] = [
  // BFCP over TCP (version 1)
  { what: 'BFCP FloorRequest over TCP (FLOOR-ID)', bytes: FLOOR_REQUEST, proto: TCP, ports: [50000, 40001], want: 'BFCP' },
  { what: 'BFCP Hello over TCP, no attributes', bytes: bfcp(V1, 11, []), proto: TCP, want: 'BFCP' },
  { what: 'BFCP HelloAck over TCP (SUPPORTED-PRIMITIVES, SUPPORTED-ATTRIBUTES)', bytes: bfcp(V1, 12, [...SUPPORTED_PRIMITIVES, ...SUPPORTED_ATTRIBUTES]), proto: TCP, want: 'BFCP' },
  { what: 'BFCP FloorRequestStatus over TCP (grouped FLOOR-REQUEST-INFORMATION)', bytes: FLOOR_REQUEST_STATUS, proto: TCP, want: 'BFCP' },
  { what: 'BFCP: two whole messages in one segment', bytes: [...FLOOR_REQUEST_STATUS, ...bfcp(V1, 8, [...FLOOR_ID, ...FLOOR_REQUEST_INFORMATION])], proto: TCP, want: 'BFCP' },
  { what: 'BFCP Error over TCP (ERROR-CODE, padded)', bytes: bfcp(V1, 13, [...attr(6, [4]), ...attr(7, ascii('Unknown'))]), proto: TCP, want: 'BFCP' },
  { what: 'BFCP version 1 with R set (relevant to UDP only, not forbidden)', bytes: bfcp(V1 | 0x10, 12, [...SUPPORTED_PRIMITIVES, ...SUPPORTED_ATTRIBUTES]), proto: TCP, want: 'BFCP' },
  { what: 'BFCP version 2 over TCP', bytes: bfcp(V2, 1, FLOOR_ID), proto: TCP, want: null },
  { what: 'BFCP over TCP: a reserved bit set', bytes: bfcp(V1 | 0x01, 1, FLOOR_ID), proto: TCP, want: null },
  { what: 'BFCP over TCP: F set', bytes: bfcp(V1 | 0x08, 1, FLOOR_ID), proto: TCP, want: null },
  { what: 'BFCP: primitive 0', bytes: bfcp(V1, 0, FLOOR_ID), proto: TCP, want: null },
  { what: 'BFCP: primitive 18', bytes: bfcp(V1, 18, FLOOR_ID), proto: TCP, want: null },
  { what: 'BFCP: Payload Length one word past the segment', bytes: bfcp(V1, 1, FLOOR_ID, 2), proto: TCP, want: null },
  { what: 'BFCP: Payload Length one word short of the segment', bytes: bfcp(V1, 12, [...SUPPORTED_PRIMITIVES, ...SUPPORTED_ATTRIBUTES], 9), proto: TCP, want: null },
  { what: 'BFCP: a whole message then a cut one', bytes: [...FLOOR_REQUEST, ...FLOOR_REQUEST.slice(0, 14)], proto: TCP, want: null },
  { what: 'BFCP: attribute type 0', bytes: bfcp(V1, 1, attr(0, u16(1))), proto: TCP, want: null },
  { what: 'BFCP: attribute type 19', bytes: bfcp(V1, 1, attr(19, u16(1))), proto: TCP, want: null },
  { what: 'BFCP: attribute length 1', bytes: bfcp(V1, 1, [0x05, 0x01, 0, 1]), proto: TCP, want: null },
  { what: 'BFCP: attribute longer than the payload', bytes: bfcp(V1, 1, [0x05, 0x08, 0, 1]), proto: TCP, want: null },
  // BFCP over UDP (version 2)
  { what: 'BFCP FloorRequest over UDP', bytes: bfcp(V2, 1, FLOOR_ID), proto: UDP, ports: [50000, 40002], want: 'BFCP' },
  { what: 'BFCP FloorRequestStatus over UDP, R set', bytes: bfcp(V2_RESPONSE, 4, FLOOR_REQUEST_INFORMATION), proto: UDP, want: 'BFCP' },
  { what: 'BFCP FloorRequestStatusAck over UDP', bytes: bfcp(V2, 14, []), proto: UDP, want: 'BFCP' },
  { what: 'BFCP Goodbye over UDP', bytes: bfcp(V2, 16, []), proto: UDP, want: 'BFCP' },
  { what: 'BFCP version 1 over UDP', bytes: bfcp(V1, 1, FLOOR_ID), proto: UDP, want: null },
  { what: 'BFCP over UDP: two messages in one datagram', bytes: [...bfcp(V2, 1, FLOOR_ID), ...bfcp(V2, 1, FLOOR_ID)], proto: UDP, want: null },
  { what: 'BFCP over UDP: one byte after the message', bytes: [...bfcp(V2, 1, FLOOR_ID), 0], proto: UDP, want: null },
  { what: 'BFCP over UDP: a fragment (F, 16-byte header)', bytes: [V2 | 0x08, 4, ...u16(5), ...u32(1), ...u16(2), ...u16(7), ...u16(0), ...u16(5), ...FLOOR_REQUEST_INFORMATION], proto: UDP, want: null },
  { what: 'BFCP over UDP: version 3', bytes: bfcp(0x60, 1, FLOOR_ID), proto: UDP, want: null },

  // SOAP
  { what: 'SOAP 1.1: POST with SOAPAction', bytes: soap11(), proto: TCP, ports: [50000, 80], want: 'SOAP' },
  { what: 'SOAP 1.1: empty SOAPAction, field name in lower case', bytes: soap11('soapaction: ""'), proto: TCP, ports: [50000, 8080], want: 'SOAP' },
  { what: 'SOAP 1.2: Content-Type application/soap+xml with parameters', bytes: soap12('application/soap+xml; charset=utf-8; action="http://travelcompany.example.org/Reservations"'), proto: TCP, want: 'SOAP' },
  { what: 'SOAP 1.2: media type alone, other case, no space', bytes: request('POST /ws HTTP/1.0', 'content-type:Application/SOAP+XML\r\n', SOAP12_ENVELOPE), proto: TCP, want: 'SOAP' },
  { what: 'SOAP: headers only in the packet, the envelope later', bytes: request('POST /ws HTTP/1.1', 'Host: a\r\nSOAPAction: "urn:x"\r\n'), proto: TCP, want: 'SOAP' },
  { what: 'SOAPAction on a GET: stays HTTP', bytes: soap11('SOAPAction: "Some-URI"', 'GET'), proto: TCP, want: 'HTTP' },
  { what: 'SOAP: X-SOAPAction is another field: HTTP', bytes: soap11('X-SOAPAction: "Some-URI"'), proto: TCP, want: 'HTTP' },
  { what: 'SOAP: space before the colon: HTTP', bytes: soap11('SOAPAction : "Some-URI"'), proto: TCP, want: 'HTTP' },
  { what: 'SOAP 1.1 envelope without SOAPAction (text/xml alone): HTTP', bytes: soap11('Accept: */*'), proto: TCP, want: 'HTTP' },
  { what: 'SOAP: application/soap+xmlx is another type: HTTP', bytes: soap12('application/soap+xmlx'), proto: TCP, want: 'HTTP' },
  { what: 'SOAP: soap+xml in Accept, not Content-Type: HTTP', bytes: request('POST /ws HTTP/1.1', 'Accept: application/soap+xml\r\nContent-Type: application/json\r\n', '{}'), proto: TCP, want: 'HTTP' },
  { what: 'SOAP: SOAPAction only in the body: HTTP', bytes: request('POST /ws HTTP/1.1', 'Content-Type: text/plain\r\n', 'SOAPAction: "x"\r\n'), proto: TCP, want: 'HTTP' },
  { what: 'SOAP headers on HTTP/2.0: nothing, as before', bytes: request('POST /ws HTTP/2.0', 'SOAPAction: "x"\r\n'), proto: TCP, want: null },

  // MpegDash; HLS playlists stay HTTP (see httpRequestKind)
  { what: 'an HLS playlist stays HTTP: GET of a master playlist', bytes: request('GET /live/master.m3u8 HTTP/1.1'), proto: TCP, ports: [50000, 80], want: 'HTTP' },
  { what: 'an HLS playlist stays HTTP: media playlist with a query', bytes: request('GET /live/720p/index.m3u8?token=ab12&exp=1700000000 HTTP/1.1'), proto: TCP, want: 'HTTP' },
  { what: 'an HLS playlist stays HTTP: absolute-form target through a proxy', bytes: request('GET http://cdn.example:8080/vod/a/playlist.m3u8 HTTP/1.1'), proto: TCP, want: 'HTTP' },
  { what: 'an HLS playlist stays HTTP: HTTP/1.0', bytes: request('GET /radio/stream.m3u8 HTTP/1.0'), proto: TCP, want: 'HTTP' },
  { what: 'MpegDash: GET of an MPD', bytes: request('GET /dash/bbb/manifest.mpd HTTP/1.1'), proto: TCP, ports: [50000, 443], want: 'MpegDash' },
  { what: 'MpegDash: GET of a media segment', bytes: request('GET /dash/bbb/video/1080p/segment_000123.m4s HTTP/1.1'), proto: TCP, want: 'MpegDash' },
  { what: 'MpegDash: HEAD of an MPD with a query', bytes: request('HEAD /live/stream.mpd?t=1 HTTP/1.1'), proto: TCP, want: 'MpegDash' },
  { what: 'HLS name in upper case: HTTP', bytes: request('GET /live/MASTER.M3U8 HTTP/1.1'), proto: TCP, want: 'HTTP' },
  { what: 'an .m3u playlist: HTTP', bytes: request('GET /radio/station.m3u HTTP/1.1'), proto: TCP, want: 'HTTP' },
  { what: 'a .ts segment: HTTP', bytes: request('GET /live/720p/segment_00042.ts HTTP/1.1'), proto: TCP, want: 'HTTP' },
  { what: 'an .mp4 file: HTTP', bytes: request('GET /video/clip.mp4 HTTP/1.1'), proto: TCP, want: 'HTTP' },
  { what: '.m3u8 only in the query: HTTP', bytes: request('GET /player?src=/live/master.m3u8 HTTP/1.1'), proto: TCP, want: 'HTTP' },
  { what: '.m3u8 followed by more name: HTTP', bytes: request('GET /backup/master.m3u8.bak HTTP/1.1'), proto: TCP, want: 'HTTP' },
  { what: 'a directory named .mpd: HTTP', bytes: request('GET /manifest.mpd/ HTTP/1.1'), proto: TCP, want: 'HTTP' },
  { what: 'an extension with no name before it: HTTP', bytes: request('GET /.m4s HTTP/1.1'), proto: TCP, want: 'HTTP' },
  { what: 'absolute form whose host ends in .mpd, no path: HTTP', bytes: request('GET http://video.mpd HTTP/1.1'), proto: TCP, want: 'HTTP' },
  { what: 'CONNECT to an authority: HTTP', bytes: request('CONNECT stream.m3u8:443 HTTP/1.1'), proto: TCP, want: 'HTTP' },
  { what: 'a playlist on HTTP/2.0: nothing, as before', bytes: request('GET /live/master.m3u8 HTTP/2.0'), proto: TCP, want: null },
  // A BitTorrent tracker announce (BEP 3): a GET whose query has info_hash and peer_id, whatever the path.
  { what: 'BitTorrent announce', bytes: request('GET /announce?info_hash=%aa7i%c4S%0d%de%06%24%18s%da%d4%3a%b5%cc%ec%2c%e6%22&peer_id=-TR2940-chho92c56pul&port=51413&uploaded=0 HTTP/1.1'), proto: TCP, ports: [50000, 80], want: 'BitTorrent' },
  { what: 'BitTorrent announce, peer_id first, another path', bytes: request('GET /tracker/announce.php?peer_id=-UT3550-abcdefghijkl&info_hash=12345678901234567890&compact=1 HTTP/1.0'), proto: TCP, ports: [50000, 6969], want: 'BitTorrent' },
  { what: 'not an announce: info_hash without peer_id (a scrape)', bytes: request('GET /scrape?info_hash=12345678901234567890 HTTP/1.1'), proto: TCP, want: 'HTTP' },
  { what: 'not an announce: the keys inside other parameters', bytes: request('GET /search?q=info_hash=1&xpeer_id=2 HTTP/1.1'), proto: TCP, want: 'HTTP' },
  { what: 'not an announce: the keys in the path, not the query', bytes: request('GET /info_hash=1&peer_id=2 HTTP/1.1'), proto: TCP, want: 'HTTP' },
  { what: 'not an announce: a POST with the keys', bytes: request('POST /announce?info_hash=1&peer_id=2 HTTP/1.1'), proto: TCP, want: 'HTTP' },
  { what: 'a plain GET stays HTTP', bytes: request('GET /index.html HTTP/1.1'), proto: TCP, ports: [50000, 80], want: 'HTTP' },
  { what: 'a plain POST stays HTTP', bytes: request('POST /api/v1/items HTTP/1.1', 'Host: api.example\r\nContent-Type: application/json\r\nContent-Length: 2\r\n', '{}'), proto: TCP, want: 'HTTP' },
  { what: 'an HTTP response with a playlist type stays HTTP (only requests are refined)', bytes: ascii('HTTP/1.1 200 OK\r\nContent-Type: application/vnd.apple.mpegurl\r\n\r\n#EXTM3U\n'), proto: TCP, ports: [80, 50000], want: 'HTTP' },

  // JSON-RPC 2.0
  { what: 'JSON-RPC request with positional parameters', bytes: json('{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}'), proto: TCP, ports: [50000, 8545], want: null },
  { what: 'JSON-RPC response', bytes: json('{"jsonrpc": "2.0", "result": 19, "id": 1}\n'), proto: TCP, ports: [8545, 50000], want: null },
  { what: 'JSON-RPC notification, the version member last', bytes: json('{"method": "update", "params": {"a": [1, {"b": "}]"}], "c": null, "d": -1.5e3, "e": true}, "jsonrpc": "2.0"}'), proto: TCP, want: null },
  { what: 'JSON-RPC error response, escaped quote before', bytes: json('{"id": "a\\"b", "error": {"code": -32601, "message": "Method not found"}, "jsonrpc":"2.0"}'), proto: TCP, want: null },
  { what: 'JSON-RPC batch', bytes: json('[\n  {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},\n  {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}\n]'), proto: TCP, want: null },
  { what: 'JSON-RPC after whitespace, over UDP', bytes: json('\r\n\t {"jsonrpc":"2.0","method":"ping","id":7}'), proto: UDP, ports: [50000, 40003], want: null },
  { what: 'JSON-RPC: the first object complete, the packet cut later', bytes: json('{"jsonrpc":"2.0","method":"eth_getLogs","params":[{"fromBlock":"0x1"'), proto: TCP, want: null },
  { what: 'JSON-RPC 1.0 (no jsonrpc member)', bytes: json('{"method": "echo", "params": ["Hello JSON-RPC"], "id": 1}'), proto: TCP, want: null },
  { what: 'JSON-RPC version "1.0"', bytes: json('{"jsonrpc": "1.0", "method": "echo", "id": 1}'), proto: TCP, want: null },
  { what: 'JSON-RPC version as a number', bytes: json('{"jsonrpc": 2.0, "method": "echo", "id": 1}'), proto: TCP, want: null },
  { what: 'JSON-RPC version "2.01"', bytes: json('{"jsonrpc": "2.01", "method": "echo", "id": 1}'), proto: TCP, want: null },
  { what: 'JSON-RPC member name in upper case', bytes: json('{"JSONRPC": "2.0", "method": "echo", "id": 1}'), proto: TCP, want: null },
  { what: 'jsonrpc member nested in a parameter', bytes: json('{"method": "forward", "params": {"jsonrpc": "2.0"}, "id": 1}'), proto: TCP, want: null },
  { what: 'jsonrpc text inside a string', bytes: json('{"note": "{\\"jsonrpc\\": \\"2.0\\"}", "id": 1}'), proto: TCP, want: null },
  { what: 'jsonrpc in the second object of an array only', bytes: json('[{"id": 1}, {"jsonrpc": "2.0", "method": "x"}]'), proto: TCP, want: null },
  { what: 'an array of strings', bytes: json('["jsonrpc", "2.0"]'), proto: TCP, want: null },
  { what: 'an array opening with a number', bytes: json('[1, {"jsonrpc": "2.0"}]'), proto: TCP, want: null },
  { what: 'ordinary JSON with a version', bytes: json('{"name": "sensor", "version": "2.0", "enabled": true}'), proto: TCP, want: null },
  { what: 'JSON-RPC: no colon after the name', bytes: json('{"jsonrpc" "2.0", "id": 1}'), proto: TCP, want: null },
  { what: 'JSON-RPC: the version value cut', bytes: json('{"jsonrpc": "2.0"'), proto: TCP, want: null },
  { what: 'JSON-RPC: garbage after the version', bytes: json('{"jsonrpc": "2.0" x}'), proto: TCP, want: null },
  { what: 'JSON-RPC in an HTTP POST: HTTP', bytes: request('POST /rpc HTTP/1.1', 'Host: node.example\r\nContent-Type: application/json\r\nContent-Length: 58\r\n', '{"jsonrpc":"2.0","method":"eth_blockNumber","params":[],"id":1}'), proto: TCP, want: 'HTTP' },

  // FLUTE
  { what: 'FLUTE FDT Instance (TSI 32 bits, TOI 32 bits, EXT_FDT and EXT_FTI)', bytes: lct(), proto: UDP, ports: [50000, 4001], want: 'FLUTE' },
  { what: 'FLUTE FDT Instance, half-word TSI and TOI (H), EXT_FDT alone', bytes: lct({ s: 0, o: 0, h: 1, exts: extFdt() }), proto: UDP, want: 'FLUTE' },
  { what: 'FLUTE FDT Instance, 64-bit CCI and 48-bit TOI', bytes: lct({ c: 1, o: 1, h: 1, exts: [...extFdt(), ...[193, 0, 0, 0], ...extFti()] }), proto: UDP, want: 'FLUTE' },
  { what: 'FLUTE version 1 (RFC 3926) with a sender current time (T)', bytes: lct({ t: 1, exts: [...extFti(), ...extFdt(1)] }), proto: UDP, want: 'FLUTE' },
  { what: 'FLUTE: a file\'s packet (TOI 1) is not taken', bytes: lct({ toi: 1, exts: extFti(), data: fill(1428, 0x6d) }), proto: UDP, want: null },
  { what: 'FLUTE: TOI 0 without EXT_FDT', bytes: lct({ exts: extFti() }), proto: UDP, want: null },
  { what: 'ALC with TOI 0 and a ROUTE extension (HET 66), no EXT_FDT', bytes: lct({ exts: [66, 3, ...fill(10, 0)] }), proto: UDP, want: null },
  { what: 'FLUTE: EXT_FDT with version 3', bytes: lct({ exts: extFdt(3) }), proto: UDP, want: null },
  { what: 'FLUTE: LCT version 2', bytes: lct({ version: 2 }), proto: UDP, want: null },
  { what: 'FLUTE: no TOI field (O = H = 0)', bytes: lct({ o: 0, exts: extFdt() }), proto: UDP, want: null },
  { what: 'FLUTE: HDR_LEN one word long', bytes: lct({ hdrLenDelta: 1 }), proto: UDP, want: null },
  { what: 'FLUTE: HDR_LEN one word short', bytes: lct({ hdrLenDelta: -1 }), proto: UDP, want: null },
  { what: 'FLUTE: an extension of length 0', bytes: lct({ exts: [...extFdt(), ...extFti(0)] }), proto: UDP, want: null },
  { what: 'FLUTE: header and FEC Payload ID only, no data', bytes: lct({ data: [] }), proto: UDP, want: null },
  { what: 'FLUTE over TCP: not taken', bytes: lct(), proto: TCP, want: null },
];

const ADDED = ['BFCP', 'MpegDash', 'SOAP', 'FLUTE'];

describe('BFCP, SOAP, MpegDash and FLUTE payload rules', () => {
  for (const c of CASES) {
    it(`${c.what}: ${c.want ?? 'nothing'}`, () => {
      const [sp, dp] = c.ports ?? [50000, 40000];
      expect(match(c.bytes, c.proto, sp, dp)).toBe(c.want);
    });
  }

  it('every message and truncation gets the same answer with any bytes after its range (nothing past `end` is read)', () => {
    expectNothingReadPastEnd(CASES, [[0x0d, 0x0a, 0x0d, 0x0a], [0x00, 0x00, 0x00, 0x00], fill(64, 0xff), ascii(',"jsonrpc":"2.0"}'), [0xc0, 0x20, 0, 0]]);
  });

  it('the new names are appended after the earlier ones, each once, in this order', () => {
    expect(ADDED.every((n) => PAYLOAD_PROTOCOLS.filter((x) => x === n).length === 1)).toBe(true);
    const first = PAYLOAD_PROTOCOLS.indexOf(ADDED[0]!);
    expect(PAYLOAD_PROTOCOLS.slice(first, first + ADDED.length)).toEqual(ADDED);
    expect(PAYLOAD_PROTOCOLS.indexOf('BFCP')).toBeGreaterThan(PAYLOAD_PROTOCOLS.indexOf('FIX'));
  });

  it('every truncation of every matching message is never a throw, and a cut message is never another protocol of these', () => {
    expectTruncationsNameNoOther(CASES, ADDED);
  });

  it('random bytes never throw and are taken by none of these rules', () => {
    expectRandomBytesTakeNone(ADDED, [80, 4001, 8545, 40000]);
  });

  it('random bytes behind each rule\'s fixed first bytes are not taken either', () => {
    const heads: [number[], number][] = [
      [[V1, 1], TCP],
      [[V2, 4], UDP],
      [ascii('{"jsonrpc":'), TCP],
      [ascii('[{"id":'), UDP],
      [[0x10, 0x20], UDP],
      [ascii('GET /a.m3u8'), TCP],
      [ascii('POST / HTTP/1.1\r\n'), TCP],
    ];
    expectRandomTailsTakeNone(ADDED, heads);
  });

  it('allocates nothing once warm: no garbage collection over half a million calls', async () => {
    expect(await collectionsDuringCalls(CASES, 5e5)).toEqual([]);
  });
});
