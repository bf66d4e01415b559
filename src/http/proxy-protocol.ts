/**
 * The PROXY protocol (HAProxy's proxy-protocol.txt, v1 text and v2 binary): a
 * balancer in TCP mode (TLS ends at the gateway, e.g. for TLS_CLIENT_AUTH)
 * puts the client's address in a header before the connection's first byte.
 *
 * With PROXY_PROTOCOL=on, every connection from a TRUSTED_PROXIES peer must
 * start with one (the spec: the receiver must not guess whether it is there),
 * before the TLS handshake on an HTTPS listener; the socket then reports the
 * client's address as its remoteAddress, so everything that reads the peer
 * (request.ip, the rate limit per client, X-Road allowFrom, logs) sees the
 * client. A v2 LOCAL header (HAProxy's health checks) and v1 UNKNOWN keep the
 * socket's own address. A connection from any other peer that starts with a
 * header is closed and logged: only the balancer may speak for a client.
 *
 * Written here, not taken from npm: the packages found (proxy-protocol-js,
 * @balena/proxy-protocol-parser) parse a complete buffer, which is the easy
 * part; what a server needs is the framing on a live socket (how many bytes
 * are the header, handing the rest to HTTP or TLS untouched), the trust check
 * and a time limit, and findhit-proxywrap, which does wrap servers, trusts
 * every peer and replaces node:net's classes. Tested against HAProxy's own
 * output (test/http/proxy-protocol.test.ts).
 */
