/**
 * `okno simulate agency --exchange URL`: the agency in pull mode, as a
 * person runs it beside `okno simulate smev`. The city (here the gateway's
 * sample key, system okno at the exchange) sends a query to the exchange; the
 * agency takes it with GetRequest, Acks it and answers with SendResponse to
 * the ReplyTo; the city takes the answer with GetResponse.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/catalogue/load.js';
import { childElements, textContent } from '../../src/xml/helpers.js';
import { spawnOkno, type OknoProcess } from '../helpers/cli-process.js';
import { ExchangeClient } from '../helpers/exchange.js';
import { projectRoot, startGateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/net.js';
import { eventually, startPullWorld } from '../helpers/pull.js';
import { CITY, sampleSigner, serviceExample } from '../helpers/smev.js';

/** What the agency simulator answers the example egrn-extract query with: the service's response example (it matches on cadastralNumber). */
function agencyFixtureAnswer() {
  return serviceExample('egrn-extract', 'response');
}

const started: OknoProcess[] = [];
afterEach(() => {
  for (const p of started.splice(0)) if (p.child.exitCode === null) p.child.kill('SIGKILL');
});

describe('okno simulate agency --exchange (pull mode)', () => {
  it('takes the city\'s query from the exchange, Acks it, and its answer reaches the city through the exchange', async () => {
    const smev = spawnOkno(['simulate', 'smev', '--port', '0'], 15_000);
    started.push(smev);
    const endpoint = (await smev.until(/listening on (http:\/\/127\.0\.0\.1:\d+\/ws\/smev3)/))[1]!;
    const agency = spawnOkno(['simulate', 'agency', '--port', '0', '--exchange', endpoint], 15_000);
    started.push(agency);
    await agency.until(/agency simulator listening on /);
    // the mode line is a second write after the listening line: wait for it rather than read a half-arrived stdout
    await agency.until(/pull mode: takes queries from /);
    expect(agency.out).toContain(`pull mode: takes queries from ${endpoint} (GetRequest, Ack) and answers there (SendResponse)`);

    const catalogue = loadCatalogue(path.join(projectRoot, 'config/services'));
    const egrn = catalogue.get('egrn-extract')!;
    const city = new ExchangeClient(endpoint, sampleSigner('gateway'));
    const sent = await city.sendRequest({ contentXml: egrn.request.toXml(serviceExample('egrn-extract')) });
    expect(sent.status).toBe(200);

    await agency.until(new RegExp(`query {2}egrn-extract {2}${sent.messageId} {2}accepted \\(answer\\)`));
    await agency.until(/answer {2}egrn-extract {2}[0-9a-f-]{36} {2}to [^ ]+ {2}content \([^)]+\) {2}gateway HTTP 200/);

    // the answer, as the city's gateway takes it in pull mode
    let answer = (await city.poll('GetResponse')).message;
    for (let i = 0; !answer?.message && i < 50; i++) {
      await new Promise((r) => setTimeout(r, 100));
      answer = (await city.poll('GetResponse')).message;
    }
    expect(answer?.message).toBeTruthy();
    const original = childElements(answer!.message!).find((c) => c.localName === 'OriginalMessageId');
    expect(textContent(original!).trim()).toBe(sent.messageId);
    expect(answer!.content!.localName).toBe(egrn.response!.rootElement);
    expect(answer!.content!.namespaceURI).toBe(egrn.response!.namespace);
    expect((await city.ack(answer!.messageId!)).status).toBe(200);

    await smev.until(new RegExp(`acked {2}Ack {2}${sent.messageId} {2}okno → agency {2}accepted`));
    agency.child.kill('SIGTERM');
    smev.child.kill('SIGTERM');
    expect(await agency.exited).toBe(0);
    expect(await smev.exited).toBe(0);
    expect(agency.out).toMatch(/agency simulator stopped: 1 queries, 1 answers sent, 0 duplicates/);
    expect(smev.out).toMatch(/stopped: 2 sent, 2 delivered \(0 again\), 2 acked, 0 faults/);
  }, 40_000);

  it('answers the gateway in pull mode: POST /api/v1/queries → exchange → agency (CLI) → exchange → the query answered', async () => {
    const world = await startPullWorld();
    const gw = await startGateway(world.env);
    try {
      const agency = spawnOkno(['simulate', 'agency', '--port', '0', '--exchange', world.sim.endpoint], 15_000);
      started.push(agency);
      await agency.until(/pull mode: takes queries from /);
      const created = await fetch(`${gw.url}/api/v1/queries`, {
        method: 'POST',
        headers: { ...CITY, 'content-type': 'application/json' },
        body: JSON.stringify({ service: 'egrn-extract', data: serviceExample('egrn-extract') }),
      });
      expect(created.status).toBe(202);
      const { id, messageId } = (await created.json()) as { id: string; messageId: string };
      const query = await eventually(async () => {
        const q = (await (await fetch(`${gw.url}/api/v1/queries/${id}`, { headers: CITY })).json()) as Record<string, unknown>;
        return q.state === 'answered' ? q : null;
      }, 'the query answered by the agency simulator through the exchange', 20_000);
      expect(query.answer).toEqual(agencyFixtureAnswer());
      expect(agency.out).toMatch(new RegExp(`query {2}egrn-extract {2}${messageId} {2}accepted`));
      agency.child.kill('SIGTERM');
      expect(await agency.exited).toBe(0);
    } finally {
      await gw.close();
      await world.sim.close();
    }
  }, 60_000);

  it('an unreachable exchange is said once, not at every retry; then "reachable again"', async () => {
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}/ws/smev3`;
    const agency = spawnOkno(['simulate', 'agency', '--port', '0', '--exchange', endpoint], 20_000);
    started.push(agency);
    await agency.until(/pull mode: takes queries from /);
    const firstError = async () => {
      const deadline = Date.now() + 10_000;
      while (!/exchange: .*retrying every second, said once/.test(agency.err)) {
        if (Date.now() > deadline || agency.child.exitCode !== null) throw new Error(`no exchange error: ${agency.err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await firstError();
    // the exchange comes up on that port while the agency keeps retrying (every second)
    const smev = spawnOkno(['simulate', 'smev', '--port', String(port)], 20_000);
    started.push(smev);
    await smev.until(/listening on /);
    await agency.until(/exchange: reachable again\n/);
    expect(smev.out).not.toMatch(/ {2}empty {2}/);
    expect(agency.err.match(/exchange: /g)).toHaveLength(1);
    agency.child.kill('SIGTERM');
    smev.child.kill('SIGTERM');
    expect(await agency.exited).toBe(0);
    expect(await smev.exited).toBe(0);
    expect(smev.out).toMatch(/[1-9]\d* empty polls\n/);
  }, 40_000);

  it('exits 2 with --gateway and --exchange together, and names both when neither is given', async () => {
    const both = spawnOkno(['simulate', 'agency', '--port', '0', '--gateway', 'http://127.0.0.1:8080', '--exchange', 'http://127.0.0.1:8093/ws/smev3']);
    expect(await both.exited).toBe(2);
    expect(both.err).toMatch(/--gateway \(push\) or --exchange \(pull\), not both/);
    const neither = spawnOkno(['simulate', 'agency', '--port', '0']);
    expect(await neither.exited).toBe(2);
    expect(neither.err).toMatch(/--gateway URL \(push: .*\) or --exchange URL \(pull: .*\) is required/);
  });
});
