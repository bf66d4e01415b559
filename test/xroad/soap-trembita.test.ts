/**
 * The SOAP provider in Trembita's dialect, with the shipped Kyiv-style
 * registry (config/partners.xroad.json): ServiceName_vN codes without
 * xrd:serviceVersion, the WSDL without xrd:version, every header (Trembita's
 * own too) kept in the journal with dialect trembita.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readInbox } from '../helpers/city.js';
import { journalRecords } from '../helpers/flow-context.js';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { CITY, serviceExample } from '../helpers/smev.js';
import { postXRoad, wrapped, xroadFault, xroadRequest } from '../helpers/xroad-provider.js';

const SELF = 'SEVDEIR-TEST/GOV/44444444/okno';
const REGISTRY = 'SEVDEIR-TEST/GOV/12345678/registry';
const TAX = 'SEVDEIR-TEST/GOV/87654321/tax';
let redis: RedisTestServer;
let gw: RunningGateway;

beforeAll(async () => {
  redis = await startRedisServer();
  gw = await startGateway({ REDIS_URL: redis.url, PARTNERS_FILE: path.join(projectRoot, 'config/partners.xroad.json'), XROAD_ANSWER_WAIT_S: '10' });
});
afterAll(async () => {
  await gw?.close();
  await redis?.dispose();
});

function body(code: string, service: string): string {
  return wrapped(code, gw.gateway.catalogue.get(service)!.request.toXml(serviceExample(service)));
}

describe('Trembita SOAP (config/partners.xroad.json)', () => {
  it('KindergartenEnrollment_v1 (no serviceVersion): the receipt; the journal keeps dialect trembita and every header', async () => {
    const code = 'KindergartenEnrollment_v1';
    const request = xroadRequest({ client: REGISTRY, service: `${SELF}/${code}`, code, id: 'trembita-app-1', userId: 'UA3001234567', extraHeaders: '<xrd:representedParty>ДМС</xrd:representedParty>', body: body(code, 'kindergarten-enrollment') });
    const res = await postXRoad(gw.url, request);
    expect(res.status, res.body).toBe(200);
    expect(res.body).toContain(`<w:${code}Response xmlns:w="urn:okno:xroad:services:1"><r:Receipt`);
    expect(res.body).toContain('<xrd:representedParty>ДМС</xrd:representedParty>');
    const item = (await readInbox(gw.url)).items.find((i) => i.xroad?.id === 'trembita-app-1')!;
    expect(item).toMatchObject({ kind: 'application', service: 'kindergarten-enrollment', partner: 'kyiv-registry', xroad: { dialect: 'trembita', protocol: 'soap', client: REGISTRY, service: `${SELF}/${code}`, userId: 'UA3001234567' } });
    const intake = (await journalRecords(gw.gateway.store)).find((r) => r.messageId === 'trembita-app-1' && r.operation === 'xroad:SOAP')!;
    expect(intake.xroad).toMatchObject({ dialect: 'trembita', headers: { client: REGISTRY, service: `${SELF}/${code}`, id: 'trembita-app-1', userId: 'UA3001234567', protocolVersion: '4.0', representedParty: 'ДМС' } });
  });

  it('AdvertisingRegisterExtract_v1: answered by the city while the call waits', async () => {
    const code = 'AdvertisingRegisterExtract_v1';
    const call = postXRoad(gw.url, xroadRequest({ client: REGISTRY, service: `${SELF}/${code}`, code, id: 'trembita-q-1', body: body(code, 'advertising-permit-register-extract') }));
    let requestId: string | null | undefined;
    for (let i = 0; i < 300 && !requestId; i++) {
      requestId = (await readInbox(gw.url)).items.find((x) => x.xroad?.id === 'trembita-q-1')?.requestId;
      if (!requestId) await new Promise((r) => setTimeout(r, 10));
    }
    const data = serviceExample('advertising-permit-register-extract', 'response');
    const answered = await fetch(`${gw.url}/api/v1/requests/${requestId}/response`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/json' }, body: JSON.stringify({ data }) });
    expect(answered.status).toBeLessThan(300);
    const res = await call;
    expect(res.status, res.body).toBe(200);
    expect(res.body).toContain(`<w:${code}Response`);
  });

  it('refused: a version the Trembita code does not have, the catalogue id as a code, a REST-only partner not granted it', async () => {
    const code = 'KindergartenEnrollment_v1';
    expect(xroadFault((await postXRoad(gw.url, xroadRequest({ client: REGISTRY, service: `${SELF}/${code}/v1`, code, id: 't-2', body: body(code, 'kindergarten-enrollment') }))).body)?.faultcode).toBe('Client.UnknownService');
    expect(xroadFault((await postXRoad(gw.url, xroadRequest({ client: REGISTRY, service: `${SELF}/kindergarten-enrollment`, code: 'kindergarten-enrollment', id: 't-3', body: body('kindergarten-enrollment', 'kindergarten-enrollment') }))).body)?.faultcode).toBe('Client.UnknownService');
    expect(xroadFault((await postXRoad(gw.url, xroadRequest({ client: TAX, service: `${SELF}/${code}`, code, id: 't-4', body: body(code, 'kindergarten-enrollment') }))).body)?.faultcode).toBe('Client.AccessDenied');
  });

  it('GET /ws/xroad/{code}?wsdl: Trembita codes, no xrd:version', async () => {
    const res = await fetch(`${gw.url}/ws/xroad/AdvertisingRegisterExtract_v1?wsdl`);
    expect(res.status).toBe(200);
    const wsdl = await res.text();
    expect(wsdl).toContain('<wsdl:operation name="AdvertisingRegisterExtract_v1">');
    expect(wsdl).not.toContain('<xrd:version>');
    expect((await fetch(`${gw.url}/ws/xroad/advertising-permit-register-extract?wsdl`)).status).toBe(404);
  });
});
