/**
 * The GOST side of the sample PKI (test only): a CA and the gateway, portal,
 * agency and SMEV exchange simulator, every key GOST R 34.10-2012 256-bit on the CryptoPro-XchA
 * parameter set, every certificate signed with GOST R 34.10-2012 over
 * Streebog-256 (1.2.643.7.1.1.3.2). Built in-process: keys from our GOST
 * arithmetic, certificates with der-writer.ts, no openssl at run time.
 *
 * Why XchA: the SMEV 3 test contour's CA ("Тестовый УЦ РТК") issues
 * GOST 2012-256 certificates whose key is on id-GostR3410-2001-CryptoPro-XchA-ParamSet
 * with the Streebog-256 digest parameter — see the certificate in
 * test/fixtures/smev3-samples/smev3sharp-SendRequestResponce.xml; CryptoPro CSP makes
 * such keys by default. It is the curve of CryptoPro-A under another OID.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  CURVE_OIDS,
  GOST2012_256_URI,
  generateGostKeyPair,
  getSignatureAlgorithm,
  type GostPrivateKey,
  type GostPublicKey,
} from '../crypto/index.js';
import {
  bitString,
  boolean,
  explicit,
  implicitPrimitive,
  namedBits,
  octetString,
  oid,
  pem,
  printableString,
  sequence,
  set,
  smallInteger,
  time,
  unsignedInteger,
  utf8String,
} from './der-writer.js';
import { gostPrivateKeyPem, gostSubjectPublicKeyBits, gostSubjectPublicKeyInfo } from './gost-key-encoding.js';
import { SAMPLE_ORGANIZATION } from './sample-pki.js';

/** Sub-folder of certs-sample/ holding the GOST side. */
export const GOST_SAMPLE_DIR = 'gost';

export const GOST_SAMPLE_FILES = [
  'ca.crt.pem', 'ca.key.pem',
  'gateway.crt.pem', 'gateway.key.pem',
  'portal.crt.pem', 'portal.key.pem',
  'agency.crt.pem', 'agency.key.pem',
  'exchange.crt.pem', 'exchange.key.pem',
] as const;

/** The parameter set of every sample GOST key (see the header). */
export const GOST_SAMPLE_CURVE = CURVE_OIDS.cryptoProXchA;

/** GOST R 34.10-2012 with GOST R 34.11-2012 (256 bit): RFC 9215 §3; parameters absent. */
const SIGNATURE_OID_256 = '1.2.643.7.1.1.3.2';

const YEAR_MS = 365.25 * 24 * 3600 * 1000;

const KEY_USAGE_BIT = { digitalSignature: 0, nonRepudiation: 1, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 } as const;

interface GostIdentity {
  privateKey: GostPrivateKey;
  publicKey: GostPublicKey;
  /** DER of the subject Name. */
  name: Buffer;
  keyId: Buffer;
}

interface GostIssued extends GostIdentity {
  der: Buffer;
}

export interface GostSamplePkiOptions {
  /** Years the certificates last (default 20). */
  years?: number;
  now?: Date;
}

function subjectName(cn: string): Buffer {
  // X.500 order, most general first: C, O, CN (printed "CN=…, O=…, C=RU" in RFC 4514 order).
  return sequence(
    set(sequence(oid('2.5.4.6'), printableString('RU'))),
    set(sequence(oid('2.5.4.10'), utf8String(SAMPLE_ORGANIZATION))),
    set(sequence(oid('2.5.4.3'), utf8String(cn))),
  );
}

function newIdentity(cn: string): GostIdentity {
  const { privateKey, publicKey } = generateGostKeyPair('gost2012-256', GOST_SAMPLE_CURVE);
  // RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING's value (what openssl computes).
  const keyId = createHash('sha1').update(gostSubjectPublicKeyBits(publicKey)).digest();
  return { privateKey, publicKey, name: subjectName(cn), keyId };
}

const extension = (id: string, critical: boolean, value: Buffer): Buffer =>
  sequence(oid(id), ...(critical ? [boolean(true)] : []), octetString(value));

interface IssueSpec {
  subject: GostIdentity;
  /** Absent: self-signed. */
  issuer?: GostIdentity;
  from: Date;
  until: Date;
  ca: boolean;
  dns?: string[];
  ips?: string[];
}

function ipBytes(ip: string): Buffer {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`not an IPv4 address: ${ip}`);
  return Buffer.from(parts);
}

