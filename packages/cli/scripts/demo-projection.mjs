// The projection the terminal recording rebuilds (scripts/record-rebuild.mjs): order totals in a table of
// the application's own, written through the transaction Strata gives the handler, so that each batch
// of rows and the consumer's checkpoint commit together.
import { sql } from 'drizzle-orm';

export const projections = [
  {
    consumer: 'order-totals',
    batchSize: 500,
    clear: async (tx) => {
      await tx.db.run(sql`delete from order_totals`);
    },
    handler: async (event, { tx }) => {
      const amount = event.type === 'OrderPlaced' ? 0 : event.data.price;
      await tx.db.run(
        sql`insert into order_totals (order_id, items, total) values (${event.streamId}, ${event.type === 'ItemAdded' ? 1 : 0}, ${amount})
            on conflict (order_id) do update set items = items + excluded.items, total = total + excluded.total`,
      );
    },
  },
];
