/**
 * The federal portal's SMEV endpoint for ELK status messages, simulated: a
 * real HTTP server on loopback that the gateway delivers statuses to. Used by
 * the delivery tests, the README walk-through and partners' integration
 * testing (`okno simulate portal`).
 *
 * It behaves as the portal does where delivery correctness depends on it:
 * it verifies the gateway's signature (trusted, and by the expected
 * certificate), accepts only valid ELK status content, is idempotent by
 * MessageID (a retry of an accepted message gets the first reply again and
 * is not recorded twice; other content under the same MessageID is refused),
 * and answers with a signed SendRequestResponse. Failures can be scripted —
 * down, slow, faults, 503, reset — so the gateway's retries can be tested
 * against the real network path.
 *
 * Library code: it never prints. The CLI subscribes to the hooks.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SimulatorServer } from './simulator-server.js';
import type { ServiceCatalogue } from '../catalogue/types.js';
import type { Signer } from '../pki/signer.js';
import { checkAttachmentSignature, type AttachmentSignatureSummary } from '../pki/cms/attachment.js';
import { parseContentType } from '../soap/mtom.js';
import { locateSmevMessage, readSmevMessage, SmevMessageError } from '../soap/smev-message.js';
import type { XmlDocument } from '../xml/types.js';
import type { TrustAnchorSet } from '../pki/trust.js';
import { SmevFault, type SmevFaultName } from '../soap/faults.js';
import type { SmevVersion } from '../soap/namespaces.js';
import { messageAccepted } from '../soap/reply.js';
import {
  checkSoapAction,
  faultAnswer,
  guessVersion,
  MAX_BODY_BYTES,
  parseEnvelope,
  primaryContent,
  readBody,
  readMessageId,
  routeCheck,
  verifyEnvelope,
  XML,
  type Answer,
} from './smev-http.js';

export { SMEV_PATH } from './smev-http.js';
export const ELK_SERVICE_ID = 'elk-order-status';

/** One status entry of an order, as the city's JSON (elk-order-status request schema). */
export interface ElkStatusEntry {
  status: number;
  statusDate: string;
  statusComment?: string;
  /** The status's documents: each names a file the message carries (FSuuid = its contentId). */
  attachments?: Array<{ FSuuid: string; docTypeId: string }>;
}

/** One file a status message carried (an MTOM part or inline content), with the portal's check of its SignaturePKCS7. */
export interface ReceivedFile {
  contentId: string;
  mimeType: string;
  size: number;
  /** Hex SHA-256 of the bytes received. */
  sha256: string;
  bytes: Buffer;
  /** The detached CMS signature as received (DER), or null. */
  signaturePkcs7: Buffer | null;
  /** The portal's verdict: a file must carry a signature that verifies and chains to the portal's trust anchors. */
  verdict: AttachmentSignatureSummary | null;
  /** Whether the message came as MTOM (the file a MIME part) or with inline base64. */
  mtom: boolean;
}

export interface ElkOrder {
  orderNumber: string;
  serviceCode?: string;
  statusHistory: ElkStatusEntry[];
}

/** One accepted status message, as recorded (in arrival order). */
export interface ReceivedStatus {
  messageId: string;
  receivedAt: Date;
  kind: 'create' | 'update';
  env: string;
  orders: ElkOrder[];
  /** The subject of the certificate that signed the envelope (the gateway's). */
  signerSubject: string;
  /** The files it carried, each with its signature's verdict (all valid: a bad one is refused with InvalidContent). */
  files: ReceivedFile[];
}

/** One status entry of one order, with the message that carried it (historyOf). */
export interface OrderStatus extends ElkStatusEntry {
  messageId: string;
  receivedAt: Date;
  kind: 'create' | 'update';
}

/** What a scripted request gets instead of being processed. */
export type ScriptedAnswer = 'fault:InvalidContent' | 'fault:SMEVFailure' | 'http:503' | 'reset';
export const SCRIPTED_ANSWERS: readonly ScriptedAnswer[] = ['fault:InvalidContent', 'fault:SMEVFailure', 'http:503', 'reset'];

