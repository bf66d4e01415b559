/**
 * The mapping file format (<part>.mapping.json) and its normalisation.
 *
 * A mapping is a tree that mirrors the JSON Schema of the city's model: per
 * JSON property it names the XML carrier (a child element in the service
 * namespace, an unqualified attribute, or the element's own text), the value
 * type, and whether it repeats (a JSON array ↔ a repeated element, optionally
 * inside a wrapper element). Field order is XML element order.
 *
 *   { "fields": [
 *       { "json": "orderId", "xml": "OrderId", "type": "integer" },
 *       { "json": "applicant", "xml": "Applicant", "ref": "person" },
 *       { "json": "files", "xml": "File", "wrapper": "Files", "repeated": true,
 *         "fields": [ { "json": "name", "attribute": "name" } ] } ],
 *     "defs": { "person": { "fields": [ { "json": "lastName", "xml": "LastName" } ] } } }
 *
 * `type` defaults to "string", or "object" when `fields`/`ref` is given.
 * Optionality is not repeated here: it is the schemas' business, and the
 * engine simply carries what is present.
 */
import { Ajv } from 'ajv';

export type ScalarType = 'string' | 'integer' | 'number' | 'boolean' | 'date';
export type FieldType = ScalarType | 'object';
export type FieldSource = 'element' | 'attribute' | 'text';

/** One mapped JSON property, with `ref`s expanded. */
export interface MappedField {
  json: string;
  source: FieldSource;
  /** Element or attribute local name; '' for text. */
  name: string;
  /** Element that encloses the repeated elements, or null. */
  wrapper: string | null;
  repeated: boolean;
  type: FieldType;
  /** Properties of an object (empty for scalars). */
  fields: MappedField[];
  /** Where the field is declared in the mapping file (a JSON pointer), for messages. */
  at: string;
}

export interface Mapping {
  /** Content of the root element. */
  fields: MappedField[];
}

const NCNAME = '^[A-Za-z_][A-Za-z0-9_.-]*$';

const mappingFileSchema = {
  $id: 'okno:mapping',
  type: 'object',
  additionalProperties: false,
  required: ['fields'],
  properties: {
    $comment: { type: 'string' },
    fields: { $ref: '#/definitions/fields' },
    defs: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['fields'],
        properties: { $comment: { type: 'string' }, fields: { $ref: '#/definitions/fields' } },
      },
    },
  },
  definitions: {
    fields: { type: 'array', items: { $ref: '#/definitions/field' } },
    field: {
      type: 'object',
      additionalProperties: false,
      required: ['json'],
      properties: {
        $comment: { type: 'string' },
        json: { type: 'string', minLength: 1 },
        xml: { type: 'string', pattern: NCNAME },
        attribute: { type: 'string', pattern: NCNAME },
        text: { const: true },
        type: { enum: ['string', 'integer', 'number', 'boolean', 'date', 'object'] },
        repeated: { type: 'boolean' },
        wrapper: { type: 'string', pattern: NCNAME },
        fields: { $ref: '#/definitions/fields' },
        ref: { type: 'string', minLength: 1 },
      },
    },
  },
} as const;

const validateFile = new Ajv({ allErrors: true, strict: true }).compile(mappingFileSchema);

interface RawField {
  json: string;
  xml?: string;
  attribute?: string;
  text?: true;
  type?: FieldType;
  repeated?: boolean;
  wrapper?: string;
  fields?: RawField[];
  ref?: string;
}

interface RawMapping {
  fields: RawField[];
  defs?: Record<string, { fields: RawField[] }>;
}

/**
 * Checks a parsed mapping file and expands its `ref`s. Returns the mapping,
 * or the problems (each prefixed with the JSON pointer in the file).
 */
