/**
 * The SMEV exchange's file store, simulated with real servers on loopback: an FTP server
 * (ftp-srv; FTPS — AUTH TLS — when given a TLS key and certificate) and, optionally, an
 * S3-compatible store (s3rver, bucket `attachment`).
 *
 * - A sender uploads a file with the upload account (`uploadUser` / `uploadPassword`): over FTP
 *   to `/{uuid}/{file name}` (STOR, APPE to resume, REST+STOR), or to S3 (`attachment`,
 *   key `{uuid}/{file name}`, the same user and password as access key and secret) — the uuid
 *   it then names in RefAttachmentHeaderList — or a test calls `put(uuid, name, bytes | file)`.
 *   Every FTP upload is recorded in `ftpWrites` (path, append, offset); `uploadBytesPerSecond`
 *   slows them so a test can cut one.
 * - When the exchange accepts a message naming that uuid it calls `grant(uuid)` (a file only in
 *   S3 is copied to the FTP tree first; a uuid with no file: null, the exchange refuses): fresh per-file
 *   credentials (UserName / Password of FSAttachmentsList) that can read `/{uuid}/…` only, over
 *   FTP, and in S3 as an access key (the file is copied to `attachment/{uuid}/{file name}`).
 *   s3rver checks that the access key exists but not the SigV4 signature (its documented limit).
 * - `stopFtp()` / `startFtp()` take the FTP server down and up again on the same port (tests of
 *   a transfer cut mid-file); `bytesPerSecond` slows every FTP download so a test can cut one.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import type { AddressInfo, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Transform, Writable, type Readable } from 'node:stream';
import { createRequire } from 'node:module';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { FileSystem, FtpSrv } from 'ftp-srv';
import S3rver from 's3rver';

const require = createRequire(import.meta.url);

/** s3rver's registry of access keys (it verifies that the key exists, not the signature). */
interface AwsAccount {
  createKeyPair(accessKeyId: string, secretAccessKey: string): void;
}
const AWSAccount = require('s3rver/lib/models/account.js') as { new (id: number, name: string): AwsAccount };

export const FILE_STORE_BUCKET = 'attachment';
const UUID_DIR = /^[0-9A-Za-z-]{1,64}$/;

export interface SimulatedFileStoreOptions {
  host?: string;
  /** 0 (default): a free port. */
  ftpPort?: number;
  /** Run the S3-compatible store too (default true). */
  s3?: boolean;
  s3Port?: number;
  /** Where files live (default: a new temp dir, removed on close). */
  dir?: string;
  /** FTPS: the server offers AUTH TLS with this key and certificate (PEM). */
  tls?: { key: string; cert: string };
  /** Slow FTP downloads to this rate (tests). */
  bytesPerSecond?: number;
  /** Slow FTP uploads to this rate (tests). */
  uploadBytesPerSecond?: number;
  /** The upload account's password (default: a random one). */
  uploadPassword?: string;
}

export interface FileGrant {
  uuid: string;
  userName: string;
  password: string;
  fileName: string;
}

const quietLog = {
  child: () => quietLog,
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  fatal: () => {},
};

export class SimulatedFileStore {
  readonly uploadUser = 'upload';
  readonly uploadPassword: string;
  private readonly grants = new Map<string, FileGrant>();
  private ftp: FtpSrv | null = null;
  private readonly sockets = new Set<Socket>();
  private ftpPort: number;
  private s3server: S3rver | null = null;
  private s3client: S3Client | null = null;
  private s3Address: string | null = null;
  private readonly account = new AWSAccount(Math.floor(Math.random() * 1e11), 'okno-smev-sim');
  bytesPerSecond: number | null;
  uploadBytesPerSecond: number | null;
  /** Every FTP upload by the upload account: the path, APPE or not, the REST offset, and the bytes that arrived. */
  readonly ftpWrites: Array<{ path: string; append: boolean; start: number; bytes: number }> = [];
  /** Bytes served by FTP downloads (all of them). */
  ftpBytesServed = 0;
  /** Every FTP download (RETR) a per-file account made: the uuid and the offset it started at (REST). */
  readonly ftpReads: Array<{ uuid: string; start: number }> = [];

