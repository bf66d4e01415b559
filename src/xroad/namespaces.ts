/** The X-Road message protocol 4.0's namespaces, and Okno's own for what it adds (operation wrappers, the receipt). */
export const SOAP11_ENV_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
/** xrd: the header elements (Annex B). */
export const XROAD_NS = 'http://x-road.eu/xsd/xroad.xsd';
/** id: the identifier types (Annex A). */
export const XROAD_ID_NS = 'http://x-road.eu/xsd/identifiers';
/** The only protocol version served (protocol 2.2: "The value of this field MUST be 4.0"). */
export const XROAD_PROTOCOL_VERSION = '4.0';
/**
 * The document/literal wrapped operation elements the gateway declares around
 * a catalogue service's content: `<w:{serviceCode}>` holds the request's root
 * element, `<w:{serviceCode}Response>` the response's (or the receipt). A
 * service whose own request root element is named like its service code needs
 * no wrapper: that element is the operation element.
 */
export const XROAD_WRAPPER_NS = 'urn:okno:xroad:services:1';
/** The answer to an application: Receipt {applicationId, registrationNumber, receivedAt}. */
export const XROAD_RECEIPT_NS = 'urn:okno:xroad:receipt:1';
