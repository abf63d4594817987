// How many flows have a server name, and from where (SQLite server_name_source: flow, carried, dns), on nDPI's
// benign captures, each replayed alone as the training does (--profile cic2017 --no-model).
//
//   node scripts/dns-names-measure.mjs [--all]     (--all: every capture, the not-benign ones too)
//
// The benign ones are those models/train/sources.py NDPI_NOT_BENIGN does not match (the data README's list:
// attacks, exploits, malware, scans, tunnels, fuzzing...). "Before" is the flows named by their own packets or
// their conversation's (what the sensor named without DNS answers: a DNS name is only given to a flow that has
// neither, and a name carried over from a DNS-named flow keeps the source 'dns').
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const NDPI = join(ROOT, '..', 'shared', 'data', 'ndpi', 'pcap');

const py = spawnSync('python3', ['-c', 'import re, sys; sys.path.insert(0, "models/train"); src = open("models/train/sources.py").read(); m = re.search(r"NDPI_NOT_BENIGN = re.compile\\(\\s*(.*?),\\s*re.I\\)", src, re.S); print(eval("(" + m.group(1) + ")"))'], { cwd: ROOT, encoding: 'utf8' });
if (py.status !== 0) throw new Error(`reading NDPI_NOT_BENIGN: ${py.stderr}`);
const notBenign = new RegExp(py.stdout.trim(), 'i');
const all = process.argv.includes('--all');
const Database = createRequire(import.meta.url)('better-sqlite3');

const totals = { captures: 0, flows: 0, flow: 0, carried: 0, dns: 0 };
const perCapture = [];
const dir = mkdtempSync(join(tmpdir(), 'sensor-dns-measure-'));
try {
  for (const name of readdirSync(NDPI).sort()) {
    if (!all && notBenign.test(name)) continue;
    const db = join(dir, `${name}.sqlite`);
    const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'sensor.js'), '--replay', join(NDPI, name), '--profile', 'cic2017', '--db', db, '--no-model', '--no-app-model', '-q'], { encoding: 'utf8' });
    if (r.status !== 0) {
      console.log(`${name}: exit ${r.status} (${r.stderr.trim().split('\n').pop()})`);
      continue;
    }
    const conn = new Database(db, { readonly: true });
    const rows = conn.prepare('SELECT coalesce(server_name_source, \'none\') AS s, count(*) AS n FROM flows GROUP BY s').all();
    conn.close();
    const c = { flows: 0, flow: 0, carried: 0, dns: 0 };
    for (const { s, n } of rows) {
      c.flows += n;
      if (s !== 'none') c[s] += n;
    }
    totals.captures++;
    for (const k of Object.keys(c)) totals[k] += c[k];
    if (c.dns > 0) perCapture.push(`${name}: ${c.dns} of ${c.flows} flows named from DNS`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const before = totals.flow + totals.carried;
console.log(perCapture.join('\n'));
console.log(`\n${totals.captures} ${all ? '' : 'benign '}captures, ${totals.flows} flows: named before ${before} (own ${totals.flow}, carried ${totals.carried}), with DNS answers ${before + totals.dns} (+${totals.dns})`);
