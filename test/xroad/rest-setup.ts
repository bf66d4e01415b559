/**
 * For the REST provider's tests: a registry naming the gateway and one agency
 * as X-Road (or Trembita) members, and a real HTTP server with only the X-Road
 * REST routes registered, over a real FlowContext (test/helpers/flow-context.ts).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import type { FlowContext } from '../../src/flows/context.js';
import type { PartnerRegistry } from '../../src/registry/partners.js';
import type { XRoadDialect } from '../../src/registry/xroad-members.js';
import type { JsonValue } from '../../src/store/types.js';
import { registerXRoadRestRoutes, type XRoadRestOptions } from '../../src/xroad-transport/rest-endpoint.js';
import { partnersWith, type TestFlow } from '../helpers/flow-context.js';
import { projectRoot } from '../helpers/gateway.js';

export const APPLICATION = 'advertising-permit';
export const QUERY = 'advertising-permit-register-extract';

export interface XRoadNames {
  dialect: XRoadDialect;
  /** The gateway's subsystem. */
  self: string;
  /** The agency's subsystem (a client allowed both services). */
  agency: string;
  /** A registered client allowed nothing. */
  stranger: string;
  /** Service codes: xroad = the service id; Trembita = id_v1. */
  code(serviceId: string): string;
}

export function names(dialect: XRoadDialect): XRoadNames {
  const instance = dialect === 'trembita' ? 'SEVDEIR-TEST' : 'DEV';
  return {
    dialect,
    self: `${instance}/GOV/00000001/okno`,
    agency: `${instance}/GOV/12345678/dms`,
    stranger: `${instance}/COM/87654321/shop`,
    code: (id) => (dialect === 'trembita' ? `${id}_v1` : id),
  };
}

/** The configured registry plus `xroad` (the gateway) and two X-Road partners: the agency (sends both services) and a stranger (sends nothing). */
export function xroadRegistry(n: XRoadNames, edit?: (doc: Record<string, unknown>) => void): PartnerRegistry {
  return partnersWith((partners, doc) => {
    const d = doc as unknown as Record<string, unknown>;
    d.xroad = { self: n.self, dialect: n.dialect };
    partners.push(
      { id: 'xr-agency', name: 'Агентство (X-Road)', role: 'agency', sends: [APPLICATION, QUERY], receives: [], endpoint: null, transport: { mode: 'xroad', subsystem: n.agency, protocol: 'rest', dialect: n.dialect } },
      { id: 'xr-stranger', name: 'Чужой (X-Road)', role: 'agency', sends: [], receives: [], endpoint: null, transport: { mode: 'xroad', subsystem: n.stranger, protocol: 'rest', dialect: n.dialect } },
    );
    edit?.(d);
  });
}

export function example(serviceId: string, name: string): JsonValue {
  return JSON.parse(readFileSync(path.join(projectRoot, 'config/services', serviceId, name), 'utf8')) as JsonValue;
}

export interface RestServer {
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

/** A real HTTP server on a loopback port with the REST routes over `flow`'s context. */
export async function restServer(ctx: FlowContext, options: XRoadRestOptions = {}): Promise<RestServer> {
  const app = Fastify({ logger: false });
  registerXRoadRestRoutes(app, ctx, options);
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url: address, close: () => app.close() };
}

/** The headers a provider's Security Server forwards, in the dialect's spelling. */
export function forwarded(n: XRoadNames, o: { client?: string | null; id?: string | null; service?: string | null; userId?: string; extra?: Record<string, string> } = {}): Record<string, string> {
  const t = n.dialect === 'trembita';
  const h: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
  const set = (name: string, v: string | null | undefined, dflt: string | null) => {
    const value = v === undefined ? dflt : v;
    if (value !== null) h[name] = value;
  };
  set(t ? 'Uxp-Client' : 'X-Road-Client', o.client, n.agency);
  set(t ? 'Uxp-QueryID' : 'X-Road-Id', o.id, crypto.randomUUID());
  set(t ? 'Uxp-Service' : 'X-Road-Service', o.service, null);
  if (o.userId) h[t ? 'Uxp-Subject-Id' : 'X-Road-UserId'] = o.userId;
  return { ...h, ...o.extra };
}

/** Resolves when the store's next commit writes an inbox item: the request is stored and its call is waiting. */
export function nextInboxCommit(flow: TestFlow): Promise<void> {
  const store = flow.store;
  const original = store.commit.bind(store);
  return new Promise((resolve) => {
    store.commit = (async (...args: Parameters<typeof store.commit>) => {
      const result = await original(...args);
      if (args[0].feeds?.some((f) => f.feed === 'inbox')) {
        store.commit = original;
        resolve();
      }
      return result;
    }) as typeof store.commit;
  });
}
