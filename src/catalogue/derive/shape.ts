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
// - The overrides file's `flatten` names wrapper elements whose children are lifted into the
//   enclosing JSON object: {"СведФЛ": {"ФИО": {"Фамилия": "…"}}} with flatten ["ФИО"] is
//   {"СведФЛ": {"Фамилия": "…"}}. The XML keeps the wrapper: writing puts it back, around the
//   lifted properties, in its place. It is written when its container is, if it is required
//   there (minOccurs ≥ 1, outside any choice branch or optional group of the container), else
//   exactly when one of its lifted properties is present (the JSON Schema: its required members
//   come with any of its properties, dependentRequired). Refused (OverridesError), because the
//   JSON could not say what the XML said: a wrapper of simple type, with simple or mixed
//   content, with attributes, nillable, repeated (maxOccurs > 1), containing itself, with no
//   child elements; an optional one (or one in a choice branch or optional group, or in an
//   xs:all, where its place comes from its first property) whose content can be present without
//   any property (an absent wrapper and an empty one would both be no property); and a lifted
//   property whose name (after renames) another property of the object has.

import type { ComplexType, ElementDecl, GroupParticle, Particle, SimpleType, Wildcard } from '../schema-set/model.js';
import { clark } from '../schema-set/model.js';
import { OverridesError, type Overrides } from './overrides.js';

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

/** A flattened wrapper element: its members' properties live in the enclosing JSON object. */
export interface WrapperMember {
  readonly kind: 'wrapper';
  readonly decl: ElementDecl;
  readonly min: number;
  /** Written whenever its container is (required there); otherwise when any of `keys` is present. */
  readonly always: boolean;
  /** The lifted members, in schema order. */
  readonly members: Member[];
  /** Its content is an xs:all: written in the JSON object's key order. */
  readonly all: boolean;
  /** Every property the wrapper lifts (those of nested wrappers included). */
  readonly keys: string[];
}

export type Member = ElementMember | GroupMember | AnyMember | WrapperMember;

/** A member that is a JSON property (not a flattened wrapper). */
export type PropertyMember = ElementMember | GroupMember | AnyMember;

/** The members that are JSON properties, those of flattened wrappers taken up in their place. */
export function propertyMembers(members: readonly Member[]): PropertyMember[] {
  const out: PropertyMember[] = [];
  for (const m of members) {
    if (m.kind === 'wrapper') out.push(...propertyMembers(m.members));
    else out.push(m);
  }
  return out;
}

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
  /** Where members go: the object's, or a flattened wrapper's. */
  readonly members: Member[];
  /** The object's keys, each with its owner: '' for the object, a wrapper's id for what it lifts. */
  readonly used: Map<string, string>;
  /** Who claims keys here ('' or a wrapper's id), and how to name it in a message. */
  readonly owner: string;
  /** Whether every group since the container (the object or the wrapper) occurs at least once, outside any choice branch. */
  readonly local: boolean;
  /** The container's content is an xs:all (children in any order). */
  readonly all: boolean;
  /** Keys that the enclosing choice branch collects (for exclusivity), or null. */
  readonly branch: { keys: string[]; required: string[] } | null;
  /** Whether every enclosing group occurs at least once (then a min ≥ 1 member is required). */
  readonly required: boolean;
  /** Keys the enclosing optional sequence collects, or null. */
  readonly together: { keys: string[]; required: string[] } | null;
  /**
   * The flattened wrappers (not always written) this scope is inside, innermost last: each
   * collects the keys it lifts, the innermost also those required whenever it is present.
   */
  readonly lifted: readonly { keys: string[]; required: string[] }[];
}

export class ShapeBuilder {
  private readonly objects = new Map<ComplexType, ObjectShape>();
  /** Overrides entries that matched something ('rename' / 'flatten' + name). */
  private readonly matched = new Set<string>();
  /** Wrappers being lifted (a wrapper that contains itself is refused). */
  private readonly lifting = new Set<ComplexType>();
  private wrappers = 0;

  constructor(private readonly overrides: Overrides) {}

