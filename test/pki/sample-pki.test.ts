import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_FILES, SAMPLE_ORGANIZATION, writeSamplePki } from '../../src/pki/sample-pki.js';
import { requireTool } from '../helpers/tools.js';

const committed = path.resolve(import.meta.dirname, '../../certs-sample');

/** openssl verify is the independent judge of the chains. */
function opensslVerify(dir: string, name: string): { ok: boolean; output: string } {
  const result = spawnSync('openssl', ['verify', '-CAfile', path.join(dir, 'ca.crt.pem'), path.join(dir, `${name}.crt.pem`)], { encoding: 'utf8' });
  return { ok: result.status === 0, output: result.stdout + result.stderr };
}

function checkPki(dir: string, minYears: number): void {
  expect(readdirSync(dir).filter((f) => f.endsWith('.pem')).sort()).toEqual([...SAMPLE_FILES].sort());
  for (const name of ['gateway', 'portal', 'agency']) {
    expect(opensslVerify(dir, name)).toMatchObject({ ok: true });
    const cert = new X509Certificate(readFileSync(path.join(dir, `${name}.crt.pem`)));
    expect(cert.subject).toContain(`O=${SAMPLE_ORGANIZATION}`);
    expect(cert.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(new Date(cert.validTo).getTime()).toBeGreaterThan(Date.now() + minYears * 365 * 86_400_000);
    expect(cert.ca).toBe(false);
    // The key file belongs to the certificate.
    const keyPub = execFileSync('openssl', ['pkey', '-in', path.join(dir, `${name}.key.pem`), '-pubout'], { encoding: 'utf8' });
    expect(keyPub).toBe(cert.publicKey.export({ type: 'spki', format: 'pem' }));
  }
  expect(new X509Certificate(readFileSync(path.join(dir, 'ca.crt.pem'))).ca).toBe(true);
  const expired = opensslVerify(dir, 'expired');
  expect(expired.ok).toBe(false);
  expect(expired.output).toMatch(/certificate has expired/);
  const untrusted = opensslVerify(dir, 'untrusted');
  expect(untrusted.ok).toBe(false);
  expect(untrusted.output).toMatch(/self-signed certificate/);
}

describe('sample PKI', () => {
  beforeAll(() => requireTool('openssl', ['version'], 'openssl'));

  it('npm run certs makes every file of contract §1, chained and valid for years', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'okno-certs-'));
    writeSamplePki(dir, { years: 20 });
    checkPki(dir, 19);
  });

  it('the committed certs-sample/ is that PKI and stays valid for years', () => {
    checkPki(committed, 5);
    expect(readFileSync(path.join(committed, 'README.md'), 'utf8')).toMatch(/TEST ONLY/);
  });
});
