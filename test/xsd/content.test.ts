// Content-model matching, structural checks, and hostile or large documents.
import { describe, expect, it } from 'vitest';
import { MAX_ERRORS } from '../../src/catalogue/xsd/index.js';
import type { XmlElement } from '../../src/xml/types.js';
import { compile, pr, root, TNS } from './helpers.js';

const el = (n: string): string => `<xs:element name="${n}" type="xs:string"/>`;
const opt = (n: string, min: number | string, max: number | string): string =>
  `<xs:element name="${n}" type="xs:string" minOccurs="${min}" maxOccurs="${max}"/>`;

function model(inner: string): (children: string) => { path: string; rule: string }[] {
  const s = compile(`<xs:element name="R"><xs:complexType>${inner}</xs:complexType></xs:element>`);
  return (children: string) => pr(s.validate(root(`<R xmlns="${TNS}">${children.replace(/(\w+)/g, '<$1/>')}</R>`)));
}

describe('content models', () => {
  it('sequence with occurrence bounds', () => {
    const v = model(`<xs:sequence>${el('A')}${opt('B', 0, 2)}${opt('C', 1, 'unbounded')}</xs:sequence>`);
    expect(v('A C')).toEqual([]);
    expect(v('A B B C C C')).toEqual([]);
    expect(v('C')).toEqual([{ path: '/R', rule: 'required element A' }]);
    expect(v('A B')).toEqual([{ path: '/R', rule: 'required element C' }]);
    expect(v('A B B B C')).toEqual([{ path: '/R/B[3]', rule: 'maxOccurs 2' }]);
    expect(v('A A C')).toEqual([{ path: '/R/A[2]', rule: 'maxOccurs 1' }]);
    expect(v('A C B')).toEqual([{ path: '/R/B', rule: 'unexpected element B' }]);
    expect(v('A X C')).toEqual([{ path: '/R/X', rule: 'unexpected element X' }]);
    expect(v('')).toEqual([{ path: '/R', rule: 'required element A' }]);
  });

  it('a repeated choice nested in a sequence', () => {
    const v = model(`<xs:sequence>${el('Head')}<xs:choice minOccurs="1" maxOccurs="3">${el('P')}${el('Q')}</xs:choice>${opt('Tail', 0, 1)}</xs:sequence>`);
    expect(v('Head P')).toEqual([]);
    expect(v('Head Q P Q Tail')).toEqual([]);
    expect(v('Head Tail')).toEqual([{ path: '/R', rule: 'required element P|Q' }]);
    expect(v('Head P Q P Q')).toEqual([{ path: '/R/Q[2]', rule: 'unexpected element Q' }]);
  });

  it('a repeated sequence inside a choice', () => {
    const v = model(`<xs:choice><xs:sequence maxOccurs="unbounded">${el('K')}${el('V')}</xs:sequence>${el('None')}</xs:choice>`);
    expect(v('K V K V')).toEqual([]);
    expect(v('None')).toEqual([]);
    expect(v('K V K')).toEqual([{ path: '/R', rule: 'required element V' }]);
    expect(v('K K')).toEqual([{ path: '/R', rule: 'required element V' }]);
    expect(v('None K')).toEqual([{ path: '/R/K', rule: 'unexpected element K' }]);
    expect(v('')).toEqual([{ path: '/R', rule: 'required element K|None' }]);
  });

  it('xs:all in any order, each once', () => {
    const v = model(`<xs:all>${el('A')}${el('B')}${opt('C', 0, 1)}</xs:all>`);
    expect(v('B A')).toEqual([]);
    expect(v('C B A')).toEqual([]);
    expect(v('A')).toEqual([{ path: '/R', rule: 'required element B' }]);
    expect(v('A B A')).toEqual([{ path: '/R/A[2]', rule: 'maxOccurs 1' }]);
    const optional = model(`<xs:all minOccurs="0">${el('A')}</xs:all>`);
    expect(optional('')).toEqual([]);
  });

  it('an empty complex type and element-only content refuse text and children', () => {
    const empty = model('<xs:attribute name="a" type="xs:int"/>');
    expect(empty('')).toEqual([]);
    expect(empty('X')).toEqual([{ path: '/R/X', rule: 'unexpected element X' }]);
    const s = compile(`<xs:element name="R"><xs:complexType><xs:sequence>${el('A')}</xs:sequence></xs:complexType></xs:element>`);
    expect(pr(s.validate(root(`<R xmlns="${TNS}">\n  <!-- c --><?pi x?><A>текст</A>\n</R>`)))).toEqual([]);
    expect(pr(s.validate(root(`<R xmlns="${TNS}">слово<A/></R>`)))).toEqual([{ path: '/R', rule: 'text not allowed' }]);
    expect(pr(s.validate(root(`<R xmlns="${TNS}"><![CDATA[x]]><A/></R>`)))).toEqual([{ path: '/R', rule: 'text not allowed' }]);
  });

  it('simple-typed elements refuse child elements and attributes', () => {
    const s = compile(`<xs:element name="R" type="xs:string"/>`);
    expect(pr(s.validate(root(`<R xmlns="${TNS}">a<B/>b</R>`)))).toEqual([{ path: '/R/B', rule: 'unexpected element B' }]);
    expect(pr(s.validate(root(`<R xmlns="${TNS}" a="1">x</R>`)))).toEqual([{ path: '/R/@a', rule: 'unexpected attribute a' }]);
    expect(pr(s.validate(root(`<R xmlns="${TNS}">a<!-- comment -->b</R>`)))).toEqual([]);
  });

  it('xsi: nil only where nillable, never a type of the document\'s choosing; schemaLocation hints are ignored', () => {
    const s = compile(`<xs:element name="R" type="xs:string"/>`);
    const xsi = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';
    expect(pr(s.validate(root(`<R xmlns="${TNS}" ${xsi} xsi:nil="true"/>`)))).toEqual([{ path: '/R/@xsi:nil', rule: 'nillable' }]);
    expect(pr(s.validate(root(`<R xmlns="${TNS}" ${xsi} xsi:type="xs:string"/>`)))).toEqual([
      { path: '/R/@xsi:type', rule: 'unexpected attribute xsi:type' },
    ]);
    expect(pr(s.validate(root(`<R xmlns="${TNS}" ${xsi} xsi:schemaLocation="${TNS} x.xsd"/>`)))).toEqual([]);
    const n = compile(`<xs:element name="R"><xs:complexType><xs:sequence><xs:element name="D" type="xs:date" nillable="true"/></xs:sequence><xs:attribute name="a" type="xs:int"/></xs:complexType></xs:element>`);
    expect(pr(n.validate(root(`<R xmlns="${TNS}" ${xsi}><D xsi:nil="true"/></R>`)))).toEqual([]);
    expect(pr(n.validate(root(`<R xmlns="${TNS}" ${xsi}><D xsi:nil="true">2026-01-01</D></R>`)))).toEqual([{ path: '/R/D', rule: 'nil' }]);
    expect(pr(n.validate(root(`<R xmlns="${TNS}" ${xsi}><D/></R>`)))).toEqual([{ path: '/R/D', rule: 'type xs:date' }]);
  });

  it('attributes: no-namespace only, whitespace per type, fixed in the value space', () => {
    const s = compile(`<xs:element name="R"><xs:complexType>
      <xs:attribute name="n" type="xs:int" use="required"/>
      <xs:attribute name="v" type="xs:decimal" fixed="1.0"/>
    </xs:complexType></xs:element>`);
    const v = (attrs: string): { path: string; rule: string }[] => pr(s.validate(root(`<R xmlns="${TNS}" xmlns:p="${TNS}" ${attrs}/>`)));
    expect(v('n=" 5 " v="1.00"')).toEqual([]);
    expect(v('n="5" v="1.5"')).toEqual([{ path: '/R/@v', rule: 'fixed 1.0' }]);
    expect(v('n="x"')).toEqual([{ path: '/R/@n', rule: 'type xs:int' }]);
    expect(v('p:n="5"')).toEqual([
      { path: '/R/@p:n', rule: 'unexpected attribute p:n' },
      { path: '/R', rule: 'required attribute n' },
    ]);
  });

  it('global element refs and recursive types', () => {
    const s = compile(`
      <xs:element name="Tree" type="t:Node"/>
      <xs:element name="Leaf" type="xs:int"/>
      <xs:complexType name="Node"><xs:sequence>
        <xs:element ref="t:Leaf" minOccurs="0" maxOccurs="unbounded"/>
        <xs:element name="Child" type="t:Node" minOccurs="0" maxOccurs="unbounded"/>
      </xs:sequence></xs:complexType>`);
    expect(s.rootElements).toEqual(['Tree', 'Leaf']);
    const doc = `<Tree xmlns="${TNS}"><Leaf>1</Leaf><Child><Leaf>2</Leaf><Child/><Child><Leaf>x</Leaf></Child></Child></Tree>`;
    expect(pr(s.validate(root(doc)))).toEqual([{ path: '/Tree/Child/Child[2]/Leaf', rule: 'type xs:int' }]);
    expect(pr(s.validate(root(`<Leaf xmlns="${TNS}">7</Leaf>`)))).toEqual([]);
  });

  it('stops after MAX_ERRORS errors', () => {
    const s = compile(`<xs:element name="R"><xs:complexType><xs:sequence>${opt('N', 0, 'unbounded').replace('xs:string', 'xs:int')}</xs:sequence></xs:complexType></xs:element>`);
    const errors = s.validate(root(`<R xmlns="${TNS}">${'<N>x</N>'.repeat(1000)}</R>`));
    expect(errors).toHaveLength(MAX_ERRORS);
    expect(errors[0]).toEqual({ path: '/R/N[1]', rule: 'type xs:int', message: 'Value of element N is not a valid xs:int.' });
    expect(errors[MAX_ERRORS - 1]?.path).toBe(`/R/N[${MAX_ERRORS}]`);
  });
});

