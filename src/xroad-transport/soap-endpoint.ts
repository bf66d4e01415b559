/**
 * POST /ws/xroad — X-Road message protocol 4.0 (SOAP 1.1), as a Security
 * Server calls a service provider's information system. Raw bytes (the
 * journal keeps what arrived; the response echoes the header elements as
 * they were written), text/xml only, bounded by MAX_BODY_BYTES; the order of
 * checks is soap-intake.ts's. A transport-level refusal (another content
 * type, a body too large) is a fault too.
 */
import type { FastifyInstance } from 'fastify';
import { opsEvents } from '../events/messages.js';
import type { FlowContext } from '../flows/context.js';
import { faultEnvelope, faultOf } from '../xroad/faults.js';
import { XRoadRefusal } from '../xroad/refusal.js';
import { XROAD_SOAP_PATH } from '../xroad/wsdl.js';
import { processXRoadSoap } from './soap-intake.js';

export function registerXRoadSoapEndpoint(app: FastifyInstance, ctx: FlowContext): void {
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('text/xml', { parseAs: 'buffer', bodyLimit: ctx.config.maxBodyBytes }, (_req, body, done) => done(null, body));
    scope.setErrorHandler(async (error: Error & { statusCode?: number }, request, reply) => {
      const status = error.statusCode && error.statusCode < 500 ? error.statusCode : 500;
      if (status === 500) request.log.error({ err: error }, 'X-Road SOAP endpoint failed');
      const refusal =
        status === 413
          ? new XRoadRefusal('bad-content', 'the message is larger than the gateway accepts (MAX_BODY_BYTES)', 'InvalidBody')
          : status === 415
            ? new XRoadRefusal('bad-content', 'send SOAP 1.1 with Content-Type text/xml (X-Road message protocol 4.0)', 'InvalidContentType')
            : status === 500
              ? new XRoadRefusal('unavailable', 'the gateway could not process the request; call again later')
              : new XRoadRefusal('bad-content', 'the request could not be read', 'InvalidBody');
      const fault = faultOf(refusal);
      return reply.status(status).type('text/xml; charset=utf-8').send(faultEnvelope(fault, request.id));
    });

    scope.post(XROAD_SOAP_PATH, async (request, reply) => {
      // A client that hangs up stops a waiting call (its answer stays for a repeat with the same id).
      const gone = new AbortController();
      reply.raw.once('close', () => {
        if (!reply.raw.writableEnded) gone.abort();
      });
      const answer = await processXRoadSoap(ctx, { raw: request.body as Buffer, correlationId: request.id, receivedAt: ctx.now(), signal: gone.signal }, request.log);
      opsEvents.publish(answer.event);
      return reply.status(answer.status).type('text/xml; charset=utf-8').send(answer.body);
    });
  });
}
