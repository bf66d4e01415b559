import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { excC14n } from '../../src/xml/c14n.js';
import {
  WSU_NS,
  XML_NS,
  XmlError,
  childElements,
  firstChild,
  inScopeNamespaces,
  lookupNamespace,
  parseXml,
  textContent,
  type XmlElement,
  type XmlErrorCode,
} from '../../src/xml/parser.js';

function codeOf(fn: () => unknown): XmlErrorCode | 'NO_ERROR' {
  try {
    fn();
  } catch (e) {
    if (e instanceof XmlError) return e.code;
    throw e;
  }
  return 'NO_ERROR';
}

const samplesDir = fileURLToPath(new URL('../fixtures/smev3-samples/', import.meta.url));

describe('parser: DTDs and entities are refused', () => {
  it('rejects any DOCTYPE with DTD_FORBIDDEN', () => {
    expect(codeOf(() => parseXml('<!DOCTYPE a><a/>'))).toBe('DTD_FORBIDDEN');
    expect(codeOf(() => parseXml('<?xml version="1.0"?>\n<!-- c -->\n<!DOCTYPE a SYSTEM "a.dtd"><a/>'))).toBe('DTD_FORBIDDEN');
  });

  it('rejects XXE', () => {
    const xxe = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>';
    expect(codeOf(() => parseXml(xxe))).toBe('DTD_FORBIDDEN');
    expect(codeOf(() => parseXml(Buffer.from(xxe)))).toBe('DTD_FORBIDDEN');
  });

  it('rejects billion laughs before expanding anything', () => {
    let dtd = '<!ENTITY lol0 "lol">';
    for (let i = 1; i < 10; i++) dtd += `<!ENTITY lol${i} "${`&lol${i - 1};`.repeat(10)}">`;
    const bomb = `<?xml version="1.0"?><!DOCTYPE lolz [${dtd}]><lolz>&lol9;</lolz>`;
    expect(codeOf(() => parseXml(bomb))).toBe('DTD_FORBIDDEN');
  });

  it('rejects markup declarations and unknown entities in content', () => {
    expect(codeOf(() => parseXml('<a><!ENTITY x "y"></a>'))).toBe('DTD_FORBIDDEN');
    expect(codeOf(() => parseXml('<a>&nbsp;</a>'))).toBe('UNKNOWN_ENTITY');
    expect(codeOf(() => parseXml('<a b="&x;"/>'))).toBe('UNKNOWN_ENTITY');
  });

  it('decodes the five predefined entities and character references', () => {
    const doc = parseXml('<a b="&lt;&gt;&amp;&apos;&quot;&#x41;&#66;">&lt;&gt;&amp;&apos;&quot;&#x1F600;</a>');
    expect(doc.root.attributes[0]?.value).toBe('<>&\'"AB');
    expect(textContent(doc.root)).toBe('<>&\'"\u{1F600}');
    expect(codeOf(() => parseXml('<a>&#0;</a>'))).toBe('INVALID_CHAR');
    expect(codeOf(() => parseXml('<a>&#xFFFE;</a>'))).toBe('INVALID_CHAR');
    expect(codeOf(() => parseXml('<a>&#x110000;</a>'))).toBe('INVALID_CHAR');
  });
});

