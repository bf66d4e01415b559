/**
 * GET /ws/xroad/{serviceCode}?wsdl — the service's WSDL (src/xroad/wsdl.ts),
 * and ?xsd=<file> — its XSD files, every location pointing back here. 404 for
 * a code the gateway does not provide or a file not among the service's.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError } from '../http/errors.js';
import { XROAD_SOAP_PATH, type XRoadServiceDocuments } from '../xroad/wsdl.js';

export function registerXRoadWsdlRoute(app: FastifyInstance, documents: ReadonlyMap<string, XRoadServiceDocuments>, publicUrl: string | null): void {
  app.get<{ Params: { code: string } }>(`${XROAD_SOAP_PATH}/:code`, async (request, reply) => {
    const docs = documents.get(request.params.code);
    if (!docs) throw new HttpError(404, 'NOT_FOUND', `the gateway provides no X-Road service ${request.params.code}`);
    const query = new URLSearchParams(request.url.split('?')[1] ?? '');
    const base = publicUrl ?? baseUrlOf(request);
    const xsd = query.get('xsd');
    if (xsd !== null) {
      const body = docs.xsd(xsd, base);
      if (body === null) throw new HttpError(404, 'NOT_FOUND', `service ${docs.code} has no schema ${xsd}`);
      return reply.type('text/xml; charset=utf-8').send(body);
    }
    if (![...query.keys()].some((k) => k.toLowerCase() === 'wsdl')) throw new HttpError(404, 'NOT_FOUND', `ask for ${XROAD_SOAP_PATH}/${docs.code}?wsdl`);
    return reply.type('text/xml; charset=utf-8').send(docs.wsdl(base));
  });
}

/** From the request when PUBLIC_URL is not set (host names are limited to safe characters). */
function baseUrlOf(request: FastifyRequest): string {
  const host = /^[A-Za-z0-9.:[\]-]{1,255}$/.test(request.host) ? request.host : '127.0.0.1';
  return `${request.protocol}://${host}`;
}
