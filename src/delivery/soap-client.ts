/**
 * Sends one signed envelope to a partner and says what happened, in the
 * terms the delivery policy needs: accepted (with the partner's verified
 * reply), refused for good (a SOAP fault saying the message is wrong: never
 * retried forever), or a transient failure (network, timeout, 5xx,
 * SMEVFailure: retried with backoff).
 */
import type { Agent } from 'node:https';
import { Readable } from 'node:stream';
import type { StreamedMtomBody } from '../soap/mtom.js';
import type { PartnerCertificate } from '../registry/partners.js';
import { postWithAgent } from './outbound-tls.js';
import { DSIG_NS } from '../signature/dsig.js';
import type { TrustAnchorSet } from '../pki/trust.js';
import { verifySignature } from '../signature/verify.js';
import { childElements, textContent } from '../xml/helpers.js';
import { parseXml, XmlError } from '../xml/parser.js';
import type { XmlElement } from '../xml/types.js';

export type SendOutcome =
  | { kind: 'accepted'; status: number; body: string; replyStatus: string | null }
  | { kind: 'refused'; status: number; body: string; fault: string; message: string }
  | { kind: 'transient'; status: number | null; body: string | null; error: string };

/** Faults that say "try again later"; every other SMEV fault means the message itself is refused. */
const TRANSIENT_FAULTS = new Set(['SMEVFailure', 'DestinationOverflow', 'QuoteLimitExceeded']);

export interface SoapSendOptions {
  url: string;
  envelope: string;
  /**
   * The body to send instead of `envelope` itself: the signed envelope as the root of an MTOM
   * body whose file parts are streamed from the blob store (soap/mtom.ts streamMtom).
   */
  mtom?: StreamedMtomBody | null;
  soapAction: string;
  timeoutMs: number;
  /** Whose signature the reply must carry: the partner's (push) or the exchange's (pull). */
  signedBy: { id: string; certificates: readonly PartnerCertificate[] };
  trust: TrustAnchorSet;
  /** For https endpoints: the agent with the gateway's TLS client certificate (OUTBOUND_TLS_*). */
  agent?: Agent | null;
}

export async function sendSoap(o: SoapSendOptions): Promise<SendOutcome> {
  let res: { status: number };
  let body: string;
  const headers: Record<string, string> = o.mtom
    ? { 'content-type': o.mtom.contentType, 'content-length': String(o.mtom.length), soapaction: o.soapAction }
    : { 'content-type': 'text/xml; charset=utf-8', soapaction: o.soapAction };
  try {
    if (o.agent && o.url.startsWith('https:')) {
      ({ body, ...res } = await postWithAgent(o.agent, o.url, headers, o.mtom ? Readable.from(o.mtom.chunks()) : o.envelope, o.timeoutMs));
    } else {
      const payload = o.mtom ? { body: Readable.toWeb(Readable.from(o.mtom.chunks())) as ReadableStream<Uint8Array>, duplex: 'half' as const } : { body: o.envelope };
      const answer = await fetch(o.url, { method: 'POST', headers, ...payload, signal: AbortSignal.timeout(o.timeoutMs) });
      res = answer;
      body = await answer.text();
    }
  } catch (error) {
    const e = error as Error & { cause?: { code?: string }; code?: string };
    const why = e.name === 'TimeoutError' || e.code === 'TIMEOUT' ? `no answer within ${o.timeoutMs} ms` : `${e.cause?.code ?? e.code ?? e.name}: ${e.message}`;
    return { kind: 'transient', status: null, body: null, error: `network: ${why}` };
  }
  let root: XmlElement | null = null;
  let doc;
  try {
    doc = parseXml(body);
    root = doc.root;
  } catch (error) {
    if (!(error instanceof XmlError)) throw error;
  }
  const fault = root ? readFault(root) : null;
  if (fault) {
    if (fault.transient) return { kind: 'transient', status: res.status, body, error: `${fault.name}: ${fault.message}` };
    return { kind: 'refused', status: res.status, body, fault: fault.name, message: fault.message };
  }
  if (res.status !== 200 || !root || !doc) {
    return { kind: 'transient', status: res.status, body, error: `HTTP ${res.status}${root ? '' : ' (not XML)'}` };
  }
  // The partner's reply is signed; an answer we cannot trust proves nothing, so the message is sent again.
  const signature = find(root, 'Signature', DSIG_NS);
  if (!signature) return { kind: 'transient', status: 200, body, error: 'the reply carries no signature' };
  const verdict = verifySignature(doc, signature, null, {
    trust: o.trust,
    partnerOf: (cert) => (o.signedBy.certificates.some((c) => c.fingerprint256 === cert.fingerprintSha256) ? o.signedBy.id : undefined),
  });
  if (!verdict.valid) return { kind: 'transient', status: 200, body, error: `the reply's signature is not valid: ${verdict.message}` };
  const status = find(root, 'Status');
  return { kind: 'accepted', status: 200, body, replyStatus: status ? textContent(status).trim() : null };
}

/** A SOAP Fault in a reply: the SMEV fault's name (detail's first element), its text, and whether to retry. */
export function readFault(root: XmlElement): { name: string; message: string; transient: boolean } | null {
  const fault = find(root, 'Fault');
  if (!fault) return null;
  const detail = find(fault, 'detail');
  const name = (detail && childElements(detail)[0]?.localName) ?? 'Fault';
  const message = textContent(find(fault, 'faultstring') ?? fault).trim().slice(0, 500);
  return { name, message, transient: TRANSIENT_FAULTS.has(name) };
}

export function find(el: XmlElement, localName: string, ns?: string): XmlElement | undefined {
  const stack = [el];
  while (stack.length > 0) {
    const e = stack.pop()!;
    if (e.localName === localName && (ns === undefined || e.namespaceURI === ns)) return e;
    for (let i = e.children.length - 1; i >= 0; i--) {
      const c = e.children[i]!;
      if (c.type === 'element') stack.push(c);
    }
  }
  return undefined;
}
