/**
 * Interagency queries both ways through real HTTP, against the agency
 * simulator (a real server on loopback that verifies what it receives and
 * answers from fixtures): each query type answered, a rejection, an interim
 * status, a deadline, a duplicate answer, an answer to an unknown query, an
 * answer signed by the wrong partner; an application waiting for answers and
 * going back; an agency asking the city and the city answering.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/catalogue/load.js';
import { parseCertificate } from '../../src/pki/certificate.js';
import { signDocument } from '../../src/signature/sign.js';
import { TrustAnchorSet } from '../../src/pki/trust.js';
import { AgencySimulator } from '../../src/simulators/agency.js';
import { PortalSimulator } from '../../src/simulators/portal.js';
import { sendResponseEnvelope } from '../../src/soap/envelope-builder.js';
import { uuidV1 } from '../../src/soap/message-id.js';
import type { JsonValue } from '../../src/store/types.js';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { CITY, faultOf, postSoap, sampleSigner, serviceExample, serviceExamples, signedSendRequest } from '../helpers/smev.js';

const catalogue = loadCatalogue(path.join(projectRoot, 'config/services'));
const trust = new TrustAnchorSet([readFileSync(path.join(projectRoot, 'certs-sample/ca.crt.pem'), 'utf8')]);
const gatewayFingerprint = parseCertificate(readFileSync(path.join(projectRoot, 'certs-sample/gateway.crt.pem'), 'utf8')).fingerprintSha256;

interface QueryView {
  id: string;
  state: 'sent' | 'answered' | 'rejected' | 'failed';
  answer: JsonValue;
  rejections: Array<{ code: string; description: string }>;
  statuses: Array<{ code: number; description: string }>;
  failure: string | null;
  messageId: string;
  responseInboxItemId: string | null;
  delivery: { state: string; attempts: number };
}

/** The default registry with the agency's endpoint pointed at the simulator. */
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

