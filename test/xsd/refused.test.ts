// Every construct outside the subset is refused at compile time with an XsdCompileError whose
// message names the source file and the construct.
import { describe, expect, it } from 'vitest';
import { compileXsd, XsdCompileError } from '../../src/catalogue/xsd/index.js';
import { schemaText, TNS } from './helpers.js';

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
  ['xs:import', `<xs:import namespace="urn:x" schemaLocation="x.xsd"/>${ROOT}`, /xs:import: is not supported/],
  ['xs:include', `<xs:include schemaLocation="x.xsd"/>${ROOT}`, /xs:include: is not supported/],
  ['xs:redefine', `<xs:redefine schemaLocation="x.xsd"/>${ROOT}`, /xs:redefine/],
  ['xs:any', seq('<xs:any namespace="##other"/>'), /xs:any: is not supported/],
  ['xs:anyAttribute', ct('<xs:sequence/><xs:anyAttribute/>'), /xs:anyAttribute: is not supported/],
  ['xs:group', seq('<xs:group ref="t:G"/>'), /xs:group: is not supported/],
  ['xs:attributeGroup', ct('<xs:attributeGroup ref="t:A"/>'), /xs:attributeGroup: is not supported/],
  ['global xs:attribute', `<xs:attribute name="a" type="xs:string"/>${ROOT}`, /xs:attribute: is not supported here/],
  ['attribute ref', ct('<xs:attribute ref="t:a"/>'), /xs:attribute ref/],
  ['substitution group', `${ROOT}<xs:element name="S" type="xs:string" substitutionGroup="t:R"/>`, /substitutionGroup/],
  ['abstract element', `<xs:element name="R" type="xs:string" abstract="true"/>`, /abstract/],
  ['abstract type', `<xs:complexType name="A" abstract="true"/>${ROOT}`, /abstract type/],
  [
    'complexContent extension',
    `<xs:complexType name="B"><xs:sequence/></xs:complexType><xs:complexType name="D"><xs:complexContent><xs:extension base="t:B"/></xs:complexContent></xs:complexType>${ROOT}`,
    /xs:complexContent: is not supported/,
  ],
  [
    'simpleContent extension of a complex type',
    `<xs:complexType name="B"><xs:simpleContent><xs:extension base="xs:string"/></xs:simpleContent></xs:complexType><xs:complexType name="D"><xs:simpleContent><xs:extension base="t:B"/></xs:simpleContent></xs:complexType>${ROOT}`,
    /xs:extension of complex type t:B/,
  ],
  ['simpleContent restriction', ct('<xs:simpleContent><xs:restriction base="xs:string"/></xs:simpleContent>'), /xs:restriction/],
  ['mixed content', ct('<xs:sequence/>', 'mixed="true"'), /mixed content/],
  ['xs:union', `<xs:simpleType name="U"><xs:union memberTypes="xs:int xs:date"/></xs:simpleType>${ROOT}`, /xs:union/],
  ['identity constraint', `<xs:element name="R" type="xs:string"><xs:key name="k"><xs:selector xpath="."/><xs:field xpath="."/></xs:key></xs:element>`, /xs:key/],
  ['element ref to another namespace', `<xs:element name="R"><xs:complexType><xs:sequence><xs:element ref="o:X" xmlns:o="urn:other"/></xs:sequence></xs:complexType></xs:element>`, /element ref \{urn:other\}X/],
  ['type in another namespace', `<xs:element name="R" type="o:T" xmlns:o="urn:other"/>`, /type \{urn:other\}T/],
  ['unqualified local element', seq('<xs:element name="A" type="xs:string" form="unqualified"/>'), /form="unqualified"/],
  ['qualified attribute', ct('<xs:attribute name="a" type="xs:string" form="qualified"/>'), /form="qualified"/],
  ['nillable', `<xs:element name="R" type="xs:string" nillable="true"/>`, /nillable="true"/],
  ['element default', `<xs:element name="R" type="xs:string" default="x"/>`, /attribute default on xs:element/],
  ['element fixed', seq('<xs:element name="A" type="xs:string" fixed="x"/>'), /attribute fixed on xs:element/],
  ['attribute default', ct('<xs:attribute name="a" type="xs:string" default="x"/>'), /attribute default on xs:attribute/],
  ['use="prohibited"', ct('<xs:attribute name="a" type="xs:string" use="prohibited"/>'), /use="prohibited"/],
  ['element without type', `<xs:element name="R"/>`, /without a type.*xs:anyType/],
  ['attribute without type', ct('<xs:attribute name="a"/>'), /attribute a without a type/],
  ['unsupported built-in (XSD 1.1 only)', `<xs:element name="R" type="xs:dateTimeStamp"/>`, /built-in type xs:dateTimeStamp: is not supported/],
  ['unknown type', `<xs:element name="R" type="t:Nope"/>`, /type Nope: is not declared/],
  ['facet not applicable', `<xs:element name="R"><xs:simpleType><xs:restriction base="xs:decimal"><xs:maxLength value="3"/></xs:restriction></xs:simpleType></xs:element>`, /xs:maxLength does not apply to xs:decimal/],
  ['unknown facet', `<xs:element name="R"><xs:simpleType><xs:restriction base="xs:string"><xs:assertion test="true()"/></xs:restriction></xs:simpleType></xs:element>`, /xs:assertion/],
  ['pattern with \\i', `<xs:element name="R"><xs:simpleType><xs:restriction base="xs:string"><xs:pattern value="\\i\\c*"/></xs:restriction></xs:simpleType></xs:element>`, /\\i \(XML name character class\) is not supported/],
  ['pattern with subtraction', `<xs:element name="R"><xs:simpleType><xs:restriction base="xs:string"><xs:pattern value="[a-z-[aeiou]]"/></xs:restriction></xs:simpleType></xs:element>`, /subtraction/],
  ['UPA violation', seq('<xs:element name="A" type="xs:string" minOccurs="0"/><xs:element name="A" type="xs:string"/>'), /element A: makes the content model ambiguous/],
  ['UPA violation in a choice', ct('<xs:choice><xs:element name="A" type="xs:string"/><xs:sequence><xs:element name="A" type="xs:string"/><xs:element name="B" type="xs:string"/></xs:sequence></xs:choice>'), /Unique Particle Attribution/],
  ['inconsistent declarations', seq('<xs:element name="A" type="xs:string"/><xs:element name="B" type="xs:string"/><xs:element name="A" type="xs:int"/>'), /element A: is declared twice in one content model with different types/],
  ['nested xs:all', seq('<xs:all><xs:element name="A" type="xs:string"/></xs:all>'), /xs:all: must be the whole content model/],
  ['xs:all member repeated', ct('<xs:all><xs:element name="A" type="xs:string" maxOccurs="2"/></xs:all>'), /element in xs:all/],
  ['simple type derived from itself', `<xs:simpleType name="A"><xs:restriction base="t:B"/></xs:simpleType><xs:simpleType name="B"><xs:restriction base="t:A"/></xs:simpleType>${ROOT}`, /is derived from itself/],
  ['duplicate global', `${ROOT}${ROOT}`, /global xs:element R: is declared twice/],
  ['maxOccurs < minOccurs', seq('<xs:element name="A" type="xs:string" minOccurs="2" maxOccurs="1"/>'), /maxOccurs 1: is less than minOccurs 2/],
  ['invalid enumeration', `<xs:element name="R"><xs:simpleType><xs:restriction base="xs:date"><xs:enumeration value="2026-02-30"/></xs:restriction></xs:simpleType></xs:element>`, /enumeration value "2026-02-30" is not valid/],
  ['invalid fixed value', ct('<xs:attribute name="a" type="xs:int" fixed="x"/>'), /attribute a fixed value/],
  ['foreign element in schema', `<x:foo xmlns:x="urn:x"/>${ROOT}`, /element x:foo: only XML Schema elements/],
  ['no global elements', `<xs:simpleType name="A"><xs:restriction base="xs:string"/></xs:simpleType>`, /without global elements/],
];

