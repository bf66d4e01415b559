/**
 * Reading a signing key for the command line: `--key K --cert C` (PEM or DER; GOST R 34.10-2012,
 * RSA, ECDSA P-256) or `--p12 F --password P`, through the gateway's own loader, so `okno`
 * accepts exactly the key files the gateway does. Errors name the option, not the variable.
 */
import { ENV_KEY_NAMES, loadGatewayIdentity, type GatewayIdentity } from '../pki/gateway-identity.js';
import type { Signer } from '../pki/signer.js';

export interface KeyOptions {
  key?: string;
  cert?: string;
  p12?: string;
  password?: string;
}

export const KEY_OPTION_SPEC = {
  key: { type: 'string' },
  cert: { type: 'string' },
  p12: { type: 'string' },
  password: { type: 'string' },
} as const;

export const KEY_OPTION_NAMES = ['key', 'cert', 'p12', 'password'] as const;

const OPTION_NAMES = { key: '--key', cert: '--cert', p12: '--p12', password: '--password' };

/**
 * --key/--cert or --p12/--password; without them the gateway's key from GATEWAY_KEY_FILE /
 * GATEWAY_CERT_FILE or GATEWAY_P12_FILE (the sample key when unset), named by those variables.
 */
export function identityFromOptions(o: KeyOptions, env: NodeJS.ProcessEnv = process.env): GatewayIdentity {
  if (o.p12) {
    if (o.key || o.cert) throw new Error('--p12 and --key/--cert: use one or the other');
    return loadGatewayIdentity({ kind: 'p12', p12File: o.p12, password: o.password ?? '' }, OPTION_NAMES);
  }
  if (o.password !== undefined) throw new Error('--password goes with --p12');
  if (o.key || o.cert) {
    if (!o.key || !o.cert) throw new Error(o.key ? '--key needs --cert' : '--cert needs --key');
    return loadGatewayIdentity({ kind: 'pem', keyFile: o.key, certFile: o.cert }, OPTION_NAMES);
  }
  if (env.GATEWAY_P12_FILE) return loadGatewayIdentity({ kind: 'p12', p12File: env.GATEWAY_P12_FILE, password: env.GATEWAY_P12_PASSWORD ?? '' }, ENV_KEY_NAMES);
  return loadGatewayIdentity(
    { kind: 'pem', keyFile: env.GATEWAY_KEY_FILE ?? 'certs-sample/gateway.key.pem', certFile: env.GATEWAY_CERT_FILE ?? 'certs-sample/gateway.crt.pem' },
    ENV_KEY_NAMES,
  );
}

export function signerFromOptions(o: KeyOptions, env: NodeJS.ProcessEnv = process.env): Signer {
  return identityFromOptions(o, env).signer;
}