import type { Server, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../log.js';
import type { TrustedProxies } from '../config/trusted-proxies.js';

/** The client the header names (null: LOCAL, UNKNOWN or AF_UNSPEC/UNIX: use the socket's peer). */
export interface ProxySource {
  address: string;
  port: number;
  family: 'IPv4' | 'IPv6';
}

export type ProxyParse =
  | { state: 'incomplete' }
  | { state: 'none' }
  | { state: 'invalid'; reason: string }
  | { state: 'header'; version: 1 | 2; length: number; source: ProxySource | null };

const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** The longest v1 line, CRLF included (the spec's 107). */
const V1_MAX = 107;

/** Whether `buf` starts as `sig` does, as far as either goes. */
const startsAs = (buf: Buffer, sig: Buffer) => buf.subarray(0, sig.length).equals(sig.subarray(0, Math.min(buf.length, sig.length)));

/** Reads a PROXY header at the start of `buf` (the bytes received so far). */
export function parseProxyHeader(buf: Buffer): ProxyParse {
  if (buf.length === 0) return { state: 'incomplete' };
  if (startsAs(buf, V2_SIGNATURE)) return buf.length < 16 ? { state: 'incomplete' } : parseV2(buf);
  if (startsAs(buf, V1_PREFIX)) return buf.length < V1_PREFIX.length ? { state: 'incomplete' } : parseV1(buf);
  return { state: 'none' };
}

function parseV1(buf: Buffer): ProxyParse {
  const end = buf.subarray(0, V1_MAX).indexOf('\r\n');
  if (end < 0) return buf.length >= V1_MAX ? { state: 'invalid', reason: 'v1 header without CRLF within 107 bytes' } : { state: 'incomplete' };
  const line = buf.subarray(0, end).toString('latin1');
  const [, proto, src, , srcPort, dstPort, ...more] = line.split(' ');
  const length = end + 2;
  if (proto === 'UNKNOWN') return { state: 'header', version: 1, length, source: null };
  if ((proto !== 'TCP4' && proto !== 'TCP6') || !src || !srcPort || !dstPort || more.length > 0) return { state: 'invalid', reason: `v1 header "${line.slice(0, 60)}" is not PROXY TCP4|TCP6 src dst sport dport` };
  const family = proto === 'TCP4' ? 'IPv4' : 'IPv6';
  const port = /^\d{1,5}$/.test(srcPort) ? Number(srcPort) : -1;
  if (!validAddress(src, family) || port < 0 || port > 65535) return { state: 'invalid', reason: `v1 header "${line.slice(0, 60)}": bad source address or port` };
  return { state: 'header', version: 1, length, source: { address: src, port, family } };
}

function parseV2(buf: Buffer): ProxyParse {
  const versionCommand = buf[12]!;
  if (versionCommand >> 4 !== 2) return { state: 'invalid', reason: `v2 header version ${versionCommand >> 4}` };
  const command = versionCommand & 0x0f;
  if (command > 1) return { state: 'invalid', reason: `v2 header command ${command}` };
  const length = 16 + buf.readUInt16BE(14);
  if (buf.length < length) return { state: 'incomplete' };
  // LOCAL: the balancer's own connection (health checks); the addresses, if any, are ignored.
  if (command === 0) return { state: 'header', version: 2, length, source: null };
  const family = buf[13]! >> 4;
  const body = buf.subarray(16, length);
  if (family === 1) {
    if (body.length < 12) return { state: 'invalid', reason: 'v2 IPv4 header shorter than its addresses' };
    return { state: 'header', version: 2, length, source: { address: [...body.subarray(0, 4)].join('.'), port: body.readUInt16BE(8), family: 'IPv4' } };
  }
  if (family === 2) {
    if (body.length < 36) return { state: 'invalid', reason: 'v2 IPv6 header shorter than its addresses' };
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(body.readUInt16BE(i).toString(16));
    return { state: 'header', version: 2, length, source: { address: compressIPv6(groups), port: body.readUInt16BE(32), family: 'IPv6' } };
  }
  // AF_UNSPEC or AF_UNIX: nothing to tell about the client.
  return { state: 'header', version: 2, length, source: null };
}

/** The canonical text of an IPv6 address (RFC 5952: the longest run of zero groups as ::). */
function compressIPv6(groups: string[]): string {
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j += 1;
    if (j - i > bestLength) [best, bestLength] = [i, j - i];
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLength).join(':')}`;
}

function validAddress(text: string, family: 'IPv4' | 'IPv6'): boolean {
  if (family === 'IPv4') return /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(text) && text.split('.').every((o) => Number(o) <= 255);
  return /^[0-9a-f:.]+$/i.test(text) && text.includes(':');
}

export interface ProxyProtocolOptions {
  trusted: TrustedProxies;
  /** A trusted peer's header must arrive within this (HEADERS_TIMEOUT_MS). */
  timeoutMs: number;
  logger: Logger;
}

/** The client a socket was given by its header; read by the TLS socket made over it. */
const clients = new WeakMap<Socket, ProxySource>();

/**
 * Puts the PROXY header reading in front of an http or https server's own
 * connection handling: its 'connection' listeners get the socket once the
 * header is read (and the bytes after it are back in the socket).
 */
export function acceptProxyProtocol(server: Server, o: ProxyProtocolOptions): void {
  const listeners = server.listeners('connection') as Array<(socket: Socket) => void>;
  server.removeAllListeners('connection');
  const handOn = (socket: Socket) => {
    for (const listener of listeners) listener.call(server, socket);
  };
  server.on('connection', (socket: Socket) => readHeader(socket, o, handOn));
  // HTTPS: the TLS socket over the raw one reads its peer from the kernel; it gets the header's client too.
  server.prependListener('secureConnection', (tlsSocket: TLSSocket) => {
    const raw = (tlsSocket as unknown as { _parent?: Socket })._parent;
    const client = raw ? clients.get(raw) : undefined;
    if (client) setPeer(tlsSocket, client);
  });
}

function readHeader(socket: Socket, o: ProxyProtocolOptions, handOn: (socket: Socket) => void): void {
  const peer = socket.remoteAddress;
  const trusted = o.trusted.trusts(peer);
  let received = Buffer.alloc(0);
  const refuse = (reason: string) => {
    o.logger.warn({ peer, trusted, reason, outcome: 'proxy-header-refused' }, 'connection closed: PROXY protocol header refused');
    finish();
    socket.destroy();
  };
  const timer = setTimeout(() => refuse(trusted ? `no complete PROXY header within ${o.timeoutMs} ms` : `nothing readable within ${o.timeoutMs} ms`), o.timeoutMs);
  const finish = () => {
    clearTimeout(timer);
    socket.removeListener('readable', onReadable);
    socket.removeListener('close', finish);
  };
  const onReadable = () => {
    for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) received = Buffer.concat([received, chunk]);
    const parsed = parseProxyHeader(received);
    if (parsed.state === 'incomplete') return;
    if (parsed.state === 'invalid') return refuse(parsed.reason);
    if (!trusted) {
      if (parsed.state === 'header') return refuse('a PROXY header from a peer not in TRUSTED_PROXIES');
      return pass(received);
    }
    if (parsed.state === 'none') return refuse('a connection from a trusted proxy without a PROXY header (PROXY_PROTOCOL=on)');
    if (parsed.source) {
      clients.set(socket, parsed.source);
      setPeer(socket, parsed.source);
    }
    pass(received.subarray(parsed.length));
  };
  const pass = (rest: Buffer) => {
    finish();
    if (rest.length > 0) socket.unshift(rest);
    handOn(socket);
  };
  socket.once('close', finish);
  socket.on('readable', onReadable);
}

/** The socket reports the header's client as its peer (own properties over net.Socket's getters). */
function setPeer(socket: Socket, client: ProxySource): void {
  Object.defineProperties(socket, {
    remoteAddress: { value: client.address, configurable: true },
    remotePort: { value: client.port, configurable: true },
    remoteFamily: { value: client.family, configurable: true },
  });
}
