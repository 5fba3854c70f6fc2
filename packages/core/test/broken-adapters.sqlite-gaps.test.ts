import { AsyncLocalStorage } from 'node:async_hooks';
import { type Delivery, EventIdConflictError, type MessageQueue, type StrataRecord, type StrataStore, ValidationError } from '../src/index.js';
import { type BrokenAdapter, describeBrokenAdapters } from './broken.js';

// The gaps the mutation run of the SQLite adapter found, each as the memory adapter with the same bug as
// the surviving mutant, and the case that now catches it.

/** Wraps `receive` with the number of messages the call dead-lettered on the way. */
const withDeadLettered =
  (after: (queue: MessageQueue, name: string, options: Parameters<MessageQueue['receive']>[1], got: Delivery[], deadLettered: number) => Promise<Delivery[]>) =>
  (s: StrataStore): StrataStore => ({
    ...s,
    queue: {
      ...s.queue,
      async receive(name, options) {
        const before = (await s.queue.stats(name)).deadLettered;
        const got = await s.queue.receive(name, options);
        return after(s.queue, name, options, got, (await s.queue.stats(name)).deadLettered - before);
      },
    },
  });

/** Drops a `correlationId` key that imported metadata spells with escapes, as a store that only looks for the literal key would index it. */
const dropEscapedCorrelation = (r: StrataRecord): StrataRecord => {
  if (r.kind !== 'event' || r.metadata.includes('correlationId') || !r.metadata.includes('\\u')) return r;
  const { correlationId: _dropped, ...rest } = JSON.parse(r.metadata) as Record<string, unknown>;
  return { ...r, metadata: JSON.stringify(rest) };
};

const broken: Record<string, BrokenAdapter> = {
  'refuses a call inside a callback as misuse before saying the store is closed': {
    // The mutant that drops the SQLite transaction()'s first closed check: the misuse check answers first.
    breakage: (s) => {
      const inside = new AsyncLocalStorage<true>();
      return {
        ...s,
        transaction: (fn) =>
          inside.getStore() === true
            ? Promise.reject(new ValidationError('store.transaction', "was called inside the same store's transaction() callback"))
            : s.transaction((tx) => inside.run(true, () => fn(tx))),
      };
    },
    mustFail: ['transactions.misuse.closed-store-says-closed-inside-a-callback'],
  },
  'stops a receive at the messages it dead-letters (fewer than max)': {
    // The mutant `if (true) return out` of the SQLite receive loop: no second look past exhausted messages.
    breakage: withDeadLettered(async (_queue, _name, _options, got, deadLettered) => got.slice(0, got.length - deadLettered)),
    mustFail: ['queue.max-attempts.receive-fills-max-past-exhausted'],
  },
  'refills a receive past max after dead-lettering': {
    // The mutant `o.max + out.length` of the SQLite receive loop: the second look asks for too many.
    breakage: withDeadLettered(async (queue, name, options, got, deadLettered) =>
      deadLettered === 0 ? got : [...got, ...(await queue.receive(name, { ...options, max: deadLettered + got.length }))],
    ),
    mustFail: ['queue.max-attempts.receive-fills-max-past-exhausted'],
  },
  'checks stored ids only when every event of a batch has one': {
    // The mutant `events.every(…)` of the SQLite append: a mixed batch meets only the unique constraint,
    // whose error cannot say which id clashed.
    breakage: (s) => ({
      ...s,
      events: {
        ...s.events,
        append: (id, events, o) =>
          s.events.append(id, events, o).catch((error: unknown) => {
            const mixed = events.some((e) => e.id === undefined) && events.some((e) => e.id !== undefined);
            throw mixed && error instanceof EventIdConflictError ? new EventIdConflictError(id, '(one of the batch)', 'is already stored') : error;
          }),
      },
    }),
    mustFail: ['events.append.idempotent.conflict-names-the-id-when-some-events-have-none'],
  },
  'misses correlation ids that imported metadata spells with escapes': {
    // The mutant `metadata.includes('\\u')` of the SQLite import: escaped keys were taken for no key.
    breakage: (s) => ({ ...s, transfer: { ...s.transfer, import: (records) => s.transfer.import(records.map(dropEscapedCorrelation)) } }),
    mustFail: ['transfer.import.finds-correlation-ids-spelled-with-escapes'],
  },
};

describeBrokenAdapters('broken adapters: the gaps of the SQLite mutation run', broken);
