/**
 * The sample PKI (test only): a CA, certificates for the gateway, the portal and
 * an agency, a self-signed "untrusted" one and an expired one, all RSA-2048.
 * Keys come from node:crypto (fast); certificates are built with node-forge.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import forge from 'node-forge';

/** Marker in every sample subject; production start-up refuses certificates carrying it. */
export const SAMPLE_ORGANIZATION = 'Okno Sample PKI (TEST ONLY)';

const YEAR_MS = 365.25 * 24 * 3600 * 1000;

interface Identity {
  key: forge.pki.rsa.PrivateKey;
  publicKey: forge.pki.rsa.PublicKey;
  keyPem: string;
}

interface Issued extends Identity {
  cert: forge.pki.Certificate;
}

export interface SamplePkiOptions {
  /** Years the valid certificates last (default 20). */
  years?: number;
  now?: Date;
}

/** Files of the sample PKI, named as docs/contract.md §1 lists them. */
export const SAMPLE_FILES = [
  'ca.crt.pem', 'ca.key.pem',
  'gateway.crt.pem', 'gateway.key.pem',
  'portal.crt.pem', 'portal.key.pem',
  'agency.crt.pem', 'agency.key.pem',
  'untrusted.crt.pem', 'untrusted.key.pem',
  'expired.crt.pem', 'expired.key.pem',
] as const;

export function makeSamplePki(options: SamplePkiOptions = {}): Map<string, string> {
  const now = options.now ?? new Date();
  const years = options.years ?? 20;
  const from = new Date(now.getTime() - 24 * 3600 * 1000);
  const until = new Date(now.getTime() + years * YEAR_MS);

  const ca = issue({
    cn: 'Okno Test CA',
    from,
    until,
    ca: true,
  });
  const leaf = (cn: string, extra: { dns?: string[] } = {}): Issued =>
    issue({ cn, from, until, issuer: ca, dns: extra.dns });

  const files = new Map<string, string>();
  const put = (name: string, id: Issued): void => {
    files.set(`${name}.crt.pem`, forge.pki.certificateToPem(id.cert));
    files.set(`${name}.key.pem`, id.keyPem);
  };
  put('ca', ca);
  put('gateway', leaf('okno-gateway', { dns: ['localhost'] }));
  put('portal', leaf('portal'));
  put('agency', leaf('agency'));
  put('untrusted', issue({ cn: 'untrusted', from, until, selfSigned: true }));
  put('expired', issue({ cn: 'expired', from: new Date('2020-01-01T00:00:00Z'), until: new Date('2021-01-01T00:00:00Z'), issuer: ca }));
  return files;
}

export function writeSamplePki(dir: string, options: SamplePkiOptions = {}): string[] {
  mkdirSync(dir, { recursive: true });
  const files = makeSamplePki(options);
  for (const [name, pem] of files) {
    writeFileSync(path.join(dir, name), pem, { mode: name.endsWith('.key.pem') ? 0o600 : 0o644 });
  }
  return [...files.keys()];
}

function newIdentity(): Identity {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const key = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  return { key, keyPem, publicKey: forge.pki.setRsaPublicKey(key.n, key.e) };
}

interface IssueSpec {
  cn: string;
  from: Date;
  until: Date;
  ca?: boolean;
  issuer?: Issued;
  selfSigned?: boolean;
  dns?: string[];
}

function issue(spec: IssueSpec): Issued {
  const id = newIdentity();
  const cert = forge.pki.createCertificate();
  cert.publicKey = id.publicKey;
  // A positive 16-byte serial (leading bit cleared), as RFC 5280 asks.
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f;
  cert.serialNumber = serial.toString('hex');
  cert.validity.notBefore = spec.from;
  cert.validity.notAfter = spec.until;
  const subject = [
    { name: 'commonName', value: spec.cn },
    { name: 'organizationName', value: SAMPLE_ORGANIZATION },
    { name: 'countryName', value: 'RU' },
  ];
  cert.setSubject(subject);
  cert.setIssuer(spec.issuer ? spec.issuer.cert.subject.attributes : subject);

  const extensions: object[] = [
    { name: 'subjectKeyIdentifier' },
  ];
  if (spec.ca) {
    extensions.push(
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    );
  } else {
    extensions.push(
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, nonRepudiation: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    );
    if (spec.dns) {
      extensions.push({
        name: 'subjectAltName',
        altNames: [...spec.dns.map((value) => ({ type: 2, value })), { type: 7, ip: '127.0.0.1' }],
      });
    }
  }
  if (spec.issuer) {
    extensions.push({ name: 'authorityKeyIdentifier', keyIdentifier: spec.issuer.cert.generateSubjectKeyIdentifier().getBytes() });
  }
  cert.setExtensions(extensions);
  cert.sign(spec.issuer?.key ?? id.key, forge.md.sha256.create());
  return { ...id, cert };
}

/**
 * A leaf certificate and key issued by a CA given as PEM (e.g. the sample
 * CA): for identities made at run time — the SMEV exchange simulator's own,
 * test signers — without adding files to certs-sample/.
 */
export function issueLeafCertificate(o: { caCertPem: string; caKeyPem: string; commonName: string; days?: number; now?: Date }): { certPem: string; keyPem: string } {
  const now = o.now ?? new Date();
  const caCert = forge.pki.certificateFromPem(o.caCertPem);
  const caKey = forge.pki.privateKeyFromPem(o.caKeyPem) as forge.pki.rsa.PrivateKey;
  const issuer: Issued = { cert: caCert, key: caKey, keyPem: o.caKeyPem, publicKey: caCert.publicKey as forge.pki.rsa.PublicKey };
  const leaf = issue({
    cn: o.commonName,
    from: new Date(now.getTime() - 3600 * 1000),
    until: new Date(now.getTime() + (o.days ?? 365) * 24 * 3600 * 1000),
    issuer,
  });
  return { certPem: forge.pki.certificateToPem(leaf.cert), keyPem: leaf.keyPem };
}
