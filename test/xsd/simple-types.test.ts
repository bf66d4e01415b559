// Value spaces of the newer built-ins (duration order, float equality, enumerations), unions and the
// list built-ins at the simple-types level, and linear time on hostile input.
import { describe, expect, it } from 'vitest';
import { builtin } from '../../src/catalogue/xsd/builtins.js';
import { compareDuration, parseDuration, type Duration } from '../../src/catalogue/xsd/duration.js';
import {
  builtinSimple,
  checkSimple,
  FacetError,
  listType,
  restrict,
  simpleKey,
  unionType,
  type RawFacet,
  type SimpleType,
} from '../../src/catalogue/xsd/simple-types.js';

function b(local: string): SimpleType {
  const t = builtinSimple(local);
  if (t === undefined) throw new Error(`no built-in ${local}`);
  return t;
}

function ok(t: SimpleType, v: string): boolean {
  return checkSimple(t, v) === null;
}

function enumOf(base: SimpleType, values: string[]): SimpleType {
  return restrict(base, values.map((value): RawFacet => ({ name: 'enumeration', value })), 'E');
}

function d(s: string): Duration {
  const v = parseDuration(s);
  if (v === null) throw new Error(`bad duration ${s}`);
  return v;
}

describe('builtin / builtinSimple', () => {
  it('know all 44 XSD 1.0 built-in simple types, and nothing else', () => {
    const atomic = [
      'anySimpleType', 'string', 'normalizedString', 'token', 'language', 'Name', 'NCName', 'ID', 'IDREF', 'ENTITY',
      'NMTOKEN', 'anyURI', 'QName', 'NOTATION', 'boolean', 'decimal', 'integer', 'nonPositiveInteger', 'negativeInteger',
      'long', 'int', 'short', 'byte', 'nonNegativeInteger', 'unsignedLong', 'unsignedInt', 'unsignedShort', 'unsignedByte',
      'positiveInteger', 'float', 'double', 'duration', 'dateTime', 'time', 'date', 'gYearMonth', 'gYear', 'gMonthDay',
      'gDay', 'gMonth', 'hexBinary', 'base64Binary',
    ];
    for (const n of atomic) {
      expect(builtin(n)?.name).toBe(`xs:${n}`);
      expect(b(n).variety).toBe('atomic');
    }
    for (const n of ['NMTOKENS', 'IDREFS', 'ENTITIES']) {
      expect(builtin(n)).toBeUndefined();
      expect(b(n)).toMatchObject({ name: `xs:${n}`, variety: 'list', whiteSpace: 'collapse' });
      expect(checkSimple(b(n), '')).toEqual({ rule: 'minLength 1', detail: 'is shorter than 1 items' });
    }
    expect(builtinSimple('anyType')).toBeUndefined();
    expect(builtinSimple('Float')).toBeUndefined();
    expect(builtinSimple('xs:float')).toBeUndefined();
  });

  it('names the type in the issue, never the value', () => {
    expect(checkSimple(b('gMonthDay'), '--02-30')).toEqual({ rule: 'type xs:gMonthDay', detail: 'is not a valid xs:gMonthDay' });
    expect(checkSimple(b('NMTOKENS'), 'a #')).toEqual({ rule: 'type xs:NMTOKEN', detail: 'has an invalid item 2: it is not a valid xs:NMTOKEN' });
  });
});

