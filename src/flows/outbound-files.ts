/**
 * Files the city sends (issue 21, point 3): uploaded once through POST /api/v1/files into the
 * blob store (ATTACHMENT_DIR, content-addressed), then referenced by id from a status, a query
 * or an answer. The document below is what the store keeps about one; the bytes stay in the
 * blob store and are streamed, never held whole.
 *
 * The detached CMS signature is made once, with the gateway's Signer, the first time the file
 * is referenced, and kept here: every retry of a delivery sends the same signed file.
 */
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

/** By file id. */
export const OUTBOUND_FILES = defineCollection<OutboundFile>('outbound-files');

/** How a status, a query or an answer names a file: its id, and for a status its ELK document type. */
export interface FileReference {
  id: string;
  /** ELK document type of a status's file (default ELK_RESULT: the result of the service). */
  docTypeId?: string;
}
