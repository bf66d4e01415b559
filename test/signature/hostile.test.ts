/**
 * Hostile envelopes against the SMEV signature profile. Every case starts from
 * an envelope the suite has first checked is valid, applies one mutation (which
 * must really change the text: replaceOnce throws otherwise), and asserts the
 * exact SMEV fault reason, the reason's message, and that no signed element is
 * handed back.
 */
import { readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCertificate } from '../../src/pki/certificate.js';
import { locateSmevParts, verifySmevEnvelope, type SmevVerification } from '../../src/signature/smev-profile.js';
import type { SignatureFaultReason } from '../../src/signature/dsig.js';
import { referenceDigest } from '../../src/signature/reference-digest.js';
import type { SignatureProfile } from '../../src/signature/sign.js';
import { readSignature } from '../../src/signature/structure.js';
import { TrustAnchorSet } from '../../src/pki/trust.js';
import { verifySignature, type Verdict } from '../../src/signature/verify.js';
import { parseXml, XmlError } from '../../src/xml/parser.js';
import { WSU_NS } from '../../src/xml/types.js';
import { requireTool } from '../helpers/tools.js';
import {
  elementText,
  issueFromSampleCa,
  partnerOf,
  readSample,
  replaceOnce,
  sampleCert,
  sampleFiles,
  sampleTrust,
  signedSendRequest,
  SIGNED_ID,
  tempDir,
  type Partner,
} from './fixtures.js';

const trust = sampleTrust();

function check(xml: string, now = new Date()): SmevVerification<Partner> {
  return verifySmevEnvelope<Partner>(parseXml(xml), { trust, partnerOf, now });
}

/** Asserts a rejection: the exact reason, a message saying why, and no signed element. */
function expectRejected(verdict: Verdict<Partner>, reason: SignatureFaultReason, message: RegExp): void {
  expect({ valid: verdict.valid, reason: verdict.reason, signedElement: verdict.signedElement }).toEqual({ valid: false, reason, signedElement: null });
  expect(verdict.message).toMatch(message);
  expect(verdict.partner).toBeNull();
}

const SPRD_OPEN = '<ns:SenderProvidedRequestData ';
const SPRD = 'ns:SenderProvidedRequestData';
const CIS = /<ns2:CallerInformationSystemSignature>[\s\S]*<\/ns2:CallerInformationSystemSignature>/;
const EVIL = 'urn:okno:evil';

/** The signed SenderProvidedRequestData of `xml`, as text. */
const sprdOf = (xml: string): string => elementText(xml, SPRD_OPEN, SPRD);
/** The attacker's version of it: same Id, another MessageID. */
const forged = (sprd: string): string => replaceOnce(sprd, /<ns:MessageID>[^<]*<\/ns:MessageID>/, '<ns:MessageID>ffffffff-ffff-ffff-ffff-ffffffffffff</ns:MessageID>');
const withHeader = (xml: string, content: string): string => replaceOnce(xml, '<S:Body>', `<S:Header>${content}</S:Header><S:Body>`);
const digestValueOf = (xml: string): string => /<ds:DigestValue>([^<]*)<\/ds:DigestValue>/.exec(xml)![1]!;
const signatureValueOf = (xml: string): string => /<ds:SignatureValue>([^<]*)<\/ds:SignatureValue>/.exec(xml)![1]!;

const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
const XPATH = 'http://www.w3.org/TR/1999/REC-xpath-19991116';
const XSLT = 'http://www.w3.org/TR/1999/REC-xslt-19991116';
const XPATH_FILTER2 = 'http://www.w3.org/2002/06/xmldsig-filter2';

type Mutation = [name: string, mutate: (xml: string) => string, reason: SignatureFaultReason, message: RegExp];

/** Test titles that say the expected reason. */
const named = (table: Mutation[]): Mutation[] => table.map(([name, ...rest]) => [`${name} → ${rest[1]}`, ...rest]);

