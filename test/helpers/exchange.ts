/** Talking to the SMEV exchange simulator as an information system would: signed envelopes for every operation, over HTTP. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createPrivateKey } from 'node:crypto';
import { issueLeafCertificate } from '../../src/pki/sample-pki.js';
import { signDocument } from '../../src/signature/sign.js';
import { LocalKeySigner, type Signer } from '../../src/pki/signer.js';
import { ackEnvelope, getStatusEnvelope, SIGNED_CALLER_ID, sendRequestEnvelope, sendResponseEnvelope, type AttachmentInput, type RefAttachmentInput, type ResponseBody } from '../../src/soap/envelope-builder.js';
import { pollEnvelope, type MessageTypeFilter } from '../../src/soap/exchange-envelopes.js';
import { uuidV1 } from '../../src/soap/message-id.js';
import { buildMtom, xopInclude, type MimePart } from '../../src/soap/mtom.js';
import type { SmevVersion } from '../../src/soap/namespaces.js';
import { readSmevMessage, type SmevMessage } from '../../src/soap/smev-message.js';
import { projectRoot } from './gateway.js';

export interface Reply {
  status: number;
  contentType: string;
  body: Buffer;
  text: string;
}

export async function postTo(endpoint: string, body: string | Buffer, headers: Record<string, string>): Promise<Reply> {
  const res = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8', ...headers }, body: typeof body === 'string' ? body : new Uint8Array(body) });
  const bytes = Buffer.from(await res.arrayBuffer());
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: bytes, text: bytes.toString('utf8') };
}

/** A fresh identity issued by the sample CA at test time (nothing is added to certs-sample/). */
export function issuedSigner(commonName: string): { signer: Signer; certPem: string } {
  const dir = path.join(projectRoot, 'certs-sample');
  const { certPem, keyPem } = issueLeafCertificate({
    caCertPem: readFileSync(path.join(dir, 'ca.crt.pem'), 'utf8'),
    caKeyPem: readFileSync(path.join(dir, 'ca.key.pem'), 'utf8'),
    commonName,
  });
  return { signer: new LocalKeySigner(createPrivateKey(keyPem), certPem), certPem };
}

/** One information system at the exchange: its signer and the operations it calls. */
export class ExchangeClient {
  constructor(
    readonly endpoint: string,
    readonly signer: Signer,
    readonly version: SmevVersion = '1.1',
  ) {}

  /** `edit` changes the unsigned envelope (e.g. adds a RefAttachmentHeaderList) before it is signed. */
  async sendRequest(o: { contentXml: string; messageId?: string; test?: boolean; attachments?: AttachmentInput[]; refAttachments?: RefAttachmentInput[]; mtom?: boolean; edit?: (unsigned: string) => string }): Promise<Reply & { messageId: string; xml: string }> {
    const messageId = o.messageId ?? uuidV1();
    const unsigned = sendRequestEnvelope({ version: this.version, messageId, contentXml: o.contentXml, test: o.test, attachments: o.attachments, refAttachments: o.refAttachments });
    const xml = await signDocument(o.edit ? o.edit(unsigned) : unsigned, { signer: this.signer, profile: 'smev' });
    if (o.mtom && o.attachments?.length) {
      const { body, contentType } = toMtom(xml, o.attachments);
      return { ...(await postTo(this.endpoint, body, { 'content-type': contentType, soapaction: 'urn:SendRequest' })), messageId, xml };
    }
    return { ...(await postTo(this.endpoint, xml, { soapaction: 'urn:SendRequest' })), messageId, xml };
  }

  async sendResponse(o: { to: string; body: ResponseBody; messageId?: string; refAttachments?: RefAttachmentInput[]; attachments?: AttachmentInput[] }): Promise<Reply & { messageId: string }> {
    const messageId = o.messageId ?? uuidV1();
    const xml = await signDocument(sendResponseEnvelope({ version: this.version, messageId, to: o.to, body: o.body, refAttachments: o.refAttachments, attachments: o.attachments }), { signer: this.signer, profile: 'smev' });
    return { ...(await postTo(this.endpoint, xml, { soapaction: 'urn:SendResponse' })), messageId };
  }

  async poll(operation: 'GetRequest' | 'GetResponse', filter?: MessageTypeFilter): Promise<Reply & { message: SmevMessage | null }> {
    const xml = await signDocument(pollEnvelope(operation, this.version, new Date(), filter), { signer: this.signer, profile: 'smev', targetId: SIGNED_CALLER_ID });
    const reply = await postTo(this.endpoint, xml, { soapaction: `urn:${operation}` });
    return { ...reply, message: reply.status === 200 ? readSmevMessage(reply.body, reply.contentType) : null };
  }

  async ack(messageId: string, accepted = true): Promise<Reply> {
    const xml = await signDocument(ackEnvelope(this.version, messageId, accepted), { signer: this.signer, profile: 'smev', targetId: SIGNED_CALLER_ID });
    return postTo(this.endpoint, xml, { soapaction: 'urn:Ack' });
  }

  async getStatus(): Promise<Reply> {
    const xml = await signDocument(getStatusEnvelope(this.version, new Date()), { signer: this.signer, profile: 'smev', targetId: SIGNED_CALLER_ID });
    return postTo(this.endpoint, xml, { soapaction: 'urn:GetStatus' });
  }
}

/** The signed inline envelope with each AttachmentContent/Content moved to a MIME part (xop:Include). */
export function toMtom(xml: string, attachments: AttachmentInput[]): { body: Buffer; contentType: string } {
  const parts: MimePart[] = [];
  let root = xml;
  attachments.forEach((a, i) => {
    const contentId = `part${i + 1}.${a.contentId}@test`;
    const inline = `<b:Content>${a.content.toString('base64')}</b:Content>`;
    if (!root.includes(inline)) throw new Error(`attachment ${a.contentId} not found inline`);
    root = root.replace(inline, `<b:Content>${xopInclude(contentId)}</b:Content>`);
    parts.push({ contentId, contentType: a.mimeType, bytes: a.content });
  });
  return buildMtom(root, parts, 'urn:SendRequest');
}
