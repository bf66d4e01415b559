export type XmlErrorCode =
  | 'DTD_FORBIDDEN'
  | 'NOT_WELL_FORMED'
  | 'TOO_DEEP'
  | 'TOO_LARGE'
  | 'TOO_MANY_ATTRIBUTES'
  | 'TOO_MANY_NODES'
  | 'BAD_ENCODING'
  | 'INVALID_CHAR'
  | 'UNDECLARED_PREFIX'
  | 'BAD_NAMESPACE'
  | 'DUPLICATE_ATTRIBUTE'
  | 'UNKNOWN_ENTITY';

export class XmlError extends Error {
  readonly code: XmlErrorCode;
  readonly line: number;
  readonly column: number;
  readonly offset: number;

  constructor(code: XmlErrorCode, message: string, offset = -1, line = 0, column = 0) {
    super(line > 0 ? `${message} (line ${line}, column ${column})` : message);
    this.name = 'XmlError';
    this.code = code;
    this.offset = offset;
    this.line = line;
    this.column = column;
  }
}
