/**
 * Assembles a gateway from its configuration: everything is read, parsed and
 * checked here, once, before the first request — keys, certificates, the
 * partner registry, the store connection. A problem stops start-up with a
 * message that names it.
 */
import path from 'node:path';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { storeRedisSettings, usesRedis, type Config } from './config/env.js';
import { namingAsync, StartupError } from './config/startup-failure.js';
import type { PartnerRegistry } from './registry/partners.js';
import type { ServiceCatalogue } from './catalogue/types.js';
import { startCityWebhook } from './delivery/city-webhook.js';
import { startExchangeFileWorker } from './attachments/exchange-file-worker.js';
import { BlobStore } from './attachments/blob-store.js';
import type { FlowContext } from './flows/context.js';
import { buildApp } from './http/app.js';
import { registerInboxRoutes } from './api/inbox-routes.js';
import { serviceSchemaComponents } from './api/service-schemas.js';
import { registerStatusRoutes } from './api/status-routes.js';
import { registerFileRoutes } from './api/file-routes.js';
import { registerQueryRoutes } from './api/query-routes.js';
import { registerJournalRoutes } from './api/journal-routes.js';
import { startJournalSealer } from './journal/sealer.js';
import { EncryptingArchiveStore, loadArchiveEncryption } from './journal/archive-encryption.js';
import { openArchiveStore } from './journal/archive-open.js';
import { ArchiveReader } from './journal/archive-reader.js';
import { registerMaintenanceRoutes } from './api/maintenance-routes.js';
import { startQueryDelivery } from './delivery/query-delivery.js';
import { startResponseDelivery } from './delivery/response-delivery.js';
import { startStatusDelivery } from './delivery/status-delivery.js';
import { sendViaFileStore } from './attachments/send-via-file-store.js';
import { TokenAuth } from './http/auth.js';
import { FallbackRateLimiter, rateLimiterFor } from './http/rate-limit.js';
import { loadHttpsOptions } from './pki/tls-material.js';
import { createOutboundAgent } from './delivery/outbound-tls.js';
import { startPullTransport } from './pull/pull-transport.js';
import { startPushTransport } from './push/push-transport.js';
import { startXRoadTransport } from './xroad-transport/xroad-transport.js';
import { registerXRoadRestRoutes } from './xroad-transport/rest-endpoint.js';
import { registerOpsDashboard } from './ops/dashboard/routes.js';
import { registerDeadMessageRoutes } from './api/dead-messages-routes.js';
import type { Logger } from './log.js';
import { LogThrottle } from './log-throttle.js';
import { Readiness, type CheckOutcome } from './ops/readiness.js';
import { replicationReadiness } from './ops/replication-readiness.js';
import type { CrlSet } from './pki/crl-set.js';
import { OcspClient } from './pki/ocsp-client.js';
import { registerHealthRoutes, registerMetricsRoute } from './ops/health-routes.js';
import { createGatewayMetrics, GATEWAY_QUEUES } from './ops/metrics.js';
import { daysUntil, splitPem, type GatewayIdentity } from './pki/gateway-identity.js';
import type { GatewayKeys } from './pki/gateway-keys.js';
import { parseCertificate, type Certificate } from './pki/certificate.js';
import { certificateExpiryCheck, certificatesInUse } from './ops/certificates.js';
import { keyReloader, type KeyReloadReport, type ReloadTrigger } from './ops/key-reload.js';
import { partnersReload } from './ops/partners-reload.js';
import type { TrustAnchors } from './pki/trust-anchors.js';
import { SAMPLE_ORGANIZATION } from './pki/sample-pki.js';
import type { Signer } from './pki/signer.js';
import type { TrustAnchorSet } from './pki/trust.js';
import { createStore } from './store/index.js';
import { GATEWAY_SELF, loadFlowParts } from './flows/flow-parts.js';
import type { Store } from './store/types.js';

