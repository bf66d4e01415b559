/**
 * The pull-mode senders' one call for files above ATTACHMENT_INLINE_MAX_BYTES: each file is
 * hashed (the RefAttachmentHeader Hash: GOST R 34.11-2012 256 for a GOST signer, SHA-256
 * otherwise), uploaded to the exchange's file store under its transliterated name with the
 * gateway's upload account (fileStore.upload in the partners file), and returned as the
 * RefAttachmentHeader the envelope builder renders (`refAttachments` of SendRequestInput /
 * SendResponseInput). Log lines carry uuid, name, size and route — never the password.
 */
import { readFileSync } from 'node:fs';
import type { FlowContext } from '../flows/context.js';
import type { OutboundFile } from '../flows/outbound-files.js';
import type { BlobStore } from './blob-store.js';
import type { Exchange } from '../registry/partners.js';
import type { RefAttachmentInput } from '../soap/envelope-builder.js';
import { refAttachmentHash, refAttachmentHashAlgorithm } from './file-store-hash.js';
import { fileStoreName } from './file-store-name.js';
import { uploadExchangeFile, type UploadResult } from './file-store-upload.js';

export interface FileToSend {
  /** The file-store uuid (OutboundFile.id). */
  uuid: string;
  /** The city's name (UTF-8): the store gets fileStoreName() of it. */
  fileName: string;
  mimeType: string;
  /** The bytes on disk. */
  path: string;
  /** DER of the detached CMS signature (OutboundFile.signature.pkcs7, decoded). */
  signaturePkcs7?: Buffer;
}

export interface SentRefAttachment extends RefAttachmentInput {
  /** The name in the store. */
  fileName: string;
  size: number;
  sha256: string;
  via: UploadResult['via'];
}

export class FileStoreNotConfigured extends Error {}

/** An OutboundFile (POST /api/v1/files) as the file store sends it: its id is the uuid, its blob the bytes, its CMS signature SignaturePKCS7. */
export function outboundFileToSend(file: Pick<OutboundFile, 'id' | 'fileName' | 'mimeType' | 'blobId' | 'signature'>, blobs: Pick<BlobStore, 'blobPath'>): FileToSend {
  return {
    uuid: file.id,
    fileName: file.fileName,
    mimeType: file.mimeType,
    path: blobs.blobPath(file.blobId),
    ...(file.signature ? { signaturePkcs7: Buffer.from(file.signature.pkcs7, 'base64') } : {}),
  };
}

const caCache = new Map<string, Buffer>();

export async function sendViaFileStore(ctx: Pick<FlowContext, 'config' | 'signer' | 'logger'>, exchange: Exchange, files: readonly FileToSend[]): Promise<SentRefAttachment[]> {
  const store = exchange.fileStore;
  if (!store) throw new FileStoreNotConfigured(`exchange ${exchange.id} has no fileStore in the partners file`);
  if (!store.upload) throw new FileStoreNotConfigured(`exchange ${exchange.id}: fileStore.upload (the gateway's upload account) is not set in the partners file`);
  const credentials = { userName: store.upload.user, password: store.upload.password() };
  const algorithm = refAttachmentHashAlgorithm(ctx.signer);
  const caFile = ctx.config.outboundTls?.caFile ?? null;
  let ca: Buffer | undefined;
  if (caFile) {
    ca = caCache.get(caFile) ?? readFileSync(caFile);
    caCache.set(caFile, ca);
  }
  const out: SentRefAttachment[] = [];
  for (const file of files) {
    const fileName = fileStoreName(file.fileName);
    const digest = await refAttachmentHash(file.path, algorithm);
    const result = await uploadExchangeFile(store, { uuid: file.uuid, fileName, path: file.path }, credentials, { timeoutMs: ctx.config.fileStore.timeoutMs, ...(ca ? { ca } : {}) });
    ctx.logger.info({ exchange: exchange.id, uuid: file.uuid, fileName, size: digest.size, via: result.via, attempts: result.attempts, resumedFrom: result.resumedFrom }, 'file uploaded to the exchange file store');
    out.push({
      uuid: file.uuid,
      hash: digest.hash,
      mimeType: file.mimeType,
      ...(file.signaturePkcs7 ? { signaturePkcs7: file.signaturePkcs7 } : {}),
      fileName,
      size: digest.size,
      sha256: digest.sha256,
      via: result.via,
    });
  }
  return out;
}
