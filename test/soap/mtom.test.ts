/**
 * MTOM/XOP (src/soap/mtom.ts) and reading SMEV messages with attachments
 * (src/soap/smev-message.ts), on built bodies and on the official
 * GetRequestResponse samples.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GOST2001_URI } from '../../src/crypto/index.js';
import { verifySignature } from '../../src/signature/verify.js';
import { buildMtom, decodeSoapBody, MtomError, parseContentType, resolveXop, xopInclude, XOP_NS } from '../../src/soap/mtom.js';
import { readSmevMessage, SmevMessageError } from '../../src/soap/smev-message.js';
import { textContent } from '../../src/xml/helpers.js';

const samples = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/smev3-samples');
const sample = (f: string) => readFileSync(path.join(samples, f), 'utf8');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function binary(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * seed + 13) & 0xff;
  return b;
}

/** The Content-IDs of the sample's xop:Include elements, in document order. */
function cids(xml: string): string[] {
  return [...xml.matchAll(/href="cid:([^"]+)"/g)].map((m) => m[1]!);
}

describe('MTOM bodies', () => {
  it('round trip: binary parts (with CRLF and boundary-like bytes) come back byte for byte; xop:Include resolves to their base64', () => {
    const a = binary(100_000, 7);
    a.write('\r\n--uuid:fake\r\n\r\n', 500, 'latin1');
    const b = Buffer.from('файл\r\n', 'utf8');
    const root = `<r xmlns:x="urn:x"><x:A>${xopInclude('a@test')}</x:A><x:B>${xopInclude('b file@test')}</x:B></r>`;
    const built = buildMtom(root, [
      { contentId: 'a@test', contentType: 'application/pdf', bytes: a },
      { contentId: 'b file@test', contentType: 'text/plain', bytes: b },
    ]);
    expect(built.contentType).toMatch(/^multipart\/related; type="application\/xop\+xml"; boundary="uuid:[0-9a-f-]+"; start="<root\.message@okno>"/);
    const decoded = decodeSoapBody(built.body, built.contentType);
    expect(decoded.mtom).toBe(true);
    expect(decoded.rootXml).toBe(root);
    expect([...decoded.parts.keys()]).toEqual(['a@test', 'b file@test']);
    expect(decoded.parts.get('a@test')!.bytes.equals(a)).toBe(true);
    expect(decoded.parts.get('b file@test')).toMatchObject({ contentType: 'text/plain' });
    expect(decoded.parts.get('b file@test')!.bytes.equals(b)).toBe(true);
    const used = new Set<string>();
    const resolved = resolveXop(decoded.rootXml, decoded.parts, used);
    expect(resolved).toBe(`<r xmlns:x="urn:x"><x:A>${a.toString('base64')}</x:A><x:B>${b.toString('base64')}</x:B></r>`);
    expect([...used].sort()).toEqual(['a@test', 'b file@test']);
  });

  it('a plain text/xml body is its own root; the start parameter picks the root part, else the first', () => {
    expect(decodeSoapBody(Buffer.from('<a/>'), 'text/xml; charset=utf-8')).toEqual({ rootXml: '<a/>', parts: new Map(), mtom: false });
    const body = Buffer.from(
      '--B\r\nContent-ID: <x@t>\r\nContent-Type: application/octet-stream\r\n\r\nXX\r\n' +
        '--B\r\nContent-ID: <root@t>\r\nContent-Type: application/xop+xml; type="text/xml"\r\n\r\n<root/>\r\n--B--\r\n',
    );
    const d = decodeSoapBody(body, 'multipart/related; type="application/xop+xml"; boundary=B; start="<root@t>"');
    expect(d.rootXml).toBe('<root/>');
    expect([...d.parts.keys()]).toEqual(['x@t']);
    expect(() => decodeSoapBody(body, 'multipart/related; boundary=B')).toThrow(/root part is application\/octet-stream/);
    expect(parseContentType('Multipart/Related; boundary="a;b"; start="<r>"').params.get('boundary')).toBe('a;b');
  });

  it('base64 Content-Transfer-Encoding is decoded', () => {
    const body = Buffer.from(`--B\r\nContent-Type: text/xml\r\n\r\n<r/>\r\n--B\r\nContent-ID: <p>\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from('hello').toString('base64')}\r\n--B--`);
    expect(decodeSoapBody(body, 'multipart/related; boundary=B').parts.get('p')!.bytes.toString()).toBe('hello');
  });

  it.each([
    ['no boundary parameter', 'multipart/related', '--B\r\n\r\n<r/>\r\n--B--', /without a boundary/],
    ['the boundary never occurs', 'multipart/related; boundary=Q', '--B\r\n\r\n<r/>\r\n--B--', /does not occur/],
    ['no closing boundary', 'multipart/related; boundary=B', '--B\r\nContent-Type: text/xml\r\n\r\n<r/>', /without a closing boundary/],
    ['headers without a blank line', 'multipart/related; boundary=B', '--B\r\nContent-Type: text/xml\r\n--B--', /no blank line/],
    ['the start part missing', 'multipart/related; boundary=B; start=<nope>', '--B\r\nContent-Type: text/xml\r\n\r\n<r/>\r\n--B--', /start part <nope>/],
    ['two parts with one Content-ID', 'multipart/related; boundary=B', '--B\r\nContent-Type: text/xml\r\n\r\n<r/>\r\n--B\r\nContent-ID: <p>\r\n\r\nA\r\n--B\r\nContent-ID: <p>\r\n\r\nB\r\n--B--', /occurs twice/],
    ['an unknown transfer encoding', 'multipart/related; boundary=B', '--B\r\nContent-Type: text/xml\r\n\r\n<r/>\r\n--B\r\nContent-ID: <p>\r\nContent-Transfer-Encoding: x-uue\r\n\r\nA\r\n--B--', /x-uue/],
  ])('malformed: %s → MtomError', (_what, contentType, body, message) => {
    expect(() => decodeSoapBody(Buffer.from(body, 'latin1'), contentType)).toThrow(MtomError);
    expect(() => decodeSoapBody(Buffer.from(body, 'latin1'), contentType)).toThrow(message);
  });

  it('the number of parts and the size of a header block are bounded', () => {
    const parts = Array.from({ length: 5 }, (_, i) => ({ contentId: `p${i}`, contentType: 'application/octet-stream', bytes: Buffer.from([i]) }));
    const built = buildMtom('<r/>', parts);
    expect(decodeSoapBody(built.body, built.contentType, { maxParts: 6 }).parts.size).toBe(5);
    expect(() => decodeSoapBody(built.body, built.contentType, { maxParts: 5 })).toThrow(/more than 5 MIME parts/);
    const long = Buffer.from(`--B\r\nContent-Type: text/xml\r\nX-Pad: ${'a'.repeat(9000)}\r\n\r\n<r/>\r\n--B--`);
    expect(() => decodeSoapBody(long, 'multipart/related; boundary=B')).toThrow(/headers exceed 8192 bytes/);
  });

  it('xop:Include: a cid not in the body, content inside it, or a sibling next to it → MtomError', () => {
    const parts = new Map([['p@t', { contentId: 'p@t', contentType: '', bytes: Buffer.from('x') }]]);
    expect(() => resolveXop(`<r>${xopInclude('q@t')}</r>`, parts)).toThrow(/cid:q@t, which is not a part/);
    expect(() => resolveXop(`<r><xop:Include xmlns:xop="${XOP_NS}" href="cid:p@t">x</xop:Include></r>`, parts)).toThrow(/must be empty/);
    expect(() => resolveXop(`<r>abc${xopInclude('p@t')}</r>`, parts)).toThrow(/only content/);
    expect(() => resolveXop(`<r><xop:Include xmlns:xop="${XOP_NS}" href="http://x/"/></r>`, parts)).toThrow(/not a cid: URL/);
    // an element named Include in another namespace is left alone
    expect(resolveXop(`<r xmlns:o="urn:other" xmlns:y="${XOP_NS}x"><o:Include href="cid:q@t"/></r>`, parts)).toContain('<o:Include');
  });
});

