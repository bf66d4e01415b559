/**
 * Memory while the gateway uploads a large file to the exchange's file store
 * (`npm run bench:file-store-upload`, or `node --import tsx bench/file-store-upload-rss.ts [MB] [--s3] [--gost]`,
 * default 100 MB over FTP with SHA-256).
 *
 * The exchange simulator's file store (ftp-srv, s3rver with --s3) runs here; the upload runs in
 * a child process (bench/lib/file-store-upload-child.ts: refAttachmentHash, then
 * uploadExchangeFile — what sendViaFileStore does per file) whose RSS (/proc/PID/status VmRSS) is
 * sampled every 50 ms: the baseline after a 1 MiB warm-up upload, the peak while the N MB file is
 * hashed and uploaded. The stored copy is compared with the original's SHA-256.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, createReadStream, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { uuidV1 } from '../src/soap/message-id.js';
import { SimulatedFileStore } from '../src/simulators/smev-file-store.js';

const mb = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 100);
const viaS3 = process.argv.includes('--s3');
const algorithm = process.argv.includes('--gost') ? 'gost3411-2012-256' : 'sha256';
const MiB = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

const files = await SimulatedFileStore.start({ s3: viaS3 });
const file = path.join(tmpdir(), `okno-bench-upload-${process.pid}.bin`);
writeFileSync(file, '');
const sha = createHash('sha256');
for (let i = 0; i < mb; i++) {
  const piece = randomBytes(1024 * 1024);
  appendFileSync(file, piece);
  sha.update(piece);
}
const original = sha.digest('hex');
const store = { ftp: files.ftpUrl, s3: viaS3 ? { endpoint: files.s3Endpoint!, region: 'us-east-1', bucket: 'attachment' } : null, insecureTls: false };
const uuid = uuidV1();
const name = 'Proekt_pereplanirovki.bin';

const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'lib/file-store-upload-child.ts'), JSON.stringify(store), file, uuid, name, algorithm], {
  env: { ...process.env, BENCH_UPLOAD_PASSWORD: files.uploadPassword },
  stdio: ['pipe', 'pipe', 'inherit'],
});
const pid = child.pid!;
const out = createInterface({ input: child.stdout! });
const lines = out[Symbol.asyncIterator]();
if ((await lines.next()).value !== 'warm') throw new Error('the child did not warm up');
await new Promise((r) => setTimeout(r, 1000));
const baseline = rssOf(pid);
let peak = baseline;
const sampler = setInterval(() => {
  try {
    peak = Math.max(peak, rssOf(pid));
  } catch {
    // gone
  }
}, 50);
child.stdin!.write('go\n');
const result = JSON.parse((await lines.next()).value as string) as { size: number; hashMs: number; uploadMs: number; via: string };
clearInterval(sampler);
await new Promise((r) => child.once('exit', r));

// The stored copy: FTP tree, or the S3 object (copied to the FTP tree by fileNameOf, as the exchange does on relay).
await files.fileNameOf(uuid);
const stored = createHash('sha256');
for await (const chunk of createReadStream(path.join(files.dir, 'ftp', uuid, name))) stored.update(chunk as Buffer);
const intact = stored.digest('hex') === original;

console.log(`file ${mb} MiB uploaded via ${result.via} (${algorithm} Hash); stored copy ${intact ? 'identical' : 'DIFFERENT'}`);
console.log(`uploader RSS baseline ${MiB(baseline)} (after a 1 MiB warm-up upload)`);
console.log(`  hash: ${(result.hashMs / 1000).toFixed(1)} s; upload: ${(result.uploadMs / 1000).toFixed(1)} s; peak RSS ${MiB(peak)} (+${MiB(peak - baseline)})`);

rmSync(file, { force: true });
rmSync(`${file}.warm`, { force: true });
await files.close();
if (!intact) process.exit(1);
