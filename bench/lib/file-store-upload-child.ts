/**
 * The uploading side of bench/file-store-upload-rss.ts, in its own process so that its RSS is
 * the upload's alone: argv = store JSON, file, uuid, name, hash algorithm; the password in
 * BENCH_UPLOAD_PASSWORD. A 1 MiB warm-up upload first, then "warm" on stdout, then (on "go"
 * from stdin) the hash and the upload of the file, then one JSON line with the timings.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { refAttachmentHash, type FileHashAlgorithm } from '../../src/attachments/file-store-hash.js';
import { uploadExchangeFile } from '../../src/attachments/file-store-upload.js';
import type { ExchangeFileStore } from '../../src/registry/partners.js';

const [storeJson, file, uuid, name, algorithm] = process.argv.slice(2) as [string, string, string, string, FileHashAlgorithm];
const store = JSON.parse(storeJson) as ExchangeFileStore;
const credentials = { userName: 'upload', password: process.env.BENCH_UPLOAD_PASSWORD ?? '' };
const options = { timeoutMs: 30_000 };

const warm = `${file}.warm`;
writeFileSync(warm, randomBytes(1024 * 1024));
await refAttachmentHash(warm, algorithm);
await uploadExchangeFile(store, { uuid: `${uuid}-w`, fileName: 'warm-up.bin', path: warm }, credentials, options);
process.stdout.write('warm\n');
const lines = createInterface({ input: process.stdin });
for await (const line of lines) if (line === 'go') break;
const t0 = Date.now();
const { hash, size } = await refAttachmentHash(file, algorithm);
const hashMs = Date.now() - t0;
const t1 = Date.now();
const result = await uploadExchangeFile(store, { uuid, fileName: name, path: file }, credentials, options);
process.stdout.write(`${JSON.stringify({ hash, size, hashMs, uploadMs: Date.now() - t1, via: result.via })}\n`);
process.exit(0);
