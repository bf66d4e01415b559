// Compiles the text of one service XSD into the model in model.ts, refusing everything outside
// the supported subset with an XsdCompileError that names the file, line and construct.
// Runs once per schema at start-up; nothing here is on the request path.

import { lookupNamespace } from '../../xml/helpers.js';
import { parseXml, XmlError } from '../../xml/parser.js';
import type { XmlDocument, XmlElement } from '../../xml/types.js';
import { builtin, isNCName, normalizeWhiteSpace, XSD_NS } from './builtins.js';
import { XsdCompileError } from './errors.js';
import type {
  AttributeDecl,
  ComplexType,
  Content,
  ElementDecl,
  GroupParticle,
  Particle,
  SimpleTypeDef,
  TypeDef,
} from './model.js';
import { checkUpa, collectDecls, elementParticle, groupParticle, inconsistentDeclaration } from './particles.js';
import {
  builtinSimpleType,
  FacetError,
  KNOWN_FACETS,
  listType,
  restrict,
  simpleKey,
  type RawFacet,
  type SimpleType,
} from './simple-types.js';

export interface SchemaModel {
  readonly targetNamespace: string;
  /** Global elements in document order: the possible roots. */
  readonly roots: ReadonlyMap<string, ElementDecl>;
}

/** Specific reasons for constructs we refuse; anything else unknown gets a generic message. */
const REFUSED: Readonly<Record<string, string>> = {
  import: 'is not supported: a service schema has one namespace',
  include: 'is not supported: a service schema is one file',
  redefine: 'is not supported',
  override: 'is not supported',
  any: 'is not supported: content must be declared',
  anyAttribute: 'is not supported: attributes must be declared',
  group: 'is not supported: write the particles in place',
  attributeGroup: 'is not supported: declare the attributes in place',
  complexContent: 'is not supported: extension and restriction of complex types are not part of the subset',
  union: 'is not supported',
  notation: 'is not supported',
  key: 'is not supported (identity constraints)',
  keyref: 'is not supported (identity constraints)',
  unique: 'is not supported (identity constraints)',
  attribute: 'is not supported here: declare attributes inside their complex type',
};

/** Placeholder type of a global element until its declaration is compiled (refs may come first). */
const PENDING: ComplexType = { kind: 'complex', name: '(pending)', attributes: new Map(), content: { kind: 'empty' } };

interface Occurs {
  min: number;
  max: number;
}

class Compiler {
  private readonly doc: XmlDocument;
  private tns = '';
  private readonly simpleRaw = new Map<string, XmlElement>();
  private readonly complexRaw = new Map<string, XmlElement>();
  private readonly elementRaw = new Map<string, XmlElement>();
  private readonly simpleTypes = new Map<string, SimpleType>();
  private readonly resolving = new Set<string>();
  private readonly complexTypes = new Map<string, ComplexType>();
  private readonly globals = new Map<string, ElementDecl>();
  /** One TypeDef per referenced simple type, so equal references are the same object (Element Declarations Consistent). */
  private readonly simpleDefs = new Map<string, SimpleTypeDef>();

  constructor(
    text: string,
    private readonly source: string,
  ) {
    try {
      this.doc = parseXml(text);
    } catch (e) {
      if (e instanceof XmlError) throw new XsdCompileError(source, 'XML', `the schema is not well-formed: ${e.message}`);
      throw e;
    }
  }

  private fail(at: XmlElement | null, construct: string, detail: string): never {
    const line = at === null ? undefined : this.doc.position(at.start).line;
    throw new XsdCompileError(this.source, construct, detail, line);
  }

  // ---------------------------------------------------------------- XML helpers

  /** XML Schema children of el, annotations skipped; anything else (foreign elements, text) is refused. */
  private children(el: XmlElement): XmlElement[] {
    const out: XmlElement[] = [];
    for (const c of el.children) {
      if (c.type === 'text') {
        if (normalizeWhiteSpace(c.value, 'collapse') !== '') this.fail(el, `xs:${el.localName}`, 'text content is not allowed here');
      } else if (c.type === 'element') {
        if (c.namespaceURI !== XSD_NS) this.fail(c, `element ${c.qName}`, 'only XML Schema elements are allowed in a schema');
        if (c.localName !== 'annotation') out.push(c);
      }
    }
    return out;
  }

