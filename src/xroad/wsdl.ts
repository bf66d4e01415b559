/**
 * One WSDL 1.1 per X-Road service the gateway provides (protocol chapter 3,
 * Annex C): document/literal wrapped, one operation named like the service
 * code, `xrd:version` in the binding, the X-Road headers declared with
 * soap:header (client, service, id, userId, issue, protocolVersion — not
 * requestHash, 2.2), xrd:title from the catalogue's title. The types embed
 * the identifier and header schemas (Annex A/B, the parts a WSDL needs), the
 * operation wrappers (soap-body.ts) and, for applications, the Receipt; the
 * service's own XSD files are imported from GET /ws/xroad/{code}?xsd=<file>,
 * each served with its schemaLocations pointing back there.
 *
 * Everything is read and templated once, at start-up: serving is string joins.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ServiceCatalogue, ServiceDefinition } from '../catalogue/types.js';
import { decodeSchemaText } from '../catalogue/schema-set/package-files.js';
import type { XRoadSelf } from '../registry/partners.js';
import { xroadServiceCode } from '../registry/partners.js';
import { escapeAttr, escapeText } from '../xml/c14n.js';
import { XROAD_ID_NS, XROAD_NS, XROAD_RECEIPT_NS, XROAD_WRAPPER_NS } from './namespaces.js';
import { requestIsOperation, responseIsOperation } from './soap-body.js';

/** Where X-Road clients (their Security Server) call, relative to the base URL. */
export const XROAD_SOAP_PATH = '/ws/xroad';
const BASE = '\u0000BASE\u0000';
const XSD_NS = 'http://www.w3.org/2001/XMLSchema';

/** A served service's documents, rendered for a base URL. */
export interface XRoadServiceDocuments {
  readonly serviceId: string;
  readonly code: string;
  readonly version: string | null;
  wsdl(baseUrl: string): string;
  /** An XSD of the service by its whitelisted name; null for an unknown name. */
  xsd(name: string, baseUrl: string): string | null;
}

/** Annex A, the types a WSDL's headers need. */
const IDENTIFIERS_SCHEMA = `<xs:schema xmlns:xs="${XSD_NS}" elementFormDefault="qualified" targetNamespace="${XROAD_ID_NS}" xmlns="${XROAD_ID_NS}">
      <xs:complexType name="XRoadIdentifierType">
        <xs:sequence>
          <xs:element minOccurs="0" ref="xRoadInstance"/>
          <xs:element minOccurs="0" ref="memberClass"/>
          <xs:element minOccurs="0" ref="memberCode"/>
          <xs:element minOccurs="0" ref="subsystemCode"/>
          <xs:element minOccurs="0" ref="serviceCode"/>
          <xs:element minOccurs="0" ref="serviceVersion"/>
        </xs:sequence>
        <xs:attribute ref="objectType" use="required"/>
      </xs:complexType>
      <xs:simpleType name="XRoadObjectType">
        <xs:restriction base="xs:string">
          <xs:enumeration value="MEMBER"/>
          <xs:enumeration value="SUBSYSTEM"/>
          <xs:enumeration value="SERVICE"/>
        </xs:restriction>
      </xs:simpleType>
      <xs:element name="xRoadInstance" type="xs:string"/>
      <xs:element name="memberClass" type="xs:string"/>
      <xs:element name="memberCode" type="xs:string"/>
      <xs:element name="subsystemCode" type="xs:string"/>
      <xs:element name="serviceCode" type="xs:string"/>
      <xs:element name="serviceVersion" type="xs:string"/>
      <xs:attribute name="objectType" type="XRoadObjectType"/>
      <xs:complexType name="XRoadClientIdentifierType">
        <xs:complexContent>
          <xs:restriction base="XRoadIdentifierType">
            <xs:sequence>
              <xs:element ref="xRoadInstance"/>
              <xs:element ref="memberClass"/>
              <xs:element ref="memberCode"/>
              <xs:element minOccurs="0" ref="subsystemCode"/>
            </xs:sequence>
          </xs:restriction>
        </xs:complexContent>
      </xs:complexType>
      <xs:complexType name="XRoadServiceIdentifierType">
        <xs:complexContent>
          <xs:restriction base="XRoadIdentifierType">
            <xs:sequence>
              <xs:element ref="xRoadInstance"/>
              <xs:element ref="memberClass"/>
              <xs:element ref="memberCode"/>
              <xs:element minOccurs="0" ref="subsystemCode"/>
              <xs:element ref="serviceCode"/>
              <xs:element minOccurs="0" ref="serviceVersion"/>
            </xs:sequence>
          </xs:restriction>
        </xs:complexContent>
      </xs:complexType>
    </xs:schema>`;

