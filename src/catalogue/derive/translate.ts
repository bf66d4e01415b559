// XML ↔ JSON for a derived content, driven by its shape (shape.ts). Reading matches children by
// namespace and local name in schema order (so the prefixes a sender chose do not matter);
// writing declares every namespace once on the root with prefixes of its own. Both directions
// expect content that is valid for the XSD (reading) or the derived JSON Schema (writing);
// derived-content.ts checks the XML a writing produced against the XSD as well.
// A flattened wrapper (overrides `flatten`, shape.ts) is read into the enclosing JSON object and
// written back around its lifted properties: always when it is required in its container,
// otherwise exactly when one of them is present.

import { canonicalize, escapeAttr, escapeText } from '../../xml/c14n.js';
import { parseXml, XmlError } from '../../xml/parser.js';
import type { XmlElement, XmlNode } from '../../xml/types.js';
import { XML_NS } from '../../xml/types.js';
import type { JsonValue } from '../../store/types.js';
import { MappingError } from '../errors.js';
import { isXmlText } from '../mapping.js';
import { isNCName } from '../xsd/builtins.js';
import type { ElementDecl, Wildcard } from '../schema-set/model.js';
import { clark } from '../schema-set/model.js';
import { fromLexical, toLexical } from './scalars.js';
import { ANY_ATTRIBUTES_KEY, type Member, type ObjectShape, type ShapeBuilder, type ValueShape } from './shape.js';

export const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';

type JsonObject = { [key: string]: JsonValue };

