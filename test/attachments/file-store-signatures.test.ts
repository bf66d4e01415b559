/**
 * The detached CMS signatures (SignaturePKCS7) of files in the SMEV exchange's file store, end
 * to end (issue 21, point 2): the exchange simulator with its real FTP file store, a gateway in
 * pull mode whose sender signs with GOST R 34.10-2012 (an OpenSSL-made key and certificate
 * under a GOST CA the gateway trusts), real Redis, the city's webhook receiver. The files are
 * signed with `openssl cms -sign -engine gost -binary -outform DER` (detached) and the
 * advertising-permit service requires signed files (`attachments.signature: required`):
 *  - a well-signed file is downloaded, checked on its streamed digest, stored, and reaches the
 *    inbox and the attachments.ready event with its verdict valid; the journal has its record;
 *  - a signature over other bytes, or by a signer the gateway does not trust: the file fails
 *    naming the file and the problem, attachments.failed, and a RequestRejected reaches the
 *    sender through the exchange;
 *  - a file without a signature: the message is refused at acceptance (RequestRejected);
 *  - a signer whose certificate its CA's OCSP responder (a real `openssl ocsp`) says is revoked:
 *    the file fails as for a bad signature.
 */
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/catalogue/load.js';
import { loadGatewayIdentity, splitPem } from '../../src/pki/gateway-identity.js';
import { TrustAnchorSet } from '../../src/pki/trust.js';
import { defaultExchangeSystems } from '../../src/simulators/smev-exchange-systems.js';
import { uuidV1 } from '../../src/soap/message-id.js';
import { childElements, textContent } from '../../src/xml/helpers.js';
import { requireOpensslGost } from '../crypto/openssl-gost.js';
import { opensslCmsSign, opensslCmsVerifies, type CmsPki } from '../helpers/cms-pki.js';
import { ExchangeClient } from '../helpers/exchange.js';
import { fileHash, sendWithFile, startFileStoreWorld, startWebhookReceiver, uploadByFtp, type FileStoreWorld } from '../helpers/file-store.js';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { gostTempDir, makeGostCa, makeGostLeaf } from '../helpers/gost-openssl-pki.js';
import { caPem, eventually } from '../helpers/pull.js';
import { startCountingProxy, startOcspResponder, TestCa, type CountingProxy, type Responder } from '../helpers/ocsp.js';
import { CITY, OPS } from '../helpers/smev.js';

interface Verdict { valid: boolean; math: string; trusted: boolean | null; reason: string | null; message: string; signer: string | null; algorithm: string | null; signingTime: string | null }
interface FileView { uuid: string; fileName: string; state: string; reason: string | null; sha256: string | null; attachmentId: string | null; pkcs7Signature: string; signature?: Verdict }
interface Item { messageId: string; exchangeFiles?: FileView[] }

let world: FileStoreWorld;
let gw: RunningGateway;
let portal: ExchangeClient;
let hook: Awaited<ReturnType<typeof startWebhookReceiver>>;
let dir: string;
let sender: CmsPki;
let stranger: CmsPki;
/** Every RequestRejected the portal received: its description. */
const rejections: string[] = [];

