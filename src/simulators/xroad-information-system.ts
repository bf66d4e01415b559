/**
 * A provider's information system played by the X-Road Security Server
 * simulator itself (`okno simulate xroad --answer-as SUBSYSTEM`), so that the
 * city's queries to an agency reached over X-Road / Trembita can be tried
 * without the agency.
 *
 * Which services it answers: the partner registry's partner whose
 * transport.subsystem is SUBSYSTEM; each catalogue service in its `receives`
 * under the code `xroadServiceCode(partner.transport, id)` (LandExtract_v1 …).
 * Catalogue and registry are read once, at start; a service that is not a
 * query with a valid response example stops start-up.
 *
 * What it answers (the service's response example, chosen as the agency
 * simulator chooses it: src/simulators/agency.ts pickFixture):
 * - SOAP (X-Road message protocol 4.0): the response envelope with the
 *   request's header elements copied as they were (protocol 2.2), and in the
 *   Body `{code}Response` in the namespace of the request's `{code}` wrapper
 *   (document/literal wrapped, 2.3) holding service.response.toXml(example).
 *   An unknown code is the fault Client.UnknownService, content that is not
 *   the service's request Client.InvalidBody (faults as Annex D, HTTP 500).
 * - REST (either dialect): 200 with the example JSON; an unknown code is 404
 *   with the REST error body {type: Client.UnknownService, message, detail},
 *   a body that is not the service's request JSON 400 Client.InvalidBody.
 *
 * `registryAccessRights` gives the access rights the registry implies:
 * each X-Road partner's clients may call the gateway's services in its
 * `sends`, and the gateway's subsystem the partner's services in its
 * `receives`.
 */
import { randomUUID } from 'node:crypto';
import type { ServiceCatalogue, ServiceDefinition } from '../catalogue/types.js';
import { xroadServiceCode, type PartnerRegistry } from '../registry/partners.js';
import { formatMember, formatService, parseMember, sameMember, serviceOf, type XRoadMember } from '../registry/xroad-members.js';
import type { JsonValue } from '../store/types.js';
import { escapeAttr } from '../xml/c14n.js';
import { childElements, textContent } from '../xml/helpers.js';
import { parseXml, XmlError } from '../xml/parser.js';
import type { XmlElement } from '../xml/types.js';
import { faultEnvelope } from '../xroad/faults.js';
import { SOAP11_ENV_NS, XROAD_NS } from '../xroad/namespaces.js';
import { normalizedSource, responseEnvelope, type HeaderEcho } from '../xroad/response.js';
import { pickFixture, responseFixtures, type Fixture } from './agency.js';

/** What the information system answers (as an HTTP response would be). */
export interface SimulatedAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export class InformationSystemConfigError extends Error {
  override name = 'InformationSystemConfigError';
}

interface Answered {
  code: string;
  def: ServiceDefinition;
  fixtures: Fixture[];
}

const SOAP_CONTENT_TYPE = 'text/xml; charset=utf-8';
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** One provider information system: the services of one registry partner, answered with catalogue examples. */
export class SimulatedInformationSystem {
  private constructor(
    readonly subsystem: XRoadMember,
    /** The registry partner it plays. */
    readonly partnerId: string,
    private readonly byCode: ReadonlyMap<string, Answered>,
  ) {}

  /** The information system of `subsystem`'s partner; InformationSystemConfigError names what is missing. */
  static of(subsystem: string, catalogue: ServiceCatalogue, registry: PartnerRegistry): SimulatedInformationSystem {
    let id: XRoadMember;
    try {
      id = parseMember(subsystem);
    } catch (error) {
      throw new InformationSystemConfigError(`--answer-as: ${(error as Error).message}`);
    }
    const partner = registry.partners.find((p) => p.transport.mode === 'xroad' && sameMember(p.transport.subsystem, id));
    if (!partner || partner.transport.mode !== 'xroad') throw new InformationSystemConfigError(`--answer-as ${subsystem}: no partner of the registry has transport.subsystem ${subsystem}`);
    const transport = partner.transport;
    const byCode = new Map<string, Answered>();
    for (const serviceId of partner.receives) {
      const def = catalogue.get(serviceId);
      if (!def) throw new InformationSystemConfigError(`--answer-as ${subsystem}: partner ${partner.id} receives ${serviceId}, which the catalogue does not have`);
      let fixtures: Fixture[];
      try {
        fixtures = responseFixtures(def);
      } catch (error) {
        throw new InformationSystemConfigError(`--answer-as ${subsystem}: ${(error as Error).message}`);
      }
      const code = xroadServiceCode(transport, serviceId).code;
      byCode.set(code, { code, def, fixtures });
    }
    if (byCode.size === 0) throw new InformationSystemConfigError(`--answer-as ${subsystem}: partner ${partner.id} receives no services`);
    return new SimulatedInformationSystem(transport.subsystem, partner.id, byCode);
  }

  /** The service codes it answers, with the catalogue service ids. */
  get services(): ReadonlyArray<{ code: string; serviceId: string }> {
    return [...this.byCode.values()].map((a) => ({ code: a.code, serviceId: a.def.id }));
  }

