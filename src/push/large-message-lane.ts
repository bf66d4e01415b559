/**
 * The large-message lane: SOAP bodies of LARGE_MESSAGE_BYTES or more are
 * processed by worker threads (LARGE_MESSAGE_THREADS per process) running the
 * same intake as the event loop (smev-intake.ts) with their own store
 * connection.
 *
 * Why: a 1 MB envelope costs ~150–200 ms of CPU (parse, digest, XSD, JSON,
 * the store write). On the event loop, every small message that arrives
 * meanwhile waits for all of it, so one large message in a hundred sets the
 * p99 of all the others. In a thread the operating system shares the cores
 * between the two, and the event loop stays free for the small ones.
 *
 * Measured (2 cores, the bench's X-Road size mix, Okno ×1 at concurrency
 * 2): moving bodies of 64 KiB or more (the 100 KB and 1 MB classes) to two
 * threads raised throughput from ~172 to ~265–280 req/s at the same p99
 * (~45 ms): the large messages use the other core, and their garbage stays in
 * the threads' heaps instead of the event loop's.
 *
 * Huge bodies have threads of their own (LARGE_MESSAGE_HUGE_BYTES, 512 KiB):
 * with two threads or more, the second half of them takes the bodies of at
 * least that size, at a lower CPU priority (LARGE_MESSAGE_HUGE_NICE), and the
 * first half the others from LARGE_MESSAGE_BYTES up. Why: on a busy machine
 * the operating system shares the cores evenly between the runnable threads,
 * so a 1 MB message (~220 ms of CPU) in a thread still takes the core from the
 * event loop half the time (every lane thread's wake-up preempts it), and the
 * small messages queued there wait. Niced, the huge message takes the CPU the
 * event loop and the 100 KB messages leave; the 100 KB ones keep the normal
 * priority and do not starve (which niceing the whole lane did: p50 ~1 s at
 * concurrency 32). Measured with `npm run bench`, cell "mix + 1 MB".
 *
 * What stays on the event loop: the connection (HTTP, TLS, the client and
 * in-flight limits), the partner quota (one bucket per process: the thread
 * asks for it by message once the signature is verified), the ops event and
 * the reply. The thread's log lines go to the process's logger.
 *
 * Signing: with a key held in the process (files), each thread loads and uses
 * it itself. With a PKCS#11 token, only the event loop talks to the token (one
 * module instance and login per process); a thread sends SignedInfo over its
 * MessagePort and gets the signature back (`sign` / `signed` messages); each
 * request names the certificate it was built for, and a key reload hands the
 * threads the new certificate (`reload-keys`).
 *
 * Needs Redis (threads cannot share the in-memory store). When a thread is
 * not ready, fails or dies, the message is processed on the event loop instead
 * (a message the thread already stored is then answered as a duplicate with
 * the same signed reply: the idempotency record is in the store); a dead
 * thread is restarted, one that cannot start is given up after a few tries.
 */
import { Worker } from 'node:worker_threads';
import { pino } from 'pino';
import { usesRedis, type Config } from '../config/env.js';
import type { PartnerRegistry } from '../registry/partners.js';
import type { Logger } from '../log.js';
import { parseCertificate } from '../pki/certificate.js';
import type { CrlSet } from '../pki/crl-set.js';
import type { RevocationChecker, RevocationVerdict } from '../pki/ocsp-client.js';
import { forwardedKeyOf, type ForwardedKey } from '../pki/forwarding-signer.js';
import type { Signer } from '../pki/signer.js';
import { snapshotOf } from '../pki/swappable-signer.js';
import { SmevFault } from '../soap/faults.js';
import type { IntakeLog, SmevAnswer, SmevPost } from './smev-intake.js';

/** Main thread → lane thread. */
export type ToLane =
  | { type: 'process'; id: number; post: SmevPost }
  | { type: 'quota'; id: number; ok: true }
  | { type: 'quota'; id: number; ok: false; message: string; retryAfterSeconds: number }
  | { type: 'revocation'; id: number; verdict: RevocationVerdict }
  | { type: 'crls'; crls: Array<{ source: string; der: Uint8Array }> }
  | { type: 'signed'; id: number; signature: Uint8Array }
  | { type: 'signed'; id: number; error: string }
  /** Reload the gateway key from the configured files (the event loop already did, and got `fingerprint`). */
  /** `partners`: read PARTNERS_FILE again too (the event loop took it). */
  | { type: 'reload-keys'; id: number; fingerprint: string; forwardedKey: ForwardedKey | null; partners: boolean }
  | { type: 'close' };

