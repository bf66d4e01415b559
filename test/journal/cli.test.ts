/**
 * `npx okno journal verify` (the compiled CLI, as npx runs it) against the
 * Redis a real gateway journals into: exit 0 intact, 1 with the problem
 * printed after tampering, 2 for usage errors and when there is no Redis.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVIDENCE, JOURNAL } from '../../src/journal/records.js';
import type { JsonValue } from '../../src/store/types.js';
import { projectRoot } from '../helpers/gateway.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { feed, record, startJournalGateway, submit, type JournalGateway } from './helpers.js';

function okno(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [path.join(projectRoot, 'bin/okno.js'), ...args], { cwd: projectRoot, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env }, timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('okno journal verify', () => {
  let redis: RedisTestServer;
  let gw: JournalGateway;

  beforeAll(async () => {
    redis = await startRedisServer();
    gw = await startJournalGateway('redis', redis.url);
    await submit(gw);
    await submit(gw, { refused: true });
    await submit(gw);
    await gw.sealer().sealNow({ checkpoint: true });
  });
  afterAll(async () => {
    await gw?.close();
    await redis?.dispose();
  });

  it('exit 0 for an intact journal, then 1 with the problem printed after a record is changed', async () => {
    const intact = okno(['journal', 'verify', '--redis', redis.url, '--prefix', gw.prefix]);
    expect(intact.stderr).toBe('');
    expect(intact.status).toBe(0);
    expect(intact.stdout).toContain(`journal in ${redis.url} (prefix ${gw.prefix})`);
    expect(intact.stdout).toMatch(/checked\s+3 record\(s\)/);
    expect(intact.stdout).toMatch(/sealed\s+up to seq 3; 0 newer record\(s\) not sealed yet/);
    expect(intact.stdout).toMatch(/checkpoint\s+signed up to seq 3/);
    expect(intact.stdout).toMatch(/verdict\s+INTACT/);

    // The same from the environment (REDIS_URL, REDIS_KEY_PREFIX), as JSON.
    const json = okno(['journal', 'verify', '--json'], { REDIS_URL: redis.url, REDIS_KEY_PREFIX: gw.prefix });
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, checked: 3, sealedUpTo: 3, unsealed: 0, problems: [] });

    const target = (await feed(gw.store))[1]!;
    const r = await record(gw.store, target.id);
    await gw.tamper.setDoc(JOURNAL, target.id, { ...r, faultCode: null, succeeded: true } as unknown as JsonValue);
    const tampered = okno(['journal', 'verify', '--redis', redis.url, '--prefix', gw.prefix]);
    expect(tampered.status).toBe(1);
    expect(tampered.stdout).toMatch(/verdict\s+1 PROBLEM\(S\)/);
    expect(tampered.stdout).toContain(`seq 2        ${target.id}  the record was changed after it was sealed (hash mismatch)`);
    await gw.tamper.setDoc(JOURNAL, target.id, r as unknown as JsonValue);
    expect(okno(['journal', 'verify', '--redis', redis.url, '--prefix', gw.prefix]).status).toBe(0);
  });

  it('exit 1 naming the record and the envelope when one byte of a stored envelope is changed', async () => {
    const target = (await feed(gw.store))[2]!;
    const key = `${gw.prefix}blob:${EVIDENCE}:${target.id}.response`;
    // Straight in Redis, as someone with access to it would: one byte of the stored reply, in the store's own encoding.
    const { Redis } = await import('ioredis');
    const { decodeBlob, encodeBlob } = await import('../../src/store/redis-value.js');
    const client = new Redis(redis.url);
    try {
      const original = (await client.getBuffer(key))!;
      const text = (await decodeBlob(original)).toString('utf8');
      const at = text.indexOf('requestIsQueued');
      expect(at).toBeGreaterThan(0);
      await client.set(key, await encodeBlob(Buffer.from(`${text.slice(0, at)}R${text.slice(at + 1)}`, 'utf8')));
      const tampered = okno(['journal', 'verify', '--redis', redis.url, '--prefix', gw.prefix]);
      expect(tampered.status).toBe(1);
      expect(tampered.stdout).toMatch(/verdict\s+1 PROBLEM\(S\)/);
      expect(tampered.stdout).toMatch(new RegExp(`seq 3 +${target.id}  the response envelope \\(evidence ${target.id}\\.response\\) was changed after it was journaled \\(sha256 [0-9a-f]{16}…, the sealed record says [0-9a-f]{16}…\\)`));
      const json = okno(['journal', 'verify', '--json', '--redis', redis.url, '--prefix', gw.prefix]);
      expect(json.status).toBe(1);
      expect(JSON.parse(json.stdout).problems).toEqual([expect.objectContaining({ seq: 3, recordId: target.id, envelope: 'response' })]);
      // Bytes that are no blob the store wrote (the header byte unknown): changed, with nothing to digest.
      await client.set(key, Buffer.from('<forged/>'));
      const unreadable = okno(['journal', 'verify', '--redis', redis.url, '--prefix', gw.prefix]);
      expect(unreadable.status).toBe(1);
      expect(unreadable.stdout).toContain(`the response envelope (evidence ${target.id}.response) was replaced by stored bytes that give no envelope back (changed)`);
      await client.set(key, original);
      const intact = okno(['journal', 'verify', '--redis', redis.url, '--prefix', gw.prefix]);
      expect(intact.status).toBe(0);
      expect(intact.stdout).toMatch(/evidence\s+6 envelope\(s\) match their sealed digests/);
    } finally {
      await client.quit();
    }
  });

  it("checkpoints count only with the gateway's certificate", () => {
    const other = okno(['journal', 'verify', '--redis', redis.url, '--prefix', gw.prefix, '--cert', 'certs-sample/portal.crt.pem']);
    expect(other.status).toBe(1);
    expect(other.stdout).toMatch(/checkpoint: signed by "[^"]*CN=okno-gateway" .*which is not the gateway's certificate/);
    // Named explicitly, the gateway's own certificate is accepted.
    expect(okno(['journal', 'verify', '--redis', redis.url, '--prefix', gw.prefix, '--cert', 'certs-sample/gateway.crt.pem']).status).toBe(0);
  });

  it('exit 2: usage errors, no Redis (the in-memory journal is verified through the API), Redis unreachable', () => {
    expect(okno(['journal']).status).toBe(2);
    expect(okno(['journal', 'check']).status).toBe(2);
    const bogus = okno(['journal', 'verify', '--bogus']);
    expect(bogus.status).toBe(2);
    expect(bogus.stderr).toContain('usage: okno journal verify');
    const noRedis = okno(['journal', 'verify']);
    expect(noRedis.status).toBe(2);
    expect(noRedis.stderr).toContain('GET /api/v1/journal/verify');
    const down = okno(['journal', 'verify', '--redis', 'redis://127.0.0.1:1']);
    expect(down.status).toBe(2);
    expect(down.stderr).toMatch(/cannot connect to Redis/);
    const badCert = okno(['journal', 'verify', '--redis', redis.url, '--cert', 'no/such.pem']);
    expect(badCert.status).toBe(2);
    expect(badCert.stderr).toContain('cannot read no/such.pem');
    expect(okno(['--help']).stdout).toMatch(/^ {2}journal +check the journal/m);
    expect(okno(['journal', '--help']).stdout).toContain('okno journal verify');
  });
});
