/**
 * Readiness: can this process do its job right now? One entry per check,
 * each bounded by a timeout so that a hung dependency makes /ready say "no"
 * instead of hanging the probe.
 *
 * Results are cached briefly (1 s by default) and concurrent probes share one
 * run, so a flood of probes (several load balancers, an over-eager monitor)
 * costs the store at most one PING per window. A result can therefore be up
 * to that long out of date — far shorter than any probe period.
 *
 * Shutting down (startDraining) works the same way, for good.
 *
 * The maintenance switch takes effect at once (it is not cached): while it is
 * on, /ready answers 503 with a failing `maintenance` check, so load
 * balancers stop sending new work, while the process keeps serving whatever
 * still reaches it and finishes the work in flight.
 */
export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface CheckOutcome {
  status: CheckStatus;
  detail: string;
  [extra: string]: unknown;
}

export interface CheckResult extends CheckOutcome {
  name: string;
}

export type ReadinessCheck = () => Promise<CheckOutcome>;

export interface ReadinessReport {
  status: 'ready' | 'not ready';
  /** When the checks ran (a cached report repeats the time of its run). */
  checkedAt: string;
  checks: CheckResult[];
}

export interface ReadinessOptions {
  /** Time limit of each check (default 2 s); a check that has not answered by then fails. */
  timeoutMs?: number;
  /** How long a run's results are reused (default 1 s; 0 runs the checks on every probe). */
  cacheMs?: number;
  now?: () => number;
}

export interface MaintenanceState {
  on: boolean;
  /** When it was last switched on (ISO), null while off. */
  since: string | null;
}

interface Run {
  at: number;
  checkedAt: string;
  results: CheckResult[];
}

export class Readiness {
  private readonly checks = new Map<string, ReadinessCheck>();
  private readonly timeoutMs: number;
  private readonly cacheMs: number;
  private readonly now: () => number;
  private cached: Run | null = null;
  private inflight: Promise<Run> | null = null;
  /** Bumped when the set of checks changes, so a run started before doesn't fill the cache. */
  private generation = 0;
  private maintenanceSince: number | null = null;
  private drainingUntil: number | null = null;

  constructor(options: number | ReadinessOptions = {}) {
    const o = typeof options === 'number' ? { timeoutMs: options } : options;
    this.timeoutMs = o.timeoutMs ?? 2_000;
    this.cacheMs = o.cacheMs ?? 1_000;
    this.now = o.now ?? Date.now;
  }

  add(name: string, check: ReadinessCheck): this {
    this.checks.set(name, check);
    this.invalidate();
    return this;
  }

  /** Forgets cached results: the next probe runs every check. */
  invalidate(): void {
    this.generation++;
    this.cached = null;
    this.inflight = null;
  }

  get maintenance(): MaintenanceState {
    return { on: this.maintenanceSince !== null, since: this.maintenanceSince === null ? null : new Date(this.maintenanceSince).toISOString() };
  }

  /** Switches maintenance on or off; switching it on again keeps the original `since`. */
  setMaintenance(on: boolean): MaintenanceState {
    if (!on) this.maintenanceSince = null;
    else this.maintenanceSince ??= this.now();
    return this.maintenance;
  }

  /**
   * Shutting down (SHUTDOWN_DRAIN_MS): from now on /ready fails with a `shutdown` check, so the load
   * balancers take this process out while it still serves what reaches it; for good (the process ends).
   */
  startDraining(untilMs: number): void {
    this.drainingUntil ??= untilMs;
  }

  get draining(): boolean {
    return this.drainingUntil !== null;
  }

  async run(): Promise<ReadinessReport> {
    const run = await this.results();
    const checks = [...run.results];
    if (this.drainingUntil !== null) {
      checks.push({ name: 'shutdown', status: 'fail', detail: `shutting down: serving what still arrives until ${new Date(this.drainingUntil).toISOString()}, then closing; send no new work here` });
    }
    const maintenance = this.maintenance;
    if (maintenance.on) {
      checks.push({ name: 'maintenance', status: 'fail', detail: `maintenance mode since ${maintenance.since}: send no new work here; work in flight finishes`, since: maintenance.since });
    }
    return { status: checks.some((r) => r.status === 'fail') ? 'not ready' : 'ready', checkedAt: run.checkedAt, checks };
  }

  private results(): Promise<Run> {
    if (this.cached && this.now() - this.cached.at < this.cacheMs) return Promise.resolve(this.cached);
    if (this.inflight) return this.inflight;
    const generation = this.generation;
    const started = this.now();
    const inflight = this.runChecks().then((results): Run => {
      const run = { at: this.now(), checkedAt: new Date(started).toISOString(), results };
      if (this.generation === generation) {
        this.cached = run;
        this.inflight = null;
      }
      return run;
    });
    this.inflight = inflight;
    return inflight;
  }

  private runChecks(): Promise<CheckResult[]> {
    return Promise.all(
      [...this.checks].map(async ([name, check]): Promise<CheckResult> => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<CheckOutcome>((resolve) => {
          timer = setTimeout(() => resolve({ status: 'fail', detail: `no answer within ${this.timeoutMs} ms` }), this.timeoutMs);
        });
        try {
          const outcome = await Promise.race([check(), timeout]);
          return { ...outcome, name };
        } catch (error) {
          return { name, status: 'fail', detail: (error as Error).message };
        } finally {
          clearTimeout(timer);
        }
      }),
    );
  }
}
