/**
 * Micro-benchmark: Okno's signature engine against xml-crypto used the way its
 * README shows, on SMEV 3 SendRequest envelopes of ~0.4 KB (the smallest
 * complete one is 0.6 KB), 8 KB, 86 KB and 1 MB; plus exc-c14n throughput and
 * the crypto floor (node:crypto RSA-2048, GOST R 34.10-2012-256) in the same run.
 *
 *   npx tsx bench/signature.ts [--quick] [--json out.json]
 *
 * Every path is checked before it is timed: each side verifies its own output
 * and the other's, and rejects a tampered copy; the process exits 1 otherwise.
 */
import { createPrivateKey, createPublicKey, sign as rsaSign, verify as rsaVerify } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { DOMParser } from '@xmldom/xmldom';
import { ExclusiveCanonicalization, findAncestorNs, SignedXml } from 'xml-crypto';
import { parseCertificate, type Certificate } from '../src/pki/certificate.js';
import { readPrivateKey } from '../src/pki/private-key.js';
import { GOST2012_256_URI, getSignatureAlgorithm } from '../src/crypto/index.js';
import { DSIG_NS } from '../src/signature/dsig.js';
import { signDocument, type SignatureProfile } from '../src/signature/sign.js';
import { LocalKeySigner } from '../src/pki/signer.js';
import { verifySmevEnvelope } from '../src/signature/smev-profile.js';
import { TrustAnchorSet } from '../src/pki/trust.js';
import { excC14n } from '../src/xml/c14n.js';
import { parseXml } from '../src/xml/parser.js';
import type { XmlElement } from '../src/xml/types.js';
import { envelopeOfSize, KB, MB, TYPES_NS, type Envelope } from './lib/envelopes.js';
import { measure, measurePair, type Measurement, type MeasureOptions } from './lib/measure.js';
import { xmlCryptoSign, xmlCryptoVerify, type XmlCryptoKeys } from './lib/xmlcrypto.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const read = (p: string) => readFileSync(path.join(root, p), 'utf8');

// ---------------------------------------------------------------- arguments

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const jsonAt = argv.indexOf('--json');
const jsonOut = jsonAt >= 0 ? argv[jsonAt + 1] : undefined;
if (jsonAt >= 0 && (!jsonOut || jsonOut.startsWith('--'))) usage('--json needs a file name');
for (const [i, a] of argv.entries()) {
  if (a !== '--quick' && a !== '--json' && i !== jsonAt + 1) usage(`unknown argument ${a}`);
}
function usage(message: string): never {
  console.error(`${message}\nusage: npx tsx bench/signature.ts [--quick] [--json out.json]`);
  process.exit(2);
}

const loadAverageAtStart = os.loadavg();
const timing: MeasureOptions = quick ? { warmupMs: 100, runMs: 300, minRuns: 3 } : { warmupMs: 500, runMs: 2000, minRuns: 3 };

// ---------------------------------------------------------------- keys and trust

const portalKeyPem = read('certs-sample/portal.key.pem');
const portalCertPem = read('certs-sample/portal.crt.pem');
const portalKey = createPrivateKey(portalKeyPem);
const portalPublicKey = createPublicKey(portalKey);
const portalCert = parseCertificate(portalCertPem);
const rsaSigner = new LocalKeySigner(portalKey, portalCert);
const rsaTrust = new TrustAnchorSet([read('certs-sample/ca.crt.pem')]);
const xcKeys: XmlCryptoKeys = { privateKey: portalKeyPem, publicCert: portalCertPem };

const gostKey = readPrivateKey(Buffer.from(read('test/fixtures/gost/leaf.key.pem'))).key;
const gostCert = parseCertificate(read('test/fixtures/gost/leaf.pem'));
const gostSigner = new LocalKeySigner(gostKey, gostCert);
const gostTrust = new TrustAnchorSet([read('test/fixtures/gost/ca.pem')]);

const partnerBy = (cert: Certificate, name: string) => (c: Certificate) => (c.der.equals(cert.der) ? name : undefined);
const rsaVerifyOptions = { trust: rsaTrust, partnerOf: partnerBy(portalCert, 'portal') };
const gostVerifyOptions = { trust: gostTrust, partnerOf: partnerBy(gostCert, 'gost-leaf') };

// ---------------------------------------------------------------- checks

