/**
 * The OpenAPI description of one catalogue service the gateway provides as an
 * X-Road REST service (PR-REST §5.1: REST services are described with
 * OpenAPI 3; a Security Server administrator adds the service from it).
 *
 * One operation, POST /{serviceCode} under the server URL …/xroad/rest: the
 * request body is the city's JSON of the service (its JSON Schema, derived
 * from the XSD package or hand-written); the answer is the gateway's receipt
 * (application services: 201, {applicationId, registrationNumber, receivedAt})
 * or the city's answer (query services: 200, the service's response schema).
 * The dialect's headers are declared as parameters (X-Road-Client / Uxp-Client
 * and X-Road-Id / Uxp-QueryID required, as a provider's Security Server always
 * forwards them), the echoed ones as response headers, and every error as the
 * documented error body (rest-errors.ts).
 *
 * OpenAPI 3.1, so the services' JSON Schemas (draft 2020-12) go in as they are,
 * their $defs as components (catalogue/schema-components.ts).
 */
import type { ServiceDefinition } from '../catalogue/types.js';
import { schemaComponents, type Json, type JsonObject } from '../catalogue/schema-components.js';
import { formatMember, formatService, serviceOf, type XRoadMember } from '../registry/xroad-members.js';
import type { RestDialect } from './rest-dialects.js';
import { REST_ERROR_SCHEMA } from './rest-errors.js';

/** Where the gateway serves its X-Road REST services (the service URL a Security Server maps the service ids to). */
export const XROAD_REST_PREFIX = '/xroad/rest';

/** The receipt an application service answers with (the same fields as the SOAP Receipt element). */
export const RECEIPT_SCHEMA = Object.freeze({
  type: 'object',
  description: 'The gateway took the application: stored before this answer, announced to the city.',
  required: ['applicationId', 'registrationNumber', 'receivedAt'],
  additionalProperties: false,
  properties: {
    applicationId: { type: 'string', description: 'The application’s id in the gateway.' },
    registrationNumber: { type: 'string', description: 'Its registration number, e.g. РК-2026-000123.' },
    receivedAt: { type: 'string', format: 'date-time', description: 'When the gateway received it.' },
  },
});

export interface RestOpenApiInput {
  readonly service: ServiceDefinition;
  /** The code the gateway serves it under (registry xroad.services, xroadServiceCode). */
  readonly code: string;
  readonly dialect: RestDialect;
  /** The gateway's subsystem (registry xroad.self), the provider of the service. */
  readonly provider: XRoadMember;
  /** The server URL, e.g. https://okno.example/xroad/rest; default XROAD_REST_PREFIX. */
  readonly serverUrl?: string;
}

function errorResponse(description: string, dialect: RestDialect, xroadError = true): JsonObject {
  const headers: JsonObject = echoedHeaders(dialect);
  if (xroadError) headers['X-Road-Error'] = { description: 'The error type (the body’s `type`): the gateway refused the request as the protocol says.', schema: { type: 'string' } };
  return { description, headers, content: { 'application/json': { schema: { $ref: '#/components/schemas/XRoadRestError' } } } };
}

function echoedHeaders(dialect: RestDialect): JsonObject {
  const h: JsonObject = {
    [dialect.client]: { description: 'The client, as the request named it.', schema: { type: 'string' } },
    [dialect.id]: { description: 'The message id, as the request named it.', schema: { type: 'string' } },
    [dialect.service]: { description: 'The service id.', schema: { type: 'string' } },
  };
  if (dialect.requestHash !== null) h[dialect.requestHash] = { description: 'base-64 SHA-512 request hash (PR-REST §4.3); the provider Security Server writes its own.', schema: { type: 'string' } };
  return h;
}

