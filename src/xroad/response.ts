/**
 * The response envelope (protocol 2.2): "the service MUST copy all the header
 * fields from the request to the response in the exact same sequence with the
 * exact same values … the prefix must reference the same namespace as in the
 * request". The request's header elements are copied as they were written
 * (their source text), under a Header that declares every namespace in scope
 * where they stood; xrd:requestHash is left out (the provider's Security
 * Server adds its own, 2.2).
 */
import { escapeAttr } from '../xml/c14n.js';
import { inScopeNamespaces } from '../xml/helpers.js';
import type { XmlElement } from '../xml/types.js';
import { SOAP11_ENV_NS, XROAD_NS } from './namespaces.js';

/** What the echo needs: the request's text as the parser saw it, its Header and its header elements. */
export interface HeaderEcho {
  /** The request decoded and line-end normalized (normalizedSource): element offsets refer to it. */
  source: string;
  header: XmlElement;
  elements: readonly XmlElement[];
}

/** The text the parser's offsets refer to: UTF-8 decoded, BOM dropped, CR LF and lone CR as LF (XML 1.0 §2.11). */
export function normalizedSource(raw: Buffer | string): string {
  let text = typeof raw === 'string' ? raw : raw.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return text.indexOf('\r') === -1 ? text : text.replace(/\r\n?/g, '\n');
}

const ENV_PREFIX = 'SOAP-ENV';

/** `<SOAP-ENV:Header …>` with the request's header elements copied verbatim. */
export function echoedHeader(echo: HeaderEcho): string {
  const decls = [...inScopeNamespaces(echo.header)]
    // The envelope's own prefix stays bound to SOAP 1.1 (a request using it otherwise could not be echoed verbatim anyway).
    .filter(([prefix]) => prefix !== ENV_PREFIX)
    .map(([prefix, uri]) => (prefix === '' ? ` xmlns="${escapeAttr(uri)}"` : ` xmlns:${prefix}="${escapeAttr(uri)}"`))
    .join('');
  const copied = echo.elements.filter((el) => !(el.namespaceURI === XROAD_NS && el.localName === 'requestHash')).map((el) => echo.source.slice(el.start, el.end));
  return `<${ENV_PREFIX}:Header${decls}>\n${copied.join('\n')}\n</${ENV_PREFIX}:Header>`;
}

/** A response envelope: the echoed headers and `body` (the operation's response element, its namespaces declared in it). */
export function responseEnvelope(echo: HeaderEcho, body: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${ENV_PREFIX}:Envelope xmlns:${ENV_PREFIX}="${escapeAttr(SOAP11_ENV_NS)}">${echoedHeader(echo)}<${ENV_PREFIX}:Body>${body}</${ENV_PREFIX}:Body></${ENV_PREFIX}:Envelope>`;
}