beforeAll(async () => {
  requireOpensslGost();
  dir = gostTempDir('okno-file-signatures-');
  const ca = makeGostCa(dir, 'ca', { cn: 'Applicants CA' });
  const leaf = makeGostLeaf(dir, ca, 'portal', { algorithm: 'gost2012_256', paramset: 'A', cn: 'portal-gost-signed-files' });
  sender = { kind: 'gost2012_256', ca, leaf, engine: ['-engine', 'gost'] };
  // A CA the gateway does not trust, and a GOST signer under it.
  const strangerCa = makeGostCa(dir, 'stranger-ca', { cn: 'Stranger CA' });
  stranger = { kind: 'gost2012_256', ca: strangerCa, leaf: makeGostLeaf(dir, strangerCa, 'stranger', { algorithm: 'gost2012_256', paramset: 'A', cn: 'stranger signer' }), engine: ['-engine', 'gost'] };

  const trustPems = [...splitPem(caPem), ...splitPem(readFileSync(ca.cert, 'utf8'))];
  const trustFile = path.join(dir, 'trust.pem');
  writeFileSync(trustFile, trustPems.join(''));
  // advertising-permit (the service sendWithFile uses) requires signed files
  const services = path.join(dir, 'services');
  cpSync(path.join(projectRoot, 'config/services'), services, { recursive: true });
  const serviceJson = path.join(services, 'advertising-permit/service.json');
  writeFileSync(serviceJson, JSON.stringify({ ...JSON.parse(readFileSync(serviceJson, 'utf8')), attachments: { signature: 'required' } }, null, 2));

  const catalogue = loadCatalogue(path.join(projectRoot, 'config/services'));
  const systems = defaultExchangeSystems(catalogue, path.join(projectRoot, 'certs-sample')).map((s) => (s.mnemonic === 'portal' ? { ...s, certificatePem: readFileSync(leaf.cert, 'utf8') } : s));
  world = await startFileStoreWorld({
    s3: false,
    exchange: { systems, trust: new TrustAnchorSet(trustPems) },
    editRegistry: (r) => {
      for (const p of r.partners) if (p.id === 'portal') p.certificates = [leaf.cert];
    },
  });
  hook = await startWebhookReceiver();
  gw = await startGateway({ ...world.env, TRUST_CA_FILE: trustFile, SERVICES_DIR: services, CITY_WEBHOOK_URL: hook.url });
  portal = new ExchangeClient(world.sim.endpoint, loadGatewayIdentity({ kind: 'pem', keyFile: leaf.key, certFile: leaf.cert }).signer);
}, 90_000);

afterAll(async () => {
  await gw?.close();
  await world?.sim.close();
  await world?.files.close();
  await hook?.close();
});

async function item(messageId: string): Promise<Item | undefined> {
  const res = await fetch(`${gw.url}/api/v1/inbox?limit=500`, { headers: CITY });
  return ((await res.json()) as { items: Item[] }).items.find((i) => i.messageId === messageId);
}

async function settled(messageId: string): Promise<FileView> {
  return eventually(async () => {
    const f = (await item(messageId))?.exchangeFiles?.[0];
    return f && f.state !== 'pending' ? f : null;
  }, `the file of ${messageId} settled`, 20_000);
}

/** The portal reads its responses (acking each) until a RequestRejected whose description matches. */
async function rejectionMatching(pattern: RegExp): Promise<string> {
  return eventually(async () => {
    const found = rejections.find((r) => pattern.test(r));
    if (found) return found;
    const p = await portal.poll('GetResponse');
    const m = p.message && !p.message.empty ? p.message : null;
    if (!m) return null;
    if (m.messageId) await portal.ack(m.messageId);
    const rejected = m.senderData ? childElements(m.senderData).find((c) => c.localName === 'RequestRejected') : undefined;
    if (rejected) {
      const field = (name: string) => textContent(childElements(rejected).find((c) => c.localName === name)!);
      rejections.push(`${field('RejectionReasonCode')} ${field('RejectionReasonDescription')}`);
    }
    return rejections.find((r) => pattern.test(r)) ?? null;
  }, `a RequestRejected matching ${pattern}`, 20_000);
}

/** A GOST-signed file in the file store: its content, the GOST Hash the sender signs, the detached CMS signature (base64). */
function signedFile(name: string, content: Buffer, signer: CmsPki, signedContent: Buffer = content): { signaturePkcs7: string; hash: string; file: string } {
  const file = path.join(dir, name);
  writeFileSync(file, signedContent);
  const signature = opensslCmsSign(signer, file);
  writeFileSync(`${file}.p7s`, signature);
  writeFileSync(file, content);
  return { signaturePkcs7: signature.toString('base64'), hash: fileHash(content, 'gost'), file };
}