  /**
   * Unqualified attributes of an XSD element, refusing any not in `allowed` (attributes in other
   * namespaces, such as documentation tooling's, carry no schema meaning and are ignored).
   */
  private attrs(el: XmlElement, allowed: readonly string[]): Map<string, string> {
    const out = new Map<string, string>();
    for (const a of el.attributes) {
      if (a.namespaceURI !== '') continue;
      if (!allowed.includes(a.localName)) {
        this.fail(el, `attribute ${a.localName} on xs:${el.localName}`, 'is not supported');
      }
      out.set(a.localName, a.value);
    }
    return out;
  }

  private refuse(el: XmlElement, context: string): never {
    const why = REFUSED[el.localName];
    this.fail(el, `xs:${el.localName}`, why !== undefined ? why : `is not supported ${context}`);
  }

  /** Resolves a QName-valued attribute in the scope of el. */
  private qname(el: XmlElement, value: string): { ns: string; local: string } {
    const v = value.trim();
    const colon = v.indexOf(':');
    const prefix = colon === -1 ? '' : v.slice(0, colon);
    const local = colon === -1 ? v : v.slice(colon + 1);
    if (!isNCName(local) || (prefix !== '' && !isNCName(prefix))) this.fail(el, `QName ${JSON.stringify(value)}`, 'is not a valid QName');
    const ns = lookupNamespace(el, prefix);
    if (ns === null && prefix !== '') this.fail(el, `QName ${JSON.stringify(value)}`, `prefix ${prefix} is not declared`);
    return { ns: ns ?? '', local };
  }

  private ncname(el: XmlElement, value: string | undefined, what: string): string {
    if (value === undefined) this.fail(el, `xs:${el.localName}`, `${what} needs a name`);
    if (!isNCName(value)) this.fail(el, `xs:${el.localName} name ${JSON.stringify(value)}`, 'is not an NCName');
    return value;
  }

  // ---------------------------------------------------------------- schema

  compile(): SchemaModel {
    const schema = this.doc.root;
    if (schema.namespaceURI !== XSD_NS || schema.localName !== 'schema') {
      this.fail(schema, `root element ${schema.qName}`, 'the document is not an XML Schema (expected xs:schema)');
    }
    const a = this.attrs(schema, ['targetNamespace', 'elementFormDefault', 'attributeFormDefault', 'version', 'id']);
    const tns = a.get('targetNamespace');
    if (tns === undefined || tns === '') this.fail(schema, 'xs:schema without targetNamespace', 'a service schema must have a target namespace');
    this.tns = tns;
    if (a.get('elementFormDefault') !== 'qualified') {
      this.fail(schema, 'elementFormDefault', 'xs:schema must declare elementFormDefault="qualified"');
    }
    const afd = a.get('attributeFormDefault');
    if (afd !== undefined && afd !== 'unqualified') this.fail(schema, `attributeFormDefault="${afd}"`, 'only unqualified attributes are supported');

    for (const c of this.children(schema)) {
      const kind = c.localName;
      if (kind === 'element' || kind === 'complexType' || kind === 'simpleType') {
        const name = this.ncname(c, c.attributes.find((x) => x.localName === 'name' && x.namespaceURI === '')?.value, `a global xs:${kind}`);
        const map = kind === 'element' ? this.elementRaw : kind === 'simpleType' ? this.simpleRaw : this.complexRaw;
        // Simple and complex types share one symbol space.
        const clash = kind === 'element' ? map.has(name) : this.simpleRaw.has(name) || this.complexRaw.has(name);
        if (clash) this.fail(c, `global xs:${kind} ${name}`, 'is declared twice');
        map.set(name, c);
      } else {
        this.refuse(c, 'at the top level of a schema');
      }
    }

    // Objects first, contents second: references (ref=, type=) may point forwards or be recursive.
    for (const name of this.complexRaw.keys()) {
      this.complexTypes.set(name, { kind: 'complex', name, attributes: new Map(), content: { kind: 'empty' } });
    }
    for (const name of this.elementRaw.keys()) this.globals.set(name, { name, type: PENDING });
    for (const name of this.simpleRaw.keys()) this.namedSimple(name, null);
    for (const [name, el] of this.complexRaw) this.complexType(el, this.complexTypes.get(name) as ComplexType);
    for (const [name, el] of this.elementRaw) this.globalElement(el, this.globals.get(name) as ElementDecl);
    if (this.globals.size === 0) this.fail(schema, 'xs:schema without global elements', 'there is no possible root element');
    return { targetNamespace: tns, roots: this.globals };
  }

