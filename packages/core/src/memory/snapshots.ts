import { cloneJson } from '../json.js';
import type { SnapshotStore } from '../snapshots/types.js';
import { validateSnapshot, validateSnapshotLoad, validateStreamId } from '../validation.js';
import type { TablesAccess } from './access.js';
import type { SnapshotRow } from './tables.js';

/** The memory snapshot store over some tables. */
export function memorySnapshots(access: TablesAccess): SnapshotStore {
  return {
    async save(streamId, snapshot) {
      access.read('snapshots.save');
      const s = validateSnapshot(streamId, snapshot, access.settings.maxPayloadBytes);
      await access.write('snapshots.save', (t) => {
        const row: SnapshotRow = { version: s.version, state: cloneJson(s.state), schemaVersion: s.schemaVersion, createdAt: Date.now() };
        const kept = (t.snapshots.get(s.streamId) ?? []).filter((r) => r.version !== s.version);
        kept.push(row);
        kept.sort((a, b) => b.version - a.version);
        t.snapshots.set(s.streamId, kept.slice(0, access.settings.snapshotsToKeep));
      });
    },

    async load(streamId, options) {
      const t = access.read('snapshots.load');
      const o = validateSnapshotLoad(streamId, options);
      const row = t.snapshots.get(o.streamId)?.find((r) => r.version <= o.maxVersion);
      if (row === undefined) return null;
      return {
        streamId: o.streamId,
        version: row.version,
        state: cloneJson(row.state),
        schemaVersion: row.schemaVersion,
        createdAt: new Date(row.createdAt),
      };
    },

    async delete(streamId) {
      access.read('snapshots.delete');
      const id = validateStreamId(streamId);
      await access.write('snapshots.delete', (t) => {
        t.snapshots.delete(id);
      });
    },
  };
}
