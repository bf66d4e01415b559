/**
 * The X-Road provider's test parts: a partner registry naming the gateway as an
 * X-Road subsystem and two X-Road partners (one allowed the services, one not),
 * written where a real gateway reads it, and X-Road 4.0 SOAP requests built
 * the way the protocol's Annex E writes them.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parsePartners, type PartnerRegistry } from '../../src/registry/partners.js';
import { projectRoot } from './gateway.js';

export const SELF = 'DEV/GOV/00000001/okno';
export const DMS = 'DEV/GOV/12345678/dms';
export const NOSY = 'DEV/GOV/87654321/nosy';
export const APPLICATION = 'advertising-permit';
export const QUERY = 'advertising-permit-register-extract';

interface RegistryDoc {
  partners: Array<Record<string, unknown>>;
  xroad?: Record<string, unknown>;
}

/** config/partners.json (certificates made absolute) plus the X-Road identity and partners; `edit` may change it. */
export function xroadRegistryDoc(edit?: (doc: RegistryDoc) => void): RegistryDoc {
  const source = path.join(projectRoot, 'config/partners.json');
  const doc = JSON.parse(readFileSync(source, 'utf8')) as RegistryDoc;
  for (const p of doc.partners) p.certificates = (p.certificates as string[]).map((c) => path.resolve(path.dirname(source), c));
  doc.xroad = { self: SELF, dialect: 'xroad' };
  doc.partners.push(
    { id: 'dms', name: 'Міграційна служба (тест)', role: 'agency', sends: [APPLICATION, QUERY], receives: [], endpoint: null, transport: { mode: 'xroad', subsystem: DMS } },
    { id: 'nosy', name: 'Not allowed (test)', role: 'agency', sends: [], receives: [], endpoint: null, transport: { mode: 'xroad', subsystem: NOSY } },
  );
  edit?.(doc);
  return doc;
}

export function xroadRegistry(edit?: (doc: RegistryDoc) => void): PartnerRegistry {
  return parsePartners(xroadRegistryDoc(edit), path.join(projectRoot, 'config/partners.json')).registry;
}

/** Writes the registry to a temporary PARTNERS_FILE. */
export function writeXRoadPartners(edit?: (doc: RegistryDoc) => void): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'okno-xroad-')), 'partners.json');
  writeFileSync(file, JSON.stringify(xroadRegistryDoc(edit), null, 2));
  return file;
}

function identifier(tag: 'client' | 'service', id: string, objectType: string): string {
  const p = id.split('/');
  const names = tag === 'client' ? ['xRoadInstance', 'memberClass', 'memberCode', 'subsystemCode'] : ['xRoadInstance', 'memberClass', 'memberCode', 'subsystemCode', 'serviceCode', 'serviceVersion'];
  return `<xrd:${tag} id:objectType="${objectType}">${p.map((v, i) => `<id:${names[i]}>${v}</id:${names[i]}>`).join('')}</xrd:${tag}>`;
}

export interface XRoadRequestOptions {
  client?: string;
  /** INSTANCE/CLASS/CODE/SUBSYSTEM/CODE/VERSION (default: the gateway's, `code`, v1). */
  service?: string;
  code: string;
  id: string;
  userId?: string | null;
  issue?: string | null;
  protocolVersion?: string;
  /** Header elements to leave out (client, service, id, protocolVersion …). */
  omit?: string[];
  /** Extra header XML appended. */
  extraHeaders?: string;
  /** The Body's content (the operation element). */
  body: string;
  clientObjectType?: string;
}

export function xroadRequest(o: XRoadRequestOptions): string {
  const service = o.service ?? `${SELF}/${o.code}/v1`;
  const parts: Array<[string, string]> = [
    ['client', identifier('client', o.client ?? DMS, o.clientObjectType ?? ((o.client ?? DMS).split('/').length === 4 ? 'SUBSYSTEM' : 'MEMBER'))],
    ['service', identifier('service', service, 'SERVICE')],
    ['id', `<xrd:id>${o.id}</xrd:id>`],
    ['userId', o.userId === null ? '' : `<xrd:userId>${o.userId ?? 'UA1234567890'}</xrd:userId>`],
    ['issue', o.issue ? `<xrd:issue>${o.issue}</xrd:issue>` : ''],
    ['protocolVersion', `<xrd:protocolVersion>${o.protocolVersion ?? '4.0'}</xrd:protocolVersion>`],
  ];
  const header = parts.filter(([name]) => !(o.omit ?? []).includes(name)).map(([, xml]) => xml).filter(Boolean).join('\n    ');
  return `<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xrd="http://x-road.eu/xsd/xroad.xsd" xmlns:id="http://x-road.eu/xsd/identifiers">
  <SOAP-ENV:Header>
    ${header}${o.extraHeaders ?? ''}
  </SOAP-ENV:Header>
  <SOAP-ENV:Body>${o.body}</SOAP-ENV:Body>
</SOAP-ENV:Envelope>
`;
}

/** `<w:{code}>` around the content's XML (what the WSDL declares). */
export function wrapped(code: string, contentXml: string): string {
  return `<w:${code} xmlns:w="urn:okno:xroad:services:1">${contentXml.replace(/^<\?xml[^>]*\?>\s*/, '')}</w:${code}>`;
}

export async function postXRoad(url: string, body: string, contentType = 'text/xml; charset=utf-8'): Promise<{ status: number; body: string }> {
  const res = await fetch(`${url}/ws/xroad`, { method: 'POST', headers: { 'content-type': contentType }, body });
  return { status: res.status, body: await res.text() };
}

/** faultcode and faultstring of a fault envelope (null when it is none). */
export function xroadFault(body: string): { faultcode: string; faultstring: string } | null {
  const code = /<faultcode>([^<]*)<\/faultcode>/.exec(body);
  const text = /<faultstring>([^<]*)<\/faultstring>/.exec(body);
  return code ? { faultcode: code[1]!, faultstring: text?.[1] ?? '' } : null;
}
