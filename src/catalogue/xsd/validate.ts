// Validates a parsed element tree against a compiled schema. The walk uses an explicit stack,
// so a hostile document's depth can never reach the JavaScript call stack, and it stops after
// MAX_ERRORS errors. Each element is visited once and each child list matched once: linear time
// (identity constraints add a pass over the elements that declare them). Paths are computed only
// when an error is reported.

import type { XmlAttribute, XmlElement, XmlNode } from '../../xml/types.js';
import type { ContentError } from '../types.js';
import { matchContent, type ChildName, type ContentIssue } from './content.js';
import { ErrorCollector } from './errors.js';
import { checkIdentityConstraints, type IdentityContext } from './identity.js';
import { clarkKey, type ComplexType, type ElementDecl, type SchemaModel, type TypeDef, type Wildcard } from './model.js';
import { checkSimple, simpleKey, type SimpleType } from './simple-types.js';

export const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';

function isXmlWhitespace(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return false;
  }
  return true;
}

/** Path from the validation root, e.g. /Application/Structures/Structure[2]/Area (index only among same-named siblings). */
export function pathOf(el: XmlElement, root: XmlElement): string {
  const steps: string[] = [];
  for (let cur: XmlElement = el; ; ) {
    const parent = cur.parent;
    if (cur === root || parent === null) {
      steps.push(cur.localName);
      break;
    }
    let total = 0;
    let index = 0;
    for (const c of parent.children) {
      if (c.type !== 'element' || c.localName !== cur.localName || c.namespaceURI !== cur.namespaceURI) continue;
      total++;
      if (c === cur) index = total;
    }
    steps.push(total > 1 ? `${cur.localName}[${index}]` : cur.localName);
    cur = parent;
  }
  return '/' + steps.reverse().join('/');
}

/**
 * Reads output from the elements as the validation walks them, so that validating and reading
 * (e.g. XML → JSON) are one walk. `element` is called once for every element the walk reaches
 * through a declaration, parents before children and siblings in document order, with what the
 * call for its parent returned (the walk's `start` for the root); it returns what its children
 * are to be given, or undefined when nothing below it is wanted. Elements reached laxly (xs:any,
 * xs:anyType) are not reported. What it read is only meaningful when the walk found no errors.
 */
export interface TreeReader<C> {
  element(parent: C, el: XmlElement, decl: ElementDecl): C | undefined;
}

/** The matcher's names of every element a model declares, by namespace and local name. */
type NameTable = ReadonlyMap<string, ReadonlyMap<string, ChildName>>;

const nameTables = new WeakMap<SchemaModel, NameTable>();

/** Built once per model (on its first use), from its global elements and every content model's declarations. */
export function nameTable(model: SchemaModel): NameTable {
  let table = nameTables.get(model);
  if (table !== undefined) return table;
  const byNs = new Map<string, Map<string, ChildName>>();
  const seen = new Set<TypeDef>();
  const add = (d: ElementDecl): void => {
    let local = byNs.get(d.ns);
    if (local === undefined) byNs.set(d.ns, (local = new Map()));
    if (!local.has(d.name)) local.set(d.name, Object.freeze({ ns: d.ns, key: d.key }));
    const t = d.type;
    if (seen.has(t)) return;
    seen.add(t);
    if (t.kind === 'complex' && t.content.kind === 'elements') for (const c of t.content.decls.values()) add(c);
  };
  for (const d of model.globals.values()) add(d);
  table = byNs;
  nameTables.set(model, table);
  return table;
}

/** What one stack entry validates an element against: a declaration's type, or lax "anything" (xs:anyType and lax wildcards); `ctx` is the reader's (undefined: nothing to read). */
type Task = { el: XmlElement; type: TypeDef; decl: ElementDecl | null; ctx: unknown } | { el: XmlElement; type: null; decl: null; ctx: unknown };

class Validator {
  readonly out = new ErrorCollector();
  /** Declarations by element, kept only when the schema has identity constraints to check. */
  private readonly declOf: Map<XmlElement, ElementDecl> | null;
  private readonly scopes: XmlElement[] = [];
  private readonly names: NameTable;

  constructor(
    private readonly model: SchemaModel,
    private readonly root: XmlElement,
    private readonly reader: TreeReader<unknown> | null = null,
    private readonly start: unknown = undefined,
  ) {
    this.declOf = model.hasIdentity ? new Map() : null;
    this.names = nameTable(model);
  }

  private path(el: XmlElement): string {
    return pathOf(el, this.root);
  }