const failures: string[] = [];
function check(ok: boolean, what: string): void {
  if (!ok) failures.push(what);
}
function failIfAny(): void {
  if (failures.length === 0) return;
  console.error(`bench/signature: a path to be timed does not work, nothing was measured:\n  - ${failures.join('\n  - ')}`);
  process.exit(1);
}

function oknoVerify(xml: string, options: typeof rsaVerifyOptions): { valid: boolean; message: string } {
  const result = verifySmevEnvelope(parseXml(xml), options);
  return { valid: result.valid, message: result.caller.message };
}
function xcVerifies(xml: string): boolean {
  try {
    return xmlCryptoVerify(xml, portalCertPem);
  } catch {
    return false;
  }
}
/** Changes one character of the signed business content (the MessageID). */
function tamper(signed: string): string {
  const at = signed.indexOf('MessageID>') + 'MessageID>'.length;
  if (at < 'MessageID>'.length) throw new Error('no MessageID to tamper with');
  return signed.slice(0, at) + (signed[at] === 'd' ? 'e' : 'd') + signed.slice(at + 1);
}

async function oknoSign(xml: string, signer: LocalKeySigner, profile: SignatureProfile): Promise<string> {
  return signDocument(xml, { signer, profile });
}

// ---------------------------------------------------------------- envelopes

const envelopes: Envelope[] = [
  envelopeOfSize('0.4 KB', 0.4 * KB),
  envelopeOfSize('8 KB', 8 * KB),
  envelopeOfSize('86 KB', 86 * KB),
  envelopeOfSize('1 MB', MB),
];

interface Prepared {
  env: Envelope;
  oknoSigned: string;
  xcSigned: string;
}

const prepared: Prepared[] = [];
for (const env of envelopes) {
  const oknoSigned = await oknoSign(env.xml, rsaSigner, 'xmldsig');
  const xcSigned = xmlCryptoSign(env.xml, xcKeys);
  const where = `${env.label} (${env.bytes} B)`;
  const own = oknoVerify(oknoSigned, rsaVerifyOptions);
  check(own.valid, `${where}: Okno does not verify its own signature: ${own.message}`);
  const other = oknoVerify(xcSigned, rsaVerifyOptions);
  check(other.valid, `${where}: Okno does not verify xml-crypto's signature: ${other.message}`);
  check(xcVerifies(xcSigned), `${where}: xml-crypto does not verify its own signature`);
  check(xcVerifies(oknoSigned), `${where}: xml-crypto does not verify Okno's signature`);
  for (const [who, signed] of [['Okno', oknoSigned], ['xml-crypto', xcSigned]] as const) {
    const bad = tamper(signed);
    check(!oknoVerify(bad, rsaVerifyOptions).valid, `${where}: Okno accepts a tampered copy of ${who}'s output`);
    check(!xcVerifies(bad), `${where}: xml-crypto accepts a tampered copy of ${who}'s output`);
  }
  prepared.push({ env, oknoSigned, xcSigned });
}
failIfAny();

// ---------------------------------------------------------------- size × operation

type Operation = 'sign' | 'verify';

interface Row {
  size: string;
  envelopeBytes: number;
  records: number;
  operation: Operation;
  okno: Measurement;
  xmlCrypto: Measurement;
  /** Okno ops/s ÷ xml-crypto ops/s. */
  ratio: number;
}

const rows: Row[] = [];
const progress = (s: string) => process.stderr.write(`  ${s}\n`);
// Each timed slice starts from a collected heap (bench/lib/measure.ts calls gc()), so neither side pays
// for the other's garbage: xml-crypto's DOM trees left in the old generation otherwise get collected
// during Okno's slices (the 86 KB verify ratio moved between 26× and 39× on the same code without it).
if (typeof (globalThis as { gc?: unknown }).gc !== 'function') {
  process.stderr.write('bench/signature: run with node --expose-gc (npm run bench:signature does): without it the slices do not start from a collected heap\n');
}
process.stderr.write(`bench/signature: ${quick ? 'quick' : 'full'} mode, ${timing.runMs / 1000} s per cell after ${timing.warmupMs / 1000} s warm-up, at least ${timing.minRuns} runs\n`);

