// Construction of content-model particles with their lookahead sets, and the compile-time checks
// that make greedy matching correct: Unique Particle Attribution (checked loosely, see checkUpa)
// and Element Declarations Consistent.

import type { ElementDecl, ElementParticle, GroupParticle, Particle, TypeDef } from './model.js';

export function elementParticle(decl: ElementDecl, min: number, max: number): ElementParticle {
  return { kind: 'element', decl, min, max, first: new Set([decl.name]), nullable: min === 0 };
}

/** Computes the lookahead set (names that can begin one iteration) and nullability once. */
export function groupParticle(kind: GroupParticle['kind'], min: number, max: number, items: Particle[]): GroupParticle {
  const first = new Set<string>();
  let empty: boolean;
  if (kind === 'sequence') {
    empty = true;
    for (const it of items) {
      for (const n of it.first) first.add(n);
      if (!it.nullable) {
        empty = false;
        break;
      }
    }
    if (!empty) empty = items.every((it) => it.nullable);
  } else if (kind === 'choice') {
    for (const it of items) for (const n of it.first) first.add(n);
    empty = items.length === 0 || items.some((it) => it.nullable);
  } else {
    for (const it of items) for (const n of it.first) first.add(n);
    empty = items.every((it) => it.nullable);
  }
  return { kind, min, max, items, first, nullable: min === 0 || empty, emptyIteration: empty };
}

/** Every element the model mentions, by name (call after inconsistentDeclaration found none). */
export function collectDecls(p: Particle, out: Map<string, ElementDecl> = new Map()): Map<string, ElementDecl> {
  if (p.kind === 'element') out.set(p.decl.name, p.decl);
  else for (const it of p.items) collectDecls(it, out);
  return out;
}

/**
 * Element Declarations Consistent (XSD 1.0 §3.8.6): two particles with the same name in one
 * content model must have the same type; returns the offending name or null.
 */
export function inconsistentDeclaration(p: Particle, seen: Map<string, TypeDef> = new Map()): string | null {
  if (p.kind === 'element') {
    const t = seen.get(p.decl.name);
    if (t !== undefined && t !== p.decl.type) return p.decl.name;
    seen.set(p.decl.name, p.decl.type);
    return null;
  }
  for (const it of p.items) {
    const bad = inconsistentDeclaration(it, seen);
    if (bad !== null) return bad;
  }
  return null;
}

function intersect(a: ReadonlySet<string>, b: ReadonlySet<string>): string | null {
  for (const n of a) if (b.has(n)) return n;
  return null;
}

/**
 * A loose Unique Particle Attribution check: whenever the matcher must decide between "one more
 * of this particle" and "move on", the names that start the particle must not also be able to
 * follow it; alternatives of a choice must start with distinct names; xs:all members are distinct.
 * This covers the ambiguities that would make greedy matching wrong. Returns the ambiguous
 * element name or null.
 */
export function checkUpa(p: Particle, follow: ReadonlySet<string> = new Set()): string | null {
  if (p.kind === 'element') {
    return p.min < p.max && follow.has(p.decl.name) ? p.decl.name : null;
  }
  if (p.min < p.max || (p.nullable && p.max >= 1)) {
    const clash = intersect(p.first, follow);
    if (clash !== null) return clash;
  }
  const inner = new Set(follow);
  if (p.max > 1) for (const n of p.first) inner.add(n);
  if (p.kind === 'sequence') {
    let f: Set<string> = inner;
    for (let i = p.items.length - 1; i >= 0; i--) {
      const it = p.items[i] as Particle;
      const bad = checkUpa(it, f);
      if (bad !== null) return bad;
      const next = new Set(it.first);
      if (it.nullable) for (const n of f) next.add(n);
      f = next;
    }
    return null;
  }
  if (p.kind === 'choice') {
    const seen = new Set<string>();
    for (const it of p.items) {
      const clash = intersect(it.first, seen);
      if (clash !== null) return clash;
      for (const n of it.first) seen.add(n);
      const bad = checkUpa(it, inner);
      if (bad !== null) return bad;
    }
    return null;
  }
  const names = new Set<string>();
  for (const it of p.items) {
    const n = (it as ElementParticle).decl.name;
    if (names.has(n)) return n;
    names.add(n);
  }
  return null;
}
