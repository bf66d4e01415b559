// Reads a package of XSD files (import, include with chameleon namespaces, several namespaces)
// into the structure in model.ts: groups and attribute groups expanded, complex-type extension
// and restriction applied, simple types reduced to facet summaries. It refuses what it cannot
// represent with an XsdCompileError naming file, line and construct; it does not check
// everything XSD requires of a schema (libxml2 compiles and validates the same package, see
// ../xsd-validator.ts), only what the JSON derivation depends on.

import path from 'node:path';
import { lookupNamespace } from '../../xml/helpers.js';
import type { XmlElement } from '../../xml/types.js';
import { XML_NS } from '../../xml/types.js';
import { XsdCompileError } from '../xsd/errors.js';
import { BUILTIN_TYPES } from './builtin-types.js';
import {
  clark,
  type AttributeUse,
  type Clark,
  type ComplexType,
  type ElementDecl,
  type Facets,
  type GroupParticle,
  type Particle,
  type SimpleType,
  type TypeDef,
  type Wildcard,
} from './model.js';
import { PackageFiles, type SchemaFile } from './package-files.js';

export const XSD_NS = 'http://www.w3.org/2001/XMLSchema';

/** One schema document in the namespace it contributes to (a chameleon include adopts the includer's). */
interface DocCtx {
  readonly file: SchemaFile;
  readonly tns: string;
  readonly chameleon: boolean;
  readonly elementQualified: boolean;
  readonly attributeQualified: boolean;
}

interface Raw {
  readonly el: XmlElement;
  readonly ctx: DocCtx;
}

const TOP_LEVEL = new Set(['element', 'complexType', 'simpleType', 'group', 'attributeGroup', 'attribute', 'notation']);
const FACET_NAMES = new Set([
  'length', 'minLength', 'maxLength', 'pattern', 'enumeration', 'whiteSpace',
  'minInclusive', 'maxInclusive', 'minExclusive', 'maxExclusive', 'totalDigits', 'fractionDigits',
]);

const ANY_WILDCARD: Wildcard = { namespaces: { kind: 'any' }, process: 'lax' };
/** xs:anyType: whatever attributes and content. */
const ANY_TYPE: ComplexType = { kind: 'complex', name: 'xs:anyType', attributes: [], anyAttribute: ANY_WILDCARD, content: { kind: 'any' }, place: 'XML Schema' };

/** The xml: attributes (xml:lang, xml:space, xml:base, xml:id) a schema may refer to without importing them. */
function xmlAttribute(local: string): AttributeUse | undefined {
  if (!['lang', 'space', 'base', 'id'].includes(local)) return undefined;
  return { ns: XML_NS, local, type: builtinType('string'), required: false, fixed: null, defaultValue: null };
}

const builtinCache = new Map<string, SimpleType>();
function builtinType(local: string): SimpleType {
  let t = builtinCache.get(local);
  if (t === undefined) {
    const info = BUILTIN_TYPES.get(local);
    if (info?.listOf !== undefined) {
      t = { kind: 'simple', variety: 'list', name: `xs:${local}`, item: builtinType(info.listOf), facets: { minLength: 1 } };
    } else {
      t = { kind: 'simple', variety: 'atomic', name: `xs:${local}`, builtin: local, facets: {} };
    }
    builtinCache.set(local, t);
  }
  return t;
}

export interface SchemaSet {
  /** The package folder (absolute). */
  readonly dir: string;
  /** Global element declarations of every namespace, by clark name. */
  readonly elements: ReadonlyMap<Clark, ElementDecl>;
  /** Global attribute declarations, by clark name. */
  readonly attributes: ReadonlyMap<Clark, AttributeUse>;
  /** Every file of the package that was read, relative to the package folder. */
  readonly files: readonly string[];
  /** Namespaces that have components. */
  readonly namespaces: readonly string[];
}

class Resolver {
  private readonly ctxs = new Map<string, DocCtx>();
  private readonly elementsRaw = new Map<Clark, Raw>();
  private readonly typesRaw = new Map<Clark, Raw>();
  private readonly groupsRaw = new Map<Clark, Raw>();
  private readonly attributeGroupsRaw = new Map<Clark, Raw>();
  private readonly attributesRaw = new Map<Clark, Raw>();

  private readonly elements = new Map<Clark, ElementDecl>();
  private readonly types = new Map<Clark, TypeDef>();
  private readonly resolvingTypes = new Set<Clark>();
  private readonly doneComplex = new Set<ComplexType>();
  /** Named complex types whose body is still to be read, and those being read now. */
  private readonly pending = new Map<ComplexType, Raw>();
  private readonly reading = new Set<ComplexType>();
  private readonly expanding = new Set<Clark>();
  /** Local elements and attributes of the same declaration are shared (recursive types stay finite). */
  private readonly localElements = new Map<XmlElement, ElementDecl>();

  constructor(private readonly files: PackageFiles) {}

  // ---------------------------------------------------------------- messages

