// Lexical edge cases of every supported built-in type, through the whole path: schema →
// whitespace facet → lexical check, on a parsed instance element.
import { describe, expect, it } from 'vitest';
import { LEXICAL_CASES as CASES } from './builtin-cases.js';
import { compile, root, TNS } from './helpers.js';

function checker(type: string): (value: string) => string[] {
  const s = compile(`<xs:element name="V" type="${type}"/>`);
  return (value: string) => s.validate(root(`<V xmlns="${TNS}">${value}</V>`)).map((e) => e.rule);
}

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
    // An element of xs:anyType takes anything; as the base of a simple type it is refused.
    expect(() => compile('<xs:element name="V" type="xs:anyType"/>')).not.toThrow();
    expect(() => compile('<xs:element name="V"><xs:simpleType><xs:restriction base="xs:anyType"/></xs:simpleType></xs:element>')).toThrow(/needs a simple type; xs:anyType is complex/);
    expect(() => compile('<xs:element name="V" type="xs:floaty"/>')).toThrow(/type xs:floaty: is not an XML Schema built-in type/);
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