for (const { env, oknoSigned } of prepared) {
  progress(`${env.label}: sign`);
  const [oknoS, xcS] = await measurePair(
    () => oknoSign(env.xml, rsaSigner, 'xmldsig'),
    () => xmlCryptoSign(env.xml, xcKeys),
    timing,
  );
  rows.push({ size: env.label, envelopeBytes: env.bytes, records: env.records, operation: 'sign', okno: oknoS, xmlCrypto: xcS, ratio: oknoS.opsPerSec / xcS.opsPerSec });

  // Both verify the same document (Okno's output; each also verifies the other's, checked above).
  progress(`${env.label}: verify`);
  const [oknoV, xcV] = await measurePair(
    () => {
      if (!verifySmevEnvelope(parseXml(oknoSigned), rsaVerifyOptions).valid) throw new Error('Okno verify failed during timing');
    },
    () => {
      if (!xmlCryptoVerify(oknoSigned, portalCertPem)) throw new Error('xml-crypto verify failed during timing');
    },
    timing,
  );
  rows.push({ size: env.label, envelopeBytes: env.bytes, records: env.records, operation: 'verify', okno: oknoV, xmlCrypto: xcV, ratio: oknoV.opsPerSec / xcV.opsPerSec });
}

// ---------------------------------------------------------------- exc-c14n throughput (1 MB)

progress('exc-c14n, 1 MB element');
const big = envelopes[envelopes.length - 1]!;
const oknoSpr = findElement(parseXml(big.xml).root, 'SenderProvidedRequestData');
const xdoc = new DOMParser().parseFromString(big.xml, 'text/xml');
const xSpr = xdoc.getElementsByTagNameNS(TYPES_NS, 'SenderProvidedRequestData').item(0);
if (!xSpr) throw new Error('xmldom: no SenderProvidedRequestData');
// The options xml-crypto itself passes for a reference (SignedXml.getCanonReferenceXml / canonicalize).
const xcC14nOptions = {
  ancestorNamespaces: findAncestorNs(xdoc as never, "//*[local-name(.)='SenderProvidedRequestData']"),
  defaultNsForPrefix: SignedXml.defaultNsForPrefix,
};
const xcCanon = () => new ExclusiveCanonicalization().process(xSpr as never, { ...xcC14nOptions }) as string;
const oknoCanonical = excC14n(oknoSpr);
const canonicalBytes = Buffer.byteLength(oknoCanonical, 'utf8');
check(oknoCanonical === xcCanon(), 'exc-c14n: Okno and xml-crypto disagree on the canonical form of the 1 MB SenderProvidedRequestData');
failIfAny();
const [c14nOkno, c14nXc] = await measurePair(() => excC14n(oknoSpr), xcCanon, timing);
const mbps = (m: Measurement) => (canonicalBytes / MB) * m.opsPerSec;
const c14n = {
  element: 'SenderProvidedRequestData of the 1 MB envelope',
  canonicalBytes,
  note: 'canonicalization only: both trees parsed beforehand; MB = 2^20 bytes of canonical UTF-8 output',
  okno: { ...c14nOkno, mbPerSec: mbps(c14nOkno) },
  xmlCrypto: { ...c14nXc, mbPerSec: mbps(c14nXc) },
  ratio: c14nOkno.opsPerSec / c14nXc.opsPerSec,
};

// ---------------------------------------------------------------- crypto floor

progress('crypto floor: RSA-2048');
const smallestSigned = prepared[0]!.oknoSigned;
const signedInfo = Buffer.from(excC14n(findElement(parseXml(smallestSigned).root, 'SignedInfo', DSIG_NS)), 'utf8');
const rsaValue = rsaSign('sha256', signedInfo, portalKey);
check(rsaVerify('sha256', signedInfo, portalPublicKey, rsaValue), 'node:crypto RSA verify fails');
failIfAny();
// Each floor is timed in alternation with the Okno operation it is compared with (same load).
const smallest = prepared[0]!;
const [oknoSignSmallest, rsaSignFloor] = await measurePair(
  () => oknoSign(smallest.env.xml, rsaSigner, 'xmldsig'),
  () => rsaSign('sha256', signedInfo, portalKey),
  timing,
);
const [oknoVerifySmallest, rsaVerifyFloor] = await measurePair(
  () => {
    if (!verifySmevEnvelope(parseXml(smallest.oknoSigned), rsaVerifyOptions).valid) throw new Error('Okno verify failed during timing');
  },
  () => {
    if (!rsaVerify('sha256', signedInfo, portalPublicKey, rsaValue)) throw new Error('RSA verify failed during timing');
  },
  timing,
);

