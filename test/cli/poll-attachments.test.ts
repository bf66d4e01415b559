/**
 * `okno poll` checks each attachment's SignaturePKCS7 over its bytes (src/pki/cms), so the
 * portal's side can see that a result document came signed: valid, or why not.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/catalogue/load.js';
import { signDetachedCms } from '../../src/pki/cms/index.js';
import { projectRoot } from '../helpers/gateway.js';
import { startPullWorld, type PullWorld } from '../helpers/pull.js';
import { sampleSigner, serviceExample } from '../helpers/smev.js';

let world: PullWorld;

beforeAll(async () => {
  world = await startPullWorld();
});

afterAll(async () => {
  await world?.sim.close();
});

async function poll(): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(projectRoot, 'bin/okno.js'), 'poll', '--to', world.sim.endpoint], { cwd: projectRoot, env: { PATH: process.env.PATH ?? '' }, timeout: 20_000 });
  return stdout;
}

describe('okno poll and SignaturePKCS7', () => {
  it('prints each attachment with its signature verdict', async () => {
    const catalogue = loadCatalogue(path.join(projectRoot, 'config/services'));
    const contentXml = catalogue.get('elk-order-status')!.request.toXml(serviceExample('elk-order-status'));
    const permit = Buffer.from('%PDF-1.4 разрешение на установку рекламной конструкции\n');
    const good = await signDetachedCms(permit, sampleSigner('gateway'));
    const forOther = await signDetachedCms(Buffer.from('another document'), sampleSigner('gateway'));
    const sent = await world.agency.sendRequest({
      contentXml,
      attachments: [
        { contentId: 'permit', mimeType: 'application/pdf', content: permit, signaturePkcs7: good },
        { contentId: 'copy', mimeType: 'application/pdf', content: permit, signaturePkcs7: forOther },
        { contentId: 'note', mimeType: 'text/plain', content: Buffer.from('unsigned') },
      ],
    });
    expect(sent.status).toBe(200);
    const out = await poll();
    expect(out).toMatch(/attachments: 3, file-store references: 0\n/);
    expect(out).toMatch(/ {4}permit \(application\/pdf, \d+ bytes\): SignaturePKCS7 valid, by "[^"]*okno-gateway[^"]*" \(RSA PKCS#1 v1\.5 with SHA-256\)\n/);
    expect(out).toMatch(/ {4}copy \(application\/pdf, \d+ bytes\): SignaturePKCS7 NOT VALID: the SHA-256 digest of the content does not match the signed messageDigest/);
    expect(out).toMatch(/ {4}note \(text\/plain, 8 bytes\): no SignaturePKCS7\n/);
  });
});
