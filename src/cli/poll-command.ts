/**
 * `okno poll URL`: one poll of a SMEV 3 exchange (the simulator, or a test
 * contour) as an information system: GetRequest (default), GetResponse
 * (--responses) or GetStatus (--status), signed with the given key (the
 * gateway's by default; the portal's with --key/--cert). Prints what came —
 * MessageID, sender and recipient, the business element, ReplyTo or
 * OriginalMessageId, attachments and file-store references, and the verdict
 * on the sender's and the exchange's signatures — and with --ack
 * acknowledges it. --save DIR writes the message (XOP resolved) and its
 * attachments. The content itself is not printed (it may hold personal data).
 *
 * Exit codes: 0 a message (or an empty queue), 1 a fault or an unreadable
 * answer, 2 usage.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseCertificate } from '../pki/certificate.js';
import { splitPem } from '../pki/gateway-identity.js';
import { signDocument } from '../signature/sign.js';
import { TrustAnchorSet } from '../signature/trust.js';
import { verifySignature } from '../signature/verify.js';
import { ackEnvelope, getStatusEnvelope, SIGNED_CALLER_ID } from '../soap/envelope-builder.js';
import { pollEnvelope } from '../soap/exchange-envelopes.js';
import { isSmevVersion, type SmevVersion } from '../soap/namespaces.js';
import { readSmevMessage, SmevMessageError, type SmevMessage } from '../soap/smev-message.js';
import { childElements, textContent } from '../xml/helpers.js';
import type { XmlElement } from '../xml/types.js';
import { KEY_OPTION_SPEC, signerFromOptions } from './key-options.js';
import type { Command } from './main.js';

type Values = Record<string, string | boolean | undefined>;

function usage(message: string, command: Command): number {
  process.stderr.write(`okno poll: ${message}\nusage: okno ${command.usage}\n`);
  return 2;
}

function endpointOf(url: string): string {
  const u = new URL(url);
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/ws/smev3';
  return u.toString();
}

function child(el: XmlElement | null, localName: string): XmlElement | null {
  return el ? (childElements(el).find((c) => c.localName === localName) ?? null) : null;
}

function text(el: XmlElement | null, ...path: string[]): string {
  let cur = el;
  for (const p of path) cur = child(cur, p);
  return cur ? textContent(cur).trim() : '';
}

async function post(endpoint: string, body: string, action: string): Promise<{ status: number; contentType: string; body: Buffer }> {
  const res = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: `urn:${action}` }, body });
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: Buffer.from(await res.arrayBuffer()) };
}

function faultLine(body: Buffer): string {
  const t = body.toString('utf8');
  const name = /<detail><[\w.-]+:(\w+)/.exec(t)?.[1];
  const faultstring = /<faultstring>([^<]*)<\/faultstring>/.exec(t)?.[1];
  return name || faultstring ? `${name ?? 'fault'}: ${faultstring ?? ''}` : t.slice(0, 200);
}

function safeName(name: string): string {
  return name.replace(/[^\w.-]+/g, '_').slice(0, 100) || 'attachment';
}

export const pollCommand: Command = {
  summary: 'poll a SMEV 3 exchange once as an information system (GetRequest / GetResponse / GetStatus), optionally acknowledging',
  usage: 'poll URL [--responses | --status] [--filter NAMESPACE#LOCALNAME] [--ack | --reject] [--save DIR] [--version 1.1|1.2|1.3] [--trust CA.pem] [--exchange-cert PEM] [--key K --cert C]',
  async run(args) {
    let values: Values;
    let positionals: string[];
    try {
      ({ values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: {
          responses: { type: 'boolean' },
          status: { type: 'boolean' },
          filter: { type: 'string' },
          ack: { type: 'boolean' },
          reject: { type: 'boolean' },
          save: { type: 'string' },
          version: { type: 'string' },
          trust: { type: 'string' },
          'exchange-cert': { type: 'string' },
          ...KEY_OPTION_SPEC,
        },
      }));
    } catch (error) {
      return usage((error as Error).message, this);
    }
    if (positionals.length !== 1) return usage('give the exchange URL (e.g. http://127.0.0.1:8093)', this);
    if (values.responses && values.status) return usage('--responses and --status exclude each other', this);
    if (values.ack && values.reject) return usage('--ack and --reject exclude each other', this);
    const version = (values.version as string | undefined) ?? '1.1';
    if (!isSmevVersion(version)) return usage(`--version must be 1.1, 1.2 or 1.3, not ${version}`, this);
    let filter: { namespaceURI: string; rootElementLocalName: string } | undefined;
    if (values.filter !== undefined) {
      const f = String(values.filter);
      const hash = f.lastIndexOf('#');
      if (hash <= 0 || hash === f.length - 1) return usage('--filter takes NAMESPACE#LOCALNAME', this);
      filter = { namespaceURI: f.slice(0, hash), rootElementLocalName: f.slice(hash + 1) };
    }
    let endpoint: string;
    try {
      endpoint = endpointOf(positionals[0]!);
    } catch {
      return usage(`"${positionals[0]}" is not a URL`, this);
    }
    try {
      return await poll(values, endpoint, version, filter);
    } catch (error) {
      process.stderr.write(`okno poll: ${(error as Error).message}\n`);
      return 1;
    }
  },
};

async function poll(values: Values, endpoint: string, version: SmevVersion, filter: { namespaceURI: string; rootElementLocalName: string } | undefined): Promise<number> {
  const signer = signerFromOptions(values as Record<string, string | undefined>);
  const trust = new TrustAnchorSet(splitPem(readFileSync((values.trust as string | undefined) ?? process.env.TRUST_CA_FILE ?? 'certs-sample/ca.crt.pem', 'utf8')));
  const exchangeCert = values['exchange-cert'] ? parseCertificate(readFileSync(String(values['exchange-cert']), 'utf8')) : null;
  const sign = (xml: string) => signDocument(xml, { signer, profile: 'smev', targetId: SIGNED_CALLER_ID });
  const out = (line: string) => process.stdout.write(`${line}\n`);

  if (values.status) {
    const r = await post(endpoint, await sign(getStatusEnvelope(version, new Date())), 'GetStatus');
    if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${faultLine(r.body)}`);
    const t = r.body.toString('utf8');
    const id = /OriginalMessageId>([^<]+)</.exec(t)?.[1];
    out(id ? `status  ${id}  ${/StatusCategory>([^<]+)</.exec(t)?.[1] ?? '?'}${/StatusDetails>([^<]*)</.exec(t)?.[1] ? `  ${/StatusDetails>([^<]*)</.exec(t)![1]}` : ''}` : 'no status message');
    return 0;
  }

  const operation = values.responses ? 'GetResponse' : 'GetRequest';
  const r = await post(endpoint, await sign(pollEnvelope(operation, version, new Date(), filter)), operation);
  if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${faultLine(r.body)}`);
  let m: SmevMessage;
  try {
    m = readSmevMessage(r.body, r.contentType);
  } catch (error) {
    if (error instanceof SmevMessageError) throw new Error(`the answer is not a readable ${operation}Response: ${error.message}`);
    throw error;
  }
  if (m.empty) {
    out('queue empty');
    return 0;
  }
  const md = child(m.message, 'MessageMetadata');
  out(`${operation === 'GetRequest' ? 'request' : 'response'}  ${m.messageId ?? '?'}${r.contentType.startsWith('multipart/') ? '  (MTOM)' : ''}`);
  out(`  from        ${text(md, 'Sender', 'Mnemonic')} → ${text(md, 'Recipient', 'Mnemonic')}, sent ${text(md, 'SendingTimestamp')}`);
  out(`  content     ${m.content ? `{${m.content.namespaceURI}}${m.content.localName}` : '(none: a rejection or a status)'}`);
  if (operation === 'GetRequest') out(`  ReplyTo     ${text(m.message, 'ReplyTo')}`);
  else out(`  answers     ${text(m.message, 'OriginalMessageId')}`);
  if (child(m.senderData, 'TestMessage')) out('  test        TestMessage: the provider must not change its data');
  for (const a of m.attachments) out(`  attachment  ${a.id}  ${a.mimeType}  ${a.bytes.length} bytes  sha256 ${a.sha256}${a.signaturePkcs7 ? '  (PKCS#7 signature attached)' : ''}`);
  for (const f of m.refAttachments) out(`  file store  ${f.uuid}  ${f.mimeType}  hash ${f.hash}`);
  for (const f of m.fsAttachments) out(`  fs access   ${f.uuid}  ${f.fileName}  user ${f.userName}`);
  const verdict = (sig: XmlElement | null, target: XmlElement | null) => {
    if (!sig || !target) return 'missing';
    const v = verifySignature(m.doc, sig, target, { trust });
    const who = v.details.certificate?.subject ?? '?';
    return v.valid ? `valid, by "${who}"` : `INVALID (${v.reason ?? '?'}: ${v.message})`;
  };
  out(`  sender sig  ${verdict(m.senderSignature, m.senderData)}`);
  const smev = verdict(m.smevSignature, m.message);
  const pinned = exchangeCert && m.smevSignature ? verifySignature(m.doc, m.smevSignature, m.message, { trust: null }).details.certificate?.fingerprintSha256 === exchangeCert.fingerprintSha256 : null;
  out(`  SMEV sig    ${smev}${pinned === null ? '' : pinned ? ' (the expected exchange certificate)' : ' — NOT the expected exchange certificate'}`);
  if (values.save) {
    const dir = String(values.save);
    mkdirSync(dir, { recursive: true });
    const base = safeName(m.messageId ?? 'message');
    writeFileSync(path.join(dir, `${base}.xml`), m.xml);
    for (const a of m.attachments) writeFileSync(path.join(dir, `${base}-${safeName(a.id)}`), a.bytes);
    out(`  saved       ${path.join(dir, `${base}.xml`)}${m.attachments.length ? ` and ${m.attachments.length} attachment(s)` : ''}`);
  }
  if ((values.ack || values.reject) && m.messageId) {
    const ack = await post(endpoint, await sign(ackEnvelope(version, m.messageId, !values.reject)), 'Ack');
    if (ack.status !== 200) throw new Error(`Ack: HTTP ${ack.status}: ${faultLine(ack.body)}`);
    out(`  ${values.reject ? 'acknowledged (accepted="false")' : 'acknowledged'}`);
  }
  return 0;
}
