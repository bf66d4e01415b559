/**
 * Prometheus metrics for one gateway (GET /metrics). Each gateway has its own
 * prom-client Registry, created once at start-up — never the global default
 * one, so several gateways can run in one process (tests) without sharing
 * counters or clashing on metric names.
 *
 * Sources:
 * - the ops event bus (one MessageEvent per exchange): message counters,
 *   per-stage and per-message latency histograms, signature failures;
 * - the queue workers (events/queue-outcomes.ts): retries and dead letters;
 * - the store's queue statistics, read on each scrape with a time limit, so a
 *   slow store makes the queue series go missing (and okno_queue_stats_up 0)
 *   instead of hanging the scrape;
 * - every certificate in use (ops/certificates.ts): days until each expires,
 *   read on each scrape (the gateway's follows key reloads).
 *
 * The event bus is one per process, so with several gateways in one process
 * (tests only) each one's message metrics count the others' messages too;
 * queue, retry and dead-letter metrics are per store and stay separate.
 *
 * Every label value is bounded: partners and services come from the registry
 * and the catalogue ('unknown' for anything else), operations, outcomes,
 * stages and signature reasons from fixed lists, queues from the code. No
 * message ids, application ids or anything about applicants — /metrics holds
 * no personal data.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PartnerRegistry } from '../registry/partners.js';
import type { ServiceCatalogue } from '../catalogue/types.js';
import type { OcspOutcomeEvent } from '../pki/ocsp-client.js';
import { SELF, type CertificateInUse } from './certificates.js';
import type { QueueStats, Store } from '../store/types.js';
import { WEBHOOK_QUEUE } from '../flows/context.js';
import { QUERY_DEADLINES, QUERY_QUEUE } from '../flows/queries.js';
import { STATUS_QUEUE } from '../flows/status-reporting.js';
import { RESPONSE_QUEUE } from '../flows/city-answers.js';
import { opsEvents, type MessageEvent, type Stage } from '../events/messages.js';
import { onQueueOutcome } from '../events/queue-outcomes.js';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const STAGES: readonly Stage[] = ['parse', 'verify', 'translate', 'store', 'sign', 'deliver'];
const OPERATIONS = new Set(['SendRequest', 'SendResponse', 'GetStatus', 'Ack', 'GetRequest', 'GetResponse']);
const OUTCOMES = new Set<MessageEvent['outcome']>(['accepted', 'duplicate', 'fault', 'delivered', 'retry', 'refused']);
const SIGNATURE_REASONS = new Set([
  'PoorSOAPEnvelopeFormat',
  'NoSignatureFound',
  'IncorrectSignatureTarget',
  'SignatureIsInvalid',
  'CertificateIsNotFound',
  'CertificateIsExpired',
]);
const QUEUE_STATES = ['waiting', 'pending', 'due', 'inflight', 'done', 'dead'] as const;

/** Seconds; from sub-millisecond parsing to multi-second deliveries. */
const STAGE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Whole exchanges include outbound deliveries up to DELIVERY_TIMEOUT_MS. */
const MESSAGE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** The gateway's durable queues (statuses to the portal, queries and their deadlines, the city's answers, the city webhook). */
export const GATEWAY_QUEUES: readonly string[] = [STATUS_QUEUE, QUERY_QUEUE, QUERY_DEADLINES, RESPONSE_QUEUE, WEBHOOK_QUEUE];

export const UNKNOWN = 'unknown';
/** The `partner` label of the gateway's own certificates. */
export { SELF };

export interface MetricsSources {
  store: Store;
  /** Queues whose depth and oldest open item are reported. */
  queues: readonly string[];
  partners: PartnerRegistry;
  catalogue: ServiceCatalogue;
  /** Every certificate in use now (ops/certificates.ts certificatesInUse), read on each scrape. */
  certificates: () => readonly CertificateInUse[];
  /** Time limit for reading the queue statistics on a scrape (default 1 s). */
  queueStatsTimeoutMs?: number;
  /** Where message events come from (default: the process's ops event bus). */
  events?: { subscribe(listener: (event: MessageEvent) => void): () => void };
  /** Whether the maintenance switch is on (okno_maintenance). */
  maintenance?: () => boolean;
  /** The journal archive of this process (okno_journal_archive_*); undefined: not reported. */
  journalArchive?: () => { enabled: boolean; segments: number; records: number; failures: number; failingSince: number | null };
  /** SOAP messages being processed now (okno_soap_in_flight). */
  soapInFlight?: () => number;
  /** Rate-limit takes answered from memory because the shared limiter (Redis) failed (okno_rate_limit_fallbacks). */
  rateLimitFallbacks?: () => number;
  /** OCSP checks of partners' certificates (okno_ocsp_checks_total, okno_ocsp_outage_accepted_total); null: OCSP=off. */
  ocsp?: { onOutcome(listener: (e: OcspOutcomeEvent) => void): () => void } | null;
  now?: () => number;
}

