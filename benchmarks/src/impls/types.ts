/** An event as the workloads write it. */
export interface BenchEvent {
  type: string;
  data: { i: number; text: string };
}

/** What every event-store implementation under test offers the workloads. */
export interface EventSubject {
  readonly name: string;
  /** The raw baseline this implementation is compared with. */
  readonly baseline: string;
  /** Appends `events` to `stream`, expecting it at `expected` (0: new stream). */
  append(stream: string, events: BenchEvent[], expected: number): Promise<void>;
  /** Reads a whole stream; returns how many events it read. */
  readStream(stream: string): Promise<number>;
  /** Reads every event in global order, in pages of `pageSize`; returns how many. */
  readAll(pageSize: number): Promise<number>;
  /** Runs the implementation's subscription from the start until it has handled `total` events. */
  catchUp(total: number, batchSize: number): Promise<number>;
  close(): Promise<void>;
}

/** What every queue implementation under test offers the workloads. */
export interface QueueSubject {
  readonly name: string;
  readonly baseline: string;
  /** Sends one message. */
  send(queue: string, body: unknown): Promise<void>;
  /** Sends many messages in one call. */
  sendMany(queue: string, bodies: unknown[]): Promise<void>;
  /** Receives up to `max` messages and acks each; returns how many. */
  receiveAndAck(queue: string, max: number): Promise<number>;
  close(): Promise<void>;
}

/** What every implementation of the consume workload offers: a queue filled untimed, then drained by handlers. */
export interface ConsumeSubject {
  readonly name: string;
  readonly baseline: string;
  /** Sends `bodies` to `queue` (not timed). */
  fill(queue: string, bodies: unknown[]): Promise<void>;
  /**
   * Runs a no-op handler for every message of `queue`, `concurrency` at a time, and resolves once every
   * message was handled and acked (deleted) and the consumer has stopped; returns how many it handled.
   */
  consumeAll(queue: string, expected: number, concurrency: number): Promise<number>;
  /** Releases what the subject opened for itself (a store shared with other subjects is closed by them). */
  close(): Promise<void>;
}

/** A small, realistic payload. */
export function benchEvent(i: number): BenchEvent {
  return { type: i % 10 === 0 ? 'OrderShipped' : 'OrderLineAdded', data: { i, text: `line ${i} of an order, with some text` } };
}

/**
 * How a raw consuming loop works: claims of up to `claim` messages, deleted in one statement (or one per
 * message when `deleteEach`), by `workers` loops at once (the workload's concurrency when absent).
 */
export interface ConsumeShape {
  claim: number;
  deleteEach: boolean;
  workers?: number;
}
