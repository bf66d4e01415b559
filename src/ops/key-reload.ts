/**
 * One key reload of this process (SIGHUP, POST /api/v1/maintenance/reload-keys):
 * PARTNERS_FILE read and checked first (ops/partners-reload.ts), then the event
 * loop's key (checked fully), and only when both are fine are both taken — a
 * problem with either keeps the key and the registry in use. Then the
 * large-message threads follow, and one log line names the old and the new
 * certificate — or the problem. /ready and the metrics read the key and the
 * registry in use on every probe and scrape, so they follow at once.
 */
import type { Logger } from '../log.js';
import type { CertificateSummary, GatewayKeys } from '../pki/gateway-keys.js';
import type { PartnersReload, PreparedPartners } from './partners-reload.js';
import type { Readiness } from './readiness.js';

export type ReloadTrigger = 'SIGHUP' | 'api';

/** One thread's part of a reload (a large-message thread holds its own copy of the key). */
export interface ThreadReload {
  thread: number;
  ok: boolean;
  problem: string | null;
}

/** Threads that sign with their own copy of the key and follow a reload (push mode's large-message lane). */
export interface KeyHoldingThreads {
  reloadKeys(fingerprint: string, partners: boolean): Promise<ThreadReload[]>;
}

export type KeyReloadReport =
  | { ok: true; trigger: ReloadTrigger; changed: boolean; previous: CertificateSummary; current: CertificateSummary; threads: ThreadReload[]; partners: PartnersOutcome | null }
  | { ok: false; trigger: ReloadTrigger; refused: 'key' | 'registry'; problem: string; current: CertificateSummary; threads: ThreadReload[] };

/** The partner registry's part: whether PARTNERS_FILE changed anything, and how many partners it has. */
export interface PartnersOutcome {
  changed: boolean;
  partners: number;
}

export interface KeyReloaderOptions {
  keys: GatewayKeys;
  /** Threads with their own copy of the key, reloaded after the event loop's (none: null). */
  threads: KeyHoldingThreads | null;
  readiness: Readiness;
  logger: Logger;
  /** PARTNERS_FILE, reloaded with the key (absent: the key only). */
  partners?: PartnersReload | null;
}

const brief = (c: CertificateSummary) => ({ subject: c.subject, serial: c.serial, notAfter: c.notAfter, algorithm: c.algorithm, source: c.source });

export function keyReloader(o: KeyReloaderOptions): (trigger: ReloadTrigger) => Promise<KeyReloadReport> {
  return async (trigger) => {
    let partners: PreparedPartners | null = null;
    try {
      partners = o.partners?.prepare() ?? null;
    } catch (error) {
      const problem = (error as Error).message;
      const current = o.keys.summary();
      o.logger.error({ trigger, pid: process.pid, problem, current: brief(current) }, `gateway reload refused; the key, the partner registry and the trust anchors in use stay: ${problem}`);
      return { ok: false, trigger, refused: 'registry', problem, current, threads: [] };
    }
    const result = await o.keys.reload();
    if (!result.ok) {
      o.logger.error({ trigger, pid: process.pid, problem: result.problem, current: brief(result.current) }, `gateway key reload refused; the key${partners ? ' and the partner registry' : ''} in use stay${partners ? '' : 's'}: ${result.problem}`);
      return { ok: false, trigger, refused: 'key', problem: result.problem, current: result.current, threads: [] };
    }
    if (partners) {
      o.partners!.commit(partners);
      for (const warning of partners.warnings) o.logger.warn({ trigger, pid: process.pid }, warning);
    }
    const partnersOutcome = partners ? { changed: partners.changed, partners: partners.next.partners.length } : null;
    const threads = o.threads ? await o.threads.reloadKeys(result.current.fingerprint, partners !== null) : [];
    o.readiness.invalidate();
    const failed = threads.filter((t) => !t.ok);
    const what = result.changed ? `from "${result.previous.subject}" (serial ${result.previous.serial}, until ${result.previous.notAfter}) to "${result.current.subject}" (serial ${result.current.serial}, until ${result.current.notAfter})` : `unchanged ("${result.current.subject}", serial ${result.current.serial})`;
    const fields = { trigger, pid: process.pid, changed: result.changed, previous: brief(result.previous), current: brief(result.current), threads: threads.length, ...(partnersOutcome ? { partners: partnersOutcome } : {}), ...(failed.length > 0 ? { failedThreads: failed } : {}) };
    if (failed.length > 0) o.logger.error(fields, `gateway key reloaded ${what}, but ${failed.length} large-message thread(s) kept the old key: ${failed[0]!.problem}`);
    else o.logger.info(fields, `gateway key reloaded ${what}${partnersOutcome ? `; partner registry ${partnersOutcome.changed ? 'renewed' : 'unchanged'}` : ''}`);
    return { ok: true, trigger, changed: result.changed, previous: result.previous, current: result.current, threads, partners: partnersOutcome };
  };
}
