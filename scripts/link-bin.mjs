// Links the checkout's own `sensor` command into node_modules/.bin, so `npx sensor` works in a clone right
// after `npm install` (npm links the bins of dependencies, not of the root package itself).
import { mkdirSync, rmSync, symlinkSync, chmodSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const binDir = `${root}node_modules/.bin`;
mkdirSync(binDir, { recursive: true });
rmSync(`${binDir}/sensor`, { force: true });
symlinkSync('../../bin/sensor.js', `${binDir}/sensor`);
chmodSync(`${root}bin/sensor.js`, 0o755);
