import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { consume, type StoredEvent, subscribe } from '@strata/core';
import { instrument } from '@strata/core/otel';
import { createPostgresStore, type PostgresStore } from '@strata/postgres';
import { recordingLogger, sleep, waitFor } from '@strata/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createListener, type Listener, type StateTransition } from '../src/index.js';
import { fileDatabase } from './fixtures.js';

const fx = await fileDatabase();

/** An OpenTelemetry metric reader that collects when asked. */
class OnDemandReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** Long enough that only a notification can explain a delivery within a test. */
const NEVER = 600_000;

describe('a listener on a PostgreSQL server', () => {
  let reader: PostgresStore;
  let writer: PostgresStore;
  let listener: Listener;
  const transitions: StateTransition[] = [];

  beforeAll(async () => {
    const schema = fx.schemaName();
    // Two stores on the same schema: the writer stands for another process (its commits do not reach
    // the reader's in-process wake-ups).
    reader = await createPostgresStore(fx.url, { schema });
    writer = await createPostgresStore(fx.url, { schema, migrate: false });
    // No backstop, no polling: only notifications, and the catch-up after reconnecting, can deliver.
    listener = await createListener({ connectionString: fx.url, backstopIntervalMs: NEVER, pollIntervalMs: NEVER, reconnectBaseMs: 20, reconnectMaxMs: 200 });
    listener.onStateChange((t) => transitions.push(t));
  });
  afterAll(async () => {
    await listener.close();
    await reader.close();
    await writer.close();
  });

  it('is connected, and wakes a subscription on another process’s commit (no poll could)', async () => {
    expect(listener.state).toBe('connected');
    const live = listener.attach(reader);
    expect(live.capabilities.crossProcessWakeUps).toBe(true);
    expect(live.schema).toBe(reader.schema);
    const seen: StoredEvent[] = [];
    const sub = subscribe(live, { from: await reader.events.headPosition(), pollIntervalMs: NEVER, handler: (e) => void seen.push(e) });
    await sleep(100); // past its first read
    await writer.events.append('order-1', [{ type: 'Placed', data: { n: 1 } }]);
    await waitFor(() => seen.length === 1, 'the notified subscription');
    expect(seen[0]?.streamId).toBe('order-1');
    await sub.stop();
  });

  it('serves every kind of subscription at once: one stream, all streams, event types, from a position, a named consumer', async () => {
    const live = listener.attach(reader);
    await writer.events.append('before', [{ type: 'Before', data: {} }]);
    const head = await reader.events.headPosition();
    await reader.checkpoints.set('kinds', head);
    const got: Record<string, string[]> = { stream: [], all: [], types: [], position: [], consumer: [] };
    const record = (key: string) => (e: StoredEvent) => void got[key]?.push(`${e.streamId}:${e.type}`);
    const subs = [
      subscribe(live, { from: 'end', streamId: 'cart-1', pollIntervalMs: NEVER, handler: record('stream') }),
      subscribe(live, { from: 'end', pollIntervalMs: NEVER, handler: record('all') }),
      subscribe(live, { from: 'end', types: ['Paid'], pollIntervalMs: NEVER, handler: record('types') }),
      subscribe(live, { from: head, pollIntervalMs: NEVER, handler: record('position') }),
      subscribe(live, { from: { consumer: 'kinds' }, pollIntervalMs: NEVER, types: ['Added'], handler: record('consumer') }),
    ];
    // Started: the 'end' ones have read where the end is, the named consumer holds its lease.
    await waitFor(() => subs.slice(0, 3).every((s) => s.position === head) && subs[4]?.active === true, 'the subscriptions to start');
    await writer.events.append('cart-1', [{ type: 'Added', data: {} }]);
    await writer.events.append('cart-2', [
      { type: 'Added', data: {} },
      { type: 'Paid', data: {} },
    ]);
    await waitFor(() => got.all?.length === 3 && got.position?.length === 3 && got.consumer?.length === 2, 'every subscription');
    await waitFor(() => got.types?.length === 1 && got.stream?.length === 1, 'the filtered subscriptions');
    expect(got).toEqual({
      stream: ['cart-1:Added'],
      all: ['cart-1:Added', 'cart-2:Added', 'cart-2:Paid'],
      types: ['cart-2:Paid'],
      position: ['cart-1:Added', 'cart-2:Added', 'cart-2:Paid'],
      consumer: ['cart-1:Added', 'cart-2:Added'],
    });
    for (const s of subs) await s.stop();
  });

  it('wakes an idle queue worker on another process’s send', async () => {
    const live = listener.attach(reader);
    const stop = new AbortController();
    const got: unknown[] = [];
    const worker = consume(live, 'emails', async (m) => void got.push(m.body), { pollIntervalMs: NEVER, signal: stop.signal });
    await sleep(100);
    await writer.queue.send('emails', { body: 'hello' });
    await waitFor(() => got.length === 1, 'the notified worker');
    expect(got).toEqual(['hello']);
    stop.abort();
    await worker;
  });

  it('reconnects after its backend is killed, and the subscription catches up with what committed meanwhile', async () => {
    const live = listener.attach(reader);
    const seen: StoredEvent[] = [];
    const sub = subscribe(live, { from: await reader.events.headPosition(), pollIntervalMs: NEVER, handler: (e) => void seen.push(e) });
    await sleep(100);
    transitions.length = 0;
    expect(await fx.killListener()).toBe(1);
    await writer.events.append('order-2', [{ type: 'Placed', data: {} }]);
    await waitFor(() => seen.length === 1, 'delivery after the kill');
    await waitFor(() => listener.state === 'connected', 'the listener to reconnect');
    expect(transitions.map((t) => t.to)).toContain('reconnecting');
    expect(transitions.find((t) => t.to === 'reconnecting')?.reason).toMatch(/terminated|ended|error/);
    // And pushes again once reconnected.
    await writer.events.append('order-3', [{ type: 'Placed', data: {} }]);
    await waitFor(() => seen.length === 2, 'delivery after reconnecting');
    expect(seen.map((e) => e.streamId)).toEqual(['order-2', 'order-3']);
    const health = await listener.health();
    expect(health.reconnects).toBeGreaterThanOrEqual(1);
    expect(health.state).toBe('connected');
    expect(health.lastNotificationAt).toBeInstanceOf(Date);
    expect(health.notificationQueueUsage).toBeGreaterThanOrEqual(0);
    await sub.stop();
  });
});

