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
 * (a token locks itself after a few wrong PINs): a key reload with the fixed PIN file
 * (or a restart) tries again.
 *
 * One module instance per module path per process (SharedModule, reference
 * counted), on the main thread only: C_Initialize/C_Finalize and the login state
 * are per application, and pkcs11js keeps a process-global constructor reference
 * that is not safe across worker threads. Each signer has its own sessions and
 * key handle on it, so a key reload (pki/gateway-keys.ts) opens the new key beside
 * the one in use and closes the old signer's sessions only once its signatures
 * have ended; only the last signer of a module finalizes it. The large-message
 * threads ask the event loop to sign over their MessagePort
 * (push/large-message-lane.ts). Signatures run in libuv's thread pool
 * (C_SignAsync) on up to MAX_SESSIONS sessions per signer at once.
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
} from '../crypto/index.js';
import { SignerError, type Signer, type SignerHealth } from './signer.js';
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

/**
 * Opens the token and returns the signer and certificate; throws KeyMaterialError naming the variable.
 * Start-up and every key reload call it; a signer already open on the same module keeps signing.
 */
export function openPkcs11Identity(source: Pkcs11Source, log?: Pkcs11Log): Pkcs11Identity {
  const lib = loadBinding();
  const pin = readPin(source.pinFile);
  const fileCertificate = source.certFile ? readCertificateFile(source.certFile) : null;
  const module = SharedModule.acquire(lib, source.module);
  const link = new TokenLink(module, source, pin);
  try {
    let chosen: Chosen | null = null;
    // With the certificate from a file, the key is the one (of those with the configured label) that signs for it.
    link.connect(true, fileCertificate ? (session, candidates) => (chosen = chooseKey(link, session, candidates, fileCertificate)).key : undefined);
    if (!chosen) {
      const { certificatePem, certificate } = readTokenCertificate(link, source);
      const plan = planFor(link, certificate, 'GATEWAY_PKCS11_KEY');
      link.checkKeyType(link.idle[0]!, link.key!, plan.plans, certificate.keyAlgorithm!);
      chosen = { key: link.key!, certificatePem, certificate, plan: plan.plan, algorithm: plan.algorithm };
      const problem = signsFor(link, link.idle[0]!, link.key!, chosen);
      if (problem) throw new KeyMaterialError(problem.variable ?? 'GATEWAY_PKCS11_KEY', problem.message);
    }
    const { certificate, certificatePem, plan, algorithm } = chosen as Chosen;
    const signer = new Pkcs11Signer(link, plan, certificate, algorithm, log);
    return {
      signer,
      certificatePem,
      chainPems: [],
      keyDescription: `${describeKey(certificate)} (${plan.name})`,
      source: `PKCS#11 token "${source.token}" key ${keyName(source)} (${source.module})`,
    };
  } catch (error) {
    link.disconnect();
    module.release();
    if (error instanceof KeyMaterialError) throw error;
    throw new KeyMaterialError('GATEWAY_PKCS11_MODULE', `PKCS#11 failed: ${(error as Error).message}`);
  }
}

interface Chosen {
  key: P11.Handle;
  certificatePem: string;
  certificate: Certificate;
  plan: SignPlan;
  algorithm: SignatureAlgorithm;
}

/** The signature algorithm and token mechanism for a certificate's key. */
function planFor(link: TokenLink, certificate: Certificate, certVariable: string): { plans: KeyPlans; plan: SignPlan; algorithm: SignatureAlgorithm } {
  const keyAlgorithm = certificate.keyAlgorithm;
  const uri = keyAlgorithm && keyAlgorithm in SIGNATURE_URI ? SIGNATURE_URI[keyAlgorithm as keyof typeof SIGNATURE_URI] : null;
  const plans = keyAlgorithm ? plansFor(keyAlgorithm, link.lib) : null;
  if (!uri || !plans) throw new KeyMaterialError(certVariable, `certificate "${certificate.subject}" holds a ${keyAlgorithm ?? 'unknown'} key, which cannot sign through PKCS#11 here (RSA, ECDSA P-256, GOST R 34.10-2012 256/512)`);
  return { plans, plan: link.choosePlan(plans), algorithm: getSignatureAlgorithm(uri) };
}

/**
 * Of the private keys carrying the configured label (the key in use and its successor during a
 * renewal may share it), the one whose signature of a random challenge the certificate verifies.
 */
