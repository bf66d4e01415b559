// The JSON Schema (2020-12) of a derived content, read off its shape (shape.ts). Complex types
// become $defs (so recursive types stay finite); objects close with additionalProperties false;
// choices are anyOf alternatives that exclude the other branches' properties.

import type { ElementDecl, Wildcard } from '../schema-set/model.js';
import { scalarSchema } from './scalars.js';
import { ANY_ATTRIBUTES_KEY, propertyMembers, type ObjectShape, type PropertyMember, type ShapeBuilder, type ValueShape } from './shape.js';

type Schema = Record<string, unknown>;

export class JsonSchemaWriter {
  private readonly defs: Record<string, Schema> = {};
  private readonly defNames = new Map<ObjectShape, string>();
  private readonly usedNames = new Set<string>();

  constructor(private readonly shapes: ShapeBuilder) {}

  /** The schema of a root element's JSON value, with its $defs. */
  document(root: ElementDecl, title: string): Schema {
    const value = this.value(this.shapes.valueOf(root), root.nillable);
    return { $schema: 'https://json-schema.org/draft/2020-12/schema', title, ...value, $defs: this.defs };
  }

  private value(shape: ValueShape, nillable: boolean): Schema {
    let s: Schema;
    if (shape.kind === 'scalar') s = scalarSchema(shape.type);
    else if (shape.kind === 'xml') s = { type: 'string', contentMediaType: 'application/xml' };
    else s = { $ref: `#/$defs/${this.def(shape.object)}` };
    return nillable ? { anyOf: [s, { type: 'null' }] } : s;
  }

  private def(obj: ObjectShape): string {
    const done = this.defNames.get(obj);
    if (done !== undefined) return done;
    const base = (obj.type?.name ?? 'anonymous').replace(/[~/]/g, '_');
    let name = base;
    for (let n = 2; this.usedNames.has(name); n++) name = `${base}_${n}`;
    this.usedNames.add(name);
    this.defNames.set(obj, name);
    this.defs[name] = {}; // reserved: a recursive reference finds the name
    this.defs[name] = this.object(obj);
    return name;
  }

  private object(obj: ObjectShape): Schema {
    const properties: Record<string, Schema> = {};
    // A flattened wrapper's properties are the object's own (shape.ts refuses clashes).
    for (const m of propertyMembers(obj.members)) properties[m.key] = this.member(m);
    if (obj.text !== null) properties[obj.text.key] = scalarSchema(obj.text.type);
    for (const a of obj.attributes) properties[a.key] = scalarSchema(a.type, a.fixed);
    if (obj.anyAttribute !== null) properties[ANY_ATTRIBUTES_KEY] = { type: 'object', propertyNames: { pattern: attributeNamePattern(obj.anyAttribute) }, additionalProperties: { type: 'string' } };
    const s: Schema = { type: 'object', additionalProperties: false, properties };
    if (obj.required.length > 0) s.required = [...new Set(obj.required)];
    const all: Schema[] = [];
    for (const c of obj.choices) {
      const keys = c.branches.flatMap((b) => b.keys);
      const alternatives: Schema[] = c.branches.map((b) => {
        const others = keys.filter((k) => !b.keys.includes(k));
        const alt: Schema = {};
        if (b.required.length > 0) alt.required = [...new Set(b.required)];
        if (others.length > 0) alt.not = { anyOf: others.map((k) => ({ required: [k] })) };
        return alt;
      });
      if (c.optional && keys.length > 0) alternatives.push({ not: { anyOf: keys.map((k) => ({ required: [k] })) } });
      if (alternatives.length > 0) all.push({ anyOf: alternatives });
    }
    if (all.length > 0) s.allOf = all;
    if (obj.dependentRequired.size > 0) s.dependentRequired = Object.fromEntries(obj.dependentRequired);
    return s;
  }

  private member(m: PropertyMember): Schema {
    let item: Schema;
    if (m.kind === 'element') item = this.value(m.value(), m.decl.nillable);
    else if (m.kind === 'any') item = { type: 'string', contentMediaType: 'application/xml' };
    else item = { $ref: `#/$defs/${this.def(m.object)}` };
    if (m.kind === 'element' && m.decl.fixed !== null && m.value().kind === 'scalar') {
      const v = m.value();
      if (v.kind === 'scalar') item = scalarSchema(v.type, m.decl.fixed);
    }
    const array = m.kind === 'group' ? true : m.array;
    if (!array) return item;
    const s: Schema = { type: 'array', items: item, minItems: Math.max(1, m.min) };
    if (Number.isFinite(m.max)) s.maxItems = m.max;
    return s;
  }
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Names in $attributes: `local` (no namespace) or `{namespace}local`, as the wildcard admits them. */
export function attributeNamePattern(w: Wildcard): string {
  const ns = w.namespaces;
  if (ns.kind === 'any') return '^(?:[^{}]+|\\{[^}]+\\}[^{}]+)$';
  if (ns.kind === 'other') return `^\\{(?!${escapeRe(ns.not)}\\})[^}]+\\}[^{}]+$`;
  const alternatives = ns.list.map((x) => (x === '' ? '[^{}]+' : `\\{${escapeRe(x)}\\}[^{}]+`));
  return `^(?:${alternatives.join('|')})$`;
}
