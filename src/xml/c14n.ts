// Canonical XML 1.0 and Exclusive XML Canonicalization 1.0 over the parser's tree, for the
// document-subset case XMLDSig uses: the apex element with all its descendants, minus at most
// one excluded subtree (the enveloped-signature transform).
//
// The walk is iterative and namespace state is kept in per-prefix stacks with an undo log,
// so the cost is linear in the size of the subtree regardless of depth or declarations.

import { inScopeNamespaces } from './helpers.js';
import type { TextSink } from './sink.js';
import {
  XML_NS,
  type XmlAttribute,
  type XmlDocument,
  type XmlElement,
  type XmlNode,
} from './types.js';

export const C14N_10 = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315';
export const C14N_10_WITH_COMMENTS = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments';
export const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
export const EXC_C14N_WITH_COMMENTS = 'http://www.w3.org/2001/10/xml-exc-c14n#WithComments';

export type C14nAlgorithm =
  | typeof C14N_10
  | typeof C14N_10_WITH_COMMENTS
  | typeof EXC_C14N
  | typeof EXC_C14N_WITH_COMMENTS;

export interface C14nOptions {
  /** Exclusive (true) or inclusive Canonical XML 1.0 (false). */
  exclusive: boolean;
  withComments?: boolean;
  /** Exclusive only: InclusiveNamespaces PrefixList entries; '#default' or '' for the default namespace. */
  inclusivePrefixes?: readonly string[];
  /** A descendant subtree left out of the output (e.g. the enveloped ds:Signature). */
  exclude?: XmlElement | null;
}

export function isC14nAlgorithm(uri: string): uri is C14nAlgorithm {
  return uri === C14N_10 || uri === C14N_10_WITH_COMMENTS || uri === EXC_C14N || uri === EXC_C14N_WITH_COMMENTS;
}

/** Options for a c14n algorithm URI. */
export function c14nOptionsFor(
  algorithm: C14nAlgorithm,
  extra: { inclusivePrefixes?: readonly string[]; exclude?: XmlElement | null } = {},
): C14nOptions {
  const exclusive = algorithm === EXC_C14N || algorithm === EXC_C14N_WITH_COMMENTS;
  return {
    exclusive,
    withComments: algorithm === C14N_10_WITH_COMMENTS || algorithm === EXC_C14N_WITH_COMMENTS,
    inclusivePrefixes: exclusive ? extra.inclusivePrefixes ?? [] : [],
    exclude: extra.exclude ?? null,
  };
}

