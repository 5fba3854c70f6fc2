import type { RecordBatch, RecordTransfer, SnapshotRecord, StrataRecord, StrataStore } from '../src/index.js';
import { type BrokenAdapter, describeBrokenAdapters } from './broken.js';

// Broken transfers: the memory adapter with one rule of `store.transfer` broken, and the transfer cases
// that must catch it. The first broken transfers live in broken-adapters.test.ts.

/** Replaces some methods of `store.transfer`. */
const withTransfer = (s: StrataStore, over: (t: RecordTransfer) => Partial<RecordTransfer>): StrataStore => ({
  ...s,
  transfer: { ...s.transfer, ...over(s.transfer) },
});

/** Rewrites every batch of an export. */
const mapExport =
  (f: (batches: RecordBatch[], options: Parameters<RecordTransfer['export']>[0]) => RecordBatch[]) =>
  (t: RecordTransfer): Partial<RecordTransfer> => ({
    async *export(options) {
      const batches: RecordBatch[] = [];
      for await (const b of t.export(options)) batches.push(b);
      yield* f(batches, options);
    },
  });

/** The kind a cursor stands in. */
const cursorKind = (cursor: string | undefined): string | undefined => (cursor === undefined ? undefined : (JSON.parse(cursor) as string[])[1]);

/** A JSON text as a store of parsed doubles would give it back: -0 as 0, long integers rounded, 1e400 as null. */
const asDoubles = (text: string): string => {
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return text;
  }
};

/** A record with its JSON text fields as {@link asDoubles} gives them. */
const lossy = (r: StrataRecord): StrataRecord => {
  switch (r.kind) {
    case 'event':
      return { ...r, data: asDoubles(r.data), metadata: asDoubles(r.metadata) };
    case 'snapshot':
      return { ...r, state: asDoubles(r.state) };
    case 'message':
      return { ...r, body: asDoubles(r.body), headers: asDoubles(r.headers) };
    default:
      return r;
  }
};

/** Breaks snapshot loading so that the snapshot imported last loads, whatever its version. */
function lastImportedSnapshotLoads(s: StrataStore): StrataStore {
  const last = new Map<string, SnapshotRecord>();
  return {
    ...s,
    transfer: {
      ...s.transfer,
      async import(records) {
        const result = await s.transfer.import(records);
        for (const r of records) if (r.kind === 'snapshot') last.set(r.streamId, r);
        return result;
      },
    },
    snapshots: {
      ...s.snapshots,
      async load(streamId, options) {
        const r = last.get(streamId);
        if (options?.maxVersion !== undefined || r === undefined) return s.snapshots.load(streamId, options);
        return { streamId, version: r.version, state: JSON.parse(r.state), schemaVersion: r.schemaVersion, createdAt: new Date(r.createdAt) };
      },
    },
  };
}

