/**
 * What queue workers do with the jobs they finish — a retry scheduled, a job
 * gone dead — for metrics. Listeners are keyed by the store the worker uses,
 * so several gateways in one process (tests) each hear only their own queues.
 * Nothing here is durable; the queue itself is.
 */
export type QueueOutcomeKind = 'retry' | 'dead';

export type QueueOutcomeListener = (queue: string, kind: QueueOutcomeKind) => void;

const listeners = new WeakMap<object, Set<QueueOutcomeListener>>();

/** Called by the queue worker; never throws (a broken listener must not break delivery). */
export function reportQueueOutcome(store: object, queue: string, kind: QueueOutcomeKind): void {
  const set = listeners.get(store);
  if (!set) return;
  for (const listener of set) {
    try {
      listener(queue, kind);
    } catch {
      // metrics are best effort
    }
  }
}

/** Hears the outcomes of every worker on `store`; returns the unsubscribe. */
export function onQueueOutcome(store: object, listener: QueueOutcomeListener): () => void {
  let set = listeners.get(store);
  if (!set) listeners.set(store, (set = new Set()));
  set.add(listener);
  return () => void set.delete(listener);
}
