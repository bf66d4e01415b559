// A strict, namespace-aware, single-pass XML 1.0 parser for signed SOAP envelopes.
//
// Why our own: signature verification needs a tree whose construction is linear in the input
// and which refuses DTDs outright (no entity expansion, no external fetches, no default
// attributes that would change what was signed). Everything is iterative: element nesting is
// tracked with an explicit stack so hostile depth can only hit the depth limit, never the
// JavaScript call stack. No regular expressions are applied to untrusted content except the
// fixed, non-backtracking line-end normalization.

import { isNameCode, isNameStartCode, isXmlCharCodePoint } from './chars.js';
import { XmlError, type XmlErrorCode } from './errors.js';
import {
  DEFAULT_LIMITS,
  WSU_NS,
  XML_NS,
  XMLNS_NS,
  type XmlAttribute,
  type XmlDocument,
  type XmlElement,
  type XmlLimits,
  type XmlNode,
  type XmlNsDecl,
} from './types.js';

export { XmlError } from './errors.js';
export type { XmlErrorCode } from './errors.js';
export * from './types.js';
export {
  childElements,
  firstChild,
  textContent,
  lookupNamespace,
  inScopeNamespaces,
} from './helpers.js';

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Shared by every element without attributes or namespace declarations; frozen, so a write fails loudly. */
const NO_ATTRIBUTES: XmlAttribute[] = Object.freeze([]) as unknown as XmlAttribute[];
const NO_NS_DECLS: XmlNsDecl[] = Object.freeze([]) as unknown as XmlNsDecl[];
const NO_CHILDREN: XmlNode[] = Object.freeze([]) as unknown as XmlNode[];
const MAX_INTERNED_NAMES = 4096;

/**
 * Children lists start shared and empty, then as a one-slot array: most elements of a large
 * envelope hold a single text node, and a first push() onto [] reserves 17 slots.
 */
function addChild(parent: XmlElement, node: XmlNode): void {
  if (parent.children === NO_CHILDREN) parent.children = [node];
  else parent.children.push(node);
}

interface RawAttr {
  qName: string;
  prefix: string;
  localName: string;
  value: string;
}

interface QName {
  qName: string;
  prefix: string;
  localName: string;
}

const PREDEFINED: Readonly<Record<string, string>> = {
  lt: '<',
  gt: '>',
  amp: '&',
  apos: "'",
  quot: '"',
};

/** Parse a complete XML document. Throws XmlError on anything that is not plain, well-formed, namespace-valid XML. */
export function parseXml(input: string | Buffer | Uint8Array, limits?: Partial<XmlLimits>): XmlDocument {
  const lim: XmlLimits = { ...DEFAULT_LIMITS, ...(limits ?? {}) };
  let text: string;
  if (typeof input === 'string') {
    // Only pay for an exact byte count when the character count alone cannot decide.
    if (input.length > lim.maxBytes || (input.length * 3 > lim.maxBytes && Buffer.byteLength(input, 'utf8') > lim.maxBytes)) {
      throw new XmlError('TOO_LARGE', `document exceeds ${lim.maxBytes} bytes`);
    }
    text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  } else {
    if (input.byteLength > lim.maxBytes) {
      throw new XmlError('TOO_LARGE', `document exceeds ${lim.maxBytes} bytes`);
    }
    try {
      // ignoreBOM:false makes the decoder drop a leading UTF-8 BOM.
      text = utf8Decoder.decode(input);
    } catch {
      throw new XmlError('BAD_ENCODING', 'input is not valid UTF-8');
    }
  }
  // XML 1.0 §2.11: \r\n and lone \r become \n before parsing; offsets refer to this text.
  if (text.indexOf('\r') !== -1) text = text.replace(/\r\n?/g, '\n');
  return new Parser(text, lim).parseDocument();
}

class Parser {
  private readonly s: string;
  private readonly len: number;
  private readonly lim: XmlLimits;
  private pos = 0;
  private nodes = 0;
  private readonly bindings = new Map<string, string[]>();
  private readonly ids = new Map<string, XmlElement[]>();
  private readonly seenQNames = new Set<string>();
  /**
   * Names seen in this document, interned: a 1 MB envelope repeats a few dozen names tens of
   * thousands of times, and every string or object the tree keeps is one more for the young
   * generation's scavenges to copy while the message is processed (they were ~40 % of a 1 MB
   * message's CPU in the bench profile). Bounded so a document of unique names cannot grow it.
   */
  private readonly names = new Map<string, QName>();
  /** Scratch list of one start tag's attributes, reused from tag to tag. */
  private readonly rawAttrs: RawAttr[] = [];
  private lineStarts: number[] | null = null;

