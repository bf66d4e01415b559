/**
 * `okno simulate xroad`: the X-Road / Trembita Security Servers of an
 * exchange (src/simulators/xroad-security-server.ts) in the foreground.
 * Prints its table of members and access rights in one write (a reader that
 * sees "listening on" sees the whole banner), then one line per exchange
 * with --verbose (without it, only the Security Server's own faults), and a
 * summary when stopped (SIGINT / SIGTERM).
 */
import { readFileSync } from 'node:fs';
import { loadCatalogue } from '../catalogue/load.js';
import { loadPartners, PartnerRegistryError } from '../registry/partners.js';
import { InformationSystemConfigError } from '../simulators/xroad-information-system.js';
import { XROAD_DIALECTS, type XRoadDialect } from '../registry/xroad-members.js';
import { mergeMembers, parseAllowOption, parseMemberOption, parseSecurityServerConfig, SecurityServerConfigError } from '../simulators/xroad-security-server-config.js';
import { XRoadSecurityServerSimulator, type RecordedExchange, type SecurityServerMode, type SecurityServerOptions } from '../simulators/xroad-security-server.js';
import { UsageError } from './command.js';
import { untilStopped } from './until-stopped.js';

export const DEFAULT_XROAD_PORT = 8095;
/** The registry --answer-as reads when --partners is not given. */
export const DEFAULT_XROAD_PARTNERS = 'config/partners.xroad.json';

type Values = Record<string, string | boolean | string[] | undefined>;

/** One line per exchange: when, protocol, client → service, id, what happened, how long. */
export function xroadExchangeLine(e: RecordedExchange): string {
  const outcome = e.fault
    ? `refused ${e.fault.code}: ${e.fault.message}`
    : e.serviceFault
      ? `service fault ${e.serviceFault.code} relayed`
      : e.answeredAs
        ? `answered as ${e.answeredAs}: HTTP ${e.status}`
        : `forwarded to ${e.forwardedTo ?? '?'}: HTTP ${e.status}`;
  return [e.at.toISOString(), `${e.protocol.toUpperCase()}${e.protocol === 'rest' ? `/${e.dialect}` : ''}`, e.method, e.url, `${e.client ?? '?'} → ${e.service ?? '?'}`, `id ${e.id ?? '—'}`, outcome, `${e.durationMs} ms`].join('  ');
}

/** The simulator's options from the flags (and --config FILE). UsageError / SecurityServerConfigError name what is wrong. */
export function xroadOptionsFrom(values: Values, port: number): SecurityServerOptions {
  const list = (name: string): string[] => (values[name] as string[] | undefined) ?? [];
  const file = values.config as string | undefined;
  const table = file ? parseSecurityServerConfig(readFileSync(file, 'utf8'), file) : { dialect: null, members: [], allow: [] };
  const dialectFlag = values.dialect as string | undefined;
  if (dialectFlag !== undefined && !XROAD_DIALECTS.includes(dialectFlag as XRoadDialect)) throw new UsageError(`--dialect takes ${XROAD_DIALECTS.join(' or ')}, not "${dialectFlag}"`);
  const members = mergeMembers([...table.members, ...list('member').map((m) => parseMemberOption(m)), ...list('rest-member').map((m) => parseMemberOption(m, 'rest'))]);
  const allow = [...table.allow, ...list('allow').map(parseAllowOption)];
  let mode: SecurityServerMode = 'normal';
  const options: SecurityServerOptions = { port, host: (values.host as string | undefined) ?? '127.0.0.1', dialect: (dialectFlag as XRoadDialect | undefined) ?? table.dialect ?? 'xroad', members, allow };
  const answerAs = list('answer-as');
  if (answerAs.length > 0) {
    // read once, at start: the registry naming the providers' services, the catalogue answering them
    const partners = loadPartners((values.partners as string | undefined) ?? DEFAULT_XROAD_PARTNERS).registry;
    options.partners = partners;
    options.catalogue = loadCatalogue((values.services as string | undefined) ?? process.env.SERVICES_DIR ?? 'config/services');
    options.answerAs = answerAs.map((subsystem) => ({ subsystem }));
    // the registry's dialect, unless told otherwise
    if (dialectFlag === undefined && table.dialect === null && partners.xroad) options.dialect = partners.xroad.dialect;
  } else if (values.partners !== undefined) {
    throw new UsageError('--partners is read by --answer-as: give --answer-as SUBSYSTEM too');
  }
  if (values['delay-ms'] !== undefined) {
    const ms = Number(values['delay-ms']);
    if (!Number.isInteger(ms) || ms < 0) throw new UsageError('--delay-ms takes milliseconds (a non-negative integer)');
    options.delayMs = ms;
    mode = 'slow';
  }
  if (values.refuse) mode = 'refusing';
  if (typeof values['refuse-code'] === 'string') options.refuseCode = values['refuse-code'];
  if (values.down !== undefined) {
    if (values.down !== 'close' && values.down !== '503') throw new UsageError(`--down takes close (connections cut) or 503, not "${String(values.down)}"`);
    options.downAnswer = values.down;
    mode = 'down';
  }
  if ([values['delay-ms'] !== undefined, values.refuse === true, values.down !== undefined].filter(Boolean).length > 1) throw new UsageError('--delay-ms, --refuse and --down are different modes: choose one');
  options.mode = mode;
  return options;
}