const broken: Record<string, BrokenAdapter> = {
  'exports batches of twice the batch size': {
    breakage: (s) =>
      withTransfer(
        s,
        mapExport((batches) => {
          const out: RecordBatch[] = [];
          for (const b of batches) {
            const prev = out[out.length - 1];
            if (prev !== undefined && prev.kind === b.kind && prev.records.length === b.records.length) {
              out[out.length - 1] = { ...b, records: [...prev.records, ...b.records] };
            } else out.push(b);
          }
          return out;
        }),
      ),
    mustFail: ['transfer.export.pages-each-kind-by-key'],
  },
  'ends a kind of records keyed by name when resuming in its middle': {
    breakage: (s) =>
      withTransfer(
        s,
        mapExport((batches, options) => {
          const kind = cursorKind(options?.after);
          return kind === 'stream' || kind === 'snapshot' || kind === 'checkpoint' ? batches.filter((b) => b.kind !== kind) : batches;
        }),
      ),
    mustFail: ['transfer.export.pages-each-kind-by-key'],
  },
  "exports a stream's snapshots latest first": {
    breakage: (s) =>
      withTransfer(
        s,
        mapExport((batches) =>
          batches.map((b) =>
            b.kind !== 'snapshot'
              ? b
              : {
                  ...b,
                  records: [...b.records].sort((x, y) =>
                    x.kind === 'snapshot' && y.kind === 'snapshot' ? (x.streamId < y.streamId ? -1 : x.streamId > y.streamId ? 1 : y.version - x.version) : 0,
                  ),
                },
          ),
        ),
      ),
    mustFail: ['transfer.export.pages-each-kind-by-key'],
  },
  'names no field in the problems it reports': {
    breakage: (s) => withTransfer(s, (t) => ({ check: async (records) => (await t.check(records)).map((p) => ({ ...p, field: '' })) })),
    mustFail: ['transfer.check.reports-or-keeps-each-json-field'],
  },
  'keeps JSON numbers as doubles without reporting what they lose': {
    breakage: (s) =>
      withTransfer(s, (t) => ({
        check: (records) => t.check(records.map(lossy)),
        import: (records) => t.import(records.map(lossy)),
      })),
    mustFail: ['transfer.check.reports-or-keeps-each-json-field'],
  },
  'takes what is not an array as no records': {
    breakage: (s) =>
      withTransfer(s, (t) => ({
        check: async (records) => (Array.isArray(records) ? t.check(records) : []),
        import: async (records) => (Array.isArray(records) ? t.import(records) : { written: 0, skipped: 0 }),
      })),
    mustFail: ['transfer.import.rejects-what-is-not-an-array'],
  },
  'drops the dedup ids of imported messages': {
    breakage: (s) => withTransfer(s, (t) => ({ import: (records) => t.import(records.map((r) => (r.kind === 'message' ? { ...r, dedupId: null } : r))) })),
    mustFail: ['transfer.import.messages-keep-seq-and-dedup-ids'],
  },
  'takes any seq of a new message': {
    breakage: (s) =>
      withTransfer(s, (t) => ({
        // Renumbers new messages after the stored ones, as if the seq given did not matter.
        async import(records) {
          let top = 0;
          for await (const b of t.export()) for (const r of b.records) if (r.kind === 'message') top = Math.max(top, r.seq);
          const stored = new Set<string>();
          for await (const b of t.export()) for (const r of b.records) if (r.kind === 'message') stored.add(r.id);
          return t.import(records.map((r) => (r.kind === 'message' && !stored.has(r.id) && r.seq <= top ? { ...r, seq: ++top } : r)));
        },
      })),
    mustFail: ['transfer.import.messages-keep-seq-and-dedup-ids'],
  },
  'loads the snapshot imported last rather than the latest': {
    breakage: lastImportedSnapshotLoads,
    mustFail: ['transfer.import.snapshots-load-latest-first'],
  },
  'imports outside the transaction it is called in': {
    breakage: (s) => ({ ...s, transaction: (fn) => s.transaction((tx) => fn({ ...tx, transfer: s.transfer })) }),
    mustFail: ['transfer.import.after-a-rolled-back-import'],
  },
  'skips an event whose id is stored, whatever its position': {
    breakage: (s) =>
      withTransfer(s, (t) => ({
        async import(records) {
          const ids = new Set<string>();
          for await (const b of t.export()) for (const r of b.records) if (r.kind === 'event') ids.add(r.id);
          const fresh = records.filter((r) => r.kind !== 'event' || !ids.has(r.id));
          const result = await t.import(fresh);
          return { written: result.written, skipped: result.skipped + records.length - fresh.length };
        },
      })),
    mustFail: ['transfer.import.refuses-a-stored-event-at-another-position'],
  },
  'reads the whole export when the first batch is asked for': {
    breakage: (s) =>
      withTransfer(
        s,
        mapExport((batches) => batches),
      ),
    mustFail: ['transfer.export.close-mid-export-rejects-the-next-batch'],
  },
};

describeBrokenAdapters('broken transfers', broken);
