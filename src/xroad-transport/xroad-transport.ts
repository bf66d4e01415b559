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
import { loadXRoadDocuments } from '../xroad/wsdl.js';
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
  return {
    name: 'xroad',
    registerRoutes(app) {
      registerXRoadSoapEndpoint(app, ctx);
      registerXRoadWsdlRoute(app, documents, ctx.config.publicUrl);
      o.extraRoutes?.(app, ctx);
    },
    checks: [['xroad', async () => ({ status: 'pass', detail: `${self.dialect === 'trembita' ? 'Trembita' : 'X-Road'} provider ${[self.subsystem.instance, self.subsystem.memberClass, self.subsystem.memberCode, self.subsystem.subsystemCode].join('/')}: ${[...documents.keys()].join(', ')}` })]],
    stop: async () => {},
  };
}