  private fail(ctx: DocCtx | SchemaFile, at: XmlElement | null, construct: string, detail: string): never {
    const file = 'file' in ctx ? ctx.file : ctx;
    const line = at === null ? undefined : file.doc.position(at.start).line;
    throw new XsdCompileError(file.abs, construct, detail, line);
  }

  private place(ctx: DocCtx, el: XmlElement): string {
    return `${ctx.file.rel}:${ctx.file.doc.position(el.start).line}`;
  }

  // ---------------------------------------------------------------- XML helpers

  private attr(el: XmlElement, name: string): string | undefined {
    for (const a of el.attributes) if (a.namespaceURI === '' && a.localName === name) return a.value;
    return undefined;
  }

  /** XML Schema children, annotations skipped (anything may sit in xs:appinfo; nowhere else may a foreign element). */
  private kids(el: XmlElement): XmlElement[] {
    const out: XmlElement[] = [];
    for (const c of el.children) {
      if (c.type !== 'element') continue;
      if (c.namespaceURI !== XSD_NS) this.failAt(el, c, `element ${c.qName}`, 'only XML Schema elements are allowed in a schema (outside xs:appinfo)');
      if (c.localName !== 'annotation') out.push(c);
    }
    return out;
  }

  /** fail() for a node whose document is found from the tree (kids() has no context at hand). */
  private failAt(parent: XmlElement, at: XmlElement, construct: string, detail: string): never {
    let root = parent;
    while (root.parent !== null) root = root.parent;
    const file = this.files.all().find((f) => f.doc.root === root);
    if (file === undefined) throw new XsdCompileError('(schema)', construct, detail);
    this.fail(file, at, construct, detail);
  }

  private qname(ctx: DocCtx, el: XmlElement, value: string): { ns: string; local: string } {
    const v = value.trim();
    const colon = v.indexOf(':');
    const prefix = colon === -1 ? '' : v.slice(0, colon);
    const local = colon === -1 ? v : v.slice(colon + 1);
    let ns = lookupNamespace(el, prefix);
    if (ns === null && prefix !== '') this.fail(ctx, el, `QName "${value}"`, `prefix ${prefix} is not declared`);
    // A chameleon include: its no-namespace references mean the includer's namespace.
    if ((ns === null || ns === '') && ctx.chameleon) ns = ctx.tns;
    return { ns: ns ?? '', local };
  }

  private occurs(ctx: DocCtx, el: XmlElement): { min: number; max: number } {
    const parse = (v: string | undefined, attr: string): number => {
      if (v === undefined) return 1;
      const t = v.trim();
      if (attr === 'maxOccurs' && t === 'unbounded') return Infinity;
      if (!/^[0-9]{1,9}$/.test(t)) this.fail(ctx, el, `${attr}="${v}"`, 'must be a non-negative integer' + (attr === 'maxOccurs' ? ' or unbounded' : ''));
      return Number(t);
    };
    const min = parse(this.attr(el, 'minOccurs'), 'minOccurs');
    const max = parse(this.attr(el, 'maxOccurs'), 'maxOccurs');
    if (max < min) this.fail(ctx, el, `maxOccurs ${max}`, `is less than minOccurs ${min}`);
    return { min, max };
  }

  // ---------------------------------------------------------------- documents

