import type { StrataStore } from '@strata/core';

/** How a schema pool reaches the database: one statement with parameters, or a script without. */
export interface PoolDatabase {
  /** Rows of one statement. */
  query<T>(text: string, params: unknown[]): Promise<T[]>;
  /** Runs several statements (no parameters) in one round trip. */
  script(text: string): Promise<void>;
}

/** The relations of a freshly migrated schema, by kind. */
interface Baseline {
  tables: Set<string>;
  sequences: Set<string>;
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * Schemas of one PostgreSQL database (a server's or a PGlite instance's), each migrated once and
 * reused: a store handed out gets a schema no other open store uses, and when it is given back its
 * tables are emptied, its sequences restarted and anything the test added to the schema is dropped,
 * which costs one round trip instead of a migration.
 */
export class SchemaPool {
  readonly #db: PoolDatabase;
  readonly #prefix: string;
  readonly #free: string[] = [];
  #made = 0;
  #baseline: Baseline | undefined;

  constructor(db: PoolDatabase, prefix: string) {
    this.#db = db;
    this.#prefix = prefix;
  }

  /** A schema for a new store: a reset one when there is one, else a new name (migrated by the store). */
  take(): { schema: string; reused: boolean } {
    const schema = this.#free.pop();
    if (schema !== undefined) return { schema, reused: true };
    return { schema: `${this.#prefix}_${++this.#made}`, reused: false };
  }

  /** Records what a migrated schema holds, once: what a reset keeps. */
  async learn(schema: string): Promise<void> {
    if (this.#baseline !== undefined) return;
    const rows = await this.#relations(schema);
    this.#baseline = {
      tables: new Set(rows.filter((r) => r.kind === 'r' || r.kind === 'p').map((r) => r.name)),
      sequences: new Set(rows.filter((r) => r.kind === 'S').map((r) => r.name)),
    };
  }

  /**
   * Empties a schema whose stores are all closed and puts it back in the pool. A schema that cannot be
   * reset (its database is gone) is forgotten; the error is the caller's.
   */
  async giveBack(schema: string): Promise<void> {
    const baseline = this.#baseline;
    if (baseline === undefined) return;
    const rows = await this.#relations(schema);
    const s = quote(schema);
    const statements: string[] = [];
    const extra = rows.filter((r) => !(r.kind === 'S' ? baseline.sequences : baseline.tables).has(r.name));
    for (const r of extra) {
      const kind = { r: 'table', p: 'table', S: 'sequence', v: 'view', m: 'materialized view', f: 'foreign table' }[r.kind];
      if (kind !== undefined) statements.push(`drop ${kind} if exists ${s}.${quote(r.name)} cascade`);
    }
    // The migrations table stays: the schema is migrated, and the next store finds it so.
    const tables = [...baseline.tables].filter((t) => t !== '__strata_migrations').map((t) => `${s}.${quote(t)}`);
    if (tables.length > 0) statements.push(`truncate ${tables.join(', ')} restart identity cascade`);
    for (const seq of baseline.sequences) statements.push(`alter sequence ${s}.${quote(seq)} restart`);
    await this.#db.script(statements.join(';\n'));
    this.#free.push(schema);
  }

  async #relations(schema: string): Promise<{ name: string; kind: string }[]> {
    return this.#db.query<{ name: string; kind: string }>(
      `select c.relname as name, c.relkind::text as kind from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = $1 and c.relkind in ('r', 'p', 'S', 'v', 'm', 'f')`,
      [schema],
    );
  }
}

/**
 * Replaces `store.close` by one that runs `after` once the store is closed, once. A close the store
 * refuses (called inside its own transaction) changes nothing: a later close tries again.
 */
export function onClose<S extends StrataStore>(store: S, after: () => Promise<void>): S {
  const close = store.close.bind(store);
  let done: Promise<void> | undefined;
  Object.defineProperty(store, 'close', {
    configurable: true,
    writable: true,
    value: async () => {
      if (done === undefined) {
        await close();
        done ??= after();
      }
      return done;
    },
  });
  return store;
}
