/**
 * Cross-checks between a mapping and the JSON Schema of the same content, so a
 * property can be neither mapped but not allowed, nor allowed but silently
 * dropped on the way to XML. Only the structural core of JSON Schema is
 * understood here — `type`, `properties`, `items`, local `$ref` — which is
 * what the catalogue's schemas use for shape (other keywords only constrain
 * values and are left to ajv).
 */
import type { FieldType, MappedField, Mapping } from './mapping-format.js';

type Schema = Record<string, unknown>;

const EXPECTED_TYPE: Record<Exclude<FieldType, 'object'>, string> = {
  string: 'string',
  date: 'string',
  integer: 'integer',
  number: 'number',
  boolean: 'boolean',
};

function isSchema(v: unknown): v is Schema {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function unescapePointer(seg: string): string {
  return seg.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** Follows local $refs ("#/$defs/person"); null when one does not resolve. */
function resolve(root: unknown, node: unknown): { schema: Schema; ptr: string } | null {
  let cur = node;
  let ptr = '';
  for (let hops = 0; hops < 32; hops++) {
    if (!isSchema(cur)) return null;
    const ref = cur.$ref;
    if (typeof ref !== 'string') return { schema: cur, ptr };
    if (!ref.startsWith('#')) return null;
    ptr = ref.slice(1);
    let target: unknown = root;
    for (const seg of ptr.split('/').slice(1)) {
      target = isSchema(target) ? target[unescapePointer(seg)] : undefined;
    }
    cur = target;
  }
  return null;
}

export interface CheckFiles {
  mapping: string;
  schema: string;
}

/** Problems, each naming the file and the place in it. */
export function checkMappingAgainstSchema(mapping: Mapping, schema: unknown, files: CheckFiles): string[] {
  const problems: string[] = [];
  const at = (ptr: string): string => `${files.schema} ${ptr || '/'}`;

  const checkObject = (fields: MappedField[], node: unknown, ptr: string, owner: string): void => {
    const r = resolve(schema, node);
    if (r === null) {
      problems.push(`${at(ptr)}: unresolvable $ref`);
      return;
    }
    const s = r.schema;
    const here = r.ptr || ptr;
    if (s.type !== 'object') {
      problems.push(`${at(here)}: ${owner} is an object in ${files.mapping}, the schema must say "type": "object"`);
      return;
    }
    if (s.additionalProperties !== false) {
      problems.push(`${at(here)}: objects must have "additionalProperties": false`);
    }
    const props = isSchema(s.properties) ? s.properties : {};
    const mapped = new Set<string>();
    for (const f of fields) {
      mapped.add(f.json);
      if (!Object.hasOwn(props, f.json)) {
        problems.push(`${files.mapping} ${f.at}: property "${f.json}" is not in ${files.schema} (${here || '/'}/properties)`);
        continue;
      }
      checkField(f, props[f.json], `${here}/properties/${f.json}`);
    }
    for (const key of Object.keys(props)) {
      if (!mapped.has(key)) {
        problems.push(`${at(`${here}/properties/${key}`)}: property "${key}" is not mapped in ${files.mapping} (${owner})`);
      }
    }
  };

  const checkField = (f: MappedField, node: unknown, ptr: string): void => {
    if (!f.repeated) {
      checkValue(f, node, ptr);
      return;
    }
    const r = resolve(schema, node);
    if (r === null || r.schema.type !== 'array') {
      problems.push(`${at(ptr)}: "${f.json}" is repeated in ${files.mapping}, the schema must say "type": "array"`);
      return;
    }
    // Without a wrapper an empty array leaves no trace in XML and would come back as absent.
    if (f.wrapper === null && !(typeof r.schema.minItems === 'number' && r.schema.minItems >= 1)) {
      problems.push(`${at(r.ptr || ptr)}: "${f.json}" repeats without a wrapper element, so the schema needs "minItems" ≥ 1`);
    }
    checkValue(f, r.schema.items, `${r.ptr || ptr}/items`);
  };

  const checkValue = (f: MappedField, node: unknown, ptr: string): void => {
    if (f.type === 'object') {
      checkObject(f.fields, node, ptr, `"${f.json}"`);
      return;
    }
    const r = resolve(schema, node);
    if (r === null) {
      problems.push(`${at(ptr)}: "${f.json}" has no schema or an unresolvable $ref`);
      return;
    }
    const want = EXPECTED_TYPE[f.type];
    if (r.schema.type !== want) {
      problems.push(`${at(r.ptr || ptr)}: "${f.json}" is ${f.type} in ${files.mapping}, the schema must say "type": "${want}"`);
      return;
    }
    const isDate = r.schema.format === 'date';
    if (f.type === 'date' && !isDate) problems.push(`${at(r.ptr || ptr)}: "${f.json}" is a date in ${files.mapping}, the schema must say "format": "date"`);
    if (f.type === 'string' && isDate) problems.push(`${files.mapping} ${f.at}: "${f.json}" has "format": "date" in the schema, map it with "type": "date"`);
  };

  checkObject(mapping.fields, schema, '', 'the root element');
  return problems;
}

/** True when the JSON pointer names a property the schema declares (through objects only). */
export function schemaHasPointer(schema: unknown, pointer: string): boolean {
  if (!pointer.startsWith('/')) return false;
  let node: unknown = schema;
  for (const seg of pointer.split('/').slice(1)) {
    const r = resolve(schema, node);
    if (r === null || r.schema.type !== 'object' || !isSchema(r.schema.properties)) return false;
    const key = unescapePointer(seg);
    if (!Object.hasOwn(r.schema.properties, key)) return false;
    node = r.schema.properties[key];
  }
  return true;
}
