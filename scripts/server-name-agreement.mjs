// The sensor's server names (SQLite flows.server_name) against Wireshark's and nDPI's, per flow.
//
//   node scripts/server-name-agreement.mjs [CAPTURE...]     (default: every capture in ../shared/data/ndpi/pcap)
//
// For each capture: the sensor writes its flows (--profile fixed --ipv6, so flows of one packet and IPv6 flows are
// written too); tshark lists every TLS ClientHello's tls.handshake.extensions_server_name (over TCP, or over QUIC
// from the Initial packets it decrypts), Google QUIC CHLO's gquic.tag.sni, HTTP request's http.host
// and DNS query's dns.qry.name (first occurrence in the frame) with the frame's time and 5-tuple. A flow's tshark
// name is the first one whose frame has the flow's 5-tuple (either direction) and lies within its first and last
// packet, normalised as the sensor stores names (lower case, no trailing dot, HTTP port cut, at most 253 bytes).
// Every flow is then: both the same name, both none, different, the sensor's only, or tshark's only (with why,
// when the frame tells: tshark reassembled the message from several TCP segments). With nDPI's result file
// (../shared/data/ndpi/result/<capture>.out), each nDPI flow that has `Hostname/SNI:` is compared with the first
// named sensor flow of its protocol and endpoints. Only the names a flow carries itself are compared so (SQLite
// server_name_source 'flow' or 'carried'); the names DNS answers give (source 'dns': a flow to an address a DNS
// response named) are checked apart: against the name tshark's dissection of the responses seen before the flow
// gives its server address (question name, CNAME chain, TTL clamped as src/flows/address-names.ts does), and
// against nDPI's Hostname/SNI for the same 5-tuple where nDPI has one.
// Prints a table and totals; exits 0 (a report, not a test).
// test/server-name-tshark.test.ts uses the same functions on a few captures and requires full agreement.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const SENSOR = join(ROOT, 'bin', 'sensor.js');
const NDPI = join(ROOT, '..', 'shared', 'data', 'ndpi');
const MAX = 253;

/** A 5-tuple key that is the same in both directions. */
export function tupleKey(proto, a, aPort, b, bPort) {
  const x = `${a}|${aPort}`;
  const y = `${b}|${bPort}`;
  return `${proto}|${x < y ? `${x}|${y}` : `${y}|${x}`}`;
}

/** A name as the sensor stores it (src/decode/server-name.ts), from tshark's text of the same field. */
export function normalise(name, kind) {
  let n = name.trim();
  if (kind === 'http') {
    if (n.startsWith('[')) n = n.slice(0, n.indexOf(']') + 1 || n.length);
    else if (n.split(':').length === 2) n = n.slice(0, n.indexOf(':'));
  }
  if (n.endsWith('.')) n = n.slice(0, -1);
  if (n === '' || !/^[\x20-\x7e]+$/.test(n)) return null;
  return n.toLowerCase().slice(0, MAX);
}

/**
 * `pcap` replayed by the sensor (`--replay PCAP --db TMP -q` and `args`) into a temporary database: the rows of
 * `SELECT columns FROM flows ORDER BY id`. Throws when the sensor does not exit 0. The agreement scripts' one replay.
 */
