// XSD validation with our own validator, on the tree we already parsed. Measured against
// libxml2 (libxml2-wasm) on a 10 KB content element: libxml2 must re-parse the element (it
// cannot walk our tree) and so costs about 3.5x the CPU of this validator (0.33-0.38 ms against
// 0.10-0.12 ms, +9-14 % of a whole 10 KB request); validating alone it is no faster. Keeping our
// own also keeps the differential test honest: xmllint (libxml2) is an independent judge of it.
// Compile each package once at start-up with compileXsdPackage (or compileXsd for one text).

import path from 'node:path';
import type { ContentError } from '../types.js';
import type { XmlElement } from '../../xml/types.js';
import { readSchemaSet, type SchemaSet } from '../schema-set/resolve.js';
import { compileModel } from './compile.js';
import { nameTable, validateTree, validateTreeReading, type TreeReader } from './validate.js';

export type { TreeReader } from './validate.js';

export { XsdCompileError, MAX_ERRORS } from './errors.js';

export interface CompiledSchema {
  /** The entry schema's target namespace. */
  readonly targetNamespace: string;
  /** Local names of the entry namespace's global elements: the possible document roots. */
  readonly rootElements: string[];
  /** All problems found (at most MAX_ERRORS), in document order; empty when valid. Never throws on content. */
  validate(el: XmlElement): ContentError[];
  /** validate, with `reader` reading the elements in the same walk (validate.ts, TreeReader). */
  validateReading<C>(el: XmlElement, reader: TreeReader<C>, start: C): ContentError[];
  /** The structure the JSON derivation reads. */
  readonly set: SchemaSet;
}

function compiled(set: SchemaSet, targetNamespace: string): CompiledSchema {
  const model = compileModel(set, targetNamespace);
  nameTable(model); // built now, at start-up, not on the first message
  return {
    targetNamespace,
    rootElements: [...model.globals.values()].filter((d) => d.ns === targetNamespace).map((d) => d.name),
    validate: (el: XmlElement) => validateTree(model, el),
    validateReading: <C>(el: XmlElement, reader: TreeReader<C>, start: C) => validateTreeReading(model, el, reader, start),
    set,
  };
}

/**
 * Compiles the package in `dir` from its entry files (relative to dir; their imports and
 * includes are read too). Throws XsdCompileError ("<file>:<line>: <construct>: <why>").
 */
export function compileXsdPackage(dir: string, entryFiles: readonly string[], targetNamespace: string): CompiledSchema {
  return compiled(readSchemaSet(dir, entryFiles), targetNamespace);
}

/** Compiles one schema given as text (its imports, if any, are read relative to `source`). */
export function compileXsd(xsdText: string, source: string): CompiledSchema {
  const dir = path.dirname(source);
  const file = path.basename(source);
  const set = readSchemaSet(dir, [file], { file, text: xsdText });
  const tns = /targetNamespace\s*=\s*["']([^"']*)["']/.exec(xsdText)?.[1] ?? '';
  return compiled(set, tns);
}
