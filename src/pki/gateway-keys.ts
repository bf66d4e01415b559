/**
 * The gateway's key while it runs: loaded at start-up, replaced on a renewal
 * (SIGHUP, POST /api/v1/maintenance/reload-keys) without a restart.
 *
 * A reload reads the configured sources again (the same function start-up
 * uses), and checks the result fully before anything changes: the key belongs
 * to the certificate (the loader refuses otherwise), the certificate is valid
 * now and allows digital signatures, is not the sample key in production, and — when the certificate in use chains
 * to TRUST_CA_FILE — the new one does too (a partner would refuse the rest).
 * Only then is the key swapped, at once for every later signature (see
 * pki/swappable-signer.ts); any problem keeps the key in use.
 *
 * The replaced signer is retired, not dropped: a signature begun with it (a
 * snapshot taken just before the swap, a large-message thread that built
 * SignedInfo with the old certificate) still signs with it for RETIRE_GRACE_MS,
 * and then it is closed once its signatures end (a token signer closes its
 * sessions then; see pki/pkcs11-signer.ts).
 */
import type { Signer } from './signer.js';
import { SwappableSigner } from './swappable-signer.js';
import type { TrustAnchorSet } from './trust.js';
import { parseCertificate, type Certificate } from './certificate.js';

/** What the loader gives: a signer whose key was checked against its certificate, and how to describe it. */
export interface LoadedKey {
  signer: Signer;
  identity: KeyDescription;
}

/** The parts of the gateway identity (pki/gateway-identity.ts) a reload needs. */
export interface KeyDescription {
  keyDescription: string;
  source: string;
  isSample: boolean;
  /** Intermediate certificates that came with the key (PEM), leaf excluded. */
  chainPems: readonly string[];
}

export interface CertificateSummary {
  subject: string;
  serial: string;
  notAfter: string;
  fingerprint: string;
  algorithm: string;
  source: string;
}

export type KeyReloadResult =
  | { ok: true; changed: boolean; previous: CertificateSummary; current: CertificateSummary }
  | { ok: false; problem: string; current: CertificateSummary };

export interface GatewayKeysOptions<I extends KeyDescription> {
  initial: { signer: Signer; identity: I };
  /** Reads the configured key and certificate again; throws naming the problem. */
  load(): { signer: Signer; identity: I } | Promise<{ signer: Signer; identity: I }>;
  /** When the certificate in use chains to these, a new one must as well. */
  trustAnchors?: TrustAnchorSet | null;
  /** Refuse the committed sample key (NODE_ENV=production without OKNO_ALLOW_SAMPLE_KEYS), as start-up does. */
  refuseSample?: boolean;
  now?: () => Date;
  /** RETIRE_GRACE_MS unless set (tests). */
  retireGraceMs?: number;
}

/** How long a replaced key still signs what was begun with it (a large message's SignedInfo takes well under this). */
export const RETIRE_GRACE_MS = 30_000;

export class GatewayKeys<I extends KeyDescription = KeyDescription> {
  /** The one signer everything signs with; its key follows reloads. */
  readonly signer: SwappableSigner;
  private active: I;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly now: () => Date;
  /** Replaced signers still accepting signatures begun with them, until their grace ends. */
  private readonly retiring = new Map<Signer, NodeJS.Timeout>();

  constructor(private readonly o: GatewayKeysOptions<I>) {
    this.signer = new SwappableSigner(o.initial.signer);
    this.active = o.initial.identity;
    this.now = o.now ?? (() => new Date());
  }

  /** How the key in use was loaded (its source, description). */
  get identity(): I {
    return this.active;
  }

  get certificate(): Certificate {
    return this.signer.certificate;
  }

  /** Loads, checks, and swaps; reloads run one at a time. Never throws: a problem keeps the key in use. */
  reload(): Promise<KeyReloadResult> {
    const run = this.queue.then(() => this.reloadNow());
    this.queue = run.catch(() => undefined);
    return run;
  }

  summary(): CertificateSummary {
    return summarize(this.signer.current(), this.active.source);
  }

  private async reloadNow(): Promise<KeyReloadResult> {
    const before = this.signer.current();
    const previous = summarize(before, this.active.source);
    let loaded: { signer: Signer; identity: I };
    try {
      loaded = await this.o.load();
    } catch (error) {
      return { ok: false, problem: (error as Error).message, current: previous };
    }
    const problem = this.problemWith(loaded, before);
    if (problem) {
      await loaded.signer.close?.().catch(() => undefined);
      return { ok: false, problem: `${loaded.identity.source}: ${problem}`, current: previous };
    }
    this.retire(this.signer.swap(loaded.signer));
    this.active = loaded.identity;
    return { ok: true, changed: !before.certificate.der.equals(loaded.signer.certificate.der), previous, current: summarize(loaded.signer, loaded.identity.source) };
  }

  /**
   * The signer whose certificate has this SHA-256 fingerprint: the one in use, or one replaced
   * within the grace period (a signature begun before the swap); null when there is none.
   */
  signerFor(fingerprint: string): Signer | null {
    const current = this.signer.current();
    if (current.certificate.fingerprintSha256 === fingerprint) return current;
    return [...this.retiring.keys()].find((s) => s.certificate.fingerprintSha256 === fingerprint) ?? null;
  }

  /** Closes the key in use and every retiring one (the gateway stops). */
  async close(): Promise<void> {
    const retiring = [...this.retiring.keys()];
    for (const timer of this.retiring.values()) clearTimeout(timer);
    this.retiring.clear();
    await Promise.all([this.signer.close(), ...retiring.map((s) => s.close?.())]);
  }

  private retire(previous: Signer): void {
    if (!previous.close || previous === this.signer.current()) return;
    const timer = setTimeout(() => {
      this.retiring.delete(previous);
      void previous.close!().catch(() => undefined);
    }, this.o.retireGraceMs ?? RETIRE_GRACE_MS);
    timer.unref();
    this.retiring.set(previous, timer);
  }

  private problemWith(candidate: { signer: Signer; identity: I }, before: Signer): string | null {
    const cert = candidate.signer.certificate;
    const now = this.now();
    if (this.o.refuseSample && candidate.identity.isSample) return 'is the sample key (test only, its private key is public); NODE_ENV=production refuses it';
    if (now < cert.notBefore) return `certificate "${cert.subject}" is not valid before ${cert.notBefore.toISOString()}`;
    if (now > cert.notAfter) return `certificate "${cert.subject}" expired on ${cert.notAfter.toISOString()}`;
    if (cert.keyUsage && !cert.keyUsage.has('digitalSignature')) return `certificate "${cert.subject}" does not allow digital signatures (keyUsage)`;
    const anchors = this.o.trustAnchors;
    if (anchors && anchors.evaluate(before.certificate, [], now).trusted) {
      let intermediates: Certificate[];
      try {
        intermediates = candidate.identity.chainPems.map((pem) => parseCertificate(pem));
      } catch (error) {
        return `a chain certificate cannot be read (${(error as Error).message})`;
      }
      const verdict = anchors.evaluate(cert, intermediates, now);
      if (!verdict.trusted) return `the certificate in use chains to TRUST_CA_FILE, the new one does not: ${verdict.message}`;
    }
    return null;
  }
}

function summarize(signer: Signer, source: string): CertificateSummary {
  const c = signer.certificate;
  return { subject: c.subject, serial: c.serialHex, notAfter: c.notAfter.toISOString(), fingerprint: c.fingerprintSha256, algorithm: signer.signatureAlgorithm.name, source };
}