  private constructor(
    readonly dir: string,
    private readonly ownDir: boolean,
    private readonly options: SimulatedFileStoreOptions,
  ) {
    this.ftpPort = options.ftpPort ?? 0;
    this.bytesPerSecond = options.bytesPerSecond ?? null;
    this.uploadBytesPerSecond = options.uploadBytesPerSecond ?? null;
    this.uploadPassword = options.uploadPassword ?? randomBytes(12).toString('base64url');
  }

  static async start(options: SimulatedFileStoreOptions = {}): Promise<SimulatedFileStore> {
    const dir = options.dir ?? (await mkdtemp(path.join(tmpdir(), 'okno-file-store-')));
    await mkdir(path.join(dir, 'ftp'), { recursive: true });
    const store = new SimulatedFileStore(dir, !options.dir, options);
    await store.startFtp();
    if (options.s3 !== false) await store.startS3();
    return store;
  }

  get host(): string {
    return this.options.host ?? '127.0.0.1';
  }

  /** ftp://host:port (the exchange's fileStore.ftp; FTPS is offered by FEAT when tls is set). */
  get ftpUrl(): string {
    return `ftp://${this.host}:${this.ftpPort}`;
  }

  /** http://host:port of the S3-compatible store, or null. */
  get s3Endpoint(): string | null {
    return this.s3Address;
  }

  private get root(): string {
    return path.join(this.dir, 'ftp');
  }

  async startFtp(): Promise<void> {
    const server = new FtpSrv({
      url: `ftp://${this.host}:${this.ftpPort}`,
      pasv_url: this.host,
      pasv_min: 20000,
      pasv_max: 60000,
      anonymous: false,
      greeting: 'okno SMEV file store simulator',
      log: quietLog,
      ...(this.options.tls ? { tls: { key: this.options.tls.key, cert: this.options.tls.cert } } : {}),
    });
    server.on('login', ({ connection, username, password }, resolve, reject) => {
      if (username === this.uploadUser && password === this.uploadPassword) {
        resolve({ fs: new UploadFileSystem(connection, this.root, this) });
        return;
      }
      const grant = this.grants.get(username);
      if (!grant || grant.password !== password) {
        reject(new Error('530 login incorrect'));
        return;
      }
      resolve({ fs: new GrantedFileSystem(connection, this.root, grant.uuid, this) });
    });
    server.on('client-error', () => {});
    await server.listen();
    this.ftp = server;
    const net = (server as unknown as { server: Server }).server;
    net.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    const address = net.address() as AddressInfo;
    this.ftpPort = address.port;
  }

