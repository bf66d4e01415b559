// overrides.json "flatten": wrapper elements whose child properties are lifted into the
// enclosing JSON object. The fixture (test/fixtures/catalogue/flatten/person-check, written for
// these tests) flattens every wrapper of its root Заявка — required, optional with a required
// child, in a choice, with xs:all content, around an array, nested, by local name and by
// {namespace}local — and declares one root per case that must be refused. xmllint judges the
// XML written from flattened JSON; the round trip is exact both ways.

import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ExampleGenerator } from '../../src/catalogue/derive/example.js';
import { openDerivedPart } from '../../src/catalogue/derived-part.js';
import { pointerOfXmlPath } from '../../src/catalogue/derived-content.js';
import { loadCatalogue } from '../../src/catalogue/load.js';
import type { JsonValue } from '../../src/store/types.js';
import { parseXml } from '../../src/xml/parser.js';
import { smevTransform } from '../../src/xml/smev-transform.js';
import { spawnGateway } from '../helpers/process.js';
import { requireXmllint, xmllintVerdicts } from '../helpers/xmllint.js';
import { FIXTURES, problemsOf, removeTempCatalogues, tempCatalogue } from './helpers.js';

afterAll(removeTempCatalogues);

const FIXTURE = path.join(FIXTURES, 'flatten/person-check');
const GOOD_FLATTEN = ['СведФЛ', '{urn://okno/test/flatten/root}ФИО', 'Представитель', 'Паспорт', 'Адрес', 'Дети'];

/**
 * A catalogue with a copy of the fixture, its overrides replaced when given; with another root,
 * the example is `{}` and there is no personal data (the fixture's are Заявка's).
 */
function fixtureCatalogue(overrides?: unknown, root?: string): { dir: string; svc: string; overridesFile: string } {
  const dir = tempCatalogue({ shipped: false });
  const svc = path.join(dir, 'person-check');
  cpSync(FIXTURE, svc, { recursive: true });
  const overridesFile = path.join(svc, 'overrides.json');
  if (overrides !== undefined) writeFileSync(overridesFile, JSON.stringify(overrides));
  if (root !== undefined) {
    const file = path.join(svc, 'service.json');
    const s = JSON.parse(readFileSync(file, 'utf8')) as { request: { rootElement: string }; personalData: string[] };
    s.request.rootElement = root;
    s.personalData = [];
    writeFileSync(file, JSON.stringify(s));
    writeFileSync(path.join(svc, 'example.request.json'), '{}');
  }
  return { dir, svc, overridesFile };
}

const example = JSON.parse(readFileSync(path.join(FIXTURE, 'example.request.json'), 'utf8')) as Record<string, JsonValue>;
const minimal: Record<string, JsonValue> = { Ид: 'З-2', Фамилия: 'Сидоров', Имя: 'Иван', ДатаРожд: '1980-01-31', ИнойДок: 'свидетельство' };

