// Identity constraints (XSD 1.0 Part 1 §3.11): xs:key, xs:keyref, xs:unique.
// Compiled once with the schema (the restricted XPath subset of §3.11.6, prefixes resolved at the xs element);
// checked per scope element after its subtree was validated. Work per document is capped, and messages never
// carry field values (they may be personal data): they name the constraint, the element path and the field.

import type { XmlAttribute, XmlElement } from '../../xml/types.js';
import { isNameCode, isNameStartCode } from '../../xml/chars.js';
import { lookupNamespace, textContent } from '../../xml/helpers.js';
import { isNCName, normalizeWhiteSpace, XSD_NS } from './builtins.js';
import { XsdCompileError } from './errors.js';
import { simpleKey, type SimpleType } from './simple-types.js';

const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';

/**
 * Work units allowed per document (one per element visited by a step, per attribute tested, and
 * KEY_SEQUENCE_COST per key-sequence built) before identity checking gives up with one error. A 100 000-node
 * message with the Rosreestr EGRN constraints (unions of .// paths) needs about 1-2 million; nested scopes
 * that re-walk a large subtree at every level (quadratic) hit the cap after about a second of CPU.
 */
export const IDENTITY_WORK_LIMIT = 5_000_000;
const KEY_SEQUENCE_COST = 4;

/** A name test; null parts match anything ('*', 'p:*'). The namespace '' is "no namespace". */
interface NameTest {
  readonly ns: string | null;
  readonly local: string | null;
}

/** One alternative of a selector or field: ('.//')? steps, then (fields only) an attribute test. */
interface XPathPath {
  readonly descendant: boolean;
  /** null = '.' (self). */
  readonly steps: readonly (NameTest | null)[];
  readonly attribute: NameTest | null;
}

/** A compiled selector or field: the schema's text (for messages) and its union of paths. */
export interface IdentityXPath {
  readonly text: string;
  readonly paths: readonly XPathPath[];
}

export interface IdentityConstraint {
  readonly kind: 'key' | 'keyref' | 'unique';
  /** {namespace}name of the constraint (names share one symbol space per namespace). */
  readonly name: string;
  /** keyref: {namespace}name of the key/unique it refers to; null otherwise. */
  readonly refer: string | null;
  /** The local part of name, for messages. */
  readonly label: string;
  readonly selector: IdentityXPath;
  readonly fields: readonly IdentityXPath[];
  readonly source: string;
  readonly line: number;
}

// ------------------------------------------------------------------ compile

function expandedName(ns: string, local: string): string {
  return `{${ns}}${local}`;
}

class XPathSyntax extends Error {}

type Token =
  | { readonly t: '|' | '/' | '//' | '.' | '..' | '@' | '*' | '::' | '(' | ')' | '[' | ']' }
  | { readonly t: 'other'; readonly char: string }
  | { readonly t: 'name'; readonly prefix: string; readonly local: string | null };

/** End of the NCName starting at i (i itself when there is none); surrogate pairs count as name characters. */
function scanNCName(s: string, i: number): number {
  let j = i;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c >= 0xd800 && c <= 0xdbff) {
      j += 2;
      continue;
    }
    if (c === 0x3a || !(j === i ? isNameStartCode(c) : isNameCode(c))) break;
    j++;
  }
  return j;
}

