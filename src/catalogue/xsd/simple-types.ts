// Simple types: a built-in, a list of an item type or a union of member types, narrowed by
// restriction steps with facets.
// Built once at compile time; checkSimple() is the per-value hot path and never echoes the value
// in what it returns (values may be personal data).

import {
  builtin,
  compareValues,
  normalizeWhiteSpace,
  type Builtin,
  type WhiteSpace,
} from './builtins.js';
import { fractionDigits, parseInteger, totalDigits, type Dec } from './decimal.js';
import { PatternError, translatePattern } from './regex.js';

/** A value after whitespace normalization and lexical mapping, as the facets see it. */
interface Parsed {
  /** The normalized lexical form (what pattern facets test). */
  readonly s: string;
  /** Value-space key (enumeration). */
  readonly key: string;
  /** Length in the facet's unit: characters, octets (base64Binary) or list items; -1 when not applicable. */
  readonly length: number;
  /** The typed value for ordering and digit facets (atomic only). */
  readonly value: unknown;
}

interface Check {
  readonly rule: string;
  readonly detail: string;
  test(p: Parsed): boolean;
}

interface FacetStep {
  /** Patterns of one derivation step are alternatives; steps are conjunctive (XSD Part 2 §4.3.4). */
  readonly patterns: { readonly re: RegExp; readonly source: string }[];
  readonly patternRule: string;
  readonly enumeration: { readonly keys: ReadonlySet<string>; readonly rule: string } | null;
  readonly checks: readonly Check[];
}

export interface SimpleType {
  /** For messages: "xs:date", a named type's name, or "anonymous". */
  readonly name: string;
  readonly variety: 'atomic' | 'list' | 'union';
  /** The built-in at the root of the derivation (atomic), of the item type (list), or xs:anySimpleType (union). */
  readonly builtin: Builtin;
  readonly item: SimpleType | null;
  /** The member types of a union, in order (the first that accepts a value gives its value). */
  readonly members?: readonly SimpleType[];
  readonly whiteSpace: WhiteSpace;
  readonly steps: readonly FacetStep[];
}

export interface SimpleIssue {
  /** Short and exact, e.g. "pattern \d{3}-\d{3}", "type xs:date", "maxLength 200". */
  readonly rule: string;
  /** Predicate for a sentence about the value, without the value: "is longer than 200 characters". */
  readonly detail: string;
}

export class FacetError extends Error {}

export function builtinSimpleType(b: Builtin): SimpleType {
  return { name: b.name, variety: 'atomic', builtin: b, item: null, whiteSpace: b.whiteSpace, steps: [] };
}

/** True when the type is a list or a union with a list among its (transitive) members. */
function hasList(t: SimpleType): boolean {
  if (t.variety === 'list') return true;
  return t.variety === 'union' && (t.members ?? []).some(hasList);
}

export function listType(item: SimpleType, name: string): SimpleType {
  if (hasList(item)) {
    throw new FacetError(item.variety === 'list' ? 'a list of lists is not allowed' : 'a list of a union that has a list member is not allowed');
  }
  return { name, variety: 'list', builtin: item.builtin, item, whiteSpace: 'collapse', steps: [] };
}

const ANY_SIMPLE = builtin('anySimpleType') as Builtin;

/**
 * A union (XSD 1.0 Part 2 §2.5.1.3): a value is valid when one of the members accepts it, each
 * member applying its own whiteSpace to the raw value; the first member that accepts it gives the
 * value. The union itself does no whitespace processing (whiteSpace preserve).
 */
export function unionType(members: SimpleType[], name: string): SimpleType {
  if (members.length === 0) throw new FacetError('a union needs at least one member type');
  return { name, variety: 'union', builtin: ANY_SIMPLE, item: null, members: [...members], whiteSpace: 'preserve', steps: [] };
}

/**
 * Every XSD 1.0 built-in simple type by local name: the atomic ones (builtins.ts) and the list
 * types NMTOKENS, IDREFS and ENTITIES (lists of NMTOKEN, IDREF, ENTITY with minLength 1).
 */
