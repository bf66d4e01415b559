/**
 * Who may use POST /ws/smev3 and how much, in the order the endpoint asks:
 *
 * 1. Before anything is parsed: RATE_LIMIT_PER_CLIENT per client IP address
 *    (onRequest, before the body is even read), and at most
 *    SOAP_MAX_IN_FLIGHT messages in processing per process (preHandler, once
 *    the body has arrived: a client trickling its body holds a socket, not a
 *    processing slot). These protect the CPU from floods of unsigned or
 *    forged messages, whose signature checks cost as much as genuine ones.
 *    Refused with a SOAP fault straight away; counted in metrics and logged
 *    (at most once a second per limit), not journaled — a flood must not turn
 *    into store writes.
 * 2. Before parsing (TLS_CLIENT_AUTH=required): a TLS client certificate that
 *    chains to TLS_CLIENT_CA_FILE, else AccessDenied (optional: one that is
 *    presented must chain).
 * 3. After the signature is verified and the partner known: the TLS client
 *    certificate, when there is one, must be registered to the same partner
 *    (AccessDenied); then the partner's rate limit (QuoteLimitExceeded).
 *    Only a verified signature spends a partner's quota, so nobody can use up
 *    another partner's quota by sending its certificate with a forged signature.
 *
 * The client and partner limits are counted by a RateLimiter
 * (src/http/rate-limit.ts): in Redis when the store is Redis, so they hold
 * across every gateway instance and worker (keys `client:<address>`,
 * `partner:<id>`); in memory otherwise.
 */
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler, preHandlerAsyncHookHandler } from 'fastify';
import type { Config, RateLimit, TlsClientAuth } from '../config/env.js';
import type { Partner, PartnerRegistry } from '../registry/partners.js';
import { tlsClientOf, type TlsClient } from '../pki/tls-material.js';
import type { RateLimitKind } from '../ops/metrics.js';
import { faultEnvelope, SmevFault } from '../soap/faults.js';
import { MemoryRateLimiter, type RateLimiter, type Take } from '../http/rate-limit.js';
import { LogThrottle } from '../log-throttle.js';

export type LimitKind = RateLimitKind;

export interface SoapAccessOptions {
  clientAuth: TlsClientAuth;
  partners: PartnerRegistry;
  limits: Config['limits'];
  /** Where the client and partner limits are counted (default: this process's memory). */
  limiter?: RateLimiter;
  /** Called for every message refused by a limit (metrics). */
  onLimited?: (limit: LimitKind, partner: string | null) => void;
  now?: () => number;
}

export class SoapAccess {
  readonly clientAuth: TlsClientAuth;
  private readonly limiter: RateLimiter;
  private readonly maxInFlight: number;
  private inFlight = 0;
  /** One warning per limit per second. */
  private readonly refusalLog = new LogThrottle<LimitKind>({ everyMs: 1000 });

  constructor(private readonly o: SoapAccessOptions) {
    this.clientAuth = o.clientAuth;
    this.limiter = o.limiter ?? new MemoryRateLimiter(o.now);
    this.maxInFlight = o.limits.maxInFlight;
  }

  /** The partner's limit (null: none): its registry rateLimit, else RATE_LIMIT_PER_PARTNER. */
  limitOf(partner: Partner): RateLimit | null {
    return limitOf(partner, this.o.limits.perPartner);
  }

  /** Messages this process is processing now (okno_soap_in_flight). */
  get inFlightNow(): number {
    return this.inFlight;
  }

  /** onRequest hook of the SOAP scope: the client address's limit, before the body is read. */
  readonly admitClient: onRequestAsyncHookHandler = async (request: FastifyRequest, reply: FastifyReply) => {
    const perClient = this.o.limits.perClient;
    if (request.method !== 'POST' || !perClient) return;
    // The client behind a trusted balancer (TRUSTED_PROXIES), else the peer.
    const address = request.ip ?? 'unknown';
    const take = await this.limiter.take(`client:${address}`, perClient);
    if (!take.ok) return this.refuseEarly(request, reply, 'client', take, `too many messages from ${address}; retry later`);
  };

