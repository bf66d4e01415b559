/** Building and submitting signed SMEV envelopes in tests, as the portal or an agency would. */
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ServiceCatalogue } from '../../src/catalogue/types.js';
import { signDocument, type SignatureProfile } from '../../src/signature/sign.js';
import { LocalKeySigner, type Signer } from '../../src/pki/signer.js';
import { sendRequestEnvelope, type AttachmentInput } from '../../src/soap/envelope-builder.js';
import { uuidV1 } from '../../src/soap/message-id.js';
import type { SmevVersion } from '../../src/soap/namespaces.js';
import type { JsonValue } from '../../src/store/types.js';
import { projectRoot } from './gateway.js';

const signers = new Map<string, Signer>();

/** A sample-PKI signer by name: portal, agency, gateway, untrusted, expired. */
export function sampleSigner(name: string): Signer {
  let signer = signers.get(name);
  if (!signer) {
    const dir = path.join(projectRoot, 'certs-sample');
    signer = new LocalKeySigner(createPrivateKey(readFileSync(path.join(dir, `${name}.key.pem`))), readFileSync(path.join(dir, `${name}.crt.pem`), 'utf8'));
    signers.set(name, signer);
  }
  return signer;
}

/** The example JSONs a service ships (config/services/<id>/service.json → examples). */
export function serviceExamples(id: string, part: 'request' | 'response' = 'request'): JsonValue[] {
  const dir = path.join(projectRoot, 'config/services', id);
  const service = JSON.parse(readFileSync(path.join(dir, 'service.json'), 'utf8')) as { examples: Record<string, string | string[]> };
  const files = service.examples[part] ?? [];
  return (Array.isArray(files) ? files : [files]).map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as JsonValue);
}

export function serviceExample(id: string, part: 'request' | 'response' = 'request'): JsonValue {
  return serviceExamples(id, part)[0]!;
}

export interface SignedRequestOptions {
  catalogue: ServiceCatalogue;
  service: string;
  content?: JsonValue;
  contentXml?: string;
  signer?: Signer;
  profile?: SignatureProfile;
  version?: SmevVersion;
  messageId?: string;
  attachments?: AttachmentInput[];
}

export async function signedSendRequest(o: SignedRequestOptions): Promise<{ xml: string; messageId: string }> {
  const messageId = o.messageId ?? uuidV1();
  const contentXml = o.contentXml ?? o.catalogue.get(o.service)!.request.toXml(o.content ?? serviceExample(o.service));
  const envelope = sendRequestEnvelope({ version: o.version ?? '1.1', messageId, contentXml, attachments: o.attachments });
  const xml = await signDocument(envelope, { signer: o.signer ?? sampleSigner('portal'), profile: o.profile ?? 'smev' });
  return { xml, messageId };
}

export async function postSoap(url: string, body: string | Buffer, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<{ status: number; body: string }> {
  const res = await fetch(`${url}/ws/smev3`, { method: "POST", headers: { "content-type": "text/xml; charset=utf-8", ...headers }, body: typeof body === "string" ? body : new Uint8Array(body), signal });
  return { status: res.status, body: await res.text() };
}

/** The SMEV fault element's local name and (for signature faults) the reason, from a fault reply. */
export function faultOf(body: string): { fault: string | null; reason: string | null; faultstring: string | null } {
  const fault = /<detail><f:(\w+)/.exec(body)?.[1] ?? null;
  const reason = /<f:SignatureVerificationFault>(\w+)<\/f:SignatureVerificationFault>/.exec(body)?.[1] ?? null;
  const faultstring = /<faultstring>([^<]*)<\/faultstring>/.exec(body)?.[1] ?? null;
  return { fault, reason, faultstring };
}

export const CITY = { authorization: 'Bearer dev-city-token' };
export const OPS = { authorization: 'Bearer dev-ops-token' };
