import { spawn } from 'node:child_process';
import path from 'node:path';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/net.js';
import { spawnGateway, startGatewayProcess } from '../helpers/process.js';
import { projectRoot } from '../helpers/gateway.js';
import { startRedisServer as startRedis, type RedisTestServer as RedisServer } from '../helpers/redis-server.js';

describe('npm start, literally', () => {
  it('builds, serves /health on PORT, and stops on Ctrl-C', async () => {
    const port = await freePort();
    // Its own process group, like a terminal session: Ctrl-C reaches npm, sh and the gateway alike.
    const child = spawn('npm', ['start', '--silent'], { cwd: projectRoot, env: { ...process.env, PORT: String(port), CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    try {
      let ok = false;
      // npm start compiles first when the sources are newer than dist/ (prestart): on a loaded 2-core CI machine that alone can take a minute.
      const deadline = Date.now() + 150_000;
      while (!ok && child.exitCode === null && Date.now() < deadline) {
        ok = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false);
        if (!ok) await sleep(100);
      }
      expect(ok, out).toBe(true);
    } finally {
      process.kill(-child.pid!, 'SIGINT');
    }
    // npm may exit by the signal itself; what matters is that the gateway under it stopped gracefully.
    const { code, signal } = await exited;
    expect(code === 0 || signal === 'SIGINT', `${code} ${signal}`).toBe(true);
    expect(out).toMatch(/"msg":"stopped"/);
    let closed = false;
    for (let i = 0; i < 50 && !closed; i++) {
      closed = await fetch(`http://127.0.0.1:${port}/health`).then(() => false, () => true);
      if (!closed) await sleep(100);
    }
    expect(closed).toBe(true);
  }, 180_000);
});

describe('npm start (node dist/main.js)', () => {
  it('serves /health and /ready on the defaults with the embedded store, and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const gw = await startGatewayProcess({ PORT: String(port) });
    expect(gw.url).toBe(`http://127.0.0.1:${port}`);
    expect((await fetch(`${gw.url}/health`)).status).toBe(200);
    const ready = (await (await fetch(`${gw.url}/ready`)).json()) as { status: string; checks: Array<{ name: string; kind?: string }> };
    expect(ready.status).toBe('ready');
    expect(ready.checks.find((c) => c.name === 'store')?.kind).toBe('memory');
    // Request log lines carry the correlation id (probes log only at warn, so ask something else).
    await fetch(`${gw.url}/nowhere`, { headers: { 'x-correlation-id': 'trace-me-1' } });
    // The child's stdout arrives asynchronously: wait for the line.
    const isRequestLog = (l: Record<string, unknown>) => (l.req as { url?: string } | undefined)?.url === '/nowhere';
    for (let i = 0; i < 40 && !gw.lines.some(isRequestLog); i++) await sleep(50);
    const requestLog = gw.lines.find(isRequestLog);
    expect(requestLog?.correlationId).toBe('trace-me-1');

    gw.child.kill('SIGTERM');
    expect(await gw.exited).toBe(0);
    expect(gw.lines.map((l) => l.msg)).toEqual(expect.arrayContaining([expect.stringMatching(/^shutting down/), 'stopped']));
    await expect(fetch(`${gw.url}/health`)).rejects.toThrow();
  });

  it('finishes a request in flight before it exits', async () => {
    const port = await freePort();
    const gw = await startGatewayProcess({ PORT: String(port) });
    // A request whose body is still arriving when SIGTERM comes must still be answered.
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')));
    const closed = new Promise((resolve) => socket.on('close', resolve));
    socket.write('POST /health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n');
    await sleep(300);
    gw.child.kill('SIGTERM');
    await sleep(300);
    expect(gw.child.exitCode).toBeNull(); // still waiting for the request in flight
    socket.end('{}');
    await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 404 /);
    expect(await gw.exited).toBe(0);
    // New connections are refused meanwhile.
    await expect(fetch(`${gw.url}/health`)).rejects.toThrow();
  });

  it('refuses a bad variable by name (exit 78)', async () => {
    const proc = spawnGateway({ PORT: 'http', LOG_LEVEL: 'chatty' });
    expect(await proc.exited).toBe(78);
    expect(proc.stderr()).toMatch(/PORT: must be a whole number/);
    expect(proc.stderr()).toMatch(/LOG_LEVEL: must be one of/);
    expect(proc.stderr()).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('NODE_ENV=production refuses the in-memory store and dev tokens', async () => {
    const proc = spawnGateway({ NODE_ENV: 'production' });
    expect(await proc.exited).toBe(78);
    expect(proc.stderr()).toMatch(/REDIS_URL: not set, and NODE_ENV=production refuses the in-memory store/);
    expect(proc.stderr()).toMatch(/API_TOKENS: not set/);
  });

  describe('with Redis', () => {
    let redis: RedisServer;
    beforeAll(async () => {
      redis = await startRedis({ appendonly: true });
    });
    afterAll(() => redis?.stop());

    it('NODE_ENV=production refuses the sample keys, naming each', async () => {
      const proc = spawnGateway({ NODE_ENV: 'production', REDIS_URL: redis.url, API_TOKENS: 'city-secret-token:city' });
      expect(await proc.exited).toBe(78);
      const err = proc.stderr();
      expect(err).toMatch(/GATEWAY_KEY_FILE: is the sample key/);
      expect(err).toMatch(/TRUST_CA_FILE: trusts the sample CA/);
      expect(err).toMatch(/PARTNERS_FILE: partner "portal" is registered with a sample certificate/);
    });

    it('WORKERS=2 runs two gateway processes on one port and stops them all on SIGTERM', async () => {
      const gw = await startGatewayProcess({ REDIS_URL: redis.url, WORKERS: '2', PORT: String(await freePort()) });
      const listening = () => new Set(gw.lines.filter((l) => /^okno gateway listening/.test(String(l.msg))).map((l) => l.pid));
      for (let i = 0; i < 100 && listening().size < 2; i++) await sleep(50);
      expect(listening().size).toBe(2);
      for (let i = 0; i < 10; i++) expect((await fetch(`${gw.url}/health`)).status).toBe(200);
      gw.child.kill('SIGTERM');
      expect(await gw.exited).toBe(0);
      expect(gw.lines.map((l) => l.msg)).toContain('all workers stopped');
    });

    it('WORKERS=2: a setting both workers refuse is printed once, one line, exit 78', async () => {
      const proc = spawnGateway({ REDIS_URL: redis.url, WORKERS: '2', PORT: String(await freePort()), LIFECYCLE_FILE: path.join(projectRoot, 'package.json') });
      expect(await proc.exited).toBe(78);
      expect(proc.stderr().trim().split('\n'), proc.stderr()).toHaveLength(1);
      expect(proc.stderr()).toMatch(/^okno: LIFECYCLE_FILE: lifecycle .*package\.json is invalid: /);
    });

    it('WORKERS>1 without REDIS_URL is refused by name', async () => {
      const proc = spawnGateway({ WORKERS: '2' });
      expect(await proc.exited).toBe(78);
      expect(proc.stderr()).toMatch(/WORKERS: 2 worker processes need REDIS_URL/);
    });

    it('runs on Redis when REDIS_URL is set (and in production when sample keys are explicitly allowed)', async () => {
      const gw = await startGatewayProcess({
        NODE_ENV: 'production',
        REDIS_URL: redis.url,
        API_TOKENS: 'city-secret-token:city,ops-secret-token:ops',
        OKNO_ALLOW_SAMPLE_KEYS: 'true',
        PORT: String(await freePort()),
      });
      const ready = (await (await fetch(`${gw.url}/ready`)).json()) as { checks: Array<{ name: string; kind?: string; durable?: boolean }> };
      expect(ready.checks.find((c) => c.name === 'store')).toMatchObject({ kind: 'redis', durable: true });
      gw.child.kill('SIGTERM');
      expect(await gw.exited).toBe(0);
    });
  });
});
