/**
 * The ops dashboard in pull mode, in headless Chromium: the SMEV exchange is
 * a node of the flow picture, and the gateway's own Acks to it are counted as
 * the gateway's traffic with the exchange — not as "refused from unknown",
 * not red. An Ack event leads to its journal record like any other.
 */
import { existsSync, readFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { eventually, startPullWorld, type PullWorld } from '../helpers/pull.js';
import { CITY, OPS, serviceExample } from '../helpers/smev.js';

const CHROMIUM = '/usr/bin/chromium';
const UI_MS = 8_000;
const VISIBILITY_MS = 1_000;
const DEAD_SCREENSHOT = path.join(projectRoot, 'docs/ops-dashboard-dead-exchange.png');

/** A request of the service nested so deep that its SendRequest parses (depth 127) but the exchange's delivery, two levels deeper, does not. */
function tooDeepWhenDelivered(g: RunningGateway, levels = 121): string {
  const { namespace, rootElement } = g.gateway.catalogue.get('kindergarten-enrollment')!.request;
  return `<d:${rootElement} xmlns:d="${namespace}">${'<d:n>'.repeat(levels)}x${'</d:n>'.repeat(levels)}</d:${rootElement}>`;
}

describe('GET /ops in pull mode: the exchange is a node, the Acks are the gateway\'s own traffic', () => {
  let world: PullWorld;
  let gw: RunningGateway;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium with \`apt-get install -y chromium\` (.ci/run does this); the ops dashboard is tested in it`);
    // A short visibility timeout and PULL_MAX_TRIES=2: a message the gateway cannot process is dead within seconds.
    world = await startPullWorld({ visibilityTimeoutMs: VISIBILITY_MS });
    gw = await startGateway({ ...world.env, PULL_MAX_TRIES: '2' });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, locale: 'ru-RU', acceptDownloads: true });
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
  it('lists a message the gateway cannot process as dead after PULL_MAX_TRIES tries; Ack stops the exchange delivering it, RequestRejected reaches the sender', async () => {
    const forAck = await world.portal.sendRequest({ contentXml: tooDeepWhenDelivered(gw) });
    const forReject = await world.portal.sendRequest({ contentXml: tooDeepWhenDelivered(gw) });
    expect([forAck.status, forReject.status]).toEqual([200, 200]);
    await page.locator('#xdead-panel').waitFor({ state: 'visible', timeout: UI_MS });
    const ackRow = page.locator(`#xdead-body tr[data-message-id="${forAck.messageId}"]`);
    const rejectRow = page.locator(`#xdead-body tr[data-message-id="${forReject.messageId}"]`);
    await ackRow.waitFor({ timeout: 15_000 });
    await rejectRow.waitFor({ timeout: 15_000 });
    expect(await ackRow.textContent()).toMatch(/smev.*СМЭВ 3.*не читается \/ unreadable.*deeper than 128.*2/s);
    expect(await ackRow.locator('td.num').textContent()).toBe('2');
    // Dead, not acknowledged: the exchange still holds it.
    expect(world.sim.message(forAck.messageId)!.state).toBe('delivered');

    // The journal record keeps the bytes the exchange delivered.
    await ackRow.locator('[data-journal]').click();
    await page.locator('#proof dl[data-record]').waitFor({ timeout: UI_MS });
    expect(await page.locator('#proof dl').textContent()).toMatch(/GetRequest.*DeadExchangeMessage — unreadable after 2 tries/s);
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: UI_MS }), page.locator('#proof .envelope[data-part="request"] [data-download]').click()]);
    const bytes = readFileSync((await download.path())!, 'utf8');
    expect(bytes).toContain('GetRequestResponse');
    expect(bytes).toContain(`<t:MessageID>${forAck.messageId}</t:MessageID>`);
    await page.locator('#xdead-panel').screenshot({ path: DEAD_SCREENSHOT, animations: 'disabled' });

    // Ack, behind a confirmation: Cancel does nothing.
    const ack = ackRow.getByRole('button', { name: /Ack/ });
    await ack.click();
    const ackDialog = page.getByRole('dialog', { name: /Acknowledge the message/ });
    await ackDialog.waitFor({ timeout: UI_MS });
    expect(await ackDialog.textContent()).toContain(forAck.messageId);
    await ackDialog.getByRole('button', { name: /Cancel/ }).click();
    await ackDialog.waitFor({ state: 'hidden', timeout: UI_MS });
    expect(world.sim.message(forAck.messageId)!.state).toBe('delivered');
    await ack.click();
    await ackDialog.getByRole('button', { name: /^Подтвердить \/ Ack$/ }).click();
    await ackRow.waitFor({ state: 'detached', timeout: UI_MS });
    expect(world.sim.message(forAck.messageId)).toMatchObject({ state: 'acked', accepted: true });
    const deliveries = world.sim.message(forAck.messageId)!.deliveries;

    // RequestRejected, behind a confirmation: the sender gets it through the exchange.
    await rejectRow.getByRole('button', { name: /RequestRejected/ }).click();
    const rejectDialog = page.getByRole('dialog', { name: /Reject the request/ });
    await rejectDialog.waitFor({ timeout: UI_MS });
    await rejectDialog.getByRole('button', { name: /^Отказать \/ RequestRejected$/ }).click();
    await rejectRow.waitFor({ state: 'detached', timeout: UI_MS });
    expect(world.sim.message(forReject.messageId)!.state).toBe('acked');
    const rejection = await eventually(async () => {
      const r = await world.portal.poll('GetResponse');
      return r.message && !r.message.empty ? r : null;
    }, 'the RequestRejected at the portal');
    expect(rejection.text).toContain(`OriginalMessageId>${forReject.messageId}<`);
    expect(rejection.text).toMatch(/RequestRejected>.*RejectionReasonCode>FAILURE</s);
    await page.locator('#xdead-body td.empty').waitFor({ timeout: UI_MS });

    // Acknowledged: the exchange delivers it no more (two visibility timeouts later).
    await new Promise((r) => setTimeout(r, VISIBILITY_MS * 2));
    expect(world.sim.message(forAck.messageId)!.deliveries).toBe(deliveries);
    expect(problems).toEqual([]);
  });
});
