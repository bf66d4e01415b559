/**
 * X-Road / Trembita Security Servers, simulated (`okno simulate xroad`): one
 * real HTTP server that plays both Security Servers of an exchange — the
 * client's, where a client information system sends its request, and the
 * provider's, which calls the provider's information system — configured
 * with a small table of members (which subsystem's information system is
 * reachable where) and access rights (client id → service ids).
 *
 * SOAP (X-Road message protocol 4.0, both dialects): POST / (any path but the REST ones) with the
 * xrd:client, xrd:service, xrd:id, xrd:protocolVersion headers. The request
 * is checked as the Security Servers check it (faults Client.*,
 * Server.ClientProxy.*, Server.ServerProxy.* with HTTP 200, as X-Road sends
 * them), forwarded byte for byte to the provider's SOAP endpoint (with only
 * Content-Type and SOAPAction), and the response relayed with its headers
 * checked against the request's and xrd:requestHash added to its Header.
 *
 * REST: X-Road 7 `/r1/{serviceId}/{path}` (X-Road-Client, X-Road-Id,
 * X-Road-UserId; X-Road-Service, X-Road-Request-Id and X-Road-Request-Hash
 * added) or Trembita `/restapi/{path}` (Uxp-Client, Uxp-Service, Uxp-QueryID,
 * Uxp-Subject-Id, Uxp-Purpose-Ids), forwarded to the provider's REST base URL
 * + `/{serviceCode}{path}`; the Security Server's own errors are the
 * documented JSON {type, message, detail} with the X-Road-Error header.
 *
 * Modes: normal, slow (each call waits delayMs before it is forwarded),
 * refusing (every call that could be read gets the Security Server's own
 * fault, by default Server.ClientProxy.NetworkError: the other Security
 * Server cannot be reached; the exchange still names its client, service
 * and id), down (connections are accepted and closed unanswered, or
 * answered 503).
 *
 * Answer-as (`answerAs` with `catalogue` and `partners`): the simulator plays
 * the named providers' information systems itself (xroad-information-system.ts),
 * answering their services with the catalogue's response examples, after the
 * same checks; the registry's access rights (registryAccessRights) are granted
 * too.
 *
 * Library code: it never prints; `onExchange` is told of each exchange and
 * `exchanges()` keeps them for tests.
 */
import { randomUUID } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { formatMember, formatService, memberOf, parseMember, parseService, sameMember, type XRoadDialect, type XRoadMember, type XRoadService } from '../registry/xroad-members.js';
import { restDialect, type RestDialect } from '../xroad/rest-dialects.js';
import type { ServiceCatalogue } from '../catalogue/types.js';
import type { PartnerRegistry } from '../registry/partners.js';
import { registryAccessRights, SimulatedInformationSystem, type AccessRight } from './xroad-information-system.js';

export type { AccessRight } from './xroad-information-system.js';
import { listen, MAX_BODY_BYTES, readBody, stopListening } from './smev-http.js';
import {
  FILTERED_HEADERS,
  headerPairs,
  headerValue,
  readRestRequest,
  restErrorAnswer,
  restRequestHash,
  X_ROAD_ERROR,
  X_ROAD_REQUEST_ID,
  type HeaderPair,
} from './xroad-rest.js';
import { checkSoapResponse, readSoapRequest, securityServerFaultXml, SecurityServerFault, soapRequestHash, withRequestHash, type SoapRequest } from './xroad-soap.js';

export { SecurityServerFault } from './xroad-soap.js';

export type SecurityServerMode = 'normal' | 'slow' | 'refusing' | 'down';
export const SECURITY_SERVER_MODES: readonly SecurityServerMode[] = ['normal', 'slow', 'refusing', 'down'];

/** A member (usually a subsystem) whose information system the Security Servers know. */
export interface SecurityServerMember {
  /** INSTANCE/CLASS/CODE/SUBSYSTEM (or a member INSTANCE/CLASS/CODE). */
  subsystem: string;
  /** Its information system's SOAP endpoint (e.g. Okno's http://host:8080/ws/xroad); null: it provides no SOAP services. */
  soap?: string | null;
  /** Its information system's REST base URL (e.g. Okno's http://host:8080/xroad/rest); null: no REST services. */
  rest?: string | null;
  /** The service codes it provides; null or absent: any code is forwarded. */
  services?: readonly string[] | null;
}

