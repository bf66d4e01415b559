/**
 * Why Okno keeps its own XSD validator: CPU per ~10 KB content element, Okno's validator on the
 * tree signature verification already parsed, against libxml2 (the library xmllint runs, here
 * through libxml2-wasm) which must parse the element again, measured paired in one process.
 *
 *   npx tsx bench/xsd-validator.ts [--quick]
 *
 * Cells: the advertising-permit register extract (a hand-written service) and the ZAGS birth
 * record response (a federal package of two files and two namespaces). Both validators must
 * accept the valid instance and refuse a spoilt one before anything is timed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ParseOption, XmlBufferInputProvider, XmlDocument, XsdValidator, xmlRegisterInputProvider, XmlValidateError } from 'libxml2-wasm';
import { loadCatalogue } from '../src/catalogue/load.js';
import { compileXsdPackage } from '../src/catalogue/xsd/index.js';
import { inScopeNamespaces } from '../src/xml/helpers.js';
import { parseXml } from '../src/xml/parser.js';
import type { XmlElement } from '../src/xml/types.js';
import { measurePair } from './lib/measure.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.argv.includes('--quick');
const options = quick ? { warmupMs: 100, runMs: 300, minRuns: 20 } : { warmupMs: 1500, runMs: 2000, minRuns: 200 };

/** The element's source text with the namespaces declared on its ancestors added: what libxml2 must parse. */
function standalone(source: string, el: XmlElement): string {
  const text = source.slice(el.start, el.end);
  const own = new Set(el.nsDecls.map((d) => d.prefix));
  let extra = '';
  for (const [prefix, uri] of inScopeNamespaces(el)) {
    if (!own.has(prefix)) extra += prefix === '' ? ` xmlns="${uri}"` : ` xmlns:${prefix}="${uri}"`;
  }
  const at = 1 + el.qName.length;
  return text.slice(0, at) + extra + text.slice(at);
}

/** A SOAP-like envelope around `content`: libxml2 must be given the namespaces its ancestors declare. */
function envelope(ns: string, content: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:e="${ns}" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"><soap:Body><MessagePrimaryContent xmlns="urn://x-artefacts-smev-gov-ru/services/message-exchange/types/basic/1.3">${content}</MessagePrimaryContent></soap:Body></soap:Envelope>`;
}

function contentOf(doc: ReturnType<typeof parseXml>): XmlElement {
  let el = doc.root;
  while (el.localName !== 'MessagePrimaryContent') el = el.children.find((c): c is XmlElement => c.type === 'element') as XmlElement;
  return el.children.find((c): c is XmlElement => c.type === 'element') as XmlElement;
}

interface Cell {
  readonly label: string;
  readonly dir: string;
  readonly entry: string;
  readonly ns: string;
  readonly xml: string;
  readonly spoilt: string;
}

function cells(): Cell[] {
  const catalogue = loadCatalogue(path.join(root, 'config/services'));
  const out: Cell[] = [];
  // 1. A hand-written service: the register extract response, ~10 KB of permits.
  {
    const s = catalogue.get('advertising-permit-register-extract');
    if (s?.response == null) throw new Error('advertising-permit-register-extract is missing');
    const example = JSON.parse(readFileSync(path.join(s.dir, 'example.response.json'), 'utf8')) as { permits?: unknown[] };
    const permits = example.permits ?? [];
    const many = { ...example, permits: Array.from({ length: 40 }, (_, i) => permits[i % permits.length]) };
    let xml = s.response.toXml(many as never);
    while (Buffer.byteLength(xml) > 10_500 && many.permits.length > 1) {
      many.permits.pop();
      xml = s.response.toXml(many as never);
    }
    out.push(cellOf('register extract (hand-written, 1 file)', s.dir, 'response.xsd', s.response.namespace, xml));
  }
  // 2. A federal package: the ZAGS birth record response, its records repeated to ~10 KB.
  {
    const s = catalogue.get('zags-rogdinf');
    if (s?.response == null) throw new Error('zags-rogdinf is missing');
    const example = JSON.parse(readFileSync(path.join(s.dir, 'example.response.json'), 'utf8')) as { СведОтветАГС: unknown[]; КолДок: number };
    const one = example.СведОтветАГС[0];
    let n = 1;
    let xml = s.response.toXml(example as never);
    while (Buffer.byteLength(xml) < 10_000 && n < 200) {
      n++;
      xml = s.response.toXml({ ...example, КолДок: n, СведОтветАГС: Array.from({ length: n }, () => one) } as never);
    }
    out.push(cellOf('ZAGS birth record (federal, 2 files)', s.dir, 'xsd/zags-rogdinf-ru-root.xsd', s.response.namespace, xml));
  }
  return out;
}

