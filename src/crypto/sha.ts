import { nodeDigest } from './hasher.js';

export const SHA256_URI = 'http://www.w3.org/2001/04/xmlenc#sha256';
export const SHA512_URI = 'http://www.w3.org/2001/04/xmlenc#sha512';

export const sha256 = nodeDigest(SHA256_URI, 'SHA-256', 'sha256', 32);
export const sha512 = nodeDigest(SHA512_URI, 'SHA-512', 'sha512', 64);
