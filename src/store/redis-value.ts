/**
 * How values sit in Redis strings (issue 26 point 1): the fewest bytes that
 * give back exactly what was written.
 *
 * - JSON values (documents, idempotency records): the JSON text as is when it
 *   is short; from COMPRESS_FROM (2 KB) on, DEFLATE_MARK followed by the raw
 *   DEFLATE of the text (level 1: ~30–60 µs for 10 KB here, 2–4× smaller) when
 *   that is smaller. JSON text never starts with the mark (0x1F is a control
 *   character, not allowed before a JSON value), so a value written by an
 *   older build, plain JSON, reads back unchanged.
 * - Blobs (raw bytes, e.g. evidence envelopes): one header byte, BLOB_RAW or
 *   BLOB_DEFLATE, then the bytes or their raw DEFLATE. Bytes are bytes: no
 *   JSON escaping, no base64.
 *
 * Values from OFF_THREAD_FROM on are (de)compressed on libuv's thread pool
 * (zlib's async API), so a 1 MB envelope does not hold up the event loop
 * that every message shares; smaller ones synchronously. Measured here on
 * 8 KB: synchronous DEFLATE costs ~30 µs of CPU per call, the async API
 * ~90–170 µs (a stream object per call and the hop to the pool) — tried for
 * every value, it made a 2 KB request cost 1.5× the CPU. Only the Redis store
 * uses this: the in-memory store keeps values as they are.
 */
import { promisify } from 'node:util';
import { deflateRaw, deflateRawSync, inflateRaw, inflateRawSync, constants } from 'node:zlib';

/**
 * Values shorter than this are stored as they are: each zlib call costs ~20 µs here before it
 * compresses a byte (its state is set up per call), which a journal record or an inbox item of
 * 1–1.5 KB would pay to save ~0.6 KB.
 */
export const COMPRESS_FROM = 2048;
/** From this many bytes on (the input's), (de)compression runs on the thread pool instead of the event loop. */
export const OFF_THREAD_FROM = 64 * 1024;

export const DEFLATE_MARK = 0x1f;
export const BLOB_RAW = 0x00;
export const BLOB_DEFLATE = 0x01;

const OPTIONS = { level: constants.Z_BEST_SPEED };
const deflateAsync = promisify(deflateRaw);
const inflateAsync = promisify(inflateRaw);

async function deflate(bytes: Buffer): Promise<Buffer> {
  return bytes.length >= OFF_THREAD_FROM ? deflateAsync(bytes, OPTIONS) : deflateRawSync(bytes, OPTIONS);
}

async function inflate(bytes: Buffer): Promise<Buffer> {
  // A compressed value of 16 KB inflates to ~64 KB or more.
  return bytes.length >= OFF_THREAD_FROM / 4 ? inflateAsync(bytes) : inflateRawSync(bytes);
}

/** A JSON text as it is stored: itself (short, or incompressible) or the mark and its DEFLATE. */
export async function encodeJsonValue(json: string): Promise<string | Buffer> {
  if (json.length < COMPRESS_FROM) return json;
  const text = Buffer.from(json, 'utf8');
  const packed = await deflate(text);
  if (packed.length + 1 >= text.length) return json;
  return Buffer.concat([Buffer.of(DEFLATE_MARK), packed]);
}

/** The JSON text back from what a Redis GET (as a Buffer) returned. */
export async function decodeJsonValue(stored: Buffer): Promise<string> {
  if (stored.length > 0 && stored[0] === DEFLATE_MARK) return (await inflate(stored.subarray(1))).toString('utf8');
  return stored.toString('utf8');
}

/** A blob as it is stored: the header byte, then the bytes or their DEFLATE (whichever is smaller). */
export async function encodeBlob(bytes: Buffer): Promise<Buffer> {
  if (bytes.length >= COMPRESS_FROM) {
    const packed = await deflate(bytes);
    if (packed.length < bytes.length) return Buffer.concat([Buffer.of(BLOB_DEFLATE), packed]);
  }
  return Buffer.concat([Buffer.of(BLOB_RAW), bytes]);
}

/** Thrown for a stored blob whose header or DEFLATE stream is not one this module wrote. */
export class CorruptBlobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CorruptBlobError';
  }
}

/** The bytes back from a stored blob; CorruptBlobError when it is not one (changed in Redis by hand). */
export async function decodeBlob(stored: Buffer): Promise<Buffer> {
  const kind = stored[0];
  if (kind === BLOB_RAW) return stored.subarray(1);
  if (kind === BLOB_DEFLATE) {
    try {
      return await inflate(stored.subarray(1));
    } catch (error) {
      throw new CorruptBlobError(`stored blob does not inflate: ${(error as Error).message}`);
    }
  }
  throw new CorruptBlobError(kind === undefined ? 'stored blob is empty' : `stored blob has an unknown header byte 0x${kind.toString(16).padStart(2, '0')}`);
}
