export * from './types.js';
export { AlgorithmError, type AlgorithmErrorCode } from './errors.js';
export { getDigestAlgorithm, getSignatureAlgorithm, digestAlgorithmUris, signatureAlgorithmUris } from './registry.js';
export { GOST_CURVES, CURVE_OIDS, findGostCurve, type GostCurve } from './gost-curves.js';
export {
  GOST_KEY_OIDS,
  gostPublicKey,
  gostPrivateKey,
  gostPublicKeyOf,
  generateGostKeyPair,
  isGostPublicKey,
  isGostPrivateKey,
} from './gost-keys.js';
export { gostSignDigest, gostVerifyDigest } from './gost-engine.js';
export { SHA256_URI, SHA512_URI } from './sha.js';
export { STREEBOG256_URI, STREEBOG512_URI } from './streebog.js';
export { GOST94_URI, GOST94_CRYPTOPRO_URI } from './gost94.js';
export { RSA_SHA256_URI, RSA_SHA512_URI } from './rsa.js';
export { ECDSA_SHA256_URI } from './ecdsa.js';
export { GOST2012_256_URI, GOST2012_512_URI, GOST2001_URI, GOST2001_CRYPTOPRO_URI } from './gost3410.js';
