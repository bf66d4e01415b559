/**
 * The published WSDL/XSDs (src/soap/wsdl-files.ts, wsdl/): what the gateway
 * serves at GET /ws/smev3?wsdl and ?xsd=…, checked by our parser and by two
 * standard SOAP clients — Python's zeep and node-soap — loading it over HTTP
 * from the same URLs, plus the zeep + python-xmlsec client harness
 * (test/interop/zeep_client.py), whose signed envelopes xmlsec1 and Okno's own
 * verifier must both accept.
 *
 * Needs /usr/bin/python3 with python3-zeep and python3-xmlsec, and xmlsec1:
 * without them the tests fail saying what to install (never skip).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import soap from 'soap';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySmevEnvelope } from '../../src/signature/smev-profile.js';
import { TrustAnchorSet } from '../../src/pki/trust.js';
import {
  DEFAULT_WSDL_VERSION,
  WSDL_NAMES,
  WSDL_VERSIONS,
  XSD_NAMES,
  loadWsdlFiles,
  wsdlDocument,
  wsdlQuery,
  wsdlUrl,
  xsdDocument,
  xsdUrl,
  type WsdlVersion,
} from '../../src/soap/wsdl-files.js';
import { childElements } from '../../src/xml/helpers.js';
import { parseXml } from '../../src/xml/parser.js';
import type { XmlElement } from '../../src/xml/types.js';
import { derive } from '../../wsdl/derive.js';
import { requireTool } from '../helpers/tools.js';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const PYTHON = '/usr/bin/python3';
const ZEEP_CLIENT = path.join(root, 'test/interop/zeep_client.py');
const sampleCa = new TrustAnchorSet([readFileSync(path.join(root, 'certs-sample/ca.crt.pem'), 'utf8')]);

const WSDL_NS = 'http://schemas.xmlsoap.org/wsdl/';
const WSDL_SOAP_NS = 'http://schemas.xmlsoap.org/wsdl/soap/';
const XS_NS = 'http://www.w3.org/2001/XMLSchema';
const ns = (v: string) => ({
  service: `urn://x-artefacts-smev-gov-ru/services/message-exchange/${v}`,
  types: `urn://x-artefacts-smev-gov-ru/services/message-exchange/types/${v}`,
  basic: `urn://x-artefacts-smev-gov-ru/services/message-exchange/types/basic/${v}`,
  faults: `urn://x-artefacts-smev-gov-ru/services/message-exchange/types/faults/${v}`,
});
const ROUTING_NS = 'urn://x-artefacts-smev-gov-ru/services/message-exchange/types/routing/1.3';
const OPERATIONS = ['Ack', 'GetRequest', 'GetResponse', 'GetStatus', 'SendRequest', 'SendResponse'];

/** The official files as taken from do-/smevka back/lib/Static/ (wsdl/README.md): wsdl/1.1 must stay byte for byte. */
const OFFICIAL_SHA256: Record<string, string> = {
  'smev-message-exchange-1.1.wsdl': 'c0724a64647fe539971fd2783da787d7801b0fbede724d18fae9ab029114e404',
  'smev-message-exchange-basic-1.1.xsd': '569f46a6399f256c875e9a4cf527c9e7a53fd943c9681bf718f4ff6913f188ad',
  'smev-message-exchange-faults-1.1.xsd': '597daa487b8b55112a514841a8f5de44bd26821fc7ffec36e0df99a211764b18',
  'smev-message-exchange-service-1.1.xsd': '15e32be14a2bee176359f90835143c800691830e857bc8805d20cfd9e8254876',
  'smev-message-exchange-types-1.1.xsd': '51e84a4a8a34bedc9efc356175f4c6a15bb63e884dda4dd5b9dc6c8370a2a977',
};

function descendants(el: XmlElement, nsUri: string, localName: string, out: XmlElement[] = []): XmlElement[] {
  for (const c of childElements(el)) {
    if (c.namespaceURI === nsUri && c.localName === localName) out.push(c);
    descendants(c, nsUri, localName, out);
  }
  return out;
}
const attr = (el: XmlElement, name: string) => el.attributes.find((a) => a.namespaceURI === '' && a.localName === name)?.value;
const declared = (el: XmlElement) => new Set(el.nsDecls.map((d) => d.uri));

