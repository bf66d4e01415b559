/**
 * A real Redis primary with one replica (`redis-server --replicaof`) on free
 * loopback ports, each in its own temp dir, for tests of REDIS_WAIT_REPLICAS.
 * Ready when the replica's `INFO replication` says master_link_status:up and
 * the primary counts it (connected_slaves), polled, never a fixed sleep.
 *
 * `freeze()` / `thaw()` send SIGSTOP / SIGCONT to the replica: its socket
 * stays open (the primary still counts it as connected) but it acknowledges
 * nothing, as a replica behind a stalled network or disk would.
 *
 * Like test/helpers/redis-server.ts: without redis-server this throws (naming
 * the apt package), and every process is killed and dir removed at exit.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { freePort } from './net.js';
import { removeTempDir, spawnRedisProcess, tempDir } from './redis-server.js';
import { requireTool } from './tools.js';

export interface RedisNode {
  url: string;
  port: number;
  pid: number;
}

export interface RedisReplicaSet {
  primary: RedisNode;
  replica: RedisNode;
  /** SIGSTOP the replica (connected, acknowledging nothing). */
  freeze(): void;
  /** SIGCONT the replica. */
  thaw(): void;
  /** Stops the replica (SIGKILL): the primary then has 0 connected replicas once it notices. */
  killReplica(): Promise<void>;
  /** Resolves once the primary counts `n` connected replicas (polled). */
  awaitConnectedReplicas(n: number, timeoutMs?: number): Promise<void>;
  dispose(): Promise<void>;
}

type Launched = ReturnType<typeof spawnRedisProcess>;

function launch(port: number, extra: string[]): Launched {
  const dir = tempDir('okno-redis-repl-');
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', ...extra];
  const launched = spawnRedisProcess(process.env.REDIS_SERVER_BIN ?? 'redis-server', args);
  void launched.exited.then(() => removeTempDir(dir));
  return launched;
}

async function infoReplication(port: number): Promise<Map<string, string>> {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  client.on('error', () => {});
  try {
    await client.connect();
    const text = await client.info('replication');
    return new Map(text.split(/\r?\n/).filter((l) => l.includes(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()] as [string, string]));
  } finally {
    client.disconnect();
  }
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number, logs: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms:\n${logs()}`);
    await sleep(20);
  }
}

export async function startRedisReplicaSet(): Promise<RedisReplicaSet> {
  requireTool(process.env.REDIS_SERVER_BIN ?? 'redis-server', ['--version'], 'redis-server');
  const primaryPort = await freePort();
  const replicaPort = await freePort();
  const primary = launch(primaryPort, []);
  // A replica answers reads while its link is down (the default); the tests check the link themselves.
  const replica = launch(replicaPort, ['--replicaof', '127.0.0.1', String(primaryPort)]);
  const logs = () => `primary:\n${primary.output()}\nreplica:\n${replica.output()}`;
  const connected = async (n: number, timeoutMs = 15_000) =>
    until(`${n} connected replica(s)`, async () => Number((await infoReplication(primaryPort)).get('connected_slaves')) === n, timeoutMs, logs);
  try {
    await until('replica link up', async () => (await infoReplication(replicaPort)).get('master_link_status') === 'up', 15_000, logs);
    await connected(1);
  } catch (error) {
    for (const p of [primary, replica]) p.child.kill('SIGKILL');
    await Promise.all([primary.exited, replica.exited]);
    throw error;
  }
  const node = (port: number, p: Launched): RedisNode => ({ url: `redis://127.0.0.1:${port}`, port, pid: p.child.pid! });
  return {
    primary: node(primaryPort, primary),
    replica: node(replicaPort, replica),
    freeze: () => void replica.child.kill('SIGSTOP'),
    thaw: () => void replica.child.kill('SIGCONT'),
    async killReplica() {
      replica.child.kill('SIGCONT');
      replica.child.kill('SIGKILL');
      await replica.exited;
    },
    awaitConnectedReplicas: connected,
    async dispose() {
      for (const p of [primary, replica]) {
        p.child.kill('SIGCONT');
        p.child.kill('SIGKILL');
      }
      await Promise.all([primary.exited, replica.exited]);
    },
  };
}
