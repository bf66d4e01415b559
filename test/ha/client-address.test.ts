/**
 * The real client behind a real HAProxy (issue 25, point 3): gateway processes
 * (node dist/main.js) behind Debian's haproxy; clients on different loopback
 * addresses (Linux routes 127.0.0.0/8 to lo, so a socket bound to 127.0.0.2
 * is another client). RATE_LIMIT_PER_CLIENT=…:2 shows whose bucket a message
 * is counted in: the third from one client is refused, another client's first
 * is not.
 *
 * - HTTP mode (X-Forwarded-For) with TRUSTED_PROXIES=127.0.0.1: one bucket per
 *   real client; without TRUSTED_PROXIES: all share the balancer's; a direct
 *   client forging X-Forwarded-For stays in its own.
 * - TCP mode with send-proxy / send-proxy-v2 and PROXY_PROTOCOL=on: the same,
 *   over plain HTTP and over HTTPS (the header precedes the TLS handshake); a
 *   PROXY header from a peer not in TRUSTED_PROXIES closes the connection
 *   (logged), a plain request from it is served.
 * - X-Road allowFrom sees the real client too: the Security Server behind the
 *   balancer is let in, another client through the same balancer is not.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBalancer, type Balancer } from '../helpers/haproxy.js';
import { freePort } from '../helpers/net.js';
import { startGatewayProcess, type GatewayProcess } from '../helpers/process.js';
import { faultOf } from '../helpers/smev.js';
import { issueCertificate, SAMPLE_CA_PEM, tempDir } from '../helpers/tls-pki.js';
import { projectRoot } from '../helpers/gateway.js';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const LIMIT = { RATE_LIMIT_PER_CLIENT: '1/min:2' };

/** POST /ws/smev3 from `localAddress`; the fault name (SignatureVerificationFault: admitted; QuoteLimitExceeded: refused) and its text. */
function postFrom(url: string, localAddress: string, headers: Record<string, string> = {}): Promise<{ fault: string | null; faultstring: string | null }> {
  const body = '<a/>';
  const u = new URL('/ws/smev3', url);
  const request = u.protocol === 'https:' ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = request(u, { method: 'POST', localAddress, agent: false, ca: SAMPLE_CA_PEM(), headers: { 'content-type': 'text/xml; charset=utf-8', 'content-length': String(body.length), connection: 'close', ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        const { fault, faultstring } = faultOf(text);
        resolve({ fault, faultstring });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Three messages from `a`, then one from `b`: the faults in order. */
async function threeThenOne(url: string, a: string, b: string): Promise<Array<string | null>> {
  const faults: Array<string | null> = [];
  for (let i = 0; i < 3; i++) faults.push((await postFrom(url, a)).fault);
  faults.push((await postFrom(url, b)).fault);
  return faults;
}

const PER_CLIENT = ['SignatureVerificationFault', 'SignatureVerificationFault', 'QuoteLimitExceeded', 'SignatureVerificationFault'];
const SHARED = ['SignatureVerificationFault', 'SignatureVerificationFault', 'QuoteLimitExceeded', 'QuoteLimitExceeded'];

async function gateway(env: Record<string, string>): Promise<GatewayProcess & { port: number }> {
  const port = await freePort();
  // A generous start-up limit: the machine may be busy (the start itself is not under test here).
  return { ...(await startGatewayProcess({ PORT: String(port), ...LIMIT, ...env }, 60_000)), port };
}

async function stop(gw: GatewayProcess | undefined): Promise<void> {
  if (!gw || gw.child.exitCode !== null) return;
  gw.child.kill('SIGTERM');
  await gw.exited;
}

describe('HAProxy in HTTP mode: X-Forwarded-For', () => {
  let trusting: GatewayProcess & { port: number };
  let plain: GatewayProcess & { port: number };
  let toTrusting: Balancer;
  let toPlain: Balancer;
  beforeAll(async () => {
    trusting = await gateway({ TRUSTED_PROXIES: '127.0.0.1' });
    plain = await gateway({});
    [toTrusting, toPlain] = await Promise.all([startBalancer({ backends: [trusting.port] }), startBalancer({ backends: [plain.port] })]);
    await Promise.all([toTrusting.waitUp(), toPlain.waitUp()]);
  });
  afterAll(async () => {
    await Promise.all([toTrusting?.stop(), toPlain?.stop()]);
    await Promise.all([stop(trusting), stop(plain)]);
  });

  it('TRUSTED_PROXIES=127.0.0.1: each real client has its own bucket, named in the refusal', async () => {
    expect(await threeThenOne(toTrusting.url, '127.0.0.2', '127.0.0.3')).toEqual(PER_CLIENT);
    expect((await postFrom(toTrusting.url, '127.0.0.2')).faultstring).toMatch(/too many messages from 127\.0\.0\.2;/);
    expect(trusting.lines.some((l) => l.limit === 'client' && l.client === '127.0.0.2')).toBe(true);
  });

  it('a direct client forging X-Forwarded-For stays in its own bucket', async () => {
    const faults: Array<string | null> = [];
    for (const forged of ['127.0.0.50', '127.0.0.51', '127.0.0.52']) faults.push((await postFrom(trusting.url, '127.0.0.4', { 'x-forwarded-for': forged })).fault);
    expect(faults).toEqual(PER_CLIENT.slice(0, 3));
    expect((await postFrom(trusting.url, '127.0.0.4', { 'x-forwarded-for': '127.0.0.53' })).faultstring).toMatch(/too many messages from 127\.0\.0\.4;/);
    // Through the balancer, a forged entry on the left is not taken either: the client is what HAProxy
    // appended (127.0.0.2's bucket, spent above, would refuse it).
    expect((await postFrom(toTrusting.url, '127.0.0.5', { 'x-forwarded-for': '127.0.0.2' })).fault).toBe('SignatureVerificationFault');
  });

  it('without TRUSTED_PROXIES every client shares the balancer\'s bucket', async () => {
    expect(await threeThenOne(toPlain.url, '127.0.0.2', '127.0.0.3')).toEqual(SHARED);
    expect((await postFrom(toPlain.url, '127.0.0.3')).faultstring).toMatch(/too many messages from 127\.0\.0\.1;/);
  });
});

describe('HAProxy in TCP mode: the PROXY protocol (PROXY_PROTOCOL=on)', () => {
  let gw: GatewayProcess & { port: number };
  let v1: Balancer;
  let v2: Balancer;
  beforeAll(async () => {
    gw = await gateway({ TRUSTED_PROXIES: '127.0.0.1', PROXY_PROTOCOL: 'on' });
    [v1, v2] = await Promise.all([startBalancer({ backends: [gw.port], mode: 'tcp', sendProxy: 'v1' }), startBalancer({ backends: [gw.port], mode: 'tcp', sendProxy: 'v2' })]);
    await Promise.all([v1.waitUp(), v2.waitUp()]);
  });
  afterAll(async () => {
    await Promise.all([v1?.stop(), v2?.stop()]);
    await stop(gw);
  });

  it('send-proxy (v1): each real client has its own bucket', async () => {
    expect(await threeThenOne(v1.url, '127.0.0.2', '127.0.0.3')).toEqual(PER_CLIENT);
  });

  it('send-proxy-v2: each real client has its own bucket; the health checks (LOCAL) pass', async () => {
    expect(await threeThenOne(v2.url, '127.0.0.4', '127.0.0.5')).toEqual(PER_CLIENT);
    expect((await postFrom(v2.url, '127.0.0.4')).faultstring).toMatch(/too many messages from 127\.0\.0\.4;/);
    expect((await v2.backends()).map((b) => b.status)).toEqual(['UP']);
  });

  it('a PROXY header from a peer not in TRUSTED_PROXIES closes the connection and is logged; a plain request from it is served', async () => {
    const socket = net.connect({ host: '127.0.0.1', port: gw.port, localAddress: '127.0.0.6' });
    let answer = '';
    socket.on('data', (c: Buffer) => (answer += c.toString()));
    socket.write('PROXY TCP4 127.0.0.99 127.0.0.1 5555 8080\r\nGET /ready HTTP/1.1\r\nhost: x\r\n\r\n');
    await new Promise((r) => socket.on('close', r));
    expect(answer).toBe('');
    await expect.poll(() => gw.lines.find((l) => l.outcome === 'proxy-header-refused' && l.peer === '127.0.0.6')).toBeTruthy();
    expect((await postFrom(gw.url, '127.0.0.6')).fault).toBe('SignatureVerificationFault');
  });

  it('a connection from the trusted balancer address without a header is closed (the header is required, not guessed)', async () => {
    const socket = net.connect({ host: '127.0.0.1', port: gw.port, localAddress: '127.0.0.1' });
    let answer = '';
    socket.on('data', (c: Buffer) => (answer += c.toString()));
    socket.write('GET /ready HTTP/1.1\r\nhost: x\r\n\r\n');
    await new Promise((r) => socket.on('close', r));
    expect(answer).toBe('');
  });
});

describe('HAProxy in TCP mode before the HTTPS listener (TLS ends at the gateway)', () => {
  let gw: GatewayProcess & { port: number };
  let balancer: Balancer;
  beforeAll(async () => {
    const server = issueCertificate(tempDir('okno-proxy-tls-'), { cn: 'localhost', loopback: true });
    gw = await gateway({ TRUSTED_PROXIES: '127.0.0.1', PROXY_PROTOCOL: 'on', TLS_CERT_FILE: server.certFile, TLS_KEY_FILE: server.keyFile });
    balancer = await startBalancer({ backends: [gw.port], mode: 'tcp', sendProxy: 'v2', checkSsl: true });
    await balancer.waitUp();
  });
  afterAll(async () => {
    await balancer?.stop();
    await stop(gw);
  });

  it('send-proxy-v2 then the TLS handshake: each real client has its own bucket', async () => {
    const url = balancer.url.replace('http:', 'https:');
    expect(await threeThenOne(url, '127.0.0.2', '127.0.0.3')).toEqual(PER_CLIENT);
    expect((await postFrom(url, '127.0.0.2')).faultstring).toMatch(/too many messages from 127\.0\.0\.2;/);
  });

  it('a direct HTTPS client (not a trusted peer, no header) is served with its own address', async () => {
    expect(gw.url).toMatch(/^https:/);
    const faults: Array<string | null> = [];
    for (let i = 0; i < 3; i++) faults.push((await postFrom(gw.url, '127.0.0.6')).fault);
    expect(faults).toEqual(PER_CLIENT.slice(0, 3));
  });
});

describe('X-Road allowFrom behind the balancer', () => {
  let gw: GatewayProcess & { port: number };
  let balancer: Balancer;
  beforeAll(async () => {
    // config/partners.xroad.json with the Security Server at 127.0.0.2.
    const doc = JSON.parse(readFileSync(path.join(projectRoot, 'config/partners.xroad.json'), 'utf8')) as { xroad: Record<string, unknown>; partners: Array<Record<string, unknown>> };
    for (const p of doc.partners) if (p.certificates) p.certificates = (p.certificates as string[]).map((c) => path.resolve(projectRoot, 'config', c));
    doc.xroad.allowFrom = ['127.0.0.2'];
    const file = path.join(tempDir('okno-proxy-xroad-'), 'partners.json');
    writeFileSync(file, JSON.stringify(doc));
    gw = await gateway({ TRUSTED_PROXIES: '127.0.0.1', PARTNERS_FILE: file });
    balancer = await startBalancer({ backends: [gw.port] });
    await balancer.waitUp();
  });
  afterAll(async () => {
    await balancer?.stop();
    await stop(gw);
  });

  /** POST /ws/xroad (not even XML) from `localAddress`: 403 is the allowFrom refusal, anything else got past it. */
  function xroadFrom(url: string, localAddress: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
    const body = '<not-even-xml';
    return new Promise((resolve, reject) => {
      const req = http.request(new URL('/ws/xroad', url), { method: 'POST', localAddress, agent: false, headers: { 'content-type': 'text/xml', 'content-length': String(body.length), ...headers } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: text }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  it('the Security Server through the balancer passes; another client through it, or one forging X-Forwarded-For directly, gets 403', async () => {
    const server = await xroadFrom(balancer.url, '127.0.0.2');
    expect(server.status).not.toBe(403);
    expect(server.body).not.toMatch(/xroad\.allowFrom/);
    const other = await xroadFrom(balancer.url, '127.0.0.3');
    expect(other.status).toBe(403);
    expect(other.body).toMatch(/127\.0\.0\.3 is not the gateway's Security Server/);
    const forged = await xroadFrom(gw.url, '127.0.0.3', { 'x-forwarded-for': '127.0.0.2' });
    expect(forged.status).toBe(403);
  });
});
