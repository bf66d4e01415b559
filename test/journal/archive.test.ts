/**
 * The journal archive (issue 23, points 2–3), on both stores: sealed records older than the hot
 * window leave the store in a signed segment zip that ordinary tools open (python's zipfile,
 * `openssl cms -verify` on the manifest); the store's journal goes on from the segment's end;
 * `verifyArchive` and `okno journal verify-archive` check segments offline and name a changed
 * byte in an archived envelope; a crash between writing a segment and the store's commit loses
 * and doubles nothing; an archive that cannot be written leaves the records hot.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DirArchiveStore, prepareScratchDir, SegmentExistsError } from '../../src/journal/archive-store.js';
import { verifyArchive } from '../../src/journal/archive-verify.js';
import { exportPeriod } from '../../src/journal/export.js';
import { archiveStep, ARCHIVED_RECORDS, ARCHIVE_SEGMENTS, type ArchiverDeps, type ArchiveStepResult } from '../../src/journal/archiver.js';
import { ANCHOR, CURRENT } from '../../src/journal/chain.js';
import { EVIDENCE, JOURNAL } from '../../src/journal/records.js';
import { JournalSealer } from '../../src/journal/sealer.js';
import { projectRoot } from '../helpers/gateway.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { feed, startJournalGateway, submit, writeRecord, type JournalGateway, type Kind } from './helpers.js';

let redis: RedisTestServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.dispose();
});

const HOUR = 3_600_000;

function unzip(file: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'okno-segment-'));
  execFileSync('python3', ['-m', 'zipfile', '-e', file, dir]);
  return dir;
}

function rezipWith(file: string, name: string, change: (b: Buffer) => Buffer): void {
  const dir = unzip(file);
  writeFileSync(path.join(dir, name), change(readFileSync(path.join(dir, name))));
  const script = 'import sys,zipfile,os\nsrc,out=sys.argv[1],sys.argv[2]\nwith zipfile.ZipFile(out,"w",zipfile.ZIP_DEFLATED) as z:\n  for root,_,files in os.walk(src):\n    for f in files:\n      p=os.path.join(root,f); z.write(p,os.path.relpath(p,src))\n';
  execFileSync('python3', ['-c', script, dir, file]);
}

describe.each<Kind>(['memory', 'redis'])('the journal archive (%s store)', (kind) => {
  const open: JournalGateway[] = [];
  afterEach(async () => {
    for (const gw of open.splice(0)) await gw.close();
  });

  async function archived(): Promise<{ gw: JournalGateway; dir: string; sealer: JournalSealer; later: () => Date }> {
    const gw = await startJournalGateway(kind, redis.url);
    open.push(gw);
    for (let i = 0; i < 3; i++) await submit(gw);
    await submit(gw, { refused: true });
    const dir = mkdtempSync(path.join(tmpdir(), 'okno-archive-test-'));
    // The hot window is 0.001 h (3.6 s); the sealer's clock is an hour ahead, so every record is old.
    const later = () => new Date(Date.now() + HOUR);
    const sealer = new JournalSealer({ store: gw.store, signer: gw.gateway.signer, trustAnchors: gw.gateway.trustAnchors, retentionDays: 0, now: later, archive: { store: new DirArchiveStore(dir), hotHours: 0.001, intervalMs: 10 } });
    await sealer.sealNow({ checkpoint: true });
    return { gw, dir, sealer, later };
  }

  const trustOf = (gw: JournalGateway) => ({ gatewayCertificates: [gw.gateway.signer.certificate], trustAnchors: gw.gateway.trustAnchors });

  it('moves sealed old records into one signed segment that ordinary tools open; the store goes on from its end', async () => {
    const { gw, dir, sealer } = await archived();
    const ids = (await feed(gw.store)).map((e) => e.id);
    expect(ids).toHaveLength(4);
    const evidence = await gw.store.getBlob(EVIDENCE, `${ids[0]}.request`);
    const results = await sealer.archiveNow();
    expect(results).toEqual([{ archived: 4, segment: 'journal-000000000000001-000000000000004.zip', adopted: false }]);
    expect(readdirSync(dir).filter((n) => n.endsWith('.zip'))).toEqual(['journal-000000000000001-000000000000004.zip']);
    // The store: records, evidence gone; the anchor at the segment's end; an index for each record.
    expect(await feed(gw.store)).toEqual([]);
    for (const id of ids) {
      expect(await gw.store.getDoc(JOURNAL, id)).toBeNull();
      expect(await gw.store.getDoc(ARCHIVED_RECORDS, id)).toMatchObject({ segment: 'journal-000000000000001-000000000000004.zip' });
    }
    expect(await gw.store.getBlob(EVIDENCE, `${ids[0]}.request`)).toBeNull();
    expect(await gw.store.getDoc(ANCHOR, CURRENT)).toMatchObject({ seq: 4 });
    expect(await gw.store.getDoc(ARCHIVE_SEGMENTS, '000000000000001')).toMatchObject({ firstSeq: 1, lastSeq: 4, records: 4 });
    expect(sealer.archiveStatus()).toMatchObject({ segments: 1, records: 4, failingSince: null });

    // Ordinary tools: unzip, the envelope byte for byte, openssl checks the manifest's signature.
    const file = path.join(dir, 'journal-000000000000001-000000000000004.zip');
    const x = unzip(file);
    expect(readdirSync(x).sort()).toEqual(['README.txt', 'evidence', 'manifest.json', 'manifest.json.p7s', 'records.jsonl']);
    expect(readFileSync(path.join(x, 'evidence/000000000000001.request.xml'), 'utf8')).toBe(evidence!.toString('utf8'));
    const cms = spawnSync('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', path.join(x, 'manifest.json.p7s'), '-content', path.join(x, 'manifest.json'), '-CAfile', path.join(projectRoot, 'certs-sample/ca.crt.pem'), '-purpose', 'any', '-out', '/dev/null'], { encoding: 'utf8' });
    expect(cms.stderr).toMatch(/Verification successful/);

    // Offline and in the store: one chain.
    expect(await verifyArchive(new DirArchiveStore(dir), trustOf(gw))).toMatchObject({ ok: true, segments: 1, records: 4, envelopes: 8, firstSeq: 1, lastSeq: 4 });
    await submit(gw);
    await sealer.sealNow({ checkpoint: true });
    expect(await gw.verify()).toMatchObject({ ok: true, checked: 1, anchor: { seq: 4 } });
    // The next segment starts where the first ends.
    expect((await sealer.archiveNow()).map((r) => r.segment)).toEqual(['journal-000000000000005-000000000000005.zip']);
    expect(await verifyArchive(new DirArchiveStore(dir), trustOf(gw))).toMatchObject({ ok: true, segments: 2, lastSeq: 5 });
  });

  it('a changed byte in an archived envelope is named: segment, seq, envelope — and okno journal verify-archive exits 1', async () => {
    const { gw, dir, sealer } = await archived();
    await sealer.archiveNow();
    const name = 'journal-000000000000001-000000000000004.zip';
    const file = path.join(dir, name);
    const cli = (target: string) => spawnSync(process.execPath, [path.join(projectRoot, 'bin/okno.js'), 'journal', 'verify-archive', target, '--cert', path.join(projectRoot, 'certs-sample/gateway.crt.pem'), '--trust', path.join(projectRoot, 'certs-sample/ca.crt.pem')], { encoding: 'utf8', cwd: projectRoot });
    const intact = cli(dir);
    expect(intact.stdout, intact.stderr).toMatch(/INTACT/);
    expect(intact.status).toBe(0);

    rezipWith(file, 'evidence/000000000000002.request.xml', (b) => {
      const text = b.toString('utf8');
      const i = text.indexOf('<');
      return Buffer.from(text.slice(0, i + 1) + text.slice(i + 1).replace(/>/, ' >'), 'utf8');
    });
    const report = await verifyArchive(new DirArchiveStore(dir), trustOf(gw));
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual(expect.arrayContaining([
      expect.objectContaining({ segment: name, problem: 'evidence/000000000000002.request.xml was changed (its SHA-256 is not the manifest\'s)' }),
      expect.objectContaining({ segment: name, seq: 2, envelope: 'request', problem: expect.stringMatching(/^the request envelope was changed/) }),
    ]));
    const broken = cli(file);
    expect(broken.status).toBe(1);
    expect(broken.stdout).toMatch(/seq 2 .* the request envelope was changed/);
  });

  it('a crash after the segment is written and before the store forgets the records: the next round adopts it, nothing lost or doubled', async () => {
    const { gw, dir, sealer } = await archived();
    const store = gw.store;
    const commit = store.commit.bind(store);
    let failOnce = true;
    // The crash: the commit that would move the anchor never happens.
    store.commit = async (batch) => {
      if (failOnce && batch.docs?.some((d) => d.collection === ANCHOR)) {
        failOnce = false;
        throw new Error('killed');
      }
      return commit(batch);
    };
    try {
      expect(await sealer.archiveNow()).toEqual([]);
      expect(sealer.archiveStatus().failingSince).not.toBeNull();
      expect(await feed(store)).toHaveLength(4); // still hot
      expect(readdirSync(dir).filter((n) => n.endsWith('.zip'))).toHaveLength(1); // the whole segment is there, uncounted
      const results = await sealer.archiveNow();
      expect(results).toEqual([{ archived: 4, segment: 'journal-000000000000001-000000000000004.zip', adopted: true }]);
    } finally {
      store.commit = commit;
    }
    expect(readdirSync(dir).filter((n) => n.endsWith('.zip'))).toEqual(['journal-000000000000001-000000000000004.zip']);
    expect(await feed(store)).toEqual([]);
    expect(await verifyArchive(new DirArchiveStore(dir), trustOf(gw))).toMatchObject({ ok: true, records: 4 });
    expect(await gw.verify()).toMatchObject({ ok: true, anchor: { seq: 4 } });
  });

  /**
   * Several gateway instances archive one journal into one archive (test/ha/gateway-cluster.test.ts).
   * Instance B reads the journal, then lists the archive; instance A's whole step (write, read back,
   * commit) runs in between. A's segment then no longer "fits" B's view (its records and checkpoint
   * left the store), and B used to set it aside: a counted segment gone from the archive.
   */
  async function racingSteps(gw: JournalGateway, dir: string, now: () => Date, cutoffA: number, cutoffB: number, when: 'list' | 'put' = 'list'): Promise<{ a: ArchiveStepResult | undefined; b: ArchiveStepResult }> {
    const deps = (archive: DirArchiveStore): ArchiverDeps => ({ store: gw.store, archive, signer: gw.gateway.signer, trust: trustOf(gw), now });
    let a: ArchiveStepResult | undefined;
    const stepOfA = async () => (a ??= await archiveStep(deps(new DirArchiveStore(dir)), cutoffA));
    class AnotherCommitsMeanwhile extends DirArchiveStore {
      override async list(): Promise<string[]> {
        if (when === 'list') await stepOfA();
        return super.list();
      }
      override async put(name: string, localFile: string): Promise<void> {
        if (when === 'put') await stepOfA();
        return super.put(name, localFile);
      }
    }
    const b = await archiveStep(deps(new AnotherCommitsMeanwhile(dir)), cutoffB);
    return { a, b };
  }

  /** Records 1–2 two hours old, 3–4 one hour old, a checkpoint at 2 and at 4; the time between the pairs. */
  async function twoPairs(): Promise<{ gw: JournalGateway; dir: string; between: number }> {
    const gw = await startJournalGateway(kind, redis.url);
    open.push(gw);
    const dir = mkdtempSync(path.join(tmpdir(), 'okno-archive-test-'));
    const [t1, t2] = [new Date(Date.now() - 2 * HOUR).toISOString(), new Date(Date.now() - HOUR).toISOString()];
    const sealer = new JournalSealer({ store: gw.store, signer: gw.gateway.signer, trustAnchors: gw.gateway.trustAnchors, retentionDays: 0 });
    for (let i = 0; i < 2; i++) await writeRecord(gw.store, { requestInTs: t1, responseOutTs: t1 }, `<older n="${i}"/>`);
    await sealer.sealNow({ checkpoint: true });
    for (let i = 0; i < 2; i++) await writeRecord(gw.store, { requestInTs: t2, responseOutTs: t2 }, `<newer n="${i}"/>`);
    await sealer.sealNow({ checkpoint: true });
    return { gw, dir, between: Date.parse(t2) };
  }

  it('two instances archiving at once: a segment the other committed while this one looked stays in the archive', async () => {
    const { gw, dir, later } = await archived();
    const cutoff = later().getTime() - 0.001 * HOUR;
    const { a, b } = await racingSteps(gw, dir, later, cutoff, cutoff);
    expect(a).toEqual({ archived: 4, segment: 'journal-000000000000001-000000000000004.zip', adopted: false });
    expect(b).toEqual({ archived: 0, segment: null, adopted: false });
    expect(readdirSync(dir).filter((n) => n.endsWith('.zip'))).toEqual(['journal-000000000000001-000000000000004.zip']);
    expect(existsSync(path.join(dir, '.superseded'))).toBe(false);
    expect(await verifyArchive(new DirArchiveStore(dir), trustOf(gw))).toMatchObject({ ok: true, records: 4 });
    expect(await gw.verify()).toMatchObject({ ok: true, anchor: { seq: 4 } });
  });

  it('two instances archiving at once: a segment longer than what is old enough for this one (the other\'s, later hot window) is left alone', async () => {
    const { gw, dir, between } = await twoPairs();
    // A's hot window ends now (seqs 1–4 are old), B's between the two pairs (its prefix ends at the checkpoint at 2).
    const { a, b } = await racingSteps(gw, dir, () => new Date(), Date.now(), between);
    expect(a).toEqual({ archived: 4, segment: 'journal-000000000000001-000000000000004.zip', adopted: false });
    expect(b).toEqual({ archived: 0, segment: null, adopted: false });
    expect(readdirSync(dir).filter((n) => n.endsWith('.zip'))).toEqual(['journal-000000000000001-000000000000004.zip']);
    expect(existsSync(path.join(dir, '.superseded'))).toBe(false);
    expect(await verifyArchive(new DirArchiveStore(dir), trustOf(gw))).toMatchObject({ ok: true, records: 4 });
    expect(await gw.verify()).toMatchObject({ ok: true, anchor: { seq: 4 } });
  });

  it('two instances at once: the one whose commit comes second sets its own segment (another range) aside, so the archive holds each seq once', async () => {
    const { gw, dir, between } = await twoPairs();
    // B (hot window ending now: 1–4) writes its segment after A (1–2) has committed.
    const { a, b } = await racingSteps(gw, dir, () => new Date(), between, Date.now(), 'put');
    expect(a).toEqual({ archived: 2, segment: 'journal-000000000000001-000000000000002.zip', adopted: false });
    expect(b).toEqual({ archived: 0, segment: null, adopted: false });
    expect(readdirSync(dir).filter((n) => n.endsWith('.zip'))).toEqual(['journal-000000000000001-000000000000002.zip']);
    expect(readdirSync(path.join(dir, '.superseded'))).toEqual([expect.stringMatching(/^journal-000000000000001-000000000000004\.zip\.\d+$/)]);
    expect(await verifyArchive(new DirArchiveStore(dir), trustOf(gw))).toMatchObject({ ok: true, segments: 1, records: 2 });
    // The next round goes on from A's end.
    const next = await archiveStep({ store: gw.store, archive: new DirArchiveStore(dir), signer: gw.gateway.signer, trust: trustOf(gw), now: () => new Date() }, Date.now());
    expect(next).toEqual({ archived: 2, segment: 'journal-000000000000003-000000000000004.zip', adopted: false });
    expect(await verifyArchive(new DirArchiveStore(dir), trustOf(gw))).toMatchObject({ ok: true, segments: 2, records: 4 });
    expect(await gw.verify()).toMatchObject({ ok: true, anchor: { seq: 4 } });
  });

  it('an archive that cannot be written leaves the records in the store, and says so', async () => {
    const gw = await startJournalGateway(kind, redis.url);
    open.push(gw);
    await submit(gw);
    const notADir = path.join(mkdtempSync(path.join(tmpdir(), 'okno-archive-bad-')), 'file');
    writeFileSync(notADir, 'x');
    const sealer = new JournalSealer({ store: gw.store, signer: gw.gateway.signer, retentionDays: 0, now: () => new Date(Date.now() + HOUR), archive: { store: new DirArchiveStore(notADir), hotHours: 0.001, intervalMs: 10 } });
    await sealer.sealNow({ checkpoint: true });
    expect(await sealer.archiveNow()).toEqual([]);
    expect(sealer.archiveStatus()).toMatchObject({ failures: 1, segments: 0 });
    expect(sealer.archiveStatus().failingSince).not.toBeNull();
    expect(await feed(gw.store)).toHaveLength(1);
    expect(await gw.verify()).toMatchObject({ ok: true, checked: 1 });
  });

  it('export cuts the period\'s hot records from the store into a signed segment that verifies offline', async () => {
    const gw = await startJournalGateway(kind, redis.url);
    open.push(gw);
    for (let i = 0; i < 3; i++) await submit(gw);
    const sealer = new JournalSealer({ store: gw.store, signer: gw.gateway.signer, retentionDays: 0 });
    await sealer.sealNow({ checkpoint: true });
    const out = mkdtempSync(path.join(tmpdir(), 'okno-export-'));
    const result = await exportPeriod({ store: gw.store, archive: null, from: Date.now() - HOUR, to: Date.now() + HOUR, outDir: out, trust: trustOf(gw), signer: gw.gateway.signer });
    expect(result.uncheckpointed).toBe(0);
    expect(result.files.map((f) => [path.basename(f.file), f.from, f.records, f.report.ok])).toEqual([['journal-000000000000001-000000000000003.zip', 'store', 3, true]]);
    // Nothing left the store: an export is a copy.
    expect(await feed(gw.store)).toHaveLength(3);
    expect(await verifyArchive(new DirArchiveStore(out), trustOf(gw))).toMatchObject({ ok: true, records: 3 });
  });

  it('retention applies to the archive: the oldest segments whose records are all older go, with their index; the rest is one chain', async () => {
    const gw = await startJournalGateway(kind, redis.url);
    open.push(gw);
    const dir = mkdtempSync(path.join(tmpdir(), 'okno-archive-test-'));
    const longAgo = new Date(Date.now() - 10 * 86_400_000).toISOString();
    const old: string[] = [];
    for (let i = 0; i < 2; i++) old.push(await writeRecord(gw.store, { requestInTs: longAgo, responseOutTs: longAgo }, `<old n="${i}"/>`, '<reply/>'));
    const sealer = new JournalSealer({ store: gw.store, signer: gw.gateway.signer, trustAnchors: gw.gateway.trustAnchors, retentionDays: 0, now: () => new Date(Date.now() + HOUR), archive: { store: new DirArchiveStore(dir), hotHours: 0.001, intervalMs: 10 } });
    await sealer.sealNow({ checkpoint: true });
    expect((await sealer.archiveNow()).map((r) => r.segment)).toEqual(['journal-000000000000001-000000000000002.zip']);
    await submit(gw);
    await sealer.sealNow({ checkpoint: true });
    expect((await sealer.archiveNow()).map((r) => r.segment)).toEqual(['journal-000000000000003-000000000000003.zip']);
    // A retention of 5 days: the first segment (10 days old) goes, the second stays.
    const keeper = new JournalSealer({ store: gw.store, signer: gw.gateway.signer, trustAnchors: gw.gateway.trustAnchors, retentionDays: 5, now: () => new Date(Date.now() + HOUR), archive: { store: new DirArchiveStore(dir), hotHours: 0.001, intervalMs: 10 } });
    await keeper.archiveNow();
    expect(readdirSync(dir).filter((n) => n.endsWith('.zip'))).toEqual(['journal-000000000000003-000000000000003.zip']);
    for (const id of old) expect(await gw.store.getDoc(ARCHIVED_RECORDS, id)).toBeNull();
    expect(await gw.store.getDoc(ARCHIVE_SEGMENTS, '000000000000001')).toBeNull();
    expect((await gw.store.readFeed('journal-archived', 0, 10)).map((e) => e.id.split(':')[0])).toEqual(['3']);
    expect(await verifyArchive(new DirArchiveStore(dir), trustOf(gw))).toMatchObject({ ok: true, segments: 1, firstSeq: 3, lastSeq: 3 });
    // Searching still works from what is left.
    expect(await gw.verify()).toMatchObject({ ok: true, anchor: { seq: 3 } });
  });

  it('records inside the hot window stay in the store', async () => {
    const gw = await startJournalGateway(kind, redis.url);
    open.push(gw);
    const recent = await writeRecord(gw.store);
    const dir = mkdtempSync(path.join(tmpdir(), 'okno-archive-test-'));
    const sealer = new JournalSealer({ store: gw.store, signer: gw.gateway.signer, retentionDays: 0, archive: { store: new DirArchiveStore(dir), hotHours: 72, intervalMs: 10 } });
    await sealer.sealNow({ checkpoint: true });
    expect(await sealer.archiveNow()).toEqual([]);
    expect((await feed(gw.store)).map((e) => e.id)).toEqual([recent]);
  });
});

