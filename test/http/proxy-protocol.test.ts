/**
 * The PROXY protocol parser (src/http/proxy-protocol.ts) and TRUSTED_PROXIES
 * (src/config/trusted-proxies.ts). The parser is judged by HAProxy itself: a
 * real haproxy in TCP mode with send-proxy / send-proxy-v2 connects to a
 * plain TCP server here, and the header it writes must name the client that
 * connected to it from 127.0.0.2 (address and port), its health checks a
 * LOCAL (v2) connection.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseProxyHeader } from '../../src/http/proxy-protocol.js';
import { parseTrustedProxies } from '../../src/config/trusted-proxies.js';
import { ConfigError, loadConfig } from '../../src/config/env.js';
import { startBalancer, type Balancer } from '../helpers/haproxy.js';

const SIG = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const v2 = (command: number, familyTransport: number, body: Buffer) => Buffer.concat([SIG, Buffer.from([0x20 | command, familyTransport, body.length >> 8, body.length & 0xff]), body]);

describe('parseProxyHeader', () => {
  it('v1: TCP4, TCP6, UNKNOWN, with the bytes after it left alone', () => {
    const tcp4 = Buffer.from('PROXY TCP4 192.0.2.7 10.0.0.1 51234 443\r\nGET / HTTP/1.1\r\n');
    expect(parseProxyHeader(tcp4)).toEqual({ state: 'header', version: 1, length: 41, source: { address: '192.0.2.7', port: 51234, family: 'IPv4' } });
    expect(tcp4.subarray(41).toString()).toBe('GET / HTTP/1.1\r\n');
    expect(parseProxyHeader(Buffer.from('PROXY TCP6 2001:db8::7 2001:db8::1 4000 443\r\n'))).toMatchObject({ state: 'header', source: { address: '2001:db8::7', port: 4000, family: 'IPv6' } });
    expect(parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\n'))).toEqual({ state: 'header', version: 1, length: 15, source: null });
  });

  it('v1: incomplete until CRLF; garbage and overlong lines are invalid', () => {
    expect(parseProxyHeader(Buffer.from('PRO'))).toEqual({ state: 'incomplete' });
    expect(parseProxyHeader(Buffer.from('PROXY TCP4 192.0.2.7 10.0.0.1 5'))).toEqual({ state: 'incomplete' });
    expect(parseProxyHeader(Buffer.from('PROXY TCP4 999.0.2.7 10.0.0.1 1 2\r\n')).state).toBe('invalid');
    expect(parseProxyHeader(Buffer.from('PROXY TCP4 192.0.2.7 10.0.0.1 99999 2\r\n')).state).toBe('invalid');
    expect(parseProxyHeader(Buffer.from('PROXY UDP4 192.0.2.7 10.0.0.1 1 2\r\n')).state).toBe('invalid');
    expect(parseProxyHeader(Buffer.from(`PROXY TCP4 ${'1'.repeat(120)}`)).state).toBe('invalid');
  });

  it('v2: PROXY over IPv4 and IPv6, LOCAL, UNSPEC; TLVs skipped by the length', () => {
    const ipv4 = Buffer.from([192, 0, 2, 7, 10, 0, 0, 1, 0xc8, 0x22, 0x01, 0xbb]);
    const tlv = Buffer.from([0x04, 0x00, 0x02, 0x00, 0x00]);
    const header = v2(1, 0x11, Buffer.concat([ipv4, tlv]));
    expect(parseProxyHeader(Buffer.concat([header, Buffer.from([0x16, 0x03])]))).toEqual({ state: 'header', version: 2, length: 16 + 17, source: { address: '192.0.2.7', port: 0xc822, family: 'IPv4' } });
    const ipv6 = Buffer.alloc(36);
    Buffer.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7]).copy(ipv6, 0);
    ipv6.writeUInt16BE(4000, 32);
    expect(parseProxyHeader(v2(1, 0x21, ipv6))).toMatchObject({ state: 'header', source: { address: '2001:db8::7', port: 4000, family: 'IPv6' } });
    expect(parseProxyHeader(v2(0, 0x00, Buffer.alloc(0)))).toEqual({ state: 'header', version: 2, length: 16, source: null });
    expect(parseProxyHeader(v2(1, 0x00, Buffer.alloc(0)))).toMatchObject({ state: 'header', source: null });
    expect(parseProxyHeader(header.subarray(0, 20))).toEqual({ state: 'incomplete' });
    expect(parseProxyHeader(SIG.subarray(0, 5))).toEqual({ state: 'incomplete' });
    expect(parseProxyHeader(Buffer.concat([SIG, Buffer.from([0x31, 0x11, 0, 0])])).state).toBe('invalid');
    expect(parseProxyHeader(v2(1, 0x11, Buffer.alloc(4))).state).toBe('invalid');
  });

  it('not a header: HTTP methods (PUT, PATCH, PROPFIND too) and a TLS ClientHello', () => {
    for (const start of ['POST /ws/smev3 HTTP/1.1', 'PUT /x', 'PATCH /x', 'PROPFIND /x']) expect(parseProxyHeader(Buffer.from(start)).state, start).toBe('none');
    expect(parseProxyHeader(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00])).state).toBe('none');
  });
});

describe('TRUSTED_PROXIES', () => {
  it('addresses, CIDR ranges (IPv4, IPv6), IPv4-mapped peers and the name loopback', () => {
    const t = parseTrustedProxies(' 10.0.0.5, 192.168.10.0/24 ,fd00::/8, 2001:db8::1 ');
    expect(t.items).toEqual(['10.0.0.5', '192.168.10.0/24', 'fd00::/8', '2001:db8::1']);
    for (const a of ['10.0.0.5', '::ffff:10.0.0.5', '192.168.10.200', 'fd12::3', '2001:db8::1']) expect(t.trusts(a), a).toBe(true);
    for (const a of ['10.0.0.6', '192.168.11.1', 'fe80::1', '2001:db8::2', '', undefined, 'unknown']) expect(t.trusts(a), String(a)).toBe(false);
    const loop = parseTrustedProxies('loopback');
    expect([loop.trusts('127.0.0.9'), loop.trusts('::1'), loop.trusts('10.0.0.1')]).toEqual([true, true, false]);
  });

  it('a bad item stops start-up naming TRUSTED_PROXIES; PROXY_PROTOCOL=on needs it', () => {
    for (const bad of ['10.0.0.300', '10.0.0.0/33', 'balancer.local', '10.0.0.0/8/1', 'fd00::/129']) {
      expect(() => loadConfig({ TRUSTED_PROXIES: bad }), bad).toThrow(ConfigError);
      expect(() => loadConfig({ TRUSTED_PROXIES: bad })).toThrow(/TRUSTED_PROXIES/);
    }
    expect(() => loadConfig({ PROXY_PROTOCOL: 'on' })).toThrow(/PROXY_PROTOCOL: is on, but TRUSTED_PROXIES/);
    expect(() => loadConfig({ PROXY_PROTOCOL: 'auto', TRUSTED_PROXIES: '127.0.0.1' })).toThrow(/PROXY_PROTOCOL: must be one of on, off/);
    expect(loadConfig({}).proxies.trusted).toEqual([]);
    expect(loadConfig({ PROXY_PROTOCOL: 'on', TRUSTED_PROXIES: '127.0.0.1' }).proxies.proxyProtocol).toBe(true);
  });

  it('the configuration stays plain data with TRUSTED_PROXIES set (it is cloned into the large-message threads)', () => {
    const config = loadConfig({ TRUSTED_PROXIES: '127.0.0.1, 10.0.0.0/8, loopback', PROXY_PROTOCOL: 'on' });
    expect(structuredClone(config).proxies).toEqual({ trusted: ['127.0.0.1', '10.0.0.0/8', 'loopback'], proxyProtocol: true });
  });
});

describe("HAProxy's own PROXY headers", () => {
  let balancer: Balancer | null = null;
  let server: net.Server | null = null;
  afterEach(async () => {
    await balancer?.stop();
    await new Promise((r) => (server ? server.close(r) : r(null)));
    balancer = server = null;
  });

  /** A TCP server that answers every HTTP request 200 and keeps the bytes each connection started with. */
  async function recorder(): Promise<{ port: number; starts: Buffer[] }> {
    const starts: Buffer[] = [];
    server = net.createServer((socket) => {
      let bytes = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        bytes = Buffer.concat([bytes, chunk]);
        if (!bytes.includes('\r\n\r\n')) return;
        starts.push(bytes);
        socket.end('HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      });
      socket.on('error', () => {});
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    return { port: (server.address() as net.AddressInfo).port, starts };
  }

  for (const version of ['v1', 'v2'] as const) {
    it(`send-proxy${version === 'v2' ? '-v2' : ''}: the header names the client at 127.0.0.2 and its port; the request follows untouched`, async () => {
      const { port, starts } = await recorder();
      balancer = await startBalancer({ backends: [port], mode: 'tcp', sendProxy: version });
      await balancer.waitUp();
      const client = net.connect({ host: '127.0.0.1', port: balancer.port, localAddress: '127.0.0.2' });
      const clientPort = await new Promise<number>((resolve) => client.on('connect', () => resolve(client.localPort!)));
      const request = 'GET /client-marker HTTP/1.1\r\nhost: x\r\n\r\n';
      client.end(request);
      await new Promise((r) => client.on('close', r).resume());
      const start = starts.find((b) => b.includes('/client-marker'))!;
      const parsed = parseProxyHeader(start);
      expect(parsed).toMatchObject({ state: 'header', version: version === 'v1' ? 1 : 2, source: { address: '127.0.0.2', port: clientPort, family: 'IPv4' } });
      expect(start.subarray((parsed as { length: number }).length).toString()).toBe(request);
      // The health checks (check-send-proxy): v2 says LOCAL, v1 names HAProxy's own connection.
      const check = parseProxyHeader(starts.find((b) => b.includes('/ready'))!);
      if (version === 'v2') expect(check).toMatchObject({ state: 'header', version: 2, source: null });
      else expect(check).toMatchObject({ state: 'header', version: 1 });
    });
  }
});
