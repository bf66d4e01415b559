/**
 * The ops dashboard with X-Road / Trembita partners, in headless Chromium
 * against a real gateway on the Kyiv-style registry (config/partners.xroad.json):
 * the X-Road agencies are drawn beside the SMEV portal with their dialect,
 * protocol and subsystem; an application that came through Trembita REST shows
 * up live, and its proof names the client, the service, the message id and every
 * Uxp header, with the verdict "signed by the Security Servers".
 */
import { existsSync, readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';

const CHROMIUM = '/usr/bin/chromium';
const UI_MS = 8_000;
const CLIENT = 'SEVDEIR-TEST/GOV/12345678/registry';

describe('GET /ops with X-Road partners', () => {
  let gw: RunningGateway;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium with \`apt-get install -y chromium\` (.ci/run does this); the ops dashboard is tested in it`);
    gw = await startGateway({ PARTNERS_FILE: path.join(projectRoot, 'config/partners.xroad.json'), LOG_LEVEL: 'warn' });
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
  });

  it('draws the X-Road agencies with dialect, protocol and subsystem; a Trembita application shows up live and proves itself', async () => {
    await page.goto(`${gw.url}/ops`);
    await page.locator('#token').fill('dev-ops-token');
    await page.getByRole('button', { name: /Sign in/ }).click();
    await page.locator('#live.on').waitFor({ timeout: UI_MS });
    const registry = page.locator('#flow [data-node="kyiv-registry"]');
    await registry.waitFor({ timeout: UI_MS });
    expect(await registry.getAttribute('class')).toMatch(/xroad/);
    expect(await registry.textContent()).toMatch(/Трембіта \/ Trembita \(SOAP\)/);
    expect(await page.locator('#flow [data-node="kyiv-tax"]').textContent()).toMatch(/Trembita \(REST\)/);
    expect(await page.locator('#flow [data-node="portal"]').getAttribute('class')).not.toMatch(/xroad/);
    expect(await page.locator(`#rates-body tr[data-partner="kyiv-registry"] [data-xroad="${CLIENT}"]`).count()).toBe(1);

    const id = randomUUID();
    const data = JSON.parse(readFileSync(path.join(projectRoot, 'config/services/kindergarten-enrollment/example.request.json'), 'utf8')) as unknown;
    const res = await fetch(`${gw.url}/xroad/rest/KindergartenEnrollment_v1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'uxp-client': CLIENT, 'uxp-service': 'SEVDEIR-TEST/GOV/44444444/okno/KindergartenEnrollment_v1', 'uxp-queryid': id, 'uxp-subject-id': 'UA-1234567890', 'uxp-purpose-ids': 'enrolment' },
      body: JSON.stringify(data),
    });
    expect(res.status, await res.clone().text()).toBe(201);

    const row = page.locator(`#events-body tr[data-message-id="${id}"]`);
    await row.waitFor({ timeout: UI_MS });
    expect(await row.getAttribute('data-partner')).toBe('kyiv-registry');
    await row.locator('[data-journal-event]').click();
    const proof = page.locator('#proof dl[data-record]');
    await proof.waitFor({ timeout: UI_MS });
    expect(await proof.locator('[data-xroad-client]').textContent()).toBe(CLIENT);
    expect(await proof.locator('[data-xroad-id]').textContent()).toBe(id);
    expect(await proof.locator('[data-xroad-header="uxp-purpose-ids"]').textContent()).toBe('uxp-purpose-ids: enrolment');
    expect(await proof.textContent()).toMatch(/Трембіта \/ Trembita.*REST/s);
    await page.locator('#proof .envelope[data-part="request"] [data-verdict="security-server"]').waitFor({ timeout: UI_MS });
    expect(await page.locator('#proof .envelope[data-part="request"]').textContent()).toMatch(/signed by the Security Servers/);
    expect(problems).toEqual([]);
  });
});
