// The built-in datatypes we support, each with its exact XSD 1.0 lexical check and a value
// mapping for facets. Everything here runs on hostile input: no regex with nested quantifiers.

import { isNameCode, isNameStartCode } from '../../xml/chars.js';
import { compareDec, decKey, parseDecimal, parseInteger, type Dec } from './decimal.js';
import { compareMoment, momentKey, parseDate, parseDateTime, parseGYear, parseTime, type Moment } from './datetime.js';

export type WhiteSpace = 'preserve' | 'replace' | 'collapse';

/** Which facets apply, and how values compare, follows from the primitive family. */
export type Family = 'string' | 'boolean' | 'decimal' | 'moment' | 'binary';

interface BuiltinBase<V> {
  /** Display name used in rules, e.g. "xs:date" (whatever prefix the schema used). */
  readonly name: string;
  readonly family: Family;
  readonly whiteSpace: WhiteSpace;
  /** Value of an already whitespace-normalized string, or null when the lexical form is invalid. */
  parse(s: string): V | null;
  /** Equal values, equal keys (enumeration and fixed compare in the value space). */
  key(v: V): string;
}

export interface StringBuiltin extends BuiltinBase<string> {
  readonly family: 'string';
}
export interface BooleanBuiltin extends BuiltinBase<boolean> {
  readonly family: 'boolean';
}
export interface DecimalBuiltin extends BuiltinBase<Dec> {
  readonly family: 'decimal';
}
export interface MomentBuiltin extends BuiltinBase<Moment> {
  readonly family: 'moment';
}
/** base64Binary: the value is its octet count plus a canonical (space-free) text for equality. */
export interface BinaryBuiltin extends BuiltinBase<{ octets: number; text: string }> {
  readonly family: 'binary';
}

export type Builtin = StringBuiltin | BooleanBuiltin | DecimalBuiltin | MomentBuiltin | BinaryBuiltin;

export const XSD_NS = 'http://www.w3.org/2001/XMLSchema';

// ------------------------------------------------------------------ strings

function stringType(name: string, whiteSpace: WhiteSpace, ok: (s: string) => boolean): StringBuiltin {
  return { name, family: 'string', whiteSpace, parse: (s) => (ok(s) ? s : null), key: (v) => v };
}

/** NCName per Namespaces in XML: an XML Name without ':' (code points, surrogate pairs included). */
export function isNCName(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x3a) return false;
    if (c >= 0xd800 && c <= 0xdbff) {
      // Supplementary characters #x10000-#xEFFFF are name characters (XML 1.0 5th ed.).
      const lo = s.charCodeAt(i + 1);
      if (!(lo >= 0xdc00 && lo <= 0xdfff) || c > 0xdb7f) return false;
      i++;
      continue;
    }
    if (i === 0 ? !isNameStartCode(c) : !isNameCode(c)) return false;
  }
  return true;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/**
 * XSD 1.0 anyURI: a string that, after the XLink escaping of non-ASCII and excluded characters,
 * is an RFC 2396/2732 URI reference. The escaping makes most characters acceptable; what remains
 * checkable is: '%' starts a two-hex-digit escape, at most one '#', and a scheme (text before a
 * ':' that precedes any '/', '?' or '#') is ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
 */
export function isAnyURI(s: string): boolean {
  let hashes = 0;
  let schemeEnd = -1;
  let schemeDecided = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 && !(isHex(s.charCodeAt(i + 1)) && isHex(s.charCodeAt(i + 2)))) return false;
    if (c === 0x23 && ++hashes > 1) return false;
    if (!schemeDecided) {
      if (c === 0x3a) {
        schemeEnd = i;
        schemeDecided = true;
      } else if (c === 0x2f || c === 0x3f || c === 0x23) {
        schemeDecided = true;
      }
    }
  }
  if (schemeEnd !== -1) {
    if (schemeEnd === 0) return false;
    for (let i = 0; i < schemeEnd; i++) {
      const c = s.charCodeAt(i);
      const alpha = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
      if (i === 0 ? !alpha : !(alpha || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e)) {
        return false;
      }
    }
  }
  return true;
}

// ------------------------------------------------------------------ base64

function b64Index(c: number): number {
  if (c >= 0x41 && c <= 0x5a) return c - 0x41;
  if (c >= 0x61 && c <= 0x7a) return c - 0x61 + 26;
  if (c >= 0x30 && c <= 0x39) return c - 0x30 + 52;
  if (c === 0x2b) return 62;
  if (c === 0x2f) return 63;
  return -1;
}

/**
 * XSD 1.0 base64Binary (Second Edition grammar): groups of four characters, single spaces allowed
 * between characters (the collapsed value has no leading/trailing/double spaces), '=' padding only
 * at the end, and the last data character before padding must have its unused bits zero
 * (B16 before '=', B04 before '==').
 */
