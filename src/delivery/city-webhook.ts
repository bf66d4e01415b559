/**
 * Pushes inbox items to the city system (CITY_WEBHOOK_URL): at least once,
 * Idempotency-Key = the item id, retried with backoff until the city answers
 * 2xx. The job was enqueued in the same commit as the item itself.
 */
import { INBOX } from '../city/model.js';
import type { FlowContext } from '../flows/context.js';
import { WEBHOOK_QUEUE } from '../flows/context.js';
import { startQueueWorker, type QueueWorker } from './queue-worker.js';

export function startCityWebhook(ctx: FlowContext, url: string, timeoutMs = 10_000): QueueWorker {
  return startQueueWorker({
    store: ctx.store,
    queue: WEBHOOK_QUEUE,
    logger: ctx.logger,
    concurrency: 2,
    async handle(job) {
      const { inboxId } = job.payload;
      const item = await ctx.store.getDoc(INBOX, inboxId);
      if (!item) return { kind: 'dead', error: `inbox item ${inboxId} is gone` };
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': inboxId },
          body: JSON.stringify(item),
          signal: AbortSignal.timeout(timeoutMs),
        });
        await res.body?.cancel();
        if (res.ok) return { kind: 'done' };
        return { kind: 'retry', error: `city webhook answered ${res.status}` };
      } catch (error) {
        return { kind: 'retry', error: `city webhook unreachable: ${(error as Error).message}` };
      }
    },
  });
}
