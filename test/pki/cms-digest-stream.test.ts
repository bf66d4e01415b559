/**
 * Signing a file read as a stream (pki/cms/sign.ts cmsContentDigest + signDetachedCmsDigest):
 * the chunked digest equals the one-shot one for every scheme, and the signature made over it is
 * the one signDetachedCms makes over the whole content (same signing time, deterministic RSA).
 * And soap/mtom.ts streamMtom: the same body buildMtom makes, its length exact, read back by
 * decodeSoapBody.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cmsDigest, cmsDigestStream, OID } from '../../src/pki/cms/algorithms.js';
import { cmsContentDigest, signDetachedCms, signDetachedCmsDigest, verifyDetachedCms } from '../../src/pki/cms/index.js';
import { decodeSoapBody, streamMtom } from '../../src/soap/mtom.js';
import { sampleSigner } from '../helpers/smev.js';

const content = randomBytes(200_003);

function chunks(b: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += size) out.push(b.subarray(i, i + size));
  return out;
}

describe('CMS over a streamed digest', () => {
  for (const oid of [OID.sha256, OID.sha512, OID.streebog256, OID.streebog512]) {
    it(`${cmsDigest(oid).name}: chunked (odd sizes) = one-shot`, () => {
      const d = cmsDigestStream(oid);
      for (const c of chunks(content, 4093)) d.update(c);
      const digest = d.digest();
      expect(digest.length).toBe(d.size);
      expect(digest.equals(cmsDigest(oid).hash(content))).toBe(true);
    });
  }

  it('signDetachedCmsDigest over the streamed digest = signDetachedCms over the content, and verifies', async () => {
    const signer = sampleSigner('gateway');
    const at = new Date('2026-12-07T12:00:00Z');
    const d = cmsContentDigest(signer);
    for (const c of chunks(content, 65536)) d.update(c);
    const streamed = await signDetachedCmsDigest(d.digest(), signer, { signingTime: at });
    const whole = await signDetachedCms(content, signer, { signingTime: at });
    expect(streamed.equals(whole)).toBe(true);
    expect(verifyDetachedCms(content, streamed, { trust: null }).math).toBe('valid');
    await expect(signDetachedCmsDigest(Buffer.alloc(20), signer)).rejects.toThrow(/32-byte digest/);
  });
});

describe('streamMtom', () => {
  it('streams the parts with an exact length; decodeSoapBody reads the same bytes back; a part of the wrong size throws', async () => {
    const root = '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body/></soap:Envelope>';
    const a = randomBytes(70_000);
    const b = Buffer.from('%PDF-1.4 small');
    const part = (id: string, bytes: Buffer, size = bytes.length) => ({ contentId: id, contentType: 'application/pdf', size, open: async function* () { yield* chunks(bytes, 8192); } });
    const body = streamMtom(root, [part('a@okno', a), part('b@okno', b)], 'urn:SendRequest');
    const got: Uint8Array[] = [];
    for await (const c of body.chunks()) got.push(c);
    const bytes = Buffer.concat(got);
    expect(bytes.length).toBe(body.length);
    const decoded = decodeSoapBody(bytes, body.contentType);
    expect(decoded.rootXml).toBe(root);
    expect(decoded.parts.get('a@okno')!.bytes.equals(a)).toBe(true);
    expect(decoded.parts.get('b@okno')!.bytes.equals(b)).toBe(true);
    // chunks() again: a retry sends the same body
    const again: Uint8Array[] = [];
    for await (const c of body.chunks()) again.push(c);
    expect(Buffer.concat(again).equals(bytes)).toBe(true);

    const wrong = streamMtom(root, [part('a@okno', a, a.length - 1)]);
    await expect((async () => {
      for await (const _ of wrong.chunks()) void _;
    })()).rejects.toThrow(/larger than its announced/);
  });
});
