/**
 * The message journal for operations staff (contract §4): records by filter,
 * newest first, one record with its raw envelopes, and the chain's
 * verification. Records and envelopes carry personal data: role ops only.
 */
import type {} from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import type { FlowContext } from '../flows/context.js';
import { chainHash } from '../journal/chain.js';
import { checkEvidence, ENVELOPES, evidenceDigest, type Envelope } from '../journal/evidence.js';
import { findJournalRecord } from '../journal/lookup.js';
import { searchJournal, type JournalFilter } from '../journal/search.js';
import { verifyJournal } from '../journal/verify.js';
import { certificatesOf } from '../pki/swappable-signer.js';
import type { TokenAuth } from '../http/auth.js';
import { HttpError } from '../http/errors.js';
import { idParams } from '../http/schemas.js';

const nullableString = { type: ['string', 'null'] } as const;

const recordSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    seq: { type: 'integer', description: 'position in the journal' },
    correlationId: { type: 'string' },
    direction: { type: 'string', enum: ['inbound', 'outbound'] },
    operation: { type: 'string' },
    partner: nullableString,
    service: nullableString,
    messageId: nullableString,
    requestInTs: nullableString,
    requestOutTs: nullableString,
    responseInTs: nullableString,
    responseOutTs: nullableString,
    requestSize: { type: 'integer' },
    responseSize: { type: 'integer' },
    succeeded: { type: 'boolean' },
    faultCode: nullableString,
    faultString: nullableString,
    duplicate: { type: 'boolean' },
    signature: {
      type: ['object', 'null'],
      properties: {
        verdict: { type: 'string' },
        reason: nullableString,
        certificateSubject: nullableString,
        certificateFingerprint: nullableString,
      },
    },
    applicationId: nullableString,
    registrationNumber: nullableString,
    files: {
      type: 'array',
      description: "outbound: the files the message carried (id, name, size, SHA-256 of the bytes sent, and how: an MTOM part or the exchange's file store over s3/ftp/ftps); the seal covers them",
      items: { type: 'object', properties: { id: { type: 'string' }, fileName: { type: 'string' }, size: { type: 'integer' }, sha256: { type: 'string' }, via: { type: 'string', enum: ['mtom', 's3', 'ftp', 'ftps'] } } },
    },
    attachmentSignatures: {
      type: 'array',
      description: "inbound files' detached signatures (SignaturePKCS7): absent, valid or invalid, with signer and signingTime",
      items: {
        type: 'object',
        properties: {
          file: { type: 'string' },
          sha256: { type: 'string' },
          status: { type: 'string', enum: ['absent', 'valid', 'invalid'] },
          valid: { type: ['boolean', 'null'] },
          signer: nullableString,
          algorithm: nullableString,
          signingTime: nullableString,
          reason: nullableString,
        },
      },
    },
    xroad: {
      type: 'object',
      description: 'messages through Security Servers (X-Road / Trembita): the client and service identifiers, the message id (xrd:id, X-Road-Id, Uxp-QueryID), the user id, and every protocol header as it travelled',
      properties: {
        dialect: { type: 'string', enum: ['xroad', 'trembita'] },
        protocol: { type: 'string', enum: ['soap', 'rest'] },
        client: nullableString,
        service: nullableString,
        id: nullableString,
        userId: nullableString,
        protocolVersion: nullableString,
        issue: nullableString,
        requestHash: nullableString,
        headers: { type: 'object', additionalProperties: { type: 'string' } },
      },
    },
    evidence: { type: 'object', properties: { request: nullableString, response: nullableString }, description: 'evidence document ids (GET /api/v1/journal/{id} returns the envelopes)' },
    evidenceSha256: {
      type: 'object',
      properties: { request: nullableString, response: nullableString },
      description: "SHA-256 (hex) of each envelope's bytes as received or sent, written with the record (so its seal covers them); absent in records written before evidence digests",
    },
  },
} as const;

const evidenceSchema = {
  type: ['object', 'null'],
  properties: {
    encoding: { type: 'string', enum: ['utf8', 'base64'], description: 'utf8: the envelope as text; base64: bytes that were not valid UTF-8' },
    text: { type: 'string' },
  },
} as const;

const problemSchema = {
  type: 'object',
  properties: { seq: { type: 'integer' }, recordId: nullableString, problem: { type: 'string' }, envelope: { type: 'string', enum: ['request', 'response'], description: 'for a problem with one of the envelopes: which' } },
} as const;

