// Read floor: replays a capture through the sensor_pcap addon, counting packets and summing
// caplen (so every batch's meta is touched), and reports packets/s. No decoding.
//   node bench/read-floor.mjs FILE [batchBytes] [batchPackets] [filter]
// Make a big input with: python3 /work/shared/tools/gen_big.py /tmp/big.pcap 150000 1 128
import { createRequire } from 'node:module';
import { statSync } from 'node:fs';

const require = createRequire(import.meta.url);
const native = require('../native/build/Release/sensor_pcap.node');

const [file, bytesArg, pktsArg, filter] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/read-floor.mjs FILE [batchBytes] [batchPackets] [filter]');
  process.exit(2);
}
const data = new Uint8Array(Number(bytesArg ?? 4 << 20));
const meta = new Float64Array(Number(pktsArg ?? 8192) * native.META_STRIDE);

const t0 = process.hrtime.bigint();
const h = native.openOffline(file, filter ?? null);
let packets = 0, bytes = 0, batches = 0;
for (let n = native.next(h, data, meta); n > 0; n = native.next(h, data, meta)) {
  batches++;
  packets += n;
  for (let i = 0; i < n; i++) bytes += meta[i * 6 + 2];
}
const c = native.counters(h);
native.close(h);
const s = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(JSON.stringify({
  file, fileBytes: statSync(file).size, packets, capturedBytes: bytes, batches, seconds: +s.toFixed(3),
  packetsPerSec: Math.round(packets / s), nsPerPacket: +((s * 1e9) / packets).toFixed(1),
  warning: c.warning, oversize: c.oversize,
}));
