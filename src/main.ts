/**
 * `npm start`: runs the gateway until SIGTERM/SIGINT, then shuts down
 * gracefully — stop accepting, finish in-flight work, close the store — within
 * SHUTDOWN_TIMEOUT_MS, after which the process exits anyway.
 *
 * With WORKERS > 1 this process becomes a supervisor: it forks that many
 * gateway processes (node:cluster; they share the port and the Redis store),
 * restarts one that dies, and forwards the shutdown signal to all.
 */
import cluster from 'node:cluster';
import { ConfigError, loadConfig, type Config } from './config/env.js';
import { createGateway } from './gateway.js';
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

async function serve(config: Config, logger: Logger): Promise<void> {
  let gateway;
  try {
    gateway = await createGateway(config, logger);
  } catch (error) {
    logger.fatal({ err: error }, (error as Error).message);
    process.stderr.write(`okno: ${(error as Error).message}\n`);
    process.exit(78);
  }
  const address = await gateway.listen();
  logger.info({ url: address, store: gateway.store.kind, pid: process.pid }, `okno gateway listening on ${address}`);

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
    gateway.close().then(
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
