/**
 * An XMLDSig check that shares no code with Okno: lxml (python3-lxml, a dependency of
 * python3-xmlsec in .ci/run) gives the exclusive canonical form of each ds:SignedInfo, and
 * OpenSSL's gost engine checks the SignatureValue over it with the signer's public key.
 * (xmlsec1 on Debian has no GOST transforms, so it cannot judge these signatures itself.)
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ossl } from './gost-openssl-pki.js';

const PY = String.raw`
import sys, json, base64
from lxml import etree
DS = 'http://www.w3.org/2000/09/xmldsig#'
doc = etree.parse(sys.argv[1])
out = []
for sig in doc.iter('{%s}Signature' % DS):
    si = sig.find('{%s}SignedInfo' % DS)
    c14n = etree.tostring(si, method='c14n', exclusive=True, with_comments=False)
    value = ''.join(sig.find('{%s}SignatureValue' % DS).text.split())
    cert = sig.find('.//{%s}X509Certificate' % DS)
    out.append({
        'signedInfo': base64.b64encode(c14n).decode(),
        'signatureValue': value,
        'certificate': ''.join(cert.text.split()) if cert is not None else None,
        'signatureMethod': si.find('{%s}SignatureMethod' % DS).get('Algorithm'),
        'digestMethods': [d.get('Algorithm') for d in si.iter('{%s}DigestMethod' % DS)],
        'container': etree.QName(sig.getparent()).localname,
    })
print(json.dumps(out))
`;

export interface IndependentSignature {
  signedInfo: Buffer;
  signatureValue: Buffer;
  certificate: Buffer | null;
  signatureMethod: string;
  digestMethods: string[];
  /** Local name of the element holding ds:Signature (e.g. CallerInformationSystemSignature). */
  container: string;
}

/** Every ds:Signature in the document, read by lxml. */
export function signaturesByLxml(dir: string, xml: string): IndependentSignature[] {
  const file = path.join(dir, `doc-${process.hrtime.bigint()}.xml`);
  writeFileSync(file, xml);
  let out: string;
  try {
    out = execFileSync('/usr/bin/python3', ['-c', PY, file], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  } catch (error) {
    const e = error as { stderr?: Buffer; message: string };
    throw new Error(`python3-lxml could not read the document (apt-get install -y python3-lxml): ${e.stderr?.toString() ?? e.message}`);
  }
  return (JSON.parse(out) as Array<Record<string, unknown>>).map((s) => ({
    signedInfo: Buffer.from(String(s.signedInfo), 'base64'),
    signatureValue: Buffer.from(String(s.signatureValue), 'base64'),
    certificate: s.certificate ? Buffer.from(String(s.certificate), 'base64') : null,
    signatureMethod: String(s.signatureMethod),
    digestMethods: s.digestMethods as string[],
    container: String(s.container),
  }));
}

const MD_BY_URI: Record<string, string> = {
  'urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34102012-gostr34112012-256': '-md_gost12_256',
  'urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34102012-gostr34112012-512': '-md_gost12_512',
  'http://www.w3.org/2001/04/xmldsig-more#gostr34102001-gostr3411': '-md_gost94',
  'urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34102001-gostr3411': '-md_gost94',
};

/** openssl dgst -engine gost -verify over the lxml canonical SignedInfo, with the embedded (or given) certificate's key. */
export function opensslVerifiesSignedInfo(dir: string, sig: IndependentSignature, certificateDer?: Buffer): boolean {
  const md = MD_BY_URI[sig.signatureMethod];
  if (!md) throw new Error(`no openssl digest for ${sig.signatureMethod}`);
  const der = certificateDer ?? sig.certificate;
  if (!der) throw new Error('no certificate to verify with');
  const base = path.join(dir, `si-${process.hrtime.bigint()}`);
  writeFileSync(`${base}.crt.der`, der);
  writeFileSync(`${base}.si`, sig.signedInfo);
  writeFileSync(`${base}.sig`, sig.signatureValue);
  ossl(['x509', '-engine', 'gost', '-inform', 'DER', '-in', `${base}.crt.der`, '-pubkey', '-noout', '-out', `${base}.pub.pem`]);
  try {
    ossl(['dgst', '-engine', 'gost', md, '-verify', `${base}.pub.pem`, '-signature', `${base}.sig`, `${base}.si`]);
    return true;
  } catch {
    return false;
  }
}
