/**
 * Unsigned client-side envelopes for polling the exchange: GetRequest and
 * GetResponse (MessageTypeSelector, optionally filtered by the business
 * element's namespace and local name). Sign them with
 * `signDocument(xml, { signer, profile, targetId: SIGNED_CALLER_ID })`.
 * (GetStatus and Ack: getStatusEnvelope / ackEnvelope in envelope-builder.ts.)
 */
import { SIGNED_CALLER_ID } from './envelope-builder.js';
import { ns, SOAP11_NS, xmlText, type SmevVersion } from './namespaces.js';

export { SIGNED_CALLER_ID };

export interface MessageTypeFilter {
  namespaceURI: string;
  rootElementLocalName: string;
}

/** GetRequestRequest / GetResponseRequest with a MessageTypeSelector (Id SIGNED_BY_CALLER) and an empty CallerInformationSystemSignature. */
export function pollEnvelope(operation: 'GetRequest' | 'GetResponse', version: SmevVersion, at: Date, filter?: MessageTypeFilter, nodeId?: string): string {
  const t = ns.types(version);
  const b = ns.basic(version);
  return (
    `<soap:Envelope xmlns:soap="${SOAP11_NS}"><soap:Body><t:${operation}Request xmlns:t="${t}" xmlns:b="${b}">` +
    `<b:MessageTypeSelector Id="${SIGNED_CALLER_ID}">` +
    (filter ? `<b:NamespaceURI>${xmlText(filter.namespaceURI)}</b:NamespaceURI><b:RootElementLocalName>${xmlText(filter.rootElementLocalName)}</b:RootElementLocalName>` : '') +
    `<b:Timestamp>${at.toISOString()}</b:Timestamp>` +
    (nodeId ? `<b:NodeID>${xmlText(nodeId)}</b:NodeID>` : '') +
    `</b:MessageTypeSelector>` +
    `<t:CallerInformationSystemSignature></t:CallerInformationSystemSignature></t:${operation}Request></soap:Body></soap:Envelope>`
  );
}