const wrapping: Mutation[] = [
  [
    'signed data moved into soap:Header, forged data with the same Id in its place',
    (xml) => withHeader(replaceOnce(xml, sprdOf(xml), forged(sprdOf(xml))), sprdOf(xml)),
    'IncorrectSignatureTarget',
    /the Id "SIGNED_BY_CONSUMER" occurs 2 times/,
  ],
  [
    'signed data moved into a wrapper element after the operation data, forged data with the same Id in its place',
    (xml) => replaceOnce(xml, sprdOf(xml), `${forged(sprdOf(xml))}<x:Wrapper xmlns:x="${EVIL}">${sprdOf(xml)}</x:Wrapper>`),
    'IncorrectSignatureTarget',
    /occurs 2 times/,
  ],
  [
    'signed data hidden inside the forged data, which has the same Id',
    (xml) => replaceOnce(xml, sprdOf(xml), replaceOnce(forged(sprdOf(xml)), '<ns:TestMessage/>', `<x:Hidden xmlns:x="${EVIL}">${sprdOf(xml)}</x:Hidden><ns:TestMessage/>`)),
    'IncorrectSignatureTarget',
    /occurs 2 times/,
  ],
  [
    'forged data with a different Id in the expected position, the signed data in soap:Header',
    (xml) => withHeader(replaceOnce(xml, sprdOf(xml), forged(sprdOf(xml)).replace(`Id="${SIGNED_ID}"`, 'Id="FORGED"')), sprdOf(xml)),
    'IncorrectSignatureTarget',
    /covers <ns:SenderProvidedRequestData Id="SIGNED_BY_CONSUMER">, but it must cover <ns:SenderProvidedRequestData>/,
  ],
  [
    'forged data without an Id in the expected position, the signed data in a wrapper',
    (xml) => replaceOnce(xml, sprdOf(xml), `${forged(sprdOf(xml)).replace(` Id="${SIGNED_ID}"`, '')}<x:Wrapper xmlns:x="${EVIL}">${sprdOf(xml)}</x:Wrapper>`),
    'IncorrectSignatureTarget',
    /but it must cover/,
  ],
  ...(['Id', 'ID', 'id'] as const).map(
    (attr): Mutation => [
      `a second element with ${attr}="SIGNED_BY_CONSUMER" in soap:Header`,
      (xml) => withHeader(xml, `<x:Extra xmlns:x="${EVIL}" ${attr}="${SIGNED_ID}"/>`),
      'IncorrectSignatureTarget',
      /the Id "SIGNED_BY_CONSUMER" occurs 2 times; the reference is ambiguous/,
    ],
  ),
  [
    'a second element with wsu:Id="SIGNED_BY_CONSUMER" in soap:Header',
    (xml) => withHeader(xml, `<x:Extra xmlns:x="${EVIL}" xmlns:wsu="${WSU_NS}" wsu:Id="${SIGNED_ID}"/>`),
    'IncorrectSignatureTarget',
    /occurs 2 times/,
  ],
  [
    'a second element with Id="SIGNED_BY_CONSUMER" inside the signature container',
    (xml) => replaceOnce(xml, '</ds:Signature>', `</ds:Signature><x:Extra xmlns:x="${EVIL}" id="${SIGNED_ID}"/>`),
    // the container then holds two elements: refused by position before any Id lookup
    'PoorSOAPEnvelopeFormat',
    /CallerInformationSystemSignature must hold exactly one ds:Signature/,
  ],
  [
    'a second SenderProvidedRequestData in the operation',
    (xml) => replaceOnce(xml, sprdOf(xml), `${sprdOf(xml)}${forged(sprdOf(xml)).replace(`Id="${SIGNED_ID}"`, 'Id="SECOND"')}`),
    'PoorSOAPEnvelopeFormat',
    /SendRequestRequest must hold exactly one SenderProvidedRequestData, found 2/,
  ],
  [
    'a second SenderProvidedRequestData, in the basic namespace (the default one in the operation)',
    (xml) => replaceOnce(xml, sprdOf(xml), `${sprdOf(xml)}<SenderProvidedRequestData Id="SECOND"><MessageID>ffffffff-ffff-ffff-ffff-ffffffffffff</MessageID></SenderProvidedRequestData>`),
    'PoorSOAPEnvelopeFormat',
    /exactly one SenderProvidedRequestData, found 2/,
  ],
  [
    'a second soap:Body',
    (xml) => replaceOnce(xml, '</S:Body>', `</S:Body><S:Body><ns:SendRequestRequest>${forged(sprdOf(xml))}</ns:SendRequestRequest></S:Body>`),
    'PoorSOAPEnvelopeFormat',
    /exactly one soap:Body/,
  ],
  [
    'a second CallerInformationSystemSignature',
    (xml) => replaceOnce(xml, '</ns2:CallerInformationSystemSignature>', '</ns2:CallerInformationSystemSignature><ns2:CallerInformationSystemSignature/>'),
    'PoorSOAPEnvelopeFormat',
    /holds 2 CallerInformationSystemSignature elements/,
  ],
  ...(['http://evil.example/x', '#xpointer(/)', `#xpointer(id('${SIGNED_ID}'))`, ''] as const).map(
    (uri): Mutation => [
      `Reference URI="${uri}"`,
      (xml) => replaceOnce(xml, `URI="#${SIGNED_ID}"`, `URI="${uri}"`),
      'IncorrectSignatureTarget',
      /is not a same-document reference by Id/,
    ],
  ),
  ['Reference without URI', (xml) => replaceOnce(xml, ` URI="#${SIGNED_ID}"`, ''), 'IncorrectSignatureTarget', /ds:Reference has no URI/],
  ['no CallerInformationSystemSignature', (xml) => replaceOnce(xml, CIS, ''), 'NoSignatureFound', /carries no CallerInformationSystemSignature/],
  ['an empty CallerInformationSystemSignature', (xml) => replaceOnce(xml, CIS, '<ns2:CallerInformationSystemSignature/>'), 'NoSignatureFound', /carries no CallerInformationSystemSignature/],
  [
    'a CallerInformationSystemSignature holding only whitespace and a comment',
    (xml) => replaceOnce(xml, CIS, '<ns2:CallerInformationSystemSignature>\n  <!-- signed, trust me -->\n</ns2:CallerInformationSystemSignature>'),
    'NoSignatureFound',
    /carries no CallerInformationSystemSignature/,
  ],
];