const reportSchema = {
  type: 'object',
  properties: {
    ok: { type: 'boolean' },
    checked: { type: 'integer' },
    sealedUpTo: { type: 'integer' },
    checkpointedUpTo: { type: 'integer' },
    unsealed: { type: 'integer' },
    anchor: { type: ['object', 'null'], properties: { seq: { type: 'integer' }, hash: { type: 'string' }, prunedAt: { type: 'string' } } },
    evidence: {
      type: 'object',
      properties: { envelopes: { type: 'integer', description: 'envelopes compared with their digests' }, uncoveredRecords: { type: 'integer', description: 'records written before evidence digests (their envelopes are not covered)' } },
    },
    problems: { type: 'array', items: problemSchema },
    warnings: { type: 'array', items: { type: 'string' } },
  },
} as const;

interface ListQuery {
  messageId?: string;
  xroadClient?: string;
  applicationId?: string;
  service?: string;
  partner?: string;
  direction?: 'inbound' | 'outbound';
  outcome?: 'succeeded' | 'failed';
  from?: string;
  to?: string;
  limit?: number;
  before?: string;
  after?: string;
}

const filterString = { type: 'string', minLength: 1, maxLength: 200 } as const;

function parseTime(name: 'from' | 'to', value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  // An ISO 8601 date or date-time; Date.parse alone would accept "1" or "May 5".
  const t = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(t)) throw new HttpError(400, 'BAD_REQUEST', `invalid request: ${name} is not a date or date-time (ISO 8601, e.g. 2025-03-01 or 2025-03-01T10:00:00Z), got "${value.slice(0, 60)}"`);
  return t;
}

