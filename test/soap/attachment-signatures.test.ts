/**
 * Inbound files' detached CMS signatures (issue 21, point 2): a SendRequest whose attachment
 * carries a SignaturePKCS7 made by `openssl cms -sign` (GOST 2012-256 with the gost engine,
 * RSA) is accepted with the verdict in the inbox item and the journal record; a signature over
 * other bytes, or from an untrusted signer, refuses the message with InvalidContent; the
 * service's `attachments.signature: required` refuses an unsigned file.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/catalogue/load.js';
import { CatalogueError } from '../../src/catalogue/errors.js';
import type { InboxItem } from '../../src/city/model.js';
import { makeCmsPki, openssl, opensslCmsSign, type CmsPki } from '../helpers/cms-pki.js';
import { startCountingProxy, startOcspResponder, TestCa, type CountingProxy, type Responder } from '../helpers/ocsp.js';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { CITY, faultOf, OPS, postSoap, signedSendRequest } from '../helpers/smev.js';

const dir = mkdtempSync(path.join(tmpdir(), 'okno-att-sig-'));
const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.from('проект перепланировки', 'utf8'), Buffer.from([0, 1, 2, 255])]);
const pdfFile = path.join(dir, 'plan.pdf');
writeFileSync(pdfFile, pdf);
let gost: CmsPki;
let rsa: CmsPki;
let stranger: CmsPki;
let gw: RunningGateway;

async function inboxAfter(cursor: string | null): Promise<{ items: InboxItem[]; next: string | null }> {
  const res = await fetch(`${gw.url}/api/v1/inbox${cursor ? `?after=${encodeURIComponent(cursor)}` : ''}`, { headers: CITY });
  return (await res.json()) as { items: InboxItem[]; next: string | null };
}

async function lastJournalRecord(messageId: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${gw.url}/api/v1/journal?messageId=${messageId}`, { headers: OPS });
  const body = (await res.json()) as { items: Array<Record<string, unknown>> };
  return body.items[0]!;
}

beforeAll(async () => {
  gost = makeCmsPki(dir, 'gost2012_256');
  rsa = makeCmsPki(dir, 'rsa');
  stranger = makeCmsPki(mkdtempSync(path.join(tmpdir(), 'okno-att-stranger-')), 'ecdsa');
  // the gateway trusts the sample CA (partners) and the two CAs that issued the applicants' certificates
  const trust = path.join(dir, 'trust.pem');
  writeFileSync(trust, [path.join(projectRoot, 'certs-sample/ca.crt.pem'), gost.ca.cert, rsa.ca.cert].map((f) => readFileSync(f, 'utf8')).join(''));
  // dwelling-replanning requires signed files; the other services keep the default (optional)
  const services = path.join(dir, 'services');
  cpSync(path.join(projectRoot, 'config/services'), services, { recursive: true });
  const serviceJson = path.join(services, 'dwelling-replanning/service.json');
  writeFileSync(serviceJson, JSON.stringify({ ...JSON.parse(readFileSync(serviceJson, 'utf8')), attachments: { signature: 'required' } }, null, 2));
  gw = await startGateway({ TRUST_CA_FILE: trust, SERVICES_DIR: services });
}, 90_000);

afterAll(async () => {
  await gw?.close();
});

describe('SignaturePKCS7 on inbound attachments', () => {
  it('a GOST 2012-256 signature by openssl cms -sign -engine gost: accepted, verdict in the inbox item and the journal', async () => {
    const before = await inboxAfter(null);
    const signaturePkcs7 = opensslCmsSign(gost, pdfFile);
    const { xml, messageId } = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'dwelling-replanning', attachments: [{ contentId: 'plan', mimeType: 'application/pdf', content: pdf, signaturePkcs7 }] });
    const res = await postSoap(gw.url, xml);
    expect(res.status, res.body).toBe(200);
    const [item] = (await inboxAfter(before.next)).items;
    expect(item!.attachments).toEqual([
      expect.objectContaining({
        contentId: 'plan',
        pkcs7Signature: 'valid',
        signature: expect.objectContaining({ valid: true, math: 'valid', trusted: true, reason: null, signer: 'O=Okno tests, CN=gost2012_256 signer', algorithm: 'GOST R 34.10-2012-256', signingTime: expect.stringMatching(/^20\d\d-/) }),
      }),
    ]);
    const record = await lastJournalRecord(messageId);
    expect(record.attachmentSignatures).toEqual([expect.objectContaining({ file: 'plan', status: 'valid', valid: true, signer: 'O=Okno tests, CN=gost2012_256 signer', algorithm: 'GOST R 34.10-2012-256' })]);
  });

  it('an RSA signature on a file of an optional-policy service; an unsigned file there is accepted as absent', async () => {
    const before = await inboxAfter(null);
    const signed = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'advertising-permit', attachments: [{ contentId: 'a', mimeType: 'application/pdf', content: pdf, signaturePkcs7: opensslCmsSign(rsa, pdfFile) }, { contentId: 'b', mimeType: 'application/pdf', content: Buffer.from('unsigned') }] });
    const res = await postSoap(gw.url, signed.xml);
    expect(res.status, res.body).toBe(200);
    const [item] = (await inboxAfter(before.next)).items;
    expect(item!.attachments.map((a) => [a.contentId, a.pkcs7Signature, a.signature?.algorithm ?? null])).toEqual([
      ['a', 'valid', 'RSA PKCS#1 v1.5 with SHA-256'],
      ['b', 'absent', null],
    ]);
  });

  it('refuses with InvalidContent: a signature over other bytes, an untrusted signer, garbage, a missing signature where required', async () => {
    const cases: Array<{ service: string; signaturePkcs7?: Buffer; expected: RegExp }> = [
      { service: 'advertising-permit', signaturePkcs7: opensslCmsSign(gost, path.join(projectRoot, 'package.json')), expected: /attachment f: its SignaturePKCS7 does not verify: the GOST R 34\.11-2012-256 digest of the content does not match the signed messageDigest/ },
      { service: 'advertising-permit', signaturePkcs7: opensslCmsSign(stranger, pdfFile), expected: /attachment f: its SignaturePKCS7 does not verify: certificate "O=Okno tests, CN=ecdsa-signer" is not issued by a trusted CA/ },
      { service: 'advertising-permit', signaturePkcs7: Buffer.from('garbage, not a CMS'), expected: /attachment f: its SignaturePKCS7 does not verify: the signature cannot be read/ },
      { service: 'dwelling-replanning', expected: /attachment f carries no SignaturePKCS7, but the service requires every file to be signed/ },
    ];
    for (const c of cases) {
      const { xml } = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: c.service, attachments: [{ contentId: 'f', mimeType: 'application/pdf', content: pdf, ...(c.signaturePkcs7 ? { signaturePkcs7: c.signaturePkcs7 } : {}) }] });
      const res = await postSoap(gw.url, xml);
      expect(res.status, res.body).toBe(500);
      expect(faultOf(res.body).fault).toBe('InvalidContent');
      expect(faultOf(res.body).faultstring).toMatch(c.expected);
    }
  });
});

describe('attachments.signature in service.json', () => {
  it('is read once at load (default optional); a value other than required|optional stops the catalogue naming the field', () => {
    expect(gw.gateway.catalogue.get('dwelling-replanning')!.attachmentSignature).toBe('required');
    expect(gw.gateway.catalogue.get('advertising-permit')!.attachmentSignature).toBe('optional');
    const services = mkdtempSync(path.join(tmpdir(), 'okno-att-policy-'));
    cpSync(path.join(projectRoot, 'config/services/advertising-permit'), path.join(services, 'advertising-permit'), { recursive: true });
    const file = path.join(services, 'advertising-permit/service.json');
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), attachments: { signature: 'sometimes' } }));
    let problems: string[] = [];
    try {
      loadCatalogue(services);
    } catch (error) {
      if (!(error instanceof CatalogueError)) throw error;
      problems = error.problems;
    }
    expect(problems.join('\n')).toMatch(/service\.json.*\/attachments\/signature/);
  });
});

describe('OCSP for the signers of files', () => {
  const ca = new TestCa();
  let responder: Responder;
  let proxy: CountingProxy;
  const pairs: Record<string, { key: string; cert: string; serial: string }> = {};

  beforeAll(async () => {
    // the certificates name the proxy; the responder behind it starts once they exist
    proxy = await startCountingProxy(0);
    const leaf = ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature,nonRepudiation', `authorityInfoAccess=OCSP;URI:${proxy.url}`];
    for (const [name, serial] of Object.entries({ good: '0c5a01', revoked: '0c5a02', unknown: '0c5a03' })) pairs[name] = ca.issue(`file-signer-${name}`, serial, leaf);
    const delegate = ca.issue('file-ocsp-responder', '0c5af0', ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=OCSPSigning']);
    const index = ca.writeIndex('index.txt', [{ serial: pairs.good!.serial }, { serial: pairs.revoked!.serial, revoked: true }]);
    responder = await startOcspResponder(ca, { index, rsigner: delegate.cert, rkey: delegate.key, nmin: 60 });
    proxy.target = responder.port;
  }, 60_000);

  afterAll(async () => {
    await proxy?.close();
    await responder?.stop();
  });

  const sign = (name: string) => openssl(['cms', '-sign', '-binary', '-in', pdfFile, '-signer', pairs[name]!.cert, '-inkey', pairs[name]!.key, '-outform', 'DER']);

  it('good → accepted; revoked or unknown → InvalidContent naming the file and the responder', async () => {
    const ok = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'advertising-permit', attachments: [{ contentId: 'f', mimeType: 'application/pdf', content: pdf, signaturePkcs7: sign('good') }] });
    const accepted = await postSoap(gw.url, ok.xml);
    expect(accepted.status, accepted.body).toBe(200);
    for (const [name, expected] of [
      ['revoked', /attachment f: its SignaturePKCS7 does not verify: the signer's certificate "CN=file-signer-revoked, O=Okno OCSP test, C=RU" \(serial 0c5a02\) was revoked on 2025-01-01T00:00:00\.000Z \(keyCompromise\) \(OCSP responder http:\/\/127\.0\.0\.1:\d+\/\)/],
      ['unknown', /attachment f: its SignaturePKCS7 does not verify: the OCSP responder http:\/\/127\.0\.0\.1:\d+\/ does not know the signer's certificate "CN=file-signer-unknown, O=Okno OCSP test, C=RU"/],
    ] as const) {
      const m = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'advertising-permit', attachments: [{ contentId: 'f', mimeType: 'application/pdf', content: pdf, signaturePkcs7: sign(name) }] });
      const res = await postSoap(gw.url, m.xml);
      expect(res.status).toBe(500);
      expect(faultOf(res.body).fault).toBe('InvalidContent');
      expect(faultOf(res.body).faultstring).toMatch(expected);
    }
  });
});