/** XPath tokens of the subset (ExprWhitespace between tokens is allowed, as in XPath 1.0). */
function tokenize(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i] as string;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (c === '/') {
      if (s[i + 1] === '/') {
        out.push({ t: '//' });
        i += 2;
      } else {
        out.push({ t: '/' });
        i++;
      }
      continue;
    }
    if (c === '.') {
      if (s[i + 1] === '.') {
        out.push({ t: '..' });
        i += 2;
      } else {
        out.push({ t: '.' });
        i++;
      }
      continue;
    }
    if (c === ':' && s[i + 1] === ':') {
      out.push({ t: '::' });
      i += 2;
      continue;
    }
    if (c === '|' || c === '@' || c === '*' || c === '(' || c === ')' || c === '[' || c === ']') {
      out.push({ t: c });
      i++;
      continue;
    }
    // NCName, QName or NCName:* — read an NCName by code points.
    const j = scanNCName(s, i);
    if (j === i) {
      // Reported by the parser, which knows what it expected there.
      out.push({ t: 'other', char: String.fromCodePoint(s.codePointAt(i) as number) });
      i += c.length;
      continue;
    }
    const first = s.slice(i, j);
    if (s[j] === ':' && s[j + 1] !== ':') {
      if (s[j + 1] === '*') {
        out.push({ t: 'name', prefix: first, local: null });
        i = j + 2;
        continue;
      }
      const k = scanNCName(s, j + 1);
      if (k === j + 1) throw new XPathSyntax(`'${first}:' is not followed by a local name or '*'`);
      out.push({ t: 'name', prefix: first, local: s.slice(j + 1, k) });
      i = k;
      continue;
    }
    out.push({ t: 'name', prefix: '', local: first });
    i = j;
  }
  return out;
}

/** Parses selector or field text into its paths; `resolve` maps a prefix to a namespace (no prefix: no namespace). */
function parseXPath(text: string, isField: boolean, resolve: (prefix: string) => string): IdentityXPath {
  const toks = tokenize(text);
  let p = 0;
  const peek = (): Token | undefined => toks[p];
  const describe = (t: Token | undefined): string =>
    t === undefined
      ? 'the end'
      : t.t === 'name'
        ? `'${t.prefix === '' ? '' : `${t.prefix}:`}${t.local ?? '*'}'`
        : t.t === 'other'
          ? `character '${t.char}'`
          : `'${t.t}'`;

  const nameTest = (): NameTest => {
    const t = peek();
    if (t?.t === '*') {
      p++;
      return { ns: null, local: null };
    }
    if (t?.t === 'name') {
      p++;
      if (peek()?.t === '(') throw new XPathSyntax(`function or node test ${describe(t)}() is not allowed`);
      return { ns: t.prefix === '' ? '' : resolve(t.prefix), local: t.local };
    }
    throw new XPathSyntax(`expected a name test, found ${describe(t)}`);
  };

  const path = (): XPathPath => {
    let descendant = false;
    if (peek()?.t === '/' || peek()?.t === '//') throw new XPathSyntax('an absolute path (starting with /) is not allowed; paths start at the selected element');
    if (peek()?.t === '.' && toks[p + 1]?.t === '//') {
      descendant = true;
      p += 2;
    }
    const steps: (NameTest | null)[] = [];
    let attribute: NameTest | null = null;
    for (;;) {
      const t = peek();
      if (t?.t === '.') {
        p++;
        steps.push(null);
      } else if (t?.t === '..') {
        throw new XPathSyntax("the parent step '..' is not allowed");
      } else if (t?.t === '@' || (t?.t === 'name' && t.prefix === '' && t.local === 'attribute' && toks[p + 1]?.t === '::')) {
        if (!isField) throw new XPathSyntax('a selector selects elements; an attribute step is not allowed in it');
        p += t.t === '@' ? 1 : 2;
        attribute = nameTest();
        if (peek()?.t === '[') throw new XPathSyntax('predicates ([...]) are not allowed');
        if (peek()?.t === '/' || peek()?.t === '//') throw new XPathSyntax('an attribute step must be the last step of a field');
        break;
      } else if (t?.t === 'name' && t.prefix === '' && toks[p + 1]?.t === '::') {
        if (t.local !== 'child') throw new XPathSyntax(`axis ${t.local}:: is not allowed (only child:: and, in a field, attribute::)`);
        p += 2;
        steps.push(nameTest());
      } else {
        steps.push(nameTest());
      }
      const sep = peek();
      if (sep?.t === '[') throw new XPathSyntax('predicates ([...]) are not allowed');
      if (sep?.t === '/') {
        p++;
        continue;
      }
      if (sep?.t === '//') throw new XPathSyntax("'//' is allowed only as './/' at the start of a path");
      break;
    }
    return { descendant, steps, attribute };
  };

  if (toks.length === 0) throw new XPathSyntax('the expression is empty');
  const paths: XPathPath[] = [path()];
  while (peek()?.t === '|') {
    p++;
    paths.push(path());
  }
  if (p < toks.length) throw new XPathSyntax(`unexpected ${describe(peek())}`);
  return { text, paths };
}

