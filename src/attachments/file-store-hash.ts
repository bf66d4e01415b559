/**
 * The Hash of a RefAttachmentHeader for a file the gateway sends: GOST R 34.11-2012 256
 * (Streebog) when the gateway signs with a GOST key, SHA-256 otherwise — the rule the inbound
 * side checks by (flows/exchange-files.ts hashAlgorithmFor, attachments/exchange-file-worker.ts
 * hashMatches). Base64 of the digest bytes in the order the algorithm outputs them (= openssl,
 * = the messageDigest of the file's CMS signature, as in the official sample
 * SendRequestRequestAttachFTP.xml). The file is read once in 64 KB pieces (exchange-file-worker.ts digestFile).
 */
import { hashAlgorithmFor, type FileHashAlgorithm } from '../flows/exchange-files.js';
import type { Signer } from '../pki/signer.js';
import { digestFile } from './exchange-file-worker.js';

export type { FileHashAlgorithm };

/** The algorithm of the Hash of files signed by `signer`'s key. */
export function refAttachmentHashAlgorithm(signer: Pick<Signer, 'signatureAlgorithm'>): FileHashAlgorithm {
  return hashAlgorithmFor(signer.signatureAlgorithm.uri);
}

/** Streams the file: its size, the RefAttachmentHeader Hash (base64) and its hex SHA-256 — the same single pass the download side checks with. */
export async function refAttachmentHash(file: string, algorithm: FileHashAlgorithm): Promise<{ hash: string; size: number; sha256: string }> {
  const { size, sha256, digest } = await digestFile(file, algorithm);
  return { hash: digest.toString('base64'), size, sha256 };
}
