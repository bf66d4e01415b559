/**
 * The trust decision about a signer's certificate, separate from the
 * mathematics: it must chain to a trusted CA, every certificate on the chain
 * must be within its validity, the leaf must allow digital signatures, and it
 * must be registered to a partner. KeyInfo only *offers* a certificate; this
 * decides whether it means anything.
 */
import { parseCertificate, verifyIssuedBy, type Certificate } from '../pki/certificate.js';
import type { TrustedCrl } from '../pki/crl.js';
import { CrlSet, type CrlLookup } from '../pki/crl-set.js';

const MAX_CHAIN = 5;

/** Why a certificate is not trusted, in SMEV's words (a subset of its signature fault reasons). */
export type TrustFailureReason = 'CertificateIsNotFound' | 'CertificateIsExpired';

export interface TrustResult {
  trusted: boolean;
  reason?: TrustFailureReason;
  message: string;
  /** Leaf first, anchor last, when a chain was found. */
  chain: Certificate[];
}

export class TrustAnchorSet {
  private current: readonly Certificate[];
  /**
   * Chains found (or not) by the signatures on them, per leaf and offered
   * intermediates: that mathematics never changes, so it is done once. Dates,
   * key usage and CA flags are checked on every evaluation.
   */
  private readonly chains = new Map<string, Certificate[] | null>();

  /**
   * CRLs by the fingerprint of the anchor that signed them (checked at load, see pki/crl.ts);
   * a CrlSet (pki/crl-set.ts) changes them while running, and each evaluation sees the current ones.
   */
  private readonly crls: CrlLookup;

  constructor(anchors: Iterable<Certificate | string>, crls: readonly TrustedCrl[] | CrlLookup = []) {
    this.current = [...anchors].map((a) => (typeof a === 'string' ? parseCertificate(a) : a));
    this.crls = Array.isArray(crls) ? CrlSet.fixed(crls) : (crls as CrlLookup);
  }

  get anchors(): readonly Certificate[] {
    return this.current;
  }

  /** The same CRLs with other anchors: a candidate to check a reloaded TRUST_CA_FILE against. */
  withAnchors(anchors: readonly Certificate[]): TrustAnchorSet {
    return new TrustAnchorSet(anchors, this.crls);
  }

  /** Takes other anchors (TRUST_CA_FILE reloaded) for every later evaluation; chains found before are forgotten. */
  adopt(anchors: readonly Certificate[]): void {
    this.current = anchors;
    this.chains.clear();
  }

  /**
   * Evaluates `leaf` with `intermediates` (other certificates the signer sent)
   * at time `now`. The result names the first problem in the SMEV vocabulary.
   */
  evaluate(leaf: Certificate, intermediates: readonly Certificate[], now: Date): TrustResult {
    const key = [leaf, ...intermediates].map((c) => c.fingerprintSha256).join(',');
    let chain = this.chains.get(key);
    if (chain === undefined) {
      chain = this.buildChain(leaf, intermediates);
      if (this.chains.size >= 1024) this.chains.delete(this.chains.keys().next().value!);
      this.chains.set(key, chain);
    }
    if (!chain) {
      const selfSigned = leaf.subjectDer.equals(leaf.issuerDer) && safeIssued(leaf, leaf);
      return {
        trusted: false,
        reason: 'CertificateIsNotFound',
        message: selfSigned
          ? `certificate "${leaf.subject}" is self-signed and not a trusted CA`
          : `certificate "${leaf.subject}" is not issued by a trusted CA (issuer "${leaf.issuer}")`,
        chain: [],
      };
    }
    for (const cert of chain) {
      if (now < cert.notBefore) {
        return { trusted: false, reason: 'CertificateIsExpired', message: `certificate "${cert.subject}" is not valid before ${cert.notBefore.toISOString()}`, chain };
      }
      if (now > cert.notAfter) {
        return { trusted: false, reason: 'CertificateIsExpired', message: `certificate "${cert.subject}" expired on ${cert.notAfter.toISOString()}`, chain };
      }
    }
    // Revocation: every chain member whose issuer published a CRL. SMEV has no
    // "revoked" reason; the closest is CertificateIsExpired (no longer valid,
    // the holder needs a new certificate); the message says it was revoked.
    for (let i = 0; i + 1 < chain.length; i++) {
      const cert = chain[i]!;
      for (const crl of this.crls.forIssuer(chain[i + 1]!.fingerprintSha256)) {
        const revokedAt = crl.revoked.get(cert.serialHex);
        if (revokedAt && revokedAt <= now) {
          return { trusted: false, reason: 'CertificateIsExpired', message: `certificate "${cert.subject}" (serial ${cert.serialHex}) was revoked on ${revokedAt.toISOString()} (CRL of "${crl.issuer}")`, chain };
        }
      }
    }
    for (const ca of chain.slice(1)) {
      if (!ca.basicConstraints?.cA || (ca.keyUsage && !ca.keyUsage.has('keyCertSign'))) {
        return { trusted: false, reason: 'CertificateIsNotFound', message: `"${ca.subject}" is not a CA and cannot issue certificates`, chain };
      }
    }
    if (leaf.keyUsage && !leaf.keyUsage.has('digitalSignature') && !leaf.keyUsage.has('nonRepudiation')) {
      return { trusted: false, reason: 'CertificateIsNotFound', message: `certificate "${leaf.subject}" does not allow digital signatures (keyUsage)`, chain };
    }
    return { trusted: true, message: `chains to "${chain[chain.length - 1]!.subject}"`, chain };
  }

  private buildChain(leaf: Certificate, intermediates: readonly Certificate[]): Certificate[] | null {
    const chain = [leaf];
    let current = leaf;
    for (let depth = 0; depth < MAX_CHAIN; depth++) {
      const anchor = this.anchors.find((a) => a.der.equals(current.der) || (a.subjectDer.equals(current.issuerDer) && safeIssued(current, a)));
      if (anchor) {
        if (!anchor.der.equals(current.der)) chain.push(anchor);
        return chain;
      }
      const next = intermediates.find((c) => c !== current && !chain.includes(c) && c.subjectDer.equals(current.issuerDer) && safeIssued(current, c));
      if (!next) return null;
      chain.push(next);
      current = next;
    }
    return null;
  }
}

function safeIssued(cert: Certificate, issuer: Certificate): boolean {
  try {
    return verifyIssuedBy(cert, issuer);
  } catch {
    return false; // a refused algorithm (SHA-1, MD5) never makes a chain
  }
}