const tampering: Mutation[] = [
  [
    'one character of the MessageID changed',
    (xml) => replaceOnce(xml, '<ns:MessageID>db0486d0', '<ns:MessageID>db0486d1'),
    'SignatureIsInvalid',
    /the digest of <ns:SenderProvidedRequestData Id="SIGNED_BY_CONSUMER"> does not match ds:DigestValue/,
  ],
  ['one character of the business data changed', (xml) => replaceOnce(xml, 'Загурский', 'Загурсков'), 'SignatureIsInvalid', /does not match ds:DigestValue/],
  ['an attribute added to the signed element', (xml) => replaceOnce(xml, `Id="${SIGNED_ID}"`, `Id="${SIGNED_ID}" x="1"`), 'SignatureIsInvalid', /does not match ds:DigestValue/],
  [
    'a comment inside ds:DigestValue',
    (xml) => replaceOnce(xml, digestValueOf(xml), `${digestValueOf(xml).slice(0, 8)}<!-- -->${digestValueOf(xml).slice(8)}`),
    'SignatureIsInvalid',
    /ds:DigestValue must hold only base64 text, found a comment/,
  ],
  [
    'a comment inside ds:SignatureValue',
    (xml) => replaceOnce(xml, signatureValueOf(xml), `${signatureValueOf(xml).slice(0, 8)}<!-- -->${signatureValueOf(xml).slice(8)}`),
    'SignatureIsInvalid',
    /ds:SignatureValue must hold only base64 text, found a comment/,
  ],
  [
    'a processing instruction inside ds:DigestValue',
    (xml) => replaceOnce(xml, digestValueOf(xml), `${digestValueOf(xml).slice(0, 8)}<?x y?>${digestValueOf(xml).slice(8)}`),
    'SignatureIsInvalid',
    /ds:DigestValue must hold only base64 text, found a pi/,
  ],
  ['non-base64 characters in ds:DigestValue', (xml) => replaceOnce(xml, digestValueOf(xml), `*${digestValueOf(xml).slice(1)}`), 'SignatureIsInvalid', /ds:DigestValue is not valid base64/],
  ['ds:DigestValue with bad padding', (xml) => replaceOnce(xml, digestValueOf(xml), digestValueOf(xml).replace(/=*$/, '===')), 'SignatureIsInvalid', /ds:DigestValue is not valid base64/],
  [
    'two ds:SignedInfo',
    (xml) => replaceOnce(xml, /<ds:SignedInfo>[\s\S]*<\/ds:SignedInfo>/, `${/<ds:SignedInfo>[\s\S]*<\/ds:SignedInfo>/.exec(xml)![0]}`.repeat(2)),
    'SignatureIsInvalid',
    /expected ds:SignatureValue in ds:Signature after ds:SignedInfo, found <ds:SignedInfo>/,
  ],
  [
    'two ds:Reference',
    (xml) => replaceOnce(xml, /<ds:Reference [\s\S]*<\/ds:Reference>/, /<ds:Reference [\s\S]*<\/ds:Reference>/.exec(xml)![0].repeat(2)),
    'SignatureIsInvalid',
    /ds:SignedInfo must hold exactly one ds:Reference, found 2/,
  ],
  [
    'a ds:Object after ds:KeyInfo',
    (xml) => replaceOnce(xml, '</ds:KeyInfo>', `</ds:KeyInfo><ds:Object>${sprdOf(xml)}</ds:Object>`),
    'SignatureIsInvalid',
    /may hold only SignedInfo, SignatureValue and KeyInfo; found <ds:Object>/,
  ],
  [
    'a ds:Object before ds:KeyInfo',
    (xml) => replaceOnce(xml, '<ds:KeyInfo>', '<ds:Object Id="o"></ds:Object><ds:KeyInfo>'),
    'SignatureIsInvalid',
    /may hold only SignedInfo, SignatureValue and KeyInfo; found <ds:Object>/,
  ],
  [
    'an XPath transform (with its ds:XPath expression)',
    (xml) => replaceOnce(xml, '<ds:Transforms>', `<ds:Transforms><ds:Transform Algorithm="${XPATH}"><ds:XPath>not(ancestor-or-self::ns:MessageID)</ds:XPath></ds:Transform>`),
    'SignatureIsInvalid',
    /unexpected parameters in ds:Transform/,
  ],
  [
    'an XPath transform (no parameters)',
    (xml) => replaceOnce(xml, '<ds:Transforms>', `<ds:Transforms><ds:Transform Algorithm="${XPATH}"></ds:Transform>`),
    'SignatureIsInvalid',
    /transform http:\/\/www\.w3\.org\/TR\/1999\/REC-xpath-19991116 is not allowed/,
  ],
  [
    'an XPath Filter 2.0 transform',
    (xml) => replaceOnce(xml, '<ds:Transforms>', `<ds:Transforms><ds:Transform Algorithm="${XPATH_FILTER2}"></ds:Transform>`),
    'SignatureIsInvalid',
    /xmldsig-filter2 is not allowed/,
  ],
  [
    'an XSLT transform (with its stylesheet)',
    (xml) =>
      replaceOnce(
        xml,
        '<ds:Transforms>',
        `<ds:Transforms><ds:Transform Algorithm="${XSLT}"><xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform" version="1.0"><xsl:template match="/"/></xsl:stylesheet></ds:Transform>`,
      ),
    'SignatureIsInvalid',
    /unexpected parameters in ds:Transform/,
  ],
  [
    'an XSLT transform (no parameters), last in the chain',
    (xml) => replaceOnce(xml, '</ds:Transforms>', `<ds:Transform Algorithm="${XSLT}"></ds:Transform></ds:Transforms>`),
    'SignatureIsInvalid',
    /(REC-xslt-19991116 is not allowed|no transform may follow the SMEV transform)/,
  ],
];

