/**
 * Issue 26 point 2: schema validation + XML → JSON of an accepted content, as two walks
 * (validateXml, then toJson: the ref's and this checkout's) and as this checkout's one walk
 * (readXml), measured interleaved in one process on the end-to-end bench's content (dwelling-replanning, bench/lib/requests.ts
 * contentOfSize) at 10 KB and 100 KB, and on a federal package (zags-rogdinf response, derived
 * JSON, derive/read-walk.ts) at ~10 KB.
 *
 *   node --expose-gc --max-semi-space-size=64 --import tsx bench/content-walk.ts [--quick] [--against <git-ref>]
 *
 * With --against, "before" is that ref's validateXml + toJson (its src/, in a temporary worktree),
 * each side parsing the content with its own parser; without, this checkout's.
 * CPU per message: the process's CPU time (process.cpuUsage, so other load on the machine counts
 * less than in wall time) over a slice of runs ÷ runs, the median of many short slices taken in
 * turn (before, two walks, one walk, before, …). Bytes per message: heap growth over a batch of runs with no garbage collection in between
 * (a batch during which a collection ran is measured again, smaller), after a full gc.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { loadCatalogue } from '../src/catalogue/load.js';
import type { ContentDefinition } from '../src/catalogue/types.js';
import { parseXml } from '../src/xml/parser.js';
import type { XmlElement } from '../src/xml/types.js';
import { buildRef, resolveRef } from './lib/ref-build.js';
import { contentOfSize, root } from './lib/requests.js';

const quick = process.argv.includes('--quick');
const slices = quick ? 5 : 25;
const sliceMs = quick ? 40 : 100;
const gc = (globalThis as { gc?: () => void }).gc;
const againstAt = process.argv.indexOf('--against');
const against = againstAt === -1 ? null : (process.argv[againstAt + 1] ?? '');

/** What "before" runs on: a catalogue and a parser, this checkout's or the ref's. */
interface Side {
  readonly label: string;
  readonly catalogue: { get(id: string): { request: ContentDefinition; response: ContentDefinition | null; dir: string } | undefined };
  readonly parse: (xml: string) => { root: XmlElement };
}

async function beforeSide(): Promise<Side> {
  if (against === null) return { label: 'this checkout', catalogue: loadCatalogue(path.join(root, 'config/services')), parse: parseXml };
  const commit = resolveRef(root, against);
  if (commit === null) {
    console.error(`--against: "${against}" names no commit`);
    process.exit(2);
  }
  const ref = buildRef(root, against, commit, (line) => console.error(line));
  const load = (await import(path.join(ref.dir, 'src/catalogue/load.ts'))) as { loadCatalogue: (dir: string) => Side['catalogue'] };
  const parser = (await import(path.join(ref.dir, 'src/xml/parser.ts'))) as { parseXml: Side['parse'] };
  return { label: `${against} (${ref.short})`, catalogue: load.loadCatalogue(path.join(ref.dir, 'config/services')), parse: parser.parseXml };
}

interface Cell {
  readonly label: string;
  readonly xml: string;
  readonly before: { def: ContentDefinition; el: XmlElement };
  readonly after: { def: ContentDefinition; el: XmlElement };
}

/** Before: two walks. */
function twoWalks(def: ContentDefinition, el: XmlElement): unknown {
  const errors = def.validateXml(el);
  if (errors.length > 0) throw new Error('invalid');
  return def.toJson(el);
}

/** CPU µs per run of each op: the median over `slices` slices of `sliceMs`, the ops taking turns. */
function cpuPerRun(ops: (() => unknown)[]): number[] {
  const samples = ops.map(() => [] as number[]);
  for (const op of ops) {
    const t = performance.now();
    while (performance.now() - t < sliceMs) op();
  }
  for (let r = 0; r < slices; r++) {
    ops.forEach((op, i) => {
      const c = process.cpuUsage();
      const t = performance.now();
      let n = 0;
      do {
        op();
        n++;
      } while (performance.now() - t < sliceMs);
      const u = process.cpuUsage(c);
      (samples[i] as number[]).push((u.user + u.system) / n);
    });
  }
  return samples.map((s) => s.sort((a, b) => a - b)[s.length >> 1] as number);
}

/** After: readXml. */
function oneWalk(def: ContentDefinition, el: XmlElement): unknown {
  const r = def.readXml(el);
  if (!r.ok) throw new Error('invalid');
  return r.json;
}

