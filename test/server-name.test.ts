/**
 * The server-name reader (src/decode/server-name.ts) on messages built here from their RFCs (TLS ClientHello,
 * HTTP/1.x request, DNS query), on every truncation and random mutations of them, on random bytes, and on every
 * payload of the corpus captures: it never throws, reads nothing outside the payload, writes nothing outside its
 * 253-byte cell, and a name it returns is printable lower-case ASCII without a trailing dot.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SERVER_NAME_MAX, ServerNameRead, ServerNameReader, serverNameText } from '../src/decode/server-name.js';
import { decodeFrame } from '../src/decode/decode.js';
import { DecodedPacket } from '../src/decode/packet.js';
import { PcapSource } from '../src/sources/pcap-source.js';

const TCP = 6;
const UDP = 17;
const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));
const u16 = (n: number): number[] => [(n >> 8) & 0xff, n & 0xff];
const u24 = (n: number): number[] => [(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];

/** A TLS 1.2/1.3 ClientHello record (RFC 8446 §4.1.2) with extensions `exts` ([type, data] pairs). */
function clientHello(exts: [number, number[]][], sessionId = 32): Uint8Array {
  const extBytes = exts.flatMap(([t, d]) => [...u16(t), ...u16(d.length), ...d]);
  const body = [
    0x03, 0x03, // legacy_version
    ...new Array(32).fill(0x11), // random
    sessionId, ...new Array(sessionId).fill(0x22),
    ...u16(4), 0x13, 0x01, 0xc0, 0x2f, // cipher suites
    1, 0, // compression: null
    ...u16(extBytes.length), ...extBytes,
  ];
  const hs = [1, ...u24(body.length), ...body];
  return Uint8Array.from([0x16, 0x03, 0x01, ...u16(hs.length), ...hs]);
}

/** The server_name extension's data: a list of (name_type, name) entries (RFC 6066 §3). */
function sniExt(...names: [number, string][]): [number, number[]] {
  const list = names.flatMap(([t, n]) => [t, ...u16(n.length), ...ascii(n)]);
  return [0, [...u16(list.length), ...list]];
}

/** A DNS query (RFC 1035 §4.1) for `name` (labels split at dots), or with a raw QNAME. */
function dnsQuery(name: string | number[], flags = 0x0100): Uint8Array {
  const qname = typeof name === 'string' ? [...name.split('.').filter((l) => l !== '').flatMap((l) => [l.length, ...ascii(l)]), 0] : name;
  return Uint8Array.from([0x12, 0x34, ...u16(flags), 0, 1, 0, 0, 0, 0, 0, 0, ...qname, 0, 1, 0, 1]);
}

const http = (s: string): Uint8Array => Uint8Array.from(ascii(s));

/** Read `payload` as the engine does; returns the status and the name. */
function read(payload: Uint8Array, proto = TCP, dstPort = 443): { status: number; name: string | null } {
  const r = new ServerNameReader();
  const out = new Uint8Array(SERVER_NAME_MAX);
  const status = r.read(payload, 0, payload.length, proto, 50000, dstPort, out, 0);
  const found = status === ServerNameRead.Found || status === ServerNameRead.Truncated;
  return { status, name: found ? serverNameText(out, 0, r.length) : null };
}

