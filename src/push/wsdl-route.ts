/** GET /ws/smev3?wsdl (and ?xsd=NAME&v=VERSION): the service description, with every location pointing back here. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError } from '../http/errors.js';
import { SOAP_PATH, wsdlQuery } from '../soap/wsdl-files.js';

export function registerWsdlRoute(app: FastifyInstance, publicUrl: string | null): void {
  app.get(SOAP_PATH, async (request, reply) => {
    const query = new URLSearchParams(request.url.split('?')[1] ?? '');
    const found = wsdlQuery(query, publicUrl ?? baseUrlOf(request));
    if (!found) throw new HttpError(404, 'NOT_FOUND', 'ask for ?wsdl (optionally &v=1.2 or 1.3) or ?xsd=<name>&v=<version>');
    return reply.type(found.contentType).send(found.body);
  });
}

/** From the request when PUBLIC_URL is not set (host names are limited to safe characters). */
function baseUrlOf(request: FastifyRequest): string {
  const host = /^[A-Za-z0-9.:[\]-]{1,255}$/.test(request.host) ? request.host : '127.0.0.1';
  return `${request.protocol}://${host}`;
}
