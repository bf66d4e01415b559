/**
 * A whole HA deployment on loopback for tests: a Redis Sentinel group (primary,
 * replica, three sentinels; test/helpers/redis-sentinel.ts), N gateway
 * processes (`node dist/main.js`, each on its own fixed port, killable and
 * restartable: KillableGateway) that find the primary through the sentinels
 * and reply only once the replica has each commit (REDIS_WAIT_REPLICAS=1),
 * the portal simulator as the partner they deliver statuses to, and HAProxy in
 * front of the gateways (test/helpers/haproxy.ts).
 *
 * `close()` stops everything; the processes also die with the test process.
 */
import { catalogue, gatewayFingerprint, KillableGateway, trust } from '../chaos/harness.js';
import { PortalSimulator } from '../../src/simulators/portal.js';
import { startBalancer, type Balancer } from './haproxy.js';
import { freePort } from './net.js';
import { startSentinelGroup, type RedisSentinelGroup, type SentinelGroupOptions } from './redis-sentinel.js';
import { sampleSigner } from './smev.js';

export interface HaClusterOptions {
  /** Gateway processes (default 3). */
  gateways?: number;
  /** Added to (and overriding) each gateway's environment. */
  env?: Record<string, string>;
  sentinel?: SentinelGroupOptions;
  /** HAProxy's health-check interval (default 300 ms). */
  checkIntervalMs?: number;
}

export interface HaCluster {
  group: RedisSentinelGroup;
  portal: PortalSimulator;
  gateways: KillableGateway[];
  balancer: Balancer;
  /** The balancer's URL: where partners and the city send. */
  url: string;
  close(): Promise<void>;
}

/** The gateway settings of an HA deployment on loopback (short timeouts, so a test sees recovery within seconds). */
export function haGatewayEnv(group: RedisSentinelGroup, portal: PortalSimulator): Record<string, string> {
  return {
    ...group.env,
    REDIS_WAIT_REPLICAS: '1',
    REDIS_WAIT_TIMEOUT_MS: '500',
    PORTAL_URL: portal.endpoint,
    DELIVERY_TIMEOUT_MS: '1000',
    DELIVERY_BACKOFF_MS: '50',
    DELIVERY_BACKOFF_CAP_MS: '500',
    // Small messages only: no large-message threads (fewer processes on a 2-core machine).
    LARGE_MESSAGE_THREADS: '0',
  };
}

export async function startHaCluster(o: HaClusterOptions = {}): Promise<HaCluster> {
  const group = await startSentinelGroup(o.sentinel);
  const portal = await PortalSimulator.start({ port: 0, trust, expectedSigner: gatewayFingerprint, signer: sampleSigner('portal'), catalogue });
  const gateways: KillableGateway[] = [];
  let balancer: Balancer | null = null;
  const close = async () => {
    await balancer?.stop();
    await Promise.all(gateways.map((g) => g.kill()));
    await portal.close();
    await group.dispose();
  };
  try {
    const env = { ...haGatewayEnv(group, portal), ...o.env };
    for (let i = 0; i < (o.gateways ?? 3); i++) gateways.push(new KillableGateway(await freePort(), env));
    await Promise.all(gateways.map((g) => g.start()));
    balancer = await startBalancer({ backends: gateways.map((g) => g.port), checkIntervalMs: o.checkIntervalMs ?? 300 });
    await balancer.waitUp();
    return { group, portal, gateways, balancer, url: balancer.url, close };
  } catch (error) {
    await close();
    throw error;
  }
}
