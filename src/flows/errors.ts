/**
 * What a flow refuses, in the flow's own words: a kind (what went wrong, not
 * how a protocol says it), a stable code and a message that names the field or
 * the state. The edges translate: the JSON API to an HTTP status
 * (src/http/errors.ts: not-found 404, conflict 409, invalid 400, forbidden 403, unprocessable 422)
 * and a SOAP edge to its fault (invalid → InvalidContent, forbidden →
 * AccessDenied, …), so the flows know no transport.
 */
export type DomainErrorKind = 'not-found' | 'conflict' | 'invalid' | 'forbidden' | 'unprocessable';

export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

/** Nothing with that id (the message names which). */
export const notFound = (message: string, code = 'NOT_FOUND'): DomainError => new DomainError('not-found', code, message);
/** The request does not fit the current state (already answered, no such partner registered…). */
export const conflict = (code: string, message: string): DomainError => new DomainError('conflict', code, message);
/** The request itself is wrong: the message names the field. */
export const invalid = (code: string, message: string): DomainError => new DomainError('invalid', code, message);
/** Well-formed, but what it names cannot be used (an unknown file id, a file too large to send): the message names the field. */
export const unprocessable = (code: string, message: string): DomainError => new DomainError('unprocessable', code, message);
/** The caller may not do this. */
export const forbidden = (code: string, message: string): DomainError => new DomainError('forbidden', code, message);
