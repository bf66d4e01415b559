// Reading the XSD files of a service package as the agency published them: any encoding the
// XML declaration names (real packages come in windows-1251), schemaLocation resolved inside
// the service folder only (a package never reaches the network or the rest of the disk).

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { TextDecoder } from 'node:util';
import { parseXml, XmlError } from '../../xml/parser.js';
import type { XmlDocument } from '../../xml/types.js';
import { XsdCompileError } from '../xsd/errors.js';

const DECLARED_ENCODING = /^\s*<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._-]+)["']/;

/**
 * Decodes an XSD file's bytes: UTF-8 (with or without BOM) unless the XML declaration names
 * another encoding that the platform's TextDecoder knows (windows-1251, koi8-r, utf-16 ...).
 * Returns text whose declaration says UTF-8, which is what it now is.
 */
export function decodeSchemaText(bytes: Uint8Array, file: string): string {
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return reDeclare(new TextDecoder('utf-16be', { fatal: true }).decode(bytes), file);
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return reDeclare(new TextDecoder('utf-16le', { fatal: true }).decode(bytes), file);
  // The declaration is ASCII in every ASCII-compatible encoding.
  const head = Buffer.from(bytes.subarray(0, 200)).toString('latin1');
  const declared = DECLARED_ENCODING.exec(head)?.[1]?.toLowerCase() ?? 'utf-8';
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(declared, { fatal: true });
  } catch {
    throw new XsdCompileError(file, `encoding "${declared}"`, 'is not an encoding this platform can decode', 1);
  }
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    throw new XsdCompileError(file, `encoding "${declared}"`, `the file is not valid ${declared}`);
  }
  return reDeclare(text, file);
}

function reDeclare(text: string, _file: string): string {
  const t = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  return t.replace(/^(\s*<\?xml[^>]*?\sencoding\s*=\s*)(["'])[A-Za-z0-9._-]+\2/, '$1$2UTF-8$2');
}

export interface SchemaFile {
  /** Absolute path. */
  readonly abs: string;
  /** Path relative to the package folder, for messages and provenance. */
  readonly rel: string;
  readonly doc: XmlDocument;
}

/** The files of one package, each read and parsed once. */
export class PackageFiles {
  private readonly files = new Map<string, SchemaFile>();

  constructor(readonly root: string) {}

  /** Path of `location` as written in a file of directory `fromDir`, refused when it leaves the package folder. */
  resolve(fromDir: string, location: string, at: { file: string; line: number | undefined }): string {
    const loc = location.trim().replace(/\\/g, '/');
    if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(loc) && !/^[A-Za-z]:\//.test(loc)) {
      throw new XsdCompileError(at.file, `schemaLocation "${location}"`, 'is a URL: copy the schema into the service folder and refer to it by a relative path', at.line);
    }
    const abs = path.resolve(fromDir, decodeURI(loc));
    const rel = path.relative(this.root, abs);
    if (rel.startsWith('..') || path.isAbsolute(rel)) {
      throw new XsdCompileError(at.file, `schemaLocation "${location}"`, 'points outside the service folder', at.line);
    }
    return abs;
  }

  load(abs: string, referencedFrom?: { file: string; line: number | undefined }): SchemaFile {
    const done = this.files.get(abs);
    if (done !== undefined) return done;
    let bytes: Buffer;
    try {
      bytes = readFileSync(abs);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      if (referencedFrom !== undefined) {
        throw new XsdCompileError(referencedFrom.file, `schemaLocation ${path.relative(this.root, abs)}`, `cannot read the file (${code})`, referencedFrom.line);
      }
      throw new XsdCompileError(abs, 'file', `cannot read the file (${code})`);
    }
    const text = decodeSchemaText(bytes, abs);
    let doc: XmlDocument;
    try {
      doc = parseXml(text);
    } catch (e) {
      if (e instanceof XmlError) throw new XsdCompileError(abs, 'XML', `the schema is not well-formed: ${e.message}`);
      throw e;
    }
    const file: SchemaFile = { abs, rel: path.relative(this.root, abs), doc };
    this.files.set(abs, file);
    return file;
  }

  /** Every file read so far, in the order first read. */
  all(): SchemaFile[] {
    return [...this.files.values()];
  }
}
