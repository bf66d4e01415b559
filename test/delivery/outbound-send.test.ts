/**
 * src/delivery/outbound-send.ts: where a message to a partner goes (push: the
 * partner, pull: its exchange), what the queue does after an attempt, and one
 * attempt end to end — signed, POSTed to a loopback partner, journaled with
 * both envelopes, announced on the ops bus.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { describeOutcome, routeTo, routeToExchange, sendToPartner, settle } from '../../src/delivery/outbound-send.js';
import type { SendOutcome } from '../../src/delivery/soap-client.js';
import { opsEvents, type MessageEvent } from '../../src/events/messages.js';
import { sendRequestEnvelope } from '../../src/soap/envelope-builder.js';
import { uuidV1 } from '../../src/soap/message-id.js';
import { messageAccepted } from '../../src/soap/reply.js';
import { projectRoot } from '../helpers/gateway.js';
import { journalRecords, partnersWith, testFlow, type TestFlow } from '../helpers/flow-context.js';
import { sampleSigner } from '../helpers/smev.js';
import { requireTool } from '../helpers/tools.js';

const TYPES_11 = 'urn://x-artefacts-smev-gov-ru/services/message-exchange/types/1.1';

const pullRegistry = () =>
  partnersWith(
    (_partners, doc) => {
      // The exchange's certificate: any sample one no partner uses (the simulator writes its own to /tmp).
      doc.exchanges![0]!.certificates = [path.join(projectRoot, 'certs-sample/gateway.crt.pem')];
    },
    path.join(projectRoot, 'config/partners.pull.json'),
  );

describe('routeTo', () => {
  let flow: TestFlow;
  beforeAll(() => {
    flow = testFlow();
  });

  it('push: the partner\'s own endpoint and profile; its reply signed by the partner', () => {
    const portal = flow.ctx.partners.get('portal')!;
    const route = routeTo(portal);
    expect(route).toMatchObject({ url: 'http://127.0.0.1:8091/ws/smev3', profile: 'xmldsig', via: null });
    expect(route.signedBy).toBe(portal);
    expect(routeTo(flow.ctx.partners.get('agency')!)).toMatchObject({ url: 'http://127.0.0.1:8092/ws/smev3', profile: 'smev', via: null });
  });

  it('pull: the exchange the partner is reached through; its reply signed by the exchange', () => {
    const registry = pullRegistry();
    const portal = registry.get('portal')!;
    const route = routeTo(portal);
    expect(route.url).toBe('http://127.0.0.1:8093/ws/smev3');
    expect(route.profile).toBe('smev');
    expect(route.via).toBe('smev');
    expect(route.signedBy.id).toBe('exchange:smev');
    expect(route.signedBy.certificates.map((c) => c.fingerprint256)).toEqual(registry.exchanges[0]!.certificates.map((c) => c.fingerprint256));
    expect(route.signedBy.certificates.map((c) => c.fingerprint256)).not.toEqual(portal.certificates.map((c) => c.fingerprint256));
    expect(routeToExchange(registry.exchanges[0]!)).toEqual(route);
  });
});

describe('describeOutcome and settle', () => {
  const accepted: SendOutcome = { kind: 'accepted', status: 200, body: '<x/>', replyStatus: 'requestIsQueued' };
  const refused: SendOutcome = { kind: 'refused', status: 500, body: '<x/>', fault: 'InvalidContent', message: 'bad orderNumber' };
  const transient: SendOutcome = { kind: 'transient', status: null, body: null, error: 'network: ECONNREFUSED: fetch failed' };

  it('describeOutcome: nothing for an accepted message; the fault or the error otherwise', () => {
    expect(describeOutcome(accepted)).toBeNull();
    expect(describeOutcome(refused)).toBe('refused by the partner: InvalidContent: bad orderNumber');
    expect(describeOutcome(transient)).toBe('network: ECONNREFUSED: fetch failed');
  });

  it('settle: accepted → done, refused → dead at once, transient → retried; each attempt logged', () => {
    const flow = testFlow();
    expect(settle(flow.ctx, accepted, 'status', { deliveryId: 'd1' })).toEqual({ kind: 'done' });
    expect(settle(flow.ctx, refused, 'status', { deliveryId: 'd2' })).toEqual({ kind: 'dead', error: 'refused by the partner: InvalidContent: bad orderNumber' });
    expect(settle(flow.ctx, transient, 'query', { queryId: 'q' })).toEqual({ kind: 'retry', error: 'network: ECONNREFUSED: fetch failed' });
    expect(flow.logs.map((l) => [l.msg, l.outcome, l.deliveryId ?? l.queryId])).toEqual([
      ['status delivered', 'accepted', 'd1'],
      ['status not delivered', 'refused', 'd2'],
      ['query not delivered', 'transient', 'q'],
    ]);
  });
});

describe('sendToPartner', () => {
  let server: Server;
  let received: string[] = [];
  let reply: () => Promise<{ status: number; body: string }>;
  let flow: TestFlow;
  let events: MessageEvent[] = [];
  let unsubscribe: () => void;
  const dir = mkdtempSync(path.join(tmpdir(), 'okno-outbound-send-'));

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push(Buffer.concat(chunks).toString('utf8'));
        void reply().then(({ status, body }) => {
          res.writeHead(status, { 'content-type': 'text/xml; charset=utf-8' });
          res.end(body);
        });
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ws/smev3`;
    flow = testFlow({ partners: partnersWith((ps) => ps.forEach((p) => (p.endpoint = endpoint))) });
    unsubscribe = opsEvents.subscribe((e) => events.push(e));
  });
  afterEach(() => {
    received = [];
    events = [];
  });
  afterAll(async () => {
    unsubscribe();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const portalReply = async () => ({
    status: 200,
    body: await messageAccepted(
      'SendRequestResponse',
      '1.1',
      { messageId: uuidV1(), messageType: 'REQUEST', sender: { mnemonic: 'okno', name: 'Okno' }, recipient: { mnemonic: 'portal', name: 'ЕПГУ' }, sendingTimestamp: new Date(), destinationName: 'portal', contentTypeName: 'ЕЛК', interactionType: 'PGU2OIV', status: 'requestIsQueued' },
      { signer: sampleSigner('portal'), profile: 'xmldsig' },
    ),
  });

  function attempt(messageId: string) {
    const envelope = sendRequestEnvelope({ version: '1.1', messageId, contentXml: '<e:Test xmlns:e="urn:test">1</e:Test>' });
    return sendToPartner(flow.ctx, {
      partner: flow.ctx.partners.get('portal')!,
      envelope,
      operation: 'SendRequest',
      service: 'elk-order-status',
      messageId,
      correlationId: `test:${messageId}`,
      applicationId: 'app-1',
      registrationNumber: 'РК-2026-000001',
      docs: (o) => [{ collection: 'test-outcomes', id: messageId, value: { kind: o.kind } }],
    });
  }

  it('signs with the partner\'s profile (xmlsec1 verifies it against the sample CA), journals both envelopes and the extra docs, publishes the event', async () => {
    requireTool('xmlsec1', ['--version'], 'xmlsec1');
    reply = portalReply;
    const messageId = uuidV1();
    const outcome = await attempt(messageId);
    expect(outcome.kind).toBe('accepted');
    expect(received).toHaveLength(1);
    const file = path.join(dir, 'sent.xml');
    writeFileSync(file, received[0]!);
    const xmlsec = spawnSync('xmlsec1', ['--verify', '--trusted-pem', path.join(projectRoot, 'certs-sample/ca.crt.pem'), '--id-attr:Id', `${TYPES_11}:SenderProvidedRequestData`, file], { encoding: 'utf8' });
    expect(xmlsec.status, xmlsec.stderr).toBe(0);

    const [record] = (await journalRecords(flow.store)).filter((r) => r.messageId === messageId);
    expect(record).toMatchObject({
      direction: 'outbound',
      operation: 'SendRequest',
      partner: 'portal',
      service: 'elk-order-status',
      correlationId: `test:${messageId}`,
      succeeded: true,
      faultCode: null,
      faultString: null,
      applicationId: 'app-1',
      registrationNumber: 'РК-2026-000001',
      requestSize: Buffer.byteLength(received[0]!),
    });
    expect(record!.requestText).toBe(received[0]);
    expect(record!.responseText).toBe(outcome.body);
    expect(await flow.store.getDoc('test-outcomes', messageId)).toEqual({ kind: 'accepted' });
    expect(events).toEqual([expect.objectContaining({ direction: 'outbound', operation: 'SendRequest', partner: 'portal', messageId, outcome: 'delivered', faultCode: null })]);
  });

  it('a refusal and a transient failure are journaled and announced too', async () => {
    reply = async () => ({
      status: 500,
      body: '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultcode>soap:Client</faultcode><faultstring>bad</faultstring><detail><f:InvalidContent xmlns:f="urn://x-artefacts-smev-gov-ru/services/message-exchange/types/faults/1.1"/></detail></soap:Fault></soap:Body></soap:Envelope>',
    });
    const refusedId = uuidV1();
    expect(await attempt(refusedId)).toMatchObject({ kind: 'refused', fault: 'InvalidContent', message: 'bad' });
    reply = async () => ({ status: 503, body: 'down' });
    const transientId = uuidV1();
    expect(await attempt(transientId)).toMatchObject({ kind: 'transient', error: 'HTTP 503 (not XML)' });

    const records = await journalRecords(flow.store);
    expect(records.find((r) => r.messageId === refusedId)).toMatchObject({ succeeded: false, faultCode: 'InvalidContent', faultString: 'refused by the partner: InvalidContent: bad' });
    expect(records.find((r) => r.messageId === transientId)).toMatchObject({ succeeded: false, faultCode: 'transient', faultString: 'HTTP 503 (not XML)', responseText: 'down' });
    expect(await flow.store.getDoc('test-outcomes', transientId)).toEqual({ kind: 'transient' });
    expect(events.map((e) => [e.messageId, e.outcome, e.faultCode])).toEqual([
      [refusedId, 'refused', 'InvalidContent'],
      [transientId, 'retry', null],
    ]);
  });

  it('a partner with no endpoint: transient, nothing sent', async () => {
    const noEndpoint = partnersWith((ps) => ps.forEach((p) => (p.endpoint = null)));
    const outcome = await sendToPartner({ ...flow.ctx, partners: noEndpoint }, {
      partner: noEndpoint.get('agency')!,
      envelope: sendRequestEnvelope({ version: '1.1', messageId: uuidV1(), contentXml: '<e:T xmlns:e="urn:t"/>' }),
      operation: 'SendRequest',
      service: 'egrn-extract',
      messageId: uuidV1(),
      correlationId: 'x',
    });
    expect(outcome).toEqual({ kind: 'transient', status: null, body: null, error: 'partner agency has no endpoint (config/partners.json)' });
    expect(received).toEqual([]);
  });
});
