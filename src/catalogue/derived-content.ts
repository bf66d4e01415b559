/**
 * A content (request or response part) whose JSON side is derived from its XSD package alone:
 * the JSON Schema and both translations come from one shape (derive/shape.ts), so there is no
 * hand-written mapping to keep in agreement.
 *
 * JSON is checked twice: against the derived JSON Schema (its errors name JSON pointers), and,
 * when that passes, the XML it becomes is validated against the XSD itself. The second check
 * catches what JSON Schema cannot say (key/keyref/unique, 29 February in a common year, digit
 * counts of long decimals); its errors are translated back to the JSON pointer of the element.
 */
import type { JsonValue } from '../store/types.js';
import { parseXml } from '../xml/parser.js';
import type { XmlElement } from '../xml/types.js';
import { JsonSchemaWriter } from './derive/json-schema.js';
import type { AttributeField, Member, ShapeBuilder } from './derive/shape.js';
import { derivedReader } from './derive/read-walk.js';
import { Translator } from './derive/translate.js';
import { MappingError } from './errors.js';
import { compileDerivedJsonSchema, jsonValidator } from './json-schema.js';
import type { ElementDecl } from './schema-set/model.js';
import type { ContentDefinition, ContentError, XmlReading } from './types.js';
import type { CompiledSchema } from './xsd/index.js';

export interface DerivedContent {
  readonly def: ContentDefinition;
  /** The derived JSON Schema (2020-12, with $defs), for the OpenAPI and `okno catalogue schema`. */
  readonly schema: Record<string, unknown>;
  readonly decl: ElementDecl;
}

function escapeKey(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * The JSON pointer of an XML path (/Root/A[2]/B/@c) in the shape's JSON, as far as it can be
 * followed (a repeated group's items are not told apart: the pointer stops at the group).
 */
export function pointerOfXmlPath(shapes: ShapeBuilder, root: ElementDecl, xmlPath: string): string {
  const steps = xmlPath.split('/').slice(2); // '' and the root
  const start = shapes.valueOf(root);
  if (start.kind !== 'object') return '';
  // Where the next step is looked up: an object's members and attributes, or a flattened
  // wrapper's members (a wrapper adds no step to the pointer: its properties are its parent's).
  let members: readonly Member[] = start.object.members;
  let attributes: readonly AttributeField[] = start.object.attributes;
  let pointer = '';
  for (const step of steps) {
    if (step.startsWith('@')) {
      const local = step.slice(1).replace(/^[^:]*:/, '');
      const a = attributes.find((x) => x.local === local);
      if (a !== undefined) pointer += `/${escapeKey(a.key)}`;
      break;
    }
    const m = /^([^[]+)(?:\[(\d+)\])?$/.exec(step);
    if (m === null) break;
    const local = m[1] as string;
    const index = m[2] === undefined ? 1 : Number(m[2]);
    const member = members.find((x) => (x.kind === 'element' || x.kind === 'wrapper') && x.decl.local === local);
    if (member === undefined) break;
    if (member.kind === 'wrapper') {
      members = member.members;
      attributes = [];
      continue;
    }
    if (member.kind !== 'element') break;
    pointer += `/${escapeKey(member.key)}`;
    if (member.array) pointer += `/${index - 1}`;
    const value = member.value();
    if (value.kind !== 'object') break;
    members = value.object.members;
    attributes = value.object.attributes;
  }
  return pointer;
}

export function derivedContent(shapes: ShapeBuilder, decl: ElementDecl, xsd: CompiledSchema, title: string): DerivedContent {
  const schema = new JsonSchemaWriter(shapes).document(decl, title);
  // Compiled on first use: a federal package's schema is large (the Rosreestr request's is
  // 227 KB, about half a second in ajv), and a lane thread, which only reads XML, never needs it.
  let bySchema: ((value: unknown) => ContentError[]) | null = null;
  const schemaCheck = (value: unknown): ContentError[] => (bySchema ??= jsonValidator(compileDerivedJsonSchema(schema)))(value);
  const translator = new Translator(shapes, decl);
  const { ns, local } = decl;

  const validateXml = (el: XmlElement): ContentError[] => {
    if (el.namespaceURI !== ns || el.localName !== local) {
      return [{ path: `/${el.localName}`, rule: 'root', message: `expected the element ${local} in ${ns || '(no namespace)'}` }];
    }
    return xsd.validate(el);
  };

  // Validation and JSON in one walk (derive/read-walk.ts); toJson again only for its error.
  const reading = derivedReader(shapes, decl, translator);
  const readXml = (el: XmlElement): XmlReading => {
    if (el.namespaceURI !== ns || el.localName !== local) return { ok: false, errors: validateXml(el) };
    const start = reading.start();
    const errors = xsd.validateReading(el, reading.reader, start);
    if (errors.length > 0) return { ok: false, errors };
    return { ok: true, json: reading.finish(start) ?? translator.toJson(el) };
  };

  const validateJson = (value: unknown): ContentError[] => {
    const errors = schemaCheck(value);
    if (errors.length > 0) return errors;
    let xml: string;
    try {
      xml = translator.toXml(value as JsonValue);
    } catch (e) {
      if (e instanceof MappingError) return [{ path: e.path, rule: 'mapping', message: e.message }];
      throw e;
    }
    return xsd.validate(parseXml(xml).root).map((e) => ({ ...e, path: pointerOfXmlPath(shapes, decl, e.path) }));
  };

  const def: ContentDefinition = Object.freeze({
    namespace: ns,
    rootElement: local,
    validateXml,
    validateJson,
    toJson: (el: XmlElement) => translator.toJson(el),
    readXml,
    toXml: (value: JsonValue) => translator.toXml(value),
  });
  return { def, schema, decl };
}