function chooseKey(link: TokenLink, session: P11.Handle, candidates: P11.Handle[], file: { certificatePem: string; certificate: Certificate }): Chosen {
  const { plans, plan, algorithm } = planFor(link, file.certificate, 'GATEWAY_CERT_FILE');
  const problems: Array<{ variable?: string; message: string }> = [];
  for (const key of candidates) {
    try {
      link.checkKeyType(session, key, plans, file.certificate.keyAlgorithm!);
    } catch (error) {
      if (candidates.length === 1) throw error;
      problems.push({ message: (error as Error).message });
      continue;
    }
    const chosen = { key, ...file, plan, algorithm };
    const problem = signsFor(link, session, key, chosen);
    if (!problem) return chosen;
    problems.push(problem);
  }
  if (candidates.length === 1) throw new KeyMaterialError(problems[0]!.variable ?? 'GATEWAY_CERT_FILE', problems[0]!.message);
  throw new KeyMaterialError('GATEWAY_CERT_FILE', `none of the ${candidates.length} private keys ${keyName(link.source)} in token "${link.source.token}" belongs to certificate "${file.certificate.subject}"`);
}

/** Signs a random challenge with the key; null when the certificate's public key verifies it, else the problem. */
function signsFor(link: TokenLink, session: P11.Handle, key: P11.Handle, chosen: Pick<Chosen, 'plan' | 'algorithm' | 'certificate'>): { variable?: string; message: string } | null {
  const challenge = randomBytes(32);
  let signature: Buffer;
  try {
    link.p11.C_SignInit(session, { mechanism: chosen.plan.mechanism }, key);
    signature = link.p11.C_Sign(session, signInput(chosen.plan, challenge), Buffer.alloc(SIGNATURE_BYTES));
  } catch (error) {
    return { variable: 'GATEWAY_PKCS11_KEY', message: `token key ${keyName(link.source)} cannot sign with ${chosen.plan.name}: ${ckr(error)}` };
  }
  let verified = false;
  try {
    verified = chosen.algorithm.verify(challenge, signature, chosen.certificate.publicKey!);
  } catch {
    verified = false;
  }
  if (verified) return null;
  return { message: `token key ${keyName(link.source)} does not belong to certificate "${chosen.certificate.subject}" (its ${chosen.plan.name} signature does not verify with the certificate's public key)` };
}

/** Room for any signature: RSA up to 8192 bits, GOST-512 128 bytes, P-256 64 bytes. */
const SIGNATURE_BYTES = 1024;

