/**
 * Memory while the city's files go out (`npm run bench:outbound-files`, or
 * `node --import tsx bench/outbound-file-rss.ts [MB]`, default 100).
 *
 * The real gateway process (node dist/main.js, Redis) and the portal simulator (in this process).
 * The city uploads an N MB file (POST /api/v1/files, a chunked stream read from disk), then a
 * 5 MiB permit goes with a final status: signed (its digest streamed), sent as an MTOM part
 * streamed from ATTACHMENT_DIR, checked by the portal. The gateway's RSS (/proc/PID/status VmRSS)
 * is sampled every 20 ms: baseline, peak during the upload, peak while the status is signed and sent.
 */
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { loadCatalogue } from '../src/catalogue/load.js';
import { parseCertificate } from '../src/pki/certificate.js';
import { TrustAnchorSet } from '../src/pki/trust.js';
import { PortalSimulator } from '../src/simulators/portal.js';
import { projectRoot } from '../test/helpers/gateway.js';
import { startGatewayProcess } from '../test/helpers/process.js';
import { startRedisServer } from '../test/helpers/redis-server.js';
import { CITY, postSoap, sampleSigner, signedSendRequest } from '../test/helpers/smev.js';

const mb = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 100);
const MiB = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

function sampler(pid: number): { peak(): number; stop(): void } {
  let peak = rssOf(pid);
  const t = setInterval(() => {
    try {
      peak = Math.max(peak, rssOf(pid));
    } catch {
      // gone
    }
  }, 20);
  return { peak: () => peak, stop: () => clearInterval(t) };
}

const dir = mkdtempSync(path.join(tmpdir(), 'okno-bench-outbound-'));
const big = path.join(dir, 'big.bin');
writeFileSync(big, '');
for (let i = 0; i < mb; i++) appendFileSync(big, randomBytes(1024 * 1024));
const permit = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(5 * 1024 * 1024 - 9)]);

const catalogue = loadCatalogue(path.join(projectRoot, 'config/services'));
const redis = await startRedisServer({ appendonly: false });
const portal = await PortalSimulator.start({
  trust: new TrustAnchorSet([readFileSync(path.join(projectRoot, 'certs-sample/ca.crt.pem'), 'utf8')]),
  expectedSigner: parseCertificate(readFileSync(path.join(projectRoot, 'certs-sample/gateway.crt.pem'), 'utf8')).fingerprintSha256,
  signer: sampleSigner('portal'),
  catalogue,
});
const gateway = await startGatewayProcess({ REDIS_URL: redis.url, PORT: '0', LOG_LEVEL: 'info', PORTAL_URL: `${portal.url}/ws/smev3`, ATTACHMENT_DIR: path.join(dir, 'attachments'), DELIVERY_BACKOFF_MS: '50', FILE_MAX_BYTES: String((mb + 1) * 1024 * 1024) });
const pid = gateway.child.pid!;

async function upload(body: Buffer | Readable, name: string, type: string): Promise<{ id: string; size: number }> {
  const init = Buffer.isBuffer(body)
    ? { body: new Uint8Array(body) }
    : { body: Readable.toWeb(body) as ReadableStream<Uint8Array>, duplex: 'half' as const };
  const res = await fetch(`${gateway.url}/api/v1/files?name=${encodeURIComponent(name)}`, { method: 'POST', headers: { ...CITY, 'content-type': type }, ...init });
  if (res.status !== 201) throw new Error(`upload: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string; size: number };
}

async function status(applicationId: string, body: object): Promise<string> {
  const res = await fetch(`${gateway.url}/api/v1/applications/${applicationId}/status`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status !== 202) throw new Error(`status: HTTP ${res.status} ${await res.text()}`);
  return ((await res.json()) as { deliveryId: string }).deliveryId;
}

async function delivered(id: string): Promise<void> {
  for (;;) {
    const d = (await (await fetch(`${gateway.url}/api/v1/deliveries/${id}`, { headers: CITY })).json()) as { state: string; lastError: string | null };
    if (d.state === 'delivered') return;
    if (d.state === 'failed') throw new Error(`delivery failed: ${d.lastError}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// Warm-up: a 1 MiB upload (code compiled, pools made), then the baseline.
await upload(randomBytes(1024 * 1024), 'warm-up.bin', 'application/octet-stream');
await new Promise((r) => setTimeout(r, 500));
const baseline = rssOf(pid);

const up = sampler(pid);
const t0 = Date.now();
const stored = await upload(createReadStream(big, { highWaterMark: 64 * 1024 }), 'big.bin', 'application/octet-stream');
const upMs = Date.now() - t0;
up.stop();
if (stored.size !== mb * 1024 * 1024) throw new Error(`stored ${stored.size} bytes`);

const example = { ...(JSON.parse(readFileSync(path.join(projectRoot, 'config/services/advertising-permit/example.request.person.json'), 'utf8')) as object), orderId: 7300000001 };
const { xml, messageId } = await signedSendRequest({ catalogue, service: 'advertising-permit', content: example });
await postSoap(gateway.url, xml);
const inbox = (await (await fetch(`${gateway.url}/api/v1/inbox?limit=100`, { headers: CITY })).json()) as { items: Array<{ messageId: string; applicationId: string }> };
const applicationId = inbox.items.find((i) => i.messageId === messageId)!.applicationId;
for (const code of ['registered', 'in_progress']) await delivered(await status(applicationId, { code }));
const pdf = await upload(permit, 'permit.pdf', 'application/pdf');
await new Promise((r) => setTimeout(r, 500));
const beforeSend = rssOf(pid);
const send = sampler(pid);
const t1 = Date.now();
await delivered(await status(applicationId, { code: 'completed', files: [{ id: pdf.id }] }));
const sendMs = Date.now() - t1;
send.stop();
const received = portal.statuses().at(-1)!.files[0]!;
if (!received.verdict?.valid || received.size !== permit.length) throw new Error('the portal did not get the permit with a valid signature');

console.log(`upload ${mb} MiB (chunked, POST /api/v1/files): ${(upMs / 1000).toFixed(1)} s; gateway RSS baseline ${MiB(baseline)}, peak ${MiB(up.peak())} (+${MiB(up.peak() - baseline)})`);
console.log(`final status with a 5 MiB permit (sign: digest streamed; send: MTOM part streamed): ${(sendMs / 1000).toFixed(1)} s; RSS before ${MiB(beforeSend)}, peak ${MiB(send.peak())} (+${MiB(send.peak() - beforeSend)})`);

gateway.child.kill('SIGKILL');
await gateway.exited;
await portal.close();
await redis.dispose();
rmSync(dir, { recursive: true, force: true });