  /** Reads a schema document and, recursively, what it imports and includes. */
  readDocument(file: SchemaFile, adoptNamespace: string | null): void {
    const root = file.doc.root;
    if (root.namespaceURI !== XSD_NS || root.localName !== 'schema') {
      this.fail(file, root, `root element ${root.qName}`, 'the document is not an XML Schema (expected xs:schema)');
    }
    const own = this.attr(root, 'targetNamespace');
    if (own === '') this.fail(file, root, 'targetNamespace=""', 'is not allowed: leave the attribute out for a schema without a namespace');
    const chameleon = own === undefined && adoptNamespace !== null && adoptNamespace !== '';
    const tns = own ?? adoptNamespace ?? '';
    const key = `${tns}\u0000${file.abs}`;
    if (this.ctxs.has(key)) return;
    const form = (name: string): boolean => {
      const v = this.attr(root, name);
      if (v !== undefined && v !== 'qualified' && v !== 'unqualified') this.fail(file, root, `${name}="${v}"`, 'must be qualified or unqualified');
      return v === 'qualified';
    };
    const ctx: DocCtx = { file, tns, chameleon, elementQualified: form('elementFormDefault'), attributeQualified: form('attributeFormDefault') };
    this.ctxs.set(key, ctx);

    for (const c of this.kids(root)) {
      const kind = c.localName;
      const line = file.doc.position(c.start).line;
      if (kind === 'import' || kind === 'include') {
        const loc = this.attr(c, 'schemaLocation');
        const ns = this.attr(c, 'namespace');
        if (kind === 'import') {
          if (ns === XML_NS) continue; // the xml: attributes are built in
          if (ns !== undefined && ns === tns) this.fail(ctx, c, 'xs:import', `imports its own namespace ${tns}; use xs:include`);
          if (loc === undefined) continue; // must be supplied by another document of the package
          const target = this.files.load(this.files.resolve(path.dirname(file.abs), loc, { file: file.abs, line }), { file: file.abs, line });
          const targetNs = this.attr(target.doc.root, 'targetNamespace') ?? '';
          if ((ns ?? '') !== targetNs) {
            this.fail(ctx, c, `xs:import namespace="${ns ?? ''}"`, `${target.rel} has targetNamespace "${targetNs}"`);
          }
          this.readDocument(target, null);
        } else {
          if (loc === undefined) this.fail(ctx, c, 'xs:include', 'needs a schemaLocation');
          const target = this.files.load(this.files.resolve(path.dirname(file.abs), loc, { file: file.abs, line }), { file: file.abs, line });
          const targetNs = this.attr(target.doc.root, 'targetNamespace');
          if (targetNs !== undefined && targetNs !== tns) {
            this.fail(ctx, c, `xs:include ${loc}`, `${target.rel} has targetNamespace "${targetNs}", not "${tns}"`);
          }
          this.readDocument(target, tns);
        }
        continue;
      }
      if (kind === 'redefine' || kind === 'override') this.fail(ctx, c, `xs:${kind}`, 'is not supported');
      if (!TOP_LEVEL.has(kind)) this.fail(ctx, c, `xs:${kind}`, 'is not allowed at the top level of a schema');
      if (kind === 'notation') continue;
      const name = this.attr(c, 'name');
      if (name === undefined) this.fail(ctx, c, `a global xs:${kind}`, 'needs a name');
      const map =
        kind === 'element' ? this.elementsRaw
        : kind === 'group' ? this.groupsRaw
        : kind === 'attributeGroup' ? this.attributeGroupsRaw
        : kind === 'attribute' ? this.attributesRaw
        : this.typesRaw;
      const k = clark(tns, name.trim());
      const prior = map.get(k);
      if (prior !== undefined && prior.el !== c) {
        this.fail(ctx, c, `global xs:${kind} ${name}`, `is also declared at ${this.place(prior.ctx, prior.el)}`);
      }
      map.set(k, { el: c, ctx });
    }
  }

  // ---------------------------------------------------------------- elements

  globalElement(k: Clark, from?: { ctx: DocCtx; el: XmlElement }): ElementDecl {
    const done = this.elements.get(k);
    if (done !== undefined) return done;
    const raw = this.elementsRaw.get(k);
    if (raw === undefined) {
      if (from !== undefined) this.fail(from.ctx, from.el, `element ref ${k}`, 'is not declared by any schema of the package');
      throw new Error(`no global element ${k}`);
    }
    const { el, ctx } = raw;
    if (this.attr(el, 'substitutionGroup') !== undefined) {
      this.fail(ctx, el, `element ${this.attr(el, 'name')} substitutionGroup`, 'substitution groups are not supported');
    }
    if (isTrue(this.attr(el, 'abstract'))) {
      this.fail(ctx, el, `element ${this.attr(el, 'name')} abstract="true"`, 'abstract elements are not supported (they need substitution groups)');
    }
    const decl = this.newDecl(ctx, el, ctx.tns, (this.attr(el, 'name') ?? '').trim());
    this.elements.set(k, decl);
    decl.type = this.elementType(ctx, el);
    return decl;
  }

  private newDecl(ctx: DocCtx, el: XmlElement, ns: string, local: string): ElementDecl {
    const nillable = this.attr(el, 'nillable');
    const identity = this.kids(el)
      .filter((k) => k.localName === 'key' || k.localName === 'keyref' || k.localName === 'unique')
      .map((k) => ({ el: k, tns: ctx.tns, file: ctx.file.abs, line: ctx.file.doc.position(k.start).line }));
    return {
      identity,
      ns,
      local,
      type: ANY_TYPE,
      nillable: nillable === 'true' || nillable === '1',
      fixed: this.attr(el, 'fixed') ?? null,
      defaultValue: this.attr(el, 'default') ?? null,
      place: this.place(ctx, el),
    };
  }

  private elementType(ctx: DocCtx, el: XmlElement): TypeDef {
    const typeName = this.attr(el, 'type');
    let anonymous: XmlElement | undefined;
    for (const k of this.kids(el)) {
      if (k.localName === 'simpleType' || k.localName === 'complexType') {
        if (anonymous !== undefined) this.fail(ctx, k, `element ${this.attr(el, 'name')}`, 'has more than one anonymous type');
        anonymous = k;
      } else if (k.localName !== 'key' && k.localName !== 'keyref' && k.localName !== 'unique') {
        this.fail(ctx, k, `xs:${k.localName}`, 'is not allowed in xs:element');
      }
    }
    const name = this.attr(el, 'name') ?? '?';
    if (typeName !== undefined) {
      if (anonymous !== undefined) this.fail(ctx, el, `element ${name}`, 'has both a type attribute and an anonymous type');
      return this.typeRef(ctx, el, typeName);
    }
    if (anonymous === undefined) return ANY_TYPE;
    if (anonymous.localName === 'simpleType') return this.simpleType(ctx, anonymous, `anonymous type of ${name}`);
    const ct: ComplexType = { kind: 'complex', name: null, attributes: [], anyAttribute: null, content: { kind: 'empty' }, place: this.place(ctx, anonymous) };
    this.complexBody(ctx, anonymous, ct);
    return ct;
  }

