/**
 * A real ClickHouse server for the tests, started by the test itself: loopback only, free ports, its own config
 * file and data directory under a temporary directory, so a test can kill it (SIGKILL), freeze it (SIGSTOP) and
 * start it again on the same data. Debian's clickhouse-server (18.16 on Debian 12; `.ci/run` installs it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The server binary, or undefined (the tests then skip, saying so). */
export const CLICKHOUSE_SERVER = ['/usr/bin/clickhouse-server', '/usr/sbin/clickhouse-server', '/usr/bin/clickhouse'].find((p) => existsSync(p));

/** A loopback port nothing listens on (just closed). */
export function unusedPort(): Promise<number> {
  return freePort();
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export class TestClickHouse {
  private child: ChildProcess | null = null;

  private constructor(
    readonly dir: string,
    readonly httpPort: number,
    private readonly config: string,
  ) {}

  /** Writes the config and starts the server (not yet: call start()). */
  static async create(): Promise<TestClickHouse> {
    const dir = mkdtempSync(join(tmpdir(), 'sensor-clickhouse-'));
    const [http, tcp] = [await freePort(), await freePort()];
    const data = join(dir, 'data');
    mkdirSync(data);
    writeFileSync(
      join(dir, 'users.xml'),
      `<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
`,
    );
    const config = join(dir, 'config.xml');
    writeFileSync(
      config,
      `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${dir}/server.log</log><errorlog>${dir}/server.err.log</errorlog></logger>
  <http_port>${http}</http_port>
  <tcp_port>${tcp}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>${data}/</path>
  <tmp_path>${data}/tmp/</tmp_path>
  <user_files_path>${data}/user_files/</user_files_path>
  <format_schema_path>${data}/format_schemas/</format_schema_path>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>5368709</mark_cache_size>
</yandex>
`,
    );
    return new TestClickHouse(dir, http, config);
  }

  get url(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** Starts the server and waits (at most 30 s) until it answers /ping. */
  async start(): Promise<void> {
    if (this.child) return;
    const child = spawn(CLICKHOUSE_SERVER!, [`--config-file=${this.config}`], { cwd: this.dir, stdio: 'ignore' });
    this.child = child;
    child.once('exit', () => {
      if (this.child === child) this.child = null;
    });
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (await this.ping()) return;
      if (this.child !== child) throw new Error(`clickhouse-server exited at start (see ${this.dir}/server.err.log)`);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('clickhouse-server did not answer /ping within 30 s');
  }

  /** SIGKILL, and wait for the process to be gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await gone;
    this.child = null;
  }

  /** SIGSTOP / SIGCONT: a server that stops answering without closing its connections. */
  freeze(): void {
    this.child?.kill('SIGSTOP');
  }

  thaw(): void {
    this.child?.kill('SIGCONT');
  }

  async ping(): Promise<boolean> {
    try {
      const r = await fetch(`${this.url}/ping`, { signal: AbortSignal.timeout(1000) });
      return r.ok;
    } catch {
      return false;
    }
  }

  /** Runs a query over HTTP (plain fetch: the test checks the sink, not through it) and returns the text. */
  async query(sql: string): Promise<string> {
    const r = await fetch(`${this.url}/`, { method: 'POST', body: sql });
    const text = await r.text();
    if (!r.ok) throw new Error(`ClickHouse: ${text}`);
    return text;
  }
}