describe('edges of the connection’s life', () => {
  it('LISTENs for a store attached while it connects (between its LISTENs and its probe)', async () => {
    const first = await createPostgresStore(fx.url, { schema: fx.schemaName() });
    const schema = fx.schemaName();
    const late = await createPostgresStore(fx.url, { schema });
    const writer = await createPostgresStore(fx.url, { schema, migrate: false });
    let probing: (() => void) | undefined;
    const listener = await createListener({
      client: () => {
        const client = new pg.Client({ connectionString: fx.url, application_name: 'strata-listener' });
        const query = client.query.bind(client) as (text: string) => Promise<unknown>;
        (client as unknown as { query: (text: string) => Promise<unknown> }).query = async (text: string) => {
          if (text.startsWith('select pg_notify(')) {
            probing?.(); // the test attaches now, after the listener's LISTENs, before the probe returns
            await sleep(300);
          }
          return query(text);
        };
        return client;
      },
      backstopIntervalMs: NEVER,
      pollIntervalMs: NEVER,
    });
    listener.attach(first);
    const attachedDuringProbe = new Promise<void>((resolve) => {
      probing = () => {
        probing = undefined;
        resolve();
      };
    });
    await fx.killListener();
    await attachedDuringProbe;
    const live = listener.attach(late);
    await waitFor(() => listener.state === 'connected', 'reconnection');
    const seen: StoredEvent[] = [];
    const sub = subscribe(live, { from: await late.events.headPosition(), pollIntervalMs: NEVER, handler: (e) => void seen.push(e) });
    await sleep(100);
    await writer.events.append('late', [{ type: 'T', data: {} }]);
    await waitFor(() => seen.length === 1, 'the late store’s notification', 10_000);
    await sub.stop();
    await listener.close();
    for (const s of [first, late, writer]) await s.close();
  });

  it('goes back to LISTEN when notifications arrive again after a probe was lost', async () => {
    let connections = 0;
    const listener = await createListener({
      client: () => {
        const client = new pg.Client({ connectionString: fx.url });
        if (++connections === 1) {
          // The first connection loses every notification, as behind a pooler.
          const on = client.on.bind(client);
          (client as unknown as { on: typeof client.on }).on = ((event: string, fn: (...args: unknown[]) => void) =>
            event === 'notification' ? client : on(event as 'error', fn)) as typeof client.on;
        }
        return client;
      },
      timeoutMs: 300,
      reconnectBaseMs: 50,
      reconnectMaxMs: 100,
    });
    expect(listener.state).toBe('polling');
    await waitFor(() => listener.state === 'connected', 'LISTEN to work again', 10_000);
    expect((await listener.health()).transitions.map((t) => t.to)).toEqual(['polling', 'connected']);
    await listener.close();
  });

  it('answers for the stores still open, and its views stop claiming cross-process wake-ups once closed', async () => {
    const store = await createPostgresStore(fx.url, { schema: fx.schemaName() });
    const gone = await createPostgresStore(fx.url, { schema: fx.schemaName() });
    const listener = await createListener({ connectionString: fx.url });
    const live = listener.attach(store);
    expect(listener.attach(store)).toBe(live);
    listener.attach(gone);
    await store.checkpoints.set('still-here', 0n);
    await gone.close();
    expect((await listener.health()).consumers.map((c) => c.consumer)).toEqual(['still-here']);
    expect(live.capabilities.crossProcessWakeUps).toBe(true);
    await listener.close();
    expect(live.capabilities.crossProcessWakeUps).toBe(false);
    await store.close();
  });
});

