/**
 * JSON request bodies for the city API. Fastify's own parser answers every
 * refusal with "Body is not valid JSON", also for `__proto__` and
 * `constructor.prototype` keys (prototype pollution), which leaves the client
 * guessing. This one parses with JSON.parse (which never touches a prototype),
 * then refuses those keys naming where they are. Only JSON is accepted: the
 * built-in text/plain parser is removed, so another content type is a 415.
 */
import type { FastifyInstance } from 'fastify';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const clientError = (message: string) => Object.assign(new Error(message), { statusCode: 400, code: 'INVALID_JSON' });

/** The path of the first forbidden key, or null. Iterative: deep nesting cannot overflow the stack. */
export function forbiddenKey(value: Json): string | null {
  const stack: Array<{ value: Json; path: string }> = [{ value, path: 'body' }];
  while (stack.length > 0) {
    const { value: v, path } = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      v.forEach((item, i) => stack.push({ value: item, path: `${path}/${i}` }));
      continue;
    }
    for (const key of Object.keys(v)) {
      if (key === '__proto__') return `${path}/__proto__`;
      const child = v[key]!;
      if (key === 'constructor' && child !== null && typeof child === 'object' && !Array.isArray(child) && Object.hasOwn(child, 'prototype')) return `${path}/constructor/prototype`;
      stack.push({ value: child, path: `${path}/${key}` });
    }
  }
  return null;
}

export function registerJsonBody(app: FastifyInstance): void {
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = body as string;
    if (text.length === 0) return done(clientError('the body is empty; send a JSON object'), undefined);
    let value: Json;
    try {
      value = JSON.parse(text) as Json;
    } catch (error) {
      return done(clientError(`the body is not valid JSON: ${(error as Error).message}`), undefined);
    }
    const key = forbiddenKey(value);
    if (key) return done(clientError(`${key}: the key is not allowed (prototype pollution)`), undefined);
    done(null, value);
  });
}
