/**
 * `okno simulate smev --file-store` as a person runs it: it prints the FTP URL, the upload
 * account and the S3 endpoint; a sender uploads over FTP and sends a SendRequest naming the file;
 * the provider's GetRequest carries FSAttachmentsList with per-file credentials that fetch the
 * file from both FTP and S3 (through the gateway's own download code); SIGTERM stops it all and
 * frees the ports.
 */
import { randomBytes, createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Client as FtpClient } from 'basic-ftp';
import { afterEach, describe, expect, it } from 'vitest';
import { downloadExchangeFile } from '../../src/attachments/file-store-download.js';
import { loadCatalogue } from '../../src/catalogue/load.js';
import { uuidV1 } from '../../src/soap/message-id.js';
import { spawnOkno, type OknoProcess } from '../helpers/cli-process.js';
import { ExchangeClient } from '../helpers/exchange.js';
import { projectRoot } from '../helpers/gateway.js';
import { freePort } from '../helpers/net.js';
import { sampleSigner, serviceExample } from '../helpers/smev.js';

const started: OknoProcess[] = [];
afterEach(() => {
  for (const p of started.splice(0)) if (p.child.exitCode === null) p.child.kill('SIGKILL');
});

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

describe('okno simulate smev --file-store', () => {
  it('runs an FTP and an S3 file store; an uploaded file reaches the provider through FSAttachmentsList', async () => {
    const [port, ftpPort, s3Port] = [await freePort(), await freePort(), await freePort()];
    const cli = spawnOkno(['simulate', 'smev', '--port', String(port), '--file-store', '--ftp-port', String(ftpPort), '--s3-port', String(s3Port)], 20_000);
    started.push(cli);
    const line = await cli.until(/file store: FTP (ftp:\/\/[\d.:]+) \(senders upload to \/\{uuid\}\/\{file name\} as user (\S+), password (\S+)\); S3 (http:\/\/[\d.:]+) \(bucket attachment\)/);
    const [, ftpUrl, user, password, s3Url] = line;
    expect(ftpUrl).toBe(`ftp://127.0.0.1:${ftpPort}`);
    expect(s3Url).toBe(`http://127.0.0.1:${s3Port}`);

    const content = randomBytes(100_000);
    const uuid = uuidV1();
    const ftp = new FtpClient(10_000);
    await ftp.access({ host: '127.0.0.1', port: ftpPort, user: user!, password: password! });
    await ftp.ensureDir(`/${uuid}`);
    await ftp.uploadFrom(Readable.from([content]), `/${uuid}/permit.pdf`);
    ftp.close();

    const endpoint = `http://127.0.0.1:${port}/ws/smev3`;
    const catalogue = loadCatalogue(path.join(projectRoot, 'config/services'));
    const contentXml = catalogue.get('advertising-permit')!.request.toXml(serviceExample('advertising-permit'));
    const ref = `<b:RefAttachmentHeaderList><b:RefAttachmentHeader><b:uuid>${uuid}</b:uuid><b:Hash>${createHash('sha256').update(content).digest('base64')}</b:Hash><b:MimeType>application/pdf</b:MimeType></b:RefAttachmentHeader></b:RefAttachmentHeaderList>`;
    const sent = await new ExchangeClient(endpoint, sampleSigner('portal')).sendRequest({ contentXml, edit: (u) => u.replace('</b:MessagePrimaryContent>', `</b:MessagePrimaryContent>${ref}`) });
    expect(sent.status).toBe(200);
    // A uuid nobody uploaded: the exchange refuses the message.
    const missing = await new ExchangeClient(endpoint, sampleSigner('portal')).sendRequest({ contentXml, edit: (u) => u.replace('</b:MessagePrimaryContent>', `</b:MessagePrimaryContent>${ref.replace(uuid, uuidV1())}`) });
    expect(missing.text).toMatch(/no file was uploaded to the file store under that uuid/);

    const polled = await new ExchangeClient(endpoint, sampleSigner('gateway')).poll('GetRequest');
    const fs = polled.message!.fsAttachments;
    expect(fs).toEqual([{ uuid, userName: expect.any(String), password: expect.any(String), fileName: 'permit.pdf' }]);
    const dir = mkdtempSync(path.join(tmpdir(), 'okno-cli-fs-'));
    const opts = { timeoutMs: 5_000, maxBytes: 1e9, startAt: 0 };
    const viaS3 = await downloadExchangeFile({ ftp: ftpUrl!, s3: { endpoint: s3Url!, region: 'us-east-1', bucket: 'attachment' }, insecureTls: false }, { uuid, fileName: 'permit.pdf' }, fs[0]!, path.join(dir, 's3'), opts);
    expect(viaS3.via).toBe('s3');
    expect(readFileSync(path.join(dir, 's3')).equals(content)).toBe(true);
    const viaFtp = await downloadExchangeFile({ ftp: ftpUrl!, s3: null, insecureTls: false }, { uuid, fileName: 'permit.pdf' }, fs[0]!, path.join(dir, 'ftp'), opts);
    expect(viaFtp.via).toBe('ftp');
    expect(readFileSync(path.join(dir, 'ftp')).equals(content)).toBe(true);
    // The per-file account reads its own file only.
    await expect(downloadExchangeFile({ ftp: ftpUrl!, s3: null, insecureTls: false }, { uuid: 'other', fileName: 'permit.pdf' }, fs[0]!, path.join(dir, 'other'), opts)).rejects.toThrow(/550|not/);

    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    for (const p of [port, ftpPort, s3Port]) expect(await canBind(p)).toBe(true);
  }, 40_000);
});
