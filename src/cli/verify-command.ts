import { readFileSync, writeFileSync } from 'node:fs';
import type { Certificate } from '../pki/certificate.js';
import { parseArgs } from 'node:util';
import { loadPartners } from '../registry/partners.js';
import { splitPem } from '../pki/gateway-identity.js';
import { DSIG_NS, SignatureFailure } from '../signature/dsig.js';
import { locateSmevParts } from '../signature/smev-profile.js';
import { TrustAnchorSet } from '../pki/trust.js';
import { verifySignature, type Verdict } from '../signature/verify.js';
import { parseXml, XmlError } from '../xml/parser.js';
import type { XmlDocument, XmlElement } from '../xml/types.js';
import type { Command } from './command.js';

const SHORT: Record<string, string> = {
  'http://www.w3.org/2001/10/xml-exc-c14n#': 'exc-c14n',
  'http://www.w3.org/2001/10/xml-exc-c14n#WithComments': 'exc-c14n#WithComments',
  'http://www.w3.org/TR/2001/REC-xml-c14n-20010315': 'c14n',
  'urn://smev-gov-ru/xmldsig/transform': 'smev',
  'http://www.w3.org/2000/09/xmldsig#enveloped-signature': 'enveloped-signature',
};

export const verifyCommand: Command = {
  summary: 'verify every signature in an XML file; exit 0 valid, 1 invalid',
  usage: 'verify FILE [--trust CA.pem] [--partners FILE] [--ignore-trust] [--at ISO-DATE] [--save-certs FILE]',
  async run(args) {
    let values: { trust?: string; partners?: string; 'ignore-trust'?: boolean; at?: string; 'save-certs'?: string };
    let positionals: string[];
    try {
      ({ values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: { trust: { type: 'string' }, partners: { type: 'string' }, 'ignore-trust': { type: 'boolean' }, at: { type: 'string' }, 'save-certs': { type: 'string' } },
      }));
    } catch (error) {
      process.stderr.write(`okno verify: ${(error as Error).message}\nusage: okno ${this.usage}\n`);
      return 2;
    }
    const now = values.at ? new Date(values.at) : new Date();
    if (positionals.length !== 1 || Number.isNaN(now.getTime())) {
      process.stderr.write(`usage: okno ${this.usage}\n`);
      return 2;
    }
    const file = positionals[0]!;
    let input: Buffer;
    try {
      input = readFileSync(file);
    } catch (error) {
      process.stderr.write(`okno verify: cannot read ${file}: ${(error as NodeJS.ErrnoException).code}\n`);
      return 2;
    }
    const ignoreTrust = values['ignore-trust'] === true;
    let trust: TrustAnchorSet | null = null;
    let partnerOf: ((fingerprint: string) => string | undefined) | undefined;
    try {
      if (!ignoreTrust) {
        trust = new TrustAnchorSet(splitPem(readFileSync(values.trust ?? process.env.TRUST_CA_FILE ?? 'certs-sample/ca.crt.pem', 'utf8')));
        const { registry } = loadPartners(values.partners ?? process.env.PARTNERS_FILE ?? 'config/partners.json');
        partnerOf = (fp) => registry.partners.find((p) => p.certificates.some((c) => c.fingerprint256 === fp))?.id;
      }
    } catch (error) {
      process.stderr.write(`okno verify: ${(error as Error).message}\n`);
      return 2;
    }

    let doc: XmlDocument;
    try {
      doc = parseXml(input);
    } catch (error) {
      if (!(error instanceof XmlError)) throw error;
      process.stdout.write(`${file}\n  verdict      INVALID (${error.code}: ${error.message})\n`);
      return 1;
    }
    const signatures = findSignatures(doc.root);
    if (signatures.length === 0) {
      process.stdout.write(`${file}\n  verdict      INVALID (NoSignatureFound: no ds:Signature in the document)\n`);
      return 1;
    }
    const expected = expectedTargets(doc);
    let allGood = true;
    process.stdout.write(`${file}\n`);
    const hints: string[] = [];
    const certificates: Certificate[] = [];
    signatures.forEach((signature, i) => {
      const verdict = verifySignature(doc, signature, expected.get(signature) ?? null, {
        trust,
        partnerOf: partnerOf ? (cert) => partnerOf!(cert.fingerprintSha256) : undefined,
        now,
      });
      const good = ignoreTrust ? verdict.math === 'valid' : verdict.valid;
      allGood &&= good;
      if (verdict.details.certificate && !certificates.includes(verdict.details.certificate)) certificates.push(verdict.details.certificate);
      process.stdout.write(describe(verdict, `signature ${i + 1} of ${signatures.length} in ${signature.parent?.localName ?? 'document'}`, ignoreTrust, good));
      if (!good && onlyTrustFails(verdict)) for (const h of trustHints(verdict, file, values['save-certs'], now)) if (!hints.includes(h)) hints.push(h);
    });
    if (values['save-certs']) {
      writeFileSync(values['save-certs'], certificates.map(pemOf).join(''));
      process.stdout.write(`wrote ${certificates.length} signer certificate(s) to ${values['save-certs']}\n`);
    }
    if (hints.length > 0) process.stdout.write(`\nThe signature is mathematically valid; only trust failed. To accept it:\n${hints.map((h) => `  ${h}\n`).join('')}`);
    return allGood ? 0 : 1;
  },
};

