// readXml (validation and XML → JSON in one walk, issue 26) against the two walks it replaces:
// validateXml, then toJson. Same errors, and byte-identical JSON, for every service's examples,
// the end-to-end bench's content, and contents spoilt in a few ways.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { contentOfSize } from '../../bench/lib/requests.js';
import { MappingError } from '../../src/catalogue/errors.js';
import { loadCatalogue } from '../../src/catalogue/load.js';
import { compileMapping } from '../../src/catalogue/mapping.js';
import { normaliseMapping, type Mapping } from '../../src/catalogue/mapping-format.js';
import { compileMappingReader } from '../../src/catalogue/mapping-walk.js';
import type { ContentDefinition, MessagePart } from '../../src/catalogue/types.js';
import { compileXsd } from '../../src/catalogue/xsd/index.js';
import type { JsonValue } from '../../src/store/types.js';
import { parseXml } from '../../src/xml/parser.js';
import { SHIPPED, readJsonFile } from './helpers.js';

const catalogue = loadCatalogue(SHIPPED);

/** Two walks' verdict and one walk's, each as JSON text (so key order counts) or the thrown error. */
function both(def: ContentDefinition, xml: string): { two: string; one: string } {
  const run = (f: () => unknown): string => {
    try {
      return JSON.stringify(f());
    } catch (e) {
      if (e instanceof MappingError) return `MappingError ${e.path} ${e.message}`;
      throw e;
    }
  };
  const two = run(() => {
    const el = parseXml(xml).root;
    const errors = def.validateXml(el);
    return errors.length > 0 ? { ok: false, errors } : { ok: true, json: def.toJson(el) };
  });
  const one = run(() => def.readXml(parseXml(xml).root));
  return { two, one };
}

const parts: { label: string; def: ContentDefinition; examples: string[] }[] = [];
for (const s of catalogue.services) {
  const file = readJsonFile(path.join(s.dir, 'service.json')) as { examples: Record<string, string | string[]> };
  for (const part of ['request', 'response'] as MessagePart[]) {
    const def = part === 'request' ? s.request : s.response;
    if (def === null) continue;
    const list = file.examples[part] ?? [];
    parts.push({ label: `${s.id} ${part}`, def, examples: (typeof list === 'string' ? [list] : list).map((f) => path.join(s.dir, f)) });
  }
}

/** Ways to spoil a valid content's XML text (each must change it to count). */
const spoilers: [string, (xml: string) => string][] = [
  ['a value', (xml) => xml.replace(/>([0-9])/, '>x$1')],
  ['an element dropped', (xml) => xml.replace(/<([A-Za-z0-9_:.-]+)>[^<]*<\/\1>/, '')],
  ['an element doubled', (xml) => xml.replace(/(<([A-Za-z0-9_:.-]+)>[^<]*<\/\2>)/, '$1$1')],
  ['an attribute added', (xml) => xml.replace(/^<([A-Za-z0-9_:.-]+)/, '<$1 bogus="1"')],
  ['the root renamed', (xml) => xml.replace(/^<([A-Za-z0-9_:.-]+)/, '<Other').replace(/<\/([A-Za-z0-9_:.-]+)>$/, '</Other>')],
];

describe('readXml: one walk gives what validateXml + toJson gave', () => {
  it('covers every service of the catalogue', () => {
    expect(parts.length).toBeGreaterThanOrEqual(catalogue.services.length);
    expect(parts.every((p) => p.examples.length > 0)).toBe(true);
  });

  for (const p of parts) {
    it(`${p.label}: every example, valid and spoilt`, () => {
      for (const file of p.examples) {
        const xml = p.def.toXml(readJsonFile(file) as JsonValue);
        const valid = both(p.def, xml);
        expect(valid.two.startsWith('{"ok":true')).toBe(true);
        expect(valid.one).toBe(valid.two);
        for (const [what, spoil] of spoilers) {
          const spoilt = spoil(xml);
          if (spoilt === xml) continue;
          const r = both(p.def, spoilt);
          expect({ what, ...r }).toEqual({ what, one: r.two, two: r.two });
        }
      }
    });
  }

  it('the bench content (dwelling-replanning, 10 KB and 100 KB)', () => {
    const def = catalogue.get('dwelling-replanning')!.request;
    for (const size of [10 * 1024, 100 * 1024]) {
      const { xml } = contentOfSize(size);
      const r = both(def, xml);
      expect(r.two.length).toBeGreaterThan(size / 2);
      expect(r.one).toBe(r.two);
      const spoilt = both(def, xml.replace('<ConsentDate>2026-0', '<ConsentDate>2026-2'));
      expect(spoilt.two).toContain('"ok":false');
      expect(spoilt.one).toBe(spoilt.two);
    }
  });
});

