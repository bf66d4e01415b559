/**
 * Interagency queries on real federal packages (config/services/<id>/xsd/, the XSDs as the
 * agencies published them, the JSON derived from them), end to end through real HTTP:
 *
 *   city POSTs JSON → the gateway signs a SendRequest carrying the real request element →
 *   (a recording proxy on loopback) → the agency simulator verifies it and answers with the
 *   real response element → the JSON answer lands in the inbox, equal to what the agency sent.
 *
 * xmllint is the independent judge: the request element the gateway sent and the response
 * element the agency sent are each cut out of their signed envelopes and validated with
 * `xmllint --schema` against the service's own package.
 *
 * Bad input stays clean: derived JSON that breaks the schema gets a 400 naming the JSON
 * pointer; an agency answer whose XML violates the real schema gets an InvalidContent SOAP
 * fault naming the element path (the query stays open); the agency refuses a SendRequest
 * whose content violates the real schema the same way.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/catalogue/load.js';
import { parseCertificate } from '../../src/pki/certificate.js';
import { signDocument } from '../../src/signature/sign.js';
import { TrustAnchorSet } from '../../src/pki/trust.js';
import { AgencySimulator } from '../../src/simulators/agency.js';
import { sendRequestEnvelope, sendResponseEnvelope } from '../../src/soap/envelope-builder.js';
import { uuidV1 } from '../../src/soap/message-id.js';
import type { JsonValue } from '../../src/store/types.js';
import { excC14n } from '../../src/xml/c14n.js';
import { childElements } from '../../src/xml/helpers.js';
import { parseXml } from '../../src/xml/parser.js';
import type { XmlElement } from '../../src/xml/types.js';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { CITY, faultOf, postSoap, sampleSigner, serviceExample } from '../helpers/smev.js';
import { requireTool } from '../helpers/tools.js';

const SERVICES_DIR = path.join(projectRoot, 'config/services');
const catalogue = loadCatalogue(SERVICES_DIR);
const trust = new TrustAnchorSet([readFileSync(path.join(projectRoot, 'certs-sample/ca.crt.pem'), 'utf8')]);
const gatewayFingerprint = parseCertificate(readFileSync(path.join(projectRoot, 'certs-sample/gateway.crt.pem'), 'utf8')).fingerprintSha256;

/** The federal services shipped with their packages, and the agency behind each. */
const FEDERAL = ['zags-rogdinf', 'fns-inn', 'pfr-snils', 'mvd-living-place', 'giszhkh-debt', 'rosreestr-egrn-land'] as const;

interface QueryView {
  id: string;
  state: 'sent' | 'answered' | 'rejected' | 'failed';
  answer: JsonValue;
  messageId: string;
  responseInboxItemId: string | null;
}

/** The service.json entry file of a part, as a path. */
function xsdOf(service: string, part: 'request' | 'response'): string {
  const file = JSON.parse(readFileSync(path.join(SERVICES_DIR, service, 'service.json'), 'utf8')) as Record<string, { xsd: string }>;
  return path.join(SERVICES_DIR, service, file[part]!.xsd);
}

function findElement(el: XmlElement, localName: string): XmlElement | null {
  if (el.localName === localName) return el;
  for (const c of childElements(el)) {
    const found = findElement(c, localName);
    if (found) return found;
  }
  return null;
}

/** The business element of a SMEV envelope (the only child of MessagePrimaryContent). */
function businessElement(envelope: string): XmlElement {
  const container = findElement(parseXml(envelope).root, 'MessagePrimaryContent');
  if (!container) throw new Error('no MessagePrimaryContent in the envelope');
  const [content, ...rest] = childElements(container);
  if (!content || rest.length > 0) throw new Error('MessagePrimaryContent must hold exactly one element');
  return content;
}

const scratch = mkdtempSync(path.join(tmpdir(), 'okno-federal-'));
let scratchCount = 0;

/** xmllint's verdict on one standalone document against an entry schema. */
function xmllint(xml: string, schema: string): { valid: boolean; output: string } {
  const file = path.join(scratch, `doc-${++scratchCount}.xml`);
  writeFileSync(file, xml);
  const r = spawnSync('xmllint', ['--noout', '--schema', schema, file], { encoding: 'utf8' });
  return { valid: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

/** A loopback proxy in front of the agency that records every SOAP body the gateway POSTs. */
async function recordingProxy(target: () => string): Promise<{ server: Server; url: string; bodies: string[] }> {
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      bodies.push(body.toString('utf8'));
      fetch(target(), { method: 'POST', headers: { 'content-type': req.headers['content-type'] ?? 'text/xml', soapaction: String(req.headers.soapaction ?? '') }, body: new Uint8Array(body) })
        .then(async (r) => {
          res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'text/xml' });
          res.end(Buffer.from(await r.arrayBuffer()));
        })
        .catch(() => {
          res.writeHead(502);
          res.end();
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies };
}

function partnersFileFor(agencyEndpoint: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'okno-partners-'));
  const partners = JSON.parse(readFileSync(path.join(projectRoot, 'config/partners.json'), 'utf8')) as { partners: Array<{ id: string; certificates: string[]; endpoint: string | null }> };
  for (const p of partners.partners) {
    p.certificates = p.certificates.map((c) => path.resolve(projectRoot, 'config', c));
    if (p.id === 'agency') p.endpoint = agencyEndpoint;
  }
  writeFileSync(path.join(dir, 'partners.json'), JSON.stringify(partners));
  return path.join(dir, 'partners.json');
}

