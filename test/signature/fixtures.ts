/**
 * Shared material for the signature suites: the sample PKI (certs-sample/),
 * freshly signed SMEV SendRequest envelopes, the sample trust set and partner
 * registry, certificates issued at test time with the openssl CLI, and a few
 * text-editing helpers that refuse to do nothing silently.
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path, { join } from 'node:path';
import { parseCertificate, type Certificate } from '../../src/pki/certificate.js';
import { DSIG_NS } from '../../src/signature/dsig.js';
import { signDocument, type SignatureProfile } from '../../src/signature/sign.js';
import { LocalKeySigner } from '../../src/pki/signer.js';
import { TrustAnchorSet } from '../../src/pki/trust.js';
import type { XmlElement } from '../../src/xml/types.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const CERTS_DIR = join(ROOT, 'certs-sample');
/** Unchanged copies of /work/shared/interop/smev3-samples (see its README). */
export const SAMPLES_DIR = join(ROOT, 'test/fixtures/smev3-samples');

export const TYPES_11 = 'urn://x-artefacts-smev-gov-ru/services/message-exchange/types/1.1';
export const SOAP_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const SIGNED_ID = 'SIGNED_BY_CONSUMER';

export type SampleName = 'ca' | 'gateway' | 'portal' | 'agency' | 'untrusted' | 'expired';
export type Partner = 'portal' | 'agency';

export const certPath = (name: SampleName): string => join(CERTS_DIR, `${name}.crt.pem`);
export const keyPath = (name: SampleName): string => join(CERTS_DIR, `${name}.key.pem`);
export const certPem = (name: SampleName): string => readFileSync(certPath(name), 'utf8');
export const sampleCert = (name: SampleName): Certificate => parseCertificate(certPem(name));

/** Key and certificate files (PEM) of a signing identity. */
export interface KeyFiles {
  key: string;
  cert: string;
}

export const sampleFiles = (name: SampleName): KeyFiles => ({ key: keyPath(name), cert: certPath(name) });

export function signerFor(identity: SampleName | KeyFiles): LocalKeySigner {
  const files = typeof identity === 'string' ? sampleFiles(identity) : identity;
  return new LocalKeySigner(createPrivateKey(readFileSync(files.key)), readFileSync(files.cert, 'utf8'));
}

/** The trust set of the sample CA. */
export const sampleTrust = (): TrustAnchorSet => new TrustAnchorSet([certPem('ca')]);

const PARTNERS = new Map<string, Partner>([
  [sampleCert('portal').fingerprintSha256, 'portal'],
  [sampleCert('agency').fingerprintSha256, 'agency'],
]);

/** The partner registry of the tests: the portal and agency certificates, by SHA-256 fingerprint. */
export const partnerOf = (cert: Certificate): Partner | undefined => PARTNERS.get(cert.fingerprintSha256);

export const readSample = (file: string): string => readFileSync(join(SAMPLES_DIR, file), 'utf8');

/**
 * The official SendRequestRequest sample (types namespace 1.1) with its GOST
 * signature removed: an empty CallerInformationSystemSignature, ready for
 * signDocument. `primaryContent` replaces the BreachRequest business element
 * when given (e.g. a very large one).
 */
export function unsignedSendRequest(primaryContent?: string): string {
  let xml = replaceOnce(
    readSample('SendRequestRequestNoAttach.xml'),
    /<ns2:CallerInformationSystemSignature>[\s\S]*<\/ns2:CallerInformationSystemSignature>/,
    '<ns2:CallerInformationSystemSignature/>',
  );
  if (primaryContent !== undefined) {
    xml = replaceOnce(xml, /<ns1:BreachRequest [\s\S]*<\/ns1:BreachRequest>/, primaryContent);
  }
  return xml;
}

export interface SignedEnvelopeOptions {
  identity?: SampleName | KeyFiles;
  profile?: SignatureProfile;
  primaryContent?: string;
}

