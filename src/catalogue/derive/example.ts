// Example content generated from a derived shape: `okno catalogue example` and the scaffold of
// `okno catalogue add` print a minimal one (required properties only, the first branch of every
// choice); the round-trip tests draw random ones from a seed. Values follow the facets:
// enumerations, patterns (strings drawn from the pattern by randexp), lengths, digits, bounds.
// The result is then checked against the derived JSON Schema and the XSD by the caller: a
// generator that misses a corner produces a refused example, never a wrong "valid" one.

import RandExp from 'randexp';
import { BUILTIN_TYPES } from '../schema-set/builtin-types.js';
import type { SimpleType } from '../schema-set/model.js';
import type { JsonValue } from '../../store/types.js';
import { jsonKindOf } from './scalars.js';
import { translatePattern } from '../xsd/regex.js';
import { ANY_ATTRIBUTES_KEY, propertyMembers, type ObjectShape, type PropertyMember, type ShapeBuilder, type ValueShape } from './shape.js';
import type { ElementDecl } from '../schema-set/model.js';

type JsonObject = { [key: string]: JsonValue };

export interface ExampleOptions {
  /** null: the minimal example (deterministic); a number: a random one from that seed. */
  readonly seed: number | null;
  /** Below this depth optional properties may appear (random mode). */
  readonly maxDepth?: number;
}

/** A small seeded PRNG (mulberry32): the same seed gives the same example on every machine. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Unicode property classes randexp cannot expand, replaced by representative ranges.
const CLASS_RANGES: Readonly<Record<string, string>> = {
  L: 'a-zA-Zа-яА-ЯёЁ', Lu: 'A-ZА-ЯЁ', Ll: 'a-zа-яё', Lt: 'A-Z', Lm: 'a-z', Lo: 'a-z',
  M: '\\u0301', Mn: '\\u0301', Mc: '\\u0903', Me: '\\u20dd',
  N: '0-9', Nd: '0-9', Nl: '\\u2160', No: '\\u00b2',
  P: '.,\\-', Pc: '_', Pd: '\\-', Ps: '(', Pe: ')', Pi: '«', Pf: '»', Po: '.,',
  Z: ' ', Zs: ' ', Zl: '\\u2028', Zp: '\\u2029',
  S: '+', Sm: '+', Sc: '$', Sk: '^', So: '©',
  C: '\\u0001', Cc: '\\u0001', Cf: '\\u200b', Co: '\\ue000', Cn: '\\u0378',
};

/** \xHH and \u{H…} as literal characters (randexp's parser knows neither), escaped where special. */
function literalEscapes(source: string): string {
  return source.replace(/\\x([0-9a-fA-F]{2})|\\u\{([0-9a-fA-F]+)\}|\\u([0-9a-fA-F]{4})/g, (_m, x?: string, u?: string, v?: string) => {
    const c = String.fromCodePoint(parseInt((x ?? u ?? v) as string, 16));
    return /[\\^$.|?*+()[\]{}\-/]/.test(c) ? `\\${c}` : c;
  });
}

function forRandexp(source: string): string {
  // Inside a class ([\p{Nd}]) the replacement is a range list; outside it needs brackets.
  return literalEscapes(source)
    .replace(/\[((?:[^\]\\]|\\.)*)\]/g, (cls: string) => cls.replace(/\\p\{(\w+)\}/g, (_m, c: string) => CLASS_RANGES[c] ?? 'a-z'))
    .replace(/\\p\{(\w+)\}/g, (_m, c: string) => `[${CLASS_RANGES[c] ?? 'a-z'}]`)
    .replace(/\\P\{(\w+)\}/g, '[a-z]');
}

export class ExampleGenerator {
  private readonly random: () => number;
  private readonly minimal: boolean;
  private readonly maxDepth: number;

  constructor(
    private readonly shapes: ShapeBuilder,
    options: ExampleOptions,
  ) {
    this.minimal = options.seed === null;
    this.random = prng(options.seed ?? 1);
    this.maxDepth = options.maxDepth ?? 6;
  }

  element(decl: ElementDecl): JsonValue {
    return this.value(this.shapes.valueOf(decl), decl, 0);
  }

  private chance(p: number): boolean {
    return !this.minimal && this.random() < p;
  }

  private pick<T>(items: readonly T[]): T {
    return items[this.minimal ? 0 : Math.floor(this.random() * items.length)] as T;
  }

  private int(lo: number, hi: number): number {
    return this.minimal ? lo : lo + Math.floor(this.random() * (hi - lo + 1));
  }

  private value(shape: ValueShape, decl: ElementDecl | null, depth: number): JsonValue {
    if (decl !== null && decl.nillable && this.chance(0.1)) return null;
    if (shape.kind === 'scalar') return this.scalar(shape.type, decl?.fixed ?? null);
    if (shape.kind === 'xml') return 'example';
    return this.object(shape.object, depth);
  }

