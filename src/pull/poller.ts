/**
 * One adaptive polling loop: asks again at once after a message, and backs
 * off exponentially (from `intervalMs` up to `maxIntervalMs`) while the queue
 * is empty or the exchange does not answer. `stop()` aborts the call in flight
 * and the wait, and resolves when the loop has ended.
 */
import type { Logger } from '../log.js';

export interface PollerOptions {
  /** For logs, e.g. "exchange smev GetRequest {urn:…}Root". */
  name: string;
  intervalMs: number;
  maxIntervalMs: number;
  logger: Logger;
  /** One poll: true when a message was handled (poll again at once), false when the queue was empty. Throws when the exchange is down. */
  pollOnce(signal: AbortSignal): Promise<boolean>;
}

export interface PollerState {
  name: string;
  /** The wait before the next poll (0: right away). */
  delayMs: number;
  /** Consecutive failed polls (0 when the exchange answers). */
  failures: number;
  lastError: string | null;
  polls: number;
  messages: number;
}

export interface Poller {
  state(): PollerState;
  stop(): Promise<void>;
}

/** The next wait: 0 after a message; otherwise the interval, doubling per empty or failed poll, capped. */
export function nextDelay(previous: number, gotMessage: boolean, intervalMs: number, maxIntervalMs: number): number {
  if (gotMessage) return 0;
  return previous === 0 ? intervalMs : Math.min(maxIntervalMs, previous * 2);
}

export function startPoller(o: PollerOptions): Poller {
  const abort = new AbortController();
  const state: PollerState = { name: o.name, delayMs: 0, failures: 0, lastError: null, polls: 0, messages: 0 };
  const loop = (async () => {
    while (!abort.signal.aborted) {
      let got = false;
      try {
        state.polls++;
        got = await o.pollOnce(abort.signal);
        if (got) state.messages++;
        if (state.failures > 0) o.logger.info({ poller: o.name, failures: state.failures }, 'exchange answers again; polling resumes');
        state.failures = 0;
        state.lastError = null;
      } catch (error) {
        if (abort.signal.aborted) break;
        state.failures++;
        state.lastError = (error as Error).message;
        // Logged when the exchange goes away and then every 10th failure: a long outage does not flood the log.
        if (state.failures === 1 || state.failures % 10 === 0) {
          o.logger.warn({ poller: o.name, failures: state.failures, error: state.lastError }, 'polling the exchange failed; backing off');
        }
      }
      state.delayMs = nextDelay(state.delayMs, got, o.intervalMs, o.maxIntervalMs);
      if (state.delayMs > 0) await sleep(state.delayMs, abort.signal);
    }
  })();
  return {
    state: () => ({ ...state }),
    async stop() {
      abort.abort();
      await loop;
    },
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
