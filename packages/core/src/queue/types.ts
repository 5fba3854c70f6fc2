import type { JsonCompatible, JsonValue } from '../json.js';
import type { consume } from './consume.js';

/** String headers carried with a message. */
export type MessageHeaders = Record<string, string>;

/** Per-message settings, given on a message or as defaults for a whole {@link MessageQueue.send} call. */
export interface SendOptions {
  /** Keep the message invisible for this long after sending. @defaultValue 0 */
  delayMs?: number;
  /** Higher priorities are received first; equal priorities in send order. @defaultValue 0 */
  priority?: number;
  /** Deliveries after which the message is dead-lettered. @defaultValue the store's `maxAttempts` (5) */
  maxAttempts?: number;
}

/**
 * A message to send. `TBody` may be an interface or a type alias: {@link MessageQueue.send} checks that
 * it is {@link JsonCompatible}.
 */
export interface OutgoingMessage<TBody = JsonValue> extends SendOptions {
  /** The payload: JSON ({@link JsonCompatible}). */
  body: TBody;
  /** String headers. @defaultValue `{}` */
  headers?: MessageHeaders;
  /**
   * Deduplication key: while a message with this key is in the queue (not yet acked or purged),
   * sending another one with it is a no-op that returns the first message's id.
   */
  dedupId?: string;
}

/** Options of {@link MessageQueue.receive}. */
export interface ReceiveOptions {
  /** Most messages to receive (1 to 1000). @defaultValue 1 */
  max?: number;
  /** How long received messages stay invisible to other receivers. @defaultValue 30000 */
  visibilityTimeoutMs?: number;
}

/** One delivery of a message. */
export interface Delivery<TBody = JsonValue> {
  /** The message id (the same across deliveries). */
  id: string;
  /** The queue it came from. */
  queue: string;
  /** The payload. */
  body: TBody;
  /** String headers. */
  headers: MessageHeaders;
  /** 1 on the first delivery, then +1 on each redelivery. */
  attempt: number;
  /** Deliveries after which the message is dead-lettered. */
  maxAttempts: number;
  /** Identifies this delivery for ack, nack and extendVisibility (a UUID); stale once the visibility timeout passes. */
  receipt: string;
  /** When the message was sent. */
  enqueuedAt: Date;
  /** When the message becomes visible again unless settled or extended. */
  visibleUntil: Date;
}

/** What {@link MessageQueue.ackMany} did. */
export interface AckManyResult {
  /** How many messages were acked (deleted). */
  acked: number;
  /** The receipts that no longer owned their message (or were repeated), in the order given. */
  stale: string[];
}

/** Options of {@link MessageQueue.nack}. */
export interface NackOptions {
  /** Keep the message invisible for this long before redelivery. @defaultValue 0 */
  delayMs?: number;
  /** Move it to the dead letters now instead of redelivering. @defaultValue false */
  deadLetter?: boolean;
  /** Why it failed; kept as the message's last error and shown in dead letters. */
  reason?: string;
}

/** Counts of a queue's messages by state. */
export interface QueueStats {
  /** Visible now, waiting to be received. */
  ready: number;
  /** Received and within their visibility timeout. */
  inFlight: number;
  /** Waiting for a send delay or nack delay to pass. */
  delayed: number;
  /** Moved to the dead letters. */
  deadLettered: number;
  /** Age in milliseconds of the oldest ready message since it was sent, or `null` when none is ready. */
  oldestReadyAgeMs: number | null;
}

/** A dead-lettered message. */
export interface DeadLetter<TBody = JsonValue> {
  /** The message id. */
  id: string;
  /** The queue. */
  queue: string;
  /** The payload. */
  body: TBody;
  /** String headers. */
  headers: MessageHeaders;
  /** Deliveries made before it was dead-lettered. */
  attempt: number;
  /** The last reason given (by `nack`, or the store when attempts ran out). */
  reason: string | null;
  /** When it was sent. */
  enqueuedAt: Date;
  /** When it was dead-lettered. */
  deadLetteredAt: Date;
}

/** Options of {@link MessageQueue.deadLetters}. */
export interface DeadLettersOptions {
  /** Most dead letters to return, oldest first. @defaultValue 100 */
  limit?: number;
}

/**
 * Named queues with at-least-once delivery. Every method rejects with `CLOSED` after the store is
 * closed and with `VALIDATION` on bad input.
 */
export interface MessageQueue {
  /**
   * Sends one or many messages atomically and returns their ids in order. Bodies may be typed with
   * interfaces; the compiler rejects bodies that are not {@link JsonCompatible}.
   *
   * @typeParam TMessage - the messages' type, inferred (a union when they differ)
   */
  send<TMessage extends OutgoingMessage<JsonCompatible<TMessage['body']>>>(
    queue: string,
    messages: TMessage | readonly TMessage[],
    options?: SendOptions,
  ): Promise<string[]>;
  /**
   * Receives up to `max` visible messages, highest priority first then oldest first, and hides them
   * for `visibilityTimeoutMs`. Concurrent receivers never get the same delivery. Messages whose
   * attempts ran out are dead-lettered instead of delivered.
   */
  receive(queue: string, options?: ReceiveOptions): Promise<Delivery[]>;
  /** Deletes the delivered message. @throws `STALE_RECEIPT` when the receipt no longer owns it */
  ack(receipt: string): Promise<void>;
  /**
   * Acks many deliveries in one call (one round trip where the adapter can): deletes the messages the
   * receipts still own and reports the stale receipts, which change nothing. Never throws for them.
   */
  ackMany(receipts: readonly string[]): Promise<AckManyResult>;
  /**
   * Gives the message back for redelivery (after `delayMs`), or dead-letters it when `deadLetter` is
   * set or its attempts ran out. @throws `STALE_RECEIPT` when the receipt no longer owns it
   */
  nack(receipt: string, options?: NackOptions): Promise<void>;
  /**
   * Keeps the message invisible for `ms` more milliseconds from now. @throws `STALE_RECEIPT` when the
   * receipt no longer owns it
   */
  extendVisibility(receipt: string, ms: number): Promise<void>;
  /** Counts by state. */
  stats(queue: string): Promise<QueueStats>;
  /**
   * How long until a message of the queue can next be received, by the database's clock: `0` when one
   * is ready now, the milliseconds until the earliest delayed message's delay or in-flight message's
   * visibility timeout ends, `null` when the queue holds no message that could ever be delivered (empty,
   * or only dead letters). Workers ({@link consume}) sleep exactly that long instead of a whole poll
   * interval. One read, over the queue's messages that are not dead-lettered.
   */
  nextVisibleInMs(queue: string): Promise<number | null>;
  /** Dead-lettered messages, oldest first. */
  deadLetters(queue: string, options?: DeadLettersOptions): Promise<DeadLetter[]>;
  /** Puts dead letters (all, or those with the given ids) back as fresh messages; returns how many. */
  redrive(queue: string, ids?: readonly string[]): Promise<number>;
  /** Deletes every message of the queue in every state; returns how many. */
  purge(queue: string): Promise<number>;
}