/** What a lane thread is started with. */
export interface LaneWorkerData {
  config: Config;
  index: number;
  /** Linux nice value the thread runs at (0: as the process). */
  nice: number;
  /** Set when the event loop signs for the thread (a PKCS#11 token): the key's certificate and algorithm. */
  forwardedKey: ForwardedKey | null;
}

/** Lane thread → main thread. */
export type FromLane =
  /** `fingerprint`: of the gateway certificate the thread signs with. */
  | { type: 'ready'; fingerprint: string }
  | { type: 'keys-reloaded'; id: number; ok: boolean; problem: string | null; fingerprint: string }
  | { type: 'failed'; message: string }
  | { type: 'answer'; id: number; answer: SmevAnswer }
  | { type: 'error'; id: number; message: string }
  | { type: 'quota'; id: number; partnerId: string }
  | { type: 'revocation'; id: number; leaf: Uint8Array; issuer: Uint8Array; now: number }
  /** `fingerprint`: of the certificate the thread built the signature for. */
  | { type: 'sign'; id: number; fingerprint: string; data: Uint8Array }
  | { type: 'log'; line: string }
  | { type: 'closed' };

export interface LaneOptions {
  config: Config;
  partners: PartnerRegistry;
  logger: Logger;
  /** The partner quota, taken on the event loop (throws SmevFault QuoteLimitExceeded). */
  takePartnerQuota(partnerId: string): void | Promise<void>;
  /** Where a message goes when no thread can take it. */
  fallback(post: SmevPost, log: IntakeLog): Promise<SmevAnswer>;
  /** OCSP, asked on the event loop so that one cache serves the process (null: OCSP=off). */
  revocation?: RevocationChecker | null;
  /** The event loop's CRLs: handed to each thread when it is ready and after every refresh. */
  crlSet?: CrlSet;
  /** Signs for the threads (a PKCS#11 token's signer); null: each thread signs with the key files itself. */
  eventLoopSigner?: Signer | null;
  /** The event loop's signer for a certificate (SHA-256): the key in use, or one a reload just replaced. */
  signerFor?(fingerprint: string): Signer | null;
  /** SHA-256 of the gateway certificate the event loop signs with now (a thread that started with another reloads). */
  keyFingerprint(): string;
}

/** One thread's answer to a key reload. */
export interface LaneReload {
  thread: number;
  ok: boolean;
  problem: string | null;
}

/** Gives up restarting a thread after this many failed starts in a row. */
const MAX_FAILED_STARTS = 3;

type Pending = { resolve(answer: SmevAnswer): void; reject(error: Error): void };

class LaneThread {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private readonly reloads = new Map<number, (r: LaneReload) => void>();
  private nextReload = 1;
  private failedStarts = 0;
  private everReady = false;
  ready = false;
  inFlight = 0;

  constructor(
    private readonly o: LaneOptions,
    private readonly index: number,
    /** Takes the bodies of LARGE_MESSAGE_HUGE_BYTES or more (when the lane is split). */
    readonly huge: boolean,
    private readonly nice: number,
    private readonly isClosing: () => boolean,
  ) {
    this.start();
  }

  private start(): void {
    const signer = this.o.eventLoopSigner ?? null;
    const worker = startWorker({ config: this.o.config, index: this.index, nice: this.nice, forwardedKey: signer ? forwardedKeyOf(snapshotOf(signer)) : null });
    this.everReady = false;
    this.worker = worker;
    worker.on('message', (m: FromLane) => this.onMessage(m));
    worker.on('error', (error) => this.o.logger.error({ err: error, thread: this.index }, 'large-message thread failed'));
    worker.on('exit', (code) => this.onExit(code));
  }