export interface Gateway {
  config: Config;
  app: FastifyInstance;
  store: Store;
  partners: PartnerRegistry;
  catalogue: ServiceCatalogue;
  /** How the key in use at start-up was loaded (after a reload: keys.identity). */
  identity: GatewayIdentity;
  /** TRUST_CA_FILE as read at start-up (a reload may change the anchors in use: trustAnchors.anchors). */
  trust: TrustAnchors;
  /** Signs what the gateway sends (the only holder of the private key); its key follows reloads. */
  signer: Signer;
  /** The gateway key in use, replaceable while running (reloadKeys). */
  keys: GatewayKeys<GatewayIdentity>;
  /** Reloads the key and certificate from the configured files (SIGHUP, the API); a bad new key keeps the old one. */
  reloadKeys(trigger: ReloadTrigger): Promise<KeyReloadReport>;
  /** Decides whom the gateway trusts (TRUST_CA_FILE). */
  trustAnchors: TrustAnchorSet;
  /** Registers background work (pollers, delivery workers) to stop on close. */
  onClose(stop: () => Promise<void>): void;
  listen(): Promise<string>;
  /**
   * The first step of a graceful stop behind a load balancer: /ready fails at once (a `shutdown` check)
   * and every response asks its client to close the connection, while requests are still served for
   * `ms`, so the balancer takes this process out before it stops listening. Then call close().
   */
  drain(ms: number): Promise<void>;
  /** Stops accepting, lets in-flight requests finish, stops workers, closes the store. */
  close(): Promise<void>;
}

export { StartupError };

export interface GatewayHooks {
  /** After a reload asked through the API succeeded here (main.ts: the other worker processes reload too). */
  keysReloaded?(trigger: ReloadTrigger): void;
}

export async function createGateway(config: Config, logger: Logger, hooks: GatewayHooks = {}): Promise<Gateway> {
  const parts = loadFlowParts(config, logger);
  try {
    return await assemble(config, logger, parts, hooks);
  } catch (error) {
    await parts.signer.close?.();
    throw error;
  }
}

