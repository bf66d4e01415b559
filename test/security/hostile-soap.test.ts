/**
 * The hostile-input corpus through real HTTP against POST /ws/smev3, with a
 * real Redis: each case names the SMEV fault (and signature reason) or the
 * 4xx it must get. "Never a 5xx crash" means: every answer is a well-formed
 * SOAP fault of a known SMEV name, never SMEVFailure (reserved for the store
 * being down), never a stack trace, and afterwards nothing is stored as
 * accepted and the gateway still serves a valid request.
 *
 * Engine-level signature attacks (129 of them) are in
 * test/signature/hostile.test.ts; this corpus is the HTTP-level one.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceCatalogue } from '../../src/catalogue/types.js';
import { signDocument } from '../../src/signature/sign.js';
import { ackEnvelope, getStatusEnvelope, SIGNED_CALLER_ID, sendResponseEnvelope } from '../../src/soap/envelope-builder.js';
import { uuidV1 } from '../../src/soap/message-id.js';
import { SOAP11_NS } from '../../src/soap/namespaces.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { CITY, faultOf, postSoap, sampleSigner } from '../helpers/smev.js';
import { businessXml, sign, signedGetStatus, unsignedRequest, uuidV1At } from './envelopes.js';
import { expectWellFormedFault, KNOWN_FAULTS } from './expectations.js';

const MAX_BODY = 256 * 1024;
const HOUR = 3_600_000;

interface Case {
  name: string;
  body: (c: ServiceCatalogue) => Promise<string | Buffer> | string | Buffer;
  headers?: Record<string, string>;
  status?: number;
  fault: string;
  reason?: string;
  /** Part of the fault text that names what was wrong. */
  says?: RegExp;
}

const signed = async (c: ServiceCatalogue, edit: (xml: string) => string, o: Parameters<typeof unsignedRequest>[1] = {}) => sign(edit(unsignedRequest(c, o).xml));
const signedThen = async (c: ServiceCatalogue, edit: (xml: string) => string) => edit(await sign(unsignedRequest(c).xml));
const deep = (n: number, inner = 'x') => `${'<d>'.repeat(n)}${inner}${'</d>'.repeat(n)}`;
const ENV = (inner: string) => `<soap:Envelope xmlns:soap="${SOAP11_NS}"><soap:Body>${inner}</soap:Body></soap:Envelope>`;

