export type AlgorithmErrorCode = 'ALGORITHM_NOT_ALLOWED' | 'KEY_MISMATCH' | 'BAD_KEY';

/** Thrown for a URI/OID we refuse (unknown or deliberately forbidden) and for keys that don't fit. */
export class AlgorithmError extends Error {
  readonly code: AlgorithmErrorCode;
  readonly uri: string | undefined;

  constructor(code: AlgorithmErrorCode, message: string, uri?: string) {
    super(message);
    this.name = 'AlgorithmError';
    this.code = code;
    this.uri = uri;
  }
}

export const notAllowed = (kind: string, uri: string, why = 'not allowed'): AlgorithmError =>
  new AlgorithmError('ALGORITHM_NOT_ALLOWED', `${kind} algorithm ${uri}: ${why}`, uri);
