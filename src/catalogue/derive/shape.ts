// The JSON form of XML content, derived from the schema set alone: which JSON property carries
// each element and attribute, what repeats, which choices exclude each other. The JSON Schema
// (json-schema.ts) and the translation both ways (translate.ts) are read off this one tree, so
// they cannot disagree. The rules (README "Adding a federal service" has them for users):
//
// - An element of simple type is a scalar; of complex type an object; of xs:anyType, or with
//   mixed content, a string holding its content as XML.
// - Properties are named by the XML local name (Cyrillic included), in schema order. An attribute
//   whose name a child element already uses becomes "@name"; the text of simple content is
//   "$value"; a second element with the same local name in one object (another namespace or
//   another place in the content model) gets "_2", "_3"...
// - maxOccurs > 1 makes an array. Groups that occur once are flattened into their object; a
//   repeated group (sequence/choice/all with maxOccurs > 1) is an array of objects under
//   "sequence" / "choice" / "all". The branches of a choice exclude each other (the JSON Schema
//   says so with anyOf); an optional sequence's required members come all or none.
// - xs:any is a string of XML ("$any", an array when it repeats); xs:anyAttribute an object
//   "$attributes" of name → value (names as {namespace}local, or local for no namespace).
// - xsi:nil="true" on a nillable element is null.
// - The overrides file renames properties (by XML local name, or by {namespace}local).

import type { ComplexType, ElementDecl, GroupParticle, Particle, SimpleType, Wildcard } from '../schema-set/model.js';
import { clark } from '../schema-set/model.js';
import type { Overrides } from './overrides.js';

export type ValueShape =
  | { readonly kind: 'scalar'; readonly type: SimpleType }
  | { readonly kind: 'object'; readonly object: ObjectShape }
  /** Content carried as an XML string: xs:anyType, mixed content. */
  | { readonly kind: 'xml' };

export interface AttributeField {
  readonly key: string;
  readonly ns: string;
  readonly local: string;
  readonly type: SimpleType;
  readonly required: boolean;
  readonly fixed: string | null;
}

export interface ElementMember {
  readonly kind: 'element';
  readonly key: string;
  readonly decl: ElementDecl;
  readonly min: number;
  readonly max: number;
  /** maxOccurs > 1: a JSON array. */
  readonly array: boolean;
  /** Resolved lazily: recursive types reach themselves. */
  readonly value: () => ValueShape;
}

export interface GroupMember {
  readonly kind: 'group';
  readonly key: string;
  readonly min: number;
  readonly max: number;
  readonly object: ObjectShape;
}

export interface AnyMember {
  readonly kind: 'any';
  readonly key: string;
  readonly min: number;
  readonly max: number;
  readonly array: boolean;
  readonly wildcard: Wildcard;
}

export type Member = ElementMember | GroupMember | AnyMember;

/** The branches of a choice that occurs once: exactly one branch's properties may be present. */
export interface ChoiceRule {
  readonly optional: boolean;
  readonly branches: readonly { readonly keys: readonly string[]; readonly required: readonly string[] }[];
}

export interface ObjectShape {
  /** The complex type (null for the object of a repeated group); names its $defs entry. */
  readonly type: ComplexType | null;
  readonly attributes: AttributeField[];
  readonly anyAttribute: Wildcard | null;
  /** simple content: its text. */
  text: { readonly key: string; readonly type: SimpleType } | null;
  readonly members: Member[];
  /** The content model is an xs:all: children in any order (written in the JSON object's key order). */
  all: boolean;
  readonly required: string[];
  readonly choices: ChoiceRule[];
  /** Keys that require others (the required members of an optional sequence). */
  readonly dependentRequired: Map<string, string[]>;
}

export const TEXT_KEY = '$value';
export const ANY_KEY = '$any';
export const ANY_ATTRIBUTES_KEY = '$attributes';

/** Collects keys while one object's members are flattened. */
interface Scope {
  readonly obj: ObjectShape;
  readonly used: Set<string>;
  /** Keys that the enclosing choice branch collects (for exclusivity), or null. */
  readonly branch: { keys: string[]; required: string[] } | null;
  /** Whether every enclosing group occurs at least once (then a min ≥ 1 member is required). */
  readonly required: boolean;
  /** Keys the enclosing optional sequence collects, or null. */
  readonly together: { keys: string[]; required: string[] } | null;
}

export class ShapeBuilder {
  private readonly objects = new Map<ComplexType, ObjectShape>();

  constructor(private readonly overrides: Overrides) {}

  valueOf(decl: ElementDecl): ValueShape {
    const t = decl.type;
    if (t.kind === 'simple') return { kind: 'scalar', type: t };
    if (t.content.kind === 'any') return { kind: 'xml' };
    if (t.content.kind === 'elements' && t.content.mixed) return { kind: 'xml' };
    return { kind: 'object', object: this.objectOf(t) };
  }