function xsChildren(xs: XmlElement): XmlElement[] {
  const out: XmlElement[] = [];
  for (const c of xs.children) if (c.type === 'element') out.push(c);
  return out;
}

/**
 * Compiles one xs:key / xs:keyref / xs:unique element. `tns` is the schema's target namespace (the
 * constraint's name is in it); `source` and `line` are for messages. Throws XsdCompileError for XPath outside
 * the XSD 1.0 subset (§3.11.6), unbound prefixes, or a malformed constraint.
 */
export function compileIdentityConstraint(xs: XmlElement, tns: string, source: string, line: number): IdentityConstraint {
  const kind = xs.localName;
  if (xs.namespaceURI !== XSD_NS || (kind !== 'key' && kind !== 'keyref' && kind !== 'unique')) {
    throw new XsdCompileError(source, xs.qName, 'is not xs:key, xs:keyref or xs:unique', line);
  }
  const construct = `xs:${kind}`;
  const attr = (n: string): string | null => xs.attributes.find((a) => a.namespaceURI === '' && a.localName === n)?.value ?? null;
  if (attr('ref') !== null) throw new XsdCompileError(source, `attribute ref on ${construct}`, 'is XSD 1.1; XSD 1.0 requires a name', line);
  const local = attr('name')?.trim() ?? '';
  if (!isNCName(local)) throw new XsdCompileError(source, construct, 'needs a name attribute that is an NCName', line);
  const label = `${construct} ${local}`;

  let refer: string | null = null;
  const referText = attr('refer');
  if (kind === 'keyref') {
    const q = referText?.trim() ?? '';
    const colon = q.indexOf(':');
    const prefix = colon < 0 ? '' : q.slice(0, colon);
    const referLocal = colon < 0 ? q : q.slice(colon + 1);
    if (!isNCName(referLocal) || (colon >= 0 && !isNCName(prefix))) {
      throw new XsdCompileError(source, label, 'needs a refer attribute that is a QName', line);
    }
    // A QName-valued schema attribute takes the default namespace when unprefixed.
    const ns = lookupNamespace(xs, prefix);
    if (ns === null && prefix !== '') throw new XsdCompileError(source, label, `prefix ${prefix} of refer is not declared`, line);
    refer = expandedName(ns ?? '', referLocal);
  } else if (referText !== null) {
    throw new XsdCompileError(source, `attribute refer on ${construct}`, 'is allowed only on xs:keyref', line);
  }

  let selector: IdentityXPath | null = null;
  const fields: IdentityXPath[] = [];
  for (const c of xsChildren(xs)) {
    if (c.namespaceURI !== XSD_NS) throw new XsdCompileError(source, `${c.qName} in ${label}`, 'is not allowed', line);
    if (c.localName === 'annotation' && selector === null) continue;
    if (c.localName !== 'selector' && c.localName !== 'field') {
      throw new XsdCompileError(source, `xs:${c.localName} in ${label}`, 'is not allowed (expected xs:selector, then xs:field)', line);
    }
    const isField = c.localName === 'field';
    if (isField ? selector === null : selector !== null) {
      throw new XsdCompileError(source, `xs:${c.localName} in ${label}`, 'is out of order (expected one xs:selector, then xs:field elements)', line);
    }
    const text = c.attributes.find((a) => a.namespaceURI === '' && a.localName === 'xpath')?.value;
    if (text === undefined) throw new XsdCompileError(source, `xs:${c.localName} in ${label}`, 'needs an xpath attribute', line);
    let xp: IdentityXPath;
    try {
      // xs:selector/xs:field may declare prefixes of their own; resolve at that element.
      const resolveHere = (prefix: string): string => {
        const ns = lookupNamespace(c, prefix);
        if (ns === null) throw new XPathSyntax(`prefix ${prefix} is not declared`);
        return ns;
      };
      xp = parseXPath(text, isField, resolveHere);
    } catch (e) {
      if (!(e instanceof XPathSyntax)) throw e;
      throw new XsdCompileError(source, `xs:${c.localName} xpath="${text}" in ${label}`, `is outside the XSD 1.0 XPath subset: ${e.message}`, line);
    }
    if (isField) fields.push(xp);
    else selector = xp;
  }
  if (selector === null) throw new XsdCompileError(source, label, 'needs an xs:selector', line);
  if (fields.length === 0) throw new XsdCompileError(source, label, 'needs at least one xs:field', line);
  return { kind, name: expandedName(tns, local), refer, label, selector, fields, source, line };
}