/** A freshly signed SMEV SendRequest envelope (portal key and smev profile unless told otherwise). */
export async function signedSendRequest(options: SignedEnvelopeOptions = {}): Promise<string> {
  return signDocument(unsignedSendRequest(options.primaryContent), {
    signer: signerFor(options.identity ?? 'portal'),
    profile: options.profile ?? 'smev',
  });
}

export const tempDir = (): string => mkdtempSync(join(tmpdir(), 'okno-sig-'));

export interface IssueOptions {
  cn: string;
  /** openssl keyUsage extension value; default `critical,digitalSignature,nonRepudiation`. */
  keyUsage?: string;
  /** Key type: RSA-2048 (default) or ECDSA P-256. */
  keyType?: 'rsa' | 'ec';
  /** Issuer other than the sample CA (e.g. a leaf, to build a chain no CA allowed). */
  issuer?: KeyFiles;
}

/**
 * Issues a certificate from the sample CA (or `issuer`) with the openssl CLI, valid from now
 * for 30 days, into `dir`. The CA's files are only read (an explicit random
 * serial: no ca.srl is written next to them).
 */
export function issueFromSampleCa(dir: string, options: IssueOptions): KeyFiles {
  const base = join(dir, options.cn);
  const files = { key: `${base}.key.pem`, cert: `${base}.crt.pem` };
  const csr = `${base}.csr.pem`;
  const ext = `${base}.ext`;
  writeFileSync(ext, `basicConstraints=critical,CA:FALSE\nkeyUsage=${options.keyUsage ?? 'critical,digitalSignature,nonRepudiation'}\n`);
  const newkey = options.keyType === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['-newkey', 'rsa:2048'];
  execFileSync('openssl', ['req', '-new', ...newkey, '-nodes', '-keyout', files.key, '-subj', `/C=RU/O=Okno Sample PKI (TEST ONLY)/CN=${options.cn}`, '-out', csr], { stdio: 'pipe' });
  execFileSync(
    'openssl',
    ['x509', '-req', '-in', csr, '-CA', options.issuer?.cert ?? certPath('ca'), '-CAkey', options.issuer?.key ?? keyPath('ca'), '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '30', '-sha256', '-extfile', ext, '-out', files.cert],
    { stdio: 'pipe' },
  );
  return files;
}

/** Replaces exactly one match of `search`; throws when there is none or more than one, so a mutation can never silently not happen. */
export function replaceOnce(text: string, search: string | RegExp, replacement: string): string {
  const count = typeof search === 'string' ? text.split(search).length - 1 : (text.match(new RegExp(search.source, `${search.flags.replace('g', '')}g`)) ?? []).length;
  if (count !== 1) throw new Error(`expected exactly one match of ${String(search).slice(0, 80)}, found ${count}`);
  return typeof search === 'string' ? text.replace(search, () => replacement) : text.replace(search, () => replacement);
}

/** The text of the element that starts with `openTagStart` (e.g. `<ns:SenderProvidedRequestData `) and ends with `</qName>` (the first such end tag). */
export function elementText(text: string, openTagStart: string, qName: string): string {
  const start = text.indexOf(openTagStart);
  if (start === -1 || text.indexOf(openTagStart, start + 1) !== -1) throw new Error(`expected exactly one ${openTagStart}`);
  const endTag = `</${qName}>`;
  const end = text.indexOf(endTag, start);
  if (end === -1) throw new Error(`no ${endTag} after ${openTagStart}`);
  return text.slice(start, end + endTag.length);
}

/** Every ds:Signature element under `el`, in document order. */
export function dsSignatures(el: XmlElement, out: XmlElement[] = []): XmlElement[] {
  if (el.namespaceURI === DSIG_NS && el.localName === 'Signature') out.push(el);
  for (const c of el.children) if (c.type === 'element') dsSignatures(c, out);
  return out;
}
