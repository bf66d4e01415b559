/**
 * JSON Schema (draft 2020-12) for the city's content: compiling a service's
 * schema file and turning ajv's errors into ContentErrors.
 *
 * Each schema file gets its own Ajv instance, so one service's $id or $ref can
 * never reach into another's. Formats are our own (ajv-formats is not a
 * dependency): only the few the catalogue uses, and `date` checks the calendar
 * (2026-02-30 is not a date), as xs:date does.
 *
 * ContentError.message comes from ajv's wording, which names the rule and the
 * property but never the offending value — values may be personal data.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import type { ContentError } from './types.js';
import { isXmlText } from './mapping.js';

const DATE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;

/** A real calendar date in the form YYYY-MM-DD (proleptic Gregorian, year ≥ 1, as xs:date). */
export function isCalendarDate(s: string): boolean {
  const m = DATE.exec(s);
  if (m === null) return false;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  if (y < 1 || mo < 1 || mo > 12 || d < 1) return false;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1] ?? 0;
  return d <= days;
}

const EMAIL = /^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function newAjv(derived = false): Ajv2020 {
  // multipleOfPrecision: "multipleOf": 0.01 must accept 0.29, which plain float division does not.
  // A derived schema's choices name, in `required` inside anyOf/not, properties declared beside
  // them (derive/json-schema.ts): strict mode's strictRequired would refuse that idiom.
  // Derived schemas are large (a federal package: tens of KB, hundreds of $defs): without code
  // optimisation and $ref inlining ajv compiles them about 3x faster, which start-up feels.
  const ajv = new Ajv2020({
    allErrors: true,
    strict: true,
    strictRequired: !derived,
    multipleOfPrecision: 9,
    ...(derived ? { code: { optimize: false }, inlineRefs: false } : {}),
  });
  ajv.addFormat('date', { type: 'string', validate: isCalendarDate });
  ajv.addFormat('email', { type: 'string', validate: (s: string) => EMAIL.test(s) });
  ajv.addFormat('uuid', { type: 'string', validate: (s: string) => UUID.test(s) });
  return ajv;
}

/** Compiles a content schema; throws ajv's error (schema invalid, unknown keyword or format…). */
export function compileJsonSchema(schema: unknown): ValidateFunction {
  return newAjv().compile(schema as object);
}

/** Compiles a schema derived from an XSD (derive/json-schema.ts). */
export function compileDerivedJsonSchema(schema: unknown): ValidateFunction {
  return newAjv(true).compile(schema as object);
}

const LIMIT_KEYWORDS = new Set([
  'minLength', 'maxLength', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum',
  'minItems', 'maxItems', 'minProperties', 'maxProperties', 'minContains', 'maxContains',
]);

/** "keyword + params", e.g. `pattern ^\d{3}$`, `required lastName`, `maxItems 3`. */
export function ruleOf(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'pattern':
      return `pattern ${String(p.pattern)}`;
    case 'required':
      return `required ${String(p.missingProperty)}`;
    case 'dependentRequired':
      return `dependentRequired ${String(p.missingProperty)}`;
    case 'additionalProperties':
      return `additionalProperties ${String(p.additionalProperty)}`;
    case 'unevaluatedProperties':
      return `unevaluatedProperties ${String(p.unevaluatedProperty)}`;
    case 'format':
      return `format ${String(p.format)}`;
    case 'type':
      return `type ${Array.isArray(p.type) ? p.type.join(',') : String(p.type)}`;
    case 'enum':
      return `enum ${(p.allowedValues as unknown[]).map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join('|')}`;
    case 'multipleOf':
      return `multipleOf ${String(p.multipleOf)}`;
    case 'const':
      return `const ${JSON.stringify(p.allowedValue)}`;
    default:
      return LIMIT_KEYWORDS.has(e.keyword) ? `${e.keyword} ${String(p.limit)}` : e.keyword;
  }
}

export function toContentErrors(errors: readonly ErrorObject[] | null | undefined): ContentError[] {
  return (errors ?? []).map((e) => {
    const where = e.instancePath === '' ? '(root)' : e.instancePath;
    // ajv does not name the unexpected property; the sender needs it (a name, never a value).
    const what = e.keyword === 'additionalProperties'
      ? `must NOT have the property '${String((e.params as { additionalProperty?: unknown }).additionalProperty)}'`
      : (e.message ?? `fails ${e.keyword}`);
    return { path: e.instancePath, rule: ruleOf(e), message: `${where} ${what}` };
  });
}

/** Strings XML cannot carry (control characters, lone surrogates), which no schema keyword catches reliably. */
export function xmlCharErrors(value: unknown): ContentError[] {
  const out: ContentError[] = [];
  // Explicit stack: content depth comes from outside and must not reach the call stack.
  const stack: { v: unknown; path: string }[] = [{ v: value, path: '' }];
  while (stack.length > 0) {
    const { v, path } = stack.pop() as { v: unknown; path: string };
    if (typeof v === 'string') {
      if (!isXmlText(v)) out.push({ path, rule: 'xmlChar', message: `${path || '(root)'} contains a character XML cannot carry` });
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], path: `${path}/${i}` });
    } else if (typeof v === 'object' && v !== null) {
      const keys = Object.keys(v);
      for (let i = keys.length - 1; i >= 0; i--) {
        const k = keys[i] as string;
        stack.push({ v: (v as Record<string, unknown>)[k], path: `${path}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}` });
      }
    }
  }
  return out;
}

/** A JSON validator that returns ContentErrors. */
export function jsonValidator(validate: ValidateFunction): (value: unknown) => ContentError[] {
  return (value) => {
    const errors = validate(value) ? [] : toContentErrors(validate.errors);
    return [...errors, ...xmlCharErrors(value)];
  };
}