  private onMessage(m: FromLane): void {
    switch (m.type) {
      case 'ready':
        this.sendCrls();
        this.ready = true;
        this.everReady = true;
        this.failedStarts = 0;
        this.o.logger.debug({ thread: this.index }, 'large-message thread ready');
        // It read the key files while starting: if the key was reloaded meanwhile, it follows.
        if (m.fingerprint !== this.o.keyFingerprint()) {
          void this.reloadKeys(this.o.keyFingerprint()).then((r) => {
            if (!r.ok) this.o.logger.error({ thread: this.index, problem: r.problem }, `large-message thread could not load the gateway key in use: ${r.problem}`);
          });
        }
        return;
      case 'keys-reloaded': {
        const done = this.reloads.get(m.id);
        this.reloads.delete(m.id);
        done?.({ thread: this.index, ok: m.ok, problem: m.problem });
        return;
      }
      case 'failed':
        this.o.logger.error({ thread: this.index, problem: m.message }, `large-message thread could not start: ${m.message}`);
        return;
      case 'answer':
      case 'error': {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        this.inFlight -= 1;
        if (m.type === 'answer') p.resolve(m.answer);
        else p.reject(new Error(m.message));
        return;
      }
      case 'quota':
        void (async () => this.o.takePartnerQuota(m.partnerId))().then(
          () => this.worker?.postMessage({ type: 'quota', id: m.id, ok: true } satisfies ToLane),
          (error: unknown) => {
            const fault = error instanceof SmevFault ? error : new SmevFault('SMEVFailure', 'quota check failed');
            this.worker?.postMessage({ type: 'quota', id: m.id, ok: false, message: fault.message, retryAfterSeconds: fault.extra.retryAfterSeconds ?? 1 } satisfies ToLane);
          },
        );
        return;
      case 'revocation': {
        const answer = (verdict: RevocationVerdict) => this.worker?.postMessage({ type: 'revocation', id: m.id, verdict } satisfies ToLane);
        const checker = this.o.revocation;
        if (!checker) return answer({ status: 'skipped', why: 'OCSP=off' });
        void checker.check(parseCertificate(m.leaf), parseCertificate(m.issuer), new Date(m.now)).then(answer, (error: Error) =>
          answer({ status: 'unavailable', responder: '?', problem: error.message, acceptedOnOutage: false }),
        );
        return;
      }
      case 'sign': {
        const worker = this.worker;
        // The key the thread built SignedInfo for (its certificate is in KeyInfo): the one in use, or one just replaced.
        const signer = this.o.signerFor ? this.o.signerFor(m.fingerprint) : this.o.eventLoopSigner;
        if (!signer) {
          const error = this.o.eventLoopSigner ? `the gateway key ${m.fingerprint.slice(0, 16)}… this signature was begun with is no longer in use` : 'no signer on the event loop';
          worker?.postMessage({ type: 'signed', id: m.id, error } satisfies ToLane);
          return;
        }
        signer.sign(m.data).then(
          (signature) => worker?.postMessage({ type: 'signed', id: m.id, signature: new Uint8Array(signature) } satisfies ToLane),
          (error: unknown) => worker?.postMessage({ type: 'signed', id: m.id, error: (error as Error).message } satisfies ToLane),
        );
        return;
      }
      case 'log':
        writeLine(this.o.logger, m.line);
        return;
      case 'closed':
        return;
    }
  }

  private onExit(code: number): void {
    this.ready = false;
    if (!this.everReady) this.failedStarts += 1;
    this.worker = null;
    for (const p of this.pending.values()) p.reject(new Error(`large-message thread exited (${code})`));
    this.pending.clear();
    // A restarted thread reads the key files afresh (and follows the key in use when it is ready).
    for (const done of this.reloads.values()) done({ thread: this.index, ok: true, problem: null });
    this.reloads.clear();
    this.inFlight = 0;
    if (this.isClosing()) return;
    if (this.failedStarts >= MAX_FAILED_STARTS) {
      this.o.logger.error({ thread: this.index }, 'large-message thread gave up after failed starts: large messages are processed on the event loop');
      return;
    }
    this.o.logger.warn({ thread: this.index, code }, 'large-message thread exited; restarting it');
    setTimeout(() => {
      if (!this.isClosing()) this.start();
    }, 200 * (this.failedStarts + 1)).unref();
  }

  /** The event loop's current CRLs, to the thread (its TrustAnchorSet then judges by them). */
  sendCrls(): void {
    if (!this.o.crlSet) return;
    this.worker?.postMessage({ type: 'crls', crls: this.o.crlSet.crls.map((c) => ({ source: c.file, der: new Uint8Array(c.der) })) } satisfies ToLane);
  }

