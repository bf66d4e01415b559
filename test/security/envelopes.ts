/** Valid SMEV envelopes to start hostile cases and fuzz mutations from. */
import { randomBytes } from 'node:crypto';
import type { ServiceCatalogue } from '../../src/catalogue/types.js';
import { signDocument, type SignatureProfile } from '../../src/signature/sign.js';
import type { Signer } from '../../src/pki/signer.js';
import { getStatusEnvelope, sendRequestEnvelope } from '../../src/soap/envelope-builder.js';
import { uuidV1 } from '../../src/soap/message-id.js';
import type { SmevVersion } from '../../src/soap/namespaces.js';
import { sampleSigner, serviceExample } from '../helpers/smev.js';

/** The inbound application services and the partner that may send each. */
export const APPLICATION_SERVICES = ['advertising-permit', 'dwelling-replanning', 'kindergarten-enrollment'] as const;

export function businessXml(catalogue: ServiceCatalogue, service: string = 'advertising-permit'): string {
  return catalogue.get(service)!.request.toXml(serviceExample(service));
}

export interface UnsignedRequest {
  xml: string;
  messageId: string;
}

/** An unsigned SendRequest of a service's first example. */
export function unsignedRequest(catalogue: ServiceCatalogue, o: { service?: string; messageId?: string; contentXml?: string; version?: SmevVersion } = {}): UnsignedRequest {
  const messageId = o.messageId ?? uuidV1();
  const xml = sendRequestEnvelope({ version: o.version ?? '1.1', messageId, contentXml: o.contentXml ?? businessXml(catalogue, o.service) });
  return { xml, messageId };
}

export function sign(xml: string, signer: Signer = sampleSigner('portal'), profile: SignatureProfile = 'smev'): Promise<string> {
  return signDocument(xml, { signer, profile });
}

/** A signed GetStatusRequest with the given Timestamp text. */
export async function signedGetStatus(timestamp: string, signer: Signer = sampleSigner('portal')): Promise<string> {
  const xml = getStatusEnvelope('1.1', new Date()).replace(/(<b:Timestamp Id="[^"]+">)[^<]*/, `$1${timestamp}`);
  return signDocument(xml, { signer, profile: 'smev', targetId: 'SIGNED_BY_CALLER' });
}

/**
 * A version-1 UUID made at `at` (its time field is what freshness checks
 * read). Not uuidV1(): that one is monotonic, so a past time would come out
 * as "now".
 */
export function uuidV1At(at: Date): string {
  const t = BigInt(at.getTime()) * 10_000n + 122_192_928_000_000_000n;
  const hex = (n: bigint, width: number) => n.toString(16).padStart(width, '0');
  const rnd = randomBytes(8);
  const clock = (rnd.readUInt16BE(0) & 0x3fff) | 0x8000;
  return `${hex(t & 0xffff_ffffn, 8)}-${hex((t >> 32n) & 0xffffn, 4)}-${hex(((t >> 48n) & 0x0fffn) | 0x1000n, 4)}-${clock.toString(16)}-${rnd.subarray(2).toString('hex')}`;
}
