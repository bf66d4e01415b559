/**
 * The error body of the X-Road message protocol for REST (PR-REST §4.6):
 *
 *   {"type": "Client.AccessDenied", "message": "…", "detail": "…"}
 *
 * with Content-Type application/json;charset=utf-8 and the X-Road-Error header
 * carrying the type. X-Road error types start with Client (the consumer's
 * request is wrong) or Server (the provider side failed); `detail`
 * carries an id to track the error by (here the message's X-Road id, else the
 * gateway's correlation id).
 *
 * X-Road-Error marks an error that X-Road itself raised (§4.6 example 5). The
 * gateway raises protocol refusals (headers, unknown service or client, access
 * rights, the body, the wait for the city) in the provider Security Server's
 * place, so they carry it; the city's own rejection is the service's answer
 * (category 1), so it goes without, in the same body shape.
 */
import type { XRoadRefusal, XRoadRefusalKind } from './refusal.js';

export interface RestErrorBody {
  readonly type: string;
  readonly message: string;
  readonly detail: string;
}

export interface RestError {
  readonly status: number;
  readonly body: RestErrorBody;
  /** Whether the response carries X-Road-Error (false only for the city's own rejection). */
  readonly xroadError: boolean;
}

export const REST_ERROR_CONTENT_TYPE = 'application/json;charset=utf-8';
export const X_ROAD_ERROR_HEADER = 'X-Road-Error';

/** The status per refusal; the types are the SOAP side's fault codes (src/xroad/faults.ts), so one refusal reads the same in both. */
const BY_KIND: Readonly<Record<XRoadRefusalKind, { status: number; type: string }>> = {
  'bad-header': { status: 400, type: 'Client.BadRequest' },
  'bad-protocol-version': { status: 400, type: 'Client.InvalidProtocolVersion' },
  'unknown-service': { status: 404, type: 'Client.UnknownService' },
  'unknown-client': { status: 403, type: 'Client.UnknownMember' },
  'unauthorised-client': { status: 403, type: 'Client.AccessDenied' },
  'bad-content': { status: 400, type: 'Client.InvalidBody' },
  'id-reused': { status: 409, type: 'Client.DuplicateId' },
  rejected: { status: 422, type: 'Server.ServiceFailed' },
  'answer-timeout': { status: 504, type: 'Server.ServiceTimeout' },
  unavailable: { status: 503, type: 'Server.InternalError' },
};

/**
 * The REST error for a refusal. A header or body refusal's refinement is the type's last part
 * (Client.MissingHeaderField, Client.InvalidClientIdentifier, Client.InvalidBody); the city's
 * rejection carries its reject code (Server.ServiceFailed.NO_DATA).
 */
export function restErrorFor(refusal: XRoadRefusal, detail: string): RestError {
  const base = BY_KIND[refusal.kind];
  const type =
    (refusal.kind === 'bad-header' || refusal.kind === 'bad-content') && refusal.code && /^[A-Z][A-Za-z]+$/.test(refusal.code)
      ? `Client.${refusal.code}`
      : refusal.kind === 'rejected'
        ? `${base.type}.${refusal.code ?? 'FAILURE'}`
        : base.type;
  return { status: base.status, body: { type, message: refusal.message, detail }, xroadError: refusal.kind !== 'rejected' };
}

/** A transport-level error (content type, size, unreadable JSON) before any refusal: Client.* with the given status. */
export function restTransportError(status: number, type: string, message: string, detail: string): RestError {
  return { status, body: { type, message, detail }, xroadError: true };
}

/** The JSON Schema of the error body (for the OpenAPI description). */
export const REST_ERROR_SCHEMA = Object.freeze({
  type: 'object',
  description: 'The X-Road message protocol for REST error body (PR-REST §4.6).',
  required: ['type', 'message', 'detail'],
  properties: {
    type: { type: 'string', description: 'Client.* (the request is wrong) or Server.* (the provider failed), e.g. Client.InvalidBody, Client.AccessDenied, Server.ServiceFailed.NO_DATA.' },
    message: { type: 'string', description: 'What went wrong, naming the header or the field.' },
    detail: { type: 'string', description: 'An id to track the error by: the X-Road id of the request, else the gateway’s correlation id.' },
  },
});
