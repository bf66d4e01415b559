/**
 * A real, throw-away Redis Sentinel group for tests: a primary, a replica
 * (`--replicaof`) and three sentinels (`redis-server FILE --sentinel`), each on
 * a free loopback port with its own temp dir. Start-up waits (polling, no
 * fixed sleeps) until the replica's link is up and every sentinel knows the
 * primary, the replica and the two other sentinels, so a failover can happen.
 *
 * Sentinels judge a node down after `downAfterMs` (default 500) and may fail
 * over every `failoverTimeoutMs` (default 2000): a killed primary is replaced
 * within a few seconds.
 *
 * Tests never skip silently: without redis-server on PATH this throws.
 * `dispose()` kills every process and removes the dirs; they are also killed
 * when the test process exits or is terminated.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { freePort } from './net.js';
import { findRedisServer, removeTempDir, spawnRedisProcess, tempDir } from './redis-server.js';

export interface SentinelGroupOptions {
  name?: string;
  downAfterMs?: number;
  failoverTimeoutMs?: number;
  /** `requirepass` (and `masterauth`) of the primary and the replica. */
  password?: string;
  /** `requirepass` of the sentinels. */
  sentinelPassword?: string;
}

export interface RedisNode {
  port: number;
  /** The password it requires (null: none). */
  password: string | null;
  /** `127.0.0.1:port`. */
  address: string;
  running: boolean;
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
}

export interface RedisSentinelGroup {
  /** The master group name. */
  name: string;
  /** The two data nodes (index 0 started as the primary) and the three sentinels. */
  nodes: RedisNode[];
  sentinels: RedisNode[];
  /** REDIS_SENTINELS and REDIS_SENTINEL_NAME for the gateway. */
  env: Record<string, string>;
  /** The primary as a (live) sentinel names it now. */
  primary(): Promise<RedisNode>;
  /** Waits until every live sentinel names a primary other than `old` and it answers as master; returns it. */
  waitForNewPrimary(old: RedisNode, timeoutMs?: number): Promise<RedisNode>;
  /** A client of one node (the caller closes it). */
  client(node: RedisNode): Redis;
  dispose(): Promise<void>;
}

function launch(bin: string, args: string[], port: number, password: string | null): RedisNode & { output: () => string; exited: Promise<void> } {
  const { child, exited, output, alive } = spawnRedisProcess(bin, args);
  return {
    port,
    password,
    address: `127.0.0.1:${port}`,
    get running() {
      return child.exitCode === null && child.signalCode === null && alive();
    },
    async stop(signal = 'SIGTERM') {
      if (!alive()) return;
      child.kill(signal);
      await exited;
    },
    output,
    exited,
  };
}

function quietClient(port: number, password: string | null): Redis {
  const client = new Redis({ port, host: '127.0.0.1', password: password ?? undefined, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: true, connectTimeout: 1000, commandTimeout: 1000 });
  client.on('error', () => {});
  return client;
}

/** Asks one node; null when it does not answer. */
async function ask<T>(node: { port: number; password: string | null }, question: (c: Redis) => Promise<T>): Promise<T | null> {
  const client = quietClient(node.port, node.password);
  try {
    await client.connect();
    return await question(client);
  } catch {
    return null;
  } finally {
    client.disconnect();
  }
}

async function until<T>(what: string, probe: () => Promise<T | null>, ok: (v: T) => boolean, timeoutMs: number, output: () => string = () => ''): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | null = null;
  while (Date.now() < deadline) {
    last = await probe();
    if (last !== null && ok(last)) return last;
    await sleep(50);
  }
  throw new Error(`${what}: not within ${timeoutMs} ms (last: ${JSON.stringify(last)})\n${output()}`);
}

function infoField(info: string, field: string): string | null {
  return new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim() ?? null;
}

/** `SENTINEL master <name>` as a map. */
async function sentinelMaster(node: RedisNode, name: string): Promise<Map<string, string> | null> {
  return ask(node, async (c) => {
    const reply = (await c.call('SENTINEL', 'MASTER', name)) as string[];
    const map = new Map<string, string>();
    for (let i = 0; i + 1 < reply.length; i += 2) map.set(reply[i]!, reply[i + 1]!);
    return map;
  });
}

