/**
 * The X-Road / Trembita Security Server simulator between two tiny real
 * information systems on loopback (not Okno's routes): SOAP forwarded byte
 * for byte and relayed with xrd:requestHash, every refusal with the Security
 * Server's own fault code, the response's headers checked against the
 * request's, REST in both dialects with the right headers and the request
 * hash recomputed here from the protocol's definition, the documented error
 * format, the slow / refusing / down modes, and `okno simulate xroad` as a
 * process (banner, SIGTERM).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { XRoadSecurityServerSimulator, type SecurityServerOptions } from '../../src/simulators/xroad-security-server.js';
import { parseAllowOption, parseMemberOption, parseSecurityServerConfig, SecurityServerConfigError } from '../../src/simulators/xroad-security-server-config.js';
import { parseXml } from '../../src/xml/parser.js';
import { childElements, textContent } from '../../src/xml/helpers.js';
import { spawnOkno, type OknoProcess } from '../helpers/cli-process.js';

const CLIENT = 'EE/GOV/MEMBER1/SUBSYSTEM1';
const PROVIDER = 'EE/GOV/MEMBER2/SUBSYSTEM2';
const STRANGER = 'EE/GOV/MEMBER3/SUBSYSTEM3';

/** Annex E.1 of the X-Road message protocol 4.0, with its headers adjustable. */
function annexE1(o: { client?: string; protocolVersion?: string | null; id?: string | null; serviceCode?: string; header?: boolean } = {}): string {
  const [ci, cc, cm, cs] = (o.client ?? CLIENT).split('/');
  const code = o.serviceCode ?? 'exampleService';
  const header = [
    `        <xrd:client id:objectType="SUBSYSTEM">`,
    `            <id:xRoadInstance>${ci}</id:xRoadInstance>`,
    `            <id:memberClass>${cc}</id:memberClass>`,
    `            <id:memberCode>${cm}</id:memberCode>`,
    `            <id:subsystemCode>${cs}</id:subsystemCode>`,
    `        </xrd:client>`,
    `        <xrd:service id:objectType="SERVICE">`,
    `            <id:xRoadInstance>EE</id:xRoadInstance>`,
    `            <id:memberClass>GOV</id:memberClass>`,
    `            <id:memberCode>MEMBER2</id:memberCode>`,
    `            <id:subsystemCode>SUBSYSTEM2</id:subsystemCode>`,
    `            <id:serviceCode>${code}</id:serviceCode>`,
    `            <id:serviceVersion>v1</id:serviceVersion>`,
    `        </xrd:service>`,
    ...(o.id === null ? [] : [`        <xrd:id>${o.id ?? '4894e35d-bf0f-44a6-867a-8e51f1daa7e0'}</xrd:id>`]),
    `        <xrd:userId>EE12345678901</xrd:userId>`,
    `        <xrd:issue>12345</xrd:issue>`,
    ...(o.protocolVersion === null ? [] : [`        <xrd:protocolVersion>${o.protocolVersion ?? '4.0'}</xrd:protocolVersion>`]),
  ].join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope
        xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"
        xmlns:ns1="http://producer.x-road.eu"
        xmlns:xrd="http://x-road.eu/xsd/xroad.xsd"
        xmlns:id="http://x-road.eu/xsd/identifiers">
${o.header === false ? '' : `    <SOAP-ENV:Header>\n${header}\n    </SOAP-ENV:Header>\n`}    <SOAP-ENV:Body>
        <ns1:${code}>
            <exampleInput>foo</exampleInput>
        </ns1:${code}>
    </SOAP-ENV:Body>
</SOAP-ENV:Envelope>
`;
}

const RESPONSE_BODY = '<SOAP-ENV:Body>\n        <ns1:exampleServiceResponse>\n            <exampleOutput>bar</exampleOutput>\n        </ns1:exampleServiceResponse>\n    </SOAP-ENV:Body>';

type SoapBehaviour = 'echo' | 'fault' | 'inconsistent' | 'planted-hash';
interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  rawHeaders: string[];
  body: Buffer;
}

/** A provider information system: SOAP at /ws/xroad (answers by `behaviour`), REST under /xroad/rest (echoes what it got as JSON). */
class ProviderIS {
  readonly received: Received[] = [];
  soap: SoapBehaviour = 'echo';
  restStatus = 200;
  private constructor(private readonly server: Server) {}

  static async start(): Promise<ProviderIS> {
    const server = createServer();
    const is = new ProviderIS(server);
    server.on('request', (req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        is.received.push({ method: req.method!, url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders, body });
        if (req.url === '/ws/xroad') {
          res.writeHead(200, { 'Content-Type': 'text/xml;charset=UTF-8', 'X-Powered-By': 'provider' }).end(is.soapAnswer(body.toString('utf8')));
          return;
        }
        res.writeHead(is.restStatus, { 'Content-Type': 'application/json; charset=utf-8', 'X-Provider': 'yes', 'X-Road-Request-Hash': 'forged' });
        res.end(JSON.stringify({ got: req.url, status: is.restStatus }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return is;
  }

  get base(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private soapAnswer(request: string): string {
    if (this.soap === 'fault') {
      return '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>SOAP-ENV:Server</faultcode><faultstring>provider says no</faultstring></SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>';
    }
    let answer = request.replace(/<SOAP-ENV:Body>[\s\S]*<\/SOAP-ENV:Body>/, RESPONSE_BODY);
    if (this.soap === 'inconsistent') answer = answer.replace(/<xrd:id>[^<]*<\/xrd:id>/, '<xrd:id>some-other-id</xrd:id>');
    if (this.soap === 'planted-hash') answer = answer.replace('</SOAP-ENV:Header>', '<xrd:requestHash algorithmId="http://www.w3.org/2001/04/xmlenc#sha512">Zm9yZ2Vk</xrd:requestHash></SOAP-ENV:Header>');
    return answer;
  }

  close(): Promise<void> {
    return new Promise((r) => {
      this.server.close(() => r());
      this.server.closeAllConnections();
    });
  }
}

interface Reply {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

/** One HTTP call with exactly these headers, in this order (node adds only Host, Connection and Content-Length, which Security Servers drop). */
function call(url: string, o: { method?: string; headers?: Array<[string, string]>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    // with headers as a list node adds no Host: it goes first (Security Servers drop it)
    const flat = [['Host', new URL(url).host], ...(o.headers ?? [])].flat();
    const r = httpRequest(url, { method: o.method ?? 'GET', headers: flat, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    r.on('error', reject);
    r.end(o.body ?? '');
  });
}

function soapCall(sim: XRoadSecurityServerSimulator, envelope: string): Promise<Reply> {
  return call(`${sim.url}/`, { method: 'POST', headers: [['Content-Type', 'text/xml; charset=utf-8'], ['SOAPAction', '""']], body: envelope });
}

function faultCodeOf(xml: string): string | null {
  const doc = parseXml(xml);
  const body = childElements(doc.root).find((c) => c.localName === 'Body')!;
  const fault = childElements(body).find((c) => c.localName === 'Fault');
  if (!fault) return null;
  return textContent(childElements(fault).find((c) => c.localName === 'faultcode')!).trim();
}

let is: ProviderIS;
const sims: XRoadSecurityServerSimulator[] = [];

beforeAll(async () => {
  is = await ProviderIS.start();
});
afterAll(async () => {
  await is.close();
});
afterEach(async () => {
  for (const s of sims.splice(0)) await s.close();
  is.received.length = 0;
  is.soap = 'echo';
  is.restStatus = 200;
});

async function startSim(o: Partial<SecurityServerOptions> = {}): Promise<XRoadSecurityServerSimulator> {
  const sim = await XRoadSecurityServerSimulator.start({
    members: [
      { subsystem: CLIENT },
      { subsystem: STRANGER },
      { subsystem: PROVIDER, soap: `${is.base}/ws/xroad`, rest: `${is.base}/xroad/rest` },
    ],
    allow: [
      { client: CLIENT, service: `${PROVIDER}/exampleService` },
      { client: CLIENT, service: `${PROVIDER}/BirthRecord_v1` },
    ],
    ...o,
  });
  sims.push(sim);
  return sim;
}

describe('SOAP through the simulated Security Servers', () => {
  it('forwards the envelope byte for byte (Content-Type and SOAPAction only) and relays the response with xrd:requestHash, the body untouched', async () => {
    const sim = await startSim();
    const envelope = annexE1();
    const reply = await soapCall(sim, envelope);
    expect(reply.status).toBe(200);
    expect(is.received).toHaveLength(1);
    const got = is.received[0]!;
    expect(got.url).toBe('/ws/xroad');
    expect(got.body.equals(Buffer.from(envelope))).toBe(true);
    expect(got.headers['content-type']).toBe('text/xml; charset=utf-8');
    expect(got.headers.soapaction).toBe('""');
    // the response: the provider's, its Body byte for byte, requestHash = base64 SHA-512 of the request's bytes
    expect(reply.headers['content-type']).toBe('text/xml;charset=UTF-8');
    expect(reply.headers['x-powered-by']).toBeUndefined();
    expect(reply.body).toContain(RESPONSE_BODY);
    const doc = parseXml(reply.body);
    const header = childElements(doc.root).find((c) => c.localName === 'Header')!;
    const hashes = childElements(header, 'http://x-road.eu/xsd/xroad.xsd', 'requestHash');
    expect(hashes).toHaveLength(1);
    expect(hashes[0]!.attributes.find((a) => a.localName === 'algorithmId')?.value).toBe('http://www.w3.org/2001/04/xmlenc#sha512');
    expect(textContent(hashes[0]!)).toBe(createHash('sha512').update(envelope).digest('base64'));
    const [e] = sim.exchanges();
    expect(e).toMatchObject({ protocol: 'soap', client: CLIENT, service: `${PROVIDER}/exampleService/v1`, id: '4894e35d-bf0f-44a6-867a-8e51f1daa7e0', userId: 'EE12345678901', fault: null, forwardedTo: `${is.base}/ws/xroad`, status: 200 });
    expect(e!.requestHash).toBe(textContent(hashes[0]!));
  });

  it('replaces a requestHash the provider put in its response', async () => {
    const sim = await startSim();
    is.soap = 'planted-hash';
    const envelope = annexE1();
    const reply = await soapCall(sim, envelope);
    expect(reply.body).not.toContain('Zm9yZ2Vk');
    expect(reply.body.match(/requestHash/g)).toHaveLength(2); // one element: start and end tag
    expect(reply.body).toContain(createHash('sha512').update(envelope).digest('base64'));
  });

  it.each([
    ['an unknown client', annexE1({ client: 'EE/GOV/NOBODY/SUB' }), 'Server.ClientProxy.UnknownMember'],
    ['a client without the access right', annexE1({ client: STRANGER }), 'Server.ServerProxy.AccessDenied'],
    ['protocolVersion 3.1', annexE1({ protocolVersion: '3.1' }), 'Client.InvalidProtocolVersion'],
    ['no xrd:protocolVersion', annexE1({ protocolVersion: null }), 'Client.MissingHeaderField'],
    ['no xrd:id', annexE1({ id: null }), 'Client.MissingHeaderField'],
    ['no SOAP Header', annexE1({ header: false }), 'Client.MissingHeader'],
    ['a body wrapper other than the service code', annexE1().replace(/ns1:exampleService>/g, 'ns1:otherOperation>'), 'Client.InconsistentHeaders'],
    ['not XML', '<SOAP-ENV:Envelope', 'Client.InvalidXml'],
  ])('refuses %s with the fault code given, without calling the provider', async (_what, envelope, code) => {
    const sim = await startSim();
    const reply = await soapCall(sim, envelope);
    // X-Road's Security Server answers its faults with HTTP 200 (HandlerBase.sendErrorResponse)
    expect(reply.status).toBe(200);
    expect(faultCodeOf(reply.body)).toBe(code);
    expect(reply.body).toMatch(/<detail><faultDetail xmlns="">[0-9a-f-]{36}<\/faultDetail><\/detail>/);
    expect(is.received).toHaveLength(0);
    expect(sim.exchanges()[0]!.fault?.code).toBe(code);
  });

  it('members and access rights can be added while it runs (the information system may start after it)', async () => {
    const sim = await startSim({ members: [], allow: [] });
    expect(faultCodeOf((await soapCall(sim, annexE1())).body)).toBe('Server.ClientProxy.UnknownMember');
    sim.addMember({ subsystem: PROVIDER, soap: `${is.base}/ws/xroad` });
    sim.addAccessRight({ client: 'EE/GOV/MEMBER1', service: `${PROVIDER}/exampleService/v1` }); // a member-level right covers its subsystems
    expect(faultCodeOf((await soapCall(sim, annexE1())).body)).toBeNull();
    expect(is.received).toHaveLength(1);
  });

  it('takes only text/xml (messages with attachments are not simulated): Client.InvalidContentType', async () => {
    const sim = await startSim();
    for (const type of ['application/json', 'multipart/related; type="text/xml"; boundary=b']) {
      const reply = await call(`${sim.url}/`, { method: 'POST', headers: [['Content-Type', type]], body: annexE1() });
      expect(faultCodeOf(reply.body)).toBe('Client.InvalidContentType');
    }
    expect(is.received).toHaveLength(0);
  });

  it('knows which services a provider serves: another code is Server.ServerProxy.UnknownService; an unknown provider is Server.ClientProxy.UnknownMember', async () => {
    const sim = await startSim({
      members: [{ subsystem: CLIENT }, { subsystem: PROVIDER, soap: `${is.base}/ws/xroad`, services: ['exampleService'] }],
      allow: [{ client: CLIENT, service: `${PROVIDER}/otherService` }],
    });
    expect(faultCodeOf((await soapCall(sim, annexE1({ serviceCode: 'otherService' }))).body)).toBe('Server.ServerProxy.UnknownService');
    const elsewhere = annexE1().replace(/MEMBER2/g, 'MEMBER9');
    expect(faultCodeOf((await soapCall(sim, elsewhere)).body)).toBe('Server.ClientProxy.UnknownMember');
    expect(is.received).toHaveLength(0);
  });

  it("a response whose headers do not echo the request's is Server.ClientProxy.ServiceFailed.InconsistentResponse", async () => {
    const sim = await startSim();
    is.soap = 'inconsistent';
    const reply = await soapCall(sim, annexE1());
    expect(faultCodeOf(reply.body)).toBe('Server.ClientProxy.ServiceFailed.InconsistentResponse');
    expect(is.received).toHaveLength(1);
  });

  it("the provider's own fault is relayed as it came", async () => {
    const sim = await startSim();
    is.soap = 'fault';
    const reply = await soapCall(sim, annexE1());
    expect(faultCodeOf(reply.body)).toBe('SOAP-ENV:Server');
    expect(reply.body).toContain('provider says no');
    expect(sim.exchanges()[0]).toMatchObject({ fault: null, serviceFault: { code: 'SOAP-ENV:Server', message: 'provider says no' } });
  });

  it("an unreachable provider information system is Server.ServerProxy.ServiceFailed.NetworkError", async () => {
    const gone = await ProviderIS.start();
    const url = `${gone.base}/ws/xroad`;
    await gone.close();
    const sim = await startSim({ members: [{ subsystem: CLIENT }, { subsystem: PROVIDER, soap: url }] });
    expect(faultCodeOf((await soapCall(sim, annexE1())).body)).toBe('Server.ServerProxy.ServiceFailed.NetworkError');
  });
});

describe('modes', () => {
  it('slow: the call is answered only after the delay (measured by awaiting it)', async () => {
    const sim = await startSim();
    sim.setMode('slow', { delayMs: 300 });
    const t0 = performance.now();
    const reply = await soapCall(sim, annexE1());
    const elapsed = performance.now() - t0;
    expect(reply.status).toBe(200);
    expect(faultCodeOf(reply.body)).toBeNull();
    expect(elapsed).toBeGreaterThanOrEqual(295);
    expect(sim.exchanges()[0]!.durationMs).toBeGreaterThanOrEqual(295);
    sim.setMode('normal');
    const t1 = performance.now();
    await soapCall(sim, annexE1());
    expect(performance.now() - t1).toBeLessThan(300);
  });

  it("refusing: every call gets the Security Server's own fault (SOAP) or error (REST), nothing reaches the provider", async () => {
    const sim = await startSim({ mode: 'refusing' });
    expect(faultCodeOf((await soapCall(sim, annexE1())).body)).toBe('Server.ClientProxy.NetworkError');
    const rest = await call(`${sim.url}/r1/${PROVIDER}/exampleService/items`, { headers: [['X-Road-Client', CLIENT]] });
    expect(rest.status).toBe(500);
    expect(rest.headers['x-road-error']).toBe('Server.ClientProxy.NetworkError');
    expect(JSON.parse(rest.body)).toMatchObject({ type: 'Server.ClientProxy.NetworkError' });
    expect(is.received).toHaveLength(0);
    // the calls were read before they were refused: the record names them
    expect(sim.exchanges().map((e) => [e.protocol, e.client, e.id === null ? null : 'id'])).toEqual([
      ['soap', CLIENT, 'id'],
      ['rest', CLIENT, 'id'],
    ]);
    expect(sim.exchanges()[0]!.id).toBe('4894e35d-bf0f-44a6-867a-8e51f1daa7e0');
  });

  it('down: connections are cut unanswered, or answered 503; back up, calls pass again', async () => {
    const sim = await startSim({ mode: 'down' });
    await expect(soapCall(sim, annexE1())).rejects.toThrow(/socket hang up|ECONNRESET|EPIPE/);
    const sim503 = await startSim({ mode: 'down', downAnswer: '503' });
    expect((await soapCall(sim503, annexE1())).status).toBe(503);
    sim.setMode('normal');
    expect(faultCodeOf((await soapCall(sim, annexE1())).body)).toBeNull();
    expect(is.received).toHaveLength(1);
  });
});

/** X-Road-Request-Hash as the REST protocol §4.3 defines it (RestRequest.toByteArray), written out here independently. */
function expectedRestHash(method: string, target: string, headers: Array<[string, string]>, body: string): string {
  const sha = (b: Buffer | string) => createHash('sha512').update(b).digest();
  const request = Buffer.from(`${method}\r\n${target}\r\n${headers.map(([n, v]) => `${n}:${v}\r\n`).join('')}`, 'utf8');
  return (body === '' ? sha(request) : sha(Buffer.concat([sha(request), sha(body)]))).toString('base64');
}

describe('REST, X-Road 7 dialect (/r1)', () => {
  it('forwards to base + /{serviceCode}{path}?query with X-Road-Service, a generated X-Road-Id and X-Road-Request-Id; the response carries X-Road-Request-Hash', async () => {
    const sim = await startSim();
    const route = `/r1/${PROVIDER}/exampleService/v1/items/7?quu=1`;
    const headers: Array<[string, string]> = [['X-Road-Client', CLIENT], ['X-Road-UserId', 'EE12345678901'], ['Accept', 'application/json'], ['User-Agent', 'client-is/1.0'], ['X-Custom', 'kept']];
    const reply = await call(`${sim.url}${route}`, { headers });
    expect(reply.status).toBe(200);
    const got = is.received[0]!;
    expect(got.url).toBe('/xroad/rest/exampleService/v1/items/7?quu=1');
    expect(got.headers['x-road-client']).toBe(CLIENT);
    expect(got.headers['x-road-service']).toBe(`${PROVIDER}/exampleService`);
    expect(got.headers['x-road-userid']).toBe('EE12345678901');
    expect(got.headers['x-road-id']).toMatch(/^EE-[0-9a-f-]{36}$/);
    expect(got.headers['x-road-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(got.headers['x-custom']).toBe('kept');
    expect(got.headers.accept).toBe('application/json');
    expect(got.headers['user-agent']).toBeUndefined();
    // the answer: the provider's body, status and own headers; the Security Server's X-Road headers
    expect(JSON.parse(reply.body)).toEqual({ got: '/xroad/rest/exampleService/v1/items/7?quu=1', status: 200 });
    expect(reply.headers['x-provider']).toBe('yes');
    expect(reply.headers['x-road-id']).toBe(got.headers['x-road-id']);
    expect(reply.headers['x-road-client']).toBe(CLIENT);
    expect(reply.headers['x-road-service']).toBe(`${PROVIDER}/exampleService`);
    expect(reply.headers['x-road-request-id']).toBe(got.headers['x-road-request-id']);
    // User-Agent is one of the headers a Security Server drops (§4.3 "Filtered headers"): not forwarded, not hashed
    const hashed: Array<[string, string]> = [...headers.filter(([n]) => n !== 'User-Agent'), ['X-Road-Request-Id', got.headers['x-road-request-id'] as string], ['X-Road-Id', got.headers['x-road-id'] as string]];
    expect(reply.headers['x-road-request-hash']).toBe(expectedRestHash('GET', route, hashed, ''));
    expect(reply.headers['x-road-error']).toBeUndefined();
  });

  it("keeps the client's X-Road-Id; a body goes into the hash (SHA512(SHA512(request) + SHA512(body)))", async () => {
    const sim = await startSim();
    const route = `/r1/${PROVIDER}/exampleService/records`;
    const body = JSON.stringify({ name: 'Taras' });
    const headers: Array<[string, string]> = [['X-Road-Client', CLIENT], ['X-Road-Id', 'my-id-1'], ['Content-Type', 'application/json']];
    const reply = await call(`${sim.url}${route}`, { method: 'POST', headers, body });
    const got = is.received[0]!;
    expect(got.method).toBe('POST');
    expect(got.body.toString()).toBe(body);
    expect(got.headers['x-road-id']).toBe('my-id-1');
    expect(got.headers['content-type']).toBe('application/json');
    expect(reply.headers['x-road-id']).toBe('my-id-1');
    expect(reply.headers['x-road-request-hash']).toBe(expectedRestHash('POST', route, [...headers, ['X-Road-Request-Id', got.headers['x-road-request-id'] as string]], body));
  });

  it("the provider's error is returned as it is, without X-Road-Error", async () => {
    const sim = await startSim();
    is.restStatus = 404;
    const reply = await call(`${sim.url}/r1/${PROVIDER}/exampleService/none`, { headers: [['X-Road-Client', CLIENT]] });
    expect(reply.status).toBe(404);
    expect(reply.headers['x-road-error']).toBeUndefined();
    expect(reply.headers['x-road-request-hash']).toBeDefined();
  });

  it.each([
    ['no X-Road-Client', 400, 'Client.BadRequest', `/r1/${PROVIDER}/exampleService/x`, [] as Array<[string, string]>],
    ['a path that is no service id', 400, 'Client.BadRequest', `/r1/EE/GOV/MEMBER2`, [['X-Road-Client', CLIENT]] as Array<[string, string]>],
    ['protocol r2', 400, 'Client.BadRequest', `/r2/${PROVIDER}/exampleService/x`, [['X-Road-Client', CLIENT]] as Array<[string, string]>],
    ['an unknown client', 500, 'Server.ClientProxy.UnknownMember', `/r1/${PROVIDER}/exampleService/x`, [['X-Road-Client', 'EE/GOV/NOBODY/SUB']] as Array<[string, string]>],
    ['a client without the access right', 500, 'Server.ServerProxy.AccessDenied', `/r1/${PROVIDER}/exampleService/x`, [['X-Road-Client', STRANGER]] as Array<[string, string]>],
  ])('%s: HTTP %i, the documented error body with X-Road-Error %s', async (_what, status, code, target, headers) => {
    const sim = await startSim();
    const reply = await call(`${sim.url}${target}`, { headers });
    expect(reply.status).toBe(status);
    expect(reply.headers['x-road-error']).toBe(code);
    expect(reply.headers['content-type']).toBe('application/json; charset=utf-8');
    const error = JSON.parse(reply.body) as Record<string, unknown>;
    expect(Object.keys(error).sort()).toEqual(['detail', 'message', 'type']);
    expect(error.type).toBe(code);
    expect(error.detail).toMatch(/^[0-9a-f-]{36}$/);
    expect(is.received).toHaveLength(0);
  });

  it('an unreachable provider is Server.ServerProxy.NetworkError (HTTP 500)', async () => {
    const gone = await ProviderIS.start();
    const url = `${gone.base}/xroad/rest`;
    await gone.close();
    const sim = await startSim({ members: [{ subsystem: CLIENT }, { subsystem: PROVIDER, rest: url }] });
    const reply = await call(`${sim.url}/r1/${PROVIDER}/exampleService/x`, { headers: [['X-Road-Client', CLIENT]] });
    expect(reply.status).toBe(500);
    expect(reply.headers['x-road-error']).toBe('Server.ServerProxy.NetworkError');
  });
});

describe('REST, Trembita dialect (/restapi, Uxp-*)', () => {
  it('forwards /restapi/{path} to base + /{serviceCode}{path} with every Uxp header; Uxp-QueryID comes back; no request hash', async () => {
    const sim = await startSim({ dialect: 'trembita' });
    const headers: Array<[string, string]> = [
      ['Uxp-Client', CLIENT],
      ['Uxp-Service', `${PROVIDER}/BirthRecord_v1`],
      ['Uxp-QueryID', 'q-123'],
      ['Uxp-Subject-Id', 'UA1234567890'],
      ['Uxp-Purpose-Ids', 'purpose-1,purpose-2'],
      ['Content-Type', 'application/json'],
    ];
    const reply = await call(`${sim.url}/restapi/records?year=2020`, { method: 'POST', headers, body: '{"a":1}' });
    expect(reply.status).toBe(200);
    const got = is.received[0]!;
    expect(got.url).toBe('/xroad/rest/BirthRecord_v1/records?year=2020');
    expect(got.headers['uxp-client']).toBe(CLIENT);
    expect(got.headers['uxp-service']).toBe(`${PROVIDER}/BirthRecord_v1`);
    expect(got.headers['uxp-queryid']).toBe('q-123');
    expect(got.headers['uxp-subject-id']).toBe('UA1234567890');
    expect(got.headers['uxp-purpose-ids']).toBe('purpose-1,purpose-2');
    expect(got.body.toString()).toBe('{"a":1}');
    expect(reply.headers['uxp-queryid']).toBe('q-123');
    // no request hash of its own in Trembita: the provider's header (an ordinary one there) passes as it came
    expect(reply.headers['x-road-request-hash']).toBe('forged');
    expect(sim.exchanges()[0]!.requestHash).toBeNull();
    expect(sim.exchanges()[0]).toMatchObject({ protocol: 'rest', dialect: 'trembita', client: CLIENT, service: `${PROVIDER}/BirthRecord_v1`, id: 'q-123', userId: 'UA1234567890' });
  });

  it('makes a Uxp-QueryID when the client sent none; refuses without Uxp-Service, on /r1, or without the access right', async () => {
    const sim = await startSim({ dialect: 'trembita' });
    const ok = await call(`${sim.url}/restapi/records`, { headers: [['Uxp-Client', CLIENT], ['Uxp-Service', `${PROVIDER}/BirthRecord_v1`]] });
    expect(ok.status).toBe(200);
    expect(is.received[0]!.headers['uxp-queryid']).toMatch(/^[0-9a-f-]{36}$/);
    expect(ok.headers['uxp-queryid']).toBe(is.received[0]!.headers['uxp-queryid']);
    const noService = await call(`${sim.url}/restapi/records`, { headers: [['Uxp-Client', CLIENT]] });
    expect([noService.status, noService.headers['x-road-error']]).toEqual([400, 'Client.BadRequest']);
    const xroadPath = await call(`${sim.url}/r1/${PROVIDER}/BirthRecord_v1/records`, { headers: [['Uxp-Client', CLIENT]] });
    expect([xroadPath.status, xroadPath.headers['x-road-error']]).toEqual([400, 'Client.BadRequest']);
    const denied = await call(`${sim.url}/restapi/records`, { headers: [['Uxp-Client', STRANGER], ['Uxp-Service', `${PROVIDER}/BirthRecord_v1`]] });
    expect([denied.status, denied.headers['x-road-error']]).toEqual([500, 'Server.ServerProxy.AccessDenied']);
    expect(is.received).toHaveLength(1);
  });
});

describe('the table of members and access rights', () => {
  it('reads flags and the JSON file, naming what is wrong', () => {
    expect(parseMemberOption(`${PROVIDER}=http://127.0.0.1:8080/ws/xroad`)).toEqual({ subsystem: PROVIDER, soap: 'http://127.0.0.1:8080/ws/xroad', rest: 'http://127.0.0.1:8080/ws/xroad' });
    expect(parseMemberOption(CLIENT)).toEqual({ subsystem: CLIENT });
    expect(parseAllowOption(`${CLIENT}=${PROVIDER}/exampleService/v1`)).toEqual({ client: CLIENT, service: `${PROVIDER}/exampleService/v1` });
    expect(() => parseMemberOption('EE/GOV=http://x')).toThrow(SecurityServerConfigError);
    expect(() => parseAllowOption(`${CLIENT}=${PROVIDER}`)).toThrow(/--allow service/);
    const table = parseSecurityServerConfig(
      JSON.stringify({ dialect: 'trembita', members: [{ subsystem: PROVIDER, rest: 'http://127.0.0.1:1/xroad/rest', services: ['BirthRecord_v1'] }], allow: { [CLIENT]: [`${PROVIDER}/BirthRecord_v1`] } }),
    );
    expect(table).toEqual({ dialect: 'trembita', members: [{ subsystem: PROVIDER, rest: 'http://127.0.0.1:1/xroad/rest', services: ['BirthRecord_v1'] }], allow: [{ client: CLIENT, service: `${PROVIDER}/BirthRecord_v1` }] });
    expect(() => parseSecurityServerConfig('{"members":[{"subsystem":"X"}]}', 'ss.json')).toThrow(/^ss.json: members\[0\].subsystem: /);
  });
});

