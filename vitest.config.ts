import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Builds dist/ and the addon when older than their sources, so CLI tests never run a stale build.
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    // Two test files at a time even on the 2-core CI machine, where vitest's default (cores - 1) runs one: most files
    // spend their time waiting on processes they start (the sensor, tshark, ClickHouse, a browser). Files never share
    // a name (temporary directories, free ports, live labs named from the worker's pid), so they can run side by side.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    hookTimeout: 120_000,
  },
});
