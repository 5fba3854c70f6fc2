import {
  type ChangeNotice,
  type ListenClient,
  type PgListenClient,
  type PgliteListenClient,
  type StrataLogger,
  type StrataStore,
  safeLogger,
  ValidationError,
  validateInteger,
  type WakeUpSource,
  withWakeUps,
} from '@strata/core';
import { notificationChannels, parseEventsNotification, parseQueueNotification } from '@strata/postgres';
import { backoff, delay, quoteIdent, withDeadline } from './util.js';

/**
 * Where the listener stands: `connecting` (first attempt), `connected` (LISTEN is active; wake-ups are
 * pushed), `reconnecting` (the connection was lost; polling meanwhile), `polling` (no LISTEN: no
 * connection was configured, or notifications do not arrive through it, as behind a
 * transaction-pooling proxy), `closed`.
 */
export type ListenerState = 'connecting' | 'connected' | 'reconnecting' | 'polling' | 'closed';

/** A change of {@link ListenerState}. */
export interface StateTransition {
  /** The state left. */
  from: ListenerState;
  /** The state entered. */
  to: ListenerState;
  /** When. */
  at: Date;
  /** Why, in words (an error code, "backend terminated", "LISTEN unavailable"); never a payload. */
  reason?: string;
}

/** Options of {@link createListener}. */
export interface ListenerOptions {
  /**
   * The PostgreSQL server to listen on: the listener opens one dedicated node-postgres connection of its
   * own (needs the `pg` package). Give this, `client`, or neither (polling only, as for SQLite).
   */
  connectionString?: string;
  /**
   * Makes the connection to listen on — called again for every reconnection: `() => new pg.Client(url)`,
   * or a PGlite instance (`() => store.pglite`), or anything that satisfies {@link ListenClient}.
   */
  client?: () => ListenClient | Promise<ListenClient>;
  /** How often attached subscriptions and workers are woken to read while nothing is pushed (not listening). @defaultValue 1000 */
  pollIntervalMs?: number;
  /** How often they are woken anyway while listening: the backstop for a notification lost on the way. @defaultValue 5000 */
  backstopIntervalMs?: number;
  /** First reconnection delay; it doubles per failed attempt, with jitter, up to `reconnectMaxMs`. @defaultValue 100 */
  reconnectBaseMs?: number;
  /** Longest reconnection delay. The listener reconnects for as long as it is open. @defaultValue 10000 */
  reconnectMaxMs?: number;
  /**
   * Longest wait for connecting, for LISTEN, for the probe notification that proves notifications arrive,
   * and for a health query; past it the connection counts as lost. @defaultValue 5000
   */
  timeoutMs?: number;
  /**
   * How long the oldest running transaction may hold delivery back (PostgreSQL shows readers only the
   * rows of transactions older than every transaction still running) before the health report names it
   * and the logger is warned. @defaultValue 10000
   */
  heldBackThresholdMs?: number;
  /** Where reconnections, the polling fallback and held-back delivery are reported. @defaultValue the first attached store's logger, else silent */
  logger?: StrataLogger;
}

/** A named consumer's distance from the head of the store. */
export interface ConsumerLag {
  /** The PostgreSQL schema of the store it belongs to (`undefined` for stores without one, such as SQLite). */
  schema: string | undefined;
  /** The consumer. */
  consumer: string;
  /** Its checkpoint. */
  checkpoint: bigint;
  /** The store's head position. */
  head: bigint;
  /** `head - checkpoint`: zero when caught up. Positions are not dense on PostgreSQL; see `eventsBehind`. */
  lag: bigint;
  /** Events after the checkpoint, counted up to 10,000 (PostgreSQL and PGlite, while connected). */
  eventsBehind?: number;
  /** When the checkpoint last moved. */
  updatedAt: Date;
}

