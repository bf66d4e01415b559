/**
 * `okno sign` and `okno simulate` take the gateway's key files: --key/--cert (PEM or DER, GOST
 * included) and --p12/--password. Signatures are judged by lxml + OpenSSL's gost engine.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/catalogue/load.js';
import { parseCertificate } from '../../src/pki/certificate.js';
import { GOST2012_256_URI, GOST2012_512_URI } from '../../src/crypto/index.js';
import { spawnOkno } from '../helpers/cli-process.js';
import { ExchangeClient } from '../helpers/exchange.js';
import { projectRoot } from '../helpers/gateway.js';
import { gostTempDir, makeGostCa, makeGostLeaf, ossl, type GostFiles } from '../helpers/gost-openssl-pki.js';
import { opensslVerifiesSignedInfo, signaturesByLxml } from '../helpers/independent-dsig.js';
import { sampleSigner, serviceExample } from '../helpers/smev.js';

function okno(args: string[]) {
  const r = spawnSync(process.execPath, [path.join(projectRoot, 'bin/okno.js'), ...args], { cwd: projectRoot, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const unsigned = () =>
  readFileSync(path.join(projectRoot, 'test/fixtures/smev3-samples/SendRequestRequestNoAttach.xml'), 'utf8').replace(
    /<ns2:CallerInformationSystemSignature>[\s\S]*<\/ns2:CallerInformationSystemSignature>/,
    '<ns2:CallerInformationSystemSignature/>',
  );

let dir: string;
let ca: GostFiles;
let leaf256: GostFiles;
let leaf512: GostFiles;

beforeAll(() => {
  dir = gostTempDir('okno-gost-cli-');
  ca = makeGostCa(dir);
  leaf256 = makeGostLeaf(dir, ca, 'cli-256', { algorithm: 'gost2012_256', paramset: 'TCB' });
  leaf512 = makeGostLeaf(dir, ca, 'cli-512', { algorithm: 'gost2012_512', paramset: 'B' });
  writeFileSync(path.join(dir, 'in.xml'), unsigned());
});

describe('okno sign with GOST key files', () => {
  it('--key/--cert PEM (2012-256) and DER (2012-512): the signature verifies with openssl', () => {
    const der = path.join(dir, 'cli-512.key.der');
    ossl(['pkey', '-engine', 'gost', '-in', leaf512.key, '-outform', 'DER', '-out', der]);
    for (const [key, cert, uri, name] of [
      [leaf256.key, leaf256.cert, GOST2012_256_URI, 'GOST R 34.10-2012-256'],
      [der, leaf512.cert, GOST2012_512_URI, 'GOST R 34.10-2012-512'],
    ] as const) {
      const out = path.join(dir, `${path.basename(key)}.signed.xml`);
      const r = okno(['sign', path.join(dir, 'in.xml'), '--key', key, '--cert', cert, '--out', out]);
      expect(r.stderr).toContain(`signed with ${name} (smev profile)`);
      expect(r.status).toBe(0);
      const [sig] = signaturesByLxml(dir, readFileSync(out, 'utf8'));
      expect(sig!.signatureMethod).toBe(uri);
      expect(opensslVerifiesSignedInfo(dir, sig!, parseCertificate(readFileSync(cert, 'utf8')).der)).toBe(true);
    }
  });

  it('--p12/--password (openssl pkcs12 -export -engine gost, default PBE)', () => {
    const p12 = path.join(dir, 'cli.p12');
    ossl(['pkcs12', '-export', '-engine', 'gost', '-inkey', leaf256.key, '-in', leaf256.cert, '-passout', 'pass:pw', '-out', p12]);
    const out = path.join(dir, 'p12.signed.xml');
    const r = okno(['sign', path.join(dir, 'in.xml'), '--p12', p12, '--password', 'pw', '--out', out]);
    expect(r.stderr).toContain('signed with GOST R 34.10-2012-256');
    const [sig] = signaturesByLxml(dir, readFileSync(out, 'utf8'));
    expect(opensslVerifiesSignedInfo(dir, sig!)).toBe(true);
    expect(okno(['sign', path.join(dir, 'in.xml'), '--p12', p12, '--password', 'nope']).stderr).toMatch(/^okno sign: --p12: cannot open .*wrong --password/m);
  });

  it('errors name the option, not the environment variable', () => {
    const ed = path.join(dir, 'ed.pem');
    writeFileSync(ed, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const r = okno(['sign', path.join(dir, 'in.xml'), '--key', ed, '--cert', leaf256.cert]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^okno sign: --key: .*ed\.pem holds an Ed25519 key: not supported$/m);
    expect(r.stderr).not.toContain('GATEWAY_');
    const mismatch = okno(['sign', path.join(dir, 'in.xml'), '--key', leaf512.key, '--cert', leaf256.cert]);
    expect(mismatch.stderr).toMatch(/^okno sign: --key: the private key in .*cli-512\.key\.pem does not belong to the certificate in --cert/m);
    expect(okno(['sign', path.join(dir, 'in.xml'), '--key', leaf256.key]).stderr).toMatch(/--key needs --cert/);
    // the undocumented JSON key format is gone
    expect(okno(['sign', path.join(dir, 'in.xml'), '--gost-key', 'x.json', '--cert', leaf256.cert]).status).toBe(2);
  });
});

describe('okno simulate with a GOST key', () => {
  it('simulate smev --key/--cert: the exchange signs its answers with GOST, openssl agrees', async () => {
    const cli = spawnOkno(['simulate', 'smev', '--port', '0', '--key', leaf256.key, '--cert', leaf256.cert], 20_000);
    try {
      const endpoint = (await cli.until(/listening on (http:\/\/127\.0\.0\.1:\d+\/ws\/smev3)/))[1]!;
      const catalogue = loadCatalogue(path.join(projectRoot, 'config/services'));
      const kindergarten = catalogue.get('kindergarten-enrollment')!.request;
      const sent = await new ExchangeClient(endpoint, sampleSigner('portal')).sendRequest({ contentXml: kindergarten.toXml(serviceExample('kindergarten-enrollment')) });
      expect(sent.status, sent.text).toBe(200);
      const sigs = signaturesByLxml(dir, sent.text);
      expect(sigs.length, sent.text).toBeGreaterThanOrEqual(1);
      for (const sig of sigs) {
        expect(sig.signatureMethod).toBe(GOST2012_256_URI);
        expect(opensslVerifiesSignedInfo(dir, sig, parseCertificate(readFileSync(leaf256.cert, 'utf8')).der)).toBe(true);
      }
    } finally {
      cli.child.kill('SIGTERM');
      await cli.exited;
    }
  }, 30_000);
});
