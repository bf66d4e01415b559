/**
 * `okno verify-file FILE --signature SIG.p7s`: a detached CMS (PKCS#7) signature over a file,
 * checked offline as the gateway checks SMEV attachments (src/pki/cms). Exit codes and the
 * verdict's wording are `okno verify`'s.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseCertificate, type Certificate } from '../pki/certificate.js';
import { verifyDetachedCms, type CmsSignerVerdict } from '../pki/cms/index.js';
import { splitPem } from '../pki/gateway-identity.js';
import { TrustAnchorSet } from '../pki/trust.js';
import type { Command } from './command.js';

export const verifyFileCommand: Command = {
  summary: 'verify a detached CMS (PKCS#7) signature over a file; exit 0 valid, 1 invalid',
  usage: 'verify-file FILE --signature SIG.p7s [--trust CA.pem]… [--certs FILE] [--ignore-trust] [--at ISO-DATE]',
  async run(args) {
    let values: { signature?: string; trust?: string[]; certs?: string; 'ignore-trust'?: boolean; at?: string };
    let positionals: string[];
    try {
      ({ values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: { signature: { type: 'string' }, trust: { type: 'string', multiple: true }, certs: { type: 'string' }, 'ignore-trust': { type: 'boolean' }, at: { type: 'string' } },
      }));
    } catch (error) {
      process.stderr.write(`okno verify-file: ${(error as Error).message}\nusage: okno ${this.usage}\n`);
      return 2;
    }
    const now = values.at ? new Date(values.at) : new Date();
    if (positionals.length !== 1 || !values.signature || Number.isNaN(now.getTime())) {
      process.stderr.write(`usage: okno ${this.usage}\n`);
      return 2;
    }
    const file = positionals[0]!;
    let content: Buffer;
    let signature: Buffer;
    try {
      content = readFileSync(file);
      signature = readFileSync(values.signature);
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      process.stderr.write(`okno verify-file: cannot read ${e.path ?? file}: ${e.code}\n`);
      return 2;
    }
    const ignoreTrust = values['ignore-trust'] === true;
    let trust: TrustAnchorSet | null = null;
    let extra: Certificate[] = [];
    try {
      if (!ignoreTrust) {
        const files = values.trust ?? [process.env.TRUST_CA_FILE ?? 'certs-sample/ca.crt.pem'];
        trust = new TrustAnchorSet(files.flatMap((f) => splitPem(readFileSync(f, 'utf8'))));
      }
      if (values.certs) extra = splitPem(readFileSync(values.certs, 'utf8')).map((p) => parseCertificate(p));
    } catch (error) {
      process.stderr.write(`okno verify-file: ${(error as Error).message}\n`);
      return 2;
    }
    const verdict = verifyDetachedCms(content, signature, { trust, now, certificates: extra });
    process.stdout.write(`${file}\n  signature    ${values.signature}\n`);
    if (verdict.signers.length === 0) {
      process.stdout.write(`  verdict      INVALID (${verdict.reason ?? 'SignatureIsInvalid'}: ${verdict.message})\n`);
      return 1;
    }
    let allGood = true;
    verdict.signers.forEach((s, i) => {
      const good = ignoreTrust ? s.math === 'valid' && s.reasons.length === 0 : s.valid;
      allGood &&= good;
      process.stdout.write(describe(s, `signer ${i + 1} of ${verdict.signers.length}`, ignoreTrust, good));
    });
    return allGood ? 0 : 1;
  },
};

function describe(s: CmsSignerVerdict, title: string, ignoreTrust: boolean, good: boolean): string {
  const lines = [title];
  if (s.algorithm) lines.push(`  algorithm    ${s.algorithm}`);
  if (s.digestAlgorithm) lines.push(`  digest       ${s.digestAlgorithm}`);
  lines.push(`  attributes   ${s.signedAttributes ? 'signed (contentType, messageDigest' + (s.signingTime ? ', signingTime)' : ')') : 'none: the signature is over the file itself'}`);
  if (s.signingTime) lines.push(`  signed at    ${s.signingTime.toISOString()}`);
  if (s.certificate) {
    const c = s.certificate;
    lines.push(`  certificate  ${c.subject} (issuer ${c.issuer}; serial ${c.serialHex}; valid ${c.notBefore.toISOString().slice(0, 10)} to ${c.notAfter.toISOString().slice(0, 10)})`);
  }
  lines.push(`  mathematics  ${s.math}`);
  if (ignoreTrust) lines.push('  trust        not checked (--ignore-trust)');
  else if (s.trust) lines.push(`  trust        ${s.trust.trusted ? `trusted: ${s.trust.message}` : `NOT trusted: ${s.trust.message}`}`);
  const onlyTrustFails = !s.valid && s.math === 'valid' && s.certificate !== undefined;
  const verdict = good
    ? 'VALID'
    : onlyTrustFails
      ? `INVALID: mathematically valid; certificate not trusted: ${s.message} (${s.reason ?? 'CertificateIsNotFound'})`
      : `INVALID (${s.reason ?? 'SignatureIsInvalid'}: ${s.message})`;
  lines.push(`  verdict      ${verdict}`);
  return `${lines.join('\n')}\n`;
}