  private localElement(ctx: DocCtx, el: XmlElement): Particle | null {
    const occ = this.occurs(ctx, el);
    if (occ.max === 0) return null;
    const ref = this.attr(el, 'ref');
    if (ref !== undefined) {
      const q = this.qname(ctx, el, ref);
      return { kind: 'element', decl: this.globalElement(clark(q.ns, q.local), { ctx, el }), ...occ };
    }
    let decl = this.localElements.get(el);
    if (decl === undefined) {
      const name = this.attr(el, 'name');
      if (name === undefined) this.fail(ctx, el, 'a local xs:element', 'needs a name or a ref');
      const form = this.attr(el, 'form');
      const qualified = form === undefined ? ctx.elementQualified : form === 'qualified';
      decl = this.newDecl(ctx, el, qualified ? ctx.tns : '', name.trim());
      this.localElements.set(el, decl);
      decl.type = this.elementType(ctx, el);
    }
    return { kind: 'element', decl, ...occ };
  }

  // ---------------------------------------------------------------- types

  private typeRef(ctx: DocCtx, el: XmlElement, value: string): TypeDef {
    const { ns, local } = this.qname(ctx, el, value);
    if (ns === XSD_NS) {
      if (local === 'anyType') return ANY_TYPE;
      if (!BUILTIN_TYPES.has(local)) this.fail(ctx, el, `type xs:${local}`, 'is not an XML Schema built-in type');
      return builtinType(local);
    }
    return this.namedType(clark(ns, local), ctx, el);
  }

  /**
   * A named type. A complex type is registered before its body is read and the body is read
   * later (drainPending), so that types may refer to each other through their elements in any
   * order; `complete` reads the body now, as a derivation needs its base's.
   */
  private namedType(k: Clark, ctx: DocCtx, at: XmlElement, complete = false): TypeDef {
    const done = this.types.get(k);
    if (done !== undefined) {
      if (complete && done.kind === 'complex') this.completeBody(done);
      return done;
    }
    const raw = this.typesRaw.get(k);
    if (raw === undefined) this.fail(ctx, at, `type ${k}`, 'is not declared by any schema of the package');
    const name = (this.attr(raw.el, 'name') ?? '').trim();
    if (raw.el.localName === 'complexType') {
      const ct: ComplexType = { kind: 'complex', name, attributes: [], anyAttribute: null, content: { kind: 'empty' }, place: this.place(raw.ctx, raw.el) };
      this.types.set(k, ct);
      this.pending.set(ct, raw);
      if (complete) this.completeBody(ct);
      return ct;
    }
    if (this.resolvingTypes.has(k)) this.fail(raw.ctx, raw.el, `simple type ${name}`, 'is derived from itself');
    this.resolvingTypes.add(k);
    const st = this.simpleType(raw.ctx, raw.el, name);
    this.resolvingTypes.delete(k);
    this.types.set(k, st);
    return st;
  }

  private simpleRef(ctx: DocCtx, el: XmlElement, value: string, construct: string): SimpleType {
    const t = this.typeRef(ctx, el, value);
    if (t.kind !== 'simple') this.fail(ctx, el, construct, `needs a simple type; ${value} is complex`);
    return t;
  }

  // ---------------------------------------------------------------- simple types

  private simpleType(ctx: DocCtx, el: XmlElement, name: string): SimpleType {
    const kids = this.kids(el);
    const body = kids[0];
    if (body === undefined || kids.length > 1) this.fail(ctx, el, 'xs:simpleType', 'must contain exactly one xs:restriction, xs:list or xs:union');
    if (body.localName === 'restriction') {
      const baseName = this.attr(body, 'base');
      let rest = this.kids(body);
      let base: SimpleType;
      if (baseName !== undefined) base = this.simpleRef(ctx, body, baseName, 'xs:restriction base');
      else if (rest[0]?.localName === 'simpleType') {
        base = this.simpleType(ctx, rest[0], `base of ${name}`);
        rest = rest.slice(1);
      } else this.fail(ctx, body, 'xs:restriction', 'needs a base');
      return { ...this.restrict(ctx, base, rest, name), place: this.place(ctx, el) };
    }
    if (body.localName === 'list') {
      const itemName = this.attr(body, 'itemType');
      const inner = this.kids(body);
      let item: SimpleType;
      if (itemName !== undefined && inner.length === 0) item = this.simpleRef(ctx, body, itemName, 'xs:list itemType');
      else if (itemName === undefined && inner.length === 1 && inner[0]?.localName === 'simpleType') item = this.simpleType(ctx, inner[0], `item of ${name}`);
      else this.fail(ctx, body, 'xs:list', 'needs either an itemType or one anonymous xs:simpleType');
      if (item.variety === 'list') this.fail(ctx, body, 'xs:list', 'a list of lists is not allowed');
      return { kind: 'simple', variety: 'list', name, item, facets: {}, place: this.place(ctx, el) };
    }
    if (body.localName === 'union') {
      const members: SimpleType[] = [];
      for (const m of (this.attr(body, 'memberTypes') ?? '').split(/\s+/).filter((x) => x !== '')) {
        members.push(this.simpleRef(ctx, body, m, 'xs:union memberTypes'));
      }
      for (const k of this.kids(body)) {
        if (k.localName !== 'simpleType') this.fail(ctx, k, `xs:${k.localName}`, 'is not allowed in xs:union');
        members.push(this.simpleType(ctx, k, `member of ${name}`));
      }
      if (members.length === 0) this.fail(ctx, body, 'xs:union', 'has no member types');
      return { kind: 'simple', variety: 'union', name, members, facets: {}, place: this.place(ctx, el) };
    }
    this.fail(ctx, body, `xs:${body.localName}`, 'is not allowed in xs:simpleType');
  }

