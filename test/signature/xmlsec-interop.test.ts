/**
 * xmlsec1 (libxmlsec1 over OpenSSL) as the independent judge of Okno's XMLDSig:
 * what Okno signs, xmlsec1 verifies; what xmlsec1 signs, Okno verifies; and
 * either one rejects what was changed after signing.
 *
 * Only the `xmldsig` profile (exc-c14n) is checked here: the `smev` profile
 * adds the SMEV transform (urn://smev-gov-ru/xmldsig/transform), which xmlsec1
 * does not implement, so xmlsec1 cannot judge it (test/xml/smev-transform.test.ts
 * and the official samples cover that transform instead).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DSIG_NS, ENVELOPED_SIGNATURE } from '../../src/signature/dsig.js';
import { signDocument } from '../../src/signature/sign.js';
import { verifySmevEnvelope } from '../../src/signature/smev-profile.js';
import { verifySignature } from '../../src/signature/verify.js';
import { parseXml } from '../../src/xml/parser.js';
import { requireTool } from '../helpers/tools.js';
import {
  certPath,
  dsSignatures,
  issueFromSampleCa,
  keyPath,
  partnerOf,
  replaceOnce,
  sampleFiles,
  sampleTrust,
  signedSendRequest,
  signerFor,
  tempDir,
  TYPES_11,
  unsignedSendRequest,
  type KeyFiles,
  type Partner,
} from './fixtures.js';

const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const ECDSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256';
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
const TEST_NS = 'urn:okno:test';

/** xmlsec1 finds the Ids of these elements (it has no schema to tell it). */
const SPRD_ID_ATTR = ['--id-attr:Id', `${TYPES_11}:SenderProvidedRequestData`];
const DOC_ID_ATTR = ['--id-attr:Id', `${TEST_NS}:Doc`];

const trust = sampleTrust();
let dir: string;
let fileNo = 0;

function writeTemp(content: string, name = 'doc'): string {
  const file = join(dir, `${name}-${++fileNo}.xml`);
  writeFileSync(file, content);
  return file;
}

