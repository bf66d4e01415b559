/**
 * Pull mode when things go wrong: the exchange down for a while (pollers back
 * off, then recover and deliver), a message whose SMEVSignature is not the
 * registered exchange's (Ack accepted=false, nothing stored), and a clean
 * shutdown while polling.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { issuedSigner } from '../helpers/exchange.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { eventually, startPullWorld, type PullWorld } from '../helpers/pull.js';
import { CITY, OPS, serviceExample } from '../helpers/smev.js';

let world: PullWorld | null = null;
let gw: RunningGateway | null = null;

afterEach(async () => {
  await gw?.close();
  await world?.sim.close();
  gw = null;
  world = null;
});

interface Check { name: string; status: string; detail: string; pollers?: Array<{ name: string; delayMs: number; failures: number; messages: number }> }
/** The `exchanges` check of /ready. */
const exchangesCheck = async (url: string): Promise<Check | undefined> => ((await (await fetch(`${url}/ready`)).json()) as { checks: Check[] }).checks.find((c) => c.name === 'exchanges');

async function inboxHas(url: string, messageId: string): Promise<boolean> {
  const items = ((await (await fetch(`${url}/api/v1/inbox?limit=100`, { headers: CITY })).json()) as { items: Array<{ messageId: string }> }).items;
  return items.some((i) => i.messageId === messageId);
}

describe('pull mode resilience', () => {
  it('the exchange down: pollers back off to PULL_MAX_INTERVAL_MS, /ready warns; back up: they recover and deliver', async () => {
    world = await startPullWorld();
    gw = await startGateway(world.env);
    const w = world;
    const g = gw;
    await w.sim.setDown(true);
    const down = await eventually(async () => {
      const check = await exchangesCheck(g.url);
      const pollers = check?.pollers ?? [];
      return pollers.length > 0 && pollers.every((p) => p.failures >= 3 && p.delayMs === 200) ? check : null;
    }, 'every poller failing and backed off to the maximum');
    expect(down.status).toBe('warn');
    expect(down.detail).toMatch(/cannot reach the exchange: .*network/);
    // One warning per poller when the exchange goes away (then every 10th failure), not one per attempt.
    const warnings = g.logs.filter((l) => l.msg === 'polling the exchange failed; backing off');
    expect(warnings.length).toBeGreaterThanOrEqual(down.pollers!.length);
    expect(warnings.length).toBeLessThan(down.pollers!.length * 3);

    await w.sim.setDown(false);
    const contentXml = g.gateway.catalogue.get('advertising-permit')!.request.toXml(serviceExample('advertising-permit'));
    const sent = await w.portal.sendRequest({ contentXml });
    expect(sent.status).toBe(200);
    await eventually(() => inboxHas(g.url, sent.messageId), 'the application delivered after the outage');
    await w.sim.waitFor((s) => s.message(sent.messageId)?.state === 'acked');
    await eventually(async () => (await exchangesCheck(g.url))?.status === 'pass', '/ready passing again');
    expect(g.logs.some((l) => l.msg === 'exchange answers again; polling resumes')).toBe(true);
  });

  it("a delivery not signed by the registered exchange: Ack accepted=false, journaled, nothing stored", async () => {
    // The registry names another certificate (same CA) than the one the simulator signs with.
    world = await startPullWorld({ registryCertPem: issuedSigner('not-the-exchange').certPem });
    gw = await startGateway(world.env);
    const contentXml = gw.gateway.catalogue.get('kindergarten-enrollment')!.request.toXml(serviceExample('kindergarten-enrollment'));
    const sent = await world.portal.sendRequest({ contentXml });
    await world.sim.waitFor((s) => s.message(sent.messageId)?.state === 'acked', 10_000);
    expect(world.sim.message(sent.messageId)).toMatchObject({ accepted: false, deliveries: 1 });
    expect(await inboxHas(gw.url, sent.messageId)).toBe(false);
    const journal = (await (await fetch(`${gw.url}/api/v1/journal?messageId=${sent.messageId}`, { headers: OPS })).json()) as { items: Array<{ operation: string; succeeded: boolean; faultCode: string | null }> };
    expect(journal.items).toEqual(expect.arrayContaining([expect.objectContaining({ operation: 'GetRequest', succeeded: false, faultCode: 'SignatureVerificationFault' })]));
  });

  it('a clean shutdown stops every poller: no request reaches the exchange after close()', async () => {
    world = await startPullWorld();
    gw = await startGateway(world.env);
    const w = world;
    await w.sim.waitFor((s) => s.counts.emptyPolls >= 8);
    await gw.close();
    gw = null;
    const attempts = w.sim.counts.attempts;
    await new Promise((r) => setTimeout(r, 600));
    expect(w.sim.counts.attempts).toBe(attempts);
  });
});