async function assemble(config: Config, logger: Logger, parts: ReturnType<typeof loadFlowParts>, hooks: GatewayHooks): Promise<Gateway> {
  const { partners, warnings, catalogue, lifecycle, identity, trust, signer, keys, crls, crlSet, trustAnchors } = parts;
  for (const warning of warnings) logger.warn({ partnersFile: config.partnersFile }, warning);
  checkServicesKnown(partners, catalogue, logger);
  checkProductionSafety(config, identity, trust, partners);
  for (const crl of crls) {
    if (crl.nextUpdate && crl.nextUpdate < new Date()) logger.warn({ crl: crl.file, nextUpdate: crl.nextUpdate.toISOString() }, `CRL ${crl.file} is past its nextUpdate; still used, fetch a new one`);
  }
  const https = config.tls ? loadHttpsOptions(config.tls) : null;
  // ARCHIVE_ENCRYPT_TO / ARCHIVE_DECRYPT_KEY_FILE: read and matched now (a bad one stops start-up naming it).
  const archiveEncryption = loadArchiveEncryption(config.journalArchive);
  const outboundAgent = config.outboundTls ? createOutboundAgent(config.outboundTls) : null;
  // Every certificate in use, for the `certificates` check and okno_certificate_expiry_days (the gateway's is read each time).
  const tlsCertificate = https ? parseCertificate(String(https.cert)) : null;
  const outboundCertificate = config.outboundTls?.certFile ? firstCertificate(config.outboundTls.certFile) : null;
  // The anchors of the moment: a reload may change them (TRUST_CA_FILE).
  const inUse = () => certificatesInUse({ gateway: () => keys.certificate, https: tlsCertificate, outboundTls: outboundCertificate, partners, trustAnchors: trustAnchors.anchors });
  const warnDays = config.certExpiryWarningDays;
  checkExchangeCertificates(partners, trustAnchors, logger);
  // Revocation beyond CRL_FILES: distribution-point CRLs fetched now (a failure only warns) and on a schedule; OCSP per partner certificate.
  await crlSet.refresh();
  crlSet.start();
  const ocsp = config.revocation.ocsp.mode === 'on' ? new OcspClient(config.revocation.ocsp) : null;
  if (ocsp && config.revocation.ocsp.onOutage === 'accept') logger.warn('OCSP_ON_OUTAGE=accept: a message whose certificate status the OCSP responder cannot give is accepted (counted in okno_ocsp_outage_accepted_total)');

  if (identity.isSample) logger.warn('using the sample PKI from certs-sample/ (test only): its private keys are public');
  if (!usesRedis(config)) {
    logger.warn('REDIS_URL is not set: using the in-memory store; nothing survives a restart');
  }
  const store = await namingAsync(config.redisSentinel ? 'REDIS_SENTINELS' : 'REDIS_URL', () =>
    createStore({
      ...storeRedisSettings(config),
      keyPrefix: config.redisKeyPrefix,
      waitReplicas: config.redisWaitReplicas,
      waitTimeoutMs: config.redisWaitTimeoutMs,
      onRedisError: redisErrorLog(logger),
      onPrimaryChange: (primary) => logger.warn({ primary, sentinelGroup: config.redisSentinel?.name }, `Redis Sentinel: the primary is now ${primary}; reconnecting to it`),
    }),
  );

  const readiness = new Readiness()
    .add('store', async () => {
      await store.ping();
      const info = await store.info();
      return { status: 'pass', detail: info.detail, kind: info.kind, durable: info.durable };
    })
    .add('signingKey', async () => {
      // A PKCS#11 token can stop answering: then nothing can be signed, and /ready says so naming the token.
      const current = keys.signer.current();
      const health = current.health ? await current.health() : null;
      if (health && !health.ok) return { status: 'fail', detail: health.detail, algorithm: current.signatureAlgorithm.name };
      return { status: 'pass', detail: `${keys.identity.keyDescription} from ${keys.identity.source}${health ? `; ${health.detail}` : ''}`, algorithm: current.signatureAlgorithm.name };
    })
    .add('gatewayCertificate', async () => {
      // The certificate in use now: it follows key reloads.
      const cert = keys.certificate;
      const days = daysUntil(cert.notAfter);
      const serial = cert.serialHex;
      if (cert.notBefore > new Date()) return { status: 'fail', detail: `${cert.subject} is not valid before ${cert.notBefore.toISOString()}`, daysUntilExpiry: days, serial };
      if (days < 0) return { status: 'fail', detail: `${cert.subject} expired on ${cert.notAfter.toISOString()}`, daysUntilExpiry: days, serial };
      return { status: days < warnDays ? 'warn' : 'pass', detail: `${cert.subject} valid until ${cert.notAfter.toISOString()}`, daysUntilExpiry: days, serial };
    })
    .add('certificates', async () => certificateExpiryCheck(inUse(), new Date(), warnDays))
    .add('partners', async () => ({ status: 'pass', detail: `${partners.partners.length} partners: ${partners.partners.map((p) => p.id).join(', ')}` }))
    .add('services', async () => ({ status: 'pass', detail: `${catalogue.services.length} services: ${catalogue.services.map((s) => s.id).join(', ')}` }))
    .add('trustAnchors', async () => ({ status: 'pass', detail: `${trustAnchors.anchors.length} trusted CA certificate(s)` }))
    .add('crls', async () => crlReadiness(crlSet))
    .add('ocsp', async () => ocspReadiness(ocsp, partners));
  if (config.redisWaitReplicas > 0 && store.replication) {
    const replication = store.replication.bind(store);
    readiness.add('replication', async () => replicationReadiness(await replication()));
  }
  if (tlsCertificate) {
    readiness.add('tlsCertificate', async () => {
      const notAfter = tlsCertificate.notAfter;
      const days = daysUntil(notAfter);
      const subject = tlsCertificate.subject;
      const mode = `client certificates ${config.tls!.clientAuth}`;
      if (days < 0) return { status: 'fail', detail: `HTTPS: ${subject} expired on ${notAfter.toISOString()}`, daysUntilExpiry: days, clientAuth: config.tls!.clientAuth };
      return { status: days < warnDays ? 'warn' : 'pass', detail: `HTTPS (${mode}): ${subject} valid until ${notAfter.toISOString()}`, daysUntilExpiry: days, clientAuth: config.tls!.clientAuth };
    });
  }

  // Every segment through the encryption wrapper: it writes CMS envelopes when ARCHIVE_ENCRYPT_TO is set and reads them with the key.
  const archive = config.journalArchive.hotHours > 0 ? { store: new EncryptingArchiveStore(openArchiveStore(config.journalArchive), { ...archiveEncryption, logger }), hotHours: config.journalArchive.hotHours, intervalMs: config.journalArchive.intervalMs } : undefined;
  // One blob store (ATTACHMENT_DIR): files from the exchange's file store, and the city's own files.
  const blobs = new BlobStore(config.fileStore.attachmentDir);
  const ctx: FlowContext = {
    config,
    store,
    catalogue,
    lifecycle,
    partners,
    signer,
    trustAnchors,
    revocation: ocsp,
    logger,
    self: GATEWAY_SELF,
    outboundAgent,
    journalArchive: archive ? new ArchiveReader(store, archive.store) : null,
    blobs,
    // Pull mode's large files: uploaded with the exchange's upload account (attachments/, injected: the deliveries stand below it).
    uploadToFileStore: async (exchange, files) => {
      const sent = await sendViaFileStore(ctx, exchange, files.map((f) => ({ uuid: f.id, fileName: f.fileName, mimeType: f.mimeType, path: blobs.blobPath(f.blobId), signaturePkcs7: Buffer.from(f.signaturePkcs7, 'base64') })));
      return sent.map((r) => ({ id: r.uuid, hash: r.hash, fileName: r.fileName, via: r.via, uploadedAt: ctx.now().toISOString() }));
    },
    now: () => new Date(),
  };
  // Client, partner and API token limits: counted in Redis when the store is Redis (shared by every instance), else in memory.
  const limiter = rateLimiterFor(store, { logger });
  const auth = new TokenAuth(config.apiTokens, { rateLimit: config.limits.perApiToken, limiter });
  const metrics = createGatewayMetrics({ store, queues: GATEWAY_QUEUES, partners, catalogue, certificates: inUse, maintenance: () => readiness.maintenance.on, soapInFlight: () => push.access.inFlightNow, rateLimitFallbacks: () => (limiter instanceof FallbackRateLimiter ? limiter.fallbacks : 0), ocsp, journalArchive: () => sealer.archiveStatus() });
  // The transports: each one line (src/transport.ts). Push mode serves POST /ws/smev3 (pull-mode partners are refused there).
  const push = startPushTransport({ ctx, keys, crlSet, limiter, onLimited: (limit, partner) => metrics.rateLimited(limit, partner) });
  // X-Road / Trembita provider (POST /ws/xroad, GET /ws/xroad/{code}?wsdl; REST: /xroad/rest/{code}) when the registry names the gateway's X-Road identity.
  const xroad = ctx.partners.xroad ? startXRoadTransport({ ctx, extraRoutes: registerXRoadRestRoutes }) : null;
  // A reload takes TRUST_CA_FILE and PARTNERS_FILE too (renewed partner certificates, a new CA), checked as at start-up.
  const tlsClientCa = config.tls && config.tls.clientAuth !== 'off' && path.resolve(config.tls.clientCaFile) === path.resolve(config.trustCaFile);
  const partnersReloader = partnersReload({
    file: config.partnersFile,
    portalUrl: config.portalUrl,
    registry: partners,
    trust: {
      file: config.trustCaFile,
      set: trustAnchors,
      crlSet,
      sharedWithTls: tlsClientCa ? 'the HTTPS server checks client certificates against it (TLS_CLIENT_CA_FILE unset), and its TLS context is made at start-up: restart, or set TLS_CLIENT_CA_FILE' : null,
    },
    check: (next, nextTrust, anchors) => {
      try {
        checkExchangeCertificates(next, anchors, logger);
        checkProductionSafety(config, keys.identity, nextTrust, next);
        return [];
      } catch (error) {
        if (error instanceof StartupError) return error.problems;
        throw error;
      }
    },
  });
  const reloadKeys = keyReloader({ keys, threads: push.threads, readiness, logger, partners: partnersReloader });
  for (const [name, check] of [...push.checks, ...(xroad?.checks ?? [])]) readiness.add(name, check);
  const app = await buildApp({
    config,
    logger,
    https,
    serviceSchemas: serviceSchemaComponents(ctx.catalogue),
    routes: (a) => {
      // Shutting down (drain): clients come back through the balancer on a new connection, to another process.
      a.addHook('onSend', async (_request, reply, payload) => {
        if (readiness.draining) reply.header('connection', 'close');
        return payload;
      });
      registerHealthRoutes(a, readiness);
      push.registerRoutes(a);
      xroad?.registerRoutes(a);
      registerInboxRoutes(a, store, auth, ctx.catalogue, blobs);
      registerStatusRoutes(a, ctx, lifecycle, auth);
      registerFileRoutes(a, ctx, auth, blobs);
      registerQueryRoutes(a, ctx, auth);
      registerJournalRoutes(a, ctx, auth);
      registerMetricsRoute(a, metrics);
      registerMaintenanceRoutes(a, readiness, auth, {
        reloadKeys: async () => {
          const report = await reloadKeys('api');
          if (report.ok) hooks.keysReloaded?.('api');
          return report;
        },
        clustered: config.workers > 1,
      });
      registerOpsDashboard(a, ctx, auth);
      registerDeadMessageRoutes(a, ctx, auth);
    },
  });
  // Stops run in reverse: push mode's large-message threads close their stores last.
  // The signer closes last of all (the lane's threads and the workers sign through it until they stop).
  const stops: Array<() => Promise<void>> = [async () => keys.close(), () => push.stop(), async () => xroad?.stop(), async () => metrics.close(), async () => outboundAgent?.destroy(), async () => crlSet.stop()];
  // Pushed before the workers: stops run in reverse, so the sealer's last round comes after theirs.
  const sealer = startJournalSealer({ store, signer, trustAnchors, logger, retentionDays: config.journalRetentionDays, ...(archive ? { archive } : {}) });
  stops.push(() => sealer.stop());
  for (const worker of [startStatusDelivery(ctx), ...startQueryDelivery(ctx), startResponseDelivery(ctx)]) stops.push(() => worker.stop());
  if (config.cityWebhookUrl) {
    const webhook = startCityWebhook(ctx, config.cityWebhookUrl);
    stops.push(() => webhook.stop());
  }
  // Files in exchanges' file stores (pull mode): fetched by durable jobs after the message is accepted.
  if (partners.exchanges.length > 0) {
    const files = startExchangeFileWorker(ctx);
    stops.push(() => files.stop());
  }
  // Pull mode: pollers of the SMEV exchange(s) pull-mode partners are reached through (none in push mode).
  const pull = startPullTransport(ctx);
  if (pull) {
    stops.push(() => pull.stop());
    for (const [name, check] of pull.checks) readiness.add(name, check);
  }
  let closing: Promise<void> | null = null;

  return {
    config,
    app,
    store,
    partners,
    catalogue,
    identity,
    trust,
    signer,
    keys,
    reloadKeys,
    trustAnchors,
    onClose: (stop) => void stops.push(stop),
    listen: () => app.listen({ port: config.port, host: config.host }),
    async drain(ms) {
      readiness.startDraining(Date.now() + ms);
      await new Promise((resolve) => setTimeout(resolve, ms));
    },
    close() {
      closing ??= (async () => {
        await app.close();
        for (const stop of stops.reverse()) await stop();
        await store.close();
      })();
      return closing;
    },
  };
}