describe('flatten: lifted properties, wrappers written back', () => {
  const { dir, svc } = fixtureCatalogue();
  const service = loadCatalogue(dir).get('person-check');
  if (service === undefined) throw new Error('person-check did not load');
  const d = service.request;
  const schema = service.jsonSchemas.request as { $ref: string; $defs: Record<string, { properties: Record<string, unknown>; required: string[]; dependentRequired: Record<string, string[]> }> };
  const root = schema.$defs[schema.$ref.replace('#/$defs/', '')]!;
  const xsd = path.join(svc, 'xsd/root.xsd');

  it('the derived JSON Schema has the lifted properties (renamed where asked) and none of the wrappers', () => {
    expect(Object.keys(root.properties)).toEqual(['Фамилия', 'Имя', 'Отчество', 'ДатаРожд', 'ФИОПредст', 'phone', 'Серия', 'Номер', 'ИнойДок', 'Город', 'Улица', 'Ребенок', 'Ид']);
    // Required: what the always-written wrappers (СведФЛ, ФИО) require; the optional ones' required members come with any of theirs.
    expect(root.required).toEqual(['Фамилия', 'Имя', 'ДатаРожд', 'Ид']);
    // (Паспорт's too, which its branch of the choice says as well.)
    expect(root.dependentRequired).toEqual({ phone: ['ФИОПредст'], Серия: ['Номер'], Номер: ['Серия'], Улица: ['Город'] });
  });

  it('JSON → XML puts every wrapper back (an optional one only with its properties); xmllint accepts it; back to the same JSON and the same XML', () => {
    requireXmllint();
    // xs:all: the other order (the JSON object's key order is the XML's).
    const inOrder = Object.fromEntries(Object.entries(example).map(([k, v]) => (k === 'Улица' ? ['Город', 'Тула'] : k === 'Город' ? ['Улица', 'Советская'] : [k, v])));
    const onlyCity = { ...minimal, Город: 'Тула' };
    const cases = [example, minimal, inOrder, onlyCity];
    const xmls = cases.map((json) => {
      expect(d.validateJson(json), JSON.stringify(json)).toEqual([]);
      return d.toXml(json);
    });
    expect(xmls[0]).toContain('<СведФЛ><ФИО><ns1:Фамилия>Иванова</ns1:Фамилия>');
    expect(xmls[0]).toContain('<Адрес><Улица>Советская</Улица><Город>Тула</Город></Адрес>');
    expect(xmls[2]).toContain('<Адрес><Город>Тула</Город><Улица>Советская</Улица></Адрес>');
    expect(xmls[1]).toContain('<СведФЛ><ФИО>');
    for (const absent of ['<Представитель', '<Адрес', '<Дети', '<Паспорт']) expect(xmls[1]).not.toContain(absent);
    expect(xmllintVerdicts(xsd, xmls)).toEqual(xmls.map(() => ({ valid: true, messages: [] })));
    cases.forEach((json, i) => {
      const el = parseXml(xmls[i] as string).root;
      expect(d.validateXml(el)).toEqual([]);
      const back = d.toJson(el);
      expect(back).toStrictEqual(json);
      // The one walk (validation and JSON together) gives the same JSON, key order included.
      expect(JSON.stringify(d.readXml(el))).toBe(JSON.stringify({ ok: true, json: back }));
      expect(Object.keys(back as object)).toEqual(Object.keys(json).sort((a, b) => (a === 'Ид' ? -1 : b === 'Ид' ? 1 : 0)));
      expect(smevTransform(parseXml(d.toXml(back)).root)).toBe(smevTransform(el));
    });
  });

  it("reads a partner's XML (its own prefixes, indentation) into the flat JSON", () => {
    const xml = `<r:Заявка xmlns:r="urn://okno/test/flatten/root" xmlns:t="urn://okno/test/flatten/types" Ид="З-3">
  <r:СведФЛ>
    <r:ФИО><t:Фамилия>Кузнецова</t:Фамилия><t:Имя>Ольга</t:Имя></r:ФИО>
    <r:ДатаРожд>1975-12-01</r:ДатаРожд>
  </r:СведФЛ>
  <r:Представитель><r:ФИОПредст><t:Фамилия>Кузнецов</t:Фамилия><t:Имя>Илья</t:Имя></r:ФИОПредст></r:Представитель>
  <r:ИнойДок>вид на жительство</r:ИнойДок>
  <r:Дети><r:Ребенок><t:Фамилия>Кузнецова</t:Фамилия><t:Имя>Вера</t:Имя></r:Ребенок><r:Ребенок><t:Фамилия>Кузнецов</t:Фамилия><t:Имя>Лев</t:Имя></r:Ребенок></r:Дети>
</r:Заявка>`;
    const el = parseXml(xml).root;
    expect(d.validateXml(el)).toEqual([]);
    const json = d.toJson(el);
    expect(JSON.stringify(d.readXml(el))).toBe(JSON.stringify({ ok: true, json }));
    expect(json).toStrictEqual({
      Ид: 'З-3', Фамилия: 'Кузнецова', Имя: 'Ольга', ДатаРожд: '1975-12-01', ФИОПредст: { Фамилия: 'Кузнецов', Имя: 'Илья' }, ИнойДок: 'вид на жительство',
      Ребенок: [{ Фамилия: 'Кузнецова', Имя: 'Вера' }, { Фамилия: 'Кузнецов', Имя: 'Лев' }],
    });
    expect(smevTransform(parseXml(d.toXml(json)).root)).toBe(smevTransform(el));
  });

  it('the JSON Schema refuses what the XML could not say', () => {
    const rules = (json: Record<string, JsonValue>) => d.validateJson(json).map((e) => `${e.path || '/'} ${e.rule}`);
    expect(rules({ ...minimal, Серия: '7005', Номер: '123456' })).toContain('/ not'); // both branches of the choice
    expect(rules({ ...minimal, phone: '+7' })).toContain('/ dependentRequired ФИОПредст'); // a representative's phone without the name
    expect(rules({ ...minimal, Улица: 'Советская' })).toContain('/ dependentRequired Город');
    const noName: Record<string, JsonValue> = { ...minimal };
    delete noName.Фамилия;
    expect(rules(noName)).toContain('/ required Фамилия');
    expect(rules({ ...minimal, СведФЛ: {} })).toContain('/ additionalProperties СведФЛ'); // the wrapper is no property
  });

  it("an XSD problem inside a wrapper is reported at the lifted property's pointer", () => {
    const p = openDerivedPart(svc, 'request');
    if (p === null) throw new Error('not derived');
    expect(pointerOfXmlPath(p.shapes, p.decl, '/Заявка/СведФЛ[1]/ФИО[1]/Фамилия[1]')).toBe('/Фамилия');
    expect(pointerOfXmlPath(p.shapes, p.decl, '/Заявка/Представитель[1]/ФИОПредст[1]/Имя[1]')).toBe('/ФИОПредст/Имя');
    expect(pointerOfXmlPath(p.shapes, p.decl, '/Заявка/Дети[1]/Ребенок[2]/Имя[1]')).toBe('/Ребенок/1/Имя');
    expect(pointerOfXmlPath(p.shapes, p.decl, '/Заявка/Паспорт[1]/Серия[1]')).toBe('/Серия');
  });

  it('generated examples the JSON Schema accepts are valid for xmllint and round-trip', () => {
    requireXmllint();
    const p = openDerivedPart(svc, 'request');
    if (p === null) throw new Error('not derived');
    const accepted: { json: JsonValue; xml: string }[] = [];
    for (let seed = 1; seed <= 30; seed++) {
      const json = new ExampleGenerator(p.shapes, { seed }).element(p.decl);
      if (d.validateJson(json).length === 0) accepted.push({ json, xml: d.toXml(json) });
    }
    expect(accepted.length).toBeGreaterThanOrEqual(15);
    // Both ways of each optional wrapper occur.
    for (const wrapper of ['<Представитель>', '<Адрес>', '<Паспорт>', '<Дети>']) {
      expect(accepted.some((a) => a.xml.includes(wrapper)), wrapper).toBe(true);
      expect(accepted.some((a) => !a.xml.includes(wrapper)), wrapper).toBe(true);
    }
    const verdicts = xmllintVerdicts(xsd, accepted.map((a) => a.xml));
    accepted.forEach((a, i) => {
      expect(verdicts[i], a.xml).toEqual({ valid: true, messages: [] });
      const back = d.toJson(parseXml(a.xml).root);
      expect(isDeepStrictEqual(back, a.json), a.xml).toBe(true);
    });
  });
});