  /** preHandler hook of the SOAP scope: the in-flight cap, with the body read and nothing parsed. */
  readonly admitInFlight: preHandlerAsyncHookHandler = async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.method !== 'POST') return;
    if (this.maxInFlight > 0) {
      if (this.inFlight >= this.maxInFlight) {
        return this.refuseEarly(request, reply, 'in_flight', { ok: false, retryAfterMs: 1000 }, 'the gateway is processing as many messages as it may at once; retry later');
      }
      this.inFlight += 1;
      let released = false;
      reply.raw.once('close', () => {
        if (released) return;
        released = true;
        this.inFlight -= 1;
      });
    }
  };

  /** Before parsing: what TLS_CLIENT_AUTH demands of the connection. */
  requireTlsClient(client: TlsClient): void {
    if (this.clientAuth === 'off') return;
    if (client.kind === 'untrusted') {
      throw new SmevFault('AccessDenied', `the TLS client certificate "${client.subject}" is not accepted (${client.error})`);
    }
    if (client.kind === 'none' && this.clientAuth === 'required') {
      throw new SmevFault('AccessDenied', 'this endpoint requires a TLS client certificate of a registered partner');
    }
  }

  /** After verification: the TLS client, when known, must be the partner that signed. */
  checkTlsPartner(client: TlsClient, partner: Partner): void {
    if (this.clientAuth === 'off' || client.kind !== 'trusted') return;
    const owner = this.o.partners.byTlsCertificate(client.fingerprint256);
    if (owner?.id !== partner.id) {
      throw new SmevFault(
        'AccessDenied',
        owner
          ? `the TLS client certificate belongs to partner "${owner.id}", but the message is signed by "${partner.id}"`
          : `the TLS client certificate "${client.subject}" is registered to no partner (the message is signed by "${partner.id}")`,
      );
    }
  }

  /** After verification: one message of the partner's quota, or QuoteLimitExceeded. */
  async takePartnerQuota(partner: Partner): Promise<void> {
    const limit = this.limitOf(partner);
    if (!limit) return;
    const take = await this.limiter.take(`partner:${partner.id}`, limit);
    if (take.ok) return;
    this.o.onLimited?.('partner', partner.id);
    const retryAfterSeconds = Math.max(1, Math.ceil(take.retryAfterMs / 1000));
    throw new SmevFault('QuoteLimitExceeded', `partner "${partner.id}" is sending faster than its limit allows; retry in ${retryAfterSeconds} s`, { retryAfterSeconds });
  }

  tlsClientOf(request: FastifyRequest): TlsClient {
    return this.clientAuth === 'off' ? { kind: 'none' } : tlsClientOf(request.raw.socket);
  }

  private refuseEarly(request: FastifyRequest, reply: FastifyReply, limit: LimitKind, take: Take & { ok: false }, message: string) {
    this.o.onLimited?.(limit, null);
    this.logRefusal(request, limit);
    const fault = limit === 'in_flight' ? new SmevFault('SMEVFailure', message) : new SmevFault('QuoteLimitExceeded', message);
    const seconds = Math.max(1, Math.ceil(take.retryAfterMs / 1000));
    // Nothing of the body is parsed.
    return reply.status(500).header('retry-after', String(seconds)).type('text/xml; charset=utf-8').send(faultEnvelope(fault, '1.1', request.id));
  }

  /** One warning per limit per second, with how many were refused since the last. */
  private logRefusal(request: FastifyRequest, limit: LimitKind): void {
    const throttled = this.refusalLog.hit(limit);
    if (throttled.log) {
      request.log.warn({ limit, refused: throttled.suppressed + 1, client: request.ip, outcome: 'rate-limited' }, `SOAP messages refused by the ${limit} limit`);
    }
  }
}

function limitOf(partner: Partner, fallback: RateLimit | null): RateLimit | null {
  return partner.rateLimit === undefined ? fallback : partner.rateLimit;
}
