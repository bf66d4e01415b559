/**
 * PKCS#12 protected with GOST algorithms, as `openssl pkcs12 -export -engine gost -keypbe gost89
 * -certpbe gost89 -macalg md_gost12_256` writes it (TC26 recommendations R 50.1.112-2016):
 *   - MAC: HMAC-Streebog over the authenticated safe, its key the last 32 of 96 bytes of
 *     PBKDF2-HMAC-(the MAC digest)(password, macSalt, iterations) — OpenSSL's
 *     pkcs12_gen_gost_mac_key;
 *   - bags: PBES2 (RFC 8018) with PBKDF2 (PRF HMAC-Streebog-512 or -256, or the SHA-2 HMACs) and
 *     GOST 28147-89 CFB (params: IV + S-box OID) or AES-CBC.
 * Read with the project's DER reader; DER only (OpenSSL's output), no indefinite lengths.
 */
import { createDecipheriv, pbkdf2Sync, timingSafeEqual } from 'node:crypto';
import { gost89CfbDecrypt, hmacStreebog, pbkdf2Streebog } from '../crypto/gost-engine.js';
import { children, decodeInteger, decodeOid, DerError, expectTag, readDer, type Der } from './asn1.js';

/** A PKCS#12 bundle's raw parts (pkcs12.ts gives the same for the other encryptions). */
export interface Pkcs12Contents {
  /** PKCS#8 PrivateKeyInfo, DER. */
  keys: Buffer[];
  /** Certificates, DER, in the bundle's order. */
  certificates: Buffer[];
}

const OID = {
  data: '1.2.840.113549.1.7.1',
  encryptedData: '1.2.840.113549.1.7.6',
  keyBag: '1.2.840.113549.1.12.10.1.1',
  shroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  gost89: '1.2.643.2.2.21',
  streebog256: '1.2.643.7.1.1.2.2',
  streebog512: '1.2.643.7.1.1.2.3',
  hmacStreebog256: '1.2.643.7.1.1.4.1',
  hmacStreebog512: '1.2.643.7.1.1.4.2',
} as const;

const SHA_HMACS: Readonly<Record<string, string>> = {
  '1.2.840.113549.2.7': 'sha1',
  '1.2.840.113549.2.9': 'sha256',
  '1.2.840.113549.2.10': 'sha384',
  '1.2.840.113549.2.11': 'sha512',
};

const AES_CBC: Readonly<Record<string, { cipher: string; keyLength: number }>> = {
  '2.16.840.1.101.3.4.1.2': { cipher: 'aes-128-cbc', keyLength: 16 },
  '2.16.840.1.101.3.4.1.22': { cipher: 'aes-192-cbc', keyLength: 24 },
  '2.16.840.1.101.3.4.1.42': { cipher: 'aes-256-cbc', keyLength: 32 },
};

export class Pkcs12Error extends Error {
  override readonly name = 'Pkcs12Error';
}

/** True when the PFX's MAC uses a Streebog digest (then the bags are GOST-protected too, usually). */
export function hasGostMac(der: Uint8Array): boolean {
  try {
    const macData = children(readDer(der))[2];
    if (!macData) return false;
    const digestInfo = children(macData)[0]!;
    const oid = decodeOid(children(children(digestInfo)[0]!)[0]!);
    return oid === OID.streebog256 || oid === OID.streebog512;
  } catch {
    return false;
  }
}

const octets = (el: Der | undefined, what: string): Uint8Array => expectTag(el, 0x04, what).contents;
const explicit0 = (el: Der | undefined, what: string): Der => children(expectTag(el, 0xa0, what))[0]!;

export function readGostPkcs12(der: Uint8Array, password: string): Pkcs12Contents {
  try {
    const [version, authSafe, macData] = children(expectTag(readDer(der), 0x30, 'PFX'));
    if (decodeInteger(expectTag(version, 0x02, 'PFX.version')) !== 3n) throw new Pkcs12Error('not PKCS#12 version 3');
    const [contentType, content] = children(expectTag(authSafe, 0x30, 'authSafe'));
    if (decodeOid(expectTag(contentType, 0x06, 'authSafe.contentType')) !== OID.data) throw new Pkcs12Error('public-key integrity mode is not supported');
    const safe = octets(explicit0(content, 'authSafe.content'), 'authSafe data');
    const pass = Buffer.from(password, 'utf8');
    if (!macData) throw new Pkcs12Error('no MAC: refusing an unauthenticated bundle');
    checkMac(macData, pass, safe);

    const out: Pkcs12Contents = { keys: [], certificates: [] };
    for (const info of children(expectTag(readDer(safe), 0x30, 'AuthenticatedSafe'))) {
      const [type, body] = children(expectTag(info, 0x30, 'ContentInfo'));
      const kind = decodeOid(expectTag(type, 0x06, 'ContentInfo.contentType'));
      let bags: Uint8Array;
      if (kind === OID.data) {
        bags = octets(explicit0(body, 'data'), 'SafeContents');
      } else if (kind === OID.encryptedData) {
        const [, encryptedContentInfo] = children(expectTag(explicit0(body, 'encryptedData'), 0x30, 'EncryptedData'));
        const [, algorithm, encrypted] = children(expectTag(encryptedContentInfo, 0x30, 'EncryptedContentInfo'));
        bags = decrypt(expectTag(algorithm, 0x30, 'contentEncryptionAlgorithm'), pass, expectTag(encrypted, 0x80, 'encryptedContent').contents);
      } else {
        throw new Pkcs12Error(`content type ${kind} is not supported`);
      }
      readBags(bags, pass, out);
    }
    return out;
  } catch (error) {
    if (error instanceof DerError) throw new Pkcs12Error(`malformed PKCS#12 (${error.message})`);
    throw error;
  }
}