function banner(sim: XRoadSecurityServerSimulator, verbose: boolean): string {
  const restPath = sim.dialect === 'xroad' ? '/r1/{serviceId}/{path} (X-Road-Client, X-Road-Id, X-Road-UserId)' : '/restapi/{path} (Uxp-Client, Uxp-Service, Uxp-QueryID, Uxp-Subject-Id, Uxp-Purpose-Ids)';
  const lines = [`X-Road Security Server simulator (${sim.dialect}) listening on ${sim.url}; Ctrl-C to stop`];
  lines.push(`  SOAP (X-Road message protocol 4.0): POST ${sim.url}/   REST: ${sim.url}${restPath}`);
  const mode = sim.mode === 'slow' ? `slow (${sim.delayMs} ms per call)` : sim.mode;
  lines.push(`  mode: ${mode}`);
  if (sim.members.length === 0 && sim.answeredProviders.length === 0) lines.push('  no members: every call is refused (--member SUBSYSTEM=URL, --allow CLIENT=SERVICE, or --config FILE)');
  for (const m of sim.members) {
    const where = [m.soap ? `SOAP ${m.soap}` : null, m.rest ? `REST ${m.rest}` : null].filter(Boolean).join(', ');
    lines.push(`  member ${m.subsystem}: ${where || 'client only'}${m.services ? ` (services ${m.services.join(', ')})` : ''}`);
  }
  for (const a of sim.answeredProviders) lines.push(`  answered by the simulator as ${a.subsystem} (${a.partner}): ${a.services.map((s) => `${s.code} (${s.serviceId})`).join(', ')}`);
  for (const r of sim.accessRights) lines.push(`  allow ${r.client} → ${r.service}`);
  lines.push(verbose ? '  every exchange is printed (--verbose)' : "  the Security Server's own faults are printed (--verbose prints every exchange)");
  return `${lines.join('\n')}\n`;
}

export async function runXRoad(values: Values, port: number): Promise<number> {
  // listening for SIGINT/SIGTERM before "listening on" is printed: a signal sent right after it still stops the simulator cleanly
  const stopped = untilStopped();
  const verbose = values.verbose === true;
  let sim: XRoadSecurityServerSimulator;
  try {
    const options = xroadOptionsFrom(values, port);
    sim = await XRoadSecurityServerSimulator.start({
      ...options,
      onExchange: (e) => {
        if (verbose) process.stdout.write(`${xroadExchangeLine(e)}\n`);
        else if (e.fault) process.stderr.write(`${xroadExchangeLine(e)}\n`);
      },
    });
  } catch (error) {
    process.stderr.write(`okno simulate xroad: ${(error as Error).message}\n`);
    const usage = error instanceof UsageError || error instanceof SecurityServerConfigError || error instanceof InformationSystemConfigError || error instanceof PartnerRegistryError;
    return usage ? 2 : 1;
  }
  process.stdout.write(banner(sim, verbose));
  await stopped;
  await sim.close();
  const all = sim.exchanges();
  process.stdout.write(`X-Road Security Server simulator stopped: ${all.length} exchanges, ${all.filter((e) => e.fault).length} refused by the Security Server\n`);
  return 0;
}
