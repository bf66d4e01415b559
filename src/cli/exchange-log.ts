/**
 * What `okno simulate smev` prints: every exchange event (a message sent,
 * delivered, acked, a status handed out, a refusal) as one line — but not the
 * empty polls, which a polling gateway makes several times a second. Those are
 * counted and summed up in one line per period (a minute by default) when
 * there were any, and once more at stop; `verbose` prints each of them too.
 */
import type { ExchangeEvent } from '../simulators/smev-exchange.js';

/** One line per exchange event: when, what, operation, MessageID, from → to, detail. */
export function exchangeLine(e: ExchangeEvent): string {
  return [e.at.toISOString(), e.kind, e.operation, e.messageId ?? '—', e.from || e.to ? `${e.from ?? '?'} → ${e.to ?? '?'}` : '', e.detail ?? '']
    .filter((x) => x !== '')
    .join('  ');
}

export interface ExchangeLogOptions {
  out: (line: string) => void;
  err: (line: string) => void;
  verbose?: boolean;
  /** How often the empty polls are summed up (ms); default 60 000. */
  summaryEveryMs?: number;
  now?: () => Date;
}

export class ExchangeLog {
  /** Empty polls since the last summary, per "caller operation". */
  private readonly empty = new Map<string, number>();
  private emptyTotal = 0;
  private since: Date;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ExchangeLogOptions) {
    this.since = this.now();
  }

  /** Total empty polls since start (for the stop line). */
  emptyPolls = 0;

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  /** Starts the periodic summary (the timer does not keep the process alive). */
  start(): this {
    this.timer = setInterval(() => this.flush(), this.options.summaryEveryMs ?? 60_000);
    this.timer.unref();
    return this;
  }

  event(e: ExchangeEvent): void {
    if (e.kind === 'empty') {
      this.emptyPolls++;
      this.emptyTotal++;
      const key = `${e.to ?? '?'} ${e.operation}`;
      this.empty.set(key, (this.empty.get(key) ?? 0) + 1);
      if (this.options.verbose) this.options.out(exchangeLine(e));
      return;
    }
    (e.kind === 'refused' ? this.options.err : this.options.out)(exchangeLine(e));
  }

  /** The summary line of the empty polls since the last one, or nothing when there were none. */
  summary(): string | null {
    if (this.emptyTotal === 0) return null;
    const at = this.now();
    const per = [...this.empty.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    const seconds = Math.max(1, Math.round((at.getTime() - this.since.getTime()) / 1000));
    return `${at.toISOString()}  polls  ${this.emptyTotal} empty in the last ${seconds} s (${per})`;
  }

  /** Prints the summary (if any) and starts a new period. */
  flush(): void {
    const line = this.summary();
    if (line) this.options.out(line);
    this.empty.clear();
    this.emptyTotal = 0;
    this.since = this.now();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.flush();
  }
}