/** Builds a chain of nested elements without the parser's depth limit (the validator must not rely on it). */
function chain(depth: number, name: string, ns: string): XmlElement {
  const mk = (parent: XmlElement | null): XmlElement => ({
    type: 'element', prefix: '', localName: name, namespaceURI: ns, qName: name, attributes: [], nsDecls: [],
    children: [], parent, start: 0, end: 0,
  });
  const top = mk(null);
  let cur = top;
  for (let i = 1; i < depth; i++) {
    const c = mk(cur);
    cur.children.push(c);
    cur = c;
  }
  cur.children.push({ type: 'text', value: 'x', parent: cur });
  return top;
}

describe('hostile and large documents', () => {
  it('a 10,000-deep instance against a shallow schema fails cleanly', () => {
    const s = compile(`<xs:element name="R"><xs:complexType><xs:sequence>${opt('R', 0, 1)}</xs:sequence></xs:complexType></xs:element>`);
    const deep = root(`${`<R xmlns="${TNS}">`.repeat(10_000)}${'</R>'.repeat(10_000)}`, { maxDepth: 20_000 });
    // /R/R is a string; its child is the first unexpected element, and nothing below it is visited.
    expect(pr(s.validate(deep))).toEqual([{ path: '/R/R/R', rule: 'unexpected element R' }]);
  });

  it('a 100,000-deep instance of a recursive schema is walked without recursion', () => {
    const s = compile(`<xs:element name="N" type="t:N"/>
      <xs:complexType name="N"><xs:choice><xs:element name="N" type="t:N"/><xs:element name="End" type="xs:int"/></xs:choice></xs:complexType>`);
    const deep = chain(100_000, 'N', TNS);
    const errors = s.validate(deep);
    expect(errors).toHaveLength(2);
    expect(errors[0]?.rule).toBe('text not allowed');
    expect(errors[0]?.path.split('/')).toHaveLength(100_001);
    expect(errors[1]?.rule).toBe('required element N|End');
  });

  it('a large valid instance (50,000 repeated elements) validates', () => {
    const s = compile(`<xs:element name="Register"><xs:complexType><xs:sequence>
        <xs:element name="Entry" maxOccurs="unbounded"><xs:complexType><xs:sequence>
          <xs:element name="Snils"><xs:simpleType><xs:restriction base="xs:string"><xs:pattern value="\\d{3}-\\d{3}-\\d{3} \\d{2}"/></xs:restriction></xs:simpleType></xs:element>
          <xs:element name="Date" type="xs:date"/>
          <xs:element name="Sum"><xs:simpleType><xs:restriction base="xs:decimal"><xs:fractionDigits value="2"/></xs:restriction></xs:simpleType></xs:element>
        </xs:sequence><xs:attribute name="n" type="xs:positiveInteger" use="required"/></xs:complexType></xs:element>
      </xs:sequence></xs:complexType></xs:element>`);
    const parts: string[] = [`<Register xmlns="${TNS}">`];
    for (let i = 1; i <= 50_000; i++) parts.push(`<Entry n="${i}"><Snils>112-233-445 95</Snils><Date>2026-01-31</Date><Sum>${i}.50</Sum></Entry>`);
    parts.push('</Register>');
    const doc = root(parts.join(''));
    expect(s.validate(doc)).toEqual([]);
    // One bad entry near the end is found and named by its position.
    const entry = (doc.children[49_999] as XmlElement).children[1] as XmlElement;
    (entry.children[0] as { value: string }).value = '2026-02-30';
    expect(pr(s.validate(doc))).toEqual([{ path: '/Register/Entry[50000]/Date', rule: 'type xs:date' }]);
  });
});

describe('wording of content errors', () => {
  const v = model(`<xs:sequence>${el('LastName')}${el('FirstName')}${opt('MiddleName', 0, 1)}${el('Snils')}</xs:sequence>`);
  it('a field left out is a required element', () => {
    expect(v('LastName FirstName MiddleName')).toEqual([{ path: '/R', rule: 'required element Snils' }]);
    expect(v('LastName MiddleName Snils')).toEqual([{ path: '/R', rule: 'required element FirstName' }]);
  });
  it('fields in the wrong order are an unexpected element', () => {
    expect(v('FirstName LastName Snils')).toEqual([{ path: '/R/FirstName', rule: 'unexpected element FirstName' }]);
  });
});