  // ---------------------------------------------------------------- type references

  private typeRef(el: XmlElement, value: string, simpleOnly: boolean): TypeDef {
    const { ns, local } = this.qname(el, value);
    if (ns === XSD_NS) {
      const b = builtin(local);
      if (b === undefined) this.fail(el, `built-in type xs:${local}`, 'is not supported');
      return this.simpleDef(`xs:${local}`, () => builtinSimpleType(b));
    }
    if (ns !== this.tns) this.fail(el, `type {${ns}}${local}`, 'is in another namespace; only the target namespace and XML Schema built-ins are supported');
    if (this.simpleRaw.has(local)) return this.simpleDef(local, () => this.namedSimple(local, el));
    const ct = this.complexTypes.get(local);
    if (ct === undefined) this.fail(el, `type ${local}`, 'is not declared in this schema');
    if (simpleOnly) this.fail(el, `complex type ${local}`, 'is used where a simple type is required');
    return ct;
  }

  private simpleDef(key: string, make: () => SimpleType): SimpleTypeDef {
    let d = this.simpleDefs.get(key);
    if (d === undefined) {
      d = { kind: 'simple', type: make() };
      this.simpleDefs.set(key, d);
    }
    return d;
  }

  private simpleRef(el: XmlElement, value: string, construct: string): SimpleType {
    const t = this.typeRef(el, value, true);
    if (t.kind !== 'simple') this.fail(el, construct, 'needs a simple type');
    return t.type;
  }

  // ---------------------------------------------------------------- simple types

  private namedSimple(name: string, from: XmlElement | null): SimpleType {
    const done = this.simpleTypes.get(name);
    if (done !== undefined) return done;
    const el = this.simpleRaw.get(name) as XmlElement;
    if (this.resolving.has(name)) this.fail(from ?? el, `simple type ${name}`, 'is derived from itself');
    this.resolving.add(name);
    const st = this.simpleType(el, name);
    this.resolving.delete(name);
    this.simpleTypes.set(name, st);
    return st;
  }

  private simpleType(el: XmlElement, name: string): SimpleType {
    this.attrs(el, el.parent === this.doc.root ? ['name', 'id'] : ['id']);
    const kids = this.children(el);
    const body = kids[0];
    if (body === undefined || kids.length > 1) this.fail(el, 'xs:simpleType', 'must contain exactly one xs:restriction or xs:list');
    if (body.localName === 'restriction') return this.restriction(body, name);
    if (body.localName === 'list') {
      const a = this.attrs(body, ['itemType', 'id']);
      const inner = this.children(body);
      const itemType = a.get('itemType');
      let item: SimpleType;
      if (itemType !== undefined && inner.length === 0) item = this.simpleRef(body, itemType, 'xs:list itemType');
      else if (itemType === undefined && inner.length === 1 && inner[0]?.localName === 'simpleType') {
        item = this.simpleType(inner[0], `item of ${name}`);
      } else this.fail(body, 'xs:list', 'needs either an itemType or one anonymous xs:simpleType');
      try {
        return listType(item, name);
      } catch (e) {
        if (e instanceof FacetError) this.fail(body, 'xs:list', e.message);
        throw e;
      }
    }
    this.refuse(body, 'in xs:simpleType');
  }

