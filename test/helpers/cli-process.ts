/** Runs an `okno` command (bin/okno.js) in the foreground and watches what it prints, as a user at a terminal would. */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { projectRoot } from './gateway.js';

export interface OknoProcess {
  child: ChildProcessByStdio<null, Readable, Readable>;
  /** Everything printed so far. */
  readonly out: string;
  readonly err: string;
  exited: Promise<number | null>;
  /** Resolves with the first match of `re` in stdout; throws (with the output) if the process exits or the time runs out first. */
  until(re: RegExp): Promise<RegExpExecArray>;
}

export function spawnOkno(args: readonly string[], timeoutMs = 10_000): OknoProcess {
  const child = spawn(process.execPath, [path.join(projectRoot, 'bin/okno.js'), ...args], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    get out() {
      return out;
    },
    get err() {
      return err;
    },
    exited,
    async until(re) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = re.exec(out);
        if (m) return m;
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no ${re} in output: ${out} ${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}
