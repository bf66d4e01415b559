/**
 * SOAP 1.1 faults as the protocol's Annex D shows them: faultcode
 * `Client.…` / `Server.…` (dot-separated, the X-Road security server's style,
 * e.g. Server.ClientProxy.ServiceFailed.MissingBody), faultstring, an empty
 * faultactor and `<detail><faultDetail xmlns="">…</faultDetail></detail>`
 * carrying the correlation id. A fault to a request whose X-Road headers were
 * read carries them (2.5: "The SOAP Fault MAY contain X-Road Headers").
 */
import { escapeAttr, escapeText } from '../xml/c14n.js';
import { SOAP11_ENV_NS } from './namespaces.js';
import type { XRoadRefusal } from './refusal.js';
import { echoedHeader, type HeaderEcho } from './response.js';

export interface XRoadFault {
  /** e.g. Client.MissingHeaderField, Server.ServiceTimeout. */
  faultcode: string;
  faultstring: string;
  /** HTTP status the fault goes with (SOAP 1.1 over HTTP: 500; a transport refusal keeps its own). */
  status: number;
}

/**
 * The fault code of each refusal (the codes of X-Road's own ErrorCodes, in
 * Annex D's CamelCase form):
 * - bad-header: Client.MissingHeader / MissingHeaderField / DuplicateHeaderField / InvalidClientIdentifier / InvalidServiceIdentifier / InvalidHeaderField / InvalidSoap
 * - bad-protocol-version: Client.InvalidProtocolVersion
 * - unknown-service: Client.UnknownService
 * - unknown-client: Client.UnknownMember
 * - unauthorised-client: Client.AccessDenied
 * - bad-content: Client.InvalidBody (InvalidXml, InvalidSoap, MissingBody, InvalidContentType when said)
 * - id-reused: Client.DuplicateId
 * - rejected: Server.ServiceFailed.<reject code> (ACCESS_DENIED, NO_DATA, UNKNOWN_REQUEST_DESCRIPTION, FAILURE)
 * - answer-timeout: Server.ServiceTimeout ("call again with the same id")
 * - unavailable: Server.InternalError
 */
export function faultOf(refusal: XRoadRefusal): XRoadFault {
  const code = (() => {
    switch (refusal.kind) {
      case 'bad-header':
        return `Client.${refusal.code ?? 'MissingHeaderField'}`;
      case 'bad-protocol-version':
        return 'Client.InvalidProtocolVersion';
      case 'unknown-service':
        return 'Client.UnknownService';
      case 'unknown-client':
        return 'Client.UnknownMember';
      case 'unauthorised-client':
        return 'Client.AccessDenied';
      case 'bad-content':
        return `Client.${refusal.code ?? 'InvalidBody'}`;
      case 'id-reused':
        return 'Client.DuplicateId';
      case 'rejected':
        return `Server.ServiceFailed.${refusal.code ?? 'FAILURE'}`;
      case 'answer-timeout':
        return 'Server.ServiceTimeout';
      case 'unavailable':
        return 'Server.InternalError';
    }
  })();
  return { faultcode: code, faultstring: refusal.message, status: 500 };
}

/** The fault envelope; with `echo`, the request's X-Road headers go in its Header. */
export function faultEnvelope(fault: XRoadFault, correlationId: string, echo: HeaderEcho | null = null): string {
  const header = echo ? echoedHeader(echo) : '';
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<SOAP-ENV:Envelope xmlns:SOAP-ENV="${escapeAttr(SOAP11_ENV_NS)}">${header}<SOAP-ENV:Body><SOAP-ENV:Fault>` +
    `<faultcode>${escapeText(fault.faultcode)}</faultcode>` +
    `<faultstring>${escapeText(fault.faultstring)}</faultstring>` +
    `<faultactor></faultactor>` +
    `<detail><faultDetail xmlns="">${escapeText(correlationId)}</faultDetail></detail>` +
    `</SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>`
  );
}
