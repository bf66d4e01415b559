/**
 * The live ops dashboard: GET /ops (one self-contained page, no data in it)
 * and the API it calls with the ops token — the event stream, queue depths,
 * search and one application's trail.
 *
 * The stream is text/event-stream read with fetch() (EventSource cannot send
 * an Authorization header): a snapshot first, then one `message` per
 * MessageEvent, a `heartbeat` every 15 s. A slow reader does not make the
 * gateway buffer without bound: past MAX_BUFFERED_BYTES events are dropped
 * and the reader is told how many (`dropped`).
 */
import { createHash } from 'node:crypto';
import type {} from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { RESPONSE_QUEUE } from '../../flows/city-answers.js';
import { WEBHOOK_QUEUE, type FlowContext } from '../../flows/context.js';
import { QUERY_DEADLINES, QUERY_QUEUE } from '../../flows/queries.js';
import { STATUS_QUEUE } from '../../flows/status-reporting.js';
import type { TokenAuth } from '../../http/auth.js';
import { HttpError } from '../../http/errors.js';
import { idParams } from '../../http/schemas.js';
import { opsEvents } from '../../events/messages.js';
import { formatMember } from '../../registry/xroad-members.js';
import { DASHBOARD_HTML } from './page.js';
import { RecentFlow } from './recent.js';
import { applicationTrail, searchMessages } from './trail.js';
import { loadRecord, sha256Hex, verifyEvidence, type EvidencePart } from './evidence.js';
import { SeriesRecorder, SERIES_BUCKET_MS, SERIES_WINDOW_MS } from './series.js';
import { chainHash } from '../../journal/chain.js';
import { searchJournal } from '../../journal/search.js';
import type { QueueName } from '../../store/types.js';

/** The gateway's queues, as the dashboard lists them. */
export const DASHBOARD_QUEUES: ReadonlyArray<QueueName<unknown>> = [STATUS_QUEUE, QUERY_QUEUE, QUERY_DEADLINES, RESPONSE_QUEUE, WEBHOOK_QUEUE];
export const HEARTBEAT_MS = 15_000;
/** Per connection: past this much unsent output, events are dropped (and counted) instead of queued. */
export const MAX_BUFFERED_BYTES = 256 * 1024;

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** Only the page's own inline script and style run; it talks to this origin only. */
function contentSecurityPolicy(html: string): string {
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => sha256(m[1]!));
  const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => sha256(m[1]!));
  return [
    "default-src 'none'",
    `script-src ${scripts.join(' ')}`,
    `style-src ${styles.join(' ')}`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

const timeOrNull = { type: ['string', 'null'] } as const;

const signatureVerdictSchema = {
  type: 'object',
  properties: {
    element: { type: 'string' },
    signer: { type: ['string', 'null'], description: 'a partner id, `gateway`, `exchange:<id>`, or null' },
    certificateSubject: { type: ['string', 'null'] },
    math: { type: 'string', enum: ['valid', 'invalid', 'not checked'] },
    trusted: { type: ['boolean', 'null'] },
    trust: { type: ['string', 'null'] },
    valid: { type: 'boolean' },
    reason: { type: ['string', 'null'] },
    message: { type: 'string' },
  },
} as const;

const envelopeVerdictSchema = {
  type: ['object', 'null'],
  properties: {
    part: { type: 'string', enum: ['request', 'response'] },
    bytes: { type: 'integer' },
    sha256: { type: 'string', description: 'of the bytes the download returns' },
    sealedSha256: { type: ['string', 'null'], description: "the digest the journal record carries (covered by its seal); null: a record written before evidence digests" },
    intact: { type: ['boolean', 'null'], description: 'sha256 equals sealedSha256 (false: the stored envelope was changed); null: no digest to compare with' },
    encoding: { type: 'string', enum: ['utf8', 'base64'] },
    verdict: { type: 'string', enum: ['valid', 'invalid', 'unsigned', 'unreadable', 'security-server'] },
    message: { type: 'string' },
    checkedAt: { type: 'string' },
    signatures: { type: 'array', items: signatureVerdictSchema },
  },
} as const;

const seriesPointSchema = {
  type: 'object',
  properties: { t: { type: 'string' }, messages: { type: 'integer' }, errors: { type: 'integer' }, p95Ms: { type: ['number', 'null'] } },
} as const;

const partParams = {
  type: 'object',
  properties: { id: idParams.properties.id, part: { type: 'string', enum: ['request', 'response'] } },
  required: ['id', 'part'],
} as const;

const queueSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    waiting: { type: 'integer' },
    pending: { type: 'integer' },
    due: { type: 'integer' },
    inflight: { type: 'integer' },
    done: { type: 'integer' },
    dead: { type: 'integer' },
    oldestOpenCreatedAt: timeOrNull,
    oldestOpenAgeMs: { type: ['integer', 'null'] },
  },
  required: ['name', 'waiting', 'pending', 'due', 'inflight', 'done', 'dead', 'oldestOpenCreatedAt', 'oldestOpenAgeMs'],
} as const;

