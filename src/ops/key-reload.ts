/**
 * One key reload of this process (SIGHUP, POST /api/v1/maintenance/reload-keys):
 * the event loop's key first (checked fully; a problem keeps the key in use),
 * then the large-message threads', then one log line with the old and the new
 * certificate — or with the problem. /ready and the metrics read the key in
 * use on every probe and scrape, so they follow at once.
 */
import type { Logger } from '../log.js';
import type { CertificateSummary, GatewayKeys } from '../pki/gateway-keys.js';
import type { LaneReload, LargeMessageLane } from '../soap/large-message-lane.js';
import type { Readiness } from './readiness.js';

export type ReloadTrigger = 'SIGHUP' | 'api';

export type KeyReloadReport =
  | { ok: true; trigger: ReloadTrigger; changed: boolean; previous: CertificateSummary; current: CertificateSummary; threads: LaneReload[] }
  | { ok: false; trigger: ReloadTrigger; problem: string; current: CertificateSummary; threads: LaneReload[] };

export interface KeyReloaderOptions {
  keys: GatewayKeys;
  lane: LargeMessageLane | null;
  readiness: Readiness;
  logger: Logger;
}

const brief = (c: CertificateSummary) => ({ subject: c.subject, serial: c.serial, notAfter: c.notAfter, algorithm: c.algorithm, source: c.source });

export function keyReloader(o: KeyReloaderOptions): (trigger: ReloadTrigger) => Promise<KeyReloadReport> {
  return async (trigger) => {
    const result = await o.keys.reload();
    if (!result.ok) {
      o.logger.error({ trigger, pid: process.pid, problem: result.problem, current: brief(result.current) }, `gateway key reload refused; the key in use stays: ${result.problem}`);
      return { ok: false, trigger, problem: result.problem, current: result.current, threads: [] };
    }
    const threads = o.lane ? await o.lane.reloadKeys(result.current.fingerprint) : [];
    o.readiness.invalidate();
    const failed = threads.filter((t) => !t.ok);
    const what = result.changed ? `from "${result.previous.subject}" (serial ${result.previous.serial}, until ${result.previous.notAfter}) to "${result.current.subject}" (serial ${result.current.serial}, until ${result.current.notAfter})` : `unchanged ("${result.current.subject}", serial ${result.current.serial})`;
    const fields = { trigger, pid: process.pid, changed: result.changed, previous: brief(result.previous), current: brief(result.current), threads: threads.length, ...(failed.length > 0 ? { failedThreads: failed } : {}) };
    if (failed.length > 0) o.logger.error(fields, `gateway key reloaded ${what}, but ${failed.length} large-message thread(s) kept the old key: ${failed[0]!.problem}`);
    else o.logger.info(fields, `gateway key reloaded ${what}`);
    return { ok: true, trigger, changed: result.changed, previous: result.previous, current: result.current, threads };
  };
}
