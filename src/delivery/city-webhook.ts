/**
 * Pushes inbox items to the city system (CITY_WEBHOOK_URL): at least once,
 * Idempotency-Key = the item id, retried with backoff until the city answers
 * 2xx. The job was enqueued in the same commit as the item itself.
 *
 * Events about an item that came later carry `X-Okno-Event` and a body
 * `{ event, inboxId, messageId, applicationId, files }` (Idempotency-Key
 * `<item id>:<event>`): `attachments.ready` when every file of the exchange's
 * file store is stored, `attachments.failed` when some failed for good
 * (src/flows/exchange-files.ts). A plain item carries `X-Okno-Event: inbox.item`.
 */
import { readInboxItem } from '../city/inbox-items.js';
import type { FlowContext } from '../flows/context.js';
import { WEBHOOK_QUEUE } from '../flows/context.js';
import { startQueueWorker, type QueueWorker } from './queue-worker.js';
import { FILE_STATE_COLLECTION, withFileStates } from '../flows/exchange-files.js';

export function startCityWebhook(ctx: FlowContext, url: string, timeoutMs = 10_000): QueueWorker {
  return startQueueWorker({
    store: ctx.store,
    queue: WEBHOOK_QUEUE,
    logger: ctx.logger,
    concurrency: 2,
    async handle(job) {
      const { inboxId, event } = job.payload;
      const item = await readInboxItem(ctx.store, inboxId);
      if (!item) return { kind: 'dead', error: `inbox item ${inboxId} is gone` };
      let body: unknown = await withFileStates(ctx.store, item);
      if (event) {
        const states = await ctx.store.getDoc(FILE_STATE_COLLECTION, inboxId);
        body = { event, inboxId, messageId: states?.messageId ?? null, applicationId: states?.applicationId ?? null, files: states?.files ?? [] };
      }
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': event ? `${inboxId}:${event}` : inboxId, 'x-okno-event': event ?? 'inbox.item' },
          body: JSON.stringify(body),
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
