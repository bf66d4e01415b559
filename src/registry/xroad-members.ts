/**
 * X-Road identifiers as the registry names them (X-Road message protocol 4.0,
 * Annex A; the same strings the REST protocol puts in X-Road-Client and in
 * /r1/{serviceId} paths): a member is INSTANCE/CLASS/CODE, a subsystem
 * INSTANCE/CLASS/CODE/SUBSYSTEM, a service a subsystem (or member) followed by
 * SERVICECODE[/VERSION]. Trembita (Cybernetica's UXP) writes them the same way.
 */

/** Which protocol family a party speaks: NIIS X-Road 7, or Trembita 2.0 on UXP (its own REST headers). */
export type XRoadDialect = 'xroad' | 'trembita';
export const XROAD_DIALECTS: readonly XRoadDialect[] = ['xroad', 'trembita'];
/** Trembita's X-Road instances (production and test). */
export const TREMBITA_INSTANCES: readonly string[] = ['SEVDEIR', 'SEVDEIR-TEST'];

/** A member (subsystemCode null) or one of its subsystems. */
export interface XRoadMember {
  readonly instance: string;
  readonly memberClass: string;
  readonly memberCode: string;
  readonly subsystemCode: string | null;
}

/** A service: its provider, the code and (optionally) the version. */
export interface XRoadService extends XRoadMember {
  readonly serviceCode: string;
  readonly serviceVersion: string | null;
}

/** One part of an identifier: no slashes, no whitespace or control characters (X-Road forbids them in REST paths). */
const PART = /^[^/\s\u0000-\u001f;:\\%]{1,255}$/;

export class XRoadIdError extends Error {
  override name = 'XRoadIdError';
}

/** Parses INSTANCE/CLASS/CODE[/SUBSYSTEM]; throws XRoadIdError naming what is wrong. */
export function parseMember(text: string): XRoadMember {
  const parts = text.split('/');
  if (parts.length !== 3 && parts.length !== 4) throw new XRoadIdError(`"${text}" is not an X-Road member or subsystem (INSTANCE/CLASS/CODE or INSTANCE/CLASS/CODE/SUBSYSTEM)`);
  requireParts(text, parts);
  return Object.freeze({ instance: parts[0]!, memberClass: parts[1]!, memberCode: parts[2]!, subsystemCode: parts[3] ?? null });
}

/** Parses a subsystem (four parts): what a client or a provider of services is in X-Road 7. */
export function parseSubsystem(text: string): XRoadMember {
  const member = parseMember(text);
  if (member.subsystemCode === null) throw new XRoadIdError(`"${text}" names a member; a subsystem is needed (INSTANCE/CLASS/CODE/SUBSYSTEM)`);
  return member;
}

/**
 * Parses a REST service id, INSTANCE/CLASS/CODE/SUBSYSTEM/SERVICECODE (X-Road
 * REST: the provider is always a subsystem; no version). `withVersion` also
 * takes a trailing /VERSION (the SOAP side's serviceVersion).
 */
export function parseService(text: string, withVersion = false): XRoadService {
  const parts = text.split('/');
  const ok = parts.length === 5 || (withVersion && parts.length === 6);
  if (!ok) throw new XRoadIdError(`"${text}" is not an X-Road service id (INSTANCE/CLASS/CODE/SUBSYSTEM/SERVICECODE${withVersion ? '[/VERSION]' : ''})`);
  requireParts(text, parts);
  return Object.freeze({ instance: parts[0]!, memberClass: parts[1]!, memberCode: parts[2]!, subsystemCode: parts[3]!, serviceCode: parts[4]!, serviceVersion: parts[5] ?? null });
}

function requireParts(text: string, parts: string[]): void {
  const bad = parts.findIndex((p) => !PART.test(p));
  if (bad >= 0) throw new XRoadIdError(`"${text}": part ${bad + 1} ("${parts[bad]}") is empty or holds a character X-Road identifiers may not (/ ; : \\ % whitespace)`);
}

/** INSTANCE/CLASS/CODE[/SUBSYSTEM]. */
export function formatMember(m: XRoadMember): string {
  return [m.instance, m.memberClass, m.memberCode, ...(m.subsystemCode === null ? [] : [m.subsystemCode])].join('/');
}

/** INSTANCE/CLASS/CODE/SUBSYSTEM/SERVICECODE[/VERSION]. */
export function formatService(s: XRoadService, withVersion = true): string {
  return [formatMember(s), s.serviceCode, ...(withVersion && s.serviceVersion ? [s.serviceVersion] : [])].join('/');
}

export function sameMember(a: XRoadMember, b: XRoadMember): boolean {
  return a.instance === b.instance && a.memberClass === b.memberClass && a.memberCode === b.memberCode && a.subsystemCode === b.subsystemCode;
}

/** The member a subsystem belongs to (itself for a member). */
export function memberOf(m: XRoadMember): XRoadMember {
  return m.subsystemCode === null ? m : Object.freeze({ ...m, subsystemCode: null });
}

/** A service of `provider`. */
export function serviceOf(provider: XRoadMember, serviceCode: string, serviceVersion: string | null): XRoadService {
  return Object.freeze({ ...provider, serviceCode, serviceVersion });
}
