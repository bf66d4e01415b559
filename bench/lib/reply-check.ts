/**
 * The load generator's check of a SendRequestResponse: HTTP 200, a
 * MessageMetadata with the request's MessageID and a ds:Signature in
 * SMEVSignature over it (by Id) that Okno's verifier accepts — mathematics
 * and trust (the gateway certificate must chain to the sample CA, RSA or GOST:
 * certs-sample/ca.crt.pem or certs-sample/gost/ca.crt.pem). The same check for
 * Okno and the baseline.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DSIG_NS } from '../../src/signature/dsig.js';
import { TrustAnchorSet } from '../../src/pki/trust.js';
import { verifySignature } from '../../src/signature/verify.js';
import { parseXml } from '../../src/xml/parser.js';
import type { XmlElement } from '../../src/xml/types.js';
import { root } from './requests.js';

const trust = new TrustAnchorSet(['certs-sample/ca.crt.pem', 'certs-sample/gost/ca.crt.pem'].map((f) => readFileSync(path.join(root, f), 'utf8')));

function find(from: XmlElement, localName: string, ns?: string): XmlElement | null {
  const stack = [from];
  while (stack.length > 0) {
    const el = stack.pop()!;
    if (el.localName === localName && (ns === undefined || el.namespaceURI === ns)) return el;
    for (let i = el.children.length - 1; i >= 0; i--) {
      const c = el.children[i]!;
      if (c.type === 'element') stack.push(c);
    }
  }
  return null;
}

function text(el: XmlElement): string {
  let s = '';
  for (const c of el.children) if (c.type === 'text') s += c.value;
  return s;
}

/** null when the reply is a valid signed acceptance of `messageId`; otherwise what is wrong. */
export function checkReply(body: string, messageId: string): string | null {
  let doc;
  try {
    doc = parseXml(body);
  } catch (error) {
    return `reply is not XML: ${(error as Error).message}`;
  }
  const metadata = find(doc.root, 'MessageMetadata');
  if (!metadata) return find(doc.root, 'Fault') ? 'reply is a SOAP fault' : 'reply has no MessageMetadata';
  const id = find(metadata, 'MessageId');
  if (!id || text(id).trim() !== messageId) return `reply is for MessageId ${id ? text(id).trim() : '?'}, not ${messageId}`;
  const container = find(doc.root, 'SMEVSignature');
  const signature = container && find(container, 'Signature', DSIG_NS);
  if (!signature) return 'reply has no ds:Signature in SMEVSignature';
  const verdict = verifySignature(doc, signature, metadata, { trust });
  return verdict.valid ? null : `reply signature: ${verdict.message}`;
}