/** Follows every import/include from a document; returns name → parsed root of each XSD reached. */
function resolveAll(version: WsdlVersion, base: string, start: XmlElement): Map<string, XmlElement> {
  const seen = new Map<string, XmlElement>();
  const queue = [start];
  while (queue.length > 0) {
    const el = queue.shift()!;
    for (const imp of [...descendants(el, XS_NS, 'import'), ...descendants(el, XS_NS, 'include')]) {
      const location = attr(imp, 'schemaLocation');
      expect(location, `${imp.qName} without schemaLocation`).toBeDefined();
      const url = new URL(location!);
      expect(`${url.origin}${url.pathname}`).toBe(`${base}/ws/smev3`);
      expect(url.searchParams.get('v')).toBe(version);
      const name = url.searchParams.get('xsd')!;
      expect(location).toBe(xsdUrl(name, version, base));
      if (seen.has(name)) continue;
      const text = xsdDocument(name, version, base);
      expect(text, `${location} does not resolve`).not.toBeNull();
      const xsd = parseXml(text!).root;
      expect(xsd.namespaceURI).toBe(XS_NS);
      if (imp.localName === 'import') expect(attr(xsd, 'targetNamespace')).toBe(attr(imp, 'namespace'));
      seen.set(name, xsd);
      queue.push(xsd);
    }
  }
  return seen;
}

describe('wsdl/ files', () => {
  it('wsdl/1.1 is the official files, unchanged', () => {
    expect(XSD_NAMES['1.1']).toEqual(Object.keys(OFFICIAL_SHA256).filter((n) => n.endsWith('.xsd')));
    expect(WSDL_NAMES['1.1']).toBe('smev-message-exchange-1.1.wsdl');
    for (const [name, sha] of Object.entries(OFFICIAL_SHA256)) {
      const bytes = readFileSync(path.join(root, 'wsdl/1.1', name));
      expect(createHash('sha256').update(bytes).digest('hex'), name).toBe(sha);
    }
  });

  it('wsdl/1.2 and wsdl/1.3 are exactly what wsdl/derive.ts makes from 1.1', () => {
    for (const v of ['1.2', '1.3'] as const) {
      const made = derive(v);
      expect([...made.keys()].filter((n) => n.endsWith('.xsd')).sort()).toEqual([...XSD_NAMES[v]]);
      for (const [name, text] of made) expect(readFileSync(path.join(root, 'wsdl', v, name), 'utf8'), `wsdl/${v}/${name}`).toBe(text);
    }
  });

  it('the derived files differ from 1.1 only in the namespace version, the address and (1.3) Routing', () => {
    for (const v of ['1.2', '1.3'] as const) {
      for (const name of [WSDL_NAMES['1.1'], ...XSD_NAMES['1.1']]) {
        const official = readFileSync(path.join(root, 'wsdl/1.1', name), 'utf8');
        const derived = readFileSync(path.join(root, 'wsdl', v, name.replace('1.1.', `${v}.`)), 'utf8');
        const norm = (s: string, from: string) => {
          const f = from.replace('.', '\\.');
          return s
            .replace(new RegExp(`(urn://x-artefacts-smev-gov-ru/services/message-exchange/(?:types/(?:basic/|faults/)?)?)${f}`, 'g'), '$1X')
            .replace(new RegExp(`(smev-message-exchange-(?:[a-z]+-)?)${f}\\.(xsd|wsdl)`, 'g'), '$1X.$2')
            .replace(/<soap:address location="[^"]*"/, '<soap:address location=""');
        };
        const a = norm(official, '1.1');
        let b = norm(derived, v);
        if (v === '1.3' && name.includes('-types-')) {
          b = b
            .replace(/\r\n\s*xmlns:routing="[^"]*"/, '')
            .replace(/\r\n\s*<xs:import namespace="[^"]*routing[^"]*"[^>]*\/>/, '')
            .replace(/\r\n\s*<xs:element ref="routing:Routing"[\s\S]*?<\/xs:element>/, '');
        }
        expect(b, `${v}: ${name}`).toBe(a);
        expect(/message-exchange\/(types\/(basic\/|faults\/)?)?1\.1|-1\.1\.xsd/.test(derived), `${v}: ${name} still names 1.1`).toBe(false);
      }
    }
  });
});

