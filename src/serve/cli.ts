/**
 * `sensor serve --db DB [--listen 127.0.0.1:8080]`: the HTTP API and dashboard of server.ts, until SIGTERM/SIGINT.
 * Loopback only unless a bearer token is given: the API reads every flow in the database.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import yargs from 'yargs';
import { ExitCode } from '../cli/exit-codes.js';
import { strictCommandLine } from '../cli/usage.js';
import { Classifier } from '../classify/classifier.js';
import { DEFAULT_MODEL_NAME, ModelError } from '../classify/model.js';
import { TableClassifier, tableRefusal } from '../classify/table-rows.js';
import { FlowDb, FlowDbError } from '../report/flow-db.js';
import { createServer, DEFAULT_LIMITS } from './server.js';

interface Args {
  db?: string;
  listen: string;
  token?: string;
  'token-file'?: string;
  model?: string | false;
  'request-timeout': number;
  quiet: boolean;
}

/** `HOST:PORT` or `[IPv6]:PORT`; null when it is not one. */
function parseListen(s: string): { host: string; port: number } | null {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(s) ?? /^([^:[\]]+):(\d{1,5})$/.exec(s);
  if (!m) return null;
  const port = Number(m[2]);
  if (port > 65535) return null;
  return { host: m[1]!, port };
}

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || /^(0{0,4}:){7}0{0,3}1$/.test(host);
  return false;
}

export async function serveCommand(argv: string[]): Promise<number> {
  const err = (s: string): boolean => process.stderr.write(`sensor serve: ${s}\n`);
  let args: Args;
  try {
    args = strictCommandLine(yargs(argv))
      .scriptName('sensor serve')
      .usage(
        'Usage: sensor serve --db DB [--listen 127.0.0.1:8080] [--token TOKEN | --token-file FILE] [--model M | --no-model]\n\n' +
          'A read-only HTTP API over a sensor database (GET /api/runs, /api/flows, /api/alerts, /api/stats), POST /api/predict\n' +
          '(CIC CSV rows or JSON objects -> verdicts), GET /metrics (Prometheus text) and a dashboard at / that updates itself.',
      )
      .option('db', { type: 'string', describe: 'SQLite database written by sensor --db (opened read-only; a live sensor may keep writing it).' })
      .option('listen', { type: 'string', default: '127.0.0.1:8080', describe: 'Address and port, HOST:PORT or [IPv6]:PORT. Anything but loopback needs --token.' })
      .option('token', { type: 'string', describe: 'Bearer token the API and /metrics require (Authorization: Bearer TOKEN); the dashboard takes it as /#token=TOKEN.' })
      .option('token-file', { type: 'string', describe: 'Read the token from this file (keeps it out of the process list).' })
      .option('model', { type: 'string', describe: `Model for POST /api/predict: a path or a name in models/ (default ${DEFAULT_MODEL_NAME}). --no-model: predict answers 503.` })
      .option('request-timeout', { type: 'number', default: DEFAULT_LIMITS.requestTimeoutMs / 1000, describe: 'Seconds a client has to send a whole request (408 after).' })
      .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'Print nothing but errors.' })
      .example('sensor serve --db /var/lib/sensor/flows.sqlite', 'API and dashboard on http://127.0.0.1:8080/')
      .example('sensor serve --db flows.sqlite --listen 0.0.0.0:8080 --token-file /etc/sensor/api-token', 'On every interface, with a token')
      .epilog('Exit codes: 0 stopped by SIGTERM/SIGINT, 2 bad usage (including a non-loopback --listen without a token) or a model that cannot be used, 3 the database cannot be read or is not a sensor database, 4 cannot listen on the address (in use, not local, no permission), 1 internal error.')
      .parseSync() as unknown as Args;
  } catch (e) {
    err(`${(e as Error).message}\nRun sensor serve --help for the options.`);
    return ExitCode.Usage;
  }
  const problems: string[] = [];
  if (!args.db) problems.push('Expected --db PATH: the sensor database to serve');
  const listen = parseListen(args.listen);
  if (!listen) problems.push(`Expected --listen HOST:PORT or [IPv6]:PORT with a port from 0 to 65535, got "${args.listen}"`);
  const timeout = args['request-timeout'];
  if (!(Number.isFinite(timeout) && timeout > 0 && timeout <= 3600)) problems.push(`Expected --request-timeout to be a number of seconds in (0, 3600], got "${timeout}"`);
  if (args.token !== undefined && args['token-file'] !== undefined) problems.push('Give --token or --token-file, not both');
  let token: string | null = args.token ?? null;
  if (args['token-file'] !== undefined) {
    try {
      token = readFileSync(args['token-file'], 'utf8').trim();
    } catch (e) {
      problems.push(`cannot read --token-file ${args['token-file']}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
  }
  if (token !== null && token.trim().length < 16) problems.push('Expected a token of at least 16 characters (e.g. openssl rand -hex 24)');
  if (listen && token === null && !isLoopback(listen.host)) {
    problems.push(`refusing to listen on ${args.listen} without --token: the API would give every flow to anyone who can reach it (give --token or --token-file, or listen on 127.0.0.1)`);
  }
  if (args.model === '') problems.push('Expected --model PATH (a .onnx or .json file, or a model name in models/), or --no-model');
  if (problems.length > 0) {
    for (const p of problems) err(p);
    return ExitCode.Usage;
  }

  let db: FlowDb;
  try {
    db = FlowDb.open(args.db!);
  } catch (e) {
    if (e instanceof FlowDbError) {
      err(e.message);
      return ExitCode.Input;
    }
    throw e;
  }
  let classifier: Classifier | null = null;
  try {
    if (args.model !== false) classifier = await Classifier.load(args.model ?? DEFAULT_MODEL_NAME);
  } catch (e) {
    db.close();
    if (e instanceof ModelError) {
      for (const p of e.problems) err(p);
      return ExitCode.Usage;
    }
    throw e;
  }

  const refused = classifier ? tableRefusal(classifier) : null;
  if (refused !== null) {
    await classifier!.close();
    db.close();
    err(refused);
    return ExitCode.Usage;
  }
  const server = createServer({ db, table: classifier ? new TableClassifier(classifier) : null, token, limits: { requestTimeoutMs: Math.round(timeout * 1000) } });
  const cleanup = async (): Promise<void> => {
    await classifier?.close();
    db.close();
  };
  const listening = await new Promise<Error | null>((resolve) => {
    server.once('error', resolve);
    server.listen(listen!.port, listen!.host, () => resolve(null));
  });
  if (listening) {
    const code = (listening as NodeJS.ErrnoException).code;
    const why = code === 'EADDRINUSE' ? 'the address is in use' : code === 'EADDRNOTAVAIL' ? 'no such local address' : code === 'EACCES' ? 'permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)' : code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'no such host' : listening.message;
    err(`cannot listen on ${args.listen}: ${why}`);
    await cleanup();
    return ExitCode.Output;
  }
  const addr = server.address();
  const where = typeof addr === 'object' && addr !== null ? `${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}` : args.listen;
  if (!args.quiet) err(`listening on http://${where}/ (database ${args.db}; model ${classifier ? classifier.id : 'none'}; ${token ? 'bearer token required' : 'no token: loopback only'})`);

  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      server.close(() => resolve());
      server.closeAllConnections();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await cleanup();
  if (!args.quiet) err('stopped');
  return ExitCode.Ok;
}
