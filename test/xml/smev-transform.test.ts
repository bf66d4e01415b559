import { describe, expect, it } from 'vitest';
import { excC14n } from '../../src/xml/c14n.js';
import { parseXml, type XmlElement } from '../../src/xml/parser.js';
import { smevTransform, smevTransformXml } from '../../src/xml/smev-transform.js';

// Expected strings: examples of the SMEV 3 methodological recommendations as encoded in the
// public SmevTransformSpiTest.java next to the reference SmevTransformSpi (see
// test/fixtures/xml/README.md).
const HEADER =
  '<?xml version="1.0" encoding="UTF-8"?>\n<!-- test comment -->\n<?xml-stylesheet type="text/xsl" href="style.xsl"?>\n\n';

describe('SMEV transform: methodological recommendation examples', () => {
  it('rules 1, 2, 6: declaration, comments, PIs, whitespace removed; prefixes renamed', () => {
    const input = `${HEADER}<elementOne xmlns="http://test/1">\n\t<qwe:elementTwo xmlns:qwe="http://test/2">asd</qwe:elementTwo>  \n</elementOne> `;
    expect(smevTransformXml(input)).toBe(
      '<ns1:elementOne xmlns:ns1="http://test/1"><ns2:elementTwo xmlns:ns2="http://test/2">asd</ns2:elementTwo></ns1:elementOne>',
    );
  });

  it('rules 4, 5: unused declarations dropped, counter never goes back (siblings get fresh prefixes)', () => {
    const input =
      `${HEADER}<elementOne xmlns="http://test/1" xmlns:qwe="http://test/2" xmlns:asd="http://test/3">\n` +
      '\t<qwe:elementTwo>\n\t\t<asd:elementThree>\n\t\t\t<!-- default namespace -->\n' +
      '\t\t\t<elementFour> z x c </elementFour>     \n' +
      '\t\t\t<!-- two prefixes for one namespace -->\n' +
      '\t\t\t<qqq:elementFive xmlns:qqq="http://test/2"> w w w </qqq:elementFive>\n' +
      '\t\t</asd:elementThree>\n\t\t<!-- moved declaration -->\n' +
      '\t\t<asd:elementSix>eee</asd:elementSix>\n\t</qwe:elementTwo>  \n</elementOne>  ';
    expect(smevTransformXml(input)).toBe(
      '<ns1:elementOne xmlns:ns1="http://test/1"><ns2:elementTwo xmlns:ns2="http://test/2"><ns3:elementThree xmlns:ns3="http://test/3"><ns1:elementFour> z x c </ns1:elementFour><ns2:elementFive> w w w </ns2:elementFive></ns3:elementThree><ns4:elementSix xmlns:ns4="http://test/3">eee</ns4:elementSix></ns2:elementTwo></ns1:elementOne>',
    );
  });

  it('rules 3, 7, 8: attribute sorting, declarations before attributes, <a></a>', () => {
    const input =
      `${HEADER}<elementOne xmlns="http://test/1" xmlns:qwe="http://test/2" xmlns:asd="http://test/3">\n` +
      '\t<qwe:elementTwo>\n\t\t<asd:elementThree xmlns:wer="http://test/a" xmlns:zxc="http://test/0" wer:attZ="zzz" attB="bbb" attA="aaa" zxc:attC="ccc" asd:attD="ddd" asd:attE="eee" qwe:attF="fff"/>\n' +
      '\t</qwe:elementTwo>  \n</elementOne> ';
    expect(smevTransformXml(input)).toBe(
      '<ns1:elementOne xmlns:ns1="http://test/1"><ns2:elementTwo xmlns:ns2="http://test/2"><ns3:elementThree xmlns:ns3="http://test/3" xmlns:ns4="http://test/0" xmlns:ns5="http://test/a" ns4:attC="ccc" ns2:attF="fff" ns3:attD="ddd" ns3:attE="eee" ns5:attZ="zzz" attA="aaa" attB="bbb"></ns3:elementThree></ns2:elementTwo></ns1:elementOne>',
    );
  });

  it('guide example: SenderProvidedRequestData with default namespaces', () => {
    const input =
      '<ns2:SenderProvidedRequestData xmlns:ns2="urn://x-artefacts-smev-gov-ru/services/message-exchange/types/1.0" Id="SIGNED_BY_CONSUMER">\n' +
      ' <MessagePrimaryContent xmlns="urn://x-artefacts-smev-gov-ru/services/message-exchange/types/basic/1.0">\n' +
      '  <SomeRequest:SomeRequest xmlns:SomeRequest="urn://x-artifacts-it-ru/vs/smev/test/test-business-data/1.0">\n' +
      '   <x xmlns="urn://x-artifacts-it-ru/vs/smev/test/test-business-data/1.0">qweqwe</x>\n' +
      '  </SomeRequest:SomeRequest>\n </MessagePrimaryContent>\n</ns2:SenderProvidedRequestData>';
    expect(smevTransformXml(input)).toBe(
      '<ns1:SenderProvidedRequestData xmlns:ns1="urn://x-artefacts-smev-gov-ru/services/message-exchange/types/1.0" Id="SIGNED_BY_CONSUMER"><ns2:MessagePrimaryContent xmlns:ns2="urn://x-artefacts-smev-gov-ru/services/message-exchange/types/basic/1.0"><ns3:SomeRequest xmlns:ns3="urn://x-artifacts-it-ru/vs/smev/test/test-business-data/1.0"><ns3:x>qweqwe</ns3:x></ns3:SomeRequest></ns2:MessagePrimaryContent></ns1:SenderProvidedRequestData>',
    );
  });
});

