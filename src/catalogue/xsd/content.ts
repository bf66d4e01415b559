// Matching an element's child elements against a content model (sequence/choice/all with
// occurrence bounds). The matcher is greedy with one element of lookahead: each particle takes
// as many children as it may, and a group iteration starts only if the next child's name can
// begin it. That is exact for schemas satisfying Unique Particle Attribution, which XSD requires
// and compile.ts checks (loosely) with checkUpa. Recursion here follows the schema's group
// nesting (bounded by the schema), never the document's depth; time is linear in the children.

import type { ElementDecl, ElementParticle, GroupParticle, Particle } from './model.js';

export type ContentIssue =
  /** Ran out of children, or met one that belongs later: `expected` names what had to come. */
  | { readonly kind: 'missing'; readonly expected: readonly string[]; readonly found: number }
  /** The child at `index` fits nowhere here. */
  | { readonly kind: 'unexpected'; readonly index: number }
  /** The child at `index` repeats an element that already occurred `max` times. */
  | { readonly kind: 'maxOccurs'; readonly index: number; readonly max: number };

export interface MatchResult {
  /** Declaration for each child that was matched (undefined for children after an error). */
  readonly decls: (ElementDecl | undefined)[];
  readonly issue: ContentIssue | null;
}

class Matcher {
  pos = 0;
  issue: ContentIssue | null = null;
  readonly by: (ElementParticle | undefined)[];

  constructor(
    private readonly names: readonly (string | null)[],
  ) {
    this.by = new Array<ElementParticle | undefined>(names.length);
  }

  private missing(expected: Iterable<string>): false {
    this.issue = { kind: 'missing', expected: [...expected], found: this.pos };
    return false;
  }

  particle(p: Particle): boolean {
    if (p.kind === 'element') return this.element(p);
    let count = 0;
    while (count < p.max) {
      const n = this.names[this.pos];
      if (n === undefined || n === null || !p.first.has(n)) break;
      const before = this.pos;
      if (!this.iteration(p)) return false;
      count++;
      if (this.pos === before) break;
    }
    if (count < p.min && !p.emptyIteration) return this.missing(p.first);
    return true;
  }

  private element(p: ElementParticle): boolean {
    const name = p.decl.name;
    let count = 0;
    while (count < p.max && this.names[this.pos] === name) {
      this.by[this.pos++] = p;
      count++;
    }
    return count < p.min ? this.missing([name]) : true;
  }

  private iteration(g: GroupParticle): boolean {
    if (g.kind === 'sequence') {
      for (const it of g.items) if (!this.particle(it)) return false;
      return true;
    }
    if (g.kind === 'choice') {
      const n = this.names[this.pos];
      for (const it of g.items) {
        if (n !== undefined && n !== null && it.first.has(n)) return this.particle(it);
      }
      return g.emptyIteration ? true : this.missing(g.first);
    }
    // xs:all: members in any order, each at most once (compile.ts enforces maxOccurs ≤ 1).
    const taken = new Set<ElementParticle>();
    for (;;) {
      const n = this.names[this.pos];
      const it = g.items.find((x) => x.kind === 'element' && x.decl.name === n && !taken.has(x)) as
        | ElementParticle
        | undefined;
      if (it === undefined) break;
      taken.add(it);
      this.by[this.pos++] = it;
    }
    for (const it of g.items) {
      if (it.kind === 'element' && it.min > 0 && !taken.has(it)) return this.missing([it.decl.name]);
    }
    return true;
  }
}

/**
 * Matches children (given by their local names, or null for a name outside the target namespace)
 * against the model. `known` is every name the model mentions: a missing element is reported as
 * such when the child found instead is a known one (probably out of order or the next field),
 * and the child itself is reported as unexpected when it is unknown here (probably a typo).
 */
export function matchContent(
  model: GroupParticle,
  names: readonly (string | null)[],
  known: ReadonlySet<string>,
): MatchResult {
  const m = new Matcher(names);
  const ok = m.particle(model);
  const decls = m.by.map((p) => p?.decl);
  let issue = m.issue;
  if (ok && m.pos < names.length) {
    const at = m.pos;
    const prev = at > 0 ? m.by[at - 1] : undefined;
    issue =
      prev !== undefined && names[at] === prev.decl.name
        ? { kind: 'maxOccurs', index: at, max: prev.max }
        : { kind: 'unexpected', index: at };
  } else if (!ok && issue !== null && issue.kind === 'missing') {
    const n = names[issue.found];
    if (n === null || (n !== undefined && !known.has(n))) issue = { kind: 'unexpected', index: issue.found };
  }
  return { decls, issue };
}