describe('flatten: an optional wrapper as a branch of a choice', () => {
  it('the branch may be empty (no property), the wrapper, or the other branch; xmllint agrees; exact both ways', () => {
    requireXmllint();
    const { dir, svc } = fixtureCatalogue({ flatten: ['W'] }, 'ChoiceOptional');
    const root = 'urn://okno/test/flatten/root';
    const d = loadCatalogue(dir).get('person-check')!.request;
    const cases: [JsonValue, string][] = [
      [{}, `<ChoiceOptional xmlns="${root}"></ChoiceOptional>`],
      [{ a: 'x' }, `<ChoiceOptional xmlns="${root}"><W><a>x</a></W></ChoiceOptional>`],
      [{ a: 'x', c: 'y' }, `<ChoiceOptional xmlns="${root}"><W><a>x</a><c>y</c></W></ChoiceOptional>`],
      [{ b: 'z' }, `<ChoiceOptional xmlns="${root}"><b>z</b></ChoiceOptional>`],
    ];
    expect(xmllintVerdicts(path.join(svc, 'xsd/root.xsd'), cases.map(([, xml]) => xml)).every((v) => v.valid)).toBe(true);
    for (const [json, xml] of cases) {
      expect(d.validateJson(json), xml).toEqual([]);
      expect(d.toJson(parseXml(xml).root)).toStrictEqual(json);
      expect(smevTransform(parseXml(d.toXml(json)).root)).toBe(smevTransform(parseXml(xml).root));
    }
    expect(d.validateJson({ a: 'x', b: 'z' }).length).toBeGreaterThan(0); // both branches
    expect(d.validateJson({ c: 'y' }).map((e) => e.rule)).toContain('dependentRequired a'); // the wrapper's required child comes with any other
  });
});

