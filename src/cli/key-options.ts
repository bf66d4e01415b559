/** Reading a signing key for the command line: PEM, PKCS#12 or a GOST test key (JSON). */
import { readFileSync } from 'node:fs';
import { loadGatewayIdentity } from '../pki/gateway-identity.js';
import { gostPrivateKey, type GostKeyAlgorithm } from '../signature/algorithms/index.js';
import { LocalKeySigner, type Signer } from '../signature/signer.js';

export interface KeyOptions {
  key?: string;
  cert?: string;
  p12?: string;
  password?: string;
  'gost-key'?: string;
}

export const KEY_OPTION_SPEC = {
  key: { type: 'string' },
  cert: { type: 'string' },
  p12: { type: 'string' },
  password: { type: 'string' },
  'gost-key': { type: 'string' },
} as const;

/** Default: the gateway's key from GATEWAY_KEY_FILE / GATEWAY_CERT_FILE (the sample key when unset). */
export function signerFromOptions(o: KeyOptions, env: NodeJS.ProcessEnv = process.env): Signer {
  if (o['gost-key']) {
    if (!o.cert) throw new Error('--gost-key needs --cert');
    const json = JSON.parse(readFileSync(o['gost-key'], 'utf8')) as { algorithm: GostKeyAlgorithm; curveOid: string; scalar: string };
    return new LocalKeySigner(gostPrivateKey(json.algorithm, json.curveOid, Buffer.from(json.scalar, 'hex')), readFileSync(o.cert, 'utf8'));
  }
  const identity = o.p12
    ? loadGatewayIdentity({ kind: 'p12', p12File: o.p12, password: o.password ?? '' })
    : loadGatewayIdentity({
        kind: 'pem',
        keyFile: o.key ?? env.GATEWAY_KEY_FILE ?? 'certs-sample/gateway.key.pem',
        certFile: o.cert ?? env.GATEWAY_CERT_FILE ?? 'certs-sample/gateway.crt.pem',
      });
  return identity.signer;
}
