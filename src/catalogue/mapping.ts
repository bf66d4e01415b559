/**
 * The mapping engine: compiles a normalised mapping (mapping-format.ts) once
 * into a pair of functions, XML element → JSON and JSON → XML text.
 *
 * - Reading looks only at the given element and its descendants (never its
 *   ancestors), matching children by namespace URI and local name, so it does
 *   not matter which prefix the sender used.
 * - Whitespace is handled per type as XSD does: xs:string keeps it, every other
 *   type (numbers, booleans, dates) is trimmed.
 * - Numbers are exact both ways (decimal.ts); a decimal a JSON number cannot
 *   hold exactly is refused, never rounded.
 * - Writing declares the service namespace once, as the default namespace on
 *   the root; attributes are unqualified (attributeFormDefault="unqualified").
 *
 * Both directions expect validated content; what they still cannot convert
 * raises MappingError naming the place but never the value.
 */
import type { JsonValue } from '../store/types.js';
import { escapeAttr, escapeText } from '../xml/c14n.js';
import type { XmlElement } from '../xml/types.js';
import { formatDecimal, parseDecimal, parseInteger } from './decimal.js';
import { MappingError } from './errors.js';
import type { MappedField, Mapping, ScalarType } from './mapping-format.js';

export interface CompiledMapping {
  toJson(el: XmlElement): JsonValue;
  toXml(value: JsonValue): string;
}

type JsonObject = { [key: string]: JsonValue };
type Reader = (el: XmlElement, path: string, into: JsonObject) => void;
/** Appends this field's attribute text (attrs) or child markup (body) for one object. */
interface Writer {
  attribute(obj: JsonObject, pointer: string, out: string[]): void;
  body(obj: JsonObject, pointer: string, out: string[]): void;
}

// Characters XML 1.0 cannot carry at all, and lone surrogates (not characters).
const NOT_XML_CHAR =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when the string can be written as XML character data. */
export function isXmlText(s: string): boolean {
  return !NOT_XML_CHAR.test(s);
}

/** XSD whitespace (space, tab, CR, LF) only — String.prototype.trim would also eat NBSP etc. */
function xmlTrim(s: string): string {
  return s.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
}

/** Character data directly inside el (a scalar element has no element children once validated). */
export function ownText(el: XmlElement): string {
  let s = '';
  for (const c of el.children) if (c.type === 'text') s += c.value;
  return s;
}

