// What the compiler refuses (schemas XSD 1.0 calls invalid, and the few constructs Okno does not
// support) gives an XsdCompileError whose message names the source file, the line and the construct.
import { describe, expect, it } from 'vitest';
import { compileXsd, XsdCompileError } from '../../src/catalogue/xsd/index.js';
import { schemaText } from './helpers.js';

function refusal(text: string): XsdCompileError {
  try {
    compileXsd(text, 'config/services/x/request.xsd');
  } catch (e) {
    expect(e).toBeInstanceOf(XsdCompileError);
    expect((e as Error).message.startsWith('config/services/x/request.xsd')).toBe(true);
    return e as XsdCompileError;
  }
  throw new Error('schema was accepted');
}

const ROOT = '<xs:element name="R" type="xs:string"/>';
const ct = (inner: string, attrs = ''): string => `<xs:element name="R"><xs:complexType ${attrs}>${inner}</xs:complexType></xs:element>`;
const seq = (inner: string): string => ct(`<xs:sequence>${inner}</xs:sequence>`);

const CASES: [string, string, RegExp][] = [
  ['xs:import of a missing file', `<xs:import namespace="urn:x" schemaLocation="x.xsd"/>${ROOT}`, /schemaLocation x\.xsd: cannot read the file \(ENOENT\)/],
  ['xs:import from the network', `<xs:import namespace="urn:x" schemaLocation="https://example.org/x.xsd"/>${ROOT}`, /is a URL: copy the schema into the service folder/],
  ['xs:include outside the folder', `<xs:include schemaLocation="../../../etc/x.xsd"/>${ROOT}`, /points outside the service folder/],
  ['xs:redefine', `<xs:redefine schemaLocation="x.xsd"/>${ROOT}`, /xs:redefine: is not supported/],
  ['substitution group', `${ROOT}<xs:element name="S" type="xs:string" substitutionGroup="t:R"/>`, /substitution groups are not supported/],
  ['abstract element', `<xs:element name="R" type="xs:string" abstract="true"/>`, /abstract elements are not supported/],
  ['unsupported built-in', `<xs:element name="R" type="xs:dateTimeStamp"/>`, /type xs:dateTimeStamp: is not an XML Schema built-in type/],
  ['unknown type', `<xs:element name="R" type="t:Nope"/>`, /type \{urn:okno:test\}Nope: is not declared by any schema of the package/],
  ['unknown group', seq('<xs:group ref="t:G"/>'), /group ref t:G: is not declared/],
  ['unknown attribute group', ct('<xs:attributeGroup ref="t:A"/>'), /attributeGroup ref t:A: is not declared/],
  ['unknown element ref', seq('<xs:element ref="o:X" xmlns:o="urn:other"/>'), /element ref \{urn:other\}X: is not declared/],
  ['type in an undeclared prefix', `<xs:element name="R" type="o:T"/>`, /prefix o is not declared/],
  ['a group that refers to itself', `<xs:group name="G"><xs:sequence><xs:group ref="t:G"/></xs:sequence></xs:group>${seq('<xs:group ref="t:G"/>')}`, /group t:G: refers to itself/],
  ['facet not applicable', `<xs:element name="R"><xs:simpleType><xs:restriction base="xs:decimal"><xs:maxLength value="3"/></xs:restriction></xs:simpleType></xs:element>`, /xs:maxLength does not apply to xs:decimal/],
  ['unknown facet', `<xs:element name="R"><xs:simpleType><xs:restriction base="xs:string"><xs:assertion test="true()"/></xs:restriction></xs:simpleType></xs:element>`, /xs:assertion: is not a facet/],
  ['pattern with \\i', `<xs:element name="R"><xs:simpleType><xs:restriction base="xs:string"><xs:pattern value="\\i\\c*"/></xs:restriction></xs:simpleType></xs:element>`, /\\i \(XML name character class\) is not supported/],
  ['pattern with subtraction', `<xs:element name="R"><xs:simpleType><xs:restriction base="xs:string"><xs:pattern value="[a-z-[aeiou]]"/></xs:restriction></xs:simpleType></xs:element>`, /subtraction/],
  ['UPA violation', seq('<xs:element name="A" type="xs:string" minOccurs="0"/><xs:element name="A" type="xs:string"/>'), /element A in an anonymous complex type: makes the content model ambiguous/],
  ['UPA violation in a choice', ct('<xs:choice><xs:element name="A" type="xs:string"/><xs:sequence><xs:element name="A" type="xs:string"/><xs:element name="B" type="xs:string"/></xs:sequence></xs:choice>'), /Unique Particle Attribution/],
  ['inconsistent declarations', seq('<xs:element name="A" type="xs:string"/><xs:element name="B" type="xs:string"/><xs:element name="A" type="xs:int"/>'), /element A in an anonymous complex type: is declared twice in one content model with different types/],
  ['nested xs:all', seq('<xs:all><xs:element name="A" type="xs:string"/></xs:all>'), /xs:all: must be the whole content model/],
  ['xs:all member repeated', ct('<xs:all><xs:element name="A" type="xs:string" maxOccurs="2"/></xs:all>'), /element in xs:all: may occur at most once/],
  ['simple type derived from itself', `<xs:simpleType name="A"><xs:restriction base="t:B"/></xs:simpleType><xs:simpleType name="B"><xs:restriction base="t:A"/></xs:simpleType>${ROOT}`, /is derived from itself/],
  ['complex type derived from itself', `<xs:complexType name="A"><xs:complexContent><xs:extension base="t:A"/></xs:complexContent></xs:complexType>${ROOT}`, /base type t:A: is derived from itself/],
  ['duplicate global', `${ROOT}${ROOT}`, /global xs:element R: is also declared at/],
  ['maxOccurs < minOccurs', seq('<xs:element name="A" type="xs:string" minOccurs="2" maxOccurs="1"/>'), /maxOccurs 1: is less than minOccurs 2/],
  ['invalid enumeration', `<xs:element name="R"><xs:simpleType><xs:restriction base="xs:date"><xs:enumeration value="2026-02-30"/></xs:restriction></xs:simpleType></xs:element>`, /enumeration value "2026-02-30" is not valid/],
  ['invalid fixed value', ct('<xs:attribute name="a" type="xs:int" fixed="x"/>'), /attribute a fixed value: is not valid for its type/],
  ['foreign element in schema', `<x:foo xmlns:x="urn:x"/>${ROOT}`, /element x:foo: only XML Schema elements/],
  ['simple content from element content', `<xs:complexType name="B"><xs:sequence><xs:element name="A" type="xs:string"/></xs:sequence></xs:complexType><xs:complexType name="D"><xs:simpleContent><xs:extension base="t:B"/></xs:simpleContent></xs:complexType>${ROOT}`, /has element content; simple content needs a simple base/],
];

