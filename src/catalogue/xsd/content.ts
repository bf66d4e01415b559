// Matching an element's child elements against a content model (sequence/choice/all with
// occurrence bounds). The matcher is greedy with one element of lookahead: each particle takes
// as many children as it may, and a group iteration starts only if the next child's name can
// begin it. That is exact for schemas satisfying Unique Particle Attribution, which XSD requires
// and compile.ts checks (loosely) with checkUpa. Recursion here follows the schema's group
// nesting (bounded by the schema), never the document's depth; time is linear in the children.

import type { ElementDecl, ElementParticle, GroupParticle, Particle } from './model.js';
import { collectDecls } from './particles.js';

export type ContentIssue =
  /** Ran out of children, or met one that belongs later: `expected` names what had to come. */
  | {
      readonly kind: 'missing';
      readonly expected: readonly string[];
      readonly found: number;
      /** Names the enclosing sequences still allow after the missing particle. */
      readonly later: ReadonlySet<string>;
    }
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
  /** Index of a child that repeated an xs:all member, if that is where the all-group stopped. */
  allRepeat = -1;
  readonly by: (ElementParticle | undefined)[];
  /** Enclosing sequences and the item being matched in each, to word a missing-element error. */
  private readonly seqs: { g: GroupParticle; i: number }[] = [];

  constructor(
    private readonly names: readonly (string | null)[],
  ) {
    this.by = new Array<ElementParticle | undefined>(names.length);
  }

  private missing(expected: Iterable<string>, within?: GroupParticle): false {
    const later = new Map<string, ElementDecl>();
    // A group that could not even start: the child found may belong further inside it.
    if (within !== undefined) collectDecls(within, later);
    const names = new Set<string>();
    for (const { g, i } of this.seqs) {
      for (let k = i + 1; k < g.items.length; k++) collectDecls(g.items[k] as Particle, later);
      // A repeated sequence may start over after this iteration.
      if (g.max > 1) for (const n of g.first) names.add(n);
    }
    for (const n of later.keys()) names.add(n);
    this.issue = { kind: 'missing', expected: [...expected], found: this.pos, later: names };
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
    if (count < p.min && !p.emptyIteration) return this.missing(p.first, count === 0 ? p : undefined);
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
      const frame = { g, i: 0 };
      this.seqs.push(frame);
      for (; frame.i < g.items.length; frame.i++) if (!this.particle(g.items[frame.i] as Particle)) return false;
      this.seqs.pop();
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
      if (it === undefined) {
        if (g.items.some((x) => x.kind === 'element' && x.decl.name === n)) this.allRepeat = this.pos;
        break;
      }
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
 * against the model. When a required element is missing, the child found in its place decides the
 * wording: if that child may still come later and the required one is really absent, the missing
 * element is reported (the sender left a field out); otherwise the child itself is reported as
 * unexpected (wrong order, a typo, a stray or a second choice branch).
 */
export function matchContent(model: GroupParticle, names: readonly (string | null)[]): MatchResult {
  const m = new Matcher(names);
  const ok = m.particle(model);
  const decls = m.by.map((p) => p?.decl);
  let issue = m.issue;
  if (ok && m.pos < names.length) {
    issue = unexpected(m, names, m.pos);
  } else if (!ok && issue !== null && issue.kind === 'missing') {
    const n = names[issue.found];
    if (n === null || (n !== undefined && (!issue.later.has(n) || presentAfter(names, issue.found, issue.expected)))) {
      issue = unexpected(m, names, issue.found);
    }
  }
  return { decls, issue };
}

/** Whether an expected element does occur, just further on: then the order is wrong, nothing is missing. */
function presentAfter(names: readonly (string | null)[], from: number, expected: readonly string[]): boolean {
  for (let j = from + 1; j < names.length; j++) {
    const n = names[j];
    if (n !== null && n !== undefined && expected.includes(n)) return true;
  }
  return false;
}

/**
 * A child that fits nowhere. If it directly follows a run of the same element that filled its
 * particle (exactly maxOccurs), or repeats a member of xs:all, it is one too many: say maxOccurs.
 * Otherwise the limit was an enclosing group's or the order was wrong: say unexpected.
 */
function unexpected(m: Matcher, names: readonly (string | null)[], at: number): ContentIssue {
  if (m.allRepeat === at) return { kind: 'maxOccurs', index: at, max: 1 };
  const prev = at > 0 && names[at - 1] === names[at] ? m.by[at - 1] : undefined;
  if (prev !== undefined) {
    let run = 0;
    for (let j = at - 1; j >= 0 && m.by[j] === prev; j--) run++;
    if (run === prev.max) return { kind: 'maxOccurs', index: at, max: prev.max };
  }
  return { kind: 'unexpected', index: at };
}