export function replayFlows(pcap, args, columns, timeout = 300_000) {
  const dir = mkdtempSync(join(tmpdir(), 'sensor-replay-'));
  try {
    const db = join(dir, 'flows.sqlite');
    const r = spawnSync(process.execPath, [SENSOR, '--replay', pcap, '--db', db, '-q', ...args], { encoding: 'utf8', timeout });
    if (r.status !== 0) throw new Error(`sensor on ${pcap}: exit ${r.status}: ${r.stderr.trim().split('\n').pop()}`);
    const Database = createRequire(import.meta.url)('better-sqlite3');
    const conn = new Database(db, { readonly: true });
    try {
      return conn.prepare(`SELECT ${columns} FROM flows ORDER BY id`).all();
    } finally {
      conn.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The sensor's flows of `pcap`: 5-tuple, times (µs) and server name. */
export function sensorFlows(pcap, extra = []) {
  return replayFlows(pcap, ['--profile', 'fixed', '--ipv6', '--no-model', '--no-app-model', ...extra],
    'src_ip, src_port, dst_ip, dst_port, protocol, start_us, end_us, server_name, server_name_source');
}

/** Microseconds since the epoch from tshark's frame.time_epoch text (exact: no float rounding of the fraction). */
function epochUs(text) {
  const [s, f = ''] = text.split('.');
  return Number(s) * 1e6 + Number((f + '000000').slice(0, 6));
}

const FIELDS = [
  'frame.time_epoch', 'ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst', 'tcp.srcport', 'tcp.dstport', 'udp.srcport', 'udp.dstport',
  'tls.handshake.extensions_server_name', 'http.host', 'dns.qry.name', 'tcp.segment.count', 'gquic.tag.sni',
];

/** tshark's names in `pcap`: per frame with one, its time, 5-tuple key, kind, normalised name and raw text. */
export function tsharkNames(pcap) {
  const args = ['-r', pcap, '-n', '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=f'];
  for (const f of FIELDS) args.push('-e', f);
  args.push('-Y', 'tls.handshake.type == 1 || gquic.tag.sni || http.request || ((dns || mdns) && dns.flags.response == 0)');
  const r = spawnSync('tshark', args, { encoding: 'utf8', timeout: 300_000, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`tshark on ${pcap}: exit ${r.status}: ${r.stderr.trim().split('\n').pop()}`);
  const out = [];
  for (const line of r.stdout.split('\n')) {
    if (line === '') continue;
    const [time, ip4s, ip4d, ip6s, ip6d, ts, td, us, ud, sni, host, qname, segments, gsni] = line.split('\t');
    const tcp = ts !== '';
    const src = ip4s || ip6s;
    const dst = ip4d || ip6d;
    if (!src || (!tcp && us === '')) continue;
    // tshark decrypts QUIC's Initial packets and shows their ClientHello: 'quic' (the sensor reads it too).
    // Google QUIC's CHLO: its SNI tag, 'gquic'.
    const kind = sni ? (tcp ? 'tls' : 'quic') : gsni ? 'gquic' : host ? 'http' : qname ? 'dns' : null;
    if (kind === null) continue;
    const raw = sni || gsni || host || qname;
    out.push({
      us: epochUs(time),
      key: tcp ? tupleKey(6, src, Number(ts), dst, Number(td)) : tupleKey(17, src, Number(us), dst, Number(ud)),
      kind,
      raw,
      name: normalise(raw, kind),
      reassembled: Number(segments || '0') > 1,
    });
  }
  return out;
}

/**
 * Every sensor flow against tshark: { flow, sensor, tshark, event, verdict } with verdict one of 'same', 'none',
 * 'different', 'sensor-only', 'tshark-only'.
 */
export function compareWithTshark(flows, events) {
  const byKey = new Map();
  for (const e of events) {
    const list = byKey.get(e.key) ?? [];
    list.push(e);
    byKey.set(e.key, list);
  }
  // A flow without a name of its own takes the one of the same conversation's previous flow when that one ended
  // within 120 s of its start (flows/server-names.ts: a connection the profile cuts into several flows).
  const previous = new Map();
  const carried = new Map();
  for (const flow of [...flows].sort((x, y) => x.start_us - y.start_us)) {
    const key = tupleKey(flow.protocol, flow.src_ip, flow.src_port, flow.dst_ip, flow.dst_port);
    const own = (byKey.get(key) ?? []).find((e) => e.us >= flow.start_us && e.us <= flow.end_us) ?? null;
    const prev = previous.get(key);
    const event = own ?? (prev && flow.start_us - prev.flow.end_us <= 120e6 ? prev.event : null);
    carried.set(flow, event);
    previous.set(key, { flow, event });
  }
  return flows.map((flow) => {
    const event = carried.get(flow);
    const sensor = ownName(flow);
    const tshark = event?.name ?? null;
    const verdict = sensor === tshark ? (sensor === null ? 'none' : 'same') : sensor === null ? 'tshark-only' : tshark === null ? 'sensor-only' : 'different';
    return { flow, sensor, tshark, event, verdict };
  });
}

/** nDPI's flows with a Hostname/SNI from its result file: protocol number, endpoints, nDPI protocol, name. */
export function ndpiNames(outFile) {
  return ndpiResultFlows(outFile)
    .filter((f) => f.hostname !== undefined)
    .map(({ key, app, hostname }) => ({ key, app, name: hostname }));
}

/** Each nDPI name against the first named sensor flow of its 5-tuple: 'same', 'different', 'sensor-none'. */
export function compareWithNdpi(flows, ndpi) {
  const first = new Map();
  const seen = new Set();
  for (const f of flows) {
    const key = tupleKey(f.protocol, f.src_ip, f.src_port, f.dst_ip, f.dst_port);
    seen.add(key);
    if (ownName(f) !== null && !first.has(key)) first.set(key, f.server_name);
  }
  return ndpi.map((n) => {
    const sensor = first.get(n.key) ?? null;
    const verdict = sensor === null ? (seen.has(n.key) ? 'sensor-none' : 'no-flow') : sensor === n.name.slice(0, MAX) ? 'same' : 'different';
    return { ...n, sensor, verdict };
  });
}

/** The flow's name when it carries it itself (read from its packets, or its conversation's): not a DNS-given one. */
function ownName(flow) {
  return flow.server_name_source === 'dns' ? null : flow.server_name;
}

/** The TTL clamp of src/flows/address-names.ts, seconds. */
const MIN_TTL_S = 60;
const MAX_TTL_S = 3600;

/**
 * tshark's DNS and mDNS responses in `pcap` (UDP from port 53 or 5353, RCODE 0, not tunnelled): per response its
 * time and each address it names: { addr, name, ttl }, the name being the first question's, for the A/AAAA
 * records reached from it through CNAMEs (an mDNS response without a question: each record's owner).
 */
export function tsharkDnsAnswers(pcap) {
  const args = ['-r', pcap, '-n', '-T', 'json', '--no-duplicate-keys', '-J', 'frame udp dns mdns', '-Y', '(udp.srcport == 53 || udp.srcport == 5353) && dns.flags.response == 1'];
  const r = spawnSync('tshark', args, { encoding: 'utf8', timeout: 300_000, maxBuffer: 1 << 29 });
  if (r.status !== 0) throw new Error(`tshark on ${pcap}: exit ${r.status}: ${r.stderr.trim().split('\n').pop()}`);
  const out = [];
  for (const packet of JSON.parse(r.stdout || '[]')) {
    const l = packet._source.layers;
    const dns = l.dns ?? l.mdns;
    if (!dns || Array.isArray(dns) || Array.isArray(l.udp)) continue; // tunnelled: the sensor does not open tunnels
    const flags = Number(dns['dns.flags']);
    if ((flags & 0x7800) !== 0 || (flags & 0x000f) !== 0) continue;
    const mdns = l.udp['udp.srcport'] === '5353';
    const values = (o) => Object.values(o ?? {}).flatMap((v) => (Array.isArray(v) ? v : [v]));
    const question = values(dns.Queries)[0]?.['dns.qry.name']?.toLowerCase().replace(/\.$/, '');
    if (question === undefined && !mdns) continue;
    const records = values(dns.Answers).filter((a) => (Number(a['dns.resp.class']) & 0x7fff) === 1);
    const chain = new Set(question === undefined ? [] : [question]);
    for (let added = true; added && chain.size < 8; ) {
      added = false;
      for (const a of records) {
        const target = a['dns.cname']?.toLowerCase();
        if (a['dns.resp.type'] === '5' && chain.has((a['dns.resp.name'] ?? '').toLowerCase()) && target && !chain.has(target) && chain.size < 8) {
          chain.add(target);
          added = true;
        }
      }
    }
    const named = [];
    for (const a of records) {
      const addr = a['dns.a'] ?? a['dns.aaaa'];
      const owner = (a['dns.resp.name'] ?? '').toLowerCase();
      if (addr === undefined || !(a['dns.resp.type'] === '1' || a['dns.resp.type'] === '28')) continue;
      if (question === undefined) named.push({ addr, name: owner.slice(0, MAX), ttl: Number(a['dns.resp.ttl']) });
      else if (chain.has(owner)) named.push({ addr, name: question.slice(0, MAX), ttl: Number(a['dns.resp.ttl']) });
    }
    out.push({ us: epochUs(packet._source.layers.frame['frame.time_epoch']), named });
  }
  return out;
}

/**
 * Each sensor flow whose name is not its own against the name tshark's responses give its server address (the
 * latest one seen at or before the flow's start, within its clamped TTL), or the name of its conversation's
 * previous flow when that one ended within 120 s and was named from DNS (a name carried over keeps its source):
 * { flow, sensor, expected, verdict: 'same' | 'none' | 'different' | 'sensor-only' | 'tshark-only' }.
 */
export function compareDnsNames(flows, answers) {
  const byAddr = new Map();
  for (const a of answers) for (const n of a.named) byAddr.set(n.addr, [...(byAddr.get(n.addr) ?? []), { us: a.us, ...n }]);
  const previous = new Map();
  const res = [];
  for (const flow of [...flows].sort((x, y) => x.start_us - y.start_us)) {
    const key = tupleKey(flow.protocol, flow.src_ip, flow.src_port, flow.dst_ip, flow.dst_port);
    const prev = previous.get(key);
    previous.set(key, flow);
    if (flow.server_name_source === 'flow' || flow.server_name_source === 'carried') continue;
    const seen = (byAddr.get(flow.dst_ip) ?? []).filter((n) => n.us <= flow.start_us);
    const last = seen[seen.length - 1];
    const fresh = last && flow.start_us - last.us <= Math.min(Math.max(last.ttl, MIN_TTL_S), MAX_TTL_S) * 1e6 ? last.name : null;
    const carried = prev && prev.server_name_source === 'dns' && flow.start_us - prev.end_us <= 120e6 ? prev.server_name : null;
    const sensor = flow.server_name;
    const expected = sensor !== null && sensor === carried ? carried : fresh;
    const verdict = sensor === expected ? (sensor === null ? 'none' : 'same') : sensor === null ? 'tshark-only' : expected === null ? 'sensor-only' : 'different';
    res.push({ flow, sensor, expected, verdict });
  }
  return res;
}

/**
 * nDPI's flows (TCP and UDP) from its result file: protocol number, endpoints, nDPI protocol, its Hostname/SNI
 * (or null) and its first-packet classification (`FPC: ID/APP, Confidence: HOW`: `DNS` when nDPI itself took the
 * application from a DNS answer it saw for the address).
 */
export function ndpiFlows(outFile) {
  return ndpiResultFlows(outFile).map(({ key, app, hostname, fpc }) => ({ key, app, name: hostname || null, fpc }));
}

/**
 * Every TCP/UDP flow line of an nDPI result file: its 5-tuple key, nDPI protocol, `Hostname/SNI` lower-cased
 * (undefined when the line has none), first-packet classification (`APP by HOW`, or null), category (`cat`) and
 * how nDPI decided (`confidence`: `DPI`, `Match by port`...).
 * With `every`, also the lines the name checks have always left out: flows nDPI saw one way only (`->`) and flows
 * whose line gives their VLAN tag before the protocol (`[VLAN: 100][proto: ...]`).
 */
export function ndpiResultFlows(outFile, { every = false } = {}) {
  return ndpiResultFlowsOfText(readFileSync(outFile, 'utf8'), { every });
}

/** ndpiResultFlows on the text of ndpiReader's output rather than a file of it. */
export function ndpiResultFlowsOfText(text, { every = false } = {}) {
  const res = [];
  const ep = (s) => {
    const i = s.lastIndexOf(':');
    return [s.slice(0, i).replace(/^\[|\]$/g, ''), Number(s.slice(i + 1))];
  };
  for (const line of text.split('\n')) {
    const m = (every ? /^\s+\d+\s+(TCP|UDP) (\S+) <?-> (\S+) (?:\[VLAN: \d+\])?\[proto: [\d.]+\/([^\]]+)\]/ : /^\s+\d+\s+(TCP|UDP) (\S+) <-> (\S+) \[proto: [\d.]+\/([^\]]+)\]/).exec(line);
    if (!m) continue;
    const [a, ap] = ep(m[2]);
    const [b, bp] = ep(m[3]);
    const hostname = /\[Hostname\/SNI: ([^\]]*)\]/.exec(line)?.[1].toLowerCase();
    const fpc = /\[FPC: [\d.]+\/([^,\]]+), Confidence: ([^\]]+)\]/.exec(line);
    const cat = /\[cat: ([^/\]]+)\//.exec(line)?.[1] ?? 'Unknown';
    const confidence = /\]\[Confidence: ([^\]]+)\]/.exec(line)?.[1] ?? null;
    res.push({ key: tupleKey(m[1] === 'TCP' ? 6 : 17, a, ap, b, bp), app: m[4], hostname, fpc: fpc ? `${fpc[1]} by ${fpc[2]}` : null, cat, confidence });
  }
  return res;
}