  /** Takes the FTP server down: open connections are cut (a transfer stops mid-file). */
  async stopFtp(): Promise<void> {
    const server = this.ftp;
    this.ftp = null;
    if (!server) return;
    // Cut everything at once, as a crashed server would: data connections (passive servers) and control sockets.
    const connections = (server as unknown as { connections: Record<string, { connector?: { end?(): unknown } }> }).connections ?? {};
    for (const c of Object.values(connections)) {
      try {
        c.connector?.end?.();
      } catch {
        // already gone
      }
    }
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    // ftp-srv's close waits for its connections' promises, which a cut transfer may leave unsettled: bounded.
    const closed = Promise.resolve(server.close()).catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, 3_000)))]);
    clearTimeout(timer);
    (server as unknown as { server: Server }).server.close();
  }

  private async startS3(): Promise<void> {
    const s3dir = path.join(this.dir, 's3');
    await mkdir(s3dir, { recursive: true });
    const server = new S3rver({ address: this.host, port: this.options.s3Port ?? 0, directory: s3dir, silent: true, configureBuckets: [{ name: FILE_STORE_BUCKET, configs: [] }] });
    const { address: host, port } = await server.run();
    this.s3server = server;
    this.s3Address = `http://${host}:${port}`;
    this.account.createKeyPair('okno-sim-upload', this.uploadPassword);
    // Senders upload with the same account as over FTP: user name as access key, password as secret.
    this.account.createKeyPair(this.uploadUser, this.uploadPassword);
    this.s3client = new S3Client({ endpoint: this.s3Address, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'okno-sim-upload', secretAccessKey: this.uploadPassword }, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
    await this.s3client.send(new CreateBucketCommand({ Bucket: FILE_STORE_BUCKET })).catch(() => undefined);
  }

  /** Puts a file at /{uuid}/{name}, as a sender's FTP upload would. */
  async put(uuid: string, fileName: string, content: Buffer | { file: string }): Promise<void> {
    if (!UUID_DIR.test(uuid)) throw new RangeError(`bad uuid ${uuid}`);
    const dir = path.join(this.root, uuid);
    await mkdir(dir, { recursive: true });
    const target = path.join(dir, path.basename(fileName));
    if (Buffer.isBuffer(content)) await writeFile(target, content);
    else {
      const { pipeline } = await import('node:stream/promises');
      const { createWriteStream } = await import('node:fs');
      await pipeline(createReadStream(content.file), createWriteStream(target));
    }
  }

  /** The file uploaded under a uuid (its name), or null. A file uploaded to S3 only is copied into the FTP tree. */
  async fileNameOf(uuid: string): Promise<string | null> {
    if (!UUID_DIR.test(uuid)) return null;
    try {
      const names = await readdir(path.join(this.root, uuid));
      if (names[0]) return names[0];
    } catch {
      // not over FTP; perhaps in S3
    }
    return this.fromS3(uuid);
  }

  /** An object `{uuid}/{name}` a sender put into the S3 bucket: copied to /{uuid}/{name}; its name, or null. */
  private async fromS3(uuid: string): Promise<string | null> {
    if (!this.s3client) return null;
    const listed = await this.s3client.send(new ListObjectsV2Command({ Bucket: FILE_STORE_BUCKET, Prefix: `${uuid}/` }));
    const key = listed.Contents?.find((o) => o.Key && o.Key.split('/').length === 2 && o.Key.split('/')[1])?.Key;
    if (!key) return null;
    const fileName = key.split('/')[1]!;
    const object = await this.s3client.send(new GetObjectCommand({ Bucket: FILE_STORE_BUCKET, Key: key }));
    await mkdir(path.join(this.root, uuid), { recursive: true });
    const { pipeline } = await import('node:stream/promises');
    const { createWriteStream } = await import('node:fs');
    await pipeline(object.Body as Readable, createWriteStream(path.join(this.root, uuid, fileName)));
    return fileName;
  }

  /** Per-file credentials for a uuid (FTP login and S3 access key), the file copied to S3. Null: no such file. */
  async grant(uuid: string): Promise<FileGrant | null> {
    const fileName = await this.fileNameOf(uuid);
    if (!fileName) return null;
    const grant: FileGrant = { uuid, userName: `f${randomBytes(9).toString('hex')}`, password: randomBytes(15).toString('base64url'), fileName };
    this.grants.set(grant.userName, grant);
    if (this.s3client) {
      this.account.createKeyPair(grant.userName, grant.password);
      const file = path.join(this.root, uuid, fileName);
      const { size } = await stat(file);
      await this.s3client.send(new PutObjectCommand({ Bucket: FILE_STORE_BUCKET, Key: `${uuid}/${fileName}`, Body: createReadStream(file), ContentLength: size }));
    }
    return grant;
  }

  async close(): Promise<void> {
    await this.stopFtp();
    this.s3client?.destroy();
    if (this.s3server) await this.s3server.close();
    if (this.ownDir) await rm(this.dir, { recursive: true, force: true });
  }

  /** A download stream, slowed when bytesPerSecond is set, counted. */
  served(stream: Readable): Readable {
    const rate = this.bytesPerSecond;
    const counter = new Transform({
      transform: (chunk: Buffer, _enc, done) => {
        this.ftpBytesServed += chunk.length;
        if (!rate) return done(null, chunk);
        setTimeout(() => done(null, chunk), Math.ceil((chunk.length / rate) * 1000));
      },
    });
    // ftp-srv reads `out` and listens to its errors: a read error is passed along (no stray 'error' events).
    const out = new PassThrough();
    stream.on('error', (e) => counter.destroy(e));
    counter.on('error', (e) => out.destroy(e));
    return stream.pipe(counter).pipe(out);
  }
}

