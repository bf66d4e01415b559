/**
 * src/xroad/: the X-Road 4.0 SOAP headers read strictly, the Annex D fault
 * shape, the response echoing the request's header elements as written, the
 * operation wrappers, and the per-service WSDL (Trembita codes included).
 */
import { describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/catalogue/load.js';
import { parseXml } from '../../src/xml/parser.js';
import { faultEnvelope, faultOf } from '../../src/xroad/faults.js';
import { XRoadRefusal } from '../../src/xroad/refusal.js';
import { normalizedSource, responseEnvelope } from '../../src/xroad/response.js';
import { operationContent, operationResponse, receiptResponse } from '../../src/xroad/soap-body.js';
import { readXRoadHeaders, soapParts } from '../../src/xroad/soap-headers.js';
import { loadXRoadDocuments } from '../../src/xroad/wsdl.js';
import { projectRoot } from '../helpers/gateway.js';
import { APPLICATION, QUERY, wrapped, xroadRegistry, xroadRequest } from '../helpers/xroad-provider.js';
import path from 'node:path';

const catalogue = loadCatalogue(path.join(projectRoot, 'config/services'), { checkExamples: false });

function headersOf(xml: string) {
  return readXRoadHeaders(soapParts(parseXml(xml).root).header);
}

function refused(f: () => unknown): XRoadRefusal {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(XRoadRefusal);
    return error as XRoadRefusal;
  }
  throw new Error('not refused');
}

describe('readXRoadHeaders', () => {
  it('reads client, service, id, userId, issue, protocolVersion; other header elements are kept as strings', () => {
    const h = headersOf(xroadRequest({ code: QUERY, id: 'm-1', issue: 'case 9', extraHeaders: '<t:purpose xmlns:t="urn:trembita">check</t:purpose><xrd:representedParty>x</xrd:representedParty>', body: '<x/>' }));
    expect(h.client).toEqual({ instance: 'DEV', memberClass: 'GOV', memberCode: '12345678', subsystemCode: 'dms' });
    expect(h.service).toMatchObject({ memberCode: '00000001', subsystemCode: 'okno', serviceCode: QUERY, serviceVersion: 'v1' });
    expect(h).toMatchObject({ id: 'm-1', userId: 'UA1234567890', issue: 'case 9', protocolVersion: '4.0', requestHash: null });
    expect(h.headers).toEqual({
      client: 'DEV/GOV/12345678/dms',
      service: `DEV/GOV/00000001/okno/${QUERY}/v1`,
      id: 'm-1',
      userId: 'UA1234567890',
      issue: 'case 9',
      protocolVersion: '4.0',
      '{urn:trembita}purpose': 'check',
      representedParty: 'x',
    });
    expect(h.elements.map((e) => e.localName)).toEqual(['client', 'service', 'id', 'userId', 'issue', 'protocolVersion', 'purpose', 'representedParty']);
  });

  it('a MEMBER client has no subsystemCode; a SUBSYSTEM needs one; identifiers keep X-Road\'s character rules', () => {
    expect(headersOf(xroadRequest({ client: 'DEV/GOV/12345678', code: QUERY, id: 'm', body: '<x/>' })).client.subsystemCode).toBeNull();
    expect(refused(() => headersOf(xroadRequest({ client: 'DEV/GOV/12345678', clientObjectType: 'SUBSYSTEM', code: QUERY, id: 'm', body: '<x/>' }))).code).toBe('InvalidClientIdentifier');
    expect(refused(() => headersOf(xroadRequest({ client: 'DEV/GOV/12345678/dms', clientObjectType: 'MEMBER', code: QUERY, id: 'm', body: '<x/>' }))).code).toBe('InvalidClientIdentifier');
    expect(refused(() => headersOf(xroadRequest({ client: 'DEV/GOV/1234 5678/dms', code: QUERY, id: 'm', body: '<x/>' }))).code).toBe('InvalidClientIdentifier');
    expect(refused(() => headersOf(xroadRequest({ code: 'a;b', id: 'm', body: '<x/>' }))).code).toBe('InvalidServiceIdentifier');
  });

  it('refusals: no Header, an empty id, a 4.1 protocol', () => {
    expect(refused(() => headersOf('<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body><x/></SOAP-ENV:Body></SOAP-ENV:Envelope>'))).toMatchObject({ kind: 'bad-header', code: 'MissingHeader' });
    expect(refused(() => headersOf(xroadRequest({ code: QUERY, id: ' ', body: '<x/>' }))).code).toBe('InvalidHeaderField');
    expect(refused(() => headersOf(xroadRequest({ code: QUERY, id: 'm', protocolVersion: '4.1', body: '<x/>' }))).kind).toBe('bad-protocol-version');
  });
});