describe('the scratch directory of a shared archive', () => {
  it('removes what an interrupted write left long ago, and keeps a segment another instance is writing now', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'okno-archive-scratch-'));
    mkdirSync(path.join(dir, '.partial'));
    const old = path.join(dir, '.partial', 'journal-000000000000001-000000000000004.zip.111.1');
    const fresh = path.join(dir, '.partial', 'journal-000000000000001-000000000000004.zip.222.2');
    writeFileSync(old, 'left by a crash');
    writeFileSync(fresh, 'being written by another instance');
    const twoHoursAgo = (Date.now() - 2 * HOUR) / 1000;
    utimesSync(old, twoHoursAgo, twoHoursAgo);
    expect(await prepareScratchDir(dir)).toBe(path.join(dir, '.partial'));
    expect(readdirSync(path.join(dir, '.partial'))).toEqual([path.basename(fresh)]);
    expect(await new DirArchiveStore(mkdtempSync(path.join(tmpdir(), 'okno-archive-scratch-'))).scratchDir()).toMatch(/\.partial$/);
  });
});

describe('a segment put twice (two instances wrote the same range)', () => {
  it('the first stays byte for byte; the second put is refused with SegmentExistsError and its scratch file removed', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'okno-archive-twice-'));
    const store = new DirArchiveStore(dir);
    const scratch = await store.scratchDir();
    const name = 'journal-000000000000001-000000000000004.zip';
    const first = path.join(scratch, `${name}.111.1`);
    const second = path.join(scratch, `${name}.222.2`);
    writeFileSync(first, 'the segment of instance A');
    writeFileSync(second, 'the segment of instance B (same records, other bytes)');
    await store.put(name, first);
    await expect(store.put(name, second)).rejects.toBeInstanceOf(SegmentExistsError);
    expect(readFileSync(path.join(dir, name), 'utf8')).toBe('the segment of instance A');
    expect(readdirSync(scratch)).toEqual([]);
    expect(await store.list()).toEqual([name]);
  });
});