function pointerTo(parent: string, key: string | number): string {
  return `${parent}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

/** A scalar's JSON value from its XML text; MappingError (naming `path`) when it has none. */
export function readScalar(type: ScalarType, raw: string, path: string): JsonValue {
  if (type === 'string') return raw;
  const text = xmlTrim(raw);
  switch (type) {
    case 'date':
      return text;
    case 'boolean':
      if (text === 'true' || text === '1') return true;
      if (text === 'false' || text === '0') return false;
      throw new MappingError(path, 'not an xs:boolean');
    case 'integer': {
      const n = parseInteger(text);
      if (n === null) throw new MappingError(path, 'not an integer a JSON number holds exactly');
      return n;
    }
    case 'number': {
      const n = parseDecimal(text);
      if (n === null) throw new MappingError(path, 'not a decimal a JSON number holds exactly');
      return n;
    }
  }
}

function writeScalar(type: ScalarType, value: JsonValue | undefined, pointer: string): string {
  switch (type) {
    case 'string':
    case 'date':
      if (typeof value !== 'string') throw new MappingError(pointer, 'expected a string');
      if (!isXmlText(value)) throw new MappingError(pointer, 'contains a character XML cannot carry');
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') throw new MappingError(pointer, 'expected a boolean');
      return value ? 'true' : 'false';
    case 'integer':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new MappingError(pointer, 'expected a safe integer');
      return formatDecimal(value);
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) throw new MappingError(pointer, 'expected a finite number');
      return formatDecimal(value);
  }
}

function asObject(value: JsonValue | undefined, pointer: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new MappingError(pointer, 'expected an object');
  }
  return value;
}

/** Compiles one object's fields into a reader and a writer of that object's content. */
function compileObject(fields: MappedField[], ns: string): { read: Reader; writers: Writer[] } {
  const readers: Reader[] = [];
  const writers: Writer[] = [];
  for (const f of fields) {
    const r = compileField(f, ns);
    readers.push(r.read);
    writers.push(r.write);
  }
  return {
    read: (el, path, into) => {
      for (const r of readers) r(el, path, into);
    },
    writers,
  };
}

function findChild(el: XmlElement, ns: string, name: string): XmlElement | null {
  for (const c of el.children) {
    if (c.type === 'element' && c.localName === name && c.namespaceURI === ns) return c;
  }
  return null;
}

function findChildren(el: XmlElement, ns: string, name: string): XmlElement[] {
  const out: XmlElement[] = [];
  for (const c of el.children) {
    if (c.type === 'element' && c.localName === name && c.namespaceURI === ns) out.push(c);
  }
  return out;
}

function compileField(f: MappedField, ns: string): { read: Reader; write: Writer } {
  const noop = (): void => {};
  if (f.source === 'attribute') {
    const type = f.type as ScalarType;
    return {
      read: (el, path, into) => {
        const a = el.attributes.find((x) => x.namespaceURI === '' && x.localName === f.name);
        if (a !== undefined) into[f.json] = readScalar(type, a.value, `${path}/@${f.name}`);
      },
      write: {
        attribute: (obj, pointer, out) => {
          if (!Object.hasOwn(obj, f.json)) return;
          const text = writeScalar(type, obj[f.json], pointerTo(pointer, f.json));
          out.push(' ', f.name, '="', escapeAttr(text), '"');
        },
        body: noop,
      },
    };
  }
  if (f.source === 'text') {
    const type = f.type as ScalarType;
    return {
      read: (el, path, into) => {
        into[f.json] = readScalar(type, ownText(el), path);
      },
      write: {
        attribute: noop,
        body: (obj, pointer, out) => {
          if (!Object.hasOwn(obj, f.json)) return;
          out.push(escapeText(writeScalar(type, obj[f.json], pointerTo(pointer, f.json))));
        },
      },
    };
  }

  // An element: scalar or object, single or repeated, with or without wrapper.
  const readItem = compileItemReader(f, ns);
  const writeItem = compileItemWriter(f, ns);
  const read: Reader = (el, path, into) => {
    if (!f.repeated) {
      const c = findChild(el, ns, f.name);
      if (c !== null) into[f.json] = readItem(c, `${path}/${f.name}`);
      return;
    }
    let container = el;
    let base = path;
    if (f.wrapper !== null) {
      const w = findChild(el, ns, f.wrapper);
      if (w === null) return;
      container = w;
      base = `${path}/${f.wrapper}`;
    }
    const items = findChildren(container, ns, f.name);
    // Without a wrapper, no elements means no property (the schema demands minItems ≥ 1).
    if (items.length === 0 && f.wrapper === null) return;
    into[f.json] = items.map((c, i) => readItem(c, `${base}/${f.name}[${i + 1}]`));
  };
  const write: Writer = {
    attribute: noop,
    body: (obj, pointer, out) => {
      if (!Object.hasOwn(obj, f.json)) return;
      const value = obj[f.json];
      const here = pointerTo(pointer, f.json);
      if (!f.repeated) {
        writeItem(value, here, out);
        return;
      }
      if (!Array.isArray(value)) throw new MappingError(here, 'expected an array');
      if (f.wrapper !== null) out.push('<', f.wrapper, '>');
      value.forEach((v, i) => writeItem(v, pointerTo(here, i), out));
      if (f.wrapper !== null) out.push('</', f.wrapper, '>');
    },
  };
  return { read, write };
}

function compileItemReader(f: MappedField, ns: string): (el: XmlElement, path: string) => JsonValue {
  if (f.type !== 'object') {
    const type = f.type;
    return (el, path) => readScalar(type, ownText(el), path);
  }
  const { read } = compileObject(f.fields, ns);
  return (el, path) => {
    const obj: JsonObject = {};
    read(el, path, obj);
    return obj;
  };
}

function compileItemWriter(f: MappedField, ns: string): (value: JsonValue | undefined, pointer: string, out: string[]) => void {
  if (f.type !== 'object') {
    const type = f.type;
    return (value, pointer, out) => {
      out.push('<', f.name, '>', escapeText(writeScalar(type, value, pointer)), '</', f.name, '>');
    };
  }
  const { writers } = compileObject(f.fields, ns);
  return (value, pointer, out) => {
    const obj = asObject(value, pointer);
    out.push('<', f.name);
    for (const w of writers) w.attribute(obj, pointer, out);
    out.push('>');
    for (const w of writers) w.body(obj, pointer, out);
    // Always an end tag: the form the SMEV transform produces anyway.
    out.push('</', f.name, '>');
  };
}

/** Compiles a mapping for the root element `rootElement` in `namespace`. */
export function compileMapping(mapping: Mapping, namespace: string, rootElement: string): CompiledMapping {
  const { read, writers } = compileObject(mapping.fields, namespace);
  const nsDecl = ` xmlns="${escapeAttr(namespace)}"`;
  return {
    toJson(el) {
      if (el.namespaceURI !== namespace || el.localName !== rootElement) {
        throw new MappingError(`/${el.localName}`, `expected the element {${namespace}}${rootElement}`);
      }
      const obj: JsonObject = {};
      read(el, `/${el.localName}`, obj);
      return obj;
    },
    toXml(value) {
      const obj = asObject(value, '');
      const out: string[] = ['<', rootElement, nsDecl];
      for (const w of writers) w.attribute(obj, '', out);
      out.push('>');
      for (const w of writers) w.body(obj, '', out);
      out.push('</', rootElement, '>');
      return out.join('');
    },
  };
}
