/**
 * Throwaway CAs and signing certificates for CMS tests, all made by openssl (RSA and ECDSA with
 * plain openssl, GOST with its gost engine, Debian package libengine-gost-openssl), and the
 * openssl cms commands that sign and verify detached signatures — the independent judge.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeGostCa, makeGostLeaf, type GostFiles } from './gost-openssl-pki.js';
import { requireOpensslGost } from '../crypto/openssl-gost.js';

export type CmsKind = 'rsa' | 'ecdsa' | 'gost2012_256' | 'gost2012_512';

export interface CmsPki {
  kind: CmsKind;
  ca: GostFiles;
  leaf: GostFiles;
  /** ['-engine', 'gost'] for GOST, [] otherwise. */
  engine: string[];
}

/** openssl; throws with its stderr when it fails. */
export function openssl(args: string[], input?: Uint8Array): Buffer {
  try {
    return execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 1 << 24 });
  } catch (error) {
    const e = error as { stderr?: Buffer; message: string };
    throw new Error(`openssl ${args.join(' ')}: ${e.stderr?.toString() ?? e.message}`);
  }
}

const KEYGEN: Record<'rsa' | 'ecdsa', string[]> = {
  rsa: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
  ecdsa: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
};

function plainCa(dir: string, kind: 'rsa' | 'ecdsa', name: string): GostFiles {
  const key = path.join(dir, `${name}.key.pem`);
  const cert = path.join(dir, `${name}.crt.pem`);
  openssl(['genpkey', ...KEYGEN[kind], '-out', key]);
  openssl(['req', '-new', '-x509', '-key', key, '-out', cert, '-days', '3650', '-subj', `/CN=${name}/O=Okno tests`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  return { key, cert };
}

function plainLeaf(dir: string, kind: 'rsa' | 'ecdsa', ca: GostFiles, name: string, days: number): GostFiles {
  const key = path.join(dir, `${name}.key.pem`);
  const csr = path.join(dir, `${name}.csr`);
  const cert = path.join(dir, `${name}.crt.pem`);
  const ext = path.join(dir, `${name}.ext`);
  writeFileSync(ext, 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\nsubjectKeyIdentifier=hash\n');
  openssl(['genpkey', ...KEYGEN[kind], '-out', key]);
  openssl(['req', '-new', '-key', key, '-subj', `/CN=${name}/O=Okno tests`, '-out', csr]);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', String(Date.now() % 1e9), '-days', String(days), '-extfile', ext, '-out', cert]);
  return { key, cert };
}

/** A CA and a leaf of one kind in `dir`. */
export function makeCmsPki(dir: string, kind: CmsKind): CmsPki {
  if (kind === 'rsa' || kind === 'ecdsa') {
    const ca = plainCa(dir, kind, `${kind}-ca`);
    return { kind, ca, leaf: plainLeaf(dir, kind, ca, `${kind}-signer`, 365), engine: [] };
  }
  requireOpensslGost();
  const ca = makeGostCa(dir, `${kind}-ca`, { algorithm: 'gost2012_512', cn: `${kind} CA` });
  const leaf = makeGostLeaf(dir, ca, `${kind}-signer`, { algorithm: kind, paramset: 'A', cn: `${kind} signer` });
  return { kind, ca, leaf, engine: ['-engine', 'gost'] };
}

/** `openssl cms -sign -binary` (detached unless nodetach), DER. */
export function opensslCmsSign(pki: CmsPki, file: string, opts: { noattr?: boolean; nodetach?: boolean; md?: string } = {}): Buffer {
  return openssl([
    'cms', '-sign', ...pki.engine, '-binary', '-in', file, '-signer', pki.leaf.cert, '-inkey', pki.leaf.key, '-outform', 'DER',
    ...(opts.noattr ? ['-noattr'] : []), ...(opts.nodetach ? ['-nodetach'] : []), ...(opts.md ? ['-md', opts.md] : []),
  ]);
}

/** `openssl cms -verify -binary -inform DER -content FILE -CAfile CA`: true when it says "Verification successful". */
export function opensslCmsVerifies(pki: CmsPki, file: string, signatureFile: string): { ok: boolean; output: string } {
  const r = spawnSync('openssl', ['cms', '-verify', ...pki.engine, '-binary', '-inform', 'DER', '-in', signatureFile, '-content', file, '-CAfile', pki.ca.cert, '-out', '/dev/null'], { encoding: 'utf8' });
  if (r.error) throw r.error;
  const output = `${r.stdout}${r.stderr}`;
  return { ok: r.status === 0 && /Verification successful/.test(output), output };
}
