/**
 * The partner registry: who may talk to the gateway, with which certificates,
 * about which services, and where the gateway reaches them. Loaded and checked
 * at start-up; the result is frozen. A reload (SIGHUP, the API) reads the file
 * again and, when only certificates and names changed, the registry adopts the
 * new one at once (reloadProblem).
 */
import { readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import path from 'node:path';
import { Ajv } from 'ajv';
import { CertificateError, parseCertificate, type Certificate } from '../pki/certificate.js';
import type { RateLimit } from '../config/env.js';
import { partnersSchema } from './partners-schema.js';
import { formatMember, memberOf, parseMember, parseSubsystem, sameMember, TREMBITA_INSTANCES, XRoadIdError, type XRoadDialect, type XRoadMember } from './xroad-members.js';

export type PartnerRole = 'portal' | 'agency';
export type SignatureProfile = 'smev' | 'xmldsig';

export interface PartnerCertificate {
  pem: string;
  /** Parsed once (GOST keys included, which node:crypto cannot read). */
  certificate: Certificate;
  /** SHA-256 of the DER, lower-case hex (Certificate.fingerprintSha256). */
  fingerprint256: string;
  subject: string;
  notAfter: Date;
  /** Where it came from (file path, or "inline #n"), for messages. */
  source: string;
}

/** A SMEV 3 message exchange (broker) pull-mode partners are reached through. */
export interface Exchange {
  id: string;
  name: string;
  /** Its SOAP endpoint: the gateway's SendRequest, SendResponse, GetRequest, GetResponse, Ack, GetStatus go there. */
  url: string;
  /** The certificates it signs what it delivers with (SMEVSignature). */
  certificates: readonly PartnerCertificate[];
  signatureProfile: SignatureProfile;
  /** Where files named in FSAttachmentsList are fetched (src/attachments); null: not configured (they are recorded, then fail). */
  fileStore: ExchangeFileStore | null;
}

export interface ExchangeFileStore {
  /** ftp://host:port or ftps://host:port (explicit TLS). */
  ftp: string;
  /** S3-compatible storage, tried before FTP. */
  s3: { endpoint: string; region: string; bucket: string } | null;
  insecureTls: boolean;
  /**
   * The gateway's upload account (files it sends in pull mode): the user name and the environment
   * variable the password was read from at load. The password is a function, so that no
   * serialisation of the registry (JSON, a log line) carries it. Null: uploads are not configured.
   */
  upload?: { user: string; passwordEnv: string; password(): string } | null;
}

/** LoadPartnersOptions.env's default: where fileStore.upload.passwordEnv is looked up. */
type Env = Readonly<Record<string, string | undefined>>;

/** The X-Road service code (and version) a catalogue service goes by. */
export interface XRoadServiceCode {
  readonly code: string;
  readonly version: string | null;
}

/** A partner reached through Security Servers (X-Road / Trembita). */
export interface XRoadTransport {
  readonly mode: 'xroad';
  /** Its subsystem: a client of the gateway's services, and the provider of the services the city asks it. */
  readonly subsystem: XRoadMember;
  /** Every client identifier it calls the gateway as: its subsystem first, then registry `clients` (a member: all its subsystems). */
  readonly clients: readonly XRoadMember[];
  /** How the gateway calls its services. */
  readonly protocol: 'soap' | 'rest';
  readonly dialect: XRoadDialect;
  /** Catalogue service id → the code it provides the service under (xroadServiceCode resolves the default). */
  readonly services: ReadonlyMap<string, XRoadServiceCode>;
}

/** The gateway itself as an X-Road member (registry `xroad`). */
export interface XRoadSelf {
  /** Its subsystem: the client of its queries and the provider of its services. */
  readonly subsystem: XRoadMember;
  readonly dialect: XRoadDialect;
  /** Its Security Server (queries to X-Road partners go there); null: the city sends them nothing. */
  readonly securityServer: string | null;
  /** Catalogue service id → the code the gateway serves it under. */
  readonly services: ReadonlyMap<string, XRoadServiceCode>;
  /** Where its Security Server may call from (addresses and CIDR blocks, as written); null: anywhere. */
  readonly allowFrom: readonly string[] | null;
  /** Whether an address may call the X-Road routes (always true without allowFrom). */
  allows(address: string): boolean;
}

/** push: the partner calls POST /ws/smev3 and the gateway calls its endpoint; pull: both through an exchange; xroad: both through Security Servers. */
export type Transport = { mode: 'push' } | { mode: 'pull'; exchange: Exchange } | XRoadTransport;

/**
 * The code a catalogue service goes by in X-Road: the registry's entry, else the service id
 * with version v1 (X-Road), or id_v1 without a version (Trembita's ServiceName_vN codes).
 */
export function xroadServiceCode(owner: { readonly dialect: XRoadDialect; readonly services: ReadonlyMap<string, XRoadServiceCode> }, serviceId: string): XRoadServiceCode {
  return owner.services.get(serviceId) ?? (owner.dialect === 'trembita' ? { code: `${serviceId}_v1`, version: null } : { code: serviceId, version: 'v1' });
}

export interface Partner {
  id: string;
  name: string;
  role: PartnerRole;
  certificates: readonly PartnerCertificate[];
  sends: ReadonlySet<string>;
  receives: ReadonlySet<string>;
  endpoint: string | null;
  signatureProfile: SignatureProfile;
  transport: Transport;
  /** TLS client certificates it connects with (TLS_CLIENT_AUTH); null: its signing certificates serve. */
  tlsCertificates: readonly PartnerCertificate[] | null;
  /** Its message rate limit; null: none; undefined: RATE_LIMIT_PER_PARTNER. */
  rateLimit: RateLimit | null | undefined;
}

export class PartnerRegistryError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`partner registry ${file} is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'PartnerRegistryError';
  }
}

export class PartnerRegistry {
  private state: RegistryState;

  constructor(partners: readonly Partner[], exchanges: readonly Exchange[] = [], xroad: XRoadSelf | null = null) {
    this.state = indexed(partners, exchanges, xroad);
  }

  /** The gateway as an X-Road member (registry `xroad`); null: it is not one. */
  get xroad(): XRoadSelf | null {
    return this.state.xroad;
  }

  /**
   * The partner an X-Road client identifier belongs to: registered for that subsystem, else for
   * its whole member (a member-level `clients` entry), as X-Road's own access rights match.
   */
  byXRoadClient(client: XRoadMember): Partner | undefined {
    return this.state.byXRoadClient.get(formatMember(client)) ?? (client.subsystemCode !== null ? this.state.byXRoadClient.get(formatMember(memberOf(client))) : undefined);
  }

  /** The catalogue service the gateway serves under an X-Road service code (and version, when one is given). */
  serviceByXRoadCode(code: string): string | undefined {
    return this.state.serviceByXRoadCode.get(code);
  }

  get partners(): readonly Partner[] {
    return this.state.partners;
  }

  get exchanges(): readonly Exchange[] {
    return this.state.exchanges;
  }

  /**
   * Takes `next`'s partners and exchanges at once (a reload: SIGHUP, the API). Everything that
   * holds this registry sees them from the next lookup on. The caller checks first that `next`
   * differs only in what may change while running (reloadProblem).
   */
  adopt(next: PartnerRegistry): void {
    this.state = next.state;
  }

  /** The partner a TLS client certificate (by SHA-256 fingerprint, lower-case hex) is registered to. */
  byTlsCertificate(fingerprint256: string): Partner | undefined {
    return this.state.byTlsFingerprint.get(fingerprint256);
  }

  get(id: string): Partner | undefined {
    return this.state.byId.get(id);
  }

  /** The partner a certificate (by SHA-256 fingerprint) is registered to. */
  byCertificate(fingerprint256: string): Partner | undefined {
    return this.state.byFingerprint.get(fingerprint256);
  }

  /** The portal partner (status messages go there). */
  portal(): Partner | undefined {
    return this.partners.find((p) => p.role === 'portal');
  }

  exchange(id: string): Exchange | undefined {
    return this.exchanges.find((e) => e.id === id);
  }

  /** The pull-mode partners reached through `exchange`. */
  pullPartnersOf(exchange: Exchange): Partner[] {
    return this.partners.filter((p) => p.transport.mode === 'pull' && p.transport.exchange.id === exchange.id);
  }

  /** Partners the city may send a request for `service` to. */
  receiversOf(service: string): Partner[] {
    return this.partners.filter((p) => p.receives.has(service));
  }
}

interface RegistryState {
  partners: readonly Partner[];
  exchanges: readonly Exchange[];
  xroad: XRoadSelf | null;
  byXRoadClient: Map<string, Partner>;
  serviceByXRoadCode: Map<string, string>;
  byId: Map<string, Partner>;
  byFingerprint: Map<string, Partner>;
  byTlsFingerprint: Map<string, Partner>;
}

function indexed(partners: readonly Partner[], exchanges: readonly Exchange[], xroad: XRoadSelf | null): RegistryState {
  const provided = new Set(partners.flatMap((p) => [...p.sends]));
  return {
    partners,
    exchanges,
    xroad,
    byXRoadClient: new Map(partners.flatMap((p) => (p.transport.mode === 'xroad' ? p.transport.clients.map((c) => [formatMember(c), p] as const) : []))),
    serviceByXRoadCode: new Map(xroad ? [...provided].map((id) => [xroadServiceCode(xroad, id).code, id] as const) : []),
    byId: new Map(partners.map((p) => [p.id, p])),
    byFingerprint: new Map(partners.flatMap((p) => p.certificates.map((c) => [c.fingerprint256, p] as const))),
    byTlsFingerprint: new Map(partners.flatMap((p) => tlsCertificatesOf(p).map((c) => [c.fingerprint256, p] as const))),
  };
}

/**
 * Why `next` cannot replace `current` while the gateway runs; null when it can. A reload takes
 * what a renewal changes — certificates (signing and TLS) and names; partners or exchanges added
 * or removed, and a changed role, endpoint, URL, transport, services, signature profile or rate
 * limit, need a restart (rate-limit buckets, metric series and pull-mode pollers are made once).
 */
export function reloadProblem(current: PartnerRegistry, next: PartnerRegistry): string | null {
  const ids = (list: ReadonlyArray<{ id: string }>) => list.map((x) => x.id).sort().join(', ');
  if (ids(current.partners) !== ids(next.partners)) return `the partners differ (${ids(current.partners)} → ${ids(next.partners)}); adding or removing a partner needs a restart`;
  if (ids(current.exchanges) !== ids(next.exchanges)) return `the exchanges differ (${ids(current.exchanges)} → ${ids(next.exchanges)}); adding or removing an exchange needs a restart`;
  const sameSet = (a: ReadonlySet<string>, b: ReadonlySet<string>) => a.size === b.size && [...a].every((x) => b.has(x));
  for (const before of current.partners) {
    const after = next.get(before.id)!;
    const changed = [
      before.role !== after.role && 'role',
      before.endpoint !== after.endpoint && 'endpoint',
      before.signatureProfile !== after.signatureProfile && 'signatureProfile',
      transportKey(before) !== transportKey(after) && 'transport',
      !sameSet(before.sends, after.sends) && 'sends',
      !sameSet(before.receives, after.receives) && 'receives',
      JSON.stringify(before.rateLimit) !== JSON.stringify(after.rateLimit) && 'rateLimit',
    ].filter((x): x is string => typeof x === 'string');
    if (changed.length > 0) return `partner "${before.id}": ${changed.join(', ')} changed; only certificates and names are taken while running, the rest needs a restart`;
  }
  if (JSON.stringify(xroadKey(current.xroad)) !== JSON.stringify(xroadKey(next.xroad))) return 'the gateway\'s X-Road identity (xroad) changed; that needs a restart';
  for (const before of current.exchanges) {
    const after = next.exchange(before.id)!;
    const changed = [before.url !== after.url && 'url', before.signatureProfile !== after.signatureProfile && 'signatureProfile'].filter((x): x is string => typeof x === 'string');
    if (changed.length > 0) return `exchange "${before.id}": ${changed.join(', ')} changed; only certificates and names are taken while running, the rest needs a restart`;
  }
  return null;
}

/** What of a partner's transport a reload may not change: all of it. */
function transportKey(p: Partner): string {
  const t = p.transport;
  if (t.mode === 'push') return 'push';
  if (t.mode === 'pull') return `pull:${t.exchange.id}`;
  return JSON.stringify(['xroad', t.clients.map(formatMember), t.protocol, t.dialect, [...t.services]]);
}

function xroadKey(x: XRoadSelf | null): unknown {
  return x && [formatMember(x.subsystem), x.dialect, x.securityServer, [...x.services], x.allowFrom];
}

const validate = new Ajv({ allErrors: true, strict: true }).compile(partnersSchema);

export interface LoadPartnersOptions {
  /** Overrides the portal partner's endpoint (PORTAL_URL). */
  portalUrl?: string | null;
  now?: Date;
  /** Where fileStore.upload.passwordEnv is read (default process.env). */
  env?: Env;
}

type RawTransport = 'push' | { mode: 'pull'; exchange: string } | { mode: 'xroad'; subsystem: string; clients?: string[]; protocol?: 'soap' | 'rest'; dialect?: XRoadDialect; services?: Record<string, { code: string; version?: string }> };

/** Reads, validates and freezes the registry; throws PartnerRegistryError naming every problem. */
export function loadPartners(file: string, options: LoadPartnersOptions = {}): { registry: PartnerRegistry; warnings: string[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new PartnerRegistryError(file, [`cannot read the file: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`]);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new PartnerRegistryError(file, [`not valid JSON: ${(error as Error).message}`]);
  }
  return parsePartners(data, file, options);
}

export function parsePartners(
  data: unknown,
  file: string,
  options: LoadPartnersOptions = {},
): { registry: PartnerRegistry; warnings: string[] } {
  if (!validate(data)) {
    const problems = (validate.errors ?? []).map((e) => {
      const where = e.instancePath || '(root)';
      const extra = e.keyword === 'additionalProperties' ? ` "${String(e.params.additionalProperty)}"` : '';
      return `${where}: ${e.message}${extra}`;
    });
    throw new PartnerRegistryError(file, problems);
  }
  const doc = data as {
    exchanges?: Array<{ id: string; name?: string; url: string; certificates: string[]; signatureProfile?: SignatureProfile; fileStore?: { ftp: string; s3?: { endpoint: string; region?: string; bucket?: string }; insecureTls?: boolean; upload?: { user: string; passwordEnv: string } } }>;
    xroad?: { self: string; dialect?: XRoadDialect; securityServer?: string; services?: Record<string, { code: string; version?: string }>; allowFrom?: string[] };
    partners: Array<{ id: string; name: string; role: PartnerRole; certificates?: string[]; sends: string[]; receives: string[]; endpoint: string | null; signatureProfile?: SignatureProfile; transport?: RawTransport; tlsCertificates?: string[]; rateLimit?: RateLimit | null }>;
  };
  const problems: string[] = [];
  const warnings: string[] = [];
  const now = options.now ?? new Date();
  const baseDir = path.dirname(path.resolve(file));
  const seenIds = new Set<string>();
  const seenCerts = new Map<string, string>();
  const seenTls = new Map<string, string>();

  /** `owner` as it appears in messages: partner "x" or exchange "x"; the same certificate may not sign for two. */
  const loadCertificates = (kind: 'partner' | 'exchange', id: string, where: string, refs: string[], field: 'certificates' | 'tlsCertificates' = 'certificates'): PartnerCertificate[] => {
    const owner = kind === 'partner' ? id : `exchange ${id}`;
    const certificates: PartnerCertificate[] = [];
    refs.forEach((ref, certIndex) => {
      const inline = ref.includes('-----BEGIN');
      const source = inline ? `inline #${certIndex + 1}` : ref;
      let pem: string;
      try {
        pem = inline ? ref : readFileSync(path.resolve(baseDir, ref), 'utf8');
      } catch (error) {
        problems.push(`${where}/${field}/${certIndex}: cannot read "${ref}": ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
        return;
      }
      let cert: Certificate;
      try {
        cert = parseCertificate(pem);
      } catch (error) {
        if (!(error instanceof CertificateError)) throw error;
        problems.push(`${where}/${field}/${certIndex}: "${source}" is not a PEM certificate (${error.message})`);
        return;
      }
      // Signing certificates identify one owner; TLS client certificates are checked separately below.
      if (field === 'certificates') {
        const previous = seenCerts.get(cert.fingerprintSha256);
        if (previous !== undefined) {
          problems.push(`${where}/certificates/${certIndex}: the same certificate is already registered to "${previous}"`);
        }
        seenCerts.set(cert.fingerprintSha256, owner);
      }
      if (cert.notAfter < now) warnings.push(`${kind} "${id}": ${field === 'certificates' ? 'certificate' : 'TLS certificate'} ${source} expired on ${cert.notAfter.toISOString()}`);
      certificates.push(Object.freeze({ pem, certificate: cert, fingerprint256: cert.fingerprintSha256, subject: cert.subject, notAfter: cert.notAfter, source }));
    });
    return certificates;
  };

  const env: Env = options.env ?? process.env;
  /** Read once, here; a variable that is not set is a problem of the registry (start-up stops naming it). */
  const uploadAccount = (raw: { user: string; passwordEnv: string } | undefined, where: string): NonNullable<ExchangeFileStore['upload']> | null => {
    if (!raw) return null;
    const secret = env[raw.passwordEnv];
    if (secret === undefined || secret === '') {
      problems.push(`${where}: the environment variable ${raw.passwordEnv} is not set (the file store's upload password)`);
      return null;
    }
    return Object.freeze({ user: raw.user, passwordEnv: raw.passwordEnv, password: () => secret });
  };
  const seenExchanges = new Set<string>();
  const exchanges = (doc.exchanges ?? []).map((raw, index): Exchange => {
    const where = `/exchanges/${index} (${raw.id})`;
    if (seenExchanges.has(raw.id)) problems.push(`${where}: duplicate id "${raw.id}"`);
    seenExchanges.add(raw.id);
    return Object.freeze({
      id: raw.id,
      name: raw.name ?? raw.id,
      url: raw.url,
      certificates: Object.freeze(loadCertificates('exchange', raw.id, where, raw.certificates)),
      signatureProfile: raw.signatureProfile ?? 'smev',
      fileStore: raw.fileStore
        ? Object.freeze({
            ftp: raw.fileStore.ftp.replace(/\/$/, ''),
            s3: raw.fileStore.s3 ? { endpoint: raw.fileStore.s3.endpoint, region: raw.fileStore.s3.region ?? 'us-east-1', bucket: raw.fileStore.s3.bucket ?? 'attachment' } : null,
            insecureTls: raw.fileStore.insecureTls ?? false,
            upload: uploadAccount(raw.fileStore.upload, `${where}/fileStore/upload/passwordEnv`),
          })
        : null,
    });
  });

  /** An identifier of the registry, or null with the problem recorded. */
  const xroadId = (text: string, where: string, subsystem: boolean, dialect: XRoadDialect): XRoadMember | null => {
    try {
      const id = subsystem ? parseSubsystem(text) : parseMember(text);
      if (dialect === 'trembita' && !TREMBITA_INSTANCES.includes(id.instance)) {
        problems.push(`${where}: "${text}" is in instance ${id.instance}, but Trembita's instances are ${TREMBITA_INSTANCES.join(' and ')}`);
      }
      return id;
    } catch (error) {
      if (!(error instanceof XRoadIdError)) throw error;
      problems.push(`${where}: ${error.message}`);
      return null;
    }
  };
  const serviceCodes = (raw: Record<string, { code: string; version?: string }> | undefined, where: string, dialect: XRoadDialect): Map<string, { code: string; version: string | null }> => {
    const codes = new Map<string, { code: string; version: string | null }>();
    for (const [id, entry] of Object.entries(raw ?? {})) {
      if (dialect === 'trembita' && !/_v\d+$/.test(entry.code)) problems.push(`${where}/${id}/code: Trembita service codes are ServiceName_vN ("${entry.code}" has no _vN)`);
      codes.set(id, Object.freeze({ code: entry.code, version: entry.version ?? null }));
    }
    return codes;
  };
  let xroad: XRoadSelf | null = null;
  if (doc.xroad) {
    const dialect = doc.xroad.dialect ?? 'xroad';
    const self = xroadId(doc.xroad.self, '/xroad/self', true, dialect);
    const services = serviceCodes(doc.xroad.services, '/xroad/services', dialect);
    const byCode = new Map<string, string>();
    for (const [id, entry] of services) {
      const other = byCode.get(entry.code);
      if (other) problems.push(`/xroad/services/${id}/code: "${entry.code}" is already the code of ${other}`);
      byCode.set(entry.code, id);
    }
    const allowFrom = doc.xroad.allowFrom ?? null;
    const blocks = allowFrom ? addressList(allowFrom, '/xroad/allowFrom', problems) : null;
    if (!allowFrom) warnings.push('xroad.allowFrom is not set: any address that reaches POST /ws/xroad or /xroad/rest may claim any X-Road client; list the Security Server\'s address');
    if (self) xroad = Object.freeze({ subsystem: self, dialect, securityServer: doc.xroad.securityServer?.replace(/\/$/, '') ?? null, services, allowFrom, allows: (address: string) => blocks === null || allowedBy(blocks, address) });
  }
  const seenClients = new Map<string, string>();

  const partners = doc.partners.map((raw, index): Partner => {
    const where = `/partners/${index} (${raw.id})`;
    if (seenIds.has(raw.id)) problems.push(`${where}: duplicate id "${raw.id}"`);
    seenIds.add(raw.id);
    const viaXRoad = typeof raw.transport === 'object' && raw.transport.mode === 'xroad';
    if (!viaXRoad && (raw.certificates ?? []).length === 0) problems.push(`${where}/certificates: at least one signing certificate is needed (only partners with transport xroad go without: the Security Servers sign)`);
    if (!viaXRoad && raw.signatureProfile === undefined) problems.push(`${where}/signatureProfile: required ("smev" or "xmldsig") for a SMEV partner`);
    const certificates = loadCertificates('partner', raw.id, where, raw.certificates ?? []);
    const tlsCertificates = raw.tlsCertificates ? loadCertificates('partner', raw.id, where, raw.tlsCertificates, 'tlsCertificates') : null;
    // A TLS client certificate identifies one partner only (its own list, or its signing certificates).
    for (const [certIndex, cert] of (tlsCertificates ?? certificates).entries()) {
      const owner = seenTls.get(cert.fingerprint256);
      if (owner !== undefined && owner !== raw.id) {
        problems.push(`${where}/${tlsCertificates ? 'tlsCertificates' : 'certificates'}/${certIndex}: the same certificate already identifies "${owner}" as a TLS client`);
      }
      seenTls.set(cert.fingerprint256, raw.id);
    }
    let transport: Transport = { mode: 'push' };
    if (typeof raw.transport === 'object' && raw.transport.mode === 'xroad') {
      const t = raw.transport;
      const dialect = t.dialect ?? xroad?.dialect ?? 'xroad';
      if (!doc.xroad) problems.push(`${where}/transport: an xroad partner needs the gateway's own X-Road identity (a top-level "xroad": { "self": "INSTANCE/CLASS/CODE/SUBSYSTEM" })`);
      if (raw.endpoint !== null) problems.push(`${where}/endpoint: must be null for an xroad partner (the gateway calls it through its Security Server, xroad.securityServer)`);
      if (raw.receives.length > 0 && doc.xroad && !doc.xroad.securityServer) problems.push(`${where}/receives: the city sends this partner queries, but xroad.securityServer (where they go) is not set`);
      const subsystem = xroadId(t.subsystem, `${where}/transport/subsystem`, true, dialect);
      const extra = (t.clients ?? []).map((c, i) => xroadId(c, `${where}/transport/clients/${i}`, false, dialect));
      const clients = [subsystem, ...extra].filter((c): c is XRoadMember => c !== null).filter((c, i, all) => all.findIndex((o) => sameMember(o, c)) === i);
      for (const c of clients) {
        const owner = seenClients.get(formatMember(c));
        if (owner !== undefined && owner !== raw.id) problems.push(`${where}/transport: the X-Road client ${formatMember(c)} already identifies "${owner}"`);
        seenClients.set(formatMember(c), raw.id);
      }
      if (subsystem) transport = Object.freeze({ mode: 'xroad', subsystem, clients: Object.freeze(clients), protocol: t.protocol ?? 'soap', dialect, services: serviceCodes(t.services, `${where}/transport/services`, dialect) });
    } else if (raw.transport !== undefined && raw.transport !== 'push') {
      const exchange = exchanges.find((e) => e.id === (raw.transport as { exchange: string }).exchange);
      if (!exchange) {
        const known = exchanges.map((e) => `"${e.id}"`).join(', ') || 'none (add a top-level "exchanges" list)';
        problems.push(`${where}/transport/exchange: no exchange "${raw.transport.exchange}"; registered exchanges: ${known}`);
      } else {
        transport = Object.freeze({ mode: 'pull', exchange });
        if (raw.endpoint !== null) problems.push(`${where}/endpoint: must be null for a pull-mode partner (its messages go through exchange "${exchange.id}")`);
      }
    }
    return Object.freeze({
      id: raw.id,
      name: raw.name,
      role: raw.role,
      certificates: Object.freeze(certificates),
      sends: new Set(raw.sends),
      receives: new Set(raw.receives),
      endpoint: raw.endpoint,
      signatureProfile: raw.signatureProfile ?? 'smev',
      transport,
      tlsCertificates: tlsCertificates ? Object.freeze(tlsCertificates) : null,
      rateLimit: raw.rateLimit === undefined ? undefined : raw.rateLimit === null ? null : Object.freeze({ ...raw.rateLimit }),
    });
  });

  if (options.portalUrl) {
    const portals = partners.filter((p) => p.role === 'portal');
    if (portals.length !== 1) {
      problems.push(`PORTAL_URL is set, but the registry has ${portals.length} partners with role "portal" (exactly one is needed to know whose endpoint it overrides)`);
    } else if (portals[0]!.transport.mode === 'pull') {
      problems.push(`PORTAL_URL is set, but the portal partner "${portals[0]!.id}" is reached through an exchange (transport pull); unset PORTAL_URL`);
    } else {
      const index = partners.indexOf(portals[0]!);
      partners[index] = Object.freeze({ ...portals[0]!, endpoint: options.portalUrl });
    }
  }
  if (problems.length > 0) throw new PartnerRegistryError(file, problems);
  return { registry: new PartnerRegistry(partners, exchanges, xroad), warnings };
}

/** A BlockList of the addresses and CIDR blocks (problems named by index). */
function addressList(entries: string[], where: string, problems: string[]): BlockList {
  const list = new BlockList();
  entries.forEach((entry, i) => {
    const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(entry.trim());
    const family = m ? isIP(m[1]!) : 0;
    const prefix = m?.[2] === undefined ? null : Number(m[2]);
    if (!m || family === 0 || (prefix !== null && prefix > (family === 4 ? 32 : 128))) {
      problems.push(`${where}/${i}: "${entry}" is not an IP address or a CIDR block (e.g. 10.0.0.5, 10.0.0.0/24, ::1)`);
      return;
    }
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefix === null) list.addAddress(m[1]!, type);
    else list.addSubnet(m[1]!, prefix, type);
  });
  return list;
}

/** An address as a socket reports it (IPv4-mapped IPv6 included) against the list. */
function allowedBy(list: BlockList, address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return list.check(mapped[1]!, 'ipv4');
  const family = isIP(address);
  return family !== 0 && list.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** The certificates a partner may present as a TLS client: its own TLS list, else its signing certificates. */
export function tlsCertificatesOf(partner: Partner): readonly PartnerCertificate[] {
  return partner.tlsCertificates ?? partner.certificates;
}
