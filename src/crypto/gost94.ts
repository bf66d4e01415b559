import { gostDigest } from './gost-engine.js';
import { oneShotDigest } from './hasher.js';

export const GOST94_URI = 'http://www.w3.org/2001/04/xmldsig-more#gostr3411';
/** CryptoPro's spelling of the same digest, found in real SMEV 3 test-contour messages. */
export const GOST94_CRYPTOPRO_URI = 'urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr3411';

/** GOST R 34.11-94 with the CryptoPro-A hash parameters (the only set XMLDSig/SMEV uses). */
export const gost94 = oneShotDigest(GOST94_URI, 'GOST R 34.11-94', 32, (d) => gostDigest('94', d));
export const gost94CryptoPro = oneShotDigest(GOST94_CRYPTOPRO_URI, 'GOST R 34.11-94', 32, (d) => gostDigest('94', d));