export function builtinSimple(localName: string): SimpleType | undefined {
  const list = LIST_BUILTINS[localName];
  if (list !== undefined) {
    const item = builtin(list) as Builtin;
    return restrict(listType(builtinSimpleType(item), `xs:${localName}`), [{ name: 'minLength', value: '1' }], `xs:${localName}`);
  }
  const b = builtin(localName);
  return b === undefined ? undefined : builtinSimpleType(b);
}

const LIST_BUILTINS: Readonly<Record<string, string>> = { NMTOKENS: 'NMTOKEN', IDREFS: 'IDREF', ENTITIES: 'ENTITY' };

/** Counts code points, not UTF-16 units: maxLength 200 means 200 characters, Cyrillic or emoji. */
function codePointLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

function parseValue(st: SimpleType, raw: string): Parsed | SimpleIssue {
  if (st.variety === 'union') return parseUnion(st, raw);
  const s = normalizeWhiteSpace(raw, st.whiteSpace);
  if (st.variety === 'list') {
    const item = st.item as SimpleType;
    const parts = s === '' ? [] : s.split(' ');
    const keys: string[] = [];
    for (let i = 0; i < parts.length; i++) {
      const r = checkSimpleParsed(item, parts[i] ?? '');
      if ('rule' in r) return { rule: r.rule, detail: `has an invalid item ${i + 1}: it ${r.detail}` };
      keys.push(r.key);
    }
    return { s, key: keys.join(' '), length: parts.length, value: null };
  }
  const b = st.builtin;
  const v = b.parse(s);
  if (v === null) return { rule: `type ${b.name}`, detail: `is not a valid ${b.name}` };
  // `key` is typed per built-in; v came from the same built-in's parse.
  const key = (b.key as (x: unknown) => string)(v);
  const length =
    b.family === 'string' ? codePointLength(s) : b.family === 'binary' ? (v as { octets: number }).octets : -1;
  return { s, key, length, value: v };
}

function parseUnion(st: SimpleType, raw: string): Parsed | SimpleIssue {
  const members = st.members ?? [];
  for (let i = 0; i < members.length; i++) {
    const r = checkSimpleParsed(members[i] as SimpleType, raw);
    // Pattern facets of a union restriction see the member's normalized lexical form.
    if (!('rule' in r)) return { s: r.s, key: `${i}:${r.key}`, length: -1, value: r.value };
  }
  return { rule: `type ${st.name}`, detail: `is not valid for any member type of ${st.name}` };
}

/** Whether one of the patterns matches (a loop: no closure per value). */
function matchesAny(patterns: readonly { readonly re: RegExp }[], s: string): boolean {
  for (let i = 0; i < patterns.length; i++) if ((patterns[i] as { readonly re: RegExp }).re.test(s)) return true;
  return false;
}

function checkSimpleParsed(st: SimpleType, raw: string): Parsed | SimpleIssue {
  const p = parseValue(st, raw);
  if ('rule' in p) return p;
  for (const step of st.steps) {
    if (step.patterns.length > 0 && !matchesAny(step.patterns, p.s)) {
      return { rule: step.patternRule, detail: 'does not match the required pattern' };
    }
    if (step.enumeration !== null && !step.enumeration.keys.has(p.key)) {
      return { rule: step.enumeration.rule, detail: 'is not one of the allowed values' };
    }
    for (const c of step.checks) if (!c.test(p)) return { rule: c.rule, detail: c.detail };
  }
  return p;
}

/** Validates a raw (not yet whitespace-normalized) value; null when valid. */
export function checkSimple(st: SimpleType, raw: string): SimpleIssue | null {
  const r = checkSimpleParsed(st, raw);
  return 'rule' in r ? r : null;
}

/** Value-space key of a valid value (for fixed attribute values), or the issue. */
export function simpleKey(st: SimpleType, raw: string): { key: string } | SimpleIssue {
  const r = checkSimpleParsed(st, raw);
  return 'rule' in r ? r : { key: r.key };
}

// ------------------------------------------------------------------ restriction

export interface RawFacet {
  /** Local name of the facet element, e.g. "maxLength". */
  readonly name: string;
  readonly value: string;
}

