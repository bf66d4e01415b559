/**
 * The CRLs in use, kept fresh while the gateway runs:
 *
 * - CRL_FILES are read at start-up (a bad one stops it, see crl.ts) and read
 *   again when a file changes (its mtime or size);
 * - CRLs are downloaded from the distribution points the registered partners'
 *   and the trusted CAs' certificates name (CRL_DOWNLOAD=on), and from
 *   CRL_URLS, at start-up and every CRL_REFRESH_INTERVAL_MS — sooner again
 *   while one is missing or past its nextUpdate.
 *
 * A new CRL counts only when a trusted CA signed it and it is not older than
 * the one it replaces (no rollback to a list from before a revocation). One
 * that cannot be read, downloaded or trusted leaves the previous one in use,
 * is logged, and /ready shows it (a warning once the CRL in use is past its
 * nextUpdate, or when a distribution point never gave one).
 *
 * The large-message threads do not download: the event loop hands them every
 * new set (replace()), so a process's threads and its event loop judge by
 * the same CRLs.
 */
import { readFileSync, statSync } from 'node:fs';
import type { Logger } from '../log.js';
import type { Certificate } from './certificate.js';
import { trustCrl, type TrustedCrl } from './crl.js';

export interface CrlLookup {
  /** The CRLs signed by the anchor with this SHA-256 fingerprint. */
  forIssuer(anchorFingerprint: string): readonly TrustedCrl[];
}

export interface CrlSourceState {
  readonly source: string;
  readonly kind: 'file' | 'url';
  readonly crl: TrustedCrl | null;
  readonly lastAttempt: string | null;
  readonly lastSuccess: string | null;
  /** The last attempt's problem (null when it succeeded or nothing changed). */
  readonly lastError: string | null;
}

interface SourceState {
  source: string;
  kind: 'file' | 'url';
  crl: TrustedCrl | null;
  lastAttemptMs: number;
  lastSuccessMs: number;
  lastError: string | null;
  /** Files: what was last read (mtime and size). */
  stamp: string | null;
}

export interface CrlSetOptions {
  anchors: readonly Certificate[];
  /** CRL_FILES, already loaded and checked at start-up. */
  files: readonly TrustedCrl[];
  /** URLs to download (distribution points and CRL_URLS). */
  urls: readonly string[];
  intervalMs: number;
  timeoutMs: number;
  logger: Pick<Logger, 'info' | 'warn'>;
  fetchImpl?: typeof fetch;
}

/** A CRL is a few KB to a few MB; a national CA's can be large. */
const MAX_CRL_BYTES = 64 * 1024 * 1024;
/** While a source is failing or stale, it is tried again this often (or at the interval, when shorter). */
const RETRY_MS = 60_000;

export class CrlSet implements CrlLookup {
  private readonly sources: SourceState[];
  private byIssuer = new Map<string, TrustedCrl[]>();
  private readonly listeners = new Set<(crls: readonly TrustedCrl[]) => void>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private readonly fetchImpl: typeof fetch;

  private anchors: readonly Certificate[];

  constructor(private readonly o: CrlSetOptions) {
    this.anchors = o.anchors;
    this.fetchImpl = o.fetchImpl ?? fetch;
    const now = Date.now();
    this.sources = [
      ...o.files.map((crl): SourceState => ({ source: crl.file, kind: 'file', crl, lastAttemptMs: now, lastSuccessMs: now, lastError: null, stamp: fileStamp(crl.file) })),
      ...o.urls.map((url): SourceState => ({ source: url, kind: 'url', crl: null, lastAttemptMs: 0, lastSuccessMs: 0, lastError: null, stamp: null })),
    ];
    this.index();
  }

  /** A set that never refreshes (CLI tools, tests), from CRLs already checked. */
  static fixed(crls: readonly TrustedCrl[]): CrlSet {
    return new CrlSet({ anchors: [], files: crls, urls: [], intervalMs: 0, timeoutMs: 0, logger: { info() {}, warn() {} } });
  }

  forIssuer(anchorFingerprint: string): readonly TrustedCrl[] {
    return this.byIssuer.get(anchorFingerprint) ?? [];
  }

  /** Every CRL in use now. */
  get crls(): readonly TrustedCrl[] {
    return this.sources.flatMap((s) => (s.crl ? [s.crl] : []));
  }

  get states(): readonly CrlSourceState[] {
    const iso = (ms: number) => (ms ? new Date(ms).toISOString() : null);
    return this.sources.map((s) => ({ source: s.source, kind: s.kind, crl: s.crl, lastAttempt: iso(s.lastAttemptMs), lastSuccess: iso(s.lastSuccessMs), lastError: s.lastError }));
  }

