/**
 * A real HAProxy (Debian's haproxy) in front of gateway processes on loopback,
 * as a city would run it before several gateway hosts: round robin, a backend
 * taken out while its GET /ready fails and back when it passes. HTTP mode adds
 * X-Forwarded-For (option forwardfor); TCP mode passes the bytes (TLS ends at
 * the gateway) and may send a PROXY protocol header (send-proxy / -v2).
 *
 * Without haproxy this throws, naming the package (CI installs it in .ci/run).
 * The process dies with the test process (spawnRedisProcess's exit hooks).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './net.js';
import { removeTempDir, spawnRedisProcess, tempDir } from './redis-server.js';
import { requireTool } from './tools.js';

export interface BalancerOptions {
  /** Loopback ports of the gateways behind it. */
  backends: number[];
  /** http (default): HAProxy reads the requests and adds X-Forwarded-For; tcp: bytes only. */
  mode?: 'http' | 'tcp';
  /** Send a PROXY protocol header to the backends (default none). */
  sendProxy?: 'v1' | 'v2' | null;
  /** HTTP mode: add X-Forwarded-For (default true). */
  forwardFor?: boolean;
  /** Health check interval (default 300 ms); two failures take a backend out, two passes bring it back. */
  checkIntervalMs?: number;
  /** TCP mode in front of HTTPS gateways: the health checks speak TLS (check-ssl, the certificate not verified). */
  checkSsl?: boolean;
  /** Let a connection that fails go to another backend (default true). */
  redispatch?: boolean;
}

export interface BackendState {
  /** `gw0`, `gw1`, … in the order of `backends`. */
  name: string;
  port: number;
  /** HAProxy's status: UP, DOWN, UP 1/2, … */
  status: string;
}

export interface Balancer {
  url: string;
  port: number;
  /** The backends as HAProxy sees them now (its stats page). */
  backends(): Promise<BackendState[]>;
  /** Waits until `count` backends are UP (default all). */
  waitUp(count?: number, timeoutMs?: number): Promise<void>;
  output(): string;
  stop(): Promise<void>;
}

export function requireHaproxy(): void {
  requireTool('haproxy', ['-v'], 'haproxy');
}

/** The configuration HAProxy is started with (exported for the tests that read it). */
export function balancerConfig(port: number, statsPort: number, o: BalancerOptions): string {
  const mode = o.mode ?? 'http';
  const inter = o.checkIntervalMs ?? 300;
  const proxy = o.sendProxy === 'v1' ? ' send-proxy' : o.sendProxy === 'v2' ? ' send-proxy-v2' : '';
  // The check is plain HTTP to the same port: with a PROXY header too when the backend expects one.
  const checkProxy = (o.sendProxy ? ' check-send-proxy' : '') + (o.checkSsl ? ' check-ssl verify none' : '');
  return [
    'global',
    '    maxconn 4096',
    'defaults',
    `    mode ${mode}`,
    '    timeout connect 2s',
    '    timeout client 65s',
    '    timeout server 65s',
    '    retries 3',
    ...(o.redispatch === false ? [] : ['    option redispatch']),
    ...(mode === 'http' && o.forwardFor !== false ? ['    option forwardfor'] : []),
    `    default-server check inter ${inter} fall 2 rise 2${proxy}${checkProxy}`,
    'frontend okno',
    `    bind 127.0.0.1:${port}`,
    '    default_backend gateways',
    'backend gateways',
    '    balance roundrobin',
    '    option httpchk GET /ready',
    '    http-check expect status 200',
    ...o.backends.map((p, i) => `    server gw${i} 127.0.0.1:${p}`),
    'frontend stats',
    '    mode http',
    `    bind 127.0.0.1:${statsPort}`,
    '    stats enable',
    '    stats uri /stats',
    '',
  ].join('\n');
}

export async function startBalancer(o: BalancerOptions): Promise<Balancer> {
  requireHaproxy();
  const [port, statsPort] = [await freePort(), await freePort()];
  const dir = tempDir('okno-haproxy-');
  const cfg = join(dir, 'haproxy.cfg');
  writeFileSync(cfg, balancerConfig(port, statsPort, o));
  const running = spawnRedisProcess('haproxy', ['-db', '-f', cfg]);

  async function backends(): Promise<BackendState[]> {
    const res = await fetch(`http://127.0.0.1:${statsPort}/stats;csv`);
    const rows = (await res.text()).split('\n').filter((l) => l.startsWith('gateways,gw'));
    return rows.map((row) => {
      const cols = row.split(',');
      const name = cols[1]!;
      return { name, port: o.backends[Number(name.slice(2))]!, status: cols[17]! };
    });
  }

  const balancer: Balancer = {
    url: `http://127.0.0.1:${port}`,
    port,
    backends,
    async waitUp(count = o.backends.length, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      let last: BackendState[] = [];
      while (Date.now() < deadline) {
        if (!running.alive()) throw new Error(`haproxy exited:\n${running.output()}`);
        last = await backends().catch(() => []);
        if (last.filter((b) => b.status === 'UP').length >= count) return;
        await sleep(50);
      }
      throw new Error(`HAProxy: ${count} backends not UP within ${timeoutMs} ms (${JSON.stringify(last)})\n${running.output()}`);
    },
    output: running.output,
    async stop() {
      if (running.alive()) {
        running.child.kill('SIGTERM');
        await running.exited;
      }
      removeTempDir(dir);
    },
  };
  // Up once its stats page answers.
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (!running.alive()) throw new Error(`haproxy exited during start-up:\n${running.output()}`);
    if (await backends().then(() => true, () => false)) break;
    if (Date.now() > deadline) throw new Error(`haproxy did not answer within 10 s:\n${running.output()}`);
    await sleep(25);
  }
  return balancer;
}