  private restriction(el: XmlElement, name: string): SimpleType {
    const a = this.attrs(el, ['base', 'id']);
    const kids = this.children(el);
    let base: SimpleType;
    let rest = kids;
    const baseName = a.get('base');
    if (baseName !== undefined) base = this.simpleRef(el, baseName, 'xs:restriction base');
    else if (kids[0]?.localName === 'simpleType') {
      base = this.simpleType(kids[0], `base of ${name}`);
      rest = kids.slice(1);
    } else this.fail(el, 'xs:restriction', 'needs a base');
    const facets: RawFacet[] = [];
    for (const f of rest) {
      if (!KNOWN_FACETS.has(f.localName)) this.refuse(f, 'in xs:restriction');
      const fa = this.attrs(f, ['value', 'fixed', 'id']);
      const value = fa.get('value');
      if (value === undefined) this.fail(f, `xs:${f.localName}`, 'needs a value');
      if (this.children(f).length > 0) this.fail(f, `xs:${f.localName}`, 'must be empty');
      facets.push({ name: f.localName, value });
    }
    try {
      return restrict(base, facets, name);
    } catch (e) {
      if (e instanceof FacetError) this.fail(el, `xs:restriction of ${name}`, e.message);
      throw e;
    }
  }

  // ---------------------------------------------------------------- complex types

  private complexType(el: XmlElement, ct: ComplexType): void {
    const named = el.parent === this.doc.root;
    const a = this.attrs(el, named ? ['name', 'mixed', 'abstract', 'id'] : ['mixed', 'id']);
    const mixed = a.get('mixed');
    if (mixed !== undefined && mixed !== 'false' && mixed !== '0') this.fail(el, 'mixed content (mixed="true")', 'is not supported');
    const abstract = a.get('abstract');
    if (abstract !== undefined && abstract !== 'false' && abstract !== '0') this.fail(el, 'abstract type (abstract="true")', 'is not supported');
    const kids = this.children(el);
    let i = 0;
    let content: Content = { kind: 'empty' };
    const first = kids[0];
    if (first?.localName === 'simpleContent') {
      content = { kind: 'simple', type: this.simpleContent(first, ct) };
      if (kids.length > 1) this.fail(kids[1] ?? first, 'xs:simpleContent', 'must be the only content of its complex type');
      return this.finish(ct, content);
    }
    if (first !== undefined && (first.localName === 'sequence' || first.localName === 'choice' || first.localName === 'all')) {
      const particle = this.group(first, true, 0);
      i = 1;
      if (particle !== null) {
        const bad = inconsistentDeclaration(particle);
        if (bad !== null) this.fail(first, `element ${bad}`, 'is declared twice in one content model with different types');
        const ambiguous = checkUpa(particle);
        if (ambiguous !== null) {
          this.fail(first, `element ${ambiguous}`, 'makes the content model ambiguous (Unique Particle Attribution)');
        }
        content = { kind: 'elements', particle, decls: collectDecls(particle) };
      }
    }
    for (; i < kids.length; i++) {
      const k = kids[i] as XmlElement;
      if (k.localName !== 'attribute') this.refuse(k, 'in xs:complexType');
      this.attribute(k, ct);
    }
    this.finish(ct, content);
  }

  private finish(ct: ComplexType, content: Content): void {
    ct.content = content;
  }

  private simpleContent(el: XmlElement, ct: ComplexType): SimpleType {
    this.attrs(el, ['id']);
    const kids = this.children(el);
    const ext = kids[0];
    if (ext === undefined || kids.length > 1) this.fail(el, 'xs:simpleContent', 'must contain one xs:extension');
    if (ext.localName !== 'extension') this.refuse(ext, 'in xs:simpleContent (only xs:extension of a simple type)');
    const a = this.attrs(ext, ['base', 'id']);
    const base = a.get('base');
    if (base === undefined) this.fail(ext, 'xs:extension', 'needs a base');
    const t = this.typeRef(ext, base, false);
    if (t.kind !== 'simple') this.fail(ext, `xs:extension of complex type ${base}`, 'is not supported (extend a simple type)');
    for (const k of this.children(ext)) {
      if (k.localName !== 'attribute') this.refuse(k, 'in xs:extension');
      this.attribute(k, ct);
    }
    return t.type;
  }

