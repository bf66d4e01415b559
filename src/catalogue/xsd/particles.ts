// Construction of content-model particles with their lookahead sets, and the compile-time checks
// that make greedy matching correct: Unique Particle Attribution (checked loosely, see checkUpa)
// and Element Declarations Consistent. Names are clark keys ({namespace}local).

import type { AnyParticle, ElementDecl, ElementParticle, FirstSet, GroupParticle, Particle, TypeDef, Wildcard } from './model.js';

const NO_WILDCARDS: readonly Wildcard[] = [];

export function canStart(first: FirstSet, ns: string, key: string): boolean {
  if (first.names.has(key)) return true;
  for (const w of first.wildcards) if (w.allows(ns)) return true;
  return false;
}

export function elementParticle(decl: ElementDecl, min: number, max: number): ElementParticle {
  return { kind: 'element', decl, min, max, first: { names: new Set([decl.key]), wildcards: NO_WILDCARDS }, nullable: min === 0 };
}

export function anyParticle(wildcard: Wildcard, min: number, max: number): AnyParticle {
  return { kind: 'any', wildcard, min, max, first: { names: new Set(), wildcards: [wildcard] }, nullable: min === 0 };
}

function addAll(into: { names: Set<string>; wildcards: Wildcard[] }, from: FirstSet): void {
  for (const n of from.names) into.names.add(n);
  for (const w of from.wildcards) into.wildcards.push(w);
}

/** Computes the lookahead set (names that can begin one iteration) and nullability once. */
export function groupParticle(kind: GroupParticle['kind'], min: number, max: number, items: Particle[]): GroupParticle {
  const first = { names: new Set<string>(), wildcards: [] as Wildcard[] };
  let empty: boolean;
  if (kind === 'sequence') {
    empty = true;
    for (const it of items) {
      addAll(first, it.first);
      if (!it.nullable) {
        empty = false;
        break;
      }
    }
    if (!empty) empty = items.every((it) => it.nullable);
  } else if (kind === 'choice') {
    for (const it of items) addAll(first, it.first);
    empty = items.length === 0 || items.some((it) => it.nullable);
  } else {
    for (const it of items) addAll(first, it.first);
    empty = items.every((it) => it.nullable);
  }
  return { kind, min, max, items, first, nullable: min === 0 || empty, emptyIteration: empty };
}

/** Every element the model mentions, by clark key (call after inconsistentDeclaration found none). */
export function collectDecls(p: Particle, out: Map<string, ElementDecl> = new Map()): Map<string, ElementDecl> {
  if (p.kind === 'element') out.set(p.decl.key, p.decl);
  else if (p.kind !== 'any') for (const it of p.items) collectDecls(it, out);
  return out;
}

/**
 * Element Declarations Consistent (XSD 1.0 §3.8.6): two particles with the same name in one
 * content model must have the same type; returns the offending name or null.
 */
export function inconsistentDeclaration(p: Particle, seen: Map<string, TypeDef> = new Map()): string | null {
  if (p.kind === 'element') {
    const t = seen.get(p.decl.key);
    if (t !== undefined && t !== p.decl.type) return p.decl.name;
    seen.set(p.decl.key, p.decl.type);
    return null;
  }
  if (p.kind === 'any') return null;
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

function localOf(key: string): string {
  return key.slice(key.indexOf('}') + 1);
}

/**
 * A loose Unique Particle Attribution check: whenever the matcher must decide between "one more
 * of this particle" and "move on", the names that start the particle must not also be able to
 * follow it; alternatives of a choice must start with distinct names; xs:all members are distinct.
 * This covers the ambiguities that would make greedy matching wrong. Wildcards are left out (a
 * schema where a wildcard competes with a declared element is matched greedily, element first).
 * Returns the ambiguous element's local name or null.
 */
export function checkUpa(p: Particle, follow: ReadonlySet<string> = new Set()): string | null {
  if (p.kind === 'any') return null;
  if (p.kind === 'element') {
    return p.min < p.max && follow.has(p.decl.key) ? p.decl.name : null;
  }
  if (p.min < p.max || (p.nullable && p.max >= 1)) {
    const clash = intersect(p.first.names, follow);
    if (clash !== null) return localOf(clash);
  }
  const inner = new Set(follow);
  if (p.max > 1) for (const n of p.first.names) inner.add(n);
  if (p.kind === 'sequence') {
    let f: Set<string> = inner;
    for (let i = p.items.length - 1; i >= 0; i--) {
      const it = p.items[i] as Particle;
      const bad = checkUpa(it, f);
      if (bad !== null) return bad;
      const next = new Set(it.first.names);
      if (it.nullable) for (const n of f) next.add(n);
      f = next;
    }
    return null;
  }
  if (p.kind === 'choice') {
    const seen = new Set<string>();
    for (const it of p.items) {
      const clash = intersect(it.first.names, seen);
      if (clash !== null) return localOf(clash);
      for (const n of it.first.names) seen.add(n);
      const bad = checkUpa(it, inner);
      if (bad !== null) return bad;
    }
    return null;
  }
  const names = new Set<string>();
  for (const it of p.items) {
    if (it.kind !== 'element') continue;
    if (names.has(it.decl.key)) return it.decl.name;
    names.add(it.decl.key);
  }
  return null;
}
