// Simple XSD values in JSON: which JSON type carries each simple type, their JSON Schema, and
// the conversion both ways. The rule is exactness: a JSON number only where every value of the
// type is a safe integer (xs:int, xs:short, xs:byte, the unsigned ones up to unsignedInt, and
// any integer type whose facets bound it that far); booleans as true/false; everything else,
// xs:decimal and xs:long included, as a string holding the XML lexical form, so no value is
// rounded and the translation round-trips. Lists are arrays of their items.

import { MappingError } from '../errors.js';
import { isXmlText } from '../mapping.js';
import { translatePattern, PatternError } from '../xsd/regex.js';
import { BUILTIN_TYPES } from '../schema-set/builtin-types.js';
import type { Facets, SimpleType } from '../schema-set/model.js';

export type JsonKind = 'string' | 'integer' | 'boolean' | 'list';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** The built-in at the root of an atomic type's derivation (anySimpleType for list/union). */
function builtinOf(t: SimpleType): string {
  return t.variety === 'atomic' ? t.builtin : 'anySimpleType';
}

function bigOrNull(s: string | undefined | null): bigint | null {
  if (s === undefined || s === null) return null;
  const t = s.trim();
  if (!/^[+-]?[0-9]+$/.test(t)) return null;
  return BigInt(t);
}

/** Integer bounds of an integer-derived atomic type from its built-in and facets; null when not an integer type. */
function integerBounds(t: SimpleType): { min: bigint | null; max: bigint | null } | null {
  if (t.variety !== 'atomic') return null;
  const info = BUILTIN_TYPES.get(t.builtin);
  if (info?.integer === undefined) return null;
  let min = bigOrNull(info.integer.min);
  let max = bigOrNull(info.integer.max);
  const f = t.facets;
  const lo = bigOrNull(f.minInclusive) ?? (bigOrNull(f.minExclusive) !== null ? (bigOrNull(f.minExclusive) as bigint) + 1n : null);
  const hi = bigOrNull(f.maxInclusive) ?? (bigOrNull(f.maxExclusive) !== null ? (bigOrNull(f.maxExclusive) as bigint) - 1n : null);
  if (lo !== null && (min === null || lo > min)) min = lo;
  if (hi !== null && (max === null || hi < max)) max = hi;
  if (f.totalDigits !== undefined && f.totalDigits <= 15) {
    const limit = 10n ** BigInt(f.totalDigits) - 1n;
    if (max === null || max > limit) max = limit;
    if (min === null || min < -limit) min = -limit;
  }
  return { min, max };
}

export function jsonKindOf(t: SimpleType): JsonKind {
  if (t.variety === 'list') return 'list';
  if (t.variety === 'union') return 'string';
  // A pattern constrains the lexical form ("08"), which a JSON number cannot keep: a string then.
  if (t.facets.patterns !== undefined) return 'string';
  if (t.builtin === 'boolean') return 'boolean';
  const b = integerBounds(t);
  if (b !== null && b.min !== null && b.max !== null && b.min >= -MAX_SAFE && b.max <= MAX_SAFE) return 'integer';
  return 'string';
}

/** The whitespace rule XSD applies to the type's values before anything else. */
export function whiteSpaceOf(t: SimpleType): 'preserve' | 'replace' | 'collapse' {
  if (t.facets.whiteSpace !== undefined) return t.facets.whiteSpace;
  if (t.variety !== 'atomic') return 'collapse';
  if (t.builtin === 'string' || t.builtin === 'anySimpleType') return 'preserve';
  if (t.builtin === 'normalizedString') return 'replace';
  return 'collapse';
}

function normalise(s: string, ws: 'preserve' | 'replace' | 'collapse'): string {
  if (ws === 'preserve') return s;
  const r = s.replace(/[\t\n\r]/g, ' ');
  return ws === 'replace' ? r : r.replace(/ +/g, ' ').replace(/^ | $/g, '');
}

