/**
 * A small frame builder for tests: each helper returns the bytes of one layer with its payload appended, so
 * frames read inside-out: `ethernet(EtherType.IPv4, ipv4({ proto: IpProto.TCP }, tcp({ dport: 80 })))`.
 *
 * IPv4 header checksums and TCP/UDP/ICMP/ICMPv6 checksums are filled in (so tshark and other tools see clean
 * packets) unless a field override makes the packet deliberately malformed. Test-only: allocates freely.
 */

/** Ethertypes used by the builders (IEEE registry). */
export const EtherType = {
  IPv4: 0x0800,
  ARP: 0x0806,
  VLAN: 0x8100,
  QinQ: 0x88a8,
  QinQOld: 0x9100,
  IPv6: 0x86dd,
  MPLS: 0x8847,
  MPLSMulticast: 0x8848,
  PPPoEDiscovery: 0x8863,
  PPPoESession: 0x8864,
  LLDP: 0x88cc,
} as const;

/** IP protocol / IPv6 next-header numbers (IANA registry). */
export const IpProto = {
  HopByHop: 0,
  ICMP: 1,
  IPIP: 4,
  TCP: 6,
  UDP: 17,
  IPv6: 41,
  Routing: 43,
  Fragment: 44,
  GRE: 47,
  ESP: 50,
  AH: 51,
  ICMPv6: 58,
  NoNext: 59,
  DestOpts: 60,
  SCTP: 132,
  Mobility: 135,
} as const;

/** PPP protocol numbers carried in a PPPoE session. */
export const PppProto = { IPv4: 0x0021, IPv6: 0x0057, LCP: 0xc021 } as const;

/** TCP flag bits (the NS bit is bit 8 as in `DecodedPacket.tcpFlags`; the builder puts it in byte 12). */
export const Flags = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
  NS: 0x100,
} as const;

// ---------------------------------------------------------------------------------------------------------
// Bytes