describe('duration', () => {
  it('compares by the four reference dateTimes of §3.2.6.2 (a partial order)', () => {
    expect(compareDuration(d('P1Y'), d('P12M'))).toBe(0);
    expect(compareDuration(d('P1D'), d('PT24H'))).toBe(0);
    expect(compareDuration(d('PT36H'), d('P1D'))).toBe(1);
    expect(compareDuration(d('-P1D'), d('P0D'))).toBe(-1);
    expect(compareDuration(d('-P0D'), d('PT0S'))).toBe(0);
    expect(compareDuration(d('PT1.50S'), d('PT1.5S'))).toBe(0);
    expect(compareDuration(d('PT1.5S'), d('PT1.499999999999999999999S'))).toBe(1);
    // §3.2.6.2's examples: P1Y <> P365D, P1M <> P30D, P5M <> P150D; P1Y > P364D, P1Y < P367D.
    expect(compareDuration(d('P1Y'), d('P365D'))).toBeNaN();
    expect(compareDuration(d('P1Y'), d('P366D'))).toBeNaN();
    expect(compareDuration(d('P1Y'), d('P364D'))).toBe(1);
    expect(compareDuration(d('P1Y'), d('P367D'))).toBe(-1);
    expect(compareDuration(d('P1M'), d('P30D'))).toBeNaN();
    expect(compareDuration(d('P1M'), d('P27D'))).toBe(1);
    expect(compareDuration(d('P5M'), d('P150D'))).toBeNaN();
    expect(compareDuration(d('P1M'), d('P32D'))).toBe(-1);
    expect(compareDuration(d('-P1M'), d('-P32D'))).toBe(1);
  });

  it('enumeration and ordering facets work in the value space', () => {
    const e = enumOf(b('duration'), ['P1Y', 'PT1H']);
    expect(ok(e, 'P12M')).toBe(true);
    expect(ok(e, 'PT60M')).toBe(true);
    expect(ok(e, 'PT3600S')).toBe(true);
    expect(ok(e, 'P365D')).toBe(false);
    const m = restrict(b('duration'), [{ name: 'minExclusive', value: 'P1D' }], 'M');
    expect(ok(m, 'PT24H0.001S')).toBe(true);
    expect(ok(m, 'PT23H59M60S')).toBe(false);
    expect(ok(m, 'PT24H')).toBe(false);
  });

  it('refuses literals beyond the documented limit of 30 significant digits per component (§5.4)', () => {
    expect(ok(b('duration'), `P${'9'.repeat(30)}Y`)).toBe(true);
    expect(ok(b('duration'), `P${'9'.repeat(31)}Y`)).toBe(false);
    expect(ok(b('duration'), `P${'0'.repeat(1000)}1Y`)).toBe(true);
    expect(ok(b('duration'), `PT1.${'1'.repeat(30)}${'0'.repeat(1000)}S`)).toBe(true);
    expect(ok(b('duration'), `PT1.${'1'.repeat(31)}S`)).toBe(false);
  });
});

describe('float and double', () => {
  it('enumeration: NaN equals itself, one zero, values not lexical forms, float precision', () => {
    const f = enumOf(b('float'), ['NaN', '0', '1.5', 'INF', '0.1']);
    for (const v of ['NaN', '-0', '0.0', '0e5', '15e-1', '1.50', 'INF', '0.100000001']) expect({ v, ok: ok(f, v) }).toEqual({ v, ok: true });
    for (const v of ['-INF', '1.6', '0.1001']) expect({ v, ok: ok(f, v) }).toEqual({ v, ok: false });
    // 0.100000001 is 0.1 as a float but not as a double.
    expect(ok(enumOf(b('double'), ['0.1']), '0.100000001')).toBe(false);
    expect(simpleKey(b('double'), '-0')).toEqual(simpleKey(b('double'), '0'));
  });

  it('ordering: INF above all numbers, NaN incomparable (only a NaN bound admits NaN)', () => {
    const max = restrict(b('double'), [{ name: 'maxInclusive', value: 'INF' }], 'M');
    expect(ok(max, '1.7976931348623157e308')).toBe(true);
    expect(ok(max, 'INF')).toBe(true);
    expect(ok(max, 'NaN')).toBe(false);
    const nan = restrict(b('double'), [{ name: 'minInclusive', value: 'NaN' }], 'N');
    expect(ok(nan, 'NaN')).toBe(true);
    expect(ok(nan, '1')).toBe(false);
    expect(ok(restrict(b('float'), [{ name: 'maxExclusive', value: '1' }], 'F'), '0.99999999')).toBe(false); // rounds to 1f
  });

  it('facets outside the float family are refused', () => {
    expect(() => restrict(b('float'), [{ name: 'totalDigits', value: '3' }], 'F')).toThrow(/xs:totalDigits does not apply to xs:float/);
    expect(() => restrict(b('double'), [{ name: 'maxLength', value: '3' }], 'F')).toThrow(FacetError);
  });
});

