/**
 * The live daemon's `/metrics`: its counters in the Prometheus text exposition format 0.0.4, served by Node's own
 * `http` module. The daemon hands a `collect()` that reads its counters when a scraper asks; nothing is computed
 * on the packet path.
 */
import { createServer, type Server } from 'node:http';

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface Metric {
  /** `sensor_...`; counters end in `_total`. */
  name: string;
  help: string;
  type: MetricType;
  /** One sample per label set. For a histogram, use `histogramSamples`. */
  samples: { labels?: Record<string, string>; value: number; suffix?: string }[];
}

/** Label values escaped as the format requires: backslash, double quote and newline. */
function labelText(labels: Record<string, string> | undefined): string {
  if (!labels) return '';
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function valueText(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** The text exposition format 0.0.4: `# HELP`, `# TYPE`, then the samples of each metric. */
export function exposition(metrics: readonly Metric[]): string {
  let out = '';
  for (const m of metrics) {
    out += `# HELP ${m.name} ${m.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${m.name} ${m.type}\n`;
    for (const s of m.samples) out += `${m.name}${s.suffix ?? ''}${labelText(s.labels)} ${valueText(s.value)}\n`;
  }
  return out;
}

/** A cumulative histogram of durations in seconds (inference latency per batch). */
export class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length).fill(0);
  }

  observe(seconds: number): void {
    this.sum += seconds;
    this.count++;
    for (let i = 0; i < this.bounds.length; i++) if (seconds <= this.bounds[i]!) this.counts[i]!++;
  }

  samples(): Metric['samples'] {
    return [
      ...this.bounds.map((b, i) => ({ suffix: '_bucket', labels: { le: String(b) }, value: this.counts[i]! })),
      { suffix: '_bucket', labels: { le: '+Inf' }, value: this.count },
      { suffix: '_sum', value: this.sum },
      { suffix: '_count', value: this.count },
    ];
  }
}

/** Why the metrics endpoint could not start: one line naming the address. */
export class MetricsError extends Error {}

/**
 * Serves `GET /metrics` on host:port (anything else: 404). Resolves once listening; rejects with a MetricsError
 * (address in use, not an address of this host, permission) otherwise.
 */
export function serveMetrics(host: string, port: number, collect: () => readonly Metric[]): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found: the metrics are at /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    const body = exposition(collect());
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  const where = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      const why =
        e.code === 'EADDRINUSE' ? 'address already in use' : e.code === 'EADDRNOTAVAIL' ? 'not an address of this host' : e.code === 'EACCES' ? 'permission denied' : e.message;
      reject(new MetricsError(`cannot serve metrics on ${where}: ${why}${e.code ? ` (${e.code})` : ''}`));
    });
    server.listen(port, host, () => {
      server.removeAllListeners('error');
      server.on('error', () => undefined);
      resolve(server);
    });
  });
}
