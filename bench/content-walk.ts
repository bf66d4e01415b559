/**
 * Issue 26 point 2: schema validation + XML → JSON of an accepted content, today's two walks
 * (validateXml, then toJson) against the one walk (readXml), measured interleaved in one process
 * on the end-to-end bench's content (dwelling-replanning, bench/lib/requests.ts contentOfSize)
 * at 10 KB and 100 KB, and on a federal package (zags-rogdinf response, derived JSON) at ~10 KB.
 *
 *   node --expose-gc --max-semi-space-size=64 --import tsx bench/content-walk.ts [--quick]
 *
 * Bytes per message: heap growth over a batch of runs with no garbage collection in between
 * (checked: a batch during which any collection ran is measured again), after a full gc.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { loadCatalogue } from '../src/catalogue/load.js';
import type { ContentDefinition } from '../src/catalogue/types.js';
import { firstDifference } from '../src/catalogue/json-equal.js';
import { parseXml } from '../src/xml/parser.js';
import type { XmlElement } from '../src/xml/types.js';
import { measurePair } from './lib/measure.js';
import { contentOfSize, root } from './lib/requests.js';

const quick = process.argv.includes('--quick');
const options = quick ? { warmupMs: 200, runMs: 600, minRuns: 20 } : { warmupMs: 1500, runMs: 4000, minRuns: 100 };
const gc = (globalThis as { gc?: () => void }).gc;

interface Cell {
  readonly label: string;
  readonly def: ContentDefinition;
  readonly el: XmlElement;
  readonly bytes: number;
}

/** Today: two walks. */
function twoWalks(def: ContentDefinition, el: XmlElement): unknown {
  const errors = def.validateXml(el);
  if (errors.length > 0) throw new Error('invalid');
  return def.toJson(el);
}

/** One walk (falls back to two where a definition has no readXml yet). */
function oneWalk(def: ContentDefinition, el: XmlElement): unknown {
  const r = def.readXml(el);
  if (!r.ok) throw new Error('invalid');
  return r.json;
}

function cells(): Cell[] {
  const catalogue = loadCatalogue(path.join(root, 'config/services'));
  const dwelling = catalogue.get('dwelling-replanning')!.request;
  const out: Cell[] = [];
  for (const size of [10 * 1024, 100 * 1024]) {
    const { xml } = contentOfSize(size);
    out.push({ label: `dwelling-replanning ${size / 1024} KB (hand-written mapping)`, def: dwelling, el: parseXml(xml).root, bytes: Buffer.byteLength(xml) });
  }
  const zags = catalogue.get('zags-rogdinf')!;
  const example = JSON.parse(readFileSync(path.join(zags.dir, 'example.response.json'), 'utf8')) as { СведОтветАГС: unknown[]; КолДок: number };
  const one = example.СведОтветАГС[0];
  let n = 1;
  let xml = zags.response!.toXml(example as never);
  while (Buffer.byteLength(xml) < 10_000 && n < 200) {
    n++;
    xml = zags.response!.toXml({ ...example, КолДок: n, СведОтветАГС: Array.from({ length: n }, () => one) } as never);
  }
  out.push({ label: 'zags-rogdinf response ~10 KB (derived JSON)', def: zags.response!, el: parseXml(xml).root, bytes: Buffer.byteLength(xml) });
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

const lines: string[] = [];
for (const cell of cells()) {
  const a = twoWalks(cell.def, cell.el);
  const b = oneWalk(cell.def, cell.el);
  const diff = firstDifference(a as never, b as never);
  if (diff !== null || JSON.stringify(a) !== JSON.stringify(b)) {
    console.error(`${cell.label}: one walk's JSON differs from two walks' at ${diff}`);
    process.exit(1);
  }
  const [m2, m1] = await measurePair(() => twoWalks(cell.def, cell.el), () => oneWalk(cell.def, cell.el), options);
  const runs = cell.bytes > 50_000 ? 20 : 100;
  const b2 = await bytesPerRun(() => twoWalks(cell.def, cell.el), runs);
  const b1 = await bytesPerRun(() => oneWalk(cell.def, cell.el), runs);
  const kb = (n: number) => `${(n / 1024).toFixed(0)} KB`;
  lines.push(
    `${cell.label}, content ${(cell.bytes / 1024).toFixed(1)} KB: two walks ${m2.opsPerSec.toFixed(0)} ops/s (median ${(m2.medianMs * 1000).toFixed(0)} µs), ${kb(b2)}/msg; ` +
      `one walk ${m1.opsPerSec.toFixed(0)} ops/s (median ${(m1.medianMs * 1000).toFixed(0)} µs), ${kb(b1)}/msg — ` +
      `speed one/two ${(m1.opsPerSec / m2.opsPerSec).toFixed(2)}×, allocation one/two ${(b1 / b2).toFixed(2)}×`,
  );
}
console.log(lines.join('\n'));