describe('official GetRequestResponse samples, read with readSmevMessage', () => {
  it('AttachMTOM: the content, the attachment header joined with its MIME part, the PKCS#7 signature part, SMEVSignature and sender signature located', () => {
    const xml = sample('GetRequestResponseAttachMTOM.xml');
    const [pkcs7Cid, contentCid] = cids(xml);
    const jpeg = binary(5000, 11);
    const pkcs7 = binary(300, 5);
    // The sample is the root part of an MTOM message; its two MIME parts are not published, so stand-ins are attached.
    const built = buildMtom(xml, [
      { contentId: pkcs7Cid!, contentType: 'application/pkcs7-signature', bytes: pkcs7 },
      { contentId: contentCid!, contentType: 'image/jpeg', bytes: jpeg },
    ]);
    const m = readSmevMessage(built.body, built.contentType);
    expect(m).toMatchObject({ operation: 'GetRequestResponse', version: '1.1', empty: false, mtom: true, messageId: '6fefa07c-5e7f-11e4-a9ff-d4c9eff07b77', unusedParts: [] });
    expect(m.content!.localName).toBe('BreachRequest');
    expect(m.content!.namespaceURI).toBe('urn://x-artefacts-gibdd-gov-ru/breach/root/1.0');
    expect(m.message!.localName).toBe('Request');
    expect(m.senderData!.localName).toBe('SenderProvidedRequestData');
    expect(m.attachments).toHaveLength(1);
    expect(m.attachments[0]).toMatchObject({ id: 'attach5MB.jpg', mimeType: 'image/jpeg', sha256: sha256(jpeg) });
    expect(m.attachments[0]!.bytes.equals(jpeg)).toBe(true);
    expect(m.attachments[0]!.signaturePkcs7!.equals(pkcs7)).toBe(true);
    expect(m.refAttachments).toEqual([]);
    expect(m.fsAttachments).toEqual([]);
    expect(m.personalSignature).toBeNull();
    for (const sig of [m.smevSignature!, m.senderSignature!]) {
      expect(sig.localName).toBe('Signature');
    }
    expect(textContent(m.smevSignature!)).toContain('fs2jGCcoK/07ZTFUWqUgohpiFWySI5pfyFDvaTpGKXE=');
    // without its MIME parts the message is incomplete, and says which part is missing
    expect(() => readSmevMessage(Buffer.from(xml), 'text/xml')).toThrow(SmevMessageError);
    expect(() => readSmevMessage(Buffer.from(xml), 'text/xml')).toThrow(`cid:${pkcs7Cid}`);
  });

  it('AttachFTP: the file-store reference (RefAttachmentHeader) and the exchange\'s FSAttachment credentials', () => {
    const xml = sample('GetRequestResponseAttachFTP.xml');
    const pkcs7 = binary(200, 3);
    const built = buildMtom(xml, [{ contentId: cids(xml)[0]!, contentType: 'application/pkcs7-signature', bytes: pkcs7 }]);
    const m = readSmevMessage(built.body, built.contentType);
    expect(m.messageId).toBe('0e8cfc01-5e81-11e4-a9ff-d4c9eff07b77');
    expect(m.attachments).toEqual([]);
    expect(m.refAttachments).toEqual([{ uuid: '04a5bc90-5e81-11e4-a9ff-d4c9eff07b77', hash: 'VpT3sc999CJI8TVYX35ZZfXpc/dCWO5e1MgoUg8YiJA=', mimeType: 'image/jpeg', signaturePkcs7: pkcs7 }]);
    expect(m.fsAttachments).toEqual([
      { uuid: '04a5bc90-5e81-11e4-a9ff-d4c9eff07b77', userName: 'RuhSKQ8eNGYKDWgByyjVBTLQLx8K8A', password: 'rFHmjM5N5fkIM7Aiy2Oyie1BgEDXxm', fileName: 'sample10M.tmp' },
    ]);
    expect(m.smevSignature).not.toBeNull();
  });

  it('PersonalSignature: located with its target; all three GOST signatures are mathematically valid once the pretty-printing inside SignedInfo is undone', () => {
    const xml = sample('GetRequestResponsePersonalSignature.xml');
    const m = readSmevMessage(Buffer.from(xml), 'text/xml; charset=utf-8');
    expect(m.mtom).toBe(false);
    expect(m.messageId).toBe('76796044-5e83-11e4-a9ff-d4c9eff07b77');
    expect(m.personalSignature).not.toBeNull();
    const signatures = [
      { name: 'PersonalSignature', sig: m.personalSignature!, target: m.content! },
      { name: 'SenderInformationSystemSignature', sig: m.senderSignature!, target: m.senderData! },
      { name: 'SMEVSignature', sig: m.smevSignature!, target: m.message! },
    ];
    // As published, the file was indented after signing: the digests (SMEV transform drops whitespace) hold, SignedInfo's bytes changed.
    for (const s of signatures) {
      const v = verifySignature(m.doc, s.sig, s.target, { trust: null });
      expect(v.details.signatureAlgorithm).toBe(GOST2001_URI);
      expect(v.math, s.name).toBe('invalid');
      expect(v.message, s.name).toMatch(/SignatureValue does not verify/);
    }
    const unindented = xml.replace(/<ds:SignedInfo>[\s\S]*?<\/ds:SignedInfo>/g, (s) => s.replace(/>\s+</g, '><'));
    const m2 = readSmevMessage(Buffer.from(unindented), 'text/xml');
    for (const [sig, target] of [[m2.personalSignature!, m2.content!], [m2.senderSignature!, m2.senderData!], [m2.smevSignature!, m2.message!]] as const) {
      const v = verifySignature(m2.doc, sig, target, { trust: null });
      expect(v.math).toBe('valid');
      expect(v.message).toBe('mathematically valid (trust not checked)');
      // and one flipped character in the signed content breaks it
    }
    const tampered = readSmevMessage(Buffer.from(unindented.replace('Т785ЕС57', 'Т785ЕС58')), 'text/xml');
    expect(verifySignature(tampered.doc, tampered.personalSignature!, tampered.content!, { trust: null }).math).toBe('invalid');
  });

  it.each([
    ['a second Request', (x: string) => x.replace('</ns2:RequestMessage>', '<ns2:Request Id="OTHER"/></ns2:RequestMessage>'), /holds 2 Request elements/],
    ['a second soap:Body', (x: string) => x.replace('</S:Envelope>', '<S:Body/></S:Envelope>'), /exactly one soap:Body, found 2/],
    ['two business elements', (x: string) => x.replace('</MessagePrimaryContent>', '<x:Extra xmlns:x="urn:x"/></MessagePrimaryContent>'), /exactly one business element, found 2/],
    ['a second signature in SMEVSignature', (x: string) => x.replace('</ns2:SMEVSignature>', '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/></ns2:SMEVSignature>'), /SMEVSignature must hold exactly one ds:Signature/],
    ['Request in another namespace', (x: string) => x.replace(/ns2:Request(\s|>)/g, 'ns3:Request$1').replace('</ns2:Request>', '</ns3:Request>'), /holds no Request/],
  ])('read by position: %s is refused', (_what, edit, message) => {
    const xml = edit(sample('GetRequestResponsePersonalSignature.xml'));
    expect(() => readSmevMessage(Buffer.from(xml), 'text/xml')).toThrow(SmevMessageError);
    expect(() => readSmevMessage(Buffer.from(xml), 'text/xml')).toThrow(message);
  });

  it('a message whose AttachmentContent has no header (or the reverse) is refused', () => {
    const xml = sample('GetRequestResponseAttachMTOM.xml').replace('<contentId>attach5MB.jpg</contentId>', '<contentId>other.jpg</contentId>');
    const built = buildMtom(xml, cids(xml).map((c) => ({ contentId: c, contentType: 'application/octet-stream', bytes: Buffer.from('x') })));
    expect(() => readSmevMessage(built.body, built.contentType)).toThrow(/attachment other\.jpg: no AttachmentContent/);
  });
});
