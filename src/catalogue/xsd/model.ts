// The compiled schema: plain objects built once by compile.ts and only read by the validator.

import type { SimpleType } from './simple-types.js';

export interface ElementDecl {
  /** Local name; the namespace is always the schema's targetNamespace (elementFormDefault="qualified"). */
  readonly name: string;
  /** Assigned after creation for global elements, so that refs and recursive types can point at it. */
  type: TypeDef;
}

export interface AttributeDecl {
  /** Unqualified (attributeFormDefault="unqualified"): matched against no-namespace attributes only. */
  readonly name: string;
  readonly type: SimpleType;
  readonly required: boolean;
  /** Value-space key of the fixed value, and its lexical form for messages. */
  readonly fixed: { key: string; lexical: string } | null;
}

export interface ElementParticle {
  readonly kind: 'element';
  readonly decl: ElementDecl;
  readonly min: number;
  /** Infinity for unbounded. */
  readonly max: number;
  /** Names that can start this particle: just decl.name. */
  readonly first: ReadonlySet<string>;
  /** minOccurs is 0. */
  readonly nullable: boolean;
}

export interface GroupParticle {
  readonly kind: 'sequence' | 'choice' | 'all';
  readonly min: number;
  readonly max: number;
  readonly items: readonly Particle[];
  /** Names that can start one iteration of this group (lookahead for the greedy matcher). */
  readonly first: ReadonlySet<string>;
  /** Whether the whole particle may match nothing (minOccurs 0, or an iteration can be empty). */
  readonly nullable: boolean;
  /** Whether one iteration of the group can match no elements at all. */
  readonly emptyIteration: boolean;
}

export type Particle = ElementParticle | GroupParticle;

export type Content =
  | { readonly kind: 'empty' }
  | {
      readonly kind: 'elements';
      readonly particle: GroupParticle;
      /**
       * Every element the model mentions, by name. Element Declarations Consistent makes this a
       * function, so children can still be checked after the content model itself failed to match.
       */
      readonly decls: ReadonlyMap<string, ElementDecl>;
    }
  | { readonly kind: 'simple'; readonly type: SimpleType };

export interface ComplexType {
  readonly kind: 'complex';
  /** Name for messages; null for anonymous types. */
  name: string | null;
  attributes: Map<string, AttributeDecl>;
  content: Content;
}

export interface SimpleTypeDef {
  readonly kind: 'simple';
  readonly type: SimpleType;
}

export type TypeDef = ComplexType | SimpleTypeDef;
