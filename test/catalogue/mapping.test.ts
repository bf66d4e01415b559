import { describe, expect, it } from 'vitest';
import { formatDecimal, parseDecimal, parseInteger } from '../../src/catalogue/decimal.js';
import { MappingError } from '../../src/catalogue/errors.js';
import { firstDifference } from '../../src/catalogue/json-equal.js';
import { compileMapping } from '../../src/catalogue/mapping.js';
import { normaliseMapping, type Mapping } from '../../src/catalogue/mapping-format.js';
import { parseXml } from '../../src/xml/parser.js';

const NS = 'urn://x-artefacts-okno/test/mapping/1.0.0';

function mappingOf(data: unknown): Mapping {
  const r = normaliseMapping(data);
  if ('problems' in r) throw new Error(r.problems.join('\n'));
  return r.mapping;
}

const sample = mappingOf({
  fields: [
    { json: 'id', attribute: 'id' },
    { json: 'name', xml: 'Name' },
    { json: 'count', xml: 'Count', type: 'integer' },
    { json: 'amount', xml: 'Amount', type: 'number' },
    { json: 'active', xml: 'Active', type: 'boolean' },
    { json: 'date', xml: 'Date', type: 'date' },
    { json: 'tags', xml: 'Tag', repeated: true },
    { json: 'items', xml: 'Item', wrapper: 'Items', repeated: true, ref: 'Item' },
    { json: 'size', xml: 'Size', ref: 'Size' },
  ],
  defs: {
    Item: { fields: [{ json: 'code', attribute: 'code' }, { json: 'title', xml: 'Title' }] },
    Size: { fields: [{ json: 'value', text: true, type: 'number' }, { json: 'unit', attribute: 'unit' }] },
  },
});
const engine = compileMapping(sample, NS, 'Root');

