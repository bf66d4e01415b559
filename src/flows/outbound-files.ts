/**
 * Files the city sends (issue 21, point 3): uploaded once through POST /api/v1/files into the
 * blob store (ATTACHMENT_DIR, content-addressed), then referenced by id from a status, a query
 * or an answer. The document below is what the store keeps about one; the bytes stay in the
 * blob store and are streamed, never held whole.
 *
 * The detached CMS signature is made once, with the gateway's Signer, the first time the file
 * is referenced, and kept here: every retry of a delivery sends the same signed file.
 */
import type { Readable } from 'node:stream';
import type { Exchange } from '../registry/partners.js';
import { defineCollection } from '../store/collection.js';

export interface OutboundFileSignature {
  /** DER of the detached CMS SignedData, base64 (what SignaturePKCS7 carries). */
  pkcs7: string;
  /** The signature algorithm's name (GOST R 34.10-2012 256, RSA-SHA256, …). */
  algorithm: string;
  /** The signing certificate's SHA-256 fingerprint. */
  signer: string;
  signedAt: string;
}

export interface OutboundFile {
  /** A UUID: the id the city references, and the file's contentId / file-store uuid on the wire. */
  id: string;
  /** The name the city gave (UTF-8, as is; the file store gets a transliterated one). */
  fileName: string;
  mimeType: string;
  size: number;
  /** Hex SHA-256 of the bytes. */
  sha256: string;
  /** The blob in ATTACHMENT_DIR (`sha256-<hex>`). */
  blobId: string;
  /** The service whose MIME types it was checked against, when one was named. */
  service: string | null;
  uploadedAt: string;
  signature: OutboundFileSignature | null;
}

/**
 * A new file id: a random (v4) UUID whose first character is a letter. The id is the MTOM
 * contentId, and AttachmentContent/Id is an xs:ID in the SMEV schema — an NCName, which cannot
 * start with a digit; a letter first keeps it a lower-case UUID (ELK FSuuid, RefAttachmentHeader
 * uuid) and a valid xs:ID.
 */
export function newFileId(random: () => string): string {
  for (;;) {
    const id = random();
    if (/^[a-f]/.test(id)) return id;
  }
}

/** By file id. */
export const OUTBOUND_FILES = defineCollection<OutboundFile>('outbound-files');

/** How a status, a query or an answer names a file: its id, and for a status its ELK document type. */
export interface FileReference {
  id: string;
  /** ELK document type of a status's file (default ELK_RESULT: the result of the service). */
  docTypeId?: string;
}

/**
 * Where the bytes of a stored file are read from: attachments/blob-store.ts's BlobStore
 * (ATTACHMENT_DIR) in the gateway. An interface here, so the flows and the deliveries, which
 * stand below attachments/, stream files without importing it (docs/architecture.md).
 */
export interface BlobSource {
  read(blobId: string): Readable;
  size(blobId: string): Promise<number | null>;
}

/** The ELK document type of a result document, when a status names none. */
export const DEFAULT_DOC_TYPE = 'ELK_RESULT';

/**
 * How one file travels to a partner: 'mtom', a MIME part of the message itself (up to
 * ATTACHMENT_INLINE_MAX_BYTES), or 'file-store', uploaded to the exchange's file store and
 * named by a RefAttachmentHeader (larger files; pull mode only: the exchange has the store).
 * null: it cannot travel at all (larger than the inline limit to a push-mode partner).
 */
export type FileTransport = 'mtom' | 'file-store';

export function fileTransport(size: number, inlineMaxBytes: number, mode: 'push' | 'pull'): FileTransport | null {
  if (size <= inlineMaxBytes) return 'mtom';
  return mode === 'pull' ? 'file-store' : null;
}

/**
 * A file as one message carries it, fixed when the message is made (in the delivery record),
 * so that every retry sends the same bytes with the same signature.
 */
export interface SentFile {
  id: string;
  fileName: string;
  mimeType: string;
  size: number;
  sha256: string;
  blobId: string;
  /** A status's ELK document type (ELK_RESULT by default); null for a query's or an answer's file. */
  docTypeId: string | null;
  transport: FileTransport;
  /** The detached CMS signature (base64 DER), as AttachmentHeader/SignaturePKCS7 carries it. */
  signaturePkcs7: string;
}

/** How a file went: an MTOM part of the message, or the exchange's file store (S3 or FTP/FTPS). */
export type FileVia = 'mtom' | 's3' | 'ftp' | 'ftps';

/** What a journal record says of each file an attempt carried (the record is sealed: the digests are evidence). */
export interface JournalFile {
  id: string;
  fileName: string;
  size: number;
  sha256: string;
  via?: FileVia;
}

export const journalFile = (f: SentFile, via?: FileVia): JournalFile => ({ id: f.id, fileName: f.fileName, size: f.size, sha256: f.sha256, ...(via ? { via } : {}) });

/**
 * One file of a message uploaded to the exchange's file store: what its RefAttachmentHeader
 * carries (the uuid is the file id) and where it went. Recorded per message (FILE_STORE_UPLOADS,
 * by MessageID) as soon as the upload succeeds, so a retry of the same message does not upload
 * it again.
 */
export interface FileStoreUpload {
  id: string;
  /** RefAttachmentHeader/Hash (base64): GOST R 34.11-2012 256 for a GOST signer, SHA-256 otherwise. */
  hash: string;
  /** The name in the store (transliterated, at most 108 characters). */
  fileName: string;
  via: Exclude<FileVia, 'mtom'>;
  uploadedAt: string;
}

/** The uploads of one outbound message, by its MessageID. */
export const FILE_STORE_UPLOADS = defineCollection<{ messageId: string; files: Record<string, FileStoreUpload> }>('outbound-file-uploads');

/**
 * Uploads files to an exchange's file store (attachments/send-via-file-store.ts in the gateway,
 * injected through FlowContext: the deliveries stand below attachments/). Throws when an upload
 * fails; the caller retries the message.
 */
export type FileStoreUploader = (exchange: Exchange, files: readonly SentFile[]) => Promise<FileStoreUpload[]>;