describe('parser: well-formedness and namespaces', () => {
  const cases: [string, XmlErrorCode][] = [
    ['<a><b></a></b>', 'NOT_WELL_FORMED'],
    ['<a></a><b/>', 'NOT_WELL_FORMED'],
    ['', 'NOT_WELL_FORMED'],
    ['text<a/>', 'NOT_WELL_FORMED'],
    ['<a>', 'NOT_WELL_FORMED'],
    ['<a b=c/>', 'NOT_WELL_FORMED'],
    ['<a b="1"c="2"/>', 'NOT_WELL_FORMED'],
    ['<a b="<"/>', 'NOT_WELL_FORMED'],
    ['<a>]]></a>', 'NOT_WELL_FORMED'],
    ['<a><!-- x -- y --></a>', 'NOT_WELL_FORMED'],
    ['<a>&</a>', 'NOT_WELL_FORMED'],
    ['<a:b:c xmlns:a="urn:a"/>', 'NOT_WELL_FORMED'],
    ['<a/><?xml version="1.0"?>', 'NOT_WELL_FORMED'],
    ['<a>\u0001</a>', 'INVALID_CHAR'],
    ['<a>\uD800</a>', 'INVALID_CHAR'],
    ['<a b="1" b="2"/>', 'DUPLICATE_ATTRIBUTE'],
    ['<a xmlns:p="urn:x" xmlns:q="urn:x" p:b="1" q:b="2"/>', 'DUPLICATE_ATTRIBUTE'],
    ['<p:a/>', 'UNDECLARED_PREFIX'],
    ['<a p:b="1"/>', 'UNDECLARED_PREFIX'],
    ['<a xmlns:p=""/>', 'BAD_NAMESPACE'],
    ['<a xmlns:xml="urn:other"/>', 'BAD_NAMESPACE'],
    ['<a xmlns:xmlns="urn:x"/>', 'BAD_NAMESPACE'],
    ['<a xmlns:p="http://www.w3.org/XML/1998/namespace"/>', 'BAD_NAMESPACE'],
    ['<xmlns:a/>', 'BAD_NAMESPACE'],
    ['<?xml version="1.0" encoding="windows-1251"?><a/>', 'BAD_ENCODING'],
    ['<?xml version="1.1"?><a/>', 'NOT_WELL_FORMED'],
  ];
  for (const [input, code] of cases) {
    it(`${JSON.stringify(input)} -> ${code}`, () => {
      expect(codeOf(() => parseXml(input))).toBe(code);
    });
  }

  it('reports line and column', () => {
    try {
      parseXml('<a>\n  <b>\n</a>');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(XmlError);
      expect((e as XmlError).line).toBe(3);
      expect((e as XmlError).message).toMatch(/line 3, column 1/);
    }
  });

  it('resolves prefixes, the default namespace and the predefined xml prefix', () => {
    const doc = parseXml(
      '<r xmlns="urn:d" xmlns:p="urn:p" xml:lang="ru"><p:c a="1" p:b="2"/><d xmlns=""><e/></d></r>',
    );
    const r = doc.root;
    expect(r.namespaceURI).toBe('urn:d');
    expect(r.nsDecls).toEqual([{ prefix: '', uri: 'urn:d' }, { prefix: 'p', uri: 'urn:p' }]);
    expect(r.attributes).toEqual([{ prefix: 'xml', localName: 'lang', namespaceURI: XML_NS, qName: 'xml:lang', value: 'ru' }]);
    const c = firstChild(r, 'urn:p', 'c') as XmlElement;
    expect(c.attributes.map((a) => [a.qName, a.namespaceURI])).toEqual([['a', ''], ['p:b', 'urn:p']]);
    const d = firstChild(r, '', 'd') as XmlElement;
    expect(childElements(d)[0]?.namespaceURI).toBe('');
    expect(lookupNamespace(c, 'p')).toBe('urn:p');
    expect(lookupNamespace(d, '')).toBeNull();
    expect(lookupNamespace(c, 'xml')).toBe(XML_NS);
    expect([...inScopeNamespaces(d)]).toEqual([['p', 'urn:p']]);
    expect(c.parent).toBe(r);
    expect(r.start).toBe(0);
    expect(r.end).toBe(doc.root.end);
  });

  it('normalizes line ends and attribute whitespace; merges CDATA into text', () => {
    const doc = parseXml('<a b="x\ty\r\nz&#9;&#10;">1\r\n2\r3<![CDATA[<&>]]>4<!--c-->5</a>');
    expect(doc.root.attributes[0]?.value).toBe('x y z\t\n');
    expect(doc.root.children.map((n) => n.type)).toEqual(['text', 'comment', 'text']);
    expect(textContent(doc.root)).toBe('1\n2\n3<&>45');
  });

  it('indexes Id, ID, id and wsu:Id and returns all duplicates', () => {
    const doc = parseXml(
      `<r xmlns:wsu="${WSU_NS}" xmlns:o="urn:o"><a Id="x"/><b ID="y"/><c id="z"/><d wsu:Id="w"/><e o:Id="n"/><f Id="x"/></r>`,
    );
    expect(doc.elementsById('x').map((e) => e.localName)).toEqual(['a', 'f']);
    expect(doc.elementsById('y')[0]?.localName).toBe('b');
    expect(doc.elementsById('z')[0]?.localName).toBe('c');
    expect(doc.elementsById('w')[0]?.localName).toBe('d');
    expect(doc.elementsById('n')).toEqual([]);
  });
});

