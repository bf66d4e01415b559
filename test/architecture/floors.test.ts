/**
 * The house as docs/architecture.md draws it: every room of src/ stands on a
 * floor, and an import may only go to a room on a lower floor (or a room on the
 * same floor that does not import it back). A new room must be given a floor
 * here and on the architecture page; an import that runs back up fails with the
 * file and the line that makes it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers/gateway.js';

/** Floors from the ground up; the same table as docs/architecture.md "The floors". */
const FLOORS: ReadonlyArray<readonly string[]> = [
  ['config', 'log.ts', 'log-throttle.ts', 'crypto', 'xml', 'store', 'events'],
  ['pki', 'catalogue'],
  ['registry', 'city', 'signature', 'journal'],
  ['soap', 'xroad'],
  ['flows', 'simulators'],
  ['http', 'delivery', 'cli'],
  ['attachments', 'ops'],
  ['transport.ts'],
  ['push', 'pull', 'xroad-transport'],
  ['api'],
  ['gateway.ts'],
  ['main.ts'],
];

const src = path.join(projectRoot, 'src');
const floorOf = new Map(FLOORS.flatMap((rooms, floor) => rooms.map((room) => [room, floor] as const)));

interface Import {
  from: string;
  to: string;
  where: string;
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [p] : [];
  });
}

const roomOf = (file: string) => path.relative(src, file).split(path.sep)[0]!;

function imports(): Import[] {
  const out: Import[] = [];
  for (const file of sources(src)) {
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      for (const m of line.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)\.js'/g)) {
        const target = path.resolve(path.dirname(file), m[1]!) + '.ts';
        const from = roomOf(file);
        const to = roomOf(target);
        if (from !== to) out.push({ from, to, where: `${path.relative(projectRoot, file)}:${i + 1}` });
      }
    });
  }
  return out;
}

describe('the floors of src/ (docs/architecture.md)', () => {
  const all = imports();

  it('every room of src/ has a floor, and every floor names rooms that exist', () => {
    const rooms = readdirSync(src).filter((name) => statSync(path.join(src, name)).isDirectory() || (name.endsWith('.ts') && !name.endsWith('.d.ts')));
    expect(rooms.filter((r) => !floorOf.has(r)), 'rooms without a floor: add them to FLOORS and to docs/architecture.md').toEqual([]);
    expect([...floorOf.keys()].filter((r) => !rooms.includes(r)), 'floors naming rooms that are gone').toEqual([]);
  });

  it('no import runs back up to a higher floor', () => {
    const up = all.filter((i) => floorOf.get(i.to)! > floorOf.get(i.from)!).map((i) => `${i.where}: ${i.from} (floor ${floorOf.get(i.from)! + 1}) imports ${i.to} (floor ${floorOf.get(i.to)! + 1})`);
    expect(up).toEqual([]);
  });

  it('rooms on one floor do not import each other both ways', () => {
    const pairs = new Set(all.map((i) => `${i.from}->${i.to}`));
    const both = [...pairs].filter((p) => {
      const [a, b] = p.split('->');
      return pairs.has(`${b}->${a}`) && a! < b!;
    });
    expect(both).toEqual([]);
  });

  it('the architecture page lists the same floors', () => {
    const page = readFileSync(path.join(projectRoot, 'docs/architecture.md'), 'utf8');
    FLOORS.forEach((rooms, floor) => {
      const line = page.split('\n').find((l) => l.startsWith(`| ${floor + 1} |`));
      expect(line, `docs/architecture.md has a row for floor ${floor + 1}`).toBeDefined();
      for (const room of rooms) expect(line, `floor ${floor + 1} names ${room}`).toContain(`\`${room.endsWith('.ts') ? room : `${room}/`}\``);
    });
  });
});
