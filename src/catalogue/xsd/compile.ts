// Compiles a schema set (../schema-set/, every file of a package read and resolved) into the
// model the validator walks (model.ts): simple types with their facet checks, content models
// with lookahead sets, checked for Unique Particle Attribution and Element Declarations
// Consistent, identity constraints compiled. Runs once per package at start-up.

import path from 'node:path';
import type * as S from '../schema-set/model.js';
import type { SchemaSet } from '../schema-set/resolve.js';
import { normalizeWhiteSpace } from './builtins.js';
import { XsdCompileError } from './errors.js';
import { compileIdentityConstraint, linkIdentityConstraints, type IdentityConstraint } from './identity.js';
import {
  clarkKey,
  type AttributeDecl,
  type ComplexType,
  type Content,
  type ElementDecl,
  type GroupParticle,
  type Particle,
  type SchemaModel,
  type SimpleTypeDef,
  type TypeDef,
  type Wildcard,
} from './model.js';
import { anyParticle, checkUpa, collectDecls, elementParticle, groupParticle, inconsistentDeclaration } from './particles.js';
import { builtinSimple, FacetError, listType, restrict, simpleKey, unionType, type RawFacet, type SimpleType } from './simple-types.js';

/** "file.xsd:12" → the file (absolute, under dir) and the line, for XsdCompileError. */
function splitPlace(dir: string, place: string | undefined): { file: string; line: number | undefined } {
  if (place === undefined) return { file: dir, line: undefined };
  const m = /^(.*):(\d+)$/.exec(place);
  if (m === null) return { file: path.join(dir, place), line: undefined };
  return { file: path.join(dir, m[1] as string), line: Number(m[2]) };
}

const ORDERED_FACETS = [
  'whiteSpace', 'length', 'minLength', 'maxLength', 'minInclusive', 'maxInclusive', 'minExclusive', 'maxExclusive',
  'totalDigits', 'fractionDigits',
] as const;

class Converter {
  private readonly simples = new Map<S.SimpleType, SimpleType>();
  private readonly simpleDefs = new Map<SimpleType, SimpleTypeDef>();
  private readonly complexes = new Map<S.ComplexType, ComplexType>();
  private readonly decls = new Map<S.ElementDecl, ElementDecl>();
  private readonly constraints = new Map<string, IdentityConstraint>();
  private hasIdentity = false;

  constructor(private readonly set: SchemaSet) {}

  private fail(place: string | undefined, construct: string, detail: string): never {
    const { file, line } = splitPlace(this.set.dir, place);
    throw new XsdCompileError(file, construct, detail, line);
  }

  // ---------------------------------------------------------------- simple types

  simple(t: S.SimpleType): SimpleType {
    const done = this.simples.get(t);
    if (done !== undefined) return done;
    let st: SimpleType;
    try {
      st = this.simpleUncached(t);
    } catch (e) {
      if (e instanceof FacetError) this.fail(t.place, `simple type ${t.name}`, e.message);
      throw e;
    }
    this.simples.set(t, st);
    return st;
  }

  private simpleUncached(t: S.SimpleType): SimpleType {
    let base: SimpleType;
    if (t.variety === 'atomic') {
      const b = builtinSimple(t.builtin);
      if (b === undefined) this.fail(t.place, `built-in type xs:${t.builtin}`, 'is not supported by the validator');
      base = b;
    } else if (t.variety === 'list') {
      base = listType(this.simple(t.item), t.name);
    } else {
      base = unionType(t.members.map((m) => this.simple(m)), t.name);
    }
    const f = t.facets;
    // Enumerations and bounds first, against the built-in; then every pattern step (a derived
    // type may narrow an enumerated base with a pattern, which must not reject the base's values).
    const facets: RawFacet[] = [];
    for (const name of ORDERED_FACETS) {
      const v = f[name];
      if (v !== undefined) facets.push({ name, value: String(v) });
    }
    for (const v of f.enumeration ?? []) facets.push({ name: 'enumeration', value: v });
    let st = facets.length > 0 ? restrict(base, facets, t.name) : { ...base, name: t.name };
    for (const step of f.patterns ?? []) st = restrict(st, step.map((value) => ({ name: 'pattern', value })), t.name);
    return st;
  }

  private simpleDef(st: SimpleType): SimpleTypeDef {
    let d = this.simpleDefs.get(st);
    if (d === undefined) {
      d = { kind: 'simple', type: st };
      this.simpleDefs.set(st, d);
    }
    return d;
  }

  private type(t: S.TypeDef): TypeDef {
    return t.kind === 'simple' ? this.simpleDef(this.simple(t)) : this.complex(t);
  }

  // ---------------------------------------------------------------- complex types

  private complex(t: S.ComplexType): ComplexType {
    const done = this.complexes.get(t);
    if (done !== undefined) return done;
    const ct: ComplexType = { kind: 'complex', name: t.name, attributes: new Map(), anyAttribute: null, content: { kind: 'empty' } };
    this.complexes.set(t, ct);
    for (const a of t.attributes) {
      const decl = this.attribute(a, t.place);
      ct.attributes.set(decl.key, decl);
    }
    ct.anyAttribute = t.anyAttribute === null ? null : wildcard(t.anyAttribute);
    ct.content = this.content(t);
    return ct;
  }