describe('interagency queries', () => {
  let agency: AgencySimulator;
  let portal: PortalSimulator;
  let gw: RunningGateway;

  beforeAll(async () => {
    agency = await AgencySimulator.start({ port: 0, trust, expectedSigner: gatewayFingerprint, signer: sampleSigner('agency'), catalogue });
    portal = await PortalSimulator.start({ port: 0, trust, expectedSigner: gatewayFingerprint, signer: sampleSigner('portal'), catalogue });
    gw = await startGateway({
      PARTNERS_FILE: partnersFileFor(`${agency.url}/ws/smev3`),
      PORTAL_URL: `${portal.url}/ws/smev3`,
      DELIVERY_BACKOFF_MS: '50',
      DELIVERY_BACKOFF_CAP_MS: '200',
      DELIVERY_TIMEOUT_MS: '1000',
    });
    agency.setGatewayUrl(gw.url);
  });
  afterAll(async () => {
    await gw?.close();
    await agency?.close();
    await portal?.close();
  });
  afterEach(() => agency.mode('*', { kind: 'answer' }));

  const post = async (body: object) => {
    const res = await fetch(`${gw.url}/api/v1/queries`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as { id: string; messageId: string; error?: { message: string } } };
  };
  const view = async (id: string) => (await (await fetch(`${gw.url}/api/v1/queries/${id}`, { headers: CITY })).json()) as QueryView;

  for (const service of ['egrn-extract', 'zags-birth-record', 'egrul-extract']) {
    it(`${service}: one JSON call → signed SendRequest to the agency → its signed answer as JSON, in the inbox and on the query`, async () => {
      for (const data of serviceExamples(service)) {
        const created = await post({ service, data });
        expect(created.status).toBe(202);
        const answered = await until('answered', () => view(created.body.id), (q) => q.state !== 'sent');
        expect(answered.state).toBe('answered');
        expect(answered.delivery).toMatchObject({ state: 'delivered', attempts: 1 });
        const received = agency.queries().find((q) => q.messageId === created.body.messageId)!;
        expect(received).toMatchObject({ service, content: data });
        expect(received.signerSubject).toMatch(/CN=okno-gateway/);
        const sent = agency.answers().find((a) => a.to === created.body.messageId)!;
        expect(answered.answer).toEqual(sent.content);
        const inbox = (await (await fetch(`${gw.url}/api/v1/inbox?limit=500`, { headers: CITY })).json()) as { items: Array<{ id: string; kind: string; content: { queryId: string; answer: JsonValue } }> };
        const item = inbox.items.find((i) => i.id === answered.responseInboxItemId)!;
        expect(item).toMatchObject({ kind: 'response', content: { queryId: created.body.id, answer: sent.content! } });
      }
    });
  }

  it('a rejection ends the query as rejected with the agency\'s reason', async () => {
    agency.mode('egrn-extract', { kind: 'reject', code: 'NO_DATA', description: 'Объект с таким кадастровым номером не найден' });
    const created = await post({ service: 'egrn-extract', data: serviceExample('egrn-extract') });
    const q = await until('rejected', () => view(created.body.id), (v) => v.state !== 'sent');
    expect(q).toMatchObject({ state: 'rejected', answer: null, rejections: [{ code: 'NO_DATA', description: 'Объект с таким кадастровым номером не найден' }] });
  });

  it('an interim status keeps the query open; the answer then ends it', async () => {
    agency.mode('egrul-extract', { kind: 'status-then-answer', delayMs: 300, code: 7, description: 'Запрос в обработке' });
    const created = await post({ service: 'egrul-extract', data: serviceExample('egrul-extract') });
    const open = await until('interim status', () => view(created.body.id), (v) => v.statuses.length > 0);
    expect(open.state).toBe('sent');
    expect(open.statuses[0]).toMatchObject({ code: 7, description: 'Запрос в обработке' });
    expect((await until('answered', () => view(created.body.id), (v) => v.state !== 'sent')).state).toBe('answered');
  });

  it('no answer by the deadline: failed, with the reason; a late answer is then refused', async () => {
    agency.mode('zags-birth-record', { kind: 'silent' });
    const created = await post({ service: 'zags-birth-record', data: serviceExample('zags-birth-record'), deadline: new Date(Date.now() + 1500).toISOString() });
    const q = await until('failed', () => view(created.body.id), (v) => v.state !== 'sent', 15_000);
    expect(q.state).toBe('failed');
    expect(q.failure).toMatch(/no answer from agency by the deadline/);
    const zags = catalogue.get('zags-birth-record')!;
    const late = sendResponseEnvelope({ version: '1.1', messageId: uuidV1(), to: created.body.messageId, body: { kind: 'content', contentXml: zags.response!.toXml(serviceExample('zags-birth-record', 'response')) } });
    const res = await postSoap(gw.url, await signDocument(late, { signer: sampleSigner('agency'), profile: 'smev' }));
    expect(faultOf(res.body).fault).toBe('MessageIsAlreadySent');
    expect(faultOf(res.body).faultstring).toMatch(/has already ended \(failed\)/);
    expect((await view(created.body.id)).state).toBe('failed');
  });

  it('a duplicate answer is accepted once: the same reply again, one inbox item', async () => {
    agency.mode('egrn-extract', { kind: 'duplicate-answer' });
    const created = await post({ service: 'egrn-extract', data: serviceExample('egrn-extract') });
    await until('two POSTs', async () => agency.answers().filter((a) => a.to === created.body.messageId), (a) => a.length === 2);
    const [first, second] = agency.answers().filter((a) => a.to === created.body.messageId);
    expect(first!.httpStatus).toBe(200);
    expect(second!.httpStatus).toBe(200);
    expect(second!.replyBody).toBe(first!.replyBody);
    const inbox = (await (await fetch(`${gw.url}/api/v1/inbox?limit=500`, { headers: CITY })).json()) as { items: Array<{ kind: string; content: { queryId?: string } }> };
    expect(inbox.items.filter((i) => i.kind === 'response' && i.content.queryId === created.body.id)).toHaveLength(1);
  });

  it('an answer to no known query → RequestIsNotFound; an answer signed by another partner → SenderIsNotRegistered', async () => {
    const egrn = catalogue.get('egrn-extract')!;
    const answer = async (to: string, signer: ReturnType<typeof sampleSigner>) => {
      const envelope = sendResponseEnvelope({ version: '1.1', messageId: uuidV1(), to, body: { kind: 'content', contentXml: egrn.response!.toXml(serviceExample('egrn-extract', 'response')) } });
      return postSoap(gw.url, await signDocument(envelope, { signer, profile: 'smev' }));
    };
    expect(faultOf((await answer(uuidV1(), sampleSigner('agency'))).body).fault).toBe('RequestIsNotFound');
    agency.mode('egrn-extract', { kind: 'silent' });
    const created = await post({ service: 'egrn-extract', data: serviceExample('egrn-extract') });
    await until('sent', async () => agency.queries().some((q) => q.messageId === created.body.messageId), Boolean);
    const wrong = await answer(created.body.messageId, sampleSigner('portal'));
    expect(faultOf(wrong.body).fault).toBe('SenderIsNotRegistered');
    const untrusted = await answer(created.body.messageId, sampleSigner('untrusted'));
    expect(faultOf(untrusted.body)).toMatchObject({ fault: 'SignatureVerificationFault', reason: 'CertificateIsNotFound' });
    expect((await view(created.body.id)).state).toBe('sent');
  });

  it('bad input: unknown service, data that breaks the schema, an application that does not exist', async () => {
    const unknown = await post({ service: 'horoscope', data: {} });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error!.message).toMatch(/service/);
    const bad = await post({ service: 'egrn-extract', data: { cadastralNumber: 'not-a-number' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error!.message).toMatch(/body\/data .*cadastralNumber/);
    const noApp = await post({ service: 'egrn-extract', data: serviceExample('egrn-extract'), applicationId: 'nope' });
    expect(noApp.status).toBe(404);
    expect((await fetch(`${gw.url}/api/v1/queries/nope`, { headers: CITY })).status).toBe(404);
  });

  it('a query linked to an application moves it to "waiting for interagency answers" and back, and shows in its history', async () => {
    const { xml, messageId } = await signedSendRequest({ catalogue, service: 'dwelling-replanning' });
    expect((await postSoap(gw.url, xml)).status).toBe(200);
    const inbox = (await (await fetch(`${gw.url}/api/v1/inbox?limit=500`, { headers: CITY })).json()) as { items: Array<{ messageId: string; applicationId: string }> };
    const applicationId = inbox.items.find((i) => i.messageId === messageId)!.applicationId;
    const status = (code: string) => fetch(`${gw.url}/api/v1/applications/${applicationId}/status`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/json' }, body: JSON.stringify({ code }) });
    expect((await status('registered')).status).toBe(202);
    expect((await status('in_progress')).status).toBe(202);
    agency.mode('egrn-extract', { kind: 'late', delayMs: 500 });
    const created = await post({ service: 'egrn-extract', data: serviceExample('egrn-extract'), applicationId });
    const app = async () => (await (await fetch(`${gw.url}/api/v1/applications/${applicationId}`, { headers: CITY })).json()) as { status: string; statusHistory: Array<{ status: string }>; queries: Array<{ id: string; state: string }> };
    expect((await app()).status).toBe('waiting_for_answers');
    const back = await until('back in progress', app, (a) => a.status === 'in_progress');
    expect(back.statusHistory.map((h) => h.status)).toEqual(['received', 'registered', 'in_progress', 'waiting_for_answers', 'in_progress']);
    expect(back.queries).toEqual([expect.objectContaining({ id: created.body.id, state: 'answered' })]);
    // The portal was told every step, in order.
    await until('portal told', async () => portal.historyOf(String((serviceExample('dwelling-replanning') as { orderId: number }).orderId)).map((h) => h.status), (c) => c.length >= 5);
  });

  describe('an agency asks the city', () => {
    it('lands in the inbox as kind "query"; the city answers with content; the agency receives the signed SendResponse', async () => {
      const ask = await agency.askCity('advertising-permit-register-extract', serviceExample('advertising-permit-register-extract'));
      expect(ask.httpStatus).toBe(200);
      const inbox = (await (await fetch(`${gw.url}/api/v1/inbox?limit=500`, { headers: CITY })).json()) as { items: Array<{ messageId: string; kind: string; requestId: string }> };
      const item = inbox.items.find((i) => i.messageId === ask.messageId)!;
      expect(item.kind).toBe('query');
      const data = serviceExample('advertising-permit-register-extract', 'response');
      const answer = await fetch(`${gw.url}/api/v1/requests/${item.requestId}/response`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/json' }, body: JSON.stringify({ data }) });
      expect(answer.status).toBe(202);
      await until('delivered', async () => agency.cityResponses().filter((r) => r.to === ask.messageId), (r) => r.length === 1);
      const [received] = agency.cityResponses().filter((r) => r.to === ask.messageId);
      expect(received).toMatchObject({ kind: 'content', content: data });
      expect(received!.signerSubject).toMatch(/CN=okno-gateway/);
      const state = (await (await fetch(`${gw.url}/api/v1/requests/${item.requestId}`, { headers: CITY })).json()) as { state: string; delivery: { state: string } };
      expect(state).toMatchObject({ state: 'answered', delivery: { state: 'delivered' } });
      const again = await fetch(`${gw.url}/api/v1/requests/${item.requestId}/response`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/json' }, body: JSON.stringify({ data }) });
      expect(again.status).toBe(409);
    });

    it('the city rejects with a SMEV reject code; bad answers get 400', async () => {
      const ask = await agency.askCity('advertising-permit-register-extract', serviceExample('advertising-permit-register-extract'));
      const inbox = (await (await fetch(`${gw.url}/api/v1/inbox?limit=500`, { headers: CITY })).json()) as { items: Array<{ messageId: string; requestId: string }> };
      const requestId = inbox.items.find((i) => i.messageId === ask.messageId)!.requestId;
      const send = (body: object) => fetch(`${gw.url}/api/v1/requests/${requestId}/response`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect((await send({ reject: { code: 'MAYBE', description: 'x' } })).status).toBe(400);
      expect((await send({ data: { nonsense: true } })).status).toBe(400);
      expect((await send({ reject: { code: 'NO_DATA', description: 'Разрешений по заданным условиям не выдавалось' } })).status).toBe(202);
      await until('delivered', async () => agency.cityResponses().filter((r) => r.to === ask.messageId), (r) => r.length === 1);
      expect(agency.cityResponses().find((r) => r.to === ask.messageId)).toMatchObject({ kind: 'rejected', rejections: [{ code: 'NO_DATA', description: 'Разрешений по заданным условиям не выдавалось' }] });
    });
  });
});
