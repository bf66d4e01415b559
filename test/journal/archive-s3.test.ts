/**
 * The journal archive in an S3-compatible bucket (issue 23 points 2 and 7), against s3rver (an
 * S3-speaking server from the npm registry, on loopback; no real S3 installs from Debian): a
 * gateway on a real redis-server archives its journal into the bucket; `okno journal verify`
 * walks bucket and Redis as one chain; while the bucket is unreachable the records stay hot,
 * okno_journal_archive_failing says so, and nothing is lost when it comes back.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ArchiveStore } from '../../src/journal/archive-s3.js';
import { verifyArchive } from '../../src/journal/archive-verify.js';
import { projectRoot } from '../helpers/gateway.js';
import { freePort } from '../helpers/net.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { OPS } from '../helpers/smev.js';
import { eventually, feed, startJournalGateway, submit, type JournalGateway } from './helpers.js';

const BUCKET = 'okno-archive';
// s3rver's built-in account: it checks that the key exists.
const KEY = { ARCHIVE_S3_ACCESS_KEY_ID: 'S3RVER', ARCHIVE_S3_SECRET_ACCESS_KEY: 'S3RVER' };

let redis: RedisTestServer;
let s3: S3rver | null = null;
let s3dir: string;
let port: number;
let url: string;

async function startS3(): Promise<void> {
  s3 = new S3rver({ address: '127.0.0.1', port, directory: s3dir, silent: true, configureBuckets: [{ name: BUCKET, configs: [] }] });
  await s3.run();
}

beforeAll(async () => {
  redis = await startRedisServer();
  s3dir = mkdtempSync(path.join(tmpdir(), 'okno-s3rver-'));
  port = await freePort();
  url = `http://127.0.0.1:${port}/${BUCKET}/journal`;
  await startS3();
});
afterAll(async () => {
  await s3?.close();
  await redis?.dispose();
});

const store = () => new S3ArchiveStore({ url, region: 'us-east-1', accessKeyId: KEY.ARCHIVE_S3_ACCESS_KEY_ID, secretAccessKey: KEY.ARCHIVE_S3_SECRET_ACCESS_KEY, scratchDir: tmpdir() });

describe('the journal archive in an S3 bucket (s3rver)', () => {
  let gw: JournalGateway;
  afterAll(async () => {
    await gw?.close();
  });

  it('segments go to the bucket, verified; okno journal verify walks bucket and Redis as one chain', async () => {
    gw = await startJournalGateway('redis', redis.url, { JOURNAL_HOT_HOURS: '0.0003', ARCHIVE_INTERVAL_S: '0.2', ARCHIVE_S3_URL: url, ...KEY });
    for (let i = 0; i < 2; i++) await submit(gw);
    await eventually(async () => {
      if ((await feed(gw.store)).length > 0) throw new Error('still hot');
    }, 20_000);
    const names = await store().list();
    expect(names.length).toBeGreaterThanOrEqual(1);
    expect(names[0]).toMatch(/^journal-000000000000001-\d{15}\.zip$/);
    const trust = { gatewayCertificates: [gw.gateway.signer.certificate], trustAnchors: gw.gateway.trustAnchors };
    expect(await verifyArchive(store(), trust)).toMatchObject({ ok: true, records: 2, firstSeq: 1, lastSeq: 2 });

    // Not spawnSync: s3rver runs in this process and must go on answering the CLI.
    const r = await new Promise<{ stdout: string; stderr: string; status: number | null }>((resolve) => {
      execFile(process.execPath, [path.join(projectRoot, 'bin/okno.js'), 'journal', 'verify', '--redis', redis.url, '--prefix', gw.prefix, '--archive', url], { encoding: 'utf8', cwd: projectRoot, env: { ...process.env, ...KEY } }, (error, stdout, stderr) => resolve({ stdout, stderr, status: error ? ((error as { code?: number }).code ?? 1) : 0 }));
    });
    expect(r.stdout, r.stderr).toMatch(/archive in http:\/\/127\.0\.0\.1:\d+\/okno-archive\/journal\n {2}segments {5}\d+ \(seqs 1–2\)/);
    expect(r.stdout).toMatch(/verdict {6}INTACT[\s\S]*verdict {6}INTACT/);
    expect(r.status).toBe(0);
    // The archived record is still served, from the bucket.
    const found = (await (await fetch(`${gw.url}/api/v1/journal?limit=1`, { headers: OPS })).json()) as { items: Array<{ id: string }> };
    const page = (await (await fetch(`${gw.url}/api/v1/journal/${found.items[0]!.id}`, { headers: OPS })).json()) as { archived: string; verified: boolean };
    expect(page).toMatchObject({ verified: true, archived: expect.stringMatching(/\.zip$/) });
  });

  it('while the bucket is unreachable the records stay in Redis and the metric says so; when it is back they are archived', async () => {
    await s3!.close();
    s3 = null;
    await submit(gw);
    const metric = async () => {
      const text = await (await fetch(`${gw.url}/metrics`, { headers: OPS })).text();
      return Number(/^okno_journal_archive_failing (\d)/m.exec(text)?.[1]);
    };
    await eventually(async () => {
      if ((await metric()) !== 1) throw new Error('not failing yet');
    }, 20_000);
    expect((await feed(gw.store)).length).toBe(1); // hot, not lost
    await startS3();
    await eventually(async () => {
      if ((await feed(gw.store)).length > 0) throw new Error('still hot');
    }, 20_000);
    expect(await metric()).toBe(0);
    const trust = { gatewayCertificates: [gw.gateway.signer.certificate], trustAnchors: gw.gateway.trustAnchors };
    expect(await verifyArchive(store(), trust)).toMatchObject({ ok: true, records: 3, lastSeq: 3 });
  });
});