export function normaliseMapping(data: unknown): { mapping: Mapping } | { problems: string[] } {
  if (!validateFile(data)) {
    const problems = (validateFile.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message ?? e.keyword}`);
    return { problems };
  }
  const raw = data as unknown as RawMapping;
  const problems: string[] = [];
  const defs = raw.defs ?? {};

  // Expanding refs while tracking the chain refuses cycles (a cycle would be an infinite tree).
  const expandList = (list: RawField[], at: string, chain: string[]): MappedField[] => {
    const out: MappedField[] = [];
    list.forEach((f, i) => {
      const field = expand(f, `${at}/${i}`, chain);
      if (field !== null) out.push(field);
    });
    checkSiblings(out, problems);
    return out;
  };

  const expand = (f: RawField, at: string, chain: string[]): MappedField | null => {
    const carriers = [f.xml !== undefined, f.attribute !== undefined, f.text === true].filter(Boolean).length;
    if (carriers !== 1) {
      problems.push(`${at}: "${f.json}" needs exactly one of "xml", "attribute", "text"`);
      return null;
    }
    const source: FieldSource = f.xml !== undefined ? 'element' : f.attribute !== undefined ? 'attribute' : 'text';
    const isObject = f.fields !== undefined || f.ref !== undefined;
    if (f.fields !== undefined && f.ref !== undefined) {
      problems.push(`${at}: "${f.json}" has both "fields" and "ref"`);
      return null;
    }
    if (f.type !== undefined && (f.type === 'object') !== isObject) {
      problems.push(`${at}: "${f.json}" has type "${f.type}" but ${isObject ? 'has' : 'no'} "fields"/"ref"`);
      return null;
    }
    const repeated = f.repeated === true;
    if (source !== 'element' && (isObject || repeated || f.wrapper !== undefined)) {
      problems.push(`${at}: "${f.json}" is carried by an ${source}, which holds one scalar value only`);
      return null;
    }
    if (f.wrapper !== undefined && !repeated) {
      problems.push(`${at}: "${f.json}" has a "wrapper" but is not "repeated"`);
      return null;
    }
    let fields: MappedField[] = [];
    if (f.ref !== undefined) {
      const def = Object.hasOwn(defs, f.ref) ? defs[f.ref] : undefined;
      if (def === undefined) {
        problems.push(`${at}: "${f.json}" refers to an undefined def "${f.ref}"`);
        return null;
      }
      if (chain.includes(f.ref)) {
        problems.push(`${at}: def "${f.ref}" refers to itself (${[...chain, f.ref].join(' → ')})`);
        return null;
      }
      fields = expandList(def.fields, `/defs/${f.ref}/fields`, [...chain, f.ref]);
    } else if (f.fields !== undefined) {
      fields = expandList(f.fields, `${at}/fields`, chain);
    }
    return {
      json: f.json,
      source,
      name: f.xml ?? f.attribute ?? '',
      wrapper: f.wrapper ?? null,
      repeated,
      type: isObject ? 'object' : (f.type ?? 'string'),
      fields,
      at,
    };
  };

  const fields = expandList(raw.fields, '/fields', []);
  return problems.length > 0 ? { problems } : { mapping: { fields } };
}

/** Sibling fields must be distinguishable both in JSON and in XML. */
function checkSiblings(fields: MappedField[], problems: string[]): void {
  const json = new Set<string>();
  const elements = new Set<string>();
  const attributes = new Set<string>();
  let text = 0;
  for (const f of fields) {
    if (json.has(f.json)) problems.push(`${f.at}: property "${f.json}" is mapped twice`);
    json.add(f.json);
    if (f.source === 'text') text++;
    if (f.source === 'attribute') {
      if (attributes.has(f.name)) problems.push(`${f.at}: attribute "${f.name}" is mapped twice`);
      attributes.add(f.name);
    }
    if (f.source === 'element') {
      // Reading takes the element (or wrapper) by name, so a name may carry one property only.
      const outer = f.wrapper ?? f.name;
      if (elements.has(outer)) problems.push(`${f.at}: element "${outer}" is mapped twice`);
      elements.add(outer);
    }
  }
  if (text > 1) problems.push(`${fields[0]?.at ?? ''}: more than one "text" field in one element`);
  if (text > 0 && elements.size > 0) {
    problems.push(`${fields[0]?.at ?? ''}: a "text" field cannot be mixed with element fields (simple content has no children)`);
  }
}