/** keyref → the key/unique it refers to, set by linkIdentityConstraints. */
const referred = new WeakMap<IdentityConstraint, IdentityConstraint>();

/**
 * Resolves every keyref's refer against the constraints of the whole schema set (keyed by {ns}name);
 * throws XsdCompileError naming the keyref when the target is missing, is a keyref, or has another field count.
 */
export function linkIdentityConstraints(all: ReadonlyMap<string, IdentityConstraint>, source: string): void {
  for (const c of all.values()) {
    if (c.kind !== 'keyref' || c.refer === null) continue;
    const target = all.get(c.refer);
    if (target === undefined) {
      throw new XsdCompileError(c.source || source, c.label, `refers to ${c.refer}, which is not an xs:key or xs:unique of the schema set`, c.line);
    }
    if (target.kind === 'keyref') throw new XsdCompileError(c.source || source, c.label, `refers to ${target.label}; it must refer to an xs:key or xs:unique`, c.line);
    if (target.fields.length !== c.fields.length) {
      throw new XsdCompileError(
        c.source || source,
        c.label,
        `has ${c.fields.length} field(s) but the ${target.label} it refers to has ${target.fields.length}`,
        c.line,
      );
    }
    referred.set(c, target);
  }
}

// ------------------------------------------------------------------ check

export interface IdentityContext {
  /** The constraints declared on the element declaration that validated el (empty array when none). */
  constraintsOf(el: XmlElement): readonly IdentityConstraint[];
  /** Simple type of an element's value (simple type or simple content) as validation found it; null for element-only/empty/unknown. */
  typeOfElement(el: XmlElement): SimpleType | null;
  /** Simple type of an attribute as validation found it; null if undeclared. */
  typeOfAttribute(el: XmlElement, attr: XmlAttribute): SimpleType | null;
  add(path: string, rule: string, message: string): void;
  pathOf(el: XmlElement): string;
}

/** A node table: key-sequence → the selected element it belongs to. */
type Table = Map<string, XmlElement>;

class WorkExceeded extends Error {}

/** Per document (per context object): the work budget and the tables computed so far. */
interface DocState {
  work: number;
  exhausted: boolean;
  /** Own tables of key/unique at their scope elements. */
  readonly own: WeakMap<XmlElement, Map<IdentityConstraint, Table>>;
  /** Tables "available at" an element: own plus those of descendants declaring the constraint. */
  readonly available: WeakMap<XmlElement, Map<IdentityConstraint, Table>>;
}

const states = new WeakMap<IdentityContext, DocState>();

function stateOf(ctx: IdentityContext): DocState {
  let s = states.get(ctx);
  if (s === undefined) {
    s = { work: 0, exhausted: false, own: new WeakMap(), available: new WeakMap() };
    states.set(ctx, s);
  }
  return s;
}

function tick(st: DocState, n: number): void {
  st.work += n;
  if (st.work > IDENTITY_WORK_LIMIT) throw new WorkExceeded();
}

function matches(t: NameTest, ns: string, local: string): boolean {
  return (t.ns === null || t.ns === ns) && (t.local === null || t.local === local);
}

