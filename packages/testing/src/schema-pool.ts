import type { StrataStore } from '@strata/core';

/** How a schema pool reaches the database: one statement with parameters, or a script without. */
export interface PoolDatabase {
  /** Rows of one statement. */
  query<T>(text: string, params: unknown[]): Promise<T[]>;
  /** Runs several statements (no parameters) in one round trip. */
  script(text: string): Promise<void>;
}

/** What a freshly migrated schema holds: its tables and sequences, and a fingerprint of everything in it. */
interface Baseline {
  tables: string[];
  sequences: string[];
  fingerprint: string;
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * Everything a test can add to a schema, counted: relations (tables, views, sequences, indexes…),
 * columns, constraints, functions, types, triggers and policies. A schema whose count differs from a
 * freshly migrated one's holds something a test added.
 */
const FINGERPRINT = `
select concat_ws(',',
  (select count(*) from pg_class c where c.relnamespace = n.oid),
  (select count(*) from pg_attribute a join pg_class c on c.oid = a.attrelid where c.relnamespace = n.oid and a.attnum > 0 and not a.attisdropped),
  (select count(*) from pg_constraint k where k.connamespace = n.oid),
  (select count(*) from pg_proc p where p.pronamespace = n.oid),
  (select count(*) from pg_type t where t.typnamespace = n.oid),
  (select count(*) from pg_trigger g join pg_class c on c.oid = g.tgrelid where c.relnamespace = n.oid),
  (select count(*) from pg_policy y join pg_class c on c.oid = y.polrelid where c.relnamespace = n.oid)
) as fingerprint
from pg_namespace n where n.nspname = $1`;

/**
 * Schemas of one PostgreSQL database (a server's or a PGlite instance's), each migrated once and
 * reused: a store handed out gets a schema no other open store uses, and when it is given back its
 * tables are emptied and its sequences restarted, which costs one round trip instead of a migration.
 * A schema to which a test added anything (a table, a column, a function, a trigger…) is dropped
 * instead, and the next store migrates a new one.
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

  /** Puts back, untouched, a reused schema whose store could not be opened. */
  putBack(schema: string): void {
    this.#free.push(schema);
  }

  /** Records what a migrated schema holds, once: what a reset keeps. */
  async learn(schema: string): Promise<void> {
    if (this.#baseline !== undefined) return;
    const rows = await this.#db.query<{ name: string; kind: string }>(
      `select c.relname as name, c.relkind::text as kind from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = $1 and c.relkind in ('r', 'p', 'S') order by c.relname`,
      [schema],
    );
    this.#baseline = {
      // The migrations table stays as it is: the schema is migrated, and the next store finds it so.
      tables: rows.filter((r) => r.kind !== 'S' && r.name !== '__strata_migrations').map((r) => r.name),
      sequences: rows.filter((r) => r.kind === 'S').map((r) => r.name),
      fingerprint: await this.#fingerprint(schema),
    };
  }

  /**
   * Resets a schema whose stores are all closed and puts it back in the pool, or drops it when a test
   * added anything to it. Throws when the database cannot be reached; the schema is then forgotten.
   */
  async giveBack(schema: string): Promise<void> {
    const baseline = this.#baseline;
    if (baseline === undefined) return;
    const s = quote(schema);
    if ((await this.#fingerprint(schema)) !== baseline.fingerprint) {
      await this.#db.script(`drop schema if exists ${s} cascade`);
      return;
    }
    const statements: string[] = [];
    if (baseline.tables.length > 0) statements.push(`truncate ${baseline.tables.map((t) => `${s}.${quote(t)}`).join(', ')} restart identity cascade`);
    for (const seq of baseline.sequences) statements.push(`alter sequence ${s}.${quote(seq)} restart`);
    await this.#db.script(statements.join(';\n'));
    this.#free.push(schema);
  }

  async #fingerprint(schema: string): Promise<string> {
    const [row] = await this.#db.query<{ fingerprint: string }>(FINGERPRINT, [schema]);
    return row?.fingerprint ?? 'missing';
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
