// Every XSD 1.0 built-in simple type (Part 2 §3.2 and §3.3), each with its exact lexical check and
// a value mapping for facets. The list types NMTOKENS, IDREFS and ENTITIES are lists of NMTOKEN,
// IDREF and ENTITY: see builtinSimple() in simple-types.ts. Everything here runs on hostile input:
// one pass or anchored regexes without nested quantifiers.

import { isNameCode, isNameStartCode } from '../../xml/chars.js';
import { compareDec, decKey, parseDecimal, parseInteger, type Dec } from './decimal.js';
import {
  compareMoment,
  momentKey,
  parseDate,
  parseDateTime,
  parseGDay,
  parseGMonth,
  parseGMonthDay,
  parseGYear,
  parseGYearMonth,
  parseTime,
  type Moment,
} from './datetime.js';
import { compareDuration, durationKey, parseDuration, type Duration } from './duration.js';

export type WhiteSpace = 'preserve' | 'replace' | 'collapse';

/** Which facets apply, and how values compare, follows from the primitive family. */
export type Family = 'string' | 'boolean' | 'decimal' | 'float' | 'moment' | 'duration' | 'binary' | 'qname';

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
/** float and double: an IEEE 754 value (a JS number, rounded to single precision for float). */
export interface FloatBuiltin extends BuiltinBase<number> {
  readonly family: 'float';
}
export interface DurationBuiltin extends BuiltinBase<Duration> {
  readonly family: 'duration';
}
/** base64Binary, hexBinary: the value is its octet count plus a canonical text for equality. */
export interface BinaryBuiltin extends BuiltinBase<{ octets: number; text: string }> {
  readonly family: 'binary';
}
/**
 * QName and NOTATION. Their value is {namespace name, local name}, which needs the in-scope
 * namespaces of the instance element; this check has only the text, so values compare by their
 * (whitespace-collapsed) lexical form: "t:a" and "u:a" with t and u bound to one namespace are
 * different enumeration values here, and an undeclared prefix is not detected.
 */
export interface QNameBuiltin extends BuiltinBase<string> {
  readonly family: 'qname';
}

export type Builtin =
  | StringBuiltin
  | BooleanBuiltin
  | DecimalBuiltin
  | FloatBuiltin
  | MomentBuiltin
  | DurationBuiltin
  | BinaryBuiltin
  | QNameBuiltin;

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

/** XML 1.0 (5th ed.) Name (colons allowed); with `nmtoken`, a Nmtoken (any name characters). */
export function isName(s: string, nmtoken = false): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const lo = s.charCodeAt(i + 1);
      if (!(lo >= 0xdc00 && lo <= 0xdfff) || c > 0xdb7f) return false;
      i++;
      continue;
    }
    if (i === 0 && !nmtoken ? !isNameStartCode(c) : !isNameCode(c)) return false;
  }
  return true;
}

/** QName per Namespaces in XML: NCName (':' NCName)?. */
export function isQName(s: string): boolean {
  const colon = s.indexOf(':');
  if (colon === -1) return isNCName(s);
  return isNCName(s.slice(0, colon)) && isNCName(s.slice(colon + 1));
}

