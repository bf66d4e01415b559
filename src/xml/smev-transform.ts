// The SMEV 3 transform urn://smev-gov-ru/xmldsig/transform, computed on the tree.
//
// The reference is the Java class SmevTransformSpi of the SMEV 3 methodological
// recommendations: it re-reads the exclusive-c14n octets with StAX and writes them back with
// an XMLEventWriter. Exclusive c14n preserves every expanded name, attribute value and
// character of text, so walking the tree the c14n would have serialized gives the same
// events; the few places where StAX event boundaries matter are reproduced explicitly:
//
// - Characters events are dropped when trim() leaves nothing. A text run in the c14n output
//   is interrupted by element tags and PIs (kept by c14n) and, only for #WithComments, by
//   comments; an excluded subtree or an omitted comment joins its neighbours into one run.
// - Empty elements are written <a></a> (the Java class adds an empty Characters event).
// - Prefixes: one counter ns1, ns2, ... for the whole output. A mapping lives in the element
//   that introduced it until that element closes; the lookup scans open elements outermost
//   first, so a URI already mapped higher up reuses that prefix; siblings each get a fresh one.
// - Attributes: namespaced first, by namespace URI then local name (UTF-16 code unit order,
//   as Java's String.compareTo); then unqualified by local name. Declarations go before
//   attributes: the element's own namespace first, then the attributes' in sorted order.
// - Escaping as the JDK XMLStreamWriter does it: text & < >; attribute values & < > ".
//   Tabs, line feeds and carriage returns are written literally.
//
// Known limit (documented, not reproduced): StAX implementations may split one text run into
// several Characters events (buffer boundaries, entity references with coalescing off). A
// whitespace-only fragment of a run that also has non-whitespace would then be dropped by Java
// and kept here. Signed SMEV content does not produce such text in practice.

import { parseXml } from './parser.js';
import type { TextSink } from './sink.js';
import type { XmlElement, XmlLimits, XmlNode } from './types.js';

export const SMEV_TRANSFORM = 'urn://smev-gov-ru/xmldsig/transform';

export interface SmevTransformOptions {
  /** A descendant subtree left out (enveloped-signature applied before the transform). */
  exclude?: XmlElement | null;
  /**
   * Whether the preceding canonicalization kept comments (exc-c14n#WithComments, or a raw
   * document): then comments separate text runs. Default false, as in SMEV signatures.
   */
  commentsSplitText?: boolean;
}

interface Frame {
  el: XmlElement;
  next: number;
  prefix: string;
  /** URIs this element mapped, so they can be unmapped when it closes. */
  mapped: string[];
}

/** Output of exc-c14n followed by the SMEV transform, for the subtree at apex. */
export function smevTransform(apex: XmlElement, options: SmevTransformOptions = {}): string {
  const out: string[] = [];
  smevTransformTo(apex, options, out);
  return out.join('');
}

/** The same output, pushed into a sink (e.g. straight into a digest). */
export function smevTransformTo(apex: XmlElement, options: SmevTransformOptions, out: TextSink): void {
  const exclude = options.exclude ?? null;
  const commentsSplit = options.commentsSplitText === true;
  // uri -> stack of prefixes; only the bottom entry is ever visible (outermost first), and a
  // URI is only mapped again after the previous mapping went out of scope, so at most one
  // mapping per URI exists at a time.
  const mapping = new Map<string, string>();
  let counter = 1;
  let pendingText = '';
  const stack: Frame[] = [];

  const flushText = (): void => {
    if (pendingText.length === 0) return;
    if (!isJavaBlank(pendingText)) out.push(escapeText(pendingText));
    pendingText = '';
  };

  const enter = (el: XmlElement): void => {
    flushText();
    const mapped: string[] = [];
    const decls: string[] = [];
    let prefix = mapping.get(el.namespaceURI);
    if (prefix === undefined) {
      prefix = 'ns' + String(counter++);
      mapping.set(el.namespaceURI, prefix);
      mapped.push(el.namespaceURI);
      decls.push(' xmlns:', prefix, '="', escapeAttr(el.namespaceURI), '"');
    }
    const attrs = el.attributes.length > 1 ? el.attributes.slice().sort(compareSmevAttrs) : el.attributes;
    const attrParts: string[] = [];
    for (const a of attrs) {
      if (a.namespaceURI === '') {
        attrParts.push(' ', a.localName, '="', escapeAttr(a.value), '"');
        continue;
      }
      let ap = mapping.get(a.namespaceURI);
      if (ap === undefined) {
        ap = 'ns' + String(counter++);
        mapping.set(a.namespaceURI, ap);
        mapped.push(a.namespaceURI);
        decls.push(' xmlns:', ap, '="', escapeAttr(a.namespaceURI), '"');
      }
      attrParts.push(' ', ap, ':', a.localName, '="', escapeAttr(a.value), '"');
    }
    out.push('<', prefix, ':', el.localName);
    for (const d of decls) out.push(d);
    for (const p of attrParts) out.push(p);
    out.push('>');
    stack.push({ el, next: 0, prefix, mapped });
  };

  enter(apex);
  while (stack.length > 0) {
    const f = stack[stack.length - 1] as Frame;
    const child: XmlNode | undefined = f.el.children[f.next++];
    if (child === undefined) {
      flushText();
      out.push('</', f.prefix, ':', f.el.localName, '>');
      for (const uri of f.mapped) mapping.delete(uri);
      stack.pop();
      continue;
    }
    switch (child.type) {
      case 'element':
        if (child !== exclude) enter(child);
        break;
      case 'text':
        pendingText += child.value;
        break;
      case 'comment':
        if (commentsSplit) flushText();
        break;
      case 'pi':
        flushText();
        break;
    }
  }
}

/**
 * The transform applied to raw XML octets, as SmevTransformSpi.process() does when fed a
 * document directly: the declaration, comments and PIs are dropped and comments split text.
 */
export function smevTransformXml(input: string | Buffer, limits?: Partial<XmlLimits>): string {
  return smevTransform(parseXml(input, limits).root, { commentsSplitText: true });
}

/** Java String.trim() removes every char <= U+0020; in XML text that is tab, LF, CR, space. */
function isJavaBlank(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x20) return false;
  return true;
}

function compareSmevAttrs(
  x: { namespaceURI: string; localName: string },
  y: { namespaceURI: string; localName: string },
): number {
  const xq = x.namespaceURI !== '';
  const yq = y.namespaceURI !== '';
  if (xq !== yq) return xq ? -1 : 1;
  if (xq && x.namespaceURI !== y.namespaceURI) return x.namespaceURI < y.namespaceURI ? -1 : 1;
  return x.localName < y.localName ? -1 : x.localName > y.localName ? 1 : 0;
}

const TEXT_SPECIAL = /[&<>]/;
const ATTR_SPECIAL = /[&<>"]/;

function escapeText(s: string): string {
  if (!TEXT_SPECIAL.test(s)) return s;
  return escapeWith(s, false);
}

function escapeAttr(s: string): string {
  if (!ATTR_SPECIAL.test(s)) return s;
  return escapeWith(s, true);
}

function escapeWith(s: string, quotes: boolean): string {
  let r = '';
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    let rep: string;
    switch (s.charCodeAt(i)) {
      case 0x26: rep = '&amp;'; break;
      case 0x3c: rep = '&lt;'; break;
      case 0x3e: rep = '&gt;'; break;
      case 0x22:
        if (!quotes) continue;
        rep = '&quot;';
        break;
      default: continue;
    }
    r += s.slice(from, i) + rep;
    from = i + 1;
  }
  return r + s.slice(from);
}
