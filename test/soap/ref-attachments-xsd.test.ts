/**
 * RefAttachmentHeaderList in the envelopes the gateway builds, judged by xmllint against the
 * official SMEV 3 1.1 schemas (/work/shared/interop/smev3-1.1, copied into
 * test/fixtures/smev3-1.1 with their provenance): inside the signed data, after
 * AttachmentHeaderList and before TestMessage, uuid / Hash / MimeType / SignaturePKCS7 in that
 * order — and read back by the inbound parser as it was built.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { signDocument } from '../../src/signature/sign.js';
import { sendRequestEnvelope, sendResponseEnvelope, type RefAttachmentInput } from '../../src/soap/envelope-builder.js';
import { uuidV1 } from '../../src/soap/message-id.js';
import { readSmevMessage } from '../../src/soap/smev-message.js';
import { projectRoot } from '../helpers/gateway.js';
import { sampleSigner } from '../helpers/smev.js';
import { requireXmllint, xmllintVerdicts } from '../helpers/xmllint.js';

const schema = path.join(projectRoot, 'test/fixtures/smev3-1.1/smev-message-exchange-types-1.1.xsd');
const content = '<r:Query xmlns:r="urn://example/r"><r:Q>1</r:Q></r:Query>';
const refs: RefAttachmentInput[] = [
  { uuid: uuidV1(), hash: 'VpT3sc999CJI8TVYX35ZZfXpc/dCWO5e1MgoUg8YiJA=', mimeType: 'application/pdf', signaturePkcs7: Buffer.from('3082010a', 'hex') },
  { uuid: uuidV1(), hash: 'n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=', mimeType: 'image/jpeg' },
];

/** The operation element alone (the SOAP envelope has no schema here). */
function operation(xml: string, name: string): string {
  const start = xml.indexOf(`<t:${name}`);
  const end = xml.indexOf(`</t:${name}>`) + `</t:${name}>`.length;
  return xml.slice(start, end);
}

describe('RefAttachmentHeaderList against the official XSD', () => {
  beforeAll(() => requireXmllint());

  it('a signed SendRequest with inline and file-store files, a test message, validates; the parser reads the references back', async () => {
    const xml = await signDocument(
      sendRequestEnvelope({ version: '1.1', messageId: uuidV1(), contentXml: content, test: true, attachments: [{ contentId: 'a1', mimeType: 'text/plain', content: Buffer.from('hi') }], refAttachments: refs }),
      { signer: sampleSigner('portal'), profile: 'smev' },
    );
    const [verdict] = xmllintVerdicts(schema, [operation(xml, 'SendRequestRequest')]);
    expect(verdict!.messages).toEqual([]);
    expect(verdict!.valid).toBe(true);
    const message = readSmevMessage(Buffer.from(xml), 'text/xml; charset=utf-8');
    expect(message.refAttachments).toEqual([
      { uuid: refs[0]!.uuid, hash: refs[0]!.hash, mimeType: 'application/pdf', signaturePkcs7: refs[0]!.signaturePkcs7 },
      { uuid: refs[1]!.uuid, hash: refs[1]!.hash, mimeType: 'image/jpeg' },
    ]);
    // Inside the signed element.
    const signed = xml.slice(xml.indexOf('<t:SenderProvidedRequestData'), xml.indexOf('</t:SenderProvidedRequestData>'));
    expect(signed).toContain('<b:RefAttachmentHeaderList>');
  });

  it('a signed SendResponse with content and file-store files validates; a status response refuses them', async () => {
    const xml = await signDocument(sendResponseEnvelope({ version: '1.1', messageId: uuidV1(), to: 'eyJzaWQiOjF9', body: { kind: 'content', contentXml: content }, refAttachments: refs }), {
      signer: sampleSigner('portal'),
      profile: 'smev',
    });
    const [verdict] = xmllintVerdicts(schema, [operation(xml, 'SendResponseRequest')]);
    expect(verdict!.messages).toEqual([]);
    expect(verdict!.valid).toBe(true);
    expect(readSmevMessage(Buffer.from(xml), 'text/xml; charset=utf-8').refAttachments.map((r) => r.uuid)).toEqual(refs.map((r) => r.uuid));
    expect(() => sendResponseEnvelope({ version: '1.1', messageId: uuidV1(), to: 'x', body: { kind: 'status', code: 1, description: 'd' }, refAttachments: refs })).toThrow(RangeError);
  });

  it('the judge sees order: Hash before uuid, or the list after TestMessage, does not validate', async () => {
    // Signed (an empty CallerInformationSystemSignature is itself invalid), then edited: xmllint judges structure only.
    const good = await signDocument(sendRequestEnvelope({ version: '1.1', messageId: uuidV1(), contentXml: content, test: true, refAttachments: refs.slice(1) }), { signer: sampleSigner('portal'), profile: 'smev' });
    const swapped = good.replace(/(<b:uuid>[^<]*<\/b:uuid>)(<b:Hash>[^<]*<\/b:Hash>)/, '$2$1');
    const list = /<b:RefAttachmentHeaderList>.*<\/b:RefAttachmentHeaderList>/.exec(good)![0];
    const late = good.replace(list, '').replace(/<t:TestMessage(?:\/>|><\/t:TestMessage>)/, (m) => `${m}${list}`);
    const verdicts = xmllintVerdicts(schema, [good, swapped, late].map((x) => operation(x, 'SendRequestRequest')));
    expect(verdicts.map((v) => v.valid)).toEqual([true, false, false]);
  });
});
