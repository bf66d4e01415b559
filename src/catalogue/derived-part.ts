/**
 * One derived part (request or response) of a service folder, opened for tools: the shape, the
 * root declaration and the content definition, so `okno catalogue example` and `add` can draw
 * examples from the XSD package. The gateway itself does not use this (load.ts compiles parts once).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { JsonValue } from '../store/types.js';
import { parseXml } from '../xml/parser.js';
import { derivedContent } from './derived-content.js';
import { ExampleGenerator } from './derive/example.js';
import { NO_OVERRIDES, parseOverrides, type Overrides } from './derive/overrides.js';
import { ShapeBuilder } from './derive/shape.js';
import { firstDifference } from './json-equal.js';
import { clark, type ElementDecl } from './schema-set/model.js';
import type { PartFile, ServiceFile } from './service-schema.js';
import type { ContentDefinition, MessagePart } from './types.js';
import { compileXsdPackage } from './xsd/index.js';

export interface DerivedPart {
  readonly shapes: ShapeBuilder;
  readonly decl: ElementDecl;
  readonly def: ContentDefinition;
}

/** The derived part of a package: the root element `{namespace}rootElement` declared in `xsd` (relative to dir). */
export function derivePart(dir: string, spec: PartFile, overrides: Overrides, title: string): DerivedPart {
  const compiled = compileXsdPackage(dir, [spec.xsd], spec.namespace);
  const decl = compiled.set.elements.get(clark(spec.namespace, spec.rootElement));
  if (decl === undefined) throw new Error(`${path.join(dir, spec.xsd)}: no global element "${spec.rootElement}" in namespace "${spec.namespace}"`);
  const shapes = new ShapeBuilder(overrides);
  const { def } = derivedContent(shapes, decl, compiled, title);
  return { shapes, decl, def };
}

/**
 * Opens a part of an already loaded service folder (its service.json and overrides); null when
 * the part is hand-written (it has a schema and a mapping) or absent.
 */
export function openDerivedPart(serviceDir: string, part: MessagePart): DerivedPart | null {
  const s = JSON.parse(readFileSync(path.join(serviceDir, 'service.json'), 'utf8')) as ServiceFile;
  const spec = part === 'request' ? s.request : s.response;
  if (spec === undefined || spec.schema !== undefined) return null;
  let overrides = NO_OVERRIDES;
  if (s.overrides !== undefined) {
    const o = parseOverrides(JSON.parse(readFileSync(path.join(serviceDir, s.overrides), 'utf8')) as unknown);
    if ('problems' in o) throw new Error(`${path.join(serviceDir, s.overrides)}: ${o.problems.join('; ')}`);
    overrides = o;
  }
  return derivePart(serviceDir, spec, overrides, `${s.id} ${part}`);
}

/** Why a JSON value is not a usable example: the problems of both schemas and of the round trip (empty: it is one). */
export function exampleProblems(def: ContentDefinition, value: JsonValue): string[] {
  const jsonErrors = def.validateJson(value);
  if (jsonErrors.length > 0) return jsonErrors.map((e) => `${e.path || '/'}: ${e.rule}: ${e.message}`);
  const xml = def.toXml(value);
  const root = parseXml(xml).root;
  const xmlErrors = def.validateXml(root);
  if (xmlErrors.length > 0) return xmlErrors.map((e) => `${e.path}: ${e.rule}: ${e.message}`);
  const diff = firstDifference(value, def.toJson(root));
  return diff === null ? [] : [`does not round-trip through XML: differs at ${diff}`];
}

export interface GeneratedExample {
  readonly json: JsonValue;
  readonly xml: string;
  /** null: the minimal example; a number: the seed that gave the first valid one. */
  readonly seed: number | null;
  /** What was wrong with the examples tried before this one. */
  readonly refused: readonly { seed: number | null; problems: readonly string[] }[];
}

/**
 * A valid example: the given seed's (null = minimal), or, with `fallbackSeeds`, the first of
 * those seeds whose example passes when it does not. Null when none passes (see `refused`).
 */
export function generateExample(p: DerivedPart, seed: number | null, fallbackSeeds: readonly number[] = []): GeneratedExample | { refused: { seed: number | null; problems: string[] }[] } {
  const refused: { seed: number | null; problems: string[] }[] = [];
  for (const s of [seed, ...fallbackSeeds]) {
    const json = new ExampleGenerator(p.shapes, { seed: s }).element(p.decl);
    let problems: string[];
    try {
      problems = exampleProblems(p.def, json);
    } catch (error) {
      problems = [error instanceof Error ? error.message : String(error)];
    }
    if (problems.length === 0) return { json, xml: p.def.toXml(json), seed: s, refused };
    refused.push({ seed: s, problems });
  }
  return { refused };
}

/** The text of an XML example file. */
export function xmlDocumentText(xml: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${xml}\n`;
}
