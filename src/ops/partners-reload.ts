/**
 * The partner registry's part of a reload (SIGHUP, POST /api/v1/maintenance/reload-keys):
 * PARTNERS_FILE is read and checked fully first — schema, certificates, what start-up checks
 * (an exchange's certificates chain to TRUST_CA_FILE, no sample certificate in production), and
 * that only what may change while running changed (config/partners.ts reloadProblem) — and the
 * registry adopts it only after the key reload succeeded: a reload takes everything or nothing.
 */
import { loadPartners, reloadProblem, type PartnerRegistry } from '../config/partners.js';

export interface PartnersReloadOptions {
  file: string;
  portalUrl: string | null;
  /** The registry in use (everything holds this object; it adopts the new one). */
  registry: PartnerRegistry;
  /** Start-up's further checks of a registry; the problems, none when it is fine. */
  check(next: PartnerRegistry): string[];
}

export interface PreparedPartners {
  next: PartnerRegistry;
  warnings: string[];
  changed: boolean;
}

export interface PartnersReload {
  /** Reads and checks the file; throws an Error naming the problem (nothing changes). */
  prepare(): PreparedPartners;
  /** Makes the prepared registry the one in use. */
  commit(prepared: PreparedPartners): void;
}

export function partnersReload(o: PartnersReloadOptions): PartnersReload {
  return {
    prepare() {
      let loaded: ReturnType<typeof loadPartners>;
      try {
        loaded = loadPartners(o.file, { portalUrl: o.portalUrl });
      } catch (error) {
        throw new Error(`PARTNERS_FILE: ${(error as Error).message.replace(/\n\s*/g, ' ')}`);
      }
      const { registry: next, warnings } = loaded;
      const problem = reloadProblem(o.registry, next) ?? o.check(next)[0] ?? null;
      if (problem) throw new Error(problem.startsWith('PARTNERS_FILE') ? problem : `PARTNERS_FILE: ${problem}`);
      return { next, warnings, changed: signature(next) !== signature(o.registry) };
    },
    commit(prepared) {
      o.registry.adopt(prepared.next);
    },
  };
}

/** What a reload may change, as one string: names and certificates of every partner and exchange. */
function signature(r: PartnerRegistry): string {
  const of = (x: { id: string; name: string; certificates: ReadonlyArray<{ fingerprint256: string }>; tlsCertificates?: ReadonlyArray<{ fingerprint256: string }> | null }) =>
    `${x.id}|${x.name}|${x.certificates.map((c) => c.fingerprint256).join(',')}|${(x.tlsCertificates ?? []).map((c) => c.fingerprint256).join(',')}`;
  return [...r.partners.map(of), ...r.exchanges.map(of)].join('\n');
}