describe('wsdlDocument / xsdDocument', () => {
  const base = 'http://gateway.example:8080';

  for (const v of WSDL_VERSIONS) {
    it(`${v}: parses, right namespaces and address, every schemaLocation resolves`, () => {
      const n = ns(v);
      const doc = parseXml(wsdlDocument(v, `${base}/`)).root;
      expect(doc.namespaceURI).toBe(WSDL_NS);
      expect(doc.localName).toBe('definitions');
      expect(attr(doc, 'targetNamespace')).toBe(n.service);
      for (const uri of [n.service, n.types, n.faults]) expect(declared(doc).has(uri), uri).toBe(true);
      for (const other of WSDL_VERSIONS.filter((o) => o !== v)) expect(declared(doc).has(ns(other).types)).toBe(false);

      const addresses = descendants(doc, WSDL_SOAP_NS, 'address');
      expect(addresses).toHaveLength(1);
      expect(attr(addresses[0]!, 'location')).toBe(`${base}/ws/smev3`);

      const ops = descendants(doc, WSDL_NS, 'portType').flatMap((pt) => childElements(pt, WSDL_NS, 'operation')).map((o) => attr(o, 'name'));
      for (const op of OPERATIONS) expect(ops).toContain(op);

      const xsds = resolveAll(v, base, doc);
      const byNs = new Map([...xsds.values()].map((x) => [attr(x, 'targetNamespace'), x]));
      for (const uri of [n.types, n.basic, n.faults]) expect(byNs.has(uri), uri).toBe(true);
      if (v === '1.3') expect(byNs.has(ROUTING_NS)).toBe(true);
      else expect([...xsds.keys()].some((k) => k.includes('routing'))).toBe(false);

      // SendRequestRequest: SenderProvidedRequestData, AttachmentContentList?, CallerInformationSystemSignature? (, Routing? in 1.3)
      const types = byNs.get(n.types)!;
      const send = childElements(types, XS_NS, 'element').find((e) => attr(e, 'name') === 'SendRequestRequest')!;
      const seq = descendants(send, XS_NS, 'sequence')[0]!;
      const items = childElements(seq, XS_NS, 'element').map((e) => attr(e, 'name') ?? attr(e, 'ref'));
      expect(items).toEqual([
        'tns:SenderProvidedRequestData',
        'basic:AttachmentContentList',
        'CallerInformationSystemSignature',
        ...(v === '1.3' ? ['routing:Routing'] : []),
      ]);
      if (v === '1.3') {
        const routing = childElements(seq, XS_NS, 'element')[3]!;
        expect(attr(routing, 'minOccurs')).toBe('0');
        const schema = byNs.get(ROUTING_NS)!;
        expect(attr(schema, 'elementFormDefault')).toBe('qualified');
        const el = childElements(schema, XS_NS, 'element');
        expect(el.map((e) => attr(e, 'name'))).toEqual(['Routing']);
        expect(descendants(el[0]!, XS_NS, 'element').map((e) => [attr(e, 'name'), attr(e, 'minOccurs')])).toEqual([
          ['DynamicRouting', '0'],
          ['IdentifierRouting', '0'],
        ]);
      }
    });

    it(`${v}: every listed XSD is served with its own locations rewritten`, () => {
      for (const name of XSD_NAMES[v]) {
        const text = xsdDocument(name, v, base);
        expect(text, name).not.toBeNull();
        expect(text).not.toMatch(/schemaLocation="smev-/);
        if (name.includes('-service-')) {
          // As published, the "service" XSD is an older copy of the WSDL mangled by an HTML
          // round-trip (xmlns:jaxws="">http://…"&amp;gt;): not namespace-well-formed, and nothing
          // imports it. It is served as it is, for completeness of the official set.
          expect(() => parseXml(text!)).toThrow(/xmlns:jaxws="" is not allowed/);
          expect(text).toContain(`schemaLocation="${xsdUrl(name.replace('-service-', '-types-'), v, base).replace('&', '&amp;')}"`);
          for (const other of [WSDL_NAMES[v], ...XSD_NAMES[v]]) {
            const doc = other.endsWith('.wsdl') ? wsdlDocument(v, base) : xsdDocument(other, v, base)!;
            expect(doc.includes(`xsd=${name}`), `${other} refers to ${name}`).toBe(false);
          }
        } else {
          parseXml(text!);
        }
      }
    });
  }

  it('names are a whitelist: unknown names, other versions\' names and paths give null', () => {
    for (const name of ['', 'x.xsd', '../1.1/smev-message-exchange-types-1.1.xsd', '1.1/smev-message-exchange-types-1.1.xsd',
      'smev-message-exchange-1.1.wsdl', 'constructor', '__proto__', 'toString', '/etc/passwd', 'smev-message-exchange-types-1.1.xsd\0']) {
      expect(xsdDocument(name, '1.1', base), JSON.stringify(name)).toBeNull();
    }
    expect(xsdDocument('smev-message-exchange-types-1.1.xsd', '1.2', base)).toBeNull();
    expect(xsdDocument('smev-message-exchange-routing-1.3.xsd', '1.2', base)).toBeNull();
    expect(xsdDocument('smev-message-exchange-types-1.1.xsd', '9.9' as WsdlVersion, base)).toBeNull();
  });

  it('the base URL is escaped inside attributes', () => {
    const odd = 'http://h.example/a&b"<x>';
    const doc = parseXml(wsdlDocument('1.2', odd)).root;
    expect(attr(descendants(doc, WSDL_SOAP_NS, 'address')[0]!, 'location')).toBe(`${odd}/ws/smev3`);
    const imports = descendants(doc, XS_NS, 'import').map((i) => attr(i, 'schemaLocation'));
    expect(imports[0]).toBe(`${odd}/ws/smev3?xsd=smev-message-exchange-types-1.2.xsd&v=1.2`);
  });

  it('wsdlQuery maps the GET query the way the route serves it', () => {
    const q = (s: string) => wsdlQuery(new URLSearchParams(s), base);
    expect(q('wsdl')?.body).toBe(wsdlDocument(DEFAULT_WSDL_VERSION, base));
    expect(q('WSDL')?.body).toBe(wsdlDocument('1.1', base));
    expect(q('wsdl&v=1.3')?.body).toBe(wsdlDocument('1.3', base));
    expect(q('wsdl')?.contentType).toBe('text/xml; charset=utf-8');
    expect(q('xsd=smev-message-exchange-basic-1.2.xsd&v=1.2')?.body).toBe(xsdDocument('smev-message-exchange-basic-1.2.xsd', '1.2', base));
    expect(q('xsd=smev-message-exchange-basic-1.2.xsd')?.body).toBe(xsdDocument('smev-message-exchange-basic-1.2.xsd', '1.2', base));
    expect(q('xsd=smev-message-exchange-basic-1.2.xsd&v=1.1')).toBeNull();
    expect(q('wsdl&v=2.0')).toBeNull();
    expect(q('xsd=../../package.json')).toBeNull();
    expect(q('')).toBeNull();
    expect(wsdlUrl('1.1', base)).toBe(`${base}/ws/smev3?wsdl`);
    expect(wsdlUrl('1.3', base)).toBe(`${base}/ws/smev3?wsdl&v=1.3`);
  });

  it('loadWsdlFiles refuses a directory whose documents point at files it lacks', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'okno-wsdl-'));
    for (const v of WSDL_VERSIONS) {
      mkdirSync(path.join(dir, v));
      writeFileSync(path.join(dir, v, WSDL_NAMES[v]), readFileSync(path.join(root, 'wsdl', v, WSDL_NAMES[v])));
    }
    expect(() => loadWsdlFiles(dir)).toThrow(/schemaLocation="smev-message-exchange-types-1\.1\.xsd" names no file/);
  });
});