function checkMac(macData: Der, pass: Buffer, safe: Uint8Array): void {
  const [digestInfo, saltEl, iterEl] = children(expectTag(macData, 0x30, 'MacData'));
  const [algorithm, digest] = children(expectTag(digestInfo, 0x30, 'DigestInfo'));
  const oid = decodeOid(children(expectTag(algorithm, 0x30, 'mac algorithm'))[0]!);
  const kind = oid === OID.streebog256 ? '2012-256' : oid === OID.streebog512 ? '2012-512' : undefined;
  if (!kind) throw new Pkcs12Error(`MAC digest ${oid} is not a GOST one`);
  const iterations = iterEl ? Number(decodeInteger(expectTag(iterEl, 0x02, 'MacData.iterations'))) : 1;
  const key = pbkdf2Streebog(kind, pass, octets(saltEl, 'macSalt'), iterations, 96).subarray(64);
  const expected = octets(digest, 'mac');
  const actual = hmacStreebog(kind, key, safe);
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) throw new Pkcs12Error('MAC mismatch: wrong password or damaged file');
}

function readBags(der: Uint8Array, pass: Buffer, out: Pkcs12Contents): void {
  for (const bag of children(expectTag(readDer(der), 0x30, 'SafeContents'))) {
    const [idEl, valueEl] = children(expectTag(bag, 0x30, 'SafeBag'));
    const id = decodeOid(expectTag(idEl, 0x06, 'bagId'));
    const value = explicit0(valueEl, 'bagValue');
    if (id === OID.keyBag) {
      out.keys.push(Buffer.from(value.raw));
    } else if (id === OID.shroudedKeyBag) {
      const [algorithm, encrypted] = children(expectTag(value, 0x30, 'EncryptedPrivateKeyInfo'));
      out.keys.push(decrypt(expectTag(algorithm, 0x30, 'encryptionAlgorithm'), pass, octets(encrypted, 'encryptedData')));
    } else if (id === OID.certBag) {
      const [certId, certValue] = children(expectTag(value, 0x30, 'CertBag'));
      if (decodeOid(expectTag(certId, 0x06, 'certId')) === OID.x509Certificate) out.certificates.push(Buffer.from(octets(explicit0(certValue, 'certValue'), 'x509Certificate')));
    }
    // CRL and secret bags: not ours to use
  }
}

/** PBES2: PBKDF2 then GOST 28147-89 CFB or AES-CBC. */
function decrypt(algorithm: Der, pass: Buffer, data: Uint8Array): Buffer {
  const [oidEl, params] = children(algorithm);
  const oid = decodeOid(expectTag(oidEl, 0x06, 'encryption algorithm'));
  if (oid !== OID.pbes2) throw new Pkcs12Error(`encryption ${oid} is not supported in a GOST-protected bundle (PBES2 only)`);
  const [kdf, scheme] = children(expectTag(params, 0x30, 'PBES2-params'));
  const [kdfOid, kdfParams] = children(expectTag(kdf, 0x30, 'keyDerivationFunc'));
  if (decodeOid(expectTag(kdfOid, 0x06, 'kdf')) !== OID.pbkdf2) throw new Pkcs12Error('PBES2 key derivation other than PBKDF2 is not supported');
  const fields = children(expectTag(kdfParams, 0x30, 'PBKDF2-params'));
  const salt = octets(fields[0], 'PBKDF2 salt');
  const iterations = Number(decodeInteger(expectTag(fields[1], 0x02, 'PBKDF2 iterations')));
  const prfEl = fields.slice(2).find((f) => f.tag === 0x30);
  const prf = prfEl ? decodeOid(children(prfEl)[0]!) : '1.2.840.113549.2.7';
  const [schemeOidEl, schemeParams] = children(expectTag(scheme, 0x30, 'encryptionScheme'));
  const schemeOid = decodeOid(expectTag(schemeOidEl, 0x06, 'encryption scheme'));
  const derive = (length: number): Buffer => {
    if (prf === OID.hmacStreebog512) return pbkdf2Streebog('2012-512', pass, salt, iterations, length);
    if (prf === OID.hmacStreebog256) return pbkdf2Streebog('2012-256', pass, salt, iterations, length);
    const sha = SHA_HMACS[prf];
    if (!sha) throw new Pkcs12Error(`PBKDF2 PRF ${prf} is not supported`);
    return pbkdf2Sync(pass, salt, iterations, length, sha);
  };
  if (schemeOid === OID.gost89) {
    // Gost28147-89-Parameters ::= SEQUENCE { iv OCTET STRING (8), encryptionParamSet OID }
    const [iv, paramSet] = children(expectTag(schemeParams, 0x30, 'GOST 28147-89 parameters'));
    const paramSetOid = decodeOid(expectTag(paramSet, 0x06, 'encryptionParamSet'));
    const plain = gost89CfbDecrypt(paramSetOid, derive(32), octets(iv, 'GOST 28147-89 IV'), data);
    if (!plain) throw new Pkcs12Error(`GOST 28147-89 parameter set ${paramSetOid} is not supported`);
    return plain;
  }
  const aes = AES_CBC[schemeOid];
  if (!aes) throw new Pkcs12Error(`encryption scheme ${schemeOid} is not supported`);
  const decipher = createDecipheriv(aes.cipher, derive(aes.keyLength), octets(schemeParams, 'AES IV'));
  try {
    return Buffer.concat([decipher.update(data), decipher.final()]);
  } catch {
    throw new Pkcs12Error('cannot decrypt (wrong password?)');
  }
}
