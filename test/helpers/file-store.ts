/**
 * Files through the SMEV exchange's file store in tests: the exchange simulator with a real
 * FTP (and S3) file store, a registry naming it, a sender's upload over FTP, and a
 * SendRequest whose signed RefAttachmentHeaderList names the uploaded file.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Client as FtpClient } from 'basic-ftp';
import { loadCatalogue } from '../../src/catalogue/load.js';
import { StreebogStream } from '../../src/crypto/streebog-stream.js';
import { SimulatedFileStore, type SimulatedFileStoreOptions } from '../../src/simulators/smev-file-store.js';
import type { ExchangeClient } from './exchange.js';
import { projectRoot } from './gateway.js';
import { startPullWorld, writePullRegistry, type PullRegistryJson, type PullWorld } from './pull.js';
import type { SmevExchangeOptions } from '../../src/simulators/smev-exchange.js';
import { serviceExample } from './smev.js';

export interface FileStoreWorld extends PullWorld {
  files: SimulatedFileStore;
  attachmentDir: string;
}

/** The pull world with a file store; `registryS3` names another S3 endpoint in the gateway's registry (e.g. a dead one). */
export async function startFileStoreWorld(
  options: SimulatedFileStoreOptions & {
    registryS3?: string;
    registryFtp?: string;
    ftps?: boolean;
    exchange?: Partial<SmevExchangeOptions>;
    editRegistry?: (registry: PullRegistryJson) => void;
    /** The registry gets fileStore.upload: the store's upload account, its password in this environment variable (set here, in process.env too). */
    uploadPasswordEnv?: string;
  } = {},
): Promise<FileStoreWorld> {
  const files = await SimulatedFileStore.start(options);
  const world = await startPullWorld({ fileStore: files, ...options.exchange });
  const partnersFile = writePullRegistry(world.sim.endpoint, world.exchangeCertPem, (r) => {
    options.editRegistry?.(r);
    (r.exchanges[0] as Record<string, unknown>).fileStore = {
      ftp: options.registryFtp ?? (options.ftps ? files.ftpUrl.replace(/^ftp:/, 'ftps:') : files.ftpUrl),
      ...(options.registryS3 ?? files.s3Endpoint ? { s3: { endpoint: options.registryS3 ?? files.s3Endpoint } } : {}),
      ...(options.uploadPasswordEnv ? { upload: { user: files.uploadUser, passwordEnv: options.uploadPasswordEnv } } : {}),
    };
  });
  if (options.uploadPasswordEnv) process.env[options.uploadPasswordEnv] = files.uploadPassword;
  const attachmentDir = mkdtempSync(path.join(tmpdir(), 'okno-attachments-'));
  return {
    ...world,
    partnersFile,
    files,
    attachmentDir,
    env: { ...world.env, ...(options.uploadPasswordEnv ? { [options.uploadPasswordEnv]: files.uploadPassword } : {}), PARTNERS_FILE: partnersFile, ATTACHMENT_DIR: attachmentDir, FILE_STORE_TIMEOUT_MS: '1000', FILE_STORE_BACKOFF_MS: '50', FILE_STORE_BACKOFF_CAP_MS: '300' },
  };
}

/** A sender's upload over FTP with the file store's upload account, to /{uuid}/{name}. */
export async function uploadByFtp(files: SimulatedFileStore, uuid: string, name: string, content: Buffer | Readable): Promise<void> {
  const client = new FtpClient(10_000);
  try {
    const url = new URL(files.ftpUrl);
    await client.access({ host: url.hostname, port: Number(url.port), user: files.uploadUser, password: files.uploadPassword });
    await client.ensureDir(`/${uuid}`);
    await client.uploadFrom(Buffer.isBuffer(content) ? Readable.from([content]) : content, `/${uuid}/${name}`);
  } finally {
    client.close();
  }
}

export function fileHash(content: Buffer, algorithm: 'sha256' | 'gost'): string {
  return algorithm === 'sha256' ? createHash('sha256').update(content).digest('base64') : Buffer.from(new StreebogStream(256).update(content).digest()).toString('base64');
}

const catalogue = loadCatalogue(path.join(projectRoot, 'config/services'));

/** An advertising-permit application naming a file-store file (signed RefAttachmentHeaderList), with the file's detached CMS signature (base64) when given. */
export async function sendWithFile(client: ExchangeClient, file: { uuid: string; hash: string; mimeType?: string; signaturePkcs7?: string }): Promise<{ messageId: string; status: number; body: string | Buffer }> {
  const contentXml = catalogue.get('advertising-permit')!.request.toXml(serviceExample('advertising-permit'));
  const signature = file.signaturePkcs7 ? `<b:SignaturePKCS7>${file.signaturePkcs7}</b:SignaturePKCS7>` : '';
  const ref = `<b:RefAttachmentHeaderList><b:RefAttachmentHeader><b:uuid>${file.uuid}</b:uuid><b:Hash>${file.hash}</b:Hash><b:MimeType>${file.mimeType ?? 'application/pdf'}</b:MimeType>${signature}</b:RefAttachmentHeader></b:RefAttachmentHeaderList>`;
  const sent = await client.sendRequest({ contentXml, edit: (unsigned) => unsigned.replace('</b:MessagePrimaryContent>', `</b:MessagePrimaryContent>${ref}`) });
  return { messageId: sent.messageId, status: sent.status, body: sent.body };
}

/** The city's webhook receiver: every POST with its headers. */
export async function startWebhookReceiver(): Promise<{ url: string; posts: Array<{ headers: Record<string, string | string[] | undefined>; body: Record<string, unknown> }>; close(): Promise<void> }> {
  const posts: Array<{ headers: Record<string, string | string[] | undefined>; body: Record<string, unknown> }> = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posts.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, posts, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