// Lexical spaces of the typed string forms (XSD Part 2), so the JSON Schema refuses what the XSD would.
const TZ = '(?:Z|[+-](?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00))?';
const YEAR = '-?(?:[1-9][0-9]{4,}|[0-9]{4})';
const MONTH = '(?:0[1-9]|1[0-2])';
/** Month and day together, each month with its own length; 29 February only in a leap year (LEAP_YEAR). */
const MONTH_DAY = '(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))';
/** A year divisible by 4 and not by 100, or divisible by 400 (at least four digits, as YEAR). */
const LEAP_YEAR = '-?(?:[0-9]{2,}(?:0[48]|[2468][048]|[13579][26])|[0-9]*(?:[02468][048]|[13579][26])00)';
/** A calendar date: YEAR-MONTH_DAY, or 29 February of a leap year. */
const CALENDAR = `(?:${YEAR}-${MONTH_DAY}|${LEAP_YEAR}-02-29)`;
const DAY = '(?:0[1-9]|[12][0-9]|3[01])';
const TIME = '(?:(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]+)?|24:00:00(?:\\.0+)?)';
const LEXICAL: Readonly<Record<string, string>> = {
  decimal: '^[+-]?(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)$',
  integer: '^[+-]?[0-9]+$',
  float: '^(?:[+-]?(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?INF|NaN)$',
  double: '^(?:[+-]?(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?INF|NaN)$',
  date: `^${CALENDAR}${TZ}$`,
  dateTime: `^${CALENDAR}T${TIME}${TZ}$`,
  time: `^${TIME}${TZ}$`,
  gYear: `^${YEAR}${TZ}$`,
  gYearMonth: `^${YEAR}-${MONTH}${TZ}$`,
  gMonth: `^--${MONTH}${TZ}$`,
  gDay: `^---${DAY}${TZ}$`,
  gMonthDay: `^--(?:${MONTH_DAY}|02-29)${TZ}$`,
  duration: '^-?P(?=[0-9T])(?:[0-9]+Y)?(?:[0-9]+M)?(?:[0-9]+D)?(?:T(?=[0-9])(?:[0-9]+H)?(?:[0-9]+M)?(?:[0-9]+(?:\\.[0-9]+)?S)?)?$',
  hexBinary: '^(?:[0-9a-fA-F]{2})*$',
  base64Binary: '^[A-Za-z0-9+/= ]*$',
  boolean: '^(?:true|false|1|0)$',
};

function lexicalPattern(t: SimpleType): string | null {
  if (t.variety !== 'atomic') return null;
  const info = BUILTIN_TYPES.get(t.builtin);
  if (info === undefined) return null;
  if (info.integer !== undefined) return LEXICAL.integer ?? null;
  return LEXICAL[t.builtin] ?? null;
}

export class DeriveError extends Error {}

function patternSource(xsd: string, typeName: string): string {
  try {
    return translatePattern(xsd).source;
  } catch (e) {
    if (e instanceof PatternError) throw new DeriveError(`type ${typeName}: ${e.message}; the JSON Schema cannot carry this pattern`);
    throw e;
  }
}

type Schema = Record<string, unknown>;

/** The facets every string form shares: patterns, lengths, the lexical space. */
function stringFacets(t: SimpleType, f: Facets, out: Schema): void {
  const all: Schema[] = [];
  const lexical = lexicalPattern(t);
  if (lexical !== null) all.push({ pattern: lexical });
  for (const step of f.patterns ?? []) {
    const alternatives = step.map((p) => patternSource(p, t.name));
    all.push({ pattern: alternatives.length === 1 ? (alternatives[0] as string) : alternatives.map((a) => `(?:${a})`).join('|') });
  }
  const binary = t.variety === 'atomic' && (t.builtin === 'base64Binary' || t.builtin === 'hexBinary');
  if (!binary && t.variety === 'atomic') {
    if (f.length !== undefined) {
      out.minLength = f.length;
      out.maxLength = f.length;
    }
    if (f.minLength !== undefined) out.minLength = f.minLength;
    if (f.maxLength !== undefined) out.maxLength = f.maxLength;
  }
  if (all.length === 1) Object.assign(out, all[0]);
  else if (all.length > 1) out.allOf = all;
}

