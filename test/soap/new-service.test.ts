/**
 * Adding a service is adding files, not code: a SERVICES_DIR with the shipped
 * services plus tree-felling-permit (a test fixture no code knows about) and a
 * partner registry that grants it to the portal are all a gateway needs to
 * accept it over SOAP and put it, translated, in the city's inbox.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Application } from '../../src/city/model.js';
import type { JsonValue } from '../../src/store/types.js';
import { readInbox } from '../helpers/city.js';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { CITY, faultOf, postSoap, signedSendRequest } from '../helpers/smev.js';

const SERVICE = 'tree-felling-permit';
const FIXTURE = path.join(projectRoot, 'test/fixtures/catalogue/new-service', SERVICE);
const example = JSON.parse(readFileSync(path.join(FIXTURE, 'example.request.json'), 'utf8')) as JsonValue;

interface PartnersFile {
  partners: Array<{ id: string; certificates: string[]; sends: string[] }>;
}

/** config/partners.json with absolute certificate paths (it now lives elsewhere), optionally granting the portal more. */
function partnersFile(dir: string, portalAlsoSends: string[]): string {
  const source = path.join(projectRoot, 'config/partners.json');
  const registry = JSON.parse(readFileSync(source, 'utf8')) as PartnersFile;
  for (const p of registry.partners) {
    p.certificates = p.certificates.map((c) => path.resolve(path.dirname(source), c));
    if (p.id === 'portal') p.sends = [...p.sends, ...portalAlsoSends];
  }
  const file = path.join(dir, 'partners.json');
  writeFileSync(file, JSON.stringify(registry, null, 2));
  return file;
}

describe('a new service from files only, end to end', () => {
  let dir: string;
  let servicesDir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'okno-new-service-'));
    servicesDir = path.join(dir, 'services');
    cpSync(path.join(projectRoot, 'config/services'), servicesDir, { recursive: true });
    cpSync(FIXTURE, path.join(servicesDir, SERVICE), { recursive: true });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  describe('granted to the portal', () => {
    let gw: RunningGateway;
    beforeAll(async () => {
      gw = await startGateway({ SERVICES_DIR: servicesDir, PARTNERS_FILE: partnersFile(dir, [SERVICE]) });
    });
    afterAll(() => gw.close());

    it('the gateway loaded it next to the shipped services and says so in /ready', async () => {
      expect(gw.gateway.catalogue.services.map((s) => s.id)).toContain(SERVICE);
      // Every shipped service, plus the new one.
      const shipped = readdirSync(path.join(projectRoot, 'config/services'), { withFileTypes: true }).filter((d) => d.isDirectory()).length;
      expect(gw.gateway.catalogue.services).toHaveLength(shipped + 1);
      const ready = (await (await fetch(`${gw.url}/ready`)).json()) as { checks: Array<{ name: string; detail: string }> };
      expect(ready.checks.find((c) => c.name === 'services')!.detail).toMatch(new RegExp(`^${shipped + 1} services: .*\\btree-felling-permit\\b`));
      expect(gw.logs.some((l) => l.service === SERVICE && /granted to no partner/.test(String(l.msg)))).toBe(false);
    });

    it('the portal submits the example → 200 requestIsQueued; the inbox has it translated exactly, numbered with the service\'s prefix', async () => {
      const { xml, messageId } = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: SERVICE, content: example });
      expect(xml).toContain('urn://x-artefacts-okno/municipal/tree-felling-permit/1.0.0');
      const res = await postSoap(gw.url, xml, { soapaction: 'urn:SendRequest' });
      expect(res.status, res.body).toBe(200);
      expect(res.body).toContain('<t:Status>requestIsQueued</t:Status>');
      expect(res.body).toContain(`<t:MessageId>${messageId}</t:MessageId>`);
      expect(res.body).toContain('<t:InteractionType>PGU2OIV</t:InteractionType>');

      const { items } = await readInbox(gw.url);
      expect(items).toHaveLength(1);
      const item = items[0]!;
      const year = new Date(item.receivedAt).getUTCFullYear();
      expect(item).toMatchObject({
        kind: 'application',
        service: SERVICE,
        serviceTitle: 'Выдача разрешения на снос (пересадку) зелёных насаждений',
        messageId,
        partner: 'portal',
        registrationNumber: `ЗН-${year}-000001`,
        requestId: null,
        ackedAt: null,
        attachments: [],
      });
      expect(item.content).toStrictEqual(example);
      expect(item.signature).toMatchObject({ valid: true, partner: 'portal' });

      const app = (await (await fetch(`${gw.url}/api/v1/applications/${item.applicationId}`, { headers: CITY })).json()) as Application;
      expect(app).toMatchObject({ registrationNumber: `ЗН-${year}-000001`, service: SERVICE, status: 'received', content: example, inboxItemId: item.id });
      expect(app.applicant).toStrictEqual((example as { applicant: JsonValue }).applicant);
      expect(app.statusHistory.map((s) => s.status)).toEqual(['received']);
    });

    it('a second application gets the next number; the other services keep their own counters', async () => {
      const { xml } = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: SERVICE, content: example });
      expect((await postSoap(gw.url, xml)).status).toBe(200);
      const { xml: other } = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'advertising-permit' });
      expect((await postSoap(gw.url, other)).status).toBe(200);
      const numbers = (await readInbox(gw.url)).items.map((i) => i.registrationNumber!.replace(/-\d{4}-/, '-Y-'));
      expect(numbers).toEqual(['ЗН-Y-000001', 'ЗН-Y-000002', 'РК-Y-000001']);
    });

    it('its own rules apply to what the portal sends: a value outside its enumeration is refused, nothing stored', async () => {
      const before = await readInbox(gw.url);
      const bad = { ...(example as Record<string, JsonValue>), reason: 'вырубка' };
      const { xml } = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: SERVICE, content: bad });
      const res = await postSoap(gw.url, xml);
      expect(res.status).toBe(500);
      const fault = faultOf(res.body);
      expect(fault.fault).toBe('InvalidContent');
      expect(fault.faultstring).toMatch(
        /^content of tree-felling-permit is invalid: \/TreeFellingPermitRequest\/Reason: enumeration \(строительство\|санитарная рубка\|аварийное дерево\|восстановление освещённости\) \[OKNO:[0-9a-f-]{36}\]$/,
      );
      expect(await readInbox(gw.url)).toEqual(before);
    });
  });

  describe('with the default partner registry (the portal is not granted it)', () => {
    let gw: RunningGateway;
    beforeAll(async () => {
      gw = await startGateway({ SERVICES_DIR: servicesDir });
    });
    afterAll(() => gw.close());

    it('the gateway starts and warns that nobody may use it', () => {
      expect(gw.logs.some((l) => l.level === 'warn' && l.service === SERVICE && l.msg === `service ${SERVICE} is granted to no partner`)).toBe(true);
    });

    it('the same request is refused with SenderIsNotRegistered and nothing reaches the inbox', async () => {
      const { xml } = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: SERVICE, content: example });
      const res = await postSoap(gw.url, xml, { soapaction: 'urn:SendRequest' });
      expect(res.status).toBe(500);
      expect(faultOf(res.body).fault).toBe('SenderIsNotRegistered');
      expect(faultOf(res.body).faultstring).toMatch(/^partner portal is not registered to send requests of service tree-felling-permit \[OKNO:[0-9a-f-]{36}\]$/);
      expect(await readInbox(gw.url)).toEqual({ items: [], next: '0' });
    });
  });
});
