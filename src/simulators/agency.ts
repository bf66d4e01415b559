/**
 * A partner agency (land registry, civil registry, tax service) simulated on
 * loopback: it answers the city's interagency queries and asks the city its
 * own. Used by the query tests, the README walk-through and partners'
 * integration testing (`okno simulate agency`).
 *
 * The protocol convention (push mode: each side POSTs to the other's
 * `/ws/smev3`; nobody polls with GetRequest / GetResponse):
 *
 * The city asks the agency
 *   1. The gateway POSTs a SendRequest to the agency's `/ws/smev3`
 *      (SOAPAction "urn:SendRequest" or none): SenderProvidedRequestData
 *      with a version-1 UUID MessageID and, in MessagePrimaryContent, the
 *      service's request root element (egrn-extract, zags-birth-record,
 *      egrul-extract), signed by the gateway in
 *      CallerInformationSystemSignature.
 *   2. The agency verifies the signature (valid, chaining to the trusted CAs
 *      and, with `expectedSigner`, made by the gateway's certificate), checks
 *      that it answers this content and validates it against the service's
 *      request schema, then answers at once: HTTP 200 with a signed
 *      SendRequestResponse (MessageMetadata, status `requestIsQueued`) — or
 *      HTTP 500 with a SMEV fault. The same MessageID with the same content
 *      again gets the first reply (counted in `duplicates`, not recorded and
 *      not answered again); with other content it is MessageIsAlreadySent.
 *   3. Later, asynchronously, the agency POSTs a SendResponse to the
 *      gateway (`gatewayUrl` + `/ws/smev3`, SOAPAction "urn:SendResponse"),
 *      signed with the agency's key: SenderProvidedResponseData with its own
 *      new MessageID, `To` = the MessageID of the gateway's SendRequest, and
 *      one of
 *        - MessagePrimaryContent: the service's response content (below),
 *        - RequestRejected (RejectionReasonCode + RejectionReasonDescription;
 *          SMEV's codes are ACCESS_DENIED, NO_DATA,
 *          UNKNOWN_REQUEST_DESCRIPTION, FAILURE),
 *        - RequestStatus (StatusCode + StatusDescription): interim, the
 *          final answer follows.
 *      The gateway's HTTP status and reply body are recorded (`answers()`);
 *      the agency does not retry.
 *
 * Which content answers a query (unless scripted with `respondWith`): the
 * service's response example fixtures (config/services/<id>/service.json →
 * examples.response). An example *matches* the query when every scalar field
 * of the query whose name also occurs in the example has a value the example
 * holds under that name, and at least one does (egrn-extract matches on
 * cadastralNumber; egrul-extract on ogrn or inn; zags-birth-record on the
 * child's names, birth date and certificate). The first matching example
 * answers; when none matches, the service's "not found" example does (a file
 * named *.not-found.json or *.empty.json: zags-birth-record ships one); a
 * service without one answers with its first example.
 *
 * The agency asks the city
 *   1. `askCity(service, content)` POSTs a SendRequest for an inbound query
 *      (advertising-permit-register-extract) to the gateway, signed with the
 *      agency's key, and records the gateway's immediate reply.
 *   2. The gateway later POSTs the city's SendResponse to the agency's
 *      `/ws/smev3`. The agency verifies it as in step 2 above (signed by the
 *      gateway), requires `To` = the MessageID of one of its own queries
 *      (else RequestIsNotFound) and valid response content, records it
 *      (`cityResponses()`) and answers with a signed SendResponseResponse
 *      (status `responseIsDelivered`). A second final answer to the same
 *      query is MessageIsAlreadySent; the same message again (same MessageID
 *      and content) gets the first reply.
 *
 * Behaviour per query is scriptable per service (`mode`); answers go out
 * from a small in-memory scheduler whose timers are cleared on close.
 *
 * Library code: it never prints. The CLI subscribes to the hooks.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SimulatorServer } from './simulator-server.js';
import path from 'node:path';
import type { ContentDefinition, ServiceCatalogue, ServiceDefinition } from '../catalogue/types.js';
import { signDocument, type SignatureProfile } from '../signature/sign.js';
import type { Signer } from '../pki/signer.js';
import type { TrustAnchorSet } from '../pki/trust.js';
import { sendRequestEnvelope, sendResponseEnvelope, type ResponseBody } from '../soap/envelope-builder.js';
import { SmevFault } from '../soap/faults.js';
import { uuidV1 } from '../soap/message-id.js';
import type { SmevVersion } from '../soap/namespaces.js';
import { messageAccepted } from '../soap/reply.js';
import type { JsonValue } from '../store/types.js';
import { childElements } from '../xml/helpers.js';
import type { XmlDocument, XmlElement } from '../xml/types.js';
import { checkAttachmentSignature, type AttachmentSignatureSummary } from '../pki/cms/attachment.js';
import { parseContentType } from '../soap/mtom.js';
import { locateSmevMessage, readSmevMessage, SmevMessageError } from '../soap/smev-message.js';
import {
  checkSoapAction,
  childText,
  faultAnswer,
  guessVersion,
  MAX_BODY_BYTES,
  parseEnvelope,
  primaryContent,
  readBody,
  readMessageId,
  routeCheck,
  SMEV_PATH,
  UUID_V1,
  verifyEnvelope,
  XML,
  type Answer,
} from './smev-http.js';

export const AGENCY_MNEMONIC = 'AGENCY';
const DEFAULT_NAME = 'Ведомство-партнёр (симулятор): Росреестр, ЗАГС, ФНС';

/** How the agency treats a query of a service (see the file header). */
export type AgencyMode =
  /** Answer with content (the default), shortly after accepting. */
  | { kind: 'answer' }
  /** Answer with RequestRejected. */
  | { kind: 'reject'; code: string; description: string }
  /** Answer with content delayMs after accepting. */
  | { kind: 'late'; delayMs: number }
  /** Accept the SendRequest, never answer. */
  | { kind: 'silent' }
  /** First a RequestStatus (interim), then the content delayMs later (default 200). */
  | { kind: 'status-then-answer'; delayMs?: number; code?: number; description?: string }
  /** Send the same SendResponse envelope (same MessageID, same signature) twice. */
  | { kind: 'duplicate-answer' }
  /** Refuse the SendRequest itself with this SMEV fault (not recorded, never answered). */
  | { kind: 'fault'; fault: 'InvalidContent' | 'SMEVFailure' };

