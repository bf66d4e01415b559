/**
 * The two REST dialects a Security Server speaks to an information system.
 *
 * X-Road 7 (NIIS, "X-Road message protocol for REST" 1.x): the client calls
 * {securityServer}/r1/{INSTANCE/CLASS/CODE/SUBSYSTEM/SERVICECODE}/{path} with
 * X-Road-Client (its subsystem), optionally X-Road-Id and X-Road-UserId; the
 * provider's Security Server forwards to the provider's service URL with the
 * same headers plus X-Road-Service, and X-Road-Request-Hash comes back on the
 * response.
 *
 * Trembita 2.0 (Cybernetica UXP): the client calls {securityServer}/restapi/{path}
 * with Uxp-Client, Uxp-Service (the service id, with its ServiceName_vN code),
 * Uxp-QueryID (the message id), Uxp-Subject-Id (whom the query is about / the
 * user) and Uxp-Purpose-Ids (why).
 *
 * Header names are compared case-insensitively (HTTP); these are the
 * spellings sent.
 */
import type { XRoadDialect } from '../registry/xroad-members.js';

export interface RestDialect {
  readonly dialect: XRoadDialect;
  /** The client's subsystem, INSTANCE/CLASS/CODE/SUBSYSTEM. */
  readonly client: string;
  /** The service id (X-Road: set by the provider's Security Server; Trembita: sent by the client). */
  readonly service: string;
  /** The message id, unique per request. */
  readonly id: string;
  /** The end user on whose behalf the system asks (X-Road-UserId; Trembita's Uxp-Subject-Id). */
  readonly userId: string;
  /** The hash of the request, on the response (X-Road only; null in Trembita). */
  readonly requestHash: string | null;
  /** The purposes of the query (Trembita only). */
  readonly purposeIds: string | null;
  /** The path prefix on the client's Security Server: /r1/{serviceId} or /restapi. */
  clientPath(serviceId: string, path: string): string;
}

export const XROAD_REST: RestDialect = {
  dialect: 'xroad',
  client: 'X-Road-Client',
  service: 'X-Road-Service',
  id: 'X-Road-Id',
  userId: 'X-Road-UserId',
  requestHash: 'X-Road-Request-Hash',
  purposeIds: null,
  clientPath: (serviceId, path) => `/r1/${serviceId}${path.startsWith('/') || path === '' ? path : `/${path}`}`,
};

export const TREMBITA_REST: RestDialect = {
  dialect: 'trembita',
  client: 'Uxp-Client',
  service: 'Uxp-Service',
  id: 'Uxp-QueryID',
  userId: 'Uxp-Subject-Id',
  requestHash: null,
  purposeIds: 'Uxp-Purpose-Ids',
  clientPath: (_serviceId, path) => `/restapi${path.startsWith('/') || path === '' ? path : `/${path}`}`,
};

export function restDialect(dialect: XRoadDialect): RestDialect {
  return dialect === 'trembita' ? TREMBITA_REST : XROAD_REST;
}

/** The headers of a dialect that the journal keeps, lower-cased as Node reads them. */
export function dialectHeaderNames(d: RestDialect): string[] {
  return [d.client, d.service, d.id, d.userId, d.requestHash, d.purposeIds].filter((h): h is string => h !== null).map((h) => h.toLowerCase());
}
