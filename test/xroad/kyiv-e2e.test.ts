/**
 * The Kyiv exchange end to end (README "Walk-through: a Kyiv exchange over
 * Trembita"): the real gateway on a real redis with a copy of
 * config/partners.xroad.json whose xroad.securityServer is the Security
 * Server simulator; the simulator knows Okno's subsystem at the gateway's
 * /ws/xroad and /xroad/rest, plays the two agencies' information systems
 * itself (--answer-as) and grants the access rights the registry says.
 *
 * a. the registry agency asks the city over SOAP (X-Road 4.0) through the
 *    simulator; the city answers through its API while the call waits;
 * b. the city asks kyiv-registry (SOAP, LandExtract_v1) through POST /api/v1/queries;
 * c. the city asks kyiv-tax (Trembita REST /restapi, TaxpayerNumber_v1);
 * d. the simulator refusing, then down: the query waits and is answered after;
 * e. an application (KindergartenEnrollment_v1) over Trembita REST: 201 receipt.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/catalogue/load.js';
import type { ServiceCatalogue } from '../../src/catalogue/types.js';
import { loadPartners } from '../../src/registry/partners.js';
import { XRoadSecurityServerSimulator } from '../../src/simulators/xroad-security-server.js';
import { childElements, textContent } from '../../src/xml/helpers.js';
import { parseXml } from '../../src/xml/parser.js';
import type { XmlElement } from '../../src/xml/types.js';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { CITY, OPS, serviceExample } from '../helpers/smev.js';

const OKNO = 'SEVDEIR-TEST/GOV/44444444/okno';
const REGISTRY = 'SEVDEIR-TEST/GOV/12345678/registry';
const TAX = 'SEVDEIR-TEST/GOV/87654321/tax';
const SOAP_ENV = 'http://schemas.xmlsoap.org/soap/envelope/';
const XRD = 'http://x-road.eu/xsd/xroad.xsd';
const ID = 'http://x-road.eu/xsd/identifiers';

type Json = Record<string, unknown>;
interface InboxEntry {
  id: string;
  kind: string;
  service: string;
  messageId: string;
  partner: string;
  content: unknown;
  requestId: string | null;
  applicationId: string | null;
  registrationNumber: string | null;
  xroad?: { dialect: string; protocol: string; client: string; service: string; id: string; userId: string | null };
}

let redis: RedisTestServer;
let sim: XRoadSecurityServerSimulator;
let gw: RunningGateway;
let catalogue: ServiceCatalogue;
let dir: string;

/** config/partners.xroad.json with the simulator as the gateway's Security Server (certificate paths made absolute). */
function registryCopy(securityServer: string): string {
  const doc = JSON.parse(readFileSync(path.join(projectRoot, 'config/partners.xroad.json'), 'utf8')) as { xroad: Json; partners: Json[] };
  doc.xroad.securityServer = securityServer;
  for (const p of doc.partners) if (Array.isArray(p.certificates)) p.certificates = (p.certificates as string[]).map((c) => path.resolve(projectRoot, 'config', c));
  const file = path.join(dir, 'partners.xroad.json');
  writeFileSync(file, JSON.stringify(doc, null, 2));
  return file;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'okno-kyiv-e2e-'));
  catalogue = loadCatalogue(path.join(projectRoot, 'config/services'));
  redis = await startRedisServer();
  // The simulator first (the registry names its URL), answering as both agencies; Okno joins once it listens.
  sim = await XRoadSecurityServerSimulator.start({
    dialect: 'trembita',
    answerAs: [{ subsystem: REGISTRY }, { subsystem: TAX }],
    catalogue,
    partners: loadPartners(path.join(projectRoot, 'config/partners.xroad.json')).registry,
  });
  gw = await startGateway({
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: 'kyiv-e2e:',
    PARTNERS_FILE: registryCopy(sim.url),
    XROAD_ANSWER_WAIT_S: '20',
    DELIVERY_BACKOFF_MS: '100',
    DELIVERY_BACKOFF_CAP_MS: '400',
    DELIVERY_TIMEOUT_MS: '5000',
    LOG_LEVEL: 'warn',
  });
  sim.addMember({ subsystem: OKNO, soap: `${gw.url}/ws/xroad`, rest: `${gw.url}/xroad/rest` });
}, 30_000);