  private attribute(el: XmlElement, ct: ComplexType): void {
    if (el.attributes.some((x) => x.localName === 'ref' && x.namespaceURI === '')) {
      this.fail(el, 'xs:attribute ref', 'is not supported: declare the attribute in place');
    }
    const a = this.attrs(el, ['name', 'type', 'use', 'fixed', 'form', 'id']);
    const name = this.ncname(el, a.get('name'), 'xs:attribute');
    const form = a.get('form');
    if (form !== undefined && form !== 'unqualified') this.fail(el, `attribute ${name} form="${form}"`, 'only unqualified attributes are supported');
    const use = a.get('use') ?? 'optional';
    if (use !== 'optional' && use !== 'required') this.fail(el, `attribute ${name} use="${use}"`, 'is not supported');
    const kids = this.children(el);
    const typeName = a.get('type');
    let type: SimpleType;
    if (typeName !== undefined && kids.length === 0) type = this.simpleRef(el, typeName, `attribute ${name} type`);
    else if (typeName === undefined && kids.length === 1 && kids[0]?.localName === 'simpleType') {
      type = this.simpleType(kids[0], `anonymous type of attribute ${name}`);
    } else if (typeName === undefined && kids.length === 0) {
      this.fail(el, `attribute ${name} without a type`, 'xs:anySimpleType is not supported; give it a type');
    } else this.fail(el, `attribute ${name}`, 'needs either a type or one anonymous xs:simpleType');
    let fixed: AttributeDecl['fixed'] = null;
    const fv = a.get('fixed');
    if (fv !== undefined) {
      const k = simpleKey(type, fv);
      if ('rule' in k) this.fail(el, `attribute ${name} fixed value`, `is not valid for its type (${k.rule})`);
      fixed = { key: k.key, lexical: normalizeWhiteSpace(fv, type.whiteSpace) };
    }
    if (ct.attributes.has(name)) this.fail(el, `attribute ${name}`, 'is declared twice');
    ct.attributes.set(name, { name, type, required: use === 'required', fixed });
  }

  // ---------------------------------------------------------------- particles

  private occurs(el: XmlElement, a: Map<string, string>): Occurs {
    const parse = (v: string | undefined, attr: string): number => {
      if (v === undefined) return 1;
      const t = v.trim();
      if (attr === 'maxOccurs' && t === 'unbounded') return Infinity;
      if (!/^[0-9]{1,9}$/.test(t)) this.fail(el, `${attr}="${v}"`, 'must be a non-negative integer' + (attr === 'maxOccurs' ? ' or unbounded' : ''));
      return Number(t);
    };
    const min = parse(a.get('minOccurs'), 'minOccurs');
    const max = parse(a.get('maxOccurs'), 'maxOccurs');
    if (max < min) this.fail(el, `maxOccurs ${max}`, `is less than minOccurs ${min}`);
    return { min, max };
  }

  /** A sequence/choice/all; null when maxOccurs is 0 (the group can never occur). */
  private group(el: XmlElement, top: boolean, depth: number): GroupParticle | null {
    if (depth > 32) this.fail(el, `xs:${el.localName}`, 'groups are nested too deeply');
    const kind = el.localName as GroupParticle['kind'];
    const a = this.attrs(el, ['minOccurs', 'maxOccurs', 'id']);
    const occ = this.occurs(el, a);
    if (kind === 'all') {
      if (!top) this.fail(el, 'xs:all', 'must be the whole content model of a complex type (XSD 1.0)');
      if (occ.min > 1 || occ.max !== 1) this.fail(el, 'xs:all', 'allows only minOccurs 0 or 1 and maxOccurs 1');
    }
    const items: Particle[] = [];
    for (const k of this.children(el)) {
      let p: Particle | null;
      if (k.localName === 'element') {
        p = this.localElement(k);
        if (kind === 'all' && p !== null && p.max > 1) this.fail(k, 'element in xs:all', 'may occur at most once');
      } else if (kind !== 'all' && (k.localName === 'sequence' || k.localName === 'choice')) {
        p = this.group(k, false, depth + 1);
      } else if (k.localName === 'all') {
        this.fail(k, 'xs:all', 'must be the whole content model of a complex type (XSD 1.0)');
      } else this.refuse(k, `in xs:${kind}`);
      if (p !== null) items.push(p);
    }
    return occ.max === 0 ? null : groupParticle(kind, occ.min, occ.max, items);
  }