export function parseBase64(s: string): { octets: number; text: string } | null {
  // One pass without copying: attachments can be megabytes.
  let n = 0;
  let pad = 0;
  let lastData = -1;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x20) {
      if (i === 0 || i === s.length - 1 || s.charCodeAt(i - 1) === 0x20) return null;
      continue;
    }
    n++;
    if (c === 0x3d) {
      if (++pad > 2) return null;
      continue;
    }
    // A data character after padding is out of place.
    if (pad > 0) return null;
    lastData = b64Index(c);
    if (lastData < 0) return null;
  }
  if (n % 4 !== 0) return null;
  if (pad === 1 && (lastData & 0x03) !== 0) return null;
  if (pad === 2 && (lastData & 0x0f) !== 0) return null;
  return { octets: (n / 4) * 3 - pad, text: stripSpaces(s) };
}

function stripSpaces(s: string): string {
  return s.indexOf(' ') === -1 ? s : s.split(' ').join('');
}

// ------------------------------------------------------------------ numbers

function decimalType(name: string, parse: (s: string) => Dec | null): DecimalBuiltin {
  return { name, family: 'decimal', whiteSpace: 'collapse', parse, key: decKey };
}

function integerRange(name: string, min: string | null, max: string | null): DecimalBuiltin {
  const lo = min === null ? null : parseInteger(min);
  const hi = max === null ? null : parseInteger(max);
  return decimalType(name, (s) => {
    const v = parseInteger(s);
    if (v === null) return null;
    if (lo !== null && compareDec(v, lo) < 0) return null;
    if (hi !== null && compareDec(v, hi) > 0) return null;
    return v;
  });
}

function momentType(name: string, parse: (s: string) => Moment | null): MomentBuiltin {
  return { name, family: 'moment', whiteSpace: 'collapse', parse, key: momentKey };
}

// ------------------------------------------------------------------ registry

const BUILTINS: ReadonlyMap<string, Builtin> = new Map<string, Builtin>(
  (
    [
      // Every string is a valid xs:string (the parser already refused non-XML characters).
      stringType('xs:string', 'preserve', () => true),
      // After whiteSpace=replace (resp. collapse) the remaining constraints hold by construction.
      stringType('xs:normalizedString', 'replace', () => true),
      stringType('xs:token', 'collapse', () => true),
      stringType('xs:anyURI', 'collapse', isAnyURI),
      stringType('xs:NCName', 'collapse', isNCName),
      stringType('xs:ID', 'collapse', isNCName),
      {
        name: 'xs:boolean',
        family: 'boolean',
        whiteSpace: 'collapse',
        parse: (s: string) => (s === 'true' || s === '1' ? true : s === 'false' || s === '0' ? false : null),
        key: (v: boolean) => String(v),
      } satisfies BooleanBuiltin,
      decimalType('xs:decimal', parseDecimal),
      integerRange('xs:integer', null, null),
      integerRange('xs:long', '-9223372036854775808', '9223372036854775807'),
      integerRange('xs:int', '-2147483648', '2147483647'),
      integerRange('xs:short', '-32768', '32767'),
      integerRange('xs:byte', '-128', '127'),
      // "-0" and "+0" are valid nonNegativeIntegers: the sign rule is about the value, not the text.
      integerRange('xs:nonNegativeInteger', '0', null),
      integerRange('xs:positiveInteger', '1', null),
      momentType('xs:date', parseDate),
      momentType('xs:dateTime', parseDateTime),
      momentType('xs:time', parseTime),
      momentType('xs:gYear', parseGYear),
      {
        name: 'xs:base64Binary',
        family: 'binary',
        whiteSpace: 'collapse',
        parse: parseBase64,
        key: (v: { octets: number; text: string }) => v.text,
      } satisfies BinaryBuiltin,
    ] as Builtin[]
  ).map((b) => [b.name.slice(3), b]),
);

/** A supported built-in by local name in the XML Schema namespace, or undefined. */
export function builtin(localName: string): Builtin | undefined {
  return BUILTINS.get(localName);
}

/** Value comparison for ordering facets; NaN when the two values are incomparable. */
export function compareValues(b: Builtin, x: unknown, y: unknown): number {
  if (b.family === 'decimal') return compareDec(x as Dec, y as Dec);
  if (b.family === 'moment') return compareMoment(x as Moment, y as Moment);
  return NaN;
}

/** Applies a whiteSpace facet (XSD Part 2 §4.3.6). */
export function normalizeWhiteSpace(s: string, ws: WhiteSpace): string {
  if (ws === 'preserve') return s;
  let needs = false;
  for (let i = 0; i < s.length && !needs; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x09 || c === 0x0a || c === 0x0d) needs = true;
    else if (ws === 'collapse' && c === 0x20 && (i === 0 || i === s.length - 1 || s.charCodeAt(i + 1) === 0x20)) needs = true;
  }
  if (!needs) return s;
  const replaced = s.replace(/[\t\n\r]/g, ' ');
  if (ws === 'replace') return replaced;
  return replaced.split(' ').filter((p) => p !== '').join(' ');
}
