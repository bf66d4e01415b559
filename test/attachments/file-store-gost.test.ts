/**
 * A sender signing with GOST R 34.10-2012 (an OpenSSL-made key and certificate under a throwaway
 * GOST CA): the Hash of its RefAttachmentHeader is GOST R 34.11-2012 256 (Streebog), here
 * computed by OpenSSL's gost engine (`openssl dgst -md_gost12_256 -binary`, base64). The file
 * comes from the exchange's FTP file store and is stored; the same file announced with its
 * SHA-256 (the RSA partners' hash) fails for this sender.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/catalogue/load.js';
import { loadGatewayIdentity, splitPem } from '../../src/pki/gateway-identity.js';
import { TrustAnchorSet } from '../../src/pki/trust.js';
import { defaultExchangeSystems } from '../../src/simulators/smev-exchange-systems.js';
import { uuidV1 } from '../../src/soap/message-id.js';
import { requireOpensslGost } from '../crypto/openssl-gost.js';
import { ExchangeClient } from '../helpers/exchange.js';
import { sendWithFile, startFileStoreWorld, uploadByFtp, type FileStoreWorld } from '../helpers/file-store.js';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { gostTempDir, makeGostCa, makeGostLeaf } from '../helpers/gost-openssl-pki.js';
import { caPem, eventually } from '../helpers/pull.js';
import { CITY } from '../helpers/smev.js';

let world: FileStoreWorld;
let gw: RunningGateway;
let portal: ExchangeClient;
let dir: string;

beforeAll(async () => {
  requireOpensslGost();
  dir = gostTempDir('okno-gost-files-');
  const ca = makeGostCa(dir);
  const leaf = makeGostLeaf(dir, ca, 'portal', { algorithm: 'gost2012_256', paramset: 'A', cn: 'portal-gost-files' });
  const trustPems = [...splitPem(caPem), ...splitPem(readFileSync(ca.cert, 'utf8'))];
  const trustFile = path.join(dir, 'trust.pem');
  writeFileSync(trustFile, trustPems.join(''));
  const catalogue = loadCatalogue(path.join(projectRoot, 'config/services'));
  const systems = defaultExchangeSystems(catalogue, path.join(projectRoot, 'certs-sample')).map((s) => (s.mnemonic === 'portal' ? { ...s, certificatePem: readFileSync(leaf.cert, 'utf8') } : s));
  world = await startFileStoreWorld({
    s3: false,
    exchange: { systems, trust: new TrustAnchorSet(trustPems) },
    editRegistry: (r) => {
      for (const p of r.partners) if (p.id === 'portal') p.certificates = [leaf.cert];
    },
  });
  gw = await startGateway({ ...world.env, TRUST_CA_FILE: trustFile });
  portal = new ExchangeClient(world.sim.endpoint, loadGatewayIdentity({ kind: 'pem', keyFile: leaf.key, certFile: leaf.cert }).signer);
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await world?.sim.close();
  await world?.files.close();
});

interface FileView { state: string; reason: string | null; sha256: string | null; attachmentId: string | null }

async function settled(messageId: string): Promise<FileView> {
  return eventually(async () => {
    const { items } = (await (await fetch(`${gw.url}/api/v1/inbox?limit=100`, { headers: CITY })).json()) as { items: Array<{ messageId: string; exchangeFiles?: FileView[] }> };
    const f = items.find((i) => i.messageId === messageId)?.exchangeFiles?.[0];
    return f && f.state !== 'pending' ? f : null;
  }, `the file of ${messageId}`, 15_000);
}

describe('a GOST sender: the file hash is GOST R 34.11-2012 256', () => {
  it("a file whose Hash is openssl's md_gost12_256 is stored; the SHA-256 of the same file is refused for this sender", async () => {
    const content = randomBytes(200_000);
    const file = path.join(dir, 'deed.pdf');
    writeFileSync(file, content);
    const gostHash = execFileSync('openssl', ['dgst', '-engine', 'gost', '-md_gost12_256', '-binary', file], { stdio: ['ignore', 'pipe', 'ignore'] }).toString('base64');
    expect(Buffer.from(gostHash, 'base64')).toHaveLength(32);

    const good = uuidV1();
    await uploadByFtp(world.files, good, 'deed.pdf', content);
    const sent = await sendWithFile(portal, { uuid: good, hash: gostHash });
    expect(sent.status).toBe(200);
    const stored = await settled(sent.messageId);
    expect(stored).toMatchObject({ state: 'stored', sha256: createHash('sha256').update(content).digest('hex') });
    const res = await fetch(`${gw.url}/api/v1/attachments/${stored.attachmentId}`, { headers: CITY });
    expect(Buffer.from(await res.arrayBuffer()).equals(content)).toBe(true);

    const wrong = uuidV1();
    await uploadByFtp(world.files, wrong, 'deed.pdf', content);
    const sentSha = await sendWithFile(portal, { uuid: wrong, hash: createHash('sha256').update(content).digest('base64') });
    const refused = await settled(sentSha.messageId);
    expect(refused.state).toBe('failed');
    expect(refused.reason).toMatch(/gost3411-2012-256 does not match/);
  });
});
