// Are this build's verdicts the same as another build's (e.g. main's), flow by flow? Both builds run this
// checkout's two default models (models/, given by path: the other checkout's may be other versions), so only the
// code differs. For each capture:
// 1. both builds' CLI (both default models, the context stage, as a user runs it) write JSON lines; every line
//    (flow, identity, label, score, attack label and score, kdd, application group and score, context) must be
//    byte-identical;
// 2. every model's full probability output, batch by batch (1,024 flows, as the replay makes them): this build's
//    Classifier and the other build's, in this process, on the same batches, compared bit for bit.
//
//   node bench/verdict-same.mjs --base /work/main CAPTURE...
//
// Exits 1 on the first difference (printed), 0 when every capture matched.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import { ROOT, option as opt, replayEngine } from './common.mjs';

const args = process.argv.slice(2);
const base = resolve(opt('base', '/work/main'));
const captures = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--base');
const MODELS = { attack: join(ROOT, 'models', 'cic2017-attack.json'), app: join(ROOT, 'models', 'cic2017-app.json') };
const tmp = mkdtempSync(join(tmpdir(), 'verdict-same-'));
const mine = (p) => import(pathToFileURL(join(ROOT, 'dist', p)).href);
const theirs = (p) => import(pathToFileURL(join(base, 'dist', p)).href);

const builds = [await mine('classify/classifier.js'), await theirs('classify/classifier.js')];

let failed = false;
try {
  for (const file of captures) {
    // 1. the CLI's output
    const outs = [ROOT, base].map((dir, k) => {
      const json = join(tmp, `${k}.json`);
      const r = spawnSync(process.execPath, [join(dir, 'bin', 'sensor.js'), '--replay', file, '--json', json, '-q', '--model', MODELS.attack, '--app-model', MODELS.app], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${dir}: exit ${r.status}: ${r.stderr}`);
      return readFileSync(json, 'utf8').split('\n');
    });
    let lineDiff = outs[0].length === outs[1].length ? -1 : Math.min(outs[0].length, outs[1].length);
    for (let i = 0; i < Math.min(outs[0].length, outs[1].length) && lineDiff < 0; i++) if (outs[0][i] !== outs[1][i]) lineDiff = i;
    // 2. the probabilities
    const batches = [];
    await replayEngine(file, (rows) => batches.push(rows));
    let probDiff = null;
    let values = 0;
    for (const spec of [MODELS.attack, MODELS.app]) {
      const [a, b] = await Promise.all(builds.map((m) => m.Classifier.load(spec)));
      for (const [k, rows] of batches.entries()) {
        const pa = await a.probabilities(rows);
        const pb = await b.probabilities(rows);
        const ua = new Uint32Array(pa.buffer, pa.byteOffset, pa.length);
        const ub = new Uint32Array(pb.buffer, pb.byteOffset, pb.length);
        values += pa.length;
        if (ua.length !== ub.length) probDiff ??= `${spec} batch ${k}: ${ua.length} vs ${ub.length} values`;
        else for (let i = 0; i < ua.length && probDiff === null; i++) if (ua[i] !== ub[i]) probDiff = `${spec} batch ${k} value ${i}: ${pa[i]} vs ${pb[i]}`;
      }
      await a.close();
      await b.close();
    }
    const flows = batches.reduce((n, r) => n + r.count, 0);
    const ok = lineDiff < 0 && probDiff === null;
    failed ||= !ok;
    console.log(
      `${ok ? 'same' : 'DIFFERENT'} ${file}: ${outs[0].length - 1} JSON lines${lineDiff >= 0 ? ` (first difference at line ${lineDiff + 1}:\n  ${outs[0][lineDiff]}\n  ${outs[1][lineDiff]})` : ''}; ` +
        `${flows} flows, ${values} probabilities${probDiff ? ` (${probDiff})` : ''}`,
    );
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