describe('refused constructs give XsdCompileError naming the construct', () => {
  for (const [name, body, msg] of CASES) {
    it(name, () => {
      expect(refusal(schemaText(body)).message).toMatch(msg);
    });
  }

  it('names the line of the construct', () => {
    const e = refusal(schemaText(`\n\n${seq('\n<xs:any/>')}`));
    expect(e.line).toBe(4);
    expect(e.construct).toBe('xs:any');
    expect(e.message).toBe('config/services/x/request.xsd:4: xs:any: is not supported: content must be declared');
  });

  it('requires targetNamespace and elementFormDefault="qualified"', () => {
    const xs = 'xmlns:xs="http://www.w3.org/2001/XMLSchema"';
    expect(refusal(`<xs:schema ${xs} elementFormDefault="qualified">${ROOT}</xs:schema>`).message).toMatch(/without targetNamespace/);
    expect(refusal(`<xs:schema ${xs} targetNamespace="${TNS}">${ROOT}</xs:schema>`).message).toMatch(/elementFormDefault/);
    expect(refusal(schemaText(ROOT, 'elementFormDefault="unqualified"')).message).toMatch(/elementFormDefault/);
    expect(refusal(schemaText(ROOT, 'elementFormDefault="qualified" attributeFormDefault="qualified"')).message).toMatch(
      /attributeFormDefault="qualified"/,
    );
    expect(refusal(schemaText(ROOT, 'elementFormDefault="qualified" blockDefault="#all"')).message).toMatch(/attribute blockDefault on xs:schema/);
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