describe('other new built-ins', () => {
  it('hexBinary: length in octets, enumeration ignores case', () => {
    const h = restrict(b('hexBinary'), [{ name: 'maxLength', value: '2' }, { name: 'enumeration', value: 'cafe' }, { name: 'enumeration', value: '00' }], 'H');
    expect(ok(h, 'CAFE')).toBe(true);
    expect(ok(h, '00')).toBe(true);
    expect(() => restrict(b('hexBinary'), [{ name: 'maxLength', value: '1' }, { name: 'enumeration', value: 'cafe' }], 'H')).not.toThrow();
    expect(checkSimple(restrict(b('hexBinary'), [{ name: 'minLength', value: '3' }], 'H'), 'cafe')).toEqual({
      rule: 'minLength 3',
      detail: 'is shorter than 3 octets',
    });
  });

  it('g* types: ordering with the ±14h rule, recurring types in a leap reference year', () => {
    const md = restrict(b('gMonthDay'), [{ name: 'maxInclusive', value: '--02-29' }], 'MD');
    expect(ok(md, '--02-28')).toBe(true);
    expect(ok(md, '--02-29')).toBe(true);
    expect(ok(md, '--03-01')).toBe(false);
    const ym = restrict(b('gYearMonth'), [{ name: 'minExclusive', value: '2026-01Z' }], 'YM');
    expect(ok(ym, '2026-02Z')).toBe(true);
    expect(ok(ym, '2026-01+01:00')).toBe(false); // 2025-12-31T23:00Z
    expect(ok(ym, '2026-01-01:00')).toBe(true);
    expect(ok(ym, '2026-01')).toBe(false); // indeterminate within 14 hours
    expect(ok(enumOf(b('gDay'), ['---05Z']), '---05+00:00')).toBe(true);
  });

  it('QName and NOTATION: lexical forms; length facets are allowed and have no effect', () => {
    const q = restrict(b('QName'), [{ name: 'maxLength', value: '1' }], 'Q');
    expect(ok(q, 'p:long')).toBe(true);
    expect(ok(q, 'p:')).toBe(false);
    expect(() => restrict(b('QName'), [{ name: 'maxLength', value: 'x' }], 'Q')).toThrow(/non-negative integer/);
    expect(ok(enumOf(b('NOTATION'), ['png', 'p:jpeg']), 'p:jpeg')).toBe(true);
  });

  it('ENTITY has no valid value without a DTD; anySimpleType accepts anything as is', () => {
    expect(ok(b('ENTITY'), 'logo')).toBe(false);
    expect(ok(b('anySimpleType'), ' \t any <thing> ')).toBe(true);
    expect(b('anySimpleType').whiteSpace).toBe('preserve');
  });
});

