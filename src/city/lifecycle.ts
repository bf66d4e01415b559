/**
 * The application lifecycle as data (config/lifecycle.json): states, allowed
 * transitions, and the ELK status code the portal shows for each state.
 * Loaded and checked once at start-up; `check` says why a transition is
 * impossible in words the city's staff understand.
 */
import { readFileSync } from 'node:fs';

export interface LifecycleState {
  id: string;
  title: string;
  elk: number;
  comment: string;
  final: boolean;
}

export class LifecycleError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`lifecycle ${file} is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'LifecycleError';
  }
}

const ELK_CODES = new Set([1, 2, 3, 4, 6, 7, 10, 14, 15]);

export class Lifecycle {
  private constructor(
    readonly initial: string,
    private readonly states: ReadonlyMap<string, LifecycleState>,
    private readonly transitions: ReadonlyMap<string, ReadonlySet<string>>,
  ) {}

  static load(file: string): Lifecycle {
    let data: unknown;
    try {
      data = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new LifecycleError(file, [(error as Error).message]);
    }
    return Lifecycle.parse(data, file);
  }

  static parse(data: unknown, file: string): Lifecycle {
    const problems: string[] = [];
    const doc = (data ?? {}) as { initial?: unknown; states?: Record<string, { title?: unknown; elk?: unknown; comment?: unknown; final?: unknown }>; transitions?: Record<string, unknown> };
    const states = new Map<string, LifecycleState>();
    for (const [id, s] of Object.entries(doc.states ?? {})) {
      if (!/^[a-z][a-z_]{0,40}$/.test(id)) problems.push(`/states/${id}: state ids are lower-case words with underscores`);
      if (typeof s.title !== 'string' || s.title === '') problems.push(`/states/${id}/title: required text`);
      if (typeof s.elk !== 'number' || !ELK_CODES.has(s.elk)) problems.push(`/states/${id}/elk: must be an ELK status code (${[...ELK_CODES].join(', ')})`);
      states.set(id, { id, title: String(s.title), elk: Number(s.elk), comment: typeof s.comment === 'string' ? s.comment : '', final: s.final === true });
    }
    if (states.size === 0) problems.push('/states: no states');
    const initial = typeof doc.initial === 'string' ? doc.initial : '';
    if (!states.has(initial)) problems.push(`/initial: "${initial}" is not a state`);
    const transitions = new Map<string, Set<string>>();
    for (const id of states.keys()) {
      const to = (doc.transitions ?? {})[id];
      if (!Array.isArray(to)) {
        problems.push(`/transitions/${id}: missing (use [] for a final state)`);
        continue;
      }
      for (const t of to) if (typeof t !== 'string' || !states.has(t)) problems.push(`/transitions/${id}: "${String(t)}" is not a state`);
      if (states.get(id)!.final && to.length > 0) problems.push(`/transitions/${id}: a final state has no way out`);
      transitions.set(id, new Set(to.filter((t): t is string => typeof t === 'string')));
    }
    for (const id of Object.keys(doc.transitions ?? {})) if (!states.has(id)) problems.push(`/transitions/${id}: not a state`);
    if (problems.length > 0) throw new LifecycleError(file, problems);
    return new Lifecycle(initial, states, transitions);
  }

  state(id: string): LifecycleState | undefined {
    return this.states.get(id);
  }

  get stateIds(): string[] {
    return [...this.states.keys()];
  }

  /** null when `from → to` is allowed, else why not. */
  check(from: string, to: string): string | null {
    const target = this.states.get(to);
    if (!target) return `"${to}" is not a status; known: ${this.stateIds.join(', ')}`;
    const current = this.states.get(from);
    if (!current) return `the application is in an unknown status "${from}"`;
    if (current.final) return `the application is already "${from}" (${current.title}), a final status`;
    if (from === to) return `the application is already "${from}"`;
    if (!this.transitions.get(from)?.has(to)) {
      return `an application cannot go from "${from}" (${current.title}) to "${to}" (${target.title}); allowed next: ${[...(this.transitions.get(from) ?? [])].join(', ') || 'none'}`;
    }
    return null;
  }
}
