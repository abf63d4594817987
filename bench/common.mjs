// What the bench scripts share: where the checkout and the bench captures are, their option reading, and the
// CLI's engine defaults (src/cli/main.ts) for the scripts that run the engine in-process.
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

/** The CLI's defaults (src/cli/main.ts), used by the in-process stages so they do the CLI's work. */
export const CLI_DEFAULTS = {
  flowTimeoutUs: 120e6,
  activityTimeoutUs: 5e6,
  idleTimeoutUs: 0,
  maxFlows: 262144,
  portAwareDirection: false,
  ipv6: false,
};
