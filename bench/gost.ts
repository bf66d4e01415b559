/**
 * GOST R 34.10-2012 curve arithmetic: Okno's sign and verify on a digest (src/crypto/gost-ec.ts)
 * against OpenSSL's gost engine (bench/gost-native.c, a plain EVP_PKEY_sign / EVP_PKEY_verify
 * loop compiled here with cc), one core each, in the same run. With `--against <git-ref>`, that
 * ref's gost-ec.ts is measured too, so a change shows as a ratio taken side by side.
 *
 *   npm run bench:gost [-- --rounds 7] [--ms 400] [--against <git-ref>] [--json out.json]
 *
 * Rates are operations per CPU second (the process's CPU time, so time slices lost to other
 * processes on a shared machine do not count). Rounds interleave the contestants (native, Okno,
 * [ref]) per curve, each getting `ms` of CPU for signing and `ms` for verifying; the table
 * shows each one's median over the rounds, so what load does to caches hits all sides alike. Before timing, each JS side's
 * verify must accept its own signature and reject one with a flipped bit (interop with openssl
 * is checked by test/crypto, not here).
 * Needs: cc, libssl-dev, libengine-gost-openssl.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync, existsSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { findGostCurve, type GostCurve } from '../src/crypto/gost-curves.js';
import * as current from '../src/crypto/gost-ec.js';

type Ec = Pick<typeof current, 'ecSign' | 'ecVerify' | 'ecPublicPoint' | 'ecRandomScalar'>;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// ---------------------------------------------------------------- arguments

const argv = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  if (i < 0) return undefined;
  const v = argv[i + 1];
  if (!v || v.startsWith('--')) usage(`${name} needs a value`);
  return v;
};
function usage(message: string): never {
  console.error(`${message}\nusage: npm run bench:gost -- [--rounds N] [--ms N] [--against <git-ref>] [--json out.json]`);
  process.exit(2);
}
for (const [i, a] of argv.entries()) {
  if (a.startsWith('--') && !['--rounds', '--ms', '--against', '--json'].includes(a)) usage(`unknown argument ${a}`);
  if (!a.startsWith('--') && !argv[i - 1]?.startsWith('--')) usage(`unknown argument ${a}`);
}
const rounds = Number(option('--rounds') ?? 5);
const sliceMs = Number(option('--ms') ?? 400);
const againstRef = option('--against');
const jsonOut = option('--json');
if (!(rounds >= 1 && sliceMs >= 50)) usage('--rounds ≥ 1, --ms ≥ 50');

// ---------------------------------------------------------------- contestants

/** The native loop, compiled once per source version into the temp directory. */
function nativeBinary(): string {
  const source = path.join(root, 'bench/gost-native.c');
  const hash = createHash('sha256').update(readFileSync(source)).digest('hex').slice(0, 12);
  const bin = path.join(os.tmpdir(), `okno-gost-native-${hash}`);
  if (!existsSync(bin)) {
    try {
      execFileSync('cc', ['-O2', '-o', bin, source, '-lcrypto'], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (e) {
      console.error(`cannot compile bench/gost-native.c (apt-get install gcc libssl-dev): ${(e as { stderr?: Buffer }).stderr?.toString() ?? e}`);
      process.exit(1);
    }
  }
  return bin;
}

/** `ref`'s src/crypto, extracted to a temp directory that resolves packages from ours. */
async function importRef(ref: string): Promise<Ec> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'okno-gost-ref-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(path.join(dir, 'src'));
  const tar = execFileSync('git', ['archive', ref, 'src/crypto'], { cwd: root, maxBuffer: 64 << 20 });
  execFileSync('tar', ['-x', '-C', dir], { input: tar });
  symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
  return (await import(pathToFileURL(path.join(dir, 'src/crypto/gost-ec.ts')).href)) as Ec;
}

interface Case {
  label: string;
  oid: string;
  /** openssl algorithm and gost engine paramset naming the same curve. */
  alg: 'gost2012_256' | 'gost2012_512';
  paramset: string;
}

const cases: Case[] = [
  { label: '2012-256 CryptoPro-A (= TC26-256-B)', oid: '1.2.643.2.2.35.1', alg: 'gost2012_256', paramset: 'A' },
  { label: '2012-256 TC26-256-A', oid: '1.2.643.7.1.2.1.1.1', alg: 'gost2012_256', paramset: 'TCA' },
  { label: '2012-512 TC26-512-A', oid: '1.2.643.7.1.2.1.2.1', alg: 'gost2012_512', paramset: 'A' },
];

/** CPU time of this process (all threads: the GC's work is part of the cost), in ms. */
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Operations per CPU second of `op`, run for `ms` of CPU time. */
function rate(op: () => unknown, ms: number): number {
  let n = 0;
  const t0 = cpuMs();
  let t: number;
  do {
    op();
    n++;
  } while ((t = cpuMs() - t0) < ms);
  return (n * 1000) / t;
}

interface Pair {
  sign: number;
  verify: number;
}

/** One round of Okno-style code: sign for `ms`, then verify for `ms`, on a fixed key and digest. */
function jsRound(ec: Ec, curve: GostCurve, ms: number): Pair {
  const d = ec.ecRandomScalar(curve);
  const Q = ec.ecPublicPoint(curve, d);
  const digest = randomBytes(curve.size);
  let sig = ec.ecSign(digest, curve, d);
  const bad = Buffer.from(sig);
  bad[5]! ^= 1;
  if (!ec.ecVerify(digest, sig, curve, Q) || ec.ecVerify(digest, bad, curve, Q)) throw new Error(`${curve.name}: sign/verify self-check failed`);
  const sign = rate(() => (sig = ec.ecSign(digest, curve, d)), ms);
  const verify = rate(() => {
    if (!ec.ecVerify(digest, sig, curve, Q)) throw new Error('verify failed');
  }, ms);
  return { sign, verify };
}

function nativeRound(bin: string, c: Case, ms: number): Pair {
  const [sign, verify] = execFileSync(bin, [c.alg, c.paramset, String(ms)]).toString().trim().split(' ').map(Number);
  if (!sign || !verify) throw new Error(`${bin}: unexpected output`);
  return { sign, verify };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

// ---------------------------------------------------------------- run

const bin = nativeBinary();
const ref = againstRef ? await importRef(againstRef) : undefined;
const sides: Array<[string, (c: Case, curve: GostCurve) => Pair]> = [
  ['native', (c) => nativeRound(bin, c, sliceMs)],
  ['okno', (_, curve) => jsRound(current, curve, sliceMs)],
  ...(ref ? [[`ref ${againstRef}`, (_: Case, curve: GostCurve) => jsRound(ref, curve, sliceMs)] as [string, (c: Case, curve: GostCurve) => Pair]] : []),
];

console.log(`GOST R 34.10 sign/verify, one core, ${rounds} interleaved rounds × ${sliceMs} ms per op; load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
const results: Array<{ curve: string; side: string; sign: number; verify: number }> = [];
for (const c of cases) {
  const curve = findGostCurve(c.oid);
  if (!curve) throw new Error(c.oid);
  // Warm-up (JIT, window tables) outside the timed rounds.
  for (const [, run] of sides.slice(1)) run(c, curve);
  const got = new Map<string, Pair[]>(sides.map(([n]) => [n, []]));
  for (let r = 0; r < rounds; r++) for (const [name, run] of sides) got.get(name)!.push(run(c, curve));
  console.log(`\n${c.label}`);
  console.log(`  ${'side'.padEnd(24)} ${'sign/s'.padStart(9)} ${'verify/s'.padStart(9)}   native÷side (sign, verify)`);
  const native = got.get('native')!;
  const ns = median(native.map((p) => p.sign));
  const nv = median(native.map((p) => p.verify));
  for (const [name] of sides) {
    const ps = got.get(name)!;
    const s = median(ps.map((p) => p.sign));
    const v = median(ps.map((p) => p.verify));
    results.push({ curve: c.label, side: name, sign: s, verify: v });
    const vsNative = name === 'native' ? '' : `${(ns / s).toFixed(2)}×, ${(nv / v).toFixed(2)}×`;
    console.log(`  ${name.padEnd(24)} ${s.toFixed(0).padStart(9)} ${v.toFixed(0).padStart(9)}   ${vsNative}`);
  }
  if (ref) {
    const o = results.at(-2)!;
    const p = results.at(-1)!;
    console.log(`  okno ÷ ref: sign ${(o.sign / p.sign).toFixed(2)}×, verify ${(o.verify / p.verify).toFixed(2)}×`);
  }
}
console.log(`\nload at end ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ rounds, sliceMs, against: againstRef, results }, null, 2));