export interface PortalSimulatorOptions {
  /** 0 (default): a free port. */
  port?: number;
  /** Listen address (default 127.0.0.1; 0.0.0.0 in a container). */
  host?: string;
  /** The CAs the gateway's certificate must chain to. */
  trust: TrustAnchorSet;
  /** SHA-256 fingerprint (lower-case hex, as Certificate.fingerprintSha256) of the only certificate accepted; unset: any trusted one. */
  expectedSigner?: string;
  /** The portal's key: it signs the replies. */
  signer: Signer;
  catalogue: ServiceCatalogue;
  /** The clock (tests). */
  now?: () => Date;
  /** Called for each accepted (recorded) status message. */
  onStatus?: (status: ReceivedStatus) => void;
  /** Called for each duplicate (same MessageID, same content) answered with the first reply. */
  onDuplicate?: (messageId: string) => void;
  /** Called for each request refused with a fault or a scripted answer. */
  onRefused?: (what: string, message: string) => void;
}

interface Seen {
  /** The content as JSON text: a retry must carry the same content to be a duplicate. */
  content: string;
  reply: Promise<string>;
}


export class PortalSimulator extends SimulatorServer {
  private readonly records: ReceivedStatus[] = [];
  private readonly seen = new Map<string, Seen>();
  private readonly script: ScriptedAnswer[] = [];
  private delayMs = 0;
  private faultCount = 0;
  private duplicateCount = 0;
  private attemptCount = 0;
  private inFlightCount = 0;

  private constructor(
    private readonly options: PortalSimulatorOptions,
    host: string,
    port: number,
  ) {
    super(host, port);
  }

  static async start(options: PortalSimulatorOptions): Promise<PortalSimulator> {
    const sim = new PortalSimulator(options, options.host ?? '127.0.0.1', options.port ?? 0);
    await sim.listen();
    return sim;
  }

  /** Retries of accepted messages answered with their first reply (not recorded again). */
  get duplicates(): number {
    return this.duplicateCount;
  }

  /** Every POST that reached the simulator, whatever it was answered. */
  get attempts(): number {
    return this.attemptCount;
  }

  /** Requests that arrived and are not answered yet (e.g. held by setDelay): a message "on the wire". */
  get inFlight(): number {
    return this.inFlightCount;
  }

  /** The accepted status messages, in arrival order. */
  statuses(): ReceivedStatus[] {
    return [...this.records];
  }

  /** The accepted messages that carry this order (whole, as arrived), in arrival order. */
  byOrder(orderNumber: string): ReceivedStatus[] {
    return this.records.filter((r) => r.orders.some((o) => o.orderNumber === orderNumber));
  }

  /** Every status entry of one order, flattened across messages, in arrival order. */
  historyOf(orderNumber: string): OrderStatus[] {
    return this.records.flatMap((r) =>
      r.orders
        .filter((o) => o.orderNumber === orderNumber)
        .flatMap((o) => o.statusHistory.map((s) => ({ ...s, messageId: r.messageId, receivedAt: r.receivedAt, kind: r.kind }))),
    );
  }

  /** Resolves with the statuses once predicate holds (checked now and whenever a request arrives, is recorded or is answered). */
  waitFor(predicate: (statuses: readonly ReceivedStatus[], sim: PortalSimulator) => boolean, timeoutMs = 5000): Promise<ReceivedStatus[]> {
    return this.waitUntil(
      'PortalSimulator',
      () => predicate(this.records, this),
      timeoutMs,
      () => `${this.records.length} statuses, ${this.duplicateCount} duplicates, ${this.attemptCount} attempts`,
    ).then(() => this.statuses());
  }

  /** Every answer from now on comes this much later (the message itself is accepted at once, as a portal that answers late). */
  setDelay(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('setDelay: ms must be a non-negative number');
    this.delayMs = ms;
  }

  /** The next n requests get this answer instead of being processed, and are not recorded. */
  failNext(n: number, answer: ScriptedAnswer): void {
    if (!Number.isInteger(n) || n < 0) throw new RangeError('failNext: n must be a non-negative integer');
    if (!SCRIPTED_ANSWERS.includes(answer)) throw new RangeError(`failNext: answer must be one of ${SCRIPTED_ANSWERS.join(', ')}`);
    for (let i = 0; i < n; i++) this.script.push(answer);
  }

  /** Forgets what arrived and every script (the port stays). */
  reset(): void {
    this.records.length = 0;
    this.seen.clear();
    this.script.length = 0;
    this.delayMs = 0;
    this.duplicateCount = 0;
    this.attemptCount = 0;
  }