/** Descendants of el (and el itself when withSelf) passing the test (null: all), in document order. */
function descendants(el: XmlElement, withSelf: boolean, test: NameTest | null, st: DocState): XmlElement[] {
  const out: XmlElement[] = [];
  const stack: XmlElement[] = [el];
  while (stack.length > 0) {
    const e = stack.pop() as XmlElement;
    if ((withSelf || e !== el) && (test === null || matches(test, e.namespaceURI, e.localName))) out.push(e);
    tick(st, 1);
    for (let i = e.children.length - 1; i >= 0; i--) {
      const c = e.children[i];
      if (c?.type === 'element') stack.push(c);
    }
  }
  return out;
}

function evalSteps(start: XmlElement, p: XPathPath, st: DocState): XmlElement[] {
  let cur: XmlElement[];
  let from = 0;
  if (!p.descendant) cur = [start];
  else if (p.steps[0] === null || p.steps[0] === undefined) cur = descendants(start, true, null, st);
  else {
    // './/a' is descendant::a: one walk instead of descendant-or-self followed by a child step.
    cur = descendants(start, false, p.steps[0], st);
    from = 1;
  }
  for (let i = from; i < p.steps.length; i++) {
    const step = p.steps[i];
    if (step === null || step === undefined) continue;
    const next: XmlElement[] = [];
    for (const e of cur) {
      tick(st, e.children.length + 1);
      for (const c of e.children) if (c.type === 'element' && matches(step, c.namespaceURI, c.localName)) next.push(c);
    }
    cur = next;
    if (cur.length === 0) break;
  }
  return cur;
}

/** The elements a selector picks from scope, without duplicates, in document order. */
function select(scope: XmlElement, xp: IdentityXPath, st: DocState): XmlElement[] {
  const first = xp.paths[0] as XPathPath;
  if (xp.paths.length === 1) {
    const out = evalSteps(scope, first, st);
    // './/a/b' yields b's grouped by their a, which is not document order when a's nest.
    return first.descendant && first.steps.length > 1 ? out.sort((a, b) => a.start - b.start) : out;
  }
  const seen = new Set<XmlElement>();
  for (const p of xp.paths) for (const e of evalSteps(scope, p, st)) seen.add(e);
  return [...seen].sort((a, b) => a.start - b.start);
}

type FieldNode =
  | { readonly kind: 'none' }
  | { readonly kind: 'many' }
  | { readonly kind: 'element'; readonly el: XmlElement }
  | { readonly kind: 'attribute'; readonly el: XmlElement; readonly attr: XmlAttribute };

function evalField(node: XmlElement, xp: IdentityXPath, st: DocState): FieldNode {
  const only = xp.paths.length === 1 ? xp.paths[0] : undefined;
  if (only !== undefined && !only.descendant && only.steps.length === 0 && only.attribute !== null) {
    // The common '@name' field: no node sets to build.
    tick(st, node.attributes.length);
    let hit: XmlAttribute | null = null;
    for (const a of node.attributes) {
      if (!matches(only.attribute, a.namespaceURI, a.localName)) continue;
      if (hit !== null) return { kind: 'many' };
      hit = a;
    }
    return hit === null ? { kind: 'none' } : { kind: 'attribute', el: node, attr: hit };
  }
  let found: FieldNode = { kind: 'none' };
  for (const p of xp.paths) {
    for (const e of evalSteps(node, p, st)) {
      if (p.attribute === null) {
        if (found.kind === 'element' && found.el === e) continue;
        if (found.kind !== 'none') return { kind: 'many' };
        found = { kind: 'element', el: e };
        continue;
      }
      tick(st, e.attributes.length);
      for (const a of e.attributes) {
        if (!matches(p.attribute, a.namespaceURI, a.localName)) continue;
        if (found.kind === 'attribute' && found.attr === a) continue;
        if (found.kind !== 'none') return { kind: 'many' };
        found = { kind: 'attribute', el: e, attr: a };
      }
    }
  }
  return found;
}

function isNilled(el: XmlElement): boolean {
  const a = el.attributes.find((x) => x.namespaceURI === XSI_NS && x.localName === 'nil');
  if (a === undefined) return false;
  const v = a.value.trim();
  return v === 'true' || v === '1';
}

