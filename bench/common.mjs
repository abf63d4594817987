// What the bench scripts share: where the checkout and the bench captures are, their option reading, and the
// CLI's engine defaults (src/cli/main.ts) for the scripts that run the engine in-process.
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The bench captures (`npm run bench` makes big.pcap and the flood there). */
export const DATA = process.env.SENSOR_BENCH_DATA || '/var/tmp/sensor-bench';

/** `--name VALUE` from the command line, else `dflt`. */
export function option(name, dflt) {
  const args = process.argv.slice(2);
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
}

/** A module of this checkout's compiled sources (`dist/`), e.g. `distModule('classify/input.js')`. */
export function distModule(p) {
  return import(new URL(`../dist/${p}`, import.meta.url).href);
}

/** The load average, three figures (the scripts print it at start and end: the machine is shared). */
export function loadAverage() {
  return loadavg().map((x) => x.toFixed(2)).join(' ');
}

/**
 * A capture named on the command line: a path, or a bench capture by name (`big`, `flood`, `quick` in DATA). Exits 1
 * with a message when it is missing.
 */
export function captureFile(name) {
  const file = existsSync(name) ? resolve(name) : join(DATA, `${name}.pcap`);
  if (!existsSync(file)) {
    process.stderr.write(`bench: ${file} is missing (npm run bench creates it)\n`);
    process.exit(1);
  }
  return file;
}

/** The CLI's defaults (src/cli/main.ts), used by the in-process stages so they do the CLI's work. */
export const CLI_DEFAULTS = {
  flowTimeoutUs: 120e6,
  activityTimeoutUs: 5e6,
  idleTimeoutUs: 0,
  maxFlows: 262144,
  portAwareDirection: false,
  ipv6: false,
};

/**
 * This checkout's engine over `file`, in-process, with the CLI's defaults (profile cic2017 unless named): each
 * completed batch goes to `onFlows`. Reading stops once `enough()` is true, and then the flows still open are not
 * ended (a sample of the capture's first flows); otherwise every flow is ended at the end of the file.
 */
export async function replayEngine(file, onFlows, { profile = 'cic2017', batchSize = 1024, enough = () => false } = {}) {
  const dist = distModule;
  const { Engine } = await dist('engine/engine.js');
  const { PcapSource } = await dist('sources/pcap-source.js');
  const { getProfile } = await dist('features/profiles.js');
  const engine = new Engine({ profile: getProfile(profile), ...CLI_DEFAULTS, batchSize, onFlows });
  const src = PcapSource.openFile(file);
  for (let n = src.next(); n > 0 && !enough(); n = src.next()) engine.ingestBatch(src.linkType, src.data, src.meta, n);
  src.close();
  if (!enough()) engine.finish();
}
