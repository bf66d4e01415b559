/**
 * xml-crypto 6 used the way its README shows: SignedXml with a private key and
 * certificate, a reference chosen by XPath, the signature placed by XPath; and
 * for verification xmldom + xpath to find the Signature, loadSignature and
 * checkSignature with the signer's certificate.
 */
import { DOMParser } from '@xmldom/xmldom';
import xpath from 'xpath';
import { SignedXml } from 'xml-crypto';

export const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
export const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
export const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';

export interface XmlCryptoKeys {
  privateKey: string;
  publicCert: string;
}

export function xmlCryptoSign(xml: string, keys: XmlCryptoKeys): string {
  const sig = new SignedXml({
    privateKey: keys.privateKey,
    publicCert: keys.publicCert,
    canonicalizationAlgorithm: EXC_C14N,
    signatureAlgorithm: RSA_SHA256,
  });
  sig.addReference({
    xpath: "//*[local-name(.)='SenderProvidedRequestData']",
    transforms: [EXC_C14N],
    digestAlgorithm: SHA256,
  });
  sig.computeSignature(xml, {
    location: { reference: "//*[local-name(.)='CallerInformationSystemSignature']", action: 'append' },
  });
  return sig.getSignedXml();
}

export function xmlCryptoVerify(xml: string, publicCert: string): boolean {
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  const found = xpath.select("//*[local-name(.)='Signature' and namespace-uri(.)='http://www.w3.org/2000/09/xmldsig#']", doc as never);
  const signature = Array.isArray(found) ? found[0] : undefined;
  if (!signature) throw new Error('xml-crypto verify: no ds:Signature found');
  const sig = new SignedXml({ publicCert });
  sig.loadSignature(signature as never);
  return sig.checkSignature(xml);
}
