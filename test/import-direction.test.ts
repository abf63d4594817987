/**
 * The direction of `src/`: sources → decode → flows → features → engine → classify → sinks, wired only by the
 * CLI. A stage imports from its own folder and earlier stages, never later ones; the pure core (decode, flows,
 * features, engine) imports no Node module, no npm package (a logger among them) and reads no clock. Checked
 * over the TypeScript import graph (type-only imports included: a type from a later stage is still a wrong
 * dependency), so a wrong import fails `npm test`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/cli.js';

/** The pipeline's stages in order. */
const STAGES = ['sources', 'decode', 'flows', 'features', 'engine', 'classify', 'sinks'];
/** Folders that wire stages together (or read their output): they may import any stage; no stage imports them. */
const WIRING = new Set(['cli', 'config', 'pipeline', 'report', 'serve']);
/**
 * A subcommand's entry point living with its stage (`classify/cli.ts` is `sensor classify`): wiring like cli/, but
 * only outside the pure core.
 */
const isCommandEntry = (file: string): boolean => file.endsWith('/cli.ts') && !PURE.has(file.split('/')[0]!);
/**
 * Contracts written by an earlier stage and read by the core: pure layout files inside the core that the named
 * earlier stages may import (the core may not import a source, which does I/O). Each must import nothing itself.
 */
const CONTRACTS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  // The packet batch a source fills and the engine reads (offsets of each packet's record).
  ['engine/packet-batch.ts', new Set(['sources'])],
]);
/** The pure core: no I/O, no logger, no clock. */
const PURE = new Set(['decode', 'flows', 'features', 'engine']);
/** What reads a clock or schedules by wall time, in source text. */
const CLOCK = /\bDate\.now\(|new Date\(\s*\)|\bperformance\.now\(|\bprocess\.hrtime\b|\bset(?:Timeout|Interval|Immediate)\(/;

/** file (relative to src/, posix) → its import specifiers; and its source text for the clock check. */
export type ImportGraph = Map<string, { imports: string[]; text: string }>;

const IMPORT = /(?:^|[;\s])(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

export function importsOf(text: string): string[] {
  // Drop comments so an example in a doc comment is not an import.
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"])\/\/.*$/gm, '$1');
  const out: string[] = [];
  for (const m of code.matchAll(IMPORT)) out.push((m[1] ?? m[2])!);
  return out;
}

function readGraph(srcDir: string): ImportGraph {
  const g: ImportGraph = new Map();
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) {
        const text = readFileSync(p, 'utf8');
        g.set(relative(srcDir, p).split('\\').join('/'), { imports: importsOf(text), text });
      }
    }
  };
  walk(srcDir);
  return g;
}

/** Every broken rule of the graph, one line each (`file: what`). */
export function violations(g: ImportGraph): string[] {
  const bad: string[] = [];
  for (const [file, { imports, text }] of g) {
    const folder = file.split('/')[0]!;
    const rank = STAGES.indexOf(folder);
    const pure = PURE.has(folder);
    if (pure) {
      const clock = CLOCK.exec(text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, ''));
      if (clock) bad.push(`${file}: reads a clock or a timer (${clock[0]})`);
    }
    if (CONTRACTS.has(file) && imports.length > 0) bad.push(`${file}: a contract between stages imports nothing`);
    for (const spec of imports) {
      if (!spec.startsWith('.')) {
        if (pure) bad.push(`${file}: imports ${spec} (the pure core imports no Node module or package)`);
        continue;
      }
      const target = posix.normalize(posix.join(posix.dirname(file), spec));
      if (target.startsWith('..')) {
        bad.push(`${file}: imports ${spec}, outside src/`);
        continue;
      }
      const to = target.split('/')[0]!;
      if (to === folder || !target.includes('/')) continue;
      if (WIRING.has(folder) || isCommandEntry(file)) continue;
      if (WIRING.has(to)) {
        bad.push(`${file}: imports ${spec} (${to}/ wires the stages; no stage imports it)`);
        continue;
      }
      if (CONTRACTS.get(target.replace(/\.js$/, '.ts'))?.has(folder)) continue;
      const toRank = STAGES.indexOf(to);
      if (rank < 0 || toRank < 0) bad.push(`${file}: imports ${spec} (${rank < 0 ? folder : to}/ is not a known stage)`);
      else if (toRank > rank) bad.push(`${file}: imports ${spec} (${to} comes after ${folder})`);
    }
  }
  return bad.sort();
}

