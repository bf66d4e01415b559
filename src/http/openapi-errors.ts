/**
 * The error answers of the JSON API in the OpenAPI document: every documented
 * operation lists the error statuses it can answer, each with the one error
 * schema (the component `Error`, src/http/schemas.ts). They are derived
 * from what the route is, so a new route is documented without effort:
 *
 * - 400 when it takes parameters, a query string or a body (schema validation, bad JSON);
 * - 401 for every route with a token check; 403 when it does not admit every role;
 * - 429 for every route with a token check (API_RATE_LIMIT, per token; off by default);
 * - 404 when its path has a parameter (an id that does not exist);
 * - 413 and 415 for POST, PUT and PATCH (body over MAX_BODY_BYTES, a content type other than JSON);
 * - 500 and 503 (shutting down) for all.
 *
 * A status only some routes answer (409) is declared by the route with `errorResponse`.
 */
import type { FastifyInstance, RouteOptions } from 'fastify';
import type { Role } from '../config/env.js';

export const ALL_ROLES: readonly Role[] = ['city', 'ops'];

/** A response of a route schema that answers with the shared error schema. */
export function errorResponse(description: string): { description: string; content: { 'application/json': { schema: { $ref: string } } } } {
  // Always JSON, also on a route that produces something else (the events stream).
  return { description, content: { 'application/json': { schema: { $ref: 'Error#' } } } };
}

const DESCRIPTIONS: Record<number, string> = {
  400: 'The request is invalid: the message names the field, and for an enum the allowed values',
  401: 'Missing, malformed or unknown bearer token',
  403: 'The token is valid, but its role may not do this',
  404: 'Nothing with that id',
  409: 'The request conflicts with the current state',
  413: 'The body is larger than MAX_BODY_BYTES',
  415: 'The body is not JSON: send Content-Type: application/json',
  429: 'More requests than API_RATE_LIMIT allows for this token; Retry-After says in how many seconds to try again',
  500: 'Internal error; the correlation id leads to the log line',
  503: 'The gateway is shutting down; retry on another instance',
};

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** The error statuses a route answers, from its method, path, schema and roles. */
export function errorStatusesOf(route: Pick<RouteOptions, 'method' | 'url' | 'schema'>, roles: readonly Role[] | null): number[] {
  const methods = [route.method].flat().map(String);
  const hasBody = methods.some((m) => BODY_METHODS.has(m));
  const schema = (route.schema ?? {}) as Record<string, unknown>;
  const statuses: number[] = [];
  if (hasBody || schema.querystring || schema.params || schema.body || schema.headers) statuses.push(400);
  if (roles) statuses.push(401);
  if (roles && ALL_ROLES.some((r) => !roles.includes(r))) statuses.push(403);
  if (route.url.includes(':')) statuses.push(404);
  if (hasBody) statuses.push(413, 415);
  if (roles) statuses.push(429);
  statuses.push(500, 503);
  return statuses;
}

/**
 * Adds the error responses to every route in the OpenAPI document (one with tags; the others are
 * hidden). Call before the routes are registered; the roles come from the route's token check.
 */
export function documentErrorResponses(app: FastifyInstance, rolesOf: (onRequest: unknown) => readonly Role[] | null): void {
  app.addHook('onRoute', (route) => {
    const schema = route.schema as (Record<string, unknown> & { tags?: unknown; response?: Record<string, unknown> }) | undefined;
    if (!schema?.tags) return;
    const response: Record<string, unknown> = { ...(schema.response ?? {}) };
    // Fastify's OpenAPI documents a route without responses as "200 Default Response"; keep a success answer.
    if (!Object.keys(response).some((status) => /^2/.test(status))) response[200] = { description: 'Success' };
    for (const status of errorStatusesOf(route, rolesOf(route.onRequest))) {
      if (!(status in response)) response[status] = errorResponse(DESCRIPTIONS[status]!);
    }
    schema.response = response;
  });
}

export { DESCRIPTIONS as ERROR_DESCRIPTIONS };
