/**
 * LogThrottle (src/log-throttle.ts): one line per key per interval, with how
 * many of the same were suppressed since the last; keys apart; a bounded memory.
 */
import { describe, expect, it } from 'vitest';
import { LogThrottle } from '../src/log-throttle.js';

function clocked(everyMs: number, maxKeys?: number) {
  const clock = { now: 0 };
  const throttle = new LogThrottle({ everyMs, now: () => clock.now, maxKeys });
  return { clock, throttle };
}

describe('LogThrottle', () => {
  it('logs the first occurrence, even at time 0 of the clock', () => {
    const { throttle } = clocked(1000);
    expect(throttle.hit('a')).toEqual({ log: true, suppressed: 0 });
  });

  it('stays quiet within the interval, then logs with the count suppressed since the last line', () => {
    const { clock, throttle } = clocked(1000);
    expect(throttle.hit('a').log).toBe(true);
    clock.now = 1;
    expect(throttle.hit('a')).toEqual({ log: false });
    clock.now = 500;
    expect(throttle.hit('a')).toEqual({ log: false });
    clock.now = 999;
    expect(throttle.hit('a')).toEqual({ log: false });
    clock.now = 1000; // the interval measured from the last line, inclusive
    expect(throttle.hit('a')).toEqual({ log: true, suppressed: 3 });
    clock.now = 1500;
    expect(throttle.hit('a')).toEqual({ log: false });
    clock.now = 2000;
    expect(throttle.hit('a')).toEqual({ log: true, suppressed: 1 });
    clock.now = 10_000;
    expect(throttle.hit('a')).toEqual({ log: true, suppressed: 0 });
  });

  it('keeps each key apart', () => {
    const { clock, throttle } = clocked(1000);
    expect(throttle.hit('a').log).toBe(true);
    expect(throttle.hit('b')).toEqual({ log: true, suppressed: 0 });
    expect(throttle.hit('a')).toEqual({ log: false });
    expect(throttle.hit('a')).toEqual({ log: false });
    expect(throttle.hit('b')).toEqual({ log: false });
    clock.now = 1000;
    expect(throttle.hit('b')).toEqual({ log: true, suppressed: 1 });
    expect(throttle.hit('a')).toEqual({ log: true, suppressed: 2 });
  });

  it('remembers at most maxKeys keys: a new one beyond them forgets the rest', () => {
    const { throttle } = clocked(1000, 2);
    expect(throttle.hit('a').log).toBe(true);
    expect(throttle.hit('b').log).toBe(true);
    expect(throttle.hit('a')).toEqual({ log: false });
    expect(throttle.hit('c')).toEqual({ log: true, suppressed: 0 }); // a and b forgotten
    expect(throttle.hit('a')).toEqual({ log: true, suppressed: 0 });
    expect(throttle.hit('c')).toEqual({ log: false });
  });

  it('uses Date.now when given no clock', () => {
    const throttle = new LogThrottle({ everyMs: 60_000 });
    expect(throttle.hit('a').log).toBe(true);
    expect(throttle.hit('a').log).toBe(false);
  });
});
