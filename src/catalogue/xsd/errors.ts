// Errors of the XSD subset: compile-time refusals (thrown once, at start-up) and the
// bounded collector used while validating a document (never throws on bad content).

import type { ContentError } from '../types.js';

/**
 * A schema that is malformed or uses a construct outside the supported subset.
 * The message always starts with the source file (and line when known), then names the construct,
 * so an operator can fix the schema without reading our code.
 */
export class XsdCompileError extends Error {
  override readonly name = 'XsdCompileError';
  /** The schema file as given to compileXsd. */
  readonly source: string;
  /** The offending construct, e.g. "xs:any" or "attribute nillable on xs:element". */
  readonly construct: string;
  readonly line: number | undefined;

  constructor(source: string, construct: string, detail: string, line?: number) {
    super(`${source}${line !== undefined ? `:${line}` : ''}: ${construct}: ${detail}`);
    this.source = source;
    this.construct = construct;
    this.line = line;
  }
}

/** Hostile documents can produce an error per node; beyond this many the sender has enough to fix. */
export const MAX_ERRORS = 20;

/** Collects content errors up to a cap; callers check `full` to stop walking early. */
export class ErrorCollector {
  readonly errors: ContentError[] = [];
  constructor(private readonly limit: number = MAX_ERRORS) {}

  get full(): boolean {
    return this.errors.length >= this.limit;
  }

  add(path: string, rule: string, message: string): void {
    if (this.errors.length < this.limit) this.errors.push({ path, rule, message });
  }
}
