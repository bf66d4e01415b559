/**
 * The registry's part of a reload (SIGHUP, POST /api/v1/maintenance/reload-keys):
 * TRUST_CA_FILE and PARTNERS_FILE are read and checked fully first — what
 * start-up checks (CA certificates, schema, readable certificates, an
 * exchange's certificates chain to the new anchors, no sample CA or certificate
 * in production), and that only what may change while running changed
 * (registry/partners.ts reloadProblem) — and both are taken only after the key
 * reload succeeded: a reload takes everything or nothing.
 */
import { loadPartners, reloadProblem, type PartnerRegistry } from '../registry/partners.js';
import type { Certificate } from '../pki/certificate.js';
import type { CrlSet } from '../pki/crl-set.js';
import { loadTrustAnchors, type TrustAnchors } from '../pki/trust-anchors.js';
import type { TrustAnchorSet } from '../pki/trust.js';

export interface PartnersReloadOptions {
  file: string;
  portalUrl: string | null;
  /** The registry in use (everything holds this object; it adopts the new one). */
  registry: PartnerRegistry;
  trust: {
    file: string;
    /** The anchors in use (everything holds this object; it adopts the new ones). */
    set: TrustAnchorSet;
    /** Checks the signatures of CRLs against the anchors. */
    crlSet: CrlSet;
    /**
     * Set when the HTTPS server checks client certificates against TRUST_CA_FILE (TLS_CLIENT_CA_FILE
     * unset): its TLS context is made at start-up, so changed anchors are refused with this reason.
     */
    sharedWithTls: string | null;
  };
  /** Start-up's further checks of a registry with the (possibly new) anchors; the problems, none when fine. */
  check(next: PartnerRegistry, trust: TrustAnchors, anchors: TrustAnchorSet): string[];
}

export interface PreparedPartners {
  next: PartnerRegistry;
  warnings: string[];
  changed: boolean;
  /** The new anchors; null when TRUST_CA_FILE holds the ones in use. */
  anchors: readonly Certificate[] | null;
}

export interface PartnersReload {
  /** Reads and checks the files; throws an Error naming the problem (nothing changes). */
  prepare(): PreparedPartners;
  /** Makes the prepared registry and anchors the ones in use. */
  commit(prepared: PreparedPartners): void;
}

export function partnersReload(o: PartnersReloadOptions): PartnersReload {
  return {
    prepare() {
      let trust: TrustAnchors;
      try {
        trust = loadTrustAnchors(o.trust.file);
      } catch (error) {
        throw new Error((error as Error).message);
      }
      const anchorsChanged = fingerprints(trust.certificates) !== fingerprints(o.trust.set.anchors);
      if (anchorsChanged && o.trust.sharedWithTls) throw new Error(`TRUST_CA_FILE: changed, but ${o.trust.sharedWithTls}`);
      const anchors = anchorsChanged ? o.trust.set.withAnchors(trust.certificates) : o.trust.set;
      let loaded: ReturnType<typeof loadPartners>;
      try {
        loaded = loadPartners(o.file, { portalUrl: o.portalUrl });
      } catch (error) {
        throw new Error(`PARTNERS_FILE: ${(error as Error).message.replace(/\n\s*/g, ' ')}`);
      }
      const { registry: next, warnings } = loaded;
      const shape = reloadProblem(o.registry, next);
      if (shape) throw new Error(`PARTNERS_FILE: ${shape}`);
      const problem = o.check(next, trust, anchors)[0];
      if (problem) throw new Error(problem);
      return { next, warnings, changed: signature(next) !== signature(o.registry), anchors: anchorsChanged ? trust.certificates : null };
    },
    commit(prepared) {
      if (prepared.anchors) {
        o.trust.set.adopt(prepared.anchors);
        o.trust.crlSet.setAnchors(prepared.anchors);
      }
      o.registry.adopt(prepared.next);
    },
  };
}

const fingerprints = (certs: readonly Certificate[]) => certs.map((c) => c.fingerprintSha256).join(',');

/** What a reload may change, as one string: names and certificates of every partner and exchange. */
function signature(r: PartnerRegistry): string {
  const of = (x: { id: string; name: string; certificates: ReadonlyArray<{ fingerprint256: string }>; tlsCertificates?: ReadonlyArray<{ fingerprint256: string }> | null }) =>
    `${x.id}|${x.name}|${x.certificates.map((c) => c.fingerprint256).join(',')}|${(x.tlsCertificates ?? []).map((c) => c.fingerprint256).join(',')}`;
  return [...r.partners.map(of), ...r.exchanges.map(of)].join('\n');
}
