import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config/env.js';
import { createGateway, type Gateway } from '../../src/gateway.js';
import { createLogger } from '../../src/log.js';

export const projectRoot = path.resolve(import.meta.dirname, '../..');

export interface RunningGateway {
  gateway: Gateway;
  url: string;
  /** Every log line the gateway wrote, parsed. */
  logs: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

/** Starts a real gateway on a free loopback port, with its logs captured. */
export async function startGateway(env: Record<string, string> = {}): Promise<RunningGateway> {
  // Each gateway its own journal archive (one archive belongs to one journal), unless the test names one.
  const config = loadConfig({ PORT: '0', LOG_LEVEL: 'info', ARCHIVE_DIR: mkdtempSync(path.join(tmpdir(), 'okno-archive-')), ...env }, projectRoot);
  const logs: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const logger = createLogger({ level: config.logLevel, destination });
  const gateway = await createGateway(config, logger);
  const url = await gateway.listen();
  return { gateway, url, logs, close: () => gateway.close() };
}