const downgrade: Mutation[] = [
  ...(
    [
      ['http://www.w3.org/2000/09/xmldsig#rsa-sha1', /SHA-1 is broken/],
      ['http://www.w3.org/2000/09/xmldsig#hmac-sha1', /HMAC/],
      ['http://www.w3.org/2001/04/xmldsig-more#hmac-sha256', /HMAC/],
      ['http://www.w3.org/2001/04/xmldsig-more#rsa-md5', /MD5 is broken/],
    ] as const
  ).map(
    ([uri, why]): Mutation => [
      `SignatureMethod ${uri}`,
      (xml) => replaceOnce(xml, `<ds:SignatureMethod Algorithm="${RSA_SHA256}">`, `<ds:SignatureMethod Algorithm="${uri}">`),
      'SignatureIsInvalid',
      new RegExp(`signature algorithm ${uri.replace(/[.#/]/g, '\\$&')}: ${why.source}`),
    ],
  ),
  [
    'SignatureMethod hmac-sha1 with HMACOutputLength 0 (CVE-2009-0217)',
    (xml) => replaceOnce(xml, `<ds:SignatureMethod Algorithm="${RSA_SHA256}"></ds:SignatureMethod>`, '<ds:SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#hmac-sha1"><ds:HMACOutputLength>0</ds:HMACOutputLength></ds:SignatureMethod>'),
    'SignatureIsInvalid',
    /ds:SignatureMethod must be empty/,
  ],
  [
    'SignatureMethod an unknown URI',
    (xml) => replaceOnce(xml, `<ds:SignatureMethod Algorithm="${RSA_SHA256}">`, '<ds:SignatureMethod Algorithm="urn:okno:evil:none">'),
    'SignatureIsInvalid',
    /urn:okno:evil:none: not allowed/,
  ],
  [
    'DigestMethod sha1',
    (xml) => replaceOnce(xml, `<ds:DigestMethod Algorithm="${SHA256}">`, '<ds:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1">'),
    'SignatureIsInvalid',
    /digest algorithm http:\/\/www\.w3\.org\/2000\/09\/xmldsig#sha1: SHA-1 is broken/,
  ],
  [
    'DigestMethod md5',
    (xml) => replaceOnce(xml, `<ds:DigestMethod Algorithm="${SHA256}">`, '<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#md5">'),
    'SignatureIsInvalid',
    /MD5 is broken/,
  ],
];

