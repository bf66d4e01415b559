/**
 * Decoding of what the Redis scripts return (flat HGETALL arrays, member
 * strings) into the store's types. Field names match the JOB FIELDS list in
 * redis-scripts.ts.
 */
import type { FeedEntry, Job, JobState } from './types.js';

const JOB_STATES: ReadonlySet<string> = new Set(['waiting', 'pending', 'inflight', 'done', 'dead']);

function fieldsOf(flat: unknown): Map<string, string> {
  if (!Array.isArray(flat)) throw new Error('unexpected reply from Redis: expected a field/value array');
  const fields = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) fields.set(String(flat[i]), String(flat[i + 1]));
  return fields;
}

function num(fields: Map<string, string>, name: string): number {
  const value = fields.get(name);
  const n = value === undefined ? Number.NaN : Number(value);
  if (!Number.isFinite(n)) throw new Error(`corrupt job in Redis: field ${name} is ${String(value)}`);
  return n;
}

function optNum(fields: Map<string, string>, name: string): number | null {
  return fields.has(name) ? num(fields, name) : null;
}

/** A job from an HGETALL reply, or null for an empty reply (no such job). */
export function decodeJob(flat: unknown): Job | null {
  const fields = fieldsOf(flat);
  if (fields.size === 0) return null;
  const state = fields.get('state') ?? '';
  const id = fields.get('id');
  const queue = fields.get('queue');
  const payload = fields.get('payload');
  if (!JOB_STATES.has(state) || id === undefined || queue === undefined || payload === undefined) {
    throw new Error(`corrupt job in Redis: ${JSON.stringify(Object.fromEntries(fields))}`);
  }
  return {
    queue,
    id,
    payload: JSON.parse(payload),
    state: state as JobState,
    group: fields.get('group') ?? null,
    attempts: num(fields, 'attempts'),
    maxAttempts: num(fields, 'maxAttempts'),
    availableAt: num(fields, 'availableAt'),
    leaseUntil: optNum(fields, 'leaseUntil'),
    leaseToken: fields.get('leaseToken') ?? null,
    lastError: fields.get('lastError') ?? null,
    createdAt: num(fields, 'createdAt'),
    updatedAt: num(fields, 'updatedAt'),
  };
}

export function mustDecodeJob(flat: unknown): Job {
  const job = decodeJob(flat);
  if (!job) throw new Error('unexpected reply from Redis: job missing right after a write');
  return job;
}

/** Feed zset members are "<seq>:<id>" (the seq keeps repeated ids distinct). */
export function decodeFeedMember(member: string): FeedEntry {
  const colon = member.indexOf(':');
  const seq = Number(member.slice(0, colon));
  if (colon < 0 || !Number.isSafeInteger(seq)) throw new Error(`corrupt feed entry in Redis: ${member}`);
  return { seq, id: member.slice(colon + 1) };
}

/** A number as a Redis argument; the exclusive/inclusive bound syntax is added by callers. */
export function arg(n: number): string {
  if (n === Number.POSITIVE_INFINITY) return '+inf';
  if (n === Number.NEGATIVE_INFINITY) return '-inf';
  return String(n);
}
