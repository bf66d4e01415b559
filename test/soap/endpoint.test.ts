/**
 * The federal front door through real HTTP: every service round-trips from
 * JSON through signed SOAP into the city's inbox, and every fault case of
 * contract §2 gets its SMEV fault — with nothing stored as accepted.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InboxItem, Application } from '../../src/city/model.js';
import { LocalKeySigner } from '../../src/pki/signer.js';
import { verifySignature } from '../../src/signature/verify.js';
import { TrustAnchorSet } from '../../src/pki/trust.js';
import { DSIG_NS } from '../../src/signature/dsig.js';
import { sendRequestEnvelope } from '../../src/soap/envelope-builder.js';
import { uuidV1 } from '../../src/soap/message-id.js';
import { parseXml } from '../../src/xml/parser.js';
import type { XmlElement } from '../../src/xml/types.js';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { CITY, faultOf, postSoap, sampleSigner, serviceExamples, signedSendRequest } from '../helpers/smev.js';
import { requireTool } from '../helpers/tools.js';

const caPem = readFileSync(path.join(projectRoot, 'certs-sample/ca.crt.pem'), 'utf8');

async function inbox(url: string, after = '0'): Promise<{ items: Array<InboxItem & { cursor: string }>; next: string }> {
  const res = await fetch(`${url}/api/v1/inbox?after=${after}&limit=500`, { headers: CITY });
  expect(res.status).toBe(200);
  return (await res.json()) as { items: Array<InboxItem & { cursor: string }>; next: string };
}

function findSignature(el: XmlElement): XmlElement | null {
  if (el.namespaceURI === DSIG_NS && el.localName === 'Signature') return el;
  for (const c of el.children) if (c.type === 'element') {
    const found = findSignature(c);
    if (found) return found;
  }
  return null;
}

/** The reply is signed by the gateway and that signature verifies against the sample CA. */
function expectSignedReply(body: string): void {
  const doc = parseXml(body);
  const sig = findSignature(doc.root);
  expect(sig).not.toBeNull();
  const v = verifySignature(doc, sig!, null, { trust: new TrustAnchorSet([caPem]) });
  expect(v.valid).toBe(true);
  expect(v.details.certificate?.subject).toMatch(/CN=okno-gateway/);
}

