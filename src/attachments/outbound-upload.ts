/**
 * A file the city uploads (POST /api/v1/files), streamed into the blob store: written to a
 * partial file as it arrives, hashed (SHA-256) on the way, cut off at FILE_MAX_BYTES, then made
 * the blob of its digest. Never held whole; a refused or broken upload leaves no partial file.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { BlobStore } from './blob-store.js';

export class UploadTooLarge extends Error {
  override readonly name = 'UploadTooLarge';
  constructor(readonly limit: number) {
    super(`the file is larger than FILE_MAX_BYTES (${limit} bytes)`);
  }
}

export interface StoredUpload {
  blobId: string;
  size: number;
  /** Hex SHA-256 of the bytes. */
  sha256: string;
}

/**
 * Streams `body` into the blob store. Past `maxBytes` it stops writing, removes the partial file
 * and throws UploadTooLarge — after reading the rest of the body away (discarded, never kept),
 * so the client, still sending, gets the answer instead of a reset connection.
 */
export async function storeUpload(blobs: BlobStore, body: Readable, maxBytes: number): Promise<StoredUpload> {
  const partial = await blobs.partialPath(`upload-${randomUUID()}`);
  const out = createWriteStream(partial, { flags: 'wx' });
  const sha = createHash('sha256');
  let size = 0;
  let tooLarge = false;
  try {
    await new Promise<void>((resolve, reject) => {
      const fail = (error: Error) => {
        body.off('data', onData);
        reject(error);
      };
      const onData = (chunk: Buffer) => {
        if (tooLarge) return; // read away, not kept
        size += chunk.length;
        if (size > maxBytes) {
          tooLarge = true;
          return;
        }
        sha.update(chunk);
        // Backpressure: the disk sets the pace, not the network.
        if (!out.write(chunk)) {
          body.pause();
          out.once('drain', () => body.resume());
        }
      };
      let ended = false;
      body.on('data', onData);
      body.once('end', () => {
        ended = true;
        resolve();
      });
      body.once('error', fail);
      body.once('close', () => {
        if (!ended) fail(new Error('the client closed the connection before the end of the file'));
      });
      out.once('error', (error) => {
        if (!tooLarge) fail(error);
      });
    });
    if (tooLarge) throw new UploadTooLarge(maxBytes);
    out.end();
    await finished(out);
    const sha256 = sha.digest('hex');
    return { blobId: await blobs.finish(partial, sha256), size, sha256 };
  } catch (error) {
    // Closed first: a write stream destroyed before its file was opened would create it after the removal.
    if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()).destroy());
    await blobs.discardPartial(partial);
    throw error;
  }
}
