/**
 * Encrypted archives (issue 23 point 8), with openssl as the judge: with ARCHIVE_ENCRYPT_TO every
 * segment is a CMS EnvelopedData (`journal-…zip.p7m`) that is not a zip on disk and that
 * `openssl cms -decrypt` opens with either recipient's key into a zip that verifies offline;
 * `okno journal verify-archive` reads the archive with --key (exit 0) and without it says which
 * segments it could not read (exit 2); a plain segment written after encrypted ones is a named
 * problem; a gateway on a real redis-server with ARCHIVE_DECRYPT_KEY_FILE archives its own journal
 * encrypted and still serves the archived record's proof; the envelope reader opens what openssl
 * writes.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EncryptingArchiveStore, loadArchiveEncryption, loadArchiveKey, loadRecipients, type ArchiveKey, type ArchiveRecipient } from '../../src/journal/archive-encryption.js';
import { DirArchiveStore } from '../../src/journal/archive-store.js';
import { verifyArchive } from '../../src/journal/archive-verify.js';
import { JournalSealer } from '../../src/journal/sealer.js';
import type { Logger } from '../../src/log.js';
import { envelopeToFile, openEnvelope } from '../../src/pki/cms/enveloped.js';
import { projectRoot } from '../helpers/gateway.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { OPS } from '../helpers/smev.js';
import { requireTool } from '../helpers/tools.js';
import { eventually, feed, startJournalGateway, submit, type JournalGateway } from './helpers.js';

const HOUR = 3_600_000;
const SEG1 = 'journal-000000000000001-000000000000004.zip';
const SEG2 = 'journal-000000000000005-000000000000005.zip';

let redis: RedisTestServer;
let keys: string;
const key = (n: number) => path.join(keys, `r${n}.key.pem`);
const cert = (n: number) => path.join(keys, `r${n}.crt.pem`);

beforeAll(async () => {
  requireTool('openssl', ['version'], 'openssl');
  redis = await startRedisServer();
  keys = mkdtempSync(path.join(tmpdir(), 'okno-archive-keys-'));
  for (const n of [1, 2]) {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key(n), '-out', cert(n), '-subj', `/CN=Okno archive recipient ${n}`, '-days', '30'], { stdio: 'ignore' });
  }
  // Both recipients in one PEM file, as ARCHIVE_ENCRYPT_TO also takes.
  writeFileSync(path.join(keys, 'both.pem'), readFileSync(cert(1), 'utf8') + readFileSync(cert(2), 'utf8'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', path.join(keys, 'ec.key.pem'), '-out', path.join(keys, 'ec.crt.pem'), '-subj', '/CN=ec', '-days', '30'], { stdio: 'ignore' });
}, 60_000);
afterAll(async () => {
  await redis?.dispose();
});

const cli = (args: string[], env: Record<string, string> = {}) => {
  const clean = { ...process.env };
  delete clean.ARCHIVE_ENCRYPT_TO;
  delete clean.ARCHIVE_DECRYPT_KEY_FILE;
  return spawnSync(process.execPath, [path.join(projectRoot, 'bin/okno.js'), 'journal', ...args], { encoding: 'utf8', cwd: projectRoot, env: { ...clean, ...env } });
};
const trustArgs = ['--cert', path.join(projectRoot, 'certs-sample/gateway.crt.pem'), '--trust', path.join(projectRoot, 'certs-sample/ca.crt.pem')];

function opensslDecrypt(file: string, n: number, out: string): { status: number | null; stderr: string } {
  const r = spawnSync('openssl', ['cms', '-decrypt', '-inform', 'DER', '-in', file, '-recip', cert(n), '-inkey', key(n), '-out', out], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

describe('the envelope (src/pki/cms/enveloped.ts)', () => {
  it('loads recipients from a file of several certificates, and refuses what is not one', () => {
    expect(loadRecipients([path.join(keys, 'both.pem')]).map((r) => r.certificate.subject)).toEqual([expect.stringContaining('recipient 1'), expect.stringContaining('recipient 2')]);
    expect(() => loadRecipients([path.join(projectRoot, 'package.json')])).toThrow(/holds no PEM certificate/);
    expect(() => loadRecipients([path.join(keys, 'ec.crt.pem')])).toThrow(/must have RSA keys/);
    const recipients = loadRecipients([cert(1)]);
    expect(() => loadArchiveKey(key(2), recipients)).toThrow(/belongs to none of the 1 ARCHIVE_ENCRYPT_TO certificate/);
    expect(() => loadArchiveEncryption({ encryptTo: [cert(1)], decryptKeyFile: key(2) })).toThrow(/^ARCHIVE_DECRYPT_KEY_FILE: /);
    expect(() => loadArchiveEncryption({ encryptTo: ['/nonexistent/r.pem'], decryptKeyFile: null })).toThrow(/^ARCHIVE_ENCRYPT_TO: cannot read \/nonexistent\/r.pem: ENOENT/);
    expect(() => loadArchiveKey(cert(1))).toThrow(/not a private key/);
    expect(loadArchiveKey(key(1), recipients).certificate?.subject).toContain('recipient 1');
  });

  it('opens what openssl cms -encrypt writes (AES-256-CBC; RSAES-OAEP and PKCS#1 v1.5)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'okno-envelope-'));
    const plain = path.join(dir, 'plain.bin');
    writeFileSync(plain, Buffer.from('personal data '.repeat(1000)));
    const oaep = path.join(dir, 'oaep.p7m');
    execFileSync('openssl', ['cms', '-encrypt', '-binary', '-aes-256-cbc', '-in', plain, '-outform', 'DER', '-out', oaep, '-recip', cert(2), '-keyopt', 'rsa_padding_mode:oaep', '-keyopt', 'rsa_oaep_md:sha256', '-recip', cert(1)]);
    const k1 = loadArchiveKey(key(1));
    expect(openEnvelope(readFileSync(oaep), k1.key).equals(readFileSync(plain))).toBe(true);
    const v15 = path.join(dir, 'v15.p7m');
    execFileSync('openssl', ['cms', '-encrypt', '-binary', '-aes-256-cbc', '-stream', '-in', plain, '-outform', 'DER', '-out', v15, cert(1)]);
    expect(openEnvelope(readFileSync(v15), k1.key).equals(readFileSync(plain))).toBe(true);
    expect(() => openEnvelope(readFileSync(v15), loadArchiveKey(key(2)).key)).toThrow(/the key opens none of its 1 recipient/);
  });

  it('a 32 MB segment: streamed, and openssl opens it byte for byte', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'okno-envelope-'));
    const plain = path.join(dir, 'big.bin');
    writeFileSync(plain, Buffer.alloc(32 * 1024 * 1024, 'x'));
    const recipients = loadRecipients([cert(1), cert(2)]);
    const started = process.hrtime.bigint();
    const written = await envelopeToFile((await import('node:fs')).createReadStream(plain), 32 * 1024 * 1024, path.join(dir, 'big.p7m'), recipients);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    expect(written.bytes).toBeGreaterThan(32 * 1024 * 1024);
    console.info(`envelope of 32 MB: ${ms.toFixed(0)} ms`);
    expect(opensslDecrypt(path.join(dir, 'big.p7m'), 2, path.join(dir, 'back.bin')).status).toBe(0);
    expect(readFileSync(path.join(dir, 'back.bin')).equals(readFileSync(plain))).toBe(true);
  }, 60_000);
});

describe('an encrypted archive (redis store)', () => {
  let gw: JournalGateway;
  let dir: string;
  let recipients: ArchiveRecipient[];
  let k1: ArchiveKey;
  const warnings: Array<{ segment?: string }> = [];

  beforeAll(async () => {
    gw = await startJournalGateway('redis', redis.url);
    for (let i = 0; i < 3; i++) await submit(gw);
    await submit(gw, { refused: true });
    dir = mkdtempSync(path.join(tmpdir(), 'okno-archive-enc-'));
    recipients = loadRecipients([path.join(keys, 'both.pem')]);
    k1 = loadArchiveKey(key(1), recipients);
    // The writer holds no key: its read-back compares the stored envelope with what it encrypted.
    const sealer = new JournalSealer({ store: gw.store, signer: gw.gateway.signer, trustAnchors: gw.gateway.trustAnchors, retentionDays: 0, now: () => new Date(Date.now() + HOUR), archive: { store: new EncryptingArchiveStore(new DirArchiveStore(dir), { recipients, key: null }), hotHours: 0.001, intervalMs: 10 } });
    await sealer.sealNow({ checkpoint: true });
    expect(await sealer.archiveNow()).toEqual([{ archived: 4, segment: SEG1, adopted: false }]);
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
  });

  const trust = () => ({ gatewayCertificates: [gw.gateway.signer.certificate], trustAnchors: gw.gateway.trustAnchors });

  it('is not a readable zip on disk; openssl cms -decrypt with either recipient key gives the zip, which verifies', () => {
    expect(readdirSync(dir).filter((n) => !n.startsWith('.'))).toEqual([`${SEG1}.p7m`]);
    const file = path.join(dir, `${SEG1}.p7m`);
    const bytes = readFileSync(file);
    expect(bytes.subarray(0, 2).toString('latin1')).not.toBe('PK');
    expect(bytes.includes(Buffer.from('records.jsonl'))).toBe(false);
    expect(spawnSync('python3', ['-m', 'zipfile', '-l', file]).status).not.toBe(0);

    const out = mkdtempSync(path.join(tmpdir(), 'okno-decrypted-'));
    for (const n of [1, 2]) {
      const zip = path.join(out, `r${n}-${SEG1}`);
      const r = opensslDecrypt(file, n, zip);
      expect(r.status, r.stderr).toBe(0);
      expect(readFileSync(zip).subarray(0, 2).toString('latin1')).toBe('PK');
      expect(spawnSync('python3', ['-m', 'zipfile', '-l', zip], { encoding: 'utf8' }).stdout).toMatch(/records\.jsonl/);
      const v = cli(['verify-archive', zip, ...trustArgs]);
      expect(v.stdout, v.stderr).toMatch(/INTACT/);
      expect(v.status).toBe(0);
    }
    const cms = spawnSync('openssl', ['cms', '-cmsout', '-print', '-inform', 'DER', '-in', file], { encoding: 'utf8' });
    expect(cms.stdout).toMatch(/contentType: pkcs7-envelopedData/);
    expect(cms.stdout).toMatch(/algorithm: rsaesOaep/);
    expect(cms.stdout).toMatch(/algorithm: aes-256-cbc/);
  });

  it('okno journal verify-archive: with --key exit 0; without it exit 2, naming the segment and how to give the key', () => {
    const withKey = cli(['verify-archive', dir, '--key', key(2), ...trustArgs]);
    expect(withKey.stdout, withKey.stderr).toMatch(/encrypted {4}1 of 1 segment/);
    expect(withKey.stdout).toMatch(/INTACT/);
    expect(withKey.status).toBe(0);
    const single = cli(['verify-archive', path.join(dir, `${SEG1}.p7m`), ...trustArgs], { ARCHIVE_DECRYPT_KEY_FILE: key(1) });
    expect(single.stdout, single.stderr).toMatch(/INTACT/);
    expect(single.status).toBe(0);

    const without = cli(['verify-archive', dir, ...trustArgs]);
    expect(without.stdout).toMatch(/NOT CHECKED: 1 segment\(s\) could not be read \(pass --key KEY\.pem .* or set ARCHIVE_DECRYPT_KEY_FILE\)/);
    expect(without.stdout).toContain(`${SEG1}.p7m  not read: the segment is encrypted (CMS EnvelopedData) and there is no key to open it`);
    expect(without.stdout).not.toMatch(/INTACT/);
    expect(without.status).toBe(2);

    const wrong = cli(['verify-archive', dir, '--key', path.join(projectRoot, 'certs-sample/portal.key.pem'), ...trustArgs]);
    expect(wrong.stdout).toMatch(/does not open it: the key opens none of its 2 recipient/);
    expect(wrong.status).toBe(2);
  });

  it('a segment written unencrypted after encrypted ones is a named problem, and the gateway logs it when it reads one', async () => {
    // A second writer without the setting (a gateway started without ARCHIVE_ENCRYPT_TO) archives the next range.
    await submit(gw);
    const plainWriter = new JournalSealer({ store: gw.store, signer: gw.gateway.signer, trustAnchors: gw.gateway.trustAnchors, retentionDays: 0, now: () => new Date(Date.now() + HOUR), archive: { store: new EncryptingArchiveStore(new DirArchiveStore(dir), { recipients: [], key: null }), hotHours: 0.001, intervalMs: 10 } });
    await plainWriter.sealNow({ checkpoint: true });
    expect(await plainWriter.archiveNow()).toEqual([{ archived: 1, segment: SEG2, adopted: false }]);
    expect(readdirSync(dir).filter((n) => !n.startsWith('.')).sort()).toEqual([SEG2, `${SEG1}.p7m`].sort());

    const logger = { warn: (fields: { segment?: string }) => warnings.push(fields) } as unknown as Logger;
    const archive = new EncryptingArchiveStore(new DirArchiveStore(dir), { recipients, key: k1, logger });
    const report = await verifyArchive(archive, trust());
    expect(report).toMatchObject({ ok: false, segments: 2, encrypted: 1, plain: 1, records: 5, unreadable: [] });
    expect(report.problems).toEqual([expect.objectContaining({ segment: SEG2, problem: expect.stringMatching(/^the segment is stored unencrypted after encrypted ones/) })]);
    expect(warnings).toEqual([expect.objectContaining({ segment: SEG2 })]);
    const r = cli(['verify-archive', dir, '--key', key(1), ...trustArgs]);
    expect(r.stdout).toMatch(new RegExp(`${SEG2.replace(/\./g, '\\.')} .* the segment is stored unencrypted after encrypted ones`));
    expect(r.status).toBe(1);

    // The same segment encrypted by hand with openssl (to a recipient): no longer a problem.
    const file = path.join(dir, SEG2);
    execFileSync('openssl', ['cms', '-encrypt', '-binary', '-aes-256-cbc', '-in', file, '-outform', 'DER', '-out', `${file}.p7m`, '-recip', cert(2), '-keyopt', 'rsa_padding_mode:oaep', '-keyopt', 'rsa_oaep_md:sha256']);
    // Until the clear copy is removed, it is a problem of its own.
    const twin = await verifyArchive(new EncryptingArchiveStore(new DirArchiveStore(dir), { recipients, key: loadArchiveKey(key(2), recipients) }), trust());
    expect(twin.problems).toEqual([expect.objectContaining({ segment: SEG2, problem: expect.stringMatching(/^an unencrypted copy lies beside the encrypted/) })]);
    renameSync(file, path.join(mkdtempSync(path.join(tmpdir(), 'okno-moved-')), SEG2));
    const fixed = cli(['verify-archive', dir, '--key', key(2), ...trustArgs]);
    expect(fixed.stdout, fixed.stderr).toMatch(/encrypted {4}2 of 2 segment/);
    expect(fixed.stdout).toMatch(/INTACT/);
    expect(fixed.status).toBe(0);
  });

  it('plain segments older than the first encrypted one are a note, not a problem', async () => {
    const mixed = mkdtempSync(path.join(tmpdir(), 'okno-archive-mixed-'));
    const zip = path.join(mixed, SEG1);
    expect(opensslDecrypt(path.join(dir, `${SEG1}.p7m`), 1, zip).status).toBe(0);
    copyFileSync(path.join(dir, `${SEG2}.p7m`), path.join(mixed, `${SEG2}.p7m`));
    // SEG2 was encrypted to recipient 2 only (by hand, above).
    const report = await verifyArchive(new EncryptingArchiveStore(new DirArchiveStore(mixed), { recipients, key: loadArchiveKey(key(2), recipients) }), trust());
    expect(report).toMatchObject({ ok: true, encrypted: 1, plain: 1, problems: [] });
    expect(report.notes).toEqual([expect.stringMatching(/^1 segment\(s\) before the first encrypted one are stored unencrypted/)]);
  });
});

describe('a gateway with ARCHIVE_ENCRYPT_TO and ARCHIVE_DECRYPT_KEY_FILE (real redis-server)', () => {
  let gw: JournalGateway;
  let dir: string;
  let sent: Array<{ messageId: string; sent: string }>;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'okno-archive-enc-gw-'));
    gw = await startJournalGateway('redis', redis.url, { JOURNAL_HOT_HOURS: '0.0003', ARCHIVE_INTERVAL_S: '0.2', ARCHIVE_DIR: dir, ARCHIVE_ENCRYPT_TO: `${cert(1)}, ${cert(2)}`, ARCHIVE_DECRYPT_KEY_FILE: key(2) });
    sent = [await submit(gw), await submit(gw)];
    await eventually(async () => {
      if ((await feed(gw.store)).length > 0) throw new Error('still hot');
    }, 20_000);
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
  });

  it('archives its journal encrypted, and still serves an archived record, its proof and its envelope', async () => {
    const stored = readdirSync(dir).filter((n) => !n.startsWith('.'));
    expect(stored.length).toBeGreaterThanOrEqual(1);
    expect(stored.every((n) => /^journal-\d{15}-\d{15}\.zip\.p7m$/.test(n))).toBe(true);
    const get = async (url: string) => (await fetch(`${gw.url}${url}`, { headers: OPS })).json() as Promise<any>;
    const found = await get(`/api/v1/journal?messageId=${sent[0]!.messageId}`);
    const id = found.items[0].id as string;
    const proof = await fetch(`${gw.url}/api/v1/ops/journal/${id}/proof`, { headers: OPS });
    expect(proof.status).toBe(200);
    expect(await proof.json()).toMatchObject({ sealVerified: true, archived: expect.stringMatching(/^journal-\d{15}-\d{15}\.zip$/), request: { verdict: 'valid', intact: true } });
    const envelope = await fetch(`${gw.url}/api/v1/ops/journal/${id}/evidence/request`, { headers: OPS });
    expect(Buffer.from(await envelope.arrayBuffer()).toString('utf8')).toBe(sent[0]!.sent);
  });

  it('okno journal verify walks the encrypted archive and Redis with the key (exit 0), and cannot check without it (exit 2)', () => {
    const args = ['verify', '--redis', redis.url, '--prefix', gw.prefix, '--archive', dir, ...trustArgs];
    const ok = cli([...args, '--key', key(1)]);
    expect(ok.stdout, ok.stderr).toMatch(/archive in .*\n {2}segments {5}\d+ \(seqs 1–2\)/);
    expect(ok.stdout).not.toMatch(/PROBLEM|NOT CHECKED/);
    expect(ok.status).toBe(0);
    const env = cli(args, { ARCHIVE_DECRYPT_KEY_FILE: key(2), ARCHIVE_ENCRYPT_TO: cert(1) });
    expect(env.status, env.stdout + env.stderr).toBe(0);
    const none = cli(args);
    expect(none.stdout).toMatch(/NOT CHECKED/);
    expect(none.status).toBe(2);
  });
});

describe('a gateway with ARCHIVE_ENCRYPT_TO and no key (real redis-server)', () => {
  it('still archives (its read-back compares the stored envelope with what it made), and what it wrote verifies with a recipient key', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'okno-archive-enc-nokey-'));
    const gw = await startJournalGateway('redis', redis.url, { JOURNAL_HOT_HOURS: '0.0003', ARCHIVE_INTERVAL_S: '0.2', ARCHIVE_DIR: dir, ARCHIVE_ENCRYPT_TO: path.join(keys, 'both.pem') });
    try {
      await submit(gw);
      await eventually(async () => {
        if ((await feed(gw.store)).length > 0) throw new Error('still hot');
      }, 20_000);
      const stored = readdirSync(dir).filter((n) => !n.startsWith('.'));
      expect(stored.length).toBeGreaterThanOrEqual(1);
      expect(stored.every((n) => n.endsWith('.zip.p7m'))).toBe(true);
      // Nothing in clear is left in the scratch directory.
      expect(readdirSync(path.join(dir, '.partial'))).toEqual([]);
      const r = cli(['verify', '--redis', redis.url, '--prefix', gw.prefix, '--archive', dir, '--key', key(2), ...trustArgs]);
      expect(r.stdout, r.stderr).toMatch(/INTACT/);
      expect(r.status).toBe(0);
    } finally {
      await gw.close();
    }
  }, 60_000);
});