  /** Overrides entries that matched no element or attribute reached so far (call after deriving every part). */
  unmatched(): { readonly section: 'rename' | 'flatten'; readonly name: string }[] {
    const out: { section: 'rename' | 'flatten'; name: string }[] = [];
    for (const name of this.overrides.rename.keys()) if (!this.matched.has(`rename ${name}`)) out.push({ section: 'rename', name });
    for (const name of this.overrides.flatten) if (!this.matched.has(`flatten ${name}`)) out.push({ section: 'flatten', name });
    return out;
  }

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
    const used = new Map<string, string>();
    const all = t.content.kind === 'elements' && t.content.particle.kind === 'all' && t.content.particle.max === 1;
    const scope: Scope = { obj, members: obj.members, used, owner: '', local: true, all, branch: null, required: true, together: null, lifted: [] };
    if (t.content.kind === 'elements') {
      obj.all = all;
      this.flatten(t.content.particle, scope);
    }
    if (t.content.kind === 'simple') {
      obj.text = { key: this.claim(scope, TEXT_KEY), type: t.content.type };
      obj.required.push(obj.text.key);
    }
    // Attributes after elements: an element keeps its name, a clashing attribute becomes @name
    // (a property a wrapper lifted is not the object's own: that clash is refused by claim).
    for (const a of t.attributes) {
      const base = this.rename(a.ns, a.local);
      const key = used.get(base) === '' ? this.claim(scope, `@${base}`) : this.claim(scope, base);
      obj.attributes.push({ key, ns: a.ns, local: a.local, type: a.type, required: a.required, fixed: a.fixed });
      if (a.required) obj.required.push(key);
    }
    if (t.anyAttribute !== null) this.claim(scope, ANY_ATTRIBUTES_KEY);
    return obj;
  }

  private rename(ns: string, local: string): string {
    const full = clark(ns, local);
    const byFull = this.overrides.rename.get(full);
    if (byFull !== undefined) {
      this.matched.add(`rename ${full}`);
      return byFull;
    }
    const byLocal = this.overrides.rename.get(local);
    if (byLocal !== undefined) {
      this.matched.add(`rename ${local}`);
      return byLocal;
    }
    return local;
  }

  /** The flatten entry that names this element, or null. */
  private flattenEntry(decl: ElementDecl): string | null {
    const full = clark(decl.ns, decl.local);
    const entry = this.overrides.flatten.has(full) ? full : this.overrides.flatten.has(decl.local) ? decl.local : null;
    if (entry !== null) this.matched.add(`flatten ${entry}`);
    return entry;
  }

  /** A key of the object for `base`: "_2", "_3"… after one the same owner has; refused when another owner has it. */
  private claim(scope: Scope, base: string): string {
    let key = base;
    for (let n = 2; scope.used.has(key); n++) {
      const other = scope.used.get(key) as string;
      if (other !== scope.owner) throw this.clash(scope, key, other);
      key = `${base}_${n}`;
    }
    scope.used.set(key, scope.owner);
    return key;
  }

  private clash(scope: Scope, key: string, other: string): OverridesError {
    const where = scope.obj.type === null ? 'a repeated group' : scope.obj.type.name !== null ? `type ${scope.obj.type.name}` : `the anonymous type at ${scope.obj.type.place}`;
    const lifted = (owner: string): string => `lifted from ${owner.replace(/#\d+$/, '')}`;
    const mine = scope.owner === '' ? 'its own' : lifted(scope.owner);
    const theirs = other === '' ? 'its own' : lifted(other);
    return new OverridesError(`flatten: the property "${key}" would be in the JSON object of ${where} twice (${theirs} and ${mine}); rename one of them or do not flatten`);
  }

  private note(scope: Scope, key: string, required: boolean): void {
    // A wrapper that is not always written comes with its required members.
    for (const w of scope.lifted) w.keys.push(key);
    const wrapper = scope.lifted[scope.lifted.length - 1];
    if (wrapper !== undefined && required && scope.local) wrapper.required.push(key);
    // Within a branch or an optional group, a member is required only if the groups between
    // them occur at least once (scope.required).
    if (scope.branch !== null) {
      scope.branch.keys.push(key);
      if (required && scope.required) scope.branch.required.push(key);
    } else if (scope.together !== null) {
      scope.together.keys.push(key);
      if (required && scope.required) scope.together.required.push(key);
    } else if (required && scope.required) {
      scope.obj.required.push(key);
    }
  }

  private flatten(p: Particle, scope: Scope): void {
    if (p.kind === 'element') {
      const entry = this.flattenEntry(p.decl);
      if (entry !== null) {
        this.lift(p, entry, scope);
        return;
      }
      const key = this.claim(scope, this.rename(p.decl.ns, p.decl.local));
      const decl = p.decl;
      let value: ValueShape | undefined;
      scope.members.push({
        kind: 'element', key, decl, min: p.min, max: p.max, array: p.max > 1,
        value: () => (value ??= this.valueOf(decl)),
      });
      this.note(scope, key, p.min >= 1);
      return;
    }
    if (p.kind === 'any') {
      const key = this.claim(scope, ANY_KEY);
      scope.members.push({ kind: 'any', key, min: p.min, max: p.max, array: p.max > 1, wildcard: p.wildcard });
      this.note(scope, key, p.min >= 1);
      return;
    }
    if (p.max > 1) {
      // A repeated group: an array of objects, each one iteration.
      const key = this.claim(scope, p.kind);
      const inner = newObject(null, null);
      const once: GroupParticle = { ...p, min: 1, max: 1 };
      if (p.kind === 'all') inner.all = true;
      this.flatten(once, { obj: inner, members: inner.members, used: new Map(), owner: '', local: true, all: inner.all, branch: null, required: true, together: null, lifted: [] });
      scope.members.push({ kind: 'group', key, min: p.min, max: p.max, object: inner });
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
        this.flatten(item, { ...scope, branch, required: true, together: null, local: false });
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
      for (const item of p.items) this.flatten(item, { ...scope, together, local: false, required: true });
      this.allOrNone(scope, together);
      return;
    }
    const required = scope.required && p.min >= 1;
    for (const item of p.items) this.flatten(item, { ...scope, required, local: scope.local && p.min >= 1 });
  }

  /** An optional group's required members come all or none. */
  private allOrNone(scope: Scope, together: { keys: string[]; required: string[] }): void {
    for (const k of together.keys) {
      const others = together.required.filter((r) => r !== k);
      if (others.length > 0) scope.obj.dependentRequired.set(k, [...new Set([...(scope.obj.dependentRequired.get(k) ?? []), ...others])]);
    }
  }

  /** A flattened wrapper: its content's members in the enclosing object, under the wrapper's member. */
  private lift(p: Extract<Particle, { kind: 'element' }>, entry: string, scope: Scope): void {
    const decl = p.decl;
    const refuse = (why: string): OverridesError => new OverridesError(`flatten "${entry}": the element ${decl.local} (${decl.place}) ${why}`);
    const t = decl.type;
    if (t.kind === 'simple') throw refuse('is of simple type: it has no child properties to lift');
    if (p.max > 1) throw refuse(`repeats (maxOccurs ${Number.isFinite(p.max) ? p.max : 'unbounded'}): its occurrences would merge into one object`);
    if (decl.nillable) throw refuse('is nillable: xsi:nil="true" would have no JSON of its own');
    if (t.attributes.length > 0 || t.anyAttribute !== null) throw refuse(`has attributes (${t.attributes.map((a) => a.local).join(', ') || 'xs:anyAttribute'}): they would have no object to go in`);
    if (t.content.kind === 'simple') throw refuse('has text content (simpleContent): the text would have no property');
    if (t.content.kind === 'any') throw refuse('is of xs:anyType: its content is XML, not properties');
    if (t.content.kind === 'empty') throw refuse('has no child elements: there is nothing to lift');
    if (t.content.mixed) throw refuse('has mixed content: its text would have no property');
    if (this.lifting.has(t)) throw refuse(`contains itself (type ${t.name ?? 'anonymous'}): flattening would never end`);
    const content = t.content.particle;
    const always = scope.local && p.min >= 1;
    const guaranteed = this.guaranteesKey(content, new Set([t]));
    if (!always && !guaranteed) {
      const how = p.min === 0 ? 'is optional' : 'is in a choice or an optional group';
      throw refuse(`${how} and its content may have no property: an absent ${decl.local} and an empty one would be the same JSON`);
    }
    if (scope.all && !guaranteed) throw refuse(`is in an xs:all and its content may have no property: its place among the others would be lost`);
    const wrapper: WrapperMember = { kind: 'wrapper', decl, min: p.min, always, members: [], all: content.kind === 'all' && content.max === 1, keys: [] };
    scope.members.push(wrapper);
    // The content is one group of the container, occurring as the wrapper does; one that is
    // not always written collects its keys, whose required ones come with any of them.
    const tracker = always ? null : { keys: [] as string[], required: [] as string[] };
    const inner: Scope = {
      ...scope, members: wrapper.members, owner: `${decl.local}#${++this.wrappers}`, local: true, all: wrapper.all,
      required: scope.required && p.min >= 1, lifted: tracker === null ? scope.lifted : [...scope.lifted, tracker],
    };
    this.lifting.add(t);
    try {
      this.flatten(content, inner);
    } finally {
      this.lifting.delete(t);
    }
    if (tracker !== null) this.allOrNone(scope, tracker);
    wrapper.keys.push(...propertyMembers(wrapper.members).map((m) => m.key));
  }

  /** Whether content matching the particle always has at least one JSON property. */
  private guaranteesKey(p: Particle, seen: Set<ComplexType>): boolean {
    if (p.min < 1) return false;
    if (p.kind === 'any') return true;
    if (p.kind === 'element') {
      if (this.overrides.flatten.size === 0) return true;
      const full = clark(p.decl.ns, p.decl.local);
      if (!this.overrides.flatten.has(full) && !this.overrides.flatten.has(p.decl.local)) return true;
      // A nested flattened wrapper: a property only if its own content has one.
      const t = p.decl.type;
      if (t.kind !== 'complex' || seen.has(t) || t.content.kind !== 'elements') return false;
      seen.add(t);
      const r = this.guaranteesKey(t.content.particle, seen);
      seen.delete(t);
      return r;
    }
    if (p.max > 1) return true; // a repeated group: its array
    if (p.kind === 'choice') return p.items.length > 0 && p.items.every((x) => this.guaranteesKey(x, seen));
    return p.items.some((x) => this.guaranteesKey(x, seen));
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