/** What the token is handed: the data itself, or its digest (with the DigestInfo prefix for raw RSA). */
function signInput(plan: SignPlan, data: Uint8Array): Buffer {
  if (plan.input === 'data') return Buffer.from(data);
  const made = DIGESTS[plan.input.digest]!();
  const digest = made === 'sha256' ? createHash('sha256').update(data).digest() : made.hash(data);
  return plan.input.prefix ? Buffer.concat([plan.input.prefix, digest]) : digest;
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
 * A PKCS#11 module loaded once per process per path. C_Initialize and C_Finalize act on the
 * whole process, and so does the login to a token: every signer on the module shares them.
 * `epoch` counts initializations; session and object handles from an older one are void (and
 * may be reused by the module), so a link never touches them again.
 */
class SharedModule {
  private static readonly loaded = new Map<string, SharedModule>();
  private refs = 0;
  private initialized = false;
  epoch = 0;
  /** The PIN each token (by slot) was logged in with in this epoch: the login is shared. */
  readonly logins = new Map<string, string>();

  private constructor(
    readonly lib: Pkcs11Module,
    readonly p11: P11.PKCS11,
    readonly path: string,
  ) {}

  /** The module at `path`, loaded on first use; every acquire is matched by one release. */
  static acquire(lib: Pkcs11Module, path: string): SharedModule {
    let module = SharedModule.loaded.get(path);
    if (!module) {
      const p11 = new lib.PKCS11();
      try {
        p11.load(path);
      } catch (error) {
        throw new KeyMaterialError('GATEWAY_PKCS11_MODULE', `cannot load the PKCS#11 module ${path}: ${(error as Error).message}`);
      }
      module = new SharedModule(lib, p11, path);
      SharedModule.loaded.set(path, module);
    }
    module.refs += 1;
    return module;
  }

  /** Initializes the module unless it is; throws KeyMaterialError. */
  ensureInitialized(): void {
    if (this.initialized) return;
    try {
      this.p11.C_Initialize({ flags: this.lib.CKF_OS_LOCKING_OK });
    } catch (error) {
      if ((error as { code?: number }).code !== this.lib.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw new KeyMaterialError('GATEWAY_PKCS11_MODULE', `C_Initialize of ${this.path} failed: ${ckr(error)}`);
    }
    this.initialized = true;
    this.epoch += 1;
    this.logins.clear();
  }

  /**
   * After a token stopped answering: finalize, so that the next ensureInitialized starts afresh
   * (a module may not notice a token that came back otherwise). Only when nobody did since
   * `seenEpoch`: a second signer on the same module does not end the first one's new connection.
   */
  reset(seenEpoch: number): void {
    if (!this.initialized || this.epoch !== seenEpoch) return;
    try {
      this.p11.C_Finalize();
    } catch {
      // gone already
    }
    this.initialized = false;
    this.logins.clear();
  }

  /** The last user finalizes and unloads the module. */
  release(): void {
    this.refs -= 1;
    if (this.refs > 0) return;
    SharedModule.loaded.delete(this.path);
    if (this.initialized) {
      try {
        this.p11.C_Finalize();
      } catch {
        // gone already
      }
      this.initialized = false;
    }
    try {
      this.p11.close();
    } catch {
      // unloaded on exit anyway
    }
  }
}

const slotKey = (slot: P11.Handle): string => Buffer.from(slot as Buffer).toString('hex');

/**
 * One signer's connection to the token: slot, its own sessions, key handle, on the shared module.
 * Every call here is synchronous (fast metadata calls); only signatures run off the event loop.
 */
class TokenLink {
  connected = false;
  slot: P11.Handle | null = null;
  key: P11.Handle | null = null;
  keyId: Buffer | null = null;
  keyLabel: string | null = null;
  /** The module's epoch this link's handles belong to. */
  epoch = -1;
  private mechanisms: number[] = [];
  /** Sessions not signing now. */
  readonly idle: P11.Handle[] = [];
  /** Sessions this link opened in this connection (idle, signing, or abandoned after an error). */
  readonly sessions: P11.Handle[] = [];
  /** Bumped on every disconnect: sessions of an older generation are not reused. */
  generation = 0;
  /** The token refused the PIN at run time: not tried again (tokens lock themselves). */
  pinRefused: string | null = null;

  constructor(
    readonly module: SharedModule,
    readonly source: Pkcs11Source,
    private readonly pin: string,
  ) {}

  get lib(): Pkcs11Module {
    return this.module.lib;
  }

  get p11(): P11.PKCS11 {
    return this.module.p11;
  }

  /** Sessions open in this connection. */
  get open(): number {
    return this.sessions.length;
  }

  /** False once the module was initialized again under this link (its handles are void). */
  get current(): boolean {
    return this.epoch === this.module.epoch;
  }

  /**
   * Initialize (unless the module is), find the token, log in, find the key. At start-up failures
   * name the variable to fix. Several keys with the configured label are handed to `choose`
   * (given a logged-in session) when there is one; without it, that is an error.
   */
  connect(startup: boolean, choose?: (session: P11.Handle, candidates: P11.Handle[]) => P11.Handle): void {
    const { lib, p11, source } = this;
    const fail = (variable: string, message: string) => new KeyMaterialError(variable, message);
    if (this.pinRefused) throw fail('GATEWAY_PKCS11_PIN_FILE', this.pinRefused);
    this.disconnect();
    this.module.ensureInitialized();
    this.epoch = this.module.epoch;
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
    this.login(session, startup);
    const template: P11.Template = [{ type: lib.CKA_CLASS, value: lib.CKO_PRIVATE_KEY }];
    template.push('label' in source.key ? { type: lib.CKA_LABEL, value: source.key.label } : { type: lib.CKA_ID, value: Buffer.from(source.key.id, 'hex') });
    const keys = this.find(session, template, 16);
    if (keys.length === 0) throw fail('GATEWAY_PKCS11_KEY', `token "${source.token}" holds no private key ${keyName(source)}`);
    if (keys.length > 1 && !choose) throw fail('GATEWAY_PKCS11_KEY', `token "${source.token}" holds several private keys ${keyName(source)}; name one by its CKA_ID (id:<hex>), or set GATEWAY_CERT_FILE (the key that signs for it is taken)`);
    this.key = choose ? choose(session, keys) : keys[0]!;
    const [id, label] = p11.C_GetAttributeValue(session, this.key, [{ type: lib.CKA_ID }, { type: lib.CKA_LABEL }]);
    this.keyId = Buffer.isBuffer(id?.value) && id.value.length > 0 ? id.value : null;
    this.keyLabel = Buffer.isBuffer(label?.value) && label.value.length > 0 ? label.value.toString('utf8') : null;
    this.idle.push(session);
    this.connected = true;
  }

  /**
   * Logs in to the token. The login belongs to the process, not the session: when another signer
   * is logged in already, the token does not check the PIN again (CKR_USER_ALREADY_LOGGED_IN), so
   * the PIN is compared with the one that login used — a wrong PIN file is refused either way.
   */
  private login(session: P11.Handle, startup: boolean): void {
    const { lib, p11, source } = this;
    const slot = slotKey(this.slot!);
    try {
      p11.C_Login(session, lib.CKU_USER, this.pin);
      this.module.logins.set(slot, this.pin);
    } catch (error) {
      const code = (error as { code?: number }).code;
      if (code === lib.CKR_USER_ALREADY_LOGGED_IN) {
        const used = this.module.logins.get(slot);
        if (used !== undefined && used !== this.pin) {
          throw new KeyMaterialError('GATEWAY_PKCS11_PIN_FILE', `is not the PIN token "${source.token}" is logged in with for the key in use (the token checks a PIN only at the process's first login, so a different one cannot be checked while that key signs; if the token's PIN was changed, restart)`);
        }
        return;
      }
      const pinProblem = [lib.CKR_PIN_INCORRECT, lib.CKR_PIN_LOCKED, lib.CKR_PIN_LEN_RANGE, lib.CKR_PIN_EXPIRED, lib.CKR_PIN_INVALID].includes(code ?? -1);
      if (pinProblem && !startup) this.pinRefused = `the token refused the PIN (${ckr(error)}); not tried again, so that the token does not lock itself: fix the PIN file and reload the key or restart`;
      throw new KeyMaterialError(pinProblem ? 'GATEWAY_PKCS11_PIN_FILE' : 'GATEWAY_PKCS11_TOKEN', `login to token "${source.token}" failed: ${ckr(error)}`);
    }
  }

  openSession(): P11.Handle {
    const session = this.p11.C_OpenSession(this.slot!, this.lib.CKF_SERIAL_SESSION);
    this.sessions.push(session);
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

  checkKeyType(session: P11.Handle, key: P11.Handle, plans: KeyPlans, algorithm: string): void {
    const [type] = this.p11.C_GetAttributeValue(session, key, [{ type: this.lib.CKA_KEY_TYPE }]);
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

  /** Forgets this connection: sessions stop being reused (they may still be signing). */
  abandon(): void {
    this.generation += 1;
    this.connected = false;
    this.idle.length = 0;
  }

  /**
   * Closes this link's own sessions (never C_CloseAllSessions: another signer may use the token),
   * errors ignored (the token may be gone). Handles of an older epoch are void and left alone.
   */
  disconnect(): void {
    this.abandon();
    this.key = null;
    if (this.current) {
      for (const session of this.sessions) {
        try {
          this.p11.C_CloseSession(session);
        } catch {
          // gone already
        }
      }
    }
    this.sessions.length = 0;
  }
}

/** GATEWAY_CERT_FILE's first PEM certificate. */
function readCertificateFile(file: string): { certificatePem: string; certificate: Certificate } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new KeyMaterialError('GATEWAY_CERT_FILE', `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const first = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(text)?.[0];
  if (!first) throw new KeyMaterialError('GATEWAY_CERT_FILE', `${file} holds no PEM certificate`);
  const certificatePem = `${first}\n`;
  try {
    return { certificatePem, certificate: parseCertificate(certificatePem) };
  } catch (error) {
    throw new KeyMaterialError('GATEWAY_CERT_FILE', `the certificate is not readable X.509: ${(error as Error).message}`);
  }
}

/** The token's certificate object for the key (same CKA_ID, else same label): GATEWAY_CERT_FILE is not set. */
function readTokenCertificate(link: TokenLink, source: Pkcs11Source): { certificatePem: string; certificate: Certificate } {
  const { lib, p11 } = link;
  const session = link.idle[0]!;
  const by = link.keyId ? { type: lib.CKA_ID, value: link.keyId } : link.keyLabel ? { type: lib.CKA_LABEL, value: link.keyLabel } : null;
  const certs = by ? link.find(session, [{ type: lib.CKA_CLASS, value: lib.CKO_CERTIFICATE }, by], 2) : [];
  if (certs.length !== 1) {
    throw new KeyMaterialError('GATEWAY_CERT_FILE', `is not set, and token "${source.token}" holds ${certs.length === 0 ? 'no certificate' : 'several certificates'} for key ${keyName(source)} (same CKA_ID or label); set GATEWAY_CERT_FILE`);
  }
  const [value] = p11.C_GetAttributeValue(session, certs[0]!, [{ type: lib.CKA_VALUE }]);
  const certificatePem = pemArmour('CERTIFICATE', value!.value as Buffer);
  try {
    return { certificatePem, certificate: parseCertificate(certificatePem) };
  } catch (error) {
    throw new KeyMaterialError('GATEWAY_PKCS11_KEY', `the certificate is not readable X.509: ${(error as Error).message}`);
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
  /** sign() calls not yet finished (waiting for a session, or signing). */
  private active = 0;
  private idleAgain: Array<() => void> = [];
  private down: { since: Date; reason: string } | null = null;
  private nextAttemptAt = 0;
  private backoffMs = BACKOFF_FIRST_MS;
  private lastSignedAt: Date | null;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly link: TokenLink,
    readonly plan: SignPlan,
    readonly certificate: Certificate,
    readonly signatureAlgorithm: SignatureAlgorithm,
    private readonly log?: Pkcs11Log,
  ) {
    this.digestAlgorithm = getDigestAlgorithm(signatureAlgorithm.digestUri);
    // openPkcs11Identity had the key sign a challenge for the certificate.
    this.lastSignedAt = new Date();
  }

  async sign(data: Uint8Array): Promise<Buffer> {
    this.active += 1;
    try {
      return await this.signOnce(data);
    } finally {
      this.active -= 1;
      if (this.active === 0) for (const done of this.idleAgain.splice(0)) done();
    }
  }

  private async signOnce(data: Uint8Array): Promise<Buffer> {
    const session = await this.acquire();
    const generation = this.link.generation;
    const { p11 } = this.link;
    let native: Promise<Buffer> | null = null;
    try {
      p11.C_SignInit(session, { mechanism: this.plan.mechanism }, this.link.key!);
      native = p11.C_SignAsync(session, signInput(this.plan, data), Buffer.alloc(SIGNATURE_BYTES));
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
    if (this.closing) return { ok: false, detail: `${name}: closed` };
    if (!this.link.connected || !this.link.current) {
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

  /**
   * Once the signatures begun end (a reload retires this signer while others may still be using
   * it; at shutdown nothing signs any more), closes this signer's sessions and lets go of the
   * module (the last signer on it finalizes it). Later sign() calls fail.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.active > 0) {
        const drained = new Promise<void>((resolve) => this.idleAgain.push(resolve));
        await Promise.race([drained, new Promise<void>((resolve) => setTimeout(resolve, SIGN_TIMEOUT_MS + 1000).unref())]);
      }
      for (const w of this.waiters.splice(0)) w.reject(new SignerError('the PKCS#11 signer is closed'));
      // A native signature the token never returned still runs in the thread pool: its session stays.
      if (this.inFlight === 0) this.link.disconnect();
      else this.link.abandon();
      this.link.module.release();
    })();
    return this.closing;
  }

  private downDetail(): string {
    const name = `PKCS#11 token "${this.link.source.token}"`;
    if (!this.down) return `${name}: not connected`;
    const wait = Math.max(0, this.nextAttemptAt - Date.now());
    const pin = this.link.pinRefused ? ` ${this.link.pinRefused}` : '';
    return `${name} is not answering since ${this.down.since.toISOString()}: ${this.down.reason};${pin || ` next try in ${Math.ceil(wait / 1000)} s`}`;
  }

  private async acquire(): Promise<P11.Handle> {
    if (this.closing) throw new SignerError('the PKCS#11 signer is closed');
    if (!this.link.connected || !this.link.current) {
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
    // After an outage the module starts afresh (once, whichever signer on it gets there first).
    if (this.down) this.link.module.reset(this.link.epoch);
    try {
      // The same key as before, also when its successor carries the same label.
      this.link.connect(false, (session, candidates) => {
        const key = candidates.find((k) => signsFor(this.link, session, k, { plan: this.plan, algorithm: this.signatureAlgorithm, certificate: this.certificate }) === null);
        if (!key) throw new KeyMaterialError('GATEWAY_PKCS11_KEY', `token "${this.link.source.token}" no longer holds the key of certificate "${this.certificate.subject}"`);
        return key;
      });
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
    // The sessions are not reused; the module is finalized and initialized again on the next try (after the backoff).
    this.link.abandon();
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
