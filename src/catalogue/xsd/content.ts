// Matching an element's child elements against a content model (sequence/choice/all with
// occurrence bounds). The matcher is greedy with one element of lookahead: each particle takes
// as many children as it may, and a group iteration starts only if the next child's name can
// begin it. That is exact for schemas satisfying Unique Particle Attribution, which XSD requires
// and compile.ts checks (loosely) with checkUpa. Recursion here follows the schema's group
// nesting (bounded by the schema), never the document's depth; time is linear in the children.

import type { AnyParticle, ElementDecl, ElementParticle, GroupParticle, Particle } from './model.js';
import { canStart, collectDecls } from './particles.js';

/** A child element as the matcher sees it: its namespace and clark key. */
export interface ChildName {
  readonly ns: string;
  readonly key: string;
}

export type ContentIssue =
  /** Ran out of children, or met one that belongs later: `expected` names what had to come. */
  | {
      readonly kind: 'missing';
      /** Local names, for messages. */
      readonly expected: readonly string[];
      /** Clark keys of the same. */
      readonly expectedKeys: readonly string[];
      readonly found: number;
      /** Names the enclosing sequences still allow after the missing particle. */
      readonly later: ReadonlySet<string>;
    }
  /** The child at `index` fits nowhere here. */
  | { readonly kind: 'unexpected'; readonly index: number }
  /** The child at `index` repeats an element that already occurred `max` times. */
  | { readonly kind: 'maxOccurs'; readonly index: number; readonly max: number };

export interface MatchResult {
  /** Declaration for each child that was matched (undefined for children after an error or matched by a wildcard). */
  readonly decls: (ElementDecl | undefined)[];
  /** The wildcard particle that took each child matched by xs:any. */
  readonly wildcards: (AnyParticle | undefined)[];
  readonly issue: ContentIssue | null;
}

class Matcher {
  pos = 0;
  issue: ContentIssue | null = null;
  /** Index of a child that repeated an xs:all member, if that is where the all-group stopped. */
  allRepeat = -1;
  readonly by: (ElementParticle | AnyParticle | undefined)[];
  /** Enclosing sequences and the item being matched in each (same index), to word a missing-element error. */
  private readonly seqs: GroupParticle[] = [];
  private readonly seqItems: number[] = [];

  constructor(
    private readonly names: readonly ChildName[],
  ) {
    this.by = new Array<ElementParticle | AnyParticle | undefined>(names.length);
  }

  private starts(p: Particle, at: number): boolean {
    const n = this.names[at];
    return n !== undefined && canStart(p.first, n.ns, n.key);
  }

  private missing(expected: Iterable<string>, within?: GroupParticle): false {
    const later = new Map<string, ElementDecl>();
    // A group that could not even start: the child found may belong further inside it.
    if (within !== undefined) collectDecls(within, later);
    const names = new Set<string>();
    for (let s = 0; s < this.seqs.length; s++) {
      const g = this.seqs[s] as GroupParticle;
      const i = this.seqItems[s] as number;
      for (let k = i + 1; k < g.items.length; k++) collectDecls(g.items[k] as Particle, later);
      // A repeated sequence may start over after this iteration.
      if (g.max > 1) for (const n of g.first.names) names.add(n);
    }
    for (const n of later.keys()) names.add(n);
    const keys = [...expected];
    this.issue = { kind: 'missing', expected: keys.map(localName), expectedKeys: keys, found: this.pos, later: names };
    return false;
  }

  particle(p: Particle): boolean {
    if (p.kind === 'element') return this.element(p);
    if (p.kind === 'any') return this.any(p);
    let count = 0;
    while (count < p.max) {
      if (!this.starts(p, this.pos)) break;
      const before = this.pos;
      if (!this.iteration(p)) return false;
      count++;
      if (this.pos === before) break;
    }
    if (count < p.min && !p.emptyIteration) return this.missing(expectedOf(p), count === 0 ? p : undefined);
    return true;
  }

  private element(p: ElementParticle): boolean {
    const key = p.decl.key;
    let count = 0;
    while (count < p.max && this.names[this.pos]?.key === key) {
      this.by[this.pos++] = p;
      count++;
    }
    return count < p.min ? this.missing([key]) : true;
  }

  private any(p: AnyParticle): boolean {
    let count = 0;
    while (count < p.max && this.starts(p, this.pos)) {
      this.by[this.pos++] = p;
      count++;
    }
    return count < p.min ? this.missing([`{*}any element (${p.wildcard.text})`]) : true;
  }

