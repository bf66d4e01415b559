/**
 * src/flows/revocation.ts: the OCSP step of an inbound message, with the real
 * OcspClient asking a real `openssl ocsp` responder of the sample CA about
 * sample-PKI signers (portal: good, agency: revoked, gateway: unknown to it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Partner } from '../../src/registry/partners.js';
import { requireNotRevoked, RevocationUnavailable } from '../../src/flows/revocation.js';
import type { OcspSettings } from '../../src/config/env.js';
import { OcspClient } from '../../src/pki/ocsp-client.js';
import { verifySmevEnvelope, type SmevVerification } from '../../src/signature/smev-profile.js';
import { SmevFault } from '../../src/soap/faults.js';
import { parseXml } from '../../src/xml/parser.js';
import { testFlow, type TestFlow } from '../helpers/flow-context.js';
import { sampleCa, startOcspResponder, TestCa, type Responder } from '../helpers/ocsp.js';
import { sampleSigner, signedSendRequest } from '../helpers/smev.js';
import { requireTool } from '../helpers/tools.js';

const SERIALS = { portal: '1A0431BB7C18DC5D75D410BAD0317008', agency: '726BD155C87E520C59822407F627F4D5' };

let flow: TestFlow;
let responder: Responder;
const verifications: Record<string, SmevVerification<Partner>> = {};
const lines: Array<{ obj: object; msg: string }> = [];
const log = { warn: (obj: object, msg: string) => void lines.push({ obj, msg }) };

const settings = (o: Partial<OcspSettings>): OcspSettings => ({ mode: 'on', responderUrl: responder.url, onOutage: 'refuse', timeoutMs: 2_000, cacheSize: 10, hash: 'sha1', ...o });

beforeAll(async () => {
  requireTool('openssl', ['version'], 'openssl');
  const ca = new TestCa();
  const index = ca.writeIndex('index.txt', [{ serial: SERIALS.portal }, { serial: SERIALS.agency, revoked: true }]);
  responder = await startOcspResponder(ca, { index, rsigner: sampleCa.cert, rkey: sampleCa.key, nmin: 60 });
  flow = testFlow();
  const { ctx } = flow;
  for (const [name, service] of [['portal', 'advertising-permit'], ['agency', 'advertising-permit-register-extract'], ['gateway', 'advertising-permit']] as const) {
    const { xml } = await signedSendRequest({ catalogue: ctx.catalogue, service, signer: sampleSigner(name) });
    verifications[name] = verifySmevEnvelope<Partner>(parseXml(xml), { trust: ctx.trustAnchors, partnerOf: (c) => ctx.partners.byCertificate(c.fingerprintSha256) });
  }
}, 30_000);
afterAll(async () => {
  await responder?.stop();
  await flow?.close();
});

async function faultOf(p: Promise<unknown>): Promise<SmevFault> {
  const error = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SmevFault);
  return error as SmevFault;
}

describe('requireNotRevoked', () => {
  it('no revocation checker configured: nothing asked', async () => {
    expect(await requireNotRevoked({ ...flow.ctx, revocation: null }, verifications.portal!, log)).toBeNull();
  });

  it('good: the verdict, the message goes on', async () => {
    const ctx = { ...flow.ctx, revocation: new OcspClient(settings({})) };
    expect(await requireNotRevoked(ctx, verifications.portal!, log)).toMatchObject({ status: 'good', responder: responder.url, cached: false });
  });

  it('revoked: SignatureVerificationFault / CertificateIsExpired, saying when and why', async () => {
    const ctx = { ...flow.ctx, revocation: new OcspClient(settings({})) };
    const fault = await faultOf(requireNotRevoked(ctx, verifications.agency!, log));
    expect(fault.fault).toBe('SignatureVerificationFault');
    expect(fault.extra.signatureReason).toBe('CertificateIsExpired');
    expect(fault.message).toMatch(new RegExp(`^certificate "[^"]*CN=agency[^"]*" \\(serial ${SERIALS.agency.toLowerCase()}\\) was revoked on 2025-01-01T00:00:00.000Z \\(keyCompromise\\) \\(OCSP responder ${responder.url}\\)$`, 'i'));
  });

  it('unknown to the responder: SignatureVerificationFault / CertificateIsNotFound', async () => {
    const ctx = { ...flow.ctx, revocation: new OcspClient(settings({})) };
    const fault = await faultOf(requireNotRevoked(ctx, verifications.gateway!, log));
    expect(fault.fault).toBe('SignatureVerificationFault');
    expect(fault.extra.signatureReason).toBe('CertificateIsNotFound');
    expect(fault.message).toMatch(/does not know certificate .*okno-gateway.*; its revocation status could not be established$/);
  });

  it('responder unreachable: SMEVFailure (RevocationUnavailable, so pull mode does not Ack); with OCSP_ON_OUTAGE=accept it goes on with a warning', async () => {
    const down = 'http://127.0.0.1:1/';
    const refuse = { ...flow.ctx, revocation: new OcspClient(settings({ responderUrl: down })) };
    const fault = await faultOf(requireNotRevoked(refuse, verifications.portal!, log));
    expect(fault).toBeInstanceOf(RevocationUnavailable);
    expect(fault.fault).toBe('SMEVFailure');
    expect(fault.message).toMatch(new RegExp(`could not be established: OCSP responder ${down}: .*; retry later$`));

    const accept = { ...flow.ctx, revocation: new OcspClient(settings({ responderUrl: down, onOutage: 'accept' })) };
    lines.length = 0;
    expect(await requireNotRevoked(accept, verifications.portal!, log)).toMatchObject({ status: 'unavailable', acceptedOnOutage: true });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.obj).toMatchObject({ responder: down, revocation: 'accepted-on-outage', serial: SERIALS.portal.toLowerCase() });
    expect(lines[0]!.msg).toMatch(/accepted because OCSP_ON_OUTAGE=accept$/);
  });
});
