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
import { createGateway, type Gateway } from './gateway.js';
import { createLogger, type Logger } from './log.js';

function readConfig(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`okno: ${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
}

/** A worker asks the supervisor to make the other workers reload their keys. */
const RELOAD_OTHERS = 'okno:reload-keys';

async function serve(config: Config, logger: Logger): Promise<void> {
  let gateway: Gateway | null = null;
  let reloadWhenUp = false;
  // Until the gateway is up, SIGHUP must not end the process (its default): the reload runs once it is up.
  process.on('SIGHUP', () => {
    if (gateway) void gateway.reloadKeys('SIGHUP');
    else reloadWhenUp = true;
  });
  try {
    gateway = await createGateway(config, logger, {
      keysReloaded: () => {
        if (cluster.isWorker) process.send?.({ type: RELOAD_OTHERS });
      },
    });
  } catch (error) {
    logger.fatal({ err: error }, (error as Error).message);
    process.stderr.write(`okno: ${(error as Error).message}\n`);
    process.exit(78);
  }
  const running = gateway;
  if (reloadWhenUp) void running.reloadKeys('SIGHUP');
  const address = await running.listen();
  logger.info({ url: address, store: running.store.kind, pid: process.pid }, `okno gateway listening on ${address}`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: no new requests, finishing in-flight work');
    const timer = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown took too long; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    timer.unref();
    running.close().then(
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
  const fork = () => cluster.fork();
  for (let i = 0; i < config.workers; i++) fork();
  logger.info({ workers: config.workers, pid: process.pid }, `supervising ${config.workers} gateway worker processes`);
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        logger.info('all workers stopped');
        process.exit(0);
      }
      return;
    }
    if (code === 78) {
      logger.fatal('a worker refused its configuration; stopping');
      process.exit(78);
    }
    logger.error({ pid: worker.process.pid, code, signal }, 'a gateway worker died; starting another');
    setTimeout(fork, 500).unref();
  });
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down all workers');
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    setTimeout(() => process.exit(1), config.shutdownTimeoutMs + 2_000).unref();
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
  cluster.on('message', (worker, message: { type?: string } | null) => {
    if (message?.type === RELOAD_OTHERS && !stopping) reloadAll(worker.id);
  });
}

const config = readConfig();
const logger = createLogger({ level: config.logLevel });
if (config.workers > 1 && cluster.isPrimary) {
  supervise(config, logger);
} else {
  serve(config, logger).catch((error: unknown) => {
    process.stderr.write(`okno: failed to start: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
}