export const AGENCY_MODE_KINDS: readonly AgencyMode['kind'][] = ['answer', 'reject', 'late', 'silent', 'status-then-answer', 'duplicate-answer', 'fault'];

/** One accepted query of the city, as recorded (in arrival order). */
export interface ReceivedQuery {
  messageId: string;
  service: string;
  /** The request content as the city's JSON. */
  content: JsonValue;
  receivedAt: Date;
  /** The subject of the certificate that signed it (the gateway's). */
  signerSubject: string;
  version: SmevVersion;
  /** The mode it was accepted under. */
  mode: AgencyMode;
  /** Pull mode: the exchange's ReplyTo, which the answers' To carries (push mode: the answers' To is messageId). */
  replyTo?: string;
}

export type ResponseKind = 'content' | 'rejected' | 'status';

/** One SendResponse POSTed to the gateway (one entry per POST: a duplicate-answer makes two). */
export interface SentAnswer {
  service: string;
  /** The MessageID of the gateway's SendRequest this answers (pull mode: the exchange's ReplyTo for it). */
  to: string;
  /** The SendResponse's own MessageID. */
  messageId: string;
  kind: ResponseKind;
  /** kind content: the JSON sent, and the fixture file it came from (null: scripted with respondWith). */
  content?: JsonValue;
  fixture?: string | null;
  /** kind rejected / status: what was said. */
  rejection?: { code: string; description: string };
  status?: { code: number; description: string };
  /** True for the second POST of the same envelope (duplicate-answer). */
  repeat: boolean;
  sentAt: Date;
  /** The gateway's HTTP status; null when there was no HTTP answer (see error). */
  httpStatus: number | null;
  replyBody: string;
  /** Why nothing (or no HTTP answer) came back: no gatewayUrl, connection refused, timeout, invalid scripted content. */
  error?: string;
  /** The signed SendResponse as sent. */
  envelope: string;
}

/** One query the agency sent the city (askCity). */
export interface CityQuery {
  messageId: string;
  service: string;
  content: JsonValue;
  sentAt: Date;
  /** The gateway's HTTP status (200 with a SendRequestResponse when accepted); null when there was no HTTP answer. */
  httpStatus: number | null;
  replyBody: string;
  error?: string;
  envelope: string;
}

/** One SendResponse the gateway delivered for a query of the agency (in arrival order). */
export interface CityResponse {
  messageId: string;
  /** The agency's query it answers. */
  to: string;
  service: string;
  kind: ResponseKind;
  content?: JsonValue;
  rejections?: Array<{ code: string; description: string }>;
  status?: { code: number; description: string };
  receivedAt: Date;
  signerSubject: string;
  /** The files the answer carried (inline or MTOM parts), each with a SignaturePKCS7 that verified against the agency's trust anchors. */
  files?: CityResponseFile[];
}

export interface CityResponseFile {
  contentId: string;
  mimeType: string;
  size: number;
  sha256: string;
  bytes: Buffer;
  signaturePkcs7: Buffer;
  verdict: AttachmentSignatureSummary | null;
  mtom: boolean;
}