/** The first certificate of a PEM file (the outbound TLS client certificate; the file was read and checked already). */
function firstCertificate(file: string): Certificate | null {
  const pem = splitPem(readFileSync(file, 'utf8'))[0];
  return pem ? parseCertificate(pem) : null;
}

/**
 * CRLs in use: an expired one is still used (what it revokes stays revoked) but
 * ops must get a new one; a refresh that failed keeps the previous CRL and only
 * warns once that one is past its nextUpdate (or when a source never gave one).
 */
function crlReadiness(crlSet: CrlSet): CheckOutcome {
  const states = crlSet.states;
  if (states.length === 0) return { status: 'pass', detail: 'no CRL configured (CRL_FILES, CRL_URLS, distribution points): revocation is not checked by CRL' };
  const now = new Date();
  const stale = states.filter((s) => s.crl?.nextUpdate && s.crl.nextUpdate < now);
  const missing = states.filter((s) => !s.crl);
  const listed = states
    .filter((s) => s.crl)
    .map((s) => `${s.source}: ${s.crl!.revoked.size} revoked, next update ${s.crl!.nextUpdate?.toISOString() ?? 'not given'}${s.lastError ? ` (last refresh failed: ${s.lastError})` : ''}`);
  const problems = [
    ...(stale.length > 0 ? [`past nextUpdate (still used): ${stale.map((s) => s.source).join(', ')}`] : []),
    ...missing.map((s) => `${s.source}: no CRL yet (${s.lastError ?? 'not fetched'})`),
  ];
  return { status: problems.length > 0 ? 'warn' : 'pass', detail: [...problems, ...listed].join('; '), sources: states.map((s) => ({ source: s.source, lastSuccess: s.lastSuccess, lastError: s.lastError })) };
}