/** The transaction that holds delivery back. */
export interface HeldBackBy {
  /** Its backend's process id (`pg_terminate_backend(pid)` ends it). */
  pid: number;
  /** How long its transaction has been open, in ms. */
  transactionAgeMs: number;
  /** How long it has been seen holding delivery back, in ms. */
  heldForMs: number;
  /** `idle in transaction`, `active`, …; `null` when the role may not see it. */
  state: string | null;
  /** Its `application_name`. */
  applicationName: string | null;
  /** The database it is connected to (it may be another one than Strata's). */
  database: string | null;
}

/** What {@link Listener.health} reports. */
export interface ListenerHealth {
  /** The current state. */
  state: ListenerState;
  /** Since when. */
  since: Date;
  /** Why the listener is in this state, when it is not `connected`. */
  reason: string | undefined;
  /** The latest transitions, oldest first (at most 50). */
  transitions: StateTransition[];
  /** Connections lost so far. */
  reconnects: number;
  /** When the last notification arrived, if any. */
  lastNotificationAt: Date | null;
  /** `pg_notification_queue_usage()`: the fraction of the server's notification queue in use (0–1); `null` when not connected. */
  notificationQueueUsage: number | null;
  /** The transaction holding delivery back for longer than `heldBackThresholdMs`, if any. */
  heldBackBy: HeldBackBy | null;
  /** Every named consumer of every attached store. */
  consumers: ConsumerLag[];
}

/** One LISTEN/NOTIFY listener: attach stores to it; it wakes their subscriptions and workers. */
export interface Listener {
  /** The current state. */
  readonly state: ListenerState;
  /**
   * The same store, whose `subscribe()` and `consume()` wake on this listener's notifications (and its
   * backstop polls) as well as on the store's own. The store's schema (`store.schema`, on the PostgreSQL
   * and PGlite adapters) picks the channels; a store without one (SQLite, memory) is woken by polling.
   */
  attach<S extends StrataStore<TDb>, TDb = unknown>(store: S): S;
  /** State, transitions, notifications, held-back delivery and the lag of every named consumer. */
  health(): Promise<ListenerHealth>;
  /** Calls `listener` on each state change; returns a function that stops it. */
  onStateChange(listener: (transition: StateTransition) => void): () => void;
  /** Stops listening and polling; attached stores fall back to their own wake-ups. Idempotent. */
  close(): Promise<void>;
}

interface Attached {
  store: StrataStore<unknown>;
  schema: string | undefined;
  listeners: Set<(notice: ChangeNotice) => void>;
}

interface Connection {
  client: ListenClient;
  /** Resolves (with a reason) when the connection is lost. */
  lost: Promise<string>;
  /** Closes it. */
  drop(): Promise<void>;
  /** LISTENs on a channel. */
  listen(channel: string): Promise<void>;
  /** Runs a query; rows. */
  query<T>(text: string): Promise<T[]>;
  /** Counts the connection as lost (a health query that failed or did not answer in time). */
  fail(why: string): void;
}

const isPglite = (client: ListenClient): client is PgliteListenClient => typeof (client as PgliteListenClient).listen === 'function';

/**
 * Creates a listener: one dedicated connection per process that LISTENs on the channels of every
 * attached store and wakes their subscriptions and workers when another transaction commits, with a
 * polling backstop. On an error, a killed backend or a network drop it reconnects for as long as it is
 * open (capped exponential backoff with jitter), LISTENs again, and wakes every subscription to catch up
 * from its own position, polling meanwhile. Where notifications do not arrive (a transaction-pooling
 * proxy) it polls and says so in its state. Resolves after the first connection attempt, whatever its
 * outcome.
 *
 * @example
 * ```ts
 * const listener = await createListener({ connectionString: process.env.DATABASE_URL })
 * const live = listener.attach(store)
 * subscribe(live, { from: { consumer: 'orders' }, handler })
 * consume(live, 'emails', sendEmail)
 * ```
 * @throws `VALIDATION` on bad options
 */