describe('the mapping reader', () => {
  const NS = 'urn://x-artefacts-okno/test/one-walk/1.0.0';
  const xsd = compileXsd(
    `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:t="${NS}" targetNamespace="${NS}" elementFormDefault="qualified">
      <xs:element name="Root">
        <xs:complexType>
          <xs:sequence>
            <xs:element name="Name" type="xs:string"/>
            <xs:element name="Count" type="xs:integer"/>
            <xs:element name="Tag" type="xs:string" minOccurs="0" maxOccurs="unbounded"/>
            <xs:element name="Size" minOccurs="0">
              <xs:complexType><xs:simpleContent><xs:extension base="xs:decimal"><xs:attribute name="unit" type="xs:string"/></xs:extension></xs:simpleContent></xs:complexType>
            </xs:element>
          </xs:sequence>
          <xs:attribute name="id" type="xs:string"/>
        </xs:complexType>
      </xs:element>
    </xs:schema>`,
    '/nonexistent/one-walk.xsd',
  );
  const mappingOf = (data: unknown): Mapping => {
    const r = normaliseMapping(data);
    if ('problems' in r) throw new Error(r.problems.join('\n'));
    return r.mapping;
  };
  // Field order differs from the XSD's (and the attribute comes last): the walk must give toJson's key order.
  const mapping = mappingOf({
    fields: [
      { json: 'size', xml: 'Size', fields: [{ json: 'unit', attribute: 'unit' }, { json: 'value', text: true, type: 'number' }] },
      { json: 'count', xml: 'Count', type: 'integer' },
      { json: 'tags', xml: 'Tag', repeated: true },
      { json: 'name', xml: 'Name' },
      { json: 'id', attribute: 'id' },
    ],
  });
  const reader = compileMappingReader(mapping, NS)!;
  const engine = compileMapping(mapping, NS, 'Root');
  const oneWalk = (xml: string): { errors: number; json: JsonValue | null } => {
    const start = reader.start();
    const errors = xsd.validateReading(parseXml(xml).root, reader.reader, start);
    return { errors: errors.length, json: reader.finish(start) };
  };

  it('gives toJson’s key order when the mapping’s field order is not the document’s', () => {
    const xml = `<Root xmlns="${NS}" id="r1"><Name>Ёлка</Name><Count>3</Count><Tag>a</Tag><Tag>b</Tag><Size unit="м">1.25</Size></Root>`;
    const r = oneWalk(xml);
    expect(r.errors).toBe(0);
    expect(JSON.stringify(r.json)).toBe(JSON.stringify(engine.toJson(parseXml(xml).root)));
    expect(Object.keys(r.json as object)).toEqual(['size', 'count', 'tags', 'name', 'id']);
  });

  it('leaves a value it cannot convert to toJson, whose MappingError the caller then throws', () => {
    const xml = `<Root xmlns="${NS}"><Name>x</Name><Count>123456789012345678901234567890</Count></Root>`;
    const r = oneWalk(xml);
    expect(r).toEqual({ errors: 0, json: null });
    expect(() => engine.toJson(parseXml(xml).root)).toThrow(MappingError);
  });

  it('declines a mapping in which two fields of one object name the same element (normaliseMapping refuses it; built by hand here)', () => {
    const field = (json: string) => ({ json, source: 'element' as const, name: 'Name', wrapper: null, repeated: false, type: 'string' as const, fields: [], at: '' });
    expect(compileMappingReader({ fields: [field('a'), field('b')] }, NS)).toBeNull();
    expect(compileMappingReader({ fields: [field('a')] }, NS)).not.toBeNull();
  });
});