/** OCSP: on or off, where it asks, which partner certificates it cannot check (no AIA), and the last responder failure. */
function ocspReadiness(ocsp: OcspClient | null, partners: PartnerRegistry): CheckOutcome {
  if (!ocsp) return { status: 'pass', detail: 'OCSP=off: partners\' certificates are checked by CRL only' };
  const unchecked = partners.partners.filter((p) => p.certificates.some((c) => !ocsp.responderFor(c.certificate))).map((p) => p.id);
  const where = ocsp.settings.responderUrl ? `OCSP_RESPONDER_URL ${ocsp.settings.responderUrl}` : 'each certificate\'s responder (AIA)';
  const parts = [`asks ${where}; on outage: ${ocsp.settings.onOutage}; ${ocsp.cacheSize} answers cached; ${ocsp.requests} requests so far`];
  if (unchecked.length > 0) parts.push(`not checked by OCSP (no AIA responder, no OCSP_RESPONDER_URL): ${unchecked.join(', ')}`);
  const failure = ocsp.lastFailure;
  if (failure) parts.unshift(`last request failed at ${failure.at}: ${failure.responder}: ${failure.problem}`);
  return { status: failure ? 'warn' : 'pass', detail: parts.join('; '), uncheckedPartners: unchecked, onOutage: ocsp.settings.onOutage };
}