function cells(before: Side): Cell[] {
  const catalogue = loadCatalogue(path.join(root, 'config/services'));
  const cell = (label: string, id: string, part: 'request' | 'response', xml: string): Cell => {
    const b = before.catalogue.get(id)!;
    const a = catalogue.get(id)!;
    return {
      label,
      xml,
      before: { def: part === 'request' ? b.request : b.response!, el: before.parse(xml).root },
      after: { def: part === 'request' ? a.request : a.response!, el: parseXml(xml).root },
    };
  };
  const out: Cell[] = [];
  for (const size of [10 * 1024, 100 * 1024]) out.push(cell(`dwelling-replanning ${size / 1024} KB (hand-written mapping)`, 'dwelling-replanning', 'request', contentOfSize(size).xml));
  const zags = catalogue.get('zags-rogdinf')!;
  const example = JSON.parse(readFileSync(path.join(zags.dir, 'example.response.json'), 'utf8')) as { СведОтветАГС: unknown[]; КолДок: number };
  const one = example.СведОтветАГС[0];
  let n = 1;
  let xml = zags.response!.toXml(example as never);
  while (Buffer.byteLength(xml) < 10_000 && n < 200) {
    n++;
    xml = zags.response!.toXml({ ...example, КолДок: n, СведОтветАГС: Array.from({ length: n }, () => one) } as never);
  }
  out.push(cell('zags-rogdinf response ~10 KB (derived JSON)', 'zags-rogdinf', 'response', xml));
  return out;
}

let collections = 0;
new PerformanceObserver((list) => {
  collections += list.getEntries().length;
}).observe({ entryTypes: ['gc'] });

const settle = () => new Promise((r) => setTimeout(r, 20));

/** Heap bytes one run allocates: the heap's growth over `runs` runs with no collection in between. */
async function bytesPerRun(op: () => unknown, runs: number): Promise<number> {
  if (gc === undefined) return NaN;
  for (let attempt = 0; attempt < 20; attempt++) {
    gc();
    await settle(); // let the observer report the gc above
    const seen = collections;
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < runs; i++) op();
    const after = process.memoryUsage().heapUsed;
    await settle();
    if (collections === seen) return (after - before) / runs;
    runs = Math.max(1, runs >> 1);
  }
  return NaN;
}

const before = await beforeSide();
const lines: string[] = [`before: validateXml + toJson of ${before.label}; after: readXml of this checkout`];
for (const cell of cells(before)) {
  const { before: b, after: a } = cell;
  // Checked before timing: the same JSON text.
  const jb = JSON.stringify(twoWalks(b.def, b.el));
  const ja = JSON.stringify(oneWalk(a.def, a.el));
  if (jb !== ja) {
    console.error(`${cell.label}: readXml's JSON differs from validateXml + toJson's`);
    process.exit(1);
  }
  const [cb, c2, c1] = cpuPerRun([() => twoWalks(b.def, b.el), () => twoWalks(a.def, a.el), () => oneWalk(a.def, a.el)]) as [number, number, number];
  const bytes = Buffer.byteLength(cell.xml);
  const runs = bytes > 50_000 ? 20 : 100;
  const bb = await bytesPerRun(() => twoWalks(b.def, b.el), runs);
  const b2 = await bytesPerRun(() => twoWalks(a.def, a.el), runs);
  const b1 = await bytesPerRun(() => oneWalk(a.def, a.el), runs);
  const kb = (n: number) => `${(n / 1024).toFixed(0)} KB`;
  const us = (n: number) => `${n.toFixed(0)} µs`;
  lines.push(
    `${cell.label}, content ${(bytes / 1024).toFixed(1)} KB, CPU and heap allocated per message:\n` +
      `  before (two walks)     ${us(cb).padStart(8)} ${kb(bb).padStart(8)}\n` +
      `  this, two walks        ${us(c2).padStart(8)} ${kb(b2).padStart(8)}\n` +
      `  this, readXml          ${us(c1).padStart(8)} ${kb(b1).padStart(8)}   before ÷ readXml: CPU ${(cb / c1).toFixed(2)}×, bytes ${(bb / b1).toFixed(2)}×; two walks ÷ readXml: CPU ${(c2 / c1).toFixed(2)}×, bytes ${(b2 / b1).toFixed(2)}×`,
  );
}
console.log(lines.join('\n'));
