import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadGatewayIdentity } from '../../src/pki/gateway-identity.js';
import { loadTrustAnchors } from '../../src/pki/trust-anchors.js';
import { requireTool } from '../helpers/tools.js';

const certs = path.resolve(import.meta.dirname, '../../certs-sample');
const pem = (name: string) => path.join(certs, name);

describe('gateway identity', () => {
  beforeAll(() => requireTool('openssl', ['version'], 'openssl'));

  it('loads the PEM key and certificate', () => {
    const id = loadGatewayIdentity({ kind: 'pem', keyFile: pem('gateway.key.pem'), certFile: pem('gateway.crt.pem') });
    expect(id.keyDescription).toBe('rsa-2048');
    expect(id.certificate.subject).toContain('CN=okno-gateway');
    expect(id.isSample).toBe(true);
    expect(id.chainPems).toEqual([]);
  });

  it('refuses a key that does not belong to the certificate', () => {
    expect(() => loadGatewayIdentity({ kind: 'pem', keyFile: pem('portal.key.pem'), certFile: pem('gateway.crt.pem') })).toThrow(
      /^GATEWAY_KEY_FILE: the private key in .*portal\.key\.pem does not belong to the certificate in GATEWAY_CERT_FILE/,
    );
  });

  it('names the variable of a missing or unreadable file', () => {
    expect(() => loadGatewayIdentity({ kind: 'pem', keyFile: '/nope.pem', certFile: pem('gateway.crt.pem') })).toThrow(/^GATEWAY_KEY_FILE: cannot read \/nope.pem: ENOENT/);
    expect(() => loadGatewayIdentity({ kind: 'pem', keyFile: pem('gateway.crt.pem'), certFile: pem('gateway.crt.pem') })).toThrow(/^GATEWAY_KEY_FILE: .* holds a certificate, not a private key$/);
    expect(() => loadGatewayIdentity({ kind: 'pem', keyFile: pem('gateway.key.pem'), certFile: pem('gateway.key.pem') })).toThrow(/^GATEWAY_CERT_FILE: .* holds a private key, not a certificate$/);
  });

  it('loads PKCS#12 made by openssl, with its chain, and rejects a wrong password', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'okno-p12-'));
    const p12 = path.join(dir, 'gateway.p12');
    execFileSync('openssl', ['pkcs12', '-export', '-inkey', pem('gateway.key.pem'), '-in', pem('gateway.crt.pem'), '-certfile', pem('ca.crt.pem'), '-passout', 'pass:s3cret', '-out', p12]);
    const id = loadGatewayIdentity({ kind: 'p12', p12File: p12, password: 's3cret' });
    expect(id.certificate.subject).toContain('CN=okno-gateway');
    expect(id.chainPems).toHaveLength(1);
    expect(id.keyDescription).toBe('rsa-2048');
    expect(() => loadGatewayIdentity({ kind: 'p12', p12File: p12, password: 'wrong' })).toThrow(/^GATEWAY_P12_FILE: cannot open .*wrong GATEWAY_P12_PASSWORD/);
  });

  it('loads an EC key from PKCS#12', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'okno-p12-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=ec-gw', '-days', '30', '-keyout', path.join(dir, 'k.pem'), '-out', path.join(dir, 'c.pem')], { stdio: 'ignore' });
    execFileSync('openssl', ['pkcs12', '-export', '-inkey', path.join(dir, 'k.pem'), '-in', path.join(dir, 'c.pem'), '-passout', 'pass:x', '-out', path.join(dir, 'ec.p12')]);
    const id = loadGatewayIdentity({ kind: 'p12', p12File: path.join(dir, 'ec.p12'), password: 'x' });
    expect(id.keyDescription).toBe('ec-prime256v1');
    expect(id.isSample).toBe(false);
  });
});

describe('trust anchors', () => {
  it('loads the CA bundle and knows the sample CA', () => {
    const trust = loadTrustAnchors(pem('ca.crt.pem'));
    expect(trust.certificates).toHaveLength(1);
    expect(trust.includesSample).toBe(true);
  });

  it('refuses a bundle with a non-CA certificate', () => {
    expect(() => loadTrustAnchors(pem('portal.crt.pem'))).toThrow(/^TRUST_CA_FILE: certificate #1 .* is not a CA certificate/);
  });
});
