/**
 * Samples a process's resident memory (VmRSS from /proc, Linux) while a
 * scenario runs: the peak, and the value at the end.
 */
import { readFileSync } from 'node:fs';

export function rssBytes(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null; // the process has exited
  }
}

export interface RssSampler {
  /** The highest sample so far (bytes). */
  readonly peak: number;
  readonly samples: number;
  /** Follow another process from now on (the gateway after a restart). */
  follow(pid: number): void;
  stop(): void;
}

export function sampleRss(pid: number, everyMs = 100): RssSampler {
  let current = pid;
  let peak = 0;
  let samples = 0;
  const tick = () => {
    const rss = rssBytes(current);
    if (rss !== null) {
      samples++;
      if (rss > peak) peak = rss;
    }
  };
  tick();
  const timer = setInterval(tick, everyMs);
  return {
    get peak() {
      return peak;
    },
    get samples() {
      return samples;
    },
    follow(next: number) {
      current = next;
      tick();
    },
    stop: () => clearInterval(timer),
  };
}

export const MB = 1024 * 1024;