function hasElementChild(el: XmlElement): boolean {
  for (const c of el.children) if (c.type === 'element') return true;
  return false;
}

/** Primitive kind prefix: values of different primitive types are never equal (XSD 1.0 value spaces). */
function typeTag(t: SimpleType): string {
  const b = t.builtin;
  const base = b.family === 'string' ? 's' : b.family === 'decimal' ? 'd' : b.family === 'boolean' ? 'b' : b.name.slice(b.name.indexOf(':') + 1);
  return t.variety === 'list' ? `list ${base}` : base;
}

/** The value-space key of one field value; the collapsed string when the type is unknown (or the value invalid). */
function valueKey(type: SimpleType | null, raw: string): string {
  if (type !== null) {
    const r = simpleKey(type, raw);
    if (!('rule' in r)) return `${typeTag(type)}:${r.key}`;
  }
  return `s:${normalizeWhiteSpace(raw, 'collapse')}`;
}

function fieldLabel(c: IdentityConstraint, i: number): string {
  return c.fields.length === 1 ? `field ${c.fields[i]?.text ?? ''}` : `field ${i + 1} (${c.fields[i]?.text ?? ''})`;
}

/**
 * The key-sequence of a selected node, or null when it is not in the qualified node set
 * (a field selects nothing, or an element that is nilled). Reports field errors when `report`.
 */
function keySequence(node: XmlElement, c: IdentityConstraint, ctx: IdentityContext, st: DocState, report: boolean): string | null {
  tick(st, KEY_SEQUENCE_COST);
  const parts: string[] = [];
  let qualified = true;
  for (let i = 0; i < c.fields.length; i++) {
    const f = evalField(node, c.fields[i] as IdentityXPath, st);
    const rule = ruleOf(c);
    if (f.kind === 'many') {
      if (report) ctx.add(ctx.pathOf(node), rule, `The ${fieldLabel(c, i)} of ${c.label} selects more than one node in element ${node.localName}; it must select at most one.`);
      qualified = false;
      continue;
    }
    if (f.kind === 'none') {
      if (report && c.kind === 'key') ctx.add(ctx.pathOf(node), rule, `Element ${node.localName} has no value for the ${fieldLabel(c, i)} of ${c.label}; every key field must be present.`);
      qualified = false;
      continue;
    }
    if (f.kind === 'attribute') {
      parts.push(valueKey(ctx.typeOfAttribute(f.el, f.attr), f.attr.value));
      continue;
    }
    if (isNilled(f.el)) {
      if (report && c.kind === 'key') ctx.add(ctx.pathOf(node), rule, `The ${fieldLabel(c, i)} of ${c.label} selects a nil element ${f.el.localName}; a key field must have a value.`);
      qualified = false;
      continue;
    }
    const type = ctx.typeOfElement(f.el);
    if (type === null && hasElementChild(f.el)) {
      if (report) ctx.add(ctx.pathOf(node), rule, `The ${fieldLabel(c, i)} of ${c.label} selects element ${f.el.localName}, which has element content, not a simple value.`);
      qualified = false;
      continue;
    }
    parts.push(valueKey(type, textContent(f.el)));
  }
  // U+0000 cannot occur in XML text, so it separates fields unambiguously.
  return qualified ? parts.join('\u0000') : null;
}

function ruleOf(c: IdentityConstraint): string {
  return `${c.kind} ${c.label.slice(c.label.indexOf(' ') + 1)}`;
}

/** The key/unique table of scope's own selected nodes; duplicates are reported when `report`. */
function ownTable(scope: XmlElement, c: IdentityConstraint, ctx: IdentityContext, st: DocState, report: boolean): Table {
  const table: Table = new Map();
  for (const node of select(scope, c.selector, st)) {
    const seq = keySequence(node, c, ctx, st, report);
    if (seq === null) continue;
    const prior = table.get(seq);
    if (prior === undefined) table.set(seq, node);
    else if (report) {
      ctx.add(ctx.pathOf(node), ruleOf(c), `Element ${node.localName} repeats the ${c.label} value of the element at ${ctx.pathOf(prior)}; it must be unique within ${scope.localName}.`);
    }
  }
  let m = st.own.get(scope);
  if (m === undefined) st.own.set(scope, (m = new Map()));
  m.set(c, table);
  return table;
}