  /** One restriction step: the base's facets narrowed by these facet elements. */
  private restrict(ctx: DocCtx, base: SimpleType, facetEls: XmlElement[], name: string): SimpleType {
    const f: Facets = { ...base.facets };
    const enumeration: string[] = [];
    const patterns: string[] = [];
    for (const x of facetEls) {
      if (x.localName === 'attribute' || x.localName === 'attributeGroup' || x.localName === 'anyAttribute') break;
      if (!FACET_NAMES.has(x.localName)) this.fail(ctx, x, `xs:${x.localName}`, 'is not a facet');
      const value = this.attr(x, 'value');
      if (value === undefined) this.fail(ctx, x, `xs:${x.localName}`, 'needs a value');
      const number = (): number => {
        const v = value.trim();
        if (!/^[0-9]{1,15}$/.test(v)) this.fail(ctx, x, `xs:${x.localName} value="${value}"`, 'must be a non-negative integer');
        return Number(v);
      };
      switch (x.localName) {
        case 'enumeration':
          enumeration.push(value);
          break;
        case 'pattern':
          patterns.push(value);
          break;
        case 'whiteSpace': {
          const v = value.trim();
          if (v !== 'preserve' && v !== 'replace' && v !== 'collapse') this.fail(ctx, x, `xs:whiteSpace value="${value}"`, 'must be preserve, replace or collapse');
          f.whiteSpace = v;
          break;
        }
        case 'length':
        case 'minLength':
        case 'maxLength':
        case 'totalDigits':
        case 'fractionDigits':
          f[x.localName] = number();
          break;
        default:
          f[x.localName as 'minInclusive' | 'maxInclusive' | 'minExclusive' | 'maxExclusive'] = value.trim();
      }
    }
    if (enumeration.length > 0) f.enumeration = enumeration;
    if (patterns.length > 0) f.patterns = [...(base.facets.patterns ?? []), patterns];
    return { ...base, name, facets: f };
  }

  // ---------------------------------------------------------------- complex types

  private completeBody(ct: ComplexType): void {
    const raw = this.pending.get(ct);
    if (raw === undefined || this.reading.has(ct)) return; // done, or being read (the caller reports a cycle)
    this.pending.delete(ct);
    this.reading.add(ct);
    this.complexBody(raw.ctx, raw.el, ct);
    this.reading.delete(ct);
  }

  private drainPending(): void {
    for (let next = this.pending.keys().next(); !next.done; next = this.pending.keys().next()) this.completeBody(next.value);
  }

  private complexBody(ctx: DocCtx, el: XmlElement, ct: ComplexType): void {
    const mixed = isTrue(this.attr(el, 'mixed'));
    const kids = this.kids(el);
    const first = kids[0];
    if (first?.localName === 'simpleContent') {
      this.simpleContent(ctx, first, ct);
    } else if (first?.localName === 'complexContent') {
      this.complexContent(ctx, first, ct, mixed || isTrue(this.attr(first, 'mixed')));
    } else {
      let i = 0;
      let particle: GroupParticle | null = null;
      if (first !== undefined && ['sequence', 'choice', 'all', 'group'].includes(first.localName)) {
        particle = this.modelGroup(ctx, first, 0);
        i = 1;
      }
      this.attributeUses(ctx, kids.slice(i), ct, `xs:complexType`);
      ct.content = particle === null ? (mixed ? { kind: 'simple', type: builtinType('string') } : { kind: 'empty' }) : { kind: 'elements', particle, mixed };
    }
    this.doneComplex.add(ct);
  }

  /** A complex base whose body must be complete before a derivation copies it. */
  private complexBase(ctx: DocCtx, at: XmlElement, baseName: string): TypeDef {
    const { ns, local } = this.qname(ctx, at, baseName);
    const base = ns === XSD_NS ? this.typeRef(ctx, at, baseName) : this.namedType(clark(ns, local), ctx, at, true);
    if (base.kind === 'complex' && base !== ANY_TYPE && !this.doneComplex.has(base)) {
      this.fail(ctx, at, `base type ${baseName}`, 'is derived from itself');
    }
    return base;
  }

