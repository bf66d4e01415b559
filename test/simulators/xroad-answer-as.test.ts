/**
 * `okno simulate xroad --answer-as SUBSYSTEM`: the Security Server simulator
 * playing a provider's information system itself, from the Kyiv registry
 * (config/partners.xroad.json) and the catalogue (config/services). The
 * answers are read with the consumer's own readers (src/xroad/soap-request.ts
 * readXRoadResponse, src/xroad/rest-call.ts readRestResponse), so what the
 * simulator answers is what the city's queries take.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/catalogue/load.js';
import type { ServiceCatalogue } from '../../src/catalogue/types.js';
import { loadPartners, type PartnerRegistry } from '../../src/registry/partners.js';
import { parseMember, parseService } from '../../src/registry/xroad-members.js';
import { registryAccessRights, SimulatedInformationSystem } from '../../src/simulators/xroad-information-system.js';
import { XRoadSecurityServerSimulator } from '../../src/simulators/xroad-security-server.js';
import { restDialect } from '../../src/xroad/rest-dialects.js';
import { readRestResponse, restRequest } from '../../src/xroad/rest-call.js';
import { readXRoadResponse, xroadRequestEnvelope, type XRoadSoapHeaders } from '../../src/xroad/soap-request.js';
import { spawnOkno, type OknoProcess } from '../helpers/cli-process.js';
import { projectRoot } from '../helpers/gateway.js';
import { serviceExample } from '../helpers/smev.js';

const OKNO = 'SEVDEIR-TEST/GOV/44444444/okno';
const REGISTRY = 'SEVDEIR-TEST/GOV/12345678/registry';
const TAX = 'SEVDEIR-TEST/GOV/87654321/tax';
const PARTNERS_FILE = path.join(projectRoot, 'config/partners.xroad.json');

let catalogue: ServiceCatalogue;
let partners: PartnerRegistry;
let sim: XRoadSecurityServerSimulator;

beforeAll(async () => {
  catalogue = loadCatalogue(path.join(projectRoot, 'config/services'));
  partners = loadPartners(PARTNERS_FILE).registry;
  sim = await XRoadSecurityServerSimulator.start({
    dialect: 'trembita',
    answerAs: [{ subsystem: REGISTRY }, { subsystem: TAX }],
    catalogue,
    partners,
    // the unknown-code cases: an access right for a code the provider does not have
    allow: [{ client: OKNO, service: `${REGISTRY}/NoSuchService_v1` }, { client: OKNO, service: `${TAX}/NoSuchService_v1` }],
  });
});
afterAll(async () => {
  await sim?.close();
});

function soapHeaders(code: string, o: { client?: string } = {}): XRoadSoapHeaders {
  return { client: parseMember(o.client ?? OKNO), service: parseService(`${REGISTRY}/${code}`, true), id: randomUUID(), userId: 'UA1234567890', issue: 'case-42' };
}

async function postSoap(envelope: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${sim.url}/`, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' }, body: envelope });
  return { status: res.status, body: await res.text() };
}

describe('the registry and the information systems', () => {
  it("finds a partner's services by its subsystem, under its X-Road codes", () => {
    expect(SimulatedInformationSystem.of(REGISTRY, catalogue, partners).services).toEqual([{ code: 'LandExtract_v1', serviceId: 'egrn-extract' }]);
    expect(SimulatedInformationSystem.of(TAX, catalogue, partners).services).toEqual([{ code: 'TaxpayerNumber_v1', serviceId: 'fns-inn' }]);
    expect(() => SimulatedInformationSystem.of('SEVDEIR-TEST/GOV/1/nobody', catalogue, partners)).toThrow(/no partner of the registry has transport\.subsystem SEVDEIR-TEST\/GOV\/1\/nobody/);
  });

  it('grants the access rights the registry says: agencies → the city\'s services in their sends, the city → theirs in their receives', () => {
    expect(registryAccessRights(partners)).toEqual([
      { client: REGISTRY, service: `${OKNO}/AdvertisingRegisterExtract_v1` },
      { client: REGISTRY, service: `${OKNO}/KindergartenEnrollment_v1` },
      { client: OKNO, service: `${REGISTRY}/LandExtract_v1` },
      { client: OKNO, service: `${TAX}/TaxpayerNumber_v1` },
    ]);
  });
});

describe('SOAP: the simulator answers as the provider', () => {
  it("answers LandExtract_v1 with egrn-extract's response example, headers echoed and xrd:requestHash added", async () => {
    const service = catalogue.get('egrn-extract')!;
    const headers = soapHeaders('LandExtract_v1');
    const envelope = xroadRequestEnvelope(headers, { namespace: service.request.namespace }, service.request.toXml(serviceExample('egrn-extract')));
    const reply = await postSoap(envelope);
    expect(reply.status).toBe(200);
    const read = readXRoadResponse(reply.body, headers, service.response!);
    expect(read.kind).toBe('answer');
    if (read.kind !== 'answer') return;
    expect(read.json).toEqual(serviceExample('egrn-extract', 'response'));
    expect(read.headers).toMatchObject({ client: OKNO, service: `${REGISTRY}/LandExtract_v1`, id: headers.id, userId: 'UA1234567890', issue: 'case-42', protocolVersion: '4.0' });
    expect(read.headers.requestHash).toMatch(/^[A-Za-z0-9+/]+=*$/);
    // the response element in the namespace of the request's wrapper (document/literal wrapped)
    expect(reply.body).toContain(`<svc:LandExtract_v1Response xmlns:svc="${service.request.namespace}">`);
    const e = sim.exchanges().at(-1)!;
    expect([e.answeredAs, e.forwardedTo, e.fault, e.serviceFault, e.id, e.userId]).toEqual([REGISTRY, null, null, null, headers.id, 'UA1234567890']);
  });

  it('an unknown service code is the fault Client.UnknownService, relayed as the provider gave it, its headers echoed', async () => {
    const headers = soapHeaders('NoSuchService_v1');
    const reply = await postSoap(xroadRequestEnvelope(headers, { namespace: 'urn:x' }, '<x:a xmlns:x="urn:x"/>'));
    const read = readXRoadResponse(reply.body, headers, catalogue.get('egrn-extract')!.response!);
    expect(read).toMatchObject({ kind: 'fault', faultCode: 'Client.UnknownService', headers: { id: headers.id } });
    expect(sim.exchanges().at(-1)!.serviceFault?.code).toBe('Client.UnknownService');
  });

  it("content that is not the service's request is Client.InvalidBody", async () => {
    const headers = soapHeaders('LandExtract_v1');
    const service = catalogue.get('egrn-extract')!;
    const reply = await postSoap(xroadRequestEnvelope(headers, { namespace: service.request.namespace }, `<r:${service.request.rootElement} xmlns:r="${service.request.namespace}"><r:nonsense/></r:${service.request.rootElement}>`));
    expect(readXRoadResponse(reply.body, headers, service.response!)).toMatchObject({ kind: 'fault', faultCode: 'Client.InvalidBody' });
  });

  it('the Security Server checks still come first: a client without the access right is refused', async () => {
    const headers = soapHeaders('LandExtract_v1', { client: REGISTRY });
    const service = catalogue.get('egrn-extract')!;
    const reply = await postSoap(xroadRequestEnvelope(headers, { namespace: service.request.namespace }, service.request.toXml(serviceExample('egrn-extract'))));
    expect(readXRoadResponse(reply.body, headers, service.response!)).toMatchObject({ kind: 'fault', faultCode: 'Server.ServerProxy.AccessDenied' });
  });
});

describe('REST (Trembita /restapi): the simulator answers as the provider', () => {
  const d = restDialect('trembita');
  const call = (code: string, body: unknown) => restRequest({ dialect: d, securityServer: sim.url, client: parseMember(OKNO), service: parseService(`${TAX}/${code}`, false), id: randomUUID(), userId: 'UA1234567890', purposeIds: ['tax-check'], body: body as never });

  it("answers TaxpayerNumber_v1 with fns-inn's response example and the Uxp headers", async () => {
    const request = call('TaxpayerNumber_v1', serviceExample('fns-inn'));
    const res = await fetch(request.url, { method: 'POST', headers: request.headers, body: request.body });
    const body = await res.text();
    expect(res.status).toBe(200);
    expect(res.headers.get('Uxp-QueryID')).toBe(request.headers[d.id]);
    expect(readRestResponse(res.status, res.headers, body, request, d, catalogue.get('fns-inn')!.response!)).toEqual({ kind: 'answer', json: serviceExample('fns-inn', 'response') });
    expect(sim.exchanges().at(-1)).toMatchObject({ protocol: 'rest', answeredAs: TAX, forwardedTo: null, userId: 'UA1234567890' });
  });

  it('an unknown code is 404 Client.UnknownService, a body that is not the request 400 Client.InvalidBody (the documented error body)', async () => {
    const unknown = call('NoSuchService_v1', {});
    const r1 = await fetch(unknown.url, { method: 'POST', headers: unknown.headers, body: unknown.body });
    expect([r1.status, ((await r1.json()) as { type: string }).type]).toEqual([404, 'Client.UnknownService']);
    const bad = call('TaxpayerNumber_v1', { nonsense: true });
    const r2 = await fetch(bad.url, { method: 'POST', headers: bad.headers, body: bad.body });
    const e = (await r2.json()) as { type: string; message: string; detail: string };
    expect([r2.status, e.type, typeof e.detail]).toEqual([400, 'Client.InvalidBody', 'string']);
  });
});

describe('okno simulate xroad --answer-as', () => {
  let cli: OknoProcess | undefined;
  afterEach(() => {
    if (cli && cli.child.exitCode === null) cli.child.kill('SIGKILL');
    cli = undefined;
  });

  it('reads the registry (default config/partners.xroad.json) and its dialect, names what it answers, and answers', async () => {
    cli = spawnOkno(['simulate', 'xroad', '--port', '0', '--answer-as', TAX, '--verbose'], 15_000);
    const port = Number((await cli.until(/listening on http:\/\/127\.0\.0\.1:(\d+)/))[1]);
    expect(cli.out).toContain('(trembita)');
    expect(cli.out).toContain(`answered by the simulator as ${TAX} (kyiv-tax): TaxpayerNumber_v1 (fns-inn)`);
    expect(cli.out).toContain(`allow ${OKNO} → ${TAX}/TaxpayerNumber_v1`);
    const d = restDialect('trembita');
    const request = restRequest({ dialect: d, securityServer: `http://127.0.0.1:${port}`, client: parseMember(OKNO), service: parseService(`${TAX}/TaxpayerNumber_v1`, false), id: randomUUID(), userId: null, purposeIds: [], body: serviceExample('fns-inn') });
    const res = await fetch(request.url, { method: 'POST', headers: request.headers, body: request.body });
    expect(res.status).toBe(200);
    await cli.until(/REST\/trembita\s+POST\s+\/restapi.*answered as SEVDEIR-TEST\/GOV\/87654321\/tax: HTTP 200/);
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
  }, 20_000);

  it('a subsystem the registry does not name stops start-up with exit 2 and one line', async () => {
    cli = spawnOkno(['simulate', 'xroad', '--port', '0', '--answer-as', 'SEVDEIR-TEST/GOV/1/nobody', '--partners', PARTNERS_FILE]);
    expect(await cli.exited).toBe(2);
    expect(cli.err.trim().split('\n')).toHaveLength(1);
    expect(cli.err).toMatch(/^okno simulate xroad: --answer-as SEVDEIR-TEST\/GOV\/1\/nobody: no partner/);
  });
});
