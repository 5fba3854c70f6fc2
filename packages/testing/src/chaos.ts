import { connect, createServer, type Server, type Socket } from 'node:net';
import pg from 'pg';

/** A TCP proxy between clients and a PostgreSQL server that a test can use to break connections. */
export interface ChaosProxy {
  /** `url` with its host and port replaced by the proxy's. */
  url: string;
  /** Connections open through the proxy now. */
  readonly open: number;
  /** Bytes forwarded from clients to the server since the proxy started. */
  readonly bytesUp: number;
  /** Destroys every open connection at once, both sides, as a network failure would. */
  cutAll(): number;
  /**
   * Arms the proxy: each connection open now is destroyed as soon as its client sends anything more,
   * before those bytes reach the server. The next statement (a `BEGIN`, a `COMMIT`) on those
   * connections fails on the wire, deterministically.
   */
  cutOnNextWrite(): number;
  /** While true, new connections are accepted and closed at once (a server that is down). */
  refuse(on: boolean): void;
  /**
   * While true, nothing is forwarded either way and no socket is closed: a server or network path that
   * stalls (a hung server, a dropped route, a full proxy) rather than failing.
   */
  stall(on: boolean): void;
  /**
   * While true, each new connection gets the server's `FATAL 57P01` (as from `pg_terminate_backend`)
   * in the same TCP write as the `ReadyForQuery` that completes its startup, then is closed: the client
   * learns it is connected and that it is dead in one read.
   */
  fatalOnConnect(on: boolean): void;
  /** Stops listening and destroys every connection. */
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  server: Socket;
  armed: boolean;
  /** Set while the startup of a connection doomed by `fatalOnConnect` is being watched. */
  doomed: Buffer | undefined;
}

/** A backend's `ErrorResponse`: FATAL 57P01, as `pg_terminate_backend` makes it send. */
function fatalMessage(): Buffer {
  const fields = Buffer.from('SFATAL\0VFATAL\0C57P01\0Mterminating connection due to administrator command\0\0', 'latin1');
  const head = Buffer.alloc(5);
  head.write('E', 0, 'latin1');
  head.writeInt32BE(fields.length + 4, 1);
  return Buffer.concat([head, fields]);
}

/** `ReadyForQuery` in state idle: the end of a connection's startup. */
const READY = Buffer.from([0x5a, 0, 0, 0, 5, 0x49]);

/**
 * Starts a TCP proxy on 127.0.0.1 in front of the server of `url` (a `postgres://` connection string).
 * The returned `url` connects through it.
 */
export async function startChaosProxy(url: string): Promise<ChaosProxy> {
  const target = new URL(url);
  const pairs = new Set<Pair>();
  let refusing = false;
  let stalled = false;
  let fatal = false;
  let bytesUp = 0;
  const destroy = (p: Pair) => {
    pairs.delete(p);
    p.client.destroy();
    p.server.destroy();
  };
  const server: Server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = connect(Number(target.port || 5432), target.hostname);
    const pair: Pair = { client, server: upstream, armed: false, doomed: fatal ? Buffer.alloc(0) : undefined };
    pairs.add(pair);
    client.on('data', (chunk: Buffer) => {
      if (pair.armed) return destroy(pair);
      if (stalled) return;
      bytesUp += chunk.length;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (stalled) return;
      if (pair.doomed === undefined) return void client.write(chunk);
      const seen = Buffer.concat([pair.doomed, chunk]);
      const at = seen.indexOf(READY);
      if (at < 0) {
        pair.doomed = seen;
        return;
      }
      pair.doomed = undefined;
      client.write(Buffer.concat([seen.subarray(0, at + READY.length), fatalMessage()]), () => setImmediate(() => destroy(pair)));
    });
    const end = () => destroy(pair);
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('the proxy has no address');
  const proxied = new URL(url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(address.port);
  return {
    url: proxied.toString(),
    get open() {
      return pairs.size;
    },
    get bytesUp() {
      return bytesUp;
    },
    cutAll() {
      const n = pairs.size;
      for (const p of [...pairs]) destroy(p);
      return n;
    },
    cutOnNextWrite() {
      for (const p of pairs) p.armed = true;
      return pairs.size;
    },
    refuse(on) {
      refusing = on;
    },
    stall(on) {
      stalled = on;
    },
    fatalOnConnect(on) {
      fatal = on;
    },
    close() {
      for (const p of [...pairs]) destroy(p);
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Terminates (`pg_terminate_backend`) the server processes connected to `database`, except the one
 * asking, as an administrator or a failover would. Returns how many it terminated. It resolves once
 * those processes have exited (it waits up to 5 s), so a caller's next step meets the aftermath, not the
 * kill. Works on PostgreSQL 13 and newer.
 *
 * @param adminUrl - a superuser connection string of the server
 * @param database - the database whose connections to end
 * @param options - `idleOnly`: only backends in state `idle` (pooled connections waiting for work)
 */
export async function terminateBackends(adminUrl: string, database: string, options: { idleOnly?: boolean } = {}): Promise<number> {
  const admin = new pg.Client({ connectionString: adminUrl });
  admin.on('error', () => undefined);
  await admin.connect();
  try {
    const idle = options.idleOnly === true ? `and state = 'idle'` : '';
    const { rows } = await admin.query<{ pid: number; ok: boolean }>(
      `select pid, pg_terminate_backend(pid) as ok from pg_stat_activity
       where datname = $1 and pid <> pg_backend_pid() and backend_type = 'client backend' ${idle}`,
      [database],
    );
    const pids = rows.filter((r) => r.ok).map((r) => r.pid);
    // pg_terminate_backend only signals; wait until the processes are gone (bounded).
    const until = Date.now() + 5000;
    while (pids.length > 0 && Date.now() < until) {
      const left = await admin.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where pid = any($1::int[])', [pids]);
      if (left.rows[0]?.n === 0) break;
      await sleep(5);
    }
    return pids.length;
  } finally {
    await admin.end().catch(() => undefined);
  }
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every 10 ms until it holds; fails naming `what` after `timeoutMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** One call to a recording logger. */
export interface LogLine {
  /** The method called. */
  level: 'debug' | 'info' | 'warn' | 'error';
  /** The message given. */
  message: string;
  /** The fields given, if any. */
  fields: Record<string, unknown> | undefined;
}

/** One level of a {@link RecordingLogger}: records the call. */
export type LogFn = (message: string, fields?: Record<string, unknown>) => void;

/** What {@link recordingLogger} returns: a logger for a store's `logger` option, and what it was given. */
export interface RecordingLogger {
  /** Every call so far, in order. */
  lines: LogLine[];
  /** Records a debug line. */
  debug: LogFn;
  /** Records an info line. */
  info: LogFn;
  /** Records a warning. */
  warn: LogFn;
  /** Records an error line. */
  error: LogFn;
}

/** A logger that keeps every line, for tests that check what Strata reports (and what it never does). */
export function recordingLogger(): RecordingLogger {
  const lines: LogLine[] = [];
  const at =
    (level: LogLine['level']): LogFn =>
    (message, fields) => {
      lines.push({ level, message, fields });
    };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