export async function startSentinelGroup(options: SentinelGroupOptions = {}): Promise<RedisSentinelGroup> {
  const bin = findRedisServer();
  const name = options.name ?? 'mymaster';
  const downAfterMs = options.downAfterMs ?? 500;
  const failoverTimeoutMs = options.failoverTimeoutMs ?? 2000;
  const password = options.password ?? null;
  const sentinelPassword = options.sentinelPassword ?? null;
  const auth = password ? ['--requirepass', password, '--masterauth', password] : [];
  const root = tempDir('okno-sentinel-');
  const all: Array<ReturnType<typeof launch>> = [];

  const dataNode = async (label: string, extra: string[]) => {
    const port = await freePort();
    const dir = path.join(root, label);
    mkdirSync(dir);
    const node = launch(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', ...auth, ...extra], port, password);
    all.push(node);
    return node;
  };
  try {
    const primary = await dataNode('primary', []);
    await until('primary answers PING', () => ask(primary, (c) => c.ping()), (r) => r === 'PONG', 15_000, primary.output);
    const replica = await dataNode('replica', ['--replicaof', '127.0.0.1', String(primary.port)]);
    await until('replica in sync', () => ask(replica, (c) => c.info('replication')), (i) => infoField(i, 'master_link_status') === 'up', 15_000, replica.output);

    const sentinels: Array<ReturnType<typeof launch>> = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const dir = path.join(root, `sentinel-${i}`);
      mkdirSync(dir);
      const file = path.join(dir, 'sentinel.conf');
      writeFileSync(
        file,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `sentinel monitor ${name} 127.0.0.1 ${primary.port} 2`,
          `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
          `sentinel failover-timeout ${name} ${failoverTimeoutMs}`,
          `sentinel parallel-syncs ${name} 1`,
          ...(password ? [`sentinel auth-pass ${name} ${password}`] : []),
          // The sentinels use it with each other too.
          ...(sentinelPassword ? [`requirepass ${sentinelPassword}`] : []),
          '',
        ].join('\n'),
      );
      const sentinel = launch(bin, [file, '--sentinel'], port, sentinelPassword);
      all.push(sentinel);
      sentinels.push(sentinel);
    }
    // Ready for a failover: each sentinel sees the replica and the two others.
    for (const s of sentinels) {
      await until(
        `sentinel ${s.address} knows the group`,
        () => sentinelMaster(s, name),
        (m) => m.get('port') === String(primary.port) && m.get('num-slaves') === '1' && m.get('num-other-sentinels') === '2',
        20_000,
        s.output,
      );
    }

    const nodes = [primary, replica];
    const byAddress = (host: string, port: number) => {
      const node = nodes.find((n) => n.port === port && (host === '127.0.0.1' || host === 'localhost'));
      if (!node) throw new Error(`the sentinels name an unknown primary ${host}:${port}`);
      return node;
    };
    const primaryPerSentinel = (s: RedisNode) => ask(s, async (c) => (await c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)) as [string, string] | null);

    return {
      name,
      nodes,
      sentinels,
      env: {
        REDIS_SENTINELS: sentinels.map((s) => s.address).join(','),
        REDIS_SENTINEL_NAME: name,
        ...(sentinelPassword ? { REDIS_SENTINEL_PASSWORD: sentinelPassword } : {}),
        ...(password ? { REDIS_PASSWORD: password } : {}),
      },
      async primary() {
        for (const s of sentinels) {
          if (!s.running) continue;
          const reply = await primaryPerSentinel(s);
          if (reply) return byAddress(reply[0], Number(reply[1]));
        }
        throw new Error('no sentinel names a primary');
      },
      async waitForNewPrimary(old, timeoutMs = 30_000) {
        const replies = await until(
          `a new primary instead of ${old.address}`,
          async () => Promise.all(sentinels.filter((s) => s.running).map(primaryPerSentinel)),
          (rs) => rs.length > 0 && rs.every((r) => r !== null && Number(r[1]) !== old.port && r[1] === rs[0]![1]),
          timeoutMs,
          () => sentinels.map((s) => s.output()).join('\n'),
        );
        const node = byAddress(replies[0]![0], Number(replies[0]![1]));
        await until(`${node.address} answers as master`, () => ask(node, (c) => c.info('replication')), (i) => infoField(i, 'role') === 'master', timeoutMs);
        return node;
      },
      client(node) {
        const client = new Redis({ port: node.port, host: '127.0.0.1', password: node.password ?? undefined, maxRetriesPerRequest: 0, retryStrategy: () => null });
        client.on('error', () => {});
        return client;
      },
      async dispose() {
        await Promise.all(all.map((n) => n.stop('SIGKILL')));
        removeTempDir(root);
      },
    };
  } catch (error) {
    await Promise.all(all.map((n) => n.stop('SIGKILL')));
    removeTempDir(root);
    throw error;
  }
}