/** Annex B's header elements (title, notes and techNotes are for WSDL documentation, not messages). */
const HEADERS_SCHEMA = `<xs:schema xmlns:xs="${XSD_NS}" elementFormDefault="qualified" targetNamespace="${XROAD_NS}" xmlns:id="${XROAD_ID_NS}">
      <xs:import namespace="${XROAD_ID_NS}"/>
      <xs:element name="client" type="id:XRoadClientIdentifierType"/>
      <xs:element name="service" type="id:XRoadServiceIdentifierType"/>
      <xs:element name="id" type="xs:string"/>
      <xs:element name="userId" type="xs:string"/>
      <xs:element name="requestHash">
        <xs:complexType>
          <xs:simpleContent>
            <xs:extension base="xs:string">
              <xs:attribute name="algorithmId" type="xs:string"/>
            </xs:extension>
          </xs:simpleContent>
        </xs:complexType>
      </xs:element>
      <xs:element name="issue" type="xs:string"/>
      <xs:element name="protocolVersion" type="xs:string"/>
      <xs:element name="version" type="xs:string"/>
      <xs:element name="title" type="xs:string"/>
    </xs:schema>`;

const RECEIPT_SCHEMA = `<xs:schema xmlns:xs="${XSD_NS}" elementFormDefault="qualified" targetNamespace="${XROAD_RECEIPT_NS}">
      <xs:element name="Receipt">
        <xs:annotation><xs:documentation>The application was registered: its id, the registration number the city gave it, when it was received.</xs:documentation></xs:annotation>
        <xs:complexType>
          <xs:sequence>
            <xs:element name="applicationId" type="xs:string"/>
            <xs:element name="registrationNumber" type="xs:string"/>
            <xs:element name="receivedAt" type="xs:dateTime"/>
          </xs:sequence>
        </xs:complexType>
      </xs:element>
    </xs:schema>`;

const HEADER_PARTS = ['client', 'service', 'id', 'userId', 'issue', 'protocolVersion'] as const;

/** XML names for codes (protocol 2.7 allows ( ) + , = ? in identifiers; an operation element cannot carry them). */
export function isOperationName(code: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(code);
}

/** schemaLocation / location values in a schema's text (attributes of import, include, redefine). */
const LOCATION = /(\sschemaLocation\s*=\s*)(["'])([^"'<>]*)\2/g;

interface XsdSet {
  /** name (path relative to the service folder, '/'-separated) → template text. */
  files: Map<string, string>;
}

function xsdUrl(code: string, name: string): string {
  return `${BASE}${XROAD_SOAP_PATH}/${encodeURIComponent(code)}?xsd=${encodeURIComponent(name)}`;
}

/** The closure of XSD files reachable from `entries` inside the service folder, each with its locations templated. */
function collectXsds(dir: string, code: string, entries: readonly string[]): XsdSet {
  const files = new Map<string, string>();
  const queue = [...entries];
  while (queue.length > 0) {
    const name = queue.shift()!;
    if (files.has(name)) continue;
    const text = decodeSchemaText(readFileSync(path.join(dir, name)), name);
    const rewritten = text.replace(LOCATION, (_m, lead: string, quote: string, location: string) => {
      // The catalogue already refused URLs and paths leaving the folder (package-files.ts).
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(name), decodeURI(location.trim().replace(/\\/g, '/'))));
      queue.push(target);
      return `${lead}${quote}${escapeAttr(xsdUrl(code, target))}${quote}`;
    });
    files.set(name, rewritten);
  }
  return { files };
}

