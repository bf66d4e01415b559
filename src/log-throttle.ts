/**
 * A warning logged at most once per interval for each key (a limit's name, an
 * error's message), with how many of the same were suppressed since its last
 * line: a flood of refusals or connection errors becomes a few lines with a
 * count, not a line each. It decides only; the caller writes the line.
 *
 * The first occurrence of a key is always logged. At most `maxKeys` keys are
 * remembered: a new key beyond them forgets all the others (keys such as error
 * messages are not a closed set), so each may be logged again at once.
 */

export interface LogThrottleOptions {
  /** The least time between two lines of one key, in milliseconds. */
  everyMs: number;
  /** The clock (default Date.now). */
  now?: () => number;
  /** How many keys are remembered before all are forgotten (default 100). */
  maxKeys?: number;
}

/** Log now, with `suppressed` of the same key not logged since its last line; or stay quiet. */
export type Throttled = { log: true; suppressed: number } | { log: false };

export class LogThrottle<K = string> {
  private readonly everyMs: number;
  private readonly now: () => number;
  private readonly maxKeys: number;
  private readonly last = new Map<K, { at: number; suppressed: number }>();

  constructor(o: LogThrottleOptions) {
    this.everyMs = o.everyMs;
    this.now = o.now ?? Date.now;
    this.maxKeys = o.maxKeys ?? 100;
  }

  /** One occurrence of `key`: whether to log it now, and how many were suppressed before it. */
  hit(key: K): Throttled {
    const now = this.now();
    let seen = this.last.get(key);
    if (seen === undefined) {
      if (this.last.size >= this.maxKeys) this.last.clear();
      seen = { at: -Infinity, suppressed: 0 };
      this.last.set(key, seen);
    }
    if (now - seen.at < this.everyMs) {
      seen.suppressed += 1;
      return { log: false };
    }
    const suppressed = seen.suppressed;
    seen.at = now;
    seen.suppressed = 0;
    return { log: true, suppressed };
  }
}
