/**
 * The SMEV 3 message exchange (the federal broker), simulated: a real HTTP
 * server on loopback speaking the message-exchange WSDL (1.1, 1.2, 1.3
 * namespaces) on POST /ws/smev3. Information systems are registered with a
 * certificate and the message types they provide; they send requests and
 * responses, and poll their queues for what is addressed to them. For tests,
 * demos and partners' integration testing (`okno simulate smev`).
 *
 * ── API (stable; the gateway's client mode is tested against it) ──────────
 *
 *   const sim = await SmevExchangeSimulator.start({
 *     trust,                      // TrustAnchorSet: callers' certificates must chain to it
 *     signer,                     // the exchange's own key: SMEVSignature on everything it delivers/answers
 *     systems: [                  // registered information systems
 *       { mnemonic: 'portal', certificatePem },
 *       { mnemonic: 'okno', certificatePem, provides: ['urn://…/egrn-extract/1.0.0'] },
 *     ],
 *     visibilityTimeoutMs: 30_000, // a delivered, un-acked message is delivered again after this
 *   });
 *   sim.endpoint                 // http://127.0.0.1:PORT/ws/smev3
 *   sim.certificatePem           // the exchange's certificate (the gateway's registry needs it)
 *   sim.registerSystem({ mnemonic, certificatePem, provides })   // more systems, also at run time
 *
 * Operations (each request signed by the caller — CallerInformationSystemSignature —
 * with a trusted certificate registered here; otherwise SignatureVerificationFault,
 * or SenderIsNotRegistered for a trusted but unregistered certificate):
 *   SendRequest   routed by the namespace URI of the business element in
 *                 MessagePrimaryContent to the system that provides it
 *                 (none: BusinessDataTypeIsNotSupported); queued in the
 *                 provider's request queue; answers SendRequestResponse with
 *                 signed MessageMetadata (MessageType REQUEST, Status
 *                 requestIsQueued). MessageID: a lower-case v1 UUID
 *                 (InvalidMessageIdFormat), not older than staleAfterMs
 *                 (StaleMessageId); content of a catalogue type (option
 *                 `catalogue`) must be valid by its XSD (InvalidContent).
 *                 Again with the same signed data: the first answer again;
 *                 with other data: MessageIsAlreadySent.
 *   GetRequest    the caller's oldest deliverable request (queued, or
 *                 delivered and not acked for visibilityTimeoutMs),
 *                 optionally filtered by MessageTypeSelector NamespaceURI +
 *                 RootElementLocalName: GetRequestResponse/RequestMessage/
 *                 Request Id=SIGNED_BY_SMEV {SenderProvidedRequestData as the
 *                 sender signed it, MessageMetadata, FSAttachmentsList?,
 *                 ReplyTo, SenderInformationSystemSignature},
 *                 AttachmentContentList?, SMEVSignature over Request.
 *                 Empty queue: an empty GetRequestResponse.
 *   Ack           AckTargetMessage (a MessageID delivered to the caller, not
 *                 yet acked; accepted true or false): removes it from the
 *                 queue. Otherwise TargetMessageIsNotFound.
 *   SendResponse  To = the ReplyTo of a request delivered to the caller
 *                 (otherwise InvalidContent); queued in the requester's
 *                 response queue; SendResponseResponse (Status
 *                 responseIsAcceptedBySmev).
 *   GetResponse   as GetRequest, on the caller's response queue: Response
 *                 {OriginalMessageId, SenderProvidedResponseData,
 *                 MessageMetadata, FSAttachmentsList?,
 *                 SenderInformationSystemSignature}; the filter matches the
 *                 response's business element, or the original request's
 *                 when the response has none (RequestRejected/RequestStatus).
 *   GetStatus     the caller's next status message about what it sent
 *                 (OriginalMessageId = its MessageID): requestIsQueued when
 *                 its request is queued, underProcessing when the provider
 *                 acked it; responseIsDelivered when the requester acked its
 *                 response. Taken off on reading; empty when none.
 *
 * Attachments: SendRequest/SendResponse may come by MTOM (multipart/related,
 * xop:Include resolved before the signature is checked) or inline base64.
 * They are delivered by MTOM (`attachmentDelivery: 'mtom'`, the default, as
 * the real exchange) or inline (`'inline'`); read either with
 * readSmevMessage (src/soap/smev-message.ts). A RefAttachmentHeaderList
 * (files in the exchange's file store) gets an FSAttachmentsList on delivery:
 * with option `fileStore` (smev-file-store.ts: FTP and S3 servers) real per-file
 * credentials for a file the sender uploaded; without it, made-up ones.
 *
 * Versions: each operation is answered in its request's version; a message
 * is delivered with the sender's signed data as sent (in the sender's
 * version's namespaces), whatever version the recipient polls with.
 *
 * Test messages (TestMessage in the signed data): by the XSD, the provider
 * must not change its data for them. This simulator accepts and answers
 * them (SendRequestResponse) and records them, but does not put them in the
 * recipient's live queue unless `deliverTestMessages: true` (then they are
 * delivered with TestMessage intact, for a provider testing how it treats them).
 *
 * Faults on demand: `failNext(n, answer, operation?)` — 'fault:SMEVFailure',
 * 'fault:SignatureVerificationFault', 'fault:StaleMessageId',
 * 'fault:InvalidContent', 'http:503', 'reset' (connection cut) — for the next
 * n requests (of that operation: 'SendRequest', 'GetRequest', 'Ack', …);
 * `setDown(true|false)` closes / reopens the port.
 *
 * Inspection: `queue(mnemonic, 'requests' | 'responses')`, `message(id)`,
 * `acksOf(id)` (every Ack naming it, refused ones included), `messages()`, `counts`, `waitFor(predicate)`, `reset()`; `onEvent` hook.
 *
 * Library code: it never prints. The CLI subscribes to onEvent.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServiceCatalogue } from '../catalogue/types.js';
import { parseCertificate, type Certificate } from '../pki/certificate.js';
import type { SignatureProfile } from '../signature/sign.js';
import type { Signer } from '../pki/signer.js';
import { verifySmevEnvelope } from '../signature/smev-profile.js';
import type { TrustAnchorSet } from '../pki/trust.js';
import { SmevFault, type SmevFaultName } from '../soap/faults.js';
import { decodeSoapBody, MtomError, resolveXop } from '../soap/mtom.js';
import { isSmevVersion, type SmevVersion } from '../soap/namespaces.js';
import { ackReply, messageAccepted, statusReply, type InteractionStatus } from '../soap/reply.js';
import { locateSmevMessage, SmevMessageError, type SmevMessageParts } from '../soap/smev-message.js';
import { childElements, textContent } from '../xml/helpers.js';
import { parseXml, XmlError } from '../xml/parser.js';
import type { XmlDocument, XmlElement } from '../xml/types.js';
import { SimulatorServer } from './simulator-server.js';
import type { SimulatedFileStore } from './smev-file-store.js';
import { deliveryAnswer, emptyQueueAnswer, standaloneXml, type DeliveryAnswer } from './smev-exchange-replies.js';
import { checkSoapAction, ENVELOPE_LIMITS, faultAnswer, guessVersion, MAX_BODY_BYTES, readBody, readMessageId, routeCheck, TEXT, type Answer } from './smev-http.js';

export { SMEV_PATH } from './smev-http.js';

/** One registered information system. */
export interface ExchangeSystem {
  /** Its mnemonic at the exchange (Sender/Recipient Mnemonic), e.g. 'okno'. */
  mnemonic: string;
  /** HumanReadableName (default: the mnemonic). */
  name?: string;
  /** The certificate it signs with (PEM). */
  certificatePem: string;
  /** Namespace URIs of the request business elements it provides (routing of SendRequest). */
  provides?: string[];
}

