import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/catalogue/load.js';
import type { ContentDefinition, MessagePart, ServiceDefinition } from '../../src/catalogue/types.js';
import type { JsonValue } from '../../src/store/types.js';
import { parseXml } from '../../src/xml/parser.js';
import { ROOT, SHIPPED, readJsonFile } from './helpers.js';

const catalogue = loadCatalogue(SHIPPED);

function examplesOf(service: ServiceDefinition, part: MessagePart): string[] {
  const file = readJsonFile(path.join(service.dir, 'service.json')) as { examples: Record<string, string | string[]> };
  const list = file.examples[part] ?? [];
  return (typeof list === 'string' ? [list] : list).map((f) => path.join(service.dir, f));
}

function example(id: string, file: string): any {
  return readJsonFile(path.join(SHIPPED, id, file));
}

function def(id: string, part: MessagePart = 'request'): ContentDefinition {
  const s = catalogue.get(id);
  const d = part === 'request' ? s?.request : s?.response;
  if (d === undefined || d === null) throw new Error(`no ${part} for ${id}`);
  return d;
}

/** JSON → XML, then edit the XML text, then the XSD's verdict. */
function xmlErrors(id: string, file: string, edit: (xml: string) => string, part: MessagePart = 'request') {
  const d = def(id, part);
  const xml = d.toXml(example(id, file) as JsonValue);
  const edited = edit(xml);
  expect(edited).not.toBe(xml);
  return d.validateXml(parseXml(edited).root).map(({ path: p, rule }) => ({ path: p, rule }));
}

function jsonErrors(id: string, file: string, edit: (v: any) => void, part: MessagePart = 'request') {
  const value = example(id, file);
  edit(value);
  return def(id, part).validateJson(value).map(({ path: p, rule }) => ({ path: p, rule }));
}

