/**
 * Detached CMS signatures made through a PKCS#11 token (SoftHSM2): the same Signer as XMLDSig,
 * the private key never leaves the token; `openssl cms -verify` and our verifier accept them.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGatewayIdentity, type GatewayIdentity } from '../../src/pki/gateway-identity.js';
import { signDetachedCms, verifyDetachedCms } from '../../src/pki/cms/index.js';
import { TrustAnchorSet } from '../../src/pki/trust.js';
import { openssl } from '../helpers/cms-pki.js';
import { projectRoot } from '../helpers/gateway.js';
import { createSoftHsmToken, SOFTHSM_MODULE, type SoftHsmToken } from '../helpers/softhsm.js';

let token: SoftHsmToken;
const certs: Record<'rsa' | 'ec', string> = { rsa: '', ec: '' };
const open: GatewayIdentity[] = [];
const ca = path.join(projectRoot, 'certs-sample/ca.crt.pem');

beforeAll(() => {
  token = createSoftHsmToken('okno-cms');
  process.env.SOFTHSM2_CONF = token.conf;
  certs.rsa = token.generateKey('rsa', 'cms-rsa', '11').certFile;
  certs.ec = token.generateKey('ec', 'cms-ec', '12').certFile;
}, 60_000);

afterAll(async () => {
  for (const identity of open.splice(0)) await identity.signer.close?.();
  token?.remove();
});

describe('CMS through a PKCS#11 token', () => {
  for (const kind of ['rsa', 'ec'] as const) {
    it(`${kind}: signDetachedCms with the token key; openssl cms -verify accepts it`, async () => {
      const identity = loadGatewayIdentity({ kind: 'pkcs11', module: SOFTHSM_MODULE, token: token.label, key: { label: `cms-${kind}` }, pinFile: token.pinFile, certFile: certs[kind] });
      open.push(identity);
      const content = Buffer.from(`%PDF-1.4 permit signed in a token (${kind})\n`);
      const file = path.join(token.dir, `permit-${kind}.pdf`);
      const sigFile = `${file}.p7s`;
      writeFileSync(file, content);
      writeFileSync(sigFile, await signDetachedCms(content, identity.signer));
      // the sample certificates name TLS usages only: -purpose any (openssl cms checks for S/MIME by default)
      const out = openssl(['cms', '-verify', '-binary', '-inform', 'DER', '-in', sigFile, '-content', file, '-CAfile', ca, '-purpose', 'any', '-out', '/dev/null']);
      expect(out.toString()).toBe('');
      const v = verifyDetachedCms(content, readFileSync(sigFile), { trust: new TrustAnchorSet([readFileSync(ca, 'utf8')]) });
      expect(v.signers[0]!.algorithm).toBe(kind === 'rsa' ? 'RSA PKCS#1 v1.5 with SHA-256' : 'ECDSA with SHA-256');
      expect(v.valid).toBe(true);
      expect(() => openssl(['cms', '-verify', '-binary', '-inform', 'DER', '-in', sigFile, '-content', path.join(projectRoot, 'package.json'), '-CAfile', ca, '-purpose', 'any', '-out', '/dev/null'])).toThrow(/Verification failure|digest failure/);
    });
  }
});
