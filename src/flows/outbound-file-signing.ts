/**
 * The city's files made ready to send (issue 21, point 3): each referenced file is found, checked
 * against what the message may carry (the inline limit, the service's MIME types), and signed
 * once with the gateway's own Signer — a detached CMS SignedData (pki/cms/sign.ts), GOST for a
 * GOST key, through a token when the key is on one. The file is read as a stream once, through
 * the signature scheme's digest (Streebog or SHA-2) and SHA-256 together: the bytes must still be
 * the ones uploaded, and a 100 MB file is never held whole.
 *
 * The signature is kept in the file's document (OUTBOUND_FILES) and copied into the message's
 * record (SentFile), so every retry of a delivery sends identical bytes.
 */
import { createHash } from 'node:crypto';
import { cmsContentDigest, signDetachedCmsDigest } from '../pki/cms/index.js';
import type { Signer } from '../pki/signer.js';
import { write } from '../store/collection.js';
import type { DocWrite } from '../store/types.js';
import type { FlowContext } from './context.js';
import { unprocessable } from './errors.js';
import { DEFAULT_DOC_TYPE, fileTransport, OUTBOUND_FILES, type BlobSource, type FileReference, type OutboundFile, type OutboundFileSignature, type SentFile } from './outbound-files.js';

/** Signs one stored file: its bytes streamed once from the blob store. Throws when they are not the bytes uploaded. */
export async function signOutboundFile(blobs: BlobSource, signer: Signer, file: OutboundFile, now: Date): Promise<OutboundFileSignature> {
  const digest = cmsContentDigest(signer);
  const sha = createHash('sha256');
  let size = 0;
  for await (const chunk of blobs.read(file.blobId) as AsyncIterable<Buffer>) {
    digest.update(chunk);
    sha.update(chunk);
    size += chunk.length;
  }
  const sha256 = sha.digest('hex');
  if (size !== file.size || sha256 !== file.sha256) {
    throw new Error(`file ${file.id}: the stored bytes (${size} bytes, SHA-256 ${sha256}) are not the ones uploaded (${file.size} bytes, SHA-256 ${file.sha256})`);
  }
  const der = await signDetachedCmsDigest(digest.digest(), signer, { signingTime: now });
  return { pkcs7: der.toString('base64'), algorithm: signer.signatureAlgorithm.name, signer: signer.certificate.fingerprintSha256, signedAt: now.toISOString() };
}

export interface PreparedFiles {
  files: SentFile[];
  /** The files' documents with their new signatures, to write in the message's own commit. */
  docs: DocWrite[];
}

/**
 * The files a message references, found, checked and signed. `field` names the request's list
 * (e.g. "files") for the messages; `mode` is the partner's transport: a file above
 * ATTACHMENT_INLINE_MAX_BYTES can travel to a pull-mode partner only (through the file store).
 * Refusals are 422 (unprocessable) naming the field and the file.
 */
export async function prepareFiles(
  ctx: Pick<FlowContext, 'store' | 'blobs' | 'signer' | 'config' | 'now'>,
  refs: readonly FileReference[],
  o: { field: string; mode: 'push' | 'pull'; mimeTypes: readonly string[] | null; docTypes: boolean },
): Promise<PreparedFiles> {
  if (refs.length === 0) return { files: [], docs: [] };
  const seen = new Set<string>();
  const found: Array<{ ref: FileReference; file: OutboundFile; where: string }> = [];
  for (const [i, ref] of refs.entries()) {
    const where = `${o.field}/${i}/id`;
    if (seen.has(ref.id)) throw unprocessable('DUPLICATE_FILE', `${where}: file ${ref.id} is named twice`);
    seen.add(ref.id);
    const file = await ctx.store.getDoc(OUTBOUND_FILES, ref.id);
    if (!file) throw unprocessable('UNKNOWN_FILE', `${where}: no file ${ref.id} (upload it first: POST /api/v1/files)`);
    const inlineMax = ctx.config.outboundFiles.inlineMaxBytes;
    if (fileTransport(file.size, inlineMax, o.mode) === null) {
      throw unprocessable('FILE_TOO_LARGE', `${where}: file ${ref.id} (${file.fileName}) has ${file.size} bytes, more than ATTACHMENT_INLINE_MAX_BYTES (${inlineMax}); the partner is reached in push mode, where files travel inside the message (larger ones need the exchange's file store, pull mode)`);
    }
    if (o.mimeTypes && !o.mimeTypes.includes(file.mimeType)) {
      throw unprocessable('MIME_TYPE_NOT_ALLOWED', `${where}: file ${ref.id} is ${file.mimeType}; the service takes ${o.mimeTypes.join(', ')}`);
    }
    found.push({ ref, file, where });
  }
  const blobs = ctx.blobs;
  if (!blobs) throw new Error('no blob store (ATTACHMENT_DIR) in the flow context: files cannot be sent');
  const files: SentFile[] = [];
  const docs: DocWrite[] = [];
  for (const { ref, file } of found) {
    let signature = file.signature;
    // Signed once per file: a second status naming it sends the same signature (a new key since? the old one still verifies).
    if (!signature) {
      signature = await signOutboundFile(blobs, ctx.signer, file, ctx.now());
      docs.push(write(OUTBOUND_FILES, file.id, { ...file, signature }));
    }
    files.push({
      id: file.id,
      fileName: file.fileName,
      mimeType: file.mimeType,
      size: file.size,
      sha256: file.sha256,
      blobId: file.blobId,
      docTypeId: o.docTypes ? (ref.docTypeId ?? DEFAULT_DOC_TYPE) : null,
      transport: fileTransport(file.size, ctx.config.outboundFiles.inlineMaxBytes, o.mode)!,
      signaturePkcs7: signature.pkcs7,
    });
  }
  return { files, docs };
}