const keyInfo: Mutation[] = [
  [
    "ds:KeyInfo certificate swapped for the agency's after signing with the portal key",
    (xml) => replaceOnce(xml, /<ds:X509Certificate>[^<]*<\/ds:X509Certificate>/, `<ds:X509Certificate>${sampleCert('agency').der.toString('base64')}</ds:X509Certificate>`),
    'SignatureIsInvalid',
    /ds:SignatureValue does not verify over ds:SignedInfo with the certificate's key/,
  ],
  ['ds:KeyInfo removed', (xml) => replaceOnce(xml, /<ds:KeyInfo>[\s\S]*<\/ds:KeyInfo>/, ''), 'CertificateIsNotFound', /no certificate in ds:KeyInfo/],
  [
    'ds:KeyInfo with a KeyName instead of the certificate',
    (xml) => replaceOnce(xml, /<ds:X509Data>[\s\S]*<\/ds:X509Data>/, '<ds:KeyName>portal</ds:KeyName>'),
    'CertificateIsNotFound',
    /ds:KeyInfo must hold exactly one ds:X509Data/,
  ],
  [
    'ds:X509Certificate that is not a certificate',
    (xml) => replaceOnce(xml, /<ds:X509Certificate>[^<]*<\/ds:X509Certificate>/, `<ds:X509Certificate>${Buffer.from('not a certificate at all').toString('base64')}</ds:X509Certificate>`),
    'CertificateIsNotFound',
    /the ds:X509Certificate cannot be read/,
  ],
];

describe.each(['smev', 'xmldsig'] as const)('hostile envelopes (%s profile, portal key)', (profile: SignatureProfile) => {
  let signed: string;

  beforeAll(async () => {
    signed = await signedSendRequest({ profile });
  });

  it('the unmutated envelope is valid (so every case below can fail)', () => {
    const result = check(signed);
    expect(result.caller.message).toMatch(/^valid: signed by ".*CN=portal"$/);
    expect(result.valid).toBe(true);
    expect(result.caller.partner).toBe('portal');
    expect(result.caller.signedElement).toBe(result.parts!.signed);
    expect(result.personal).toBeNull();
  });

  /** The mutated envelope: the mutation must change it, and its original must be valid. */
  function mutated(mutate: (xml: string) => string): string {
    expect(check(signed).valid).toBe(true);
    const out = mutate(signed);
    expect(out).not.toBe(signed);
    return out;
  }

  describe('wrapping and target confusion', () => {
    it.each(named(wrapping))('%s', (_name, mutate, reason, message) => {
      const result = check(mutated(mutate));
      expectRejected(result.caller, reason, message);
      expect(result.valid).toBe(false);
    });
  });

  describe('tampering', () => {
    it.each(named(tampering))('%s', (_name, mutate, reason, message) => {
      expectRejected(check(mutated(mutate)).caller, reason, message);
    });

    it('content changed and ds:DigestValue replaced by its digest → SignatureIsInvalid (SignatureValue)', () => {
      const changed = mutated((xml) => replaceOnce(xml, '<ns:MessageID>db0486d0', '<ns:MessageID>db0486d1'));
      // the digest of the changed content, computed exactly as the verifier does
      const doc = parseXml(changed);
      const parts = locateSmevParts(doc);
      const sig = readSignature(parts.callerSignature);
      const digest = referenceDigest(parts.signed, sig.reference.transforms, parts.callerSignature, sig.reference.digestAlgorithm).toString('base64');
      expect(digest).not.toBe(digestValueOf(changed));
      const forgedDigest = replaceOnce(changed, digestValueOf(changed), digest);
      const verdict = check(forgedDigest).caller;
      expectRejected(verdict, 'SignatureIsInvalid', /ds:SignatureValue does not verify over ds:SignedInfo/);
      expect(verdict.math).toBe('invalid');
    });

    it('ds:SignedInfo changed (CanonicalizationMethod switched to c14n 1.0) → SignatureIsInvalid (SignatureValue)', () => {
      const xml = mutated((s) => replaceOnce(s, '<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#">', '<ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315">'));
      expectRejected(check(xml).caller, 'SignatureIsInvalid', /ds:SignatureValue does not verify/);
    });
  });

  describe('algorithm downgrade', () => {
    it.each(named(downgrade))('%s', (_name, mutate, reason, message) => {
      const verdict = check(mutated(mutate)).caller;
      expectRejected(verdict, reason, message);
      expect(verdict.math).toBe('not checked');
    });
  });

  describe('KeyInfo', () => {
    it.each(named(keyInfo))('%s', (_name, mutate, reason, message) => {
      expectRejected(check(mutated(mutate)).caller, reason, message);
    });
  });
});

