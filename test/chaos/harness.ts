/**
 * What the chaos suites share: a gateway process that can be SIGKILLed and
 * started again on the same port, polling, and readers for the city's inbox
 * and the message journal over the real HTTP API.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadCatalogue } from '../../src/catalogue/load.js';
import { parseCertificate } from '../../src/pki/certificate.js';
import { TrustAnchorSet } from '../../src/pki/trust.js';
import { projectRoot } from '../helpers/gateway.js';
import { startGatewayProcess, type GatewayProcess } from '../helpers/process.js';
import { freePort } from '../helpers/net.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { CITY, OPS, sampleSigner } from '../helpers/smev.js';
import { AgencySimulator } from '../../src/simulators/agency.js';
import { PortalSimulator } from '../../src/simulators/portal.js';

export const catalogue = loadCatalogue(path.join(projectRoot, 'config/services'));
export const trust = new TrustAnchorSet([readFileSync(path.join(projectRoot, 'certs-sample/ca.crt.pem'), 'utf8')]);
export const gatewayFingerprint = parseCertificate(readFileSync(path.join(projectRoot, 'certs-sample/gateway.crt.pem'), 'utf8')).fingerprintSha256;

/** One gateway (`node dist/main.js`) on a fixed port, killed and restarted at will. */
export class KillableGateway {
  private proc: GatewayProcess | null = null;
  /** Every process it ran, for stderr on failure. */
  readonly generations: GatewayProcess[] = [];

  constructor(
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    return this.proc!.child.pid!;
  }

  get running(): boolean {
    return this.proc !== null && this.proc.child.exitCode === null && this.proc.child.signalCode === null;
  }

  async start(): Promise<void> {
    this.proc = await startGatewayProcess({ ...this.env, PORT: String(this.port) }, 30_000);
    this.generations.push(this.proc);
  }

  /** SIGKILL: no shutdown, no flush; resolves once the process is gone. */
  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    proc.child.kill('SIGKILL');
    await proc.exited;
  }

  /** SIGTERM, and the exit code. */
  async stop(): Promise<number | null> {
    const proc = this.proc;
    if (!proc || !this.running) return null;
    proc.child.kill('SIGTERM');
    return proc.exited;
  }

  /** Stderr of every generation that wrote any (a crash would show here). */
  stderr(): string {
    return this.generations.map((g) => g.stderr()).filter(Boolean).join('\n---\n');
  }

  /** Log lines at these levels (labels: the gateway logs `"level":"warn"`) across all generations. */
  logsAt(...levels: string[]): Array<Record<string, unknown>> {
    return this.generations.flatMap((g) => g.lines.filter((l) => levels.includes(String(l.level))));
  }
}

export async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs: number, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch((e: unknown) => e as T);
    if (ok(v)) return v;
    if (Date.now() > deadline) {
      const last = v instanceof Error ? `${v.message} ${String((v.cause as { code?: string } | undefined)?.code ?? '')}` : String(JSON.stringify(v) ?? v);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: last ${last.slice(0, 500)}`);
    }
    await sleep(everyMs);
  }
}

export interface InboxEntry {
  id: string;
  kind: string;
  messageId: string;
  registrationNumber?: string | null;
  applicationId?: string | null;
  content: { queryId?: string } & Record<string, unknown>;
}

/** The whole inbox, page by page. */
export async function readInbox(url: string): Promise<InboxEntry[]> {
  const all: InboxEntry[] = [];
  let after = '0';
  for (;;) {
    const res = await fetch(`${url}/api/v1/inbox?after=${after}&limit=500`, { headers: CITY });
    if (res.status !== 200) throw new Error(`inbox: HTTP ${res.status}`);
    const page = (await res.json()) as { items: InboxEntry[]; next: string };
    all.push(...page.items);
    if (page.items.length === 0 || page.next === after) return all;
    after = page.next;
  }
}

export interface JournalEntry {
  id: string;
  seq: number;
  direction: 'inbound' | 'outbound';
  operation: string;
  messageId: string | null;
  succeeded: boolean;
  duplicate: boolean;
  faultCode: string | null;
  registrationNumber: string | null;
}

/** Every journal record (oldest first), optionally filtered by direction. */
export async function readJournal(url: string, direction?: 'inbound' | 'outbound'): Promise<JournalEntry[]> {
  const all: JournalEntry[] = [];
  let after = '0';
  for (;;) {
    const res = await fetch(`${url}/api/v1/journal?after=${after}&limit=500${direction ? `&direction=${direction}` : ''}`, { headers: OPS });
    if (res.status !== 200) throw new Error(`journal: HTTP ${res.status}`);
    const page = (await res.json()) as { items: JournalEntry[]; next: string | null };
    all.push(...page.items);
    if (page.next === null) return all;
    after = page.next;
  }
}

/** How often each value occurs. */
export function countBy<T>(items: readonly T[], key: (item: T) => string | null | undefined): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) {
    const k = key(item);
    if (k !== null && k !== undefined) counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return counts;
}

/** The default registry with the agency's endpoint pointed at a simulator. */
export function partnersFileFor(agencyEndpoint: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'okno-partners-'));
  const partners = JSON.parse(readFileSync(path.join(projectRoot, 'config/partners.json'), 'utf8')) as { partners: Array<{ id: string; certificates: string[]; endpoint: string | null }> };
  for (const p of partners.partners) {
    p.certificates = p.certificates.map((c) => path.resolve(projectRoot, 'config', c));
    if (p.id === 'agency') p.endpoint = agencyEndpoint;
  }
  writeFileSync(path.join(dir, 'partners.json'), JSON.stringify(partners));
  return path.join(dir, 'partners.json');
}

/** Redis (AOF), the portal and agency simulators, and a killable gateway delivering to them. */
export interface PartnerRig {
  redis: RedisTestServer;
  portal: PortalSimulator;
  agency: AgencySimulator;
  gw: KillableGateway;
  close(): Promise<void>;
}

/** Starts a PartnerRig; `env` adds the gateway's delivery settings (timeouts, backoff). */
export async function startPartnerRig(env: Record<string, string>): Promise<PartnerRig> {
  const redis = await startRedisServer({ appendonly: true });
  const portal = await PortalSimulator.start({ port: 0, trust, expectedSigner: gatewayFingerprint, signer: sampleSigner('portal'), catalogue });
  const agency = await AgencySimulator.start({ port: 0, trust, expectedSigner: gatewayFingerprint, signer: sampleSigner('agency'), catalogue });
  const gw = new KillableGateway(await freePort(), { REDIS_URL: redis.url, PORTAL_URL: portal.endpoint, PARTNERS_FILE: partnersFileFor(agency.endpoint), ...env });
  agency.setGatewayUrl(gw.url);
  await gw.start();
  return {
    redis,
    portal,
    agency,
    gw,
    async close() {
      await gw.kill();
      await portal.close();
      await agency.close();
      await redis.dispose();
    },
  };
}
