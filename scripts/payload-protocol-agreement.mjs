// The sensor's payload protocols (SQLite flows.payload_protocol) against nDPI's own protocol, per flow.
//
//   node scripts/payload-protocol-agreement.mjs [--profile P] [--examples] [CAPTURE...]
//       (default: every capture in ../shared/data/ndpi/pcap, profile fixed with --ipv6: every flow, one-packet
//       and IPv6 ones too; with --profile cic2017, the flows the application model sees)
//
// Each capture is replayed alone (--no-model), and every sensor flow is matched to nDPI's result line of the same
// protocol and endpoint pair (../shared/data/ndpi/result/<capture>.out; ndpiResultFlows of
// scripts/server-name-agreement.mjs). nDPI names a flow `MASTER` or `MASTER.APP` ("STUN.WhatsAppCall", "TLS.Google");
// ours agrees when it is either part, or a protocol nDPI names otherwise (ALIASES: IMAPS is TLS on 993 to nDPI,
// and also IMAP upgraded by STARTTLS, whose first packets are IMAP's). nDPI's one-way (`->`) and VLAN-tagged lines count too. Printed:
// - per payload protocol of ours, over the sensor flows that have it: how many nDPI agrees with (its protocol, or
//   else its first-packet classification `FPC`, which is what our first-packets rule compares with: a STUN exchange
//   that turns into DTLS is DTLS to nDPI, STUN by its FPC), how many it gives another protocol (precision is
//   agreeing / (agreeing + other)), how many it could not classify (Unknown), and how many have no nDPI line;
// - per nDPI protocol (its master, or the app when that is what we name), over nDPI's flows: how many have a sensor
//   flow carrying that protocol (coverage), another one, or none; a flow nDPI itself named by its port or address
//   (its Confidence is not DPI: often a flow without payload) and we did not is counted apart (notDpi), outside
//   the coverage;
// - per application group (the data README's categories -> groups table), over the sensor flows matched to nDPI:
//   how many had no server name, and how many of those now have a payload protocol.
// With --examples, every disagreement. Exits 0 (a report, not a test).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ndpiResultFlows, replayFlows, tupleKey } from './server-name-agreement.mjs';
import { PAYLOAD_PROTOCOLS } from '../dist/decode/payload-protocol.js';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const NDPI = join(ROOT, '..', 'shared', 'data', 'ndpi');

/**
 * nDPI's names for a protocol we name otherwise: TLS on a protocol's TLS port (nDPI names the port's protocol),
 * HTTP through a proxy, SMB's older nDPI name; and HTTP that ours refines by its response's Content-Type
 * (HTTP_Download, HTTP_Media), which nDPI shows as the flow's category, not its protocol (a DASH stream's media is
 * MpegDash to nDPI when it saw the request, HTTP_Media to us when the capture holds only the answer).
 */
export const ALIASES = {
  IMAPS: ['TLS', 'IMAP'],
  POPS: ['TLS', 'POP3'],
  SMTPS: ['TLS', 'SMTP'],
  FTPS: ['TLS', 'FTP_CONTROL'],
  LDAPS: ['TLS'],
  HTTP_Proxy: ['HTTP', 'HTTP_Download', 'HTTP_Media'],
  HTTP: ['HTTP_Download', 'HTTP_Media'],
  MpegDash: ['HTTP_Media'],
};

/** Does our protocol `ours` name nDPI's `ndpi` ("MASTER" or "MASTER.APP")? */
export function agrees(ours, ndpi) {
  return ndpi.split('.').some((part) => part === ours || (ALIASES[part] ?? []).includes(ours));
}

/**
 * Does ours name what nDPI's first packets showed it (its `FPC`, first-packet classification, decided by DPI)? A flow
 * nDPI names after what comes later (STUN then DTLS is "DTLS.GoogleCall", FPC "STUN.GoogleCall") starts as ours says.
 */
export function agreesFirst(ours, n) {
  if (!n.fpc?.endsWith(' by DPI')) return false;
  return agrees(ours, n.fpc.slice(0, -' by DPI'.length));
}