  objectOf(t: ComplexType): ObjectShape {
    const done = this.objects.get(t);
    if (done !== undefined) return done;
    const obj = newObject(t, t.anyAttribute);
    this.objects.set(t, obj);
    const used = new Set<string>();
    const scope: Scope = { obj, used, branch: null, required: true, together: null };
    if (t.content.kind === 'elements') {
      const p = t.content.particle;
      if (p.kind === 'all' && p.max === 1) obj.all = true;
      this.flatten(p, scope);
    }
    if (t.content.kind === 'simple') {
      obj.text = { key: this.claim(used, TEXT_KEY), type: t.content.type };
      obj.required.push(obj.text.key);
    }
    // Attributes after elements: an element keeps its name, a clashing attribute becomes @name.
    for (const a of t.attributes) {
      const base = this.rename(a.ns, a.local);
      const key = used.has(base) ? this.claim(used, `@${base}`) : this.claim(used, base);
      obj.attributes.push({ key, ns: a.ns, local: a.local, type: a.type, required: a.required, fixed: a.fixed });
      if (a.required) obj.required.push(key);
    }
    if (t.anyAttribute !== null) this.claim(used, ANY_ATTRIBUTES_KEY);
    return obj;
  }

  private rename(ns: string, local: string): string {
    return this.overrides.rename.get(clark(ns, local)) ?? this.overrides.rename.get(local) ?? local;
  }

  private claim(used: Set<string>, base: string): string {
    let key = base;
    for (let n = 2; used.has(key); n++) key = `${base}_${n}`;
    used.add(key);
    return key;
  }

  private note(scope: Scope, key: string, required: boolean): void {
    if (scope.branch !== null) {
      scope.branch.keys.push(key);
      if (required) scope.branch.required.push(key);
    } else if (scope.together !== null) {
      scope.together.keys.push(key);
      if (required) scope.together.required.push(key);
    } else if (required && scope.required) {
      scope.obj.required.push(key);
    }
  }

  private flatten(p: Particle, scope: Scope): void {
    if (p.kind === 'element') {
      const key = this.claim(scope.used, this.rename(p.decl.ns, p.decl.local));
      const decl = p.decl;
      let value: ValueShape | undefined;
      scope.obj.members.push({
        kind: 'element', key, decl, min: p.min, max: p.max, array: p.max > 1,
        value: () => (value ??= this.valueOf(decl)),
      });
      this.note(scope, key, p.min >= 1);
      return;
    }
    if (p.kind === 'any') {
      const key = this.claim(scope.used, ANY_KEY);
      scope.obj.members.push({ kind: 'any', key, min: p.min, max: p.max, array: p.max > 1, wildcard: p.wildcard });
      this.note(scope, key, p.min >= 1);
      return;
    }
    if (p.max > 1) {
      // A repeated group: an array of objects, each one iteration.
      const key = this.claim(scope.used, p.kind);
      const inner = newObject(null, null);
      const once: GroupParticle = { ...p, min: 1, max: 1 };
      if (p.kind === 'all') inner.all = true;
      this.flatten(once, { obj: inner, used: new Set(), branch: null, required: true, together: null });
      scope.obj.members.push({ kind: 'group', key, min: p.min, max: p.max, object: inner });
      this.note(scope, key, p.min >= 1);
      return;
    }
    if (p.kind === 'choice') {
      const branches: { keys: string[]; required: string[] }[] = [];
      // Inside a branch, an optional group or an optional parent, the enclosing rule decides
      // whether this choice must be taken: here it only says "at most one branch".
      let optional = p.min === 0 || scope.branch !== null || scope.together !== null || !scope.required;
      for (const item of alternativesOf(p)) {
        const branch = { keys: [] as string[], required: [] as string[] };
        this.flatten(item, { ...scope, branch, required: true, together: null });
        // A branch that may be empty makes the whole choice optional.
        if (branch.required.length === 0) optional = true;
        branches.push(branch);
      }
      if (p.items.length === 0) optional = true;
      scope.obj.choices.push({ optional, branches });
      // For an enclosing branch or group, the choice's keys belong to it (never required there).
      for (const b of branches) for (const k of b.keys) this.note(scope, k, false);
      return;
    }
    // sequence or all, once
    if (p.min === 0 && scope.branch === null && scope.together === null) {
      const together = { keys: [] as string[], required: [] as string[] };
      for (const item of p.items) this.flatten(item, { ...scope, together });
      for (const k of together.keys) {
        const others = together.required.filter((r) => r !== k);
        if (others.length > 0) scope.obj.dependentRequired.set(k, others);
      }
      return;
    }
    const required = scope.required && p.min >= 1;
    for (const item of p.items) this.flatten(item, { ...scope, required });
  }
}

/** A choice's branches, with the branches of choices nested directly in it (occurring once) taken up. */
function alternativesOf(p: GroupParticle): Particle[] {
  const out: Particle[] = [];
  for (const item of p.items) {
    if (item.kind === 'choice' && item.min === 1 && item.max === 1) out.push(...alternativesOf(item));
    else out.push(item);
  }
  return out;
}

function newObject(type: ComplexType | null, anyAttribute: Wildcard | null): ObjectShape {
  return {
    type,
    attributes: [],
    anyAttribute,
    text: null,
    members: [],
    all: false,
    required: [],
    choices: [],
    dependentRequired: new Map(),
  };
}
