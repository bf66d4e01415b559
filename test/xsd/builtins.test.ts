// Lexical edge cases of every supported built-in type, through the whole path: schema →
// whitespace facet → lexical check, on a parsed instance element.
import { describe, expect, it } from 'vitest';
import { compile, root, TNS } from './helpers.js';

function checker(type: string): (value: string) => string[] {
  const s = compile(`<xs:element name="V" type="${type}"/>`);
  return (value: string) => s.validate(root(`<V xmlns="${TNS}">${value}</V>`)).map((e) => e.rule);
}

const CASES: Record<string, { valid: string[]; invalid: string[] }> = {
  'xs:string': { valid: ['', '  a  b ', 'любой текст', '&lt;tag&gt;', '😀'], invalid: [] },
  'xs:normalizedString': { valid: ['a\tb\nc', ''], invalid: [] },
  'xs:token': { valid: ['  a   b  ', ''], invalid: [] },
  'xs:boolean': { valid: ['true', 'false', '1', '0', ' true\n'], invalid: ['TRUE', 'True', 'yes', '', '01', 't r u e'] },
  'xs:decimal': {
    valid: ['1', '-1.5', '+.5', '5.', '0', '-0', '00012.3400', ' 3.14 ', '123456789012345678901234567890.123456789'],
    invalid: ['', '.', '1e5', '1,5', '+-1', '1.2.3', 'NaN', 'INF', '- 1', '١٢'],
  },
  'xs:integer': { valid: ['0', '-0', '+12', '0001', '123456789012345678901234567890'], invalid: ['1.0', '', '1.', '+', '1 2', '0x1F'] },
  'xs:long': { valid: ['9223372036854775807', '-9223372036854775808'], invalid: ['9223372036854775808', '-9223372036854775809'] },
  'xs:int': { valid: ['2147483647', '-2147483648', '+0', '-0'], invalid: ['2147483648', '-2147483649', '1.5'] },
  'xs:short': { valid: ['32767', '-32768'], invalid: ['32768', '-32769'] },
  'xs:byte': { valid: ['127', '-128', '007'], invalid: ['128', '-129'] },
  'xs:nonNegativeInteger': { valid: ['0', '-0', '+0', '+5', '18446744073709551616'], invalid: ['-1', '1.0', ''] },
  'xs:positiveInteger': { valid: ['1', '+1', '0001'], invalid: ['0', '-0', '+0', '-1'] },
  'xs:date': {
    valid: [
      '2026-03-15', '2024-02-29', '2000-02-29', '2026-03-15Z', '2026-03-15+03:00', '2026-03-15-14:00',
      '2026-03-15+14:00', '-0044-03-15', '12026-01-01', '0001-01-01', ' 2026-03-15\n', '2026-12-31',
      '-0001-02-29', // XSD 1.0 has no year 0: -0001 is astronomical year 0, a leap year
    ],
    invalid: [
      '2026-02-30', '2026-02-29', '1900-02-29', '2026-13-01', '2026-00-10', '2026-04-31', '2026-03-00',
      '26-03-15', '0000-01-01', '02026-01-01', '2026-3-15', '2026-03-15+14:01', '2026-03-15+15:00',
      '2026-03-15+03', '2026-03-15T00:00:00', '+2026-03-15', '2026-03-15z', '15.03.2026', '',
      '-0002-02-29',
    ],
  },
  'xs:dateTime': {
    valid: [
      '2026-03-15T10:20:30', '2026-03-15T10:20:30.123456Z', '2026-03-15T24:00:00', '2026-03-15T24:00:00.000',
      '2026-12-31T23:59:59+03:00', '2024-02-29T00:00:00-05:30',
    ],
    invalid: [
      '2026-03-15T24:00:01', '2026-03-15T10:20', '2026-03-15T10:60:00', '2026-03-15T10:20:60',
      '2026-02-30T10:00:00', '2026-03-15t10:20:30', '2026-03-15T10:20:30.', '2026-03-15 10:20:30',
      '2026-03-15', '2026-03-15T1:20:30', '2026-03-15T10:20:30+3:00',
    ],
  },
  'xs:time': {
    valid: ['10:20:30', '00:00:00', '24:00:00', '23:59:59.999Z', '10:20:30-05:00', '10:20:30.5+14:00'],
    invalid: ['24:00:00.1', '10:20', '1:20:30', '25:00:00', '10:20:30Z+01:00', 'T10:20:30', '10:20:30.'],
  },
  'xs:gYear': {
    valid: ['2026', '-0001', '2026Z', '2026+03:00', '12345', '0001'],
    invalid: ['26', '0000', '02026', '2026-01', '+2026', '', '20 26'],
  },
  'xs:base64Binary': {
    valid: ['', 'AAAA', 'AA==', 'AAA=', 'QUJD REVG', 'QQ==', 'Q Q = =', 'QUJD\nREVG', '  QUJD  ', 'ab+/'],
    invalid: ['A', 'AAA', 'A===', 'AB==', 'AAB=', '====', 'QQ==QQ==', 'Q Q', '@@@@', 'QUJD-REVG', 'AA=A'],
  },
  'xs:anyURI': {
    valid: ['http://example.ru/путь?q=1#frag', 'urn:okno:x', '', 'relative/path', '%20', 'mailto:a@b.ru', 'a b', '../x:y'],
    invalid: ['%zz', '%2', 'a#b#c', '1http://x', ':foo', 'ht_tp://x'],
  },
  'xs:ID': { valid: ['app-1', '_x', 'Заявление1', 'a.b', ' id '], invalid: ['1abc', 'a:b', '', '-x', 'a b', '.a'] },
  'xs:NCName': { valid: ['Name', 'имя', 'x·y', 'a𐀀'], invalid: ['a:b', '2x', '', 'a/b'] },
};

