/**
 * The simulated Security Servers' table of members and access rights, from
 * `okno simulate xroad` flags and/or a JSON file (--config):
 *
 * ```json
 * { "dialect": "trembita",
 *   "members": [ { "subsystem": "SEVDEIR-TEST/GOV/00000001/okno",
 *                  "soap": "http://127.0.0.1:8080/ws/xroad", "rest": "http://127.0.0.1:8080/xroad/rest" },
 *                { "subsystem": "SEVDEIR-TEST/GOV/12345678/dms" } ],
 *   "allow": { "SEVDEIR-TEST/GOV/12345678/dms": ["SEVDEIR-TEST/GOV/00000001/okno/zags-birth-record_v1"] } }
 * ```
 *
 * `allow` may also be a list of {client, service}. Every identifier is
 * checked here, so a typo stops start-up with one line naming it.
 */
import { parseMember, parseService, XRoadIdError, XROAD_DIALECTS, type XRoadDialect } from '../registry/xroad-members.js';
import type { AccessRight, SecurityServerMember } from './xroad-security-server.js';

export class SecurityServerConfigError extends Error {
  override name = 'SecurityServerConfigError';
}

export interface SecurityServerTable {
  dialect: XRoadDialect | null;
  members: SecurityServerMember[];
  allow: AccessRight[];
}

function checkUrl(url: string, what: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new SecurityServerConfigError(`${what}: "${url}" is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new SecurityServerConfigError(`${what}: "${url}" is not an http(s) URL`);
  return url;
}

function checkId<T>(parse: () => T, what: string): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof XRoadIdError) throw new SecurityServerConfigError(`${what}: ${error.message}`);
    throw error;
  }
}

/** --member SUBSYSTEM[=URL]: a member, with its information system's URL (SOAP endpoint and REST base alike) when it provides services. */
export function parseMemberOption(text: string, protocol: 'both' | 'rest' = 'both'): SecurityServerMember {
  const eq = text.indexOf('=');
  const subsystem = eq === -1 ? text : text.slice(0, eq);
  const flag = protocol === 'rest' ? '--rest-member' : '--member';
  checkId(() => parseMember(subsystem), flag);
  if (eq === -1) {
    if (protocol === 'rest') throw new SecurityServerConfigError(`--rest-member takes SUBSYSTEM=URL, not "${text}"`);
    return { subsystem };
  }
  const url = checkUrl(text.slice(eq + 1), `${flag} ${subsystem}`);
  return protocol === 'rest' ? { subsystem, rest: url } : { subsystem, soap: url, rest: url };
}

/** --allow CLIENT=SERVICE: an access right. */
export function parseAllowOption(text: string): AccessRight {
  const eq = text.indexOf('=');
  if (eq === -1) throw new SecurityServerConfigError(`--allow takes CLIENT=SERVICE (INSTANCE/CLASS/CODE[/SUBSYSTEM]=INSTANCE/CLASS/CODE/SUBSYSTEM/SERVICECODE[/VERSION]), not "${text}"`);
  const right = { client: text.slice(0, eq), service: text.slice(eq + 1) };
  checkId(() => parseMember(right.client), '--allow client');
  checkId(() => parseService(right.service, true), '--allow service');
  return right;
}

/** Reads the JSON table (see the top of this file). */
export function parseSecurityServerConfig(text: string, source = 'the configuration'): SecurityServerTable {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new SecurityServerConfigError(`${source} is not JSON: ${(error as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new SecurityServerConfigError(`${source} must be a JSON object`);
  const o = json as Record<string, unknown>;
  let dialect: XRoadDialect | null = null;
  if (o.dialect !== undefined) {
    if (!XROAD_DIALECTS.includes(o.dialect as XRoadDialect)) throw new SecurityServerConfigError(`${source}: dialect must be ${XROAD_DIALECTS.join(' or ')}`);
    dialect = o.dialect as XRoadDialect;
  }
  const members: SecurityServerMember[] = [];
  if (o.members !== undefined) {
    if (!Array.isArray(o.members)) throw new SecurityServerConfigError(`${source}: members must be a list`);
    o.members.forEach((m: unknown, i) => {
      const what = `${source}: members[${i}]`;
      if (typeof m !== 'object' || m === null) throw new SecurityServerConfigError(`${what} must be an object`);
      const e = m as Record<string, unknown>;
      if (typeof e.subsystem !== 'string') throw new SecurityServerConfigError(`${what}.subsystem must be a string`);
      checkId(() => parseMember(e.subsystem as string), `${what}.subsystem`);
      const member: SecurityServerMember = { subsystem: e.subsystem };
      for (const k of ['soap', 'rest'] as const) {
        if (e[k] === undefined || e[k] === null) continue;
        if (typeof e[k] !== 'string') throw new SecurityServerConfigError(`${what}.${k} must be a URL`);
        member[k] = checkUrl(e[k], `${what}.${k}`);
      }
      if (e.services !== undefined && e.services !== null) {
        if (!Array.isArray(e.services) || e.services.some((s) => typeof s !== 'string')) throw new SecurityServerConfigError(`${what}.services must be a list of service codes`);
        member.services = e.services as string[];
      }
      members.push(member);
    });
  }
  const allow: AccessRight[] = [];
  if (Array.isArray(o.allow)) {
    o.allow.forEach((r: unknown, i) => {
      const e = r as Record<string, unknown> | null;
      if (typeof e?.client !== 'string' || typeof e.service !== 'string') throw new SecurityServerConfigError(`${source}: allow[${i}] must be {client, service}`);
      allow.push(parseAllowOption(`${e.client}=${e.service}`));
    });
  } else if (typeof o.allow === 'object' && o.allow !== null) {
    for (const [client, services] of Object.entries(o.allow)) {
      const list = Array.isArray(services) ? services : [services];
      for (const s of list) {
        if (typeof s !== 'string') throw new SecurityServerConfigError(`${source}: allow["${client}"] must be service ids`);
        allow.push(parseAllowOption(`${client}=${s}`));
      }
    }
  } else if (o.allow !== undefined) {
    throw new SecurityServerConfigError(`${source}: allow must be {client: [service, …]} or a list of {client, service}`);
  }
  return { dialect, members, allow };
}

/** Members given more than once (a --member and a --rest-member, or the file and a flag) become one entry; later values win. */
export function mergeMembers(list: readonly SecurityServerMember[]): SecurityServerMember[] {
  const byId = new Map<string, SecurityServerMember>();
  for (const m of list) {
    const before = byId.get(m.subsystem) ?? { subsystem: m.subsystem };
    byId.set(m.subsystem, {
      ...before,
      ...(m.soap !== undefined ? { soap: m.soap } : {}),
      ...(m.rest !== undefined ? { rest: m.rest } : {}),
      ...(m.services !== undefined ? { services: m.services } : {}),
    });
  }
  return [...byId.values()];
}
