/**
 * Starts a real, throw-away redis-server for tests: a free loopback port, its
 * own temp dir, no RDB snapshots, AOF with fsync=always by default (so a
 * killed server loses nothing acknowledged). `restart()` reuses port and dir,
 * so the AOF is found again.
 *
 * Tests never skip silently: without redis-server on PATH this throws.
 * Callers should `await server.dispose()` (or at least `stop()`) in afterAll;
 * servers are also killed and dirs removed when the test process exits or is
 * terminated, so a failing or aborted test leaves nothing behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface RedisServerOptions {
  /** AOF on (default) or off. */
  appendonly?: boolean;
}

export interface RedisTestServer {
  url: string;
  port: number;
  dir: string;
  /** Stops the server: SIGTERM (clean shutdown) by default, SIGKILL to simulate a crash. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts it again (after stop) on the same port and dir; stops it first if running. */
  restart(): Promise<void>;
  /** Stops the server and deletes its dir. */
  dispose(): Promise<void>;
}

const live = new Set<ChildProcess>();
const dirs = new Set<string>();

function killAll(): void {
  for (const child of live) {
    // a test may have frozen one (SIGSTOP): it must wake to die
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  }
  for (const dir of dirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort at exit
    }
  }
}

process.on('exit', killAll);
// Vitest ends its fork workers with SIGTERM, which skips 'exit' handlers:
// clean up, then let the signal do what it would have done.
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  const onSignal = () => {
    killAll();
    process.removeListener(signal, onSignal);
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  process.on(signal, onSignal);
}

export function findRedisServer(): string {
  const override = process.env.REDIS_SERVER_BIN;
  const candidates = override ? [override] : (process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'redis-server'));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // try the next one
    }
  }
  const where = process.env.CI === 'true' ? 'The CI image must provide it' : 'Tests need a real Redis';
  throw new Error(
    `redis-server not found on PATH. ${where}: install it with \`apt-get install redis-server\` ` +
      '(or set REDIS_SERVER_BIN to its path).',
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not find a free port'));
      });
    });
  });
}

/** One PING over a raw socket (no client library, no retries, no noise). */
function pingOnce(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      // "-LOADING" while the AOF is being replayed: not ready yet.
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Running {
  child: ChildProcess;
  exited: Promise<void>;
  output: () => string;
}

function launch(bin: string, port: number, dir: string, appendonly: boolean): Running {
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--save', '',
    '--dir', dir,
    '--appendonly', appendonly ? 'yes' : 'no',
    '--appendfsync', 'always',
  ];
  return spawnRedisProcess(bin, args);
}

/** A temporary directory removed when the test process ends (or earlier with removeTempDir). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}

/**
 * A redis-server (or sentinel) process of a test: its last output kept for error messages,
 * `exited` once it is gone, killed (SIGCONT then SIGKILL) when the test process ends.
 */
export function spawnRedisProcess(bin: string, args: string[]): Running & { alive(): boolean } {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      live.delete(child);
      resolve();
    });
    child.once('error', (error) => {
      keep(Buffer.from(String(error)));
      live.delete(child);
      resolve();
    });
  });
  return { child, exited, output: () => output, alive: () => live.has(child) };
}

async function waitReady(running: Running, port: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  let exited = false;
  void running.exited.then(() => {
    exited = true;
  });
  while (Date.now() < deadline) {
    if (exited) throw new Error(`redis-server exited during start-up:\n${running.output()}`);
    if (await pingOnce(port)) return;
    await sleep(25);
  }
  running.child.kill('SIGKILL');
  throw new Error(`redis-server did not answer PING within 15 s:\n${running.output()}`);
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisTestServer> {
  const bin = findRedisServer();
  const appendonly = options.appendonly ?? true;
  const dir = mkdtempSync(join(tmpdir(), 'okno-redis-'));
  dirs.add(dir);

  // Another process may grab the port between probing and binding: retry with a new one.
  let port = 0;
  let running: Running | null = null;
  let lastError: unknown;
  for (let attempt = 0; attempt < 5 && !running; attempt++) {
    port = await freePort();
    const candidate = launch(bin, port, dir, appendonly);
    try {
      await waitReady(candidate, port);
      running = candidate;
    } catch (error) {
      lastError = error;
      candidate.child.kill('SIGKILL');
      await candidate.exited;
    }
  }
  if (!running) throw lastError;
  let current: Running | null = running;

  const stop = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM') => {
    const proc = current;
    current = null;
    if (!proc || proc.child.exitCode !== null) return;
    proc.child.kill(signal);
    await proc.exited;
  };

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    stop,
    async restart() {
      await stop();
      const next = launch(bin, port, dir, appendonly);
      await waitReady(next, port);
      current = next;
    },
    async dispose() {
      await stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      dirs.delete(dir);
    },
  };
}
