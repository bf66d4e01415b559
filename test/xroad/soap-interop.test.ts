/**
 * The X-Road provider judged by others: the protocol's own Annex E request,
 * byte for byte (only the registry names its members), is accepted and
 * answered as Annex E's response is written; zeep, from GET
 * /ws/xroad/{code}?wsdl, calls an application, a query and the Annex C
 * example service end to end; xmllint compiles the WSDL's schemas, validates
 * a response body against them and the echoed headers against Annex B.
 */
import { execFile, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childElements, textContent } from '../../src/xml/helpers.js';
import { parseXml } from '../../src/xml/parser.js';
import type { XmlElement } from '../../src/xml/types.js';
import { normalizedSource } from '../../src/xroad/response.js';
import { readInbox } from '../helpers/city.js';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { CITY, serviceExample } from '../helpers/smev.js';
import { requireXmllint, xmllintVerdicts } from '../helpers/xmllint.js';
import { APPLICATION, QUERY, postXRoad, writeXRoadPartners } from '../helpers/xroad-provider.js';

const run = promisify(execFile);
const python = '/usr/bin/python3';
const FIXTURES = path.join(projectRoot, 'test/fixtures/xroad');
/** Annex E's members: the client EE/GOV/MEMBER1/SUBSYSTEM1 calls EE/GOV/MEMBER2/SUBSYSTEM2's exampleService v1. */
const PROVIDER = 'EE/GOV/MEMBER2/SUBSYSTEM2';
const CLIENT = 'EE/GOV/MEMBER1/SUBSYSTEM1';

let redis: RedisTestServer;
let gw: RunningGateway;
let dir: string;

beforeAll(async () => {
  const probe = spawnSync(python, ['-c', 'import zeep'], { stdio: 'ignore' });
  if (probe.status !== 0) throw new Error('this test needs /usr/bin/python3 with zeep (apt-get install -y python3-zeep)');
  requireXmllint();
  dir = mkdtempSync(path.join(tmpdir(), 'okno-xroad-interop-'));
  const services = path.join(dir, 'services');
  cpSync(path.join(projectRoot, 'config/services'), services, { recursive: true });
  cpSync(path.join(FIXTURES, 'services/xroad-example'), path.join(services, 'xroad-example'), { recursive: true });
  const partners = writeXRoadPartners((doc) => {
    doc.xroad = { self: PROVIDER, dialect: 'xroad', services: { 'xroad-example': { code: 'exampleService', version: 'v1' } } };
    doc.partners = doc.partners.filter((p) => p.transport === undefined);
    doc.partners.push({ id: 'annex-e', name: 'Annex E client', role: 'agency', sends: ['xroad-example', APPLICATION, QUERY], receives: [], endpoint: null, transport: { mode: 'xroad', subsystem: CLIENT } });
  });
  redis = await startRedisServer();
  gw = await startGateway({ REDIS_URL: redis.url, SERVICES_DIR: services, PARTNERS_FILE: partners, XROAD_ANSWER_WAIT_S: '20' });
});
afterAll(async () => {
  await gw?.close();
  await redis?.dispose();
});

const bodyOf = (root: XmlElement) => childElements(childElements(root).find((c) => c.localName === 'Body')!)[0]!;
const headerOf = (root: XmlElement) => childElements(root).find((c) => c.localName === 'Header')!;
/** An element as {ns}name(children…) or {ns}name="text": what the protocol compares (names and values, not prefixes). */
function shape(el: XmlElement): string {
  const kids = childElements(el);
  const attrs = el.attributes.map((a) => `@{${a.namespaceURI}}${a.localName}=${a.value}`).join('');
  return `{${el.namespaceURI}}${el.localName}${attrs}${kids.length > 0 ? `(${kids.map(shape).join(',')})` : `="${textContent(el).replace(/\s+/g, '')}"`}`;
}