describe('file-store files signed with OpenSSL gost engine (service requires signed files)', () => {
  it('a valid GOST R 34.10-2012 signature: stored, the verdict valid in the inbox, the webhook and the journal', async () => {
    const content = Buffer.concat([Buffer.from('%PDF-1.4 макет рекламной конструкции\n'), randomBytes(300_000)]);
    const signed = signedFile('layout.pdf', content, sender);
    // the independent judge agrees the signature is good
    expect(opensslCmsVerifies(sender, signed.file, `${signed.file}.p7s`).ok).toBe(true);
    const uuid = uuidV1();
    await uploadByFtp(world.files, uuid, 'layout.pdf', content);
    const sent = await sendWithFile(portal, { uuid, hash: signed.hash, signaturePkcs7: signed.signaturePkcs7 });
    expect(sent.status).toBe(200);
    const file = await settled(sent.messageId);
    expect(file).toMatchObject({ uuid, state: 'stored', reason: null, pkcs7Signature: 'valid', sha256: createHash('sha256').update(content).digest('hex') });
    expect(file.signature).toMatchObject({ valid: true, math: 'valid', trusted: true, reason: null, signer: expect.stringContaining('CN=portal-gost-signed-files'), algorithm: 'GOST R 34.10-2012-256' });
    expect(file.signature!.message).toMatch(/^valid: signed by /);
    expect(Math.abs(Date.parse(file.signature!.signingTime!) - Date.now())).toBeLessThan(300_000);
    const stored = await fetch(`${gw.url}/api/v1/attachments/${file.attachmentId}`, { headers: CITY });
    expect(Buffer.from(await stored.arrayBuffer()).equals(content)).toBe(true);

    const ready = await eventually(async () => hook.posts.find((p) => p.headers['x-okno-event'] === 'attachments.ready' && p.body.messageId === sent.messageId), 'attachments.ready');
    expect((ready.body.files as FileView[])[0]).toMatchObject({ uuid, pkcs7Signature: 'valid', signature: { valid: true, algorithm: 'GOST R 34.10-2012-256' } });

    const journal = (await (await fetch(`${gw.url}/api/v1/journal?messageId=${sent.messageId}&limit=50`, { headers: OPS })).json()) as { items: Array<{ id: string; operation: string; succeeded: boolean }> };
    const record = journal.items.find((r) => r.operation === 'FileStoreDownload');
    expect(record).toMatchObject({ succeeded: true });
    const full = (await (await fetch(`${gw.url}/api/v1/journal/${record!.id}`, { headers: OPS })).json()) as { record: Record<string, unknown>; evidence: unknown };
    expect(full.record).toMatchObject({ operation: 'FileStoreDownload', direction: 'inbound', service: 'advertising-permit', partner: 'portal', faultCode: null });
    expect(full.record.attachmentSignatures).toEqual([expect.objectContaining({ file: 'layout.pdf', status: 'valid', valid: true, algorithm: 'GOST R 34.10-2012-256', sha256: createHash('sha256').update(content).digest('hex') })]);
    expect(JSON.stringify(full)).not.toMatch(/Password|password/);
    // one log line with the verdict, without the signer
    const line = gw.logs.find((l) => l.uuid === uuid && /stored/.test(String(l.msg)));
    expect(line).toMatchObject({ signature: 'valid', algorithm: 'GOST R 34.10-2012-256' });
    expect(JSON.stringify(gw.logs.filter((l) => l.uuid === uuid))).not.toMatch(/portal-gost-signed-files|Password/);
  });

  it('a signature over other bytes: the file fails naming it, attachments.failed, RequestRejected to the sender; nothing stored', async () => {
    const content = Buffer.concat([Buffer.from('%PDF-1.4 свидетельство\n'), randomBytes(100_000)]);
    const other = Buffer.from(content);
    other[5000] = other[5000]! ^ 1;
    const signed = signedFile('certificate.pdf', content, sender, other);
    expect(opensslCmsVerifies(sender, signed.file, `${signed.file}.p7s`).ok).toBe(false);
    const uuid = uuidV1();
    await uploadByFtp(world.files, uuid, 'certificate.pdf', content);
    const blobsBefore = readdirSync(world.attachmentDir, { recursive: true }).length;
    const sent = await sendWithFile(portal, { uuid, hash: signed.hash, signaturePkcs7: signed.signaturePkcs7 });
    expect(sent.status).toBe(200);
    const file = await settled(sent.messageId);
    expect(file).toMatchObject({ state: 'failed', attachmentId: null, pkcs7Signature: 'invalid', signature: { valid: false, math: 'invalid', reason: 'SignatureIsInvalid' } });
    expect(file.reason).toMatch(new RegExp(`^attachment certificate\\.pdf \\(file store uuid ${uuid}\\): its SignaturePKCS7 does not verify: the GOST R 34\\.11-2012-256 digest of the content does not match the signed messageDigest`));
    const failed = await eventually(async () => hook.posts.find((p) => p.headers['x-okno-event'] === 'attachments.failed' && p.body.messageId === sent.messageId), 'attachments.failed');
    expect((failed.body.files as FileView[])[0]).toMatchObject({ uuid, state: 'failed', pkcs7Signature: 'invalid' });
    const rejection = await rejectionMatching(new RegExp(`file store uuid ${uuid}`));
    expect(rejection).toMatch(new RegExp(`^UNKNOWN_REQUEST_DESCRIPTION InvalidContent: attachment certificate\\.pdf \\(file store uuid ${uuid}\\): its SignaturePKCS7 does not verify: `));
    // the refused file is not kept (the partial download is discarded, no blob named by it)
    expect(readdirSync(world.attachmentDir, { recursive: true }).filter((f) => String(f).includes(createHash('sha256').update(content).digest('hex')))).toEqual([]);
    expect(readdirSync(world.attachmentDir, { recursive: true }).length).toBeLessThanOrEqual(blobsBefore);
    const journal = (await (await fetch(`${gw.url}/api/v1/journal?messageId=${sent.messageId}&limit=50`, { headers: OPS })).json()) as { items: Array<{ operation: string; succeeded: boolean; faultCode: string | null }> };
    expect(journal.items).toEqual(expect.arrayContaining([expect.objectContaining({ operation: 'FileStoreDownload', succeeded: false, faultCode: 'InvalidContent' })]));
  });

  it('a signer the gateway does not trust: failed, attachments.failed, RequestRejected', async () => {
    const content = Buffer.concat([Buffer.from('%PDF-1.4 доверенность\n'), randomBytes(50_000)]);
    const signed = signedFile('proxy.pdf', content, stranger);
    expect(opensslCmsVerifies(stranger, signed.file, `${signed.file}.p7s`).ok).toBe(true); // good mathematics, by its own CA
    const uuid = uuidV1();
    await uploadByFtp(world.files, uuid, 'proxy.pdf', content);
    const sent = await sendWithFile(portal, { uuid, hash: signed.hash, signaturePkcs7: signed.signaturePkcs7 });
    expect(sent.status).toBe(200);
    const file = await settled(sent.messageId);
    expect(file).toMatchObject({ state: 'failed', pkcs7Signature: 'invalid', signature: { valid: false, math: 'valid', trusted: false, signer: expect.stringContaining('CN=stranger signer') } });
    expect(file.reason).toMatch(/^attachment proxy\.pdf \(file store uuid .*\): its SignaturePKCS7 does not verify: /);
    await eventually(async () => hook.posts.find((p) => p.headers['x-okno-event'] === 'attachments.failed' && p.body.messageId === sent.messageId), 'attachments.failed');
    expect(await rejectionMatching(new RegExp(`file store uuid ${uuid}`))).toMatch(/^UNKNOWN_REQUEST_DESCRIPTION InvalidContent: attachment proxy\.pdf/);
    // the log lines give the verdict and the RequestRejected's id, not the signer (a person, for an applicant)
    const mine = gw.logs.filter((l) => l.uuid === uuid);
    expect(mine.find((l) => /refused/.test(String(l.msg)))).toMatchObject({ signature: 'invalid', signatureReason: 'CertificateIsNotFound', algorithm: 'GOST R 34.10-2012-256', rejection: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(JSON.stringify(mine)).not.toMatch(/stranger signer|Password/);
  });

  it('a file without a signature, the service requiring one: the message is refused at acceptance (RequestRejected), nothing in the inbox', async () => {
    const content = randomBytes(20_000);
    const uuid = uuidV1();
    await uploadByFtp(world.files, uuid, 'unsigned.pdf', content);
    const sent = await sendWithFile(portal, { uuid, hash: fileHash(content, 'gost') });
    expect(sent.status).toBe(200);
    await world.sim.waitFor((s) => s.message(sent.messageId)?.state === 'acked', 15_000);
    expect(await rejectionMatching(new RegExp(`file store uuid ${uuid}`))).toBe(`UNKNOWN_REQUEST_DESCRIPTION InvalidContent: attachment unsigned.pdf (file store uuid ${uuid}) carries no SignaturePKCS7, but the service requires every file to be signed`);
    expect(await item(sent.messageId)).toBeUndefined();
  });
});

describe('OCSP for the signer of a file-store file', () => {
  const ca = new TestCa();
  let responder: Responder;
  let proxy: CountingProxy;
  let revoked: { key: string; cert: string; serial: string };

  beforeAll(async () => {
    proxy = await startCountingProxy(0);
    const leaf = ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature,nonRepudiation', `authorityInfoAccess=OCSP;URI:${proxy.url}`];
    revoked = ca.issue('file-store-signer-revoked', '0f5a02', leaf);
    const delegate = ca.issue('file-store-ocsp-responder', '0f5af0', ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=OCSPSigning']);
    const index = ca.writeIndex('index.txt', [{ serial: revoked.serial, revoked: true }]);
    responder = await startOcspResponder(ca, { index, rsigner: delegate.cert, rkey: delegate.key, nmin: 60 });
    proxy.target = responder.port;
  }, 60_000);

  afterAll(async () => {
    await proxy?.close();
    await responder?.stop();
  });

  it('revoked at OCSP: the file fails naming the revocation, RequestRejected to the sender', async () => {
    const content = Buffer.concat([Buffer.from('%PDF-1.4 выписка\n'), randomBytes(30_000)]);
    // an RSA signer under the sample CA (trusted by the gateway), its certificate naming the responder
    const signed = signedFile('extract.pdf', content, { kind: 'rsa', ca: { key: '', cert: path.join(projectRoot, 'certs-sample/ca.crt.pem') }, leaf: revoked, engine: [] });
    const uuid = uuidV1();
    await uploadByFtp(world.files, uuid, 'extract.pdf', content);
    const sent = await sendWithFile(portal, { uuid, hash: signed.hash, signaturePkcs7: signed.signaturePkcs7 });
    expect(sent.status).toBe(200);
    const file = await settled(sent.messageId);
    expect(file).toMatchObject({ state: 'failed', attachmentId: null, pkcs7Signature: 'invalid', signature: { valid: false, math: 'valid', trusted: false, reason: 'CertificateIsExpired', algorithm: 'RSA PKCS#1 v1.5 with SHA-256' } });
    expect(file.reason).toMatch(new RegExp(`^attachment extract\\.pdf \\(file store uuid ${uuid}\\): its SignaturePKCS7 does not verify: the signer's certificate "CN=file-store-signer-revoked, O=Okno OCSP test, C=RU" \\(serial 0f5a02\\) was revoked on 2025-01-01`));
    expect(proxy.requests).toBeGreaterThan(0);
    expect(await rejectionMatching(new RegExp(`file store uuid ${uuid}`))).toMatch(/was revoked on 2025-01-01/);
  });
});