async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: last ${JSON.stringify(v).slice(0, 500)}`);
    await sleep(50);
  }
}

describe('interagency queries on real federal packages', () => {
  let agency: AgencySimulator;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  let gw: RunningGateway;

  beforeAll(async () => {
    requireTool('xmllint', ['--version'], 'libxml2-utils');
    agency = await AgencySimulator.start({ port: 0, trust, expectedSigner: gatewayFingerprint, signer: sampleSigner('agency'), catalogue });
    proxy = await recordingProxy(() => `${agency.url}/ws/smev3`);
    gw = await startGateway({
      PARTNERS_FILE: partnersFileFor(`${proxy.url}/ws/smev3`),
      DELIVERY_BACKOFF_MS: '50',
      DELIVERY_BACKOFF_CAP_MS: '200',
      DELIVERY_TIMEOUT_MS: '2000',
    });
    agency.setGatewayUrl(gw.url);
  });
  afterAll(async () => {
    await gw?.close();
    await agency?.close();
    await new Promise((resolve) => proxy?.server.close(resolve));
  });

  const post = async (body: object) => {
    const res = await fetch(`${gw.url}/api/v1/queries`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as { id: string; messageId: string; error?: { message: string } } };
  };
  const view = async (id: string) => (await (await fetch(`${gw.url}/api/v1/queries/${id}`, { headers: CITY })).json()) as QueryView;

  it('the agency partner is registered for every federal service, and the simulator answers each', () => {
    const partners = JSON.parse(readFileSync(path.join(projectRoot, 'config/partners.json'), 'utf8')) as { partners: Array<{ id: string; receives: string[] }> };
    const receives = partners.partners.find((p) => p.id === 'agency')!.receives;
    for (const id of FEDERAL) {
      expect(receives).toContain(id);
      expect(agency.answeredServices).toContain(id);
      expect(catalogue.get(id)).toMatchObject({ kind: 'query', direction: 'outbound', derived: true });
    }
  });

  for (const service of FEDERAL) {
    it(`${service}: JSON in → signed SendRequest with the real request element → the agency's real response element → the same JSON in the inbox`, async () => {
      const def = catalogue.get(service)!;
      const data = serviceExample(service);
      const created = await post({ service, data });
      expect(created.status).toBe(202);
      const answered = await until('answered', () => view(created.body.id), (q) => q.state !== 'sent');
      expect(answered.state).toBe('answered');

      // What the gateway sent: a SendRequest whose business element is the package's request root, valid for xmllint.
      const sendRequest = proxy.bodies.find((b) => b.includes(created.body.messageId) && b.includes('SendRequestRequest'));
      expect(sendRequest, 'the SendRequest went through the proxy').toBeDefined();
      const request = businessElement(sendRequest!);
      expect({ ns: request.namespaceURI, local: request.localName }).toEqual({ ns: def.request.namespace, local: def.request.rootElement });
      const requestVerdict = xmllint(excC14n(request), xsdOf(service, 'request'));
      expect(requestVerdict.output).toMatch(/validates/);
      expect(requestVerdict.valid).toBe(true);
      const received = agency.queries().find((q) => q.messageId === created.body.messageId)!;
      expect(received).toMatchObject({ service, content: data });
      expect(received.signerSubject).toMatch(/CN=okno-gateway/);

      // What the agency answered: its fixture (the service's response example) as the real response element.
      const sent = agency.answers().find((a) => a.to === created.body.messageId)!;
      expect(sent).toMatchObject({ kind: 'content', httpStatus: 200, fixture: 'example.response.json' });
      expect(sent.content).toEqual(serviceExample(service, 'response'));
      const response = businessElement(sent.envelope);
      expect({ ns: response.namespaceURI, local: response.localName }).toEqual({ ns: def.response!.namespace, local: def.response!.rootElement });
      expect(xmllint(excC14n(response), xsdOf(service, 'response')).valid).toBe(true);

      // The JSON the city reads equals what the agency sent.
      expect(answered.answer).toEqual(sent.content);
      const inbox = (await (await fetch(`${gw.url}/api/v1/inbox?limit=500`, { headers: CITY })).json()) as { items: Array<{ id: string; kind: string; content: { queryId: string; answer: JsonValue } }> };
      const item = inbox.items.find((i) => i.id === answered.responseInboxItemId)!;
      expect(item).toMatchObject({ kind: 'response', content: { queryId: created.body.id, answer: sent.content! } });
    });
  }

  it('derived JSON that breaks the real schema: 400 naming the JSON pointer, nothing sent', async () => {
    const sent = proxy.bodies.length;
    const zags = serviceExample('zags-rogdinf') as { СведЗапрос: Array<{ СведФЛ: { СНИЛС: string } }> };
    zags.СведЗапрос[0]!.СведФЛ.СНИЛС = '112 233 445 95';
    const badSnils = await post({ service: 'zags-rogdinf', data: zags });
    expect(badSnils.status).toBe(400);
    expect(badSnils.body.error!.message).toMatch(/^body\/data does not fit zags-rogdinf: \/СведЗапрос\/0\/СведФЛ\/СНИЛС pattern/);

    const fns = serviceExample('fns-inn') as { СведФЛ: Record<string, unknown> };
    delete fns.СведФЛ.ФИО;
    const noName = await post({ service: 'fns-inn', data: fns });
    expect(noName.status).toBe(400);
    expect(noName.body.error!.message).toMatch(/\/СведФЛ required/);

    const egrn = serviceExample('rosreestr-egrn-land') as { header: { actionCode: string } };
    egrn.header.actionCode = '659599999999';
    const badCode = await post({ service: 'rosreestr-egrn-land', data: egrn });
    expect(badCode.status).toBe(400);
    expect(badCode.body.error!.message).toMatch(/\/header\/actionCode enum/);
    expect(proxy.bodies.length).toBe(sent);
  });

  describe('an agency answer whose XML violates the real schema', () => {
    /** A query left open (the agency silent), then a signed answer with this content XML from the agency. */
    const answerWith = async (service: string, edit: (xml: string) => string) => {
      agency.mode(service, { kind: 'silent' });
      try {
        const created = await post({ service, data: serviceExample(service) });
        expect(created.status).toBe(202);
        await until('received', async () => agency.queries().some((q) => q.messageId === created.body.messageId), Boolean);
        const xml = catalogue.get(service)!.response!.toXml(serviceExample(service, 'response'));
        const contentXml = edit(xml);
        expect(contentXml).not.toBe(xml);
        const envelope = sendResponseEnvelope({ version: '1.1', messageId: uuidV1(), to: created.body.messageId, body: { kind: 'content', contentXml } });
        const res = await postSoap(gw.url, await signDocument(envelope, { signer: sampleSigner('agency'), profile: 'smev' }));
        return { res, contentXml, queryId: created.body.id };
      } finally {
        agency.mode(service, { kind: 'answer' });
      }
    };

    it('an ИННФЛ with a letter (FNS): InvalidContent naming the attribute, xmllint agrees, the query stays open', async () => {
      const { res, contentXml, queryId } = await answerWith('fns-inn', (x) => x.replace('ИННФЛ="710407234505"', 'ИННФЛ="71040723450X"'));
      // A SOAP 1.1 fault (HTTP 500 by the SOAP binding) the sender must act on, not a gateway error.
      expect(res.status).toBe(500);
      expect(res.body).toMatch(/<faultcode>soap:Client<\/faultcode>/);
      const fault = faultOf(res.body);
      expect(fault.fault).toBe('InvalidContent');
      expect(fault.faultstring).toMatch(/content of fns-inn is invalid: \/FNSINNSingularResponse\/@ИННФЛ: pattern/);
      expect(xmllint(contentXml, xsdOf('fns-inn', 'response')).valid).toBe(false);
      expect((await view(queryId)).state).toBe('sent');
    });

    it('a land extract without its required status (Rosreestr, no-namespace package): InvalidContent naming the element', async () => {
      const { res, contentXml, queryId } = await answerWith('rosreestr-egrn-land', (x) => x.replace(/<status>[^<]*<\/status>/, ''));
      const fault = faultOf(res.body);
      expect(fault.fault).toBe('InvalidContent');
      expect(fault.faultstring).toMatch(/content of rosreestr-egrn-land is invalid: \/extract_about_property_land: required element status/);
      expect(xmllint(contentXml, xsdOf('rosreestr-egrn-land', 'response')).valid).toBe(false);
      expect((await view(queryId)).state).toBe('sent');
    });
  });

  it('the agency refuses a SendRequest whose content violates the real schema: InvalidContent naming the element path', async () => {
    const xml = catalogue.get('mvd-living-place')!.request.toXml(serviceExample('mvd-living-place'));
    const contentXml = xml.replace(/(<[^>]*series>)7005</, '$1700<');
    expect(contentXml).not.toBe(xml);
    expect(xmllint(contentXml, xsdOf('mvd-living-place', 'request')).valid).toBe(false);
    const envelope = sendRequestEnvelope({ version: '1.1', messageId: uuidV1(), contentXml });
    const res = await postSoap(agency.url, await signDocument(envelope, { signer: sampleSigner('gateway'), profile: 'smev' }));
    const fault = faultOf(res.body);
    expect(fault.fault).toBe('InvalidContent');
    expect(fault.faultstring).toMatch(/\/livingPlaceRegistrationRequest\/document\/russianPassport\/series/);
  });
});