/** The application groups of the data README's table: nDPI category -> group (anything else: Other). */
export function categoryGroups() {
  const groups = {};
  const readme = readFileSync(join(NDPI, 'README.md'), 'utf8');
  for (const line of readme.split('\n')) {
    const m = /^\| (\w+) \| ([^|]+) \|$/.exec(line.trim());
    if (!m || m[1] === 'group' || m[1] === 'Other') continue;
    for (const cat of m[2].split(',')) groups[cat.trim()] = m[1];
  }
  return groups;
}

/** The sensor's flows of `pcap`: 5-tuple, server name, payload protocol. */
export function sensorFlows(pcap, profile) {
  const extra = profile === 'fixed' ? ['--ipv6'] : [];
  return replayFlows(pcap, ['--profile', profile, ...extra, '--no-model', '--no-app-model'], 'src_ip, src_port, dst_ip, dst_port, protocol, server_name, payload_protocol');
}

/** Adds one capture's comparison to `t` (the totals, see main) and its disagreements to `examples`. */
export function compare(name, flows, ndpi, groups, t, examples) {
  const add = (o, k, field) => {
    o[k] ??= {};
    o[k][field] = (o[k][field] ?? 0) + 1;
  };
  const byKey = new Map(ndpi.map((n) => [n.key, n]));
  const ours = new Map();
  for (const f of flows) {
    const key = tupleKey(f.protocol, f.src_ip, f.src_port, f.dst_ip, f.dst_port);
    const n = byKey.get(key);
    if (f.payload_protocol !== null) {
      const set = ours.get(key) ?? new Set();
      set.add(f.payload_protocol);
      ours.set(key, set);
      const verdict = !n ? 'noNdpi' : agrees(f.payload_protocol, n.app) ? 'agree' : agreesFirst(f.payload_protocol, n) ? 'agreeFirst' : n.app === 'Unknown' ? 'unknown' : 'other';
      add(t.byOurs, f.payload_protocol, verdict);
      if (verdict === 'other') {
        add(t.confusions, `${f.payload_protocol} <- nDPI ${n.app}`, 'n');
        examples.push(`${name}: ours ${f.payload_protocol}, nDPI ${n.app}: ${f.src_ip}:${f.src_port} -> ${f.dst_ip}:${f.dst_port}/${f.protocol}`);
      }
    }
    if (n) {
      const g = groups[n.cat] ?? 'Other';
      add(t.groups, g, 'flows');
      if (f.server_name === null) {
        add(t.groups, g, 'unnamed');
        if (f.payload_protocol !== null) {
          add(t.groups, g, 'unnamedWithProtocol');
          if (agrees(f.payload_protocol, n.app) || agreesFirst(f.payload_protocol, n)) add(t.groups, g, 'unnamedAgreeing');
        }
      }
    }
  }
  for (const n of ndpi) {
    if (n.app === 'Unknown') continue;
    const set = ours.get(n.key);
    const [master, app] = n.app.split('.');
    // Counted under the part we would name: the app when it is one of ours (NetBIOS.SMBv1), else the master.
    const label = set && app && [...set].some((p) => p === app) ? app : master;
    const verdict = !flows.some((f) => tupleKey(f.protocol, f.src_ip, f.src_port, f.dst_ip, f.dst_port) === n.key)
      ? 'noFlow'
      : !set && !n.confidence?.startsWith('DPI')
        ? 'notDpi'
          : !set
            ? 'none'
            : [...set].some((p) => agrees(p, n.app) || agreesFirst(p, n))
              ? 'covered'
              : 'other';
    add(t.byNdpi, label, verdict);
  }
}

function table(title, rows, cols) {
  console.log(`\n${title}`);
  console.log(`  ${['', ...cols].map((c, i) => (i === 0 ? c.padEnd(28) : c.padStart(9))).join('')}`);
  for (const [k, v] of rows) console.log(`  ${[k.padEnd(28), ...cols.map((c) => String(v[c] ?? 0).padStart(9))].join('')}`);
}

