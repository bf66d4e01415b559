/** Interagency queries from the city's side: ask an agency, follow the query; answer an agency's query. */
import type {} from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { answerRequest, REJECT_CODES, requestView, type CityAnswer } from '../flows/city-answers.js';
import type { FlowContext } from '../flows/context.js';
import { createQuery, queryView, type QueryInput } from '../flows/queries.js';
import type { TokenAuth } from '../http/auth.js';
import { errorResponse } from '../http/openapi-errors.js';
import { HttpError } from '../http/errors.js';
import { idParams } from '../http/schemas.js';
import { contentComponentsDescription } from './service-schemas.js';

export function registerQueryRoutes(app: FastifyInstance, ctx: FlowContext, auth: TokenAuth): void {
  const security = [{ bearer: [] }];
  const city = auth.require('city');
  const outboundServices = ctx.catalogue.services.filter((s) => s.kind === 'query' && s.direction === 'outbound');
  const outbound = outboundServices.map((s) => s.id);
  const inboundServices = ctx.catalogue.services.filter((s) => s.kind === 'query' && s.direction === 'inbound');

  app.post<{ Body: QueryInput }>(
    '/api/v1/queries',
    {
      onRequest: city,
      schema: {
        tags: ['queries'],
        summary: 'Send an interagency query to the agency that serves the service (signed SendRequest; to an X-Road / Trembita partner: through the Security Server, with userId / purposeIds)',
        description: contentComponentsDescription('`data` follows the request schema of its `service`:', outboundServices, 'request'),
        security,
        body: {
          type: 'object',
          properties: {
            service: { type: 'string', enum: outbound },
            data: { type: 'object', description: "the query in the service's JSON model: the component service.<service>.request (see the operation's description)" },
            applicationId: { type: 'string', minLength: 1, maxLength: 100 },
            partner: { type: 'string', minLength: 1, maxLength: 64, description: 'the agency, when several receive the service' },
            deadline: { type: 'string', format: 'date-time', description: 'when to give up waiting (default now + QUERY_DEADLINE_HOURS)' },
            userId: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[^\\u0000-\\u001f]+$', description: "X-Road / Trembita partners: the user on whose behalf the city asks (xrd:userId, X-Road-UserId, Trembita's Uxp-Subject-Id), e.g. UA1234567890; default: the city's member code (xroad.self). Not sent to SMEV agencies" },
            purposeIds: { type: 'array', maxItems: 20, items: { type: 'string', minLength: 1, maxLength: 100, pattern: '^[^,\\s]+$' }, description: 'Trembita REST partners: why the city asks (Uxp-Purpose-Ids). Ignored for others' },
            files: {
              type: 'array',
              maxItems: 20,
              description: "files (POST /api/v1/files) the query carries: signed by the gateway (detached CMS), sent as MTOM parts up to ATTACHMENT_INLINE_MAX_BYTES, larger ones (pull mode only) through the exchange's file store",
              items: {
                type: 'object',
                properties: { id: { type: 'string', pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$', description: 'the file id POST /api/v1/files returned' } },
                required: ['id'],
                additionalProperties: false,
              },
            },
          },
          required: ['service', 'data'],
          additionalProperties: false,
        },
        response: { 202: { type: 'object', properties: { id: { type: 'string' }, messageId: { type: 'string' } }, required: ['id', 'messageId'] }, 409: errorResponse('No agency, or several, receive the service (NO_AGENCY, SEVERAL_AGENCIES)'), 422: errorResponse('A file named in files cannot be sent: unknown id (UNKNOWN_FILE), larger than ATTACHMENT_INLINE_MAX_BYTES to a push-mode agency (FILE_TOO_LARGE), a MIME type the service does not take (MIME_TYPE_NOT_ALLOWED), named twice (DUPLICATE_FILE)') },
      },
    },
    async (request, reply) => {
      const query = await createQuery(ctx, ctx.lifecycle, request.body);
      request.log.info({ queryId: query.id, service: query.service, partner: query.partner, messageId: query.messageId }, 'query created');
      return reply.status(202).send({ id: query.id, messageId: query.messageId });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/queries/:id',
    { onRequest: city, schema: { tags: ['queries'], summary: 'A query: sent, answered (with the answer), rejected (with the reasons) or failed (with why)', security, params: idParams } },
    async (request) => {
      const view = await queryView(ctx, request.params.id);
      if (!view) throw new HttpError(404, 'NOT_FOUND', `no query ${request.params.id}`);
      return view;
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/requests/:id',
    { onRequest: city, schema: { tags: ['queries'], summary: "An agency's query to the city, the city's answer and its delivery", security, params: idParams } },
    async (request) => {
      const view = await requestView(ctx, request.params.id);
      if (!view) throw new HttpError(404, 'NOT_FOUND', `no request ${request.params.id}`);
      return view;
    },
  );

  app.post<{ Params: { id: string }; Body: CityAnswer }>(
    '/api/v1/requests/:id/response',
    {
      onRequest: city,
      schema: {
        tags: ['queries'],
        summary: "Answer an agency's query: content, or a rejection (sent as a signed SendResponse)",
        description: contentComponentsDescription("`data` follows the response schema of the query's service:", inboundServices, 'response'),
        security,
        params: idParams,
        body: {
          oneOf: [
            {
              type: 'object',
              properties: {
                data: { type: 'object' },
                files: {
                  type: 'array',
                  maxItems: 20,
                  description: "files (POST /api/v1/files) the answer carries: signed by the gateway (detached CMS), sent as MTOM parts up to ATTACHMENT_INLINE_MAX_BYTES, larger ones (pull mode only) through the exchange's file store",
                  items: {
                    type: 'object',
                    properties: { id: { type: 'string', pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$', description: 'the file id POST /api/v1/files returned' } },
                    required: ['id'],
                    additionalProperties: false,
                  },
                },
              },
              required: ['data'],
              additionalProperties: false,
            },
            {
              type: 'object',
              properties: {
                reject: {
                  type: 'object',
                  properties: { code: { type: 'string', enum: [...REJECT_CODES] }, description: { type: 'string', minLength: 1, maxLength: 4000 } },
                  required: ['code', 'description'],
                  additionalProperties: false,
                },
              },
              required: ['reject'],
              additionalProperties: false,
            },
          ],
        },
        response: { 202: { type: 'object', properties: { id: { type: 'string' }, messageId: { type: 'string' } }, required: ['id', 'messageId'] }, 409: errorResponse('The request was already answered, or its service has no response content'), 422: errorResponse('A file named in files cannot be sent: unknown id (UNKNOWN_FILE), larger than ATTACHMENT_INLINE_MAX_BYTES to a push-mode agency (FILE_TOO_LARGE), a MIME type the service does not take (MIME_TYPE_NOT_ALLOWED), named twice (DUPLICATE_FILE)') },
      },
    },
    async (request, reply) => {
      const answered = await answerRequest(ctx, request.params.id, request.body);
      request.log.info({ requestId: answered.id, service: answered.service, partner: answered.partner, state: answered.state }, 'request answered');
      return reply.status(202).send({ id: answered.id, messageId: answered.responseMessageId! });
    },
  );
}
