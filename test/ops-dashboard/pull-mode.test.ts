/**
 * The ops dashboard in pull mode, in headless Chromium: the SMEV exchange is
 * a node of the flow picture, and the gateway's own Acks to it are counted as
 * the gateway's traffic with the exchange — not as "refused from unknown",
 * not red. An Ack event leads to its journal record like any other.
 */
import { existsSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { eventually, startPullWorld, type PullWorld } from '../helpers/pull.js';
import { CITY, OPS, serviceExample } from '../helpers/smev.js';

const CHROMIUM = '/usr/bin/chromium';
const UI_MS = 8_000;

describe('GET /ops in pull mode: the exchange is a node, the Acks are the gateway\'s own traffic', () => {
  let world: PullWorld;
  let gw: RunningGateway;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium with \`apt-get install -y chromium\` (.ci/run does this); the ops dashboard is tested in it`);
    world = await startPullWorld();
    gw = await startGateway(world.env);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, locale: 'ru-RU' });
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  });

  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await world?.sim.close();
  });

  it('draws the exchange, counts the Ack of a delivered application on its edge, and nothing as unknown', async () => {
    await page.goto(`${gw.url}/ops`);
    await page.locator('#token').fill('dev-ops-token');
    await page.getByRole('button', { name: /Sign in/ }).click();
    await page.locator('#live.on').waitFor({ timeout: UI_MS });
    await page.locator('#flow [data-node="exchange:smev"]').waitFor({ timeout: UI_MS });
    await page.locator('#flow [data-edge="x:smev"]').waitFor({ timeout: UI_MS });

    const contentXml = gw.gateway.catalogue.get('kindergarten-enrollment')!.request.toXml(serviceExample('kindergarten-enrollment'));
    const sent = await world.portal.sendRequest({ contentXml });
    expect(sent.status).toBe(200);
    await world.sim.waitFor((s) => s.message(sent.messageId)?.state === 'acked');
    await eventually(async () => ((await (await fetch(`${gw.url}/api/v1/inbox?limit=500`, { headers: CITY })).json()) as { items: Array<{ messageId: string }> }).items.some((i) => i.messageId === sent.messageId), 'the application in the inbox');

    const ack = page.locator(`#events-body tr[data-message-id="${sent.messageId}"][data-direction="outbound"]`);
    await ack.waitFor({ timeout: UI_MS });
    expect(await ack.getAttribute('data-partner')).toBe('exchange:smev');
    expect(await ack.textContent()).toMatch(/биржа \/ exchange smev.*Ack.*доставлено \/ delivered/s);
    await expect.poll(() => page.locator('#flow [data-edge="x:smev"] text').textContent(), { timeout: UI_MS }).toMatch(/^[1-9]\d*$/);
    expect(await page.locator('#flow [data-edge="x:smev"]').getAttribute('class')).not.toMatch(/fault/);
    expect(await page.locator('#flow text.unknown').textContent()).toBe('');
    await page.locator('#rates-body tr[data-partner="exchange:smev"]').waitFor({ timeout: UI_MS });
    expect(await page.locator('#rates-body tr[data-partner=""]').count()).toBe(0);
    // The polls are the gateway's own traffic too: counted beside the exchange, not listed as events, not red.
    await expect.poll(async () => Number(await page.locator('#flow [data-exchange-polls="smev"]').getAttribute('data-polls')), { timeout: UI_MS }).toBeGreaterThan(0);
    expect(await page.locator('#flow [data-exchange-polls="smev"]').getAttribute('class')).not.toMatch(/bad/);
    expect(await page.locator('#events-body tr td', { hasText: /^GetRequest$/ }).count()).toBe(1);
    // The inbound message is the portal's, through the exchange.
    const inbound = page.locator(`#events-body tr[data-message-id="${sent.messageId}"][data-direction="inbound"]`);
    expect(await inbound.getAttribute('data-partner')).toBe('portal');

    // The Ack leads to its journal record: the Ack the gateway sent, signed by it.
    await ack.locator('[data-journal-event]').click();
    await page.locator('#proof dl[data-record]').waitFor({ timeout: UI_MS });
    expect(await page.locator('#proof dl').textContent()).toMatch(/исх\. \/ out Ack/);
    await page.locator('#proof .envelope[data-part="request"] [data-verdict]').waitFor({ timeout: UI_MS });
    expect(await page.locator('#proof .envelope[data-part="request"]').textContent()).toMatch(/signed by gateway/);
    expect(problems).toEqual([]);
    await page.locator('#flow').screenshot({ path: path.join(projectRoot, 'docs/ops-dashboard-pull.png'), animations: 'disabled' });
  });

  it('the event stream names the exchanges and each pull partner\'s exchange; the series count the Acks under the exchange', async () => {
    // On a connection of its own, destroyed after the snapshot.
    const text = await new Promise<string>((resolve, reject) => {
      const req = httpGet(`${gw.url}/api/v1/ops/events`, { headers: OPS, agent: false }, (res) => {
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          if (/\n\n/.test(buf)) {
            req.destroy();
            resolve(buf);
          }
        });
      });
      req.on('error', (e) => (/socket hang up|aborted/.test(e.message) ? undefined : reject(e)));
    });
    const snapshot = JSON.parse(/^event: snapshot\ndata: (.*)\n\n/.exec(text)![1]!) as { exchanges: Array<{ id: string }>; partners: Array<{ id: string; exchange: string | null }>; buckets: Array<{ partner: string | null; exchange: string | null }> };
    expect(snapshot.exchanges.map((x) => x.id)).toEqual(['smev']);
    expect(snapshot.partners.map((p) => `${p.id}:${p.exchange}`)).toEqual(['portal:smev', 'agency:smev']);
    expect(snapshot.buckets.some((b) => b.partner === null && b.exchange === 'smev')).toBe(true);
    expect(snapshot.buckets.some((b) => b.partner === null && b.exchange === null)).toBe(false);
    const series = (await (await fetch(`${gw.url}/api/v1/ops/series?hours=1`, { headers: OPS })).json()) as { partners: Array<{ partner: string; points: Array<{ messages: number; errors: number }> }> };
    const line = series.partners.find((p) => p.partner === 'exchange:smev')!;
    expect(line.points.reduce((n, p) => n + p.messages, 0)).toBeGreaterThanOrEqual(1);
    expect(line.points.reduce((n, p) => n + p.errors, 0)).toBe(0);
    expect(series.partners.some((p) => p.partner === '(unknown)')).toBe(false);

    const polls = (await (await fetch(`${gw.url}/api/v1/ops/exchanges`, { headers: OPS })).json()) as { exchanges: Array<{ id: string; polls5m: number; failed5m: number; lastPollAt: string | null }> };
    expect(polls.exchanges).toEqual([expect.objectContaining({ id: 'smev', failed5m: 0 })]);
    expect(polls.exchanges[0]!.polls5m).toBeGreaterThan(3);
    expect(Date.parse(polls.exchanges[0]!.lastPollAt!)).toBeGreaterThan(Date.now() - 60_000);
    for (const headers of [{}, CITY]) expect((await fetch(`${gw.url}/api/v1/ops/exchanges`, { headers })).status).toBe(headers === CITY ? 403 : 401);
  });
});