describe('okno simulate xroad (the process)', () => {
  let cli: OknoProcess | undefined;
  afterEach(() => {
    if (cli && cli.child.exitCode === null) cli.child.kill('SIGKILL');
    cli = undefined;
  });

  it('prints its banner in one write, forwards, prints each exchange with --verbose, and stops on SIGTERM', async () => {
    cli = spawnOkno(['simulate', 'xroad', '--port', '0', '--member', CLIENT, '--member', `${PROVIDER}=${is.base}/ws/xroad`, '--rest-member', `${PROVIDER}=${is.base}/xroad/rest`, '--allow', `${CLIENT}=${PROVIDER}/exampleService`, '--verbose'], 15_000);
    const port = Number((await cli.until(/listening on http:\/\/127\.0\.0\.1:(\d+)/))[1]);
    expect(cli.out).toContain(`allow ${CLIENT} → ${PROVIDER}/exampleService`);
    expect(cli.out).toContain(`member ${PROVIDER}: SOAP ${is.base}/ws/xroad, REST ${is.base}/xroad/rest`);
    const reply = await call(`http://127.0.0.1:${port}/`, { method: 'POST', headers: [['Content-Type', 'text/xml; charset=utf-8']], body: annexE1() });
    expect(faultCodeOf(reply.body)).toBeNull();
    await cli.until(/SOAP\s+POST\s+\/\s+EE\/GOV\/MEMBER1\/SUBSYSTEM1 → EE\/GOV\/MEMBER2\/SUBSYSTEM2\/exampleService\/v1\s+id 4894e35d-bf0f-44a6-867a-8e51f1daa7e0\s+forwarded/);
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    expect(cli.out).toMatch(/X-Road Security Server simulator stopped: 1 exchanges, 0 refused/);
  }, 20_000);

  it('takes its table from --config, and --refuse answers every call with the Security Server\'s error', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'okno-xroad-sim-'));
    const file = path.join(dir, 'ss.json');
    writeFileSync(file, JSON.stringify({ dialect: 'trembita', members: [{ subsystem: PROVIDER, rest: `${is.base}/xroad/rest` }], allow: { [CLIENT]: [`${PROVIDER}/BirthRecord_v1`] } }));
    try {
      cli = spawnOkno(['simulate', 'xroad', '--port', '0', '--config', file, '--refuse'], 15_000);
      const port = Number((await cli.until(/listening on http:\/\/127\.0\.0\.1:(\d+)/))[1]);
      expect(cli.out).toContain('(trembita)');
      expect(cli.out).toContain('mode: refusing');
      expect(cli.out).toContain(`allow ${CLIENT} → ${PROVIDER}/BirthRecord_v1`);
      const reply = await call(`http://127.0.0.1:${port}/restapi/records`, { headers: [['Uxp-Client', CLIENT], ['Uxp-Service', `${PROVIDER}/BirthRecord_v1`]] });
      expect([reply.status, reply.headers['x-road-error']]).toEqual([500, 'Server.ClientProxy.NetworkError']);
      expect(is.received).toHaveLength(0);
      cli.child.kill('SIGINT');
      expect(await cli.exited).toBe(0);
      expect(cli.err).toMatch(/refused Server\.ClientProxy\.NetworkError/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 20_000);

  it('a bad identifier stops start-up with exit 2 and one line naming it', async () => {
    cli = spawnOkno(['simulate', 'xroad', '--port', '0', '--allow', `${CLIENT}=EE/GOV`]);
    expect(await cli.exited).toBe(2);
    expect(cli.err.trim().split('\n')).toHaveLength(1);
    expect(cli.err).toMatch(/^okno simulate xroad: --allow service: /);
  });
});