/** Answers the query the inbox shows for X-Road id `id`, once it is there. */
async function answerWhenStored(id: string, data: unknown): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const item = (await readInbox(gw.url)).items.find((x) => x.xroad?.id === id);
    if (item?.requestId) {
      const res = await fetch(`${gw.url}/api/v1/requests/${item.requestId}/response`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/json' }, body: JSON.stringify({ data }) });
      if (res.status >= 300) throw new Error(`answer: HTTP ${res.status} ${await res.text()}`);
      return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no request stored for ${id}`);
}

describe('Annex E', () => {
  it('the example request, as the protocol prints it, is accepted; the answer is the example response (headers echoed, requestHash left to the Security Server)', async () => {
    const request = readFileSync(path.join(FIXTURES, 'annex-e1-request.xml'), 'utf8');
    const expected = parseXml(readFileSync(path.join(FIXTURES, 'annex-e2-response.xml'), 'utf8')).root;
    const call = postXRoad(gw.url, request);
    await answerWhenStored('4894e35d-bf0f-44a6-867a-8e51f1daa7e0', { exampleOutput: 'bar' });
    const res = await call;
    expect(res.status, res.body).toBe(200);
    const got = parseXml(res.body).root;
    const expectedHeaders = childElements(headerOf(expected)).filter((h) => h.localName !== 'requestHash');
    expect(childElements(headerOf(got)).map(shape)).toEqual(expectedHeaders.map(shape));
    expect(shape(bodyOf(got))).toBe(shape(bodyOf(expected)));
    // Verbatim: each header element's text as the request wrote it.
    const requestDoc = parseXml(request);
    const source = normalizedSource(request);
    for (const h of childElements(headerOf(requestDoc.root))) expect(res.body).toContain(source.slice(h.start, h.end));
    const item = (await readInbox(gw.url)).items.find((x) => x.xroad?.id === '4894e35d-bf0f-44a6-867a-8e51f1daa7e0')!;
    expect(item).toMatchObject({ partner: 'annex-e', service: 'xroad-example', content: { exampleInput: 'foo' }, xroad: { client: CLIENT, service: `${PROVIDER}/exampleService/v1`, userId: 'EE12345678901' } });
  });
});

interface ZeepResult {
  ok: boolean;
  response: unknown;
  raw: string | null;
  sent?: string;
  fault: { code: string; message: string } | null;
}

async function zeep(code: string, content: string, id: string): Promise<ZeepResult> {
  const file = path.join(dir, `${id}.xml`);
  writeFileSync(file, content);
  const { stdout } = await run(
    python,
    [path.join(projectRoot, 'test/interop/zeep_xroad_client.py'), '--wsdl', `${gw.url}/ws/xroad/${code}?wsdl`, '--code', code, '--client', CLIENT, '--service', `${PROVIDER}/${code}/v1`, '--id', id, '--user-id', 'UA3000000000', '--content', file],
    { encoding: 'utf8', timeout: 60_000 },
  );
  return JSON.parse(stdout.trim().split('\n').pop()!) as ZeepResult;
}

describe('zeep, from GET /ws/xroad/{code}?wsdl', () => {
  it('an application: zeep sends the headers the WSDL declares and reads the Receipt', async () => {
    const service = gw.gateway.catalogue.get(APPLICATION)!;
    const result = await zeep(APPLICATION, service.request.toXml(serviceExample(APPLICATION)), 'zeep-app-1');
    expect(result.fault).toBeNull();
    expect(result.ok).toBe(true);
    const item = (await readInbox(gw.url)).items.find((x) => x.xroad?.id === 'zeep-app-1')!;
    expect(item).toMatchObject({ kind: 'application', partner: 'annex-e', content: serviceExample(APPLICATION), xroad: { userId: 'UA3000000000' } });
    expect(JSON.stringify(result.response)).toContain(item.registrationNumber!);
  });

  it('a query: zeep waits while the city answers, then reads the response content', async () => {
    const service = gw.gateway.catalogue.get(QUERY)!;
    const data = serviceExample(QUERY, 'response');
    const [result] = await Promise.all([zeep(QUERY, service.request.toXml(serviceExample(QUERY)), 'zeep-query-1'), answerWhenStored('zeep-query-1', data)]);
    expect(result.fault).toBeNull();
    const body = bodyOf(parseXml(result.raw!).root);
    expect(service.response!.toJson(childElements(body)[0]!)).toEqual(data);
  });

  it('the Annex C example service (its own wrapper): zeep gets exampleOutput', async () => {
    const [result] = await Promise.all([zeep('exampleService', '<ns1:exampleService xmlns:ns1="http://producer.x-road.eu"><exampleInput>foo</exampleInput></ns1:exampleService>', 'zeep-example-1'), answerWhenStored('zeep-example-1', { exampleOutput: 'bar' })]);
    expect(result.fault).toBeNull();
    // zeep reads the output's declared headers too: the echo of what it sent.
    expect(result.response).toMatchObject({ body: { exampleOutput: 'bar' }, header: { client: { xRoadInstance: 'EE', memberClass: 'GOV', memberCode: 'MEMBER1', subsystemCode: 'SUBSYSTEM1' }, id: 'zeep-example-1', protocolVersion: '4.0', userId: 'UA3000000000' } });
  });

  it('a fault reaches zeep as a Fault with the code', async () => {
    const service = gw.gateway.catalogue.get('kindergarten-enrollment');
    expect(service).toBeDefined();
    // Served (kindergarten-enrollment is an inbound application) but not granted to the client.
    const result = await zeep('kindergarten-enrollment', service!.request.toXml(serviceExample('kindergarten-enrollment')), 'zeep-denied-1');
    expect(result.fault).toMatchObject({ code: 'Client.AccessDenied' });
  });
});

describe('GET /ws/xroad/{code}?wsdl', () => {
  it('404 for a code the gateway does not provide, and for a file not among the service\'s', async () => {
    expect((await fetch(`${gw.url}/ws/xroad/noSuchService?wsdl`)).status).toBe(404);
    expect((await fetch(`${gw.url}/ws/xroad/zags-birth-record?wsdl`)).status).toBe(404);
    expect((await fetch(`${gw.url}/ws/xroad/${APPLICATION}?xsd=../../partners.json`)).status).toBe(404);
    const wsdl = await (await fetch(`${gw.url}/ws/xroad/${QUERY}?wsdl`)).text();
    expect(wsdl).toContain(`<soap:address location="${gw.url}/ws/xroad"/>`);
    expect(wsdl).toContain('<xrd:version>v1</xrd:version>');
    for (const part of ['client', 'service', 'id', 'userId', 'issue', 'protocolVersion']) expect(wsdl).toContain(`part="${part}"`);
    expect(wsdl).not.toContain('part="requestHash"');
  });

  it('xmllint: the WSDL\'s schemas compile, a response body validates against them, the echoed headers against Annex B', async () => {
    const wsdl = await (await fetch(`${gw.url}/ws/xroad/${APPLICATION}?wsdl`)).text();
    const work = mkdtempSync(path.join(tmpdir(), 'okno-xroad-xsd-'));
    // Each schema of wsdl:types in a file of its own, imported in order by one driver schema.
    const schemas = [...wsdl.matchAll(/<xs:schema[\s\S]*?<\/xs:schema>/g)].map((m) => m[0]);
    expect(schemas.length).toBe(4);
    const declared = (text: string) => (text.includes('xmlns:xs=') ? text : text.replace('<xs:schema', '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"'));
    // The service's own XSDs, fetched as a client would and saved with their locations made local (xmllint stays offline).
    const saved = new Map<string, string>();
    const localize = async (text: string): Promise<string> => {
      let out = text;
      for (const m of text.matchAll(/schemaLocation="([^"]+)"/g)) {
        const url = m[1]!.replace(/&amp;/g, '&');
        if (!saved.has(url)) {
          const name = `x${saved.size}.xsd`;
          saved.set(url, name);
          const res = await fetch(url);
          expect(res.status, url).toBe(200);
          writeFileSync(path.join(work, name), await localize(await res.text()));
        }
        out = out.replace(m[0], `schemaLocation="${saved.get(url)}"`);
      }
      return out;
    };
    const driverImports: string[] = [];
    for (const [i, s] of schemas.entries()) {
      writeFileSync(path.join(work, `s${i}.xsd`), `<?xml version="1.0" encoding="UTF-8"?>\n${await localize(declared(s))}`);
      const ns = /targetNamespace="([^"]+)"/.exec(s)![1]!;
      driverImports.push(`<xs:import namespace="${ns}" schemaLocation="s${i}.xsd"/>`);
    }
    writeFileSync(path.join(work, 'driver.xsd'), `<?xml version="1.0" encoding="UTF-8"?>\n<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:test:driver">\n${driverImports.join('\n')}\n</xs:schema>\n`);

    const res = await postXRoad(gw.url, readFileSync(path.join(FIXTURES, 'annex-e1-request.xml'), 'utf8').replace('exampleService</id:serviceCode>', `${APPLICATION}</id:serviceCode>`).replace(/<ns1:exampleService>[\s\S]*<\/ns1:exampleService>/, `<w:${APPLICATION} xmlns:w="urn:okno:xroad:services:1">${gw.gateway.catalogue.get(APPLICATION)!.request.toXml(serviceExample(APPLICATION))}</w:${APPLICATION}>`).replace('4894e35d-bf0f-44a6-867a-8e51f1daa7e0', 'xmllint-app-1'));
    expect(res.status, res.body).toBe(200);
    const root = parseXml(res.body).root;
    const source = normalizedSource(res.body);
    const body = bodyOf(root);
    const standalone = (el: XmlElement) => {
      const text = source.slice(el.start, el.end);
      const own = new Set(el.nsDecls.map((d) => d.prefix));
      const decls = [...(el.parent ? inScope(el.parent) : [])].filter(([p]) => !own.has(p)).map(([p, u]) => (p === '' ? ` xmlns="${u}"` : ` xmlns:${p}="${u}"`)).join('');
      return text.replace(/^<([^\s>/]+)/, `<$1${decls}`);
    };
    const wrongBody = standalone(body).replace('<r:registrationNumber>', '<r:registrationNumberX>').replace('</r:registrationNumber>', '</r:registrationNumberX>');
    expect(xmllintVerdicts(path.join(work, 'driver.xsd'), [standalone(body), wrongBody]).map((v) => v.valid)).toEqual([true, false]);

    // Annex B (its imports pointing at the local copies, see test/fixtures/xroad/README.md).
    const headers = childElements(headerOf(root)).map(standalone);
    expect(headers).toHaveLength(6);
    const verdicts = xmllintVerdicts(path.join(FIXTURES, 'xroad.xsd'), headers);
    expect(verdicts.filter((v) => !v.valid)).toEqual([]);
  });
});

function inScope(el: XmlElement): Map<string, string> {
  const out = new Map<string, string>();
  for (let cur: XmlElement | null = el; cur; cur = cur.parent) for (const d of cur.nsDecls) if (!out.has(d.prefix) && d.uri !== '') out.set(d.prefix, d.uri);
  return out;
}