describe('built-in types: lexical forms per XSD 1.0', () => {
  for (const [type, { valid, invalid }] of Object.entries(CASES)) {
    it(type, () => {
      const check = checker(type);
      for (const v of valid) expect({ v, rules: check(v) }).toEqual({ v, rules: [] });
      for (const v of invalid) expect({ v, rules: check(v) }).toEqual({ v, rules: [`type ${type}`] });
    });
  }

  it('knows every XSD 1.0 built-in simple type; anyType is not a simple type', () => {
    expect(() => compile('<xs:element name="V" type="xs:float"/>')).not.toThrow();
    expect(() => compile('<xs:element name="V" type="xs:anyType"/>')).toThrow(/xs:anyType/);
    expect(() => compile('<xs:element name="V" type="xs:floaty"/>')).toThrow(/built-in type xs:floaty: is not supported/);
  });
});

function restricted(base: string, facets: string): (value: string) => string[] {
  const s = compile(
    `<xs:element name="V"><xs:simpleType><xs:restriction base="${base}">${facets}</xs:restriction></xs:simpleType></xs:element>`,
  );
  return (value: string) => s.validate(root(`<V xmlns="${TNS}">${value}</V>`)).map((e) => e.rule);
}

describe('facets', () => {
  it('length facets count characters (code points), octets for base64Binary', () => {
    const c = restricted('xs:string', '<xs:length value="3"/>');
    expect(c('abc')).toEqual([]);
    expect(c('ЖЖЖ')).toEqual([]);
    expect(c('a😀b')).toEqual([]);
    expect(c('ab')).toEqual(['length 3']);
    const b = restricted('xs:base64Binary', '<xs:minLength value="2"/><xs:maxLength value="3"/>');
    expect(b('QUI=')).toEqual([]); // 2 octets
    expect(b('QUJD')).toEqual([]); // 3
    expect(b('QQ==')).toEqual(['minLength 2']);
    expect(b('QUJDRA==')).toEqual(['maxLength 3']);
  });

  it('whiteSpace: string preserves by default, collapse applies before other facets', () => {
    expect(restricted('xs:string', '<xs:maxLength value="3"/>')(' ab ')).toEqual(['maxLength 3']);
    expect(restricted('xs:string', '<xs:whiteSpace value="collapse"/><xs:maxLength value="3"/>')('  a  b  ')).toEqual([]);
    expect(restricted('xs:string', '<xs:whiteSpace value="replace"/><xs:pattern value="a b"/>')('a\tb')).toEqual([]);
    expect(restricted('xs:string', '<xs:pattern value="a b"/>')('a\tb')).toEqual(['pattern a b']);
    expect(restricted('xs:token', '<xs:pattern value="\\d{3}"/>')('\n 123 \n')).toEqual([]);
    expect(() => restricted('xs:token', '<xs:whiteSpace value="preserve"/>')).toThrow(/would loosen/);
    expect(() => restricted('xs:int', '<xs:whiteSpace value="replace"/>')).toThrow(/would loosen/);
  });

  it('enumeration compares in the value space', () => {
    const d = restricted('xs:decimal', '<xs:enumeration value="1"/><xs:enumeration value="2.50"/>');
    expect(d('1.0')).toEqual([]);
    expect(d('+2.5')).toEqual([]);
    expect(d('3')).toEqual(['enumeration (1|2.50)']);
    const b = restricted('xs:boolean', '<xs:pattern value="true|1"/>');
    expect(b('1')).toEqual([]);
    expect(b('false')).toEqual(['pattern true|1']);
    const dt = restricted('xs:dateTime', '<xs:enumeration value="2026-01-01T03:00:00+03:00"/>');
    expect(dt('2026-01-01T00:00:00Z')).toEqual([]);
    expect(dt('2026-01-01T00:00:00')).toEqual(['enumeration (2026-01-01T03:00:00+03:00)']);
    expect(() => restricted('xs:int', '<xs:enumeration value="x"/>')).toThrow(/enumeration value "x" is not valid/);
  });

  it('totalDigits and fractionDigits follow XSD 1.0 (leading fraction zeros count)', () => {
    const c = restricted('xs:decimal', '<xs:totalDigits value="3"/><xs:fractionDigits value="2"/>');
    expect(c('123')).toEqual([]);
    expect(c('000123.000')).toEqual([]);
    expect(c('1.25')).toEqual([]);
    expect(c('0.05')).toEqual([]);
    expect(c('1234')).toEqual(['totalDigits 3']);
    expect(c('12.34')).toEqual(['totalDigits 3']);
    expect(c('0.005')).toEqual(['fractionDigits 2']);
    const t = restricted('xs:decimal', '<xs:totalDigits value="2"/>');
    expect(t('0.05')).toEqual([]);
    expect(t('0.005')).toEqual(['totalDigits 2']); // 5 × 10^-3 needs n = 3 > totalDigits
    expect(c('1.255')).toEqual(['totalDigits 3']);
    expect(restricted('xs:decimal', '<xs:fractionDigits value="2"/>')('0.125')).toEqual(['fractionDigits 2']);
    expect(() => restricted('xs:string', '<xs:totalDigits value="3"/>')).toThrow(/does not apply to xs:string/);
  });

  it('ordering facets on decimals are exact', () => {
    const c = restricted('xs:decimal', '<xs:minInclusive value="0.1"/><xs:maxExclusive value="99999999999999999999.5"/>');
    expect(c('0.1')).toEqual([]);
    expect(c('0.0999999999999999999999')).toEqual(['minInclusive 0.1']);
    expect(c('99999999999999999999.4999')).toEqual([]);
    expect(c('99999999999999999999.5')).toEqual(['maxExclusive 99999999999999999999.5']);
    expect(restricted('xs:integer', '<xs:minExclusive value="-5"/>')('-5')).toEqual(['minExclusive -5']);
    expect(restricted('xs:integer', '<xs:minExclusive value="-5"/>')('-4')).toEqual([]);
  });

  it('ordering facets on dates, with the ±14h rule for mixed timezones', () => {
    const c = restricted('xs:date', '<xs:minInclusive value="1900-01-01"/><xs:maxInclusive value="2026-12-31"/>');
    expect(c('1900-01-01')).toEqual([]);
    expect(c('1899-12-31')).toEqual(['minInclusive 1900-01-01']);
    expect(c('2027-01-01')).toEqual(['maxInclusive 2026-12-31']);
    // 2026-12-31Z vs 2026-12-31 (no timezone) is indeterminate: the facet is not satisfied.
    expect(c('2026-12-31Z')).toEqual(['maxInclusive 2026-12-31']);
    expect(c('2026-12-30Z')).toEqual([]);
    const t = restricted('xs:time', '<xs:maxExclusive value="18:00:00Z"/>');
    expect(t('20:59:59+03:00')).toEqual([]);
    expect(t('21:00:00+03:00')).toEqual(['maxExclusive 18:00:00Z']);
    const y = restricted('xs:gYear', '<xs:minInclusive value="-0100"/>');
    expect(y('-0050')).toEqual([]);
    expect(y('-0101')).toEqual(['minInclusive -0100']);
  });

  it('restriction steps combine: patterns within a step are alternatives, steps are conjunctive', () => {
    const s = compile(`
      <xs:simpleType name="Digits"><xs:restriction base="xs:string"><xs:pattern value="\\d+"/></xs:restriction></xs:simpleType>
      <xs:simpleType name="Code"><xs:restriction base="t:Digits"><xs:pattern value=".{3}"/><xs:pattern value=".{5}"/></xs:restriction></xs:simpleType>
      <xs:element name="V" type="t:Code"/>`);
    const v = (x: string): string[] => s.validate(root(`<V xmlns="${TNS}">${x}</V>`)).map((e) => e.rule);
    expect(v('123')).toEqual([]);
    expect(v('12345')).toEqual([]);
    expect(v('1234')).toEqual(['pattern .{3} | .{5}']);
    expect(v('12a')).toEqual(['pattern \\d+']);
  });

  it('xs:list with an item type and list facets', () => {
    const s = compile(`
      <xs:simpleType name="Ints"><xs:list itemType="xs:int"/></xs:simpleType>
      <xs:simpleType name="TwoInts"><xs:restriction base="t:Ints"><xs:length value="2"/></xs:restriction></xs:simpleType>
      <xs:element name="V" type="t:TwoInts"/>`);
    const v = (x: string): string[] => s.validate(root(`<V xmlns="${TNS}">${x}</V>`)).map((e) => e.rule);
    expect(v(' 1\n  -2 ')).toEqual([]);
    expect(v('1 2 3')).toEqual(['length 2']);
    expect(v('1 x')).toEqual(['type xs:int']);
  });
});