  constructor(s: string, lim: XmlLimits) {
    this.s = s;
    this.len = s.length;
    this.lim = lim;
  }

  // ---------------------------------------------------------------- diagnostics

  private position(offset: number): { line: number; column: number } {
    if (this.lineStarts === null) {
      const starts = [0];
      let i = this.s.indexOf('\n');
      while (i !== -1) {
        starts.push(i + 1);
        i = this.s.indexOf('\n', i + 1);
      }
      this.lineStarts = starts;
    }
    const starts = this.lineStarts;
    let lo = 0;
    let hi = starts.length - 1;
    const off = Math.max(0, Math.min(offset, this.len));
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((starts[mid] ?? 0) <= off) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: off - (starts[lo] ?? 0) + 1 };
  }

  private fail(code: XmlErrorCode, message: string, offset = this.pos): never {
    const { line, column } = this.position(offset);
    throw new XmlError(code, message, offset, line, column);
  }

  // ---------------------------------------------------------------- document

  parseDocument(): XmlDocument {
    const children: XmlNode[] = [];
    if (this.s.startsWith('<?xml', 0) && this.isWs(this.s.charCodeAt(5))) {
      this.parseXmlDecl();
    }
    let root: XmlElement | null = null;
    // Prolog: whitespace, comments, PIs. A DOCTYPE is refused here, before any element exists.
    for (;;) {
      this.skipWs();
      if (this.pos >= this.len) this.fail('NOT_WELL_FORMED', 'no root element');
      if (this.s.charCodeAt(this.pos) !== 0x3c) this.fail('NOT_WELL_FORMED', 'text is not allowed outside the root element');
      const c1 = this.s.charCodeAt(this.pos + 1);
      if (c1 === 0x21) {
        if (this.s.startsWith('<!--', this.pos)) {
          children.push(this.parseComment(null));
        } else {
          this.refuseDeclaration();
        }
      } else if (c1 === 0x3f) {
        children.push(this.parsePI(null));
      } else {
        root = this.parseElementTree();
        children.push(root);
        break;
      }
    }
    // Epilog: whitespace, comments, PIs only.
    for (;;) {
      this.skipWs();
      if (this.pos >= this.len) break;
      if (this.s.charCodeAt(this.pos) !== 0x3c) this.fail('NOT_WELL_FORMED', 'text is not allowed outside the root element');
      const c1 = this.s.charCodeAt(this.pos + 1);
      if (c1 === 0x21 && this.s.startsWith('<!--', this.pos)) children.push(this.parseComment(null));
      else if (c1 === 0x3f) children.push(this.parsePI(null));
      else if (c1 === 0x21) this.refuseDeclaration();
      else this.fail('NOT_WELL_FORMED', 'only one root element is allowed');
    }
    const ids = this.ids;
    const rootEl = root;
    return {
      root: rootEl,
      children,
      elementsById: (value: string) => ids.get(value) ?? [],
      position: (offset: number) => this.position(offset),
    };
  }

  /** Any `<!` that is not a comment or CDATA section: a DTD or a markup declaration. */
  private refuseDeclaration(): never {
    const at = this.pos;
    const s = this.s;
    if (
      s.startsWith('<!DOCTYPE', at) ||
      s.startsWith('<!ENTITY', at) ||
      s.startsWith('<!ELEMENT', at) ||
      s.startsWith('<!ATTLIST', at) ||
      s.startsWith('<!NOTATION', at)
    ) {
      this.fail('DTD_FORBIDDEN', 'document type declarations are not accepted', at);
    }
    this.fail('NOT_WELL_FORMED', "unexpected '<!'", at);
  }

  private parseXmlDecl(): void {
    this.pos = 5;
    const seen: string[] = [];
    for (;;) {
      const hadWs = this.skipWs();
      if (this.s.startsWith('?>', this.pos)) {
        this.pos += 2;
        break;
      }
      if (!hadWs) this.fail('NOT_WELL_FORMED', 'malformed XML declaration');
      const nameStart = this.pos;
      while (this.pos < this.len && isNameCode(this.s.charCodeAt(this.pos))) this.pos++;
      const name = this.s.slice(nameStart, this.pos);
      this.skipWs();
      if (this.s.charCodeAt(this.pos) !== 0x3d) this.fail('NOT_WELL_FORMED', 'malformed XML declaration');
      this.pos++;
      this.skipWs();
      const q = this.s.charCodeAt(this.pos);
      if (q !== 0x22 && q !== 0x27) this.fail('NOT_WELL_FORMED', 'malformed XML declaration');
      const end = this.s.indexOf(q === 0x22 ? '"' : "'", this.pos + 1);
      if (end === -1) this.fail('NOT_WELL_FORMED', 'unterminated XML declaration');
      const value = this.s.slice(this.pos + 1, end);
      const valueAt = this.pos + 1;
      this.pos = end + 1;
      const order = ['version', 'encoding', 'standalone'];
      const idx = order.indexOf(name);
      const last = seen.length ? order.indexOf(seen[seen.length - 1] ?? '') : -1;
      if (idx === -1 || idx <= last || (idx > 0 && seen.length === 0)) {
        this.fail('NOT_WELL_FORMED', `unexpected '${name}' in XML declaration`, nameStart);
      }
      seen.push(name);
      if (name === 'version' && value !== '1.0') {
        this.fail('NOT_WELL_FORMED', `unsupported XML version '${value}'`, valueAt);
      }
      if (name === 'encoding' && value.toLowerCase() !== 'utf-8') {
        this.fail('BAD_ENCODING', `unsupported encoding '${value}', only UTF-8 is accepted`, valueAt);
      }
      if (name === 'standalone' && value !== 'yes' && value !== 'no') {
        this.fail('NOT_WELL_FORMED', 'standalone must be yes or no', valueAt);
      }
    }
    if (seen[0] !== 'version') this.fail('NOT_WELL_FORMED', 'XML declaration without version', 0);
  }

  // ---------------------------------------------------------------- elements

  private countNode(): void {
    if (++this.nodes > this.lim.maxNodes) {
      this.fail('TOO_MANY_NODES', `document has more than ${this.lim.maxNodes} nodes`);
    }
  }

  private parseElementTree(): XmlElement {
    const root = this.parseStartTag(null);
    if (root.end !== -1) return root; // <root/>
    const stack: XmlElement[] = [root];
    const s = this.s;
    while (stack.length > 0) {
      const cur = stack[stack.length - 1] as XmlElement;
      if (this.pos >= this.len) {
        this.fail('NOT_WELL_FORMED', `element <${cur.qName}> is not closed`, cur.start);
      }
      if (s.charCodeAt(this.pos) !== 0x3c) {
        this.parseText(cur);
        continue;
      }
      const c1 = s.charCodeAt(this.pos + 1);
      if (c1 === 0x2f) {
        this.parseEndTag(cur);
        stack.pop();
      } else if (c1 === 0x21) {
        if (s.startsWith('<!--', this.pos)) {
          addChild(cur, this.parseComment(cur));
        } else if (s.startsWith('<![CDATA[', this.pos)) {
          this.parseCData(cur);
        } else {
          this.refuseDeclaration();
        }
      } else if (c1 === 0x3f) {
        addChild(cur, this.parsePI(cur));
      } else {
        if (stack.length >= this.lim.maxDepth) {
          this.fail('TOO_DEEP', `elements nested deeper than ${this.lim.maxDepth}`);
        }
        const child = this.parseStartTag(cur);
        addChild(cur, child);
        if (child.end === -1) stack.push(child);
      }
    }
    return root;
  }

  private parseEndTag(cur: XmlElement): void {
    const at = this.pos;
    this.pos += 2;
    const nameStart = this.pos;
    this.scanName();
    const name = this.s.slice(nameStart, this.pos);
    if (name !== cur.qName) {
      this.fail('NOT_WELL_FORMED', `end tag </${name}> does not match <${cur.qName}>`, at);
    }
    this.skipWs();
    if (this.s.charCodeAt(this.pos) !== 0x3e) this.fail('NOT_WELL_FORMED', "expected '>'");
    this.pos++;
    cur.end = this.pos;
    this.popBindings(cur.nsDecls);
  }

  /** Parses a start tag; returns the element with end === -1 unless it was an empty-element tag. */
  private parseStartTag(parent: XmlElement | null): XmlElement {
    const s = this.s;
    const start = this.pos;
    this.pos++;
    const name = this.scanQName();
    const raw = this.rawAttrs;
    raw.length = 0;
    let nsDecls: XmlNsDecl[] = NO_NS_DECLS;
    const seen = this.seenQNames;
    seen.clear();
    let selfClosing = false;
    for (;;) {
      const hadWs = this.skipWs();
      if (this.pos >= this.len) this.fail('NOT_WELL_FORMED', `unterminated start tag <${name.qName}>`, start);
      const c = s.charCodeAt(this.pos);
      if (c === 0x3e) {
        this.pos++;
        break;
      }
      if (c === 0x2f) {
        if (s.charCodeAt(this.pos + 1) !== 0x3e) this.fail('NOT_WELL_FORMED', "expected '/>'");
        this.pos += 2;
        selfClosing = true;
        break;
      }
      if (!hadWs) this.fail('NOT_WELL_FORMED', 'whitespace is required between attributes');
      const attrAt = this.pos;
      const an = this.scanQName();
      this.skipWs();
      if (s.charCodeAt(this.pos) !== 0x3d) this.fail('NOT_WELL_FORMED', `expected '=' after attribute ${an.qName}`);
      this.pos++;
      this.skipWs();
      const value = this.scanAttValue();
      if (seen.has(an.qName)) this.fail('DUPLICATE_ATTRIBUTE', `duplicate attribute ${an.qName}`, attrAt);
      seen.add(an.qName);
      if (seen.size > this.lim.maxAttributes) {
        this.fail('TOO_MANY_ATTRIBUTES', `more than ${this.lim.maxAttributes} attributes`, attrAt);
      }
      if (an.prefix === '' && an.localName === 'xmlns') {
        if (value === XML_NS || value === XMLNS_NS) {
          this.fail('BAD_NAMESPACE', `${value} cannot be the default namespace`, attrAt);
        }
        if (nsDecls === NO_NS_DECLS) nsDecls = [];
        nsDecls.push({ prefix: '', uri: value });
      } else if (an.prefix === 'xmlns') {
        this.checkPrefixDecl(an.localName, value, attrAt);
        if (nsDecls === NO_NS_DECLS) nsDecls = [];
        nsDecls.push({ prefix: an.localName, uri: value });
      } else {
        raw.push({ qName: an.qName, prefix: an.prefix, localName: an.localName, value });
      }
    }
    this.countNode();

    for (const d of nsDecls) this.pushBinding(d.prefix, d.uri);

    const namespaceURI = this.resolveElementPrefix(name.prefix, start);
    const attributes: XmlAttribute[] = raw.length === 0 ? NO_ATTRIBUTES : new Array<XmlAttribute>(raw.length);
    let anyPrefixed = false;
    for (let i = 0; i < raw.length; i++) {
      const r = raw[i] as RawAttr;
      let ns = '';
      if (r.prefix !== '') {
        anyPrefixed = true;
        ns = this.resolveAttrPrefix(r.prefix, start);
      }
      attributes[i] = { prefix: r.prefix, localName: r.localName, namespaceURI: ns, qName: r.qName, value: r.value };
    }
    if (anyPrefixed && attributes.length > 1) {
      // Namespaces in XML 1.0 §6.3: no two attributes with the same expanded name.
      const expanded = new Set<string>();
      for (const a of attributes) {
        const key = a.namespaceURI + '\u0000' + a.localName;
        if (expanded.has(key)) this.fail('DUPLICATE_ATTRIBUTE', `duplicate attribute {${a.namespaceURI}}${a.localName}`, start);
        expanded.add(key);
      }
    }

    const el: XmlElement = {
      type: 'element',
      prefix: name.prefix,
      localName: name.localName,
      namespaceURI,
      qName: name.qName,
      attributes,
      nsDecls,
      children: NO_CHILDREN,
      parent,
      start,
      end: -1,
    };
    for (const a of attributes) {
      if (
        (a.namespaceURI === '' && (a.localName === 'Id' || a.localName === 'ID' || a.localName === 'id')) ||
        (a.namespaceURI === WSU_NS && a.localName === 'Id')
      ) {
        const list = this.ids.get(a.value);
        if (list === undefined) this.ids.set(a.value, [el]);
        else if (list[list.length - 1] !== el) list.push(el);
      }
    }
    if (selfClosing) {
      el.end = this.pos;
      this.popBindings(nsDecls);
    }
    return el;
  }

  private checkPrefixDecl(prefix: string, uri: string, at: number): void {
    if (prefix === 'xmlns') this.fail('BAD_NAMESPACE', 'the xmlns prefix must not be declared', at);
    if (prefix === 'xml') {
      if (uri !== XML_NS) this.fail('BAD_NAMESPACE', 'the xml prefix cannot be rebound', at);
      return;
    }
    if (uri === '') this.fail('BAD_NAMESPACE', `xmlns:${prefix}="" is not allowed in XML Namespaces 1.0`, at);
    if (uri === XML_NS || uri === XMLNS_NS) this.fail('BAD_NAMESPACE', `${uri} cannot be bound to ${prefix}`, at);
  }

  private pushBinding(prefix: string, uri: string): void {
    const st = this.bindings.get(prefix);
    if (st === undefined) this.bindings.set(prefix, [uri]);
    else st.push(uri);
  }

  private popBindings(decls: XmlNsDecl[]): void {
    for (let i = decls.length - 1; i >= 0; i--) {
      this.bindings.get((decls[i] as XmlNsDecl).prefix)?.pop();
    }
  }

  private lookup(prefix: string): string | undefined {
    const st = this.bindings.get(prefix);
    return st === undefined || st.length === 0 ? undefined : st[st.length - 1];
  }

  private resolveElementPrefix(prefix: string, at: number): string {
    if (prefix === '') return this.lookup('') ?? '';
    if (prefix === 'xml') return XML_NS;
    if (prefix === 'xmlns') this.fail('BAD_NAMESPACE', 'elements must not have the prefix xmlns', at);
    const uri = this.lookup(prefix);
    if (uri === undefined) this.fail('UNDECLARED_PREFIX', `namespace prefix '${prefix}' is not declared`, at);
    return uri;
  }

  private resolveAttrPrefix(prefix: string, at: number): string {
    if (prefix === 'xml') return XML_NS;
    const uri = this.lookup(prefix);
    if (uri === undefined) this.fail('UNDECLARED_PREFIX', `namespace prefix '${prefix}' is not declared`, at);
    return uri;
  }

  // ---------------------------------------------------------------- names

  private isWs(c: number): boolean {
    return c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d;
  }

  private skipWs(): boolean {
    const from = this.pos;
    while (this.pos < this.len && this.isWs(this.s.charCodeAt(this.pos))) this.pos++;
    return this.pos > from;
  }

  /** Scans an XML Name (colons allowed) and leaves pos after it. */
  private scanName(): void {
    const s = this.s;
    const at = this.pos;
    let c = s.charCodeAt(this.pos);
    if (c >= 0xd800 && c <= 0xdb7f) {
      this.surrogateNameChar(at);
    } else if (!isNameStartCode(c)) {
      this.fail('NOT_WELL_FORMED', 'expected a name', at);
    } else {
      this.pos++;
    }
    while (this.pos < this.len) {
      c = s.charCodeAt(this.pos);
      if (isNameCode(c)) this.pos++;
      else if (c >= 0xd800 && c <= 0xdb7f) this.surrogateNameChar(this.pos);
      else break;
    }
  }

  /** Name characters U+10000..U+EFFFF arrive as a surrogate pair. */
  private surrogateNameChar(at: number): void {
    const lo = this.s.charCodeAt(at + 1);
    if (!(lo >= 0xdc00 && lo <= 0xdfff)) this.fail('INVALID_CHAR', 'invalid surrogate in name', at);
    this.pos = at + 2;
  }

  private scanQName(): QName {
    const at = this.pos;
    this.scanName();
    const qName = this.s.slice(at, this.pos);
    const known = this.names.get(qName);
    if (known !== undefined) return known;
    const colon = qName.indexOf(':');
    let name: QName;
    if (colon === -1) {
      name = { qName, prefix: '', localName: qName };
    } else {
      if (colon === 0 || colon === qName.length - 1 || qName.indexOf(':', colon + 1) !== -1) {
        this.fail('NOT_WELL_FORMED', `'${qName}' is not a valid qualified name`, at);
      }
      const localName = qName.slice(colon + 1);
      if (!isNameStartCode(localName.charCodeAt(0)) && !(localName.charCodeAt(0) >= 0xd800)) {
        this.fail('NOT_WELL_FORMED', `'${qName}' is not a valid qualified name`, at);
      }
      name = { qName, prefix: qName.slice(0, colon), localName };
    }
    if (this.names.size < MAX_INTERNED_NAMES) this.names.set(qName, name);
    return name;
  }

  // ---------------------------------------------------------------- character data

  /** Validates one character at pos (advancing past it) and fails on anything outside XML 1.0 Char. */
  private checkChar(c: number): void {
    if (c < 0x20) {
      if (c !== 0x09 && c !== 0x0a) this.fail('INVALID_CHAR', `character U+${hex(c)} is not allowed in XML`);
      this.pos++;
      return;
    }
    if (c < 0xd800) {
      this.pos++;
      return;
    }
    if (c <= 0xdbff) {
      const lo = this.s.charCodeAt(this.pos + 1);
      if (!(lo >= 0xdc00 && lo <= 0xdfff)) this.fail('INVALID_CHAR', 'unpaired surrogate');
      this.pos += 2;
      return;
    }
    if (c <= 0xdfff) this.fail('INVALID_CHAR', 'unpaired surrogate');
    if (c === 0xfffe || c === 0xffff) this.fail('INVALID_CHAR', `character U+${hex(c)} is not allowed in XML`);
    this.pos++;
  }

  private parseText(cur: XmlElement): void {
    const s = this.s;
    let chunkStart = this.pos;
    let value = '';
    while (this.pos < this.len) {
      const c = s.charCodeAt(this.pos);
      if (c === 0x3c) break;
      if (c === 0x26) {
        value += s.slice(chunkStart, this.pos) + this.parseReference();
        chunkStart = this.pos;
        continue;
      }
      if (c === 0x5d && s.charCodeAt(this.pos + 1) === 0x5d && s.charCodeAt(this.pos + 2) === 0x3e) {
        this.fail('NOT_WELL_FORMED', "']]>' is not allowed in character data");
      }
      if (c >= 0x20 && c < 0xd800) this.pos++;
      else this.checkChar(c);
    }
    value += s.slice(chunkStart, this.pos);
    this.appendText(cur, value);
  }

  private appendText(cur: XmlElement, value: string): void {
    if (value.length === 0) return;
    const last = cur.children[cur.children.length - 1];
    if (last !== undefined && last.type === 'text') {
      last.value += value;
      return;
    }
    this.countNode();
    addChild(cur, { type: 'text', value, parent: cur });
  }

  private parseCData(cur: XmlElement): void {
    const at = this.pos;
    const from = at + 9;
    const end = this.s.indexOf(']]>', from);
    if (end === -1) this.fail('NOT_WELL_FORMED', 'unterminated CDATA section', at);
    this.pos = from;
    this.validateRange(end);
    this.pos = end + 3;
    this.appendText(cur, this.s.slice(from, end));
  }

  private validateRange(end: number): void {
    const s = this.s;
    while (this.pos < end) {
      const c = s.charCodeAt(this.pos);
      if (c >= 0x20 && c < 0xd800) this.pos++;
      else this.checkChar(c);
    }
  }

  private parseComment(parent: XmlElement | null): XmlNode {
    const at = this.pos;
    const from = at + 4;
    const end = this.s.indexOf('--', from);
    if (end === -1) this.fail('NOT_WELL_FORMED', 'unterminated comment', at);
    if (this.s.charCodeAt(end + 2) !== 0x3e) this.fail('NOT_WELL_FORMED', "'--' is not allowed inside a comment", end);
    this.pos = from;
    this.validateRange(end);
    this.pos = end + 3;
    this.countNode();
    return { type: 'comment', value: this.s.slice(from, end), parent };
  }

  private parsePI(parent: XmlElement | null): XmlNode {
    const at = this.pos;
    this.pos += 2;
    const targetStart = this.pos;
    this.scanName();
    const target = this.s.slice(targetStart, this.pos);
    if (target.toLowerCase() === 'xml') {
      this.fail('NOT_WELL_FORMED', 'the XML declaration is only allowed at the very start of the document', at);
    }
    if (target.indexOf(':') !== -1) this.fail('NOT_WELL_FORMED', 'processing instruction targets must not contain a colon', at);
    let data = '';
    if (this.s.startsWith('?>', this.pos)) {
      this.pos += 2;
    } else {
      if (!this.skipWs()) this.fail('NOT_WELL_FORMED', 'malformed processing instruction', at);
      const from = this.pos;
      const end = this.s.indexOf('?>', from);
      if (end === -1) this.fail('NOT_WELL_FORMED', 'unterminated processing instruction', at);
      this.validateRange(end);
      data = this.s.slice(from, end);
      this.pos = end + 2;
    }
    this.countNode();
    return { type: 'pi', target, data, parent };
  }

  /** At '&': decodes one predefined entity or character reference and advances past ';'. */
  private parseReference(): string {
    const s = this.s;
    const at = this.pos;
    if (s.charCodeAt(at + 1) === 0x23) {
      let i = at + 2;
      let radix = 10;
      if (s.charCodeAt(i) === 0x78) {
        radix = 16;
        i++;
      }
      const digitsAt = i;
      let cp = 0;
      for (; i < this.len; i++) {
        const c = s.charCodeAt(i);
        let d: number;
        if (c >= 0x30 && c <= 0x39) d = c - 0x30;
        else if (radix === 16 && c >= 0x61 && c <= 0x66) d = c - 0x57;
        else if (radix === 16 && c >= 0x41 && c <= 0x46) d = c - 0x37;
        else break;
        cp = cp * radix + d;
        if (cp > 0x10ffff) this.fail('INVALID_CHAR', 'character reference out of range', at);
      }
      if (i === digitsAt || s.charCodeAt(i) !== 0x3b) this.fail('NOT_WELL_FORMED', 'malformed character reference', at);
      if (!isXmlCharCodePoint(cp)) this.fail('INVALID_CHAR', `character reference to U+${hex(cp)} is not allowed`, at);
      this.pos = i + 1;
      return String.fromCodePoint(cp);
    }
    this.pos = at + 1;
    if (this.pos >= this.len || !isNameStartCode(s.charCodeAt(this.pos))) {
      this.fail('NOT_WELL_FORMED', "'&' must start an entity or character reference", at);
    }
    this.scanName();
    const name = s.slice(at + 1, this.pos);
    if (s.charCodeAt(this.pos) !== 0x3b) this.fail('NOT_WELL_FORMED', 'entity reference without ;', at);
    this.pos++;
    const v = PREDEFINED[name];
    if (v === undefined) this.fail('UNKNOWN_ENTITY', `unknown entity &${name};`, at);
    return v;
  }

  /** Attribute value with XML 1.0 §3.3.3 normalization for CDATA attributes. */
  private scanAttValue(): string {
    const s = this.s;
    const q = s.charCodeAt(this.pos);
    if (q !== 0x22 && q !== 0x27) this.fail('NOT_WELL_FORMED', 'attribute value must be quoted');
    this.pos++;
    let chunkStart = this.pos;
    let value = '';
    for (;;) {
      if (this.pos >= this.len) this.fail('NOT_WELL_FORMED', 'unterminated attribute value');
      const c = s.charCodeAt(this.pos);
      if (c === q) break;
      if (c === 0x3c) this.fail('NOT_WELL_FORMED', "'<' is not allowed in attribute values");
      if (c === 0x26) {
        value += s.slice(chunkStart, this.pos) + this.parseReference();
        chunkStart = this.pos;
        continue;
      }
      if (c === 0x09 || c === 0x0a) {
        // Literal whitespace becomes a space; the same characters written as references stay.
        value += s.slice(chunkStart, this.pos) + ' ';
        this.pos++;
        chunkStart = this.pos;
        continue;
      }
      if (c >= 0x20 && c < 0xd800) this.pos++;
      else this.checkChar(c);
    }
    value += s.slice(chunkStart, this.pos);
    this.pos++;
    return value;
  }
}

function hex(n: number): string {
  return n.toString(16).toUpperCase().padStart(4, '0');
}