function isAsciiLetter(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** XSD 1.0 language: [a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*, checked in one pass. */
export function isLanguage(s: string): boolean {
  let run = 0;
  let first = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2d) {
      if (run === 0) return false;
      run = 0;
      first = false;
      continue;
    }
    if (!(isAsciiLetter(c) || (!first && c >= 0x30 && c <= 0x39))) return false;
    if (++run > 8) return false;
  }
  return run > 0;
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

/** XSD 1.0 hexBinary: an even number of hex digits (no spaces); the canonical form is upper case. */
export function parseHex(s: string): { octets: number; text: string } | null {
  if (s.length % 2 !== 0) return null;
  for (let i = 0; i < s.length; i++) if (!isHex(s.charCodeAt(i))) return null;
  return { octets: s.length / 2, text: s.toUpperCase() };
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

// Linear: the alternatives consume distinct characters and nothing is nested.
const FLOAT = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;

/**
 * XSD 1.0 float/double lexical space: a decimal mantissa with an optional exponent, or INF, -INF,
 * NaN (no "+INF", no "inf"); "-0" is zero. The value is the nearest IEEE double (JS Number's rounding); for float
 * that double is rounded again to single precision (Math.fround), which can differ from direct
 * decimal-to-single rounding only for literals within a hair of a halfway point between two floats.
 * Literals beyond the range map to ±INF, tiny ones to ±0 (the nearest value).
 */
function parseFloating(single: boolean): (s: string) => number | null {
  return (s) => {
    if (s === 'INF') return Infinity;
    if (s === '-INF') return -Infinity;
    if (s === 'NaN') return NaN;
    if (!FLOAT.test(s)) return null;
    const v = Number(s);
    return single ? Math.fround(v) : v;
  };
}

/**
 * Equal values, equal keys. XSD 1.0 Second Edition (erratum to §3.2.4/§3.2.5) has a single zero, so
 * "-0" and "0" are one value; NaN equals itself, so an enumeration may list it.
 */
function floatKey(v: number): string {
  return v === 0 ? '0' : String(v);
}

/**
 * XSD 1.0 Second Edition order: numeric order (one zero), INF above all other non-NaN values, and NaN
 * equal to itself but incomparable with every other value (NaN result), so it fails any ordering
 * facet whose bound is not NaN. (The First Edition put NaN above INF; libxml2 still does.)
 */
export function compareFloat(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : NaN;
  return a === b ? 0 : a < b ? -1 : 1;
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
      stringType('xs:IDREF', 'collapse', isNCName),
      // Part 2 §3.3.11: the value space of ENTITY is the NCNames declared as unparsed entities in the
      // document's DTD. Okno's parser refuses DTDs, so no value is ever valid (as xmllint finds for an
      // instance without a DTD); the type exists so that schemas mentioning it compile.
      stringType('xs:ENTITY', 'collapse', () => false),
      stringType('xs:Name', 'collapse', (s) => isName(s)),
      stringType('xs:NMTOKEN', 'collapse', (s) => isName(s, true)),
      stringType('xs:language', 'collapse', isLanguage),
      // The ur-type of simple types: any string, no whitespace processing.
      stringType('xs:anySimpleType', 'preserve', () => true),
      { name: 'xs:QName', family: 'qname', whiteSpace: 'collapse', parse: (s: string) => (isQName(s) ? s : null), key: (v: string) => v } satisfies QNameBuiltin,
      // Schemas may only use NOTATION through an enumerated restriction (Part 2 §3.2.19); the
      // compiler's business, the lexical check is that of QName.
      { name: 'xs:NOTATION', family: 'qname', whiteSpace: 'collapse', parse: (s: string) => (isQName(s) ? s : null), key: (v: string) => v } satisfies QNameBuiltin,
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
      integerRange('xs:nonPositiveInteger', null, '0'),
      integerRange('xs:negativeInteger', null, '-1'),
      integerRange('xs:unsignedLong', '0', '18446744073709551615'),
      integerRange('xs:unsignedInt', '0', '4294967295'),
      integerRange('xs:unsignedShort', '0', '65535'),
      integerRange('xs:unsignedByte', '0', '255'),
      { name: 'xs:float', family: 'float', whiteSpace: 'collapse', parse: parseFloating(true), key: floatKey } satisfies FloatBuiltin,
      { name: 'xs:double', family: 'float', whiteSpace: 'collapse', parse: parseFloating(false), key: floatKey } satisfies FloatBuiltin,
      { name: 'xs:duration', family: 'duration', whiteSpace: 'collapse', parse: parseDuration, key: durationKey } satisfies DurationBuiltin,
      momentType('xs:date', parseDate),
      momentType('xs:dateTime', parseDateTime),
      momentType('xs:time', parseTime),
      momentType('xs:gYear', parseGYear),
      momentType('xs:gYearMonth', parseGYearMonth),
      momentType('xs:gMonth', parseGMonth),
      momentType('xs:gDay', parseGDay),
      momentType('xs:gMonthDay', parseGMonthDay),
      {
        name: 'xs:base64Binary',
        family: 'binary',
        whiteSpace: 'collapse',
        parse: parseBase64,
        key: (v: { octets: number; text: string }) => v.text,
      } satisfies BinaryBuiltin,
      {
        name: 'xs:hexBinary',
        family: 'binary',
        whiteSpace: 'collapse',
        parse: parseHex,
        key: (v: { octets: number; text: string }) => v.text,
      } satisfies BinaryBuiltin,
    ] as Builtin[]
  ).map((b) => [b.name.slice(3), b]),
);

/** An XSD 1.0 atomic built-in by local name in the XML Schema namespace, or undefined (list built-ins: builtinSimple). */
export function builtin(localName: string): Builtin | undefined {
  return BUILTINS.get(localName);
}

/** Value comparison for ordering facets; NaN when the two values are incomparable. */
export function compareValues(b: Builtin, x: unknown, y: unknown): number {
  if (b.family === 'decimal') return compareDec(x as Dec, y as Dec);
  if (b.family === 'moment') return compareMoment(x as Moment, y as Moment);
  if (b.family === 'float') return compareFloat(x as number, y as number);
  if (b.family === 'duration') return compareDuration(x as Duration, y as Duration);
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