export interface SecurityServerOptions {
  /** Listen port (0: a free one). Default 0. */
  port?: number;
  host?: string;
  /** Which REST side it speaks: xroad (/r1) or trembita (/restapi). SOAP is the same for both. Default xroad. */
  dialect?: XRoadDialect;
  members?: readonly SecurityServerMember[];
  allow?: readonly AccessRight[];
  mode?: SecurityServerMode;
  /** How long a call waits in mode 'slow' (ms). Default 1000. */
  delayMs?: number;
  /** Mode 'down': cut each connection unanswered ('close', default) or answer 503. */
  downAnswer?: 'close' | '503';
  /** The fault code of mode 'refusing'. Default Server.ClientProxy.NetworkError. */
  refuseCode?: string;
  /** How long the provider's information system may take (ms). Default 60 000. */
  upstreamTimeoutMs?: number;
  onExchange?: (e: RecordedExchange) => void;
  /** Providers whose information systems the simulator plays itself (needs `catalogue` and `partners`). */
  answerAs?: ReadonlyArray<{ subsystem: string }>;
  /** The catalogue the answered services come from (read once, at start). */
  catalogue?: ServiceCatalogue;
  /** The partner registry naming the answered providers' services (and access rights, granted with answerAs). */
  partners?: PartnerRegistry;
}

/** One call through the simulated Security Servers, as it passed (or was refused). */
export interface RecordedExchange {
  seq: number;
  at: Date;
  protocol: 'soap' | 'rest';
  dialect: XRoadDialect;
  method: string;
  /** The path (and query) the client called. */
  url: string;
  /** As read from the request (null when it could not be read). */
  client: string | null;
  service: string | null;
  id: string | null;
  userId: string | null;
  /** The headers the client sent, in order, names as spelled. */
  requestHeaders: HeaderPair[];
  /** Where it was forwarded, with which headers (null: it was not). */
  forwardedTo: string | null;
  forwardedHeaders: HeaderPair[] | null;
  /** The provider the simulator answered as itself (answerAs), instead of forwarding; null otherwise. */
  answeredAs: string | null;
  /** The status and headers the client got. */
  status: number;
  responseHeaders: HeaderPair[];
  /** The Security Server's own fault, when it answered one. */
  fault: { code: string; message: string } | null;
  /** A fault (SOAP) the provider's information system answered, relayed as it was. */
  serviceFault: { code: string; message: string } | null;
  /** xrd:requestHash / X-Road-Request-Hash put on the response. */
  requestHash: string | null;
  mode: SecurityServerMode;
  durationMs: number;
}

interface UpstreamResponse {
  status: number;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
}

const SOAP_CONTENT_TYPE = 'text/xml; charset=utf-8';

export class XRoadSecurityServerSimulator {
  private readonly server: Server;
  private readonly recorded: RecordedExchange[] = [];
  private readonly waiters = new Set<() => void>();
  private readonly pending = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  private readonly membersById: Map<string, SecurityServerMember & { id: XRoadMember }>;
  private readonly rights: Array<{ client: XRoadMember; service: XRoadService }>;
  private readonly rest: RestDialect;
  private readonly answerers = new Map<string, SimulatedInformationSystem>();
  private currentMode: SecurityServerMode;
  private delay: number;
  private closed = false;
  private boundPort: number;

  private constructor(private readonly options: SecurityServerOptions) {
    this.membersById = new Map(
      (options.members ?? []).map((m) => {
        const id = parseMember(m.subsystem);
        return [formatMember(id), { ...m, id }] as const;
      }),
    );
    this.rights = (options.allow ?? []).map((r) => ({ client: parseMember(r.client), service: parseService(r.service, true) }));
    if ((options.answerAs ?? []).length > 0) {
      if (!options.catalogue || !options.partners) throw new Error('answerAs needs the catalogue and the partner registry');
      for (const a of options.answerAs!) {
        const is = SimulatedInformationSystem.of(a.subsystem, options.catalogue, options.partners);
        this.answerers.set(formatMember(is.subsystem), is);
      }
      for (const r of registryAccessRights(options.partners)) {
        if (!this.accessRights.some((x) => x.client === r.client && x.service === r.service)) this.rights.push({ client: parseMember(r.client), service: parseService(r.service, true) });
      }
    }
    this.rest = restDialect(options.dialect ?? 'xroad');
    this.currentMode = options.mode ?? 'normal';
    this.delay = options.delayMs ?? 1000;
    this.boundPort = options.port ?? 0;
    this.server = createServer((req, res) => void this.handle(req, res).catch(() => req.socket.destroy()));
    this.server.keepAliveTimeout = 1;
  }

