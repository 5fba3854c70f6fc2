import { ConcurrencyError } from '../errors.js';
import { compareNames } from '../names.js';
import type { CheckpointStore } from '../subscriptions/types.js';
import { validateCheckpointSet, validateConsumerName, validateLease, validateName } from '../validation.js';
import type { TablesAccess } from './access.js';

/** The memory checkpoint store over some tables. */
export function memoryCheckpoints(access: TablesAccess): CheckpointStore {
  return {
    async get(consumer) {
      const t = access.read('checkpoints.get');
      const name = validateConsumerName(consumer);
      const row = t.checkpoints.get(name);
      return row === undefined ? null : { consumer: name, position: row.position, updatedAt: new Date(row.updatedAt) };
    },

    async list() {
      const t = access.read('checkpoints.list');
      return [...t.checkpoints]
        .sort(([a], [b]) => compareNames(a, b))
        .map(([consumer, row]) => ({ consumer, position: row.position, updatedAt: new Date(row.updatedAt) }));
    },

    async set(consumer, position, options) {
      access.read('checkpoints.set');
      const o = validateCheckpointSet(consumer, position, options);
      await access.write('checkpoints.set', (t) => {
        const actual = t.checkpoints.get(o.consumer)?.position ?? null;
        if (o.expected !== undefined && o.expected !== actual) {
          throw ConcurrencyError.forCheckpoint(o.consumer, o.expected, actual);
        }
        t.checkpoints.set(o.consumer, { position: o.position, updatedAt: Date.now() });
      });
    },

    async acquireLease(consumer, options) {
      access.read('checkpoints.acquireLease');
      const o = validateLease(consumer, options);
      return access.write('checkpoints.acquireLease', (t) => {
        const now = Date.now();
        const lease = t.leases.get(o.consumer);
        if (lease !== undefined && lease.owner !== o.owner && lease.expiresAt > now) return false;
        t.leases.set(o.consumer, { owner: o.owner, expiresAt: now + o.ttlMs });
        return true;
      });
    },

    async releaseLease(consumer, owner) {
      access.read('checkpoints.releaseLease');
      const name = validateConsumerName(consumer);
      const who = validateName(owner, 'owner');
      await access.write('checkpoints.releaseLease', (t) => {
        if (t.leases.get(name)?.owner === who) t.leases.delete(name);
      });
    },
  };
}
