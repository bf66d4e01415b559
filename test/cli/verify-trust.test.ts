/**
 * `okno verify` on the official SMEV 3 samples (../shared/interop, copied under
 * test/fixtures/smev3-samples): their signatures are mathematically valid but their self-signed,
 * long-expired certificates are not trusted. The verdict says exactly that, and the output says
 * how to pass --trust (and --at); following the advice moves the verdict on. A sample whose
 * mathematics fails keeps the plain INVALID and gets no trust advice.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers/gateway.js';

function okno(args: string[]) {
  const env = { ...process.env };
  delete env.TRUST_CA_FILE;
  delete env.PARTNERS_FILE;
  const result = spawnSync(process.execPath, [path.join(projectRoot, 'bin/okno.js'), ...args], { cwd: projectRoot, encoding: 'utf8', env, timeout: 20_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const sample = 'test/fixtures/smev3-samples/SendRequestRequestNoAttach.xml';

describe('okno verify: only trust fails', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'okno-verify-trust-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('an official sample: "mathematically valid; certificate not trusted: …", and how to pass --trust', () => {
    const r = okno(['verify', sample]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('  mathematics  valid\n');
    expect(r.stdout).toContain(
      '  verdict      INVALID: mathematically valid; certificate not trusted: certificate "C=RU, O=IS2, OU=SYSTEM1" is self-signed and not a trusted CA (CertificateIsNotFound)\n',
    );
    expect(r.stdout).toContain('The signature is mathematically valid; only trust failed. To accept it:\n');
    expect(r.stdout).toContain(`okno verify ${sample} --save-certs signer.pem, then okno verify ${sample} --trust signer.pem`);
    expect(r.stdout).toMatch(/valid from \d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d: check it at a moment inside, --at \d{4}-\d\d-\d\d/);
    expect(r.stdout).toContain(`or check the mathematics only: okno verify ${sample} --ignore-trust`);
  });

  it('every sample whose caller signature reproduces (interop README) gets the same verdict, not a bare INVALID', () => {
    const files = ['AckRequest', 'GetRequestRequestWithFilter', 'GetRequestRequestWithoutFilter', 'GetResponseRequestWithFilter', 'GetResponseRequestWithoutFilter', 'SendRequestRequestNoAttach', 'SendRequestRequestAttachFTP', 'SendRequestRequestAttachMTOM', 'SendRequestRequestPersonalSignature', 'SendResponseRequestNoAttach'];
    for (const f of files) {
      const r = okno(['verify', `test/fixtures/smev3-samples/${f}.xml`]);
      expect(r.status, f).toBe(1);
      const verdicts = r.stdout.split('\n').filter((l) => l.startsWith('  verdict'));
      expect(verdicts.length, f).toBeGreaterThan(0);
      for (const v of verdicts) expect(v, f).toMatch(/^ {2}verdict {6}INVALID: mathematically valid; certificate not trusted: /);
      expect(r.stdout, f).toContain('--trust');
    }
  });

  it('following the advice: --save-certs writes the signer certificate, --trust with it and --at move the verdict on', () => {
    const pem = path.join(dir, 'signer.pem');
    const saved = okno(['verify', sample, '--save-certs', pem]);
    expect(saved.stdout).toContain(`wrote 1 signer certificate(s) to ${pem}`);
    expect(readFileSync(pem, 'utf8')).toMatch(/^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n$/);
    // The certificate, trusted now, has expired: the verdict says so, and advises --at.
    const trusted = okno(['verify', sample, '--trust', pem]);
    expect(trusted.status).toBe(1);
    expect(trusted.stdout).toMatch(/verdict {6}INVALID: mathematically valid; certificate not trusted: certificate "C=RU, O=IS2, OU=SYSTEM1" expired on .* \(CertificateIsExpired\)/);
    const at = /--at (\d{4}-\d\d-\d\d)/.exec(trusted.stdout)?.[1];
    expect(at).toBeDefined();
    // Inside its validity, trusted: what is left is that no partner registers it.
    const inside = okno(['verify', sample, '--trust', pem, '--at', at!]);
    expect(inside.status).toBe(1);
    expect(inside.stdout).toMatch(/trust {8}trusted: /);
    expect(inside.stdout).toContain('no partner registers it: --partners FILE');
    expect(inside.stdout).not.toContain('--at ');
  });

  it('a sample whose mathematics fails: the plain INVALID, no trust advice', () => {
    const r = okno(['verify', 'test/fixtures/smev3-samples/GetRequestResponseAttachFTP.xml']);
    expect(r.status).toBe(1);
    expect(r.stdout).not.toContain('mathematically valid');
    expect(r.stdout).not.toContain('To accept it');
    expect(r.stdout).toMatch(/verdict {6}INVALID \(SignatureIsInvalid: /);
  });
});