describe('server name: what is read', () => {
  it('TLS ClientHello: the first host_name of server_name, after other extensions, on any port', () => {
    const hello = clientHello([[10, [0, 2, 0, 29]], sniExt([0, 'Www.Example.COM.'], [0, 'second.example'])]);
    expect(read(hello)).toEqual({ status: ServerNameRead.Found, name: 'www.example.com' });
    expect(read(hello, TCP, 8443).name).toBe('www.example.com');
    // A name_type other than host_name (0) is skipped.
    expect(read(clientHello([sniExt([7, 'odd'], [0, 'real.example'])])).name).toBe('real.example');
    // No server_name extension, a ServerHello (type 2), an alert record: nothing.
    expect(read(clientHello([[10, [0, 2, 0, 29]]])).status).toBe(ServerNameRead.None);
    const serverHello = clientHello([sniExt([0, 'a.example'])]);
    serverHello[5] = 2;
    expect(read(serverHello).status).toBe(ServerNameRead.None);
    const alert = clientHello([sniExt([0, 'a.example'])]);
    alert[0] = 0x15;
    expect(read(alert).status).toBe(ServerNameRead.None);
    // Over UDP it is not TLS (QUIC's ClientHello is encrypted).
    expect(read(hello, UDP, 443).status).toBe(ServerNameRead.None);
  });

  it('TLS: a name that runs past the segment (no reassembly) gives none; one inside it is read', () => {
    const hello = clientHello([sniExt([0, 'cut.example.org'])]);
    expect(read(hello.subarray(0, hello.length - 3)).status).toBe(ServerNameRead.None);
    const padded = clientHello([sniExt([0, 'early.example']), [21, new Array(3000).fill(0)]]);
    expect(read(padded.subarray(0, 1400)).name).toBe('early.example'); // the rest of the hello is in later segments
  });

  it('HTTP/1.x: Host of a request (any case, port cut, blanks trimmed); not of a response or a cut line', () => {
    expect(read(http('GET /x HTTP/1.1\r\nUser-Agent: t\r\nhOsT:  Example.ORG:8080 \r\n\r\n'), TCP, 80)).toEqual({ status: ServerNameRead.Found, name: 'example.org' });
    expect(read(http('POST / HTTP/1.0\nHost: [2001:db8::1]:80\n\n'), TCP, 8000).name).toBe('[2001:db8::1]');
    expect(read(http('GET / HTTP/1.1\r\nHost: 10.0.0.1\r\n\r\n'), TCP, 80).name).toBe('10.0.0.1');
    expect(read(http('HTTP/1.1 200 OK\r\nHost: no.example\r\n\r\n'), TCP, 80).status).toBe(ServerNameRead.None);
    expect(read(http('GET / HTTP/1.1\r\nHost: cut.exam'), TCP, 80).status).toBe(ServerNameRead.None);
    expect(read(http('GET / HTTP/1.1\r\nAccept: */*\r\n\r\nHost: body.example\r\n'), TCP, 80).status).toBe(ServerNameRead.None);
    expect(read(http('GET / HTTP/2.0\r\nHost: h2.example\r\n\r\n'), TCP, 80).status).toBe(ServerNameRead.None);
    expect(read(http('GET / HTTP/1.1\r\nHost:\r\n\r\n'), TCP, 80).status).toBe(ServerNameRead.None);
  });

  it('DNS: the first question of a query on port 53 or 5353; not a response, a pointer, the root', () => {
    expect(read(dnsQuery('WWW.Example.com'), UDP, 53)).toEqual({ status: ServerNameRead.Found, name: 'www.example.com' });
    expect(read(dnsQuery('printer._ipp._tcp.local', 0), UDP, 5353).name).toBe('printer._ipp._tcp.local');
    expect(read(dnsQuery('www.example.com'), UDP, 5300).status).toBe(ServerNameRead.None);
    expect(read(dnsQuery('www.example.com', 0x8180), UDP, 53).status).toBe(ServerNameRead.None); // a response
    expect(read(dnsQuery([3, ...ascii('www'), 0xc0, 12]), UDP, 53).status).toBe(ServerNameRead.None);
    expect(read(dnsQuery([0]), UDP, 53).status).toBe(ServerNameRead.None);
    const q = dnsQuery('www.example.com');
    expect(read(q.subarray(0, 20), UDP, 53).status).toBe(ServerNameRead.None);
  });

  it('a name over 253 bytes is cut to 253 (Truncated); a byte outside printable ASCII drops it (NotPrintable)', () => {
    const long = `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.${'e'.repeat(60)}.example`;
    const tls = read(clientHello([sniExt([0, long])]));
    expect(tls.status).toBe(ServerNameRead.Truncated);
    expect(tls.name).toBe(long.slice(0, SERVER_NAME_MAX));
    const dns = read(dnsQuery(long), UDP, 53);
    expect(dns).toEqual({ status: ServerNameRead.Truncated, name: long.slice(0, SERVER_NAME_MAX) });
    expect(read(clientHello([sniExt([0, 'bad\x01name'])])).status).toBe(ServerNameRead.NotPrintable);
    expect(read(dnsQuery([3, 0x61, 0xe9, 0x62, 0]), UDP, 53).status).toBe(ServerNameRead.NotPrintable);
    expect(read(http('GET / HTTP/1.1\r\nHost: caf\xe9.example\r\n\r\n'), TCP, 80).status).toBe(ServerNameRead.NotPrintable);
  });
});

