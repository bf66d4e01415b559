/**
 * Bearer tokens with roles (API_TOKENS). Tokens are compared by their SHA-256
 * so lookups take the same time whatever the guess; 401 for a missing or
 * unknown token, 403 for a known token with the wrong role.
 */
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { ApiToken, Role } from '../config/env.js';
import { HttpError } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    role?: Role;
  }
}

const digest = (token: string) => createHash('sha256').update(token).digest('hex');

export class TokenAuth {
  private readonly roles: Map<string, Role>;

  constructor(tokens: readonly ApiToken[]) {
    this.roles = new Map(tokens.map((t) => [digest(t.token), t.role]));
  }

  /** A preHandler that admits the given roles only. */
  require(...allowed: Role[]): preHandlerAsyncHookHandler {
    return async (request: FastifyRequest, reply: FastifyReply) => {
      const header = request.headers.authorization ?? '';
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      const role = match ? this.roles.get(digest(match[1]!)) : undefined;
      if (!role) {
        reply.header('www-authenticate', 'Bearer realm="okno"');
        throw new HttpError(401, 'UNAUTHORIZED', match ? 'unknown token' : 'missing Authorization: Bearer <token>');
      }
      if (!allowed.includes(role)) throw new HttpError(403, 'FORBIDDEN', `role ${role} may not do this (needs ${allowed.join(' or ')})`);
      request.role = role;
    };
  }
}
