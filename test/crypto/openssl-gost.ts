/**
 * The independent GOST implementation we cross-check against: openssl's gost engine
 * (Debian package libengine-gost-openssl). Its absence is a failure, never a skip.
 */
import { execFileSync } from 'node:child_process';

function probe(): boolean {
  try {
    execFileSync('openssl', ['dgst', '-engine', 'gost', '-md_gost12_256', '-r'], { input: '', stdio: ['pipe', 'pipe', 'ignore'] });
    return true;
  } catch {
    return false;
  }
}

export const opensslGostAvailable = probe();

export function requireOpensslGost(): void {
  if (!opensslGostAvailable) throw new Error('openssl GOST engine missing (apt-get install libengine-gost-openssl)');
}

export type OpensslGostMd = 'md_gost12_256' | 'md_gost12_512' | 'md_gost94';

/** Hex digest as openssl prints it (same byte order as the algorithms output, see digests.test.ts). */
export function opensslDigestHex(md: OpensslGostMd, data: Uint8Array): string {
  requireOpensslGost();
  const out = execFileSync('openssl', ['dgst', '-engine', 'gost', `-${md}`, '-r'], {
    input: data,
    stdio: ['pipe', 'pipe', 'ignore'],
    maxBuffer: 1 << 20,
  }).toString();
  const hex = out.split(' ')[0] ?? '';
  if (!/^[0-9a-f]+$/.test(hex)) throw new Error(`unexpected openssl output: ${out}`);
  return hex;
}

export function openssl(args: string[], input?: Uint8Array): string {
  requireOpensslGost();
  return execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'] }).toString();
}
