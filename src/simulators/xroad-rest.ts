/**
 * The REST side of the simulated Security Servers: the client's request as
 * its Security Server reads it, in either dialect — X-Road 7
 * (`/r1/{serviceId}/{path}`, X-Road-Client, …; the X-Road message protocol
 * for REST, doc/Protocols/pr-rest_x-road_message_protocol_for_rest.md) or
 * Trembita 2.0 (`/restapi/{path}`, Uxp-Client, Uxp-Service, …; names in
 * src/xroad/rest-dialects.ts) — the request hash (§4.3), the headers a
 * Security Server drops (§4.3 "Filtered headers"), and the documented error
 * body (§4.6: {type, message, detail} with the X-Road-Error header).
 */
import { createHash } from 'node:crypto';
import { parseMember, parseService, XRoadIdError, type XRoadMember, type XRoadService } from '../registry/xroad-members.js';
import type { RestDialect } from '../xroad/rest-dialects.js';
import { SecurityServerFault } from './xroad-soap.js';

/** Headers a Security Server never passes on (hop-by-hop, and those naming hosts); RestMessage.SKIPPED_HEADERS. */
export const FILTERED_HEADERS = new Set([
  'transfer-encoding',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'upgrade',
  'connection',
  'user-agent',
  'host',
  'content-length',
  'server',
  'expect',
]);

export const X_ROAD_REQUEST_ID = 'X-Road-Request-Id';
export const X_ROAD_ERROR = 'X-Road-Error';

export interface RestRequestLine {
  client: XRoadMember;
  service: XRoadService;
  /** The part of the path after the service id (or after /restapi), '' or starting with '/'. */
  servicePath: string;
  /** The query string with its '?', or ''. */
  query: string;
}

/** One header as it came (name as spelled), in order. */
export type HeaderPair = readonly [name: string, value: string];

/** Pairs from Node's rawHeaders. */
export function headerPairs(raw: readonly string[]): HeaderPair[] {
  const out: HeaderPair[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!]);
  return out;
}

/** The last value of a header (§4.3: several X-Road-Client headers: the last one counts), case-insensitively. */
export function headerValue(pairs: readonly HeaderPair[], name: string): string | null {
  const lower = name.toLowerCase();
  let found: string | null = null;
  for (const [n, v] of pairs) if (n.toLowerCase() === lower) found = v;
  return found;
}

function decodeParts(text: string): string {
  return text
    .split('/')
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        throw new SecurityServerFault('Client.BadRequest', `Invalid percent-encoding in "${text}"`);
      }
    })
    .join('/');
}

function badRequest(why: string): SecurityServerFault {
  return new SecurityServerFault('Client.BadRequest', `Error parsing the client's REST request (${why}). Please check that the request format corresponds to the X-Road Message Protocol for REST (r1).`);
}

/**
 * Reads the request line and the client / service headers of a dialect:
 * X-Road: /r1/INSTANCE/CLASS/CODE/SUBSYSTEM/SERVICECODE[/path] and
 * X-Road-Client; Trembita: /restapi[/path] with Uxp-Client and Uxp-Service.
 * Client.BadRequest (400) when it is not such a request.
 */
export function readRestRequest(dialect: RestDialect, url: string, pairs: readonly HeaderPair[]): RestRequestLine {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? '' : url.slice(q);
  const clientText = headerValue(pairs, dialect.client);
  if (!clientText) throw badRequest(`the ${dialect.client} header is missing`);
  let client: XRoadMember;
  let service: XRoadService;
  let servicePath: string;
  try {
    client = parseMember(decodeParts(clientText.trim()));
    if (dialect.dialect === 'xroad') {
      const m = /^\/(r\d+)\/([^/]+\/[^/]+\/[^/]+\/[^/]+\/[^/]+)(\/.*)?$/.exec(path);
      if (!m) throw badRequest(`the path must be /r1/INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICECODE[/path], not "${path}"`);
      if (m[1] !== 'r1') throw badRequest(`unsupported protocol version ${m[1]}`);
      service = parseService(decodeParts(m[2]!));
      servicePath = m[3] ?? '';
    } else {
      if (path !== '/restapi' && !path.startsWith('/restapi/')) throw badRequest(`the path must start with /restapi, not "${path}"`);
      const serviceText = headerValue(pairs, dialect.service);
      if (!serviceText) throw badRequest(`the ${dialect.service} header is missing`);
      service = parseService(decodeParts(serviceText.trim()), true);
      servicePath = path.slice('/restapi'.length);
    }
  } catch (error) {
    if (error instanceof XRoadIdError) throw badRequest(error.message);
    throw error;
  }
  return { client, service, servicePath, query };
}

/**
 * X-Road-Request-Hash (§4.3): base64(SHA512(SHA512(request) + SHA512(body))),
 * or base64(SHA512(request)) without a body, where the request is what the
 * Security Server serialises (RestRequest.toByteArray): the method, CRLF, the
 * path as the client sent it (with ?query), CRLF, then each header but the
 * filtered ones as "name:value" CRLF, in the order received, with
 * X-Road-Request-Id (and X-Road-Id when the Security Server made it) last.
 */
export function restRequestHash(method: string, pathAndQuery: string, headers: readonly HeaderPair[], body: Buffer): string {
  const lines = [method, pathAndQuery, ...headers.map(([n, v]) => `${n}:${v}`)];
  const request = createHash('sha512').update(`${lines.join('\r\n')}\r\n`, 'utf8').digest();
  if (body.length === 0) return request.toString('base64');
  const bodyDigest = createHash('sha512').update(body).digest();
  return createHash('sha512').update(request).update(bodyDigest).digest('base64');
}

/** The documented error answer (§4.6): status, X-Road-Error, JSON {type, message, detail}. */
export function restErrorAnswer(fault: SecurityServerFault, detail: string): { status: number; headers: Record<string, string>; body: string } {
  return {
    status: fault.httpStatus,
    headers: { 'Content-Type': 'application/json; charset=utf-8', [X_ROAD_ERROR]: fault.code },
    body: JSON.stringify({ type: fault.code, message: fault.message, detail }),
  };
}