  /** Called with the whole set after every change (the lane hands it to its threads). */
  onChange(listener: (crls: readonly TrustedCrl[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Replaces the whole set with CRLs another thread fetched (each checked again against the anchors). */
  /** The CA certificates later CRLs must be signed by (TRUST_CA_FILE reloaded); the CRLs held stay. */
  setAnchors(anchors: readonly Certificate[]): void {
    this.anchors = anchors;
  }

  replace(list: ReadonlyArray<{ source: string; der: Uint8Array }>): void {
    this.sources.length = 0;
    for (const item of list) {
      try {
        const crl = trustCrl(item.der, item.source, this.anchors);
        this.sources.push({ source: item.source, kind: /^https?:/i.test(item.source) ? 'url' : 'file', crl, lastAttemptMs: Date.now(), lastSuccessMs: Date.now(), lastError: null, stamp: null });
      } catch (error) {
        this.o.logger.warn({ crl: item.source, problem: (error as Error).message }, 'a CRL handed over is not trusted; ignored');
      }
    }
    this.index();
  }

  /** Starts the schedule (no-op when CRL_REFRESH_INTERVAL_MS=0). */
  start(): void {
    if (this.o.intervalMs === 0 || this.timer) return;
    this.timer = setInterval(() => void this.refresh(), Math.min(this.o.intervalMs, RETRY_MS));
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One round: changed files read again, due URLs downloaded. Rounds never overlap. */
  refresh(force = false): Promise<void> {
    this.running ??= this.round(force).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async round(force: boolean): Promise<void> {
    const now = Date.now();
    let changed = false;
    await Promise.all(
      this.sources.map(async (s) => {
        if (s.kind === 'file') {
          const stamp = fileStamp(s.source);
          if (!force && stamp === s.stamp) return;
          s.stamp = stamp;
          changed = this.take(s, () => readFileSync(s.source), now) || changed;
          return;
        }
        if (!force && !this.due(s, now)) return;
        const bytes = await this.download(s.source).catch((error: Error & { cause?: { code?: string } }) =>
          error.name === 'TimeoutError' ? new Error(`no answer within ${this.o.timeoutMs} ms`) : new Error(`download failed: ${error.cause?.code ?? error.message}`),
        );
        changed = this.take(s, () => {
          if (bytes instanceof Error) throw bytes;
          return bytes;
        }, now) || changed;
      }),
    );
    if (changed) {
      this.index();
      for (const listener of this.listeners) listener(this.crls);
    }
  }

  private due(s: SourceState, now: number): boolean {
    const since = now - s.lastAttemptMs;
    if (since >= this.o.intervalMs) return true;
    const troubled = !s.crl || s.lastError !== null || (s.crl.nextUpdate !== null && s.crl.nextUpdate.getTime() < now);
    return troubled && since >= Math.min(RETRY_MS, this.o.intervalMs);
  }

  /** Reads one source; true when the CRL in use changed. A problem keeps the old one. */
  private take(s: SourceState, read: () => Buffer, now: number): boolean {
    s.lastAttemptMs = now;
    try {
      const crl = trustCrl(read(), s.source, this.anchors);
      if (s.crl && crl.thisUpdate < s.crl.thisUpdate) throw new Error(`its thisUpdate ${crl.thisUpdate.toISOString()} is older than the CRL in use (${s.crl.thisUpdate.toISOString()})`);
      const same = s.crl?.der.equals(crl.der) ?? false;
      s.crl = crl;
      s.lastSuccessMs = now;
      s.lastError = null;
      if (!same) this.o.logger.info({ crl: s.source, revoked: crl.revoked.size, nextUpdate: crl.nextUpdate?.toISOString() ?? null }, `CRL ${s.source} loaded: ${crl.revoked.size} revoked`);
      return !same;
    } catch (error) {
      s.lastError = (error as Error).message;
      this.o.logger.warn({ crl: s.source, problem: s.lastError, keeping: s.crl ? s.crl.thisUpdate.toISOString() : null }, `CRL ${s.source} could not be refreshed${s.crl ? '; the previous one stays in use' : ''}: ${s.lastError}`);
      return false;
    }
  }

  private async download(url: string): Promise<Buffer> {
    const response = await this.fetchImpl(url, { signal: AbortSignal.timeout(this.o.timeoutMs), redirect: 'follow' });
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new Error(`HTTP ${response.status}`);
    }
    const body = Buffer.from(await response.arrayBuffer());
    if (body.length > MAX_CRL_BYTES) throw new Error(`too large (${body.length} bytes)`);
    return body;
  }

  private index(): void {
    const map = new Map<string, TrustedCrl[]>();
    for (const crl of this.crls) {
      const key = crl.issuerCertificate.fingerprintSha256;
      map.set(key, [...(map.get(key) ?? []), crl]);
    }
    this.byIssuer = map;
  }
}

function fileStamp(file: string): string | null {
  try {
    const st = statSync(file);
    return `${st.mtimeMs}:${st.size}`;
  } catch {
    return null;
  }
}

/** The http(s) CRL distribution points named by these certificates, once each. */
export function distributionPoints(certificates: Iterable<Certificate>): string[] {
  const urls = new Set<string>();
  for (const c of certificates) for (const u of c.crlDistributionPoints) if (/^https?:\/\//i.test(u)) urls.add(u);
  return [...urls];
}