  /** Starts listening; the options' identifiers are checked first (XRoadIdError names a bad one). */
  static async start(options: SecurityServerOptions = {}): Promise<XRoadSecurityServerSimulator> {
    const sim = new XRoadSecurityServerSimulator(options);
    sim.boundPort = await listen(sim.server, sim.boundPort, options.host ?? '127.0.0.1');
    return sim;
  }

  /** http://host:port: the client's Security Server (SOAP at `${url}/`, REST at `${url}/r1/…` or `${url}/restapi/…`). */
  get url(): string {
    return `http://${this.options.host ?? '127.0.0.1'}:${this.boundPort}`;
  }

  get port(): number {
    return this.boundPort;
  }

  get dialect(): XRoadDialect {
    return this.rest.dialect;
  }

  get mode(): SecurityServerMode {
    return this.currentMode;
  }

  get delayMs(): number {
    return this.delay;
  }

  /** Switches the mode; from 'slow', calls already waiting keep waiting. */
  setMode(mode: SecurityServerMode, o: { delayMs?: number } = {}): void {
    if (!SECURITY_SERVER_MODES.includes(mode)) throw new Error(`unknown Security Server mode "${String(mode)}"`);
    this.currentMode = mode;
    if (o.delayMs !== undefined) this.delay = o.delayMs;
  }

  /**
   * Adds a member (or replaces the one with the same id) while running — for
   * tests where the information system starts after the Security Server
   * (each needs the other's port). XRoadIdError names a bad identifier.
   */
  addMember(member: SecurityServerMember): void {
    const id = parseMember(member.subsystem);
    this.membersById.set(formatMember(id), { ...member, id });
  }

  /** Grants an access right while running. */
  addAccessRight(right: AccessRight): void {
    this.rights.push({ client: parseMember(right.client), service: parseService(right.service, true) });
  }

  /** The providers the simulator answers as itself, with their service codes (for the banner). */
  get answeredProviders(): ReadonlyArray<{ subsystem: string; partner: string; services: ReadonlyArray<{ code: string; serviceId: string }> }> {
    return [...this.answerers.values()].map((is) => ({ subsystem: formatMember(is.subsystem), partner: is.partnerId, services: is.services }));
  }

  /** The members the Security Servers know, for the banner. */
  get members(): ReadonlyArray<SecurityServerMember> {
    return [...this.membersById.values()];
  }

  get accessRights(): ReadonlyArray<AccessRight> {
    return this.rights.map((r) => ({ client: formatMember(r.client), service: formatService(r.service) }));
  }

  /** Everything that passed so far, oldest first. */
  exchanges(): RecordedExchange[] {
    return [...this.recorded];
  }

