// Shared helpers for the XSD tests: wrap declarations in a schema, parse instances.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compileXsd, type CompiledSchema } from '../../src/catalogue/xsd/index.js';
import { parseXml, type XmlElement, type XmlLimits } from '../../src/xml/parser.js';

export const TNS = 'urn:okno:test';

export function fixture(name: string): Buffer {
  return readFileSync(fileURLToPath(new URL(`../fixtures/xsd/${name}`, import.meta.url)));
}

/** A schema text around `body`, with the xs and t (target namespace) prefixes declared. */
export function schemaText(body: string, schemaAttrs = 'elementFormDefault="qualified"'): string {
  return `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:t="${TNS}" targetNamespace="${TNS}" ${schemaAttrs}>${body}</xs:schema>`;
}

export function compile(body: string): CompiledSchema {
  return compileXsd(schemaText(body), 'test.xsd');
}

export function root(xml: string, limits?: Partial<XmlLimits>): XmlElement {
  return parseXml(xml, limits).root;
}

/** Just path and rule, the stable part of an error. */
export function pr(errors: { path: string; rule: string }[]): { path: string; rule: string }[] {
  return errors.map(({ path, rule }) => ({ path, rule }));
}
