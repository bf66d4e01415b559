/**
 * Redis Sentinel with real processes on loopback: a primary, a replica and
 * three sentinels (test/helpers/redis-sentinel.ts). The gateway finds the
 * primary through the sentinels (REDIS_SENTINELS, REDIS_SENTINEL_NAME), /ready
 * names it, and after the primary is killed (-9) and a sentinel promotes the
 * replica the same gateway accepts applications again, with no restart, and
 * /ready names the new primary. An application accepted (and replicated:
 * WAIT 1) before the kill is still in the inbox. Sentinels that cannot be
 * reached stop start-up with one line naming REDIS_SENTINELS (exit 78).
 * A switchover (the old primary stays up) is followed too, and WORKERS=2
 * runs on the group.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INBOX } from '../../src/city/model.js';
import { idempotencyKey } from '../../src/flows/inbound-message.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { catalogue, readInbox, until } from '../chaos/harness.js';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/net.js';
import path from 'node:path';
import { spawnGateway, startGatewayProcess, type GatewayProcess } from '../helpers/process.js';
import { issueCertificate, SAMPLE_CA_PEM, tempDir as tlsTempDir } from '../helpers/tls-pki.js';
import { startSentinelGroup, type RedisSentinelGroup } from '../helpers/redis-sentinel.js';
import { postSoap, serviceExample, signedSendRequest } from '../helpers/smev.js';

interface StoreCheck {
  name: string;
  status: string;
  detail: string;
}

async function storeCheck(url: string, name = 'store'): Promise<{ status: number; store: StoreCheck }> {
  const res = await fetch(`${url}/ready`);
  const body = (await res.json()) as { checks: StoreCheck[] };
  return { status: res.status, store: body.checks.find((c) => c.name === name)! };
}

async function sendApplication(url: string): Promise<{ status: number; messageId: string; body: string }> {
  const service = 'advertising-permit';
  const { xml, messageId } = await signedSendRequest({ catalogue, service, content: serviceExample(service) });
  const res = await postSoap(url, xml);
  return { status: res.status, messageId, body: res.body };
}

describe('Redis Sentinel', () => {
  let group: RedisSentinelGroup;
  let gw: RunningGateway;

  beforeAll(async () => {
    group = await startSentinelGroup();
    gw = await startGateway({ ...group.env });
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
    await group?.dispose();
  });

  it('starts through the sentinels, /ready names the primary, and an application is accepted', async () => {
    const primary = await group.primary();
    const ready = await storeCheck(gw.url);
    expect(ready.status).toBe(200);
    expect(ready.store.status).toBe('pass');
    expect(ready.store.detail).toContain(`sentinel group "${group.name}", primary ${primary.address} (via sentinels ${group.sentinels.map((s) => s.address).join(', ')})`);
    const sent = await sendApplication(gw.url);
    expect(sent.status, sent.body.slice(0, 300)).toBe(200);
    const inbox = await readInbox(gw.url);
    expect(inbox.some((i) => i.messageId === sent.messageId)).toBe(true);
  });

  it('REDIS_WAIT_REPLICAS=1 through the sentinels: the reply comes after the replica has the application', async () => {
    const waiting = await startGateway({ ...group.env, REDIS_WAIT_REPLICAS: '1' });
    try {
      const sent = await sendApplication(waiting.url);
      expect(sent.status, sent.body.slice(0, 300)).toBe(200);
      const primary = await group.primary();
      const replica = group.nodes.find((n) => n !== primary)!;
      // Straight after the reply, no polling: the replica must already have it.
      const onReplica = new RedisStore(`redis://127.0.0.1:${replica.port}`);
      try {
        const record = await onReplica.getIdempotency(idempotencyKey(sent.messageId));
        expect(record).not.toBeNull();
        const inboxId = (record!.result as { inboxId: string }).inboxId;
        expect(await onReplica.getDoc(INBOX, inboxId)).toMatchObject({ messageId: sent.messageId });
      } finally {
        await onReplica.close();
      }
    } finally {
      await waiting.close();
    }
  });

  it('WORKERS=2 (node dist/main.js): both worker processes and their large-message threads reach the primary through the sentinels', async () => {
    const proc = await startGatewayProcess({ ...group.env, WORKERS: '2', PORT: String(await freePort()) }, 60_000);
    try {
      const primary = await group.primary();
      const ready = await until('/ready', () => storeCheck(proc.url), (r) => r.status === 200, 15_000);
      expect(ready.store.detail).toContain(`primary ${primary.address} `);
      // Each thread has its own store connection, made through the sentinels: "ready" only after it answered.
      await until('both large-message threads ready', () => storeCheck(proc.url, 'largeMessages'), (r) => r.store?.detail.startsWith('2 of 2 large-message thread(s) ready') === true, 15_000);
      for (let i = 0; i < 4; i++) {
        const sent = await sendApplication(proc.url);
        expect(sent.status, sent.body.slice(0, 300)).toBe(200);
      }
    } finally {
      proc.child.kill('SIGTERM');
      await proc.exited;
    }
  }, 30_000);

  it('a switchover (SENTINEL FAILOVER: the old primary stays up, demoted to a replica): the gateway follows to the new primary', async () => {
    const old = await group.primary();
    const sentinel = group.client(group.sentinels[0]!);
    try {
      expect(await sentinel.call('SENTINEL', 'FAILOVER', group.name)).toBe('OK');
    } finally {
      sentinel.disconnect();
    }
    const promoted = await group.waitForNewPrimary(old);
    const after = await until('an application accepted after the switchover', () => sendApplication(gw.url), (r) => r.status === 200, 30_000);
    await until('/ready names the new primary', () => storeCheck(gw.url), (r) => r.status === 200 && r.store.detail.includes(`primary ${promoted.address} `), 10_000);
    // The log says so once (though each of the three sentinels announces it), naming the new primary.
    const changes = gw.logs.filter((l) => l.primary === promoted.address && /^Redis Sentinel: the primary is now/.test(String(l.msg)));
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ level: 'warn', sentinelGroup: group.name });
    // Accepted: stored on the new primary (the demoted one refuses writes), and the inbox shows it.
    expect((await readInbox(gw.url)).some((i) => i.messageId === after.messageId)).toBe(true);
  }, 60_000);

  it('after kill -9 of the primary and a failover, accepts applications again without a restart; /ready names the new primary', async () => {
    const before = await sendApplication(gw.url);
    expect(before.status, before.body.slice(0, 300)).toBe(200);
    const old = await group.primary();
    // The write reached the replica before the kill (what REDIS_WAIT_REPLICAS will do for every reply).
    const direct = group.client(old);
    try {
      // (After the switchover above the replica may still be syncing: ask again until it has it.)
      await until('the replica has the write (WAIT 1)', () => direct.call('WAIT', '1', '1000'), (n) => n === 1, 20_000);
    } finally {
      direct.disconnect();
    }

    const killedAt = Date.now();
    await old.stop('SIGKILL');
    const promoted = await group.waitForNewPrimary(old);
    const promotedAt = Date.now();
    expect(promoted.port).not.toBe(old.port);

    // The same gateway: its store reconnects through the sentinels by itself.
    const after = await until('an application accepted after the failover', () => sendApplication(gw.url), (r) => r.status === 200, 30_000);
    const acceptedAt = Date.now();
    const ready = await until('/ready names the new primary', () => storeCheck(gw.url), (r) => r.status === 200 && r.store.detail.includes(`primary ${promoted.address} `), 10_000);
    expect(ready.store.status).toBe('pass');
    expect(gw.logs.some((l) => l.primary === promoted.address && /^Redis Sentinel: the primary is now/.test(String(l.msg)))).toBe(true);
    // The killed primary's refused connections are logged, few times (at most one line per message every 10 s), no stack.
    const errors = gw.logs.filter((l) => l.msg === 'Redis connection error (the client reconnects by itself; /ready shows the store)');
    expect(errors.length).toBeLessThan(10);

    const inbox = await readInbox(gw.url);
    const ids = inbox.map((i) => i.messageId);
    expect(ids).toContain(before.messageId);
    expect(ids).toContain(after.messageId);
    expect(ids.filter((id) => id === before.messageId)).toHaveLength(1);
    console.log(`[sentinel] failover: promoted ${promoted.address} ${promotedAt - killedAt} ms after kill -9 of ${old.address}; first application accepted again after ${acceptedAt - killedAt} ms`);
  }, 60_000);
});

describe('Redis Sentinel with passwords (REDIS_SENTINEL_PASSWORD, REDIS_PASSWORD)', () => {
  let group: RedisSentinelGroup;
  beforeAll(async () => {
    group = await startSentinelGroup({ password: 'node-secret-1', sentinelPassword: 'sentinel-secret-1' });
  }, 60_000);
  afterAll(async () => {
    await group?.dispose();
  });

  it('starts with both passwords and accepts an application', async () => {
    const gw = await startGateway({ ...group.env });
    try {
      const ready = await storeCheck(gw.url);
      expect(ready.store.detail).toContain(`primary ${(await group.primary()).address} `);
      const sent = await sendApplication(gw.url);
      expect(sent.status, sent.body.slice(0, 300)).toBe(200);
    } finally {
      await gw.close();
    }
  });

  it('a wrong sentinel password or node password stops start-up (exit 78, one line)', async () => {
    const wrongSentinel = spawnGateway({ ...group.env, REDIS_SENTINEL_PASSWORD: 'wrong', PORT: '0' });
    const wrongNode = spawnGateway({ ...group.env, REDIS_PASSWORD: 'wrong', PORT: '0' });
    expect(await wrongSentinel.exited).toBe(78);
    expect(await wrongNode.exited).toBe(78);
    expect(wrongSentinel.stderr().trim().split('\n')).toEqual([expect.stringMatching(/^okno: REDIS_SENTINELS: cannot connect to Redis Sentinel group "mymaster" .*(WRONGPASS|invalid password)/)]);
    expect(wrongNode.stderr().trim().split('\n')).toEqual([expect.stringMatching(/^okno: REDIS_SENTINELS: cannot connect to Redis Sentinel group "mymaster" .*(WRONGPASS|invalid password)/)]);
  }, 30_000);
});

describe('Redis Sentinel settings at start-up', () => {
  it('sentinels that cannot be reached: exit 78, one line naming REDIS_SENTINELS', async () => {
    const [a, b] = [await freePort(), await freePort()];
    const proc = spawnGateway({ REDIS_SENTINELS: `127.0.0.1:${a},[::1]:${b}`, REDIS_SENTINEL_NAME: 'mymaster', PORT: '0' });
    expect(await proc.exited).toBe(78);
    const lines = proc.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^okno: REDIS_SENTINELS: cannot connect to Redis Sentinel group "mymaster" \(via sentinels 127\.0\.0\.1:\d+, \[::1\]:\d+\): All sentinels are unreachable/);
  }, 30_000);

  it('REDIS_URL and REDIS_SENTINELS together: exit 78, one line naming both', async () => {
    const proc = spawnGateway({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_SENTINELS: '127.0.0.1:26379', REDIS_SENTINEL_NAME: 'mymaster', PORT: '0' });
    expect(await proc.exited).toBe(78);
    const lines = proc.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/REDIS_SENTINELS: REDIS_URL is set too/);
  });
});

describe('Redis Sentinel over TLS (REDIS_SENTINEL_TLS=on)', () => {
  let group: RedisSentinelGroup;
  let gw: GatewayProcess | null = null;
  const caFile = path.join(projectRoot, 'certs-sample/ca.crt.pem');
  beforeAll(async () => {
    // Every node and sentinel TLS only (port 0), with a server certificate for 127.0.0.1 from the sample CA.
    const server = issueCertificate(tlsTempDir('okno-redis-tls-'), { cn: 'redis-test', loopback: true });
    group = await startSentinelGroup({ tls: { certFile: server.certFile, keyFile: server.keyFile, caFile, caPem: SAMPLE_CA_PEM() } });
  }, 60_000);
  afterAll(async () => {
    if (gw && gw.child.exitCode === null) {
      gw.child.kill('SIGTERM');
      await gw.exited;
    }
    await group?.dispose();
  });

  it('the gateway reaches the sentinels and the primary over TLS (the CA from NODE_EXTRA_CA_CERTS), accepts, and follows a kill -9 failover', async () => {
    expect(group.env).toMatchObject({ REDIS_SENTINEL_TLS: 'on', NODE_EXTRA_CA_CERTS: caFile });
    gw = await startGatewayProcess({ ...group.env, PORT: String(await freePort()) }, 60_000);
    const primary = await group.primary();
    const ready = await until('/ready', () => storeCheck(gw!.url), (r) => r.status === 200, 15_000);
    expect(ready.store.detail).toContain(`primary ${primary.address} `);
    const before = await sendApplication(gw.url);
    expect(before.status, before.body.slice(0, 300)).toBe(200);

    await primary.stop('SIGKILL');
    const promoted = await group.waitForNewPrimary(primary);
    await until('an application accepted after the failover', () => sendApplication(gw!.url), (r) => r.status === 200, 30_000);
    await until('/ready names the new primary', () => storeCheck(gw!.url), (r) => r.status === 200 && r.store.detail.includes(`primary ${promoted.address} `), 10_000);
    expect((await readInbox(gw.url)).some((i) => i.messageId === before.messageId)).toBe(true);
  }, 90_000);

  it('without REDIS_SENTINEL_TLS, or without trusting the CA: exit 78, one line naming REDIS_SENTINELS', async () => {
    const { REDIS_SENTINEL_TLS: _tls, ...plain } = group.env;
    const { NODE_EXTRA_CA_CERTS: _ca, ...untrusted } = group.env;
    const noTls = spawnGateway({ ...plain, PORT: '0' });
    const noCa = spawnGateway({ ...untrusted, PORT: '0' });
    expect(await noTls.exited).toBe(78);
    expect(await noCa.exited).toBe(78);
    expect(noTls.stderr().trim().split('\n')).toEqual([expect.stringMatching(/^okno: REDIS_SENTINELS: cannot connect to Redis Sentinel group "mymaster"/)]);
    expect(noCa.stderr().trim().split('\n')).toEqual([expect.stringMatching(/^okno: REDIS_SENTINELS: cannot connect to Redis Sentinel group "mymaster"/)]);
  }, 60_000);
});
