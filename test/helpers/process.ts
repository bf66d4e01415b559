import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from './gateway.js';

export interface GatewayProcess {
  child: ChildProcess;
  url: string;
  lines: Array<Record<string, unknown>>;
  stderr: () => string;
  exited: Promise<number | null>;
}

const started = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of started) child.kill('SIGKILL');
});

/** Runs `node dist/main.js` (what `npm start` runs) with the given environment. */
export function spawnGateway(env: Record<string, string>): { child: ChildProcess; lines: Array<Record<string, unknown>>; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [path.join(projectRoot, 'dist/main.js')], {
    cwd: projectRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ARCHIVE_DIR: mkdtempSync(path.join(tmpdir(), 'okno-archive-')), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.add(child);
  const lines: Array<Record<string, unknown>> = [];
  let err = '';
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const text = partial + chunk.toString('utf8');
    const parts = text.split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => {
    started.delete(child);
    resolve(code);
  }));
  return { child, lines, stderr: () => err, exited };
}

/** Spawns the gateway and waits for its "listening" log line. */
export async function startGatewayProcess(env: Record<string, string>, timeoutMs = 15_000): Promise<GatewayProcess> {
  const proc = spawnGateway(env);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const listening = proc.lines.find((l) => typeof l.url === 'string' && /listening/.test(String(l.msg)));
    if (listening) return { ...proc, url: String(listening.url) };
    if (proc.child.exitCode !== null) throw new Error(`gateway exited with ${proc.child.exitCode}: ${proc.stderr()}`);
    if (Date.now() > deadline) {
      proc.child.kill('SIGKILL');
      throw new Error(`gateway did not start within ${timeoutMs} ms: ${proc.stderr()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
