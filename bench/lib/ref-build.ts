/**
 * `npm run bench -- --against <git-ref>`: that ref, built in a temporary git worktree, so the
 * bench can run its Okno beside this checkout's. node_modules is a symlink to ours when the
 * ref's package-lock.json is the same; when it differs the worktree gets its own `npm ci`
 * (said on stderr, recorded in the JSON), since the ref may need other dependencies.
 * The worktree is removed when the process exits, whatever the cause (error, Ctrl-C).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface RefBuild {
  /** The ref as given on the command line. */
  ref: string;
  /** Its commit (full hash) and short form. */
  commit: string;
  short: string;
  /** The worktree: run `node <dir>/dist/main.js` with cwd there. */
  dir: string;
  /** Whether package-lock.json differs from this checkout's (then the worktree ran npm ci). */
  lockfileDiffers: boolean;
  buildMs: number;
}

const git = (root: string, args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

/** The commit a ref names, or null when it names none. */
export function resolveRef(root: string, ref: string): string | null {
  if (ref.startsWith('-')) return null;
  try {
    return git(root, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]) || null;
  } catch {
    return null;
  }
}

/** Adds the worktree, links or installs node_modules and builds dist/ (tsc -p tsconfig.build.json). */
export function buildRef(root: string, ref: string, commit: string, log: (s: string) => void): RefBuild {
  const parent = mkdtempSync(path.join(os.tmpdir(), 'okno-bench-against-'));
  const dir = path.join(parent, 'okno');
  let added = false;
  const cleanup = () => {
    if (added) {
      try {
        git(root, ['worktree', 'remove', '--force', dir]);
      } catch {
        // removed below; prune forgets it
      }
    }
    rmSync(parent, { recursive: true, force: true });
    if (added) {
      try {
        git(root, ['worktree', 'prune']);
      } catch {
        // not fatal at exit
      }
    }
  };
  process.on('exit', cleanup);
  const t0 = Date.now();
  git(root, ['worktree', 'add', '--detach', dir, commit]);
  added = true;
  const lock = (d: string) => (existsSync(path.join(d, 'package-lock.json')) ? readFileSync(path.join(d, 'package-lock.json'), 'utf8') : '');
  const lockfileDiffers = lock(dir) !== lock(root);
  if (lockfileDiffers) {
    log(`${ref}: package-lock.json differs from this checkout's: npm ci in its worktree (the ref may need other dependencies)`);
    execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  } else {
    symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  }
  log(`${ref} (${commit.slice(0, 10)}): building in ${dir}`);
  try {
    execFileSync(process.execPath, [path.join(dir, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (e) {
    const out = `${(e as { stdout?: string }).stdout ?? ''}${(e as { stderr?: string }).stderr ?? ''}`.trim();
    throw new Error(`${ref} does not build (tsc -p tsconfig.build.json):\n${out.slice(0, 4000)}`);
  }
  if (!existsSync(path.join(dir, 'dist/main.js'))) throw new Error(`${ref}: the build made no dist/main.js`);
  return { ref, commit, short: commit.slice(0, 10), dir, lockfileDiffers, buildMs: Date.now() - t0 };
}