  private simpleContent(ctx: DocCtx, el: XmlElement, ct: ComplexType): void {
    const kids = this.kids(el);
    const d = kids[0];
    if (d === undefined || kids.length > 1 || (d.localName !== 'extension' && d.localName !== 'restriction')) {
      this.fail(ctx, el, 'xs:simpleContent', 'must contain one xs:extension or xs:restriction');
    }
    const baseName = this.attr(d, 'base');
    if (baseName === undefined) this.fail(ctx, d, `xs:${d.localName}`, 'needs a base');
    const base = this.complexBase(ctx, d, baseName);
    let simple: SimpleType;
    if (base.kind === 'simple') simple = base;
    else if (base.content.kind === 'simple') simple = base.content.type;
    else if (base === ANY_TYPE || (base.content.kind === 'elements' && base.content.mixed) || base.content.kind === 'empty') simple = builtinType('string');
    else this.fail(ctx, d, `xs:simpleContent base ${baseName}`, 'has element content; simple content needs a simple base');
    const inherited = base.kind === 'complex' ? base : null;
    const body = this.kids(d);
    if (d.localName === 'extension') {
      ct.attributes = [...(inherited?.attributes ?? [])];
      ct.anyAttribute = inherited?.anyAttribute ?? null;
      this.attributeUses(ctx, body, ct, 'xs:extension');
    } else {
      let rest = body;
      if (rest[0]?.localName === 'simpleType') {
        simple = this.simpleType(ctx, rest[0], `content of ${ct.name ?? 'an anonymous type'}`);
        rest = rest.slice(1);
      }
      const facets = rest.filter((x) => FACET_NAMES.has(x.localName));
      simple = this.restrict(ctx, simple, facets, ct.name ?? 'anonymous');
      this.restrictAttributes(ctx, rest.filter((x) => !FACET_NAMES.has(x.localName)), ct, inherited);
    }
    ct.content = { kind: 'simple', type: simple };
  }

  private complexContent(ctx: DocCtx, el: XmlElement, ct: ComplexType, mixed: boolean): void {
    const kids = this.kids(el);
    const d = kids[0];
    if (d === undefined || kids.length > 1 || (d.localName !== 'extension' && d.localName !== 'restriction')) {
      this.fail(ctx, el, 'xs:complexContent', 'must contain one xs:extension or xs:restriction');
    }
    const baseName = this.attr(d, 'base');
    if (baseName === undefined) this.fail(ctx, d, `xs:${d.localName}`, 'needs a base');
    const base = this.complexBase(ctx, d, baseName);
    if (base.kind === 'simple') this.fail(ctx, d, `xs:complexContent base ${baseName}`, 'is a simple type; use xs:simpleContent');
    const body = this.kids(d);
    let i = 0;
    let own: GroupParticle | null = null;
    const first = body[0];
    if (first !== undefined && ['sequence', 'choice', 'all', 'group'].includes(first.localName)) {
      own = this.modelGroup(ctx, first, 0);
      i = 1;
    }
    if (d.localName === 'extension') {
      ct.attributes = [...base.attributes];
      ct.anyAttribute = base.anyAttribute;
      this.attributeUses(ctx, body.slice(i), ct, 'xs:extension');
      const inherited = base.content.kind === 'elements' ? base.content.particle : null;
      if (base.content.kind === 'simple') this.fail(ctx, d, `xs:complexContent extension of ${baseName}`, 'the base has simple content');
      if (base.content.kind === 'any') {
        ct.content = { kind: 'any' };
        return;
      }
      const particle =
        inherited === null ? own
        : own === null ? inherited
        : ({ kind: 'sequence', min: 1, max: 1, items: [inherited, own] } satisfies GroupParticle);
      const isMixed = mixed || (base.content.kind === 'elements' && base.content.mixed);
      ct.content = particle === null ? { kind: 'empty' } : { kind: 'elements', particle, mixed: isMixed };
      return;
    }
    this.restrictAttributes(ctx, body.slice(i), ct, base);
    ct.content = own === null ? { kind: 'empty' } : { kind: 'elements', particle: own, mixed };
  }

  /** Attributes of a restriction: the base's, replaced by same-named declarations, minus prohibited ones. */
  private restrictAttributes(ctx: DocCtx, els: XmlElement[], ct: ComplexType, base: ComplexType | null): void {
    const own: ComplexType = { ...ct, attributes: [], anyAttribute: null };
    const prohibited = this.attributeUses(ctx, els, own, 'xs:restriction');
    const mine = new Set(own.attributes.map((a) => clark(a.ns, a.local)));
    ct.attributes = [
      ...(base?.attributes ?? []).filter((a) => !mine.has(clark(a.ns, a.local)) && !prohibited.has(clark(a.ns, a.local))),
      ...own.attributes,
    ];
    ct.anyAttribute = own.anyAttribute;
  }

  // ---------------------------------------------------------------- attributes

