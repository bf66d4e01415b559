/**
 * The city's JSON model: what the document-management system reads from the
 * inbox and the application records. Field names are Okno's (documented in
 * the README and the OpenAPI); the content inside is the service's own JSON
 * model from the catalogue.
 */
import type { JsonValue } from '../store/types.js';

export type InboxKind = 'application' | 'query' | 'response';

export interface SignatureSummary {
  valid: boolean;
  algorithm: string;
  certificate: { subject: string; issuer: string; serial: string; fingerprintSha256: string; notAfter: string };
  partner: string;
  /** The applicant's own PersonalSignature, when the message carried one. */
  personal: null | { valid: boolean; algorithm: string | null; subject: string | null; reason: string | null; message: string };
}

export interface AttachmentMeta {
  /** Id of the stored content (GET /api/v1/attachments/{id}). */
  id: string;
  contentId: string;
  mimeType: string;
  size: number;
  sha256: string;
  /** The attachment's own PKCS#7 signature travels with it but is not verified yet. */
  pkcs7Signature: 'absent' | 'present-unverified';
  /** How the content travelled: inline base64 (default) or as an MTOM part (pull mode). */
  transfer?: 'inline' | 'mtom';
}

/**
 * A file the SMEV exchange keeps in its own file store (pull mode:
 * RefAttachmentHeaderList signed by the sender, FSAttachmentsList added by the
 * exchange). Recorded, not downloaded; the file-store credentials are never kept.
 */
export interface ExchangeFileRef {
  uuid: string;
  fileName: string | null;
  mimeType: string | null;
  /** The sender's hash of the file (RefAttachmentHeader/Hash), as given. */
  hash: string | null;
  pkcs7Signature: 'absent' | 'present-unverified';
  /** Filled in when read (src/attachments/exchange-files.ts withFileStates): pending, stored or failed. */
  state?: 'pending' | 'stored' | 'failed';
  attachmentId?: string | null;
  size?: number | null;
  sha256?: string | null;
  reason?: string | null;
  via?: 's3' | 'ftp' | 'ftps' | null;
}

export interface InboxItem {
  id: string;
  kind: InboxKind;
  service: string;
  serviceTitle: string;
  messageId: string;
  partner: string;
  receivedAt: string;
  content: JsonValue;
  attachments: AttachmentMeta[];
  /** Pull mode only: files left in the exchange's file store. */
  exchangeFiles?: ExchangeFileRef[];
  signature: SignatureSummary;
  test: boolean;
  applicationId: string | null;
  registrationNumber: string | null;
  /** For kind `query`: the request the city answers with POST /api/v1/requests/{id}/response. */
  requestId: string | null;
  ackedAt: string | null;
}

export interface StatusEntry {
  status: string;
  at: string;
  comment?: string;
  /** The delivery that reports this status to the portal (none for `received`, which the portal already knows). */
  delivery?: string;
}

export interface Application {
  id: string;
  registrationNumber: string;
  service: string;
  serviceTitle: string;
  messageId: string;
  partner: string;
  receivedAt: string;
  applicant: JsonValue;
  content: JsonValue;
  attachments: AttachmentMeta[];
  status: string;
  statusHistory: StatusEntry[];
  inboxItemId: string;
}

/** An agency's query to the city, waiting for the city's answer. */
export interface IncomingRequest {
  id: string;
  service: string;
  partner: string;
  messageId: string;
  receivedAt: string;
  state: 'received' | 'answering' | 'answered' | 'rejected';
  inboxItemId: string;
  /** Pull mode: the request came through this exchange; the answer goes there with To = replyTo. */
  exchange?: string;
  replyTo?: string;
}

export const asJson = <T>(value: T): JsonValue => value as unknown as JsonValue;

/** A query the city sent to an agency (written by the outbound query flow). */
export interface OutboundQuery {
  id: string;
  service: string;
  partner: string;
  messageId: string;
  /** Opaque token the agency returns in SenderProvidedResponseData/To. */
  replyTo: string;
  state: 'pending' | 'sent' | 'answered' | 'rejected' | 'failed';
  applicationId: string | null;
  answer: JsonValue | null;
  rejections: Array<{ code: string; description: string }>;
  statuses: Array<{ code: number; description: string; at: string }>;
  answeredAt: string | null;
  responseInboxItemId: string | null;
}

/** Something the gateway sent a partner, addressable by its MessageID (for Ack). */
export interface OutboundMessage {
  messageId: string;
  partner: string;
  kind: 'status' | 'query' | 'response';
  ref: string;
  ackedAt: string | null;
  accepted: boolean | null;
}
