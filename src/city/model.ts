/**
 * The city's JSON model: what the document-management system reads from the
 * inbox and the application records. Field names are Okno's (documented in
 * the README and the OpenAPI); the content inside is the service's own JSON
 * model from the catalogue.
 */
import type { AttachmentSignatureSummary } from '../pki/cms/attachment.js';
import { defineCollection } from '../store/collection.js';
import type { JsonValue } from '../store/types.js';

export type InboxKind = 'application' | 'query' | 'response';

export interface SignatureSummary {
  valid: boolean;
  /** The signature algorithm's name; `x-road-security-server` for X-Road messages (the Security Servers signed and checked them, not the gateway). */
  algorithm: string;
  /** The signer's certificate; null for X-Road messages (the gateway sees no member signature). */
  certificate: { subject: string; issuer: string; serial: string; fingerprintSha256: string; notAfter: string } | null;
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
  /**
   * The attachment's own detached CMS (PKCS#7) signature (AttachmentHeader/SignaturePKCS7):
   * 'valid' when it verified (a file whose signature does not verify refuses the message),
   * 'absent' when the file has none (allowed unless the service says attachments.signature: required).
   */
  pkcs7Signature: 'absent' | 'valid' | 'present-unverified';
  /** The verdict on that signature: signer, algorithm, signingTime, trust. Absent when there is no signature. */
  signature?: AttachmentSignatureSummary;
  /** How the content travelled: inline base64 (default) or as an MTOM part (pull mode). */
  transfer?: 'inline' | 'mtom';
}

/**
 * A file the SMEV exchange keeps in its own file store (pull mode:
 * RefAttachmentHeaderList signed by the sender, FSAttachmentsList added by the
 * exchange). Downloaded after the message was accepted (flows/exchange-files.ts); the file-store credentials are never kept here.
 */
export interface ExchangeFileRef {
  uuid: string;
  fileName: string | null;
  mimeType: string | null;
  /** The sender's hash of the file (RefAttachmentHeader/Hash), as given. */
  hash: string | null;
  /**
   * The file's SignaturePKCS7: 'present-unverified' until the downloaded file was checked against
   * it, then 'valid', or 'invalid' (the file failed: the service's policy refuses it); 'absent'
   * when the header has none.
   */
  pkcs7Signature: 'absent' | 'present-unverified' | 'valid' | 'invalid';
  /** The verdict on that signature once verified (the same JSON as AttachmentMeta.signature). */
  signature?: AttachmentSignatureSummary;
  /** Filled in when read (src/flows/exchange-files.ts withFileStates): pending, stored or failed. */
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
  /** Set when the message came through a Security Server (X-Road / Trembita): who called, which service, the message id. */
  xroad?: { dialect: 'xroad' | 'trembita'; protocol: 'soap' | 'rest'; client: string; service: string; id: string; userId: string | null };
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

/** An application found by its registration number in one lookup (ops). */
export interface RegistrationIndex {
  applicationId: string;
  inboxItemId: string;
}

/**
 * An attachment's content, by `sha256-<hex>` of its bytes (stored once however often it arrives):
 * inline and MTOM files as base64 in the document; files from the exchange's file store in
 * ATTACHMENT_DIR (`blob`, src/attachments/blob-store.ts), the document saying only their type and size.
 */
export type StoredAttachment = { mimeType: string; base64: string; blob?: undefined } | { mimeType: string; blob: true; size: number; base64?: undefined };

// Where these documents are stored: one collection each.
/** By application id. */
export const APPLICATIONS = defineCollection<Application>('applications');
/**
 * An inbox item as the store keeps it. An application's item keeps no copy of
 * what its application holds: `contentIn: 'application'`, and no `content` or
 * `attachments` (src/city/inbox-items.ts puts them back on read, so the city
 * sees the same InboxItem). Items of queries and answers, and items written
 * before issue 26, keep their content themselves.
 */
export type StoredInboxItem = Omit<InboxItem, 'content' | 'attachments'> & ({ contentIn: 'application'; content?: undefined; attachments?: undefined } | { contentIn?: undefined; content: JsonValue; attachments: AttachmentMeta[] });

/** By inbox item id; `inbox` is also the feed the city pages through. */
export const INBOX = defineCollection<StoredInboxItem>('inbox');
/** By the registration number. */
export const REGISTRATION_NUMBERS = defineCollection<RegistrationIndex>('registration-numbers');
/** By AttachmentMeta.id. */
export const ATTACHMENTS = defineCollection<StoredAttachment>('attachments');
/** By the MessageID the partner acknowledges. */
export const OUTBOUND = defineCollection<OutboundMessage>('outbound');
