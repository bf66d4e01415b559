/**
 * Algorithms by URI. Adding one = a file exporting it + one line below.
 * Lookups fail closed: anything not listed is ALGORITHM_NOT_ALLOWED.
 */
import { ecdsaP256Sha256 } from './ecdsa.js';
import { notAllowed } from './errors.js';
import { gost2001, gost2001CryptoPro, gost2012_256, gost2012_512 } from './gost3410.js';
import { gost94, gost94CryptoPro } from './gost94.js';
import { rsaSha256, rsaSha512 } from './rsa.js';
import { sha256, sha512 } from './sha.js';
import { streebog256, streebog512 } from './streebog.js';
import type { DigestAlgorithm, SignatureAlgorithm } from './types.js';

const digests: ReadonlyMap<string, DigestAlgorithm> = new Map(
  [sha256, sha512, streebog256, streebog512, gost94, gost94CryptoPro].map((a) => [a.uri, a]),
);

const signatures: ReadonlyMap<string, SignatureAlgorithm> = new Map(
  [rsaSha256, rsaSha512, ecdsaP256Sha256, gost2012_256, gost2012_512, gost2001, gost2001CryptoPro].map((a) => [a.uri, a]),
);

/** Known but refused on purpose, so the error can say why rather than "unknown". */
const forbidden: ReadonlyMap<string, string> = new Map([
  ['http://www.w3.org/2000/09/xmldsig#sha1', 'SHA-1 is broken'],
  ['http://www.w3.org/2000/09/xmldsig#rsa-sha1', 'SHA-1 is broken'],
  ['http://www.w3.org/2000/09/xmldsig#dsa-sha1', 'SHA-1 is broken'],
  ['http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1', 'SHA-1 is broken'],
  ['http://www.w3.org/2000/09/xmldsig#hmac-sha1', 'HMAC lets anyone holding the key forge'],
  ['http://www.w3.org/2001/04/xmldsig-more#hmac-sha256', 'HMAC lets anyone holding the key forge'],
  ['http://www.w3.org/2001/04/xmldsig-more#hmac-sha512', 'HMAC lets anyone holding the key forge'],
  ['http://www.w3.org/2001/04/xmldsig-more#md5', 'MD5 is broken'],
  ['http://www.w3.org/2001/04/xmldsig-more#rsa-md5', 'MD5 is broken'],
]);

export function getDigestAlgorithm(uri: string): DigestAlgorithm {
  const a = digests.get(uri);
  if (!a) throw notAllowed('digest', uri, forbidden.get(uri) ?? 'not allowed');
  return a;
}

export function getSignatureAlgorithm(uri: string): SignatureAlgorithm {
  const a = signatures.get(uri);
  if (!a) throw notAllowed('signature', uri, forbidden.get(uri) ?? 'not allowed');
  return a;
}

export const digestAlgorithmUris = (): string[] => [...digests.keys()];
export const signatureAlgorithmUris = (): string[] => [...signatures.keys()];
