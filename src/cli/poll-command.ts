/**
 * `okno poll --to EXCHANGE_URL`: take the next message addressed to you from
 * a SMEV 3 exchange (GetRequest, or GetResponse with --responses), as the
 * portal by default (sample keys; --key/--cert for another system). Prints
 * its MessageID, sender, business element and both signatures' verdicts —
 * the exchange's SMEVSignature and the sender's — and acknowledges it unless
 * --no-ack. Lets a person see what the gateway sent through the exchange.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { splitPem } from '../pki/gateway-identity.js';
import { signDocument } from '../signature/sign.js';
import { TrustAnchorSet } from '../pki/trust.js';
import { verifyDetachedCms } from '../pki/cms/index.js';
import { verifySignature } from '../signature/verify.js';
import { ackEnvelope, SIGNED_CALLER_ID } from '../soap/envelope-builder.js';
import { pollEnvelope } from '../soap/exchange-envelopes.js';
import { readSmevMessage, SmevMessageError } from '../soap/smev-message.js';
import { childElements, textContent } from '../xml/helpers.js';
import type { XmlElement } from '../xml/types.js';
import { KEY_OPTION_NAMES, KEY_OPTION_SPEC, signerFromOptions } from './key-options.js';
import type { Command } from './command.js';

export const pollCommand: Command = {
  summary: 'take the next message addressed to you from a SMEV exchange (GetRequest / GetResponse), check its signatures, Ack it',
  usage: 'poll --to URL [--responses] [--no-ack] [--key K --cert C | --p12 F --password P]',
  async run(args) {
    let values: Record<string, string | boolean | undefined>;
    try {
      ({ values } = parseArgs({ args, options: { to: { type: 'string' }, responses: { type: 'boolean' }, 'no-ack': { type: 'boolean' }, ...KEY_OPTION_SPEC } }));
    } catch (error) {
      process.stderr.write(`okno poll: ${(error as Error).message}\nusage: okno ${this.usage}\n`);
      return 2;
    }
    if (typeof values.to !== 'string') {
      process.stderr.write(`usage: okno ${this.usage}\n`);
      return 2;
    }
    const keys: Record<string, string> = { key: 'certs-sample/portal.key.pem', cert: 'certs-sample/portal.crt.pem' };
    for (const k of KEY_OPTION_NAMES) if (typeof values[k] === 'string') keys[k] = values[k] as string;
    const signer = signerFromOptions(keys);
    const operation = values.responses ? 'GetResponse' : 'GetRequest';
    const post = async (body: string, action: string) => {
      const res = await fetch(values.to as string, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: `urn:${action}` }, body });
      return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: Buffer.from(await res.arrayBuffer()) };
    };
    let reply;
    try {
      reply = await post(await signDocument(pollEnvelope(operation, '1.1', new Date()), { signer, profile: 'smev', targetId: SIGNED_CALLER_ID }), operation);
    } catch (error) {
      process.stderr.write(`okno poll: cannot reach ${values.to}: ${(error as Error).message}\n`);
      return 1;
    }
    if (reply.status !== 200) {
      process.stderr.write(`okno poll: HTTP ${reply.status}\n${reply.body.toString('utf8')}\n`);
      return 1;
    }
    let message;
    try {
      message = readSmevMessage(reply.body, reply.contentType);
    } catch (error) {
      if (!(error instanceof SmevMessageError)) throw error;
      process.stderr.write(`okno poll: the reply is not a SMEV message: ${error.message}\n`);
      return 1;
    }
    if (message.empty || !message.message) {
      process.stdout.write(`${operation}: the queue is empty\n`);
      return 0;
    }
    const trust = new TrustAnchorSet(splitPem(readFileSync(process.env.TRUST_CA_FILE ?? 'certs-sample/ca.crt.pem', 'utf8')));
    const verdict = (signature: XmlElement | null, target: XmlElement | null) => {
      if (!signature || !target) return 'absent';
      const v = verifySignature(message.doc, signature, target, { trust });
      return v.valid ? `valid, by "${v.details.certificate?.subject}"` : `NOT VALID: ${v.message}`;
    };
    const field = (el: XmlElement | null, name: string) => {
      const f = el ? childElements(el).find((c) => c.localName === name) : undefined;
      return f ? textContent(f).trim() : '—';
    };
    const metadata = childElements(message.message).find((c) => c.localName === 'MessageMetadata') ?? null;
    const sender = metadata ? childElements(metadata).find((c) => c.localName === 'Sender') ?? null : null;
    process.stdout.write(
      [
        `${operation}: MessageID ${message.messageId ?? '—'} from ${field(sender, 'Mnemonic')}`,
        message.content ? `  content: {${message.content.namespaceURI}}${message.content.localName}` : '  content: none (a rejection or status)',
        ...(operation === 'GetResponse' ? [`  answers: ${field(message.message, 'OriginalMessageId')}`] : [`  ReplyTo: ${field(message.message, 'ReplyTo')}`]),
        `  sender's signature: ${verdict(message.senderSignature, message.senderData)}`,
        `  exchange's signature: ${verdict(message.smevSignature, message.message)}`,
        `  attachments: ${message.attachments.length}, file-store references: ${message.fsAttachments.length}`,
        ...message.attachments.map((a) => `    ${a.id} (${a.mimeType}, ${a.bytes.length} bytes): ${fileSignature(a.bytes, a.signaturePkcs7, trust)}`),
        message.xml.length < 20_000 ? `  ${message.senderData ? xmlOf(message.xml, message.senderData) : ''}` : '  (content too large to print)',
      ].join('\n') + '\n',
    );
    if (values['no-ack'] || !message.messageId) return 0;
    const ack = await post(await signDocument(ackEnvelope('1.1', message.messageId, true), { signer, profile: 'smev', targetId: SIGNED_CALLER_ID }), 'Ack');
    process.stdout.write(ack.status === 200 ? 'acknowledged (Ack accepted=true)\n' : `Ack failed: HTTP ${ack.status}\n`);
    return ack.status === 200 ? 0 : 1;
  },
};

/** An attachment's SignaturePKCS7, verified over its bytes (src/pki/cms). */
function fileSignature(bytes: Buffer, signature: Buffer | undefined, trust: TrustAnchorSet): string {
  if (!signature) return 'no SignaturePKCS7';
  const v = verifyDetachedCms(bytes, signature, { trust });
  const s = v.signers[0];
  return v.valid ? `SignaturePKCS7 valid, by "${s?.signer}" (${s?.algorithm})` : `SignaturePKCS7 NOT VALID: ${v.message}`;
}

function xmlOf(xml: string, el: XmlElement): string {
  return xml.slice(el.start, el.end);
}