function headerParameters(dialect: RestDialect, serviceId: string): Json[] {
  const p = (name: string, required: boolean, description: string, example?: string): JsonObject => ({
    name,
    in: 'header',
    required,
    description,
    schema: { type: 'string' },
    ...(example === undefined ? {} : { example }),
  });
  const out: JsonObject[] = [
    p(dialect.client, true, 'The client: INSTANCE/CLASS/MEMBER[/SUBSYSTEM], each part percent-encoded UTF-8. Must belong to a partner allowed this service.'),
    p(dialect.id, true, 'The message id, unique per request (a UUID); a repeat with the same id is answered once, not stored twice.'),
    p(dialect.service, false, `The service id; when present it must be ${serviceId}.`, serviceId),
    p(dialect.userId, false, dialect.dialect === 'trembita' ? 'Whom the query is about / the user on whose behalf it is made.' : 'The user whose action initiated the request, prefixed with a two-letter country code (EE12345678901).'),
  ];
  if (dialect.dialect === 'xroad') out.push(p('X-Road-Issue', false, 'The application, issue or document that caused the request.'));
  if (dialect.purposeIds !== null) out.push(p(dialect.purposeIds, false, 'The purposes of the query (Trembita), kept in the journal.'));
  return out;
}

/** The OpenAPI 3.1 document of one provided REST service. */
export function restServiceOpenApi(input: RestOpenApiInput): JsonObject {
  const { service, code, dialect } = input;
  const serviceId = formatService(serviceOf(input.provider, code, null), false);
  const isQuery = service.kind === 'query';
  const requestName = 'Request';
  const responseName = isQuery ? 'Response' : 'Receipt';
  const schemas: Record<string, JsonObject> = {
    ...schemaComponents(service.jsonSchemas.request, requestName),
    ...(isQuery ? schemaComponents(service.jsonSchemas.response, responseName) : { Receipt: RECEIPT_SCHEMA as unknown as JsonObject }),
    XRoadRestError: REST_ERROR_SCHEMA as unknown as JsonObject,
  };
  const ok: JsonObject = {
    description: isQuery ? 'The city’s answer.' : 'The application was taken: the gateway’s receipt.',
    headers: echoedHeaders(dialect),
    content: { 'application/json': { schema: { $ref: `#/components/schemas/${responseName}` } } },
  };
  const responses: JsonObject = {
    [isQuery ? '200' : '201']: ok,
    '400': errorResponse('A required header is missing or malformed (Client.MissingHeaderField, Client.InvalidClientIdentifier, Client.InvalidServiceIdentifier, Client.InvalidHeaderField), or the body is not the service’s JSON (Client.InvalidBody, naming the field).', dialect),
    '403': errorResponse('The client is no registered partner (Client.UnknownMember) or is not allowed this service (Client.AccessDenied).', dialect),
    '404': errorResponse('The service id names another service or provider (Client.UnknownService).', dialect),
    '409': errorResponse('The message id came before with other content (Client.DuplicateId).', dialect),
    '413': errorResponse('The body is larger than the gateway takes.', dialect),
    '415': errorResponse('The body is not JSON (Client.InvalidContentType).', dialect),
    '503': errorResponse('The gateway could not store or answer the request (Server.InternalError): call again with the same message id.', dialect),
  };
  if (isQuery) {
    responses['422'] = errorResponse('The city refused the query: Server.ServiceFailed.{reject code}, e.g. Server.ServiceFailed.NO_DATA.', dialect, false);
    responses['504'] = errorResponse('The city did not answer in time (Server.ServiceTimeout): call again with the same message id.', dialect);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: `${service.title} (${code})`,
      version: '1.0.0',
      description: `${isQuery ? 'A query the city answers' : 'An application to the city'}, served by the Okno gateway as the ${dialect.dialect === 'trembita' ? 'Trembita (UXP)' : 'X-Road'} REST service ${serviceId} of ${formatMember(input.provider)}. Catalogue service: ${service.id}.`,
    },
    servers: [{ url: input.serverUrl ?? XROAD_REST_PREFIX }],
    paths: {
      [`/${encodeURIComponent(code)}`]: {
        post: {
          operationId: operationId(code),
          summary: service.title,
          parameters: headerParameters(dialect, serviceId),
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: `#/components/schemas/${requestName}` } } } },
          responses,
        },
      },
    },
    components: { schemas },
  };
}

/** An operationId from the code: letters, digits and _ only. */
function operationId(code: string): string {
  const id = code.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[A-Za-z_]/.test(id) ? id : `_${id}`;
}
