/**
 * Turns caller input (write batches, job inputs) into checked, serialized
 * form. Both stores apply the prepared form, so validation happens once, up
 * front, before any write: a bad batch is rejected whole.
 */
import type { IdempotencyRecord, JobInput, JsonValue, StoreOptions, WriteBatch } from './types.js';
import { assertId, assertName, assertPositiveInt, assertTime, toJson } from './validate.js';

export interface PreparedJob {
  queue: string;
  id: string;
  payloadJson: string;
  availableAt: number;
  group: string | null;
  maxAttempts: number;
}

export interface PreparedDoc {
  collection: string;
  id: string;
  valueJson: string;
  ifAbsent: boolean;
}

export interface PreparedBlob {
  collection: string;
  id: string;
  /** A view of the caller's bytes (no copy): each store copies or encodes them before commit returns. */
  bytes: Buffer;
  ifAbsent: boolean;
}

export interface PreparedDelete {
  collection: string;
  id: string;
  blob: boolean;
}

export interface PreparedFeedAppend {
  feed: string;
  id: string;
  atLeastNow: boolean;
}

export interface PreparedBatch {
  idempotency: { key: string; recordJson: string } | null;
  docs: PreparedDoc[];
  blobs: PreparedBlob[];
  deletes: PreparedDelete[];
  feeds: PreparedFeedAppend[];
  jobs: PreparedJob[];
}

export function prepareJob(input: JobInput, now: number, options: StoreOptions): PreparedJob {
  assertName(input.queue, 'queue');
  assertId(input.id, 'job id');
  const availableAt = input.availableAt ?? now;
  assertTime(availableAt, 'availableAt');
  const maxAttempts = input.maxAttempts ?? options.defaultMaxAttempts;
  assertPositiveInt(maxAttempts, 'maxAttempts');
  // null is accepted as "no group" for callers that build inputs from JSON.
  const group = input.group ?? null;
  if (group !== null) assertId(group, 'group');
  return {
    queue: input.queue,
    id: input.id,
    payloadJson: toJson(input.payload, `payload of job ${input.id}`),
    availableAt,
    group,
    maxAttempts,
  };
}

function prepareRecord(record: IdempotencyRecord): string {
  if (typeof record.digest !== 'string') throw new TypeError('idempotency record digest must be a string');
  assertTime(record.createdAt, 'idempotency record createdAt');
  // Only the known fields are kept, so both stores return the same shape.
  const normalized: { [key: string]: JsonValue } = {
    digest: record.digest,
    result: record.result,
    createdAt: record.createdAt,
  };
  return toJson(normalized, 'idempotency record');
}

export function prepareBatch(batch: WriteBatch, now: number, options: StoreOptions): PreparedBatch {
  let idempotency: PreparedBatch['idempotency'] = null;
  if (batch.idempotency) {
    assertId(batch.idempotency.key, 'idempotency key');
    idempotency = { key: batch.idempotency.key, recordJson: prepareRecord(batch.idempotency.record) };
  }
  const docs = (batch.docs ?? []).map((doc): PreparedDoc => {
    assertName(doc.collection, 'collection');
    assertId(doc.id, 'document id');
    return {
      collection: doc.collection,
      id: doc.id,
      valueJson: toJson(doc.value, `document ${doc.collection}/${doc.id}`),
      ifAbsent: doc.ifAbsent === true,
    };
  });
  const blobs = (batch.blobs ?? []).map((b): PreparedBlob => {
    assertName(b.collection, 'collection');
    assertId(b.id, 'blob id');
    if (!(b.bytes instanceof Uint8Array)) throw new TypeError(`blob ${b.collection}/${b.id}: bytes must be a Buffer or Uint8Array`);
    return { collection: b.collection, id: b.id, bytes: Buffer.from(b.bytes.buffer, b.bytes.byteOffset, b.bytes.byteLength), ifAbsent: b.ifAbsent === true };
  });
  const deletes = (batch.deletes ?? []).map((d): PreparedDelete => {
    assertName(d.collection, 'collection');
    assertId(d.id, d.blob ? 'blob id' : 'document id');
    return { collection: d.collection, id: d.id, blob: d.blob === true };
  });
  const feeds = (batch.feeds ?? []).map((append): PreparedFeedAppend => {
    assertName(append.feed, 'feed');
    assertId(append.id, 'feed entry id');
    return { feed: append.feed, id: append.id, atLeastNow: append.atLeastNow === true };
  });
  const jobs = (batch.jobs ?? []).map((job) => prepareJob(job, now, options));
  return { idempotency, docs, blobs, deletes, feeds, jobs };
}