function cellOf(label: string, dir: string, entry: string, ns: string, contentXml: string): Cell {
  const xml = envelope(ns, contentXml);
  const spoilt = xml.replace(/>([0-9])/, '>x$1');
  return { label, dir, entry, ns, xml, spoilt };
}

const OPTS = { option: ParseOption.XML_PARSE_NONET | ParseOption.XML_PARSE_NO_XXE };

function libxml2For(cell: Cell): (xml: string) => boolean {
  // The package's files from disk, by URL, for xs:import / xs:include.
  const files: Record<string, Uint8Array> = {};
  const walk = (d: string, rel: string): void => {
    for (const name of readdirSyncSafe(d)) {
      const p = path.join(d, name);
      if (name.endsWith('.xsd')) files[`file:///pkg/${rel}${name}`] = readFileSync(p);
      else if (!name.includes('.')) walk(p, `${rel}${name}/`);
    }
  };
  walk(cell.dir, '');
  xmlRegisterInputProvider(new XmlBufferInputProvider(files));
  const schemaDoc = XmlDocument.fromBuffer(files[`file:///pkg/${cell.entry}`] as Uint8Array, { url: `file:///pkg/${cell.entry}` });
  const validator = XsdValidator.fromDoc(schemaDoc);
  schemaDoc.dispose();
  return (xml) => {
    const doc = XmlDocument.fromString(xml, OPTS);
    try {
      validator.validate(doc);
      return true;
    } catch (e) {
      if (e instanceof XmlValidateError) return false;
      throw e;
    } finally {
      doc.dispose();
    }
  };
}

function readdirSyncSafe(d: string): string[] {
  try {
    return readdirSync(d);
  } catch {
    return [];
  }
}

const lines: string[] = [];
for (const cell of cells()) {
  const ours = compileXsdPackage(cell.dir, [cell.entry], cell.ns);
  const theirs = libxml2For(cell);
  const valid = parseXml(cell.xml);
  const el = contentOf(valid);
  const bytes = Buffer.byteLength(cell.xml.slice(el.start, el.end));
  const spoiltEl = contentOf(parseXml(cell.spoilt));
  // Checked before timing: both accept the valid content and refuse the spoilt one.
  const checks = [ours.validate(el).length === 0, theirs(standalone(cell.xml, el)), ours.validate(spoiltEl).length > 0, !theirs(standalone(cell.spoilt, spoiltEl))];
  if (checks.some((ok) => !ok)) {
    console.error(`${cell.label}: the validators disagree with the expected verdicts ${JSON.stringify(checks)}`);
    process.exit(1);
  }
  const [a, b] = await measurePair(() => ours.validate(el), () => theirs(standalone(cell.xml, el)), options);
  lines.push(
    `${cell.label}, content ${(bytes / 1024).toFixed(1)} KB: Okno ${(a.medianMs * 1000).toFixed(0)} µs, libxml2-wasm (re-parse + validate) ${(b.medianMs * 1000).toFixed(0)} µs per message — libxml2 / Okno ${(b.medianMs / a.medianMs).toFixed(1)}×`,
  );
}
console.log(lines.join('\n'));