/**
 * Each DNS-named sensor flow (the first per 5-tuple) that nDPI lists: 'same' or 'different' against nDPI's
 * Hostname/SNI where it has one, else 'ndpi-none' (with nDPI's protocol and first-packet classification).
 */
export function compareDnsWithNdpi(flows, ndpi) {
  const byKey = new Map(ndpi.map((n) => [n.key, n]));
  const seen = new Set();
  const res = [];
  for (const f of flows) {
    if (f.server_name_source !== 'dns') continue;
    const key = tupleKey(f.protocol, f.src_ip, f.src_port, f.dst_ip, f.dst_port);
    const n = byKey.get(key);
    if (!n || seen.has(key)) continue;
    seen.add(key);
    const verdict = n.name === null ? 'ndpi-none' : f.server_name === n.name.slice(0, MAX) ? 'same' : 'different';
    res.push({ ...n, sensor: f.server_name, verdict });
  }
  return res;
}

async function main() {
  const args = process.argv.slice(2);
  const pcaps = args.length > 0 ? args : readdirSync(join(NDPI, 'pcap')).sort().map((f) => join(NDPI, 'pcap', f));
  const totals = {};
  const ndpiTotals = {};
  const dnsTotals = {};
  const dnsNdpiTotals = {};
  const examples = [];
  const add = (t, k) => (t[k] = (t[k] ?? 0) + 1);
  for (const pcap of pcaps) {
    let flows;
    let rows;
    try {
      flows = sensorFlows(pcap);
      rows = compareWithTshark(flows, tsharkNames(pcap));
    } catch (e) {
      console.log(`${basename(pcap)}: skipped (${e.message})`);
      add(totals, 'capture skipped');
      continue;
    }
    for (const r of compareDnsNames(flows, tsharkDnsAnswers(pcap))) {
      add(dnsTotals, r.verdict);
      if (r.verdict !== 'same' && r.verdict !== 'none') examples.push(`${basename(pcap)}: DNS ${r.verdict} ${r.flow.src_ip}:${r.flow.src_port} -> ${r.flow.dst_ip}:${r.flow.dst_port}/${r.flow.protocol} sensor=${JSON.stringify(r.sensor)} tshark=${JSON.stringify(r.expected)}`);
    }
    for (const r of rows) {
      const why = r.verdict === 'tshark-only' && r.event.reassembled ? ' (tshark reassembled)' : '';
      add(totals, `${r.verdict}${r.event ? ` ${r.event.kind}` : ''}${why}`);
      if (r.verdict === 'different' || r.verdict === 'sensor-only' || (r.verdict === 'tshark-only' && why === '')) {
        examples.push(`${basename(pcap)}: ${r.verdict} ${r.flow.src_ip}:${r.flow.src_port} -> ${r.flow.dst_ip}:${r.flow.dst_port}/${r.flow.protocol} sensor=${JSON.stringify(r.sensor)} tshark=${JSON.stringify(r.event?.raw ?? null)}`);
      }
    }
    const out = join(NDPI, 'result', `${basename(pcap)}.out`);
    if (existsSync(out)) {
      for (const n of compareDnsWithNdpi(flows, ndpiFlows(out))) {
        add(dnsNdpiTotals, `${n.verdict}${n.fpc?.endsWith('by DNS') ? ' (nDPI: application by DNS)' : ''}`);
        examples.push(`${basename(pcap)}: DNS-named ${n.verdict}: nDPI ${n.app} (FPC ${n.fpc}) ${n.key} nDPI=${JSON.stringify(n.name)} sensor=${JSON.stringify(n.sensor)}`);
      }
      for (const n of compareWithNdpi(flows, ndpiNames(out))) {
        add(ndpiTotals, `${n.verdict} ${n.app.split('.')[0]}`);
        if (n.verdict === 'different') examples.push(`${basename(pcap)}: nDPI ${n.app} ${n.key} nDPI=${JSON.stringify(n.name)} sensor=${JSON.stringify(n.sensor)}`);
      }
    }
  }
  console.log(`\n${pcaps.length} captures. Sensor flows against tshark (verdict, tshark's kind):`);
  for (const [k, v] of Object.entries(totals).sort()) console.log(`  ${k}: ${v}`);
  console.log('nDPI flows with Hostname/SNI against the sensor (verdict, nDPI protocol):');
  for (const [k, v] of Object.entries(ndpiTotals).sort()) console.log(`  ${k}: ${v}`);
  console.log('Flows without a name of their own against the name tshark\'s DNS answers give their server address:');
  for (const [k, v] of Object.entries(dnsTotals).sort()) console.log(`  ${k}: ${v}`);
  console.log('DNS-named flows against nDPI\'s flow of the same 5-tuple (its Hostname/SNI where it has one):');
  for (const [k, v] of Object.entries(dnsNdpiTotals).sort()) console.log(`  ${k}: ${v}`);
  console.log(`\nDisagreements (${examples.length}):`);
  for (const e of examples) console.log(`  ${e}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
