/**
 * Pull mode in tests: the SMEV exchange simulator (real HTTP) with the default
 * systems (okno = the gateway, portal, agency; sample certificates), a
 * certificate for the exchange issued at test time by the sample CA, and a
 * registry file (config/partners.pull.json with the simulator's URL and that
 * certificate) for a gateway to start with.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadCatalogue } from '../../src/catalogue/load.js';
import { splitPem } from '../../src/pki/gateway-identity.js';
import { TrustAnchorSet } from '../../src/pki/trust.js';
import { SmevExchangeSimulator, type SmevExchangeOptions } from '../../src/simulators/smev-exchange.js';
import { defaultExchangeSystems } from '../../src/simulators/smev-exchange-systems.js';
import { ExchangeClient, issuedSigner } from './exchange.js';
import { projectRoot } from './gateway.js';
import { sampleSigner } from './smev.js';

export const caPem = readFileSync(path.join(projectRoot, 'certs-sample/ca.crt.pem'), 'utf8');

let exchangeIdentity: ReturnType<typeof issuedSigner> | null = null;

export interface PullWorld {
  sim: SmevExchangeSimulator;
  /** A registry file for the gateway: the pull registry pointed at this simulator. */
  partnersFile: string;
  /** Environment for a gateway in pull mode (fast polling for tests). */
  env: Record<string, string>;
  portal: ExchangeClient;
  agency: ExchangeClient;
  exchangeCertPem: string;
}

/** `registryCertPem`: the exchange certificate the gateway's registry names (default: the one the simulator signs with). */
export async function startPullWorld(options: Partial<SmevExchangeOptions> & { registryCertPem?: string } = {}): Promise<PullWorld> {
  exchangeIdentity ??= issuedSigner('smev-exchange-test');
  const catalogue = loadCatalogue(path.join(projectRoot, 'config/services'));
  const sim = await SmevExchangeSimulator.start({
    trust: new TrustAnchorSet(splitPem(caPem)),
    signer: exchangeIdentity.signer,
    systems: defaultExchangeSystems(catalogue, path.join(projectRoot, 'certs-sample')),
    ...options,
  });
  const partnersFile = writePullRegistry(sim.endpoint, options.registryCertPem ?? exchangeIdentity.certPem);
  return {
    sim,
    partnersFile,
    env: {
      PARTNERS_FILE: partnersFile,
      PULL_INTERVAL_MS: '50',
      PULL_MAX_INTERVAL_MS: '200',
      DELIVERY_BACKOFF_MS: '50',
      DELIVERY_BACKOFF_CAP_MS: '300',
      DELIVERY_TIMEOUT_MS: '3000',
    },
    portal: new ExchangeClient(sim.endpoint, sampleSigner('portal')),
    agency: new ExchangeClient(sim.endpoint, sampleSigner('agency')),
    exchangeCertPem: exchangeIdentity.certPem,
  };
}

/** config/partners.pull.json with the exchange's URL and (inline) certificate replaced, in a temp dir. */
export function writePullRegistry(url: string, exchangeCertPem: string, edit?: (registry: PullRegistryJson) => void): string {
  const registry = JSON.parse(readFileSync(path.join(projectRoot, 'config/partners.pull.json'), 'utf8')) as PullRegistryJson;
  registry.exchanges[0]!.url = url;
  registry.exchanges[0]!.certificates = [exchangeCertPem];
  for (const p of registry.partners) p.certificates = p.certificates.map((c) => path.resolve(projectRoot, 'config', c));
  edit?.(registry);
  const dir = mkdtempSync(path.join(tmpdir(), 'okno-pull-'));
  const file = path.join(dir, 'partners.json');
  writeFileSync(file, JSON.stringify(registry, null, 2));
  return file;
}

export interface PullRegistryJson {
  exchanges: Array<{ id: string; url: string; certificates: string[]; signatureProfile?: string }>;
  partners: Array<{ id: string; certificates: string[]; endpoint: string | null; transport?: unknown; [k: string]: unknown }>;
}

/** Polls `check` until it returns a value (not undefined/null/false) or the time is up. */
export async function eventually<T>(check: () => Promise<T | null | undefined | false>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
