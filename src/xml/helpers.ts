// Small navigation helpers over the parser's tree, for the signature engine.

import { XML_NS, type XmlElement } from './types.js';

/** Element children, optionally filtered by namespace URI ('' = no namespace) and local name. */
export function childElements(el: XmlElement, ns?: string, localName?: string): XmlElement[] {
  const out: XmlElement[] = [];
  for (const c of el.children) {
    if (c.type !== 'element') continue;
    if (ns !== undefined && c.namespaceURI !== ns) continue;
    if (localName !== undefined && c.localName !== localName) continue;
    out.push(c);
  }
  return out;
}

/** First element child with this expanded name, or null. */
export function firstChild(el: XmlElement, ns: string, localName: string): XmlElement | null {
  for (const c of el.children) {
    if (c.type === 'element' && c.namespaceURI === ns && c.localName === localName) return c;
  }
  return null;
}

/** Concatenated character data of all descendant text nodes (comments and PIs excluded). */
export function textContent(el: XmlElement): string {
  const parts: string[] = [];
  // Explicit stack of child iterators: hostile depth must not reach the call stack.
  const stack: { el: XmlElement; i: number }[] = [{ el, i: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as { el: XmlElement; i: number };
    const child = top.el.children[top.i++];
    if (child === undefined) {
      stack.pop();
      continue;
    }
    if (child.type === 'text') parts.push(child.value);
    else if (child.type === 'element') stack.push({ el: child, i: 0 });
  }
  return parts.join('');
}

/**
 * Namespace URI bound to prefix ('' = default) at el, walking ancestors; null when unbound
 * (including a default namespace undeclared with xmlns="").
 */
export function lookupNamespace(el: XmlElement, prefix: string): string | null {
  if (prefix === 'xml') return XML_NS;
  for (let cur: XmlElement | null = el; cur !== null; cur = cur.parent) {
    for (const d of cur.nsDecls) {
      if (d.prefix === prefix) return d.uri === '' ? null : d.uri;
    }
  }
  return null;
}

/**
 * All namespace bindings in scope at el (prefix '' = default), nearest declaration winning.
 * The implicit xml prefix and an undeclared default (xmlns="") are not included.
 */
export function inScopeNamespaces(el: XmlElement): Map<string, string> {
  const out = new Map<string, string>();
  const seen = new Set<string>();
  for (let cur: XmlElement | null = el; cur !== null; cur = cur.parent) {
    for (const d of cur.nsDecls) {
      if (seen.has(d.prefix)) continue;
      seen.add(d.prefix);
      if (d.uri !== '' && d.prefix !== 'xml') out.set(d.prefix, d.uri);
    }
  }
  return out;
}
