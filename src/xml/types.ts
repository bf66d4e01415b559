// Tree shape produced by parser.ts and consumed by c14n.ts / smev-transform.ts.
// Plain objects (no classes) keep construction cheap on large envelopes.

export const XML_NS = 'http://www.w3.org/XML/1998/namespace';
export const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';
export const WSU_NS =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd';

export interface XmlAttribute {
  prefix: string;
  localName: string;
  /** '' when the attribute is in no namespace (unprefixed attributes never take the default). */
  namespaceURI: string;
  qName: string;
  /** Normalized value (XML 1.0 §3.3.3 for CDATA attributes), references decoded. */
  value: string;
}

export interface XmlNsDecl {
  /** '' for the default namespace declaration (xmlns="..."). */
  prefix: string;
  /** '' only for xmlns="" (undeclaring the default namespace). */
  uri: string;
}

export interface XmlElement {
  type: 'element';
  prefix: string;
  localName: string;
  /** '' for no namespace. */
  namespaceURI: string;
  qName: string;
  /** Ordinary attributes in document order; namespace declarations are in nsDecls. */
  attributes: XmlAttribute[];
  /** This element's own namespace declarations, in document order. */
  nsDecls: XmlNsDecl[];
  children: XmlNode[];
  parent: XmlElement | null;
  /** Offset of '<' of the start tag in the (line-end normalized) source text. */
  start: number;
  /** Offset just past the end tag (or '/>'). */
  end: number;
}

export interface XmlText {
  type: 'text';
  /** Decoded character data; adjacent CDATA sections and text are merged. */
  value: string;
  parent: XmlElement | null;
}

export interface XmlComment {
  type: 'comment';
  value: string;
  parent: XmlElement | null;
}

export interface XmlProcessingInstruction {
  type: 'pi';
  target: string;
  data: string;
  parent: XmlElement | null;
}

export type XmlNode = XmlElement | XmlText | XmlComment | XmlProcessingInstruction;

export interface XmlDocument {
  /** Document element. */
  root: XmlElement;
  /** Top-level nodes in order: comments and PIs around the root, and the root itself. */
  children: XmlNode[];
  /**
   * Elements carrying Id / ID / id (no namespace) or wsu:Id equal to value, in document order.
   * More than one entry means the document is ambiguous for same-document references.
   */
  elementsById(value: string): XmlElement[];
  /** Line/column (1-based) for an offset of the normalized source, for diagnostics. */
  position(offset: number): { line: number; column: number };
}

export interface XmlLimits {
  maxDepth: number;
  maxAttributes: number;
  maxNodes: number;
  maxBytes: number;
}

export const DEFAULT_LIMITS: Readonly<XmlLimits> = Object.freeze({
  maxDepth: 256,
  maxAttributes: 256,
  maxNodes: 1_000_000,
  maxBytes: 32 * 1024 * 1024,
});