  private refuseElementAttrs(el: XmlElement, a: Map<string, string>, name: string): void {
    const nillable = a.get('nillable');
    if (nillable !== undefined && nillable !== 'false' && nillable !== '0') this.fail(el, `element ${name} nillable="true"`, 'is not supported (xsi:nil is refused)');
  }

  private localElement(el: XmlElement): Particle | null {
    const a = this.attrs(el, ['name', 'type', 'ref', 'minOccurs', 'maxOccurs', 'form', 'nillable', 'id']);
    const occ = this.occurs(el, a);
    const ref = a.get('ref');
    let decl: ElementDecl;
    if (ref !== undefined) {
      if (a.has('name') || a.has('type') || a.has('form') || a.has('nillable') || this.children(el).length > 0) {
        this.fail(el, `element ref="${ref}"`, 'a reference cannot also have a name, type, form, nillable or an anonymous type');
      }
      const q = this.qname(el, ref);
      if (q.ns !== this.tns) this.fail(el, `element ref {${q.ns}}${q.local}`, 'elements in other namespaces are not supported');
      const g = this.globals.get(q.local);
      if (g === undefined) this.fail(el, `element ref ${q.local}`, 'is not declared in this schema');
      decl = g;
    } else {
      const name = this.ncname(el, a.get('name'), 'a local xs:element');
      const form = a.get('form');
      if (form !== undefined && form !== 'qualified') this.fail(el, `element ${name} form="${form}"`, 'only qualified elements are supported');
      this.refuseElementAttrs(el, a, name);
      decl = { name, type: this.elementType(el, a, name) };
    }
    return occ.max === 0 ? null : elementParticle(decl, occ.min, occ.max);
  }

  private globalElement(el: XmlElement, decl: ElementDecl): void {
    for (const x of el.attributes) {
      if (x.namespaceURI !== '') continue;
      if (x.localName === 'substitutionGroup' || (x.localName === 'abstract' && x.value !== 'false' && x.value !== '0')) {
        this.fail(el, `element ${decl.name} ${x.localName}`, 'substitution groups and abstract elements are not supported');
      }
    }
    const a = this.attrs(el, ['name', 'type', 'nillable', 'abstract', 'id']);
    this.refuseElementAttrs(el, a, decl.name);
    decl.type = this.elementType(el, a, decl.name);
  }

  private elementType(el: XmlElement, a: Map<string, string>, name: string): TypeDef {
    const kids = this.children(el);
    const typeName = a.get('type');
    for (const c of kids) if (c.localName !== 'simpleType' && c.localName !== 'complexType') this.refuse(c, `in element ${name}`);
    if (kids.length > 1) this.fail(kids[1] as XmlElement, `element ${name}`, 'has more than one anonymous type');
    const k = kids[0];
    if (typeName !== undefined) {
      if (k !== undefined) this.fail(el, `element ${name}`, 'has both a type attribute and an anonymous type');
      return this.typeRef(el, typeName, false);
    }
    if (k === undefined) this.fail(el, `element ${name} without a type`, 'xs:anyType is not supported; give it a type');
    if (k.localName === 'simpleType') {
      const st: SimpleTypeDef = { kind: 'simple', type: this.simpleType(k, `anonymous type of ${name}`) };
      return st;
    }
    if (k.localName === 'complexType') {
      const ct: ComplexType = { kind: 'complex', name: null, attributes: new Map(), content: { kind: 'empty' } };
      this.complexType(k, ct);
      return ct;
    }
    this.refuse(k, `in element ${name}`);
  }
}

export function compileModel(xsdText: string, source: string): SchemaModel {
  return new Compiler(xsdText, source).compile();
}
