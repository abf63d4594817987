/**
 * onnxruntime-node (1.30) starts Microsoft's telemetry client when a model loads: a device id and an event store
 * under $XDG_CACHE_HOME (else ~/.cache)/Microsoft/DeveloperTools/.onnxruntime, uploaded over HTTPS. The `sensor` command turns it off
 * (bin/sensor.js sets ORT_DISABLE_TELEMETRY=1 unless the environment sets it): a replay with the default model
 * leaves nothing there. The control run, with the variable set to 0, shows the check can see the store. Both runs
 * pin HOME and XDG_CACHE_HOME to a fresh directory: a CI runner that sets XDG_CACHE_HOME would otherwise put the
 * store where neither check looks, and the first check would pass for the wrong reason. Both runs also drop the
 * variables by which the library recognises a CI runner (CI, GITHUB_ACTIONS, ...): there it starts no telemetry at
 * all, so the control would fail and the first check would pass without testing anything. A user's machine has none.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, sensor } from './helpers/cli.js';

const EDGE = join(ROOT, 'fixtures/reference/edge.pcap');
const store = (home: string): string => join(home, '.cache/Microsoft/DeveloperTools/.onnxruntime');

// The names onnxruntime 1.30 reads to detect a CI runner (strings in libonnxruntime.so; CI=true alone is enough).
const CI_MARKERS = ['CI', 'TF_BUILD', 'GITHUB_ACTIONS', 'GITLAB_CI', 'CIRCLECI', 'TRAVIS', 'JENKINS_URL', 'CODEBUILD_BUILD_ID',
  'BUILDKITE', 'TEAMCITY_VERSION', 'APPVEYOR', 'BITBUCKET_BUILD_NUMBER', 'ORT_RUNNING_UNIT_TESTS'];

const homes: string[] = [];
afterAll(() => homes.forEach((h) => rmSync(h, { recursive: true, force: true })));

async function replayWithModel(given: NodeJS.ProcessEnv): Promise<string> {
  const env = { ...given };
  for (const name of CI_MARKERS) delete env[name];
  const home = mkdtempSync(join(tmpdir(), 'sensor-home-'));
  homes.push(home);
  const r = await sensor(['--replay', EDGE, '--csv', join(home, 'out.csv'), '--model', 'cic2017-attack', '-q'], { env: { ...env, HOME: home, XDG_CACHE_HOME: join(home, '.cache') }, timeoutMs: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  return home;
}

describe.skipIf(!existsSync(join(ROOT, 'models/cic2017-attack.onnx')))('onnxruntime telemetry', () => {
  it('the sensor command leaves no telemetry store behind', async () => {
    const env = { ...process.env };
    delete env.ORT_DISABLE_TELEMETRY;
    const home = await replayWithModel(env);
    expect(existsSync(store(home)) ? readdirSync(store(home)) : []).toEqual([]);
  }, 60_000);

  it('control: with ORT_DISABLE_TELEMETRY=0 the store appears', async () => {
    const home = await replayWithModel({ ...process.env, ORT_DISABLE_TELEMETRY: '0' });
    expect(readdirSync(store(home))).toContain('deviceid');
  }, 60_000);
});