  /** Answers an X-Road 4.0 SOAP request (already checked by the Security Server). */
  answerSoap(raw: Buffer): SimulatedAnswer {
    const source = normalizedSource(raw);
    let root: XmlElement;
    try {
      root = parseXml(source).root;
    } catch (error) {
      if (!(error instanceof XmlError)) throw error;
      return soapFault('Client.InvalidXml', `the request is not XML: ${error.message}`, null);
    }
    const header = childElements(root, SOAP11_ENV_NS, 'Header')[0];
    const body = childElements(root, SOAP11_ENV_NS, 'Body')[0];
    const echo: HeaderEcho | null = header ? { source, header, elements: childElements(header) } : null;
    const serviceEl = header ? childElements(header, XROAD_NS, 'service')[0] : undefined;
    const codeEl = serviceEl ? childElements(serviceEl).find((c) => c.localName === 'serviceCode') : undefined;
    const code = codeEl ? textContent(codeEl).trim() : '';
    const answered = this.byCode.get(code);
    if (!answered) return soapFault('Client.UnknownService', `${formatMember(this.subsystem)} provides no service "${code}" (it provides ${[...this.byCode.keys()].join(', ')})`, echo);
    const wrapper = body ? childElements(body) : [];
    if (wrapper.length !== 1 || wrapper[0]!.localName !== code) return soapFault('Client.InvalidBody', `the Body must hold one ${code} element (protocol 2.3)`, echo);
    const inside = childElements(wrapper[0]!);
    const req = answered.def.request;
    const content = inside.length === 1 ? inside[0]! : null;
    if (!content || content.namespaceURI !== req.namespace || content.localName !== req.rootElement) {
      return soapFault('Client.InvalidBody', `${code} must hold one {${req.namespace}}${req.rootElement}`, echo);
    }
    const read = req.readXml(content);
    if (!read.ok) return soapFault('Client.InvalidBody', `the request does not fit ${req.rootElement}: ${read.errors.slice(0, 5).map((e) => `${e.path} ${e.rule}`).join('; ')}`, echo);
    const picked = pickFixture(answered.fixtures, read.json);
    const xml = answered.def.response!.toXml(picked.content).replace(/^\uFEFF?<\?xml[^?]*\?>\s*/, '');
    const ns = wrapper[0]!.namespaceURI;
    const element = ns ? `<svc:${code}Response xmlns:svc="${escapeAttr(ns)}">${xml}</svc:${code}Response>` : `<${code}Response>${xml}</${code}Response>`;
    return { status: 200, headers: { 'Content-Type': SOAP_CONTENT_TYPE }, body: Buffer.from(responseEnvelope(echo!, element), 'utf8') };
  }

  /** Answers a REST call for service `code` (the path's first segment at the provider) with a JSON body. */
  answerRest(code: string, method: string, body: Buffer): SimulatedAnswer {
    const answered = this.byCode.get(code);
    if (!answered) return restError(404, 'Client.UnknownService', `${formatMember(this.subsystem)} provides no service "${code}" (it provides ${[...this.byCode.keys()].join(', ')})`);
    if (method !== 'POST') return restError(405, 'Client.InvalidHttpMethod', `${code} takes POST with the request JSON, not ${method}`);
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      return restError(400, 'Client.InvalidBody', 'the body is not JSON');
    }
    const problems = answered.def.request.validateJson(json);
    if (problems.length > 0) return restError(400, 'Client.InvalidBody', `the body does not fit ${answered.def.id}'s request: ${problems.slice(0, 5).map((p) => `${p.path || '/'} ${p.rule}`).join('; ')}`);
    const picked = pickFixture(answered.fixtures, json as JsonValue);
    return { status: 200, headers: { 'Content-Type': JSON_CONTENT_TYPE }, body: Buffer.from(JSON.stringify(picked.content), 'utf8') };
  }
}

/** An access right: `client` (a subsystem, or a member: all its subsystems) may call `service` (INSTANCE/CLASS/CODE/SUBSYSTEM/SERVICECODE[/VERSION]). */
export interface AccessRight {
  client: string;
  service: string;
}

/** The access rights the registry implies (see the top of this file); empty without registry `xroad`. */
export function registryAccessRights(registry: PartnerRegistry): AccessRight[] {
  const self = registry.xroad;
  if (!self) return [];
  const out: AccessRight[] = [];
  for (const p of registry.partners) {
    if (p.transport.mode !== 'xroad') continue;
    const transport = p.transport;
    for (const id of p.sends) {
      const code = xroadServiceCode(self, id);
      const service = formatService(serviceOf(self.subsystem, code.code, code.version));
      for (const client of transport.clients) out.push({ client: formatMember(client), service });
    }
    for (const id of p.receives) {
      const code = xroadServiceCode(transport, id);
      out.push({ client: formatMember(self.subsystem), service: formatService(serviceOf(transport.subsystem, code.code, code.version)) });
    }
  }
  return out;
}

function soapFault(code: string, message: string, echo: HeaderEcho | null): SimulatedAnswer {
  return { status: 500, headers: { 'Content-Type': SOAP_CONTENT_TYPE }, body: Buffer.from(faultEnvelope({ faultcode: code, faultstring: message, status: 500 }, randomUUID(), echo), 'utf8') };
}

function restError(status: number, type: string, message: string): SimulatedAnswer {
  return { status, headers: { 'Content-Type': JSON_CONTENT_TYPE }, body: Buffer.from(JSON.stringify({ type, message, detail: randomUUID() }), 'utf8') };
}