export interface GatewayMetrics {
  readonly registry: Registry;
  readonly contentType: string;
  /** The exposition text (Prometheus 0.0.4). */
  text(): Promise<string>;
  /** Counts a SOAP message refused by a rate limit (okno_rate_limited_total). */
  rateLimited(limit: RateLimitKind, partner: string | null): void;
  /** Stops listening to events and queue workers. */
  close(): void;
}

/** Which limit refused a message: the partner's quota, the client address's, or the in-flight cap. */
export type RateLimitKind = 'partner' | 'client' | 'in_flight';
const RATE_LIMIT_KINDS: readonly RateLimitKind[] = ['partner', 'client', 'in_flight'];

export function createGatewayMetrics(sources: MetricsSources): GatewayMetrics {
  const registry = new Registry();
  const now = sources.now ?? Date.now;
  const statsTimeoutMs = sources.queueStatsTimeoutMs ?? 1_000;
  const partnerIds = new Set(sources.partners.partners.map((p) => p.id));
  const partnerLabel = (id: string | null) => (id && partnerIds.has(id) ? id : UNKNOWN);
  const serviceLabel = (id: string | null) => (id && sources.catalogue.get(id) ? id : UNKNOWN);
  const operationLabel = (op: string) => (OPERATIONS.has(op) ? op : UNKNOWN);

  collectDefaultMetrics({ register: registry, prefix: 'okno_' });

  const messages = new Counter({
    name: 'okno_messages_total',
    help: 'SMEV messages exchanged, by partner, service, direction (inbound/outbound), operation and outcome (accepted, duplicate, fault, delivered, retry, refused)',
    labelNames: ['partner', 'service', 'direction', 'operation', 'outcome'] as const,
    registers: [registry],
  });
  const stageSeconds = new Histogram({
    name: 'okno_stage_seconds',
    help: 'Time spent per processing stage of a message: parse, verify, translate, store, sign, deliver',
    labelNames: ['stage'] as const,
    buckets: STAGE_BUCKETS,
    registers: [registry],
  });
  const messageSeconds = new Histogram({
    name: 'okno_message_seconds',
    help: 'Time per exchange, from receipt to reply (inbound) or from sending to the partner’s answer (outbound)',
    labelNames: ['direction', 'operation'] as const,
    buckets: MESSAGE_BUCKETS,
    registers: [registry],
  });
  const signatureFailures = new Counter({
    name: 'okno_signature_failures_total',
    help: 'Inbound messages refused with SignatureVerificationFault, by SMEV reason',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const retries = new Counter({
    name: 'okno_delivery_retries_total',
    help: 'Queued jobs put back for a later attempt (partner down, timeout, transient fault), by queue',
    labelNames: ['queue'] as const,
    registers: [registry],
  });
  const deadLetters = new Counter({
    name: 'okno_dead_letters_total',
    help: 'Queued jobs that went dead (refused for good or out of attempts), by queue; see the queue’s dead list to replay or discard',
    labelNames: ['queue'] as const,
    registers: [registry],
  });
  for (const queue of sources.queues) {
    // Present from the start at 0, so rate() and increase() see the first event.
    retries.inc({ queue }, 0);
    deadLetters.inc({ queue }, 0);
  }
  for (const reason of SIGNATURE_REASONS) signatureFailures.inc({ reason }, 0);
  const rateLimited = new Counter({
    name: 'okno_rate_limited_total',
    help: 'SOAP messages refused by a rate limit: limit="partner" (the partner\'s quota, after its signature was verified; QuoteLimitExceeded), "client" (per client address, before parsing; QuoteLimitExceeded) or "in_flight" (SOAP_MAX_IN_FLIGHT; SMEVFailure)',
    labelNames: ['limit', 'partner'] as const,
    registers: [registry],
  });
  for (const id of partnerIds) rateLimited.inc({ limit: 'partner', partner: id }, 0);
  for (const limit of RATE_LIMIT_KINDS.filter((l) => l !== 'partner')) rateLimited.inc({ limit, partner: UNKNOWN }, 0);

  // One read of every queue's statistics serves all queue gauges of a scrape
  // (text() starts each scrape afresh; the time bound covers direct registry use).
  let sample: { at: number; stats: Promise<Map<string, QueueStats | null>> } | null = null;
  const sampleQueues = (): Promise<Map<string, QueueStats | null>> => {
    const t = now();
    if (sample && t - sample.at < 1_000) return sample.stats;
    const stats = Promise.all(sources.queues.map(async (name) => [name, await withTimeout(sources.store.queue(name).stats(), statsTimeoutMs)] as const)).then((entries) => new Map(entries));
    sample = { at: t, stats };
    return stats;
  };

  const depth = new Gauge({
    name: 'okno_queue_depth',
    help: 'Jobs in each queue by state (waiting, pending, due, inflight, done, dead), read from the store on scrape',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      const stats = await sampleQueues();
      depth.reset();
      for (const [queue, s] of stats) {
        if (!s) continue;
        for (const state of QUEUE_STATES) depth.set({ queue, state }, s[state]);
      }
    },
  });
  const oldestAge = new Gauge({
    name: 'okno_queue_oldest_open_age_seconds',
    help: 'Age of the oldest job not yet done or dead in each queue (0 when there is none)',
    labelNames: ['queue'] as const,
    registers: [registry],
    async collect() {
      const stats = await sampleQueues();
      const t = now();
      oldestAge.reset();
      for (const [queue, s] of stats) {
        if (!s) continue;
        oldestAge.set({ queue }, s.oldestOpenCreatedAt === null ? 0 : Math.max(0, (t - s.oldestOpenCreatedAt) / 1000));
      }
    },
  });
  const statsUp = new Gauge({
    name: 'okno_queue_stats_up',
    help: `1 when the queue's statistics were read on this scrape, 0 when the store failed or took longer than ${statsTimeoutMs} ms`,
    labelNames: ['queue'] as const,
    registers: [registry],
    async collect() {
      const stats = await sampleQueues();
      for (const [queue, s] of stats) statsUp.set({ queue }, s ? 1 : 0);
    },
  });

  const expiry = new Gauge({
    name: 'okno_certificate_expiry_days',
    help: `Days until a certificate in use expires (negative once expired), by role: gateway (the signing certificate in use), https, outbound-tls (partner="${SELF}"), partner, partner-tls (partner=<id>), exchange (partner=<exchange id>), ca (the trust anchors, partner="trust")`,
    labelNames: ['subject', 'partner', 'serial', 'role'] as const,
    registers: [registry],
    collect() {
      const t = now();
      // Reset: a reloaded gateway key leaves no series of the certificate it replaced.
      expiry.reset();
      for (const c of sources.certificates()) expiry.set({ subject: c.subject, partner: c.owner, serial: c.serial, role: c.role }, (c.notAfter.getTime() - t) / 86_400_000);
    },
  });

  if (sources.maintenance) {
    const isOn = sources.maintenance;
    const maintenance = new Gauge({
      name: 'okno_maintenance',
      help: '1 while the maintenance switch is on (/ready answers 503; work in flight goes on)',
      registers: [registry],
      collect() {
        maintenance.set(isOn() ? 1 : 0);
      },
    });
  }

  if (sources.journalArchive) {
    const status = sources.journalArchive;
    const failing = new Gauge({
      name: 'okno_journal_archive_failing',
      help: '1 while the journal archive cannot be written (old records stay in the store, nothing is lost)',
      registers: [registry],
      collect() {
        failing.set(status().failingSince === null ? 0 : 1);
      },
    });
    const written = new Gauge({
      name: 'okno_journal_archive_segments',
      help: 'archive segments this process wrote (and verified) since it started',
      registers: [registry],
      collect() {
        written.set(status().segments);
      },
    });
    const records = new Gauge({
      name: 'okno_journal_archived_records',
      help: 'journal records this process moved to the archive since it started',
      registers: [registry],
      collect() {
        records.set(status().records);
      },
    });
    const failures = new Gauge({
      name: 'okno_journal_archive_failures',
      help: 'archive rounds of this process that failed since it started (the archive store was unavailable)',
      registers: [registry],
      collect() {
        failures.set(status().failures);
      },
    });
  }

  if (sources.rateLimitFallbacks) {
    const count = sources.rateLimitFallbacks;
    const fallbacks = new Gauge({
      name: 'okno_rate_limit_fallbacks',
      help: 'rate-limit checks (client, partner, API token) of this process since it started that were answered from its memory, with the full limit, because the shared limiter in Redis failed or was slow',
      registers: [registry],
      collect() {
        fallbacks.set(count());
      },
    });
  }

  if (sources.soapInFlight) {
    const current = sources.soapInFlight;
    const inFlight = new Gauge({
      name: 'okno_soap_in_flight',
      help: 'SOAP messages this process is processing now (body received, reply not yet sent); SOAP_MAX_IN_FLIGHT caps it',
      registers: [registry],
      collect() {
        inFlight.set(current());
      },
    });
  }

  const onMessage = (event: MessageEvent): void => {
    const direction = event.direction === 'outbound' ? 'outbound' : 'inbound';
    const operation = operationLabel(event.operation);
    messages.inc({
      partner: partnerLabel(event.partner),
      service: serviceLabel(event.service),
      direction,
      operation,
      outcome: OUTCOMES.has(event.outcome) ? event.outcome : UNKNOWN,
    });
    if (Number.isFinite(event.durationMs) && event.durationMs >= 0) messageSeconds.observe({ direction, operation }, event.durationMs / 1000);
    for (const stage of STAGES) {
      const ms = event.stages[stage];
      if (ms !== undefined && Number.isFinite(ms) && ms >= 0) stageSeconds.observe({ stage }, ms / 1000);
    }
    if (event.signatureReason !== null || event.faultCode === 'SignatureVerificationFault') {
      const reason = event.signatureReason ?? 'SignatureIsInvalid';
      signatureFailures.inc({ reason: SIGNATURE_REASONS.has(reason) ? reason : UNKNOWN });
    }
  };
  const ocspChecks = new Counter({
    name: 'okno_ocsp_checks_total',
    help: 'OCSP checks of partners\' signing certificates, by result (good, revoked, unknown, unavailable, skipped: no responder) and source (responder: a request was made; cache: an answer kept until its nextUpdate; none)',
    labelNames: ['result', 'source'] as const,
    registers: [registry],
  });
  const ocspOutageAccepted = new Counter({
    name: 'okno_ocsp_outage_accepted_total',
    help: 'Messages accepted although the OCSP responder could not give their certificate\'s status (OCSP_ON_OUTAGE=accept)',
    registers: [registry],
  });
  ocspOutageAccepted.inc(0);
  for (const result of ['good', 'revoked', 'unknown', 'unavailable']) for (const source of ['responder', 'cache']) if (!(result === 'unavailable' && source === 'cache')) ocspChecks.inc({ result, source }, 0);
  const unsubscribe = [
    (sources.events ?? opsEvents).subscribe(onMessage),
    sources.ocsp?.onOutcome((e) => {
      ocspChecks.inc({ result: e.result, source: e.source });
      if (e.acceptedOnOutage) ocspOutageAccepted.inc();
    }) ?? (() => {}),
    onQueueOutcome(sources.store, (queue, kind) => {
      if (!sources.queues.includes(queue)) return;
      (kind === 'retry' ? retries : deadLetters).inc({ queue });
    }),
  ];

  return {
    registry,
    contentType: METRICS_CONTENT_TYPE,
    text: () => {
      sample = null;
      return registry.metrics();
    },
    rateLimited(limit, partner) {
      rateLimited.inc({ limit, partner: partnerLabel(partner) });
    },
    close() {
      for (const stop of unsubscribe.splice(0)) stop();
    },
  };
}

/** The value, or null when it failed or took longer than `ms`. */
async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), ms);
  });
  try {
    return await Promise.race([promise.catch(() => null), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