describe('POST /ws/smev3 with the embedded store', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(() => gw.close());

  const applications = ['advertising-permit', 'dwelling-replanning', 'kindergarten-enrollment'];
  for (const service of applications) {
    it(`${service}: every example goes JSON → signed SOAP → gateway → inbox unchanged, with a registration number`, async () => {
      for (const example of serviceExamples(service)) {
        const before = await inbox(gw.url);
        const { xml, messageId } = await signedSendRequest({ catalogue: gw.gateway.catalogue, service, content: example });
        const res = await postSoap(gw.url, xml, { soapaction: 'urn:SendRequest' });
        expect(res.status, res.body).toBe(200);
        expect(res.body).toContain('<t:Status>requestIsQueued</t:Status>');
        expect(res.body).toContain(`<t:MessageId>${messageId}</t:MessageId>`);
        expectSignedReply(res.body);

        const after = await inbox(gw.url, before.next);
        expect(after.items).toHaveLength(1);
        const item = after.items[0]!;
        expect(item).toMatchObject({ kind: 'application', service, messageId, partner: 'portal', ackedAt: null });
        expect(item.content).toEqual(example);
        expect(item.registrationNumber).toMatch(/^[А-ЯA-Z]+-\d{4}-\d{6}$/);
        expect(item.signature).toMatchObject({ valid: true, algorithm: 'RSA-SHA256', partner: 'portal' });

        const app = (await (await fetch(`${gw.url}/api/v1/applications/${item.applicationId}`, { headers: CITY })).json()) as Application;
        expect(app).toMatchObject({ registrationNumber: item.registrationNumber, service, status: 'received', content: example });
        expect(app.statusHistory[0]).toMatchObject({ status: 'received' });
        // Indexed by registration number, written in the same commit.
        expect(await gw.gateway.store.getDoc('registration-numbers', item.registrationNumber!)).toEqual({ applicationId: item.applicationId, inboxItemId: item.id });
      }
    });
  }

  it('registration numbers are unique and count per service', async () => {
    const numbers: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { xml } = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'kindergarten-enrollment' });
      const res = await postSoap(gw.url, xml);
      expect(res.status).toBe(200);
    }
    const all = await inbox(gw.url);
    for (const item of all.items) if (item.registrationNumber) numbers.push(item.registrationNumber);
    expect(new Set(numbers).size).toBe(numbers.length);
    const kg = all.items.filter((i) => i.service === 'kindergarten-enrollment').map((i) => Number(i.registrationNumber!.slice(-6)));
    expect(kg).toEqual(kg.map((_, i) => i + 1));
  });

  it('an agency query to the city lands as kind "query" with a request id', async () => {
    for (const example of serviceExamples('advertising-permit-register-extract')) {
      const before = await inbox(gw.url);
      const { xml } = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'advertising-permit-register-extract', content: example, signer: sampleSigner('agency') });
      const res = await postSoap(gw.url, xml);
      expect(res.status, res.body).toBe(200);
      expect(res.body).toContain('<t:InteractionType>OIV2OIV</t:InteractionType>');
      const [item] = (await inbox(gw.url, before.next)).items;
      expect(item).toMatchObject({ kind: 'query', service: 'advertising-permit-register-extract', partner: 'agency', content: example, applicationId: null });
      expect(item!.requestId).toEqual(expect.any(String));
    }
  });

  it('answers in the request\'s namespace version (1.1, 1.2, 1.3)', async () => {
    for (const version of ['1.1', '1.2', '1.3'] as const) {
      const { xml } = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'advertising-permit', version });
      const res = await postSoap(gw.url, xml);
      expect(res.status, res.body).toBe(200);
      expect(res.body).toContain(`xmlns:t="urn://x-artefacts-smev-gov-ru/services/message-exchange/types/${version}"`);
      expectSignedReply(res.body);
    }
  });

  it('signs the reply with the partner\'s profile (portal: xmldsig, agency: smev)', async () => {
    const portal = await postSoap(gw.url, (await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'advertising-permit' })).xml);
    expect(portal.body).not.toContain('urn://smev-gov-ru/xmldsig/transform');
    const agency = await postSoap(gw.url, (await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'advertising-permit-register-extract', signer: sampleSigner('agency') })).xml);
    expect(agency.body).toContain('urn://smev-gov-ru/xmldsig/transform');
  });

  describe('duplicates', () => {
    it('the same MessageID with the same signed content gets the first reply again and is stored once', async () => {
      const before = await inbox(gw.url);
      const { xml } = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'dwelling-replanning' });
      const first = await postSoap(gw.url, xml);
      const again = await postSoap(gw.url, xml);
      expect(first.status).toBe(200);
      expect(again.status).toBe(200);
      expect(again.body).toBe(first.body);
      expect((await inbox(gw.url, before.next)).items).toHaveLength(1);
    });

    it('the same MessageID with other content gets MessageIsAlreadySent', async () => {
      const [a, b] = serviceExamples('advertising-permit');
      const first = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'advertising-permit', content: a });
      expect((await postSoap(gw.url, first.xml)).status).toBe(200);
      const before = await inbox(gw.url);
      const other = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'advertising-permit', content: b, messageId: first.messageId });
      const res = await postSoap(gw.url, other.xml);
      expect(res.status).toBe(500);
      expect(faultOf(res.body).fault).toBe('MessageIsAlreadySent');
      expect((await inbox(gw.url, before.next)).items).toHaveLength(0);
    });

    it('concurrent copies of one message are accepted once', async () => {
      const before = await inbox(gw.url);
      const { xml } = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'kindergarten-enrollment' });
      const replies = await Promise.all(Array.from({ length: 8 }, () => postSoap(gw.url, xml)));
      expect(replies.every((r) => r.status === 200)).toBe(true);
      expect(new Set(replies.map((r) => r.body)).size).toBe(1);
      expect((await inbox(gw.url, before.next)).items).toHaveLength(1);
    });
  });

  describe('faults (contract §2); nothing is stored as accepted', () => {
    let before: string;
    const refused = async (body: string | Buffer, headers: Record<string, string> = {}) => {
      before = (await inbox(gw.url)).next;
      const res = await postSoap(gw.url, body, headers);
      expect(res.status).toBe(500);
      expect(res.body).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?><soap:Envelope/);
      expect(res.body).not.toMatch(/\n\s+at |Error:/);
      expect((await inbox(gw.url, before)).items).toHaveLength(0);
      return faultOf(res.body);
    };

    it('no signature → SignatureVerificationFault NoSignatureFound', async () => {
      const content = gw.gateway.catalogue.get('advertising-permit')!.request.toXml(serviceExamples('advertising-permit')[0]!);
      const unsigned = sendRequestEnvelope({ version: '1.1', messageId: uuidV1(), contentXml: content });
      expect(await refused(unsigned)).toMatchObject({ fault: 'SignatureVerificationFault', reason: 'NoSignatureFound' });
    });

    it('content changed after signing → SignatureIsInvalid', async () => {
      const { xml } = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'advertising-permit' });
      const tampered = xml.replace('Иркутск', 'Ангарск');
      expect(tampered).not.toBe(xml);
      expect(await refused(tampered)).toMatchObject({ fault: 'SignatureVerificationFault', reason: 'SignatureIsInvalid' });
    });

    it('untrusted and expired certificates → CertificateIsNotFound, CertificateIsExpired', async () => {
      const untrusted = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'advertising-permit', signer: sampleSigner('untrusted') });
      expect(await refused(untrusted.xml)).toMatchObject({ fault: 'SignatureVerificationFault', reason: 'CertificateIsNotFound' });
      const expired = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'advertising-permit', signer: sampleSigner('expired') });
      expect(await refused(expired.xml)).toMatchObject({ fault: 'SignatureVerificationFault', reason: 'CertificateIsExpired' });
    });

    it('a trusted certificate of no registered partner → SenderIsNotRegistered', async () => {
      const { xml } = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'advertising-permit', signer: sampleSigner('gateway') });
      expect(await refused(xml)).toMatchObject({ fault: 'SenderIsNotRegistered' });
    });

    it('a partner sending content it may not send → SenderIsNotRegistered', async () => {
      const { xml } = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'advertising-permit', signer: sampleSigner('agency') });
      const f = await refused(xml);
      expect(f.fault).toBe('SenderIsNotRegistered');
      expect(f.faultstring).toMatch(/partner agency is not registered to send requests of service advertising-permit/);
    });

    it('unknown content, or a response sent as a request → BusinessDataTypeIsNotSupported naming the root', async () => {
      const unknown = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'advertising-permit', contentXml: '<x:Unknown xmlns:x="urn://example/unknown/1.0">1</x:Unknown>' });
      const res = await postSoap(gw.url, unknown.xml);
      expect(faultOf(res.body).fault).toBe('BusinessDataTypeIsNotSupported');
      expect(res.body).toContain('<f:RootElementLocalName>Unknown</f:RootElementLocalName><f:RootElementNamespaceURI>urn://example/unknown/1.0</f:RootElementNamespaceURI>');
      const egrn = gw.gateway.catalogue.get('egrn-extract')!;
      const outbound = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'egrn-extract', contentXml: egrn.request.toXml(serviceExamples('egrn-extract')[0]!), signer: sampleSigner('agency') });
      expect(await refused(outbound.xml)).toMatchObject({ fault: 'BusinessDataTypeIsNotSupported' });
    });

    it('content that breaks its schema → InvalidContent naming element and rule', async () => {
      const service = gw.gateway.catalogue.get('dwelling-replanning')!;
      const good = service.request.toXml(serviceExamples('dwelling-replanning')[0]!);
      const bad = good.replace(/(<(\w+:)?Snils>)[^<]*/, '$1123-456');
      expect(bad).not.toBe(good);
      const { xml } = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'dwelling-replanning', contentXml: bad });
      const res = await postSoap(gw.url, xml);
      expect(faultOf(res.body).fault).toBe('InvalidContent');
      expect(res.body).toMatch(/<f:ValidationError errorPosition="\d+">[^<]*Snils[^<]*pattern/);
    });

    it('a MessageID that is not a version-1 UUID → InvalidMessageIdFormat', async () => {
      const { xml } = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'advertising-permit', messageId: '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d' });
      expect(await refused(xml)).toMatchObject({ fault: 'InvalidMessageIdFormat' });
    });

    it('malformed XML, a DTD, or an entity bomb → InvalidContent, never a crash', async () => {
      expect(await refused('<soap:Envelope')).toMatchObject({ fault: 'InvalidContent' });
      const dtd = await refused('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>');
      expect(dtd.fault).toBe('InvalidContent');
      expect(dtd.faultstring).toMatch(/DTD_FORBIDDEN/);
      expect(await refused(Buffer.from([0x3c, 0x61, 0x3e, 0xff, 0xfe, 0x3c, 0x2f, 0x61, 0x3e]))).toMatchObject({ fault: 'InvalidContent' });
    });

    it('not a SOAP envelope, or two bodies → SignatureVerificationFault PoorSOAPEnvelopeFormat', async () => {
      expect(await refused('<a/>')).toMatchObject({ fault: 'SignatureVerificationFault', reason: 'PoorSOAPEnvelopeFormat' });
      const { xml } = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'advertising-permit' });
      const twoBodies = xml.replace('</soap:Body>', '</soap:Body><soap:Body></soap:Body>');
      expect(await refused(twoBodies)).toMatchObject({ fault: 'SignatureVerificationFault', reason: 'PoorSOAPEnvelopeFormat' });
    });

    it('a SOAPAction that contradicts the body is refused; a missing one is fine', async () => {
      const { xml } = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'advertising-permit' });
      expect(await refused(xml, { soapaction: 'urn:Ack' })).toMatchObject({ fault: 'SignatureVerificationFault', reason: 'PoorSOAPEnvelopeFormat' });
      expect((await postSoap(gw.url, xml)).status).toBe(200);
    });

    it('SOAP 1.2 and non-XML content types get a SOAP fault with a 4xx status', async () => {
      const soap12 = await fetch(`${gw.url}/ws/smev3`, { method: 'POST', headers: { 'content-type': 'application/soap+xml' }, body: '<a/>' });
      expect(soap12.status).toBe(415);
      expect(faultOf(await soap12.text()).faultstring).toMatch(/SOAP 1\.2/);
      const json = await fetch(`${gw.url}/ws/smev3`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(json.status).toBe(415);
      expect(faultOf(await json.text()).fault).toBe('InvalidContent');
    });

    it('every refusal is journaled with its fault and the raw envelope', async () => {
      const before = await gw.gateway.store.readFeedBackwards('journal', Number.MAX_SAFE_INTEGER, 1);
      await postSoap(gw.url, '<a/>');
      const [last] = await gw.gateway.store.readFeedBackwards('journal', Number.MAX_SAFE_INTEGER, 1);
      expect(last!.seq).toBeGreaterThan(before[0]?.seq ?? 0);
      const record = (await gw.gateway.store.getDoc('journal', last!.id)) as Record<string, unknown> | null;
      expect(record).toMatchObject({ succeeded: false, faultCode: 'SignatureVerificationFault', direction: 'inbound' });
      const evidence = await gw.gateway.store.getBlob('evidence', (record!.evidence as { request: string }).request);
      expect(evidence!.toString('utf8')).toBe('<a/>');
    });
  });

  it('accepts a request signed by xmlsec1 (an independent XMLDSig implementation)', async () => {
    requireTool('xmlsec1', ['--version'], 'xmlsec1');
    const dir = mkdtempSync(path.join(tmpdir(), 'okno-xmlsec-'));
    const content = gw.gateway.catalogue.get('kindergarten-enrollment')!.request.toXml(serviceExamples('kindergarten-enrollment')[0]!);
    const template = sendRequestEnvelope({ version: '1.1', messageId: uuidV1(), contentXml: content }).replace(
      '<t:CallerInformationSystemSignature></t:CallerInformationSystemSignature>',
      '<t:CallerInformationSystemSignature><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>' +
        '<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>' +
        '<ds:Reference URI="#SIGNED_BY_CONSUMER"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>' +
        '<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/>' +
        '<ds:KeyInfo><ds:X509Data><ds:X509Certificate/></ds:X509Data></ds:KeyInfo></ds:Signature></t:CallerInformationSystemSignature>',
    );
    writeFileSync(path.join(dir, 'template.xml'), template);
    const certs = path.join(projectRoot, 'certs-sample');
    execFileSync('xmlsec1', ['--sign', '--privkey-pem', `${certs}/portal.key.pem,${certs}/portal.crt.pem`, '--id-attr:Id', 'urn://x-artefacts-smev-gov-ru/services/message-exchange/types/1.1:SenderProvidedRequestData', '--output', path.join(dir, 'signed.xml'), path.join(dir, 'template.xml')]);
    const res = await postSoap(gw.url, readFileSync(path.join(dir, 'signed.xml')));
    expect(res.status, res.body).toBe(200);
    expectSignedReply(res.body);
  });

  it('accepts ECDSA P-256 signatures from a partner whose certificate is registered', async () => {
    // A registry with an extra ECDSA partner is a configuration change, not code: see the partner tests.
    const dir = mkdtempSync(path.join(tmpdir(), 'okno-ec-'));
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(path.join(dir, 'k.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    execFileSync('openssl', ['req', '-new', '-key', path.join(dir, 'k.pem'), '-subj', '/CN=ec-portal', '-out', path.join(dir, 'r.csr')]);
    execFileSync('openssl', ['x509', '-req', '-in', path.join(dir, 'r.csr'), '-CA', path.join(projectRoot, 'certs-sample/ca.crt.pem'), '-CAkey', path.join(projectRoot, 'certs-sample/ca.key.pem'), '-days', '30', '-out', path.join(dir, 'c.pem')], { stdio: 'ignore' });
    const partners = JSON.parse(readFileSync(path.join(projectRoot, 'config/partners.json'), 'utf8')) as { partners: Array<{ id: string; certificates: string[] }> };
    for (const p of partners.partners) p.certificates = p.certificates.map((c) => path.resolve(projectRoot, 'config', c));
    partners.partners[0]!.certificates.push(path.join(dir, 'c.pem'));
    writeFileSync(path.join(dir, 'partners.json'), JSON.stringify(partners));
    const ec = await startGateway({ PARTNERS_FILE: path.join(dir, 'partners.json') });
    try {
      const signer = new LocalKeySigner(createPrivateKey(readFileSync(path.join(dir, 'k.pem'))), readFileSync(path.join(dir, 'c.pem'), 'utf8'));
      const { xml } = await signedSendRequest({ catalogue: ec.gateway.catalogue, service: 'advertising-permit', signer });
      const res = await postSoap(ec.url, xml);
      expect(res.status, res.body).toBe(200);
    } finally {
      await ec.close();
    }
  });

  it('stores attachments by content hash and serves them; a missing attachment body is InvalidContent', async () => {
    const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.from('проект перепланировки', 'utf8'), Buffer.from([0, 1, 2, 255])]);
    const before = await inbox(gw.url);
    const { xml } = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'dwelling-replanning', attachments: [{ contentId: 'project-1', mimeType: 'application/pdf', content: pdf }] });
    const res = await postSoap(gw.url, xml);
    expect(res.status, res.body).toBe(200);
    const [item] = (await inbox(gw.url, before.next)).items;
    const sha256 = (await import('node:crypto')).createHash('sha256').update(pdf).digest('hex');
    expect(item!.attachments).toEqual([{ id: `sha256-${sha256}`, contentId: 'project-1', mimeType: 'application/pdf', size: pdf.length, sha256, pkcs7Signature: 'absent' }]);
    const file = await fetch(`${gw.url}/api/v1/attachments/sha256-${sha256}`, { headers: CITY });
    expect(file.headers.get('content-type')).toBe('application/pdf');
    expect(Buffer.from(await file.arrayBuffer()).equals(pdf)).toBe(true);

    const broken = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'dwelling-replanning', attachments: [{ contentId: 'project-2', mimeType: 'application/pdf', content: pdf }] });
    const withoutBody = broken.xml.replace(/<b:AttachmentContentList>[\s\S]*<\/b:AttachmentContentList>/, '');
    const refused = await postSoap(gw.url, withoutBody);
    expect(refused.status).toBe(500);
    expect(faultOf(refused.body)).toMatchObject({ fault: 'InvalidContent' });
    expect(faultOf(refused.body).faultstring).toMatch(/attachment project-2: no AttachmentContent/);
  });

  it('keeps personal data out of the logs', async () => {
    const example = serviceExamples('dwelling-replanning')[0]!;
    const { xml } = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'dwelling-replanning', content: example });
    expect((await postSoap(gw.url, xml)).status).toBe(200);
    const logs = JSON.stringify(gw.logs);
    const secrets = JSON.stringify(example).match(/\d{3}-\d{3}-\d{3} \d{2}|"lastName":"[^"]+"/g) ?? [];
    expect(secrets.length).toBeGreaterThan(0);
    for (const s of secrets) expect(logs).not.toContain(s.replace(/"lastName":/, ''));
  });
});

describe('POST /ws/smev3 while Redis is down', () => {
  let redis: RedisTestServer;
  let gw: RunningGateway;
  beforeAll(async () => {
    redis = await startRedisServer({ appendonly: true });
    gw = await startGateway({ REDIS_URL: redis.url });
  });
  afterAll(async () => {
    await gw?.close();
    await redis?.stop();
  });

  it('answers SMEVFailure (never a success it cannot keep), then accepts again when Redis is back', async () => {
    const { xml } = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'advertising-permit' });
    await redis.stop();
    const down = await postSoap(gw.url, xml);
    expect(down.status).toBe(500);
    expect(faultOf(down.body)).toMatchObject({ fault: 'SMEVFailure' });
    expect(down.body).toContain('<faultcode>soap:Server</faultcode>');
    await redis.restart();
    let up = await postSoap(gw.url, xml);
    for (let i = 0; i < 50 && up.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      up = await postSoap(gw.url, xml);
    }
    expect(up.status, up.body).toBe(200);
    const items = (await inbox(gw.url)).items;
    expect(items).toHaveLength(1);
  });
});