/** A view that throws when anything outside [lo, hi) is read: the reader must keep to its payload. */
function guarded(buf: Uint8Array, lo: number, hi: number): Uint8Array {
  return new Proxy(buf, {
    get(target, prop) {
      if (typeof prop === 'string' && /^\d+$/.test(prop)) {
        const i = Number(prop);
        if (i < lo || i >= hi) throw new RangeError(`read at ${i} outside [${lo}, ${hi})`);
        return target[i];
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

const CANARY = 0xa5;
/** Check one read of `buf[start .. end)`: no throw, writes only inside the cell, a sane name when one is found. */
function checkRead(reader: ServerNameReader, buf: Uint8Array, start: number, end: number, proto: number, dstPort: number): void {
  const out = new Uint8Array(SERVER_NAME_MAX + 64).fill(CANARY);
  const status = reader.read(buf, start, end, proto, 50000, dstPort, out, 32);
  const problem = (what: string): never => {
    throw new Error(`${what} (status ${status}, payload ${Buffer.from(buf.subarray(start, Math.min(end, start + 80))).toString('hex')})`);
  };
  if (![0, 1, 2, 3].includes(status)) problem('unknown status');
  for (let k = 0; k < out.length; k++) if ((k < 32 || k >= 32 + SERVER_NAME_MAX) && out[k] !== CANARY) problem(`wrote at ${k - 32}`);
  if (status === ServerNameRead.Found || status === ServerNameRead.Truncated) {
    if (reader.length < 1 || reader.length > SERVER_NAME_MAX) problem(`length ${reader.length}`);
    const name = serverNameText(out, 32, reader.length);
    if (!/^[\x20-\x40\x5b-\x7e]+$/.test(name)) problem(`name ${JSON.stringify(name)} is not printable lower-case ASCII`);
  }
}

const VALID: [Uint8Array, number, number][] = [
  [clientHello([[10, [0, 2, 0, 29]], sniExt([0, 'www.example.com'])]), TCP, 443],
  [http('GET /index.html HTTP/1.1\r\nHost: example.org:8080\r\nAccept: */*\r\n\r\n'), TCP, 80],
  [dnsQuery('mail.example.net'), UDP, 53],
];

describe('server name: hostile bytes', () => {
  it('every truncation of valid messages: never throws, reads only the payload, writes only its cell', () => {
    const reader = new ServerNameReader();
    for (const [msg, proto, port] of VALID) {
      for (let len = 0; len <= msg.length; len++) {
        // The payload embedded in garbage at offset 7: nothing before 7 or after 7 + len may be read.
        const buf = new Uint8Array(msg.length + 20).fill(0x41);
        buf.set(msg.subarray(0, len), 7);
        checkRead(reader, guarded(buf, 7, 7 + len), 7, 7 + len, proto, port);
      }
    }
  });

  it('random mutations of valid messages and random bytes (fast-check)', () => {
    const reader = new ServerNameReader();
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: VALID.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        fc.uint8Array({ maxLength: 600 }),
        fc.boolean(),
        (which, flips, random, useRandom) => {
          const [msg, proto, port] = VALID[which]!;
          const buf = useRandom ? random : Uint8Array.from(msg);
          if (!useRandom) for (const [at, v] of flips) buf[at % buf.length] = v;
          checkRead(reader, guarded(buf, 0, buf.length), 0, buf.length, proto, port);
          checkRead(reader, buf, 0, buf.length, proto === TCP ? UDP : TCP, 53);
        },
      ),
      { numRuns: 3000, seed: 10 },
    );
  });

  it('bad arguments (negative start, end past the buffer, a cell that does not fit) give None', () => {
    const r = new ServerNameReader();
    const hello = VALID[0]![0];
    const out = new Uint8Array(SERVER_NAME_MAX);
    expect(r.read(hello, -1, hello.length, TCP, 1, 443, out, 0)).toBe(ServerNameRead.None);
    expect(r.read(hello, 0, hello.length + 100, TCP, 1, 443, out, 0)).toBe(ServerNameRead.Found);
    expect(r.read(hello, 0, hello.length, TCP, 1, 443, out, 1)).toBe(ServerNameRead.None);
  });

  const CORPUS = join(__dirname, '..', '..', 'shared', 'corpus');
  it.skipIf(!existsSync(CORPUS))(`every payload of the corpus captures, whole and cut, as TCP and as DNS${existsSync(CORPUS) ? '' : ' (skipped: ../shared/corpus is absent)'}`, () => {
    const reader = new ServerNameReader();
    const pkt = new DecodedPacket();
    let payloads = 0;
    let names = 0;
    const files = readdirSync(CORPUS, { recursive: true, encoding: 'utf8' }).filter((f) => /\.(pcap|pcapng|cap)(\.gz)?$/.test(f)).sort();
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      let src: PcapSource;
      try {
        src = PcapSource.openFile(join(CORPUS, f));
      } catch {
        continue; // a capture libpcap refuses (the corpus has some on purpose)
      }
      try {
        for (let n = src.next(); n > 0; n = src.next()) {
          for (let i = 0; i < n; i++) {
            const m = i * 6;
            decodeFrame(src.linkType, src.data, src.meta[m + 4]!, src.meta[m + 2]!, pkt);
            if (pkt.payloadBytes === 0) continue;
            payloads++;
            const start = src.meta[m + 4]! + pkt.payloadOffset;
            const end = start + pkt.payloadBytes;
            for (const [proto, port] of [[TCP, 443], [UDP, 53]] as const) {
              const s = reader.read(src.data, start, end, proto, pkt.srcPort, port, new Uint8Array(SERVER_NAME_MAX), 0);
              if (s === ServerNameRead.Found) names++;
              for (const cut of [1, 5, 43, 64]) if (cut < end - start) checkRead(reader, src.data, start, start + cut, proto, port);
            }
          }
        }
      } finally {
        src.close();
      }
    }
    expect(payloads).toBeGreaterThan(1000);
    expect(names).toBeGreaterThan(10);
  });
});