describe('the backstop', () => {
  it('delivers an event whose notification was lost on purpose (the listener stopped listening)', async () => {
    const schema = fx.schemaName();
    const reader = await createPostgresStore(fx.url, { schema });
    const writer = await createPostgresStore(fx.url, { schema, migrate: false });
    let client: pg.Client | undefined;
    const listener = await createListener({
      client: () => {
        client = new pg.Client({ connectionString: fx.url, application_name: 'strata-listener' });
        return client;
      },
      backstopIntervalMs: 300,
    });
    const live = listener.attach(reader);
    const seen: StoredEvent[] = [];
    const sub = subscribe(live, { from: await reader.events.headPosition(), pollIntervalMs: NEVER, handler: (e) => void seen.push(e) });
    await sleep(100);
    await client?.query('UNLISTEN *'); // every notification from now on is lost
    await writer.events.append('lost', [{ type: 'Quiet', data: {} }]);
    await waitFor(() => seen.length === 1, 'the backstop to deliver', 10_000);
    expect((await listener.health()).lastNotificationAt).toBeNull();
    await sub.stop();
    await listener.close();
    await reader.close();
    await writer.close();
  });

  it('polls, and says so, where notifications never arrive (a transaction-pooling proxy drops them)', async () => {
    const schema = fx.schemaName();
    const reader = await createPostgresStore(fx.url, { schema });
    const writer = await createPostgresStore(fx.url, { schema, migrate: false });
    const logger = recordingLogger();
    // A connection through which LISTEN succeeds but nothing is ever delivered, as behind PgBouncer in
    // transaction mode: the LISTEN ran on a server connection that went back to the pool.
    const listener = await createListener({
      client: () => {
        const client = new pg.Client({ connectionString: fx.url });
        const on = client.on.bind(client);
        (client as unknown as { on: typeof client.on }).on = ((event: string, fn: (...args: unknown[]) => void) =>
          event === 'notification' ? client : on(event as 'error', fn)) as typeof client.on;
        return client;
      },
      timeoutMs: 500,
      pollIntervalMs: 100,
      logger,
    });
    expect(listener.state).toBe('polling');
    const health = await listener.health();
    expect(health.reason).toMatch(/LISTEN is unavailable/);
    expect(logger.lines.some((l) => l.level === 'warn' && /polling/.test(l.message))).toBe(true);
    const live = listener.attach(reader);
    const seen: StoredEvent[] = [];
    const sub = subscribe(live, { from: await reader.events.headPosition(), pollIntervalMs: NEVER, handler: (e) => void seen.push(e) });
    await sleep(50);
    await writer.events.append('polled', [{ type: 'Seen', data: {} }]);
    await waitFor(() => seen.length === 1, 'the polling listener to deliver', 10_000);
    await sub.stop();
    await listener.close();
    await reader.close();
    await writer.close();
  });
});