  private iteration(g: GroupParticle): boolean {
    if (g.kind === 'sequence') {
      const top = this.seqs.length;
      this.seqs.push(g);
      this.seqItems.push(0);
      for (let i = 0; i < g.items.length; i++) {
        this.seqItems[top] = i;
        if (!this.particle(g.items[i] as Particle)) return false;
      }
      this.seqs.pop();
      this.seqItems.pop();
      return true;
    }
    if (g.kind === 'choice') {
      for (const it of g.items) {
        if (this.starts(it, this.pos)) return this.particle(it);
      }
      return g.emptyIteration ? true : this.missing(expectedOf(g));
    }
    // xs:all: members in any order, each at most once (compile.ts enforces maxOccurs ≤ 1).
    const taken = new Set<ElementParticle>();
    for (;;) {
      const n = this.names[this.pos]?.key;
      const it = g.items.find((x) => x.kind === 'element' && x.decl.key === n && !taken.has(x)) as
        | ElementParticle
        | undefined;
      if (it === undefined) {
        if (g.items.some((x) => x.kind === 'element' && x.decl.key === n)) this.allRepeat = this.pos;
        break;
      }
      taken.add(it);
      this.by[this.pos++] = it;
    }
    for (const it of g.items) {
      if (it.kind === 'element' && it.min > 0 && !taken.has(it)) return this.missing([it.decl.key]);
    }
    return true;
  }
}

/**
 * Matches children (given by namespace and clark key)
 * against the model. When a required element is missing, the child found in its place decides the
 * wording: if that child may still come later and the required one is really absent, the missing
 * element is reported (the sender left a field out); otherwise the child itself is reported as
 * unexpected (wrong order, a typo, a stray or a second choice branch).
 */
export function matchContent(model: GroupParticle, names: readonly ChildName[]): MatchResult {
  const m = new Matcher(names);
  const ok = m.particle(model);
  const decls = new Array<ElementDecl | undefined>(names.length);
  const wildcards = new Array<AnyParticle | undefined>(names.length);
  for (let i = 0; i < names.length; i++) {
    const p = m.by[i];
    if (p === undefined) continue;
    if (p.kind === 'element') decls[i] = p.decl;
    else wildcards[i] = p;
  }
  let issue = m.issue;
  if (ok && m.pos < names.length) {
    issue = unexpected(m, names, m.pos);
  } else if (!ok && issue !== null && issue.kind === 'missing') {
    const n = names[issue.found];
    if (n !== undefined && (!issue.later.has(n.key) || presentAfter(names, issue.found, issue.expectedKeys))) {
      issue = unexpected(m, names, issue.found);
    }
  }
  return { decls, wildcards, issue };
}

/** Whether an expected element does occur, just further on: then the order is wrong, nothing is missing. */
function presentAfter(names: readonly ChildName[], from: number, expected: readonly string[]): boolean {
  for (let j = from + 1; j < names.length; j++) {
    const n = names[j];
    if (n !== undefined && expected.includes(n.key)) return true;
  }
  return false;
}

function localName(key: string): string {
  return key.startsWith('{') ? key.slice(key.indexOf('}') + 1) : key;
}

/** The names a group expects first, for messages (wildcards said as such). */
function expectedOf(p: GroupParticle): string[] {
  const out = [...p.first.names];
  for (const w of p.first.wildcards) out.push(`{*}any element (${w.text})`);
  return out;
}

/**
 * A child that fits nowhere. If it directly follows a run of the same element that filled its
 * particle (exactly maxOccurs), or repeats a member of xs:all, it is one too many: say maxOccurs.
 * Otherwise the limit was an enclosing group's or the order was wrong: say unexpected.
 */
function unexpected(m: Matcher, names: readonly ChildName[], at: number): ContentIssue {
  if (m.allRepeat === at) return { kind: 'maxOccurs', index: at, max: 1 };
  const prev = at > 0 && names[at - 1]?.key === names[at]?.key ? m.by[at - 1] : undefined;
  if (prev !== undefined) {
    let run = 0;
    for (let j = at - 1; j >= 0 && m.by[j] === prev; j--) run++;
    if (run === prev.max) return { kind: 'maxOccurs', index: at, max: prev.max };
  }
  return { kind: 'unexpected', index: at };
}