async function main() {
  const args = process.argv.slice(2);
  let profile = 'fixed';
  const pi = args.indexOf('--profile');
  if (pi >= 0) {
    profile = args[pi + 1];
    args.splice(pi, 2);
  }
  const showExamples = args.includes('--examples');
  const files = args.filter((a) => a !== '--examples');
  const pcaps = files.length > 0 ? files : readdirSync(join(NDPI, 'pcap')).sort().map((f) => join(NDPI, 'pcap', f));
  const groups = categoryGroups();
  const t = { byOurs: {}, byNdpi: {}, groups: {}, confusions: {} };
  const examples = [];
  let flowsAll = 0;
  let withProtocol = 0;
  for (const pcap of pcaps) {
    const out = join(NDPI, 'result', `${basename(pcap)}.out`);
    if (!existsSync(out)) continue;
    let flows;
    try {
      flows = sensorFlows(pcap, profile);
    } catch (e) {
      console.log(`${basename(pcap)}: skipped (${e.message})`);
      continue;
    }
    flowsAll += flows.length;
    withProtocol += flows.filter((f) => f.payload_protocol !== null).length;
    compare(basename(pcap), flows, ndpiResultFlows(out, { every: true }), groups, t, examples);
  }
  const precision = (v) => {
    const a = (v.agree ?? 0) + (v.agreeFirst ?? 0);
    const o = v.other ?? 0;
    return a + o === 0 ? '-' : `${((100 * a) / (a + o)).toFixed(1)}%`;
  };
  const coverage = (v) => {
    const n = (v.covered ?? 0) + (v.other ?? 0) + (v.none ?? 0);
    return n === 0 ? '-' : `${((100 * (v.covered ?? 0)) / n).toFixed(0)}%`;
  };
  console.log(`${pcaps.length} captures, profile ${profile}: ${flowsAll} sensor flows, ${withProtocol} with a payload protocol`);
  const sum = (o, f) => Object.values(o).reduce((s, v) => s + (v[f] ?? 0), 0);
  const ours = Object.entries(t.byOurs).sort((a, b) => a[0].localeCompare(b[0]));
  table('Our protocol, per sensor flow: nDPI agrees / its first-packet classification does / it names another / Unknown / no nDPI line', ours.map(([k, v]) => [k, { ...v, precision: precision(v) }]), ['agree', 'agreeFirst', 'other', 'unknown', 'noNdpi', 'precision']);
  console.log(`  all: agree ${sum(t.byOurs, 'agree')}, agreeFirst ${sum(t.byOurs, 'agreeFirst')}, other ${sum(t.byOurs, 'other')}, unknown ${sum(t.byOurs, 'unknown')}, noNdpi ${sum(t.byOurs, 'noNdpi')}`);
  const ndpiRows = Object.entries(t.byNdpi)
    .filter(([, v]) => (v.covered ?? 0) + (v.other ?? 0) > 0 || (v.none ?? 0) >= 5)
    .sort((a, b) => a[0].localeCompare(b[0]));
  table("nDPI's protocol, per nDPI flow: a sensor flow of ours agrees / ours says another / none has one / no sensor flow", ndpiRows.map(([k, v]) => [k, { ...v, coverage: coverage(v) }]), ['covered', 'other', 'none', 'notDpi', 'noFlow', 'coverage']);
  console.log(`  all: covered ${sum(t.byNdpi, 'covered')}, other ${sum(t.byNdpi, 'other')}, none ${sum(t.byNdpi, 'none')}, notDpi ${sum(t.byNdpi, 'notDpi')}, noFlow ${sum(t.byNdpi, 'noFlow')}`);
  const ruled = Object.fromEntries(Object.entries(t.byNdpi).filter(([k]) => PAYLOAD_PROTOCOLS.includes(k) || k in ALIASES));
  const c = sum(ruled, 'covered');
  const all = c + sum(ruled, 'other') + sum(ruled, 'none');
  console.log(`  nDPI protocols this build has a rule for, classified by nDPI's DPI: covered ${c} of ${all} (${((100 * c) / all).toFixed(1)} %)`);
  table('Per application group (nDPI category), sensor flows matched to nDPI: without a server name, and of those with a payload protocol (agreeing with nDPI)', Object.entries(t.groups).sort(), ['flows', 'unnamed', 'unnamedWithProtocol', 'unnamedAgreeing'].map((c) => c));
  console.log('\nDisagreements by kind:');
  for (const [k, v] of Object.entries(t.confusions).sort((a, b) => b[1].n - a[1].n)) console.log(`  ${v.n}  ${k}`);
  if (showExamples) for (const e of examples) console.log(`  ${e}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