const WS_ORDER: Record<WhiteSpace, number> = { preserve: 0, replace: 1, collapse: 2 };

const FACETS_BY_FAMILY: Readonly<Record<string, ReadonlySet<string>>> = {
  string: new Set(['length', 'minLength', 'maxLength', 'pattern', 'enumeration', 'whiteSpace']),
  binary: new Set(['length', 'minLength', 'maxLength', 'pattern', 'enumeration', 'whiteSpace']),
  // Length facets on QName and NOTATION are allowed by XSD 1.0 but deprecated and without effect
  // (Part 2 §4.3.1.3 note; XSD 1.1 and libxml2 treat them as always satisfied): they add no check.
  qname: new Set(['length', 'minLength', 'maxLength', 'pattern', 'enumeration', 'whiteSpace']),
  list: new Set(['length', 'minLength', 'maxLength', 'pattern', 'enumeration', 'whiteSpace']),
  union: new Set(['pattern', 'enumeration']),
  boolean: new Set(['pattern', 'whiteSpace']),
  float: new Set(['pattern', 'enumeration', 'whiteSpace', 'minInclusive', 'maxInclusive', 'minExclusive', 'maxExclusive']),
  duration: new Set(['pattern', 'enumeration', 'whiteSpace', 'minInclusive', 'maxInclusive', 'minExclusive', 'maxExclusive']),
  decimal: new Set([
    'pattern', 'enumeration', 'whiteSpace', 'minInclusive', 'maxInclusive', 'minExclusive', 'maxExclusive',
    'totalDigits', 'fractionDigits',
  ]),
  moment: new Set(['pattern', 'enumeration', 'whiteSpace', 'minInclusive', 'maxInclusive', 'minExclusive', 'maxExclusive']),
};

export const KNOWN_FACETS = new Set([
  'length', 'minLength', 'maxLength', 'pattern', 'enumeration', 'whiteSpace',
  'minInclusive', 'maxInclusive', 'minExclusive', 'maxExclusive', 'totalDigits', 'fractionDigits',
]);

function nonNegative(f: RawFacet, positive: boolean): number {
  const d = parseInteger(f.value.trim());
  if (d === null || d.neg || (positive && d.int === '') || d.int.length > 15) {
    throw new FacetError(`${f.name} value must be a ${positive ? 'positive' : 'non-negative'} integer`);
  }
  return Number(d.int || '0');
}

function unit(st: SimpleType, variety: 'atomic' | 'list'): string {
  if (variety === 'list') return 'items';
  return st.builtin.family === 'binary' ? 'octets' : 'characters';
}