function pointerTo(parent: string, key: string | number): string {
  return `${parent}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

export function isNil(el: XmlElement): boolean {
  for (const a of el.attributes) {
    if (a.namespaceURI === XSI_NS && a.localName === 'nil') return a.value.trim() === 'true' || a.value.trim() === '1';
  }
  return false;
}

export function ownText(el: XmlElement): string {
  let s = '';
  for (const c of el.children) if (c.type === 'text') s += c.value;
  return s;
}

function wildcardAllows(w: Wildcard, ns: string): boolean {
  switch (w.namespaces.kind) {
    case 'any':
      return true;
    case 'other':
      return ns !== '' && ns !== w.namespaces.not;
    case 'list':
      return w.namespaces.list.includes(ns);
  }
}

const EXC = { exclusive: true } as const;

/** Content of an element as XML text: its child nodes, each element self-contained (exclusive c14n). */
function contentAsXml(el: XmlElement): string {
  let s = '';
  for (const c of el.children) {
    if (c.type === 'text') s += escapeText(c.value);
    else if (c.type === 'element') s += canonicalize(c, EXC);
  }
  return s;
}

/** Checks that a string from the city is a well-formed XML fragment before it is written out. */
function checkFragment(xml: string, pointer: string): void {
  try {
    parseXml(`<x>${xml}</x>`);
  } catch (e) {
    if (e instanceof XmlError) throw new MappingError(pointer, `is not well-formed XML (${e.message})`);
    throw e;
  }
}

export class Translator {
  private readonly prefixes = new Map<string, string>();
  private readonly declarations: string;

  constructor(
    private readonly shapes: ShapeBuilder,
    private readonly root: ElementDecl,
  ) {
    const namespaces = new Set<string>();
    // The root's namespace becomes the default one unless an element has no namespace (it would
    // then need xmlns="") or an attribute is qualified in it (a default namespace never applies
    // to attributes).
    let noDefault = false;
    const seen = new Set<ObjectShape>();
    const visitValue = (v: ValueShape): void => {
      if (v.kind !== 'object' || seen.has(v.object)) return;
      visitObject(v.object);
    };
    const visitMembers = (members: readonly Member[]): void => {
      for (const m of members) {
        if (m.kind === 'element' || m.kind === 'wrapper') {
          if (m.decl.ns === '') noDefault = true;
          else namespaces.add(m.decl.ns);
        }
        if (m.kind === 'element') visitValue(m.value());
        else if (m.kind === 'wrapper') visitMembers(m.members);
        else if (m.kind === 'group') visitObject(m.object);
      }
    };
    const visitObject = (o: ObjectShape): void => {
      seen.add(o);
      for (const a of o.attributes) {
        if (a.ns === '' || a.ns === XML_NS) continue;
        namespaces.add(a.ns);
        if (a.ns === root.ns) noDefault = true;
      }
      visitMembers(o.members);
    };
    if (root.ns !== '') namespaces.add(root.ns);
    else noDefault = true;
    visitValue(shapes.valueOf(root));
    const decls: string[] = [];
    let n = 1;
    for (const ns of namespaces) {
      const prefix = ns === root.ns && !noDefault ? '' : `ns${n++}`;
      this.prefixes.set(ns, prefix);
      decls.push(prefix === '' ? ` xmlns="${escapeAttr(ns)}"` : ` xmlns:${prefix}="${escapeAttr(ns)}"`);
    }
    decls.push(` xmlns:xsi="${XSI_NS}"`);
    this.declarations = decls.join('');
  }

  // ---------------------------------------------------------------- XML → JSON

  toJson(el: XmlElement): JsonValue {
    if (el.namespaceURI !== this.root.ns || el.localName !== this.root.local) {
      throw new MappingError(`/${el.localName}`, `expected the element ${clark(this.root.ns, this.root.local)}`);
    }
    return this.readElement(this.root, el, `/${el.localName}`);
  }

  /** The JSON of one element read through `decl` (its whole subtree). */
  readElement(decl: ElementDecl, el: XmlElement, path: string): JsonValue {
    if (decl.nillable && isNil(el)) return null;
    const shape = this.shapes.valueOf(decl);
    if (shape.kind === 'scalar') return fromLexical(shape.type, ownText(el), path);
    if (shape.kind === 'xml') return contentAsXml(el);
    return this.readObject(shape.object, el, path);
  }

  private readObject(obj: ObjectShape, el: XmlElement, path: string): JsonObject {
    const out = this.readHead(obj, el, path);
    if (obj.members.length > 0) {
      const kids = el.children.filter((c: XmlNode): c is XmlElement => c.type === 'element');
      this.readAll(obj.members, obj.all, kids, out, path);
    }
    return out;
  }

  /** An object's properties from the element itself: its attributes and text (its members are the children's). */
  readHead(obj: ObjectShape, el: XmlElement, path: string): JsonObject {
    const out: JsonObject = {};
    // The declared attributes, which a wildcard does not take (kept only when there is one).
    const known = obj.anyAttribute === null ? null : new Set<string>();
    for (const a of obj.attributes) {
      known?.add(clark(a.ns, a.local));
      const found = el.attributes.find((x) => x.namespaceURI === a.ns && x.localName === a.local);
      if (found !== undefined) out[a.key] = fromLexical(a.type, found.value, `${path}/@${a.local}`);
    }
    if (obj.anyAttribute !== null) {
      const extra: JsonObject = {};
      for (const x of el.attributes) {
        if (x.namespaceURI === XSI_NS || (known as Set<string>).has(clark(x.namespaceURI, x.localName))) continue;
        extra[x.namespaceURI === '' ? x.localName : clark(x.namespaceURI, x.localName)] = x.value;
      }
      if (Object.keys(extra).length > 0) out[ANY_ATTRIBUTES_KEY] = extra;
    }
    if (obj.text !== null) out[obj.text.key] = fromLexical(obj.text.type, ownText(el), path);
    return out;
  }

  /** Reads every child element for the members (of an object or a flattened wrapper) into `out`. */
  private readAll(members: readonly Member[], all: boolean, kids: XmlElement[], out: JsonObject, path: string): void {
    const end = this.readMembers(members, all, kids, 0, out, path, new Map());
    if (end < kids.length) {
      const k = kids[end] as XmlElement;
      throw new MappingError(`${path}/${k.localName}`, 'is not expected here by the schema');
    }
  }

  private matches(m: Member, el: XmlElement): boolean {
    if (m.kind === 'element' || m.kind === 'wrapper') return m.decl.ns === el.namespaceURI && m.decl.local === el.localName;
    if (m.kind === 'any') return wildcardAllows(m.wildcard, el.namespaceURI);
    return m.object.members.some((x) => this.matches(x, el));
  }

  /** Reads children from index i into `out` for the members; returns the index of the first child not taken. */
  private readMembers(members: readonly Member[], all: boolean, kids: XmlElement[], i: number, out: JsonObject, path: string, counts: Map<string, number>): number {
    let cursor = 0;
    const wrappersRead = new Set<Member>();
    while (i < kids.length) {
      const el = kids[i] as XmlElement;
      let taken = -1;
      for (let m = all ? 0 : cursor; m < members.length; m++) {
        const member = members[m] as Member;
        if (!this.matches(member, el)) continue;
        // A member that occurs once and is already read leaves the child to a later member.
        if (member.kind === 'wrapper') {
          if (wrappersRead.has(member)) continue;
          taken = m;
          break;
        }
        const single = member.kind === 'group' ? false : !member.array;
        if (single && Object.hasOwn(out, member.key)) continue;
        if (member.kind !== 'group' && member.array && Array.isArray(out[member.key]) && (out[member.key] as JsonValue[]).length >= member.max) continue;
        taken = m;
        break;
      }
      if (taken === -1) return i;
      const member = members[taken] as Member;
      const step = (name: string): string => {
        const n = (counts.get(name) ?? 0) + 1;
        counts.set(name, n);
        return `${path}/${name}[${n}]`;
      };
      if (member.kind === 'wrapper') {
        // Its children's properties go into this same object.
        wrappersRead.add(member);
        const inner = el.children.filter((c: XmlNode): c is XmlElement => c.type === 'element');
        this.readAll(member.members, member.all, inner, out, step(el.localName));
        i++;
      } else if (member.kind === 'group') {
        const items: JsonValue[] = (out[member.key] as JsonValue[] | undefined) ?? [];
        for (;;) {
          if (items.length >= member.max || i >= kids.length || !this.matches(member, kids[i] as XmlElement)) break;
          const item: JsonObject = {};
          const next = this.readMembers(member.object.members, member.object.all, kids, i, item, path, counts);
          if (next === i) break;
          items.push(item);
          i = next;
        }
        out[member.key] = items;
      } else {
        const value = member.kind === 'any' ? canonicalize(el, EXC) : this.readElement(member.decl, el, step(el.localName));
        if (member.array) ((out[member.key] as JsonValue[] | undefined) ?? (out[member.key] = [])).push(value);
        else out[member.key] = value;
        i++;
      }
      cursor = taken;
    }
    return i;
  }

  // ---------------------------------------------------------------- JSON → XML

  toXml(value: JsonValue): string {
    const out: string[] = [];
    this.writeElement(this.root, value, '', out, true);
    return out.join('');
  }

  private qname(ns: string, local: string): string {
    if (ns === XML_NS) return `xml:${local}`;
    const p = ns === '' ? '' : (this.prefixes.get(ns) as string);
    return p === '' ? local : `${p}:${local}`;
  }

  private writeElement(decl: ElementDecl, value: JsonValue | undefined, pointer: string, out: string[], root = false): void {
    const name = this.qname(decl.ns, decl.local);
    out.push('<', name);
    if (root) out.push(this.declarations);
    if (value === null) {
      if (!decl.nillable) throw new MappingError(pointer, 'may not be null');
      out.push(' xsi:nil="true"></', name, '>');
      return;
    }
    const shape = this.shapes.valueOf(decl);
    if (shape.kind === 'scalar') {
      out.push('>', escapeText(toLexical(shape.type, value, pointer)), '</', name, '>');
      return;
    }
    if (shape.kind === 'xml') {
      if (typeof value !== 'string') throw new MappingError(pointer, 'expected a string of XML');
      checkFragment(value, pointer);
      out.push('>', value, '</', name, '>');
      return;
    }
    const obj = asObject(value, pointer);
    this.writeObject(shape.object, obj, pointer, out);
    out.push('</', name, '>');
  }

  /** Writes the attributes (closing the start tag) and content of one object. */
  private writeObject(o: ObjectShape, obj: JsonObject, pointer: string, out: string[]): void {
    for (const a of o.attributes) {
      if (!Object.hasOwn(obj, a.key)) continue;
      const text = toLexical(a.type, obj[a.key], pointerTo(pointer, a.key));
      out.push(' ', this.qname(a.ns, a.local), '="', escapeAttr(text), '"');
    }
    if (o.anyAttribute !== null && Object.hasOwn(obj, ANY_ATTRIBUTES_KEY)) {
      const extra = asObject(obj[ANY_ATTRIBUTES_KEY], pointerTo(pointer, ANY_ATTRIBUTES_KEY));
      let n = 0;
      for (const [k, v] of Object.entries(extra)) {
        const at = pointerTo(pointerTo(pointer, ANY_ATTRIBUTES_KEY), k);
        if (typeof v !== 'string') throw new MappingError(at, 'expected a string');
        if (!isXmlText(v)) throw new MappingError(at, 'contains a character XML cannot carry');
        const q = /^\{([^}]*)\}(.+)$/.exec(k);
        const local = q === null ? k : (q[2] as string);
        if (!isNCName(local)) throw new MappingError(at, 'is not an XML attribute name');
        if (q === null || q[1] === '') {
          out.push(' ', local, '="', escapeAttr(v), '"');
        } else {
          // A namespace of its own, declared right here (the wildcard admits any namespace).
          const prefix = `a${++n}`;
          out.push(' xmlns:', prefix, '="', escapeAttr(q[1] as string), '" ', prefix, ':', local, '="', escapeAttr(v), '"');
        }
      }
    }
    out.push('>');
    if (o.text !== null && Object.hasOwn(obj, o.text.key)) {
      out.push(escapeText(toLexical(o.text.type, obj[o.text.key], pointerTo(pointer, o.text.key))));
    }
    this.writeMembers(o.members, o.all, obj, pointer, out);
  }

  private writeMembers(list: readonly Member[], all: boolean, obj: JsonObject, pointer: string, out: string[]): void {
    // xs:all: in the JSON object's key order (what reading produced), so the order round-trips.
    const members = all ? orderByKeys(list, obj) : list;
    for (const m of members) {
      if (m.kind === 'wrapper') {
        if (!m.always && !m.keys.some((k) => Object.hasOwn(obj, k))) continue;
        const name = this.qname(m.decl.ns, m.decl.local);
        out.push('<', name, '>');
        this.writeMembers(m.members, m.all, obj, pointer, out);
        out.push('</', name, '>');
        continue;
      }
      if (!Object.hasOwn(obj, m.key)) continue;
      const here = pointerTo(pointer, m.key);
      const value = obj[m.key];
      const items = m.kind === 'group' || m.array ? asArray(value, here) : [value];
      items.forEach((v, i) => {
        const at = m.kind === 'group' || m.array ? pointerTo(here, i) : here;
        if (m.kind === 'element') this.writeElement(m.decl, v, at, out);
        else if (m.kind === 'any') {
          if (typeof v !== 'string') throw new MappingError(at, 'expected a string of XML');
          checkFragment(v, at);
          out.push(v);
        } else this.writeMembers(m.object.members, m.object.all, asObject(v, at), at, out);
      });
    }
  }
}

/** The members present in `obj`, in its key order; a flattened wrapper stands where its first lifted property does (at the end when it has none but is always written). */
function orderByKeys(members: readonly Member[], obj: JsonObject): Member[] {
  const index = new Map(Object.keys(obj).map((k, i) => [k, i]));
  const at = (m: Member): number => (m.kind === 'wrapper' ? Math.min(...m.keys.map((k) => index.get(k) ?? Infinity), m.always ? index.size : Infinity) : (index.get(m.key) ?? Infinity));
  return members
    .map((m) => ({ m, i: at(m) }))
    .filter((x) => x.i !== Infinity)
    .sort((a, b) => a.i - b.i)
    .map((x) => x.m);
}

function asObject(value: JsonValue | undefined, pointer: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new MappingError(pointer, 'expected an object');
  return value;
}

function asArray(value: JsonValue | undefined, pointer: string): JsonValue[] {
  if (!Array.isArray(value)) throw new MappingError(pointer, 'expected an array');
  return value;
}
