/**
 * One gateway process (node dist/main.js) for the memory stage of the bench and the soak: own
 * port, the given Redis and environment, logs to /dev/null (stderr kept for a failed start).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { createServer } from 'node:net';
import path from 'node:path';
import { root } from './requests.js';

export interface GatewayProcess {
  url: string;
  pid: number;
  proc: ChildProcess;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

function status(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.setTimeout(1000, () => req.destroy());
  });
}

/** `home`: the checkout whose dist/main.js runs (default this one; a `--against` worktree for the ref's build). */
export async function startGatewayProcess(env: Record<string, string>, home: string = root): Promise<GatewayProcess> {
  const port = await freePort();
  const full: Record<string, string> = { ...(process.env as Record<string, string>), MAX_BODY_BYTES: String(64 * 2 ** 20), ...env, PORT: String(port) };
  delete full.NODE_ENV;
  delete full.WORKERS;
  const proc = spawn(process.execPath, [path.join(home, 'dist/main.js')], { cwd: home, env: full, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const kill = () => proc.exitCode === null && proc.kill('SIGKILL');
  process.once('exit', kill);
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while ((await status(`${base}/health`)) !== 200) {
    if (proc.exitCode !== null) throw new Error(`gateway exited at start (${proc.exitCode}):\n${stderr}`);
    if (Date.now() > deadline) {
      kill();
      throw new Error(`gateway did not start within 30 s:\n${stderr}`);
    }
    await sleep(100);
  }
  return {
    url: `${base}/ws/smev3`,
    pid: proc.pid!,
    proc,
    async stop() {
      process.removeListener('exit', kill);
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await Promise.race([exited, sleep(15_000)]);
      kill();
    },
  };
}
