/**
 * Input checks and option defaults shared by both store implementations, so
 * that they accept and reject exactly the same calls. Everything is checked
 * before anything is written: a batch that fails validation writes nothing.
 */
import { systemClock, type JsonValue, type StoreOptions } from './types.js';

export const DEFAULT_OPTIONS: Readonly<Omit<StoreOptions, 'clock'>> = {
  defaultMaxAttempts: 10,
  keepDone: 1000,
};

export function resolveOptions(partial: Partial<StoreOptions> = {}): StoreOptions {
  const options: StoreOptions = {
    clock: partial.clock ?? systemClock,
    defaultMaxAttempts: partial.defaultMaxAttempts ?? DEFAULT_OPTIONS.defaultMaxAttempts,
    keepDone: partial.keepDone ?? DEFAULT_OPTIONS.keepDone,
  };
  assertPositiveInt(options.defaultMaxAttempts, 'defaultMaxAttempts');
  if (!Number.isSafeInteger(options.keepDone) || options.keepDone < 0) {
    throw new RangeError(`keepDone must be a non-negative integer, got ${String(options.keepDone)}`);
  }
  return options;
}

/**
 * Collection, feed and queue names become parts of Redis keys that are
 * followed by free-form ids, so they must not contain the `:` separator;
 * keeping them to a plain alphabet makes the key layout unambiguous.
 */
const NAME = /^[A-Za-z0-9_.-]{1,128}$/;

export function assertName(name: string, what: 'collection' | 'feed' | 'queue' | 'sequence' | 'counters'): void {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new TypeError(`invalid ${what} name ${JSON.stringify(name)}: use 1-128 of [A-Za-z0-9_.-]`);
  }
}

/** Ids, idempotency keys and groups are free-form but must be non-empty strings. */
export function assertId(id: string, what: string): void {
  if (typeof id !== 'string' || id.length === 0) {
    throw new TypeError(`${what} must be a non-empty string`);
  }
}

export function assertTime(t: number, what: string): void {
  if (typeof t !== 'number' || !Number.isFinite(t)) {
    throw new TypeError(`${what} must be a finite number (ms since epoch), got ${String(t)}`);
  }
}

export function assertPositiveInt(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new RangeError(`${what} must be a positive integer, got ${String(n)}`);
  }
}

export function assertLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new RangeError(`limit must be a non-negative integer, got ${String(limit)}`);
  }
}

export function assertLeaseMs(leaseMs: number): void {
  if (typeof leaseMs !== 'number' || !Number.isFinite(leaseMs) || leaseMs <= 0) {
    throw new RangeError(`leaseMs must be a positive number, got ${String(leaseMs)}`);
  }
}

/**
 * Serializes a value for storage. Both stores keep JSON text, so what comes
 * back is always a fresh copy and both behave the same for values JSON can't
 * carry exactly (e.g. Dates become strings).
 */
export function toJson(value: JsonValue, what: string): string {
  const text: string | undefined = JSON.stringify(value);
  if (text === undefined) throw new TypeError(`${what} is not JSON-serializable`);
  return text;
}

/** Sorting cursor for feeds: `after`/`before` may be ±Infinity for "from the start/end". */
export function assertCursor(n: number, what: string): void {
  if (typeof n !== 'number' || Number.isNaN(n)) {
    throw new TypeError(`${what} must be a number, got ${String(n)}`);
  }
}

const LIST_STATES: ReadonlySet<string> = new Set(['pending', 'inflight', 'dead', 'done']);

export function assertListState(state: string): void {
  if (!LIST_STATES.has(state)) {
    throw new TypeError(`cannot list state ${JSON.stringify(state)}: use pending, inflight, dead or done`);
  }
}