export interface AgencySimulatorOptions {
  /** 0 (default): a free port. */
  port?: number;
  /** Listen address (default 127.0.0.1; 0.0.0.0 in a container). */
  host?: string;
  /** The CAs the gateway's certificate must chain to. */
  trust: TrustAnchorSet;
  /** SHA-256 fingerprint (lower-case hex, as Certificate.fingerprintSha256) of the only certificate accepted (the gateway's); unset: any trusted one. */
  expectedSigner?: string;
  /** The agency's key: it signs replies, answers and its own queries. */
  signer: Signer;
  /** Signature profile of what the agency signs (default smev, as registered for the agency in config/partners.json). */
  profile?: SignatureProfile;
  catalogue: ServiceCatalogue;
  /** Base URL of the gateway (e.g. http://127.0.0.1:8080; a URL ending in /ws/smev3 is taken as the endpoint itself). Needed to answer; see setGatewayUrl. */
  gatewayUrl?: string;
  /** The services it answers; default: every outbound query of the catalogue (what the agency partner receives). */
  services?: string[];
  /** How long after accepting a query an immediate answer goes out (default 50 ms: the gateway has the SendRequestResponse by then). */
  answerAfterMs?: number;
  /** How long to wait for the gateway's HTTP answer to a POST (default 10 s). */
  postTimeoutMs?: number;
  /** The agency's name in the replies' metadata. */
  name?: string;
  /** The clock (tests). */
  now?: () => Date;
  onQuery?: (query: ReceivedQuery) => void;
  onDuplicate?: (messageId: string, service: string) => void;
  onRefused?: (what: string, message: string) => void;
  onAnswer?: (answer: SentAnswer) => void;
  onCityResponse?: (response: CityResponse) => void;
}

export interface Fixture {
  file: string;
  content: JsonValue;
  notFound: boolean;
}

interface Seen {
  /** What makes a retry a duplicate: the same content under the same MessageID. */
  key: string;
  reply: Promise<string>;
}

type Responder = JsonValue | ((query: ReceivedQuery) => JsonValue);

/** What accept() decided: the reply, and what to do once it is written. */
interface Accepted {
  reply: Promise<string>;
  afterReply?: () => void;
}

export class AgencySimulator extends SimulatorServer {
  private readonly services: Map<string, { def: ServiceDefinition; fixtures: Fixture[] }>;
  private readonly modes = new Map<string, AgencyMode>();
  private readonly responders = new Map<string, Responder>();
  private readonly queryRecords: ReceivedQuery[] = [];
  private readonly answerRecords: SentAnswer[] = [];
  private readonly cityQueryRecords: CityQuery[] = [];
  private readonly cityResponseRecords: CityResponse[] = [];
  private readonly seenQueries = new Map<string, Seen>();
  private readonly seenResponses = new Map<string, Seen>();
  /** The agency's own queries by MessageID, and whether a final answer came. */
  private readonly ownQueries = new Map<string, { service: string; final: boolean }>();
  private readonly running = new Set<Promise<void>>();
  private readonly aborter = new AbortController();
  private gatewayEndpoint: string | null = null;
  private faultCount = 0;
  private duplicateCount = 0;
  private cityDuplicateCount = 0;

  private constructor(
    private readonly options: AgencySimulatorOptions,
    host: string,
    port: number,
  ) {
    super(host, port);
    this.services = loadServices(options.catalogue, options.services);
    if (options.gatewayUrl !== undefined) this.setGatewayUrl(options.gatewayUrl);
  }

  static async start(options: AgencySimulatorOptions): Promise<AgencySimulator> {
    const sim = new AgencySimulator(options, options.host ?? '127.0.0.1', options.port ?? 0);
    await sim.listen();
    return sim;
  }

  /** The gateway's endpoint the agency POSTs to, or null before setGatewayUrl. */
  get gatewayEndpointUrl(): string | null {
    return this.gatewayEndpoint;
  }

  /** The services it answers. */
  get answeredServices(): string[] {
    return [...this.services.keys()];
  }

  /** Repeated queries (same MessageID, same content) answered with the first reply, not recorded or answered again. */
  get duplicates(): number {
    return this.duplicateCount;
  }

  /** Repeated SendResponses of the city (same MessageID, same content) answered with the first reply. */
  get cityDuplicates(): number {
    return this.cityDuplicateCount;
  }

  /** Answers scheduled or being sent. */
  get pending(): number {
    return this.timers.size + this.running.size;
  }

  setGatewayUrl(url: string): void {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new RangeError(`setGatewayUrl: ${url} is not an http(s) URL`);
    const base = u.href.replace(/\/+$/, '');
    this.gatewayEndpoint = u.pathname.replace(/\/+$/, '').endsWith(SMEV_PATH) ? base : `${base}${SMEV_PATH}`;
  }

  /** How queries of this service are treated from now on; '*': of every service (replacing their own modes). */
  mode(service: string, m: AgencyMode): void {
    if (service !== '*' && !this.services.has(service)) throw new RangeError(`mode: the agency does not answer ${service} (it answers ${this.answeredServices.join(', ')})`);
    checkMode(m);
    if (service === '*') {
      this.modes.clear();
      this.modes.set('*', m);
    } else this.modes.set(service, m);
  }

  /** The mode a query of this service gets now. */
  modeOf(service: string): AgencyMode {
    return this.modes.get(service) ?? this.modes.get('*') ?? { kind: 'answer' };
  }