  process(id: number, post: SmevPost): Promise<SmevAnswer> {
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.inFlight += 1;
      this.worker!.postMessage({ type: 'process', id, post } satisfies ToLane);
    });
  }

  /** Asks the thread to reload its key; a thread not running now loads the files when it starts. */
  reloadKeys(fingerprint: string, partners = false): Promise<LaneReload> {
    const worker = this.worker;
    if (!worker) return Promise.resolve({ thread: this.index, ok: true, problem: null });
    return new Promise((resolve) => {
      const id = this.nextReload++;
      this.reloads.set(id, resolve);
      const signer = this.o.eventLoopSigner;
      worker.postMessage({ type: 'reload-keys', id, fingerprint, forwardedKey: signer ? forwardedKeyOf(snapshotOf(signer)) : null, partners } satisfies ToLane);
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ type: 'close' } satisfies ToLane);
    const timer = setTimeout(() => void worker.terminate(), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

export class LargeMessageLane {
  private readonly threads: LaneThread[];
  private nextId = 1;
  private closing = false;

  private readonly stopCrls: () => void;

  /** Bodies of at least this many bytes go to the huge threads; Infinity: the lane is not split. */
  private readonly hugeBytes: number;

  private constructor(private readonly o: LaneOptions) {
    const { threads, bytes, nice, hugeBytes, hugeNice } = o.config.largeMessages;
    // Split with two threads or more: the first half for the large bodies, the second half for the huge ones.
    const split = threads >= 2 && hugeBytes > bytes;
    this.hugeBytes = split ? hugeBytes : Infinity;
    const firstHuge = split ? Math.ceil(threads / 2) : threads;
    this.threads = Array.from({ length: threads }, (_, i) => new LaneThread(o, i, i >= firstHuge, i >= firstHuge ? Math.max(nice, hugeNice) : nice, () => this.closing));
    this.stopCrls = o.crlSet?.onChange(() => this.threads.forEach((t) => t.sendCrls())) ?? (() => {});
  }

  /** A lane when the configuration asks for threads and the store is Redis; else null (everything on the event loop). */
  static start(o: LaneOptions): LargeMessageLane | null {
    if (o.config.largeMessages.threads === 0 || !usesRedis(o.config)) return null;
    return new LargeMessageLane(o);
  }

  /** True when a body this large goes to a thread (and one is ready). */
  takes(bytes: number): boolean {
    return !this.closing && bytes >= this.o.config.largeMessages.bytes && this.threads.some((t) => t.ready);
  }

  /** Threads ready to take messages (for /ready). */
  get readyThreads(): number {
    return this.threads.filter((t) => t.ready).length;
  }

  get size(): number {
    return this.threads.length;
  }

  /** For /ready: how the threads are split by size, or null. */
  get split(): { hugeBytes: number; hugeThreads: number } | null {
    return Number.isFinite(this.hugeBytes) ? { hugeBytes: this.hugeBytes, hugeThreads: this.threads.filter((t) => t.huge).length } : null;
  }

  async process(post: SmevPost, log: IntakeLog): Promise<SmevAnswer> {
    // The threads of the body's size (huge or not); when none of them is ready, any ready one.
    const huge = post.raw.length >= this.hugeBytes;
    const ready = this.threads.filter((t) => t.ready);
    const own = ready.filter((t) => t.huge === huge);
    const candidates = own.length > 0 ? own : ready;
    const thread = candidates.reduce((a, b) => (b.inFlight < a.inFlight ? b : a), candidates[0]!);
    try {
      return await thread.process(this.nextId++, post);
    } catch (error) {
      log.warn({ err: error }, 'large-message thread could not process the message; processing it on the event loop');
      return this.o.fallback(post, log);
    }
  }

  /** Every thread reloads the gateway key (after the event loop did, to `fingerprint`), and PARTNERS_FILE when `partners`. */
  reloadKeys(fingerprint: string, partners = false): Promise<LaneReload[]> {
    return Promise.all(this.threads.map((t) => t.reloadKeys(fingerprint, partners)));
  }

  /** After the HTTP server has closed (no message in flight): the threads close their stores and exit. */
  async close(): Promise<void> {
    this.closing = true;
    this.stopCrls();
    await Promise.all(this.threads.map((t) => t.close()));
  }
}

/**
 * The compiled worker next to this module (dist/). Running from the
 * TypeScript sources (tests, tsx), the thread registers tsx's loader first:
 * worker threads do not take `--import` in execArgv.
 */
function startWorker(workerData: LaneWorkerData): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./large-message-worker.js', import.meta.url), { workerData, stdout: false, stderr: false });
  const entry = new URL('./large-message-worker.ts', import.meta.url).href;
  const boot = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true, workerData, stdout: false, stderr: false });
}

/** A thread's log line, written as is to the process's log destination (same format, already redacted). */
function writeLine(logger: Logger, line: string): void {
  const stream = (logger as unknown as Record<symbol, { write(s: string): void } | undefined>)[pino.symbols.streamSym];
  if (stream) stream.write(line);
}