/**
 * Every service a partner is granted must exist in the catalogue (a typo
 * would silently deny access); a service nobody may use is only a warning.
 */
function checkServicesKnown(partners: PartnerRegistry, catalogue: ServiceCatalogue, logger: Logger): void {
  const problems: string[] = [];
  for (const p of partners.partners) {
    for (const id of [...p.sends, ...p.receives]) {
      if (!catalogue.get(id)) problems.push(`PARTNERS_FILE: partner "${p.id}" names service "${id}", which is not in SERVICES_DIR`);
    }
  }
  if (problems.length > 0) throw new StartupError(problems);
  for (const s of catalogue.services) {
    const used = partners.partners.some((p) => p.sends.has(s.id) || p.receives.has(s.id));
    if (!used) logger.warn({ service: s.id }, `service ${s.id} is granted to no partner`);
  }
}

/**
 * The certificates an exchange signs with must chain to TRUST_CA_FILE like any
 * partner's: otherwise every message it delivers would be refused, so refuse
 * to start instead. An expired one is a warning (as for partners).
 */
function checkExchangeCertificates(partners: PartnerRegistry, trustAnchors: TrustAnchorSet, logger: Logger): void {
  const problems: string[] = [];
  const now = new Date();
  for (const exchange of partners.exchanges) {
    for (const c of exchange.certificates) {
      const verdict = trustAnchors.evaluate(c.certificate, [], now);
      if (verdict.trusted) continue;
      if (verdict.reason === 'CertificateIsExpired') logger.warn({ exchange: exchange.id }, `exchange "${exchange.id}": ${verdict.message}`);
      else problems.push(`PARTNERS_FILE: exchange "${exchange.id}" certificate ${c.source}: ${verdict.message} (TRUST_CA_FILE)`);
    }
  }
  if (problems.length > 0) throw new StartupError(problems);
}