export type ExchangeOperation = 'SendRequest' | 'SendResponse' | 'GetRequest' | 'GetResponse' | 'Ack' | 'GetStatus';
export const EXCHANGE_OPERATIONS: readonly ExchangeOperation[] = ['SendRequest', 'SendResponse', 'GetRequest', 'GetResponse', 'Ack', 'GetStatus'];

export type ExchangeScriptedAnswer = 'fault:SMEVFailure' | 'fault:SignatureVerificationFault' | 'fault:StaleMessageId' | 'fault:InvalidContent' | 'http:503' | 'reset';
export const EXCHANGE_SCRIPTED_ANSWERS: readonly ExchangeScriptedAnswer[] = [
  'fault:SMEVFailure',
  'fault:SignatureVerificationFault',
  'fault:StaleMessageId',
  'fault:InvalidContent',
  'http:503',
  'reset',
];

export interface SmevExchangeOptions {
  /** 0 (default): a free port. */
  port?: number;
  /** Listen address (default 127.0.0.1; 0.0.0.0 in a container). */
  host?: string;
  /** The CAs callers' certificates must chain to. */
  trust: TrustAnchorSet;
  /** The exchange's own key (SMEVSignature). */
  signer: Signer;
  /** Signature profile of SMEVSignature: 'smev' (default: exc-c14n + SMEV transform) or 'xmldsig'. */
  profile?: SignatureProfile;
  systems: ExchangeSystem[];
  /** A delivered message not acked within this is delivered again (default 30 000 ms). */
  visibilityTimeoutMs?: number;
  /** A SendRequest/SendResponse whose MessageID's time is older than this is StaleMessageId (default 24 h). */
  staleAfterMs?: number;
  /** Deliver TestMessage requests to the recipient's queue (default false: accepted, recorded, not delivered). */
  deliverTestMessages?: boolean;
  /** How GetRequest/GetResponse carry attachment content: 'mtom' (default) or 'inline' base64. */
  attachmentDelivery?: 'mtom' | 'inline';
  /**
   * When given, business content whose root element is a part of a catalogue
   * service is validated by that part's XSD, as the exchange validates
   * registered types (InvalidContent with the errors). Other content passes.
   */
  catalogue?: ServiceCatalogue;
  /** The clock (tests). */
  now?: () => Date;
  onEvent?: (event: ExchangeEvent) => void;
  /**
   * The exchange's file store (smev-file-store.ts). With it, a RefAttachmentHeaderList must name
   * files uploaded there (otherwise InvalidContent) and FSAttachmentsList carries real per-file
   * credentials and the uploaded file's name; without it, made-up ones.
   */
  fileStore?: SimulatedFileStore;
}

