/**
 * `npm start` compiles only when the sources are newer than dist/
 * (scripts/build-if-stale.mjs, its prestart). Run on a small project in a temp
 * folder with the real TypeScript compiler: no dist → build; nothing changed →
 * no build; a touched, added or removed source, or a changed tsconfig → build.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers/gateway.js';

let dir: string;

function run(...args: string[]): { status: number | null; stderr: string; stdout: string; ms: number } {
  const started = Date.now();
  const r = spawnSync(process.execPath, [path.join(dir, 'scripts/build-if-stale.mjs'), ...args], { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout, ms: Date.now() - started };
}

/** Sets a file's (or folder's) time `seconds` from now (a build's stamp is the time it started, seconds before it ends). */
function age(file: string, seconds: number): void {
  const t = new Date(Date.now() + seconds * 1000);
  utimesSync(path.join(dir, file), t, t);
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'okno-build-'));
  mkdirSync(path.join(dir, 'scripts'));
  mkdirSync(path.join(dir, 'src'));
  mkdirSync(path.join(dir, 'node_modules'));
  copyFileSync(path.join(projectRoot, 'scripts/build-if-stale.mjs'), path.join(dir, 'scripts/build-if-stale.mjs'));
  symlinkSync(path.join(projectRoot, 'node_modules/typescript'), path.join(dir, 'node_modules/typescript'));
  writeFileSync(path.join(dir, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(path.join(dir, 'tsconfig.json'), '{}\n');
  writeFileSync(path.join(dir, 'tsconfig.build.json'), JSON.stringify({ compilerOptions: { outDir: 'dist', rootDir: 'src', module: 'nodenext', target: 'es2022', strict: true }, include: ['src'] }));
  writeFileSync(path.join(dir, 'src/main.ts'), 'export const answer: number = 1;\n');
  writeFileSync(path.join(dir, 'src/other.ts'), 'export const other = 2;\n');
  // Everything older than what the builds will write.
  for (const f of ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'src/main.ts', 'src/other.ts', 'src']) age(f, -60);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('scripts/build-if-stale.mjs', () => {
  it('builds when dist/ is not built, and stamps it', () => {
    expect(run('--check')).toMatchObject({ status: 1, stdout: 'stale: dist/ is not built\n' });
    const r = run();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('okno: compiling (dist/ is not built)\n');
    expect(readFileSync(path.join(dir, 'dist/main.js'), 'utf8')).toContain('answer = 1');
    expect(existsSync(path.join(dir, 'dist/.build-stamp'))).toBe(true);
  });

  it('does nothing when nothing changed (in well under a second)', () => {
    const r = run();
    expect(r).toMatchObject({ status: 0, stderr: '' });
    expect(r.ms).toBeLessThan(2_000);
    expect(run('--check')).toMatchObject({ status: 0, stdout: 'dist/ is up to date\n' });
  });

  it('builds again when a source is newer', () => {
    writeFileSync(path.join(dir, 'src/main.ts'), 'export const answer: number = 42;\n');
    age('src/main.ts', 0); // now: after the last build started
    const r = run();
    expect(r.stderr).toBe('okno: compiling (src/main.ts is newer than dist/.build-stamp)\n');
    expect(readFileSync(path.join(dir, 'dist/main.js'), 'utf8')).toContain('answer = 42');
    expect(run()).toMatchObject({ status: 0, stderr: '' });
  });

  it('builds again when a source is removed (its folder changed) or a tsconfig changed', () => {
    unlinkSync(path.join(dir, 'src/other.ts'));
    age('src', 0);
    expect(run('--check').stdout).toBe('stale: src is newer than dist/.build-stamp\n');
    expect(run().status).toBe(0);
    expect(run('--check').status).toBe(0);
    age('tsconfig.build.json', 0);
    expect(run('--check').stdout).toBe('stale: tsconfig.build.json is newer than dist/.build-stamp\n');
  });

  it('a fresh install (prepare compiled, no stamp yet) is not built again', () => {
    rmSync(path.join(dir, 'dist'), { recursive: true });
    const tsc = spawnSync(process.execPath, [path.join(dir, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: dir, encoding: 'utf8' });
    expect(tsc.status, tsc.stdout).toBe(0);
    // The sources are older than dist/main.js (a checkout, then npm ci).
    for (const f of ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'src/main.ts', 'src']) age(f, -60);
    expect(run('--check')).toMatchObject({ status: 0, stdout: 'dist/ is up to date\n' });
  });
});
