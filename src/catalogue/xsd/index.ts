// XSD validation for the subset of XML Schema our service schemas use (see README-style notes
// in compile.ts and the module headers). Compile each schema once at start-up with compileXsd;
// the returned validator walks our own parsed tree, so documents are never re-parsed.

import type { ContentError } from '../types.js';
import type { XmlElement } from '../../xml/types.js';
import { compileModel } from './compile.js';
import { validateTree } from './validate.js';

export { XsdCompileError, MAX_ERRORS } from './errors.js';

export interface CompiledSchema {
  readonly targetNamespace: string;
  /** Local names of the global elements (all in targetNamespace): the possible document roots. */
  readonly rootElements: string[];
  /** All problems found (at most MAX_ERRORS), in document order; empty when valid. Never throws on content. */
  validate(el: XmlElement): ContentError[];
}

/**
 * Compiles one schema. Throws XsdCompileError (message: "<source>:<line>: <construct>: <why>")
 * for malformed schemas and for every construct outside the supported subset.
 */
export function compileXsd(xsdText: string, source: string): CompiledSchema {
  const model = compileModel(xsdText, source);
  return {
    targetNamespace: model.targetNamespace,
    rootElements: [...model.roots.keys()],
    validate: (el: XmlElement) => validateTree(model, el),
  };
}
