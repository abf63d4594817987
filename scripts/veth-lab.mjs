/**
 * The veth lab that the live tests (test/helpers/live-lab.ts), the soak (scripts/soak.mjs) and the live bench
 * (bench/live.mjs) capture on: two fresh network namespaces, `sensor-<id>-cap` holding the sensor's end of a veth
 * pair and `sensor-<id>-snd` the sender's; MTU 9000, IPv6 off (no router solicitations or MLD: the sensor's end
 * hears only the frames sent), optionally an address on each end. Deleting the namespaces deletes the pair.
 *
 * The lab is a list of `ip` commands, so the tests can run them asynchronously (bounded, without blocking
 * vitest's worker) and the scripts synchronously (setupSync / teardownSync).
 */
import { spawnSync } from 'node:child_process';

/**
 * Names for lab `id` (short: interface names have at most 15 characters). `randomId(tag)` makes one.
 * @param {string} id
 */
export function vethLab(id) {
  const lab = { id, capNs: `sensor-${id}-cap`, sndNs: `sensor-${id}-snd`, capIf: `sv${id}c`, sndIf: `sv${id}s` };
  if (lab.capIf.length > 15) throw new Error(`lab id ${id} too long for an interface name`);
  return lab;
}

/** A random lab id; `tag` tells apart who made it (a leftover namespace then says where it came from). */
export function randomId(tag = '') {
  return `${process.pid % 1000}${tag}${Math.floor(Math.random() * (tag ? 1296 : 46656)).toString(36)}`;
}

/**
 * The commands that build the lab, in order, each `[cmd, args, undo?]` (undo: what removes what it made, so a
 * partial setup can be taken apart). `addresses`: put 10.a.b.1/24 on the sensor's end and 10.a.b.2/24 on the
 * sender's, random a.b (the daemon tests want addressed interfaces; the benches do not); `captureAddress: false`
 * leaves the sensor's end without one (its kernel then answers nothing). `loopback`: bring up the capture
 * namespace's `lo` (down in a new namespace), for a server the sensor runs there.
 * @param {ReturnType<typeof vethLab>} lab
 * @param {{ addresses?: boolean, captureAddress?: boolean, loopback?: boolean }} [opts]
 * @returns {[string, string[], string[]?][]}
 */
export function setupCommands(lab, opts = {}) {
  const a = 100 + Math.floor(Math.random() * 150);
  const b = Math.floor(Math.random() * 250);
  const cmds = [
    ['ip', ['netns', 'add', lab.capNs], ['netns', 'del', lab.capNs]],
    ['ip', ['netns', 'add', lab.sndNs], ['netns', 'del', lab.sndNs]],
    ['ip', ['link', 'add', lab.capIf, 'type', 'veth', 'peer', 'name', lab.sndIf], ['link', 'del', lab.capIf]],
    ['ip', ['link', 'set', lab.capIf, 'netns', lab.capNs]],
    ['ip', ['link', 'set', lab.sndIf, 'netns', lab.sndNs]],
  ];
  for (const [ns, dev, host] of [
    [lab.capNs, lab.capIf, 1],
    [lab.sndNs, lab.sndIf, 2],
  ]) {
    cmds.push(['ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']]);
    cmds.push(['ip', ['-n', ns, 'link', 'set', dev, 'mtu', '9000', 'up']]);
    if (opts.addresses && (host === 2 || opts.captureAddress !== false)) cmds.push(['ip', ['-n', ns, 'addr', 'add', `10.${a}.${b}.${host}/24`, 'dev', dev]]);
  }
  if (opts.loopback) cmds.push(['ip', ['-n', lab.capNs, 'link', 'set', 'lo', 'up']]);
  return cmds;
}

/** The commands that remove the lab (failures ignored: it may be half made, the veth not yet moved). */
export function teardownCommands(lab) {
  return [
    ['ip', ['netns', 'del', lab.capNs]],
    ['ip', ['netns', 'del', lab.sndNs]],
    ['ip', ['link', 'del', lab.capIf]],
  ];
}

/** Runs a command synchronously (30 s bound); throws with its stderr when it fails. */
export function sh(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error}`);
  return r.stdout;
}

/** For scripts: builds the lab, synchronously. */
export function setupSync(lab, opts = {}) {
  for (const [cmd, args] of setupCommands(lab, opts)) sh(cmd, args);
}

/** For scripts: removes the lab, synchronously, ignoring failures. */
export function teardownSync(lab) {
  for (const [cmd, args] of teardownCommands(lab)) spawnSync(cmd, args, { stdio: 'ignore' });
}
