/**
 * `npm start`: runs the gateway until SIGTERM/SIGINT, then shuts down
 * gracefully — stop accepting, finish in-flight work, close the store — within
 * SHUTDOWN_TIMEOUT_MS, after which the process exits anyway.
 */
import { ConfigError, loadConfig } from './config/env.js';
import { createGateway } from './gateway.js';
import { createLogger } from './log.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`okno: ${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const logger = createLogger({ level: config.logLevel });
  let gateway;
  try {
    gateway = await createGateway(config, logger);
  } catch (error) {
    logger.fatal({ err: error }, (error as Error).message);
    process.stderr.write(`okno: ${(error as Error).message}\n`);
    process.exit(78);
  }
  const address = await gateway.listen();
  logger.info({ url: address, store: gateway.store.kind }, `okno gateway listening on ${address}`);

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

main().catch((error: unknown) => {
  process.stderr.write(`okno: failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
