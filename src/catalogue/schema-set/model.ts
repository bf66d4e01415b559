// The structure of a schema set as the JSON derivation needs it: element and attribute
// declarations with their namespaces, content models with groups, attribute groups and
// complex-type derivation already expanded, and simple types as facet summaries.
// Built once at start-up by resolve.ts; validation is libxml2's business (see ../xsd-validator.ts).

/** `{namespace}local`, the key of every named component. */
export type Clark = string;

export function clark(ns: string, local: string): Clark {
  return `{${ns}}${local}`;
}

/** Where a component is declared, for messages: "file:line". */
export type Place = string;

export interface Facets {
  /** Lexical values (whitespace-normalised) of the most derived step that has any. */
  enumeration?: string[];
  /** One entry per derivation step; the alternatives of a step are ORed, steps are ANDed. */
  patterns?: string[][];
  length?: number;
  minLength?: number;
  maxLength?: number;
  minInclusive?: string;
  maxInclusive?: string;
  minExclusive?: string;
  maxExclusive?: string;
  totalDigits?: number;
  fractionDigits?: number;
  whiteSpace?: 'preserve' | 'replace' | 'collapse';
}

export interface AtomicType {
  readonly kind: 'simple';
  /** Where it is declared ("file:line"), for messages. */
  readonly place?: Place;
  readonly variety: 'atomic';
  /** Name for messages ("xs:date", a named type, or "anonymous type of X"). */
  readonly name: string;
  /** Local name of the built-in at the root of the derivation, e.g. "date", "decimal", "int". */
  readonly builtin: string;
  readonly facets: Facets;
}

export interface ListType {
  readonly kind: 'simple';
  /** Where it is declared ("file:line"), for messages. */
  readonly place?: Place;
  readonly variety: 'list';
  readonly name: string;
  readonly item: SimpleType;
  readonly facets: Facets;
}

export interface UnionType {
  readonly kind: 'simple';
  /** Where it is declared ("file:line"), for messages. */
  readonly place?: Place;
  readonly variety: 'union';
  readonly name: string;
  readonly members: readonly SimpleType[];
  readonly facets: Facets;
}

export type SimpleType = AtomicType | ListType | UnionType;

export interface Wildcard {
  /** ##any, ##other (of `targetNamespace`), or a list of namespaces ('' for ##local). */
  readonly namespaces: { kind: 'any' } | { kind: 'other'; not: string } | { kind: 'list'; list: readonly string[] };
  readonly process: 'strict' | 'lax' | 'skip';
}

export interface AttributeUse {
  readonly ns: string;
  readonly local: string;
  readonly type: SimpleType;
  readonly required: boolean;
  readonly fixed: string | null;
  readonly defaultValue: string | null;
}

/** An xs:key / xs:keyref / xs:unique as written, compiled by the validator (../xsd/identity.ts). */
export interface RawIdentityConstraint {
  readonly el: import('../../xml/types.js').XmlElement;
  readonly tns: string;
  readonly file: string;
  readonly line: number;
}

export interface ElementDecl {
  readonly ns: string;
  readonly local: string;
  /** Set after creation: global elements and named types may be referenced before they are resolved. */
  type: TypeDef;
  readonly nillable: boolean;
  readonly fixed: string | null;
  readonly defaultValue: string | null;
  readonly place: Place;
  readonly identity: readonly RawIdentityConstraint[];
}

export interface ElementParticle {
  readonly kind: 'element';
  readonly decl: ElementDecl;
  readonly min: number;
  /** Infinity for unbounded. */
  readonly max: number;
}

export interface GroupParticle {
  readonly kind: 'sequence' | 'choice' | 'all';
  readonly min: number;
  readonly max: number;
  readonly items: readonly Particle[];
}

export interface AnyParticle {
  readonly kind: 'any';
  readonly min: number;
  readonly max: number;
  readonly wildcard: Wildcard;
}

export type Particle = ElementParticle | GroupParticle | AnyParticle;

export type Content =
  | { readonly kind: 'empty' }
  | { readonly kind: 'simple'; readonly type: SimpleType }
  | { readonly kind: 'elements'; readonly particle: GroupParticle; readonly mixed: boolean }
  /** xs:anyType: any attributes, any content. */
  | { readonly kind: 'any' };

export interface ComplexType {
  readonly kind: 'complex';
  /** Name for messages; null when anonymous. */
  readonly name: string | null;
  attributes: AttributeUse[];
  anyAttribute: Wildcard | null;
  content: Content;
  readonly place: Place;
}

export type TypeDef = SimpleType | ComplexType;