/** A stand-in for the gateway's routes: GET as the gateway serves the documents, POST verifies and echoes. */
interface Stub {
  base: string;
  gets: string[];
  posts: { headers: http.IncomingHttpHeaders; valid: boolean; version: string | undefined }[];
  close(): Promise<void>;
}

async function startStub(): Promise<Stub> {
  const gets: string[] = [];
  const posts: Stub['posts'] = [];
  let base = '';
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://placeholder');
    if (url.pathname !== '/ws/smev3') return void res.writeHead(404).end();
    if (req.method === 'GET') {
      gets.push(req.url ?? '');
      const reply = wsdlQuery(url.searchParams, base);
      if (!reply) return void res.writeHead(404).end();
      return void res.writeHead(200, { 'content-type': reply.contentType }).end(reply.body);
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const result = verifySmevEnvelope(parseXml(Buffer.concat(chunks)), { trust: sampleCa });
      posts.push({ headers: req.headers, valid: result.valid, version: result.parts?.version });
      res.writeHead(result.valid ? 200 : 500, { 'content-type': 'text/xml; charset=utf-8' }).end(`<stub valid="${result.valid}"/>`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, gets, posts, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

function requirePythonSoap(): void {
  requireTool(PYTHON, ['-c', 'import zeep, xmlsec, lxml, requests'], 'python3-zeep python3-xmlsec');
}
function requireXmlsec1(): void {
  requireTool('xmlsec1', ['--version'], 'xmlsec1');
}

/** Lists what zeep made of the WSDL: port address, binding operations, SendRequestRequest's children. */
const ZEEP_LIST = `
import json, sys, zeep
client = zeep.Client(sys.argv[1])
out = {"ports": []}
for service in client.wsdl.services.values():
    for port in service.ports.values():
        out["ports"].append({"address": port.binding_options["address"], "operations": sorted(port.binding.all().keys())})
rq = client.get_element("{%s}SendRequestRequest" % sys.argv[2])
out["sendRequest"] = [name for name, _ in rq.type.elements]
print(json.dumps(out))
`;

describe('standard SOAP clients load the served WSDL', () => {
  let stub: Stub;
  let work: string;
  let content: string;
  beforeAll(async () => {
    stub = await startStub();
    work = mkdtempSync(path.join(tmpdir(), 'okno-zeep-'));
    content = path.join(work, 'application.xml');
    writeFileSync(
      content,
      '<app:Application xmlns:app="urn://okno/test/application/1.0" xmlns:p="urn://okno/test/person/1.0">' +
        '<app:Applicant><p:FamilyName>Иванова</p:FamilyName><p:FirstName>Анна</p:FirstName></app:Applicant>' +
        '<app:Service code="42">Справка &amp; выписка</app:Service></app:Application>',
    );
  });
  afterAll(async () => {
    await stub?.close();
  });

  for (const v of WSDL_VERSIONS) {
    it(`${v}: zeep loads the WSDL and its XSDs over HTTP and lists the operations`, async () => {
      requirePythonSoap();
      const url = wsdlUrl(v, stub.base);
      const { stdout } = await run(PYTHON, ['-c', ZEEP_LIST, url, ns(v).types], { timeout: 60_000 });
      const listed = JSON.parse(stdout) as { ports: { address: string; operations: string[] }[]; sendRequest: string[] };
      expect(listed.ports).toHaveLength(1);
      expect(listed.ports[0]!.address).toBe(`${stub.base}/ws/smev3`);
      expect(listed.ports[0]!.operations).toEqual(expect.arrayContaining(OPERATIONS));
      expect(listed.sendRequest).toEqual([
        'SenderProvidedRequestData',
        'AttachmentContentList',
        'CallerInformationSystemSignature',
        ...(v === '1.3' ? ['Routing'] : []),
      ]);
      for (const name of XSD_NAMES[v].filter((n) => !n.includes('-service-'))) {
        expect(stub.gets).toContain(`/ws/smev3?xsd=${name}&v=${v}`);
      }
    });

    it(`${v}: node-soap loads the WSDL and describes the operations`, async () => {
      const client = await soap.createClientAsync(wsdlUrl(v, stub.base));
      const description = client.describe() as Record<string, Record<string, Record<string, { input: Record<string, unknown> }>>>;
      const service = description.SmevMessageExchangeService!;
      const port = service.SmevMessageExchangeServiceHttpSoap11Endpoint!;
      expect(Object.keys(port)).toEqual(expect.arrayContaining(OPERATIONS));
      expect(Object.keys(port.SendRequest!.input)).toEqual(expect.arrayContaining(['SenderProvidedRequestData', 'CallerInformationSystemSignature']));
      // node-soap's describe() leaves out refs to elements of other namespaces (also the official
      // basic:AttachmentContentList), so Routing is looked up in the schemas it loaded instead.
      const schemas = (client.wsdl as unknown as { definitions: { schemas: Record<string, { elements: Record<string, unknown> }> } }).definitions.schemas;
      expect(schemas[ns(v).types]?.elements.SendRequestRequest).toBeDefined();
      expect(schemas[ROUTING_NS]?.elements.Routing !== undefined).toBe(v === '1.3');
      const services = (client.wsdl as unknown as { services: Record<string, { ports: Record<string, { location: string }> }> }).services;
      expect(services.SmevMessageExchangeService!.ports.SmevMessageExchangeServiceHttpSoap11Endpoint!.location).toBe(`${stub.base}/ws/smev3`);
    });

    it(`${v}: zeep_client.py --dry-run signs an envelope that xmlsec1 and Okno's verifier accept`, async () => {
      requirePythonSoap();
      requireXmlsec1();
      const out = path.join(work, `envelope-${v}.xml`);
      const { stdout } = await run(PYTHON, [
        ZEEP_CLIENT, '--wsdl', `${stub.base}/ws/smev3?wsdl`, '--version', v,
        '--key', path.join(root, 'certs-sample/portal.key.pem'), '--cert', path.join(root, 'certs-sample/portal.crt.pem'),
        '--content', content, '--test-message', '--dry-run', out,
      ], { timeout: 60_000 });
      const line = JSON.parse(stdout) as Record<string, unknown>;
      expect(line).toMatchObject({
        status: null,
        operation: 'SendRequest',
        element: `{${ns(v).types}}SendRequestRequest`,
        soapAction: 'urn:SendRequest',
        address: `${stub.base}/ws/smev3`,
        version: v,
        dryRun: out,
      });
      expect(line.messageId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

      const xmlsec = await run('xmlsec1', [
        '--verify', '--trusted-pem', path.join(root, 'certs-sample/ca.crt.pem'),
        '--id-attr:Id', `${ns(v).types}:SenderProvidedRequestData`, out,
      ]).then(() => 0, (e: { code?: number; stderr?: string }) => { throw new Error(`xmlsec1 rejected the envelope (${e.code}): ${e.stderr}`); });
      expect(xmlsec).toBe(0);

      const doc = parseXml(readFileSync(out));
      const result = verifySmevEnvelope(doc, { trust: sampleCa });
      expect(result.caller.message).toMatch(/^valid/);
      expect(result.valid).toBe(true);
      expect(result.parts!.version).toBe(v);
      expect(result.parts!.signed.localName).toBe('SenderProvidedRequestData');
      const fields = childElements(result.parts!.signed).map((e) => e.localName);
      expect(fields).toEqual(['MessageID', 'MessagePrimaryContent', 'TestMessage']);
      expect(childElements(childElements(result.parts!.signed)[1]!)[0]!.localName).toBe('Application');
      expect(textOf(doc.root)).toContain('Справка & выписка');
    });
  }

  it('zeep_client.py POSTs to the address from the WSDL with SOAP 1.1 headers', async () => {
    requirePythonSoap();
    const before = stub.posts.length;
    const { stdout } = await run(PYTHON, [
      ZEEP_CLIENT, '--wsdl', wsdlUrl('1.2', stub.base),
      '--key', path.join(root, 'certs-sample/portal.key.pem'), '--cert', path.join(root, 'certs-sample/portal.crt.pem'),
      '--content', content,
    ], { timeout: 60_000 });
    const line = JSON.parse(stdout) as Record<string, unknown>;
    expect(line).toMatchObject({ status: 200, body: '<stub valid="true"/>', operation: 'SendRequest', version: '1.2', dryRun: null });
    expect(stub.posts).toHaveLength(before + 1);
    const post = stub.posts.at(-1)!;
    expect(post).toMatchObject({ valid: true, version: '1.2' });
    expect(post.headers['content-type']).toBe('text/xml; charset=utf-8');
    expect(post.headers.soapaction).toBe('"urn:SendRequest"');
  });
});

function textOf(el: XmlElement): string {
  return el.children.map((c) => (c.type === 'text' ? c.value : c.type === 'element' ? textOf(c) : '')).join('');
}
