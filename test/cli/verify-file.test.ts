/**
 * `okno sign-file` and `okno verify-file` (issue 21, point 6): a GOST 2012-256 and 2012-512 key
 * made by `openssl genpkey -engine gost` signs a file through the gateway's key loader, openssl
 * cms -verify accepts the signature, and verify-file answers with `okno verify`'s exit codes
 * and verdict wording — also for RSA signatures openssl made.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeCmsPki, opensslCmsSign, opensslCmsVerifies, type CmsPki } from '../helpers/cms-pki.js';
import { projectRoot } from '../helpers/gateway.js';

function okno(args: string[]) {
  const r = spawnSync(process.execPath, [path.join(projectRoot, 'bin/okno.js'), ...args], { cwd: projectRoot, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' }, timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const dir = mkdtempSync(path.join(tmpdir(), 'okno-verify-file-'));
const file = path.join(dir, 'permit.pdf');
writeFileSync(file, '%PDF-1.4 advertising permit No. 42\n');
let gost256: CmsPki;
let gost512: CmsPki;
let rsa: CmsPki;

beforeAll(() => {
  gost256 = makeCmsPki(dir, 'gost2012_256');
  gost512 = makeCmsPki(dir, 'gost2012_512');
  rsa = makeCmsPki(dir, 'rsa');
}, 60_000);

describe('okno sign-file / verify-file', () => {
  for (const name of ['gost2012_256', 'gost2012_512'] as const) {
    it(`${name}: sign-file with a key from openssl genpkey -engine gost; openssl cms -verify and verify-file accept it`, () => {
      const pki = name === 'gost2012_256' ? gost256 : gost512;
      const sig = path.join(dir, `${name}.p7s`);
      const signed = okno(['sign-file', file, '--key', pki.leaf.key, '--cert', pki.leaf.cert, '--out', sig]);
      expect(signed.stderr).toMatch(new RegExp(`signed .*permit\\.pdf \\(\\d+ bytes\\) with GOST R 34\\.10-2012-${name.slice(-3)} by "O=Okno tests, CN=${name} signer"`));
      expect(signed.status).toBe(0);
      const judge = opensslCmsVerifies(pki, file, sig);
      expect(judge.output).toMatch(/Verification successful/);
      const r = okno(['verify-file', file, '--signature', sig, '--trust', pki.ca.cert]);
      expect(r.stdout).toMatch(new RegExp(`algorithm {4}GOST R 34\\.10-2012-${name.slice(-3)}\\n  digest {7}GOST R 34\\.11-2012-${name.slice(-3)}`));
      expect(r.stdout).toMatch(/attributes {3}signed \(contentType, messageDigest, signingTime\)/);
      expect(r.stdout).toMatch(/signed at {4}20\d\d-/);
      expect(r.stdout).toMatch(/mathematics {2}valid\n  trust {8}trusted: chains to "O=Okno tests, CN=gost2012_\d+ CA"\n  verdict {6}VALID\n/);
      expect(r.status).toBe(0);
    });
  }

  it('PEM output verifies too', () => {
    const sig = path.join(dir, 'pem.p7s');
    expect(okno(['sign-file', file, '--key', gost256.leaf.key, '--cert', gost256.leaf.cert, '--out', sig, '--pem']).status).toBe(0);
    expect(okno(['verify-file', file, '--signature', sig, '--trust', gost256.ca.cert]).status).toBe(0);
  });

  it('an openssl RSA signature: VALID with its CA; not trusted otherwise (exit 1, verify\'s wording); --ignore-trust exit 0', () => {
    const sig = path.join(dir, 'rsa.p7s');
    writeFileSync(sig, opensslCmsSign(rsa, file));
    expect(okno(['verify-file', file, '--signature', sig, '--trust', rsa.ca.cert]).status).toBe(0);
    const untrusted = okno(['verify-file', file, '--signature', sig, '--trust', gost256.ca.cert, '--trust', gost512.ca.cert]);
    expect(untrusted.stdout).toMatch(/verdict {6}INVALID: mathematically valid; certificate not trusted: certificate "O=Okno tests, CN=rsa-signer" is not issued by a trusted CA .*\(CertificateIsNotFound\)/);
    expect(untrusted.status).toBe(1);
    const mathOnly = okno(['verify-file', file, '--signature', sig, '--ignore-trust']);
    expect(mathOnly.stdout).toMatch(/trust {8}not checked \(--ignore-trust\)\n  verdict {6}VALID/);
    expect(mathOnly.status).toBe(0);
    const later = okno(['verify-file', file, '--signature', sig, '--trust', rsa.ca.cert, '--at', '2099-01-01']);
    expect(later.stdout).toMatch(/INVALID: mathematically valid; certificate not trusted: .*expired on .*\(CertificateIsExpired\)/);
    expect(later.status).toBe(1);
  });

  it('a changed file, garbage and usage errors', () => {
    const sig = path.join(dir, 'g.p7s');
    expect(okno(['sign-file', file, '--key', gost256.leaf.key, '--cert', gost256.leaf.cert, '--out', sig]).status).toBe(0);
    const other = path.join(dir, 'other.pdf');
    writeFileSync(other, '%PDF-1.4 advertising permit No. 43\n');
    const changed = okno(['verify-file', other, '--signature', sig, '--trust', gost256.ca.cert]);
    expect(changed.stdout).toMatch(/mathematics {2}invalid\n  verdict {6}INVALID \(SignatureIsInvalid: the GOST R 34\.11-2012-256 digest of the content does not match the signed messageDigest/);
    expect(changed.status).toBe(1);
    const garbage = path.join(dir, 'garbage.p7s');
    writeFileSync(garbage, 'this is not a signature');
    const bad = okno(['verify-file', file, '--signature', garbage, '--trust', gost256.ca.cert]);
    expect(bad.stdout).toMatch(/verdict {6}INVALID \(SignatureIsInvalid: the signature cannot be read: /);
    expect(bad.status).toBe(1);
    expect(okno(['verify-file', file]).status).toBe(2);
    expect(okno(['verify-file', file, '--signature', path.join(dir, 'missing.p7s')])).toMatchObject({ status: 2, stderr: expect.stringMatching(/cannot read .*missing\.p7s: ENOENT/) });
    expect(okno(['sign-file']).status).toBe(2);
  });
});
