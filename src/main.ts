/**
 * `npm start`: runs the gateway until SIGTERM/SIGINT, then shuts down
 * gracefully — stop accepting, finish in-flight work, close the store — within
 * SHUTDOWN_TIMEOUT_MS, after which the process exits anyway.
 *
 * With WORKERS > 1 this process becomes a supervisor: it forks that many
 * gateway processes (node:cluster; they share the port and the Redis store),
 * restarts one that dies, and forwards the shutdown signal to all.
 *
 * SIGHUP reloads the gateway's key and certificate (a renewal, README "Keys"):
 * the supervisor forwards it to every worker; a reload asked through the API
 * of one worker is passed on to the others the same way.
 */
import cluster from 'node:cluster';
import { ConfigError, loadConfig, type Config } from './config/env.js';
import { checkConfiguredPaths } from './config/files.js';
import { failureLine } from './config/startup-failure.js';
import type { Gateway } from './gateway.js';
import type { Logger } from './log.js';

/** EX_CONFIG: the configuration is wrong; a supervisor should not restart the process as it is. */
const EX_CONFIG = 78;

/**
 * Stops start-up: ONE line on stderr naming the variable (and the file), exit 78.
 * The fatal log line carries the error's stack only at LOG_LEVEL=debug or trace.
 */
function refuse(error: unknown, logger: Logger | null, level = 'info'): never {
  const line = failureLine(error);
  if (logger) {
    const verbose = level === 'debug' || level === 'trace';
    logger.fatal({ err: verbose ? error : { type: (error as Error)?.name ?? typeof error } }, line);
  }
  if (logger && cluster.isWorker && process.send) {
    // WORKERS > 1: every worker would print the same line; the supervisor prints it once.
    // (Only from serve(), whose caller expects WorkerRefused: the environment was checked by the supervisor already.)
    process.send({ type: REFUSED, line }, () => process.exit(EX_CONFIG));
    throw new WorkerRefused();
  }
  process.stderr.write(`okno: ${line}\n`);
  process.exit(EX_CONFIG);
}

/** A worker that refused its configuration: it exits once the supervisor has its line. */
class WorkerRefused extends Error {}

/** The environment, checked; then every file and folder it names must exist, before anything slow is loaded. */
function readConfig(): Config {
  try {
    const config = loadConfig();
    const problems = checkConfiguredPaths(config);
    if (problems.length > 0) throw new ConfigError(problems);
    return config;
  } catch (error) {
    return refuse(error, null);
  }
}

/** A listen failure (port taken, address not here) names PORT and HOST. */
function listenFailure(config: Config, error: NodeJS.ErrnoException): Error {
  const reason = error.code ? `${error.code}${error.code === 'EADDRINUSE' ? ' (the port is in use)' : error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND' ? ' (no such address on this machine)' : error.code === 'EACCES' ? ' (permission denied: ports below 1024 need privileges)' : ''}` : error.message;
  return new Error(`PORT / HOST: cannot listen on ${config.host}:${config.port}: ${reason}`, { cause: error });
}

/** A worker asks the supervisor to make the other workers reload their keys. */
const RELOAD_OTHERS = 'okno:reload-keys';
/** A worker refused its configuration; the message carries the stderr line. */
const REFUSED = 'okno:refused';

