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
 * A stopped node starts again on its port and dir (`start()`): a data node
 * as a replica of the group's current primary (as the sentinels would
 * reconfigure it), a sentinel from the config file it rewrote. `waitSynced()`
 * and `waitFailoverReady()` wait (polling) until the replicas have caught up
 * and the sentinels could promote one in the next failover.
 *
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
  /** TLS only (no plain port) on every node and sentinel, with this server certificate (IP SAN 127.0.0.1); replication and the sentinels' own links too. */
  tls?: { certFile: string; keyFile: string; caFile: string; caPem: string };
}

export interface RedisNode {
  port: number;
  /** The password it requires (null: none). */
  password: string | null;
  /** `127.0.0.1:port`. */
  address: string;
  /** The CA its TLS certificate chains to (null: plain TCP). */
  tlsCa: string | null;
  running: boolean;
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /**
   * Starts it again (after stop) on the same port and dir, and waits until it answers: a data node
   * as a replica of `replicaOf` (default: the group's current primary), a sentinel from its own config file.
   */
  start(replicaOf?: RedisNode): Promise<void>;
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
  /** Waits until every running data node but the primary replicates from it, link up, with what the primary had when the wait began. */
  waitSynced(timeoutMs?: number): Promise<void>;
  /**
   * Waits until every live sentinel names the same primary, knows the other live sentinels and
   * sees each live data node other than the primary as a replica that is up, linked and in sync:
   * a failover could happen now.
   */
  waitFailoverReady(timeoutMs?: number): Promise<void>;
  /** A client of one node (the caller closes it). */
  client(node: RedisNode): Redis;
  dispose(): Promise<void>;
}

type Launched = RedisNode & { output: () => string };

/**
 * A redis-server or sentinel process that can be stopped and started again: with `restartArgs`
 * (a data node: its own port and dir, `--replicaof` the primary), by default the same `args`.
 */
function launch(bin: string, args: string[], port: number, password: string | null, tlsCa: string | null, restartArgs: (replicaOf?: RedisNode) => Promise<string[]> = async () => args): Launched {
  let proc = spawnRedisProcess(bin, args);
  let previous = '';
  return {
    port,
    password,
    address: `127.0.0.1:${port}`,
    tlsCa,
    get running() {
      return proc.child.exitCode === null && proc.child.signalCode === null && proc.alive();
    },
    async stop(signal = 'SIGTERM') {
      if (!proc.alive()) return;
      proc.child.kill(signal);
      await proc.exited;
    },
    async start(replicaOf?: RedisNode) {
      if (proc.alive()) throw new Error(`127.0.0.1:${port} is still running`);
      previous += proc.output();
      proc = spawnRedisProcess(bin, await restartArgs(replicaOf));
      const current = proc;
      await until(`127.0.0.1:${port} answers PING after a restart`, async () => (current.alive() ? ask({ port, password, tlsCa }, (c) => c.ping()) : 'exited'), (r) => r === 'PONG' || r === 'exited', 15_000, current.output);
      if (!current.alive()) throw new Error(`127.0.0.1:${port} exited on restart:\n${current.output()}`);
    },
    output: () => (previous + proc.output()).slice(-4000),
  };
}

function quietClient(port: number, password: string | null, tlsCa: string | null): Redis {
  const client = new Redis({ port, host: '127.0.0.1', password: password ?? undefined, ...(tlsCa ? { tls: { ca: tlsCa } } : {}), lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: true, connectTimeout: 1000, commandTimeout: 1000 });
  client.on('error', () => {});
  return client;
}