describe('refused constructs give XsdCompileError naming the construct', () => {
  for (const [name, body, msg] of CASES) {
    it(name, () => {
      expect(refusal(schemaText(body)).message).toMatch(msg);
    });
  }

  it('names the line of the construct', () => {
    const e = refusal(schemaText(`\n\n${seq('\n<xs:redefine schemaLocation="x.xsd"/>')}`));
    expect(e.line).toBe(4);
    expect(e.construct).toBe('xs:redefine');
    expect(e.message).toBe('config/services/x/request.xsd:4: xs:redefine: is not allowed in xs:sequence');
  });

  it('refuses what is not a schema or not XML', () => {
    expect(refusal('<schema/>').message).toMatch(/not an XML Schema/);
    expect(refusal('<xs:schema').message).toMatch(/not well-formed/);
    expect(refusal('<!DOCTYPE x><x/>').message).toMatch(/not well-formed/);
  });

  it('accepts annotations anywhere and attributes in foreign namespaces', () => {
    const text = schemaText(
      `<xs:annotation><xs:appinfo><x:anything xmlns:x="urn:x"/></xs:appinfo></xs:annotation>
       <xs:element name="R" x:note="y" xmlns:x="urn:x"><xs:annotation><xs:documentation>Корень</xs:documentation></xs:annotation>
         <xs:complexType><xs:annotation/><xs:sequence><xs:annotation/><xs:element name="A" type="xs:string"/></xs:sequence></xs:complexType>
       </xs:element>`,
    );
    expect(compileXsd(text, 'ok.xsd').rootElements).toEqual(['R']);
  });
});
