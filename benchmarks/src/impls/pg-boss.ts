import PgBoss from 'pg-boss';
import type { QueueSubject } from './types.js';

/** pg-boss 10.4.2 through its public API: send, insert, fetch and complete. */
export async function pgBossQueue(url: string): Promise<QueueSubject> {
  const boss = new PgBoss({ connectionString: url, schedule: false, supervise: false, max: 10 });
  boss.on('error', () => undefined);
  await boss.start();
  const created = new Set<string>();
  const ensure = async (queue: string) => {
    if (!created.has(queue)) {
      await boss.createQueue(queue);
      created.add(queue);
    }
  };
  return {
    name: 'pg-boss',
    baseline: 'raw pg',
    async send(queue, body) {
      await ensure(queue);
      await boss.send(queue, body as object);
    },
    async sendMany(queue, bodies) {
      await ensure(queue);
      await boss.insert(bodies.map((data) => ({ name: queue, data: data as object })));
    },
    async receiveAndAck(queue, max) {
      await ensure(queue);
      const jobs = await boss.fetch(queue, { batchSize: max });
      if (jobs.length > 0)
        await boss.complete(
          queue,
          jobs.map((j) => j.id),
        );
      return jobs.length;
    },
    async close() {
      await boss.stop({ graceful: false, wait: true });
    },
  };
}