  /** The matcher's name of a child: the model's own for a name it declares (nothing allocated), else a new one. */
  private nameOf(k: XmlElement): ChildName {
    return this.names.get(k.namespaceURI)?.get(k.localName) ?? { ns: k.namespaceURI, key: clarkKey(k.namespaceURI, k.localName) };
  }

  run(): ContentError[] {
    const root = this.root;
    const decl = this.model.globals.get(clarkKey(root.namespaceURI, root.localName));
    if (decl === undefined) {
      const nsNote = ` in namespace ${root.namespaceURI || '(none)'}`;
      this.out.add(
        this.path(root),
        `unexpected element ${root.localName}`,
        `Root element ${root.localName}${nsNote} is not declared by this schema (expected ${this.model.rootNames.join(' or ')}).`,
      );
      return this.out.errors;
    }
    const stack: Task[] = [{ el: root, type: decl.type, decl, ctx: this.start }];
    const reader = this.reader;
    while (stack.length > 0 && !this.out.full) {
      const task = stack.pop() as Task;
      if (task.type === null) {
        this.lax(task.el, stack);
        continue;
      }
      const { el, type, decl: d } = task;
      // What this element's children give the reader (undefined: nothing is read below here).
      let ctx: unknown = undefined;
      if (d !== null) {
        this.declOf?.set(el, d);
        if (d.identity.length > 0) this.scopes.push(el);
        if (reader !== null && task.ctx !== undefined) ctx = reader.element(task.ctx, el, d);
      }
      if (d !== null && this.nil(el, d, type)) continue;
      if (type.kind === 'simple') {
        this.attributes(el, null);
        this.simpleValue(el, type.type, d);
        continue;
      }
      this.attributes(el, type);
      const content = type.content;
      if (content.kind === 'simple') {
        this.simpleValue(el, content.type, d);
        continue;
      }
      if (content.kind === 'any') {
        this.lax(el, stack, true);
        continue;
      }
      const kids: XmlElement[] = [];
      let text = false;
      const children = el.children;
      for (let i = 0; i < children.length; i++) {
        const c = children[i] as XmlNode;
        if (c.type === 'element') kids.push(c);
        else if (c.type === 'text' && !text && !isXmlWhitespace(c.value)) text = true;
      }
      if (text && !(content.kind === 'elements' && content.mixed)) {
        this.out.add(this.path(el), 'text not allowed', `Element ${el.localName} has element-only content; text is not allowed in it.`);
      }
      if (content.kind === 'empty') {
        const k = kids[0];
        if (k !== undefined) {
          this.out.add(this.path(k), `unexpected element ${k.localName}`, `Element ${el.localName} must be empty; child element ${k.localName} is not allowed.`);
        }
        continue;
      }
      const names = new Array<ChildName>(kids.length);
      for (let i = 0; i < kids.length; i++) names[i] = this.nameOf(kids[i] as XmlElement);
      const { decls, wildcards, issue } = matchContent(content.particle, names);
      if (issue !== null) this.contentIssue(el, kids, issue);
      // Reverse push: children are then checked in document order, so errors come out in order.
      // After a content-model error, children the model knows by name are still checked (their
      // type is unambiguous), so one misplaced element doesn't hide the rest of the problems.
      for (let i = kids.length - 1; i >= 0; i--) {
        const k = kids[i] as XmlElement;
        const w = wildcards[i];
        if (w !== undefined) {
          this.wildcardChild(k, w.wildcard, stack);
          continue;
        }
        const n = names[i] as ChildName;
        const cd = decls[i] ?? (issue !== null ? content.decls.get(n.key) : undefined);
        if (cd !== undefined) stack.push({ el: k, type: cd.type, decl: cd, ctx });
      }
    }
    if (this.scopes.length > 0 && !this.out.full) this.identity();
    return this.out.errors;
  }

  /** An element taken by xs:any: strict needs a global declaration, lax uses one if there is one, skip checks nothing. */
  private wildcardChild(k: XmlElement, w: Wildcard, stack: Task[]): void {
    if (w.process === 'skip') return;
    const g = this.model.globals.get(clarkKey(k.namespaceURI, k.localName));
    if (g !== undefined) {
      stack.push({ el: k, type: g.type, decl: g, ctx: undefined });
      return;
    }
    if (w.process === 'strict') {
      this.out.add(this.path(k), `declaration of ${k.localName}`, `Element ${k.localName} in namespace ${k.namespaceURI || '(none)'} matches a wildcard with strict processing but no schema of the package declares it.`);
      return;
    }
    stack.push({ el: k, type: null, decl: null, ctx: undefined });
  }

