/**
 * The gateway's key in a PKCS#11 token (GATEWAY_PKCS11_*): the private key never
 * leaves the token; Okno hands it SignedInfo (or its digest) and gets the
 * signature back, through pkcs11js (a maintained Node-API binding).
 *
 * Start-up (openPkcs11Identity) loads the module, finds the token by label, logs
 * in with the PIN from its file, finds the key, reads the certificate (file or
 * token), picks the mechanism the token offers for the key, and signs a random
 * challenge that the certificate's public key must verify. Any failure names the
 * variable to fix (KeyMaterialError → exit 78).
 *
 * While running, a token that stops answering (unplugged, its daemon restarted,
 * its files gone) makes sign() throw SignerError at once — the SOAP reply becomes
 * an SMEVFailure fault, delivery workers retry — and health() fail (/ready 503).
 * The next attempt after a backoff (0.5 s doubling to 30 s) finalizes the module,
 * initializes it again, opens a session and logs in anew, so both recover when
 * the token is back. A PIN the token refuses at run time is not tried again
 * (a token locks itself after a few wrong PINs): that needs a restart.
 *
 * One module instance per process, on the main thread only: PKCS#11 login state
 * is per application, and pkcs11js keeps a process-global constructor reference
 * that is not safe across worker threads. The large-message threads ask the event
 * loop to sign over their MessagePort (soap/large-message-lane.ts). Signatures
 * run in libuv's thread pool (C_SignAsync) on up to MAX_SESSIONS sessions at once.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as P11 from 'pkcs11js';
import type { Pkcs11Source } from '../config/env.js';
import {
  ECDSA_SHA256_URI,
  getDigestAlgorithm,
  getSignatureAlgorithm,
  GOST2012_256_URI,
  GOST2012_512_URI,
  RSA_SHA256_URI,
  STREEBOG256_URI,
  STREEBOG512_URI,
  type DigestAlgorithm,
  type SignatureAlgorithm,
} from '../signature/algorithms/index.js';
import { SignerError, type Signer, type SignerHealth } from '../signature/signer.js';
import { parseCertificate, type Certificate } from './certificate.js';
import { pem as pemArmour } from './der-writer.js';
import { KeyMaterialError } from './key-material-error.js';
import { plansFor, type KeyPlans, type SignPlan } from './pkcs11-mechanisms.js';

type Pkcs11Module = typeof P11;

/** Where state changes of the token are reported (the gateway's logger). */
export interface Pkcs11Log {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface Pkcs11Identity {
  signer: Pkcs11Signer;
  certificatePem: string;
  chainPems: string[];
  keyDescription: string;
  /** e.g. `PKCS#11 token "city-gw" key "okno-2026" (/usr/lib/librtpkcs11ecp.so)`. */
  source: string;
}

/** Sessions signing at once (a token serialises them anyway; more would only queue inside it). */
const MAX_SESSIONS = 4;
/** A signature the token has not returned within this is abandoned and the token counted as down. */
const SIGN_TIMEOUT_MS = 15_000;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_CAP_MS = 30_000;

const SIGNATURE_URI = { rsa: RSA_SHA256_URI, 'ec-p256': ECDSA_SHA256_URI, 'gost2012-256': GOST2012_256_URI, 'gost2012-512': GOST2012_512_URI } as const;
const DIGESTS: Record<string, () => DigestAlgorithm | 'sha256'> = {
  sha256: () => 'sha256',
  streebog256: () => getDigestAlgorithm(STREEBOG256_URI),
  streebog512: () => getDigestAlgorithm(STREEBOG512_URI),
};

/** Opens the token and returns the signer and certificate; throws KeyMaterialError naming the variable. */
export function openPkcs11Identity(source: Pkcs11Source, log?: Pkcs11Log): Pkcs11Identity {
  const lib = loadBinding();
  const pin = readPin(source.pinFile);
  const p11 = new lib.PKCS11();
  try {
    p11.load(source.module);
  } catch (error) {
    throw new KeyMaterialError('GATEWAY_PKCS11_MODULE', `cannot load the PKCS#11 module ${source.module}: ${(error as Error).message}`);
  }
  const link = new TokenLink(lib, p11, source, pin);
  try {
    link.connect(true);
    const { certificatePem, certificate, fromToken } = readCertificate(link, source);
    const certVariable = fromToken ? 'GATEWAY_PKCS11_KEY' : 'GATEWAY_CERT_FILE';
    const keyAlgorithm = certificate.keyAlgorithm;
    const uri = keyAlgorithm && keyAlgorithm in SIGNATURE_URI ? SIGNATURE_URI[keyAlgorithm as keyof typeof SIGNATURE_URI] : null;
    const plans = keyAlgorithm ? plansFor(keyAlgorithm, lib) : null;
    if (!uri || !plans) throw new KeyMaterialError(certVariable, `certificate "${certificate.subject}" holds a ${keyAlgorithm ?? 'unknown'} key, which cannot sign through PKCS#11 here (RSA, ECDSA P-256, GOST R 34.10-2012 256/512)`);
    link.checkKeyType(plans, keyAlgorithm!);
    const plan = link.choosePlan(plans);
    const algorithm = getSignatureAlgorithm(uri);
    const signer = new Pkcs11Signer(link, plan, certificate, algorithm, log);
    signer.selfTest(certVariable);
    return {
      signer,
      certificatePem,
      chainPems: [],
      keyDescription: `${describeKey(certificate)} (${plan.name})`,
      source: `PKCS#11 token "${source.token}" key ${keyName(source)} (${source.module})`,
    };
  } catch (error) {
    link.disconnect();
    try {
      p11.close();
    } catch {
      // the module is unloaded on exit anyway
    }
    if (error instanceof KeyMaterialError) throw error;
    throw new KeyMaterialError('GATEWAY_PKCS11_MODULE', `PKCS#11 failed: ${(error as Error).message}`);
  }
}

/** The binding is loaded only when a token is configured: a gateway with key files never needs the native addon. */
function loadBinding(): Pkcs11Module {
  try {
    return createRequire(import.meta.url)('pkcs11js') as Pkcs11Module;
  } catch (error) {
    throw new KeyMaterialError('GATEWAY_PKCS11_MODULE', `the pkcs11js native addon is not available (npm ci builds it with node-gyp: python3, make, g++): ${(error as Error).message}`);
  }
}

function readPin(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new KeyMaterialError('GATEWAY_PKCS11_PIN_FILE', `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const pin = text.replace(/\r?\n$/, '');
  if (!pin) throw new KeyMaterialError('GATEWAY_PKCS11_PIN_FILE', `${file} is empty`);
  return pin;
}

function keyName(source: Pkcs11Source): string {
  return 'label' in source.key ? `"${source.key.label}"` : `id:${source.key.id}`;
}

function describeKey(cert: Certificate): string {
  const k = cert.publicKey;
  if (k && 'asymmetricKeyType' in k) {
    if (k.asymmetricKeyType === 'rsa') return `rsa-${k.asymmetricKeyDetails?.modulusLength ?? '?'}`;
    if (k.asymmetricKeyType === 'ec') return `ec-${k.asymmetricKeyDetails?.namedCurve ?? '?'}`;
  }
  return cert.keyAlgorithm ?? 'unknown';
}

function ckr(error: unknown): string {
  const e = error as { code?: number; message?: string };
  return typeof e.code === 'number' && e.code > 0 ? (e.message ?? `CKR 0x${e.code.toString(16)}`) : (e.message ?? String(error));
}

function ulong(value: Buffer | undefined): number {
  if (!value || value.length === 0) return -1;
  return value.length >= 8 ? Number(value.readBigUInt64LE(0)) : value.readUInt32LE(0);
}

/**
 * The connection to the token: module initialized, slot, logged-in sessions, key handle.
 * Every call here is synchronous (fast metadata calls); only signatures run off the event loop.
 */
class TokenLink {
  connected = false;
  slot: P11.Handle | null = null;
  key: P11.Handle | null = null;
  keyId: Buffer | null = null;
  keyLabel: string | null = null;
  private initialized = false;
  private mechanisms: number[] = [];
  /** Sessions not signing now. */
  readonly idle: P11.Handle[] = [];
  /** Sessions open in this connection (idle or signing). */
  open = 0;
  /** Bumped on every disconnect: sessions of an older generation are not reused. */
  generation = 0;
  /** The token refused the PIN at run time: not tried again (tokens lock themselves). */
  pinRefused: string | null = null;

  constructor(
    readonly lib: Pkcs11Module,
    readonly p11: P11.PKCS11,
    readonly source: Pkcs11Source,
    private readonly pin: string,
  ) {}

  /** Initialize, find the token, log in, find the key. At start-up failures name the variable to fix. */
  connect(startup: boolean): void {
    const { lib, p11, source } = this;
    const fail = (variable: string, message: string) => new KeyMaterialError(variable, message);
    if (this.pinRefused) throw fail('GATEWAY_PKCS11_PIN_FILE', this.pinRefused);
    this.disconnect();
    try {
      p11.C_Initialize({ flags: lib.CKF_OS_LOCKING_OK });
    } catch (error) {
      if ((error as { code?: number }).code !== lib.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw fail('GATEWAY_PKCS11_MODULE', `C_Initialize of ${source.module} failed: ${ckr(error)}`);
    }
    this.initialized = true;
    let slots: P11.Handle[];
    try {
      slots = p11.C_GetSlotList(true);
    } catch (error) {
      throw fail('GATEWAY_PKCS11_TOKEN', `cannot list the tokens of ${source.module}: ${ckr(error)}`);
    }
    const labels = slots.map((slot) => ({ slot, label: p11.C_GetTokenInfo(slot).label.trimEnd() }));
    const found = labels.filter((l) => l.label === source.token);
    if (found.length !== 1) {
      const present = labels.length > 0 ? `tokens present: ${labels.map((l) => `"${l.label}"`).join(', ')}` : 'no token present';
      throw fail('GATEWAY_PKCS11_TOKEN', found.length === 0 ? `no token labelled "${source.token}" in ${source.module} (${present})` : `${found.length} tokens are labelled "${source.token}"`);
    }
    this.slot = found[0]!.slot;
    this.mechanisms = p11.C_GetMechanismList(this.slot);
    const session = this.openSession();
    try {
      p11.C_Login(session, lib.CKU_USER, this.pin);
    } catch (error) {
      const code = (error as { code?: number }).code;
      if (code !== lib.CKR_USER_ALREADY_LOGGED_IN) {
        const pinProblem = [lib.CKR_PIN_INCORRECT, lib.CKR_PIN_LOCKED, lib.CKR_PIN_LEN_RANGE, lib.CKR_PIN_EXPIRED, lib.CKR_PIN_INVALID].includes(code ?? -1);
        if (pinProblem && !startup) this.pinRefused = `the token refused the PIN (${ckr(error)}); not tried again, so that the token does not lock itself: fix the PIN file and restart`;
        throw fail(pinProblem ? 'GATEWAY_PKCS11_PIN_FILE' : 'GATEWAY_PKCS11_TOKEN', `login to token "${source.token}" failed: ${ckr(error)}`);
      }
    }
    const template: P11.Template = [{ type: lib.CKA_CLASS, value: lib.CKO_PRIVATE_KEY }];
    template.push('label' in source.key ? { type: lib.CKA_LABEL, value: source.key.label } : { type: lib.CKA_ID, value: Buffer.from(source.key.id, 'hex') });
    const keys = this.find(session, template, 2);
    if (keys.length !== 1) {
      throw fail('GATEWAY_PKCS11_KEY', keys.length === 0 ? `token "${source.token}" holds no private key ${keyName(source)}` : `token "${source.token}" holds several private keys ${keyName(source)}; name one by its CKA_ID (id:<hex>)`);
    }
    this.key = keys[0]!;
    const [id, label] = p11.C_GetAttributeValue(session, this.key, [{ type: lib.CKA_ID }, { type: lib.CKA_LABEL }]);
    this.keyId = Buffer.isBuffer(id?.value) && id.value.length > 0 ? id.value : null;
    this.keyLabel = Buffer.isBuffer(label?.value) && label.value.length > 0 ? label.value.toString('utf8') : null;
    this.idle.push(session);
    this.connected = true;
  }

  openSession(): P11.Handle {
    const session = this.p11.C_OpenSession(this.slot!, this.lib.CKF_SERIAL_SESSION);
    this.open += 1;
    return session;
  }

  find(session: P11.Handle, template: P11.Template, max: number): P11.Handle[] {
    this.p11.C_FindObjectsInit(session, template);
    try {
      return this.p11.C_FindObjects(session, max);
    } finally {
      this.p11.C_FindObjectsFinal(session);
    }
  }

  checkKeyType(plans: KeyPlans, algorithm: string): void {
    const session = this.idle[0]!;
    const [type] = this.p11.C_GetAttributeValue(session, this.key!, [{ type: this.lib.CKA_KEY_TYPE }]);
    const keyType = ulong(type?.value as Buffer | undefined);
    if (!plans.keyTypes.includes(keyType)) {
      throw new KeyMaterialError(this.source.certFile ? 'GATEWAY_CERT_FILE' : 'GATEWAY_PKCS11_KEY', `the certificate holds a ${algorithm} key, but token key ${keyName(this.source)} is of another type (CKA_KEY_TYPE 0x${keyType.toString(16)})`);
    }
  }

  choosePlan(plans: KeyPlans): SignPlan {
    const plan = plans.plans.find((p) => this.mechanisms.includes(p.mechanism));
    if (!plan) throw new KeyMaterialError('GATEWAY_PKCS11_TOKEN', `token "${this.source.token}" offers none of ${plans.plans.map((p) => p.name).join(', ')}`);
    return plan;
  }

  /** Closes every session and finalizes the module (errors ignored: the token may be gone). */
  disconnect(): void {
    this.generation += 1;
    this.connected = false;
    this.idle.length = 0;
    this.open = 0;
    this.key = null;
    if (!this.initialized) return;
    try {
      if (this.slot) this.p11.C_CloseAllSessions(this.slot);
    } catch {
      // gone already
    }
    try {
      this.p11.C_Finalize();
    } catch {
      // gone already
    }
    this.initialized = false;
  }
}

/** The certificate from GATEWAY_CERT_FILE, or the token's certificate object for the key. */
function readCertificate(link: TokenLink, source: Pkcs11Source): { certificatePem: string; certificate: Certificate; fromToken: boolean } {
  let pem: string;
  const fromToken = source.certFile === null;
  if (source.certFile) {
    let text: string;
    try {
      text = readFileSync(source.certFile, 'utf8');
    } catch (error) {
      throw new KeyMaterialError('GATEWAY_CERT_FILE', `cannot read ${source.certFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    const first = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(text)?.[0];
    if (!first) throw new KeyMaterialError('GATEWAY_CERT_FILE', `${source.certFile} holds no PEM certificate`);
    pem = `${first}\n`;
  } else {
    const { lib, p11 } = link;
    const session = link.idle[0]!;
    const by = link.keyId ? { type: lib.CKA_ID, value: link.keyId } : link.keyLabel ? { type: lib.CKA_LABEL, value: link.keyLabel } : null;
    const certs = by ? link.find(session, [{ type: lib.CKA_CLASS, value: lib.CKO_CERTIFICATE }, by], 2) : [];
    if (certs.length !== 1) {
      throw new KeyMaterialError('GATEWAY_CERT_FILE', `is not set, and token "${source.token}" holds ${certs.length === 0 ? 'no certificate' : 'several certificates'} for key ${keyName(source)} (same CKA_ID or label); set GATEWAY_CERT_FILE`);
    }
    const [value] = p11.C_GetAttributeValue(session, certs[0]!, [{ type: lib.CKA_VALUE }]);
    pem = pemArmour('CERTIFICATE', value!.value as Buffer);
  }
  try {
    return { certificatePem: pem, certificate: parseCertificate(pem), fromToken };
  } catch (error) {
    throw new KeyMaterialError(fromToken ? 'GATEWAY_PKCS11_KEY' : 'GATEWAY_CERT_FILE', `the certificate is not readable X.509: ${(error as Error).message}`);
  }
}

interface Waiter {
  resolve(session: P11.Handle): void;
  reject(error: Error): void;
}

export class Pkcs11Signer implements Signer {
  readonly digestAlgorithm: DigestAlgorithm;
  private readonly waiters: Waiter[] = [];
  /** Native signatures not yet returned (including abandoned ones): the module is not finalized under them. */
  private inFlight = 0;
  private down: { since: Date; reason: string } | null = null;
  private nextAttemptAt = 0;
  private backoffMs = BACKOFF_FIRST_MS;
  private lastSignedAt: Date | null = null;
  private closed = false;
  private readonly digest: DigestAlgorithm | 'sha256' | null;

  constructor(
    private readonly link: TokenLink,
    readonly plan: SignPlan,
    readonly certificate: Certificate,
    readonly signatureAlgorithm: SignatureAlgorithm,
    private readonly log?: Pkcs11Log,
  ) {
    this.digestAlgorithm = getDigestAlgorithm(signatureAlgorithm.digestUri);
    this.digest = plan.input === 'data' ? null : DIGESTS[plan.input.digest]!();
  }

  /** What the token is handed: SignedInfo itself, or its digest (with the DigestInfo prefix for raw RSA). */
  private input(data: Uint8Array): Buffer {
    if (this.plan.input === 'data') return Buffer.from(data);
    const digest = this.digest === 'sha256' ? createHash('sha256').update(data).digest() : this.digest!.hash(data);
    return this.plan.input.prefix ? Buffer.concat([this.plan.input.prefix, digest]) : digest;
  }

  private get outputBytes(): number {
    return 1024; // RSA up to 8192 bits, GOST-512 128 bytes, P-256 64 bytes
  }

  /** Signs a random challenge synchronously and checks it with the certificate's public key. */
  selfTest(certVariable: string): void {
    const { p11 } = this.link;
    const session = this.link.idle[0]!;
    const challenge = randomBytes(32);
    let signature: Buffer;
    try {
      p11.C_SignInit(session, { mechanism: this.plan.mechanism }, this.link.key!);
      signature = p11.C_Sign(session, this.input(challenge), Buffer.alloc(this.outputBytes));
    } catch (error) {
      throw new KeyMaterialError('GATEWAY_PKCS11_KEY', `token key ${keyName(this.link.source)} cannot sign with ${this.plan.name}: ${ckr(error)}`);
    }
    let verified = false;
    try {
      verified = this.signatureAlgorithm.verify(challenge, signature, this.certificate.publicKey!);
    } catch {
      verified = false;
    }
    if (!verified) {
      throw new KeyMaterialError(certVariable, `token key ${keyName(this.link.source)} does not belong to certificate "${this.certificate.subject}" (its ${this.plan.name} signature does not verify with the certificate's public key)`);
    }
    this.lastSignedAt = new Date();
  }

  async sign(data: Uint8Array): Promise<Buffer> {
    const session = await this.acquire();
    const generation = this.link.generation;
    const { p11 } = this.link;
    let native: Promise<Buffer> | null = null;
    try {
      p11.C_SignInit(session, { mechanism: this.plan.mechanism }, this.link.key!);
      native = p11.C_SignAsync(session, this.input(data), Buffer.alloc(this.outputBytes));
      this.inFlight += 1;
      void native.then(
        () => (this.inFlight -= 1),
        () => (this.inFlight -= 1),
      );
      const signature = await withTimeout(native, SIGN_TIMEOUT_MS);
      this.release(session, generation);
      this.lastSignedAt = new Date();
      return signature;
    } catch (error) {
      // The session is not reused (it may still be signing); the connection is rebuilt on the next try.
      this.markDown(error instanceof TimeoutError ? `no signature within ${SIGN_TIMEOUT_MS} ms` : ckr(error), generation);
      throw new SignerError(`PKCS#11 token "${this.link.source.token}" did not sign: ${this.down?.reason ?? ckr(error)}`);
    }
  }

  /** For /ready: fails while the token is down (and tries to reconnect once the backoff allows). */
  async health(): Promise<SignerHealth> {
    const name = `PKCS#11 token "${this.link.source.token}"`;
    if (this.closed) return { ok: false, detail: `${name}: closed` };
    if (!this.link.connected) {
      try {
        this.reconnect();
      } catch {
        return { ok: false, detail: this.downDetail() };
      }
    }
    // Probe on an idle session: is it alive, logged in, and is the key still there? Busy sessions speak for themselves.
    const session = this.link.idle[this.link.idle.length - 1];
    if (session) {
      const { p11, lib } = this.link;
      try {
        p11.C_GetSessionInfo(session);
        p11.C_GetAttributeValue(session, this.link.key!, [{ type: lib.CKA_KEY_TYPE }]);
      } catch (error) {
        this.markDown(ckr(error), this.link.generation);
        return { ok: false, detail: this.downDetail() };
      }
    }
    return { ok: true, detail: `the token answers${this.lastSignedAt ? `; last signature ${this.lastSignedAt.toISOString()}` : ''}` };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w.reject(new SignerError('the PKCS#11 signer is closed'));
    if (this.inFlight === 0) this.link.disconnect();
    try {
      if (this.inFlight === 0) this.link.p11.close();
    } catch {
      // unloaded on exit anyway
    }
  }

  private downDetail(): string {
    const name = `PKCS#11 token "${this.link.source.token}"`;
    if (!this.down) return `${name}: not connected`;
    const wait = Math.max(0, this.nextAttemptAt - Date.now());
    const pin = this.link.pinRefused ? ` ${this.link.pinRefused}` : '';
    return `${name} is not answering since ${this.down.since.toISOString()}: ${this.down.reason};${pin || ` next try in ${Math.ceil(wait / 1000)} s`}`;
  }

  private async acquire(): Promise<P11.Handle> {
    if (this.closed) throw new SignerError('the PKCS#11 signer is closed');
    if (!this.link.connected) {
      try {
        this.reconnect();
      } catch {
        throw new SignerError(this.downDetail());
      }
    }
    const idle = this.link.idle.pop();
    if (idle) return idle;
    if (this.link.open < MAX_SESSIONS) {
      try {
        return this.link.openSession();
      } catch (error) {
        this.markDown(ckr(error), this.link.generation);
        throw new SignerError(this.downDetail());
      }
    }
    return new Promise<P11.Handle>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private release(session: P11.Handle, generation: number): void {
    if (generation !== this.link.generation) return;
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(session);
    else this.link.idle.push(session);
  }

  /** Reconnects when the backoff allows (throws while it does not, or when reconnecting fails). */
  private reconnect(): void {
    const now = Date.now();
    if (now < this.nextAttemptAt) throw new SignerError('backing off');
    if (this.inFlight > 0) {
      // A signature the token never returned still runs in the thread pool: finalizing under it is unsafe.
      this.nextAttemptAt = now + this.backoffMs;
      throw new SignerError(`${this.inFlight} signature(s) still pending in the token`);
    }
    try {
      this.link.connect(false);
    } catch (error) {
      this.link.disconnect();
      const reason = error instanceof KeyMaterialError ? error.message : ckr(error);
      this.down = { since: this.down?.since ?? new Date(), reason };
      this.nextAttemptAt = now + this.backoffMs;
      this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_CAP_MS);
      throw error;
    }
    const wasDown = this.down;
    this.down = null;
    this.backoffMs = BACKOFF_FIRST_MS;
    this.nextAttemptAt = 0;
    if (wasDown) this.log?.info({ token: this.link.source.token, downSince: wasDown.since.toISOString() }, `PKCS#11 token "${this.link.source.token}" answers again: signing resumed`);
  }

  private markDown(reason: string, generation: number): void {
    if (generation !== this.link.generation) return; // already handled for this connection
    const first = this.down === null;
    this.down = { since: this.down?.since ?? new Date(), reason };
    if (first) this.log?.error({ token: this.link.source.token, reason }, `PKCS#11 token "${this.link.source.token}" stopped answering (${reason}): replies that need a signature fail until it is back`);
    // Closes the sessions now; the module is finalized and initialized again on the next try (after the backoff).
    this.link.connected = false;
    this.link.generation += 1;
    this.link.idle.length = 0;
    this.link.open = 0;
    this.nextAttemptAt = Date.now() + this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_CAP_MS);
    for (const w of this.waiters.splice(0)) w.reject(new SignerError(`PKCS#11 token "${this.link.source.token}" stopped answering: ${reason}`));
  }
}

class TimeoutError extends Error {}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError()), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