export async function createListener(options: ListenerOptions = {}): Promise<Listener> {
  const pollMs = validateInteger(options.pollIntervalMs ?? 1000, 'options.pollIntervalMs', 1);
  const backstopMs = validateInteger(options.backstopIntervalMs ?? 5000, 'options.backstopIntervalMs', 1);
  const baseMs = validateInteger(options.reconnectBaseMs ?? 100, 'options.reconnectBaseMs', 1);
  const maxMs = validateInteger(options.reconnectMaxMs ?? 10_000, 'options.reconnectMaxMs', 1);
  const timeoutMs = validateInteger(options.timeoutMs ?? 5000, 'options.timeoutMs', 1);
  const heldBackMs = validateInteger(options.heldBackThresholdMs ?? 10_000, 'options.heldBackThresholdMs', 1);
  if (options.connectionString !== undefined && options.client !== undefined) {
    throw new ValidationError('options', 'give connectionString or client, not both');
  }
  if (options.connectionString !== undefined && (typeof options.connectionString !== 'string' || options.connectionString.length === 0)) {
    throw new ValidationError('options.connectionString', 'must be a non-empty string');
  }
  if (options.client !== undefined && typeof options.client !== 'function') {
    throw new ValidationError('options.client', 'must be a function that returns a connection (a pg Client or a PGlite instance)');
  }
  let logger = safeLogger(options.logger);
  const connectionString = options.connectionString;
  const factory: (() => ListenClient | Promise<ListenClient>) | undefined =
    options.client ??
    (connectionString === undefined
      ? undefined
      : async () => {
          const { default: pg } = await import('pg');
          return new pg.Client({
            connectionString,
            keepAlive: true,
            connectionTimeoutMillis: timeoutMs,
            application_name: 'strata-listener',
          }) as unknown as PgListenClient;
        });

  const attached: Attached[] = [];
  const channels = new Map<string, { kind: 'events' | 'queue'; schema: string }>();
  const stateListeners = new Set<(t: StateTransition) => void>();
  const transitions: StateTransition[] = [];
  let state: ListenerState = factory === undefined ? 'polling' : 'connecting';
  let since = new Date();
  let reason: string | undefined = factory === undefined ? 'no connection to listen on: polling' : undefined;
  let reconnects = 0;
  let lastNotificationAt: Date | null = null;
  let connection: Connection | undefined;
  let closed = false;
  const stop = new AbortController();
  const heldSince = new Map<number, number>();
  let heldBackBy: HeldBackBy | null = null;
  let warnedPid: number | undefined;

  const setState = (to: ListenerState, why?: string) => {
    if (to === state && why === reason) return;
    const t: StateTransition = { from: state, to, at: new Date(), ...(why === undefined ? {} : { reason: why }) };
    state = to;
    since = t.at;
    reason = why;
    transitions.push(t);
    if (transitions.length > 50) transitions.shift();
    for (const l of [...stateListeners]) {
      try {
        l(t);
      } catch {
        // A failing observer must not stop the listener.
      }
    }
  };

  const notify = (target: Iterable<Attached>, notice: ChangeNotice) => {
    for (const a of target) {
      for (const l of [...a.listeners]) {
        try {
          l(notice);
        } catch {
          // A subscriber's failure must not stop the others.
        }
      }
    }
  };
  const resyncAll = () => notify(attached, { kind: 'resync' });

  const dispatch = (channel: string, payload: string | undefined) => {
    const target = channels.get(channel);
    if (target === undefined) return;
    lastNotificationAt = new Date();
    const stores = attached.filter((a) => a.schema === target.schema);
    if (target.kind === 'events') {
      const n = parseEventsNotification(payload);
      notify(stores, n === undefined ? { kind: 'resync' } : { kind: 'events', streamId: n.streamId, type: n.type, position: n.position });
      if (n !== undefined) watchVisibility(target.schema, n.position);
      return;
    }
    const n = parseQueueNotification(payload);
    if (n === undefined || n.queues === null) notify(stores, { kind: 'resync' });
    else for (const queue of n.queues) notify(stores, { kind: 'queue', queue });
  };

  /**
   * A commit is announced at once, but PostgreSQL readers see its rows only once every older transaction
   * has ended (that is what keeps reads gap-free). When a notified position is not readable yet, the
   * listener watches until it is and wakes the store's readers again then, instead of leaving them to the
   * backstop: a concurrent transaction anywhere delays delivery by its own length only.
   */
  const unreadable = new Map<string, bigint>();
  let watching = false;
  const watchVisibility = (schema: string, position: bigint) => {
    const c = connection;
    if (c === undefined || isPglite(c.client)) return; // PGlite runs one transaction at a time
    if ((unreadable.get(schema) ?? -1n) < position) unreadable.set(schema, position);
    if (watching) return;
    watching = true;
    void (async () => {
      try {
        for (let attempt = 0; unreadable.size > 0 && !closed; attempt++) {
          const conn = connection;
          if (conn === undefined) break; // a reconnection wakes everyone anyway
          const [row] = await conn.query<{ from: string }>(`select (pg_snapshot_xmin(pg_current_snapshot())::text::bigint * 1048576)::text as "from"`);
          const readableBelow = BigInt(row?.from ?? '0');
          for (const [schema, p] of [...unreadable]) {
            if (p >= readableBelow) continue;
            unreadable.delete(schema);
            // Readable now: wake again, even at the first look. The readers woken by the notification
            // read concurrently with this query, on snapshots of their own that may be older than its
            // own (taken while a transaction that has since ended still held the rows back).
            notify(
              attached.filter((a) => a.schema === schema),
              { kind: 'resync' },
            );
          }
          if (unreadable.size > 0) await delay(Math.min(500, 5 * 2 ** Math.min(attempt, 7)), stop.signal);
        }
      } catch {
        // The backstop covers it.
      } finally {
        unreadable.clear();
        watching = false;
      }
    })();
  };

  // Probe notifications prove that what this connection LISTENs to does arrive.
  const probeChannel = `strata_probe_${Math.random().toString(36).slice(2, 10)}`;
  const probes = new Map<string, () => void>();

  const open = async (): Promise<Connection> => {
    if (factory === undefined) throw new Error('no connection');
    const client = await factory();
    let markLost: (why: string) => void = () => undefined;
    const lost = new Promise<string>((resolve) => {
      markLost = resolve;
    });
    const onPayload = (channel: string, payload: string | undefined) => {
      if (channel === probeChannel) {
        probes.get(payload ?? '')?.();
        return;
      }
      dispatch(channel, payload);
    };
    if (isPglite(client)) {
      const unlisten: (() => Promise<void>)[] = [];
      const listen = async (channel: string) => {
        const stopIt = await client.listen(channel, (payload) => onPayload(channel, payload));
        if (typeof stopIt === 'function') unlisten.push(stopIt as () => Promise<void>);
      };
      return {
        client,
        lost,
        listen,
        fail: markLost,
        async drop() {
          markLost('closed');
          await Promise.allSettled(unlisten.map((u) => u()));
        },
        async query<T>(text: string) {
          return ((await client.query(text)) as { rows?: T[] }).rows ?? [];
        },
      };
    }
    client.on('notification', (n) => onPayload(n.channel, n.payload));
    client.on('error', (error: Error & { code?: string }) =>
      markLost(error.code === '57P01' ? 'backend terminated (57P01)' : `connection error${error.code ? ` (${error.code})` : ''}`),
    );
    client.on('end', () => markLost('connection ended'));
    const drop = async () => {
      markLost('closed');
      await withDeadline(Promise.resolve(client.end?.()), timeoutMs, 'end').catch(() => {
        // A connection that does not end in time is abandoned; its socket is closed with it.
        (client as { connection?: { stream?: { destroy?: () => void } } }).connection?.stream?.destroy?.();
      });
    };
    try {
      if (client.connect !== undefined) await withDeadline(client.connect(), timeoutMs, 'connect');
    } catch (error) {
      await drop().catch(() => undefined);
      throw error;
    }
    return {
      client,
      lost,
      drop,
      fail: markLost,
      async listen(channel) {
        await withDeadline(client.query(`LISTEN ${quoteIdent(channel)}`), timeoutMs, 'LISTEN');
      },
      async query<T>(text: string) {
        return ((await withDeadline(client.query(text), timeoutMs, 'query')) as { rows?: T[] }).rows ?? [];
      },
    };
  };

  /** Sends a probe on the connection's own probe channel and waits for it to come back. */
  const probe = async (c: Connection): Promise<boolean> => {
    const id = Math.random().toString(36).slice(2);
    const arrived = new Promise<boolean>((resolve) => probes.set(id, () => resolve(true)));
    try {
      await c.query(`select pg_notify('${probeChannel}', '${id}')`);
      return await Promise.race([arrived, delay(timeoutMs, stop.signal).then(() => false)]);
    } finally {
      probes.delete(id);
    }
  };

  const errorText = (error: unknown): string => {
    const code = (error as { code?: unknown } | null)?.code;
    return typeof code === 'string' ? `error ${code}` : error instanceof Error && error.name === 'TimeoutError' ? error.message : 'connection failed';
  };

  /** The connection loop: connect, LISTEN, probe, wait for a loss, back off, again, until closed. */
  const run = async (firstAttempt: () => void): Promise<void> => {
    let attempt = 0;
    while (!closed) {
      let c: Connection | undefined;
      try {
        c = await open();
        await c.listen(probeChannel);
        for (const channel of channels.keys()) await c.listen(channel);
        if (!(await probe(c))) {
          await c.drop();
          connection = undefined;
          setState('polling', 'LISTEN is unavailable: notifications do not arrive on this connection (a transaction-pooling proxy?); polling');
          logger.warn(
            `strata: notifications do not arrive on the listener's connection (a transaction-pooling proxy?); polling every ${pollMs} ms instead`,
            {},
          );
          firstAttempt();
          return;
        }
        connection = c;
        if (attempt > 0) logger.info(`strata: the listener is connected again after ${attempt} attempts; subscriptions catch up`, { attempt });
        attempt = 0;
        setState('connected');
        firstAttempt();
        // Whatever was committed while not listening is read now.
        resyncAll();
        let onAbort = () => undefined as void;
        const why = await Promise.race([
          c.lost,
          new Promise<string>((resolve) => {
            onAbort = () => resolve('closed');
            stop.signal.addEventListener('abort', onAbort, { once: true });
          }),
        ]);
        // One listener per connection would pile up on the signal over reconnections.
        stop.signal.removeEventListener('abort', onAbort);
        connection = undefined;
        await c.drop().catch(() => undefined);
        if (closed) return;
        reconnects++;
        setState('reconnecting', why);
        logger.warn(`strata: the listener lost its connection (${why}); polling while it reconnects`, { reason: why });
      } catch (error) {
        connection = undefined;
        if (c !== undefined) await c.drop().catch(() => undefined);
        if (closed) return;
        const why = errorText(error);
        if ((error as { code?: unknown } | null)?.code === '0A000') {
          // LISTEN refused as unsupported (a proxy that says so).
          setState('polling', 'LISTEN is not supported on this connection; polling');
          logger.warn(`strata: LISTEN is not supported on the listener's connection; polling every ${pollMs} ms instead`, {});
          firstAttempt();
          return;
        }
        setState('reconnecting', why);
        firstAttempt();
      }
      attempt++;
      const wait = backoff(attempt, baseMs, maxMs);
      logger.debug(`strata: the listener reconnects in ${wait} ms (attempt ${attempt})`, { attempt, wait });
      await delay(wait, stop.signal);
    }
  };

  /** Held-back delivery on one schema: the oldest transaction still running, if rows committed after it wait behind it. */
  const checkHeldBack = async (c: Connection): Promise<void> => {
    const schemas = [...new Set(attached.map((a) => a.schema).filter((s): s is string => s !== undefined))];
    if (schemas.length === 0) return;
    const waiting = schemas
      .map((s) => `exists (select 1 from ${quoteIdent(s)}."events" where position >= (pg_snapshot_xmin(pg_current_snapshot())::text::bigint * 1048576))`)
      .join(' or ');
    const rows = await c.query<{ pid: number; age_ms: number | null; state: string | null; app: string | null; db: string | null }>(
      `select a.pid, round(extract(epoch from (clock_timestamp() - a.xact_start)) * 1000)::float8 as age_ms, a.state, a.application_name as app, a.datname as db
         from pg_stat_activity a
        where a.backend_xid is not null and a.pid <> pg_backend_pid() and (${waiting})
        order by age(a.backend_xid) desc limit 1`,
    );
    const row = rows[0];
    const now = Date.now();
    if (row === undefined) {
      heldSince.clear();
      heldBackBy = null;
      warnedPid = undefined;
      return;
    }
    const first = heldSince.get(row.pid) ?? now;
    heldSince.clear();
    heldSince.set(row.pid, first);
    const heldForMs = now - first;
    if (heldForMs < heldBackMs && (row.age_ms ?? 0) < heldBackMs) {
      heldBackBy = null;
      return;
    }
    heldBackBy = {
      pid: row.pid,
      transactionAgeMs: row.age_ms ?? 0,
      heldForMs: Math.max(heldForMs, 0),
      state: row.state,
      applicationName: row.app,
      database: row.db,
    };
    if (warnedPid !== row.pid) {
      warnedPid = row.pid;
      logger.warn(
        `strata: delivery to subscriptions is held back by the transaction of backend ${row.pid} (${row.state ?? 'state hidden'}, application ${JSON.stringify(row.app ?? '')}, database ${JSON.stringify(row.db ?? '')}), open for ${Math.round((row.age_ms ?? 0) / 1000)} s: readers only see rows of transactions older than every one still running. End it, and set idle_in_transaction_session_timeout`,
        { pid: row.pid, state: row.state, applicationName: row.app, database: row.db, transactionAgeMs: row.age_ms ?? 0 },
      );
    }
  };

  // The backstop: wake everyone at `pollMs` while not listening, at `backstopMs` while listening; and
  // look for held-back delivery while connected.
  let lastWake = Date.now();
  let lastHeldCheck = 0;
  let ticking = false;
  const tick = async () => {
    if (closed || ticking) return;
    ticking = true;
    try {
      const now = Date.now();
      if (now - lastWake >= (state === 'connected' ? backstopMs : pollMs)) {
        lastWake = now;
        resyncAll();
      }
      const c = connection;
      if (c !== undefined && !isPglite(c.client) && now - lastHeldCheck >= Math.min(backstopMs, Math.max(250, heldBackMs / 4))) {
        lastHeldCheck = now;
        // Also the listener's heartbeat: a connection that does not answer in time (a network path that
        // dropped without closing the socket) is replaced rather than trusted.
        await checkHeldBack(c).catch((error: unknown) => c.fail(`health query failed (${errorText(error)})`));
      }
    } finally {
      ticking = false;
    }
  };
  const timer = setInterval(() => void tick(), Math.max(1, Math.min(pollMs, backstopMs, 250)));
  timer.unref?.();

  if (factory !== undefined) {
    await new Promise<void>((resolve) => {
      void run(resolve);
    });
  } else {
    transitions.push({ from: 'connecting', to: 'polling', at: since, reason: reason as string });
  }

  const listener: Listener = {
    get state() {
      return state;
    },

    attach<S extends StrataStore<TDb>, TDb = unknown>(store: S): S {
      if (closed) throw new ValidationError('listener', 'is closed');
      if (store === null || typeof store !== 'object' || typeof store.wakeUps?.onChange !== 'function') {
        throw new ValidationError('store', 'must be a Strata store');
      }
      const schema = (store as { schema?: unknown }).schema;
      const entry: Attached = {
        store: store as unknown as StrataStore<unknown>,
        schema: typeof schema === 'string' ? schema : undefined,
        listeners: new Set(),
      };
      attached.push(entry);
      // A store that closes leaves the listener (its channels stay: another store may share the schema).
      store.wakeUps.onClose?.(() => {
        const i = attached.indexOf(entry);
        if (i >= 0) attached.splice(i, 1);
      });
      if (options.logger === undefined && attached.length === 1 && store.logger !== undefined) logger = safeLogger(store.logger);
      if (entry.schema !== undefined) {
        const names = notificationChannels(entry.schema);
        const fresh = [names.events, names.queue].filter((ch) => !channels.has(ch));
        channels.set(names.events, { kind: 'events', schema: entry.schema });
        channels.set(names.queue, { kind: 'queue', schema: entry.schema });
        const c = connection;
        if (c !== undefined && fresh.length > 0) {
          // Listening from now on; then a read catches up with whatever committed before.
          void Promise.all(fresh.map((ch) => c.listen(ch)))
            .then(() => notify([entry], { kind: 'resync' }))
            .catch(() => undefined);
        }
      }
      const source: WakeUpSource = {
        onChange(l) {
          entry.listeners.add(l);
          return () => {
            entry.listeners.delete(l);
          };
        },
      };
      // Polling alone (no LISTEN) announces other processes' commits within pollIntervalMs too.
      return withWakeUps<S, TDb>(store, source, { crossProcess: true });
    },

    async health() {
      const c = connection;
      let usage: number | null = null;
      if (c !== undefined) {
        try {
          const [row] = await c.query<{ u: number }>('select pg_notification_queue_usage()::float8 as u');
          usage = row?.u ?? null;
          if (!isPglite(c.client)) await checkHeldBack(c);
        } catch {
          usage = null;
        }
      }
      const consumers: ConsumerLag[] = [];
      const seen = new Set<string>();
      for (const a of attached) {
        const key = a.schema ?? `store:${attached.indexOf(a)}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const [list, head] = await Promise.all([a.store.checkpoints.list(), a.store.events.headPosition()]);
        for (const cp of list) {
          const lag: ConsumerLag = {
            schema: a.schema,
            consumer: cp.consumer,
            checkpoint: cp.position,
            head,
            lag: head > cp.position ? head - cp.position : 0n,
            updatedAt: cp.updatedAt,
          };
          if (c !== undefined && a.schema !== undefined) {
            try {
              const [row] = await c.query<{ n: number }>(
                `select count(*)::int as n from (select 1 from ${quoteIdent(a.schema)}."events" where position > ${cp.position.toString()} limit 10000) x`,
              );
              if (row !== undefined) lag.eventsBehind = row.n;
            } catch {
              // Reported without it.
            }
          }
          consumers.push(lag);
        }
      }
      return {
        state,
        since,
        reason,
        transitions: [...transitions],
        reconnects,
        lastNotificationAt,
        notificationQueueUsage: usage,
        heldBackBy,
        consumers,
      };
    },

    onStateChange(l) {
      stateListeners.add(l);
      return () => {
        stateListeners.delete(l);
      };
    },

    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      stop.abort();
      const c = connection;
      connection = undefined;
      if (c !== undefined) await c.drop().catch(() => undefined);
      setState('closed');
    },
  };
  return listener;
}