  /** Lax assessment (xs:anyType content, lax wildcards): children with a global declaration are validated, others laxly in turn. */
  private lax(el: XmlElement, stack: Task[], declaredAnyType = false): void {
    if (!declaredAnyType) this.declaredAttributesOnly(el);
    const kids: XmlElement[] = [];
    for (const c of el.children) if (c.type === 'element') kids.push(c);
    for (let i = kids.length - 1; i >= 0; i--) {
      const k = kids[i] as XmlElement;
      const g = this.model.globals.get(clarkKey(k.namespaceURI, k.localName));
      stack.push(g !== undefined ? { el: k, type: g.type, decl: g, ctx: undefined } : { el: k, type: null, decl: null, ctx: undefined });
    }
  }

  /** Attributes of a laxly assessed element: those with a global declaration are checked. */
  private declaredAttributesOnly(el: XmlElement): void {
    for (const a of el.attributes) {
      const g = this.model.globalAttributes.get(clarkKey(a.namespaceURI, a.localName));
      if (g !== undefined) this.attributeValue(el, a, g.type, g.fixed);
    }
  }

  /** xsi:nil: true on a nillable element means empty content and no further checks; elsewhere an error. */
  private nil(el: XmlElement, d: ElementDecl, type: TypeDef): boolean {
    const a = el.attributes.find((x) => x.namespaceURI === XSI_NS && x.localName === 'nil');
    if (a === undefined) return false;
    const v = a.value.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
    if (v !== 'true' && v !== '1') {
      if (v !== 'false' && v !== '0') this.out.add(`${this.path(el)}/@${a.qName}`, 'type xs:boolean', `Value of attribute ${a.qName} of element ${el.localName} is not a valid xs:boolean.`);
      return false;
    }
    if (!d.nillable) {
      this.out.add(`${this.path(el)}/@${a.qName}`, 'nillable', `Element ${el.localName} is not nillable; xsi:nil is not allowed on it.`);
      return true;
    }
    if (el.children.some((c) => c.type === 'element' || (c.type === 'text' && c.value !== ''))) {
      this.out.add(this.path(el), 'nil', `Element ${el.localName} has xsi:nil="true" and must be empty.`);
    }
    if (d.fixed !== null) this.out.add(this.path(el), 'nil', `Element ${el.localName} has a fixed value and cannot be nil.`);
    this.attributes(el, type.kind === 'complex' ? type : null);
    return true;
  }

  private contentIssue(el: XmlElement, kids: XmlElement[], issue: ContentIssue): void {
    if (issue.kind === 'missing') {
      const found = kids[issue.found];
      this.out.add(
        this.path(el),
        `required element ${issue.expected.join('|')}`,
        `Element ${el.localName} is missing required child element ${issue.expected.join(' or ')}` +
          (found !== undefined ? ` (found ${found.localName} in its place).` : '.'),
      );
      return;
    }
    const k = kids[issue.index] as XmlElement;
    if (issue.kind === 'maxOccurs') {
      this.out.add(
        this.path(k),
        `maxOccurs ${issue.max}`,
        `Element ${k.localName} may occur at most ${issue.max} time${issue.max === 1 ? '' : 's'} here in ${el.localName}.`,
      );
      return;
    }
    const expected = el.namespaceURI;
    const why = k.namespaceURI !== expected ? ` (it is in namespace ${k.namespaceURI || '(none)'})` : '';
    this.out.add(this.path(k), `unexpected element ${k.localName}`, `Element ${k.localName} is not allowed here in ${el.localName}${why}.`);
  }

  private attributes(el: XmlElement, type: ComplexType | null): void {
    const decls = type?.attributes;
    if (el.attributes.length === 0 && (decls === undefined || decls.size === 0)) return;
    for (const a of el.attributes) {
      if (a.namespaceURI === XSI_NS) {
        // xsi:nil is handled above; schemaLocation hints are ignored; a document never picks its own type.
        if (a.localName === 'nil' || a.localName === 'schemaLocation' || a.localName === 'noNamespaceSchemaLocation') continue;
        this.out.add(`${this.path(el)}/@${a.qName}`, `unexpected attribute ${a.qName}`, `Element ${el.localName} does not allow attribute ${a.qName} (a document may not choose its own type).`);
        continue;
      }
      const key = clarkKey(a.namespaceURI, a.localName);
      const d = decls?.get(key);
      if (d !== undefined) {
        this.attributeValue(el, a, d.type, d.fixed);
        continue;
      }
      const w = type?.anyAttribute ?? null;
      if (w !== null && w.allows(a.namespaceURI)) {
        if (w.process === 'skip') continue;
        const g = this.model.globalAttributes.get(key);
        if (g !== undefined) this.attributeValue(el, a, g.type, g.fixed);
        else if (w.process === 'strict') {
          this.out.add(`${this.path(el)}/@${a.qName}`, `declaration of ${a.qName}`, `Attribute ${a.qName} of element ${el.localName} matches a wildcard with strict processing but no schema of the package declares it.`);
        }
        continue;
      }
      this.out.add(`${this.path(el)}/@${a.qName}`, `unexpected attribute ${a.qName}`, `Element ${el.localName} does not allow attribute ${a.qName}.`);
    }
    if (decls === undefined) return;
    for (const d of decls.values()) {
      if (!d.required) continue;
      if (!el.attributes.some((a) => a.namespaceURI === d.ns && a.localName === d.name)) {
        this.out.add(this.path(el), `required attribute ${d.name}`, `Element ${el.localName} is missing required attribute ${d.name}.`);
      }
    }
  }

