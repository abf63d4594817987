/**
 * The decoded view of one packet: the only thing the decoder writes and the flow engine reads.
 *
 * One instance is allocated per engine and reset for every packet (Suricata's pooled `Packet`), so the
 * per-packet path allocates nothing. Every field is a number, initialised in the constructor, so the
 * object keeps one hidden class and property reads stay monomorphic.
 */
export class DecodedPacket {
  /** 4 or 6 when an IP header was decoded, 0 otherwise. */
  ipVersion = 0;
  /** IP protocol number of the transport (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, ...), after IPv6 extension headers. */
  proto = 0;
  /** Source address: IPv4 in word 0 (network order as an unsigned 32-bit integer); IPv6 in words 0..3. */
  readonly srcAddr = new Uint32Array(4);
  /** Destination address, same layout as `srcAddr`. */
  readonly dstAddr = new Uint32Array(4);
  /** Transport ports (0 for protocols without ports). */
  srcPort = 0;
  dstPort = 0;
  /** Bytes from the start of the frame to the IP header. */
  ipOffset = 0;
  /** IP header length in bytes (IPv4: IHL*4; IPv6: 40 + extension headers). */
  ipHeaderBytes = 0;
  /** IP total length as the header states it (IPv4 total length; IPv6 40 + payload length). */
  ipTotalBytes = 0;
  /** Transport header length in bytes: TCP data offset*4 (options included), UDP 8, ICMP 8; 0 otherwise. */
  l4HeaderBytes = 0;
  /**
   * Transport payload bytes as CICFlowMeter's packet library reports them: from the end of the transport
   * header to the end of the IP packet (so Ethernet trailer padding is not counted), but never past the
   * captured bytes (so a short snaplen shortens it). Never negative.
   */
  payloadBytes = 0;
  /** Bytes from the start of the frame to the first payload byte (as `ipOffset`); 0 when payloadBytes is 0. */
  payloadOffset = 0;
  /** TCP flags byte plus the NS bit as bit 8: FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10 URG 0x20 ECE 0x40 CWR 0x80. */
  tcpFlags = 0;
  /** Raw TCP window field (no scaling). 0 for non-TCP. */
  tcpWindow = 0;
  /** TCP sequence number (unsigned 32-bit), 0 for non-TCP. */
  tcpSeq = 0;
  /** TCP acknowledgment number (unsigned 32-bit), 0 for non-TCP. */
  tcpAck = 0;
  /** ICMP / ICMPv6 type and code; -1 when the packet is not ICMP. */
  icmpType = -1;
  icmpCode = -1;
  /** 1 when this IP packet is a fragment (MF set or offset > 0), else 0. */
  isFragment = 0;
  /** Fragment offset in bytes (0 for the first fragment and unfragmented packets). */
  fragOffset = 0;

  /** Reset to the "nothing decoded" state. Called by the decoder at the start of every packet. */
  reset(): void {
    this.ipVersion = 0;
    this.proto = 0;
    // Element stores, not fill(0): two fill() calls cost ~25 ns per packet, half the decoder's budget.
    const src = this.srcAddr;
    const dst = this.dstAddr;
    src[0] = 0;
    src[1] = 0;
    src[2] = 0;
    src[3] = 0;
    dst[0] = 0;
    dst[1] = 0;
    dst[2] = 0;
    dst[3] = 0;
    this.srcPort = 0;
    this.dstPort = 0;
    this.ipOffset = 0;
    this.ipHeaderBytes = 0;
    this.ipTotalBytes = 0;
    this.l4HeaderBytes = 0;
    this.payloadBytes = 0;
    this.payloadOffset = 0;
    this.tcpFlags = 0;
    this.tcpWindow = 0;
    this.tcpSeq = 0;
    this.tcpAck = 0;
    this.icmpType = -1;
    this.icmpCode = -1;
    this.isFragment = 0;
    this.fragOffset = 0;
  }
}

export const TcpFlag = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;
