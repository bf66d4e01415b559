import { cpSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/catalogue/load.js';
import type { JsonValue } from '../../src/store/types.js';
import { parseXml } from '../../src/xml/parser.js';
import { FIXTURES, readJsonFile, removeTempCatalogues, tempCatalogue } from './helpers.js';

afterAll(removeTempCatalogues);

// Adding a service is adding a folder: no code knows about tree-felling-permit.
describe('a new service registered from files only', () => {
  const dir = tempCatalogue();
  cpSync(path.join(FIXTURES, 'new-service/tree-felling-permit'), path.join(dir, 'tree-felling-permit'), { recursive: true });
  const catalogue = loadCatalogue(dir);
  const ns = 'urn://x-artefacts-okno/municipal/tree-felling-permit/1.0.0';

  it('is loaded next to the shipped services', () => {
    expect(catalogue.services.map((x) => x.id)).toContain('zags-birth-record');
    // Every shipped service plus the new one.
    expect(catalogue.services.length).toBe(loadCatalogue('config/services').services.length + 1);
    const s = catalogue.get('tree-felling-permit');
    expect(s).toMatchObject({ kind: 'application', direction: 'inbound', registrationPrefix: 'ЗН', response: null, personalData: ['/applicant'] });
    expect(s?.title).toBe('Выдача разрешения на снос (пересадку) зелёных насаждений');
  });

  it('is found by its root element', () => {
    expect(catalogue.byRoot(ns, 'TreeFellingPermitRequest')).toMatchObject({ service: { id: 'tree-felling-permit' }, part: 'request' });
  });

  it('validates and round-trips', () => {
    const d = catalogue.get('tree-felling-permit')!.request;
    const value = readJsonFile(path.join(dir, 'tree-felling-permit/example.request.json')) as JsonValue;
    expect(d.validateJson(value)).toEqual([]);
    const root = parseXml(d.toXml(value)).root;
    expect(d.validateXml(root)).toEqual([]);
    expect(d.toJson(root)).toStrictEqual(value);
  });

  it('applies its own rules to XML from a partner', () => {
    const d = catalogue.get('tree-felling-permit')!.request;
    const xml =
      `<p:TreeFellingPermitRequest xmlns:p="${ns}"><p:OrderId>1</p:OrderId>` +
      '<p:Applicant><p:LastName>Соколов</p:LastName><p:FirstName>Пётр</p:FirstName><p:Snils>098-765-432 10</p:Snils><p:Phone>+79140001122</p:Phone></p:Applicant>' +
      '<p:SiteAddress>г. Иркутск</p:SiteAddress><p:Reason>вырубка</p:Reason><p:Trees></p:Trees></p:TreeFellingPermitRequest>';
    expect(d.validateXml(parseXml(xml).root).map((e) => [e.path, e.rule])).toEqual([
      ['/TreeFellingPermitRequest/Reason', 'enumeration (строительство|санитарная рубка|аварийное дерево|восстановление освещённости)'],
      ['/TreeFellingPermitRequest/Trees', 'required element Tree'],
    ]);
  });
});