/** Derives a new simple type from `base` by restriction with these facets (one step). */
export function restrict(base: SimpleType, facets: readonly RawFacet[], name: string): SimpleType {
  const family = base.variety === 'atomic' ? base.builtin.family : base.variety;
  const allowed = FACETS_BY_FAMILY[family] as ReadonlySet<string>;
  const seen = new Set<string>();
  for (const f of facets) {
    if (!KNOWN_FACETS.has(f.name)) throw new FacetError(`facet xs:${f.name} is not supported`);
    if (!allowed.has(f.name)) {
      const what = base.variety === 'atomic' ? base.builtin.name : `a ${base.variety} type`;
      throw new FacetError(`facet xs:${f.name} does not apply to ${what}`);
    }
    if (f.name !== 'pattern' && f.name !== 'enumeration') {
      if (seen.has(f.name)) throw new FacetError(`facet xs:${f.name} is given twice`);
      seen.add(f.name);
    }
  }

  // whiteSpace first: enumeration values are normalized with it.
  let whiteSpace = base.whiteSpace;
  const ws = facets.find((f) => f.name === 'whiteSpace');
  if (ws !== undefined) {
    const v = ws.value.trim();
    if (v !== 'preserve' && v !== 'replace' && v !== 'collapse') throw new FacetError(`whiteSpace value must be preserve, replace or collapse`);
    if (WS_ORDER[v] < WS_ORDER[base.whiteSpace]) {
      throw new FacetError(`whiteSpace ${v} would loosen the base type's whiteSpace ${base.whiteSpace}`);
    }
    whiteSpace = v;
  }
  const stage: SimpleType = { ...base, name, whiteSpace };

  const patterns: { re: RegExp; source: string }[] = [];
  for (const f of facets) {
    if (f.name !== 'pattern') continue;
    try {
      patterns.push({ re: translatePattern(f.value), source: f.value });
    } catch (e) {
      if (e instanceof PatternError) throw new FacetError(e.message);
      throw e;
    }
  }

  let enumeration: FacetStep['enumeration'] = null;
  const enumValues = facets.filter((f) => f.name === 'enumeration');
  if (enumValues.length > 0) {
    const keys = new Set<string>();
    for (const f of enumValues) {
      const r = simpleKey(stage, f.value);
      if ('rule' in r) throw new FacetError(`enumeration value ${JSON.stringify(f.value)} is not valid for the base type (${r.rule})`);
      keys.add(r.key);
    }
    enumeration = {
      keys,
      rule: `enumeration (${enumValues.map((f) => normalizeWhiteSpace(f.value, whiteSpace)).join('|')})`,
    };
  }

  const checks: Check[] = [];
  const variety = base.variety === 'list' ? 'list' : 'atomic';
  const lengthless = base.variety === 'atomic' && base.builtin.family === 'qname';
  for (const f of facets) {
    if (lengthless && (f.name === 'length' || f.name === 'minLength' || f.name === 'maxLength')) {
      nonNegative(f, false);
      continue;
    }
    switch (f.name) {
      case 'length': {
        const n = nonNegative(f, false);
        checks.push({ rule: `length ${n}`, detail: `must be exactly ${n} ${unit(base, variety)} long`, test: (p) => p.length === n });
        break;
      }
      case 'minLength': {
        const n = nonNegative(f, false);
        checks.push({ rule: `minLength ${n}`, detail: `is shorter than ${n} ${unit(base, variety)}`, test: (p) => p.length >= n });
        break;
      }
      case 'maxLength': {
        const n = nonNegative(f, false);
        checks.push({ rule: `maxLength ${n}`, detail: `is longer than ${n} ${unit(base, variety)}`, test: (p) => p.length <= n });
        break;
      }
      case 'totalDigits': {
        const n = nonNegative(f, true);
        checks.push({ rule: `totalDigits ${n}`, detail: `has more than ${n} digits`, test: (p) => totalDigits(p.value as Dec) <= n });
        break;
      }
      case 'fractionDigits': {
        const n = nonNegative(f, false);
        checks.push({
          rule: `fractionDigits ${n}`,
          detail: `has more than ${n} digits after the decimal point`,
          test: (p) => fractionDigits(p.value as Dec) <= n,
        });
        break;
      }
      case 'minInclusive':
      case 'maxInclusive':
      case 'minExclusive':
      case 'maxExclusive': {
        const lexical = normalizeWhiteSpace(f.value, 'collapse');
        const parsed = parseValue(stage, lexical);
        if ('rule' in parsed) throw new FacetError(`${f.name} value ${JSON.stringify(f.value)} is not valid for the base type (${parsed.rule})`);
        const bound = parsed.value;
        const b = base.builtin;
        // NaN (incomparable, e.g. a date without timezone near a bound with one) fails every test.
        const cmp = (p: Parsed): number => compareValues(b, p.value, bound);
        const spec: Record<string, [string, (c: number) => boolean]> = {
          minInclusive: [`is less than ${lexical}`, (c) => c >= 0],
          maxInclusive: [`is greater than ${lexical}`, (c) => c <= 0],
          minExclusive: [`must be greater than ${lexical}`, (c) => c > 0],
          maxExclusive: [`must be less than ${lexical}`, (c) => c < 0],
        };
        const [detail, ok] = spec[f.name] as [string, (c: number) => boolean];
        checks.push({ rule: `${f.name} ${lexical}`, detail, test: (p) => ok(cmp(p)) });
        break;
      }
      default:
        break;
    }
  }

  const step: FacetStep = {
    patterns,
    patternRule: `pattern ${patterns.map((p) => p.source).join(' | ')}`,
    enumeration,
    checks,
  };
  return { ...stage, steps: [...base.steps, step] };
}
