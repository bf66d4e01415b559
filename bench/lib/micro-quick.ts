/**
 * The micro figures in seconds, for `npm run bench -- --quick` (CI smoke run):
 * the same operations as bench/signature.ts (which the full run executes), on
 * the 0.4 KB and 8 KB envelopes only, with short time slices. Same shape as
 * the normalized full figures (see bench/run.ts, `Micro`).
 */
import { createPrivateKey, createPublicKey, sign as rsaSign, verify as rsaVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseCertificate } from '../../src/pki/certificate.js';
import { readPrivateKey } from '../../src/pki/private-key.js';
import { GOST2012_256_URI, getSignatureAlgorithm } from '../../src/crypto/index.js';
import { signDocument } from '../../src/signature/sign.js';
import { LocalKeySigner } from '../../src/pki/signer.js';
import { verifySmevEnvelope } from '../../src/signature/smev-profile.js';
import { TrustAnchorSet } from '../../src/pki/trust.js';
import { excC14n } from '../../src/xml/c14n.js';
import { parseXml } from '../../src/xml/parser.js';
import { envelopeOfSize, KB, MB } from './envelopes.js';
import { measure, measurePair, type MeasureOptions } from './measure.js';
import { root } from './requests.js';
import { xmlCryptoSign, xmlCryptoVerify } from './xmlcrypto.js';

export interface Micro {
  source: string;
  signVerify: Array<{ size: string; envelopeBytes: number; operation: 'sign' | 'verify'; oknoOpsPerSec: number; xmlCryptoOpsPerSec: number; ratio: number }>;
  c14n: { element: string; oknoMBps: number; xmlCryptoMBps: number | null; ratio: number | null };
  rsaFloor: { signOpsPerSec: number; verifyOpsPerSec: number };
  gost: { rawSignOpsPerSec: number; rawVerifyOpsPerSec: number; envelopeSignOpsPerSec: number | null; envelopeVerifyOpsPerSec: number | null };
}

export async function quickMicro(): Promise<Micro> {
  const read = (p: string) => readFileSync(path.join(root, p), 'utf8');
  const timing: MeasureOptions = { warmupMs: 30, runMs: 120, minRuns: 3 };
  const keyPem = read('certs-sample/portal.key.pem');
  const certPem = read('certs-sample/portal.crt.pem');
  const key = createPrivateKey(keyPem);
  const cert = parseCertificate(certPem);
  const signer = new LocalKeySigner(key, cert);
  const options = { trust: new TrustAnchorSet([read('certs-sample/ca.crt.pem')]), partnerOf: () => 'portal' };
  const signVerify: Micro['signVerify'] = [];
  for (const env of [envelopeOfSize('0.4 KB', 0.4 * KB), envelopeOfSize('8 KB', 8 * KB)]) {
    const signed = await signDocument(env.xml, { signer, profile: 'xmldsig' });
    if (!verifySmevEnvelope(parseXml(signed), options).valid || !xmlCryptoVerify(signed, certPem)) throw new Error(`micro: ${env.label} does not verify`);
    const [os, xs] = await measurePair(() => signDocument(env.xml, { signer, profile: 'xmldsig' }), () => xmlCryptoSign(env.xml, { privateKey: keyPem, publicCert: certPem }), timing, 2);
    const [ov, xv] = await measurePair(() => verifySmevEnvelope(parseXml(signed), options), () => xmlCryptoVerify(signed, certPem), timing, 2);
    signVerify.push({ size: env.label, envelopeBytes: env.bytes, operation: 'sign', oknoOpsPerSec: os.opsPerSec, xmlCryptoOpsPerSec: xs.opsPerSec, ratio: os.opsPerSec / xs.opsPerSec });
    signVerify.push({ size: env.label, envelopeBytes: env.bytes, operation: 'verify', oknoOpsPerSec: ov.opsPerSec, xmlCryptoOpsPerSec: xv.opsPerSec, ratio: ov.opsPerSec / xv.opsPerSec });
  }
  const env8 = parseXml(envelopeOfSize('8 KB', 8 * KB).xml).root;
  const canonicalBytes = Buffer.byteLength(excC14n(env8));
  const c = await measure(() => excC14n(env8), timing);
  const data = Buffer.from('<ds:SignedInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">…</ds:SignedInfo>'.repeat(8));
  const value = rsaSign('sha256', data, key);
  const pub = createPublicKey(key);
  const [rs, rv] = await measurePair(() => rsaSign('sha256', data, key), () => rsaVerify('sha256', data, pub, value), timing, 2);
  const gostSigner = new LocalKeySigner(readPrivateKey(Buffer.from(read('test/fixtures/gost/leaf.key.pem'))).key, parseCertificate(read('test/fixtures/gost/leaf.pem')));
  const gostAlg = getSignatureAlgorithm(GOST2012_256_URI);
  const gv = await gostSigner.sign(data);
  const [gs, gvf] = await measurePair(() => gostSigner.sign(data), () => gostAlg.verify(data, gv, gostSigner.certificate.publicKey!), timing, 2);
  return {
    source: 'quick, in-process (bench/lib/micro-quick.ts): 0.4 KB and 8 KB only, 120 ms slices',
    signVerify,
    c14n: { element: '8 KB envelope (whole), tree parsed beforehand', oknoMBps: (canonicalBytes / MB) * c.opsPerSec, xmlCryptoMBps: null, ratio: null },
    rsaFloor: { signOpsPerSec: rs.opsPerSec, verifyOpsPerSec: rv.opsPerSec },
    gost: { rawSignOpsPerSec: gs.opsPerSec, rawVerifyOpsPerSec: gvf.opsPerSec, envelopeSignOpsPerSec: null, envelopeVerifyOpsPerSec: null },
  };
}
