/**
 * `okno poll --to EXCHANGE` (the compiled CLI) against the exchange simulator:
 * the portal takes what the gateway's identity sent it, sees both signatures
 * valid and acknowledges it; an empty queue says so.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/catalogue/load.js';
import { ExchangeClient } from '../helpers/exchange.js';
import { projectRoot } from '../helpers/gateway.js';
import { startPullWorld, type PullWorld } from '../helpers/pull.js';
import { sampleSigner, serviceExample } from '../helpers/smev.js';

const run = promisify(execFile);
let world: PullWorld;

async function okno(args: string[]): Promise<{ code: number; stdout: string }> {
  const env = { ...process.env };
  delete env.TRUST_CA_FILE;
  try {
    const { stdout } = await run(process.execPath, [path.join(projectRoot, 'bin/okno.js'), ...args], { cwd: projectRoot, env, timeout: 20_000 });
    return { code: 0, stdout };
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string };
    if (typeof e.code !== 'number') throw error;
    return { code: e.code, stdout: e.stdout ?? '' };
  }
}

beforeAll(async () => {
  world = await startPullWorld();
});

afterAll(async () => {
  await world?.sim.close();
});

describe('okno poll', () => {
  it("takes the portal's next message, shows both signatures valid, and acks it", async () => {
    const catalogue = loadCatalogue(path.join(projectRoot, 'config/services'));
    const gatewayIdentity = new ExchangeClient(world.sim.endpoint, sampleSigner('gateway'));
    const elk = catalogue.get('elk-order-status')!;
    const sent = await gatewayIdentity.sendRequest({ contentXml: elk.request.toXml(serviceExample('elk-order-status')) });
    expect(sent.status).toBe(200);

    const polled = await okno(['poll', '--to', world.sim.endpoint]);
    expect(polled.code).toBe(0);
    expect(polled.stdout).toContain(`GetRequest: MessageID ${sent.messageId} from okno`);
    expect(polled.stdout).toMatch(/content: \{http:\/\/epgu\.gosuslugi\.ru\/elk\/status\/1\.0\.2\}ElkOrderRequest/);
    expect(polled.stdout).toMatch(/sender's signature: valid, by ".*CN=okno-gateway"/);
    expect(polled.stdout).toMatch(/exchange's signature: valid, by ".*CN=smev-exchange-test"/);
    expect(polled.stdout).toContain('acknowledged (Ack accepted=true)');
    expect(world.sim.message(sent.messageId)).toMatchObject({ state: 'acked', accepted: true });

    const empty = await okno(['poll', '--to', world.sim.endpoint]);
    expect(empty).toEqual({ code: 0, stdout: 'GetRequest: the queue is empty\n' });
  });
});