export interface ExchangeEvent {
  at: Date;
  kind: 'sent' | 'duplicate' | 'delivered' | 'redelivered' | 'acked' | 'empty' | 'status' | 'refused';
  operation: ExchangeOperation | 'unknown';
  messageId?: string;
  from?: string;
  to?: string;
  /** For refused: the fault name or scripted answer and its message. */
  detail?: string;
}

export type MessageState = 'queued' | 'delivered' | 'acked' | 'test';

/** What the exchange holds about one message (inspection). */
export interface ExchangeMessage {
  kind: 'request' | 'response';
  messageId: string;
  sender: string;
  recipient: string;
  state: MessageState;
  test: boolean;
  /** The business element's namespace and local name ('' when the message has none). */
  namespaceURI: string;
  rootElement: string;
  sentAt: Date;
  deliveries: number;
  lastDeliveredAt: Date | null;
  ackedAt: Date | null;
  /** The Ack's accepted flag, once acked. */
  accepted: boolean | null;
  /** The request answered (responses). */
  originalMessageId: string | null;
  /** ReplyTo given to the recipient (requests). */
  replyTo: string | null;
  /** SenderProvided…Data as the sender signed it (standalone text). */
  senderDataXml: string;
  attachments: Array<{ id: string; mimeType: string; size: number; sha256: string }>;
  refAttachments: Array<{ uuid: string; mimeType: string }>;
}

export interface ExchangeCounts {
  /** Every POST to the endpoint. */
  attempts: number;
  sent: number;
  duplicates: number;
  delivered: number;
  redelivered: number;
  acked: number;
  emptyPolls: number;
  faults: number;
}

interface Registered {
  mnemonic: string;
  name: string;
  certificate: Certificate;
  provides: Set<string>;
}

interface Stored {
  info: ExchangeMessage;
  contentKey: string;
  reply: Promise<string>;
  version: SmevVersion;
  senderSignatureXml: string;
  attachmentBytes: Array<{ id: string; mimeType: string; bytes: Buffer }>;
  fsAttachments: Array<{ uuid: string; userName: string; password: string; fileName: string }>;
  contentTypeName: string;
  /** For a response: the namespace/local name of the original request's element (filter fallback). */
  requestNamespaceURI: string;
  requestRootElement: string;
}

interface Script {
  answer: ExchangeScriptedAnswer;
  operation?: ExchangeOperation;
}


const OPERATION_IN_HEAD = /<(?:[A-Za-z_][\w.-]*:)?(SendRequest|SendResponse|GetRequest|GetResponse|Ack|GetStatus)Request[\s>/]/;
const GREGORIAN_OFFSET_100NS = 122_192_928_000_000_000n;

/** The time (ms since 1970) inside a version-1 UUID. */
export function uuidV1Time(uuid: string): number {
  const [low, mid, hi] = uuid.split('-');
  const t = ((BigInt(`0x${hi}`) & 0x0fffn) << 48n) | (BigInt(`0x${mid}`) << 32n) | BigInt(`0x${low}`);
  return Number((t - GREGORIAN_OFFSET_100NS) / 10_000n);
}

export class SmevExchangeSimulator extends SimulatorServer {
  private readonly systems: Registered[] = [];
  private readonly byFingerprint = new Map<string, Registered>();
  private readonly byId = new Map<string, Stored>();
  /** Per recipient mnemonic: FIFO of un-acked message ids. */
  private readonly requestQueues = new Map<string, string[]>();
  private readonly responseQueues = new Map<string, string[]>();
  private readonly replyTokens = new Map<string, string>();
  private readonly statusQueues = new Map<string, Array<{ originalMessageId: string; status: InteractionStatus }>>();
  /** Every Ack that named a MessageID (accepted, or refused as not delivered / already acked). */
  private readonly ackCounts = new Map<string, number>();
  private readonly script: Script[] = [];
  private stats: ExchangeCounts = SmevExchangeSimulator.zeroCounts();
  private faultCount = 0;
  private attachmentMode: 'mtom' | 'inline';
  readonly certificatePem: string;