progress('crypto floor: GOST R 34.10-2012-256');
const gostAlgorithm = getSignatureAlgorithm(GOST2012_256_URI);
const gostPublic = gostCert.publicKey!;
const gostValue = await gostSigner.sign(signedInfo);
check(gostAlgorithm.verify(signedInfo, gostValue, gostPublic), 'GOST 2012-256 raw verify fails');
const env8 = envelopes[1]!;
const gostSigned = await oknoSign(env8.xml, gostSigner, 'smev');
const gostOwn = oknoVerify(gostSigned, gostVerifyOptions);
check(gostOwn.valid, `GOST 8 KB envelope (smev profile) does not verify: ${gostOwn.message}`);
check(!oknoVerify(tamper(gostSigned), gostVerifyOptions).valid, 'GOST 8 KB envelope: a tampered copy verifies');
failIfAny();
const [gostEnvSign, gostRawSign] = await measurePair(() => oknoSign(env8.xml, gostSigner, 'smev'), () => gostSigner.sign(signedInfo), timing);
const [gostEnvVerify, gostRawVerify] = await measurePair(
  () => {
    if (!verifySmevEnvelope(parseXml(gostSigned), gostVerifyOptions).valid) throw new Error('GOST envelope verify failed during timing');
  },
  () => {
    if (!gostAlgorithm.verify(signedInfo, gostValue, gostPublic)) throw new Error('GOST verify failed during timing');
  },
  timing,
);

const row = (size: string, op: Operation) => rows.find((r) => r.size === size && r.operation === op)!;
const pct = (a: Measurement, floor: Measurement) => (100 * a.opsPerSec) / floor.opsPerSec;
const floor = {
  signedInfoBytes: signedInfo.length,
  rsa2048: {
    note: 'node:crypto sign/verify (sha256, PKCS#1 v1.5) over the canonical SignedInfo of the 0.4 KB row, KeyObjects prepared once; Okno percentages use the Okno 0.4 KB runs timed in alternation with the floor (oknoSignSmallest / oknoVerifySmallest), xml-crypto percentages use the table figures',
    sign: rsaSignFloor,
    verify: rsaVerifyFloor,
    oknoSignSmallest,
    oknoVerifySmallest,
    oknoSignSmallestPctOfFloor: pct(oknoSignSmallest, rsaSignFloor),
    xmlCryptoSignSmallestPctOfFloor: pct(row('0.4 KB', 'sign').xmlCrypto, rsaSignFloor),
    oknoVerifySmallestPctOfFloor: pct(oknoVerifySmallest, rsaVerifyFloor),
    xmlCryptoVerifySmallestPctOfFloor: pct(row('0.4 KB', 'verify').xmlCrypto, rsaVerifyFloor),
  },
  gost2012_256: {
    note: 'LocalKeySigner (leaf.key.pem / leaf.pem, CryptoPro-A); raw = over the same SignedInfo bytes; envelope = signDocument / parseXml + verifySmevEnvelope, smev profile, 8 KB envelope, trust = GOST test CA (2012-512)',
    envelopeBytes: env8.bytes,
    rawSign: gostRawSign,
    rawVerify: gostRawVerify,
    envelopeSign: gostEnvSign,
    envelopeVerify: gostEnvVerify,
    envelopeSignPctOfRawSign: pct(gostEnvSign, gostRawSign),
  },
};

// ---------------------------------------------------------------- report

const fmtOps = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const fmtMs = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 1 ? n.toFixed(2) : n.toFixed(3));
const fmtRatio = (n: number) => (n >= 10 ? n.toFixed(0) : n.toFixed(2)) + '×';
const sizeLabel = (bytes: number) => (bytes >= MB * 0.9 ? `${(bytes / MB).toFixed(2)} MB` : `${(bytes / KB).toFixed(bytes < 10 * KB ? 2 : 1)} KB`);
const fmtLoad = (l: number[]) => l.map((x) => x.toFixed(2)).join('/');
const mark = (m: Measurement) => (m.cappedByCount ? '*' : '');