  /** Resolves with the exchanges once there are at least `count`; rejects after `timeoutMs`. */
  waitForExchanges(count: number, timeoutMs = 5000): Promise<RecordedExchange[]> {
    if (this.recorded.length >= count) return Promise.resolve(this.exchanges());
    return new Promise((resolve, reject) => {
      const waiter = () => {
        if (this.recorded.length < count) return;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve(this.exchanges());
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`XRoadSecurityServerSimulator.waitForExchanges: ${this.recorded.length} of ${count} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** The same as close(). */
  stop(): Promise<void> {
    return this.close();
  }

  /** Stops listening, cuts open connections, and lets calls waiting in mode 'slow' go on at once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending) {
      clearTimeout(p.timer);
      p.resolve();
    }
    this.pending.clear();
    await stopListening(this.server);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const mode = this.currentMode;
    if (mode === 'down') {
      if ((this.options.downAnswer ?? 'close') === 'close') {
        req.socket.destroy();
        return;
      }
      res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' }).end('Security Server is down (simulated)\n');
      return;
    }
    const url = req.url ?? '/';
    const path = url.split('?')[0]!;
    // REST at /r{N}/… (X-Road) or /restapi… (Trembita; the other dialect's path is refused as a bad request); SOAP anywhere else, as on a Security Server.
    const protocol: 'soap' | 'rest' = /^\/(r\d+|restapi)(\/|$)/.test(path) ? 'rest' : 'soap';
    const pairs = headerPairs(req.rawHeaders);
    const record: Omit<RecordedExchange, 'seq' | 'at' | 'durationMs' | 'status' | 'responseHeaders'> = {
      protocol,
      dialect: this.rest.dialect,
      method: req.method ?? 'GET',
      url,
      client: null,
      service: null,
      id: null,
      userId: null,
      requestHeaders: pairs,
      forwardedTo: null,
      forwardedHeaders: null,
      answeredAs: null,
      fault: null,
      serviceFault: null,
      requestHash: null,
      mode,
    };
    const body = await readBody(req);
    let answer: Answer;
    try {
      if (body === null) throw new SecurityServerFault(protocol === 'soap' ? 'Client.InvalidMessage' : 'Client.BadRequest', `The request is larger than ${MAX_BODY_BYTES} bytes`);
      answer = protocol === 'soap' ? await this.soap(req, body, record, mode) : await this.restCall(req, url, pairs, body, record, mode);
    } catch (error) {
      if (!(error instanceof SecurityServerFault)) throw error;
      record.fault = { code: error.code, message: error.message };
      const detail = randomUUID();
      if (protocol === 'soap') answer = { status: 200, headers: { 'Content-Type': SOAP_CONTENT_TYPE, SOAPAction: '' }, body: securityServerFaultXml(error.code, error.message, detail) };
      else answer = restErrorAnswer(error, detail);
    }
    const responseHeaders: HeaderPair[] = Object.entries(answer.headers);
    res.writeHead(answer.status, answer.headers).end(answer.body);
    const exchange: RecordedExchange = { ...record, seq: this.recorded.length + 1, at: new Date(started), status: answer.status, responseHeaders, durationMs: Date.now() - started };
    this.recorded.push(exchange);
    this.options.onExchange?.(exchange);
    for (const w of [...this.waiters]) w();
  }

  private async soap(req: IncomingMessage, body: Buffer, record: Partial<RecordedExchange>, mode: SecurityServerMode): Promise<Answer> {
    if (req.method !== 'POST') throw new SecurityServerFault('Client.InvalidHttpMethod', `Must use POST request method instead of ${req.method ?? '?'}`);
    const contentType = req.headers['content-type'] ?? '';
    if (/^multipart\/related\b/i.test(contentType)) throw new SecurityServerFault('Client.InvalidContentType', 'Messages with attachments (multipart/related) are not simulated');
    if (!/^text\/xml\b/i.test(contentType)) throw new SecurityServerFault('Client.InvalidContentType', `Invalid content type: ${contentType || 'none'}`);
    const request = readSoapRequest(body);
    const h = request.header;
    Object.assign(record, { client: formatMember(h.client), service: formatService(h.service), id: h.id, userId: h.userId });
    // refusing: the client's Security Server read the message (so the exchange names it), then cannot reach the other one
    if (mode === 'refusing') this.refuse();
    const provider = this.route(h.client, h.service, 'soap');
    await this.slow(mode);
    const headers: Record<string, string> = { 'Content-Type': contentType };
    const soapAction = req.headers.soapaction;
    if (typeof soapAction === 'string') headers.SOAPAction = soapAction;
    record.forwardedHeaders = Object.entries(headers);
    let upstream: UpstreamResponse;
    if (typeof provider === 'string') {
      record.forwardedTo = provider;
      upstream = await this.forward('POST', provider, headers, body, 'Server.ServerProxy.ServiceFailed.NetworkError');
    } else {
      record.answeredAs = formatMember(provider.subsystem);
      upstream = simulatedUpstream(provider.answerSoap(body));
    }
    return this.soapResponse(request, body, upstream, record);
  }

  private soapResponse(request: SoapRequest, requestBody: Buffer, upstream: UpstreamResponse, record: Partial<RecordedExchange>): Answer {
    const checked = checkSoapResponse(request, upstream.body);
    const contentType = upstream.headers['content-type'] ?? SOAP_CONTENT_TYPE;
    if (checked.fault) {
      // The service's own fault goes back to the client as it came.
      record.serviceFault = checked.fault;
      return { status: 200, headers: { 'Content-Type': contentType }, body: upstream.body };
    }
    const hash = soapRequestHash(requestBody);
    record.requestHash = hash;
    return { status: 200, headers: { 'Content-Type': contentType }, body: withRequestHash(checked.text, checked.doc, hash) };
  }

  private async restCall(req: IncomingMessage, url: string, pairs: HeaderPair[], body: Buffer, record: Partial<RecordedExchange>, mode: SecurityServerMode): Promise<Answer> {
    const d = this.rest;
    const line = readRestRequest(d, url, pairs);
    // REST service ids carry no version in X-Road (/r1/…/SERVICECODE); a Trembita Uxp-Service keeps what it had
    const serviceId = formatService(line.service);
    let id = headerValue(pairs, d.id);
    const generated = id === null;
    if (id === null) id = d.dialect === 'xroad' ? `${line.client.instance}-${randomUUID()}` : randomUUID();
    Object.assign(record, { client: formatMember(line.client), service: formatService(line.service), id, userId: headerValue(pairs, d.userId) });
    if (mode === 'refusing') this.refuse();
    const provider = this.route(line.client, line.service, 'rest');
    await this.slow(mode);

    // What goes on: the client's headers but the filtered ones and those the Security Server sets itself.
    const own = new Set([d.service, d.id, X_ROAD_REQUEST_ID, d.requestHash ?? '', X_ROAD_ERROR].map((n) => n.toLowerCase()));
    const passed = pairs.filter(([n]) => !FILTERED_HEADERS.has(n.toLowerCase()) && !own.has(n.toLowerCase()));
    const keptId = pairs.filter(([n]) => n.toLowerCase() === d.id.toLowerCase());
    const requestId = randomUUID();
    let forwarded: HeaderPair[];
    let hash: string | null = null;
    if (d.dialect === 'xroad') {
      const hashed: HeaderPair[] = [...pairs.filter(([n]) => !FILTERED_HEADERS.has(n.toLowerCase()) && !['x-road-request-id', 'x-road-request-hash'].includes(n.toLowerCase())), [X_ROAD_REQUEST_ID, requestId], ...(generated ? [[d.id, id] as const] : [])];
      hash = restRequestHash(req.method ?? 'GET', url, hashed, body);
      forwarded = [...passed, [d.service, serviceId], [d.id, id], [X_ROAD_REQUEST_ID, requestId]];
    } else {
      forwarded = [...passed, [d.service, serviceId], ...(generated ? [[d.id, id] as const] : keptId.slice(-1))];
    }
    record.forwardedHeaders = forwarded;
    let upstream: UpstreamResponse;
    if (typeof provider === 'string') {
      const target = `${provider.replace(/\/+$/, '')}/${encodeURIComponent(line.service.serviceCode)}${line.servicePath}${line.query}`;
      record.forwardedTo = target;
      upstream = await this.forward(req.method ?? 'GET', target, forwarded, body, 'Server.ServerProxy.NetworkError');
    } else {
      record.answeredAs = formatMember(provider.subsystem);
      upstream = simulatedUpstream(provider.answerRest(line.service.serviceCode, req.method ?? 'GET', body));
    }

    // What comes back: the provider's status, body and headers, but the filtered ones and those the Security Server sets.
    const back: Record<string, string> = {};
    const ownBack = new Set([...own, d.client.toLowerCase()]);
    for (const [n, v] of headerPairs(upstream.rawHeaders)) {
      const lower = n.toLowerCase();
      if (FILTERED_HEADERS.has(lower) || ownBack.has(lower)) continue;
      back[n] = back[n] === undefined ? v : `${back[n]}, ${v}`;
    }
    back[d.client] = formatMember(line.client);
    back[d.service] = serviceId;
    back[d.id] = id;
    if (d.dialect === 'xroad') {
      back[X_ROAD_REQUEST_ID] = requestId;
      back[d.requestHash!] = hash!;
      record.requestHash = hash;
    }
    return { status: upstream.status, headers: back, body: upstream.body };
  }

  /** The provider's address for this call (or the information system the simulator plays), after the Security Servers' checks (client known, provider known, service known, access right). */
  private route(client: XRoadMember, service: XRoadService, protocol: 'soap' | 'rest'): string | SimulatedInformationSystem {
    const clientId = formatMember(client);
    const covers = (r: { client: XRoadMember }) => sameMember(r.client, client) || (r.client.subsystemCode === null && sameMember(r.client, memberOf(client)));
    // known to its Security Server: a member of the table, or named (itself or its member) by an access right
    const known = this.membersById.has(clientId) || this.rights.some(covers);
    if (!known) throw new SecurityServerFault('Server.ClientProxy.UnknownMember', `Client '${clientId}' not found`);
    const providerId = formatMember({ instance: service.instance, memberClass: service.memberClass, memberCode: service.memberCode, subsystemCode: service.subsystemCode });
    const provider = this.membersById.get(providerId);
    const answerer = this.answerers.get(providerId) ?? null;
    const address = answerer ?? provider?.[protocol] ?? null;
    if ((!provider && !answerer) || address === null || address === undefined) {
      throw new SecurityServerFault('Server.ClientProxy.UnknownMember', `Could not find addresses for service provider "${providerId}"${provider ? ` (no ${protocol.toUpperCase()} service address)` : ''}`);
    }
    const serviceId = formatService(service);
    if (provider?.services && !provider.services.includes(service.serviceCode)) throw new SecurityServerFault('Server.ServerProxy.UnknownService', `Unknown service: ${serviceId}`);
    const allowed = this.rights.some(
      (r) =>
        covers(r) &&
        sameMember(memberOf(r.service), memberOf(service)) &&
        r.service.subsystemCode === service.subsystemCode &&
        r.service.serviceCode === service.serviceCode &&
        (r.service.serviceVersion === null || r.service.serviceVersion === service.serviceVersion),
    );
    if (!allowed) throw new SecurityServerFault('Server.ServerProxy.AccessDenied', `Request is not allowed: ${serviceId}`);
    return address;
  }

  private refuse(): never {
    const code = this.options.refuseCode ?? 'Server.ClientProxy.NetworkError';
    throw new SecurityServerFault(code, 'Could not connect to any target host (the Security Server refuses every call: simulated)');
  }

  private slow(mode: SecurityServerMode): Promise<void> {
    if (mode !== 'slow' || this.delay <= 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.pending.delete(entry);
          resolve();
        }, this.delay),
        resolve,
      };
      this.pending.add(entry);
    });
  }

  private forward(method: string, target: string, headers: Record<string, string> | readonly HeaderPair[], body: Buffer, networkCode: string): Promise<UpstreamResponse> {
    const u = new URL(target);
    // With headers as a list, node adds no Host header: it goes first.
    const flat: string[] = ['Host', u.host];
    for (const [n, v] of Array.isArray(headers) ? (headers as HeaderPair[]) : Object.entries(headers)) flat.push(n, v);
    if (body.length > 0 || method === 'POST' || method === 'PUT' || method === 'PATCH') flat.push('Content-Length', String(body.length));
    const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
    const timeoutMs = this.options.upstreamTimeoutMs ?? 60_000;
    return new Promise((resolve, reject) => {
      const fail = (why: string) => reject(new SecurityServerFault(networkCode, `Connect to ${u.host} failed: ${why}`));
      const r = send(u, { method, headers: flat, timeout: timeoutMs, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks) }));
        res.on('error', (e) => fail(e.message));
      });
      r.on('timeout', () => {
        r.destroy();
        fail(`Read timed out (${timeoutMs} ms)`);
      });
      r.on('error', (e: NodeJS.ErrnoException) => fail(e.message || e.code || 'connection failed'));
      r.end(body);
    });
  }
}

function simulatedUpstream(a: { status: number; headers: Record<string, string>; body: Buffer }): UpstreamResponse {
  const rawHeaders = Object.entries(a.headers).flat();
  const headers: IncomingHttpHeaders = Object.fromEntries(Object.entries(a.headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { status: a.status, headers, rawHeaders, body: a.body };
}
