/**
 * Pull mode with a GOST gateway key (OpenSSL-made GOST R 34.10-2012-256, throwaway GOST CA):
 * the exchange simulator registers okno with the GOST certificate, so it accepts the gateway's
 * GetRequest, Ack, SendRequest (the ELK status) and GetStatus only if they carry the gateway's
 * GOST signature; the status the portal then pulls carries a GOST signature that lxml +
 * OpenSSL's gost engine verify independently.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/catalogue/load.js';
import { parseCertificate } from '../../src/pki/certificate.js';
import { splitPem } from '../../src/pki/gateway-identity.js';
import { GOST2012_256_URI } from '../../src/crypto/index.js';
import { TrustAnchorSet } from '../../src/pki/trust.js';
import { verifySignature } from '../../src/signature/verify.js';
import type { ExchangeEvent } from '../../src/simulators/smev-exchange.js';
import { defaultExchangeSystems } from '../../src/simulators/smev-exchange-systems.js';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { gostTempDir, makeGostCa, makeGostLeaf, type GostFiles } from '../helpers/gost-openssl-pki.js';
import { opensslVerifiesSignedInfo, signaturesByLxml } from '../helpers/independent-dsig.js';
import { caPem, eventually, startPullWorld, type PullWorld } from '../helpers/pull.js';
import { CITY, serviceExample } from '../helpers/smev.js';

let dir: string;
let gateway: GostFiles;
let world: PullWorld;
let gw: RunningGateway;
let trustPems: string[];
const events: ExchangeEvent[] = [];

beforeAll(async () => {
  dir = gostTempDir('okno-gost-pull-');
  const ca = makeGostCa(dir);
  gateway = makeGostLeaf(dir, ca, 'gateway', { algorithm: 'gost2012_256', paramset: 'A', cn: 'okno-gateway-gost' });
  trustPems = [...splitPem(caPem), ...splitPem(readFileSync(ca.cert, 'utf8'))];
  const trustFile = path.join(dir, 'trust.pem');
  writeFileSync(trustFile, trustPems.join(''));
  const catalogue = loadCatalogue(path.join(projectRoot, 'config/services'));
  const systems = defaultExchangeSystems(catalogue, path.join(projectRoot, 'certs-sample')).map((s) =>
    s.mnemonic === 'okno' ? { ...s, certificatePem: readFileSync(gateway.cert, 'utf8') } : s,
  );
  world = await startPullWorld({ systems, trust: new TrustAnchorSet(trustPems), onEvent: (e) => events.push(e) });
  gw = await startGateway({ ...world.env, GATEWAY_KEY_FILE: gateway.key, GATEWAY_CERT_FILE: gateway.cert, TRUST_CA_FILE: trustFile });
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await world?.sim.close();
});

describe('pull mode with a GOST gateway key', () => {
  it('GetRequest + Ack, the status SendRequest and GetStatus are GOST-signed and accepted by the exchange', async () => {
    expect(gw.gateway.signer.signatureAlgorithm.uri).toBe(GOST2012_256_URI);
    const contentXml = gw.gateway.catalogue.get('kindergarten-enrollment')!.request.toXml(serviceExample('kindergarten-enrollment'));
    const sent = await world.portal.sendRequest({ contentXml });
    expect(sent.status).toBe(200);
    // the exchange took the gateway's GetRequest and Ack: both verified against okno's GOST certificate
    await world.sim.waitFor((s) => s.message(sent.messageId)?.state === 'acked', 15_000);
    const item = await eventually(
      async () => ((await (await fetch(`${gw.url}/api/v1/inbox?limit=100`, { headers: CITY })).json()) as { items: Array<{ messageId: string; applicationId: string }> }).items.find((i) => i.messageId === sent.messageId),
      'the application in the inbox',
    );

    const res = await fetch(`${gw.url}/api/v1/applications/${item.applicationId}/status`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/json' }, body: JSON.stringify({ code: 'registered', comment: 'Заявление зарегистрировано' }) });
    expect(res.status).toBe(202);
    const { deliveryId } = (await res.json()) as { deliveryId: string };
    await eventually(async () => ((await (await fetch(`${gw.url}/api/v1/deliveries/${deliveryId}`, { headers: CITY })).json()) as { state: string }).state === 'delivered', 'the status delivered to the exchange');
    const polled = await world.portal.poll('GetRequest');
    const m = polled.message!;
    const v = verifySignature(m.doc, m.senderSignature!, m.senderData!, { trust: new TrustAnchorSet(trustPems) });
    expect(v.valid).toBe(true);
    expect(v.details.signatureAlgorithm).toBe(GOST2012_256_URI);
    // independently: lxml's canonical SignedInfo, openssl's gost engine, the gateway's certificate
    const gostSigs = signaturesByLxml(dir, polled.text).filter((s) => s.signatureMethod === GOST2012_256_URI);
    expect(gostSigs).toHaveLength(1);
    expect(opensslVerifiesSignedInfo(dir, gostSigs[0]!, parseCertificate(readFileSync(gateway.cert, 'utf8')).der)).toBe(true);
    expect((await world.portal.ack(m.messageId!)).status).toBe(200);

    // GetStatus, signed by the gateway too, is answered
    await eventually(async () => {
      const d = (await (await fetch(`${gw.url}/api/v1/deliveries/${deliveryId}`, { headers: CITY })).json()) as { exchangeStatuses?: Array<{ status: string }> };
      return d.exchangeStatuses?.some((s) => s.status === 'underProcessing') ? d : null;
    }, 'the exchange answering GetStatus');
    expect(events.filter((e) => e.kind === 'refused')).toEqual([]);
    expect(events.some((e) => e.kind === 'status' || e.operation === 'GetStatus')).toBe(true);
  }, 60_000);
});
