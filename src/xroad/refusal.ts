/**
 * Why an X-Road request (SOAP or REST) is refused, in the protocol's terms but
 * in no transport's words: the SOAP edge turns a refusal into an Annex D fault
 * (src/xroad/faults.ts), the REST edge into the documented error body. The
 * flow (src/flows/xroad-inbound.ts) and the header readers throw it.
 */
export type XRoadRefusalKind =
  /** A required protocol header is missing, repeated or malformed (xrd:client, X-Road-Client, …). */
  | 'bad-header'
  /** xrd:protocolVersion is not 4.0. */
  | 'bad-protocol-version'
  /** The service is not one the gateway provides (another provider, an unknown code or version). */
  | 'unknown-service'
  /** The client is no registered X-Road partner. */
  | 'unknown-client'
  /** The client is registered but not allowed this service (its partner's `sends`). */
  | 'unauthorised-client'
  /** The body is not what the service takes (not XML / JSON, schema errors). */
  | 'bad-content'
  /** The same client + id came before with other content. */
  | 'id-reused'
  /** The city answered with a rejection (reject code in `code`). */
  | 'rejected'
  /** The city did not answer within XROAD_ANSWER_WAIT_S: call again with the same id. */
  | 'answer-timeout'
  /** The gateway could not store or process the request: nothing was accepted. */
  | 'unavailable';

export class XRoadRefusal extends Error {
  override name = 'XRoadRefusal';
  constructor(
    readonly kind: XRoadRefusalKind,
    message: string,
    /**
     * A refinement the fault code carries: for `rejected` the city's reject code (ACCESS_DENIED,
     * NO_DATA, …); for `bad-header` / `bad-content` what is wrong (MissingHeaderField,
     * DuplicateHeaderField, InvalidClientIdentifier, InvalidXml, MissingBody, …).
     */
    readonly code: string | null = null,
  ) {
    super(message);
  }
}
