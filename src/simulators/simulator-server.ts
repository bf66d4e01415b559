/**
 * What the simulators (portal, agency, SMEV exchange) are as servers: a
 * loopback HTTP server serving POST /ws/smev3, that can be taken down and
 * brought back on the same port (failure tests), closed with its timers, and
 * waited on by tests until something has happened.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { listen, SMEV_PATH, stopListening } from './smev-http.js';

export abstract class SimulatorServer {
  protected readonly server: Server;
  protected readonly timers = new Set<NodeJS.Timeout>();
  protected down = false;
  protected closed = false;
  private readonly waiters = new Set<() => void>();

  protected constructor(
    private readonly host: string,
    private boundPort: number,
  ) {
    // handle() answers every error itself; a throw past it would be ours, so the socket is cut rather than the process.
    this.server = createServer((req, res) => void this.handle(req, res).catch(() => req.socket.destroy()));
    // Keep-alive sockets would outlive setDown(true) and keep answering; each request gets its own.
    this.server.keepAliveTimeout = 1;
  }

  protected abstract handle(req: IncomingMessage, res: ServerResponse): Promise<void>;

  /** Base URL, e.g. http://127.0.0.1:8091; the endpoint is `${url}/ws/smev3`. */
  get url(): string {
    return `http://${this.host}:${this.boundPort}`;
  }

  get endpoint(): string {
    return `${this.url}${SMEV_PATH}`;
  }

  get port(): number {
    return this.boundPort;
  }

  /** Down: the listening socket is closed (connections refused) and open ones cut; up: listening again on the same port. */
  async setDown(down: boolean): Promise<void> {
    if (this.closed || down === this.down) return;
    this.down = down;
    if (down) await stopListening(this.server);
    else await this.listen();
  }

  /**
   * Resolves once `met()` holds — checked now and at every notifyWaiters() —
   * or rejects after `timeoutMs` with `${name}.waitFor` and `describe()` (what
   * the simulator has seen so far) in the message.
   */
  protected waitUntil(name: string, met: () => boolean, timeoutMs: number, describe: () => string): Promise<void> {
    if (met()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = () => {
        if (!met()) return;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`${name}.waitFor: not met within ${timeoutMs} ms (${describe()})`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Re-checks every pending waitUntil (call after anything a test may wait for). */
  protected notifyWaiters(): void {
    for (const w of [...this.waiters]) w();
  }

  protected async listen(): Promise<void> {
    this.boundPort = await listen(this.server, this.boundPort, this.host);
  }

  /** Clears the timers, runs `beforeStop`, stops listening. False when it was already closed. */
  protected async shutdown(beforeStop?: () => void): Promise<boolean> {
    if (this.closed) return false;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    beforeStop?.();
    if (!this.down) await stopListening(this.server);
    return true;
  }
}
