#!/usr/bin/env node
/**
 * Replay many captures in one process, one CSV each, as `sensor --replay F --profile P --csv OUT/NAME.csv
 * --no-model` would write it (same engine, same defaults, same CSV sink), without a Node start-up per capture.
 *
 *   node test/helpers/replay-many.mjs PROFILE OUT_DIR CAPTURE...
 *
 * Prints one JSON line per capture: {name, linkType, csv} or {name, error} (e.g. an unsupported link type).
 * Uses the built dist/ (npm install / npx tsc builds it).
 */
import { basename, join } from 'node:path';
import { openSources, replay } from '../../dist/cli/replay.js';
import { getProfile } from '../../dist/features/profiles.js';
import { CsvSink } from '../../dist/sinks/csv.js';

const [profileName, outDir, ...captures] = process.argv.slice(2);
if (!profileName || !outDir) {
  process.stderr.write('usage: replay-many.mjs PROFILE OUT_DIR CAPTURE...\n');
  process.exit(2);
}
const profile = getProfile(profileName);
for (const file of captures) {
  const name = basename(file);
  let sources;
  try {
    sources = openSources([file], undefined);
  } catch (e) {
    process.stdout.write(JSON.stringify({ name, error: e.message }) + '\n');
    continue;
  }
  const linkType = sources[0].linkType;
  const csv = join(outDir, `${name}.${profileName}.csv`);
  const sink = new CsvSink(csv, profile.columns);
  const summary = await replay(
    {
      profile,
      settings: { flowTimeout: 120, activityTimeout: 5, idleTimeout: 0, maxFlows: 262144, portDirection: false, ipv6: false },
      sinks: [{ kind: 'csv', sink, key: csv, ino: undefined }],
    },
    sources,
  );
  await sink.close();
  process.stdout.write(JSON.stringify({ name, linkType, csv, packets: summary.packets, flows: summary.flows }) + '\n');
}
