/**
 * The protocol headers of a REST request a provider's Security Server forwards
 * to the gateway, read and checked for one dialect (rest-dialects.ts):
 *
 * - the client's identifier (X-Road-Client / Uxp-Client) is required: a member
 *   or a subsystem, each part percent-encoded UTF-8 (PR-REST §4.3); when the
 *   header is repeated the last one counts, as PR-REST §4.3 says a Security
 *   Server does;
 * - the message id (X-Road-Id / Uxp-QueryID) is required: the client may leave
 *   it out, but its Security Server then makes one, so a forwarded request
 *   always has it;
 * - the service id (X-Road-Service / Uxp-Service) is optional here (the
 *   endpoint checks it names the gateway and the code when present);
 * - the user (X-Road-UserId / Uxp-Subject-Id), X-Road-Issue and Trembita's
 *   Uxp-Purpose-Ids are optional and kept.
 *
 * Every header of the dialect's family (X-Road-* / Uxp-*) is collected as sent
 * for the journal (Trembita requires every header kept). Throws XRoadRefusal
 * ('bad-header', code MissingHeaderField / InvalidClientIdentifier /
 * InvalidServiceIdentifier / InvalidHeaderField, as the SOAP side's
 * soap-headers.ts) with a message naming the header.
 */
import { createHash } from 'node:crypto';
import { parseMember, parseService, XRoadIdError, type XRoadDialect, type XRoadMember, type XRoadService } from '../registry/xroad-members.js';
import { XRoadRefusal } from './refusal.js';
import type { RestDialect } from './rest-dialects.js';

export interface XRoadRestRequest {
  readonly dialect: XRoadDialect;
  /** The client (X-Road-Client / Uxp-Client): a member or a subsystem. */
  readonly client: XRoadMember;
  /** The service id the provider's Security Server named (X-Road-Service / Uxp-Service); null: not sent. */
  readonly service: XRoadService | null;
  /** The message id (X-Road-Id / Uxp-QueryID). */
  readonly id: string;
  /** The end user (X-Road-UserId / Uxp-Subject-Id); null: not sent. */
  readonly userId: string | null;
  /** X-Road-Issue (X-Road only); null: not sent. */
  readonly issue: string | null;
  /** Uxp-Purpose-Ids as sent (Trembita only); null: not sent. */
  readonly purposeIds: string | null;
  /** Every X-Road-* (X-Road) or Uxp-* (Trembita) header as sent, by its name as sent; a repeated one: the last. */
  readonly headers: Readonly<Record<string, string>>;
}

/** A required header is absent (or empty). */
export class MissingHeader extends XRoadRefusal {
  constructor(readonly header: string) {
    super('bad-header', `the request has no ${header} header`, 'MissingHeaderField');
  }
}

/** The longest header value taken (an identifier part may be 255 characters; five parts and separators fit). */
export const MAX_HEADER_VALUE = 2048;

/** The prefix of a dialect's own header family. */
function familyPrefix(dialect: RestDialect): string {
  return dialect.dialect === 'trembita' ? 'uxp-' : 'x-road-';
}

/**
 * Reads the dialect's headers from Node's rawHeaders (name, value, name, value…: every
 * occurrence, names as sent).
 */
export function readRestRequest(dialect: RestDialect, rawHeaders: readonly string[]): XRoadRestRequest {
  const prefix = familyPrefix(dialect);
  const last = new Map<string, string>();
  const headers: Record<string, string> = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const lower = name.toLowerCase();
    if (!lower.startsWith(prefix)) continue;
    const value = rawHeaders[i + 1]!.trim();
    if (value.length > MAX_HEADER_VALUE) throw new XRoadRefusal('bad-header', `${canonical(dialect, lower)} is longer than ${MAX_HEADER_VALUE} characters`, 'InvalidHeaderField');
    last.set(lower, value);
    for (const k of Object.keys(headers)) if (k.toLowerCase() === lower) delete headers[k];
    headers[name] = value;
  }
  const get = (name: string | null): string | null => {
    if (name === null) return null;
    const v = last.get(name.toLowerCase());
    return v === undefined || v === '' ? null : v;
  };
  const required = (name: string): string => {
    const v = get(name);
    if (v === null) throw new MissingHeader(name);
    return v;
  };

  const clientText = required(dialect.client);
  const client = identifier(dialect.client, clientText, 'InvalidClientIdentifier', (t) => parseMember(t));
  const id = required(dialect.id);
  const serviceText = get(dialect.service);
  const service = serviceText === null ? null : identifier(dialect.service, serviceText, 'InvalidServiceIdentifier', (t) => parseService(t, dialect.dialect === 'trembita'));
  return Object.freeze({
    dialect: dialect.dialect,
    client,
    service,
    id,
    userId: get(dialect.userId),
    issue: dialect.dialect === 'xroad' ? get('X-Road-Issue') : null,
    purposeIds: get(dialect.purposeIds),
    headers: Object.freeze(headers),
  });
}

/** Parses an identifier header: split on "/", each part percent-decoded (PR-REST §4.2–4.3). */
function identifier<T>(header: string, text: string, refinement: string, parse: (t: string) => T): T {
  try {
    const parts = text.split('/').map((p) => decodeURIComponent(p));
    if (parts.some((p) => p.includes('/'))) throw new XRoadIdError(`a part of "${text}" holds an encoded "/"`);
    return parse(parts.join('/'));
  } catch (err) {
    const why = err instanceof XRoadIdError ? err.message : `"${text}" is not percent-encoded UTF-8`;
    throw new XRoadRefusal('bad-header', `${header}: ${why}`, refinement);
  }
}

function canonical(dialect: RestDialect, lower: string): string {
  const known = [dialect.client, dialect.service, dialect.id, dialect.userId, dialect.requestHash, dialect.purposeIds].find((h) => h !== null && h.toLowerCase() === lower);
  return known ?? lower;
}

/**
 * PR-REST §4.3's request hash: base-64 of SHA512(SHA512(headers) + SHA512(body)), or of
 * SHA512(headers) when there is no body. The protocol does not fix how the headers are
 * serialised (the Security Server hashes its own signed message); here they are the
 * request's X-Road headers (`headers` of readRestRequest), one "name: value\r\n" line each,
 * names lower-cased, in name order.
 */
export function restRequestHash(headers: Readonly<Record<string, string>>, body: Buffer | null): string {
  const lines = Object.entries(headers)
    .map(([k, v]) => [k.toLowerCase(), v] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  const headerHash = createHash('sha512').update(lines, 'utf8').digest();
  if (body === null || body.length === 0) return headerHash.toString('base64');
  const bodyHash = createHash('sha512').update(body).digest();
  return createHash('sha512').update(Buffer.concat([headerHash, bodyHash])).digest('base64');
}
