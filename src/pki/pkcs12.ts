/**
 * Opening a PKCS#12 bundle into raw parts: the private keys as PKCS#8 PrivateKeyInfo DER and
 * the certificates as DER, whatever their algorithm (the callers parse them: private-key.ts,
 * certificate.ts). node-forge checks the MAC and decrypts (PBES2 with AES and
 * hmacWithSHA-256 — OpenSSL 3's default — and the legacy PKCS#12 PBEs); forge only
 * understands RSA keys and certificates, so other ones are taken as the raw ASN.1 it keeps.
 * A bundle whose MAC is GOST (Streebog) goes to pkcs12-gost.ts, which forge cannot read.
 */
import forge from 'node-forge';
import { hasGostMac, readGostPkcs12, type Pkcs12Contents } from './pkcs12-gost.js';

export type { Pkcs12Contents };

const toBuffer = (asn1: forge.asn1.Asn1): Buffer => Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');

/** Throws (forge's message) on a wrong password, a bad MAC or something that is not PKCS#12. */
export function readPkcs12(der: Uint8Array, password: string): Pkcs12Contents {
  if (hasGostMac(der)) return readGostPkcs12(der, password);
  const p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(Buffer.from(der).toString('binary')), password);
  const shrouded = forge.pki.oids.pkcs8ShroudedKeyBag!;
  const plain = forge.pki.oids.keyBag!;
  const certBag = forge.pki.oids.certBag!;
  const keyBags = [...(p12.getBags({ bagType: shrouded })[shrouded] ?? []), ...(p12.getBags({ bagType: plain })[plain] ?? [])];
  const keys = keyBags.map((bag) => toBuffer(bag.key ? forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(bag.key)) : bag.asn1));
  const certificates = (p12.getBags({ bagType: certBag })[certBag] ?? []).flatMap((bag) => {
    const asn1 = bag.cert ? forge.pki.certificateToAsn1(bag.cert) : bag.asn1;
    return asn1 ? [toBuffer(asn1)] : [];
  });
  return { keys, certificates };
}