describe('health', () => {
  it('reports each named consumer’s lag, and names a transaction that holds delivery back; delivery resumes when it ends', async () => {
    const schema = fx.schemaName();
    const reader = await createPostgresStore(fx.url, { schema });
    const writer = await createPostgresStore(fx.url, { schema, migrate: false });
    const logger = recordingLogger();
    const listener = await createListener({ connectionString: fx.url, heldBackThresholdMs: 1000, logger });
    const live = listener.attach(reader);
    await writer.events.append('s', [{ type: 'A', data: {} }]);
    await writer.checkpoints.set('lagging', 0n);
    let health = await listener.health();
    const lagging = health.consumers.find((c) => c.consumer === 'lagging');
    expect(lagging?.eventsBehind).toBe(1);
    expect(lagging?.lag).toBeGreaterThan(0n);

    const seen: StoredEvent[] = [];
    const sub = subscribe(live, { from: await reader.events.headPosition(), handler: (e) => void seen.push(e) });
    await sleep(100);
    // A session somewhere that wrote and then went idle in its transaction.
    const idle = new pg.Client({ connectionString: fx.url, application_name: 'forgotten-tx' });
    await idle.connect();
    await idle.query('begin');
    await idle.query('select pg_current_xact_id()');
    await writer.events.append('s', [{ type: 'B', data: {} }]);
    await waitFor(async () => (await listener.health()).heldBackBy !== null, 'the health report to name the transaction', 10_000);
    health = await listener.health();
    expect(health.heldBackBy).toMatchObject({ applicationName: 'forgotten-tx', state: 'idle in transaction', database: fx.name });
    expect(health.heldBackBy?.pid).toBe((await idle.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid);
    expect(logger.lines.some((l) => l.level === 'warn' && /idle_in_transaction_session_timeout/.test(l.message))).toBe(true);
    expect(seen).toHaveLength(0);
    // The same facts as OpenTelemetry metrics, through instrument(store, { listener }).
    const reader_ = new OnDemandReader();
    const meters = new MeterProvider({ readers: [reader_] });
    const observed = instrument(live, { listener, meterProvider: meters });
    const { resourceMetrics } = await reader_.collect();
    const metric = (name: string) => resourceMetrics.scopeMetrics.flatMap((m) => m.metrics).find((m) => m.descriptor.name === name)?.dataPoints ?? [];
    expect(metric('strata.listener.connected')).toMatchObject([{ attributes: { 'db.system.name': 'postgresql', 'db.namespace': schema }, value: 1 }]);
    expect(metric('strata.reads.held_back')[0]?.value).toBeGreaterThan(0);
    expect(metric('strata.consumer.lag.events')).toMatchObject([{ attributes: { 'strata.consumer': 'lagging' } }]);
    await idle.query('rollback');
    await idle.end();
    await waitFor(() => seen.length === 1, 'delivery once the transaction ended', 10_000);
    await waitFor(async () => (await listener.health()).heldBackBy === null, 'the report to clear', 10_000);
    await sub.stop();
    await listener.close();
    await observed.close(); // the reader's store, through its instrumented view
    await meters.shutdown();
    await writer.close();
  });
});

describe('misuse and unreachable servers', () => {
  it('refuses bad options with VALIDATION', async () => {
    await expect(createListener({ connectionString: '' })).rejects.toMatchObject({ code: 'VALIDATION' });
    // Not a URL node-postgres would read as one: refused, not retried for ever as a host named "base".
    for (const connectionString of ['hello', 'user:secret@localhost/app', 'mysql://user:secret@localhost/app']) {
      const error = await createListener({ connectionString }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'VALIDATION', field: 'options.connectionString' });
      expect(String(error)).not.toContain('secret');
    }
    await expect(createListener({ connectionString: fx.url, client: () => new pg.Client() })).rejects.toMatchObject({ code: 'VALIDATION' });
    await expect(createListener({ client: 'pg' as never })).rejects.toMatchObject({ code: 'VALIDATION' });
    await expect(createListener({ pollIntervalMs: 0 })).rejects.toMatchObject({ code: 'VALIDATION' });
    await expect(createListener({ connectionstring: fx.url } as never)).rejects.toMatchObject({ code: 'VALIDATION', field: 'options.connectionstring' });
    const listener = await createListener();
    expect(() => listener.attach({} as never)).toThrow(expect.objectContaining({ code: 'VALIDATION' }));
    await listener.close();
  });

  it('fails at once on a database that does not exist (a mistake, not an outage)', async () => {
    const url = new URL(fx.url);
    url.pathname = '/no_such_database';
    await expect(createListener({ connectionString: url.toString() })).rejects.toMatchObject({ code: 'CONNECTION', retryable: false });
  });

  it('close() while a connection attempt hangs stays closed: the attempt, once answered, is dropped', async () => {
    const store = await createPostgresStore(fx.url, { schema: fx.schemaName() });
    // A path to the server that, while `holding`, keeps new connections waiting (their bytes buffered),
    // as a frozen server or a slow route does, and lets them through once released.
    const target = new URL(fx.url);
    let holding = false;
    const held: (() => void)[] = [];
    const sockets = new Set<Socket>();
    const gate = createServer((client) => {
      sockets.add(client);
      const chunks: Buffer[] = [];
      client.on('data', (c: Buffer) => chunks.push(c));
      client.on('error', () => undefined);
      const through = () => {
        const upstream = connect(Number(target.port), target.hostname);
        sockets.add(upstream);
        upstream.on('error', () => client.destroy());
        client.removeAllListeners('data');
        for (const c of chunks) upstream.write(c);
        client.pipe(upstream);
        upstream.pipe(client);
      };
      if (holding) held.push(through);
      else through();
    });
    await new Promise<void>((resolve) => gate.listen(0, '127.0.0.1', resolve));
    const url = new URL(fx.url);
    url.host = `127.0.0.1:${(gate.address() as AddressInfo).port}`;
    try {
      const listener = await createListener({ connectionString: url.toString(), reconnectBaseMs: 10, reconnectMaxMs: 20, timeoutMs: 60_000 });
      listener.attach(store);
      expect(listener.state).toBe('connected');
      holding = true;
      await fx.killListener();
      await waitFor(() => held.length > 0, 'the next attempt to be held');
      await listener.close();
      for (const go of held) go(); // the attempt gets its answers now
      await sleep(1500);
      expect(listener.state).toBe('closed');
      const left = await fx.pool.query(`select count(*)::int as n from pg_stat_activity where datname = $1 and application_name = 'strata-listener'`, [
        fx.name,
      ]);
      expect(left.rows[0]?.n).toBe(0);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => gate.close(resolve));
      await store.close();
    }
  });

  it('keeps trying a server that refuses connections, says why, and close() ends it at once', async () => {
    const logger = recordingLogger();
    const listener = await createListener({ connectionString: 'postgres://postgres@127.0.0.1:1/none', logger });
    expect(listener.state).toBe('reconnecting');
    const health = await listener.health();
    expect(health.reason).toMatch(/ECONNREFUSED/);
    expect(health.notificationQueueUsage).toBeNull();
    expect(logger.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
    await sleep(300); // a few attempts
    await listener.close();
    expect(listener.state).toBe('closed');
  });

  it('a client factory that returns something unusable is reported, retried, and closes cleanly', async () => {
    const listener = await createListener({ client: () => ({}) as never, reconnectBaseMs: 10 });
    expect(listener.state).toBe('reconnecting');
    expect((await listener.health()).reason).toMatch(/options\.client/);
    await listener.close();
  });
});
