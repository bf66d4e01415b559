/**
 * The city webhook (CITY_WEBHOOK_URL) through real HTTP: a loopback server
 * plays the city's system. Every inbox item is POSTed there at least once,
 * with Idempotency-Key = the item id, and retried with backoff until the city
 * answers 2xx — also when the city was down when the item arrived.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { readInbox, submitApplication, type PagedItem } from '../helpers/city.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/net.js';
import { postSoap, signedSendRequest } from '../helpers/smev.js';

interface Delivery {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
  at: number;
}

/** The city's system: records every request and answers with the status `answer` picks. */
class CityServer {
  readonly received: Delivery[] = [];
  private server: Server | null = null;
  private waiters: Array<() => void> = [];

  constructor(
    readonly port: number,
    private readonly answer: (n: number, d: Omit<Delivery, 'status'>) => number = () => 200,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/okno/inbox`;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const d = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
        const status = this.answer(this.received.length + 1, d);
        this.received.push({ ...d, status });
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'try later');
        for (const w of this.waiters.splice(0)) w();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Waits until `done()` holds (checked after each request), or fails after `ms`. */
  async until(done: () => boolean, ms: number, what: string): Promise<void> {
    const deadline = Date.now() + ms;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for ${what}; received ${this.received.length}: ${this.received.map((r) => r.status).join(',')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  delivered(): Delivery[] {
    return this.received.filter((r) => r.status >= 200 && r.status < 300);
  }
}

/** The inbox item as the API shows it, without the feed position (which is not part of the item). */
function withoutCursor(item: PagedItem): Record<string, unknown> {
  const { cursor: _cursor, ...rest } = item;
  return rest;
}

describe('city webhook', () => {
  let gw: RunningGateway | null = null;
  let city: CityServer | null = null;
  afterEach(async () => {
    await gw?.close();
    await city?.stop();
    gw = null;
    city = null;
  });

  it('POSTs each accepted item as JSON equal to the inbox item, with Idempotency-Key = the item id', async () => {
    city = new CityServer(await freePort());
    await city.start();
    gw = await startGateway({ CITY_WEBHOOK_URL: city.url });

    const first = await submitApplication(gw, 'advertising-permit');
    const second = await submitApplication(gw, 'kindergarten-enrollment');
    await city.until(() => city!.received.length >= 2, 10_000, 'two deliveries');

    const inbox = await readInbox(gw.url);
    expect(inbox.items.map((i) => i.messageId)).toEqual([first, second]);
    expect(city.received).toHaveLength(2);
    const byKey = new Map(city.received.map((r) => [r.headers['idempotency-key'], r]));
    for (const item of inbox.items) {
      const delivery = byKey.get(item.id);
      expect(delivery, `no delivery for ${item.id}`).toBeDefined();
      expect(delivery!.method).toBe('POST');
      expect(delivery!.url).toBe('/okno/inbox');
      expect(delivery!.headers['content-type']).toBe('application/json');
      expect(JSON.parse(delivery!.body)).toEqual(withoutCursor(item));
    }

    // Delivered once and not again: the job is done after a 2xx.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(city.received).toHaveLength(2);
    // The webhook does not acknowledge on the city's behalf.
    expect((await readInbox(gw.url)).items.map((i) => i.ackedAt)).toEqual([null, null]);
  });

  it('retries after 503, 503 and delivers on the 200, always under the same Idempotency-Key and body', async () => {
    city = new CityServer(await freePort(), (n) => (n <= 2 ? 503 : 200));
    await city.start();
    gw = await startGateway({ CITY_WEBHOOK_URL: city.url });

    const submittedAt = Date.now();
    const messageId = await submitApplication(gw);
    // Backoff: up to 1 s, then up to 2 s (full jitter); 15 s leaves room for a slow machine.
    await city.until(() => city!.delivered().length >= 1, 15_000, 'the delivery after two 503s');

    const [item] = (await readInbox(gw.url)).items;
    expect(item!.messageId).toBe(messageId);
    expect(city.received.map((r) => r.status)).toEqual([503, 503, 200]);
    expect(new Set(city.received.map((r) => r.headers['idempotency-key']))).toEqual(new Set([item!.id]));
    expect(new Set(city.received.map((r) => r.body)).size).toBe(1);
    expect(JSON.parse(city.received[2]!.body)).toEqual(withoutCursor(item!));
    // Retries wait (backoff), they do not hammer: the whole thing took at most 1 s + 2 s of backoff plus slack.
    expect(city.received[2]!.at - submittedAt).toBeLessThan(15_000);

    await new Promise((r) => setTimeout(r, 1_000));
    expect(city.received).toHaveLength(3);
    expect(gw.logs.some((l) => l.level === 'warn' && /dead/.test(String(l.msg)))).toBe(false);
  });

  it('several items, some refused at first: each is delivered under its own key, never one item under two keys', async () => {
    const refusedOnce = new Set<string>();
    city = new CityServer(await freePort(), (_n, d) => {
      const key = String(d.headers['idempotency-key']);
      if (refusedOnce.has(key)) return 200;
      refusedOnce.add(key);
      return 500;
    });
    await city.start();
    gw = await startGateway({ CITY_WEBHOOK_URL: city.url });

    for (let i = 0; i < 4; i++) await submitApplication(gw);
    await city.until(() => city!.delivered().length >= 4, 15_000, 'four deliveries');

    const items = (await readInbox(gw.url)).items;
    expect(items).toHaveLength(4);
    const keysByMessage = new Map<string, Set<string>>();
    for (const r of city.received) {
      const body = JSON.parse(r.body) as { id: string; messageId: string };
      expect(r.headers['idempotency-key']).toBe(body.id);
      const keys = keysByMessage.get(body.messageId) ?? new Set<string>();
      keys.add(body.id);
      keysByMessage.set(body.messageId, keys);
    }
    expect([...keysByMessage.keys()].sort()).toEqual(items.map((i) => i.messageId).sort());
    for (const item of items) expect([...keysByMessage.get(item.messageId)!]).toEqual([item.id]);
    expect(city.delivered().map((r) => r.headers['idempotency-key']).sort()).toEqual(items.map((i) => i.id).sort());
    expect(city.received).toHaveLength(8);
  });

  it('a duplicate SendRequest (same MessageID, same content) is not delivered a second time', async () => {
    city = new CityServer(await freePort());
    await city.start();
    gw = await startGateway({ CITY_WEBHOOK_URL: city.url });
    const { xml } = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'dwelling-replanning' });
    expect((await postSoap(gw.url, xml)).status).toBe(200);
    expect((await postSoap(gw.url, xml)).status).toBe(200);
    await city.until(() => city!.received.length >= 1, 10_000, 'one delivery');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(city.received).toHaveLength(1);
    expect((await readInbox(gw.url)).items).toHaveLength(1);
  });

  it('with the city down when the item arrives, it is delivered once the city is up', async () => {
    const port = await freePort();
    city = new CityServer(port);
    gw = await startGateway({ CITY_WEBHOOK_URL: city.url });

    const messageId = await submitApplication(gw);
    // Let the worker try (and fail to connect) at least once.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(city.received).toHaveLength(0);
    expect((await readInbox(gw.url)).items.map((i) => i.messageId)).toEqual([messageId]);

    await city.start();
    await city.until(() => city!.received.length >= 1, 15_000, 'the delivery after the city came up');
    const [item] = (await readInbox(gw.url)).items;
    expect(city.received).toHaveLength(1);
    expect(city.received[0]!.headers['idempotency-key']).toBe(item!.id);
    expect(JSON.parse(city.received[0]!.body)).toEqual(withoutCursor(item!));
  });

  it('without CITY_WEBHOOK_URL nothing is pushed (the city pages the inbox instead)', async () => {
    city = new CityServer(await freePort());
    await city.start();
    gw = await startGateway();
    await submitApplication(gw);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(city.received).toHaveLength(0);
    expect((await readInbox(gw.url)).items).toHaveLength(1);
  });
});