/**
 * NODE_ENV=production refuses what is only safe on a developer's machine: the
 * committed sample keys (anyone can sign as the gateway or as a partner with
 * them) unless OKNO_ALLOW_SAMPLE_KEYS=true. Dev tokens and the in-memory store
 * are refused by the configuration itself.
 */
function checkProductionSafety(config: Config, identity: GatewayIdentity, trust: TrustAnchors, partners: PartnerRegistry): void {
  if (!config.production || config.allow.sampleKeys) return;
  const problems: string[] = [];
  const keyVariable = { pem: 'GATEWAY_KEY_FILE', p12: 'GATEWAY_P12_FILE', pkcs11: 'GATEWAY_CERT_FILE' }[config.gatewayKey.kind];
  if (identity.isSample) problems.push(`${keyVariable}: is ${config.gatewayKey.kind === 'pkcs11' ? 'a certificate of the sample CA' : 'the sample key'} (test only, its private key is public)`);
  if (trust.includesSample) problems.push('TRUST_CA_FILE: trusts the sample CA, whose private key is public');
  for (const partner of partners.partners) {
    if (partner.certificates.some((c) => c.subject.includes(SAMPLE_ORGANIZATION) || c.certificate.issuer.includes(SAMPLE_ORGANIZATION))) {
      problems.push(`PARTNERS_FILE: partner "${partner.id}" is registered with a sample certificate`);
    }
  }
  for (const exchange of partners.exchanges) {
    if (exchange.certificates.some((c) => c.subject.includes(SAMPLE_ORGANIZATION) || c.certificate.issuer.includes(SAMPLE_ORGANIZATION))) {
      problems.push(`PARTNERS_FILE: exchange "${exchange.id}" is registered with a sample certificate`);
    }
  }
  if (problems.length > 0) {
    problems.push('NODE_ENV=production refuses sample keys; use real ones (see certs-sample/README.md) or set OKNO_ALLOW_SAMPLE_KEYS=true');
    throw new StartupError(problems);
  }
}

/**
 * Redis connection errors for the log: the client retries by itself and every call that fails says so
 * to its caller, so one warning per distinct message every 10 s (with how many came since) is enough.
 */
function redisErrorLog(logger: Logger, everyMs = 10_000): (error: Error) => void {
  const throttle = new LogThrottle({ everyMs });
  return (error) => {
    const throttled = throttle.hit(error.message);
    if (throttled.log) {
      logger.warn({ redisError: error.message, times: throttled.suppressed + 1 }, 'Redis connection error (the client reconnects by itself; /ready shows the store)');
    }
  };
}
