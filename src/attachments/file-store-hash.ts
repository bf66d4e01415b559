/**
 * The Hash of a RefAttachmentHeader for a file the gateway sends: GOST R 34.11-2012 256
 * (Streebog) when the gateway signs with a GOST key, SHA-256 otherwise — the rule the inbound
 * side checks by (flows/exchange-files.ts hashAlgorithmFor, attachments/exchange-file-worker.ts
 * hashMatches). Base64 of the digest bytes in the order the algorithm outputs them (= openssl,
 * = the messageDigest of the file's CMS signature, as in the official sample
 * SendRequestRequestAttachFTP.xml). The file is read once in 64 KB pieces.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { StreebogStream } from '../crypto/streebog-stream.js';
import { hashAlgorithmFor, type FileHashAlgorithm } from '../flows/exchange-files.js';
import type { Signer } from '../pki/signer.js';

export type { FileHashAlgorithm };

/** The algorithm of the Hash of files signed by `signer`'s key. */
export function refAttachmentHashAlgorithm(signer: Pick<Signer, 'signatureAlgorithm'>): FileHashAlgorithm {
  return hashAlgorithmFor(signer.signatureAlgorithm.uri);
}

/** Streams the file: its size, the RefAttachmentHeader Hash (base64) and its hex SHA-256. */
export async function refAttachmentHash(file: string, algorithm: FileHashAlgorithm): Promise<{ hash: string; size: number; sha256: string }> {
  const sha = createHash('sha256');
  const gost = algorithm === 'sha256' ? null : new StreebogStream(256);
  const buffer = Buffer.allocUnsafe(64 * 1024);
  let size = 0;
  const handle = await open(file, 'r');
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, size);
      if (bytesRead === 0) break;
      const chunk = buffer.subarray(0, bytesRead);
      size += bytesRead;
      sha.update(chunk);
      gost?.update(chunk);
    }
  } finally {
    await handle.close();
  }
  const shaBytes = sha.digest();
  return { hash: (gost ? Buffer.from(gost.digest()) : shaBytes).toString('base64'), size, sha256: shaBytes.toString('hex') };
}