describe('unions', () => {
  const intOrDate = unionType([b('int'), b('date')], 'IntOrDate');

  it('a value is valid for the first member that accepts it, with that member\'s whitespace', () => {
    expect(ok(intOrDate, ' 12 ')).toBe(true);
    expect(ok(intOrDate, '\n2026-01-01\t')).toBe(true);
    expect(checkSimple(intOrDate, 'x')).toEqual({ rule: 'type IntOrDate', detail: 'is not valid for any member type of IntOrDate' });
    expect(intOrDate).toMatchObject({ variety: 'union', item: null, whiteSpace: 'preserve' });
    expect(intOrDate.members).toHaveLength(2);
    // A member's facets take part: 5 is not a SmallInt, so the string member takes it.
    const small = restrict(b('int'), [{ name: 'maxInclusive', value: '3' }], 'SmallInt');
    const u = unionType([small, b('string')], 'U');
    expect(simpleKey(u, '2')).toEqual({ key: '0:2' });
    expect(simpleKey(u, '5')).toEqual({ key: '1:5' });
  });

  it('restriction: only pattern and enumeration; enumeration keys carry the member index', () => {
    const e = enumOf(intOrDate, ['1', '2026-01-01']);
    expect(ok(e, '+01')).toBe(true);
    expect(ok(e, '2026-01-01')).toBe(true);
    expect(ok(e, '2026-01-01Z')).toBe(false);
    // The string "1" of a string member and the int 1 are different values.
    const strThenInt = enumOf(unionType([restrict(b('string'), [{ name: 'pattern', value: '[a-z]+' }], 'S'), b('int')], 'U'), ['1']);
    expect(ok(strThenInt, '01')).toBe(true);
    expect(() => restrict(intOrDate, [{ name: 'maxLength', value: '3' }], 'R')).toThrow(/xs:maxLength does not apply to a union type/);
    expect(() => restrict(intOrDate, [{ name: 'whiteSpace', value: 'collapse' }], 'R')).toThrow(FacetError);
    expect(() => restrict(intOrDate, [{ name: 'minInclusive', value: '1' }], 'R')).toThrow(FacetError);
    expect(() => enumOf(intOrDate, ['x'])).toThrow(/enumeration value "x" is not valid for the base type \(type E\)/);
    const p = restrict(e, [{ name: 'pattern', value: '\\d' }], 'P');
    expect(ok(p, '1')).toBe(true);
    expect(ok(p, '2026-01-01')).toBe(false);
  });

  it('unions of unions and lists; lists of unions, but no list of a union with a list member', () => {
    const ints = listType(b('int'), 'Ints');
    const u = unionType([unionType([b('boolean')], 'B'), ints], 'U');
    expect(ok(u, 'true')).toBe(true);
    expect(ok(u, '1 2 3')).toBe(true);
    expect(ok(u, 'true false')).toBe(false);
    expect(() => listType(u, 'L')).toThrow(/a list of a union that has a list member is not allowed/);
    expect(() => unionType([], 'U')).toThrow(FacetError);
    const l = restrict(listType(intOrDate, 'L'), [{ name: 'maxLength', value: '2' }], 'L2');
    expect(ok(l, '1 2026-01-01')).toBe(true);
    expect(ok(l, '1 2 3')).toBe(false);
    expect(checkSimple(l, '1 x')).toEqual({ rule: 'type IntOrDate', detail: 'has an invalid item 2: it is not valid for any member type of IntOrDate' });
    expect(simpleKey(l, ' 01  2026-01-01 ')).toEqual(simpleKey(l, '1 2026-01-01'));
  });
});

describe('hostile input', () => {
  it('stays linear: 200k-character values of every new type are checked quickly', () => {
    const n = 200_000;
    const inputs = [
      '9'.repeat(n), `P${'9'.repeat(n)}Y`, `PT1.${'1'.repeat(n)}S`, `1${'0'.repeat(n)}e`, 'a-'.repeat(n / 2), 'ab'.repeat(n / 2),
      `${' '.repeat(n)}x`, `--01${'0'.repeat(n)}`, `-${'0'.repeat(n)}1-01`, 'a:'.repeat(n / 2), `${'1'.repeat(n)}.5e1`,
    ];
    const types = [
      'float', 'double', 'duration', 'gYearMonth', 'gMonth', 'gDay', 'gMonthDay', 'hexBinary', 'Name', 'language',
      'NMTOKEN', 'NMTOKENS', 'IDREF', 'IDREFS', 'QName', 'unsignedLong', 'negativeInteger',
    ];
    const union = unionType(types.map(b), 'All');
    const t0 = performance.now();
    for (const t of types) for (const s of inputs) checkSimple(b(t), s);
    for (const s of inputs) checkSimple(union, s);
    expect(performance.now() - t0).toBeLessThan(3000);
  });
});