const matchSchema = {
  type: 'object',
  properties: {
    kind: { type: 'string', enum: ['application', 'inbox', 'status', 'query', 'response', 'journal'] },
    id: { type: 'string' },
    applicationId: { type: ['string', 'null'] },
    registrationNumber: { type: ['string', 'null'] },
    messageId: { type: ['string', 'null'] },
    partner: { type: ['string', 'null'] },
    at: timeOrNull,
  },
} as const;

const trailSchema = {
  type: 'object',
  properties: {
    application: {
      type: 'object',
      properties: {
        id: { type: 'string' },
        registrationNumber: { type: 'string' },
        service: { type: 'string' },
        serviceTitle: { type: 'string' },
        partner: { type: 'string' },
        status: { type: 'string' },
        receivedAt: { type: 'string' },
        messageId: { type: 'string' },
      },
    },
    entries: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          at: { type: 'string' },
          kind: { type: 'string', enum: ['received', 'acknowledged', 'status', 'query', 'answer'] },
          title: { type: 'string' },
          partner: { type: ['string', 'null'] },
          messageId: { type: ['string', 'null'] },
          state: { type: ['string', 'null'] },
          delivery: {
            type: ['object', 'null'],
            properties: {
              id: { type: 'string' },
              state: { type: 'string', enum: ['pending', 'delivered', 'failed', 'discarded'] },
              attempts: { type: 'integer', description: 'since the last replay' },
              totalAttempts: { type: 'integer', description: 'over its whole life, dead rounds included' },
              lastError: { type: ['string', 'null'] },
              deliveredAt: timeOrNull,
              ackedAt: timeOrNull,
              history: {
                type: 'array',
                description: 'each time it was dead or stuck and what ops did (replay, discard), oldest first',
                items: {
                  type: 'object',
                  properties: { action: { type: 'string', enum: ['replay', 'discard'] }, at: { type: 'string' }, attempts: { type: 'integer' }, lastError: { type: ['string', 'null'] }, deadAt: timeOrNull, from: { type: 'string', enum: ['dead', 'retrying'], description: 'dead, or still retrying (a stuck delivery discarded)' } },
                },
              },
            },
          },
          journal: {
            type: 'array',
            description: "the entry's journal records (each delivery attempt is one), oldest first",
            items: {
              type: 'object',
              properties: { id: { type: 'string' }, at: timeOrNull, direction: { type: 'string' }, operation: { type: 'string' }, succeeded: { type: 'boolean' }, faultCode: { type: ['string', 'null'] } },
            },
          },
        },
      },
    },
  },
} as const;