describe('parser: encoding', () => {
  it('accepts and strips a UTF-8 BOM; rejects invalid UTF-8', () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    expect(parseXml(Buffer.concat([bom, Buffer.from('<a>я</a>')])).root.children[0]).toMatchObject({ value: 'я' });
    expect(parseXml('\uFEFF<a/>').root.localName).toBe('a');
    expect(codeOf(() => parseXml(Buffer.from([0x3c, 0x61, 0x3e, 0xff, 0x3c, 0x2f, 0x61, 0x3e])))).toBe('BAD_ENCODING');
  });

  it('parses the BOM-prefixed smev3sharp samples', () => {
    const files = readdirSync(samplesDir).filter((f) => f.startsWith('smev3sharp-'));
    expect(files.length).toBe(3);
    for (const f of files) {
      const buf = readFileSync(samplesDir + f);
      expect(buf.subarray(0, 3).toString('hex')).toBe('efbbbf');
      const doc = parseXml(buf);
      expect(doc.root.localName).toBe('Envelope');
    }
  });
});

describe('parser: limits', () => {
  it('100k nested elements throw TOO_DEEP, not a stack overflow', () => {
    const n = 100_000;
    expect(codeOf(() => parseXml('<a>'.repeat(n) + '</a>'.repeat(n)))).toBe('TOO_DEEP');
    expect(codeOf(() => parseXml('<a>'.repeat(257) + '</a>'.repeat(257)))).toBe('TOO_DEEP');
    expect(codeOf(() => parseXml('<a>'.repeat(256) + '</a>'.repeat(256)))).toBe('NO_ERROR');
  });

  it('enforces maxAttributes, maxNodes and maxBytes', () => {
    const attrs = Array.from({ length: 300 }, (_, i) => `a${i}="1"`).join(' ');
    expect(codeOf(() => parseXml(`<a ${attrs}/>`))).toBe('TOO_MANY_ATTRIBUTES');
    expect(codeOf(() => parseXml('<a>' + '<b/>'.repeat(100) + '</a>', { maxNodes: 50 }))).toBe('TOO_MANY_NODES');
    expect(codeOf(() => parseXml('<a>' + 'x'.repeat(2000) + '</a>', { maxBytes: 1000 }))).toBe('TOO_LARGE');
    expect(codeOf(() => parseXml(Buffer.from('<a>' + 'x'.repeat(2000) + '</a>'), { maxBytes: 1000 }))).toBe('TOO_LARGE');
  });

  it('parses a >1 MB document (linear work; completes)', () => {
    const items: string[] = [];
    for (let i = 0; items.length * 120 < 1_200_000; i++) {
      items.push(`<p:item Id="i${i}" n="${i}"><p:name>Имя &amp; фамилия ${i}</p:name><p:v><![CDATA[<${i}>]]></p:v></p:item>`);
    }
    const xml = `<p:root xmlns:p="urn:p">${items.join('\n')}</p:root>`;
    expect(Buffer.byteLength(xml)).toBeGreaterThan(1_000_000);
    const doc = parseXml(xml);
    expect(childElements(doc.root, 'urn:p', 'item').length).toBe(items.length);
    expect(doc.elementsById('i7')).toHaveLength(1);
    expect(Buffer.byteLength(excC14n(doc.root))).toBeGreaterThan(1_000_000);
  });
});