/** The JSON Schema of a value of type t (the XSD stays the final word: see derived-content.ts). */
export function scalarSchema(t: SimpleType, fixed: string | null = null): Schema {
  const kind = jsonKindOf(t);
  const f = t.facets;
  let s: Schema;
  if (kind === 'boolean') s = { type: 'boolean' };
  else if (kind === 'integer') {
    const b = integerBounds(t) as { min: bigint; max: bigint };
    s = { type: 'integer', minimum: Number(b.min), maximum: Number(b.max) };
    if (f.enumeration !== undefined) s = { type: 'integer', enum: [...new Set(f.enumeration.map((v) => Number(v.trim())))] };
  } else if (kind === 'list') {
    const item = (t as Extract<SimpleType, { variety: 'list' }>).item;
    s = { type: 'array', items: scalarSchema(item) };
    if (f.length !== undefined) s.minItems = s.maxItems = f.length;
    if (f.minLength !== undefined) s.minItems = f.minLength;
    if (f.maxLength !== undefined) s.maxItems = f.maxLength;
  } else if (t.variety === 'union') {
    s = { anyOf: t.members.map((m) => unionMemberSchema(m)) };
    if (f.enumeration !== undefined) s = { type: 'string', enum: [...new Set(f.enumeration.map((v) => normalise(v, 'collapse')))] };
  } else {
    s = { type: 'string' };
    // Both: a restriction may narrow an enumerated base with a pattern or a length.
    if (f.enumeration !== undefined) s.enum = [...new Set(f.enumeration.map((v) => normalise(v, whiteSpaceOf(t))))];
    stringFacets(t, f, s);
  }
  if (fixed !== null) {
    const v = fromLexical(t, normalise(fixed, whiteSpaceOf(t)), '');
    return { ...s, const: v };
  }
  return s;
}

/** A union's value is a string: each member's constraints on the lexical form. */
function unionMemberSchema(t: SimpleType): Schema {
  if (t.variety === 'union') return { anyOf: t.members.map(unionMemberSchema) };
  if (t.variety === 'list') return { type: 'string' };
  const s: Schema = { type: 'string' };
  if (t.facets.enumeration !== undefined) s.enum = [...new Set(t.facets.enumeration.map((v) => normalise(v, whiteSpaceOf(t))))];
  stringFacets(t, t.facets, s);
  return s;
}

export type JsonScalar = string | number | boolean | (string | number | boolean)[];

/** XML text → JSON value (validated content is expected; what still cannot convert is a MappingError). */
export function fromLexical(t: SimpleType, raw: string, path: string): JsonScalar {
  const text = normalise(raw, whiteSpaceOf(t));
  switch (jsonKindOf(t)) {
    case 'boolean':
      if (text === 'true' || text === '1') return true;
      if (text === 'false' || text === '0') return false;
      throw new MappingError(path, 'not an xs:boolean');
    case 'integer': {
      if (!/^[+-]?[0-9]+$/.test(text)) throw new MappingError(path, 'not an integer');
      const n = Number(text);
      if (!Number.isSafeInteger(n)) throw new MappingError(path, 'not an integer a JSON number holds exactly');
      return n;
    }
    case 'list': {
      const item = (t as Extract<SimpleType, { variety: 'list' }>).item;
      return text === '' ? [] : text.split(' ').map((x, i) => fromLexical(item, x, `${path}[${i + 1}]`) as string | number | boolean);
    }
    default:
      return text;
  }
}

/** JSON value → XML text (not yet escaped). */
export function toLexical(t: SimpleType, value: unknown, pointer: string): string {
  switch (jsonKindOf(t)) {
    case 'boolean':
      if (typeof value !== 'boolean') throw new MappingError(pointer, 'expected a boolean');
      return value ? 'true' : 'false';
    case 'integer':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new MappingError(pointer, 'expected a safe integer');
      return String(value);
    case 'list': {
      if (!Array.isArray(value)) throw new MappingError(pointer, 'expected an array');
      const item = (t as Extract<SimpleType, { variety: 'list' }>).item;
      return value.map((v, i) => toLexical(item, v, `${pointer}/${i}`)).join(' ');
    }
    default:
      if (typeof value !== 'string') throw new MappingError(pointer, 'expected a string');
      if (!isXmlText(value)) throw new MappingError(pointer, 'contains a character XML cannot carry');
      return value;
  }
}
