#!/usr/bin/env node
/**
 * `npm start`'s prestart: compiles (tsc -p tsconfig.build.json) only when the
 * sources are newer than dist/. The inputs are every file and folder under src/
 * (a folder's time changes when a file is added, renamed or removed), the
 * tsconfig files and package.json / package-lock.json; the reference is
 * dist/.build-stamp, stamped with the time a build *started* (so an edit made
 * during a build is seen next time), or, before the first such build (fresh
 * `npm ci`, whose prepare script compiled), dist/main.js.
 *
 *   node scripts/build-if-stale.mjs           build when stale
 *   node scripts/build-if-stale.mjs --check   only say whether it is stale (exit 1: stale)
 *   OKNO_BUILD=always npm start               build anyway
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, statSync, utimesSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const dist = path.join(root, 'dist');
const stamp = path.join(dist, '.build-stamp');
const inputs = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json'];

/** The newest modification time (ms) of a file, or of a folder and everything in it, with its path. */
function newest(file) {
  let best = { ms: 0, file };
  const visit = (p) => {
    let st;
    try {
      st = statSync(p);
    } catch {
      return;
    }
    if (st.mtimeMs > best.ms) best = { ms: st.mtimeMs, file: p };
    if (st.isDirectory()) for (const name of readdirSync(p)) visit(path.join(p, name));
  };
  visit(file);
  return best;
}

function reference() {
  for (const file of [stamp, path.join(dist, 'main.js')]) {
    if (existsSync(file)) return { ms: statSync(file).mtimeMs, file };
  }
  return null;
}

const args = new Set(process.argv.slice(2));
const ref = reference();
const source = inputs.map((f) => newest(path.join(root, f))).reduce((a, b) => (b.ms > a.ms ? b : a));
const rel = (f) => path.relative(root, f);
const why = process.env.OKNO_BUILD === 'always' ? 'OKNO_BUILD=always' : !ref ? 'dist/ is not built' : source.ms > ref.ms ? `${rel(source.file)} is newer than ${rel(ref.file)}` : null;

if (args.has('--check')) {
  console.log(why ? `stale: ${why}` : 'dist/ is up to date');
  process.exit(why ? 1 : 0);
}
if (!why) process.exit(0);

const started = new Date();
console.error(`okno: compiling (${why})`);
const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
if (result.status !== 0) process.exit(result.status ?? 1);
closeSync(openSync(stamp, 'a'));
utimesSync(stamp, started, started);