  private attributeValue(el: XmlElement, a: XmlAttribute, type: SimpleType, fixed: { key: string; lexical: string } | null): void {
    const issue = checkSimple(type, a.value);
    if (issue !== null) {
      this.out.add(`${this.path(el)}/@${a.qName}`, issue.rule, `Value of attribute ${a.qName} of element ${el.localName} ${issue.detail}.`);
    } else if (fixed !== null && keyOf(type, a.value) !== fixed.key) {
      this.out.add(`${this.path(el)}/@${a.qName}`, `fixed ${fixed.lexical}`, `Attribute ${a.qName} of element ${el.localName} must have the fixed value ${fixed.lexical}.`);
    }
  }

  private simpleValue(el: XmlElement, st: SimpleType, d: ElementDecl | null): void {
    let text = '';
    const children = el.children;
    for (let i = 0; i < children.length; i++) {
      const c = children[i] as XmlNode;
      if (c.type === 'element') {
        this.out.add(this.path(c), `unexpected element ${c.localName}`, `Element ${el.localName} has a simple value; child element ${c.localName} is not allowed.`);
        return;
      }
      if (c.type === 'text') text += c.value;
    }
    // An empty element takes its default or fixed value (XSD 1.0 §3.3.4, Schema-Validity Assessment).
    if (text === '' && d !== null) {
      if (d.fixed !== null) return;
      if (d.defaultValue !== null) text = d.defaultValue;
    }
    const issue = checkSimple(st, text);
    if (issue !== null) {
      this.out.add(this.path(el), issue.rule, `Value of element ${el.localName} ${issue.detail}.`);
    } else if (d !== null && d.fixed !== null && keyOf(st, text) !== d.fixed.key) {
      this.out.add(this.path(el), `fixed ${d.fixed.lexical}`, `Element ${el.localName} must have the fixed value ${d.fixed.lexical}.`);
    }
  }

  private identity(): void {
    const declOf = this.declOf as Map<XmlElement, ElementDecl>;
    const ctx: IdentityContext = {
      constraintsOf: (el) => declOf.get(el)?.identity ?? [],
      typeOfElement: (el) => {
        const t = declOf.get(el)?.type;
        if (t === undefined) return null;
        if (t.kind === 'simple') return t.type;
        return t.content.kind === 'simple' ? t.content.type : null;
      },
      typeOfAttribute: (el, attr) => {
        const t = declOf.get(el)?.type;
        if (t === undefined || t.kind !== 'complex') return null;
        return t.attributes.get(clarkKey(attr.namespaceURI, attr.localName))?.type ?? this.model.globalAttributes.get(clarkKey(attr.namespaceURI, attr.localName))?.type ?? null;
      },
      add: (path, rule, message) => this.out.add(path, rule, message),
      pathOf: (el) => this.path(el),
    };
    // Descendants before ancestors (preorder reversed): a scope's keyref may use the tables of
    // descendant scopes, which must be computed first.
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      if (this.out.full) break;
      checkIdentityConstraints(this.scopes[i] as XmlElement, ctx);
    }
  }
}

/** Value-space key of a value: fixed="1.0" accepts "1.00" for a decimal. */
function keyOf(st: SimpleType, raw: string): string | null {
  const r = simpleKey(st, raw);
  return 'key' in r ? r.key : null;
}

export function validateTree(model: SchemaModel, root: XmlElement): ContentError[] {
  return new Validator(model, root).run();
}

/** validateTree, with `reader` reading the elements in the same walk (see TreeReader). */
export function validateTreeReading<C>(model: SchemaModel, root: XmlElement, reader: TreeReader<C>, start: C): ContentError[] {
  return new Validator(model, root, reader as TreeReader<unknown>, start).run();
}