/** Splits an InclusiveNamespaces PrefixList attribute (whitespace separated, '#default' allowed). */
export function parseInclusivePrefixList(list: string): string[] {
  const out: string[] = [];
  let i = 0;
  const n = list.length;
  while (i < n) {
    while (i < n && isSpace(list.charCodeAt(i))) i++;
    const from = i;
    while (i < n && !isSpace(list.charCodeAt(i))) i++;
    if (i > from) out.push(list.slice(from, i));
  }
  return out;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

export function canonicalize(apex: XmlElement, options: C14nOptions): string {
  const out: string[] = [];
  writeSubtree(apex, options, out);
  return out.join('');
}

/** The same canonical text, pushed into a sink (e.g. straight into a digest). */
export function canonicalizeTo(apex: XmlElement, options: C14nOptions, sink: TextSink): void {
  writeSubtree(apex, options, sink);
}

export function excC14n(
  apex: XmlElement,
  options: { withComments?: boolean; inclusivePrefixes?: readonly string[]; exclude?: XmlElement | null } = {},
): string {
  return canonicalize(apex, { exclusive: true, ...options });
}

export function c14n(
  apex: XmlElement,
  options: { withComments?: boolean; exclude?: XmlElement | null } = {},
): string {
  return canonicalize(apex, { exclusive: false, ...options });
}

/**
 * Canonical form of a whole document (XPath data model root): PIs and comments outside the
 * document element are separated from it by line feeds as Canonical XML §2.1 prescribes.
 */
export function canonicalizeDocument(doc: XmlDocument, options: C14nOptions): string {
  const out: string[] = [];
  let afterRoot = false;
  for (const node of doc.children) {
    if (node.type === 'element') {
      writeSubtree(node, options, out);
      afterRoot = true;
      continue;
    }
    if (node.type === 'comment' && options.withComments !== true) continue;
    if (node.type === 'text') continue;
    if (afterRoot) out.push('\n');
    writeLeaf(node, out);
    if (!afterRoot) out.push('\n');
  }
  return out.join('');
}

// -------------------------------------------------------------------------------- internals

/** prefix -> stack of values; '' key is the default namespace. */
type ScopeStacks = Map<string, string[]>;

function top(m: ScopeStacks, prefix: string): string | undefined {
  const st = m.get(prefix);
  return st === undefined || st.length === 0 ? undefined : st[st.length - 1];
}

function push(m: ScopeStacks, prefix: string, value: string, undo: string[]): void {
  const st = m.get(prefix);
  if (st === undefined) m.set(prefix, [value]);
  else st.push(value);
  undo.push(prefix);
}

function popAll(m: ScopeStacks, undo: readonly string[]): void {
  for (let i = undo.length - 1; i >= 0; i--) m.get(undo[i] as string)?.pop();
}

interface Frame {
  el: XmlElement;
  next: number;
  scopeUndo: string[];
  renderedUndo: string[];
}

interface NsOut {
  prefix: string;
  uri: string;
}

function writeSubtree(apex: XmlElement, opt: C14nOptions, out: TextSink): void {
  const exclusive = opt.exclusive;
  const withComments = opt.withComments === true;
  const exclude = opt.exclude ?? null;
  const inclusive = new Set<string>();
  for (const p of opt.inclusivePrefixes ?? []) inclusive.add(p === '#default' ? '' : p);

  // In-scope namespaces (what the document says) and rendered namespaces (what output
  // ancestors have already put in effect). Seeded with the apex's ancestors' bindings.
  const scope: ScopeStacks = new Map();
  const rendered: ScopeStacks = new Map();
  if (apex.parent !== null) {
    const undo: string[] = [];
    for (const [p, u] of inScopeNamespaces(apex.parent)) push(scope, p, u, undo);
  }

  const stack: Frame[] = [];
  const enter = (el: XmlElement): void => {
    const scopeUndo: string[] = [];
    const renderedUndo: string[] = [];
    for (const d of el.nsDecls) push(scope, d.prefix, d.uri, scopeUndo);
    const isApex = el === apex;
    const ns = exclusive ? exclusiveNs(el, scope, rendered, inclusive) : inclusiveNs(el, isApex, scope, rendered);
    for (const n of ns) push(rendered, n.prefix, n.uri, renderedUndo);
    const attrs = isApex && !exclusive ? withInheritedXmlAttrs(el) : el.attributes;
    writeStartTag(el, ns, attrs, out);
    stack.push({ el, next: 0, scopeUndo, renderedUndo });
  };

  enter(apex);
  while (stack.length > 0) {
    const f = stack[stack.length - 1] as Frame;
    const child: XmlNode | undefined = f.el.children[f.next++];
    if (child === undefined) {
      out.push('</', f.el.qName, '>');
      popAll(rendered, f.renderedUndo);
      popAll(scope, f.scopeUndo);
      stack.pop();
      continue;
    }
    switch (child.type) {
      case 'element':
        if (child !== exclude) enter(child);
        break;
      case 'text':
        out.push(escapeText(child.value));
        break;
      case 'comment':
        if (withComments) writeLeaf(child, out);
        break;
      case 'pi':
        writeLeaf(child, out);
        break;
    }
  }
}

function writeLeaf(node: XmlNode, out: TextSink): void {
  if (node.type === 'comment') out.push('<!--', node.value, '-->');
  else if (node.type === 'pi') {
    if (node.data === '') out.push('<?', node.target, '?>');
    else out.push('<?', node.target, ' ', node.data, '?>');
  }
}

/** Exclusive c14n §3: render visibly utilized prefixes (plus the PrefixList) not already in effect. */
function exclusiveNs(el: XmlElement, scope: ScopeStacks, rendered: ScopeStacks, inclusive: ReadonlySet<string>): NsOut[] {
  const candidates = new Set<string>();
  candidates.add(el.prefix);
  for (const a of el.attributes) {
    if (a.prefix !== '' && a.prefix !== 'xml') candidates.add(a.prefix);
  }
  for (const p of inclusive) {
    // PrefixList entries follow the inclusive rules: only if actually in scope here.
    if (top(scope, p) !== undefined) candidates.add(p);
  }
  return nsToRender(candidates, scope, rendered);
}

/**
 * Canonical XML: every in-scope namespace not already in effect from an output ancestor.
 * Below the apex everything in scope at the parent is already in effect, so only the
 * element's own declarations can differ; checking just those keeps the walk linear.
 */
function inclusiveNs(el: XmlElement, isApex: boolean, scope: ScopeStacks, rendered: ScopeStacks): NsOut[] {
  const candidates = new Set<string>();
  if (isApex) {
    for (const [p, st] of scope) if (st.length > 0) candidates.add(p);
  } else {
    for (const d of el.nsDecls) candidates.add(d.prefix);
  }
  return nsToRender(candidates, scope, rendered);
}

function nsToRender(candidates: Iterable<string>, scope: ScopeStacks, rendered: ScopeStacks): NsOut[] {
  const out: NsOut[] = [];
  for (const p of candidates) {
    if (p === 'xml') continue;
    const uri = top(scope, p) ?? '';
    if (p === '') {
      // xmlns="" only matters when an output ancestor put a non-empty default in effect.
      const prev = top(rendered, '') ?? '';
      if (uri !== prev) out.push({ prefix: '', uri });
    } else if (uri !== '' && top(rendered, p) !== uri) {
      out.push({ prefix: p, uri });
    }
  }
  out.sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
  return out;
}

/** Canonical XML §2.4: the apex of a document subset inherits xml:* attributes of its ancestors. */
function withInheritedXmlAttrs(el: XmlElement): XmlAttribute[] {
  const have = new Set<string>();
  for (const a of el.attributes) if (a.namespaceURI === XML_NS) have.add(a.localName);
  const extra: XmlAttribute[] = [];
  for (let cur = el.parent; cur !== null; cur = cur.parent) {
    for (const a of cur.attributes) {
      if (a.namespaceURI === XML_NS && !have.has(a.localName)) {
        have.add(a.localName);
        extra.push(a);
      }
    }
  }
  return extra.length === 0 ? el.attributes : el.attributes.concat(extra);
}

function compareAttrs(a: XmlAttribute, b: XmlAttribute): number {
  if (a.namespaceURI !== b.namespaceURI) return a.namespaceURI < b.namespaceURI ? -1 : 1;
  return a.localName < b.localName ? -1 : a.localName > b.localName ? 1 : 0;
}

function writeStartTag(el: XmlElement, ns: readonly NsOut[], attrs: readonly XmlAttribute[], out: TextSink): void {
  out.push('<', el.qName);
  for (const n of ns) {
    out.push(n.prefix === '' ? ' xmlns="' : ` xmlns:${n.prefix}="`, escapeAttr(n.uri), '"');
  }
  const sorted = attrs.length > 1 ? attrs.slice().sort(compareAttrs) : attrs;
  for (const a of sorted) out.push(' ', a.qName, '="', escapeAttr(a.value), '"');
  out.push('>');
}

const TEXT_SPECIAL = /[&<>\r]/;
const ATTR_SPECIAL = /[&<"\t\n\r]/;

export function escapeText(s: string): string {
  if (!TEXT_SPECIAL.test(s)) return s;
  let r = '';
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    let rep: string;
    switch (s.charCodeAt(i)) {
      case 0x26: rep = '&amp;'; break;
      case 0x3c: rep = '&lt;'; break;
      case 0x3e: rep = '&gt;'; break;
      case 0x0d: rep = '&#xD;'; break;
      default: continue;
    }
    r += s.slice(from, i) + rep;
    from = i + 1;
  }
  return r + s.slice(from);
}

export function escapeAttr(s: string): string {
  if (!ATTR_SPECIAL.test(s)) return s;
  let r = '';
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    let rep: string;
    switch (s.charCodeAt(i)) {
      case 0x26: rep = '&amp;'; break;
      case 0x3c: rep = '&lt;'; break;
      case 0x22: rep = '&quot;'; break;
      case 0x09: rep = '&#x9;'; break;
      case 0x0a: rep = '&#xA;'; break;
      case 0x0d: rep = '&#xD;'; break;
      default: continue;
    }
    r += s.slice(from, i) + rep;
    from = i + 1;
  }
  return r + s.slice(from);
}
