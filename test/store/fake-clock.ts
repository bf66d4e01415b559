import type { Clock } from '../../src/store/types.js';

/** A clock the test moves by hand; both stores read time only from it. */
export class FakeClock implements Clock {
  constructor(private t = 1_700_000_000_000) {}

  now(): number {
    return this.t;
  }

  advance(ms: number): number {
    this.t += ms;
    return this.t;
  }

  set(t: number): void {
    this.t = t;
  }
}