const table: string[][] = [['size', 'envelope', 'operation', 'Okno ops/s', 'Okno ms', 'xml-crypto ops/s', 'xml-crypto ms', 'Okno/xml-crypto']];
for (const r of rows) {
  table.push([
    r.size,
    sizeLabel(r.envelopeBytes),
    r.operation,
    fmtOps(r.okno.opsPerSec) + mark(r.okno),
    fmtMs(r.okno.meanMs),
    fmtOps(r.xmlCrypto.opsPerSec) + mark(r.xmlCrypto),
    fmtMs(r.xmlCrypto.meanMs),
    fmtRatio(r.ratio),
  ]);
}
table.push(['1 MB', `${sizeLabel(canonicalBytes)} c14n`, 'exc-c14n MB/s', c14n.okno.mbPerSec.toFixed(1), fmtMs(c14nOkno.meanMs), c14n.xmlCrypto.mbPerSec.toFixed(1), fmtMs(c14nXc.meanMs), fmtRatio(c14n.ratio)]);

const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
const numeric = new Set([3, 4, 5, 6, 7]);
const line = (r: string[]) => r.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');

const cpus = os.cpus();
const machine = {
  cpuModel: cpus[0]?.model ?? 'unknown',
  cpus: cpus.length,
  availableParallelism: os.availableParallelism(),
  cpuSpeedMHz: cpus[0]?.speed ?? null,
  totalMemoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
  loadAverageAtStart,
  loadAverageAtEnd: os.loadavg(),
  platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  node: process.version,
  v8: process.versions.v8,
  openssl: process.versions.openssl,
  xmlCrypto: packageVersion('xml-crypto'),
  xmldom: packageVersion('@xmldom/xmldom'),
  xpath: packageVersion('xpath'),
  gitCommit: gitCommit(),
};

const out: string[] = [];
out.push(`Okno signature engine vs xml-crypto ${machine.xmlCrypto} — RSA-2048/SHA-256, exc-c14n, portal key (certs-sample)`);
out.push(`${quick ? 'quick' : 'full'} mode: ${timing.warmupMs / 1000} s warm-up + ${timing.runMs / 1000} s per cell, ≥ ${timing.minRuns} runs; ${machine.cpus}× ${machine.cpuModel}, node ${machine.node}, OpenSSL ${machine.openssl}; load average ${fmtLoad(loadAverageAtStart)} → ${fmtLoad(machine.loadAverageAtEnd)}`);
out.push('sign = parse + sign + insert (Okno signDocument, xmldsig profile | xml-crypto SignedXml.computeSignature + getSignedXml);');
out.push('verify = parse + verify the same Okno-signed envelope (Okno parseXml + verifySmevEnvelope with trust chain and partner | xml-crypto xmldom + xpath + checkSignature with the certificate);');
out.push('exc-c14n = canonicalize the 1 MB envelope\'s SenderProvidedRequestData, trees parsed beforehand (Okno excC14n | xml-crypto ExclusiveCanonicalization.process over xmldom); MB/s of canonical output, MB = 2^20 B');
out.push('Okno and xml-crypto in each row are timed in alternating slices (A B A B …), as are each floor and the Okno figure compared with it.');
out.push('');
out.push(line(table[0]!));
out.push(widths.map((w) => '-'.repeat(w)).join('  '));
for (const r of table.slice(1)) out.push(line(r));
if (rows.some((r) => r.okno.cappedByCount || r.xmlCrypto.cappedByCount) || c14nOkno.cappedByCount || c14nXc.cappedByCount) {
  out.push(`* capped by count: each run took longer than ${timing.runMs / 1000} s / ${timing.minRuns}, so the run count (≥ ${timing.minRuns}, after one warm-up run) decided, not the clock`);
}
out.push('');
out.push(`crypto floor over the ${signedInfo.length}-byte canonical SignedInfo (node:crypto, KeyObjects prepared once):`);
out.push(`  RSA-2048 sign    ${fmtOps(rsaSignFloor.opsPerSec).padStart(8)} ops/s  (${fmtMs(rsaSignFloor.meanMs)} ms)`);
out.push(`  RSA-2048 verify  ${fmtOps(rsaVerifyFloor.opsPerSec).padStart(8)} ops/s  (${fmtMs(rsaVerifyFloor.meanMs)} ms)`);
out.push(`  Okno sign at 0.4 KB = ${floor.rsa2048.oknoSignSmallestPctOfFloor.toFixed(1)}% of the RSA sign floor (${fmtOps(oknoSignSmallest.opsPerSec)} ops/s, timed alternately with the floor)`);
out.push(`    xml-crypto sign at 0.4 KB = ${floor.rsa2048.xmlCryptoSignSmallestPctOfFloor.toFixed(1)}% of it (table figure)`);
out.push(`  Okno verify at 0.4 KB = ${floor.rsa2048.oknoVerifySmallestPctOfFloor.toFixed(1)}% of the RSA verify floor (${fmtOps(oknoVerifySmallest.opsPerSec)} ops/s; it also parses the KeyInfo certificate and checks it against the CA, a second RSA verify)`);
out.push(`    xml-crypto verify at 0.4 KB = ${floor.rsa2048.xmlCryptoVerifySmallestPctOfFloor.toFixed(1)}% of it (table figure)`);
out.push(`GOST R 34.10-2012-256 (LocalKeySigner, CryptoPro-A):`);
out.push(`  raw sign         ${fmtOps(gostRawSign.opsPerSec).padStart(8)} ops/s  (${fmtMs(gostRawSign.meanMs)} ms)`);
out.push(`  raw verify       ${fmtOps(gostRawVerify.opsPerSec).padStart(8)} ops/s  (${fmtMs(gostRawVerify.meanMs)} ms)`);
out.push(`  8 KB envelope, smev profile: sign ${fmtOps(gostEnvSign.opsPerSec)} ops/s (${fmtMs(gostEnvSign.meanMs)} ms), verify ${fmtOps(gostEnvVerify.opsPerSec)} ops/s (${fmtMs(gostEnvVerify.meanMs)} ms, incl. the 2012-512 CA check)`);
out.push(`  Okno GOST sign at 8 KB = ${floor.gost2012_256.envelopeSignPctOfRawSign.toFixed(1)}% of the raw GOST sign floor`);
out.push('');
out.push(`envelopes: ${envelopes.map((e) => `${e.label} = ${e.bytes} B${e.records ? ` (${e.records} records)` : ' (minimal SendRequest; the sample namespaces do not fit in 0.4 KB)'}`).join('; ')}`);
console.log(out.join('\n'));

