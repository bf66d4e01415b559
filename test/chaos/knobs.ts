/**
 * How hard the chaos suites push. In CI (default) each scenario is short;
 * `npm run chaos` sets CHAOS=long and they run much longer: more kills, more
 * load, longer outages. Single knobs can be overridden (CHAOS_KILLS, …), and
 * every random choice comes from one seeded generator whose seed is printed
 * (CHAOS_SEED reproduces a run).
 */
export const LONG = process.env.CHAOS === 'long';

/** The CI value, the long value, or the environment's override. */
export function knob(name: string, ci: number, long: number): number {
  const raw = process.env[name];
  if (raw !== undefined && raw.trim() !== '') {
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0) throw new Error(`${name}: must be a non-negative number, got "${raw}"`);
    return value;
  }
  return LONG ? long : ci;
}

/** A small deterministic generator (mulberry32): the same seed, the same kill moments. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The run's seed (CHAOS_SEED, or a fresh one), printed so a failure can be replayed. */
export function chaosSeed(suite: string): number {
  const raw = process.env.CHAOS_SEED;
  const seed = raw !== undefined && /^\d+$/.test(raw.trim()) ? Number(raw.trim()) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
  console.log(`[chaos] ${suite}: CHAOS_SEED=${seed}${LONG ? ' (CHAOS=long)' : ''}`);
  return seed;
}

/** A whole number in [min, max] from the generator. */
export function between(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}