describe('the shipped catalogue', () => {
  it('loads the services of the mission, in folder order', () => {
    expect(catalogue.services.map((s) => s.id)).toEqual([
      'advertising-permit',
      'advertising-permit-register-extract',
      'dwelling-replanning',
      'egrn-extract',
      'egrul-extract',
      'elk-order-status',
      'fns-inn',
      'giszhkh-debt',
      'kindergarten-enrollment',
      'mvd-living-place',
      'pfr-snils',
      'rosreestr-egrn-land',
      'zags-birth-record',
      'zags-rogdinf',
    ]);
  });

  it('declares kinds, directions, prefixes and parts consistently', () => {
    const summary = catalogue.services.map((s) => [s.id, s.kind, s.direction, s.registrationPrefix, s.response !== null]);
    expect(summary).toEqual([
      ['advertising-permit', 'application', 'inbound', 'РК', false],
      ['advertising-permit-register-extract', 'query', 'inbound', null, true],
      ['dwelling-replanning', 'application', 'inbound', 'ПП', false],
      ['egrn-extract', 'query', 'outbound', null, true],
      ['egrul-extract', 'query', 'outbound', null, true],
      ['elk-order-status', 'status', 'outbound', null, false],
      ['fns-inn', 'query', 'outbound', null, true],
      ['giszhkh-debt', 'query', 'outbound', null, true],
      ['kindergarten-enrollment', 'application', 'inbound', 'ДС', false],
      ['mvd-living-place', 'query', 'outbound', null, true],
      ['pfr-snils', 'query', 'outbound', null, true],
      ['rosreestr-egrn-land', 'query', 'outbound', null, true],
      ['zags-birth-record', 'query', 'outbound', null, true],
      ['zags-rogdinf', 'query', 'outbound', null, true],
    ]);
    for (const s of catalogue.services) {
      expect(s.title).toMatch(/[А-Яа-яЁё]/);
      expect(s.personalData.length).toBeGreaterThan(0);
    }
  });

  it('covers every service the partner registry names', () => {
    const partners = JSON.parse(readFileSync(path.join(ROOT, 'config/partners.json'), 'utf8')) as { partners: { sends: string[]; receives: string[] }[] };
    const named = new Set(partners.partners.flatMap((p) => [...p.sends, ...p.receives]));
    const missing = [...named].filter((id) => catalogue.get(id) === undefined);
    expect(missing).toEqual([]);
    expect(named.size).toBeGreaterThanOrEqual(13);
  });

  it('finds a part by its root element (namespace + local name) and nothing else', () => {
    const ns = 'urn://x-artefacts-okno/interagency/egrn-extract/1.0.0';
    expect(catalogue.byRoot(ns, 'EgrnExtractRequest')).toMatchObject({ service: { id: 'egrn-extract' }, part: 'request' });
    expect(catalogue.byRoot(ns, 'EgrnExtractResponse')).toMatchObject({ service: { id: 'egrn-extract' }, part: 'response' });
    expect(catalogue.byRoot(ns, 'EgrulExtractRequest')).toBeUndefined();
    expect(catalogue.byRoot('urn://x-artefacts-okno/municipal/egrn-extract/1.0.0', 'EgrnExtractRequest')).toBeUndefined();
    expect(catalogue.byRoot('http://epgu.gosuslugi.ru/elk/status/1.0.2', 'ElkOrderRequest')).toMatchObject({ service: { id: 'elk-order-status' }, part: 'request' });
    for (const s of catalogue.services) {
      expect(catalogue.byRoot(s.request.namespace, s.request.rootElement)?.service).toBe(s);
      if (s.response) expect(catalogue.byRoot(s.response.namespace, s.response.rootElement)?.part).toBe('response');
    }
  });

  it('hand-written services use SMEV-style namespaces of our own (except the portal\'s ELK status); derived ones are federal packages with provenance', () => {
    for (const s of catalogue.services) {
      if (s.derived) {
        expect(s.provenance).toMatchObject({ repository: expect.stringMatching(/^https:\/\/github\.com\//), commit: expect.stringMatching(/^[0-9a-f]{40}$/) });
        for (const d of [s.request, s.response]) if (d) expect(d.namespace).not.toMatch(/okno/);
        continue;
      }
      if (s.id === 'elk-order-status') {
        expect(s.request.namespace).toBe('http://epgu.gosuslugi.ru/elk/status/1.0.2');
        continue;
      }
      for (const d of [s.request, s.response]) {
        if (d) expect(d.namespace).toMatch(/^urn:\/\/x-artefacts-okno\/(municipal|interagency)\/[a-z-]+\/1\.0\.0$/);
      }
    }
  });

  it('is immutable', () => {
    expect(Object.isFrozen(catalogue)).toBe(true);
    expect(Object.isFrozen(catalogue.services)).toBe(true);
    expect(Object.isFrozen(catalogue.get('egrn-extract'))).toBe(true);
  });
});

describe('every example round-trips: JSON → XML → parse → XSD-valid → the same JSON', () => {
  const cases: [string, MessagePart, string][] = [];
  for (const s of catalogue.services) {
    for (const part of ['request', 'response'] as const) {
      for (const file of examplesOf(s, part)) cases.push([s.id, part, file]);
    }
  }

  it('has examples for every part', () => {
    expect(cases.length).toBeGreaterThanOrEqual(32);
    for (const s of catalogue.services) {
      expect(examplesOf(s, 'request').length).toBeGreaterThan(0);
      if (s.response) expect(examplesOf(s, 'response').length).toBeGreaterThan(0);
    }
  });

  it.each(cases)('%s %s %s', (id, part, file) => {
    const d = def(id, part);
    const value = readJsonFile(file) as JsonValue;
    expect(d.validateJson(value)).toEqual([]);
    const xml = d.toXml(value);
    const root = parseXml(xml).root;
    expect({ ns: root.namespaceURI, local: root.localName }).toEqual({ ns: d.namespace, local: d.rootElement });
    expect(d.validateXml(root)).toEqual([]);
    expect(d.toJson(root)).toStrictEqual(value);
  });
});

describe('invalid JSON content gives exact paths and rules', () => {
  it('a SNILS of the wrong format', () => {
    expect(jsonErrors('dwelling-replanning', 'example.request.json', (v) => { v.applicant.snils = '12345678964'; })).toEqual([
      { path: '/applicant/snils', rule: 'pattern ^\\d{3}-\\d{3}-\\d{3} \\d{2}$' },
    ]);
  });

  it('a missing required property and an extra one', () => {
    expect(jsonErrors('dwelling-replanning', 'example.request.json', (v) => { delete v.applicant.lastName; v.applicant.nickname = 'x'; })).toEqual([
      { path: '/applicant', rule: 'required lastName' },
      { path: '/applicant', rule: 'additionalProperties nickname' },
    ]);
  });

  it('a date that is not on the calendar', () => {
    expect(jsonErrors('dwelling-replanning', 'example.request.json', (v) => { v.plannedStart = '2026-02-30'; })).toEqual([
      { path: '/plannedStart', rule: 'format date' },
    ]);
    expect(jsonErrors('kindergarten-enrollment', 'example.request.json', (v) => { v.child.birthDate = '2024-02-29'; })).toEqual([]);
  });

  it('a value outside the enumeration', () => {
    expect(jsonErrors('dwelling-replanning', 'example.request.json', (v) => { v.worksKind = 'снос'; })).toEqual([
      { path: '/worksKind', rule: 'enum переустройство|перепланировка|переустройство и перепланировка' },
    ]);
  });

  it('too many kindergartens, a duplicate, a wrong type', () => {
    expect(jsonErrors('kindergarten-enrollment', 'example.request.json', (v) => { v.preferredKindergartens = [1, 2, 3, 4]; })).toEqual([
      { path: '/preferredKindergartens', rule: 'maxItems 3' },
    ]);
    expect(jsonErrors('kindergarten-enrollment', 'example.request.json', (v) => { v.preferredKindergartens = [5, 5]; })).toEqual([
      { path: '/preferredKindergartens', rule: 'uniqueItems' },
    ]);
    expect(jsonErrors('kindergarten-enrollment', 'example.request.json', (v) => { v.preferredKindergartens = []; })).toEqual([
      { path: '/preferredKindergartens', rule: 'minItems 1' },
    ]);
    expect(jsonErrors('kindergarten-enrollment', 'example.request.json', (v) => { v.fullDay = 'да'; })).toEqual([
      { path: '/fullDay', rule: 'type boolean' },
    ]);
  });

  it('a birth certificate series in the wrong form', () => {
    expect(jsonErrors('kindergarten-enrollment', 'example.request.json', (v) => { v.child.birthCertificate.series = 'IV АГ'; })).toEqual([
      { path: '/child/birthCertificate/series', rule: 'pattern ^[IVXLCDM]{1,6}-[А-ЯЁ]{2}$' },
    ]);
  });

  it('a choice with both or neither alternative', () => {
    expect(jsonErrors('egrul-extract', 'example.request.by-ogrn.json', (v) => { v.inn = '3808201234'; })).toEqual([
      { path: '', rule: 'maxProperties 1' },
    ]);
    expect(jsonErrors('egrul-extract', 'example.request.by-ogrn.json', (v) => { delete v.ogrn; })).toEqual([
      { path: '', rule: 'minProperties 1' },
    ]);
    expect(jsonErrors('advertising-permit', 'example.request.person.json', (v) => { v.applicant.organization = {}; })).toContainEqual(
      { path: '/applicant', rule: 'maxProperties 1' },
    );
  });

  it('a decimal with too many fraction digits and an area out of range', () => {
    expect(jsonErrors('advertising-permit', 'example.request.person.json', (v) => { v.structure.dimensions.area = 9.999; })).toEqual([
      { path: '/structure/dimensions/area', rule: 'multipleOf 0.01' },
    ]);
    expect(jsonErrors('advertising-permit', 'example.request.person.json', (v) => { v.structure.dimensions.width = 0.29; })).toEqual([]);
    expect(jsonErrors('advertising-permit', 'example.request.person.json', (v) => { v.structure.dimensions.width = 0; })).toEqual([
      { path: '/structure/dimensions/width', rule: 'minimum 0.01' },
    ]);
  });

  it('a character XML cannot carry', () => {
    expect(jsonErrors('egrn-extract', 'example.request.json', (v) => { v.purpose = 'нажмите \u0007'; })).toEqual([
      { path: '/purpose', rule: 'xmlChar' },
    ]);
  });

  it('never echoes the value in messages', () => {
    const value = example('dwelling-replanning', 'example.request.json');
    value.applicant.snils = 'SECRET-999';
    value.applicant.passport.number = 'SECRET-888';
    value.plannedStart = 'SECRET-777';
    value.worksKind = 'SECRET-666';
    const errors = def('dwelling-replanning').validateJson(value);
    expect(errors.length).toBe(4);
    for (const e of errors) expect(`${e.path} ${e.rule} ${e.message}`).not.toContain('SECRET');
  });

  it('not an object at all', () => {
    expect(def('egrn-extract').validateJson('38:36:000021:4412').map((e) => [e.path, e.rule])).toEqual([['', 'type object']]);
  });
});

describe('invalid XML content gives exact paths and rules', () => {
  const dwelling = (edit: (xml: string) => string) => xmlErrors('dwelling-replanning', 'example.request.json', edit);

  it('a SNILS of the wrong format', () => {
    expect(dwelling((x) => x.replace('<Snils>123-456-789 64</Snils>', '<Snils>12345678964</Snils>'))).toEqual([
      { path: '/DwellingReplanningRequest/Applicant/Snils', rule: 'pattern [0-9]{3}-[0-9]{3}-[0-9]{3} [0-9]{2}' },
    ]);
  });

  it('a missing required element', () => {
    expect(dwelling((x) => x.replace('<FirstName>Ольга</FirstName>', ''))).toEqual([
      { path: '/DwellingReplanningRequest/Applicant', rule: 'required element FirstName' },
    ]);
  });

  it('an extra element', () => {
    expect(dwelling((x) => x.replace('</Applicant>', '<Nickname>Оля</Nickname></Applicant>'))).toEqual([
      { path: '/DwellingReplanningRequest/Applicant/Nickname', rule: 'unexpected element Nickname' },
    ]);
  });

  it('a date that is not on the calendar, and one with a time zone', () => {
    expect(dwelling((x) => x.replace('<PlannedStart>2026-04-01</PlannedStart>', '<PlannedStart>2026-02-30</PlannedStart>'))).toEqual([
      { path: '/DwellingReplanningRequest/PlannedStart', rule: 'type xs:date' },
    ]);
    expect(dwelling((x) => x.replace('<PlannedStart>2026-04-01</PlannedStart>', '<PlannedStart>2026-04-01+08:00</PlannedStart>'))).toEqual([
      { path: '/DwellingReplanningRequest/PlannedStart', rule: 'pattern [0-9]{4}-[0-9]{2}-[0-9]{2}' },
    ]);
  });

  it('a value outside the enumeration', () => {
    expect(dwelling((x) => x.replace('<WorksKind>переустройство и перепланировка</WorksKind>', '<WorksKind>снос</WorksKind>'))).toEqual([
      { path: '/DwellingReplanningRequest/WorksKind', rule: 'enumeration (переустройство|перепланировка|переустройство и перепланировка)' },
    ]);
  });

  it('elements out of order', () => {
    expect(dwelling((x) => x.replace(/<PlannedStart>(.*?)<\/PlannedStart><PlannedEnd>(.*?)<\/PlannedEnd>/, '<PlannedEnd>$2</PlannedEnd><PlannedStart>$1</PlannedStart>'))).toEqual([
      // PlannedStart does come later: the misplaced PlannedEnd is what the validator names.
      { path: '/DwellingReplanningRequest/PlannedEnd', rule: 'unexpected element PlannedEnd' },
    ]);
  });

  it('a bad value in the second repeated element', () => {
    const second = '<Consent><LastName>Смирнова</LastName><FirstName>Анна</FirstName><Share>0/4</Share><ConsentDate>2026-02-15</ConsentDate></Consent>';
    expect(dwelling((x) => x.replace('</Consent>', `</Consent>${second}`))).toEqual([
      { path: '/DwellingReplanningRequest/CoOwnersConsent/Consent[2]/Share', rule: 'pattern [1-9][0-9]*/[1-9][0-9]*' },
    ]);
  });

  it('attributes: too many fraction digits, missing', () => {
    const edit = (f: (x: string) => string) => xmlErrors('advertising-permit', 'example.request.organization.json', f);
    expect(edit((x) => x.replace('area="18"', 'area="18.125"'))).toEqual([
      { path: '/AdvertisingPermitRequest/Structure/Dimensions/@area', rule: 'fractionDigits 2' },
    ]);
    expect(edit((x) => x.replace(' area="18"', ''))).toEqual([
      { path: '/AdvertisingPermitRequest/Structure/Dimensions', rule: 'required attribute area' },
    ]);
  });

  it('both alternatives of a choice', () => {
    const errors = xmlErrors('egrul-extract', 'example.request.by-ogrn.json', (x) => x.replace('</Ogrn>', '</Ogrn><Inn>3808201234</Inn>'));
    expect(errors).toEqual([{ path: '/EgrulExtractRequest/Inn', rule: 'unexpected element Inn' }]);
  });

  it('a root element of another part is refused by this part', () => {
    const d = def('egrn-extract', 'request');
    const response = def('egrn-extract', 'response');
    const xml = response.toXml(example('egrn-extract', 'example.response.json') as JsonValue);
    expect(d.validateXml(parseXml(xml).root).map((e) => [e.path, e.rule])).toEqual([['/EgrnExtractResponse', 'root']]);
  });

  it('prefixed XML from a partner reads the same as our default-namespace XML', () => {
    const d = def('egrul-extract', 'response');
    const value = example('egrul-extract', 'example.response.json') as JsonValue;
    const prefixed = d.toXml(value)
      .replace(` xmlns="${d.namespace}"`, ` xmlns:ns1="${d.namespace}"`)
      .replace(/<(\/?)([A-Z])/g, '<$1ns1:$2');
    const root = parseXml(prefixed).root;
    expect(root.prefix).toBe('ns1');
    expect(d.validateXml(root)).toEqual([]);
    expect(d.toJson(root)).toStrictEqual(value);
  });
});