describe('an optional group inside an optional group (no flatten)', () => {
  it("the inner group's required member is not required by the outer one", () => {
    const { dir, svc } = fixtureCatalogue({}, 'NestedOptional');
    writeFileSync(path.join(svc, 'example.request.json'), '{"z": "1"}');
    const d = loadCatalogue(dir).get('person-check')!.request;
    const ns = 'urn://okno/test/flatten/root';
    const cases: [JsonValue, string][] = [
      [{ z: '1' }, `<NestedOptional xmlns="${ns}"><z>1</z></NestedOptional>`],
      [{ z: '1', x: '2' }, `<NestedOptional xmlns="${ns}"><z>1</z><x>2</x></NestedOptional>`],
      [{ z: '1', x: '2', y: '3' }, `<NestedOptional xmlns="${ns}"><z>1</z><x>2</x><y>3</y></NestedOptional>`],
    ];
    expect(xmllintVerdicts(path.join(svc, 'xsd/root.xsd'), cases.map(([, xml]) => xml)).every((v) => v.valid)).toBe(true);
    for (const [json, xml] of cases) {
      expect(d.validateJson(json), xml).toEqual([]);
      expect(d.toJson(parseXml(xml).root)).toStrictEqual(json);
    }
    expect(d.validateJson({ z: '1', y: '3' }).map((e) => e.rule)).toContain('dependentRequired x');
  });
});

