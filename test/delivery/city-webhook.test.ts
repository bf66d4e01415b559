/** src/delivery/city-webhook.ts: inbox items pushed to the city's system, at least once, with the item id as Idempotency-Key, against a loopback receiver. */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startCityWebhook } from '../../src/delivery/city-webhook.js';
import type { QueueWorker } from '../../src/delivery/queue-worker.js';
import { WEBHOOK_QUEUE } from '../../src/flows/context.js';
import { eventually, inboxItems, receiveApplication, testFlow, type TestFlow } from '../helpers/flow-context.js';

interface Arrival {
  headers: IncomingHttpHeaders;
  body: unknown;
}

let server: Server;
let url: string;
let arrivals: Arrival[] = [];
let answers: number[] = [];
let waiters: Array<() => void> = [];
let flow: TestFlow;
let worker: QueueWorker | null = null;

/** Resolves when the receiver has had n requests. */
const arrived = (n: number) => new Promise<void>((resolve) => {
  const check = () => (arrivals.length >= n ? (resolve(), true) : false);
  if (!check()) waiters.push(() => void check());
});

beforeAll(async () => {
  server = createServer((req, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      arrivals.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(answers.shift() ?? 204);
      res.end();
      for (const w of waiters.splice(0)) w();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/okno`;
});
afterEach(async () => {
  await worker?.stop();
  worker = null;
  arrivals = [];
  answers = [];
  await flow?.close();
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('startCityWebhook', () => {
  it('POSTs the inbox item as JSON with Idempotency-Key = its id; the job is done', async () => {
    flow = testFlow({ env: { CITY_WEBHOOK_URL: url } });
    const { ctx } = flow;
    const { applicationId } = await receiveApplication(ctx);
    const [item] = await inboxItems(ctx.store);
    worker = startCityWebhook(ctx, url);
    await arrived(1);
    expect(arrivals[0]!.headers['content-type']).toBe('application/json');
    expect(arrivals[0]!.headers['idempotency-key']).toBe(item!.id);
    expect(arrivals[0]!.body).toEqual(item);
    expect(arrivals[0]!.body).toMatchObject({ kind: 'application', applicationId });
    await worker.stop();
    expect((await ctx.store.queue(WEBHOOK_QUEUE).get(item!.id))?.state).toBe('done');
  });

  it('a non-2xx answer is retried later with the same key, until the city says yes', async () => {
    flow = testFlow({ env: { CITY_WEBHOOK_URL: url } });
    const { ctx } = flow;
    await receiveApplication(ctx);
    const [item] = await inboxItems(ctx.store);
    answers = [500];
    worker = startCityWebhook(ctx, url);
    await arrived(1);
    const job = await eventually('the retry', async () => {
      const j = await ctx.store.queue(WEBHOOK_QUEUE).get(item!.id);
      return j?.state === 'pending' ? j : null;
    });
    expect(job).toMatchObject({ attempts: 1, lastError: 'city webhook answered 500' });
    flow.clock.advance(10 * 60_000); // past the backoff
    await arrived(2);
    expect(arrivals.map((a) => a.headers['idempotency-key'])).toEqual([item!.id, item!.id]);
    await worker.stop();
    expect(await ctx.store.queue(WEBHOOK_QUEUE).get(item!.id)).toMatchObject({ state: 'done', attempts: 2 });
  });

  it('an unreachable city: retried, saying so', async () => {
    flow = testFlow({ env: { CITY_WEBHOOK_URL: url } });
    const { ctx } = flow;
    await receiveApplication(ctx);
    const [item] = await inboxItems(ctx.store);
    worker = startCityWebhook(ctx, 'http://127.0.0.1:1/okno');
    const job = await eventually('the retry', async () => {
      const j = await ctx.store.queue(WEBHOOK_QUEUE).get(item!.id);
      return j?.state === 'pending' && j.attempts === 1 ? j : null;
    });
    expect(job.lastError).toMatch(/^city webhook unreachable: /);
  });

  it('an item that is gone: dead at once', async () => {
    flow = testFlow({ env: { CITY_WEBHOOK_URL: url } });
    const { ctx } = flow;
    await ctx.store.queue(WEBHOOK_QUEUE).enqueue({ id: 'gone', payload: { inboxId: 'gone' } });
    worker = startCityWebhook(ctx, url);
    const job = await eventually('dead', async () => {
      const j = await ctx.store.queue(WEBHOOK_QUEUE).get('gone');
      return j?.state === 'dead' ? j : null;
    });
    expect(job.lastError).toBe('inbox item gone is gone');
    expect(arrivals).toEqual([]);
  });
});