  async close(): Promise<void> {
    await this.shutdown();
  }

  // ---------------------------------------------------------------- server

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.inFlightCount++;
    this.notify();
    try {
      await this.respond(req, res);
    } finally {
      this.inFlightCount--;
      this.notify();
    }
  }

  private async respond(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let answer: Answer | 'reset';
    try {
      answer = await this.answer(req);
    } catch (error) {
      // Only our own bugs get here; a portal would say SMEVFailure too.
      answer = this.fault(new SmevFault('SMEVFailure', `the portal simulator failed: ${(error as Error).message}`), '1.1');
    }
    if (this.delayMs > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.timers.delete(t);
          resolve();
        }, this.delayMs);
        this.timers.add(t);
      });
    }
    // The gateway may have given up (timeout) or we went down meanwhile: nobody to answer.
    if (res.destroyed || this.closed) return;
    if (answer === 'reset') {
      req.socket.destroy();
      return;
    }
    res.writeHead(answer.status, { 'content-type': answer.contentType, connection: 'close' }).end(answer.body);
  }

  private async answer(req: IncomingMessage): Promise<Answer | 'reset'> {
    const route = routeCheck(req);
    if (route) return route;
    this.attemptCount++;
    const raw = await readBody(req);
    const scripted = this.script.shift();
    if (scripted !== undefined) return this.scripted(scripted, raw === null ? '1.1' : guessVersion(raw));
    if (raw === null) return this.fault(new SmevFault('InvalidContent', `the message is larger than ${MAX_BODY_BYTES} bytes`), '1.1');
    try {
      return { status: 200, body: await this.accept(raw, req), contentType: XML };
    } catch (error) {
      // Faults speak the request's version, read from its head as the gateway's endpoint does.
      if (error instanceof SmevFault) return this.fault(error, guessVersion(raw));
      throw error;
    }
  }

  private scripted(answer: ScriptedAnswer, version: SmevVersion): Answer | 'reset' {
    this.options.onRefused?.(answer, 'scripted by failNext');
    if (answer === 'reset') return 'reset';
    if (answer === 'http:503') return { status: 503, body: 'Service Unavailable (scripted)\n', contentType: 'text/plain; charset=utf-8' };
    const name: SmevFaultName = answer === 'fault:InvalidContent' ? 'InvalidContent' : 'SMEVFailure';
    return this.fault(new SmevFault(name, `${name} (scripted by the portal simulator)`), version, false);
  }

  private fault(fault: SmevFault, version: SmevVersion, report = true): Answer {
    if (report) this.options.onRefused?.(fault.fault, fault.message);
    return faultAnswer(fault, version, `PORTAL-${++this.faultCount}`);
  }

  /**
   * Verifies, validates, deduplicates and records synchronously — so the
   * order of the records is the order of arrival — and returns the reply
   * (signing is asynchronous). Throws SmevFault.
   */
  private accept(raw: Buffer, req: IncomingMessage): Promise<string> {
    const now = this.options.now?.() ?? new Date();
    const contentType = req.headers['content-type'];
    const mtom = parseContentType(contentType ?? 'text/xml').mediaType === 'multipart/related';
    let doc;
    if (mtom) {
      // The XOP infoset (each xop:Include replaced by its part's base64) is what the signatures cover.
      try {
        doc = readSmevMessage(raw, contentType).doc;
      } catch (error) {
        if (error instanceof SmevMessageError) throw new SmevFault('InvalidContent', `the MTOM message cannot be read: ${error.message}`);
        throw error;
      }
    } else doc = parseEnvelope(raw);
    const { parts, signed, signerSubject, version } = verifyEnvelope(doc, { trust: this.options.trust, expectedSigner: this.options.expectedSigner, now });
    const operation = parts.operation.localName;
    if (operation !== 'SendRequestRequest') throw new SmevFault('UnknownMessageType', `${operation}: the portal's status endpoint takes SendRequest only`);
    checkSoapAction(req, operation);

    // Read only inside what the signature covers.
    const messageId = readMessageId(signed);
    const content = primaryContent(signed);
    const service = this.options.catalogue.get(ELK_SERVICE_ID);
    if (!service) throw new SmevFault('SMEVFailure', `the catalogue has no ${ELK_SERVICE_ID} service`);
    const def = service.request;
    if (content.namespaceURI !== def.namespace || content.localName !== def.rootElement) {
      throw new SmevFault('InvalidContent', `the content must be ${def.rootElement} in ${def.namespace} (an ELK status), not ${content.localName} in ${content.namespaceURI || 'no namespace'}`, {
        validationErrors: [{ message: `/${content.localName}: expected ${def.rootElement} in ${def.namespace}`, position: 0 }],
      });
    }
    const read = def.readXml(content);
    if (!read.ok) {
      const { errors } = read;
      throw new SmevFault('InvalidContent', `the ELK status is not valid: ${errors.map((e) => `${e.path}: ${e.rule}`).join('; ')}`, {
        validationErrors: errors.map((e) => ({ message: `${e.path}: ${e.rule}: ${e.message}`, position: 0 })),
      });
    }
    const json = read.json as unknown as { env: string; createOrders?: { orders: ElkOrder[] }; updateOrders?: { orders: ElkOrder[] } };
    const files = this.checkFiles(doc, json, now, mtom);
    // A retry must carry the same files with the same signatures to be a duplicate.
    const key = JSON.stringify({ json, files: files.map((f) => [f.contentId, f.sha256, f.signaturePkcs7?.toString('base64') ?? null]) });

    const seen = this.seen.get(messageId);
    if (seen) {
      if (seen.content !== key) throw new SmevFault('MessageIsAlreadySent', `a different message with MessageID ${messageId} was already accepted`);
      this.duplicateCount++;
      this.options.onDuplicate?.(messageId);
      this.notify();
      return seen.reply;
    }

    const record: ReceivedStatus = {
      messageId,
      receivedAt: now,
      kind: json.createOrders ? 'create' : 'update',
      env: json.env,
      orders: (json.createOrders ?? json.updateOrders)!.orders,
      signerSubject,
      files,
    };
    const reply = messageAccepted('SendRequestResponse', version, {
      messageId,
      messageType: 'REQUEST',
      sender: { mnemonic: 'okno', name: signerSubject },
      recipient: { mnemonic: 'EPGU', name: 'Единый портал государственных услуг (симулятор)' },
      sendingTimestamp: now,
      destinationName: 'EPGU',
      contentTypeName: service.title,
      interactionType: 'OIV2OIV',
      status: 'requestIsQueued',
    }, { signer: this.options.signer, profile: 'xmldsig' });
    // Registered before the first await, so a concurrent retry finds it.
    this.seen.set(messageId, { content: key, reply });
    this.records.push(record);
    this.options.onStatus?.(record);
    this.notify();
    return reply;
  }

  /**
   * The files the message carries: each must carry a SignaturePKCS7 that verifies against its
   * bytes and chains to the portal's trust anchors, and each document a status names (FSuuid)
   * must be one of them. Throws InvalidContent naming the file.
   */
  private checkFiles(doc: XmlDocument, json: { createOrders?: { orders: ElkOrder[] }; updateOrders?: { orders: ElkOrder[] } }, now: Date, mtom: boolean): ReceivedFile[] {
    let attachments;
    try {
      attachments = locateSmevMessage(doc).attachments;
    } catch (error) {
      if (error instanceof SmevMessageError) throw new SmevFault('InvalidContent', error.message);
      throw error;
    }
    const files = attachments.map((a): ReceivedFile => {
      const check = checkAttachmentSignature(a.bytes, a.signaturePkcs7 ?? null, 'required', this.options.trust, { now, name: a.id });
      if (!check.accepted) throw new SmevFault('InvalidContent', check.refusal ?? `attachment ${a.id}: refused`);
      return { contentId: a.id, mimeType: a.mimeType, size: a.bytes.length, sha256: a.sha256, bytes: a.bytes, signaturePkcs7: a.signaturePkcs7 ?? null, verdict: check.summary ?? null, mtom };
    });
    const carried = new Set(files.map((f) => f.contentId));
    for (const order of (json.createOrders ?? json.updateOrders)?.orders ?? []) {
      for (const entry of order.statusHistory) {
        for (const doc of entry.attachments ?? []) {
          if (!carried.has(doc.FSuuid)) throw new SmevFault('InvalidContent', `order ${order.orderNumber}: the document ${doc.FSuuid} (${doc.docTypeId}) is not among the message's attachments`);
        }
      }
    }
    return files;
  }

  private notify(): void {
    this.notifyWaiters();
  }
}