function declares(el: XmlElement, c: IdentityConstraint, ctx: IdentityContext): boolean {
  return ctx.constraintsOf(el).includes(c);
}

/**
 * The node table of key/unique `c` available at `el` (§3.11.5): el's own rows win; rows from the nearest
 * descendants declaring `c` (each with their own available table) are merged, and a key-sequence that two
 * of them give for different nodes is dropped.
 */
function availableTable(el: XmlElement, c: IdentityConstraint, ctx: IdentityContext, st: DocState): Table {
  const memo = st.available.get(el)?.get(c);
  if (memo !== undefined) return memo;
  const own = declares(el, c, ctx) ? (st.own.get(el)?.get(c) ?? ownTable(el, c, ctx, st, false)) : null;
  const result: Table = new Map(own ?? []);
  const conflicts = new Set<string>();
  const stack: XmlElement[] = [];
  for (let i = el.children.length - 1; i >= 0; i--) {
    const k = el.children[i];
    if (k?.type === 'element') stack.push(k);
  }
  while (stack.length > 0) {
    const e = stack.pop() as XmlElement;
    tick(st, 1);
    if (declares(e, c, ctx)) {
      const sub = availableTable(e, c, ctx, st);
      tick(st, sub.size);
      for (const [seq, node] of sub) {
        if (own?.has(seq)) continue;
        const prior = result.get(seq);
        if (prior === undefined) result.set(seq, node);
        else if (prior !== node) conflicts.add(seq);
      }
      continue;
    }
    for (let i = e.children.length - 1; i >= 0; i--) {
      const k = e.children[i];
      if (k?.type === 'element') stack.push(k);
    }
  }
  for (const seq of conflicts) result.delete(seq);
  let m = st.available.get(el);
  if (m === undefined) st.available.set(el, (m = new Map()));
  m.set(c, result);
  return result;
}

function checkKeyref(scope: XmlElement, c: IdentityConstraint, ctx: IdentityContext, st: DocState): void {
  const target = referred.get(c);
  if (target === undefined) throw new Error(`${c.label} was not linked (call linkIdentityConstraints at compile time)`);
  let table: Table | null = null;
  for (const node of select(scope, c.selector, st)) {
    const seq = keySequence(node, c, ctx, st, true);
    if (seq === null) continue;
    table ??= availableTable(scope, target, ctx, st);
    if (!table.has(seq)) {
      ctx.add(
        ctx.pathOf(node),
        ruleOf(c),
        `Element ${node.localName} refers (${c.label}) to a ${target.label} value that does not exist within ${scope.localName}.`,
      );
    }
  }
}

/**
 * Checks the constraints declared on the element `scope` (an instance of the declaring element).
 * Called once per such element after its subtree was validated; pass the same ctx object for the whole
 * document (tables of descendant scopes are kept per ctx for keyrefs, and the work cap is per ctx).
 */
export function checkIdentityConstraints(scope: XmlElement, ctx: IdentityContext): void {
  const cs = ctx.constraintsOf(scope);
  if (cs.length === 0) return;
  const st = stateOf(ctx);
  if (st.exhausted) return;
  try {
    for (const c of cs) if (c.kind !== 'keyref') ownTable(scope, c, ctx, st, true);
    for (const c of cs) if (c.kind === 'keyref') checkKeyref(scope, c, ctx, st);
  } catch (e) {
    if (!(e instanceof WorkExceeded)) throw e;
    st.exhausted = true;
    ctx.add(
      ctx.pathOf(scope),
      'identity constraints',
      `Checking the keys of element ${scope.localName} needs more than ${IDENTITY_WORK_LIMIT} steps; the document is too large or too deeply nested for them.`,
    );
  }
}