function xmlsec1(args: string[]): { status: number | null; output: string } {
  const result = spawnSync('xmlsec1', args, { encoding: 'utf8' });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

function xmlsecVerify(xml: string, idAttr: string[]): { status: number | null; output: string } {
  return xmlsec1(['--verify', '--trusted-pem', certPath('ca'), ...idAttr, writeTemp(xml, 'verify')]);
}

/** Signs a template with xmlsec1 and returns the signed document. */
function xmlsecSign(template: string, key: KeyFiles, idAttr: string[]): string {
  const out = join(dir, `signed-${++fileNo}.xml`);
  const result = xmlsec1(['--sign', '--privkey-pem', `${key.key},${key.cert}`, ...idAttr, '--output', out, writeTemp(template, 'template')]);
  expect(result.output).not.toMatch(/error/i);
  expect(result.status).toBe(0);
  return readFileSync(out, 'utf8');
}

/** A ds:Signature template for xmlsec1: empty DigestValue, SignatureValue and X509Certificate. */
function signatureTemplate(referenceId: string, signatureMethod: string, enveloped: boolean): string {
  return (
    `<ds:Signature xmlns:ds="${DSIG_NS}"><ds:SignedInfo>` +
    `<ds:CanonicalizationMethod Algorithm="${EXC_C14N}"/>` +
    `<ds:SignatureMethod Algorithm="${signatureMethod}"/>` +
    `<ds:Reference URI="#${referenceId}"><ds:Transforms>` +
    (enveloped ? `<ds:Transform Algorithm="${ENVELOPED_SIGNATURE}"/>` : '') +
    `<ds:Transform Algorithm="${EXC_C14N}"/></ds:Transforms>` +
    `<ds:DigestMethod Algorithm="${SHA256}"/><ds:DigestValue/></ds:Reference></ds:SignedInfo>` +
    '<ds:SignatureValue/><ds:KeyInfo><ds:X509Data><ds:X509Certificate/></ds:X509Data></ds:KeyInfo></ds:Signature>'
  );
}

/** The SendRequest sample with a signature template in CallerInformationSystemSignature. */
const sendRequestTemplate = (signatureMethod: string): string =>
  replaceOnce(unsignedSendRequest(), '<ns2:CallerInformationSystemSignature/>', `<ns2:CallerInformationSystemSignature>${signatureTemplate('SIGNED_BY_CONSUMER', signatureMethod, false)}</ns2:CallerInformationSystemSignature>`);

/** A custom document whose Id'd root holds the (enveloped) signature. */
const envelopedDocument = (signature: string): string =>
  `<t:Doc xmlns:t="${TEST_NS}" Id="DOC-1">\n  <t:Data kind="note" xml:lang="ru">Привет, &amp; мир &lt;3</t:Data>\n  <t:Empty/>\n${signature}</t:Doc>\n`;

/** One signed character changed (the MessageID of the SendRequest sample). */
const tamperMessageId = (xml: string): string => replaceOnce(xml, '<ns:MessageID>db0486d0', '<ns:MessageID>db0486d1');

beforeAll(() => {
  requireTool('xmlsec1', ['--version'], 'xmlsec1');
  requireTool('openssl', ['version'], 'openssl');
  dir = tempDir();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('Okno signs (xmldsig profile), xmlsec1 verifies', () => {
  it('RSA (portal key): xmlsec1 exits 0; after one changed character of signed content it does not', async () => {
    const signed = await signedSendRequest({ profile: 'xmldsig' });
    expect(signed).toContain(RSA_SHA256);
    expect(verifySmevEnvelope(parseXml(signed), { trust, partnerOf }).valid).toBe(true);

    const ok = xmlsecVerify(signed, SPRD_ID_ATTR);
    expect(ok.output).toMatch(/^OK$/m);
    expect(ok.status).toBe(0);

    const bad = xmlsecVerify(tamperMessageId(signed), SPRD_ID_ATTR);
    expect(bad.output).toMatch(/data and digest do not match/);
    expect(bad.status).not.toBe(0);
  });

  it('ECDSA P-256 (a key and certificate issued by the sample CA now): xmlsec1 exits 0; tampered, it does not', async () => {
    const ec = issueFromSampleCa(dir, { cn: 'ec-signer', keyType: 'ec' });
    const signed = await signedSendRequest({ profile: 'xmldsig', identity: ec });
    expect(signed).toContain(ECDSA_SHA256);
    const own = verifySmevEnvelope(parseXml(signed), { trust });
    expect(own.caller.message).toMatch(/^valid/);

    const ok = xmlsecVerify(signed, SPRD_ID_ATTR);
    expect(ok.output).toMatch(/^OK$/m);
    expect(ok.status).toBe(0);

    expect(xmlsecVerify(tamperMessageId(signed), SPRD_ID_ATTR).status).not.toBe(0);
  });

  it('an enveloped signature (custom document, Id on the root): xmlsec1 exits 0; tampered, it does not', async () => {
    const signed = await signDocument(envelopedDocument(''), { signer: signerFor('portal'), profile: 'xmldsig' });
    expect(signed).toContain(ENVELOPED_SIGNATURE);
    const doc = parseXml(signed);
    const [signature] = dsSignatures(doc.root);
    expect(signature?.parent).toBe(doc.root);
    expect(verifySignature(doc, signature!, doc.root, { trust, partnerOf }).valid).toBe(true);

    const ok = xmlsecVerify(signed, DOC_ID_ATTR);
    expect(ok.output).toMatch(/^OK$/m);
    expect(ok.status).toBe(0);

    expect(xmlsecVerify(replaceOnce(signed, 'Привет', 'Привeт'), DOC_ID_ATTR).status).not.toBe(0);
  });
});

describe('xmlsec1 signs, Okno verifies', () => {
  let sendRequest: string;
  beforeAll(() => {
    sendRequest = xmlsecSign(sendRequestTemplate(RSA_SHA256), sampleFiles('portal'), SPRD_ID_ATTR);
  });

  it('a SendRequest signed by xmlsec1 with the portal key: verifySmevEnvelope says valid, partner portal', () => {
    // xmlsec1 filled in the template (and agrees with itself)
    expect(sendRequest).not.toMatch(/<ds:DigestValue\/>|<ds:SignatureValue\/>|<ds:X509Certificate\/>/);
    expect(xmlsecVerify(sendRequest, SPRD_ID_ATTR).status).toBe(0);

    const result = verifySmevEnvelope(parseXml(sendRequest), { trust, partnerOf, now: new Date() });
    expect(result.caller.message).toMatch(/^valid: signed by ".*CN=portal"$/);
    expect(result.valid).toBe(true);
    expect(result.caller.partner).toBe<Partner>('portal');
    expect(result.caller.signedElement).toBe(result.parts!.signed);
    expect(result.caller.details.transforms).toEqual([EXC_C14N]);
  });

  it('the xmlsec1-signed SendRequest with one changed character → Okno says SignatureIsInvalid', () => {
    expect(verifySmevEnvelope(parseXml(sendRequest), { trust, partnerOf }).valid).toBe(true);
    const result = verifySmevEnvelope(parseXml(tamperMessageId(sendRequest)), { trust, partnerOf });
    expect(result.caller.reason).toBe('SignatureIsInvalid');
    expect(result.caller.message).toMatch(/does not match ds:DigestValue/);
    expect(result.caller.signedElement).toBeNull();
    expect(result.valid).toBe(false);
  });

  it('the xmlsec1-signed SendRequest with ds:SignedInfo changed → Okno says SignatureIsInvalid', () => {
    const tampered = replaceOnce(sendRequest, 'URI="#SIGNED_BY_CONSUMER"><ds:Transforms>', 'URI="#SIGNED_BY_CONSUMER" ><ds:Transforms>');
    // insignificant whitespace in a start tag: canonically the same, still valid
    expect(verifySmevEnvelope(parseXml(tampered), { trust, partnerOf }).valid).toBe(true);
    // an attribute added to ds:SignedInfo: the digest still matches, the signature value does not
    const result = verifySmevEnvelope(parseXml(replaceOnce(sendRequest, '<ds:SignedInfo>', '<ds:SignedInfo Id="x">')), { trust, partnerOf });
    expect(result.caller.reason).toBe('SignatureIsInvalid');
    expect(result.caller.message).toMatch(/ds:SignatureValue does not verify over ds:SignedInfo/);
    expect(result.caller.signedElement).toBeNull();
  });

  it('an ECDSA P-256 SendRequest signed by xmlsec1 → Okno says valid (trusted, unregistered without a registry)', () => {
    const ec = issueFromSampleCa(dir, { cn: 'ec-xmlsec', keyType: 'ec' });
    const signed = xmlsecSign(sendRequestTemplate(ECDSA_SHA256), ec, SPRD_ID_ATTR);
    const result = verifySmevEnvelope(parseXml(signed), { trust });
    expect(result.caller.message).toMatch(/^valid: signed by ".*CN=ec-xmlsec/);
    expect(result.valid).toBe(true);
    expect(result.caller.details.signatureAlgorithm).toBe(ECDSA_SHA256);
    // with the partner registry it is trusted but not registered
    expect(verifySmevEnvelope(parseXml(signed), { trust, partnerOf }).caller.reason).toBe('CertificateIsNotFound');
    expect(verifySmevEnvelope(parseXml(tamperMessageId(signed)), { trust }).caller.reason).toBe('SignatureIsInvalid');
  });

  it('an enveloped signature made by xmlsec1 inside the signed element → verifySignature(doc, sig, doc.root) says valid', () => {
    const signed = xmlsecSign(envelopedDocument(signatureTemplate('DOC-1', RSA_SHA256, true)), sampleFiles('portal'), DOC_ID_ATTR);
    const doc = parseXml(signed);
    const [signature] = dsSignatures(doc.root);
    expect(signature?.parent).toBe(doc.root);
    const verdict = verifySignature(doc, signature!, doc.root, { trust, partnerOf });
    expect(verdict.message).toMatch(/^valid/);
    expect(verdict.valid).toBe(true);
    expect(verdict.partner).toBe('portal');
    expect(verdict.signedElement).toBe(doc.root);
    expect(verdict.details.transforms).toEqual([ENVELOPED_SIGNATURE, EXC_C14N]);

    const tampered = parseXml(replaceOnce(signed, 'kind="note"', 'kind="nope"'));
    const bad = verifySignature(tampered, dsSignatures(tampered.root)[0]!, tampered.root, { trust, partnerOf });
    expect(bad.reason).toBe('SignatureIsInvalid');
    expect(bad.message).toMatch(/does not match ds:DigestValue/);
    expect(bad.signedElement).toBeNull();
  });

  it('xmlsec1 signing with the untrusted key → Okno says CertificateIsNotFound (mathematics valid)', () => {
    const signed = xmlsecSign(sendRequestTemplate(RSA_SHA256), { key: keyPath('untrusted'), cert: certPath('untrusted') }, SPRD_ID_ATTR);
    const verdict = verifySmevEnvelope(parseXml(signed), { trust, partnerOf }).caller;
    expect(verdict.math).toBe('valid');
    expect(verdict.reason).toBe('CertificateIsNotFound');
    expect(verdict.message).toMatch(/self-signed/);
    expect(verdict.signedElement).toBeNull();
  });
});
