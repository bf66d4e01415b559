/**
 * Status reporting: the city moves an application through its lifecycle, and
 * each new status becomes a signed ELK status message to the portal.
 *
 * The transition, the application's new history, the delivery record and the
 * queue job are one atomic commit. Two concurrent changes of one application
 * cannot both win: the commit is guarded by an idempotency key made of the
 * application id and its history length (an optimistic lock), so the loser
 * gets a 409 and nothing of it is stored. Deliveries of one application share
 * a queue group: they reach the portal in the order they were made.
 */
import { randomUUID } from 'node:crypto';
import { APPLICATIONS, OUTBOUND, type Application, type OutboundMessage, type StatusEntry } from '../city/model.js';
import type { Lifecycle } from '../city/lifecycle.js';
import { conflict, invalid, notFound } from './errors.js';
import { uuidV1 } from '../soap/message-id.js';
import { defineCollection, write } from '../store/collection.js';
import { defineQueue, jobInput } from '../store/typed-queue.js';
import type { JsonValue } from '../store/types.js';
import type { FlowContext } from './context.js';
import { prepareFiles } from './outbound-file-signing.js';
import type { FileReference, SentFile } from './outbound-files.js';

/** Status messages to deliver to the portal, by delivery id (grouped by application: in order). */
export const STATUS_QUEUE = defineQueue<{ deliveryId: string }>('portal-status');
export const ELK_SERVICE = 'elk-order-status';

export interface Delivery {
  id: string;
  applicationId: string;
  registrationNumber: string;
  partner: string;
  messageId: string;
  /** CreateOrdersRequest for an application's first status message, UpdateOrdersRequest after. */
  kind: 'create' | 'update';
  code: string;
  elkCode: number;
  comment: string;
  /** The ELK content (the elk-order-status service's JSON model), fixed at creation so every retry sends the same message. */
  content: JsonValue;
  state: 'pending' | 'delivered' | 'failed';
  createdAt: string;
  deliveredAt: string | null;
  failedAt: string | null;
  lastError: string | null;
  /** The files the status carries (result documents), signed, as every attempt sends them. Absent: none. */
  files?: SentFile[];
}

/** By delivery id: one status message to the portal. */
export const DELIVERIES = defineCollection<Delivery>('deliveries');

export interface StatusChange {
  code: string;
  comment?: string;
  /** Files (POST /api/v1/files) the status carries: the result documents, ELK_RESULT unless docTypeId says otherwise. */
  files?: FileReference[];
}

/** The portal's order number for an application: its content's `orderId`. */
export function portalOrderNumber(app: Application): string | null {
  const content = app.content as { orderId?: unknown } | null;
  const id = content && typeof content === 'object' ? content.orderId : undefined;
  return typeof id === 'number' || (typeof id === 'string' && /^\d{1,20}$/.test(id)) ? String(id) : null;
}

export async function changeStatus(ctx: FlowContext, lifecycle: Lifecycle, applicationId: string, change: StatusChange): Promise<Delivery> {
  const app = await ctx.store.getDoc(APPLICATIONS, applicationId);
  if (!app) throw notFound(`no application ${applicationId}`);
  const why = lifecycle.check(app.status, change.code);
  if (why) throw conflict('INVALID_TRANSITION', why);
  const portal = ctx.partners.portal();
  if (!portal || !portal.receives.has(ELK_SERVICE)) {
    throw conflict('NO_PORTAL', `no portal partner is registered to receive ${ELK_SERVICE} (config/partners.json)`);
  }
  const orderNumber = portalOrderNumber(app);
  if (!orderNumber) throw conflict('NO_ORDER_NUMBER', 'the application carries no portal order number (orderId), so the portal cannot be told');

  const state = lifecycle.state(change.code)!;
  const now = ctx.now().toISOString();
  const comment = change.comment ?? state.comment;
  const entry: StatusEntry = { status: change.code, at: now, ...(change.comment ? { comment: change.comment } : {}) };
  const previous = app.statusHistory.length;
  const first = !app.statusHistory.some((h) => h.delivery);
  // The first message tells the portal the whole story so far; later ones only what is new.
  const history = first
    ? [...app.statusHistory.map((h) => ({ status: lifecycle.state(h.status)?.elk ?? 2, statusDate: h.at, statusComment: h.comment ?? lifecycle.state(h.status)?.comment ?? '' })), { status: state.elk, statusDate: now, statusComment: comment }]
    : [{ status: state.elk, statusDate: now, statusComment: comment }];
  const portalMode = portal.transport.mode === 'pull' ? 'pull' : 'push';
  const prepared = await prepareFiles(ctx, change.files ?? [], { field: 'files', mode: portalMode, mimeTypes: ctx.catalogue.get(ELK_SERVICE)?.attachmentMimeTypes ?? null, docTypes: true });
  const statusHistory: JsonValue[] = history.map((h) => (h.statusComment ? h : { status: h.status, statusDate: h.statusDate }));
  // The documents belong to the new status, the last entry.
  if (prepared.files.length > 0) {
    const last = statusHistory[statusHistory.length - 1] as Record<string, JsonValue>;
    statusHistory[statusHistory.length - 1] = { ...last, attachments: prepared.files.map((f) => ({ FSuuid: f.id, docTypeId: f.docTypeId! })) };
  }
  const order = { orderNumber, statusHistory };
  const content = { env: 'EPGU', [first ? 'createOrders' : 'updateOrders']: { orders: [order] } };
  const elk = ctx.catalogue.get(ELK_SERVICE);
  if (!elk) throw conflict('NO_ELK_SERVICE', `the service catalogue has no ${ELK_SERVICE}`);
  const problems = elk.request.validateJson(content);
  if (problems.length > 0) throw invalid('INVALID_STATUS', `the status message would be invalid: ${problems.map((p) => `${p.path} ${p.rule}`).join('; ')}`);

  const delivery: Delivery = {
    id: randomUUID(),
    applicationId: app.id,
    registrationNumber: app.registrationNumber,
    partner: portal.id,
    messageId: uuidV1(),
    kind: first ? 'create' : 'update',
    code: change.code,
    elkCode: state.elk,
    comment,
    content,
    state: 'pending',
    createdAt: now,
    deliveredAt: null,
    failedAt: null,
    lastError: null,
    ...(prepared.files.length > 0 ? { files: prepared.files } : {}),
  };
  const updated: Application = {
    ...app,
    status: change.code,
    statusHistory: [...app.statusHistory, { ...entry, delivery: delivery.id }],
  };
  const outbound: OutboundMessage = { messageId: delivery.messageId, partner: portal.id, kind: 'status', ref: delivery.id, ackedAt: null, accepted: null };
  const result = await ctx.store.commit({
    idempotency: { key: `app-status:${app.id}:${previous}`, record: { digest: delivery.id, result: { deliveryId: delivery.id }, createdAt: Date.parse(now) } },
    docs: [
      write(APPLICATIONS, app.id, updated),
      write(DELIVERIES, delivery.id, delivery),
      write(OUTBOUND, delivery.messageId, outbound),
      ...prepared.docs,
    ],
    jobs: [jobInput(STATUS_QUEUE, delivery.id, { deliveryId: delivery.id }, { group: app.id, maxAttempts: ctx.config.delivery.maxAttempts })],
  });
  if (!result.applied) throw conflict('CONCURRENT_CHANGE', 'the application\'s status changed at the same moment; read it again and retry');
  return delivery;
}
