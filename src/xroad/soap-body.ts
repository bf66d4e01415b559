/**
 * The SOAP body of an X-Road service (protocol 2.3, document/literal wrapped):
 * the request's one Body element is named like xrd:service's serviceCode, the
 * response's like it + "Response". A catalogue service's content is a root
 * element of its own, so the gateway wraps it: `<w:{code}>` (namespace
 * XROAD_WRAPPER_NS) holds the request's root element, `<w:{code}Response>` the
 * response's root element — or, for an application, the Receipt. A service
 * whose request root element is itself named like the code (and its response
 * root like code + "Response") is its own wrapper.
 *
 * A wrapper in the request content's own namespace is taken too (that is how
 * X-Road clients often write it, Okno's consumer among them,
 * src/xroad/soap-request.ts); the response then uses that namespace as well.
 */
import type { ServiceDefinition } from '../catalogue/types.js';
import { escapeAttr, escapeText } from '../xml/c14n.js';
import { childElements } from '../xml/helpers.js';
import type { XmlElement } from '../xml/types.js';
import { XROAD_RECEIPT_NS, XROAD_WRAPPER_NS } from './namespaces.js';
import { XRoadRefusal } from './refusal.js';

/** The request's root element is the operation element (no wrapper). */
export function requestIsOperation(service: ServiceDefinition, code: string): boolean {
  return service.request.rootElement === code;
}

/** The response's root element is the operation's response element (no wrapper). */
export function responseIsOperation(service: ServiceDefinition, code: string): boolean {
  return requestIsOperation(service, code) && service.response?.rootElement === `${code}Response` && service.response.namespace === service.request.namespace;
}

/** The Body's operation element, read: the business content, and the namespace its wrapper used (null: no wrapper). */
export interface OperationContent {
  content: XmlElement;
  wrapperNamespace: string | null;
}

/** The business content of the Body's operation element, after checking it is the one xrd:service names. */
export function operationContent(service: ServiceDefinition, code: string, operation: XmlElement): OperationContent {
  if (operation.localName !== code) {
    throw new XRoadRefusal('bad-content', `the SOAP Body's element is ${operation.localName}; the wrapper element must be named like the service code ${code} (protocol 2.3)`, 'InvalidBody');
  }
  if (requestIsOperation(service, code)) return { content: operation, wrapperNamespace: null };
  if (operation.namespaceURI !== XROAD_WRAPPER_NS && operation.namespaceURI !== service.request.namespace) {
    throw new XRoadRefusal('bad-content', `the wrapper element ${code} must be in namespace ${XROAD_WRAPPER_NS} (see the service's WSDL) or the content's ${service.request.namespace}, not "${operation.namespaceURI}"`, 'InvalidBody');
  }
  const inside = childElements(operation);
  if (inside.length !== 1) throw new XRoadRefusal('bad-content', `${code} must hold exactly one element, {${service.request.namespace}}${service.request.rootElement}`, 'InvalidBody');
  return { content: inside[0]!, wrapperNamespace: operation.namespaceURI };
}

const withoutDeclaration = (xml: string) => xml.replace(/^\uFEFF?<\?xml[^>]*\?>\s*/, '');

/** The response element around `contentXml` (the response's root element as text, its namespace declared), in the request wrapper's namespace. */
export function operationResponse(service: ServiceDefinition, code: string, contentXml: string, wrapperNamespace: string = XROAD_WRAPPER_NS): string {
  if (responseIsOperation(service, code)) return withoutDeclaration(contentXml);
  return `<w:${code}Response xmlns:w="${escapeAttr(wrapperNamespace)}">${withoutDeclaration(contentXml)}</w:${code}Response>`;
}

export interface Receipt {
  applicationId: string;
  registrationNumber: string;
  receivedAt: string;
}

/** An application's answer: `<w:{code}Response><r:Receipt>…</r:Receipt></w:{code}Response>`. */
export function receiptResponse(code: string, receipt: Receipt, wrapperNamespace: string = XROAD_WRAPPER_NS): string {
  const field = (name: keyof Receipt) => `<r:${name}>${escapeText(receipt[name])}</r:${name}>`;
  return `<w:${code}Response xmlns:w="${escapeAttr(wrapperNamespace)}"><r:Receipt xmlns:r="${XROAD_RECEIPT_NS}">${field('applicationId')}${field('registrationNumber')}${field('receivedAt')}</r:Receipt></w:${code}Response>`;
}
