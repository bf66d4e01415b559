/** src/delivery/soap-client.ts: one POST to a partner and what came of it — accepted, refused or transient — against a real HTTP server on loopback. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendSoap, type SoapSendOptions } from '../../src/delivery/soap-client.js';
import { faultEnvelope, SmevFault } from '../../src/soap/faults.js';
import { uuidV1 } from '../../src/soap/message-id.js';
import { messageAccepted } from '../../src/soap/reply.js';
import { testFlow, type TestFlow } from '../helpers/flow-context.js';
import { sampleSigner } from '../helpers/smev.js';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

let server: Server;
let url: string;
let handler: Handler;
let flow: TestFlow;
const ENVELOPE = '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><x/></soap:Body></soap:Envelope>';

beforeAll(async () => {
  flow = testFlow();
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, Buffer.concat(chunks).toString('utf8'), res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ws/smev3`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await flow.close();
});

function options(o: Partial<SoapSendOptions> = {}): SoapSendOptions {
  const portal = flow.ctx.partners.get('portal')!;
  return { url, envelope: ENVELOPE, soapAction: 'urn:SendRequest', timeoutMs: 2_000, signedBy: portal, trust: flow.ctx.trustAnchors, ...o };
}

/** A SendRequestResponse signed by a sample-PKI key, as a partner answers. */
function signedReply(by: string, status: 'requestIsQueued' | 'responseIsDelivered' = 'requestIsQueued'): Promise<string> {
  return messageAccepted(
    'SendRequestResponse',
    '1.1',
    {
      messageId: uuidV1(),
      messageType: 'REQUEST',
      sender: { mnemonic: 'okno', name: 'Okno' },
      recipient: { mnemonic: by, name: by },
      sendingTimestamp: new Date(),
      destinationName: by,
      contentTypeName: 'test',
      interactionType: 'PGU2OIV',
      status,
    },
    { signer: sampleSigner(by), profile: 'xmldsig' },
  );
}

const answer = (status: number, body: string, type = 'text/xml; charset=utf-8'): Handler => (_req, _body, res) => {
  res.writeHead(status, { 'content-type': type });
  res.end(body);
};

describe('sendSoap', () => {
  it('accepted: a 200 reply signed by the expected partner, with its Status; the request went as SOAP 1.1 with the SOAPAction', async () => {
    const reply = await signedReply('portal');
    let seen: { method?: string; type?: string; action?: string; body?: string } = {};
    handler = (req, body, res) => {
      seen = { method: req.method, type: req.headers['content-type'], action: req.headers.soapaction as string, body };
      answer(200, reply)(req, body, res);
    };
    const outcome = await sendSoap(options());
    expect(outcome).toEqual({ kind: 'accepted', status: 200, body: reply, replyStatus: 'requestIsQueued' });
    expect(seen).toEqual({ method: 'POST', type: 'text/xml; charset=utf-8', action: 'urn:SendRequest', body: ENVELOPE });
  });

  it('a reply signed by someone else, or not signed, proves nothing: transient', async () => {
    handler = answer(200, await signedReply('agency'));
    const other = await sendSoap(options());
    expect(other.kind).toBe('transient');
    expect(other.kind === 'transient' && other.error).toMatch(/^the reply's signature is not valid: /);

    handler = answer(200, '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><ok/></soap:Body></soap:Envelope>');
    expect(await sendSoap(options())).toMatchObject({ kind: 'transient', status: 200, error: 'the reply carries no signature' });
  });

  it('refused: a SMEV fault saying the message is wrong, with its name and text', async () => {
    const fault = faultEnvelope(new SmevFault('InvalidContent', 'content of elk-order-status is invalid'), '1.1', 'f1');
    handler = answer(500, fault);
    const outcome = await sendSoap(options());
    expect(outcome).toEqual({ kind: 'refused', status: 500, body: fault, fault: 'InvalidContent', message: 'content of elk-order-status is invalid [OKNO:f1]' });
  });

  it('transient: SMEVFailure and the other try-later faults, HTTP errors, a body that is not XML', async () => {
    handler = answer(500, faultEnvelope(new SmevFault('SMEVFailure', 'later'), '1.1', 'f2'));
    expect(await sendSoap(options())).toMatchObject({ kind: 'transient', status: 500, error: 'SMEVFailure: later [OKNO:f2]' });
    // As the exchange words them (the gateway itself never answers DestinationOverflow).
    for (const name of ['DestinationOverflow', 'QuoteLimitExceeded']) {
      handler = answer(500, `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultcode>soap:Server</faultcode><faultstring>later</faultstring><detail><f:${name} xmlns:f="urn://x-artefacts-smev-gov-ru/services/message-exchange/types/faults/1.1"/></detail></soap:Fault></soap:Body></soap:Envelope>`);
      expect(await sendSoap(options()), name).toMatchObject({ kind: 'transient', status: 500, error: `${name}: later` });
    }
    handler = answer(503, 'Service Unavailable', 'text/plain');
    expect(await sendSoap(options())).toEqual({ kind: 'transient', status: 503, body: 'Service Unavailable', error: 'HTTP 503 (not XML)' });
    handler = answer(502, '<html/>', 'text/html');
    expect(await sendSoap(options())).toMatchObject({ kind: 'transient', status: 502, error: 'HTTP 502' });
  });

  it('transient: the network — nobody listening, or no answer in time', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const refused = await sendSoap(options({ url: `http://127.0.0.1:${port}/ws/smev3` }));
    expect(refused).toMatchObject({ kind: 'transient', status: null, body: null });
    expect(refused.kind === 'transient' && refused.error).toMatch(/^network: ECONNREFUSED: /);

    handler = () => {}; // never answers
    const slow = await sendSoap(options({ timeoutMs: 150 }));
    expect(slow).toEqual({ kind: 'transient', status: null, body: null, error: 'network: no answer within 150 ms' });
  });
});
