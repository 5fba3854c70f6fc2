/**
 * Storage contracts for event-sourced applications — an event store, a message queue, a snapshot
 * store and a checkpoint store — with their errors and validation, the in-memory reference adapter,
 * an aggregate repository, subscriptions and a queue worker loop that work over any adapter.
 *
 * @example
 * ```ts
 * import { createMemoryStore, subscribe } from '@strata/core'
 *
 * const store = createMemoryStore()
 * await store.events.append('order-1', [{ type: 'OrderPlaced', data: { total: 42 } }], { expectedVersion: 'no_stream' })
 * await store.transaction(async (tx) => {
 *   await tx.events.append('order-1', [{ type: 'OrderPaid', data: {} }], { expectedVersion: 1 })
 *   await tx.queue.send('emails', { body: { to: 'buyer@example.com' } })
 * })
 * const sub = subscribe(store, { from: 'start', handler: (e) => console.log(e.position, e.type) })
 * ```
 *
 * @packageDocumentation
 */
export { type Capabilities, defineCapabilities } from './capabilities.js';
export {
  ConcurrencyError,
  type ConcurrencyErrorDetails,
  ConnectionError,
  type ConnectionErrorOptions,
  describeSubject,
  type ErrorSubject,
  EventIdConflictError,
  isStrataError,
  MigrationError,
  NotSupportedError,
  SerializationError,
  StaleReceiptError,
  StoreClosedError,
  StrataError,
  type StrataErrorClasses,
  type StrataErrorCode,
  type StrataErrorOf,
  type StrataErrorOptions,
  ValidationError,
} from './errors.js';
export {
  type AggregateResult,
  type AggregateStreamOptions,
  aggregateStream,
  type EventSource,
  type Evolver,
} from './events/aggregate.js';
export { expectedVersionMatches, resolveRetry, type StoredEventRef } from './events/append-rules.js';
export {
  type AggregateRepository,
  createRepository,
  type RepositoryOptions,
  type UpdateOptions,
  type UpdateResult,
} from './events/repository.js';
export type {
  AppendOptions,
  AppendResult,
  EventMetadata,
  EventShape,
  EventStore,
  ExpectedVersion,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
  StoredEvent,
  StoredEventOf,
  StreamInfo,
} from './events/types.js';
export { createUpcasters, type Upcaster, type Upcasters, type UpcastResult } from './events/upcasters.js';
export { ChangeEmitter, silentWakeUps } from './internal/emitter.js';
export { Mutex } from './internal/mutex.js';
export { backoffDelay, sleep } from './internal/timing.js';
export {
  assertJson,
  assertPayloadSize,
  cloneJson,
  contentHash,
  DEFAULT_MAX_PAYLOAD_BYTES,
  type JsonArray,
  type JsonCompatible,
  type JsonObject,
  type JsonPrimitive,
  type JsonValue,
  jsonByteLength,
  jsonEqual,
  MAX_JSON_DEPTH,
  MAX_PAYLOAD_BYTES,
  PayloadBudget,
} from './json.js';
export {
  addLogFields,
  ConnectionHealth,
  type LogFields,
  type LogFieldsProvider,
  type StrataLogger,
  safeLogger,
  silentLogger,
} from './logger.js';
export { createMemoryStore, type MemoryFeature, type MemoryStoreOptions } from './memory/index.js';
export { compareNames } from './names.js';
export { type ConsumeContext, type ConsumeOptions, consume, type MessageHandler } from './queue/consume.js';
export type {
  AckManyResult,
  DeadLetter,
  DeadLettersOptions,
  Delivery,
  MessageHeaders,
  MessageQueue,
  NackOptions,
  OutgoingMessage,
  QueueStats,
  ReceiveOptions,
  SendOptions,
} from './queue/types.js';
export type { LoadSnapshotOptions, Snapshot, SnapshotInput, SnapshotStore } from './snapshots/types.js';
export type { StoreTransaction, StrataStore } from './store.js';
export { type RebuildOptions, rebuildProjection } from './subscriptions/rebuild.js';
export {
  type AnyStoredEvent,
  type ConsumerStart,
  type ReadErrorInfo,
  type SubscribeOptions,
  type Subscription,
  type SubscriptionContext,
  type SubscriptionErrorAction,
  type SubscriptionStart,
  subscribe,
} from './subscriptions/subscribe.js';
export type {
  ChangeNotice,
  Checkpoint,
  CheckpointStore,
  EventsNotice,
  LeaseOptions,
  QueueNotice,
  ResyncNotice,
  SetCheckpointOptions,
  WakeUpSource,
} from './subscriptions/types.js';
export {
  type ListenClient,
  type PgListenClient,
  type PgliteListenClient,
  type PgNotification,
  type WithWakeUpsOptions,
  withWakeUps,
} from './subscriptions/wake-ups.js';
export type { BatchCall, HandlerCall, LoopCall, LoopFilters, StoreTelemetry, TraceCarrier } from './telemetry.js';
export { TransactionScope, type TransactionScopeOptions } from './transaction-scope.js';
export { canonicalJson, inspectJsonText, type JsonTextInfo } from './transfer/json-text.js';
export { type PlanImportOptions, planImport, type StoredRecords, type StoredStream } from './transfer/plan.js';
export {
  assertNoProblems,
  canonicalRecord,
  describeRecord,
  type ExportPosition,
  type ExportStep,
  exportCursorAfter,
  exportPositionOf,
  jsonTextProblem,
  MAX_RECORD_TIME_MS,
  RECORD_KINDS,
  recordProblem,
  recordProblems,
  remainingKinds,
  type ValidatedExportOptions,
  validateExportOptions,
} from './transfer/records.js';
export type {
  CheckpointRecord,
  EventRecord,
  ImportResult,
  JsonText,
  MessageRecord,
  RecordBatch,
  RecordCounts,
  RecordExportOptions,
  RecordKind,
  RecordProblem,
  RecordTransfer,
  SnapshotRecord,
  StrataRecord,
  StreamRecord,
} from './transfer/types.js';
export { unsupportedCheckpoints, unsupportedQueue, unsupportedSnapshots, unsupportedTransaction, unsupportedTransfer } from './unsupported.js';
export * from './validation.js';
