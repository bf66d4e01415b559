/**
 * An S3 client for an exchange's S3-compatible file store (downloads and uploads): path-style
 * addressing, one attempt per call (the callers retry), plain bodies — no aws-chunked uploads
 * and no checksum trailers, which S3-compatible stores implement unevenly (the file's own
 * signed Hash is checked anyway) — and the time limit on connecting and on an idle socket.
 * The SDK loads on first use (~130 ms).
 */
import { Agent as HttpsAgent } from 'node:https';
import type { S3Client } from '@aws-sdk/client-s3';
import type { FileStoreCredentials } from '../flows/exchange-files.js';
import type { ExchangeFileStore } from '../registry/partners.js';

export async function openS3Client(store: ExchangeFileStore, credentials: FileStoreCredentials, options: { timeoutMs: number; ca?: string | Buffer }): Promise<{ client: S3Client; bucket: string; sdk: typeof import('@aws-sdk/client-s3') }> {
  const s3 = store.s3;
  if (!s3) throw new Error('the exchange has no S3 file store');
  const sdk = await import('@aws-sdk/client-s3');
  const client = new sdk.S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: credentials.userName, secretAccessKey: credentials.password },
    maxAttempts: 1,
    // The SDK's own console warnings (a failed streamed upload) say nothing the thrown error does not: the caller reports that.
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {} },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: {
      connectionTimeout: options.timeoutMs,
      requestTimeout: options.timeoutMs,
      ...(s3.endpoint.startsWith('https:') ? { httpsAgent: new HttpsAgent({ rejectUnauthorized: !store.insecureTls, ...(options.ca ? { ca: options.ca } : {}) }) } : {}),
    },
  });
  return { client, bucket: s3.bucket, sdk };
}
