/** src/flows/errors.ts: what a flow refuses, as a kind, a stable code and a message. */
import { describe, expect, it } from 'vitest';
import { conflict, DomainError, forbidden, invalid, notFound } from '../../src/flows/errors.js';

describe('DomainError', () => {
  it('each helper makes its kind, with the code and message given', () => {
    const cases: Array<[DomainError, DomainError['kind'], string, string]> = [
      [notFound('no application 42'), 'not-found', 'NOT_FOUND', 'no application 42'],
      [notFound('body/applicationId: no application 7', 'NO_APPLICATION'), 'not-found', 'NO_APPLICATION', 'body/applicationId: no application 7'],
      [conflict('ALREADY_ANSWERED', 'request 1 was already answered'), 'conflict', 'ALREADY_ANSWERED', 'request 1 was already answered'],
      [invalid('INVALID_DATA', 'body/data does not fit'), 'invalid', 'INVALID_DATA', 'body/data does not fit'],
      [forbidden('NOT_YOURS', 'partner x may not'), 'forbidden', 'NOT_YOURS', 'partner x may not'],
    ];
    for (const [error, kind, code, message] of cases) {
      expect(error).toBeInstanceOf(DomainError);
      expect(error).toBeInstanceOf(Error);
      expect({ kind: error.kind, code: error.code, message: error.message, name: error.name }).toEqual({ kind, code, message, name: 'DomainError' });
    }
  });

  it('is thrown and caught as an Error with its stack', () => {
    const thrown = (() => {
      try {
        throw conflict('CONCURRENT_CHANGE', 'read it again');
      } catch (error) {
        return error;
      }
    })();
    expect(thrown).toBeInstanceOf(DomainError);
    expect((thrown as Error).stack).toContain('DomainError: read it again');
  });
});
