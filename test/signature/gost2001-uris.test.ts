/**
 * Legacy GOST R 34.10-2001 signatures in both spellings of their URIs: xmldsig-more
 * (`http://www.w3.org/2001/04/xmldsig-more#gostr34102001-gostr3411` / `#gostr3411`) and
 * CryptoPro's (`urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34102001-gostr3411` /
 * `…:gostr3411`), which real 2018 SMEV 3 test-contour messages carry. The signatures are
 * real: OpenSSL's gost engine makes the 2001 key and certificate and signs the SignedInfo
 * (Okno never signs with 2001). Verify-only.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCertificate, type Certificate } from '../../src/pki/certificate.js';
import {
  GOST2001_CRYPTOPRO_URI,
  GOST2001_URI,
  GOST94_CRYPTOPRO_URI,
  GOST94_URI,
  getDigestAlgorithm,
  getSignatureAlgorithm,
  type DigestAlgorithm,
  type SignatureAlgorithm,
} from '../../src/crypto/index.js';
import { signDocument } from '../../src/signature/sign.js';
import type { Signer } from '../../src/pki/signer.js';
import { verifySmevEnvelope } from '../../src/signature/smev-profile.js';
import { TrustAnchorSet } from '../../src/pki/trust.js';
import { parseXml } from '../../src/xml/parser.js';
import { projectRoot } from '../helpers/gateway.js';
import { gostTempDir, ossl } from '../helpers/gost-openssl-pki.js';
import { opensslVerifiesSignedInfo, signaturesByLxml } from '../helpers/independent-dsig.js';

/** Signs through `openssl dgst -engine gost -md_gost94 -sign`: the engine makes the 2001 signature, not Okno. */
class Openssl2001Signer implements Signer {
  readonly signatureAlgorithm: SignatureAlgorithm;
  readonly digestAlgorithm: DigestAlgorithm;
  constructor(
    private readonly dir: string,
    private readonly keyFile: string,
    readonly certificate: Certificate,
    signatureUri: string,
    digestUri: string,
  ) {
    this.signatureAlgorithm = getSignatureAlgorithm(signatureUri);
    this.digestAlgorithm = getDigestAlgorithm(digestUri);
  }
  async sign(data: Uint8Array): Promise<Buffer> {
    const file = path.join(this.dir, `si-${process.hrtime.bigint()}.bin`);
    writeFileSync(file, data);
    return ossl(['dgst', '-engine', 'gost', '-md_gost94', '-sign', this.keyFile, file]);
  }
}

const unsigned = () =>
  readFileSync(path.join(projectRoot, 'test/fixtures/smev3-samples/SendRequestRequestNoAttach.xml'), 'utf8').replace(
    /<ns2:CallerInformationSystemSignature>[\s\S]*<\/ns2:CallerInformationSystemSignature>/,
    '<ns2:CallerInformationSystemSignature/>',
  );

let dir: string;
let key: string;
let cert: Certificate;
let trust: TrustAnchorSet;

beforeAll(() => {
  dir = gostTempDir('okno-gost2001-');
  key = path.join(dir, 'gost2001.key.pem');
  const certFile = path.join(dir, 'gost2001.crt.pem');
  ossl(['genpkey', '-engine', 'gost', '-algorithm', 'gost2001', '-pkeyopt', 'paramset:A', '-out', key]);
  // self-signed, a CA (so it can be its own trust anchor), signed with GOST R 34.10-2001 / 34.11-94
  ossl(['req', '-engine', 'gost', '-new', '-x509', '-md_gost94', '-key', key, '-out', certFile, '-days', '30', '-subj', '/CN=legacy-2001/O=Okno tests', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,digitalSignature,keyCertSign']);
  cert = parseCertificate(readFileSync(certFile, 'utf8'));
  trust = new TrustAnchorSet([cert]);
});

describe('GOST R 34.10-2001 signatures, both URI spellings', () => {
  it.each([
    ['CryptoPro', GOST2001_CRYPTOPRO_URI, GOST94_CRYPTOPRO_URI],
    ['xmldsig-more', GOST2001_URI, GOST94_URI],
    ['CryptoPro signature, xmldsig-more digest', GOST2001_CRYPTOPRO_URI, GOST94_URI],
  ])('%s: an openssl-made signature verifies, a tampered one does not', async (_, signatureUri, digestUri) => {
    const signer = new Openssl2001Signer(dir, key, cert, signatureUri, digestUri);
    const signed = await signDocument(unsigned(), { signer, profile: 'smev' });
    expect(signed).toContain(`Algorithm="${signatureUri}"`);
    expect(signed).toContain(`Algorithm="${digestUri}"`);
    // openssl agrees with its own signature over lxml's canonical form (the test's construction is right)
    const [sig] = signaturesByLxml(dir, signed);
    expect(opensslVerifiesSignedInfo(dir, sig!)).toBe(true);

    const result = verifySmevEnvelope(parseXml(signed), { trust, partnerOf: () => 'legacy' }).caller;
    expect(result.details).toMatchObject({ signatureAlgorithm: signatureUri, signatureAlgorithmName: 'GOST R 34.10-2001', digestAlgorithm: digestUri });
    expect(result.math).toBe('valid');
    expect(result.valid).toBe(true);
    const tampered = verifySmevEnvelope(parseXml(signed.replace('</ns:MessageID>', '1</ns:MessageID>')), { trust }).caller;
    expect(tampered.math).toBe('invalid');
  });

  it('both spellings are verify-only', () => {
    for (const uri of [GOST2001_URI, GOST2001_CRYPTOPRO_URI]) expect(getSignatureAlgorithm(uri).sign).toBeUndefined();
  });
});
