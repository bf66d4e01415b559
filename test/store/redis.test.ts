import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore } from '../../src/store/index.js';
import { RedisStore, type RedisStoreOptions } from '../../src/store/redis-store.js';
import type { Job } from '../../src/store/types.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { storeContract } from './contract.js';
import { FakeClock } from './fake-clock.js';
import { BLOB_DEFLATE, BLOB_RAW, CorruptBlobError, DEFLATE_MARK } from '../../src/store/redis-value.js';

let server: RedisTestServer;
let prefixes = 0;

beforeAll(async () => {
  server = await startRedisServer();
});

afterAll(async () => {
  await server?.dispose();
});

/** Every store gets its own key prefix, so tests on one server never see each other's data. */
function nextPrefix(): string {
  prefixes += 1;
  return `okno-test-${prefixes}:`;
}

storeContract('redis', async (options) => {
  const clock = new FakeClock();
  const store = new RedisStore(server.url, { ...options, clock, keyPrefix: nextPrefix() });
  await store.ping();
  return { store, clock, cleanup: () => store.close() };
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Real time, not the fake clock: waits for the client to reconnect by itself. */
async function eventually(check: () => Promise<unknown>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(25);
    }
  }
}

describe('redis store specifics', () => {
  const opened: { close(): Promise<void> }[] = [];
  const servers: RedisTestServer[] = [];

  function open(url: string, options: RedisStoreOptions = {}): RedisStore {
    const store = new RedisStore(url, { keyPrefix: nextPrefix(), ...options });
    opened.push(store);
    return store;
  }

  async function ownServer(appendonly = true): Promise<RedisTestServer> {
    const s = await startRedisServer({ appendonly });
    servers.push(s);
    return s;
  }

  afterAll(async () => {
    for (const store of opened) await store.close();
    for (const s of servers) await s.dispose();
  });

  it('the test helper refuses to run without redis-server and says how to install it', async () => {
    const saved = { PATH: process.env.PATH, REDIS_SERVER_BIN: process.env.REDIS_SERVER_BIN };
    process.env.PATH = '/nonexistent';
    delete process.env.REDIS_SERVER_BIN;
    try {
      await expect(startRedisServer()).rejects.toThrow(/apt-get install redis-server/);
    } finally {
      process.env.PATH = saved.PATH;
      if (saved.REDIS_SERVER_BIN !== undefined) process.env.REDIS_SERVER_BIN = saved.REDIS_SERVER_BIN;
    }
  });

  it('reports version, AOF and fsync policy; durable only with AOF', async () => {
    const store = open(server.url);
    const info = await store.info();
    expect(info).toMatchObject({ kind: 'redis', durable: true });
    expect(info.detail).toMatch(/^redis 7\.\d+\.\d+, aof=yes, fsync=always$/);

    const volatileServer = await ownServer(false);
    const volatile = open(volatileServer.url);
    expect(await volatile.info()).toMatchObject({ durable: false, detail: expect.stringContaining('aof=no') });
  });

  it('keeps every key under its prefix and apart from other prefixes', async () => {
    const clock = new FakeClock();
    const a = open(server.url, { clock, keyPrefix: 'iso-a:' });
    const b = open(server.url, { clock, keyPrefix: 'iso-b:' });
    await a.commit({
      idempotency: { key: 'm1', record: { digest: 'd', result: null, createdAt: 1 } },
      docs: [{ collection: 'apps', id: 'x', value: 1 }],
      feeds: [{ feed: 'inbox', id: 'x' }],
      jobs: [{ queue: 'q', id: 'j', payload: null, group: 'g' }],
    });
    const job = await a.queue('q').reserve({ leaseMs: 1000 });
    expect(job?.id).toBe('j');
    expect(await b.getDoc('apps', 'x')).toBeNull();
    expect(await b.getIdempotency('m1')).toBeNull();
    expect(await b.readFeed('inbox', 0, 10)).toEqual([]);
    expect(await b.queue('q').reserve({ leaseMs: 1000 })).toBeNull();

    const raw = new Redis(server.url);
    try {
      const keys = await raw.keys('*iso-*');
      expect(keys.length).toBeGreaterThan(5);
      for (const key of keys) expect(key.startsWith('iso-a:')).toBe(true);
    } finally {
      raw.disconnect();
    }
  });

  it('reloads its scripts after SCRIPT FLUSH', async () => {
    const store = open(server.url, { clock: new FakeClock() });
    const q = store.queue('q');
    await q.enqueue({ id: 'a', payload: null });
    const raw = new Redis(server.url);
    try {
      await raw.script('FLUSH');
    } finally {
      raw.disconnect();
    }
    await q.enqueue({ id: 'b', payload: null });
    expect((await q.reserve({ leaseMs: 1000 }))?.id).toBe('a');
  });

  it('works on a caller-provided ioredis client and leaves it open on close', async () => {
    const client = new Redis(server.url);
    try {
      const store = new RedisStore(client, { keyPrefix: nextPrefix(), clock: new FakeClock() });
      await store.commit({ docs: [{ collection: 'apps', id: 'x', value: { ok: true } }] });
      expect(await store.getDoc('apps', 'x')).toEqual({ ok: true });
      await store.close();
      await expect(store.getDoc('apps', 'x')).rejects.toThrow(/closed/);
      expect(await client.ping()).toBe('PONG');
      expect(() => new RedisStore(new Redis(server.url, { lazyConnect: true, keyPrefix: 'x:' }))).toThrow(/keyPrefix/);
    } finally {
      client.disconnect();
    }
  });

  it('createStore connects to Redis when a URL is given', async () => {
    const store = await createStore({ redisUrl: server.url, keyPrefix: nextPrefix(), keepDone: 5 });
    opened.push(store);
    expect(store.kind).toBe('redis');
    expect(store).toBeInstanceOf(RedisStore);
  });

  it('createStore fails fast when Redis is not reachable', async () => {
    const gone = await ownServer();
    await gone.stop();
    const started = Date.now();
    await expect(createStore({ redisUrl: gone.url })).rejects.toThrow(/cannot connect to Redis/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('two stores on one Redis (two gateway processes) never hand out the same job', async () => {
    const clock = new FakeClock();
    const keyPrefix = nextPrefix();
    const a = open(server.url, { clock, keyPrefix });
    const b = open(server.url, { clock, keyPrefix });
    const total = 60;
    for (let i = 0; i < total; i++) {
      await (i % 2 ? a : b).queue('deliveries').enqueue({ id: `j${i}`, payload: i, group: i < 10 ? 'ordered' : undefined });
    }
    const got: Job[] = [];
    // Workers of both processes reserve, ack and reserve again until nothing is left.
    const worker = async (store: RedisStore) => {
      const q = store.queue('deliveries');
      for (let job = await q.reserve({ leaseMs: 60_000 }); job; job = await q.reserve({ leaseMs: 60_000 })) {
        got.push(job);
        expect(await q.ack(job.id, job.leaseToken ?? '')).toBe(true);
      }
    };
    await Promise.all([...Array.from({ length: 8 }, () => worker(a)), ...Array.from({ length: 8 }, () => worker(b))]);
    // Some workers may stop early while the 'ordered' group is still busy: drain what is left.
    await worker(a);
    const ids = got.map((j) => j.id);
    expect(ids).toHaveLength(total);
    expect(new Set(ids).size).toBe(total);
    const ordered = ids.filter((id) => Number(id.slice(1)) < 10);
    expect(ordered).toEqual(Array.from({ length: 10 }, (_, i) => `j${i}`));
    expect(await a.queue('deliveries').stats()).toMatchObject({ pending: 0, inflight: 0, waiting: 0, done: total });
  });

  describe('when Redis goes away', () => {
    it('keeps everything acknowledged across a crash (AOF), and the in-flight job comes back after its lease', async () => {
      const own = await ownServer(true);
      const clock = new FakeClock();
      const keyPrefix = nextPrefix();
      const store = open(own.url, { clock, keyPrefix });
      const q = store.queue('deliveries');
      const result = await store.commit({
        idempotency: { key: 'msg-1', record: { digest: 'd1', result: { reply: 'ok' }, createdAt: clock.now() } },
        docs: [{ collection: 'inbox', id: 'm1', value: { body: 'hello' } }],
        feeds: [{ feed: 'inbox', id: 'm1' }],
        jobs: [
          { queue: 'deliveries', id: 'd1', payload: { n: 1 }, group: 'app' },
          { queue: 'deliveries', id: 'd2', payload: { n: 2 }, group: 'app' },
        ],
      });
      expect(result).toEqual({ applied: true, seqs: [1] });
      await q.enqueue({ id: 'later', payload: null, availableAt: clock.now() + 60_000 });
      const leased = await q.reserve({ leaseMs: 30_000 });
      expect(leased?.id).toBe('d1');

      await own.stop('SIGKILL');
      await own.restart();
      await eventually(() => store.ping());

      expect(await store.getIdempotency('msg-1')).toEqual({ digest: 'd1', result: { reply: 'ok' }, createdAt: clock.now() });
      expect(await store.getDoc('inbox', 'm1')).toEqual({ body: 'hello' });
      expect(await store.readFeed('inbox', 0, 10)).toEqual([{ seq: 1, id: 'm1' }]);
      expect(await q.get('d1')).toMatchObject({ state: 'inflight', leaseToken: leased?.leaseToken });
      expect((await q.get('d2'))?.state).toBe('waiting');
      expect((await q.get('later'))?.state).toBe('pending');
      // A duplicate is still recognised after the restart.
      expect(
        await store.commit({ idempotency: { key: 'msg-1', record: { digest: 'd1', result: null, createdAt: 0 } } }),
      ).toMatchObject({ applied: false });

      // A fresh process (new store, same Redis) retries the crashed consumer's job once its lease ends.
      const other = open(own.url, { clock, keyPrefix });
      const oq = other.queue('deliveries');
      expect(await oq.reserve({ leaseMs: 30_000 })).toBeNull();
      clock.advance(30_000);
      const again = await oq.reserve({ leaseMs: 30_000 });
      expect(again).toMatchObject({ id: 'd1', attempts: 2 });
      expect(await q.ack('d1', leased?.leaseToken ?? '')).toBe(false);
      expect(await oq.ack('d1', again?.leaseToken ?? '')).toBe(true);
      expect((await oq.reserve({ leaseMs: 30_000 }))?.id).toBe('d2');
    });

    it('rejects calls at once while Redis is down and recovers by itself', async () => {
      const own = await ownServer(true);
      const clock = new FakeClock();
      const store = open(own.url, { clock });
      await store.commit({ docs: [{ collection: 'apps', id: 'a', value: 1 }] });

      await own.stop('SIGKILL');
      const calls: (() => Promise<unknown>)[] = [
        () => store.ping(),
        () => store.getDoc('apps', 'a'),
        () => store.commit({ docs: [{ collection: 'apps', id: 'b', value: 2 }] }),
        () => store.queue('q').reserve({ leaseMs: 1000 }),
        () => store.readFeed('inbox', 0, 10),
      ];
      for (const call of calls) {
        const started = Date.now();
        await expect(call()).rejects.toThrow();
        expect(Date.now() - started).toBeLessThan(2000);
      }

      await own.restart();
      await eventually(() => store.ping());
      // Same store object: scripts are reloaded (the restarted server has none cached).
      expect(await store.commit({ docs: [{ collection: 'apps', id: 'b', value: 2 }] })).toEqual({ applied: true, seqs: [] });
      expect(await store.getDoc('apps', 'a')).toBe(1);
      expect(await store.getDoc('apps', 'b')).toBe(2);
      await store.queue('q').enqueue({ id: 'j', payload: null });
      expect((await store.queue('q').reserve({ leaseMs: 1000 }))?.id).toBe('j');
    });
  });
});

describe('redis store: a feed after a failover lost its last commits', () => {
  it('atLeastNow: entries committed after the loss do not take the lost entries\' seqs, so a reader past them skips nothing', async () => {
    const prefix = nextPrefix();
    const clock = new FakeClock();
    const store = new RedisStore(server.url, { keyPrefix: prefix, clock });
    const client = new Redis(server.url);
    try {
      for (const id of ['a', 'b', 'c']) await store.commit({ feeds: [{ feed: 'inbox', id, atLeastNow: true }] });
      const seen = await store.readFeed('inbox', 0, 10);
      const cursor = seen[seen.length - 1]!.seq; // a reader saw c, on the old primary
      // The failover lost b and c (never replicated): the promoted replica has a, and the counter at a.
      await client.zremrangebyscore(`${prefix}feed:inbox`, seen[1]!.seq, '+inf');
      await client.set(`${prefix}feed:inbox:seq`, String(seen[0]!.seq));
      clock.advance(2_000); // a failover takes seconds
      await store.commit({ feeds: [{ feed: 'inbox', id: 'd', atLeastNow: true }] });
      expect(await store.readFeed('inbox', cursor, 10)).toEqual([{ seq: clock.now(), id: 'd' }]);
      // Without atLeastNow the counter alone hands out a lost seq again: what the reader would skip.
      await client.set(`${prefix}feed:plain:seq`, '1');
      await store.commit({ feeds: [{ feed: 'plain', id: 'x' }] });
      expect((await store.readFeed('plain', 0, 10))[0]!.seq).toBe(2);
    } finally {
      await client.quit();
      await store.close();
    }
  });
});

describe('redis store: how values sit in Redis (issue 26 point 1)', () => {
  it('a large document is stored compressed, a short one as JSON; a plain JSON value an older build wrote reads back', async () => {
    const prefix = nextPrefix();
    const store = new RedisStore(server.url, { keyPrefix: prefix });
    const client = new Redis(server.url);
    try {
      const big = { items: Array.from({ length: 300 }, (_, i) => ({ id: i, name: `заявитель ${i}`, ok: i % 2 === 0 })) };
      await store.commit({ docs: [{ collection: 'apps', id: 'big', value: big }, { collection: 'apps', id: 'small', value: { a: 1 } }] });
      const raw = (await client.getBuffer(`${prefix}doc:apps:big`))!;
      const json = Buffer.byteLength(JSON.stringify(big));
      expect(raw[0]).toBe(DEFLATE_MARK);
      expect(raw.length).toBeLessThan(json / 3);
      expect(await client.get(`${prefix}doc:apps:small`)).toBe('{"a":1}');
      expect(await store.getDoc('apps', 'big')).toEqual(big);
      // As an older build left it: plain JSON, however long.
      await client.set(`${prefix}doc:apps:old`, JSON.stringify(big));
      await client.set(`${prefix}idem:old`, JSON.stringify({ digest: 'd', result: { reply: 'x'.repeat(5000) }, createdAt: 1 }));
      expect(await store.getDoc('apps', 'old')).toEqual(big);
      expect((await store.getIdempotency('old'))!.result).toEqual({ reply: 'x'.repeat(5000) });
    } finally {
      await client.quit();
      await store.close();
    }
  });

  it('a blob is its bytes behind one header byte; one changed by hand so it no longer inflates is a CorruptBlobError, not garbage', async () => {
    const prefix = nextPrefix();
    const store = new RedisStore(server.url, { keyPrefix: prefix });
    const client = new Redis(server.url);
    try {
      const envelope = Buffer.from(`<s:Envelope>${'<Item>значение</Item>'.repeat(500)}</s:Envelope>`);
      const noise = Buffer.from(Array.from({ length: 2000 }, (_, i) => (i * 7919) % 251));
      await store.commit({ blobs: [{ collection: 'evidence', id: 'e', bytes: envelope }, { collection: 'evidence', id: 'n', bytes: noise }, { collection: 'evidence', id: 's', bytes: Buffer.from('<a/>') }] });
      const stored = (await client.getBuffer(`${prefix}blob:evidence:e`))!;
      expect(stored[0]).toBe(BLOB_DEFLATE);
      expect(stored.length).toBeLessThan(envelope.length / 5);
      expect((await client.getBuffer(`${prefix}blob:evidence:s`))!.equals(Buffer.concat([Buffer.of(BLOB_RAW), Buffer.from('<a/>')]))).toBe(true);
      // Bytes that do not compress are kept raw, never larger than they are plus the header.
      expect((await client.getBuffer(`${prefix}blob:evidence:n`))!.length).toBeLessThanOrEqual(noise.length + 1);
      expect((await store.getBlob('evidence', 'n'))!.equals(noise)).toBe(true);
      const broken = Buffer.from(stored);
      broken.fill(0xff, 1, 40);
      await client.set(`${prefix}blob:evidence:e`, broken);
      await expect(store.getBlob('evidence', 'e')).rejects.toBeInstanceOf(CorruptBlobError);
      await client.set(`${prefix}blob:evidence:e`, Buffer.from('?plain'));
      await expect(store.getBlob('evidence', 'e')).rejects.toThrow(/unknown header byte 0x3f/);
    } finally {
      await client.quit();
      await store.close();
    }
  });
});
