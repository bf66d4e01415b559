/**
 * Signed SendRequest envelopes for the end-to-end bench: the portal (RSA-2048,
 * certs-sample/portal) asks for `dwelling-replanning`, a real application
 * service of the catalogue, with its content grown to a size class by adding
 * CoOwnersConsent/Consent entries (maxOccurs="unbounded" in the XSD), so every
 * request is valid and goes the whole way: verify → validate → translate →
 * store → signed reply.
 *
 * Size classes follow X-Road's test profile (2 KB 30 %, 10 KB 60 %, 100 KB 9 %,
 * 1 MB 1 %). The nominal size is the business content (MessagePrimaryContent);
 * the signed envelope adds about 2.6 KB (envelope, signature, certificate).
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCatalogue } from '../../src/catalogue/load.js';
import type { ServiceDefinition } from '../../src/catalogue/types.js';
import { signDocument, type SignatureProfile } from '../../src/signature/sign.js';
import { LocalKeySigner } from '../../src/pki/signer.js';
import { readPrivateKey } from '../../src/pki/private-key.js';
import { sendRequestEnvelope } from '../../src/soap/envelope-builder.js';
import { uuidV1 } from '../../src/soap/message-id.js';
import type { JsonValue } from '../../src/store/types.js';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SERVICE = 'dwelling-replanning';

export interface SizeClass {
  label: string;
  contentBytes: number;
  share: number;
}

export const SIZE_MIX: readonly SizeClass[] = [
  { label: '2 KB', contentBytes: 2 * 1024, share: 0.3 },
  { label: '10 KB', contentBytes: 10 * 1024, share: 0.6 },
  { label: '100 KB', contentBytes: 100 * 1024, share: 0.09 },
  { label: '1 MB', contentBytes: 1024 * 1024, share: 0.01 },
];

const FAMILY = ['Смирнов', 'Иванова', 'Петров', 'Соколова', 'Кузнецов', 'Лебедева', 'Волков', 'Новикова'];
const FIRST = ['Алексей', 'Мария', 'Сергей', 'Екатерина', 'Дмитрий', 'Ольга', 'Андрей', 'Наталья'];
const MIDDLE = ['Николаевич', 'Ивановна', 'Сергеевич', 'Андреевна', 'Петрович', 'Викторовна', 'Олегович', 'Павловна'];

function consent(i: number): JsonValue {
  return {
    lastName: FAMILY[i % FAMILY.length]!,
    firstName: FIRST[(i * 3) % FIRST.length]!,
    middleName: MIDDLE[(i * 5) % MIDDLE.length]!,
    share: `1/${2 + (i % 97)}`,
    consentDate: `2026-0${1 + (i % 9)}-${String(1 + (i % 28)).padStart(2, '0')}`,
  };
}

let service: ServiceDefinition | null = null;
function dwelling(): ServiceDefinition {
  service ??= loadCatalogue(path.join(root, 'config/services')).get(SERVICE)!;
  return service;
}

const example = (): Record<string, JsonValue> =>
  JSON.parse(readFileSync(path.join(root, 'config/services', SERVICE, 'example.request.json'), 'utf8')) as Record<string, JsonValue>;

/** The service's content XML with as many consents as bring it closest to `targetBytes` (at least one). */
export function contentOfSize(targetBytes: number): { xml: string; consents: number } {
  const base = example();
  const xmlWith = (n: number) => dwelling().request.toXml({ ...base, coOwnersConsent: Array.from({ length: n }, (_, i) => consent(i)) });
  const one = Buffer.byteLength(xmlWith(1));
  const per = (Buffer.byteLength(xmlWith(65)) - one) / 64;
  const n = Math.max(1, Math.round(1 + (targetBytes - one) / per));
  return { xml: xmlWith(n), consents: n };
}

/**
 * Which sample PKI signs the traffic: `rsa` = certs-sample/ (RSA-2048, the default),
 * `gost` = certs-sample/gost/ (GOST R 34.10-2012-256, CryptoPro-XchA; `npm run bench -- --gost`).
 */
export type Pki = 'rsa' | 'gost';

const portals: Partial<Record<Pki, LocalKeySigner>> = {};
export function portalSigner(pki: Pki = 'rsa'): LocalKeySigner {
  if (pki === 'gost') {
    const dir = path.join(root, 'certs-sample/gost');
    portals.gost ??= new LocalKeySigner(readPrivateKey(readFileSync(path.join(dir, 'portal.key.pem'))).key, readFileSync(path.join(dir, 'portal.crt.pem'), 'utf8'));
  } else {
    portals.rsa ??= new LocalKeySigner(
      createPrivateKey(readFileSync(path.join(root, 'certs-sample/portal.key.pem'))),
      readFileSync(path.join(root, 'certs-sample/portal.crt.pem'), 'utf8'),
    );
  }
  return portals[pki]!;
}

/**
 * The gateway's environment for GOST traffic: the GOST sample gateway key and certificate, the
 * GOST CA as trust anchor and the partner registry naming the GOST portal (README, "GOST sample
 * PKI"). Absolute paths, so a build in another directory (`--against`) gets the same files.
 */
export function gostGatewayEnv(): Record<string, string> {
  const dir = path.join(root, 'certs-sample/gost');
  return {
    GATEWAY_KEY_FILE: path.join(dir, 'gateway.key.pem'),
    GATEWAY_CERT_FILE: path.join(dir, 'gateway.crt.pem'),
    TRUST_CA_FILE: path.join(dir, 'ca.crt.pem'),
    PARTNERS_FILE: path.join(root, 'config/partners.gost.json'),
  };
}

/** One signed SendRequest with a fresh MessageID (UUID v1, as SMEV wants). */
export async function signedRequest(contentXml: string, profile: SignatureProfile = 'smev', pki: Pki = 'rsa'): Promise<{ xml: string; messageId: string }> {
  const messageId = uuidV1();
  const envelope = sendRequestEnvelope({ version: '1.1', messageId, contentXml });
  return { xml: await signDocument(envelope, { signer: portalSigner(pki), profile }), messageId };
}

/** Changes one character of the signed content (inside MessagePrimaryContent), keeping the XML well-formed. */
export function tamper(signed: string): string {
  const at = signed.indexOf('<PlannedStart>') + '<PlannedStart>'.length;
  if (at < '<PlannedStart>'.length) throw new Error('nothing to tamper with');
  return signed.slice(0, at) + (signed[at] === '2' ? '1' : '2') + signed.slice(at + 1);
}