/** Concatenate byte arrays (or plain number arrays) into one Uint8Array. */
export function concat(...parts: ArrayLike<number>[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Bytes from a hex string; whitespace, `:` and `-` are ignored (`hex('00 11:22')`). */
export function hex(s: string): Uint8Array {
  const clean = s.replace(/[\s:-]/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new Error(`bad hex: ${s}`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** `n` bytes counting up from `start` (a recognisable payload). */
export function bytes(n: number, start = 0): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (start + i) & 0xff;
  return out;
}

function u16(v: number): number[] {
  return [(v >>> 8) & 0xff, v & 0xff];
}

function u32(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

/** The 4 bytes of a dotted-quad IPv4 address. */
export function ipv4Addr(s: string): Uint8Array {
  const parts = s.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`bad IPv4 address: ${s}`);
  }
  return Uint8Array.from(parts);
}

/** An IPv4 address as the unsigned 32-bit word `DecodedPacket.srcAddr[0]` holds. */
export function ipv4Word(s: string): number {
  const b = ipv4Addr(s);
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

/** The 16 bytes of an IPv6 address in any RFC 4291 text form (`::`, embedded dotted quad). */
export function ipv6Addr(s: string): Uint8Array {
  let text = s;
  const tail: number[] = [];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const b = ipv4Addr(dotted[1]!);
    tail.push((b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!);
    text = text.slice(0, -dotted[1]!.length);
    if (text.endsWith(':') && !text.endsWith('::')) text = text.slice(0, -1);
  }
  const parse = (t: string): number[] => (t === '' ? [] : t.split(':').map((g) => parseInt(g, 16)));
  let groups: number[];
  const dbl = text.indexOf('::');
  if (dbl >= 0) {
    const head = parse(text.slice(0, dbl));
    const rest = parse(text.slice(dbl + 2)).concat(tail);
    groups = head.concat(new Array<number>(8 - head.length - rest.length).fill(0), rest);
  } else {
    groups = parse(text).concat(tail);
  }
  if (groups.length !== 8 || groups.some((g) => !(g >= 0 && g <= 0xffff))) throw new Error(`bad IPv6 address: ${s}`);
  return Uint8Array.from(groups.flatMap((g) => u16(g)));
}

/** An IPv6 address as the four big-endian words `DecodedPacket.srcAddr` holds. */
export function ipv6Words(s: string): number[] {
  const b = ipv6Addr(s);
  const w: number[] = [];
  for (let i = 0; i < 16; i += 4) w.push(((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0);
  return w;
}

function macAddr(s: string): Uint8Array {
  const b = hex(s);
  if (b.length !== 6) throw new Error(`bad MAC: ${s}`);
  return b;
}

/** Internet checksum (RFC 1071) over the concatenation of `parts`. */
export function inetChecksum(...parts: ArrayLike<number>[]): number {
  const data = concat(...parts);
  let sum = 0;
  for (let i = 0; i < data.length; i += 2) sum += (data[i]! << 8) | (data[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

// ---------------------------------------------------------------------------------------------------------
// Link layers

export interface VlanTag {
  /** Tag protocol identifier; default 0x8100 (802.1Q). Use 0x88a8 for an 802.1ad outer tag. */
  tpid?: number;
  /** VLAN id (12 bits). */
  vid: number;
  /** Priority code point (3 bits). */
  pcp?: number;
}

export interface EthernetOptions {
  dst?: string;
  src?: string;
  /** Tags, outermost first. */
  vlans?: VlanTag[];
  /** Pad the frame with zeros up to this length (60 = minimum Ethernet frame without FCS). */
  padTo?: number;
}

/** Ethernet II frame: MACs, optional VLAN tags, then `type` (an ethertype, or an 802.3 length < 0x0600). */
export function ethernet(type: number, payload: ArrayLike<number>, opts: EthernetOptions = {}): Uint8Array {
  const tags: number[] = [];
  for (const t of opts.vlans ?? []) {
    tags.push(...u16(t.tpid ?? EtherType.VLAN), ...u16(((t.pcp ?? 0) << 13) | (t.vid & 0x0fff)));
  }
  const frame = concat(
    macAddr(opts.dst ?? '02:00:00:00:00:02'),
    macAddr(opts.src ?? '02:00:00:00:00:01'),
    tags,
    u16(type),
    payload,
  );
  if (opts.padTo !== undefined && frame.length < opts.padTo) return concat(frame, new Uint8Array(opts.padTo - frame.length));
  return frame;
}

/** An IEEE 802.3 frame with an LLC header (length field instead of an ethertype): STP-like. */
export function ethernet8023(payload: ArrayLike<number> = hex('42 42 03 00 00 00 00')): Uint8Array {
  return ethernet(payload.length, payload);
}

/** A minimal ARP request (ethertype 0x0806 payload). */
export function arp(): Uint8Array {
  return hex('0001 0800 06 04 0001 020000000001 0a000001 000000000000 0a000002');
}

/** MPLS label stack (RFC 3032), outermost first; the last entry gets the bottom-of-stack bit. */
export function mpls(labels: number[], payload: ArrayLike<number>): Uint8Array {
  const stack: number[] = [];
  labels.forEach((label, i) => {
    const bottom = i === labels.length - 1 ? 1 : 0;
    stack.push(...u32(((label & 0xfffff) << 12) | (bottom << 8) | 64));
  });
  return concat(stack, payload);
}

/** PPPoE session header (RFC 2516) plus the 2-byte PPP protocol field. */
export function pppoeSession(pppProto: number, payload: ArrayLike<number>, sessionId = 0x1234): Uint8Array {
  return concat([0x11, 0x00], u16(sessionId), u16(payload.length + 2), u16(pppProto), payload);
}

/** Linux cooked v1 header (16 bytes): packet type, ARPHRD_ETHER, 6-byte address, protocol. */
export function sll(protocol: number, payload: ArrayLike<number>, packetType = 0): Uint8Array {
  return concat(u16(packetType), u16(1), u16(6), macAddr('02:00:00:00:00:01'), [0, 0], u16(protocol), payload);
}

/** Linux cooked v2 header (20 bytes): protocol, reserved, ifindex, ARPHRD_ETHER, packet type, address. */
export function sll2(protocol: number, payload: ArrayLike<number>, ifIndex = 2): Uint8Array {
  return concat(u16(protocol), [0, 0], u32(ifIndex), u16(1), [0, 6], macAddr('02:00:00:00:00:01'), [0, 0], payload);
}

/** BSD NULL header: a 4-byte address family in the capturing host's byte order. */
export function bsdNull(af: number, payload: ArrayLike<number>, order: 'le' | 'be' = 'le'): Uint8Array {
  const be = u32(af);
  return concat(order === 'be' ? be : be.reverse(), payload);
}

/** OpenBSD LOOP header: a 4-byte address family in network byte order. */
export function bsdLoop(af: number, payload: ArrayLike<number>): Uint8Array {
  return concat(u32(af), payload);
}

/** Address families seen in NULL/LOOP headers. */
export const AddressFamily = { INET: 2, INET6_BSD: 24, INET6_FREEBSD: 28, INET6_DARWIN: 30 } as const;

// ---------------------------------------------------------------------------------------------------------
// IP

export interface Ipv4Options {
  /** Protocol of the payload (required). */
  proto: number;
  src?: string;
  dst?: string;
  ttl?: number;
  id?: number;
  tos?: number;
  df?: boolean;
  /** More-fragments flag. */
  mf?: boolean;
  /** Fragment offset in bytes (a multiple of 8). */
  fragOffset?: number;
  /** IP options (padded to a multiple of 4 with zeros). */
  options?: ArrayLike<number>;
  /** Overrides (malformed packets): header length in 4-byte words, total length, version nibble. */
  ihl?: number;
  totalLength?: number;
  version?: number;
}

/** IPv4 header (RFC 791) followed by `payload`; header and transport checksums are computed. */
export function ipv4(opts: Ipv4Options, payload: ArrayLike<number> = []): Uint8Array {
  const optBytes = opts.options ? concat(opts.options, new Uint8Array((4 - (opts.options.length % 4)) % 4)) : new Uint8Array(0);
  const hlen = 20 + optBytes.length;
  const src = ipv4Addr(opts.src ?? '10.0.0.1');
  const dst = ipv4Addr(opts.dst ?? '10.0.0.2');
  const fragOffset = opts.fragOffset ?? 0;
  const flags = (opts.df ? 0x4000 : 0) | (opts.mf ? 0x2000 : 0) | ((fragOffset >>> 3) & 0x1fff);
  const header = concat(
    [((opts.version ?? 4) << 4) | ((opts.ihl ?? hlen / 4) & 0x0f), opts.tos ?? 0],
    u16(opts.totalLength ?? hlen + payload.length),
    u16(opts.id ?? 0x1234),
    u16(flags),
    [opts.ttl ?? 64, opts.proto],
    [0, 0],
    src,
    dst,
    optBytes,
  );
  header.set(u16(inetChecksum(header)), 10);
  const body = Uint8Array.from(payload);
  if (!opts.mf && fragOffset === 0) fillL4Checksum(opts.proto, concat(src, dst), body);
  return concat(header, body);
}

/** An IPv6 extension header for `ipv6({ extensions })`. */
export type Ipv6Extension =
  | { type: 0 | 43 | 60 | 135; /** Option/routing bytes after the 2-byte prefix; padded to 8n+6. */ data?: ArrayLike<number> }
  | { type: 44; /** Fragment offset in bytes (multiple of 8). */ fragOffset?: number; more?: boolean; id?: number }
  | { type: 51; /** Integrity check value bytes (multiple of 4). */ icvLength?: number; spi?: number };

export interface Ipv6Options {
  /** Protocol of `payload`, i.e. the next header after the last extension (required). */
  nextHeader: number;
  src?: string;
  dst?: string;
  hopLimit?: number;
  flowLabel?: number;
  /** Extension headers in order; their next-header fields are chained automatically. */
  extensions?: Ipv6Extension[];
  /** Overrides (malformed packets): payload length field, version nibble. */
  payloadLength?: number;
  version?: number;
}

/** Bytes of one IPv6 extension header whose next-header field is `nh`. */
export function ipv6Extension(ext: Ipv6Extension, nh: number): Uint8Array {
  if (ext.type === 44) {
    const off = ext.fragOffset ?? 0;
    return concat([nh, 0], u16((off & 0xfff8) | (ext.more ? 1 : 0)), u32(ext.id ?? 0xabcd));
  }
  if (ext.type === 51) {
    const icv = ext.icvLength ?? 12;
    const len = 12 + icv; // next header, length, reserved(2), SPI(4), sequence(4), ICV
    return concat([nh, len / 4 - 2, 0, 0], u32(ext.spi ?? 0x100), u32(1), new Uint8Array(icv));
  }
  const data = ext.data ?? [];
  const padded = Math.ceil((data.length + 2) / 8) * 8;
  const body = concat(data, new Uint8Array(padded - 2 - data.length)); // zeros = Pad1 options
  return concat([nh, padded / 8 - 1], body);
}

/** IPv6 header (RFC 8200), optional extension headers, then `payload`; transport checksums are computed. */
export function ipv6(opts: Ipv6Options, payload: ArrayLike<number> = []): Uint8Array {
  const exts = opts.extensions ?? [];
  const extBytes: Uint8Array[] = [];
  for (let i = 0; i < exts.length; i++) extBytes.push(ipv6Extension(exts[i]!, i + 1 < exts.length ? exts[i + 1]!.type : opts.nextHeader));
  const firstNh = exts.length > 0 ? exts[0]!.type : opts.nextHeader;
  const src = ipv6Addr(opts.src ?? 'fd00::1');
  const dst = ipv6Addr(opts.dst ?? 'fd00::2');
  const body = Uint8Array.from(payload);
  const fragmented = exts.some((e) => e.type === 44 && ((e.fragOffset ?? 0) !== 0 || e.more));
  if (!fragmented) fillL4Checksum(opts.nextHeader, concat(src, dst), body, true);
  const ext = concat(...extBytes);
  const header = concat(
    u32((((opts.version ?? 6) & 0xf) << 28) | ((opts.flowLabel ?? 0) & 0xfffff)),
    u16(opts.payloadLength ?? ext.length + body.length),
    [firstNh, opts.hopLimit ?? 64],
    src,
    dst,
  );
  return concat(header, ext, body);
}

/** Fill the TCP/UDP/ICMPv6 checksum of `body` in place (pseudo-header over `addrs` = src+dst). */
function fillL4Checksum(proto: number, addrs: Uint8Array, body: Uint8Array, v6 = false): void {
  const at = proto === 6 ? 16 : proto === 17 ? 6 : proto === 58 ? 2 : -1;
  if (at < 0 || body.length < at + 2) return;
  if (proto === 6 && body.length < 20) return;
  if (proto === 17 && body.length < 8) return;
  body[at] = 0;
  body[at + 1] = 0;
  const pseudo = v6 ? concat(addrs, u32(body.length), [0, 0, 0, proto]) : concat(addrs, [0, proto], u16(body.length));
  let sum = inetChecksum(pseudo, body);
  if (proto === 17 && sum === 0) sum = 0xffff;
  body.set(u16(sum), at);
}

// ---------------------------------------------------------------------------------------------------------
// Transport

export interface TcpOptions {
  sport?: number;
  dport?: number;
  seq?: number;
  ack?: number;
  /** Flag bits (`Flags`), NS included as 0x100. Default ACK. */
  flags?: number;
  window?: number;
  urgent?: number;
  /** TCP options bytes (padded with NOP-free zeros to a multiple of 4). */
  options?: ArrayLike<number>;
  /** Override the data offset (4-byte words), e.g. < 5 for a malformed header. */
  dataOffset?: number;
}

/** TCP header (RFC 9293) followed by `payload`. The checksum is filled in by `ipv4()`/`ipv6()`. */
export function tcp(opts: TcpOptions = {}, payload: ArrayLike<number> = []): Uint8Array {
  const optBytes = opts.options ? concat(opts.options, new Uint8Array((4 - (opts.options.length % 4)) % 4)) : new Uint8Array(0);
  const doff = opts.dataOffset ?? (20 + optBytes.length) / 4;
  const flags = opts.flags ?? Flags.ACK;
  return concat(
    u16(opts.sport ?? 40000),
    u16(opts.dport ?? 80),
    u32(opts.seq ?? 1000),
    u32(opts.ack ?? 0),
    [((doff & 0xf) << 4) | ((flags >>> 8) & 1), flags & 0xff],
    u16(opts.window ?? 65535),
    [0, 0],
    u16(opts.urgent ?? 0),
    optBytes,
    payload,
  );
}

/** Common TCP options: MSS 1460, SACK permitted, timestamps, NOP, window scale 7 (20 bytes, like Linux). */
export const TCP_SYN_OPTIONS = hex('020405b4 0402 080a 00000001 00000000 01 030307');

export interface UdpOptions {
  sport?: number;
  dport?: number;
  /** Override the UDP length field. */
  length?: number;
}

/** UDP header (RFC 768) followed by `payload`. The checksum is filled in by `ipv4()`/`ipv6()`. */
export function udp(opts: UdpOptions = {}, payload: ArrayLike<number> = []): Uint8Array {
  return concat(u16(opts.sport ?? 40000), u16(opts.dport ?? 53), u16(opts.length ?? 8 + payload.length), [0, 0], payload);
}

export interface IcmpOptions {
  type?: number;
  code?: number;
  /** The 4 "rest of header" bytes (identifier/sequence for echo). */
  rest?: number;
}

/** ICMP message (RFC 792) with its checksum; defaults to an echo request. */
export function icmp(opts: IcmpOptions = {}, payload: ArrayLike<number> = []): Uint8Array {
  const msg = concat([opts.type ?? 8, opts.code ?? 0, 0, 0], u32(opts.rest ?? 0x00010001), payload);
  msg.set(u16(inetChecksum(msg)), 2);
  return msg;
}

/** ICMPv6 message (RFC 4443); defaults to an echo request. The checksum is filled in by `ipv6()`. */
export function icmpv6(opts: IcmpOptions = {}, payload: ArrayLike<number> = []): Uint8Array {
  return concat([opts.type ?? 128, opts.code ?? 0, 0, 0], u32(opts.rest ?? 0x00010001), payload);
}

// ---------------------------------------------------------------------------------------------------------
// Ready-made frames

/** Ethernet/IPv4/TCP with the given TCP fields and payload: the most common test frame. */
export function ethIpv4Tcp(t: TcpOptions = {}, payload: ArrayLike<number> = [], ip: Partial<Ipv4Options> = {}): Uint8Array {
  return ethernet(EtherType.IPv4, ipv4({ ...ip, proto: IpProto.TCP }, tcp(t, payload)));
}

/** Ethernet/IPv4/UDP with the given UDP fields and payload. */
export function ethIpv4Udp(u: UdpOptions = {}, payload: ArrayLike<number> = [], ip: Partial<Ipv4Options> = {}): Uint8Array {
  return ethernet(EtherType.IPv4, ipv4({ ...ip, proto: IpProto.UDP }, udp(u, payload)));
}