  /** Adds the attribute declarations, group references and wildcard in `els` to ct; returns the prohibited names. */
  private attributeUses(ctx: DocCtx, els: XmlElement[], ct: ComplexType, where: string, depth = 0): Set<Clark> {
    const prohibited = new Set<Clark>();
    for (const a of els) {
      if (a.localName === 'attribute') {
        const use = this.attr(a, 'use') ?? 'optional';
        const decl = this.attributeDecl(ctx, a);
        const k = clark(decl.ns, decl.local);
        if (use === 'prohibited') {
          prohibited.add(k);
          continue;
        }
        if (use !== 'optional' && use !== 'required') this.fail(ctx, a, `use="${use}"`, 'must be optional, required or prohibited');
        const at = ct.attributes.findIndex((x) => clark(x.ns, x.local) === k);
        const full: AttributeUse = { ...decl, required: use === 'required' };
        if (at >= 0) ct.attributes[at] = full;
        else ct.attributes.push(full);
      } else if (a.localName === 'attributeGroup') {
        const ref = this.attr(a, 'ref');
        if (ref === undefined) this.fail(ctx, a, 'xs:attributeGroup', 'needs a ref here');
        const q = this.qname(ctx, a, ref);
        const k = clark(q.ns, q.local);
        const raw = this.attributeGroupsRaw.get(k);
        if (raw === undefined) this.fail(ctx, a, `attributeGroup ref ${ref}`, 'is not declared by any schema of the package');
        if (this.expanding.has(k) || depth > 32) this.fail(ctx, a, `attributeGroup ${ref}`, 'refers to itself');
        this.expanding.add(k);
        this.attributeUses(raw.ctx, this.kids(raw.el), ct, `attributeGroup ${ref}`, depth + 1);
        this.expanding.delete(k);
      } else if (a.localName === 'anyAttribute') {
        ct.anyAttribute = this.wildcard(ctx, a);
      } else {
        this.fail(ctx, a, `xs:${a.localName}`, `is not allowed here in ${where}`);
      }
    }
    return prohibited;
  }

  private attributeDecl(ctx: DocCtx, a: XmlElement): Omit<AttributeUse, 'required'> {
    const ref = this.attr(a, 'ref');
    const fixed = this.attr(a, 'fixed') ?? null;
    const defaultValue = this.attr(a, 'default') ?? null;
    if (ref !== undefined) {
      const q = this.qname(ctx, a, ref);
      if (q.ns === XML_NS) {
        const x = xmlAttribute(q.local);
        if (x === undefined) this.fail(ctx, a, `attribute ref ${ref}`, 'is not an attribute of the xml: namespace');
        return { ...x, fixed, defaultValue };
      }
      const raw = this.attributesRaw.get(clark(q.ns, q.local));
      if (raw === undefined) this.fail(ctx, a, `attribute ref ${ref}`, 'is not declared by any schema of the package');
      const g = this.attributeDecl(raw.ctx, raw.el);
      return { ...g, ns: raw.ctx.tns, fixed: fixed ?? g.fixed, defaultValue: defaultValue ?? g.defaultValue };
    }
    const name = this.attr(a, 'name');
    if (name === undefined) this.fail(ctx, a, 'xs:attribute', 'needs a name or a ref');
    const global = a.parent === ctx.file.doc.root;
    const form = this.attr(a, 'form');
    const qualified = global || (form === undefined ? ctx.attributeQualified : form === 'qualified');
    const typeName = this.attr(a, 'type');
    const inner = this.kids(a);
    let type: SimpleType;
    if (typeName !== undefined) type = this.simpleRef(ctx, a, typeName, `attribute ${name} type`);
    else if (inner[0]?.localName === 'simpleType') type = this.simpleType(ctx, inner[0], `anonymous type of attribute ${name}`);
    else type = builtinType('anySimpleType');
    return { ns: qualified ? ctx.tns : '', local: name.trim(), type, fixed, defaultValue };
  }

  private wildcard(ctx: DocCtx, el: XmlElement): Wildcard {
    const pc = this.attr(el, 'processContents') ?? 'strict';
    if (pc !== 'strict' && pc !== 'lax' && pc !== 'skip') this.fail(ctx, el, `processContents="${pc}"`, 'must be strict, lax or skip');
    const spec = (this.attr(el, 'namespace') ?? '##any').trim();
    let namespaces: Wildcard['namespaces'];
    if (spec === '##any') namespaces = { kind: 'any' };
    else if (spec === '##other') namespaces = { kind: 'other', not: ctx.tns };
    else {
      namespaces = {
        kind: 'list',
        list: spec.split(/\s+/).map((x) => (x === '##targetNamespace' ? ctx.tns : x === '##local' ? '' : x)),
      };
    }
    return { namespaces, process: pc };
  }

  // ---------------------------------------------------------------- particles

  /** sequence / choice / all / group ref at the top of a content model (never null: maxOccurs 0 gives an empty sequence). */
  private modelGroup(ctx: DocCtx, el: XmlElement, depth: number): GroupParticle {
    const p = this.particle(ctx, el, depth);
    if (p === null) return { kind: 'sequence', min: 1, max: 1, items: [] };
    if (p.kind === 'sequence' || p.kind === 'choice' || p.kind === 'all') return p;
    return { kind: 'sequence', min: 1, max: 1, items: [p] };
  }

