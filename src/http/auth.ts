/**
 * Bearer tokens with roles (API_TOKENS). The presented token's SHA-256 is
 * compared with every known token's in constant time (timingSafeEqual, no
 * early exit), so the answer's timing says nothing about how close a guess
 * was. 401 for a missing, malformed (not "Bearer <token>") or unknown token, 403 for a known token
 * with the wrong role.
 *
 * The check runs as an onRequest hook: before the body is read or the
 * parameters are validated, so an unauthenticated client costs no parsing
 * and learns nothing about the route's schema. Every /api/ route must carry
 * it; buildApp refuses to register one that does not (requiresAuth).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { ApiToken, Role } from '../config/env.js';
import { HttpError } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    role?: Role;
  }
}

const digest = (token: string) => createHash('sha256').update(token).digest();

/** Marks the hooks TokenAuth makes, with the roles they admit. */
const ROLES = Symbol('okno.auth.roles');
type AuthHook = onRequestAsyncHookHandler & { [ROLES]?: readonly Role[] };

export class TokenAuth {
  private readonly tokens: ReadonlyArray<{ digest: Buffer; role: Role }>;

  constructor(tokens: readonly ApiToken[]) {
    this.tokens = tokens.map((t) => ({ digest: digest(t.token), role: t.role }));
  }

  /** The role of a presented token, or undefined; looks at every known token whatever matches. */
  private roleOf(token: string): Role | undefined {
    const presented = digest(token);
    let role: Role | undefined;
    for (const t of this.tokens) if (timingSafeEqual(presented, t.digest) && role === undefined) role = t.role;
    return role;
  }

  /** An onRequest hook that admits the given roles only. */
  require(...allowed: Role[]): onRequestAsyncHookHandler {
    const hook: AuthHook = async (request: FastifyRequest, reply: FastifyReply) => {
      const header = request.headers.authorization;
      const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
      const role = match ? this.roleOf(match[1]!) : undefined;
      if (!role) {
        reply.header('www-authenticate', 'Bearer realm="okno"');
        throw new HttpError(401, 'UNAUTHORIZED', match ? 'unknown token' : header === undefined || header.trim() === '' ? 'missing Authorization: Bearer <token>' : malformed(header));
      }
      if (!allowed.includes(role)) throw new HttpError(403, 'FORBIDDEN', `role ${role} may not do this (needs ${allowed.join(' or ')})`);
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
