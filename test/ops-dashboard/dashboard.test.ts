/**
 * The live ops dashboard (GET /ops) in a real headless Chromium (Debian's
 * chromium driven by playwright-core), against a real gateway and the portal
 * simulator: it asks for the token, draws the flow and the queues, updates by
 * itself when a message arrives, finds an application by its registration
 * number and shows its trail, shows a dead delivery with a Replay button that
 * works — and the browser's console stays clean. The last step writes the
 * README's screenshot, docs/ops-dashboard.png.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { EVIDENCE } from '../../src/journal/records.js';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/catalogue/load.js';
import { parseCertificate } from '../../src/pki/certificate.js';
import { TrustAnchorSet } from '../../src/pki/trust.js';
import { PortalSimulator } from '../../src/simulators/portal.js';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { CITY, OPS, postSoap, sampleSigner, signedSendRequest } from '../helpers/smev.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = path.join(projectRoot, 'docs/ops-dashboard.png');
const catalogue = loadCatalogue(path.join(projectRoot, 'config/services'));
const trust = new TrustAnchorSet([readFileSync(path.join(projectRoot, 'certs-sample/ca.crt.pem'), 'utf8')]);
const gatewayFingerprint = parseCertificate(readFileSync(path.join(projectRoot, 'certs-sample/gateway.crt.pem'), 'utf8')).fingerprintSha256;
const FAST_DELIVERY = { DELIVERY_BACKOFF_MS: '50', DELIVERY_BACKOFF_CAP_MS: '200', DELIVERY_TIMEOUT_MS: '1000', DELIVERY_MAX_ATTEMPTS: '5' };
/** How long the page may take to show something by itself (the stream is live; polls run every 3 s). */
const UI_MS = 8_000;

async function submitApplication(url: string, orderId: number): Promise<{ applicationId: string; registrationNumber: string; messageId: string; xml: string }> {
  const service = 'advertising-permit';
  const example = { ...(JSON.parse(readFileSync(path.join(projectRoot, 'config/services', service, 'example.request.person.json'), 'utf8')) as object), orderId };
  const { xml, messageId } = await signedSendRequest({ catalogue, service, content: example });
  const res = await postSoap(url, xml);
  expect(res.status, res.body).toBe(200);
  const inbox = (await (await fetch(`${url}/api/v1/inbox?limit=500`, { headers: CITY })).json()) as { items: Array<{ messageId: string; applicationId: string; registrationNumber: string }> };
  const item = inbox.items.find((i) => i.messageId === messageId)!;
  return { applicationId: item.applicationId, registrationNumber: item.registrationNumber, messageId, xml };
}

