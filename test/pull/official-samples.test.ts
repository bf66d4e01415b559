/**
 * The gateway's reader of delivered messages (src/pull/delivered-message.ts)
 * on the official SMEV 3 samples: it finds, by position, what the exchange
 * signed, what the sender signed, the MessageID the Ack must name, ReplyTo /
 * OriginalMessageId, the PersonalSignature, and the file-store references.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { exchangeFiles } from '../../src/flows/inbound-message.js';
import { locateDelivered } from '../../src/pull/delivered-message.js';
import { parseXml } from '../../src/xml/parser.js';
import { projectRoot } from '../helpers/gateway.js';

const sample = (name: string) => parseXml(readFileSync(path.join(projectRoot, 'test/fixtures/smev3-samples', name)));

describe('delivered messages in the official samples', () => {
  it('GetRequestResponse with a PersonalSignature', () => {
    const m = locateDelivered(sample('GetRequestResponsePersonalSignature.xml'), 'GetRequestResponse')!;
    expect(m.kind).toBe('request');
    expect(m.exchangeSigned.localName).toBe('Request');
    expect(m.parts.signed.localName).toBe('SenderProvidedRequestData');
    expect(m.parts.callerSignature.localName).toBe('Signature');
    expect(m.parts.personal?.target.localName).toBe('BreachRequest');
    expect(m.messageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(m.replyTo).toMatch(/\|/);
  });

  it('GetRequestResponse with MTOM attachments and with file-store references', () => {
    const mtom = locateDelivered(sample('GetRequestResponseAttachMTOM.xml'), 'GetRequestResponse')!;
    expect(mtom.parts.operation.localName).toBe('RequestMessage');
    expect(mtom.exchangeSignature?.localName).toBe('Signature');
    const ftp = locateDelivered(sample('GetRequestResponseAttachFTP.xml'), 'GetRequestResponse')!;
    const files = exchangeFiles(ftp.parts.signed, ftp.exchangeSigned);
    expect(files.length).toBeGreaterThan(0);
    expect(files[0]).toMatchObject({ uuid: expect.stringMatching(/^[0-9a-f-]{36}$/), fileName: expect.any(String) });
    expect(JSON.stringify(files)).not.toMatch(/Password|UserName/);
  });

  it('GetResponseResponse: OriginalMessageId and the answer', () => {
    const m = locateDelivered(sample('smev3sharp-GetResponseResponse_ValidResponse.xml'), 'GetResponseResponse')!;
    expect(m.kind).toBe('response');
    expect(m.version).toBe('1.2');
    expect(m.originalMessageId).toBe('681e6b22-c751-11eb-b66e-218eae1a9246');
    expect(m.messageId).toBe('8ac9a002-c751-11eb-bc0d-001a4a165f5b');
    expect(m.parts.signed.localName).toBe('SenderProvidedResponseData');
  });

  it('an empty GetRequestResponse is "nothing to do"; another operation is refused', () => {
    const empty = parseXml('<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><t:GetRequestResponse xmlns:t="urn://x-artefacts-smev-gov-ru/services/message-exchange/types/1.1"/></s:Body></s:Envelope>');
    expect(locateDelivered(empty, 'GetRequestResponse')).toBeNull();
    expect(() => locateDelivered(empty, 'GetResponseResponse')).toThrow(/expected one GetResponseResponse/);
  });
});