export function registerJournalRoutes(app: FastifyInstance, ctx: FlowContext, auth: TokenAuth): void {
  const security = [{ bearer: [] }];
  const ops = auth.require('ops');
  const { store } = ctx;

  app.get<{ Querystring: ListQuery }>(
    '/api/v1/journal',
    {
      onRequest: ops,
      schema: {
        tags: ['operations'],
        summary: 'The message journal: one record per exchange, newest first (or oldest first with `after`), filtered',
        description:
          'Filters are applied while paging: one request reads at most 10,000 records. When it stops there before the page is full, ' +
          '`scanLimitReached` is true and `next` continues the search. `from`/`to` compare with the time the exchange began (requestInTs inbound, requestOutTs outbound); ' +
          'records are in about that order, so a scan stops once it is 15 minutes past the `from` (newest first) or `to` (oldest first) bound.',
        security,
        querystring: {
          type: 'object',
          properties: {
            messageId: filterString,
            xroadClient: { ...filterString, description: 'X-Road / Trembita records of this client: a subsystem (INSTANCE/CLASS/CODE/SUBSYSTEM) or a whole member (INSTANCE/CLASS/CODE)' },
            applicationId: filterString,
            service: filterString,
            partner: filterString,
            direction: { type: 'string', enum: ['inbound', 'outbound'] },
            outcome: { type: 'string', enum: ['succeeded', 'failed'] },
            from: { type: 'string', description: 'ISO 8601 date or date-time, inclusive' },
            to: { type: 'string', description: 'ISO 8601 date or date-time, exclusive' },
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
            before: { type: 'string', pattern: '^a?\\d{1,15}$', description: 'cursor (newest first): the `next` of the previous page (`a<n>`: in the archived records)' },
            after: { type: 'string', pattern: '^a?\\d{1,15}$', description: 'cursor (oldest first): records after this seq; `0` = from the oldest (archived records first)' },
          },
          additionalProperties: false,
        },
        response: {
          200: {
            type: 'object',
            properties: {
              items: { type: 'array', items: recordSchema },
              next: { type: ['string', 'null'], description: 'pass as `before` (or `after`, in that mode) for the next page; null: nothing more' },
              scanned: { type: 'integer' },
              scanLimitReached: { type: 'boolean' },
            },
            required: ['items', 'next'],
          },
        },
      },
    },
    async (request) => {
      const q = request.query;
      if (q.before !== undefined && q.after !== undefined) throw new HttpError(400, 'BAD_REQUEST', 'invalid request: before and after cannot be used together');
      const filter: JournalFilter = {
        messageId: q.messageId,
        xroadClient: q.xroadClient,
        applicationId: q.applicationId,
        service: q.service,
        partner: q.partner,
        direction: q.direction,
        outcome: q.outcome,
        from: parseTime('from', q.from),
        to: parseTime('to', q.to),
      };
      if (filter.from !== undefined && filter.to !== undefined && filter.from >= filter.to) throw new HttpError(400, 'BAD_REQUEST', 'invalid request: from must be before to');
      // `a<n>`: a cursor in the archived records (journal/search.ts), in the direction the parameter names.
      const archived = [q.before, q.after].find((c) => c?.startsWith('a'));
      const page = await searchJournal(
        store,
        filter,
        {
          limit: q.limit ?? 50,
          ...(q.before !== undefined && !q.before.startsWith('a') ? { before: Number(q.before) } : {}),
          ...(q.after !== undefined ? { after: q.after.startsWith('a') ? 1 : Number(q.after) } : {}),
          ...(archived !== undefined ? { archived: Number(archived.slice(1)) } : {}),
        },
        ctx.journalArchive,
      );
      return { items: page.items.map((i) => ({ ...i.record, seq: i.seq })), next: page.next, scanned: page.scanned, scanLimitReached: page.scanLimitReached };
    },
  );

  app.get(
    '/api/v1/journal/verify',
    {
      onRequest: ops,
      schema: {
        tags: ['operations'],
        summary: "Verify the journal's hash chain and signed checkpoints (what `npx okno journal verify` does against Redis)",
        security,
        response: { 200: reportSchema },
      },
    },
    async () => verifyJournal(store, { gatewayCertificates: certificatesOf(ctx.signer), trustAnchors: ctx.trustAnchors, now: ctx.now() }),
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/journal/:id',
    {
      onRequest: ops,
      schema: {
        tags: ['operations'],
        summary: 'One journal record with its raw envelopes (as received and sent, byte for byte), its seal and whether it verifies',
        security,
        params: idParams,
        response: {
          200: {
            type: 'object',
            properties: {
              record: recordSchema,
              evidence: { type: 'object', properties: { request: evidenceSchema, response: evidenceSchema } },
              seal: {
                type: ['object', 'null'],
                description: 'null until the sealer reaches the record (about a second)',
                properties: { seq: { type: 'integer' }, prevHash: { type: 'string' }, hash: { type: 'string' } },
              },
              verified: { type: ['boolean', 'null'], description: "the record's hash matches its seal (null: not sealed yet); the whole chain: GET /api/v1/journal/verify" },
              evidenceVerified: {
                type: ['boolean', 'null'],
                description: 'every envelope is there with the digest the record carries, and none it does not name (null: a record written before evidence digests)',
              },
              archived: { type: ['string', 'null'], description: 'the archive segment that holds the record (null: it is in the store)' },
            },
            required: ['record', 'evidence', 'seal', 'verified', 'evidenceVerified'],
          },
        },
      },
    },
    async (request) => {
      const { id } = request.params;
      const found = await findJournalRecord(store, ctx.journalArchive, id);
      if (!found) throw new HttpError(404, 'NOT_FOUND', `no journal record ${id}`);
      const { record, seal } = found;
      // Each envelope's bytes, hot or archived: as text when they are UTF-8, else base64.
      const evidence = (part: Envelope) => {
        const e = found.evidence[part];
        return e ? { encoding: e.encoding, text: e.bytes.toString(e.encoding) } : null;
      };
      const verified = seal ? seal.recordId === id && chainHash(seal.prevHash, seal.seq, record) === seal.hash : null;
      const evidenceVerified = !record.evidenceSha256 ? null : found.stored ? checkEvidence(record, found.stored).length === 0 : ENVELOPES.every((part) => (found.evidence[part] ? evidenceDigest(found.evidence[part].bytes) === record.evidenceSha256![part] : record.evidenceSha256![part] === null));
      request.log.info({ journalRecord: id, role: request.role, archived: found.archived }, 'ops: journal record with evidence read');
      return {
        record: { ...record, seq: seal?.seq },
        evidence: { request: evidence('request'), response: evidence('response') },
        seal: seal ? { seq: seal.seq, prevHash: seal.prevHash, hash: seal.hash } : null,
        verified,
        evidenceVerified,
        archived: found.archived,
      };
    },
  );
}