describe('import direction of src/', () => {
  it('every stage imports only from itself and earlier stages; the core is pure', () => {
    const g = readGraph(join(ROOT, 'src'));
    expect(g.size).toBeGreaterThan(40);
    // The graph is read for real: the engine's imports are found.
    expect(g.get('engine/engine.ts')!.imports).toContain('../decode/reference-reader.js');
    expect(violations(g)).toEqual([]);
  });

  it('catches a later stage, a contract read by a stage it is not written for, an earlier stage reaching forward, a wiring folder, a Node module, a package and a clock in the core', () => {
    const g: ImportGraph = new Map([
      ['engine/engine.ts', { imports: ['./flow-batch.js', '../features/profiles.js', '../sinks/flow-rows.js'], text: '' }],
      ['features/profiles.ts', { imports: ['../cli/main.js', '../decode/packet.js'], text: '' }],
      ['decode/decode.ts', { imports: ['node:fs', 'pino'], text: 'const t = Date.now();' }],
      ['flows/flow-table.ts', { imports: [], text: 'setTimeout(() => {}, 1); // ok in a comment: Date.now()' }],
      ['classify/stage.ts', { imports: ['../sinks/csv.js', 'node:worker_threads', '../engine/flow-batch.js'], text: 'Date.now()' }],
      ['sources/pcap-source.ts', { imports: ['../decode/status.js', '../engine/packet-batch.js'], text: '' }],
      ['decode/link.ts', { imports: ['../engine/packet-batch.js'], text: '' }],
      ['engine/packet-batch.ts', { imports: ['./counters.js'], text: '' }],
      ['classify/cli.ts', { imports: ['../cli/exit-codes.js', '../sinks/csv.js'], text: 'Date.now()' }],
      ['engine/cli.ts', { imports: ['../cli/exit-codes.js'], text: '' }],
      ['cli/main.ts', { imports: ['../sinks/csv.js', '../sources/pcap-source.js', 'yargs'], text: '' }],
    ]);
    expect(violations(g)).toEqual([
      'classify/stage.ts: imports ../sinks/csv.js (sinks comes after classify)',
      'decode/decode.ts: imports node:fs (the pure core imports no Node module or package)',
      'decode/decode.ts: imports pino (the pure core imports no Node module or package)',
      'decode/decode.ts: reads a clock or a timer (Date.now()',
      'decode/link.ts: imports ../engine/packet-batch.js (engine comes after decode)',
      'engine/cli.ts: imports ../cli/exit-codes.js (cli/ wires the stages; no stage imports it)',
      'engine/engine.ts: imports ../sinks/flow-rows.js (sinks comes after engine)',
      'engine/packet-batch.ts: a contract between stages imports nothing',
      'features/profiles.ts: imports ../cli/main.js (cli/ wires the stages; no stage imports it)',
      'flows/flow-table.ts: reads a clock or a timer (setTimeout()',
      'sources/pcap-source.ts: imports ../decode/status.js (decode comes after sources)',
    ]);
  });

  it('reads every form of import, and not the ones in comments', () => {
    expect(
      importsOf(`import { a } from './a.js';
import type { B } from "../b/b.js";
export { c } from './c.js';
export * from './d.js';
import './side-effect.js';
const m = await import('./dynamic.js');
import {
  e,
  f,
} from '../e/e.js';
// import { x } from '../sinks/x.js';
/* import { y } from '../sinks/y.js'; */`),
    ).toEqual(['./a.js', '../b/b.js', './c.js', './d.js', './side-effect.js', './dynamic.js', '../e/e.js']);
  });
});
