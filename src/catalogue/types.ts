/**
 * The service catalogue: every kind of content (вид сведений) the gateway
 * carries is declared as data in config/services/<id>/ — its XML namespace
 * and root element, its XSD, a JSON Schema of the city's model, the mapping
 * between them both ways, and its direction. Which partners may send or
 * receive it is the partner registry's business (config/partners.json), so
 * there is one place that grants access. Adding a service means adding files.
 *
 * Everything is read, compiled and cross-checked once at start-up.
 */
import type { JsonValue } from '../store/types.js';
import type { XmlElement } from '../xml/types.js';

/**
 * application: a citizen's application from the portal (inbound);
 * query: an interagency query with a response — inbound (an agency asks the
 *   city) or outbound (the city asks an agency);
 * status: a status message the city sends the portal (outbound).
 */
export type ServiceKind = 'application' | 'query' | 'status';
export type Direction = 'inbound' | 'outbound';
export type MessagePart = 'request' | 'response';

/** One problem found by schema validation, named so the sender can fix it. */
export interface ContentError {
  /** Where: an XML path (/Root/Child[2]/@Attr) or a JSON pointer (/applicant/snils). */
  path: string;
  /** Which rule: e.g. "required", "pattern \\d{3}-\\d{3}-\\d{3} \\d{2}", "maxOccurs 1", "type xs:date". */
  rule: string;
  message: string;
}

/** What reading an XML content gives: its JSON, or the schema's errors (those validateXml returns). */
export type XmlReading = { readonly ok: true; readonly json: JsonValue } | { readonly ok: false; readonly errors: ContentError[] };

export interface ContentDefinition {
  namespace: string;
  rootElement: string;
  /** Validates the XML element (the business element inside MessagePrimaryContent). */
  validateXml(el: XmlElement): ContentError[];
  /** Validates the city's JSON (the same content as JSON). */
  validateJson(value: unknown): ContentError[];
  /** XML → JSON; call only after validateXml found no errors. */
  toJson(el: XmlElement): JsonValue;
  /**
   * validateXml, then toJson when it found no errors, in one walk over the content where the
   * definition can: the errors are validateXml's, the JSON is toJson's (and a MappingError the
   * same as toJson throws).
   */
  readXml(el: XmlElement): XmlReading;
  /** JSON → XML text of the root element (with its namespace declared); call only after validateJson found no errors. */
  toXml(value: JsonValue): string;
}

export interface ServiceDefinition {
  id: string;
  /** Human-readable name (Russian), e.g. "Выдача разрешения на установку рекламной конструкции". */
  title: string;
  kind: ServiceKind;
  direction: Direction;
  request: ContentDefinition;
  /** Queries have a response content; applications and statuses don't. */
  response: ContentDefinition | null;
  /** Short code used in registration numbers (e.g. "РК" → "РК-2026-000123"). */
  registrationPrefix: string | null;
  /** Paths of JSON fields holding personal data (JSON pointers), kept out of logs. */
  personalData: string[];
  /** Where its files are (for messages). */
  dir: string;
  /** The JSON Schema of each part: written by hand, or derived from the XSD package. */
  jsonSchemas: { request: unknown; response: unknown | null };
  /** Whether the JSON side is derived from the XSD package (no hand-written schema and mapping). */
  derived: boolean;
  /** Where an agency's XSD package was taken from (repository, path, commit), when service.json says. */
  provenance: { repository: string; path: string; commit: string; note?: string } | null;
  /** service.json attachments.signature: whether inbound files must carry a SignaturePKCS7 (default optional; a present one must verify). */
  attachmentSignature?: 'required' | 'optional';
  /** service.json attachments.mimeTypes: the MIME types of files the city may send with it (default DEFAULT_ATTACHMENT_MIME_TYPES). */
  attachmentMimeTypes?: readonly string[];
}

/**
 * The files a service takes when its service.json names no `attachments.mimeTypes`: the
 * document formats SMEV participants exchange (PDF and scans, XML and signed XML, archives).
 * application/octet-stream is not among them: a type that says nothing is allowed only where
 * a service lists it.
 */
export const DEFAULT_ATTACHMENT_MIME_TYPES: readonly string[] = Object.freeze(['application/pdf', 'image/jpeg', 'image/png', 'image/tiff', 'application/xml', 'text/xml', 'application/zip', 'application/pkcs7-signature']);

export interface ServiceCatalogue {
  readonly services: readonly ServiceDefinition[];
  get(id: string): ServiceDefinition | undefined;
  /** The service and part whose root element this is (namespace + local name). */
  byRoot(namespace: string, localName: string): { service: ServiceDefinition; part: MessagePart } | undefined;
}
