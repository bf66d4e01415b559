/**
 * POST /ws/smev3 — the SMEV 3 message-exchange endpoint (SOAP 1.1).
 *
 * Why not node-soap's server: it verifies no signatures, parses the whole
 * envelope into objects before anyone could check them, and has no notion of
 * "translate only what the signature covers". Here the order is fixed (see
 * smev-intake.ts): parse (no DTDs, bounded) → verify signatures by position →
 * check the partner's rights → validate the content → translate the signed
 * element → store atomically → reply signed. Every answer, success or fault,
 * is journaled with the raw envelopes.
 *
 * Bodies of LARGE_MESSAGE_BYTES or more go to the large-message lane (a worker
 * thread running the same intake) when there is one, so that the event loop
 * keeps serving the small messages meanwhile.
 */
import type { FastifyInstance } from 'fastify';
import type { FlowContext } from '../flows/context.js';
import { opsEvents } from '../events/messages.js';
import { faultEnvelope, SmevFault } from '../soap/faults.js';
import type { SoapAccess } from './access.js';
import type { LargeMessageLane } from './large-message-lane.js';
import { processSmevPost, type SmevAnswer, type SmevPost } from './smev-intake.js';

export function registerSmevEndpoint(app: FastifyInstance, ctx: FlowContext, access?: SoapAccess, lane?: LargeMessageLane | null): void {
  app.register(async (scope) => {
    // Floods are refused before their bodies are parsed (src/push/access.ts).
    if (access) {
      scope.addHook('onRequest', access.admitClient);
      scope.addHook('preHandler', access.admitInFlight);
    }
    // Raw bytes: the signature is checked over exactly what arrived. No other
    // body parser (JSON, text) reaches this scope: anything else is a 415 fault.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(['text/xml', 'application/xml'], { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    scope.addContentTypeParser('application/soap+xml', { parseAs: 'buffer' }, (_req, _body, done) => {
      done(Object.assign(new Error('SOAP 1.2 (application/soap+xml) is not supported; send SOAP 1.1 as text/xml'), { statusCode: 415 }), undefined);
    });
    // Transport-level problems (wrong content type, body too large) still get a SOAP fault.
    scope.setErrorHandler(async (error: Error & { statusCode?: number }, request, reply) => {
      const status = error.statusCode && error.statusCode < 500 ? error.statusCode : 500;
      if (status === 500) request.log.error({ err: error }, 'SOAP endpoint failed');
      const fault = status === 500 ? new SmevFault('SMEVFailure', 'the gateway could not process the message; retry later') : new SmevFault('InvalidContent', transportMessage(error, status));
      return reply.status(status).type('text/xml; charset=utf-8').send(faultEnvelope(fault, '1.1', request.id));
    });

    scope.post('/ws/smev3', async (request, reply) => {
      const raw = request.body as Buffer;
      const header = request.headers.soapaction;
      const post: SmevPost = {
        raw,
        correlationId: request.id,
        receivedAt: ctx.now(),
        soapAction: Array.isArray(header) ? header[0] : header,
        tlsClient: access?.tlsClientOf(request) ?? { kind: 'none' },
      };
      const answer: SmevAnswer = lane?.takes(raw.length) ? await lane.process(post, request.log) : await processSmevPost(ctx, access ?? null, post, request.log);
      opsEvents.publish(answer.event);
      if (answer.retryAfterSeconds) reply.header('retry-after', String(answer.retryAfterSeconds));
      return reply.status(answer.status).type('text/xml; charset=utf-8').send(answer.body);
    });
  });
}

function transportMessage(error: Error & { code?: string }, status: number): string {
  if (status === 413) return 'the message is larger than the gateway accepts (MAX_BODY_BYTES)';
  if (status === 415) return error.message.includes('SOAP 1.2') ? error.message : 'send SOAP 1.1 with Content-Type text/xml';
  return 'the request could not be read';
}