describe('flatten refused at load: one problem naming overrides.json, the wrapper and why', () => {
  const refusals: [root: string, why: RegExp][] = [
    ['Clash', /^flatten: the property "Фамилия" would be in the JSON object of the anonymous type at xsd\/root\.xsd:\d+ twice \(its own and lifted from W\)/],
    ['ClashAttribute', /^flatten: the property "Код" would be in the JSON object of the anonymous type at xsd\/root\.xsd:\d+ twice \(lifted from W and its own\)/],
    ['Repeated', /^flatten "W": the element W \(xsd\/root\.xsd:\d+\) repeats \(maxOccurs 3\): its occurrences would merge into one object$/],
    ['Attributes', /^flatten "W": the element W \(xsd\/root\.xsd:\d+\) has attributes \(Тип\): they would have no object to go in$/],
    ['Text', /^flatten "W": the element W \(xsd\/root\.xsd:\d+\) has text content \(simpleContent\)/],
    ['Mixed', /^flatten "W": the element W \(xsd\/root\.xsd:\d+\) has mixed content/],
    ['OptionalEmpty', /^flatten "W": the element W \(xsd\/root\.xsd:\d+\) is optional and its content may have no property: an absent W and an empty one would be the same JSON$/],
    ['ChoiceEmpty', /^flatten "W": the element W \(xsd\/root\.xsd:\d+\) is in a choice or an optional group and its content may have no property/],
    ['AllEmpty', /^flatten "W": the element W \(xsd\/root\.xsd:\d+\) is in an xs:all and its content may have no property: its place among the others would be lost$/],
    ['Nillable', /^flatten "W": the element W \(xsd\/root\.xsd:\d+\) is nillable/],
    ['Recursive', /^flatten "W": the element W \(xsd\/types\.xsd:\d+\) contains itself/],
    ['Simple', /^flatten "W": the element W \(xsd\/root\.xsd:\d+\) is of simple type/],
    ['Empty', /^flatten "W": the element W \(xsd\/root\.xsd:\d+\) has no child elements/],
  ];
  for (const [root, why] of refusals) {
    it(root, () => {
      const { dir, overridesFile } = fixtureCatalogue({ flatten: ['W'] }, root);
      const problems = problemsOf(() => loadCatalogue(dir));
      expect(problems).toHaveLength(1);
      const [file, message] = [(problems[0] as string).slice(0, overridesFile.length + 2), (problems[0] as string).slice(overridesFile.length + 2)];
      expect(file).toBe(`${overridesFile}: `);
      expect(message).toMatch(why);
    });
  }

  it('a clash that a rename makes', () => {
    const { dir, overridesFile } = fixtureCatalogue({ rename: { Номер: 'Фамилия' }, flatten: GOOD_FLATTEN });
    expect(problemsOf(() => loadCatalogue(dir))).toEqual([
      expect.stringMatching(new RegExp(`^${overridesFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: flatten: the property "Фамилия" would be in the JSON object of the anonymous type at xsd/root\\.xsd:\\d+ twice \\(lifted from ФИО and lifted from Паспорт\\)`)),
    ]);
  });

  it('names in rename and flatten that match nothing in the service', () => {
    const { dir, overridesFile } = fixtureCatalogue({ rename: { Телефон: 'phone', НетТакого: 'x', '{urn:other}Имя': 'name' }, flatten: [...GOOD_FLATTEN, 'НетТакой'] });
    expect(problemsOf(() => loadCatalogue(dir))).toEqual([
      `${overridesFile}: /rename: "НетТакого": no element or attribute of the derived parts has this name`,
      `${overridesFile}: /rename: "{urn:other}Имя": no element or attribute of the derived parts has this name`,
      `${overridesFile}: /flatten: "НетТакой": no element of the derived parts has this name`,
    ]);
  });

  it('the gateway does not start: exit 78, one line naming overrides.json, the wrapper and why', async () => {
    const dir = tempCatalogue(); // the shipped catalogue, zags-rogdinf's overrides spoilt
    const file = path.join(dir, 'zags-rogdinf', 'overrides.json');
    writeFileSync(file, JSON.stringify({ flatten: ['ФИО', 'СведФЛ'] }));
    const gw = spawnGateway({ SERVICES_DIR: dir });
    expect(await gw.exited).toBe(78);
    expect(gw.stderr().trim()).toBe(
      `okno: SERVICES_DIR: service catalogue: 1 problem: ${file}: flatten "СведФЛ": the element СведФЛ (xsd/zags-rogdinf-ru-root.xsd:81) has attributes (ТипУчАЗ, СНИЛС): they would have no object to go in`,
    );
  });

  it('a flatten list that is not a list of names', () => {
    const { dir, overridesFile } = fixtureCatalogue({ flatten: 'W' });
    expect(problemsOf(() => loadCatalogue(dir))).toEqual([`${overridesFile}: /flatten: must be array`]);
  });
});
