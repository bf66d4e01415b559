// The compiled schema the validator walks: plain objects built once by compile.ts from a schema
// set (../schema-set/) and only read afterwards. Every element and attribute name is a clark
// key, `{namespace}local`, so one model serves packages of many namespaces.

import type { IdentityConstraint } from './identity.js';
import type { SimpleType } from './simple-types.js';

export function clarkKey(ns: string, local: string): string {
  return `{${ns}}${local}`;
}

export interface ElementDecl {
  readonly ns: string;
  /** Local name (what messages and paths show). */
  readonly name: string;
  /** clarkKey(ns, name). */
  readonly key: string;
  /** Assigned after creation: global elements and named types may be referenced before they are compiled. */
  type: TypeDef;
  readonly nillable: boolean;
  /** Value constraint of a simple value: fixed (value-space key and lexical form) or default (lexical). */
  readonly fixed: { readonly key: string; readonly lexical: string } | null;
  readonly defaultValue: string | null;
  /** key / keyref / unique declared on this element. */
  identity: readonly IdentityConstraint[];
}

export interface AttributeDecl {
  readonly ns: string;
  readonly name: string;
  readonly key: string;
  readonly type: SimpleType;
  readonly required: boolean;
  /** Value-space key of the fixed value, and its lexical form for messages. */
  readonly fixed: { readonly key: string; readonly lexical: string } | null;
}

export interface Wildcard {
  /** Whether an element or attribute in namespace ns (or '' for none) is allowed. */
  allows(ns: string): boolean;
  readonly process: 'strict' | 'lax' | 'skip';
  /** For messages, e.g. "##other". */
  readonly text: string;
}

/** What can begin a particle: element names, plus wildcards that admit whole namespaces. */
export interface FirstSet {
  readonly names: ReadonlySet<string>;
  readonly wildcards: readonly Wildcard[];
}

export interface ElementParticle {
  readonly kind: 'element';
  readonly decl: ElementDecl;
  readonly min: number;
  /** Infinity for unbounded. */
  readonly max: number;
  readonly first: FirstSet;
  /** minOccurs is 0. */
  readonly nullable: boolean;
}

export interface AnyParticle {
  readonly kind: 'any';
  readonly wildcard: Wildcard;
  readonly min: number;
  readonly max: number;
  readonly first: FirstSet;
  readonly nullable: boolean;
}

export interface GroupParticle {
  readonly kind: 'sequence' | 'choice' | 'all';
  readonly min: number;
  readonly max: number;
  readonly items: readonly Particle[];
  /** Names that can start one iteration of this group (lookahead for the greedy matcher). */
  readonly first: FirstSet;
  /** Whether the whole particle may match nothing (minOccurs 0, or an iteration can be empty). */
  readonly nullable: boolean;
  /** Whether one iteration of the group can match no elements at all. */
  readonly emptyIteration: boolean;
}

export type Particle = ElementParticle | AnyParticle | GroupParticle;

export type Content =
  | { readonly kind: 'empty' }
  | {
      readonly kind: 'elements';
      readonly particle: GroupParticle;
      /**
       * Every element the model mentions, by clark key. Element Declarations Consistent makes this
       * a function, so children can still be checked after the content model itself failed to match.
       */
      readonly decls: ReadonlyMap<string, ElementDecl>;
      /** Text may appear between the elements. */
      readonly mixed: boolean;
    }
  | { readonly kind: 'simple'; readonly type: SimpleType }
  /** xs:anyType: any attributes, text and elements (elements with a global declaration are checked against it). */
  | { readonly kind: 'any' };

export interface ComplexType {
  readonly kind: 'complex';
  /** Name for messages; null for anonymous types. */
  name: string | null;
  attributes: Map<string, AttributeDecl>;
  anyAttribute: Wildcard | null;
  content: Content;
}

export interface SimpleTypeDef {
  readonly kind: 'simple';
  readonly type: SimpleType;
}

export type TypeDef = ComplexType | SimpleTypeDef;

export interface SchemaModel {
  /** The namespace of the entry schema (for messages). */
  readonly targetNamespace: string;
  /** Every global element of the set, by clark key: the possible roots and what wildcards and refs resolve to. */
  readonly globals: ReadonlyMap<string, ElementDecl>;
  /** Global attributes by clark key (for anyAttribute with strict or lax processing). */
  readonly globalAttributes: ReadonlyMap<string, AttributeDecl>;
  /** Local names of the entry namespace's global elements (for messages). */
  readonly rootNames: readonly string[];
  /** Whether any element declares key / keyref / unique (the validator then keeps what it needs). */
  readonly hasIdentity: boolean;
}