const cases: Case[] = [
  // --- not XML, malformed XML
  { name: 'empty body', body: () => '', fault: 'InvalidContent', says: /no root element/ },
  { name: 'plain text', body: () => 'hello, gateway', fault: 'InvalidContent', says: /not acceptable XML/ },
  { name: 'random binary', body: () => Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7919 + 13) % 256)), fault: 'InvalidContent' },
  { name: 'truncated start tag', body: () => '<soap:Envelope', fault: 'InvalidContent' },
  { name: 'mismatched end tag', body: () => `<soap:Envelope xmlns:soap="${SOAP11_NS}"><soap:Body></soap:Envelope>`, fault: 'InvalidContent' },
  { name: 'two root elements', body: () => '<a/><b/>', fault: 'InvalidContent' },
  { name: 'undeclared namespace prefix', body: () => '<x:Envelope><x:Body/></x:Envelope>', fault: 'InvalidContent' },
  { name: 'undeclared entity reference', body: () => ENV('&foo;'), fault: 'InvalidContent' },
  { name: 'character reference to U+0000', body: () => ENV('<a>&#0;</a>'), fault: 'InvalidContent' },
  { name: 'raw control character', body: () => ENV('<a>\u0001</a>'), fault: 'InvalidContent' },
  { name: 'unescaped < in an attribute', body: () => ENV('<a b="<"/>'), fault: 'InvalidContent' },
  { name: 'duplicate attribute', body: () => ENV('<a b="1" b="2"/>'), fault: 'InvalidContent' },
  { name: 'signed envelope cut in half', body: async (c) => (await sign(unsignedRequest(c).xml)).slice(0, 1500), fault: 'InvalidContent' },
  { name: 'CDATA never closed', body: () => ENV('<a><![CDATA[x</a>'), fault: 'InvalidContent' },
  { name: 'comment with --', body: () => ENV('<!-- a -- b -->'), fault: 'InvalidContent' },
  { name: 'XML declaration not at the start', body: () => ` <?xml version="1.0"?>${ENV('')}`, fault: 'InvalidContent' },

  // --- encodings
  { name: 'UTF-16LE with BOM', body: () => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(ENV('<a/>'), 'utf16le')]), fault: 'InvalidContent' },
  { name: 'declared windows-1251, cp1251 bytes', body: () => Buffer.concat([Buffer.from(`<?xml version="1.0" encoding="windows-1251"?><soap:Envelope xmlns:soap="${SOAP11_NS}"><soap:Body><a>`), Buffer.from([0xcf, 0xf0, 0xe8]), Buffer.from('</a></soap:Body></soap:Envelope>')]), fault: 'InvalidContent' },
  { name: 'declared UTF-8 but invalid UTF-8 bytes', body: () => Buffer.concat([Buffer.from(`<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="${SOAP11_NS}"><soap:Body><a>`), Buffer.from([0xff, 0xfe, 0xfd]), Buffer.from('</a></soap:Body></soap:Envelope>')]), fault: 'InvalidContent' },
  { name: 'overlong UTF-8 encoding of <', body: () => Buffer.concat([Buffer.from(`<soap:Envelope xmlns:soap="${SOAP11_NS}"><soap:Body>`), Buffer.from([0xc0, 0xbc]), Buffer.from('a/></soap:Body></soap:Envelope>')]), fault: 'InvalidContent' },
  { name: 'UTF-8 surrogate half (CESU)', body: () => Buffer.concat([Buffer.from(`<soap:Envelope xmlns:soap="${SOAP11_NS}"><soap:Body><a>`), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('</a></soap:Body></soap:Envelope>')]), fault: 'InvalidContent' },
  { name: 'declared ISO-8859-1 on a signed UTF-8 envelope', body: async (c) => `<?xml version="1.0" encoding="ISO-8859-1"?>${await sign(unsignedRequest(c).xml)}`, fault: 'InvalidContent' },
  { name: 'declared UTF-16 on UTF-8 bytes', body: () => `<?xml version="1.0" encoding="UTF-16"?>${ENV('<a/>')}`, fault: 'InvalidContent' },

  // --- DTDs, XXE, entity bombs
  { name: 'XXE: external entity to /etc/passwd', body: () => `<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>${ENV('<a>&x;</a>')}`, fault: 'InvalidContent', says: /DTD_FORBIDDEN/ },
  { name: 'XXE: external DTD over HTTP', body: () => `<!DOCTYPE soap:Envelope SYSTEM "http://127.0.0.1:1/evil.dtd">${ENV('')}`, fault: 'InvalidContent', says: /DTD_FORBIDDEN/ },
  { name: 'billion laughs', body: () => `<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "ha">${Array.from({ length: 9 }, (_, i) => `<!ENTITY ${String.fromCharCode(98 + i)} "${`&${String.fromCharCode(97 + i)};`.repeat(10)}">`).join('')}]>${ENV('<x>&j;</x>')}`, fault: 'InvalidContent', says: /DTD_FORBIDDEN/ },
  { name: 'parameter entity', body: () => `<!DOCTYPE a [<!ENTITY % p SYSTEM "http://127.0.0.1:1/p">%p;]>${ENV('')}`, fault: 'InvalidContent', says: /DTD_FORBIDDEN/ },
  { name: 'DOCTYPE inside a signed envelope', body: async (c) => `<!DOCTYPE soap:Envelope [<!ENTITY n "Ангарск">]>${await sign(unsignedRequest(c).xml)}`, fault: 'InvalidContent', says: /DTD_FORBIDDEN/ },
  { name: 'DOCTYPE after the root', body: () => `${ENV('')}<!DOCTYPE a>`, fault: 'InvalidContent' },

  // --- depth and breadth
  { name: '30 000-deep nesting', body: () => ENV(deep(30_000)), fault: 'InvalidContent', says: /TOO_DEEP/ },
  { name: '200-deep nesting inside the signed content', body: (c) => signed(c, (x) => x.replace('</b:MessagePrimaryContent>', `${deep(200)}</b:MessagePrimaryContent>`)), fault: 'InvalidContent', says: /TOO_DEEP/ },
  { name: '10 000 attributes on one element', body: () => ENV(`<a ${Array.from({ length: 10_000 }, (_, i) => `a${i}="1"`).join(' ')}/>`), fault: 'InvalidContent' },
  { name: '50 000 sibling elements', body: () => ENV(`<a>${'<b/>'.repeat(50_000)}</a>`), fault: 'SignatureVerificationFault', reason: 'PoorSOAPEnvelopeFormat' },
  { name: 'a 200 KB element name', body: () => ENV(`<${'n'.repeat(200_000)}/>`), fault: 'SignatureVerificationFault', reason: 'PoorSOAPEnvelopeFormat' },

  // --- size and transport
  { name: `body over MAX_BODY_BYTES (${MAX_BODY})`, body: () => ENV(`<a>${'x'.repeat(MAX_BODY)}</a>`), status: 413, fault: 'InvalidContent', says: /MAX_BODY_BYTES/ },
  { name: 'Content-Type application/json', body: () => '{"a":1}', headers: { 'content-type': 'application/json' }, status: 415, fault: 'InvalidContent' },
  { name: 'Content-Type application/soap+xml (SOAP 1.2)', body: () => ENV(''), headers: { 'content-type': 'application/soap+xml' }, status: 415, fault: 'InvalidContent', says: /SOAP 1\.2/ },
  { name: 'Content-Type text/plain', body: () => ENV(''), headers: { 'content-type': 'text/plain' }, status: 415, fault: 'InvalidContent' },
  { name: 'Content-Type multipart/related (MTOM)', body: () => ENV(''), headers: { 'content-type': 'multipart/related; boundary=x' }, status: 415, fault: 'InvalidContent' },
  { name: 'Content-Type application/x-www-form-urlencoded', body: () => 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, fault: 'InvalidContent' },
  { name: 'SOAPAction contradicting the body', body: (c) => sign(unsignedRequest(c).xml), headers: { soapaction: '"urn:GetStatus"' }, fault: 'SignatureVerificationFault', reason: 'PoorSOAPEnvelopeFormat' },

  // --- envelope shape
  { name: 'not a SOAP envelope', body: () => '<a/>', fault: 'SignatureVerificationFault', reason: 'PoorSOAPEnvelopeFormat' },
  { name: 'SOAP 1.2 envelope as text/xml', body: (c) => signedThen(c, (x) => x.replaceAll(SOAP11_NS, 'http://www.w3.org/2003/05/soap-envelope')), fault: 'SignatureVerificationFault', reason: 'PoorSOAPEnvelopeFormat' },
  { name: 'no soap:Body', body: () => `<soap:Envelope xmlns:soap="${SOAP11_NS}"><soap:Header/></soap:Envelope>`, fault: 'SignatureVerificationFault', reason: 'PoorSOAPEnvelopeFormat' },
  { name: 'two soap:Body', body: (c) => signedThen(c, (x) => x.replace('</soap:Body>', '</soap:Body><soap:Body/>')), fault: 'SignatureVerificationFault', reason: 'PoorSOAPEnvelopeFormat' },
  { name: 'two operations in the Body', body: (c) => signedThen(c, (x) => x.replace('</soap:Body>', `${getStatusEnvelope('1.1', new Date()).replace(/^.*<soap:Body>|<\/soap:Body>.*$/g, '')}</soap:Body>`)), fault: 'SignatureVerificationFault', reason: 'PoorSOAPEnvelopeFormat' },
  { name: 'text next to the operation', body: (c) => signedThen(c, (x) => x.replace('<soap:Body>', '<soap:Body>junk')), fault: 'SignatureVerificationFault', reason: 'PoorSOAPEnvelopeFormat' },
  { name: 'unknown operation element', body: () => ENV('<t:DoSomethingRequest xmlns:t="urn://x-artefacts-smev-gov-ru/services/message-exchange/types/1.1"/>'), fault: 'SignatureVerificationFault', reason: 'PoorSOAPEnvelopeFormat' },
  { name: 'message-exchange version 1.4 (unknown)', body: (c) => signedThen(c, (x) => x.replaceAll('/1.1"', '/1.4"')), fault: 'SignatureVerificationFault', reason: 'PoorSOAPEnvelopeFormat', says: /not a SMEV message-exchange request/ },
  { name: 'pull-mode GetRequest', body: () => ENV('<t:GetRequestRequest xmlns:t="urn://x-artefacts-smev-gov-ru/services/message-exchange/types/1.1"/>'), fault: 'SignatureVerificationFault', reason: 'PoorSOAPEnvelopeFormat' },

  // --- signatures and certificates
  { name: 'no CallerInformationSystemSignature', body: (c) => unsignedRequest(c).xml.replace('<t:CallerInformationSystemSignature></t:CallerInformationSystemSignature>', ''), fault: 'SignatureVerificationFault', reason: 'NoSignatureFound' },
  { name: 'empty CallerInformationSystemSignature', body: (c) => unsignedRequest(c).xml, fault: 'SignatureVerificationFault', reason: 'NoSignatureFound' },
  { name: 'content changed after signing', body: (c) => signedThen(c, (x) => x.replace('Иркутск', 'Ангарск')), fault: 'SignatureVerificationFault', reason: 'SignatureIsInvalid' },
  { name: 'SignatureValue truncated', body: (c) => signedThen(c, (x) => x.replace(/(<ds:SignatureValue>)([^<]{40})[^<]*/, '$1$2')), fault: 'SignatureVerificationFault', reason: 'SignatureIsInvalid' },
  { name: 'SignatureValue not base64', body: (c) => signedThen(c, (x) => x.replace(/(<ds:SignatureValue>)[^<]*/, '$1!!!not base64!!!')), fault: 'SignatureVerificationFault', reason: 'SignatureIsInvalid' },
  { name: 'X509Certificate garbage', body: (c) => signedThen(c, (x) => x.replace(/(<ds:X509Certificate>)[^<]*/, '$1AAAA')), fault: 'SignatureVerificationFault', reason: 'CertificateIsNotFound', says: /X509Certificate cannot be read/ },
  { name: 'no KeyInfo', body: (c) => signedThen(c, (x) => x.replace(/<ds:KeyInfo>[\s\S]*<\/ds:KeyInfo>/, '')), fault: 'SignatureVerificationFault', reason: 'CertificateIsNotFound', says: /no certificate in ds:KeyInfo/ },
  { name: 'SHA-1 digest algorithm named', body: (c) => signedThen(c, (x) => x.replace(/(<ds:DigestMethod Algorithm=")[^"]*/, '$1http://www.w3.org/2000/09/xmldsig#sha1')), fault: 'SignatureVerificationFault', reason: 'SignatureIsInvalid' },
  { name: 'Reference to another Id', body: (c) => signedThen(c, (x) => x.replace(/URI="#[^"]*"/, 'URI="#elsewhere"')), fault: 'SignatureVerificationFault', reason: 'IncorrectSignatureTarget', says: /no element has that Id/ },
  { name: 'untrusted (self-signed) certificate', body: (c) => sign(unsignedRequest(c).xml, sampleSigner('untrusted')), fault: 'SignatureVerificationFault', reason: 'CertificateIsNotFound' },
  { name: 'expired certificate', body: (c) => sign(unsignedRequest(c).xml, sampleSigner('expired')), fault: 'SignatureVerificationFault', reason: 'CertificateIsExpired' },
  { name: 'trusted certificate of no partner', body: (c) => sign(unsignedRequest(c).xml, sampleSigner('gateway')), fault: 'SenderIsNotRegistered' },
  { name: 'partner sending a service it is not granted', body: (c) => sign(unsignedRequest(c).xml, sampleSigner('agency')), fault: 'SenderIsNotRegistered' },

  // --- wrapping attacks
  {
    name: 'wrapping: signed data moved into soap:Header, forged data in the Body',
    body: async (c) => {
      const x = await sign(unsignedRequest(c).xml);
      const original = /<t:SenderProvidedRequestData[\s\S]*<\/t:SenderProvidedRequestData>/.exec(x)![0];
      const forged = original.replace('Иркутск', 'Ангарск');
      return x.replace('<soap:Body>', `<soap:Header><w:Wrapper xmlns:w="urn:w" xmlns:t="urn://x-artefacts-smev-gov-ru/services/message-exchange/types/1.1" xmlns:b="urn://x-artefacts-smev-gov-ru/services/message-exchange/types/basic/1.1">${original}</w:Wrapper></soap:Header><soap:Body>`).replace(original, forged).replace(`<w:Wrapper xmlns:w="urn:w" xmlns:t="urn://x-artefacts-smev-gov-ru/services/message-exchange/types/1.1" xmlns:b="urn://x-artefacts-smev-gov-ru/services/message-exchange/types/basic/1.1">${forged}`, `<w:Wrapper xmlns:w="urn:w" xmlns:t="urn://x-artefacts-smev-gov-ru/services/message-exchange/types/1.1" xmlns:b="urn://x-artefacts-smev-gov-ru/services/message-exchange/types/basic/1.1">${original}`);
    },
    fault: 'SignatureVerificationFault', reason: 'IncorrectSignatureTarget', says: /occurs 2 times/,
  },
  { name: 'wrapping: a second element with the signed Id', body: (c) => signedThen(c, (x) => x.replace('<b:MessagePrimaryContent>', '<b:MessagePrimaryContent><x:Evil xmlns:x="urn:x" Id="SIGNED_BY_CONSUMER"/>')), fault: 'SignatureVerificationFault', reason: 'IncorrectSignatureTarget', says: /occurs 2 times/ },
  { name: 'wrapping: signed data nested inside a forged copy', body: (c) => signedThen(c, (x) => x.replace(/(<t:SenderProvidedRequestData Id="[^"]+">)/, '<t:SenderProvidedRequestData Id="FORGED">$1').replace('</t:SenderProvidedRequestData>', '</t:SenderProvidedRequestData></t:SenderProvidedRequestData>')), fault: 'SignatureVerificationFault', reason: 'IncorrectSignatureTarget', says: /must cover/ },

  // --- missing, extra, duplicated elements (signed, so only the content is wrong)
  { name: 'MessageID missing', body: (c) => signed(c, (x) => x.replace(/<t:MessageID>[^<]*<\/t:MessageID>/, '')), fault: 'InvalidMessageIdFormat' },
  { name: 'MessageID duplicated', body: (c) => signed(c, (x) => x.replace(/(<t:MessageID>[^<]*<\/t:MessageID>)/, `$1<t:MessageID>${uuidV1()}</t:MessageID>`)), fault: 'InvalidContent', says: /MessageID/ },
  { name: 'MessageID not a UUID', body: (c) => signed(c, (x) => x.replace(/(<t:MessageID>)[^<]*/, '$1not-a-uuid')), fault: 'InvalidMessageIdFormat' },
  { name: 'MessageID a version-4 UUID', body: (c) => signed(c, (x) => x.replace(/(<t:MessageID>)[^<]*/, '$16f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d')), fault: 'InvalidMessageIdFormat' },
  { name: 'MessageID in upper case', body: (c) => signed(c, (x) => x.replace(/(<t:MessageID>)([^<]*)/, (_, a: string, b: string) => a + b.toUpperCase())), fault: 'InvalidMessageIdFormat' },
  { name: 'MessageID with a nested element', body: (c) => signed(c, (x) => x.replace(/(<t:MessageID>)([^<]{8})/, '$1<t:x/>$2')), fault: 'InvalidMessageIdFormat' },
  { name: 'MessagePrimaryContent missing', body: (c) => signed(c, (x) => x.replace(/<b:MessagePrimaryContent>[\s\S]*<\/b:MessagePrimaryContent>/, '')), fault: 'InvalidContent', says: /MessagePrimaryContent/ },
  { name: 'MessagePrimaryContent empty', body: (c) => signed(c, (x) => x.replace(/(<b:MessagePrimaryContent>)[\s\S]*(<\/b:MessagePrimaryContent>)/, '$1$2')), fault: 'InvalidContent', says: /MessagePrimaryContent/ },
  { name: 'two business elements', body: (c) => signed(c, (x) => x.replace('</b:MessagePrimaryContent>', `${businessXml(c)}</b:MessagePrimaryContent>`)), fault: 'InvalidContent', says: /MessagePrimaryContent/ },
  { name: 'MessagePrimaryContent duplicated', body: (c) => signed(c, (x) => x.replace(/(<b:MessagePrimaryContent>[\s\S]*<\/b:MessagePrimaryContent>)/, '$1$1')), fault: 'InvalidContent', says: /MessagePrimaryContent/ },
  { name: 'unknown element in SenderProvidedRequestData', body: (c) => signed(c, (x) => x.replace('</t:SenderProvidedRequestData>', '<t:Surprise>1</t:Surprise></t:SenderProvidedRequestData>')), fault: 'InvalidContent', says: /Surprise/ },
  { name: 'foreign-namespace element in SenderProvidedRequestData', body: (c) => signed(c, (x) => x.replace('</t:SenderProvidedRequestData>', '<e:Extra xmlns:e="urn:evil">1</e:Extra></t:SenderProvidedRequestData>')), fault: 'InvalidContent', says: /Extra/ },
  { name: 'MessagePrimaryContent before MessageID', body: (c) => signed(c, (x) => x.replace(/(<t:MessageID>[^<]*<\/t:MessageID>)(<b:MessagePrimaryContent>[\s\S]*<\/b:MessagePrimaryContent>)/, '$2$1')), fault: 'InvalidContent', says: /MessageID/ },
  { name: 'unknown business element', body: (c) => signed(c, (x) => x, { contentXml: '<x:Unknown xmlns:x="urn://example/unknown/1.0">1</x:Unknown>' }), fault: 'BusinessDataTypeIsNotSupported' },
  { name: 'business element in no namespace', body: (c) => signed(c, (x) => x, { contentXml: '<Application>1</Application>' }), fault: 'BusinessDataTypeIsNotSupported' },
  { name: 'business element with its namespace changed', body: (c) => signed(c, (x) => x.replace(/xmlns(:\w+)?="urn:\/\/[^"]*(advert|reklam)[^"]*"/i, (m) => m.replace(/"$/, '-evil"'))), fault: 'BusinessDataTypeIsNotSupported' },
  { name: 'content breaking its XSD (signed as is)', body: (c) => signed(c, (x) => x, { service: 'dwelling-replanning', contentXml: businessXml(c, 'dwelling-replanning').replace(/(<(\w+:)?Snils>)[^<]*/, '$1123-456') }), fault: 'InvalidContent', says: /Snils/ },
  { name: 'a 150 KB string in a pattern-checked field', body: (c) => signed(c, (x) => x, { service: 'dwelling-replanning', contentXml: businessXml(c, 'dwelling-replanning').replace(/(<(\w+:)?Snils>)[^<]*/, `$1${'1'.repeat(150_000)}`) }), fault: 'InvalidContent', says: /Snils/ },
  { name: 'a required element of the content removed', body: (c) => signed(c, (x) => x, { service: 'dwelling-replanning', contentXml: businessXml(c, 'dwelling-replanning').replace(/<(\w+:)?Snils>[^<]*<\/(\w+:)?Snils>/, '') }), fault: 'InvalidContent', says: /Snils|expected/ },

  // --- freshness
  { name: 'MessageID made 80 h ago', body: (c) => signed(c, (x) => x, { messageId: uuidV1At(new Date(Date.now() - 80 * HOUR)) }), fault: 'StaleMessageId' },
  { name: 'MessageID made a year ago', body: (c) => signed(c, (x) => x, { messageId: uuidV1At(new Date(Date.now() - 365 * 24 * HOUR)) }), fault: 'StaleMessageId' },
  { name: 'MessageID made 1 h in the future', body: (c) => signed(c, (x) => x, { messageId: uuidV1At(new Date(Date.now() + HOUR)) }), fault: 'StaleMessageId' },
  { name: 'MessageID made in 1582', body: (c) => signed(c, (x) => x, { messageId: '00000000-0000-1000-8000-000000000000' }), fault: 'StaleMessageId' },
  { name: 'MessageID at the end of UUID time', body: (c) => signed(c, (x) => x, { messageId: 'ffffffff-ffff-1fff-bfff-ffffffffffff' }), fault: 'StaleMessageId' },
  { name: 'SendResponse with a stale MessageID', body: () => sign(sendResponseEnvelope({ version: '1.1', messageId: uuidV1At(new Date(Date.now() - 100 * HOUR)), to: uuidV1(), body: { kind: 'status', code: 1, description: 'x' } }), sampleSigner('agency')), fault: 'StaleMessageId' },
  { name: 'SendResponse to no query', body: () => sign(sendResponseEnvelope({ version: '1.1', messageId: uuidV1(), to: uuidV1(), body: { kind: 'status', code: 1, description: 'x' } }), sampleSigner('agency')), fault: 'RequestIsNotFound' },
  { name: 'GetStatus Timestamp a day old', body: () => signedGetStatus(new Date(Date.now() - 24 * HOUR).toISOString()), fault: 'InvalidContent', says: /Timestamp/ },
  { name: 'GetStatus Timestamp an hour ahead', body: () => signedGetStatus(new Date(Date.now() + HOUR).toISOString()), fault: 'InvalidContent', says: /Timestamp.*future/ },
  { name: 'GetStatus Timestamp not a date', body: () => signedGetStatus('yesterday'), fault: 'InvalidContent', says: /Timestamp/ },
  { name: 'GetStatus Timestamp year 9999', body: () => signedGetStatus('9999-12-31T23:59:59Z'), fault: 'InvalidContent', says: /Timestamp/ },
  { name: 'Ack of a message never sent', body: () => signDocument(ackEnvelope('1.1', uuidV1(), true), { signer: sampleSigner('portal'), profile: 'smev', targetId: SIGNED_CALLER_ID }), fault: 'TargetMessageIsNotFound' },
];

describe('hostile SOAP corpus through HTTP (real Redis)', () => {
  let redis: RedisTestServer;
  let gw: RunningGateway;
  const prefix = 'hostile-soap:';

  beforeAll(async () => {
    redis = await startRedisServer();
    gw = await startGateway({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix, MAX_BODY_BYTES: String(MAX_BODY) });
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
    await redis?.dispose();
  });

  it('every case name is unique and every expected fault is a known SMEV fault', () => {
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
    for (const c of cases) expect(KNOWN_FAULTS.has(c.fault), c.name).toBe(true);
  });

  for (const c of cases) {
    it(`${c.name} → ${c.status ?? 500} ${c.fault}${c.reason ? ` ${c.reason}` : ''}`, async () => {
      const body = await c.body(gw.gateway.catalogue);
      const res = await postSoap(gw.url, body, c.headers ?? {});
      expectWellFormedFault(res);
      expect(res.status, res.body.slice(0, 600)).toBe(c.status ?? 500);
      const f = faultOf(res.body);
      expect({ fault: f.fault, reason: f.reason }, f.faultstring ?? '').toEqual({ fault: c.fault, reason: c.reason ?? null });
      if (c.says) expect(f.faultstring).toMatch(c.says);
    }, 30_000);
  }

  it('after the corpus: nothing stored as accepted, only fault outcomes journaled, and a valid request is still served', async () => {
    const inbox = (await (await fetch(`${gw.url}/api/v1/inbox?limit=500`, { headers: CITY })).json()) as { items: unknown[] };
    expect(inbox.items).toEqual([]);

    const client = new Redis(redis.url);
    try {
      const keys = await client.keys(`${prefix}*`);
      const accepted = keys.filter((k) => /^hostile-soap:(idem:|doc:(applications|inbox|requests|registration-numbers|attachments|query-statuses|outbound):)/.test(k));
      expect(accepted).toEqual([]);
    } finally {
      client.disconnect();
    }

    const entries = await gw.gateway.store.readFeed('journal', 0, 10_000);
    const records = await Promise.all(entries.map((e) => gw.gateway.store.getDoc<{ succeeded: boolean; faultCode: string | null }>('journal', e.id)));
    const transport = cases.filter((c) => (c.status ?? 500) !== 500).length;
    expect(records.length).toBe(cases.length - transport);
    expect(records.filter((r) => r!.succeeded)).toEqual([]);
    expect(records.filter((r) => r!.faultCode === 'SMEVFailure')).toEqual([]);

    const ok = await sign(unsignedRequest(gw.gateway.catalogue).xml);
    const res = await postSoap(gw.url, ok);
    expect(res.status, res.body).toBe(200);
    expect(res.body).toContain('<t:Status>requestIsQueued</t:Status>');
  }, 30_000);
});

describe('freshness and replays (real Redis)', () => {
  let redis: RedisTestServer;
  let gw: RunningGateway;

  beforeAll(async () => {
    redis = await startRedisServer();
    gw = await startGateway({ REDIS_URL: redis.url, MESSAGE_MAX_AGE_HOURS: '24' });
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
    await redis?.dispose();
  });

  const inboxIds = async () => ((await (await fetch(`${gw.url}/api/v1/inbox?limit=500`, { headers: CITY })).json()) as { items: Array<{ messageId: string }> }).items.map((i) => i.messageId);

  it('MESSAGE_MAX_AGE_HOURS is the window: 23 h old is accepted, 25 h old is StaleMessageId; 4 min ahead (skew) is accepted', async () => {
    const inWindow = uuidV1At(new Date(Date.now() - 23 * HOUR));
    expect((await postSoap(gw.url, await sign(unsignedRequest(gw.gateway.catalogue, { messageId: inWindow }).xml))).status).toBe(200);
    const skewed = uuidV1At(new Date(Date.now() + 4 * 60_000));
    expect((await postSoap(gw.url, await sign(unsignedRequest(gw.gateway.catalogue, { messageId: skewed }).xml))).status).toBe(200);
    const stale = uuidV1At(new Date(Date.now() - 25 * HOUR));
    const res = await postSoap(gw.url, await sign(unsignedRequest(gw.gateway.catalogue, { messageId: stale }).xml));
    expect(faultOf(res.body)).toMatchObject({ fault: 'StaleMessageId', faultstring: expect.stringMatching(/more than 24 h ago/) });
    expect(await inboxIds()).toEqual([inWindow, skewed]);
  });

  it('a replayed MessageID within the window: the same signed content gets the first reply again, other content MessageIsAlreadySent; stored once', async () => {
    const messageId = uuidV1At(new Date(Date.now() - 2 * HOUR));
    const first = await sign(unsignedRequest(gw.gateway.catalogue, { messageId }).xml);
    const a = await postSoap(gw.url, first);
    expect(a.status).toBe(200);
    const again = await postSoap(gw.url, first);
    expect(again).toEqual(a);
    const other = await sign(unsignedRequest(gw.gateway.catalogue, { messageId, service: 'kindergarten-enrollment' }).xml);
    expect(faultOf((await postSoap(gw.url, other)).body).fault).toBe('MessageIsAlreadySent');
    expect((await inboxIds()).filter((id) => id === messageId)).toHaveLength(1);
  });

  it('GetStatus with a fresh Timestamp is answered; 10 min old is still fine, 30 min old is refused', async () => {
    expect((await postSoap(gw.url, await signedGetStatus(new Date().toISOString()))).status).toBe(200);
    expect((await postSoap(gw.url, await signedGetStatus(new Date(Date.now() - 10 * 60_000).toISOString()))).status).toBe(200);
    const old = await postSoap(gw.url, await signedGetStatus(new Date(Date.now() - 30 * 60_000).toISOString()));
    expect(faultOf(old.body)).toMatchObject({ fault: 'InvalidContent', faultstring: expect.stringMatching(/Timestamp .* is older than 15 min/) });
  });
});
