/**
 * Pull mode, assembled once at start-up: for every exchange in the registry
 * that pull-mode partners use,
 *
 * - one GetRequest poller per business root element those partners may send
 *   the city (MessageTypeSelector NamespaceURI + RootElementLocalName), so the
 *   gateway takes only requests it can serve;
 * - one GetResponse poller (no filter: rejections and interim statuses carry
 *   no business root element) when the city sends those partners anything;
 * - one GetStatus poller: the exchange's status messages about what the
 *   gateway sent (shown by GET /api/v1/deliveries/{id} as exchangeStatuses);
 * - the worker that sends RequestRejected answers for refused requests.
 *
 * Every gateway process polls (WORKERS > 1 included): the exchange hands each
 * message to one caller at a time and the intake is idempotent by MessageID,
 * so two processes never store a message twice.
 */
import type { Exchange } from '../registry/partners.js';
import { routeToExchange, sendVia, settle } from '../delivery/outbound-send.js';
import { startQueueWorker, type JobOutcome } from '../delivery/queue-worker.js';
import type { FlowContext } from '../flows/context.js';
import { sendResponseEnvelope } from '../soap/envelope-builder.js';
import { pollEnvelope, type MessageTypeFilter } from '../soap/exchange-envelopes.js';
import type { Job } from '../store/types.js';
import { callExchange } from './exchange-client.js';
import { fetchExchangeStatus, recordExchangeStatus } from './exchange-status.js';
import { handleDelivery, REJECTION_QUEUE, type RejectionJob } from './intake.js';
import { startPoller, type Poller, type PollerState } from './poller.js';
import { opsEvents } from '../events/messages.js';

/** Every poll is the gateway's own traffic with the exchange: told to the ops bus (counted per exchange, not listed as messages). */
function counted(ctx: FlowContext, exchange: string, operation: string, poll: (signal: AbortSignal) => Promise<boolean>): (signal: AbortSignal) => Promise<boolean> {
  return async (signal) => {
    const at = ctx.now().toISOString();
    try {
      const got = await poll(signal);
      opsEvents.publishPoll({ at, exchange, operation, outcome: got ? 'message' : 'empty' });
      return got;
    } catch (error) {
      if (!signal.aborted) opsEvents.publishPoll({ at, exchange, operation, outcome: 'failed' });
      throw error;
    }
  };
}

export interface PullMode {
  pollers(): PollerState[];
  stop(): Promise<void>;
}

/** The filters a GetRequest poller per exchange uses: the request root elements of what its partners may send. */
export function requestFilters(ctx: FlowContext, exchange: Exchange): MessageTypeFilter[] {
  const filters = new Map<string, MessageTypeFilter>();
  for (const partner of ctx.partners.pullPartnersOf(exchange)) {
    for (const id of partner.sends) {
      const request = ctx.catalogue.get(id)?.request;
      if (request) filters.set(`{${request.namespace}}${request.rootElement}`, { namespaceURI: request.namespace, rootElementLocalName: request.rootElement });
    }
  }
  return [...filters.values()];
}

export function startPullMode(ctx: FlowContext): PullMode | null {
  const exchanges = ctx.partners.exchanges.filter((e) => ctx.partners.pullPartnersOf(e).length > 0);
  if (exchanges.length === 0) return null;
  const { intervalMs, maxIntervalMs, concurrency } = ctx.config.pull;
  const pollers: Poller[] = [];
  for (const exchange of exchanges) {
    // The registry's exchange of this moment: a reload may have renewed its certificates (same id and URL).
    const live = () => ctx.partners.exchange(exchange.id) ?? exchange;
    // PULL_CONCURRENCY loops per filter: the exchange hands each message to one caller at a time.
    for (const filter of requestFilters(ctx, exchange)) {
      for (let i = 1; i <= concurrency; i++) {
        pollers.push(
          startPoller({
            name: `${exchange.id} GetRequest {${filter.namespaceURI}}${filter.rootElementLocalName}${concurrency > 1 ? ` #${i}` : ''}`,
            intervalMs,
            maxIntervalMs,
            logger: ctx.logger,
            pollOnce: counted(ctx, exchange.id, 'GetRequest', async (signal) => {
              const reply = await callExchange(ctx, exchange, 'GetRequest', pollEnvelope('GetRequest', '1.1', ctx.now(), filter), signal);
              return handleDelivery(ctx, live(), 'GetRequest', reply, signal);
            }),
          }),
        );
      }
    }
    if (ctx.partners.pullPartnersOf(exchange).some((p) => p.receives.size > 0)) {
      pollers.push(
        startPoller({
          name: `${exchange.id} GetResponse`,
          intervalMs,
          maxIntervalMs,
          logger: ctx.logger,
          pollOnce: counted(ctx, exchange.id, 'GetResponse', async (signal) => {
            const reply = await callExchange(ctx, exchange, 'GetResponse', pollEnvelope('GetResponse', '1.1', ctx.now()), signal);
            return handleDelivery(ctx, live(), 'GetResponse', reply, signal);
          }),
        }),
      );
    }
    pollers.push(
      startPoller({
        name: `${exchange.id} GetStatus`,
        intervalMs,
        maxIntervalMs,
        logger: ctx.logger,
        pollOnce: counted(ctx, exchange.id, 'GetStatus', async (signal) => {
          const status = await fetchExchangeStatus(ctx, live(), signal);
          if (!status) return false;
          await recordExchangeStatus(ctx.store, status);
          ctx.logger.info({ exchange: exchange.id, messageId: status.originalMessageId, status: status.status }, 'status from the exchange');
          return true;
        }),
      }),
    );
  }
  const d = ctx.config.delivery;
  const rejections = startQueueWorker({
    store: ctx.store,
    queue: REJECTION_QUEUE,
    logger: ctx.logger,
    concurrency: 2,
    leaseMs: d.timeoutMs * 2 + 5_000,
    backoff: { baseMs: d.backoffMs, capMs: d.backoffCapMs },
    handle: (job) => sendRejection(ctx, job),
  });
  ctx.logger.info({ exchanges: exchanges.map((e) => e.id), pollers: pollers.length }, 'pull mode: polling the SMEV exchange');
  return {
    pollers: () => pollers.map((p) => p.state()),
    async stop() {
      await Promise.all(pollers.map((p) => p.stop()));
      await rejections.stop();
    },
  };
}

async function sendRejection(ctx: FlowContext, job: Job<RejectionJob>): Promise<JobOutcome> {
  const r = job.payload;
  const exchange = ctx.partners.exchange(r.exchange);
  if (!exchange) return { kind: 'dead', error: `exchange ${r.exchange} is no longer registered` };
  const envelope = sendResponseEnvelope({ version: '1.1', messageId: r.messageId, to: r.replyTo, body: { kind: 'rejected', rejections: [{ code: r.code, description: r.description }] } });
  const outcome = await sendVia(ctx, routeToExchange(exchange), {
    partnerId: r.partner,
    envelope,
    operation: 'SendResponse',
    service: r.service ?? 'rejection',
    messageId: r.messageId,
    correlationId: `rejection:${r.messageId}:${job.attempts}`,
  });
  return settle(ctx, outcome, 'RequestRejected', { exchange: exchange.id, messageId: r.messageId, attempt: job.attempts });
}