function findSignatures(root: XmlElement): XmlElement[] {
  const out: XmlElement[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const el = stack.pop()!;
    if (el.namespaceURI === DSIG_NS && el.localName === 'Signature') out.push(el);
    for (let i = el.children.length - 1; i >= 0; i--) {
      const c = el.children[i]!;
      if (c.type === 'element') stack.push(c);
    }
  }
  return out;
}

/** For SMEV request envelopes, the profile says what each signature must cover. */
function expectedTargets(doc: XmlDocument): Map<XmlElement, XmlElement> {
  const map = new Map<XmlElement, XmlElement>();
  try {
    const parts = locateSmevParts(doc);
    map.set(parts.callerSignature, parts.signed);
    if (parts.personal) map.set(parts.personal.signature, parts.personal.target);
  } catch (error) {
    if (!(error instanceof SignatureFailure)) throw error;
  }
  return map;
}

function describe(v: Verdict<string>, title: string, ignoreTrust: boolean, good: boolean): string {
  const d = v.details;
  const lines = [`${title}`];
  if (d.signatureAlgorithm) lines.push(`  algorithm    ${d.signatureAlgorithmName ?? '?'} (${d.signatureAlgorithm})`);
  if (d.digestAlgorithm) lines.push(`  digest       ${d.digestAlgorithm}`);
  if (d.transforms) lines.push(`  transforms   ${d.transforms.map((t) => SHORT[t] ?? t).join(', ') || '(none)'}`);
  if (d.referenceId) lines.push(`  reference    #${d.referenceId}${d.targetName ? ` -> ${d.targetName}` : ''}`);
  if (d.certificate) {
    const c = d.certificate;
    lines.push(`  certificate  ${c.subject} (issuer ${c.issuer}; valid ${c.notBefore.toISOString().slice(0, 10)} to ${c.notAfter.toISOString().slice(0, 10)})`);
  }
  lines.push(`  mathematics  ${v.math}`);
  if (ignoreTrust) lines.push('  trust        not checked (--ignore-trust)');
  else if (v.trust) lines.push(`  trust        ${v.trust.trusted ? `trusted: ${v.trust.message}` : `NOT trusted: ${v.trust.message}`}`);
  if (v.partner) lines.push(`  partner      ${v.partner}`);
  const verdict = good ? 'VALID' : onlyTrustFails(v) ? `INVALID: mathematically valid; certificate not trusted: ${v.message} (${v.reason ?? 'CertificateIsNotFound'})` : `INVALID (${v.reason ?? 'SignatureIsInvalid'}: ${v.message})`;
  lines.push(`  verdict      ${verdict}`);
  return `${lines.join('\n')}\n`;
}

/** The mathematics holds and what failed is the certificate: not trusted, out of its validity, or registered to no partner. */
function onlyTrustFails(v: Verdict<string>): boolean {
  return !v.valid && v.math === 'valid' && v.details.certificate !== undefined && v.trust !== null && (!v.trust.trusted || v.partner === null);
}

/** What to pass so that this signature's certificate is accepted, each a ready command line. */
function trustHints(v: Verdict<string>, file: string, saveCerts: string | undefined, at: Date): string[] {
  const cert = v.details.certificate!;
  const hints: string[] = [];
  const selfSigned = cert.subject === cert.issuer;
  const certFile = saveCerts ?? 'signer.pem';
  if (v.trust && !v.trust.trusted && v.reason !== 'CertificateIsExpired') {
    hints.push(
      selfSigned
        ? `the certificate is self-signed: it is its own anchor. Save it and trust it: okno verify ${file} --save-certs ${certFile}, then okno verify ${file} --trust ${certFile}`
        : `pass --trust CA.pem with the CA that issued it ("${cert.issuer}"): okno verify ${file} --trust CA.pem`,
    );
  }
  const now = at.getTime();
  if (cert.notAfter.getTime() < now || cert.notBefore.getTime() > now || v.reason === 'CertificateIsExpired') {
    const inside = new Date(Math.max(cert.notBefore.getTime(), cert.notAfter.getTime() - 86_400_000)).toISOString().slice(0, 10);
    hints.push(`the certificate is valid from ${cert.notBefore.toISOString().slice(0, 10)} to ${cert.notAfter.toISOString().slice(0, 10)}: check it at a moment inside, --at ${inside}`);
  }
  if (v.trust?.trusted && v.partner === null) hints.push(`the certificate is trusted but no partner registers it: --partners FILE with a registry that lists it`);
  hints.push(`or check the mathematics only: okno verify ${file} --ignore-trust`);
  return hints;
}

function pemOf(cert: Certificate): string {
  const b64 = cert.der.toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}-----END CERTIFICATE-----\n`;
}