  /** Answer this service's queries with this content (or what the function makes of the query) instead of a fixture; null: fixtures again. */
  respondWith(service: string, content: Responder | null): void {
    const entry = this.services.get(service);
    if (!entry) throw new RangeError(`respondWith: the agency does not answer ${service}`);
    if (content === null) {
      this.responders.delete(service);
      return;
    }
    if (typeof content !== 'function') {
      const errors = entry.def.response!.validateJson(content);
      if (errors.length > 0) throw new RangeError(`respondWith: not a valid ${service} response: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
    }
    this.responders.set(service, content);
  }

  /** The fixture that answers this request content (see the file header for the rule). */
  fixtureFor(service: string, request: JsonValue): { file: string; content: JsonValue; matched: boolean } {
    const entry = this.services.get(service);
    if (!entry) throw new RangeError(`fixtureFor: the agency does not answer ${service}`);
    return pickFixture(entry.fixtures, request);
  }

  /** Down: the listening socket is closed (connections refused) and open ones cut; up: listening again on the same port. Scheduled answers still go out. */
  queries(): ReceivedQuery[] {
    return [...this.queryRecords];
  }

  answers(): SentAnswer[] {
    return [...this.answerRecords];
  }

  cityQueries(): CityQuery[] {
    return [...this.cityQueryRecords];
  }

  cityResponses(): CityResponse[] {
    return [...this.cityResponseRecords];
  }

  /** Resolves once predicate holds (checked now and whenever something is received, recorded or sent). */
  waitFor(predicate: (sim: AgencySimulator) => boolean, timeoutMs = 5000): Promise<void> {
    return this.waitUntil(
      'AgencySimulator',
      () => predicate(this),
      timeoutMs,
      () =>
        `${this.queryRecords.length} queries, ${this.answerRecords.length} answers, ` +
        `${this.cityResponseRecords.length} city responses, ${this.duplicateCount} duplicates, ${this.pending} pending`,
    );
  }

  /**
   * Asks the city: a SendRequest for an inbound query service, signed with the
   * agency's key, POSTed to the gateway. Resolves with the record once the
   * gateway has answered (or failed to); the city's answer arrives later as a
   * SendResponse (cityResponses()).
   */
  async askCity(service: string, content: JsonValue, o: { messageId?: string; version?: SmevVersion } = {}): Promise<CityQuery> {
    const def = this.options.catalogue.get(service);
    if (!def || def.kind !== 'query' || def.direction !== 'inbound') throw new RangeError(`askCity: ${service} is not a query the city answers`);
    const errors = def.request.validateJson(content);
    if (errors.length > 0) throw new RangeError(`askCity: not a valid ${service} request: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
    if (this.closed) throw new Error('askCity: the simulator is closed');
    const messageId = o.messageId ?? uuidV1();
    if (!UUID_V1.test(messageId)) throw new RangeError('askCity: messageId must be a version-1 UUID in lower case');
    const unsigned = sendRequestEnvelope({ version: o.version ?? '1.1', messageId, contentXml: def.request.toXml(content) });
    const envelope = await signDocument(unsigned, { signer: this.options.signer, profile: this.profile });
    // Known before the POST: the city's answer may come before the gateway's reply to it does.
    if (!this.ownQueries.has(messageId)) this.ownQueries.set(messageId, { service, final: false });
    const record: CityQuery = { messageId, service, content, sentAt: this.now(), httpStatus: null, replyBody: '', envelope };
    Object.assign(record, await this.post(envelope, 'urn:SendRequest'));
    this.cityQueryRecords.push(record);
    this.notify();
    return { ...record };
  }

  /** Forgets what arrived and was sent, every mode and responder, and cancels scheduled answers (the port and gateway URL stay). */
  reset(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.modes.clear();
    this.responders.clear();
    this.queryRecords.length = 0;
    this.answerRecords.length = 0;
    this.cityQueryRecords.length = 0;
    this.cityResponseRecords.length = 0;
    this.seenQueries.clear();
    this.seenResponses.clear();
    this.ownQueries.clear();
    this.duplicateCount = 0;
    this.cityDuplicateCount = 0;
  }

  async close(): Promise<void> {
    if (!(await this.shutdown(() => this.aborter.abort()))) return;
    await Promise.allSettled([...this.running]);
  }

  /**
   * A query taken from a SMEV exchange (pull mode, AgencyExchangePoller): its
   * SenderProvidedRequestData, whose signature the caller verified. Recorded
   * and answered as a pushed SendRequest would be; throws SmevFault when the
   * agency refuses it.
   */
  async acceptDelivered(senderData: XmlElement, signerSubject: string, version: SmevVersion, replyTo: string): Promise<void> {
    if (this.closed) throw new Error('acceptDelivered: the simulator is closed');
    const accepted = this.acceptQuery(senderData, signerSubject, version, this.now(), replyTo);
    await accepted.reply;
    accepted.afterReply?.();
  }

  // ---------------------------------------------------------------- server

  private get profile(): SignatureProfile {
    return this.options.profile ?? 'smev';
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let answer: Answer;
    let afterReply: (() => void) | undefined;
    try {
      ({ answer, afterReply } = await this.answer(req));
    } catch (error) {
      // Only our own bugs get here; an agency would say SMEVFailure too.
      answer = this.fault(new SmevFault('SMEVFailure', `the agency simulator failed: ${(error as Error).message}`), '1.1');
    }
    if (!res.destroyed && !this.closed) res.writeHead(answer.status, { 'content-type': answer.contentType, connection: 'close' }).end(answer.body);
    // The query is accepted (recorded) whether or not the gateway stayed to hear so: its answer goes out.
    afterReply?.();
  }

  private async answer(req: IncomingMessage): Promise<{ answer: Answer; afterReply?: () => void }> {
    const route = routeCheck(req);
    if (route) return { answer: route };
    const raw = await readBody(req);
    if (raw === null) return { answer: this.fault(new SmevFault('InvalidContent', `the message is larger than ${MAX_BODY_BYTES} bytes`), '1.1') };
    try {
      const accepted = this.accept(raw, req);
      return { answer: { status: 200, body: await accepted.reply, contentType: XML }, afterReply: accepted.afterReply };
    } catch (error) {
      if (error instanceof SmevFault) return { answer: this.fault(error, guessVersion(raw)) };
      throw error;
    }
  }

  private fault(fault: SmevFault, version: SmevVersion): Answer {
    this.options.onRefused?.(fault.fault, fault.message);
    return faultAnswer(fault, version, `AGENCY-${++this.faultCount}`);
  }

  /** Verifies and dispatches by operation; synchronous up to the reply's signing, so records keep the order of arrival. Throws SmevFault. */
  private accept(raw: Buffer, req: IncomingMessage): Accepted {
    const now = this.now();
    const contentType = req.headers['content-type'];
    const mtom = parseContentType(contentType ?? 'text/xml').mediaType === 'multipart/related';
    let doc: XmlDocument;
    if (mtom) {
      // The XOP infoset (each xop:Include replaced by its part's base64) is what the signatures cover.
      try {
        doc = readSmevMessage(raw, contentType).doc;
      } catch (error) {
        if (error instanceof SmevMessageError) throw new SmevFault('InvalidContent', `the MTOM message cannot be read: ${error.message}`);
        throw error;
      }
    } else doc = parseEnvelope(raw);
    const verified = verifyEnvelope(doc, { trust: this.options.trust, expectedSigner: this.options.expectedSigner, now });
    const operation = verified.parts.operation.localName;
    if (operation !== 'SendRequestRequest' && operation !== 'SendResponseRequest') {
      throw new SmevFault('UnknownMessageType', `${operation}: the agency's endpoint takes SendRequest (the city's queries) and SendResponse (the city's answers) only`);
    }
    checkSoapAction(req, operation);
    return operation === 'SendRequestRequest' ? this.acceptQuery(verified.signed, verified.signerSubject, verified.version, now) : this.acceptCityResponse(verified.signed, verified.signerSubject, verified.version, now, this.checkFiles(doc, now, mtom));
  }

  private acceptQuery(signed: XmlElement, signerSubject: string, version: SmevVersion, now: Date, replyTo?: string): Accepted {
    const messageId = readMessageId(signed);
    const content = primaryContent(signed);
    const found = this.options.catalogue.byRoot(content.namespaceURI, content.localName);
    const entry = found?.part === 'request' ? this.services.get(found.service.id) : undefined;
    if (!entry) {
      throw new SmevFault('BusinessDataTypeIsNotSupported', `the agency does not answer ${content.localName} in ${content.namespaceURI || 'no namespace'} (it answers ${this.answeredServices.join(', ')})`, {
        rootElement: { localName: content.localName, namespace: content.namespaceURI },
      });
    }
    const service = entry.def;
    const json = validated(service.request, content, `the ${service.id} request`);
    const key = JSON.stringify(json);

    const seen = this.seenQueries.get(messageId);
    if (seen) {
      if (seen.key !== key) throw new SmevFault('MessageIsAlreadySent', `a different message with MessageID ${messageId} was already accepted`);
      this.duplicateCount++;
      this.options.onDuplicate?.(messageId, service.id);
      this.notify();
      return { reply: seen.reply };
    }

    const mode = this.modeOf(service.id);
    if (mode.kind === 'fault') throw new SmevFault(mode.fault, `${mode.fault} (scripted for ${service.id} by the agency simulator)`);

    const query: ReceivedQuery = { messageId, service: service.id, content: json, receivedAt: now, signerSubject, version, mode, ...(replyTo ? { replyTo } : {}) };
    const reply = messageAccepted('SendRequestResponse', version, {
      messageId,
      messageType: 'REQUEST',
      sender: { mnemonic: 'okno', name: signerSubject },
      recipient: { mnemonic: AGENCY_MNEMONIC, name: this.options.name ?? DEFAULT_NAME },
      sendingTimestamp: now,
      destinationName: AGENCY_MNEMONIC,
      contentTypeName: service.title,
      interactionType: 'OIV2OIV',
      status: 'requestIsQueued',
    }, { signer: this.options.signer, profile: this.profile });
    // Registered before the first await, so a concurrent retry finds it.
    this.seenQueries.set(messageId, { key, reply });
    this.queryRecords.push(query);
    this.options.onQuery?.(query);
    this.notify();
    return { reply, afterReply: () => this.plan(query, mode) };
  }

  /** The files a city's answer carries: each must carry a SignaturePKCS7 that verifies against its bytes and chains to the agency's trust anchors (InvalidContent otherwise). */
  private checkFiles(doc: XmlDocument, now: Date, mtom: boolean): CityResponseFile[] {
    let attachments;
    try {
      attachments = locateSmevMessage(doc).attachments;
    } catch (error) {
      if (error instanceof SmevMessageError) throw new SmevFault('InvalidContent', error.message);
      throw error;
    }
    return attachments.map((a) => {
      const check = checkAttachmentSignature(a.bytes, a.signaturePkcs7 ?? null, 'required', this.options.trust, { now, name: a.id });
      if (!check.accepted) throw new SmevFault('InvalidContent', check.refusal ?? `attachment ${a.id}: refused`);
      return { contentId: a.id, mimeType: a.mimeType, size: a.bytes.length, sha256: a.sha256, bytes: a.bytes, signaturePkcs7: a.signaturePkcs7!, verdict: check.summary ?? null, mtom };
    });
  }

  private acceptCityResponse(signed: XmlElement, signerSubject: string, version: SmevVersion, now: Date, files: CityResponseFile[] = []): Accepted {
    const messageId = readMessageId(signed);
    const to = childText(signed, 'To');
    const own = to ? this.ownQueries.get(to) : undefined;
    if (!to || !own) throw new SmevFault('RequestIsNotFound', to ? `the agency sent no query with MessageID "${to.slice(0, 100)}"` : 'SenderProvidedResponseData has no To');
    const service = this.options.catalogue.get(own.service)!;

    const record: CityResponse = { messageId, to, service: service.id, kind: 'content', receivedAt: now, signerSubject, ...(files.length > 0 ? { files } : {}) };
    const rejected = childElements(signed).filter((c) => c.localName === 'RequestRejected');
    const statusEl = childElements(signed).find((c) => c.localName === 'RequestStatus');
    if (rejected.length > 0) {
      record.kind = 'rejected';
      record.rejections = rejected.map((r) => ({ code: childText(r, 'RejectionReasonCode') ?? '', description: childText(r, 'RejectionReasonDescription') ?? '' }));
    } else if (statusEl) {
      record.kind = 'status';
      record.status = { code: Number(childText(statusEl, 'StatusCode')), description: childText(statusEl, 'StatusDescription') ?? '' };
    } else {
      const content = primaryContent(signed);
      const def = service.response!;
      if (content.namespaceURI !== def.namespace || content.localName !== def.rootElement) {
        throw new SmevFault('BusinessDataTypeIsNotSupported', `the answer to a ${service.id} query must be ${def.rootElement} in ${def.namespace}, not ${content.localName} in ${content.namespaceURI || 'no namespace'}`, {
          rootElement: { localName: content.localName, namespace: content.namespaceURI },
        });
      }
      record.content = validated(def, content, `the ${service.id} response`);
    }
    const { receivedAt: _r, files: carried, ...what } = record;
    const key = JSON.stringify({ ...what, files: (carried ?? []).map((f) => [f.contentId, f.sha256]) });

    const seen = this.seenResponses.get(messageId);
    if (seen) {
      if (seen.key !== key) throw new SmevFault('MessageIsAlreadySent', `a different message with MessageID ${messageId} was already accepted`);
      this.cityDuplicateCount++;
      this.options.onDuplicate?.(messageId, service.id);
      this.notify();
      return { reply: seen.reply };
    }
    const final = record.kind !== 'status';
    if (final && own.final) throw new SmevFault('MessageIsAlreadySent', `the query ${to} is already answered; a second answer is not accepted`);

    const reply = messageAccepted('SendResponseResponse', version, {
      messageId,
      messageType: 'RESPONSE',
      sender: { mnemonic: 'okno', name: signerSubject },
      recipient: { mnemonic: AGENCY_MNEMONIC, name: this.options.name ?? DEFAULT_NAME },
      sendingTimestamp: now,
      destinationName: AGENCY_MNEMONIC,
      contentTypeName: service.title,
      interactionType: 'OIV2OIV',
      status: 'responseIsDelivered',
    }, { signer: this.options.signer, profile: this.profile });
    this.seenResponses.set(messageId, { key, reply });
    if (final) own.final = true;
    this.cityResponseRecords.push(record);
    this.options.onCityResponse?.(record);
    this.notify();
    return { reply };
  }

  private notify(): void {
    this.notifyWaiters();
  }

  // ---------------------------------------------------------------- answers

  /** The answers a query gets under its mode, on the scheduler. */
  private plan(query: ReceivedQuery, mode: AgencyMode): void {
    const soon = this.options.answerAfterMs ?? 50;
    switch (mode.kind) {
      case 'silent':
      case 'fault':
        return;
      case 'answer':
        this.schedule(soon, () => this.respond(query, this.contentBody(query)));
        return;
      case 'late':
        this.schedule(mode.delayMs, () => this.respond(query, this.contentBody(query)));
        return;
      case 'reject':
        this.schedule(soon, () => this.respond(query, { kind: 'rejected', rejections: [{ code: mode.code, description: mode.description }] }));
        return;
      case 'status-then-answer':
        this.schedule(soon, async () => {
          await this.respond(query, { kind: 'status', code: mode.code ?? 1, description: mode.description ?? 'Запрос принят к исполнению' });
          this.schedule(mode.delayMs ?? 200, () => this.respond(query, this.contentBody(query)));
        });
        return;
      case 'duplicate-answer':
        this.schedule(soon, () => this.respond(query, this.contentBody(query), 2));
        return;
    }
  }

  private schedule(ms: number, task: () => Promise<void>): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const run: Promise<void> = task()
        .catch(() => undefined)
        .finally(() => {
          this.running.delete(run);
          this.notify();
        });
      this.running.add(run);
    }, ms);
    this.timers.add(timer);
  }

  /** The content answer: scripted by respondWith, else a fixture. Throws for invalid scripted content. */
  private contentBody(query: ReceivedQuery): () => { body: ResponseBody; content: JsonValue; fixture: string | null } {
    return () => {
      const def = this.services.get(query.service)!;
      const responder = this.responders.get(query.service);
      let content: JsonValue;
      let fixture: string | null = null;
      if (responder === undefined) {
        const picked = pickFixture(def.fixtures, query.content);
        content = picked.content;
        fixture = picked.file;
      } else {
        content = typeof responder === 'function' ? responder(query) : responder;
        const errors = def.def.response!.validateJson(content);
        if (errors.length > 0) throw new Error(`respondWith made an invalid ${query.service} response: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
      }
      return { body: { kind: 'content', contentXml: def.def.response!.toXml(content) }, content, fixture };
    };
  }

  /** Builds, signs and POSTs one SendResponse (times: 2 sends the same envelope again once the first POST is over); records each POST. */
  private async respond(query: ReceivedQuery, what: ResponseBody | (() => { body: ResponseBody; content: JsonValue; fixture: string | null }), times = 1): Promise<void> {
    if (this.closed) return;
    const messageId = uuidV1();
    const base = { service: query.service, to: query.replyTo ?? query.messageId, messageId, repeat: false, sentAt: this.now(), httpStatus: null, replyBody: '', envelope: '' } as const;
    let record: SentAnswer;
    let envelope: string;
    try {
      const made = typeof what === 'function' ? what() : { body: what, content: undefined, fixture: undefined };
      const body = made.body;
      record = { ...base, kind: body.kind };
      if (body.kind === 'content') Object.assign(record, { content: made.content, fixture: made.fixture });
      else if (body.kind === 'rejected') record.rejection = body.rejections[0]!;
      else record.status = { code: body.code, description: body.description };
      envelope = await signDocument(sendResponseEnvelope({ version: query.version, messageId, to: query.replyTo ?? query.messageId, body }), { signer: this.options.signer, profile: this.profile });
    } catch (error) {
      this.record({ ...base, kind: 'content', error: (error as Error).message });
      return;
    }
    for (let i = 0; i < times && !this.closed; i++) {
      const outcome = await this.post(envelope, 'urn:SendResponse');
      if (this.closed) return;
      this.record({ ...record, repeat: i > 0, sentAt: this.now(), envelope, ...outcome });
    }
  }

  private record(answer: SentAnswer): void {
    this.answerRecords.push(answer);
    this.options.onAnswer?.(answer);
    this.notify();
  }

  private async post(envelope: string, soapAction: string): Promise<{ httpStatus: number | null; replyBody: string; error?: string }> {
    if (this.gatewayEndpoint === null) return { httpStatus: null, replyBody: '', error: 'no gateway URL: start with gatewayUrl or call setGatewayUrl' };
    try {
      const res = await fetch(this.gatewayEndpoint, {
        method: 'POST',
        headers: { 'content-type': XML, soapaction: soapAction },
        body: envelope,
        signal: AbortSignal.any([this.aborter.signal, AbortSignal.timeout(this.options.postTimeoutMs ?? 10_000)]),
      });
      return { httpStatus: res.status, replyBody: await res.text() };
    } catch (error) {
      const e = error as Error & { cause?: { code?: string; message?: string } };
      return { httpStatus: null, replyBody: '', error: e.cause?.code ?? e.cause?.message ?? e.message };
    }
  }
}

// ---------------------------------------------------------------- helpers

function checkMode(m: AgencyMode): void {
  if (!AGENCY_MODE_KINDS.includes(m.kind)) throw new RangeError(`mode: kind must be one of ${AGENCY_MODE_KINDS.join(', ')}`);
  const ms = (v: number | undefined, what: string) => {
    if (v !== undefined && (!Number.isFinite(v) || v < 0)) throw new RangeError(`mode: ${what} must be a non-negative number`);
  };
  if (m.kind === 'late') {
    if (m.delayMs === undefined) throw new RangeError('mode: late needs delayMs');
    ms(m.delayMs, 'delayMs');
  }
  if (m.kind === 'status-then-answer') ms(m.delayMs, 'delayMs');
  if (m.kind === 'reject' && (!m.code || !m.description)) throw new RangeError('mode: reject needs a code and a description');
  if (m.kind === 'fault' && m.fault !== 'InvalidContent' && m.fault !== 'SMEVFailure') throw new RangeError('mode: fault must be InvalidContent or SMEVFailure');
}

/** The answered services with their response fixtures, read once; an unknown service or a fixture that is not a valid response fails start-up. */
function loadServices(catalogue: ServiceCatalogue, ids: string[] | undefined): Map<string, { def: ServiceDefinition; fixtures: Fixture[] }> {
  const defs = ids === undefined ? catalogue.services.filter((s) => s.kind === 'query' && s.direction === 'outbound') : ids.map((id) => catalogue.get(id) ?? fail(`the catalogue has no service ${id}`));
  const out = new Map<string, { def: ServiceDefinition; fixtures: Fixture[] }>();
  for (const def of defs) {
    out.set(def.id, { def, fixtures: responseFixtures(def) });
  }
  return out;
}

/**
 * A query service's response example fixtures (service.json → examples.response), each checked
 * against the response schema; an Error naming the problem when it is no query with a response,
 * ships no example or an invalid one. Also the X-Road simulator's answers (--answer-as).
 */
export function responseFixtures(def: ServiceDefinition): Fixture[] {
  if (def.kind !== 'query' || !def.response) fail(`${def.id} is not a query with a response: an agency cannot answer it`);
  const meta = JSON.parse(readFileSync(path.join(def.dir, 'service.json'), 'utf8')) as { examples?: { response?: string | string[] } };
  const files = meta.examples?.response ?? [];
  const fixtures = (Array.isArray(files) ? files : [files]).map((file): Fixture => {
    const content = JSON.parse(readFileSync(path.join(def.dir, file), 'utf8')) as JsonValue;
    const errors = def.response!.validateJson(content);
    if (errors.length > 0) fail(`${def.id}/${file} is not a valid response: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
    return { file, content, notFound: /(^|[.-])(not-found|empty)\.json$/.test(file) };
  });
  if (fixtures.length === 0) fail(`${def.id} ships no response example (service.json → examples.response) to answer with`);
  return fixtures;
}

function fail(message: string): never {
  throw new Error(`AgencySimulator: ${message}`);
}

/** Scalar leaves as [field name, value as text]; array items take the array's name. */
function leaves(value: JsonValue, name = '', out: Array<[string, string]> = []): Array<[string, string]> {
  if (value === null) return out;
  if (Array.isArray(value)) for (const v of value) leaves(v, name, out);
  else if (typeof value === 'object') for (const [k, v] of Object.entries(value)) leaves(v as JsonValue, k, out);
  else if (name) out.push([name, String(value)]);
  return out;
}

/** The rule in the file header: the first matching example, else the not-found one, else the first. */
export function pickFixture(fixtures: readonly Fixture[], request: JsonValue): { file: string; content: JsonValue; matched: boolean } {
  const asked = leaves(request);
  for (const f of fixtures) {
    if (f.notFound) continue;
    const held = new Map<string, Set<string>>();
    for (const [k, v] of leaves(f.content)) {
      let set = held.get(k);
      if (!set) held.set(k, (set = new Set()));
      set.add(v);
    }
    const comparable = asked.filter(([k]) => held.has(k));
    if (comparable.length > 0 && comparable.every(([k, v]) => held.get(k)!.has(v))) return { file: f.file, content: f.content, matched: true };
  }
  const fallback = fixtures.find((f) => f.notFound) ?? fixtures[0]!;
  return { file: fallback.file, content: fallback.content, matched: false };
}

/** Validates the business element against its schema and returns it as JSON; InvalidContent naming the problems. */
function validated(def: ContentDefinition, content: XmlElement, what: string): JsonValue {
  if (content.namespaceURI !== def.namespace || content.localName !== def.rootElement) {
    throw new SmevFault('InvalidContent', `${what} must be ${def.rootElement} in ${def.namespace}`, { validationErrors: [{ message: `/${content.localName}: expected ${def.rootElement} in ${def.namespace}`, position: 0 }] });
  }
  const read = def.readXml(content);
  if (!read.ok) {
    const { errors } = read;
    throw new SmevFault('InvalidContent', `${what} is not valid: ${errors.map((e) => `${e.path}: ${e.rule}`).join('; ')}`, {
      validationErrors: errors.map((e) => ({ message: `${e.path}: ${e.rule}: ${e.message}`, position: 0 })),
    });
  }
  return read.json;
}
