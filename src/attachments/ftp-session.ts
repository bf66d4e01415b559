/**
 * One logged-in FTP session with an exchange's file store, for downloads and uploads alike:
 * FTPS when the URL says ftps:// (required) or the server's FEAT offers AUTH TLS
 * (opportunistic), binary mode, and a watchdog that closes the client when nothing moves (no
 * reply, no byte) for twice the time limit — a server that vanished mid-transfer cannot leave
 * an attempt hanging. basic-ftp loads on first use.
 */
import type { Client } from 'basic-ftp';
import type { FileStoreCredentials } from '../flows/exchange-files.js';
import type { ExchangeFileStore } from '../registry/partners.js';

export interface FtpSession {
  client: Client;
  /** TLS is on (FTPS). */
  secure: boolean;
  /** Marks progress now (the watchdog counts from here). */
  touch(): void;
  close(): void;
}

export async function openFtpSession(store: ExchangeFileStore, credentials: FileStoreCredentials, options: { timeoutMs: number; ca?: string | Buffer }): Promise<FtpSession> {
  const url = new URL(store.ftp);
  const required = url.protocol === 'ftps:';
  const { Client: FtpClient } = await import('basic-ftp');
  const client = new FtpClient(options.timeoutMs);
  const tls = { rejectUnauthorized: !store.insecureTls, servername: url.hostname, ...(options.ca ? { ca: options.ca } : {}) };
  let lastProgress = Date.now();
  client.trackProgress(() => (lastProgress = Date.now()));
  const watchdog = setInterval(() => {
    if (Date.now() - lastProgress > options.timeoutMs * 2) client.close();
  }, Math.max(100, Math.floor(options.timeoutMs / 2)));
  const close = () => {
    clearInterval(watchdog);
    client.trackProgress();
    client.close();
  };
  try {
    await client.connect(url.hostname, url.port ? Number(url.port) : 21);
    let secure = false;
    if (required) {
      await client.useTLS(tls);
      secure = true;
    } else {
      // FEAT before login: some servers answer it only afterwards (502), so no answer means no TLS offered.
      const features = await client.features().catch(() => new Map<string, string>());
      if ((features.get('AUTH') ?? '').toUpperCase().includes('TLS')) {
        // Opportunistic: some servers list AUTH TLS and then refuse it (5xx); the session goes on in plain FTP.
        // ftps:// in the registry makes TLS a requirement instead.
        secure = await client.useTLS(tls).then(
          () => true,
          (error: unknown) => {
            if (typeof (error as { code?: unknown }).code === 'number' && (error as { code: number }).code >= 500) return false;
            throw error;
          },
        );
      }
    }
    lastProgress = Date.now();
    await client.login(credentials.userName, credentials.password);
    await client.useDefaultSettings();
    return { client, secure, touch: () => (lastProgress = Date.now()), close };
  } catch (error) {
    close();
    throw error;
  }
}
