import { gostDigest } from './gost-engine.js';
import { oneShotDigest } from './hasher.js';

export const STREEBOG256_URI = 'urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34112012-256';
export const STREEBOG512_URI = 'urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34112012-512';

/** GOST R 34.11-2012 (Streebog). Output bytes = RFC 6986's hex as printed = openssl = DigestValue. */
export const streebog256 = oneShotDigest(STREEBOG256_URI, 'GOST R 34.11-2012-256', 32, (d) => gostDigest('2012-256', d));
export const streebog512 = oneShotDigest(STREEBOG512_URI, 'GOST R 34.11-2012-512', 64, (d) => gostDigest('2012-512', d));