  private object(o: ObjectShape, depth: number): JsonObject {
    const out: JsonObject = {};
    const excluded = new Set<string>();
    const required = new Set(o.required);
    for (const c of o.choices) {
      if (c.branches.some((b) => b.keys.some((k) => excluded.has(k)) || b.keys.every((k) => excluded.has(k)))) continue;
      const none = c.optional && (this.minimal || this.chance(0.3));
      const chosen = none ? null : this.pick(c.branches);
      for (const b of c.branches) {
        if (b === chosen) for (const k of b.required) required.add(k);
        else for (const k of b.keys) excluded.add(k);
      }
    }
    const deep = depth >= this.maxDepth;
    const include = (key: string): boolean => !excluded.has(key) && (required.has(key) || (!deep && this.chance(0.5)));
    const chosenKeys = new Set<string>();
    // Flattened wrappers' properties are the object's own, in schema order.
    const members = propertyMembers(o.members);
    for (const m of members) if (include(m.key)) chosenKeys.add(m.key);
    // An optional group's required members come with any of its members.
    for (const k of [...chosenKeys]) for (const d of o.dependentRequired.get(k) ?? []) if (!excluded.has(d)) chosenKeys.add(d);
    for (const m of members) if (chosenKeys.has(m.key)) out[m.key] = this.member(m, depth);
    if (o.text !== null) out[o.text.key] = this.scalar(o.text.type, null);
    for (const a of o.attributes) {
      if (a.required || a.fixed !== null ? a.required || this.chance(0.5) : this.chance(0.5)) out[a.key] = this.scalar(a.type, a.fixed);
    }
    if (o.anyAttribute !== null && this.chance(0.2)) {
      const ns = o.anyAttribute.namespaces;
      const allowed = ns.kind === 'any' ? '' : ns.kind === 'other' ? 'urn://okno/example/other' : (ns.list[0] ?? '');
      out[ANY_ATTRIBUTES_KEY] = { [allowed === '' ? 'example' : `{${allowed}}example`]: 'x' };
    }
    return out;
  }

  private member(m: PropertyMember, depth: number): JsonValue {
    if (m.kind === 'any') {
      const one = '<ex:Extension xmlns:ex="urn://example/extension">x</ex:Extension>';
      return m.array ? [one] : one;
    }
    const count = (): number => {
      const lo = Math.max(1, m.min);
      const hi = Number.isFinite(m.max) ? Math.min(m.max, lo + 2) : lo + 2;
      return this.int(lo, hi);
    };
    if (m.kind === 'group') return Array.from({ length: count() }, () => this.object(m.object, depth + 1));
    const one = (): JsonValue => this.value(m.value(), m.decl, depth + 1);
    return m.array ? Array.from({ length: count() }, one) : one();
  }

  // ---------------------------------------------------------------- scalars

  scalar(t: SimpleType, fixed: string | null): JsonValue {
    const kind = jsonKindOf(t);
    const text = fixed !== null ? fixed.trim() : this.lexical(t);
    if (kind === 'boolean') return text === 'true' || text === '1';
    if (kind === 'integer') return Number(text);
    if (kind === 'list') return text === '' ? [] : text.split(' ').map((x) => (jsonKindOf((t as Extract<SimpleType, { variety: 'list' }>).item) === 'integer' ? Number(x) : x));
    return text;
  }

  private lexical(t: SimpleType): string {
    const f = t.facets;
    if (f.enumeration !== undefined && f.enumeration.length > 0) {
      // A restriction may narrow an enumerated base with a pattern: only values both allow.
      const steps = (f.patterns ?? []).map((step) => step.map((p) => translatePattern(p)));
      const allowed = f.enumeration.map((v) => v.trim()).filter((v) => steps.every((alts) => alts.some((r) => r.test(v))));
      return allowed.length > 0 ? this.pick(allowed) : '';
    }
    if (t.variety === 'union') return this.lexical(this.pick(t.members));
    if (t.variety === 'list') {
      const n = Math.max(1, f.length ?? f.minLength ?? 1);
      return Array.from({ length: n }, () => this.lexical(t.item)).join(' ');
    }
    if (f.patterns !== undefined && f.patterns.length > 0) return this.fromPatterns(t);
    const info = BUILTIN_TYPES.get(t.builtin);
    if (info?.integer !== undefined) return this.integer(t);
    switch (t.builtin) {
      case 'boolean':
        return this.pick(['true', 'false']);
      case 'decimal':
      case 'float':
      case 'double':
        return this.decimal(t);
      case 'date':
        return `20${this.int(10, 25)}-0${this.int(1, 9)}-1${this.int(0, 9)}`;
      case 'dateTime':
        return `20${this.int(10, 25)}-0${this.int(1, 9)}-1${this.int(0, 9)}T1${this.int(0, 9)}:3${this.int(0, 9)}:00`;
      case 'time':
        return `1${this.int(0, 9)}:30:00`;
      case 'gYear':
        return `20${this.int(10, 25)}`;
      case 'gYearMonth':
        return `20${this.int(10, 25)}-0${this.int(1, 9)}`;
      case 'gMonth':
        return `--0${this.int(1, 9)}`;
      case 'gDay':
        return `---1${this.int(0, 9)}`;
      case 'gMonthDay':
        return `--0${this.int(1, 9)}-1${this.int(0, 9)}`;
      case 'duration':
        return `P${this.int(1, 9)}D`;
      case 'base64Binary':
        return 'ZXhhbXBsZQ==';
      case 'hexBinary':
        return '0A1B';
      case 'anyURI':
        return 'https://example.ru/document';
      case 'QName':
      case 'NOTATION':
      case 'NCName':
      case 'Name':
      case 'ID':
      case 'IDREF':
      case 'ENTITY':
        return `id${this.int(1, 999)}`;
      case 'language':
        return 'ru';
      case 'NMTOKEN':
        return 'token';
      default:
        return this.text(f.length ?? f.minLength ?? (this.minimal ? 1 : 3), f.length ?? f.maxLength ?? 20);
    }
  }

