/**
 * SHUTDOWN_DRAIN_MS behind a real HAProxy: SIGTERM to one of two gateways makes
 * its /ready fail at once (a `shutdown` check) while it keeps serving, so the
 * balancer takes it out before it stops listening; a client sending all along
 * through the balancer gets every request answered, none refused or cut.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBalancer, type Balancer } from '../helpers/haproxy.js';
import { freePort } from '../helpers/net.js';
import { startGatewayProcess, type GatewayProcess } from '../helpers/process.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { CITY } from '../helpers/smev.js';

const DRAIN_MS = 2_000;
let redis: RedisTestServer;
let gateways: GatewayProcess[] = [];
let ports: number[] = [];
let balancer: Balancer;

beforeAll(async () => {
  redis = await startRedisServer();
  ports = [await freePort(), await freePort()];
  // One after the other: on a loaded 2-core machine two start-ups at once can pass the time limit.
  for (const port of ports) gateways.push(await startGatewayProcess({ REDIS_URL: redis.url, PORT: String(port), SHUTDOWN_DRAIN_MS: String(DRAIN_MS), LARGE_MESSAGE_THREADS: '0' }, 60_000));
  // Checks every 200 ms, out after two failures: well inside the drain.
  balancer = await startBalancer({ backends: ports, checkIntervalMs: 200, redispatch: false });
  await balancer.waitUp();
}, 120_000);

afterAll(async () => {
  await balancer?.stop();
  for (const g of gateways) if (g.child.exitCode === null) g.child.kill('SIGKILL');
  await redis?.dispose();
});

describe('SHUTDOWN_DRAIN_MS', () => {
  it('SIGTERM: /ready fails at once with a shutdown check, the balancer takes the gateway out, and no request through it fails', async () => {
    const [leaving] = gateways;
    let stop = false;
    const outcomes: Array<{ status: number; connection: string | null } | { error: string }> = [];
    // A steady client through the balancer: the inbox list, a JSON API call any gateway answers.
    const client = (async () => {
      while (!stop) {
        try {
          const res = await fetch(`${balancer.url}/api/v1/inbox?limit=1`, { headers: CITY });
          await res.arrayBuffer();
          outcomes.push({ status: res.status, connection: res.headers.get('connection') });
        } catch (error) {
          outcomes.push({ error: String((error as Error).cause ?? error) });
        }
      }
    })();
    while (outcomes.length < 20) await new Promise((r) => setTimeout(r, 20));

    leaving!.child.kill('SIGTERM');
    const exited = leaving!.exited;
    // The signal is taken (its log line), then: while draining it still answers, but /ready says no, naming the shutdown.
    const drainLine = `shutting down: /ready fails now; serving for ${DRAIN_MS} ms more so the load balancer takes this process out, then closing`;
    while (!leaving!.lines.some((l) => l.msg === drainLine)) await new Promise((r) => setTimeout(r, 10));
    const ready = await fetch(`http://127.0.0.1:${ports[0]}/ready`);
    const body = (await ready.json()) as { status: string; checks: Array<{ name: string; status: string; detail: string }> };
    expect(ready.status).toBe(503);
    expect(ready.headers.get('connection')).toBe('close');
    expect(body.checks.find((c) => c.name === 'shutdown')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/^shutting down: serving what still arrives until .*send no new work here$/) });
    // The balancer marks it DOWN before it closes.
    const deadline = Date.now() + DRAIN_MS;
    let down = false;
    while (!down && Date.now() < deadline) {
      down = (await balancer.backends()).find((b) => b.port === ports[0])?.status.startsWith('DOWN') ?? false;
      if (!down) await new Promise((r) => setTimeout(r, 50));
    }
    expect(down, 'HAProxy took the draining gateway out within the drain').toBe(true);
    expect(await exited).toBe(0);
    const sentBeforeExit = outcomes.length;
    while (outcomes.length < sentBeforeExit + 20) await new Promise((r) => setTimeout(r, 20));
    stop = true;
    await client;

    const failed = outcomes.filter((o) => 'error' in o || o.status !== 200);
    expect(failed, JSON.stringify(failed.slice(0, 3))).toEqual([]);
    expect(outcomes.length).toBeGreaterThan(40);
    const log = leaving!.lines.map((l) => String(l.msg));
    expect(log.indexOf('drained: no new requests, finishing in-flight work')).toBeLessThan(log.indexOf('stopped'));
  }, 60_000);
});