describe('SMEV transform: details of the Java writer', () => {
  it('escapes text & < > and attributes & < > " ; writes TAB/LF/CR literally', () => {
    const doc = parseXml('<a:r xmlns:a="urn:a" v="&lt;&amp;&gt;&quot;&#9;&#10;&#13;">x &lt; y &amp;&amp; z &gt; "q"&#13;</a:r>');
    expect(smevTransform(doc.root)).toBe(
      '<ns1:r xmlns:ns1="urn:a" v="&lt;&amp;&gt;&quot;\t\n\r">x &lt; y &amp;&amp; z &gt; "q"\r</ns1:r>',
    );
  });

  it('merges text across omitted comments and an excluded subtree; PIs split text', () => {
    const doc = parseXml('<a:r xmlns:a="urn:a">x<!--c--> <a:s/> <?p d?> <a:t/></a:r>');
    const s = doc.root.children.find((c) => c.type === 'element') as XmlElement;
    // "x", " " (comment gone in exc-c14n) and " " (after the excluded s) form one run that
    // is not blank, so it is kept whole; the PI separates the last, blank run.
    expect(smevTransform(doc.root, { exclude: s })).toBe('<ns1:r xmlns:ns1="urn:a">x  <ns1:t></ns1:t></ns1:r>');
    expect(smevTransform(doc.root, { commentsSplitText: true })).toBe(
      '<ns1:r xmlns:ns1="urn:a">x<ns1:s></ns1:s><ns1:t></ns1:t></ns1:r>',
    );
  });

  it('on the tree equals the transform of the exc-c14n octets', () => {
    const xml =
      '<S:E xmlns:S="urn:s" xmlns:p="urn:p" xmlns="urn:d"><S:B><p:x a="1" p:b="2" xml:lang="ru">t<!--c--> u<y/>  <?pi z?> </p:x><z xmlns="">&amp;</z></S:B></S:E>';
    const doc = parseXml(xml);
    const body = doc.root.children[0] as XmlElement;
    const viaOctets = smevTransform(parseXml(excC14n(body)).root);
    expect(smevTransform(body)).toBe(viaOctets);
  });
});