if (jsonOut) {
  const report = {
    benchmark: 'okno signature engine vs xml-crypto',
    generatedAt: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    timing,
    machine,
    method: {
      sign: 'Okno: signDocument(xml, { signer: LocalKeySigner(portal RSA-2048), profile: "xmldsig" }); xml-crypto: new SignedXml({ privateKey, publicCert, exc-c14n, rsa-sha256 }), addReference(//*[local-name(.)=SenderProvidedRequestData], exc-c14n, sha256), computeSignature(append to CallerInformationSystemSignature), getSignedXml()',
      verify: 'same Okno-signed envelope for both. Okno: parseXml + verifySmevEnvelope({ trust: sample CA, partnerOf: portal }); xml-crypto: xmldom DOMParser + xpath.select(Signature) + new SignedXml({ publicCert }).loadSignature + checkSignature(xml)',
      checks: 'before timing: each side verified its own and the other side\'s output and rejected a tampered copy of both',
      opsPerSec: 'runs / sum of per-run times; meanMs = sum / runs',
      pairing: 'Okno and xml-crypto cells (and the two c14n cells) are timed in 4 alternating slices each (A B A B …) so load changes on a shared machine hit both alike; the floors are timed on their own',
    },
    envelopes: envelopes.map((e) => ({ label: e.label, targetBytes: Math.round(e.targetBytes), bytes: e.bytes, records: e.records })),
    results: rows,
    c14n,
    floor,
  };
  writeFileSync(jsonOut, JSON.stringify(report, null, 2) + '\n');
  process.stderr.write(`bench/signature: wrote ${jsonOut}\n`);
}

// ---------------------------------------------------------------- helpers

function findElement(from: XmlElement, localName: string, ns?: string): XmlElement {
  const stack = [from];
  while (stack.length > 0) {
    const el = stack.pop()!;
    if (el.localName === localName && (ns === undefined || el.namespaceURI === ns)) return el;
    for (let i = el.children.length - 1; i >= 0; i--) {
      const c = el.children[i]!;
      if (c.type === 'element') stack.push(c);
    }
  }
  throw new Error(`no <${localName}> element`);
}

function packageVersion(name: string): string {
  try {
    return (JSON.parse(read(`node_modules/${name}/package.json`)) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}