  private particle(ctx: DocCtx, el: XmlElement, depth: number): Particle | null {
    if (depth > 64) this.fail(ctx, el, `xs:${el.localName}`, 'groups are nested too deeply');
    switch (el.localName) {
      case 'element':
        return this.localElement(ctx, el);
      case 'any': {
        const occ = this.occurs(ctx, el);
        return occ.max === 0 ? null : { kind: 'any', ...occ, wildcard: this.wildcard(ctx, el) };
      }
      case 'group': {
        const occ = this.occurs(ctx, el);
        const ref = this.attr(el, 'ref');
        if (ref === undefined) this.fail(ctx, el, 'xs:group', 'needs a ref here');
        const q = this.qname(ctx, el, ref);
        const k = clark(q.ns, q.local);
        const raw = this.groupsRaw.get(k);
        if (raw === undefined) this.fail(ctx, el, `group ref ${ref}`, 'is not declared by any schema of the package');
        if (this.expanding.has(k)) this.fail(ctx, el, `group ${ref}`, 'refers to itself');
        const body = this.kids(raw.el);
        const g = body[0];
        if (g === undefined || body.length > 1 || !['sequence', 'choice', 'all'].includes(g.localName)) {
          this.fail(raw.ctx, raw.el, `group ${ref}`, 'must contain one xs:sequence, xs:choice or xs:all');
        }
        this.expanding.add(k);
        const inner = this.particle(raw.ctx, g, depth + 1) as GroupParticle | null;
        this.expanding.delete(k);
        if (occ.max === 0 || inner === null) return null;
        return { ...inner, min: occ.min, max: occ.max };
      }
      case 'sequence':
      case 'choice':
      case 'all': {
        const occ = this.occurs(ctx, el);
        if (el.localName === 'all') {
          // XSD 1.0: xs:all is a whole content model (directly, or as a model group's body), of elements that occur at most once.
          const parent = el.parent;
          const top = parent !== null && parent.namespaceURI === XSD_NS && ['complexType', 'extension', 'restriction', 'group'].includes(parent.localName);
          if (!top || depth > 1) this.fail(ctx, el, 'xs:all', 'must be the whole content model of a complex type (XSD 1.0)');
          if (occ.min > 1 || occ.max !== 1) this.fail(ctx, el, 'xs:all', 'allows only minOccurs 0 or 1 and maxOccurs 1');
        }
        const items: Particle[] = [];
        for (const k of this.kids(el)) {
          const allowed = el.localName === 'all' ? ['element'] : ['element', 'any', 'group', 'sequence', 'choice'];
          if (!allowed.includes(k.localName)) {
            this.fail(ctx, k, `xs:${k.localName}`, k.localName === 'all' ? 'must be the whole content model of a complex type (XSD 1.0)' : `is not allowed in xs:${el.localName}`);
          }
          const p = this.particle(ctx, k, depth + 1);
          if (el.localName === 'all' && p !== null && p.max > 1) this.fail(ctx, k, 'element in xs:all', 'may occur at most once');
          if (p !== null) items.push(p);
        }
        return occ.max === 0 ? null : { kind: el.localName, ...occ, items };
      }
      default:
        this.fail(ctx, el, `xs:${el.localName}`, 'is not a particle');
    }
  }

  // ---------------------------------------------------------------- the whole set

  finish(): SchemaSet {
    for (const k of this.elementsRaw.keys()) this.globalElement(k);
    // Named types no element uses are still read, so their mistakes surface at start-up too.
    for (const [k, raw] of this.typesRaw) this.namedType(k, raw.ctx, raw.el);
    this.drainPending();
    const attributes = new Map<Clark, AttributeUse>();
    for (const [k, raw] of this.attributesRaw) attributes.set(k, { ...this.attributeDecl(raw.ctx, raw.el), required: false });
    return {
      dir: this.files.root,
      elements: this.elements,
      attributes,
      files: this.files.all().map((f) => f.rel),
      namespaces: [...new Set([...this.ctxs.values()].map((c) => c.tns))],
    };
  }
}

function isTrue(v: string | undefined): boolean {
  return v === 'true' || v === '1';
}

/**
 * Reads the package in `dir` starting from `entryFiles` (paths relative to dir): every file they
 * import or include is read too. Throws XsdCompileError for the first problem.
 */
export function readSchemaSet(dir: string, entryFiles: readonly string[], preloaded?: { file: string; text: string }): SchemaSet {
  const files = new PackageFiles(dir);
  if (preloaded !== undefined) files.preload(path.join(dir, preloaded.file), preloaded.text);
  const r = new Resolver(files);
  for (const entry of entryFiles) {
    const file = files.load(files.resolve(dir, entry, { file: path.join(dir, 'service.json'), line: undefined }));
    r.readDocument(file, null);
  }
  return r.finish();
}
