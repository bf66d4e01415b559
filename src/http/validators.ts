/**
 * Schema validation of requests with two Ajv instances: query strings, path
 * parameters and headers arrive as text, so their values are coerced to the
 * declared types ("50" → 50); JSON bodies are not — a body that says
 * `"comment": 5`, `"on": "true"` or `"service": ["egrn-extract"]` has the wrong
 * type and is refused with 400 naming the field, as the contract promises.
 */
import { AjvCompiler } from '@fastify/ajv-compiler';
import type { FastifyServerOptions } from 'fastify';

type BuildValidator = NonNullable<NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildValidator']>;
type RouteValidator = (route: { httpPart?: string }) => unknown;

const pool = AjvCompiler();

function build(externalSchemas: unknown, options: unknown): RouteValidator {
  const opts = options as { customOptions?: Record<string, unknown> };
  const coercing = pool(externalSchemas as never, options as never) as unknown as RouteValidator;
  const exact = pool(externalSchemas as never, { ...opts, customOptions: { ...opts.customOptions, coerceTypes: false } } as never) as unknown as RouteValidator;
  return (route) => (route.httpPart === 'body' ? exact : coercing)(route);
}

export const buildValidator = build as unknown as BuildValidator;
