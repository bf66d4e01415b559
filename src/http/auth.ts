/**
 * Bearer tokens with roles (API_TOKENS). The presented token's SHA-256 is
 * compared with every known token's in constant time (timingSafeEqual, no
 * early exit), so the answer's timing says nothing about how close a guess
 * was. 401 for a missing, malformed (not "Bearer <token>") or unknown token, 403 for a known token
 * with the wrong role. With API_RATE_LIMIT each token has its own bucket
 * (src/http/rate-limit.ts: in Redis with a Redis store, shared by every
 * gateway instance and worker, under the key `api:<SHA-256 of the token>`,
 * never the token itself): a request beyond it is a 429 with Retry-After,
 * counted after the token is known, so an unknown token cannot spend a real
 * one's allowance.
 *
 * The check runs as an onRequest hook: before the body is read or the
 * parameters are validated, so an unauthenticated client costs no parsing
 * and learns nothing about the route's schema. Every /api/ route must carry
 * it; buildApp refuses to register one that does not (requiresAuth).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { ApiToken, RateLimit, Role } from '../config/env.js';
import { HttpError } from './errors.js';
import { MemoryRateLimiter, type RateLimiter } from './rate-limit.js';

declare module 'fastify' {
  interface FastifyRequest {
    role?: Role;
  }
}

const digest = (token: string) => createHash('sha256').update(token).digest();

/** Marks the hooks TokenAuth makes, with the roles they admit. */
const ROLES = Symbol('okno.auth.roles');
type AuthHook = onRequestAsyncHookHandler & { [ROLES]?: readonly Role[] };

export interface TokenAuthOptions {
  /** Requests per token (API_RATE_LIMIT), or null for none. */
  rateLimit: RateLimit | null;
  /** Where the limit is counted (default: this process's memory). */
  limiter?: RateLimiter;
  now?: () => number;
}

interface KnownToken {
  digest: Buffer;
  role: Role;
  /** The rate limiter's key: the digest, never the token. */
  key: string;
}

export class TokenAuth {
  private readonly tokens: readonly KnownToken[];
  private readonly limit: RateLimit | null;
  private readonly limiter: RateLimiter;

  constructor(tokens: readonly ApiToken[], options: TokenAuthOptions = { rateLimit: null }) {
    this.limit = options.rateLimit;
    this.limiter = options.limiter ?? new MemoryRateLimiter(options.now);
    this.tokens = tokens.map((t) => {
      const d = digest(t.token);
      return { digest: d, role: t.role, key: `api:${d.toString('hex')}` };
    });
  }

  /** The presented token's entry, or undefined; looks at every known token whatever matches. */
  private known(token: string): KnownToken | undefined {
    const presented = digest(token);
    let found: KnownToken | undefined;
    for (const t of this.tokens) if (timingSafeEqual(presented, t.digest) && found === undefined) found = t;
    return found;
  }

  /** An onRequest hook that admits the given roles only. */
  require(...allowed: Role[]): onRequestAsyncHookHandler {
    const hook: AuthHook = async (request: FastifyRequest, reply: FastifyReply) => {
      const header = request.headers.authorization;
      const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
      const token = match ? this.known(match[1]!) : undefined;
      const role = token?.role;
      if (!token || !role) {
        reply.header('www-authenticate', 'Bearer realm="okno"');
        throw new HttpError(401, 'UNAUTHORIZED', match ? 'unknown token' : header === undefined || header.trim() === '' ? 'missing Authorization: Bearer <token>' : malformed(header));
      }
      if (!allowed.includes(role)) throw new HttpError(403, 'FORBIDDEN', `role ${role} may not do this (needs ${allowed.join(' or ')})`);
      const take = this.limit ? await this.limiter.take(token.key, this.limit) : null;
      if (take && !take.ok) {
        const seconds = Math.max(1, Math.ceil(take.retryAfterMs / 1000));
        reply.header('retry-after', String(seconds));
        const where = this.limiter.shared ? 'shared by every gateway instance' : 'in this process';
        throw new HttpError(429, 'RATE_LIMITED', `more than API_RATE_LIMIT allows for this token (${this.limit!.perSecond} requests/s, burst ${this.limit!.burst}, ${where}); retry after ${seconds} s`);
      }
      request.role = role;
    };
    hook[ROLES] = Object.freeze([...allowed]);
    return hook;
  }
}

/** Other HTTP authentication schemes (IANA registry): named back to the client; anything else may be a credential and is not. */
const OTHER_SCHEMES = new Set(['basic', 'digest', 'hoba', 'mutual', 'negotiate', 'ntlm', 'oauth', 'privatetoken', 'scram-sha-1', 'scram-sha-256', 'vapid', 'token', 'dpop', 'gnap', 'concealed']);

/** Why an Authorization header is not "Bearer <token>", without echoing a credential. */
function malformed(header: string): string {
  const scheme = /^\s*(\S+)/.exec(header)?.[1] ?? '';
  const bearer = /^bearer$/i.test(scheme);
  const why = bearer && header.trim().length === scheme.length ? 'the token after Bearer is missing' : bearer ? 'one token after Bearer, with no spaces in it' : OTHER_SCHEMES.has(scheme.toLowerCase()) ? `scheme ${scheme} is not accepted` : 'it does not start with Bearer';
  return `malformed Authorization header (${why}); send Authorization: Bearer <token>`;
}

/** The roles a route's onRequest hooks admit, or null when no TokenAuth hook guards it. */
export function authRolesOf(onRequest: unknown): readonly Role[] | null {
  const hooks = Array.isArray(onRequest) ? onRequest : onRequest ? [onRequest] : [];
  for (const hook of hooks) {
    const roles = (hook as AuthHook)[ROLES];
    if (roles) return roles;
  }
  return null;
}
