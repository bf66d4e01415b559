/**
 * Throwaway GOST keys, CA and certificates made by OpenSSL's gost engine (Debian package
 * libengine-gost-openssl), as a new user would make them. Without the engine this throws
 * (tests fail, never skip).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { requireOpensslGost } from '../crypto/openssl-gost.js';

export type GostOpensslAlgorithm = 'gost2012_256' | 'gost2012_512';

export interface GostFiles {
  key: string;
  cert: string;
}

export function gostTempDir(prefix = 'okno-gost-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/** openssl with the gost engine; stderr ("Engine "gost" set.") is dropped unless it fails. */
export function ossl(args: string[], input?: Uint8Array, env?: Record<string, string>): Buffer {
  requireOpensslGost();
  try {
    return execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 1 << 22, env: env ? { ...process.env, ...env } : process.env });
  } catch (error) {
    const e = error as { stderr?: Buffer; message: string };
    throw new Error(`openssl ${args.join(' ')}: ${e.stderr?.toString() ?? e.message}`);
  }
}

/** `openssl genpkey -engine gost -algorithm gost2012_256 -pkeyopt paramset:A` */
export function genGostKey(file: string, algorithm: GostOpensslAlgorithm, paramset: string): string {
  ossl(['genpkey', '-engine', 'gost', '-algorithm', algorithm, '-pkeyopt', `paramset:${paramset}`, '-out', file]);
  return file;
}

/** A self-signed GOST CA (2012-512, TC26 A by default). */
export function makeGostCa(dir: string, name = 'ca', opts: { algorithm?: GostOpensslAlgorithm; paramset?: string; cn?: string } = {}): GostFiles {
  const key = genGostKey(path.join(dir, `${name}.key.pem`), opts.algorithm ?? 'gost2012_512', opts.paramset ?? 'A');
  const cert = path.join(dir, `${name}.crt.pem`);
  ossl([
    'req', '-engine', 'gost', '-new', '-x509', '-key', key, '-out', cert, '-days', '3650',
    '-subj', `/CN=${opts.cn ?? 'Okno test GOST CA'}/O=Okno tests`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { key, cert };
}

/** A leaf key and certificate issued by `ca` (CSR + `openssl x509 -req`), signing usage. */
export function makeGostLeaf(
  dir: string,
  ca: GostFiles,
  name: string,
  opts: { algorithm?: GostOpensslAlgorithm; paramset?: string; cn?: string; key?: string } = {},
): GostFiles {
  const key = opts.key ?? genGostKey(path.join(dir, `${name}.key.pem`), opts.algorithm ?? 'gost2012_256', opts.paramset ?? 'A');
  const csr = path.join(dir, `${name}.csr`);
  const cert = path.join(dir, `${name}.crt.pem`);
  const ext = path.join(dir, `${name}.ext`);
  writeFileSync(ext, 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n');
  ossl(['req', '-engine', 'gost', '-new', '-key', key, '-subj', `/CN=${opts.cn ?? name}/O=Okno tests`, '-out', csr]);
  ossl(['x509', '-engine', 'gost', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', String(Date.now() % 1e9), '-days', '365', '-extfile', ext, '-out', cert]);
  return { key, cert };
}

/** The certificate's public key as PEM, for `openssl dgst -verify`. */
export function publicKeyOf(dir: string, cert: string): string {
  const out = path.join(dir, `${path.basename(cert)}.pub.pem`);
  ossl(['x509', '-engine', 'gost', '-in', cert, '-pubkey', '-noout', '-out', out]);
  return out;
}

const MD_FOR: Record<GostOpensslAlgorithm, string> = { gost2012_256: '-md_gost12_256', gost2012_512: '-md_gost12_512' };

/** True when openssl's gost engine accepts `signature` (s ‖ r) over `data` for the public key. */
export function opensslVerifies(dir: string, algorithm: GostOpensslAlgorithm, publicKeyPem: string, data: Uint8Array, signature: Uint8Array): boolean {
  const d = path.join(dir, `data-${process.hrtime.bigint()}.bin`);
  const s = `${d}.sig`;
  writeFileSync(d, data);
  writeFileSync(s, signature);
  try {
    ossl(['dgst', '-engine', 'gost', MD_FOR[algorithm], '-verify', publicKeyPem, '-signature', s, d]);
    return true;
  } catch {
    return false;
  }
}

/** openssl's gost engine signs `data` with the key file (hash and sign). */
export function opensslSign(dir: string, algorithm: GostOpensslAlgorithm, keyFile: string, data: Uint8Array): Buffer {
  const d = path.join(dir, `data-${process.hrtime.bigint()}.bin`);
  writeFileSync(d, data);
  return ossl(['dgst', '-engine', 'gost', MD_FOR[algorithm], '-sign', keyFile, d]);
}