async function setStatus(url: string, applicationId: string, code: string): Promise<string> {
  const res = await fetch(`${url}/api/v1/applications/${applicationId}/status`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/json' }, body: JSON.stringify({ code }) });
  const body = (await res.json()) as { deliveryId: string };
  expect(res.status, JSON.stringify(body)).toBe(202);
  return body.deliveryId;
}

async function deliveryState(url: string, id: string): Promise<string> {
  return ((await (await fetch(`${url}/api/v1/deliveries/${id}`, { headers: OPS })).json()) as { state: string }).state;
}

async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: last ${JSON.stringify(v)}`);
    await sleep(50);
  }
}

describe('GET /ops: the live dashboard in headless Chromium', () => {
  let portal: PortalSimulator;
  let gw: RunningGateway;
  let browser: Browser;
  let page: Page;
  /** Console errors and warnings, page errors, failed requests: the page must make none. */
  const problems: string[] = [];
  let app: { applicationId: string; registrationNumber: string; messageId: string; xml: string };

  beforeAll(async () => {
    // Never skipped: a machine without the browser fails here, saying how to get it.
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium with \`apt-get install -y chromium\` (.ci/run does this); the ops dashboard is tested in it`);
    portal = await PortalSimulator.start({ port: 0, trust, expectedSigner: gatewayFingerprint, signer: sampleSigner('portal'), catalogue });
    gw = await startGateway({ PORTAL_URL: `${portal.url}/ws/smev3`, ...FAST_DELIVERY });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, locale: 'ru-RU', acceptDownloads: true });
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => {
      if (!r.url().endsWith('/api/v1/ops/events')) problems.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText ?? ''}`);
    });
  });

  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await portal?.close();
  });

  it('serves one self-contained page with a strict Content-Security-Policy; the API wants the ops role', async () => {
    const res = await fetch(`${gw.url}/ops`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'sha256-[^']+'; style-src 'sha256-[^']+'; connect-src 'self'/);
    const html = await res.text();
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+stylesheet|https?:\/\/(?!www\.w3\.org)/);
    for (const route of ['/api/v1/ops/queues', '/api/v1/ops/events', '/api/v1/ops/search?q=x', '/api/v1/ops/applications/x/trail']) {
      expect((await fetch(`${gw.url}${route}`)).status, route).toBe(401);
      expect((await fetch(`${gw.url}${route}`, { headers: CITY })).status, route).toBe(403);
    }
    const queues = (await (await fetch(`${gw.url}/api/v1/ops/queues`, { headers: OPS })).json()) as { queues: Array<{ name: string; dead: number }> };
    expect(queues.queues.map((q) => q.name)).toEqual(['portal-status', 'agency-queries', 'query-deadlines', 'city-responses', 'city-webhook']);
    const openapi = (await (await fetch(`${gw.url}/docs/json`)).json()) as { paths: Record<string, Record<string, { tags?: string[] }>> };
    for (const p of ['/api/v1/ops/events', '/api/v1/ops/queues', '/api/v1/ops/search', '/api/v1/ops/applications/{id}/trail']) expect(openapi.paths[p]?.get?.tags, p).toEqual(['operations']);
    expect(openapi.paths['/ops']).toBeUndefined();
  });

  it('streams a snapshot first, then one event per exchange', async () => {
    const ctrl = new AbortController();
    const res = await fetch(`${gw.url}/api/v1/ops/events`, { headers: OPS, signal: ctrl.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const read = async (pattern: RegExp) => {
      while (!pattern.test(text)) {
        const r = await reader.read();
        if (r.done) throw new Error(`stream ended before ${pattern}: ${text}`);
        text += r.value;
      }
    };
    await read(/^event: snapshot\ndata: .*\n\n/);
    const snapshot = JSON.parse(/^event: snapshot\ndata: (.*)\n\n/.exec(text)![1]!) as { partners: Array<{ id: string; role: string }>; buckets: unknown[] };
    expect(snapshot.partners.map((p) => `${p.id}:${p.role}`)).toEqual(['portal:portal', 'agency:agency']);
    const bad = await postSoap(gw.url, '<not-soap/>');
    expect(bad.status).toBeGreaterThanOrEqual(400);
    await read(/event: message\ndata: .*"outcome":"fault".*\n\n/);
    ctrl.abort();
    await reader.cancel().catch(() => {});
  });

  it('closing the gateway ends open streams instead of waiting for them', async () => {
    const other = await startGateway();
    const res = await fetch(`${other.url}/api/v1/ops/events`, { headers: OPS });
    const reader = res.body!.getReader();
    await reader.read();
    const started = Date.now();
    await other.close();
    expect((await reader.read().catch(() => ({ done: true }))).done).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('asks for the ops token, then shows the flow picture, the partners and the queues', async () => {
    await page.goto(`${gw.url}/ops`);
    await page.getByLabel(/Ops token/).fill('dev-ops-token');
    await page.getByRole('button', { name: /Sign in/ }).click();
    await page.locator('#board').waitFor({ state: 'visible', timeout: UI_MS });
    await page.locator('#live.on').waitFor({ timeout: UI_MS });
    for (const id of ['gateway', 'portal', 'city', 'agency']) await page.locator(`#flow [data-node="${id}"]`).waitFor({ timeout: UI_MS });
    for (const id of ['in:portal', 'out:portal', 'city', 'in:agency', 'out:agency']) await page.locator(`#flow [data-edge="${id}"]`).waitFor({ timeout: UI_MS });
    expect(await page.locator('#flow').getAttribute('role')).toBe('img');
    for (const q of ['portal-status', 'agency-queries', 'query-deadlines', 'city-responses', 'city-webhook']) await page.locator(`#queues-body tr[data-queue="${q}"]`).waitFor({ timeout: UI_MS });
    await page.locator('#rates-body tr[data-partner="portal"]').waitFor({ timeout: UI_MS });
    // The token stays in the tab: a reload does not ask again.
    expect(await page.evaluate(() => sessionStorage.getItem('okno.opsToken'))).toBe('dev-ops-token');
    await page.reload();
    await page.locator('#live.on').waitFor({ timeout: UI_MS });
    expect(await page.locator('#login').isHidden()).toBe(true);
  });

  it('updates by itself when a new message arrives', async () => {
    app = await submitApplication(gw.url, 7100000001);
    const row = page.locator(`#events-body tr[data-message-id="${app.messageId}"]`);
    await row.waitFor({ timeout: UI_MS });
    expect(await row.textContent()).toMatch(/SendRequest.*принято \/ accepted.*/s);
    expect(await row.textContent()).toContain(app.registrationNumber);
    await expect.poll(() => page.locator('#rates-body tr[data-partner="portal"] td').first().textContent(), { timeout: UI_MS }).toMatch(/^[1-9]\d* · [1-9]/);
    await expect.poll(() => page.locator('#flow [data-edge="in:portal"] text').textContent(), { timeout: UI_MS }).toMatch(/^[1-9]/);
  });

  it('finds the application by its registration number and shows its trail', async () => {
    await page.getByLabel(/Message id or registration number/).fill(app.registrationNumber);
    await page.getByRole('button', { name: /Find/ }).click();
    const received = page.locator(`#trail ol[data-application="${app.applicationId}"] li[data-kind="received"]`);
    await received.waitFor({ timeout: UI_MS });
    expect(await received.textContent()).toMatch(/received/);
    expect(await received.textContent()).toContain(app.messageId);

    // The API behind it: by registration number, by MessageID, by application id; nothing for an unknown one.
    for (const q of [app.registrationNumber, app.messageId, app.applicationId, ` ${app.registrationNumber.toLowerCase()} `]) {
      const r = (await (await fetch(`${gw.url}/api/v1/ops/search?q=${encodeURIComponent(q)}`, { headers: OPS })).json()) as { applicationId: string | null };
      expect(r.applicationId, q).toBe(app.applicationId);
    }
    const none = (await (await fetch(`${gw.url}/api/v1/ops/search?q=${encodeURIComponent('РК-1999-000000')}`, { headers: OPS })).json()) as { applicationId: string | null; matches: unknown[] };
    expect(none).toMatchObject({ applicationId: null, matches: [] });
    expect((await fetch(`${gw.url}/api/v1/ops/applications/00000000-0000-0000-0000-000000000000/trail`, { headers: OPS })).status).toBe(404);
  });

  it("leads from an event to its journal record; the envelope downloads byte for byte with its verdict", async () => {
    const row = page.locator(`#events-body tr[data-message-id="${app.messageId}"]`);
    await row.locator('[data-journal-event]').click();
    const proof = page.locator('#proof dl[data-record]');
    await proof.waitFor({ timeout: UI_MS });
    const recordId = (await proof.getAttribute('data-record'))!;
    expect(await proof.textContent()).toContain(app.messageId);
    const request = page.locator('#proof .envelope[data-part="request"]');
    await request.locator('[data-verdict="valid"]').waitFor({ timeout: UI_MS });
    expect(await request.textContent()).toMatch(/CallerInformationSystemSignature · подписал \/ signed by portal/);
    await page.locator('#proof .envelope[data-part="response"] [data-verdict="valid"]').waitFor({ timeout: UI_MS });
    // Sealed within about a second: the panel says so once reopened.
    await expect.poll(async () => {
      await row.locator('[data-journal-event]').click();
      await page.locator('#proof [data-seal]').waitFor({ timeout: UI_MS });
      return page.locator('#proof [data-seal]').getAttribute('data-seal');
    }, { timeout: UI_MS }).toBe('intact');

    const [download] = await Promise.all([page.waitForEvent('download', { timeout: UI_MS }), page.locator('#proof .envelope[data-part="request"] [data-download]').click()]);
    expect(download.suggestedFilename()).toBe(`okno-inbound-SendRequest-${recordId}.request.xml`);
    const bytes = readFileSync((await download.path())!);
    const stored = (await gw.gateway.store.getBlob(EVIDENCE, `${recordId}.request`))!;
    expect(bytes.equals(stored)).toBe(true);
    expect(bytes.equals(Buffer.from(app.xml, 'utf8'))).toBe(true);
    expect(await request.textContent()).toContain((await import('node:crypto')).createHash('sha256').update(bytes).digest('hex'));
    // The trail's received entry leads to the same record.
    await page.locator(`#trail li[data-kind="received"] [data-journal="${recordId}"]`).waitFor({ timeout: UI_MS });
  });

  it('shows a status change in the trail with its delivery, without being asked', async () => {
    const deliveryId = await setStatus(gw.url, app.applicationId, 'registered');
    const status = page.locator('#trail li[data-kind="status"]').filter({ hasText: 'registered' });
    await status.waitFor({ timeout: UI_MS });
    await expect.poll(() => status.textContent(), { timeout: UI_MS }).toMatch(/доставлено \/ delivered/);
    expect(await deliveryState(gw.url, deliveryId)).toBe('delivered');

    const trail = (await (await fetch(`${gw.url}/api/v1/ops/applications/${app.applicationId}/trail`, { headers: OPS })).json()) as { entries: Array<{ kind: string; title: string; at: string; delivery: { state: string; deliveredAt: string | null } | null }> };
    expect(trail.entries.map((e) => (e.kind === 'status' ? `status:${e.title}` : e.kind))).toEqual(['received', 'status:registered']);
    expect(trail.entries[1]!.delivery).toMatchObject({ state: 'delivered' });
    expect(trail.entries.map((e) => e.at)).toEqual([...trail.entries.map((e) => e.at)].sort());
  });

  it('shows a dead delivery with a Replay button; replaying delivers it and it leaves the list', async () => {
    portal.failNext(1, 'fault:InvalidContent');
    const deliveryId = await setStatus(gw.url, app.applicationId, 'in_progress');
    await until('dead', () => deliveryState(gw.url, deliveryId), (s) => s === 'failed');
    const row = page.locator(`#dead-body tr[data-delivery="${deliveryId}"]`);
    const button = row.getByRole('button', { name: /Replay/ });
    await button.waitFor({ timeout: UI_MS });
    expect(await row.textContent()).toMatch(/InvalidContent/);
    // The portal edge turns red, and the trail shows the failure.
    await page.locator('#flow [data-edge="out:portal"].fault').waitFor({ timeout: UI_MS });
    await page.locator('#trail li.failed[data-kind="status"]').filter({ hasText: 'in_progress' }).waitFor({ timeout: UI_MS });

    await button.click();
    await row.waitFor({ state: 'detached', timeout: UI_MS });
    await until('delivered', () => deliveryState(gw.url, deliveryId), (s) => s === 'delivered');
    const entry = page.locator('#trail li[data-kind="status"]').filter({ hasText: 'in_progress' });
    await expect.poll(() => entry.textContent(), { timeout: UI_MS }).toMatch(/доставлено \/ delivered/);
    await expect.poll(() => page.locator('#dead-body').textContent(), { timeout: UI_MS }).toMatch(/Nothing stuck/);
    // Not "attempts 1, delivered" alone: it says it was dead, and lists both attempts with their journal records.
    await entry.locator('[data-history="replay"]').waitFor({ timeout: UI_MS });
    expect(await entry.locator('[data-history="replay"]').textContent()).toMatch(/было мёртвым \/ was dead.*after attempts: 1.*replayed/s);
    expect(await entry.locator('.attempts').first().textContent()).toMatch(/attempts: 1 \(всего \/ in all 2\)/);
    await expect.poll(() => entry.locator('ul.attempts li').count(), { timeout: UI_MS }).toBe(2);
    expect(await entry.locator('ul.attempts li').first().textContent()).toMatch(/attempt 1.*✗ InvalidContent/s);
    expect(await entry.locator('ul.attempts li').nth(1).textContent()).toMatch(/attempt 2.*✓/s);
    await entry.locator('ul.attempts li').first().locator('[data-journal]').click();
    await page.locator('#proof .envelope[data-part="request"] [data-verdict="valid"]').waitFor({ timeout: UI_MS });
    expect(await page.locator('#proof .envelope[data-part="request"]').textContent()).toMatch(/signed by gateway/);
    expect(await page.locator('#proof dl').textContent()).toMatch(/ошибка \/ failed: InvalidContent/);
  });

  it('discards a dead delivery only after a confirmation; the trail says it was discarded', async () => {
    portal.failNext(1, 'fault:InvalidContent');
    const deliveryId = await setStatus(gw.url, app.applicationId, 'waiting_for_answers');
    await until('dead', () => deliveryState(gw.url, deliveryId), (s) => s === 'failed');
    const row = page.locator(`#dead-body tr[data-delivery="${deliveryId}"]`);
    const discard = row.getByRole('button', { name: /Discard/ });
    await discard.waitFor({ timeout: UI_MS });
    await row.getByRole('button', { name: /Replay/ }).waitFor();
    // Cancel: nothing happens.
    await discard.click();
    const dialog = page.getByRole('dialog', { name: /Discard the delivery/ });
    await dialog.waitFor({ timeout: UI_MS });
    expect(await dialog.textContent()).toContain(app.registrationNumber);
    await dialog.getByRole('button', { name: /Cancel/ }).click();
    await dialog.waitFor({ state: 'hidden', timeout: UI_MS });
    expect(await deliveryState(gw.url, deliveryId)).toBe('failed');
    expect(await row.count()).toBe(1);
    // Confirm: discarded, gone from the list, and the trail keeps the story.
    await discard.click();
    await dialog.getByRole('button', { name: /^Отказаться \/ Discard$/ }).click();
    await row.waitFor({ state: 'detached', timeout: UI_MS });
    const entry = page.locator('#trail li[data-kind="status"]').filter({ hasText: 'waiting_for_answers' });
    await entry.locator('[data-state="discarded"]').waitFor({ timeout: UI_MS });
    await entry.locator('[data-history="discard"]').waitFor({ timeout: UI_MS });
  });

  it('a stuck delivery (retrying, not dead yet) gets Discard too, behind a confirmation; the trail says it was stuck', async () => {
    // A gateway of its own whose next attempt is ten minutes away: the delivery stays stuck while the test looks.
    const slow = await startGateway({ PORTAL_URL: `${portal.url}/ws/smev3`, DELIVERY_BACKOFF_MS: '600000', DELIVERY_BACKOFF_CAP_MS: '600000', DELIVERY_TIMEOUT_MS: '1000' });
    const other = await browser.newPage({ viewport: { width: 1400, height: 1000 }, locale: 'ru-RU' });
    other.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()} (stuck): ${m.text()}`);
    });
    other.on('pageerror', (e) => problems.push(`page error (stuck): ${e.message}`));
    try {
      const a = await submitApplication(slow.url, 7100000003);
      portal.failNext(1, 'http:503');
      const deliveryId = await setStatus(slow.url, a.applicationId, 'registered');
      await until('retrying', async () => (await (await fetch(`${slow.url}/api/v1/deliveries/${deliveryId}`, { headers: OPS })).json()) as { state: string; attempts: number }, (d) => d.state === 'pending' && d.attempts === 1);

      await other.goto(`${slow.url}/ops`);
      await other.getByLabel(/Ops token/).fill('dev-ops-token');
      await other.getByRole('button', { name: /Sign in/ }).click();
      const row = other.locator(`#dead-body tr[data-delivery="${deliveryId}"]`);
      await row.waitFor({ timeout: UI_MS });
      expect(await row.textContent()).toMatch(/повторяется \/ retrying/);
      expect(await row.getByRole('button', { name: /Replay/ }).count()).toBe(0);
      const discard = row.getByRole('button', { name: /Discard/ });
      await discard.click();
      const dialog = other.getByRole('dialog', { name: /Discard the delivery/ });
      await dialog.waitFor({ timeout: UI_MS });
      expect(await dialog.textContent()).toMatch(/1 attempts so far; no more will be made/);
      await dialog.getByRole('button', { name: /Cancel/ }).click();
      await dialog.waitFor({ state: 'hidden', timeout: UI_MS });
      expect(await deliveryState(slow.url, deliveryId)).toBe('pending');
      await discard.click();
      await dialog.getByRole('button', { name: /^Отказаться \/ Discard$/ }).click();
      await row.waitFor({ state: 'detached', timeout: UI_MS });
      expect(await deliveryState(slow.url, deliveryId)).toBe('failed');
      // Gone from the queue: a second discard is refused, and says why.
      const again = await fetch(`${slow.url}/api/v1/ops/deliveries/${deliveryId}/discard`, { method: 'POST', headers: OPS });
      expect(again.status).toBe(409);
      expect(await again.text()).toMatch(/NOT_DISCARDABLE/);

      await other.getByLabel(/Message id or registration number/).fill(a.registrationNumber);
      await other.getByRole('button', { name: /Find/ }).click();
      const entry = other.locator('#trail li[data-kind="status"]').filter({ hasText: 'registered' });
      await entry.locator('[data-state="discarded"]').waitFor({ timeout: UI_MS });
      expect(await entry.locator('[data-history="discard"]').textContent()).toMatch(/застряло \/ was stuck.*after attempts: 1.*discarded/s);
    } finally {
      await other.close();
      await slow.close();
    }
  });

  it('filters the events list by partner, service, direction and outcome', async () => {
    const rows = page.locator('#events-body tr[data-direction]');
    const all = await rows.count();
    expect(all).toBeGreaterThan(3);
    const attrs = () => rows.evaluateAll((trs) => trs.map((tr) => ({ partner: tr.getAttribute('data-partner'), service: tr.getAttribute('data-service'), direction: tr.getAttribute('data-direction'), outcome: tr.getAttribute('data-outcome') })));
    await page.locator('#f-direction').selectOption('outbound');
    await expect.poll(async () => (await attrs()).every((r) => r.direction === 'outbound') && (await rows.count()) > 0, { timeout: UI_MS }).toBe(true);
    await page.locator('#f-direction').selectOption('inbound');
    await page.locator('#f-outcome').selectOption('fault');
    await expect.poll(async () => (await attrs()).map((r) => `${r.direction}:${r.outcome}:${r.partner}`), { timeout: UI_MS }).toEqual(expect.arrayContaining(['inbound:fault:(unknown)']));
    expect((await attrs()).every((r) => r.direction === 'inbound' && r.outcome === 'fault')).toBe(true);
    await page.locator('#f-outcome').selectOption('');
    await page.locator('#f-partner').selectOption('portal');
    await page.locator('#f-service').selectOption('advertising-permit');
    await expect.poll(async () => (await attrs()).every((r) => r.partner === 'portal' && r.service === 'advertising-permit' && r.direction === 'inbound'), { timeout: UI_MS }).toBe(true);
    expect(await rows.count()).toBeGreaterThan(0);
    expect(await page.locator('#filter-count').textContent()).toMatch(/показано \/ shown \d+ из \/ of \d+/);
    // A new event that does not match stays out of the list until the filter is cleared.
    await postSoap(gw.url, '<not-soap/>');
    await sleep(500);
    expect((await attrs()).every((r) => r.partner === 'portal')).toBe(true);
    await page.getByRole('button', { name: /Clear/ }).click();
    await expect.poll(() => rows.count(), { timeout: UI_MS }).toBeGreaterThan(all);
  });

  it('draws 24-hour charts per partner from the series kept in the store', async () => {
    const messages = page.locator('#charts-body tr[data-series="portal"] svg[data-chart="portal:messages"]');
    await expect.poll(async () => Number(await messages.getAttribute('data-total', { timeout: UI_MS })), { timeout: 10_000 }).toBeGreaterThanOrEqual(4);
    const errors = page.locator('svg[data-chart="portal:errors"]');
    // Two refused status messages so far (in_progress, waiting_for_answers); the page refreshes its charts a few seconds after events.
    await expect.poll(async () => Number(await errors.getAttribute('data-total')), { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    expect(Number(await page.locator('svg[data-chart="portal:p95"]').getAttribute('data-total'))).toBeGreaterThan(0);
    expect(await messages.getAttribute('aria-label')).toMatch(/portal: сообщений \/ messages за 24 ч \/ in 24 h: \d+/);
    expect(await messages.locator('path').getAttribute('d')).toMatch(/^M0,\d+ L/);
    await page.locator('#charts-body tr[data-series="(unknown)"]').waitFor({ timeout: UI_MS });
  });

  it('made no console errors, page errors or failed requests; the screenshot goes to docs/', async () => {
    // A little more traffic for the picture: a second application and a message from nobody we know.
    const second = await submitApplication(gw.url, 7100000002);
    await postSoap(gw.url, '<not-soap/>');
    await page.locator(`#events-body tr[data-message-id="${second.messageId}"]`).waitFor({ timeout: UI_MS });
    portal.failNext(1, 'fault:InvalidContent');
    const dead = await setStatus(gw.url, second.applicationId, 'registered');
    await page.locator(`#dead-body tr[data-delivery="${dead}"]`).getByRole('button', { name: /Replay/ }).waitFor({ timeout: UI_MS });
    await page.getByLabel(/Message id or registration number/).fill(app.registrationNumber);
    await page.getByRole('button', { name: /Find/ }).click();
    await page.locator('#trail li[data-kind="status"]').nth(1).waitFor({ timeout: UI_MS });
    await page.locator('#queues-body tr[data-queue="portal-status"] td.bad').waitFor({ timeout: UI_MS });
    // The evidence of the latest status delivery, open beside the trail.
    await page.locator('#trail li[data-kind="status"] [data-journal]').first().click();
    await page.locator('#proof [data-verdict]').first().waitFor({ timeout: UI_MS });
    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true, animations: 'disabled' });
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(10_000);
    expect(problems).toEqual([]);
  });
});