  private text(min: number, max: number): string {
    const letters = 'абвгдежзиклмнопрстуфхцчшщэюяabcdefghijklmnopqrstuvwxyz';
    const n = this.int(Math.max(min, 1), Math.max(Math.min(max, Math.max(min, 1) + 10), Math.max(min, 1)));
    let s = '';
    for (let i = 0; i < n; i++) s += letters[this.minimal ? i % letters.length : Math.floor(this.random() * letters.length)];
    return s;
  }

  private integer(t: SimpleType): string {
    const f = t.facets;
    const info = t.variety === 'atomic' ? BUILTIN_TYPES.get(t.builtin)?.integer : undefined;
    const bound = (s: string | null | undefined, fallback: number): number => {
      if (s === undefined || s === null) return fallback;
      const n = Number(s);
      return Number.isSafeInteger(n) ? n : fallback;
    };
    let lo = Math.max(bound(info?.min, -1000), bound(f.minInclusive, -1000), f.minExclusive !== undefined ? bound(f.minExclusive, -1001) + 1 : -1000);
    let hi = Math.min(bound(info?.max, 100000), bound(f.maxInclusive, 100000), f.maxExclusive !== undefined ? bound(f.maxExclusive, 100001) - 1 : 100000);
    if (f.totalDigits !== undefined) hi = Math.min(hi, 10 ** Math.min(f.totalDigits, 15) - 1);
    if (lo < 0 && (info?.min === null || Number(info?.min) < 0)) lo = Math.max(lo, 0);
    if (hi < lo) hi = lo;
    return String(this.int(lo, hi));
  }

  private decimal(t: SimpleType): string {
    const f = t.facets;
    const fraction = Math.min(f.fractionDigits ?? 2, 2);
    const total = f.totalDigits ?? 10;
    const intDigits = Math.max(1, Math.min(total - fraction, 5));
    const min = f.minInclusive !== undefined ? Number(f.minInclusive) : f.minExclusive !== undefined ? Number(f.minExclusive) + 1 : 0;
    const max = f.maxInclusive !== undefined ? Number(f.maxInclusive) : f.maxExclusive !== undefined ? Number(f.maxExclusive) - 1 : 10 ** intDigits - 1;
    const whole = this.int(Math.max(0, Math.ceil(min)), Math.max(Math.ceil(min), Math.floor(Math.min(max, 10 ** intDigits - 1))));
    if (fraction === 0 || whole >= max) return String(whole);
    return `${whole}.${String(this.int(0, 10 ** fraction - 1)).padStart(fraction, '0')}`;
  }

  private fromPatterns(t: SimpleType): string {
    const steps = (t.facets.patterns ?? []).map((step) => step.map((p) => translatePattern(p)));
    const last = steps[steps.length - 1] as RegExp[];
    const f = t.facets;
    for (let attempt = 0; attempt < 40; attempt++) {
      const re = last[Math.floor(this.random() * last.length)] as RegExp;
      const gen = new RandExp(forRandexp(re.source));
      gen.max = 8;
      gen.defaultRange.add(0x0400, 0x04ff); // Cyrillic, for negated classes and '.'
      // Seeded even for the minimal example, so it is the same on every machine.
      gen.randInt = (a: number, b: number) => a + Math.floor(this.random() * (b - a + 1));
      const s = gen.gen();
      const okLength =
        (f.length === undefined || [...s].length === f.length) &&
        (f.minLength === undefined || [...s].length >= f.minLength) &&
        (f.maxLength === undefined || [...s].length <= f.maxLength);
      if (okLength && steps.every((alts) => alts.some((r) => r.test(s)))) return s;
    }
    return '';
  }
}