/** The XSD file each part of a service names (service.json request.xsd / response.xsd). */
function entryFiles(service: ServiceDefinition): { request: string; response: string | null } {
  const file = JSON.parse(readFileSync(path.join(service.dir, 'service.json'), 'utf8')) as { request: { xsd: string }; response?: { xsd: string } | null };
  const norm = (p: string) => path.posix.normalize(p.replace(/\\/g, '/'));
  return { request: norm(file.request.xsd), response: file.response ? norm(file.response.xsd) : null };
}

/** The WSDL and XSDs of one provided service. */
export function serviceDocuments(service: ServiceDefinition, code: string, version: string | null): XRoadServiceDocuments {
  const entries = entryFiles(service);
  const response = service.kind === 'query' ? service.response : null;
  const xsds = collectXsds(service.dir, code, [entries.request, ...(response && entries.response ? [entries.response] : [])]);
  // Per namespace, the entry files declaring it: one is imported directly; several (request.xsd and
  // response.xsd in one namespace) through a small schema that includes them all (an import names one location).
  const byNamespace = new Map<string, string[]>();
  const addEntry = (ns: string, file: string) => {
    const list = byNamespace.get(ns) ?? [];
    if (!list.includes(file)) list.push(file);
    byNamespace.set(ns, list);
  };
  addEntry(service.request.namespace, entries.request);
  if (response && entries.response) addEntry(response.namespace, entries.response);
  const imports: string[] = [];
  let n = 0;
  for (const [ns, files] of byNamespace) {
    if (files.length === 1) {
      imports.push(`<xs:import namespace="${escapeAttr(ns)}" schemaLocation="${escapeAttr(xsdUrl(code, files[0]!))}"/>`);
      continue;
    }
    const name = `_namespace-${++n}.xsd`;
    xsds.files.set(name, `<?xml version="1.0" encoding="UTF-8"?>\n<xs:schema xmlns:xs="${XSD_NS}" targetNamespace="${escapeAttr(ns)}">\n${files.map((f) => `  <xs:include schemaLocation="${escapeAttr(xsdUrl(code, f))}"/>`).join('\n')}\n</xs:schema>\n`);
    imports.push(`<xs:import namespace="${escapeAttr(ns)}" schemaLocation="${escapeAttr(xsdUrl(code, name))}"/>`);
  }

  const ownOperation = requestIsOperation(service, code);
  const ownResponse = response !== null && responseIsOperation(service, code);
  const application = service.kind === 'application';
  const reqPrefix = 'svc';
  const resPrefix = response && response.namespace !== service.request.namespace ? 'svcr' : 'svc';
  const nsDecls = [`xmlns:${reqPrefix}="${escapeAttr(service.request.namespace)}"`, ...(resPrefix === 'svcr' ? [`xmlns:svcr="${escapeAttr(response!.namespace)}"`] : [])].join(' ');
  const wrappers: string[] = [];
  if (!ownOperation) wrappers.push(`<xs:element name="${code}"><xs:complexType><xs:sequence><xs:element ref="${reqPrefix}:${service.request.rootElement}"/></xs:sequence></xs:complexType></xs:element>`);
  if (!ownResponse) {
    const inside = application ? 'r:Receipt' : response ? `${resPrefix}:${response.rootElement}` : null;
    wrappers.push(`<xs:element name="${code}Response"><xs:complexType><xs:sequence>${inside ? `<xs:element ref="${inside}"/>` : ''}</xs:sequence></xs:complexType></xs:element>`);
  }
  const wrapperSchema = `<xs:schema xmlns:xs="${XSD_NS}" elementFormDefault="qualified" targetNamespace="${XROAD_WRAPPER_NS}" ${nsDecls} xmlns:r="${XROAD_RECEIPT_NS}">
      ${imports.join('\n      ')}
      ${application ? `<xs:import namespace="${XROAD_RECEIPT_NS}"/>` : ''}
      ${wrappers.join('\n      ')}
    </xs:schema>`;
  const inputElement = ownOperation ? `${reqPrefix}:${code}` : `tns:${code}`;
  const outputElement = ownResponse ? `${resPrefix}:${code}Response` : `tns:${code}Response`;
  const headers = HEADER_PARTS.map((p) => `<soap:header message="tns:requestHeader" part="${p}" use="literal"/>`).join('\n          ');
  const wsdl = `<?xml version="1.0" encoding="UTF-8"?>
<wsdl:definitions name="${code}" targetNamespace="${XROAD_WRAPPER_NS}"
    xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xs="${XSD_NS}"
    xmlns:xrd="${XROAD_NS}"
    xmlns:id="${XROAD_ID_NS}"
    xmlns:tns="${XROAD_WRAPPER_NS}"
    xmlns:r="${XROAD_RECEIPT_NS}"
    ${nsDecls}>
  <wsdl:types>
    ${IDENTIFIERS_SCHEMA}
    ${HEADERS_SCHEMA}
    ${application ? RECEIPT_SCHEMA : ''}
    ${wrapperSchema}
  </wsdl:types>
  <wsdl:message name="requestHeader">
    ${HEADER_PARTS.map((p) => `<wsdl:part name="${p}" element="xrd:${p}"/>`).join('\n    ')}
  </wsdl:message>
  <wsdl:message name="${code}">
    <wsdl:part name="body" element="${inputElement}"/>
  </wsdl:message>
  <wsdl:message name="${code}Response">
    <wsdl:part name="body" element="${outputElement}"/>
  </wsdl:message>
  <wsdl:portType name="${code}Port">
    <wsdl:operation name="${code}">
      <wsdl:documentation>
        <xrd:title>${escapeText(service.title)}</xrd:title>
      </wsdl:documentation>
      <wsdl:input name="${code}" message="tns:${code}"/>
      <wsdl:output name="${code}Response" message="tns:${code}Response"/>
    </wsdl:operation>
  </wsdl:portType>
  <wsdl:binding name="${code}PortSoap11" type="tns:${code}Port">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="${code}">
      <soap:operation soapAction="" style="document"/>
      ${version ? `<xrd:version>${escapeText(version)}</xrd:version>` : ''}
      <wsdl:input name="${code}">
        <soap:body use="literal"/>
          ${headers}
      </wsdl:input>
      <wsdl:output name="${code}Response">
        <soap:body use="literal"/>
          ${headers}
      </wsdl:output>
    </wsdl:operation>
  </wsdl:binding>
  <wsdl:service name="${code}Service">
    <wsdl:port name="${code}PortSoap11" binding="tns:${code}PortSoap11">
      <soap:address location="${BASE}${XROAD_SOAP_PATH}"/>
    </wsdl:port>
  </wsdl:service>
</wsdl:definitions>
`;
  const render = (text: string, baseUrl: string) => text.split(BASE).join(escapeAttr(baseUrl.replace(/\/+$/, '')));
  return {
    serviceId: service.id,
    code,
    version,
    wsdl: (baseUrl) => render(wsdl, baseUrl),
    xsd: (name, baseUrl) => {
      const text = xsds.files.get(name);
      return text === undefined ? null : render(text, baseUrl);
    },
  };
}

/**
 * The documents of every service the gateway provides through X-Road (the
 * inbound applications and queries of the catalogue), by service code. A
 * code that cannot name an XML element is left out (no operation can be
 * named so).
 */
export function loadXRoadDocuments(catalogue: ServiceCatalogue, self: XRoadSelf): Map<string, XRoadServiceDocuments> {
  const out = new Map<string, XRoadServiceDocuments>();
  for (const service of catalogue.services) {
    if (service.direction !== 'inbound' || service.kind === 'status') continue;
    const { code, version } = xroadServiceCode(self, service.id);
    if (!isOperationName(code)) continue;
    out.set(code, serviceDocuments(service, code, version));
  }
  return out;
}