describe('certificates (smev profile)', () => {
  let dir: string;
  beforeAll(() => {
    requireTool('openssl', ['version'], 'openssl'); // issues certificates from the sample CA
    dir = tempDir();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('signed with the untrusted (self-signed) key → CertificateIsNotFound', async () => {
    const verdict = check(await signedSendRequest({ identity: 'untrusted' })).caller;
    expectRejected(verdict, 'CertificateIsNotFound', /is self-signed and not a trusted CA/);
    expect(verdict.math).toBe('valid');
  });

  it('signed with the expired key → CertificateIsExpired', async () => {
    const verdict = check(await signedSendRequest({ identity: 'expired' })).caller;
    expectRejected(verdict, 'CertificateIsExpired', /CN=expired" expired on 2021-01-01/);
    expect(verdict.math).toBe('valid');
    // the same envelope in 2020 would have passed the validity check: only time makes it fail
    expect(check(await signedSendRequest({ identity: 'expired' }), new Date('2020-06-01T00:00:00Z')).caller.message).not.toMatch(/expired/);
  });

  it('verified at a time before the CA (and the certificate) was valid → CertificateIsExpired', async () => {
    const signed = await signedSendRequest();
    expect(check(signed).valid).toBe(true);
    const before = new Date(sampleCert('ca').notBefore.getTime() - 24 * 3600_000);
    const verdict = check(signed, before).caller;
    expectRejected(verdict, 'CertificateIsExpired', /is not valid before/);
    expect(verdict.math).toBe('valid');
  });

  it('a certificate from the trusted CA that no partner registered → CertificateIsNotFound', async () => {
    const stranger = issueFromSampleCa(dir, { cn: 'stranger' });
    const signed = await signedSendRequest({ identity: stranger });
    // it is trusted: the same envelope is valid when nobody asks for a partner
    const unregistered = verifySmevEnvelope(parseXml(signed), { trust, now: new Date() });
    expect(unregistered.valid).toBe(true);
    const verdict = check(signed).caller;
    expectRejected(verdict, 'CertificateIsNotFound', /"CN=stranger[^"]*" is trusted but registered to no partner/);
    expect(verdict.math).toBe('valid');
    expect(verdict.trust?.trusted).toBe(true);
  });

  it('a certificate issued by the portal (not a CA), with the portal certificate sent as intermediate → CertificateIsNotFound', async () => {
    const subordinate = issueFromSampleCa(dir, { cn: 'issued-by-portal', issuer: sampleFiles('portal') });
    const signed = await signedSendRequest({ identity: subordinate });
    // without the intermediate there is no chain at all
    expectRejected(check(signed).caller, 'CertificateIsNotFound', /is not issued by a trusted CA/);
    // KeyInfo is not signed: anyone can add the portal certificate to make a chain leaf → portal → CA
    const withChain = replaceOnce(signed, '</ds:X509Certificate>', `</ds:X509Certificate><ds:X509Certificate>${sampleCert('portal').der.toString('base64')}</ds:X509Certificate>`);
    const verdict = check(withChain).caller;
    expectRejected(verdict, 'CertificateIsNotFound', /CN=portal[^"]*" is not a CA and cannot issue certificates/);
    expect(verdict.math).toBe('valid');
  });

  it('a certificate from the trusted CA whose keyUsage is keyEncipherment only → CertificateIsNotFound', async () => {
    const encipherOnly = issueFromSampleCa(dir, { cn: 'encipher-only', keyUsage: 'critical,keyEncipherment' });
    expect(parseCertificate(readFileSync(encipherOnly.cert, 'utf8')).keyUsage).toEqual(new Set(['keyEncipherment']));
    const verdict = check(await signedSendRequest({ identity: encipherOnly })).caller;
    expectRejected(verdict, 'CertificateIsNotFound', /does not allow digital signatures \(keyUsage\)/);
    expect(verdict.math).toBe('valid');
  });
});

describe('parser-level attacks', () => {
  let signed: string;
  beforeAll(async () => {
    signed = await signedSendRequest();
  });

  function parseError(xml: string): XmlError {
    try {
      parseXml(xml);
    } catch (error) {
      if (error instanceof XmlError) return error;
      throw error;
    }
    throw new Error('parseXml accepted the document');
  }

  it('the envelope the attacks start from is valid', () => {
    expect(check(signed).valid).toBe(true);
  });

  it.each([
    ['a DOCTYPE', (xml: string) => `<!DOCTYPE S:Envelope>\n${xml}`],
    ['a DOCTYPE after the XML declaration', (xml: string) => `<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE S:Envelope [ ]>\n${xml}`],
    [
      'XXE (external entity file:///etc/passwd)',
      (xml: string) => `<!DOCTYPE S:Envelope [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n${replaceOnce(xml, '<ns:MessageID>db0486d0', '<ns:MessageID>&x;db0486d0')}`,
    ],
    [
      'billion laughs',
      (xml: string) =>
        '<!DOCTYPE S:Envelope [<!ENTITY lol "lol">' +
        Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`).join('') +
        ']>\n' +
        replaceOnce(xml, '<ns:MessageID>db0486d0', '<ns:MessageID>&lol9;db0486d0'),
    ],
  ])('%s → XmlError DTD_FORBIDDEN', (_name, mutate) => {
    const error = parseError(mutate(signed));
    expect(error.code).toBe('DTD_FORBIDDEN');
  });

  it('10,000-deep nesting inside MessagePrimaryContent → XmlError TOO_DEEP (no stack overflow)', () => {
    const deep = `${'<d>'.repeat(10_000)}${'</d>'.repeat(10_000)}`;
    const xml = replaceOnce(signed, '<ns2:MessagePrimaryContent>', `<ns2:MessagePrimaryContent>${deep}`);
    expect(parseError(xml).code).toBe('TOO_DEEP');
  });

  it('10,000-deep nesting with the depth limit raised: the verifier walks it without a stack overflow → SignatureIsInvalid', () => {
    const deep = `${'<d>'.repeat(10_000)}${'</d>'.repeat(10_000)}`;
    const xml = replaceOnce(signed, '<ns2:MessagePrimaryContent>', `<ns2:MessagePrimaryContent>${deep}`);
    const doc = parseXml(xml, { maxDepth: 20_000 });
    const verdict = verifySmevEnvelope<Partner>(doc, { trust, partnerOf, now: new Date() }).caller;
    expectRejected(verdict, 'SignatureIsInvalid', /does not match ds:DigestValue/);
  });

  it('a huge (≥ 5 MB) signed envelope verifies valid; one changed character in its last row does not', async () => {
    const rows = Array.from({ length: 50_000 }, (_, i) => `<b:Row n="${i}">Строка ${i}: Загурский Андрей Петрович, Т785ЕС57</b:Row>`).join('\n');
    const big = await signedSendRequest({ primaryContent: `<b:Rows xmlns:b="urn:okno:test:big">${rows}</b:Rows>` });
    expect(Buffer.byteLength(big, 'utf8')).toBeGreaterThanOrEqual(5 * 1024 * 1024);
    const result = check(big);
    expect(result.caller.message).toMatch(/^valid/);
    expect(result.valid).toBe(true);
    expect(result.caller.partner).toBe('portal');

    const last = big.lastIndexOf('Строка 49999');
    const tampered = `${big.slice(0, last)}Строкa${big.slice(last + 'Строка'.length)}`; // Cyrillic а → Latin a
    expectRejected(check(tampered).caller, 'SignatureIsInvalid', /does not match ds:DigestValue/);
  });
});

describe('PersonalSignature (official sample SendRequestRequestPersonalSignature.xml)', () => {
  const sample = readSample('SendRequestRequestPersonalSignature.xml');
  const JUNE_2014 = new Date('2014-06-15T12:00:00Z');

  it('both signatures are found and are mathematically valid, but self-signed, so untrusted → CertificateIsNotFound', () => {
    const result = check(sample, JUNE_2014);
    expect(result.parts?.personal).not.toBeNull();
    expect(result.caller.details.targetName).toBe('ns:SenderProvidedRequestData');
    expect(result.personal?.details.targetName).toBe('ns1:BreachRequest');
    for (const verdict of [result.caller, result.personal!]) {
      expect(verdict.math).toBe('valid');
      // In June 2014 both certificates were within their validity (2014-02 … 2015-02), so time is
      // not the problem: they are self-signed and not among the anchors. The chain is looked
      // for before validity is checked, so today the reason is the same.
      const cert = verdict.details.certificate!;
      expect(cert.notBefore <= JUNE_2014 && JUNE_2014 <= cert.notAfter).toBe(true);
      expectRejected(verdict, 'CertificateIsNotFound', /is self-signed and not a trusted CA/);
    }
    expect(result.valid).toBe(false);
    expect(check(sample).personal?.reason).toBe('CertificateIsNotFound');
  });

  it('with the sample certificates as anchors, both signatures are valid in June 2014 and expired today', () => {
    // The baseline for the mutation below: trust exactly these two self-signed certificates.
    const result = check(sample, JUNE_2014);
    const anchors = [result.caller.details.certificate!, result.personal!.details.certificate!];
    const options = { trust: new TrustAnchorSet(anchors), now: JUNE_2014 };
    const trusted = verifySmevEnvelope(parseXml(sample), options);
    expect(trusted.valid).toBe(true);
    expect(trusted.personal?.signedElement).toBe(trusted.parts!.personal!.target);
    const today = verifySmevEnvelope(parseXml(sample), { ...options, now: new Date() });
    expect(today.caller.reason).toBe('CertificateIsExpired');
    expect(today.personal?.reason).toBe('CertificateIsExpired');
  });

  const breach = (xml: string): string => elementText(xml, '<ns1:BreachRequest ', 'ns1:BreachRequest');
  const forgedBreach = (xml: string, id: string): string => replaceOnce(breach(xml), 'Т785ЕС57', 'А000АА77').replace('Id="PERSONAL_SIGNATURE"', `Id="${id}"`);

  it.each([
    ['the signed business element moved into soap:Header, a forged one with another Id in its place', 'FORGED', /covers <ns1:BreachRequest Id="PERSONAL_SIGNATURE">, but it must cover <ns1:BreachRequest>/],
    ['the signed business element moved into soap:Header, a forged one with the same Id in its place', 'PERSONAL_SIGNATURE', /the Id "PERSONAL_SIGNATURE" occurs 2 times/],
  ])('%s → IncorrectSignatureTarget', (_name, id, message) => {
    const xml = withHeader(replaceOnce(sample, breach(sample), forgedBreach(sample, id)), breach(sample));
    const result = check(xml, JUNE_2014);
    expect(result.personal).not.toBeNull();
    expectRejected(result.personal!, 'IncorrectSignatureTarget', message);
    // the caller's signature covered the original business data too
    expectRejected(result.caller, 'SignatureIsInvalid', /does not match ds:DigestValue/);
  });

  it('MessagePrimaryContent emptied (the business element moved into soap:Header) → IncorrectSignatureTarget', () => {
    const xml = withHeader(replaceOnce(sample, breach(sample), ''), breach(sample));
    const result = check(xml, JUNE_2014);
    expectRejected(result.caller, 'IncorrectSignatureTarget', /PersonalSignature needs exactly one business element/);
  });

  it('the PersonalSignature reference pointed at the SenderProvidedRequestData → IncorrectSignatureTarget', () => {
    const xml = replaceOnce(sample, 'URI="#PERSONAL_SIGNATURE"', 'URI="#SIGNED_BY_CONSUMER"');
    expectRejected(check(xml, JUNE_2014).personal!, 'IncorrectSignatureTarget', /must cover <ns1:BreachRequest>/);
  });
});

describe('lower level: verifySignature with an expected target', () => {
  it('a signature verified against an element other than the one it covers → IncorrectSignatureTarget', async () => {
    const doc = parseXml(await signedSendRequest());
    const parts = locateSmevParts(doc);
    expect(verifySignature(doc, parts.callerSignature, parts.signed, { trust, partnerOf }).valid).toBe(true);
    const verdict = verifySignature(doc, parts.callerSignature, parts.operation, { trust, partnerOf });
    expectRejected(verdict, 'IncorrectSignatureTarget', /must cover <ns2:SendRequestRequest>/);
  });
});