describe('mapping engine', () => {
  it('writes elements in mapping order, the namespace once as the default, attributes unqualified', () => {
    const xml = engine.toXml({
      id: 'A1', name: 'Ёлка', count: 3, amount: 12.5, active: true, date: '2026-03-01',
      tags: ['a', 'b'], items: [{ code: 'x', title: 'Первый' }], size: { value: 1.25, unit: 'м' },
    });
    expect(xml).toBe(
      `<Root xmlns="${NS}" id="A1"><Name>Ёлка</Name><Count>3</Count><Amount>12.5</Amount><Active>true</Active>` +
        '<Date>2026-03-01</Date><Tag>a</Tag><Tag>b</Tag><Items><Item code="x"><Title>Первый</Title></Item></Items>' +
        '<Size unit="м">1.25</Size></Root>',
    );
  });

  it('escapes &, <, > in text and &, <, ", tab, newline, CR in attributes, and reads them back exactly', () => {
    const value = { id: 'a"b&c<d>e\tf\ng\rh', name: 'ООО "Рога & копыта" <ёлки> ]]> \r\n конец' };
    const xml = engine.toXml(value);
    expect(xml).toBe(
      `<Root xmlns="${NS}" id="a&quot;b&amp;c&lt;d>e&#x9;f&#xA;g&#xD;h"><Name>ООО "Рога &amp; копыта" &lt;ёлки&gt; ]]&gt; &#xD;\n конец</Name></Root>`,
    );
    expect(engine.toJson(parseXml(xml).root)).toEqual(value);
  });

  it('round-trips an empty wrapper as [], and absent optional fields stay absent', () => {
    const value = { items: [] };
    const xml = engine.toXml(value);
    expect(xml).toBe(`<Root xmlns="${NS}"><Items></Items></Root>`);
    expect(engine.toJson(parseXml(xml).root)).toEqual(value);
  });

  it('reads by namespace URI whatever the prefix, and only from the given element', () => {
    const doc = parseXml(
      `<env xmlns:p="${NS}"><p:Name>outer</p:Name><p:Root><p:Name>inner</p:Name><p:Count> 7 </p:Count></p:Root></env>`,
    );
    const root = doc.root.children.find((c) => c.type === 'element' && c.localName === 'Root');
    if (root === undefined || root.type !== 'element') throw new Error('no root');
    expect(engine.toJson(root)).toEqual({ name: 'inner', count: 7 });
  });

  it('ignores elements of other namespaces with the same local name', () => {
    const doc = parseXml(`<Root xmlns="${NS}"><Name xmlns="urn:other">x</Name><Count>1</Count></Root>`);
    expect(engine.toJson(doc.root)).toEqual({ count: 1 });
  });

  it('trims whitespace for numbers, booleans and dates but keeps it in strings', () => {
    const doc = parseXml(
      `<Root xmlns="${NS}"><Name>  два  пробела </Name><Amount>\n +012.500 \n</Amount><Active> 1 </Active><Date> 2026-01-02 </Date></Root>`,
    );
    expect(engine.toJson(doc.root)).toEqual({ name: '  два  пробела ', amount: 12.5, active: true, date: '2026-01-02' });
  });

  it('reads xs:boolean 0 and false', () => {
    expect(engine.toJson(parseXml(`<Root xmlns="${NS}"><Active>0</Active></Root>`).root)).toEqual({ active: false });
    expect(engine.toJson(parseXml(`<Root xmlns="${NS}"><Active>false</Active></Root>`).root)).toEqual({ active: false });
  });

  it('refuses a decimal a JSON number cannot hold exactly, naming the place but not the value', () => {
    const root = parseXml(`<Root xmlns="${NS}"><Amount>0.1000000000000000055511151231257827</Amount></Root>`).root;
    expect(() => engine.toJson(root)).toThrow(MappingError);
    try {
      engine.toJson(root);
    } catch (error) {
      expect((error as MappingError).path).toBe('/Root/Amount');
      expect((error as Error).message).not.toContain('0.1000');
    }
    const big = parseXml(`<Root xmlns="${NS}"><Count>9007199254740993</Count></Root>`).root;
    expect(() => engine.toJson(big)).toThrow(/\/Root\/Count/);
  });

  it('paths of repeated elements are 1-based', () => {
    const root = parseXml(`<Root xmlns="${NS}"><Items><Item code="a"></Item><Item code="b"><Title>x</Title></Item></Items><Size unit="m">x</Size></Root>`).root;
    expect(() => engine.toJson(root)).toThrow(/\/Root\/Size: not a decimal/);
  });

  it('writes numbers as plain decimals, never exponent notation', () => {
    expect(engine.toXml({ amount: 1e21 })).toContain('<Amount>1000000000000000000000</Amount>');
    expect(engine.toXml({ amount: 1e-7 })).toContain('<Amount>0.0000001</Amount>');
    expect(engine.toXml({ amount: -0 })).toContain('<Amount>0</Amount>');
  });

  it('refuses JSON it cannot write (types, characters XML cannot carry), naming the JSON pointer', () => {
    expect(() => engine.toXml({ count: 1.5 })).toThrow(/^\/count: expected a safe integer/);
    expect(() => engine.toXml({ items: [{ title: 5 }] })).toThrow(/^\/items\/0\/title: expected a string/);
    expect(() => engine.toXml({ name: 'a\u0001b' })).toThrow(/^\/name: contains a character XML cannot carry/);
    expect(() => engine.toXml({ name: '\ud800' })).toThrow(MappingError);
    expect(() => engine.toXml([] as never)).toThrow(/expected an object/);
  });

  it('refuses a root element of another name or namespace', () => {
    expect(() => engine.toJson(parseXml('<Root xmlns="urn:other"></Root>').root)).toThrow(MappingError);
    expect(() => engine.toJson(parseXml(`<Other xmlns="${NS}"></Other>`).root)).toThrow(MappingError);
  });
});