function issue(spec: IssueSpec): GostIssued {
  const issuer = spec.issuer ?? spec.subject;
  // A positive 16-byte serial (leading bit cleared, first octet non-zero), as RFC 5280 asks.
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  const signatureAlgorithm = sequence(oid(SIGNATURE_OID_256));
  const extensions = [
    extension('2.5.29.19', true, spec.ca ? sequence(boolean(true)) : sequence()),
    extension(
      '2.5.29.15',
      true,
      namedBits(
        spec.ca
          ? [KEY_USAGE_BIT.digitalSignature, KEY_USAGE_BIT.keyCertSign, KEY_USAGE_BIT.cRLSign]
          : [KEY_USAGE_BIT.digitalSignature, KEY_USAGE_BIT.nonRepudiation],
      ),
    ),
    ...(spec.ca ? [] : [extension('2.5.29.37', false, sequence(oid('1.3.6.1.5.5.7.3.1'), oid('1.3.6.1.5.5.7.3.2')))]),
    extension('2.5.29.14', false, octetString(spec.subject.keyId)),
    ...(spec.issuer ? [extension('2.5.29.35', false, sequence(implicitPrimitive(0, spec.issuer.keyId)))] : []),
    ...(spec.dns?.length || spec.ips?.length
      ? [
          extension(
            '2.5.29.17',
            false,
            sequence(
              ...(spec.dns ?? []).map((d) => implicitPrimitive(2, Buffer.from(d, 'ascii'))),
              ...(spec.ips ?? []).map((ip) => implicitPrimitive(7, ipBytes(ip))),
            ),
          ),
        ]
      : []),
  ];
  const tbs = sequence(
    explicit(0, smallInteger(2)), // v3
    unsignedInteger(serial),
    signatureAlgorithm,
    issuer.name,
    sequence(time(spec.from), time(spec.until)),
    spec.subject.name,
    gostSubjectPublicKeyInfo(spec.subject.publicKey),
    explicit(3, sequence(...extensions)),
  );
  // signatureValue: s ‖ r, each big-endian (RFC 4491 §2.2.2 / RFC 9215), as the algorithm returns it.
  const signature = getSignatureAlgorithm(GOST2012_256_URI).sign!(tbs, issuer.privateKey);
  return { ...spec.subject, der: sequence(tbs, signatureAlgorithm, bitString(signature)) };
}

/** The GOST sample PKI: file name (inside certs-sample/gost/) → PEM. */
export function makeGostSamplePki(options: GostSamplePkiOptions = {}): Map<string, string> {
  const now = options.now ?? new Date();
  const years = options.years ?? 20;
  const from = new Date(Math.floor((now.getTime() - 24 * 3600 * 1000) / 1000) * 1000);
  const until = new Date(Math.floor((now.getTime() + years * YEAR_MS) / 1000) * 1000);

  const ca = issue({ subject: newIdentity('Okno Test CA (GOST)'), from, until, ca: true });
  const leaf = (cn: string, extra: { dns?: string[]; ips?: string[] } = {}): GostIssued =>
    issue({ subject: newIdentity(cn), issuer: ca, from, until, ca: false, ...extra });

  const files = new Map<string, string>();
  const put = (name: string, id: GostIssued): void => {
    files.set(`${name}.crt.pem`, pem('CERTIFICATE', id.der));
    files.set(`${name}.key.pem`, gostPrivateKeyPem(id.privateKey));
  };
  put('ca', ca);
  put('gateway', leaf('okno-gateway (GOST)', { dns: ['localhost'], ips: ['127.0.0.1'] }));
  put('portal', leaf('portal (GOST)'));
  put('agency', leaf('agency (GOST)'));
  // The RSA side issues the exchange simulator's certificate at run time; GOST keys of a CA are
  // not read at run time (no openssl), so its identity is part of the set.
  put('exchange', leaf('smev-exchange-simulator (GOST)'));
  return files;
}

/** Writes the GOST side into `dir`/gost/; returns the paths written, relative to `dir`. */
export function writeGostSamplePki(dir: string, options: GostSamplePkiOptions = {}): string[] {
  const gostDir = path.join(dir, GOST_SAMPLE_DIR);
  mkdirSync(gostDir, { recursive: true });
  const files = makeGostSamplePki(options);
  for (const [name, text] of files) {
    writeFileSync(path.join(gostDir, name), text, { mode: name.endsWith('.key.pem') ? 0o600 : 0o644 });
  }
  return [...files.keys()].map((name) => `${GOST_SAMPLE_DIR}/${name}`);
}
