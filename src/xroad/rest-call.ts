/**
 * The consumer's side of X-Road REST, in both dialects (rest-dialects.ts):
 * the request to the client's Security Server, and the reading of its answer.
 *
 * X-Road 7 (message protocol for REST r1): POST {ss}/r1/{serviceId} with
 * X-Road-Client, X-Road-Id, X-Road-UserId; the answer echoes X-Road-Id and
 * adds X-Road-Request-Hash. Errors (§4.6): a 4xx/5xx status with the body
 * {"type": "Client.*" | "Server.*", "message", "detail"} (X-Road-Error names
 * the type when a Security Server failed), or the provider's own error.
 *
 * Trembita 2.0 (UXP): POST {ss}/restapi with Uxp-Client, Uxp-Service (the
 * service id, with its ServiceName_vN code), Uxp-QueryID, Uxp-Subject-Id and
 * Uxp-Purpose-Ids.
 */
import type { ContentDefinition } from '../catalogue/types.js';
import { formatMember, formatService, type XRoadMember, type XRoadService } from '../registry/xroad-members.js';
import type { JsonValue } from '../store/types.js';
import type { RestDialect } from './rest-dialects.js';

export interface RestCall {
  dialect: RestDialect;
  /** The client's Security Server, e.g. http://127.0.0.1:8095 (no trailing slash). */
  securityServer: string;
  client: XRoadMember;
  service: XRoadService;
  /** Unique per message; a retry of the same query repeats it. */
  id: string;
  userId: string | null;
  /** Trembita's Uxp-Purpose-Ids (ignored by X-Road). */
  purposeIds: readonly string[];
  body: JsonValue;
}

export interface RestRequest {
  url: string;
  /** The headers as sent (their spelling is the dialect's). */
  headers: Record<string, string>;
  body: string;
}

/** The HTTP request for a call: where it goes, its headers and JSON body. */
export function restRequest(c: RestCall): RestRequest {
  const d = c.dialect;
  const serviceId = formatService(c.service, false);
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    accept: 'application/json',
    [d.client]: formatMember(c.client),
    [d.id]: c.id,
  };
  // X-Road: the path names the service (its Security Server sets X-Road-Service); Trembita: the header does.
  if (d.dialect === 'trembita') headers[d.service] = serviceId;
  if (c.userId !== null) headers[d.userId] = c.userId;
  if (d.purposeIds !== null && c.purposeIds.length > 0) headers[d.purposeIds] = c.purposeIds.join(',');
  return { url: `${c.securityServer}${d.clientPath(serviceId, '')}`, headers, body: JSON.stringify(c.body) };
}

/** The protocol headers of a message (the dialect's, as received), for the journal. */
export function restHeaderRecord(d: RestDialect, headers: Headers | Record<string, string>): Record<string, string> {
  const names = [d.client, d.service, d.id, d.userId, d.requestHash, d.purposeIds, 'X-Road-Error'].filter((h): h is string => h !== null);
  const get = (n: string) => (headers instanceof Headers ? headers.get(n) : (Object.entries(headers).find(([k]) => k.toLowerCase() === n.toLowerCase())?.[1] ?? null));
  const out: Record<string, string> = {};
  for (const n of names) {
    const v = get(n);
    if (v !== null && v !== undefined) out[n] = v;
  }
  return out;
}

export type RestReply =
  | { kind: 'answer'; json: JsonValue }
  /** An error status: X-Road's error body (type Client.* / Server.*) or the provider's own. */
  | { kind: 'error'; status: number; type: string | null; message: string }
  | { kind: 'invalid'; reason: string };

/**
 * Reads the answer to `sent`: 2xx → the JSON, validated against the service's
 * response schema; an error status → its type and message. An echoed id that
 * is not ours is refused.
 */
export function readRestResponse(status: number, headers: Headers, body: string, sent: RestRequest, d: RestDialect, response: ContentDefinition): RestReply {
  let json: unknown;
  let parsed = true;
  try {
    json = body.length > 0 ? JSON.parse(body) : null;
  } catch {
    parsed = false;
  }
  if (status < 200 || status > 299) {
    const e = parsed && json !== null && typeof json === 'object' && !Array.isArray(json) ? (json as Record<string, unknown>) : {};
    const type = typeof e.type === 'string' ? e.type : headers.get('X-Road-Error');
    const message = typeof e.message === 'string' ? e.message : typeof e.error === 'string' ? e.error : body.slice(0, 300);
    return { kind: 'error', status, type: type ?? null, message };
  }
  const echoed = headers.get(d.id);
  if (echoed !== null && echoed !== sent.headers[d.id]) return { kind: 'invalid', reason: `the answer's ${d.id} is "${echoed.slice(0, 200)}", not the request's "${sent.headers[d.id]}"` };
  if (!parsed) return { kind: 'invalid', reason: 'the answer is not JSON' };
  const problems = response.validateJson(json);
  if (problems.length > 0) return { kind: 'invalid', reason: `the answer does not fit the service's response schema: ${problems.slice(0, 5).map((p) => `${p.path || '/'} ${p.rule}`).join('; ')}` };
  return { kind: 'answer', json: json as JsonValue };
}

/** Whether an error means the request itself is wrong (sending it again will not help): Client.* types, 4xx statuses. */
export function isPermanentRestError(status: number, type: string | null): boolean {
  if (type !== null && /^Client(\.|$)/.test(type)) return true;
  if (type !== null && /^Server(\.|$)/.test(type)) return false;
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}