/** The upload account: the whole tree, writes recorded (and slowed when uploadBytesPerSecond is set). */
class UploadFileSystem extends FileSystem {
  constructor(
    connection: ConstructorParameters<typeof FileSystem>[0],
    root: string,
    private readonly store: SimulatedFileStore,
  ) {
    super(connection, { root, cwd: '/' });
  }

  override write(fileName: string, options: { append?: boolean; start?: unknown } = {}): unknown {
    const start = typeof options.start === 'number' ? options.start : 0;
    const record = { path: path.posix.normalize(path.posix.isAbsolute(fileName) ? fileName : path.posix.join(this.cwd, fileName)), append: options.append === true, start, bytes: 0 };
    this.store.ftpWrites.push(record);
    const { stream, clientPath } = super.write(fileName, options) as { stream: NodeJS.WritableStream & { path?: string }; clientPath: string };
    const rate = this.store.uploadBytesPerSecond;
    // 'finish' only when the file has the bytes (ftp-srv answers 226 on it); errors passed along.
    const counted = new Writable({
      write: (chunk: Buffer, _enc, done) => {
        const go = () => {
          record.bytes += chunk.length;
          stream.write(chunk, (error?: Error | null) => done(error ?? null));
        };
        if (rate) setTimeout(go, Math.ceil((chunk.length / rate) * 1000));
        else go();
      },
      final: (done) => {
        stream.once('error', done);
        stream.end(() => done());
      },
      destroy: (error, done) => {
        (stream as unknown as { destroy?: (e?: Error) => void }).destroy?.(error ?? undefined);
        done(error);
      },
    });
    stream.on('error', (e: Error) => counted.destroy(e));
    // ftp-srv ends a stream that has 'close' listeners by emitting 'close' (its own file streams end on it).
    counted.once('close', () => {
      if (!counted.destroyed && !counted.writableEnded) counted.end();
    });
    return { stream: Object.assign(counted, { path: stream.path }), clientPath };
  }
}

/** What a per-file account sees: read-only, inside /{uuid}/ only. */
class GrantedFileSystem extends FileSystem {
  constructor(
    connection: ConstructorParameters<typeof FileSystem>[0],
    root: string,
    private readonly uuid: string,
    private readonly store: SimulatedFileStore,
  ) {
    super(connection, { root, cwd: '/' });
  }

  private allowed(p: string): boolean {
    const full = path.posix.normalize(path.posix.isAbsolute(p) ? p : path.posix.join(this.cwd, p));
    return full === `/${this.uuid}` || full.startsWith(`/${this.uuid}/`);
  }

  override get(fileName: string): Promise<unknown> {
    if (!this.allowed(fileName) && fileName !== '/' && fileName !== '.') return Promise.reject(Object.assign(new Error('550 not permitted'), { code: 550 }));
    return super.get(fileName) as Promise<unknown>;
  }

  override list(p = '.'): Promise<unknown> {
    if (!this.allowed(p)) return Promise.reject(Object.assign(new Error('550 not permitted'), { code: 550 }));
    return super.list(p) as Promise<unknown>;
  }

  override async read(fileName: string, options: { start?: unknown } = {}): Promise<unknown> {
    if (!this.allowed(fileName)) throw Object.assign(new Error('550 not permitted'), { code: 550 });
    this.store.ftpReads.push({ uuid: this.uuid, start: typeof options.start === 'number' ? options.start : 0 });
    const { stream, clientPath } = (await super.read(fileName, options as { start?: unknown })) as { stream: Readable; clientPath: string };
    return { stream: this.store.served(stream), clientPath };
  }

  override write(): never {
    throw Object.assign(new Error('550 read-only'), { code: 550 });
  }

  override delete(): never {
    throw Object.assign(new Error('550 read-only'), { code: 550 });
  }
}
