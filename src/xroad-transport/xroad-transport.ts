/**
 * X-Road / Trembita as one transport: the gateway provides the catalogue's
 * inbound services to X-Road clients through its Security Server — POST
 * /ws/xroad (SOAP, message protocol 4.0) and GET /ws/xroad/{code}?wsdl —
 * plus whatever routes `extraRoutes` adds (the REST provider,
 * rest-endpoint.ts). Started by one line in src/gateway.ts when the registry
 * names the gateway's own X-Road identity (partners.json `xroad`).
 */
import type { FastifyInstance } from 'fastify';
import type { FlowContext } from '../flows/context.js';
import type { Transport } from '../transport.js';
import type { CheckOutcome } from '../ops/readiness.js';
import { formatMember } from '../registry/xroad-members.js';
import { faultEnvelope } from '../xroad/faults.js';
import { REST_ERROR_CONTENT_TYPE, restTransportError, X_ROAD_ERROR_HEADER } from '../xroad/rest-errors.js';
import { loadXRoadDocuments, XROAD_SOAP_PATH } from '../xroad/wsdl.js';
import { registerXRoadSoapEndpoint } from './soap-endpoint.js';
import { registerXRoadWsdlRoute } from './wsdl-route.js';

export interface XRoadTransportOptions {
  ctx: FlowContext;
  /** More routes on the gateway's server (e.g. the REST provider's /xroad/rest/…). */
  extraRoutes?: (app: FastifyInstance, ctx: FlowContext) => void;
}

export function startXRoadTransport(o: XRoadTransportOptions): Transport {
  const { ctx } = o;
  const self = ctx.partners.xroad;
  if (!self) throw new Error('startXRoadTransport: the registry names no X-Road identity (partners.json "xroad")');
  // The WSDLs and XSDs: read and templated once, here.
  const documents = loadXRoadDocuments(ctx.catalogue, self);
  // Calls waiting for the city's answer end when the gateway closes (preClose), so they do not hold the shutdown.
  const closing = new AbortController();
  return {
    name: 'xroad',
    registerRoutes(app) {
      app.addHook('preClose', async () => closing.abort());
      app.register(async (scope) => {
        // Only the gateway's Security Server may call (registry xroad.allowFrom): it vouches for the client ids.
        scope.addHook('onRequest', async (request, reply) => {
          // The client behind a trusted balancer (TRUSTED_PROXIES), else the peer.
          const address = request.ip ?? '';
          if (self.allows(address)) return;
          request.log.warn({ address, url: request.url }, 'X-Road call from an address not in xroad.allowFrom refused');
          const message = `${address || 'this address'} is not the gateway's Security Server (xroad.allowFrom)`;
          if (request.url.startsWith(XROAD_SOAP_PATH)) {
            return reply.status(403).type('text/xml; charset=utf-8').send(faultEnvelope({ faultcode: 'Client.AccessDenied', faultstring: message, status: 403 }, request.id));
          }
          const error = restTransportError(403, 'Client.AccessDenied', message, request.id);
          return reply.status(403).header(X_ROAD_ERROR_HEADER, error.body.type).type(REST_ERROR_CONTENT_TYPE).send(JSON.stringify(error.body));
        });
        registerXRoadSoapEndpoint(scope, ctx, closing.signal);
        registerXRoadWsdlRoute(scope, documents, ctx.config.publicUrl);
        o.extraRoutes?.(scope, ctx);
      });
    },
    checks: [
      ['xroad', async () => ({ status: 'pass', detail: `${self.dialect === 'trembita' ? 'Trembita' : 'X-Road'} provider ${formatMember(self.subsystem)}: ${[...documents.keys()].join(', ')}` })],
      ...(self.securityServer ? [['xroadSecurityServer', () => securityServerReachable(self.securityServer!)] as const] : []),
    ],
    stop: async () => closing.abort(),
  };
}

/**
 * The gateway's own Security Server answers HTTP at all (any status will do): the city's queries
 * to X-Road partners go there. A warning, not a failure: inbound calls come from it and do not
 * need this direction, and queries wait in their queue and are retried.
 */
async function securityServerReachable(url: string): Promise<CheckOutcome> {
  try {
    const res = await fetch(url, { method: 'GET', signal: AbortSignal.timeout(2_000) });
    await res.body?.cancel();
    return { status: 'pass', detail: `the Security Server ${url} answers (HTTP ${res.status})` };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
    return { status: 'warn', detail: `the Security Server ${url} does not answer (${cause}): the city's queries to X-Road partners wait in their queue and are retried` };
  }
}
