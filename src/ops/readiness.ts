/**
 * Readiness: can this process do its job right now? One entry per check,
 * each bounded by a timeout so that a hung dependency makes /ready say "no"
 * instead of hanging the probe.
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
  checks: CheckResult[];
}

export class Readiness {
  private readonly checks = new Map<string, ReadinessCheck>();

  constructor(private readonly timeoutMs = 2_000) {}

  add(name: string, check: ReadinessCheck): this {
    this.checks.set(name, check);
    return this;
  }

  async run(): Promise<ReadinessReport> {
    const results = await Promise.all(
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
    return { status: results.some((r) => r.status === 'fail') ? 'not ready' : 'ready', checks: results };
  }
}