afterAll(async () => {
  await gw?.close();
  await sim?.close();
  await redis?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function api<T>(method: 'GET' | 'POST', url: string, body?: unknown, auth: Record<string, string> = CITY): Promise<{ status: number; json: T }> {
  const res = await fetch(`${gw.url}${url}`, { method, headers: { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : null) as T };
}

/** Polls `probe` until it gives a value (not undefined), failing with `what` after `ms`. */
async function eventually<T>(what: string, probe: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 30));
  }
}

const inbox = async () => (await api<{ items: InboxEntry[] }>('GET', '/api/v1/inbox?limit=200')).json.items;
const inboxItem = (what: string, match: (i: InboxEntry) => boolean) => eventually(what, async () => (await inbox()).find(match));


interface QueryView {
  state: string;
  answer: unknown;
  messageId: string;
  delivery: { state: string; attempts: number; lastError: string | null };
}
const queryView = async (id: string) => (await api<QueryView>('GET', `/api/v1/queries/${id}`)).json;

/** POST /api/v1/queries; the query's id and X-Road message id. */
async function ask(service: string, data: unknown, extra: Json = {}): Promise<{ id: string; messageId: string }> {
  const res = await api<{ id: string; messageId: string }>('POST', '/api/v1/queries', { service, data, ...extra });
  expect(res.status, JSON.stringify(res.json)).toBe(202);
  return res.json;
}

function identifier(name: 'client' | 'service', id: string, code?: string): string {
  const [instance, memberClass, memberCode, subsystem] = id.split('/');
  const parts = [`<id:xRoadInstance>${instance}</id:xRoadInstance>`, `<id:memberClass>${memberClass}</id:memberClass>`, `<id:memberCode>${memberCode}</id:memberCode>`, `<id:subsystemCode>${subsystem}</id:subsystemCode>`];
  if (code) parts.push(`<id:serviceCode>${code}</id:serviceCode>`);
  return `<xrd:${name} id:objectType="${name === 'service' ? 'SERVICE' : 'SUBSYSTEM'}">${parts.join('')}</xrd:${name}>`;
}

function childOf(el: XmlElement, ns: string, name: string): XmlElement {
  const c = childElements(el, ns, name)[0];
  if (!c) throw new Error(`no ${name} in ${el.localName}`);
  return c;
}