  private constructor(
    private readonly options: SmevExchangeOptions,
    host: string,
    port: number,
  ) {
    super(host, port);
    this.attachmentMode = options.attachmentDelivery ?? 'mtom';
    this.certificatePem = pemOf(options.signer.certificate.der);
    for (const system of options.systems) this.registerSystem(system);
  }

  /**
   * Registers one more information system (also at run time, e.g. with a
   * certificate made by a test). Throws RangeError for a bad or taken
   * mnemonic, a certificate already registered, or a type another system provides.
   */
  registerSystem(system: ExchangeSystem): void {
    if (!/^[A-Za-z0-9_.-]{1,100}$/.test(system.mnemonic)) throw new RangeError(`system mnemonic "${system.mnemonic}" must be 1–100 letters, digits, _ . -`);
    if (this.systems.some((s) => s.mnemonic === system.mnemonic)) throw new RangeError(`system ${system.mnemonic} is already registered`);
    const certificate = parseCertificate(system.certificatePem);
    const same = this.byFingerprint.get(certificate.fingerprintSha256);
    if (same) throw new RangeError(`systems ${same.mnemonic} and ${system.mnemonic} share a certificate`);
    const provides = new Set(system.provides ?? []);
    for (const uri of provides) {
      const other = this.systems.find((o) => o.provides.has(uri));
      if (other) throw new RangeError(`${uri} is provided by both ${other.mnemonic} and ${system.mnemonic}`);
    }
    const registered: Registered = { mnemonic: system.mnemonic, name: system.name ?? system.mnemonic, certificate, provides };
    this.systems.push(registered);
    this.byFingerprint.set(certificate.fingerprintSha256, registered);
  }

  static async start(options: SmevExchangeOptions): Promise<SmevExchangeSimulator> {
    const sim = new SmevExchangeSimulator(options, options.host ?? '127.0.0.1', options.port ?? 0);
    await sim.listen();
    return sim;
  }

  private static zeroCounts(): ExchangeCounts {
    return { attempts: 0, sent: 0, duplicates: 0, delivered: 0, redelivered: 0, acked: 0, emptyPolls: 0, faults: 0 };
  }

  // ------------------------------------------------------------ inspection

  get counts(): ExchangeCounts {
    return { ...this.stats };
  }

  /** The un-acked messages waiting for (or delivered to and not yet acked by) a system, oldest first. */
  queue(mnemonic: string, which: 'requests' | 'responses' = 'requests'): ExchangeMessage[] {
    const q = (which === 'requests' ? this.requestQueues : this.responseQueues).get(mnemonic) ?? [];
    return q.map((id) => ({ ...this.byId.get(id)!.info }));
  }

  /** One message by MessageID (whatever its state), or undefined. */
  message(messageId: string): ExchangeMessage | undefined {
    const s = this.byId.get(messageId);
    return s ? { ...s.info } : undefined;
  }

  /** How many Acks named this MessageID (each one, whether it removed the message or was refused as already acked). */
  acksOf(messageId: string): number {
    return this.ackCounts.get(messageId) ?? 0;
  }

  /** Every message accepted, in arrival order. */
  messages(): ExchangeMessage[] {
    return [...this.byId.values()].map((s) => ({ ...s.info }));
  }

  /** Resolves once predicate holds (checked now and after every request). */
  waitFor(predicate: (sim: SmevExchangeSimulator) => boolean, timeoutMs = 5000): Promise<void> {
    return this.waitUntil('SmevExchangeSimulator', () => predicate(this), timeoutMs, () => JSON.stringify(this.stats));
  }

  /** The next n requests (of `operation`, when given) get this answer instead of being processed. */
  failNext(n: number, answer: ExchangeScriptedAnswer, operation?: ExchangeOperation): void {
    if (!Number.isInteger(n) || n < 0) throw new RangeError('failNext: n must be a non-negative integer');
    if (!EXCHANGE_SCRIPTED_ANSWERS.includes(answer)) throw new RangeError(`failNext: answer must be one of ${EXCHANGE_SCRIPTED_ANSWERS.join(', ')}`);
    if (operation !== undefined && !EXCHANGE_OPERATIONS.includes(operation)) throw new RangeError(`failNext: operation must be one of ${EXCHANGE_OPERATIONS.join(', ')}`);
    for (let i = 0; i < n; i++) this.script.push({ answer, ...(operation ? { operation } : {}) });
  }

  setAttachmentDelivery(mode: 'mtom' | 'inline'): void {
    this.attachmentMode = mode;
  }

  /** Forgets every message, queue, status and script (the port and registrations stay). */
  reset(): void {
    this.byId.clear();
    this.requestQueues.clear();
    this.responseQueues.clear();
    this.replyTokens.clear();
    this.statusQueues.clear();
    this.ackCounts.clear();
    this.script.length = 0;
    this.stats = SmevExchangeSimulator.zeroCounts();
  }