  private content(t: S.ComplexType): Content {
    const c = t.content;
    if (c.kind === 'empty' || c.kind === 'any') return c;
    if (c.kind === 'simple') return { kind: 'simple', type: this.simple(c.type) };
    const particle = this.particle(c.particle) as GroupParticle | null;
    if (particle === null) return { kind: 'empty' };
    const what = t.name === null ? 'an anonymous complex type' : `complex type ${t.name}`;
    const bad = inconsistentDeclaration(particle);
    if (bad !== null) this.fail(t.place, `element ${bad} in ${what}`, 'is declared twice in one content model with different types');
    const ambiguous = checkUpa(particle);
    if (ambiguous !== null) this.fail(t.place, `element ${ambiguous} in ${what}`, 'makes the content model ambiguous (Unique Particle Attribution)');
    return { kind: 'elements', particle, decls: collectDecls(particle), mixed: c.mixed };
  }

  private particle(p: S.Particle): Particle | null {
    if (p.kind === 'element') return elementParticle(this.element(p.decl), p.min, p.max);
    if (p.kind === 'any') return anyParticle(wildcard(p.wildcard), p.min, p.max);
    const items: Particle[] = [];
    for (const it of p.items) {
      const q = this.particle(it);
      if (q !== null) items.push(q);
    }
    return groupParticle(p.kind, p.min, p.max, items);
  }

  private attribute(a: S.AttributeUse, place: string): AttributeDecl {
    const type = this.simple(a.type);
    return { ns: a.ns, name: a.local, key: clarkKey(a.ns, a.local), type, required: a.required, fixed: this.fixed(type, a.fixed, place, `attribute ${a.local}`) };
  }

  private fixed(type: SimpleType, value: string | null, place: string, what: string): { key: string; lexical: string } | null {
    if (value === null) return null;
    const k = simpleKey(type, value);
    if ('rule' in k) this.fail(place, `${what} fixed value`, `is not valid for its type (${k.rule})`);
    return { key: k.key, lexical: normalizeWhiteSpace(value, type.whiteSpace) };
  }

  // ---------------------------------------------------------------- elements

  element(d: S.ElementDecl): ElementDecl {
    const done = this.decls.get(d);
    if (done !== undefined) return done;
    const decl: ElementDecl = {
      ns: d.ns,
      name: d.local,
      key: clarkKey(d.ns, d.local),
      type: { kind: 'complex', name: '(pending)', attributes: new Map(), anyAttribute: null, content: { kind: 'empty' } },
      nillable: d.nillable,
      fixed: null,
      defaultValue: d.defaultValue,
      identity: [],
    };
    this.decls.set(d, decl);
    decl.type = this.type(d.type);
    const valueType = decl.type.kind === 'simple' ? decl.type.type : decl.type.content.kind === 'simple' ? decl.type.content.type : null;
    if (d.fixed !== null && valueType !== null) {
      (decl as { fixed: ElementDecl['fixed'] }).fixed = this.fixed(valueType, d.fixed, d.place, `element ${d.local}`);
    }
    if (d.identity.length > 0) {
      this.hasIdentity = true;
      decl.identity = d.identity.map((raw) => {
        const c = compileIdentityConstraint(raw.el, raw.tns, raw.file, raw.line);
        if (this.constraints.has(c.name)) throw new XsdCompileError(raw.file, `identity constraint ${c.name}`, 'is declared twice', raw.line);
        this.constraints.set(c.name, c);
        return c;
      });
    }
    return decl;
  }

  finish(entryNamespace: string): SchemaModel {
    const globals = new Map<string, ElementDecl>();
    for (const d of this.set.elements.values()) {
      const decl = this.element(d);
      globals.set(decl.key, decl);
    }
    const globalAttributes = new Map<string, AttributeDecl>();
    for (const a of this.set.attributes.values()) {
      const decl = this.attribute(a, a.local);
      globalAttributes.set(decl.key, decl);
    }
    if (this.constraints.size > 0) linkIdentityConstraints(this.constraints, this.set.dir);
    const names = [...globals.values()].filter((d) => d.ns === entryNamespace).map((d) => d.name);
    return {
      targetNamespace: entryNamespace,
      globals,
      globalAttributes,
      rootNames: names.length > 6 ? [...names.slice(0, 6), '…'] : names,
      hasIdentity: this.hasIdentity,
    };
  }
}

function wildcard(w: S.Wildcard): Wildcard {
  const ns = w.namespaces;
  if (ns.kind === 'any') return { allows: () => true, process: w.process, text: '##any' };
  if (ns.kind === 'other') return { allows: (x) => x !== '' && x !== ns.not, process: w.process, text: '##other' };
  const list = new Set(ns.list);
  return { allows: (x) => list.has(x), process: w.process, text: ns.list.map((x) => x || '##local').join(' ') };
}

export function compileModel(set: SchemaSet, entryNamespace: string): SchemaModel {
  return new Converter(set).finish(entryNamespace);
}