describe('mapping file format', () => {
  const problems = (data: unknown): string[] => {
    const r = normaliseMapping(data);
    return 'problems' in r ? r.problems : [];
  };

  it('names the place of each problem', () => {
    expect(problems({ fields: [{ json: 'a', xml: 'A', attribute: 'a' }] })).toEqual(['/fields/0: "a" needs exactly one of "xml", "attribute", "text"']);
    expect(problems({ fields: [{ json: 'a', xml: 'A', ref: 'Nope' }] })).toEqual(['/fields/0: "a" refers to an undefined def "Nope"']);
    expect(problems({ fields: [{ json: 'a', xml: 'A', wrapper: 'As' }] })).toEqual(['/fields/0: "a" has a "wrapper" but is not "repeated"']);
    expect(problems({ fields: [{ json: 'a', attribute: 'a', repeated: true }] })).toEqual([
      '/fields/0: "a" is carried by an attribute, which holds one scalar value only',
    ]);
    expect(problems({ fields: [{ json: 'a', xml: 'A', type: 'object' }] })).toEqual(['/fields/0: "a" has type "object" but no "fields"/"ref"']);
    expect(problems({ fields: [{ json: 'a', xml: 'A' }, { json: 'a', xml: 'B' }] })).toEqual(['/fields/1: property "a" is mapped twice']);
    expect(problems({ fields: [{ json: 'a', xml: 'A' }, { json: 'b', xml: 'A' }] })).toEqual(['/fields/1: element "A" is mapped twice']);
    expect(problems({ fields: [{ json: 'a', xml: 'A', ref: 'X' }], defs: { X: { fields: [{ json: 'b', xml: 'B', ref: 'X' }] } } })).toEqual([
      '/defs/X/fields/0: def "X" refers to itself (X → X)',
    ]);
    expect(problems({ fields: [{ json: 'v', text: true }, { json: 'b', xml: 'B' }] })).toEqual([
      '/fields/0: a "text" field cannot be mixed with element fields (simple content has no children)',
    ]);
    expect(problems({ fields: [{ json: 'a', xml: 'A', colour: 'red' }] })).toEqual(['/fields/0: must NOT have additional properties']);
    expect(problems({ fields: [{ json: 'a', xml: 'not a name' }] })).toEqual(['/fields/0/xml: must match pattern "^[A-Za-z_][A-Za-z0-9_.-]*$"']);
  });
});

describe('exact numbers', () => {
  it('parses XSD decimals exactly or not at all', () => {
    expect(parseDecimal('12.50')).toBe(12.5);
    expect(parseDecimal('+.5')).toBe(0.5);
    expect(parseDecimal('5.')).toBe(5);
    expect(parseDecimal('-0.0')).toBe(0);
    expect(parseDecimal('0.1')).toBe(0.1);
    expect(parseDecimal('123456789012345678')).toBeNull();
    expect(parseDecimal('1e3')).toBeNull();
    expect(parseDecimal('.')).toBeNull();
    expect(parseDecimal('')).toBeNull();
    expect(parseInteger('007')).toBe(7);
    expect(parseInteger('1.0')).toBeNull();
    expect(parseInteger('9007199254740991')).toBe(9007199254740991);
    expect(parseInteger('9007199254740992')).toBeNull();
  });

  it('formats without exponents', () => {
    expect(formatDecimal(123.456)).toBe('123.456');
    expect(formatDecimal(1.5e-10)).toBe('0.00000000015');
    expect(formatDecimal(-2.5e22)).toBe('-25000000000000000000000');
    expect(() => formatDecimal(Number.NaN)).toThrow(RangeError);
  });
});

describe('firstDifference', () => {
  it('ignores key order and names the first differing place', () => {
    expect(firstDifference({ a: 1, b: [1, { c: 'x' }] }, { b: [1, { c: 'x' }], a: 1 })).toBeNull();
    expect(firstDifference({ a: [1, { c: 'x' }] }, { a: [1, { c: 'y' }] })).toBe('/a/1/c');
    expect(firstDifference({ a: 1 }, { a: 1, b: 2 })).toBe('/b');
    expect(firstDifference([1], [1, 2])).toBe('/');
  });
});