describe('faults, the echo and the body', () => {
  it('Annex D shape', () => {
    const f = faultOf(new XRoadRefusal('answer-timeout', 'call again with the same id'));
    expect(f).toEqual({ faultcode: 'Server.ServiceTimeout', faultstring: 'call again with the same id', status: 500 });
    expect(faultOf(new XRoadRefusal('rejected', 'nothing', 'NO_DATA')).faultcode).toBe('Server.ServiceFailed.NO_DATA');
    const xml = faultEnvelope(f, 'corr-1');
    const fault = parseXml(xml).root;
    expect(xml).toContain('<faultcode>Server.ServiceTimeout</faultcode><faultstring>call again with the same id</faultstring><faultactor></faultactor><detail><faultDetail xmlns="">corr-1</faultDetail></detail>');
    expect(fault.localName).toBe('Envelope');
  });

  it('the response copies the header elements as written (CR LF, prefixes, order), without requestHash', () => {
    const request = xroadRequest({ code: QUERY, id: 'm-2', extraHeaders: '<xrd:requestHash algorithmId="http://www.w3.org/2001/04/xmlenc#sha512">abc</xrd:requestHash>', body: '<x/>' }).replace(/\n/g, '\r\n').replace(/xrd:/g, 'x:').replace('xmlns:xrd=', 'xmlns:x=');
    const doc = parseXml(request);
    const parts = soapParts(doc.root);
    const h = readXRoadHeaders(parts.header);
    expect(h.requestHash).toEqual({ value: 'abc', algorithmId: 'http://www.w3.org/2001/04/xmlenc#sha512' });
    const source = normalizedSource(request);
    const response = responseEnvelope({ source, header: parts.header!, elements: h.elements }, '<y xmlns="urn:y"/>');
    for (const el of h.elements.filter((e) => e.localName !== 'requestHash')) expect(response).toContain(source.slice(el.start, el.end));
    expect(response).not.toContain('requestHash');
    expect(parseXml(response).root.localName).toBe('Envelope');
  });

  it('the operation wrapper: named like the code, in the wrappers\' namespace, one element inside', () => {
    const service = catalogue.get(QUERY)!;
    const op = (xml: string) => parseXml(xml).root;
    expect(operationContent(service, QUERY, op(wrapped(QUERY, '<a:R xmlns:a="urn:a"/>')))).toMatchObject({ content: { localName: 'R' }, wrapperNamespace: 'urn:okno:xroad:services:1' });
    // A wrapper in the content's own namespace (how Okno's consumer writes it) is taken too.
    expect(operationContent(service, QUERY, op(`<s:${QUERY} xmlns:s="${service.request.namespace}"><R/></s:${QUERY}>`)).wrapperNamespace).toBe(service.request.namespace);
    expect(refused(() => operationContent(service, QUERY, op(wrapped('other', '<a:R xmlns:a="urn:a"/>')))).kind).toBe('bad-content');
    expect(refused(() => operationContent(service, QUERY, op(`<w:${QUERY} xmlns:w="urn:elsewhere"><R/></w:${QUERY}>`))).kind).toBe('bad-content');
    expect(refused(() => operationContent(service, QUERY, op(wrapped(QUERY, '<R/><S/>')))).kind).toBe('bad-content');
    expect(operationResponse(service, QUERY, '<?xml version="1.0"?>\n<a:Resp xmlns:a="urn:a"/>')).toBe(`<w:${QUERY}Response xmlns:w="urn:okno:xroad:services:1"><a:Resp xmlns:a="urn:a"/></w:${QUERY}Response>`);
    expect(receiptResponse('c', { applicationId: 'a', registrationNumber: 'R&1', receivedAt: '2026-12-07T00:00:00.000Z' })).toContain('<r:registrationNumber>R&amp;1</r:registrationNumber>');
  });
});

describe('loadXRoadDocuments', () => {
  it('one WSDL per inbound application or query; Trembita: ServiceName_v1 codes, no xrd:version', () => {
    const xroad = loadXRoadDocuments(catalogue, xroadRegistry().xroad!);
    expect([...xroad.keys()].sort()).toEqual([APPLICATION, QUERY, 'dwelling-replanning', 'kindergarten-enrollment'].sort());
    expect(xroad.get(QUERY)!.wsdl('http://gw.example')).toContain('<xrd:version>v1</xrd:version>');
    const trembita = loadXRoadDocuments(catalogue, xroadRegistry((doc) => {
        doc.xroad = { self: 'SEVDEIR-TEST/GOV/00000001/okno', dialect: 'trembita' };
        doc.partners = doc.partners.filter((p) => p.transport === undefined);
      }).xroad!);
    expect([...trembita.keys()]).toContain(`${QUERY}_v1`);
    const wsdl = trembita.get(`${QUERY}_v1`)!.wsdl('http://gw.example/');
    expect(wsdl).not.toContain('<xrd:version>');
    expect(wsdl).toContain(`<wsdl:operation name="${QUERY}_v1">`);
    expect(wsdl).toContain('<soap:address location="http://gw.example/ws/xroad"/>');
    // Request and response XSDs in one namespace: imported through one schema that includes both.
    expect(wsdl).toMatch(/schemaLocation="http:\/\/gw\.example\/ws\/xroad\/advertising-permit-register-extract_v1\?xsd=_namespace-1\.xsd"/);
    expect(trembita.get(`${QUERY}_v1`)!.xsd('_namespace-1.xsd', 'http://gw.example')).toContain('<xs:include schemaLocation="http://gw.example/ws/xroad/advertising-permit-register-extract_v1?xsd=request.xsd"/>');
    expect(trembita.get(`${QUERY}_v1`)!.xsd('../service.json', 'http://gw.example')).toBeNull();
  });
});
