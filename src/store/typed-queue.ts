/**
 * Typed queues: each durable queue is declared once, next to the type of its
 * jobs' payload, and producers and workers use that type without casts:
 *
 *   export const STATUS_QUEUE = defineQueue<{ deliveryId: string }>('portal-status');
 *   store.commit({ jobs: [jobInput(STATUS_QUEUE, delivery.id, { deliveryId: delivery.id })] });
 *   const job = await store.queue(STATUS_QUEUE).reserve(...);   // job.payload.deliveryId: string
 *
 * Like a collection's handle, a queue's is its plain name at run time.
 */
import type { JobInput, JsonValue, Queue, QueueName } from './types.js';
import { assertName } from './validate.js';

export type { QueueName } from './types.js';

/** The handle of one queue; a bad name throws here (at start-up for a fixed name). */
export function defineQueue<P>(name: string): QueueName<P> {
  assertName(name, 'queue');
  return name;
}

/** A job for a batch, its payload checked against the queue's type. */
export function jobInput<P>(queue: QueueName<P>, id: string, payload: NoInfer<P>, options: Omit<JobInput, 'queue' | 'id' | 'payload'> = {}): JobInput {
  // The write side's one cast, as for documents: payloads declared as interfaces are JSON-shaped
  // but not a JsonValue to the compiler; the store validates and copies them as JSON.
  return { queue, id, payload: payload as unknown as JsonValue, ...options };
}

/**
 * A backend's queue (payloads as JSON) seen with the declared payload type:
 * the JSON parse boundary of jobs, for both store implementations.
 */
export function typedQueue<P>(queue: Queue): Queue<P> {
  return queue as unknown as Queue<P>;
}