export function registerOpsDashboard(app: FastifyInstance, ctx: FlowContext, auth: TokenAuth): void {
  const ops = auth.require('ops');
  const security = [{ bearer: [] }];
  const csp = contentSecurityPolicy(DASHBOARD_HTML);

  const recent = new RecentFlow(() => ctx.now().getTime());
  const series = new SeriesRecorder(ctx.store, () => ctx.now().getTime(), (error) => ctx.logger.warn({ error: error.message }, 'ops charts: writing the counters failed'));
  const stopMessages = opsEvents.subscribe((e) => {
    recent.add(e);
    series.add(e);
  });
  const stopPolls = opsEvents.subscribePolls((p) => recent.addPoll(p));
  const stopRecording = () => {
    stopMessages();
    stopPolls();
  };
  const streams = new Set<() => void>();
  // Open streams would keep close() waiting for ever: end them first.
  app.addHook('preClose', async () => {
    for (const end of [...streams]) end();
  });
  app.addHook('onClose', async () => {
    stopRecording();
    await series.close();
  });

  app.get('/ops', { logLevel: 'warn' }, async (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', csp)
      .header('cache-control', 'no-store')
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('x-frame-options', 'DENY')
      .send(DASHBOARD_HTML),
  );

  app.get(
    '/api/v1/ops/events',
    {
      onRequest: ops,
      logLevel: 'warn',
      schema: {
        tags: ['operations'],
        summary: 'Live message events (text/event-stream): a `snapshot` (partners, queues, 10-second counts of the last five minutes, latest events), then one `message` per exchange, a `heartbeat` every 15 s',
        security,
        produces: ['text/event-stream'],
      },
    },
    async (request, reply) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        ...(reply.getHeaders() as Record<string, string>),
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-accel-buffering': 'no',
        'x-content-type-options': 'nosniff',
        // A stream ends only when the reader goes or the gateway closes: never reuse its connection (close() must not wait for it).
        connection: 'close',
      });
      // HEAD gets the headers only: a stream that never ends would hold the connection for ever.
      if (request.method === 'HEAD') return void res.end();
      let dropped = 0;
      const send = (event: string, data: unknown) => {
        if (res.writableEnded || res.destroyed) return;
        if (res.writableLength > MAX_BUFFERED_BYTES) {
          dropped += 1;
          return;
        }
        if (dropped > 0) {
          res.write(`event: dropped\ndata: ${JSON.stringify({ count: dropped })}\n\n`);
          dropped = 0;
        }
        res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      };
      send('snapshot', {
        ...recent.snapshot(),
        partners: ctx.partners.partners.map((p) => ({
          id: p.id,
          name: p.name,
          role: p.role,
          transport: p.transport.mode,
          exchange: p.transport.mode === 'pull' ? p.transport.exchange.id : null,
          xroad: p.transport.mode === 'xroad' ? { subsystem: formatMember(p.transport.subsystem), dialect: p.transport.dialect, protocol: p.transport.protocol } : null,
        })),
        exchanges: ctx.partners.exchanges.map((x) => ({ id: x.id, name: x.name })),
        queues: DASHBOARD_QUEUES,
        heartbeatMs: HEARTBEAT_MS,
      });
      const unsubscribe = opsEvents.subscribe((e) => send('message', e));
      const heartbeat = setInterval(() => send('heartbeat', { at: ctx.now().toISOString() }), HEARTBEAT_MS);
      const end = () => {
        if (!streams.delete(end)) return;
        clearInterval(heartbeat);
        unsubscribe();
        if (!res.writableEnded) res.end();
      };
      streams.add(end);
      request.raw.on('close', end);
      res.on('close', end);
      res.on('error', end);
    },
  );

  app.get(
    '/api/v1/ops/queues',
    {
      onRequest: ops,
      logLevel: 'warn',
      schema: {
        tags: ['operations'],
        summary: "Depth of the gateway's queues: waiting, pending (due now), in flight, done (kept), dead; the oldest open job's age",
        security,
        response: { 200: { type: 'object', properties: { at: { type: 'string' }, queues: { type: 'array', items: queueSchema } }, required: ['at', 'queues'] } },
      },
    },
    async () => {
      const now = ctx.now().getTime();
      const queues = await Promise.all(
        DASHBOARD_QUEUES.map(async (name) => {
          const s = await ctx.store.queue(name).stats();
          return {
            name,
            ...s,
            oldestOpenCreatedAt: s.oldestOpenCreatedAt === null ? null : new Date(s.oldestOpenCreatedAt).toISOString(),
            oldestOpenAgeMs: s.oldestOpenCreatedAt === null ? null : Math.max(0, now - s.oldestOpenCreatedAt),
          };
        }),
      );
      return { at: new Date(now).toISOString(), queues };
    },
  );

  app.get<{ Querystring: { q: string } }>(
    '/api/v1/ops/search',
    {
      onRequest: ops,
      schema: {
        tags: ['operations'],
        summary: 'Find an application by registration number, by application id, or by any of its MessageIDs (the request, a status message, a query); or the journal record of a MessageID',
        security,
        querystring: {
          type: 'object',
          properties: { q: { type: 'string', minLength: 1, maxLength: 200, description: 'a MessageID, an application id or a registration number' } },
          required: ['q'],
          additionalProperties: false,
        },
        response: {
          200: {
            type: 'object',
            properties: { q: { type: 'string' }, applicationId: { type: ['string', 'null'] }, matches: { type: 'array', items: matchSchema } },
            required: ['q', 'applicationId', 'matches'],
          },
        },
      },
    },
    async (request) => searchMessages(ctx, request.query.q),
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/ops/applications/:id/trail',
    {
      onRequest: ops,
      schema: {
        tags: ['operations'],
        summary: "One application's trail in time order: received, each status with its delivery, each query with its answer (no personal data)",
        security,
        params: idParams,
        response: { 200: trailSchema },
      },
    },
    async (request) => {
      const trail = await applicationTrail(ctx, request.params.id);
      if (!trail) throw new HttpError(404, 'NOT_FOUND', `no application ${request.params.id}`);
      return trail;
    },
  );

  app.get<{ Querystring: { direction: 'inbound' | 'outbound'; operation: string; at: string; messageId?: string } }>(
    '/api/v1/ops/journal-of-event',
    {
      onRequest: ops,
      schema: {
        tags: ['operations'],
        summary: "The journal record of a dashboard event: same direction, operation and MessageID, begun at the event's instant",
        security,
        querystring: {
          type: 'object',
          properties: {
            direction: { type: 'string', enum: ['inbound', 'outbound'] },
            operation: { type: 'string', minLength: 1, maxLength: 100 },
            at: { type: 'string', format: 'date-time' },
            messageId: { type: 'string', minLength: 1, maxLength: 200 },
          },
          required: ['direction', 'operation', 'at'],
          additionalProperties: false,
        },
        response: { 200: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] } },
      },
    },
    async (request) => {
      const { direction, operation, at, messageId } = request.query;
      const t = Date.parse(at);
      if (Number.isNaN(t)) throw new HttpError(400, 'BAD_REQUEST', `invalid request: at is not a date-time, got "${at.slice(0, 60)}"`);
      const page = await searchJournal(ctx.store, { direction, messageId, from: t, to: t + 1 }, { limit: 20 }, ctx.journalArchive);
      const hit = page.items.find((i) => i.record.operation === operation) ?? page.items[0];
      if (!hit) throw new HttpError(404, 'NOT_FOUND', `no journal record for ${direction} ${operation} at ${at}`);
      return { id: hit.record.id };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/ops/journal/:id/proof',
    {
      onRequest: ops,
      schema: {
        tags: ['operations'],
        summary: "A journal record's proof: its seal (does the record still hash to it?) and a verdict on each stored envelope, re-verified with the gateway's verifier at the time of the exchange",
        security,
        params: idParams,
        response: {
          200: {
            type: 'object',
            properties: {
              record: { type: 'object', additionalProperties: true },
              seal: { type: ['object', 'null'], properties: { seq: { type: 'integer' }, hash: { type: 'string' }, prevHash: { type: 'string' } } },
              sealVerified: { type: ['boolean', 'null'], description: 'null: not sealed yet (about a second)' },
              archived: { type: ['string', 'null'], description: 'the archive segment that holds the record (null: it is in the store)' },
              request: envelopeVerdictSchema,
              response: envelopeVerdictSchema,
            },
            required: ['record', 'seal', 'sealVerified', 'request', 'response'],
          },
        },
      },
    },
    async (request) => {
      const { id } = request.params;
      const found = await loadRecord(ctx, id);
      if (!found) throw new HttpError(404, 'NOT_FOUND', `no journal record ${id}`);
      const { record, seal } = found;
      const verdict = async (part: EvidencePart) => {
        const evidence = found.evidence[part];
        return evidence ? verifyEvidence(ctx, record, part, evidence) : null;
      };
      return {
        record,
        archived: found.archived,
        seal: seal ? { seq: seal.seq, hash: seal.hash, prevHash: seal.prevHash } : null,
        sealVerified: seal ? seal.recordId === id && chainHash(seal.prevHash, seal.seq, record) === seal.hash : null,
        request: await verdict('request'),
        response: await verdict('response'),
      };
    },
  );

  app.get<{ Params: { id: string; part: EvidencePart } }>(
    '/api/v1/ops/journal/:id/evidence/:part',
    {
      onRequest: ops,
      schema: {
        tags: ['operations'],
        summary: 'Download a stored envelope (request or response) byte for byte, as the gateway received or sent it; its SHA-256 in `x-content-sha256`, the verdict at …/proof',
        security,
        params: partParams,
        produces: ['application/xml', 'application/octet-stream'],
      },
    },
    async (request, reply) => {
      const { id, part } = request.params;
      const found = await loadRecord(ctx, id);
      if (!found) throw new HttpError(404, 'NOT_FOUND', `no journal record ${id}`);
      const { record } = found;
      const evidence = found.evidence[part];
      if (!evidence) throw new HttpError(404, 'NOT_FOUND', `journal record ${id} keeps no ${part} envelope`);
      request.log.info({ journalRecord: id, part, role: request.role }, 'ops: evidence downloaded');
      const name = `okno-${record.direction}-${record.operation}-${id}.${part}.${evidence.encoding === 'utf8' ? 'xml' : 'bin'}`.replace(/[^A-Za-z0-9._-]/g, '_');
      return reply
        .type(evidence.encoding === 'utf8' ? 'application/xml' : 'application/octet-stream')
        .header('content-disposition', `attachment; filename="${name}"`)
        .header('x-content-sha256', sha256Hex(evidence.bytes))
        .header('x-sealed-sha256', record.evidenceSha256?.[part] ?? 'none')
        .header('cache-control', 'no-store')
        .header('x-content-type-options', 'nosniff')
        .send(evidence.bytes);
    },
  );

  app.get<{ Querystring: { hours?: number } }>(
    '/api/v1/ops/series',
    {
      onRequest: ops,
      logLevel: 'warn',
      schema: {
        tags: ['operations'],
        summary: `Per partner, per ${SERIES_BUCKET_MS / 60_000}-minute bucket: messages, errors, p95 latency — kept in the store (Redis) for ${SERIES_WINDOW_MS / 3_600_000} h, every worker process counted`,
        security,
        querystring: { type: 'object', properties: { hours: { type: 'integer', minimum: 1, maximum: 24, default: 24 } }, additionalProperties: false },
        response: {
          200: {
            type: 'object',
            properties: {
              bucketMs: { type: 'integer' },
              from: { type: 'string' },
              to: { type: 'string' },
              partners: { type: 'array', items: { type: 'object', properties: { partner: { type: 'string' }, points: { type: 'array', items: seriesPointSchema } } } },
            },
            required: ['bucketMs', 'from', 'to', 'partners'],
          },
        },
      },
    },
    async (request) => series.read((request.query.hours ?? 24) * 3_600_000),
  );

  app.get(
    '/api/v1/ops/exchanges',
    {
      onRequest: ops,
      logLevel: 'warn',
      schema: {
        tags: ['operations'],
        summary: "Pull mode: the gateway's polls of each SMEV exchange (GetRequest, GetResponse, GetStatus) in the last minute and five minutes, failed ones apart (this process)",
        security,
        response: {
          200: {
            type: 'object',
            properties: {
              exchanges: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { id: { type: 'string' }, name: { type: 'string' }, polls1m: { type: 'integer' }, polls5m: { type: 'integer' }, failed1m: { type: 'integer' }, failed5m: { type: 'integer' }, lastPollAt: timeOrNull },
                },
              },
            },
            required: ['exchanges'],
          },
        },
      },
    },
    async () => {
      const counts = new Map(recent.pollCounts().map((c) => [c.exchange, c]));
      return {
        exchanges: ctx.partners.exchanges.map((x) => {
          const c = counts.get(x.id);
          return { id: x.id, name: x.name, polls1m: c?.polls1m ?? 0, polls5m: c?.polls5m ?? 0, failed1m: c?.failed1m ?? 0, failed5m: c?.failed5m ?? 0, lastPollAt: c?.lastPollAt ?? null };
        }),
      };
    },
  );
}
