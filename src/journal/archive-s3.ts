/**
 * Archive segments in an S3-compatible bucket (ARCHIVE_S3_URL = `http(s)://host[:port]/bucket[/prefix]`,
 * path-style, with ARCHIVE_S3_ACCESS_KEY_ID / ARCHIVE_S3_SECRET_ACCESS_KEY / ARCHIVE_S3_REGION).
 * A PUT makes an object visible whole or not at all, so `put` needs no rename; segments are still
 * built in a local scratch directory (ARCHIVE_DIR/.partial) first. The SDK loads on first use.
 */
import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { parseSegmentName } from './archive-segment.js';
import { prepareScratchDir, SegmentExistsError, type ArchiveStore } from './archive-store.js';

export interface S3ArchiveSettings {
  /** http(s)://host[:port]/bucket[/prefix] */
  url: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Local directory for building segments. */
  scratchDir: string;
  timeoutMs?: number;
}

/** The bucket and key prefix of an ARCHIVE_S3_URL; throws a one-line reason when it is not one. */
export function parseArchiveS3Url(url: string): { endpoint: string; bucket: string; prefix: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`not a URL: ${url}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`must be http(s)://host/bucket[/prefix], got ${u.protocol}`);
  if (u.username || u.password) throw new Error('must not carry credentials (use ARCHIVE_S3_ACCESS_KEY_ID / ARCHIVE_S3_SECRET_ACCESS_KEY)');
  const [bucket, ...rest] = u.pathname.split('/').filter((p) => p.length > 0);
  if (!bucket) throw new Error('names no bucket (http(s)://host/bucket[/prefix])');
  const prefix = rest.length > 0 ? `${rest.join('/')}/` : '';
  return { endpoint: `${u.protocol}//${u.host}`, bucket, prefix };
}

export class S3ArchiveStore implements ArchiveStore {
  private readonly endpoint: string;
  private readonly bucket: string;
  private readonly prefix: string;
  private client: Promise<{ s3: S3Client; sdk: typeof import('@aws-sdk/client-s3') }> | null = null;
  private scratch: Promise<string> | null = null;

  constructor(private readonly settings: S3ArchiveSettings) {
    const parsed = parseArchiveS3Url(settings.url);
    this.endpoint = parsed.endpoint;
    this.bucket = parsed.bucket;
    this.prefix = parsed.prefix;
  }

  get where(): string {
    return `${this.endpoint}/${this.bucket}/${this.prefix}`;
  }

  private s3() {
    this.client ??= (async () => {
      const sdk = await import('@aws-sdk/client-s3');
      const timeout = this.settings.timeoutMs ?? 30_000;
      const s3 = new sdk.S3Client({
        endpoint: this.endpoint,
        region: this.settings.region,
        forcePathStyle: true,
        credentials: { accessKeyId: this.settings.accessKeyId, secretAccessKey: this.settings.secretAccessKey },
        maxAttempts: 2,
        // Plain bodies: S3-compatible stores vary; every segment is read back and verified anyway.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        requestHandler: { connectionTimeout: timeout, requestTimeout: timeout },
      });
      return { s3, sdk };
    })();
    return this.client;
  }

  scratchDir(): Promise<string> {
    this.scratch ??= prepareScratchDir(this.settings.scratchDir);
    return this.scratch;
  }

  async put(name: string, localFile: string): Promise<void> {
    if (!parseSegmentName(name)) throw new RangeError(`not a segment name: ${name}`);
    const { s3, sdk } = await this.s3();
    const size = (await stat(localFile)).size;
    try {
      // If-None-Match: * — a conditional write (AWS S3, MinIO): never over a segment another instance put there.
      await s3.send(new sdk.PutObjectCommand({ Bucket: this.bucket, Key: this.prefix + name, Body: createReadStream(localFile), ContentLength: size, ContentType: 'application/zip', IfNoneMatch: '*' }));
    } catch (error) {
      if (statusOf(error) === 412) {
        await rm(localFile, { force: true });
        throw new SegmentExistsError(name);
      }
      throw s3Error('put', name, error);
    }
    await rm(localFile, { force: true });
  }

  async get(name: string): Promise<Buffer | null> {
    if (!parseSegmentName(name)) return null;
    return this.getKey(this.prefix + name);
  }

  private async getKey(key: string): Promise<Buffer | null> {
    const { s3, sdk } = await this.s3();
    try {
      const answer = await s3.send(new sdk.GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return Buffer.from(await answer.Body!.transformToByteArray());
    } catch (error) {
      if (statusOf(error) === 404 || (error as Error).name === 'NoSuchKey') return null;
      throw s3Error('get', key, error);
    }
  }

  async list(): Promise<string[]> {
    const { s3, sdk } = await this.s3();
    const names: string[] = [];
    let token: string | undefined;
    do {
      let page;
      try {
        page = await s3.send(new sdk.ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, ...(token ? { ContinuationToken: token } : {}) }));
      } catch (error) {
        throw s3Error('list', this.prefix || '/', error);
      }
      for (const o of page.Contents ?? []) {
        const name = o.Key?.slice(this.prefix.length) ?? '';
        if (parseSegmentName(name)) names.push(name);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return names.sort();
  }

  async remove(name: string): Promise<void> {
    if (!parseSegmentName(name)) return;
    const { s3, sdk } = await this.s3();
    try {
      await s3.send(new sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + name }));
    } catch (error) {
      throw s3Error('remove', name, error);
    }
  }

  async setAside(name: string): Promise<void> {
    if (!parseSegmentName(name)) return;
    const bytes = await this.get(name);
    if (!bytes) return;
    const { s3, sdk } = await this.s3();
    try {
      await s3.send(new sdk.PutObjectCommand({ Bucket: this.bucket, Key: `${this.prefix}.superseded/${name}.${Date.now()}`, Body: bytes, ContentLength: bytes.length }));
    } catch (error) {
      throw s3Error('set aside', name, error);
    }
    await this.remove(name);
  }

  close(): void {
    void this.client?.then(({ s3 }) => s3.destroy()).catch(() => undefined);
  }
}

const statusOf = (error: unknown) => (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

/** One line, no credentials (the SDK's messages name the bucket and key, never the secret). */
function s3Error(what: string, key: string, error: unknown): Error {
  const status = statusOf(error);
  return new Error(`archive S3 ${what} ${key}: ${(error as Error).name}${status ? ` (${status})` : ''}: ${(error as Error).message}`);
}