async function serve(config: Config, logger: Logger): Promise<void> {
  let gateway: Gateway | null = null;
  let reloadWhenUp = false;
  // Until the gateway is up, SIGHUP must not end the process (its default): the reload runs once it is up.
  process.on('SIGHUP', () => {
    if (gateway) void gateway.reloadKeys('SIGHUP');
    else reloadWhenUp = true;
  });
  const { createGateway } = await import('./gateway.js');
  try {
    gateway = await createGateway(config, logger, {
      keysReloaded: () => {
        if (cluster.isWorker) process.send?.({ type: RELOAD_OTHERS });
      },
    });
  } catch (error) {
    refuse(error, logger, config.logLevel);
  }
  const running = gateway;
  if (reloadWhenUp) void running.reloadKeys('SIGHUP');
  let address: string;
  try {
    address = await running.listen();
  } catch (error) {
    await running.close().catch(() => undefined);
    refuse(listenFailure(config, error as NodeJS.ErrnoException), logger, config.logLevel);
  }
  logger.info({ url: address, store: running.store.kind, pid: process.pid }, `okno gateway listening on ${address}`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    const drainMs = config.shutdownDrainMs;
    if (drainMs > 0) logger.info({ signal, drainMs }, `shutting down: /ready fails now; serving for ${drainMs} ms more so the load balancer takes this process out, then closing`);
    else logger.info({ signal }, 'shutting down: no new requests, finishing in-flight work');
    const timer = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs, drainMs }, 'shutdown took too long; exiting');
      process.exit(1);
    }, drainMs + config.shutdownTimeoutMs);
    timer.unref();
    running
      .drain(drainMs)
      .then(() => {
        if (drainMs > 0) logger.info('drained: no new requests, finishing in-flight work');
        return running.close();
      })
      .then(
        () => {
          logger.info('stopped');
          process.exit(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'error during shutdown');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

function supervise(config: Config, logger: Logger): void {
  let stopping = false;
  let refusedLine: string | null = null;
  let refused = false;
  const fork = () => cluster.fork();
  for (let i = 0; i < config.workers; i++) fork();
  logger.info({ workers: config.workers, pid: process.pid }, `supervising ${config.workers} gateway worker processes`);
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        logger.info('all workers stopped');
        process.exit(refusedLine === null && !refused ? 0 : EX_CONFIG);
      }
      return;
    }
    if (code === EX_CONFIG) {
      stopping = true;
      refused = true;
      logger.fatal('a worker refused its configuration; stopping');
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
      // Its line (message REFUSED) arrives before its exit; printed once whichever worker sent it.
      setImmediate(() => {
        if (!refusedLine) process.stderr.write('okno: a worker refused its configuration (see the log)\n');
        process.exit(EX_CONFIG);
      });
      return;
    }
    logger.error({ pid: worker.process.pid, code, signal }, 'a gateway worker died; starting another');
    setTimeout(fork, 500).unref();
  });
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down all workers');
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    setTimeout(() => process.exit(1), config.shutdownDrainMs + config.shutdownTimeoutMs + 2_000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // Key reloads: each worker reloads itself and logs the outcome.
  const reloadAll = (except: number | null) => {
    for (const w of Object.values(cluster.workers ?? {})) if (w && w.id !== except) w.process.kill('SIGHUP');
  };
  process.on('SIGHUP', () => {
    if (stopping) return;
    logger.info({ workers: Object.keys(cluster.workers ?? {}).length }, 'SIGHUP: every worker reloads the gateway key');
    reloadAll(null);
  });
  cluster.on('message', (worker, message: { type?: string; line?: string } | null) => {
    if (message?.type === RELOAD_OTHERS && !stopping) reloadAll(worker.id);
    if (message?.type === REFUSED && !refusedLine) {
      refusedLine = message.line ?? 'a worker refused its configuration';
      process.stderr.write(`okno: ${refusedLine}\n`);
    }
  });
}

// The environment is checked before the gateway's modules are loaded: a bad value is refused in a blink.
const config = readConfig();
const { createLogger } = await import('./log.js');
const logger = createLogger({ level: config.logLevel });
if (config.workers > 1 && cluster.isPrimary) {
  supervise(config, logger);
} else {
  serve(config, logger).catch((error: unknown) => {
    if (error instanceof WorkerRefused) return;
    // Not a configuration problem (a bug): one line still, the stack in the log at debug.
    const line = `failed to start: ${failureLine(error)}`;
    logger.fatal({ err: config.logLevel === 'debug' || config.logLevel === 'trace' ? error : { type: (error as Error)?.name } }, line);
    process.stderr.write(`okno: ${line}\n`);
    process.exit(1);
  });
}