/** Asks one node; null when it does not answer. */
async function ask<T>(node: { port: number; password: string | null; tlsCa: string | null }, question: (c: Redis) => Promise<T>): Promise<T | null> {
  const client = quietClient(node.port, node.password, node.tlsCa);
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
  const tls = options.tls ?? null;
  const tlsCa = tls?.caPem ?? null;
  // With TLS: no plain port at all; clients, replication and the sentinels' links all over TLS (server-authenticated).
  const tlsSettings: Array<[string, string]> = tls
    ? [['tls-cert-file', tls.certFile], ['tls-key-file', tls.keyFile], ['tls-ca-cert-file', tls.caFile], ['tls-auth-clients', 'no'], ['tls-replication', 'yes']]
    : [];
  const listen = (port: number): string[] => (tls ? ['--port', '0', '--tls-port', String(port)] : ['--port', String(port)]);
  const root = tempDir('okno-sentinel-');
  const all: Launched[] = [];
  let group: RedisSentinelGroup | null = null;

  const dataNode = async (label: string, extra: string[]) => {
    const port = await freePort();
    const dir = path.join(root, label);
    mkdirSync(dir);
    const base = [...listen(port), ...tlsSettings.flatMap(([k, v]) => [`--${k}`, v]), '--bind', '127.0.0.1', '--save', '', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', ...auth];
    // A restart comes back as a replica of the primary: no window in which it takes writes as a second master.
    const node = launch(bin, [...base, ...extra], port, password, tlsCa, async (replicaOf) => {
      const primary = replicaOf ?? (await group!.primary());
      if (primary.port === port) throw new Error(`127.0.0.1:${port} is still named the primary: wait for the failover first`);
      return [...base, '--replicaof', '127.0.0.1', String(primary.port)];
    });
    all.push(node);
    return node;
  };
  try {
    const primary = await dataNode('primary', []);
    await until('primary answers PING', () => ask(primary, (c) => c.ping()), (r) => r === 'PONG', 15_000, primary.output);
    const replica = await dataNode('replica', ['--replicaof', '127.0.0.1', String(primary.port)]);
    await until('replica in sync', () => ask(replica, (c) => c.info('replication')), (i) => infoField(i, 'master_link_status') === 'up', 15_000, replica.output);

    const sentinels: Launched[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const dir = path.join(root, `sentinel-${i}`);
      mkdirSync(dir);
      const file = path.join(dir, 'sentinel.conf');
      writeFileSync(
        file,
        [
          ...(tls ? ['port 0', `tls-port ${port}`, ...tlsSettings.map(([k, v]) => `${k} ${v}`)] : [`port ${port}`]),
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
      const sentinel = launch(bin, [file, '--sentinel'], port, sentinelPassword, tlsCa);
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

    const replicasPerSentinel = (s: RedisNode) =>
      ask(s, async (c) =>
        ((await c.call('SENTINEL', 'REPLICAS', name)) as string[][]).map((flat) => {
          const map = new Map<string, string>();
          for (let i = 0; i + 1 < flat.length; i += 2) map.set(flat[i]!, flat[i + 1]!);
          return map;
        }),
      );

    group = {
      name,
      nodes,
      sentinels,
      env: {
        REDIS_SENTINELS: sentinels.map((s) => s.address).join(','),
        REDIS_SENTINEL_NAME: name,
        ...(sentinelPassword ? { REDIS_SENTINEL_PASSWORD: sentinelPassword } : {}),
        ...(password ? { REDIS_PASSWORD: password } : {}),
        // The CA reaches the gateway process through NODE_EXTRA_CA_CERTS (README: REDIS_SENTINEL_TLS).
        ...(tls ? { REDIS_SENTINEL_TLS: 'on', NODE_EXTRA_CA_CERTS: tls.caFile } : {}),
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
      async waitSynced(timeoutMs = 30_000) {
        // The primary may change meanwhile (a sentinel may fail over again): ask each time, and catch up with what it had when first seen.
        const seen = new Map<number, number>();
        await until(
          'every replica in sync with the primary',
          async () => {
            const primary = await group!.primary();
            const info = await ask(primary, (c) => c.info('replication'));
            if (!info || infoField(info, 'role') !== 'master') return null;
            if (!seen.has(primary.port)) seen.set(primary.port, Number(infoField(info, 'master_repl_offset')));
            const replicas = nodes.filter((n) => n.running && n !== primary);
            const infos = await Promise.all(replicas.map((r) => ask(r, (c) => c.info('replication'))));
            return { primary: primary.port, offset: seen.get(primary.port)!, replicas: infos.map((i) => (i ? { master: infoField(i, 'master_port'), link: infoField(i, 'master_link_status'), offset: Number(infoField(i, 'slave_repl_offset')) } : null)) };
          },
          (r) => r.replicas.every((x) => x !== null && x.master === String(r.primary) && x.link === 'up' && x.offset >= r.offset),
          timeoutMs,
          () => [...nodes, ...sentinels].map((n) => `--- ${n.address}\n${n.output()}`).join('\n'),
        );
      },
      async waitFailoverReady(timeoutMs = 30_000) {
        // Asked of all live sentinels at once, each time: a sentinel just restarted names the primary of its config file at first.
        await until(
          'the sentinels agree on the primary and could fail it over to each running replica',
          async () => {
            const live = sentinels.filter((s) => s.running);
            const views = await Promise.all(live.map(async (s) => ({ master: await sentinelMaster(s, name), known: await replicasPerSentinel(s) })));
            return views.map((v) => ({
              port: v.master?.get('port') ?? null,
              flags: v.master?.get('flags') ?? null,
              others: Number(v.master?.get('num-other-sentinels') ?? -1),
              replicas: (v.known ?? []).map((k) => `${k.get('port')} ${k.get('flags')} ${k.get('master-link-status')} ${k.get('master-port')}`),
              live: live.length,
            }));
          },
          (views) => {
            const port = views[0]?.port;
            const primary = nodes.find((n) => String(n.port) === port);
            if (!primary?.running) return false;
            const replicas = nodes.filter((n) => n.running && n !== primary);
            return views.every(
              (v) =>
                v.port === port &&
                v.flags === 'master' &&
                v.others >= v.live - 1 &&
                replicas.every((r) => v.replicas.includes(`${r.port} slave ok ${port}`)),
            );
          },
          timeoutMs,
          () => [...nodes, ...sentinels].map((n) => `--- ${n.address}\n${n.output()}`).join('\n'),
        );
      },
      client(node) {
        const client = new Redis({ port: node.port, host: '127.0.0.1', password: node.password ?? undefined, ...(node.tlsCa ? { tls: { ca: node.tlsCa } } : {}), maxRetriesPerRequest: 0, retryStrategy: () => null });
        client.on('error', () => {});
        return client;
      },
      async dispose() {
        await Promise.all(all.map((n) => n.stop('SIGKILL')));
        removeTempDir(root);
      },
    };
    return group;
  } catch (error) {
    await Promise.all(all.map((n) => n.stop('SIGKILL')));
    removeTempDir(root);
    throw error;
  }
}
