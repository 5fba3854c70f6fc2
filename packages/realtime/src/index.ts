/**
 * LISTEN/NOTIFY wake-ups for Strata. The PostgreSQL dialect's database sends one notification per
 * committing transaction that appended events or sent queue messages; a {@link Listener} holds one
 * connection per process that LISTENs for them and wakes every `subscribe()` and `consume()` of the
 * stores attached to it — at once, instead of at their next poll. Notifications are only wake-ups: the
 * events always come from the store's gap-safe reads, so a notification lost while reconnecting loses
 * nothing (the listener polls meanwhile, and as a backstop).
 *
 * @example
 * ```ts
 * import { consume, subscribe } from '@strata/core'
 * import { createPostgresStore } from '@strata/postgres'
 * import { createListener } from '@strata/realtime'
 *
 * const store = await createPostgresStore(process.env.DATABASE_URL!)
 * const listener = await createListener({ connectionString: process.env.DATABASE_URL! })
 * const live = listener.attach(store)
 * subscribe(live, { from: { consumer: 'totals' }, handler: async (event) => console.log(event.type) })
 * ```
 *
 * @packageDocumentation
 */
export type { ListenClient, PgListenClient, PgliteListenClient } from '@strata/core';
export { type NotificationChannels, notificationChannels } from '@strata/postgres';
export {
  type ConsumerLag,
  createListener,
  type HeldBackBy,
  type Listener,
  type ListenerHealth,
  type ListenerOptions,
  type ListenerState,
  type StateTransition,
} from './listener.js';
