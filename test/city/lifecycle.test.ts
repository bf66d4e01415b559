/** src/city/lifecycle.ts: the lifecycle as data, checked at load, and which status changes it allows. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Lifecycle, LifecycleError } from '../../src/city/lifecycle.js';
import { projectRoot } from '../helpers/gateway.js';

const configured = Lifecycle.load(path.join(projectRoot, 'config/lifecycle.json'));

const small = {
  initial: 'open',
  states: {
    open: { title: 'Открыто', elk: 2 },
    working: { title: 'В работе', elk: 7, comment: 'рассматривается' },
    done: { title: 'Готово', elk: 3, final: true },
  },
  transitions: { open: ['working'], working: ['done', 'open'], done: [] },
};

function problemsOf(data: unknown): string[] {
  try {
    Lifecycle.parse(data, 'test.json');
  } catch (error) {
    expect(error).toBeInstanceOf(LifecycleError);
    expect((error as LifecycleError).file).toBe('test.json');
    return (error as LifecycleError).problems;
  }
  throw new Error('parsed');
}

describe('Lifecycle: the configured file (config/lifecycle.json)', () => {
  it('starts at received and knows each state with its ELK code', () => {
    expect(configured.initial).toBe('received');
    expect(configured.stateIds).toEqual(['received', 'registered', 'in_progress', 'waiting_for_answers', 'needs_correction', 'completed', 'refused', 'cancelled']);
    expect(configured.state('registered')).toEqual({ id: 'registered', title: 'Зарегистрировано', elk: 6, comment: 'Заявление зарегистрировано', final: false });
    expect(configured.state('completed')?.final).toBe(true);
    expect(configured.state('nope')).toBeUndefined();
  });

  it('allows the transitions the file lists', () => {
    expect(configured.check('received', 'registered')).toBeNull();
    expect(configured.check('in_progress', 'waiting_for_answers')).toBeNull();
    expect(configured.check('waiting_for_answers', 'in_progress')).toBeNull();
    expect(configured.check('needs_correction', 'registered')).toBeNull();
  });

  it('refuses the others, saying why in the staff\'s words', () => {
    expect(configured.check('received', 'completed')).toBe(
      'an application cannot go from "received" (Получено) to "completed" (Услуга оказана); allowed next: registered, needs_correction, refused, cancelled',
    );
    expect(configured.check('completed', 'in_progress')).toBe('the application is already "completed" (Услуга оказана), a final status');
    expect(configured.check('registered', 'registered')).toBe('the application is already "registered"');
    expect(configured.check('registered', 'approved')).toMatch(/^"approved" is not a status; known: received, registered, /);
    expect(configured.check('lost', 'registered')).toBe('the application is in an unknown status "lost"');
  });
});

describe('Lifecycle.parse: a small lifecycle', () => {
  it('reads states, comments and finals', () => {
    const l = Lifecycle.parse(small, 'small.json');
    expect(l.initial).toBe('open');
    expect(l.state('open')).toEqual({ id: 'open', title: 'Открыто', elk: 2, comment: '', final: false });
    expect(l.state('done')?.final).toBe(true);
    expect(l.check('working', 'open')).toBeNull();
    expect(l.check('open', 'done')).toMatch(/allowed next: working$/);
  });

  it('names every problem of a bad file, with its JSON path', () => {
    const problems = problemsOf({
      initial: 'start',
      states: {
        Open: { title: 'x', elk: 2 },
        a: { title: '', elk: 5 },
        b: { title: 'B', elk: 3, final: true },
      },
      transitions: { a: ['b', 'ghost'], b: ['a'], c: [] },
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        '/states/Open: state ids are lower-case words with underscores',
        '/states/a/title: required text',
        '/states/a/elk: must be an ELK status code (1, 2, 3, 4, 6, 7, 10, 14, 15)',
        '/initial: "start" is not a state',
        '/transitions/Open: missing (use [] for a final state)',
        '/transitions/a: "ghost" is not a state',
        '/transitions/b: a final state has no way out',
        '/transitions/c: not a state',
      ]),
    );
    expect(problems).toHaveLength(8);
  });

  it('an empty document: no states, no initial', () => {
    expect(problemsOf(null)).toEqual(['/states: no states', '/initial: "" is not a state']);
  });

  it('load: a file that is not JSON is a LifecycleError naming the file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'okno-lifecycle-'));
    const file = path.join(dir, 'lifecycle.json');
    writeFileSync(file, '{ not json');
    expect(() => Lifecycle.load(file)).toThrow(LifecycleError);
    expect(() => Lifecycle.load(file)).toThrow(`lifecycle ${file} is invalid`);
    expect(() => Lifecycle.load(path.join(dir, 'missing.json'))).toThrow(/ENOENT/);
    writeFileSync(file, JSON.stringify(small));
    expect(Lifecycle.load(file).stateIds).toEqual(['open', 'working', 'done']);
  });
});