describe('the Kyiv exchange through the Trembita Security Server simulator', () => {
  it('a. the registry agency asks the city over SOAP; the city answers while the call waits; headers echoed, requestHash added, journaled', async () => {
    const code = 'AdvertisingRegisterExtract_v1';
    const service = catalogue.get('advertising-permit-register-extract')!;
    // The wrapper's namespace as the service's WSDL declares it (document/literal wrapped).
    const wsdl = await (await fetch(`${gw.url}/ws/xroad/${code}?wsdl`)).text();
    const all = (el: XmlElement): XmlElement[] => [el, ...childElements(el).flatMap(all)];
    const schemas = all(parseXml(wsdl).root).filter((e) => e.localName === 'schema' && e.namespaceURI === 'http://www.w3.org/2001/XMLSchema');
    const declaring = schemas.find((s) => childElements(s).some((e) => e.localName === 'element' && e.attributes.some((a) => a.localName === 'name' && a.value === code)));
    const wrapperNs = declaring?.attributes.find((a) => a.localName === 'targetNamespace')?.value;
    expect(wrapperNs).toBeTruthy();
    const xrdId = randomUUID();
    const header = [
      identifier('client', REGISTRY),
      identifier('service', OKNO, code),
      `<xrd:id>${xrdId}</xrd:id>`,
      '<xrd:userId>UA1234567890</xrd:userId>',
      '<xrd:issue>KYIV-2026-77</xrd:issue>',
      '<xrd:protocolVersion>4.0</xrd:protocolVersion>',
    ].join('\n    ');
    const envelope =
      `<?xml version="1.0" encoding="UTF-8"?>\n<SOAP-ENV:Envelope xmlns:SOAP-ENV="${SOAP_ENV}" xmlns:xrd="${XRD}" xmlns:id="${ID}">\n` +
      `  <SOAP-ENV:Header>\n    ${header}\n  </SOAP-ENV:Header>\n` +
      `  <SOAP-ENV:Body><w:${code} xmlns:w="${wrapperNs}">${service.request.toXml(serviceExample('advertising-permit-register-extract')).replace(/^<\?xml[^>]*\?>\s*/, '')}</w:${code}></SOAP-ENV:Body>\n</SOAP-ENV:Envelope>\n`;
    const call = fetch(`${sim.url}/`, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' }, body: envelope });

    // The city sees the query in its inbox while the call waits, and answers it.
    // (the call must still be waiting: an early answer is a fault, shown as the failure)
    const early = call.then(async (r) => {
      throw new Error(`the call ended before the city answered: HTTP ${r.status} ${await r.clone().text()}`);
    });
    early.catch(() => undefined);
    const item = await Promise.race([inboxItem('the agency’s query in the inbox', (i) => i.messageId === xrdId), early]);
    expect(item).toMatchObject({ kind: 'query', service: 'advertising-permit-register-extract', partner: 'kyiv-registry', xroad: { dialect: 'trembita', protocol: 'soap', client: REGISTRY, service: `${OKNO}/${code}`, id: xrdId, userId: 'UA1234567890' } });
    const answer = serviceExample('advertising-permit-register-extract', 'response');
    const answered = await api('POST', `/api/v1/requests/${item.requestId}/response`, { data: answer });
    expect(answered.status, JSON.stringify(answered.json)).toBeLessThan(300);

    const res = await call;
    const body = await res.text();
    expect(res.status, body).toBe(200);
    const root = parseXml(body).root;
    const h = childOf(root, SOAP_ENV, 'Header');
    // every request header echoed, in order, and the Security Server's requestHash last
    expect(childElements(h).map((e) => e.localName)).toEqual(['client', 'service', 'id', 'userId', 'issue', 'protocolVersion', 'requestHash']);
    expect(textContent(childOf(h, XRD, 'id'))).toBe(xrdId);
    expect(textContent(childOf(h, XRD, 'issue'))).toBe('KYIV-2026-77');
    const requestHash = textContent(childOf(h, XRD, 'requestHash')).trim();
    expect(requestHash).toBe(sim.exchanges().at(-1)!.requestHash);
    const wrapper = childOf(childOf(root, SOAP_ENV, 'Body'), wrapperNs!, `${code}Response`);
    expect(service.response!.toJson(childElements(wrapper)[0]!)).toEqual(answer);

    // The journal keeps the exchange with every header.
    const journal = await api<{ items: Array<{ direction: string; messageId: string; succeeded: boolean; xroad?: { client: string; id: string; userId: string; issue: string; headers: Record<string, string> } }> }>('GET', `/api/v1/journal?xroadClient=${encodeURIComponent(REGISTRY)}`, undefined, OPS);
    const record = journal.json.items.find((r) => r.messageId === xrdId && r.direction === 'inbound');
    expect(record, JSON.stringify(journal.json.items.map((r) => [r.direction, r.messageId]))).toBeDefined();
    expect(record!.xroad).toMatchObject({ client: REGISTRY, id: xrdId, userId: 'UA1234567890', issue: 'KYIV-2026-77' });
    expect(record!.xroad!.headers).toMatchObject({ client: REGISTRY, service: `${OKNO}/${code}`, id: xrdId, userId: 'UA1234567890', issue: 'KYIV-2026-77', protocolVersion: '4.0' });
  }, 30_000);

  it('b. the city asks kyiv-registry over SOAP (LandExtract_v1); the simulator answers as the registry; the answer is in the inbox', async () => {
    const before = sim.exchanges().length;
    const q = await ask('egrn-extract', serviceExample('egrn-extract'), { userId: 'UA5550001112' });
    const item = await inboxItem('the registry’s answer in the inbox', (i) => i.kind === 'response' && i.messageId === q.messageId);
    expect(item).toMatchObject({ service: 'egrn-extract', partner: 'kyiv-registry', content: { state: 'answered', answer: serviceExample('egrn-extract', 'response') }, xroad: { protocol: 'soap', client: OKNO, service: `${REGISTRY}/LandExtract_v1`, id: q.messageId, userId: 'UA5550001112' } });
    expect(await queryView(q.id)).toMatchObject({ state: 'answered', answer: serviceExample('egrn-extract', 'response') });

    const passed = sim.exchanges().slice(before).find((e) => e.id === q.messageId)!;
    expect(passed).toMatchObject({ protocol: 'soap', client: OKNO, service: `${REGISTRY}/LandExtract_v1`, userId: 'UA5550001112', answeredAs: REGISTRY, fault: null, serviceFault: null });
    const journal = await api<{ items: Array<{ direction: string; messageId: string; succeeded: boolean; xroad?: { id: string; userId: string; requestHash: string | null; headers: Record<string, string> } }> }>('GET', `/api/v1/journal?xroadClient=${encodeURIComponent(OKNO)}`, undefined, OPS);
    const record = journal.json.items.find((r) => r.direction === 'outbound' && r.messageId === q.messageId && r.succeeded);
    expect(record?.xroad).toMatchObject({ id: q.messageId, userId: 'UA5550001112', requestHash: passed.requestHash });
    expect(record!.xroad!.headers).toMatchObject({ id: q.messageId, userId: 'UA5550001112', protocolVersion: '4.0' });
  }, 30_000);

  it('c. the city asks kyiv-tax over Trembita REST (TaxpayerNumber_v1); the answer is in the inbox', async () => {
    const before = sim.exchanges().length;
    const q = await ask('fns-inn', serviceExample('fns-inn'), { userId: 'UA5550001112', purposeIds: ['tax-check'] });
    const item = await inboxItem('the tax service’s answer in the inbox', (i) => i.kind === 'response' && i.messageId === q.messageId);
    expect(item).toMatchObject({ service: 'fns-inn', partner: 'kyiv-tax', content: { state: 'answered', answer: serviceExample('fns-inn', 'response') }, xroad: { dialect: 'trembita', protocol: 'rest', client: OKNO, service: `${TAX}/TaxpayerNumber_v1`, id: q.messageId } });
    const passed = sim.exchanges().slice(before).find((e) => e.id === q.messageId)!;
    expect(passed).toMatchObject({ protocol: 'rest', dialect: 'trembita', url: '/restapi', answeredAs: TAX, userId: 'UA5550001112', status: 200 });
    const sent = new Map(passed.requestHeaders.map(([n, v]) => [n.toLowerCase(), v]));
    expect([sent.get('uxp-client'), sent.get('uxp-service'), sent.get('uxp-queryid'), sent.get('uxp-subject-id'), sent.get('uxp-purpose-ids')]).toEqual([OKNO, `${TAX}/TaxpayerNumber_v1`, q.messageId, 'UA5550001112', 'tax-check']);
  }, 30_000);

  it('d. the Security Server refusing, then down: the query stays pending, retried with the same xrd:id, and is answered once it is back', async () => {
    // refusing: Server.ClientProxy.NetworkError, a Server.* fault: retried
    sim.setMode('refusing');
    const before = sim.exchanges().length;
    const q1 = await ask('egrn-extract', serviceExample('egrn-extract'));
    const refused = await sim.waitForExchanges(before + 2, 10_000);
    // each refused call still names what it carried: the same xrd:id every time
    expect(refused.slice(before).map((e) => [e.mode, e.id, e.userId, e.fault?.code])).toEqual([
      ['refusing', q1.messageId, '44444444', 'Server.ClientProxy.NetworkError'],
      ['refusing', q1.messageId, '44444444', 'Server.ClientProxy.NetworkError'],
    ]);
    expect((await queryView(q1.id)).delivery).toMatchObject({ state: 'pending' });
    sim.setMode('normal');
    await inboxItem('the answer after the refusals', (i) => i.kind === 'response' && i.messageId === q1.messageId);
    expect((await queryView(q1.id)).delivery.attempts).toBeGreaterThanOrEqual(3);
    // every attempt journaled under the same xrd:id: the refusals, then the answer
    const journal = await api<{ items: Array<{ direction: string; messageId: string; succeeded: boolean; faultCode: string | null; xroad?: { id: string } }> }>('GET', `/api/v1/journal?messageId=${q1.messageId}&limit=100`, undefined, OPS);
    const attempts = journal.json.items.filter((r) => r.direction === 'outbound').reverse();
    expect(attempts.map((r) => r.xroad?.id)).toEqual(attempts.map(() => q1.messageId));
    expect(attempts.filter((r) => r.faultCode === 'Server.ClientProxy.NetworkError').length).toBeGreaterThanOrEqual(2);
    expect(attempts.at(-1)).toMatchObject({ succeeded: true, faultCode: null });

    // down: connections cut unanswered (nothing recorded); the attempts count up
    sim.setMode('down');
    const q2 = await ask('fns-inn', serviceExample('fns-inn'));
    const pending = await eventually('two failed attempts while down', async () => {
      const v = await queryView(q2.id);
      return v.delivery.attempts >= 2 ? v : undefined;
    });
    expect(pending).toMatchObject({ state: expect.not.stringMatching(/^answered$/), delivery: { state: 'pending', lastError: expect.stringMatching(/network/) } });
    sim.setMode('normal');
    const item = await inboxItem('the answer after the Security Server came back', (i) => i.kind === 'response' && i.messageId === q2.messageId);
    expect(item.content).toMatchObject({ state: 'answered', answer: serviceExample('fns-inn', 'response') });
    expect(sim.exchanges().filter((e) => e.id === q2.messageId).map((e) => e.status)).toEqual([200]);
  }, 40_000);

  it('e. the registry agency files an application over Trembita REST: 201 receipt with a registration number, in the inbox', async () => {
    const id = randomUUID();
    const res = await fetch(`${sim.url}/restapi`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'Uxp-Client': REGISTRY, 'Uxp-Service': `${OKNO}/KindergartenEnrollment_v1`, 'Uxp-QueryID': id, 'Uxp-Subject-Id': 'UA1234567890' },
      body: JSON.stringify(serviceExample('kindergarten-enrollment')),
    });
    const receipt = (await res.json()) as { applicationId: string; registrationNumber: string; receivedAt: string };
    expect(res.status, JSON.stringify(receipt)).toBe(201);
    expect(res.headers.get('uxp-queryid')).toBe(id);
    expect(receipt.registrationNumber).toMatch(/\S/);
    const item = await inboxItem('the application in the inbox', (i) => i.messageId === id);
    expect(item).toMatchObject({ kind: 'application', service: 'kindergarten-enrollment', partner: 'kyiv-registry', applicationId: receipt.applicationId, registrationNumber: receipt.registrationNumber, xroad: { protocol: 'rest', client: REGISTRY, id } });
    expect(sim.exchanges().at(-1)).toMatchObject({ forwardedTo: `${gw.url}/xroad/rest/KindergartenEnrollment_v1`, status: 201 });
  }, 30_000);

  it("f. the README's SOAP example (docs/xroad/ask-city.soap.xml), byte for byte, through the simulator: in the inbox, answered by the city", async () => {
    const envelope = readFileSync(path.join(projectRoot, 'docs/xroad/ask-city.soap.xml'));
    const call = fetch(`${sim.url}/`, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8' }, body: envelope });
    const item = await inboxItem('the README example in the inbox', (i) => i.messageId === 'kyiv-registry-0001');
    expect(item).toMatchObject({ kind: 'query', partner: 'kyiv-registry', xroad: { protocol: 'soap', client: REGISTRY, userId: 'UA1234567890' } });
    expect((await api('POST', `/api/v1/requests/${item.requestId}/response`, { data: serviceExample('advertising-permit-register-extract', 'response') })).status).toBeLessThan(300);
    const res = await call;
    const body = await res.text();
    expect(res.status, body).toBe(200);
    expect(body).toMatch(/<xrd:id>kyiv-registry-0001<\/xrd:id>/);
    expect(body).toMatch(/AdvertisingRegisterExtract_v1Response/);
  }, 30_000);
});