  async close(): Promise<void> {
    await this.shutdown();
  }

  // ---------------------------------------------------------------- server

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let answer: Answer | DeliveryAnswer | 'reset';
    try {
      answer = await this.answer(req);
    } catch (error) {
      answer = this.fault(new SmevFault('SMEVFailure', `the exchange simulator failed: ${(error as Error).message}`), '1.1', 'unknown');
    }
    this.notify();
    if (res.destroyed || this.closed) return;
    if (answer === 'reset') {
      req.socket.destroy();
      return;
    }
    const status = 'status' in answer ? answer.status : 200;
    res.writeHead(status, { 'content-type': answer.contentType, connection: 'close' }).end(answer.body);
  }

  private async answer(req: IncomingMessage): Promise<Answer | DeliveryAnswer | 'reset'> {
    const route = routeCheck(req);
    if (route) return route;
    this.stats.attempts++;
    const raw = await readBody(req);
    const head = raw?.subarray(0, 65536).toString('latin1') ?? '';
    const operation = (OPERATION_IN_HEAD.exec(head)?.[1] as ExchangeOperation | undefined) ?? 'unknown';
    const version = raw === null ? '1.1' : guessVersion(raw);
    const scripted = this.takeScript(operation);
    if (scripted) return this.scripted(scripted, version, operation);
    if (raw === null) return this.fault(new SmevFault('InvalidContent', `the message is larger than ${MAX_BODY_BYTES} bytes`), version, operation);
    try {
      return await this.process(raw, req);
    } catch (error) {
      if (error instanceof SmevFault) return this.fault(error, version, operation);
      throw error;
    }
  }

  private takeScript(operation: ExchangeOperation | 'unknown'): ExchangeScriptedAnswer | undefined {
    const i = this.script.findIndex((s) => s.operation === undefined || s.operation === operation);
    return i < 0 ? undefined : this.script.splice(i, 1)[0]!.answer;
  }

  private scripted(answer: ExchangeScriptedAnswer, version: SmevVersion, operation: ExchangeOperation | 'unknown'): Answer | 'reset' {
    this.event({ kind: 'refused', operation, detail: `${answer} (scripted)` });
    if (answer === 'reset') return 'reset';
    if (answer === 'http:503') return { status: 503, body: 'Service Unavailable (scripted)\n', contentType: TEXT };
    const name = answer.slice('fault:'.length) as SmevFaultName;
    const fault = new SmevFault(name, `${name} (scripted by the exchange simulator)`, name === 'SignatureVerificationFault' ? { signatureReason: 'SignatureIsInvalid' } : {});
    this.stats.faults++;
    return faultAnswer(fault, version, `SMEV-SIM-${++this.faultCount}`);
  }

  private fault(fault: SmevFault, version: SmevVersion, operation: ExchangeOperation | 'unknown'): Answer {
    this.stats.faults++;
    this.event({ kind: 'refused', operation, detail: `${fault.fault}: ${fault.message}` });
    return faultAnswer(fault, version, `SMEV-SIM-${++this.faultCount}`);
  }

  private event(e: Omit<ExchangeEvent, 'at'>): void {
    this.options.onEvent?.({ at: this.now(), ...e });
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  private notify(): void {
    this.notifyWaiters();
  }

  /** Decodes (MTOM), parses, verifies the caller and dispatches. Throws SmevFault. */
  private async process(raw: Buffer, req: IncomingMessage): Promise<Answer | DeliveryAnswer> {
    let text: string;
    try {
      const decoded = decodeSoapBody(raw, req.headers['content-type']);
      text = resolveXop(decoded.rootXml, decoded.parts).replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
    } catch (error) {
      if (error instanceof MtomError) throw new SmevFault('InvalidContent', `MTOM: ${error.message}`);
      throw error;
    }
    let doc: XmlDocument;
    try {
      doc = parseXml(text, ENVELOPE_LIMITS);
    } catch (error) {
      if (error instanceof XmlError) throw new SmevFault('InvalidContent', `the envelope is not acceptable XML (${error.code}): ${error.message}`);
      throw error;
    }
    const now = this.now();
    const verification = verifySmevEnvelope<never>(doc, { trust: this.options.trust, now });
    if (!verification.valid) {
      const v = verification.caller.valid ? verification.personal! : verification.caller;
      throw new SmevFault('SignatureVerificationFault', v.message, { signatureReason: v.reason ?? 'SignatureIsInvalid' });
    }
    const parts = verification.parts!;
    const version: SmevVersion = isSmevVersion(parts.version) ? parts.version : '1.1';
    const cert = verification.caller.details.certificate!;
    const caller = this.byFingerprint.get(cert.fingerprintSha256);
    if (!caller) throw new SmevFault('SenderIsNotRegistered', `certificate "${cert.subject}" is trusted but registered to no information system at the exchange`);
    const operation = parts.operation.localName.replace(/Request$/, '') as ExchangeOperation;
    checkSoapAction(req, parts.operation.localName);
    const signed = verification.caller.signedElement!;
    switch (operation) {
      case 'SendRequest':
      case 'SendResponse':
        return this.send(operation, text, doc, signed, caller, version, now);
      case 'GetRequest':
      case 'GetResponse':
        return this.poll(operation, signed, caller, version, now);
      case 'Ack':
        return this.ack(signed, caller, version, now);
      case 'GetStatus':
        return this.status(caller, version);
      default:
        throw new SmevFault('UnknownMessageType', `${parts.operation.localName} is not an operation of the exchange`);
    }
  }

  // ------------------------------------------------------------- sending

  private async send(operation: 'SendRequest' | 'SendResponse', text: string, doc: XmlDocument, signed: XmlElement, caller: Registered, version: SmevVersion, now: Date): Promise<Answer> {
    const messageId = readMessageId(signed);
    const age = now.getTime() - uuidV1Time(messageId);
    if (age > (this.options.staleAfterMs ?? 24 * 3600 * 1000)) throw new SmevFault('StaleMessageId', `MessageID ${messageId} carries a time ${Math.round(age / 60000)} minutes old; generate a new one`);
    let parts: SmevMessageParts;
    try {
      parts = locateSmevMessage(doc);
    } catch (error) {
      if (error instanceof SmevMessageError) throw new SmevFault('InvalidContent', error.message);
      throw error;
    }
    const senderDataXml = standaloneXml(text, signed);
    const contentKey = createHash('sha256').update(senderDataXml).digest('hex');
    // Before the duplicate check: from that check on, nothing awaits until the message is registered.
    const fsAttachments = this.byId.has(messageId) ? [] : await this.fileStoreGrants(parts.refAttachments.map((r) => r.uuid));
    const seen = this.byId.get(messageId);
    if (seen) {
      if (seen.contentKey !== contentKey || seen.info.sender !== caller.mnemonic) throw new SmevFault('MessageIsAlreadySent', `a different message with MessageID ${messageId} was already accepted`);
      this.stats.duplicates++;
      this.event({ kind: 'duplicate', operation, messageId, from: caller.mnemonic });
      return { status: 200, body: await seen.reply, contentType: 'text/xml; charset=utf-8' };
    }
    const primary = childElements(signed).filter((c) => c.localName === 'MessagePrimaryContent');
    const content = primary.length === 1 ? childElements(primary[0]!) : [];
    if (primary.length > 1 || (primary.length === 1 && content.length !== 1)) throw new SmevFault('InvalidContent', 'MessagePrimaryContent must hold exactly one business element');
    const root = content[0] ?? null;
    if (root) this.validateContent(root);
    const test = childElements(signed).some((c) => c.localName === 'TestMessage');

    let recipient: Registered;
    let original: Stored | null = null;
    if (operation === 'SendRequest') {
      if (!root) throw new SmevFault('InvalidContent', 'SenderProvidedRequestData holds no MessagePrimaryContent');
      const provider = this.systems.find((s) => s.provides.has(root.namespaceURI));
      if (!provider) {
        throw new SmevFault('BusinessDataTypeIsNotSupported', `no information system provides ${root.localName} in ${root.namespaceURI || 'no namespace'}`, {
          rootElement: { localName: root.localName, namespace: root.namespaceURI },
        });
      }
      recipient = provider;
    } else {
      const toEl = childElements(signed).find((c) => c.localName === 'To');
      const to = toEl ? textContent(toEl).trim() : '';
      const requestId = this.replyTokens.get(to);
      original = requestId ? (this.byId.get(requestId) ?? null) : null;
      if (!original || original.info.recipient !== caller.mnemonic) throw new SmevFault('InvalidContent', 'To is not the ReplyTo of a request delivered to this information system');
      recipient = this.systems.find((s) => s.mnemonic === original!.info.sender)!;
    }
    const callerSignature = childElements(signed.parent!).find((c) => c.localName === 'CallerInformationSystemSignature')!;
    const signatureEl = childElements(callerSignature)[0]!;
    const contentTypeName = root ? root.localName : operation === 'SendResponse' ? 'RESPONSE' : '';
    const reply = messageAccepted(operation === 'SendRequest' ? 'SendRequestResponse' : 'SendResponseResponse', version, {
      messageId,
      messageType: operation === 'SendRequest' ? 'REQUEST' : 'RESPONSE',
      sender: { mnemonic: caller.mnemonic, name: caller.name },
      recipient: { mnemonic: recipient.mnemonic, name: recipient.name },
      sendingTimestamp: now,
      destinationName: recipient.mnemonic,
      contentTypeName,
      interactionType: 'OIV2OIV',
      status: operation === 'SendRequest' ? 'requestIsQueued' : 'responseIsAcceptedBySmev',
    }, { signer: this.options.signer, profile: this.options.profile ?? 'smev' });
    const delivered = !test || this.options.deliverTestMessages === true;
    const stored: Stored = {
      info: {
        kind: operation === 'SendRequest' ? 'request' : 'response',
        messageId,
        sender: caller.mnemonic,
        recipient: recipient.mnemonic,
        state: delivered ? 'queued' : 'test',
        test,
        namespaceURI: root?.namespaceURI ?? '',
        rootElement: root?.localName ?? '',
        sentAt: now,
        deliveries: 0,
        lastDeliveredAt: null,
        ackedAt: null,
        accepted: null,
        originalMessageId: original?.info.messageId ?? null,
        replyTo: null,
        senderDataXml,
        attachments: parts.attachments.map((a) => ({ id: a.id, mimeType: a.mimeType, size: a.bytes.length, sha256: a.sha256 })),
        refAttachments: parts.refAttachments.map((r) => ({ uuid: r.uuid, mimeType: r.mimeType })),
      },
      contentKey,
      reply,
      version,
      senderSignatureXml: standaloneXml(text, signatureEl),
      attachmentBytes: parts.attachments.map((a) => ({ id: a.id, mimeType: a.mimeType, bytes: a.bytes })),
      fsAttachments,
      contentTypeName,
      requestNamespaceURI: original?.info.namespaceURI ?? root?.namespaceURI ?? '',
      requestRootElement: original?.info.rootElement ?? root?.localName ?? '',
    };
    if (operation === 'SendRequest') {
      const token = `okno-smev-sim|${randomBytes(9).toString('base64url')}|${messageId}`;
      stored.info.replyTo = token;
      this.replyTokens.set(token, messageId);
    }
    // Registered before the first await, so a concurrent retry finds it.
    this.byId.set(messageId, stored);
    if (delivered) {
      const queues = operation === 'SendRequest' ? this.requestQueues : this.responseQueues;
      const q = queues.get(recipient.mnemonic) ?? [];
      q.push(messageId);
      queues.set(recipient.mnemonic, q);
    }
    if (operation === 'SendRequest') this.pushStatus(caller.mnemonic, messageId, 'requestIsQueued');
    this.stats.sent++;
    this.event({ kind: 'sent', operation, messageId, from: caller.mnemonic, to: recipient.mnemonic, ...(test ? { detail: delivered ? 'test message (delivered)' : 'test message (not delivered)' } : {}) });
    return { status: 200, body: await reply, contentType: 'text/xml; charset=utf-8' };
  }

  /** FSAttachmentsList entries: real per-file credentials from the file store, or made-up ones without one. */
  private async fileStoreGrants(uuids: string[]): Promise<Stored['fsAttachments']> {
    const store = this.options.fileStore;
    const out: Stored['fsAttachments'] = [];
    for (const uuid of uuids) {
      if (!store) {
        out.push({ uuid, userName: randomBytes(15).toString('base64url'), password: randomBytes(15).toString('base64url'), fileName: uuid });
        continue;
      }
      const grant = await store.grant(uuid);
      if (!grant) throw new SmevFault('InvalidContent', `RefAttachmentHeader ${uuid}: no file was uploaded to the file store under that uuid`);
      out.push(grant);
    }
    return out;
  }

  /** XSD validation of a registered type (the catalogue's), like the exchange's; InvalidContent with the errors. */
  private validateContent(root: XmlElement): void {
    const known = this.options.catalogue?.byRoot(root.namespaceURI, root.localName);
    if (!known) return;
    const def = known.part === 'request' ? known.service.request : known.service.response!;
    const errors = def.validateXml(root);
    if (errors.length > 0) {
      throw new SmevFault('InvalidContent', `${root.localName} is not valid by the schema of ${known.service.id}: ${errors.map((e) => `${e.path}: ${e.rule}`).join('; ')}`, {
        validationErrors: errors.map((e) => ({ message: `${e.path}: ${e.rule}: ${e.message}`, position: 0 })),
      });
    }
  }

  // ------------------------------------------------------------- polling

  private async poll(operation: 'GetRequest' | 'GetResponse', selector: XmlElement, caller: Registered, version: SmevVersion, now: Date): Promise<DeliveryAnswer> {
    const field = (name: string): string | null => {
      const el = childElements(selector).find((c) => c.localName === name);
      return el ? textContent(el).trim() : null;
    };
    const nsFilter = field('NamespaceURI');
    const nameFilter = field('RootElementLocalName');
    if ((nsFilter === null) !== (nameFilter === null)) throw new SmevFault('InvalidContent', 'MessageTypeSelector: NamespaceURI and RootElementLocalName come together');
    if (field('Timestamp') === null) throw new SmevFault('InvalidContent', 'MessageTypeSelector has no Timestamp');
    const queue = (operation === 'GetRequest' ? this.requestQueues : this.responseQueues).get(caller.mnemonic) ?? [];
    const visibility = this.options.visibilityTimeoutMs ?? 30_000;
    const found = queue
      .map((id) => this.byId.get(id)!)
      .find((s) => {
        const i = s.info;
        if (i.state === 'delivered' && i.lastDeliveredAt && now.getTime() - i.lastDeliveredAt.getTime() < visibility) return false;
        if (nsFilter === null) return true;
        const [uri, local] = i.namespaceURI ? [i.namespaceURI, i.rootElement] : [s.requestNamespaceURI, s.requestRootElement];
        return uri === nsFilter && local === nameFilter;
      });
    const reply = operation === 'GetRequest' ? 'GetRequestResponse' : 'GetResponseResponse';
    if (!found) {
      this.stats.emptyPolls++;
      this.event({ kind: 'empty', operation, to: caller.mnemonic });
      return emptyQueueAnswer(reply, version);
    }
    const again = found.info.deliveries > 0;
    found.info.state = 'delivered';
    found.info.deliveries++;
    found.info.lastDeliveredAt = now;
    if (again) this.stats.redelivered++;
    else this.stats.delivered++;
    this.event({ kind: again ? 'redelivered' : 'delivered', operation, messageId: found.info.messageId, from: found.info.sender, to: caller.mnemonic });
    const sender = this.systems.find((s) => s.mnemonic === found.info.sender)!;
    return deliveryAnswer(
      {
        version,
        kind: found.info.kind,
        messageId: found.info.messageId,
        sender: { mnemonic: sender.mnemonic, name: sender.name },
        recipient: { mnemonic: caller.mnemonic, name: caller.name },
        sentAt: found.info.sentAt,
        deliveredAt: now,
        contentTypeName: found.contentTypeName,
        senderDataXml: found.info.senderDataXml,
        senderSignatureXml: found.senderSignatureXml,
        ...(found.info.replyTo ? { replyTo: found.info.replyTo } : {}),
        ...(found.info.originalMessageId ? { originalMessageId: found.info.originalMessageId } : {}),
        fsAttachments: found.fsAttachments,
        attachments: found.attachmentBytes,
      },
      { signer: this.options.signer, profile: this.options.profile ?? 'smev' },
      this.attachmentMode === 'mtom',
    );
  }

  // ---------------------------------------------------------- ack, status

  private ack(target: XmlElement, caller: Registered, version: SmevVersion, now: Date): Answer {
    const id = textContent(target).trim();
    this.ackCounts.set(id, (this.ackCounts.get(id) ?? 0) + 1);
    const acceptedAttr = target.attributes.find((a) => a.localName === 'accepted' && a.namespaceURI === '')?.value;
    if (acceptedAttr !== 'true' && acceptedAttr !== 'false' && acceptedAttr !== '1' && acceptedAttr !== '0') throw new SmevFault('InvalidContent', 'AckTargetMessage needs accepted="true" or "false"');
    const stored = this.byId.get(id);
    if (!stored || stored.info.recipient !== caller.mnemonic || stored.info.state !== 'delivered') {
      throw new SmevFault('TargetMessageIsNotFound', `no message ${id} delivered to ${caller.mnemonic} and not yet acknowledged`);
    }
    const queues = stored.info.kind === 'request' ? this.requestQueues : this.responseQueues;
    const q = queues.get(caller.mnemonic) ?? [];
    q.splice(q.indexOf(id), 1);
    stored.info.state = 'acked';
    stored.info.ackedAt = now;
    stored.info.accepted = acceptedAttr === 'true' || acceptedAttr === '1';
    this.stats.acked++;
    if (stored.info.kind === 'request') this.pushStatus(stored.info.sender, id, 'underProcessing');
    else this.pushStatus(stored.info.sender, id, 'responseIsDelivered');
    this.event({ kind: 'acked', operation: 'Ack', messageId: id, from: stored.info.sender, to: caller.mnemonic, detail: stored.info.accepted ? 'accepted' : 'not accepted' });
    return { status: 200, body: ackReply(version), contentType: 'text/xml; charset=utf-8' };
  }

  private pushStatus(mnemonic: string, originalMessageId: string, status: InteractionStatus): void {
    const q = this.statusQueues.get(mnemonic) ?? [];
    q.push({ originalMessageId, status });
    this.statusQueues.set(mnemonic, q);
  }

  private async status(caller: Registered, version: SmevVersion): Promise<Answer> {
    const next = this.statusQueues.get(caller.mnemonic)?.shift() ?? null;
    if (next) this.event({ kind: 'status', operation: 'GetStatus', messageId: next.originalMessageId, to: caller.mnemonic, detail: next.status });
    const body = await statusReply(version, next, { signer: this.options.signer, profile: this.options.profile ?? 'smev' });
    return { status: 200, body, contentType: 'text/xml; charset=utf-8' };
  }
}

function pemOf(der: Buffer): string {
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
}
