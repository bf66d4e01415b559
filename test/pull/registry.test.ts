/** Pull-mode configuration: the registry's exchanges and transports, the exchange certificate's trust, the PULL_* variables, the backoff rule. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/env.js';
import { loadPartners, parsePartners, PartnerRegistryError } from '../../src/registry/partners.js';
import { nextDelay } from '../../src/pull/poller.js';
import { projectRoot, startGateway } from '../helpers/gateway.js';
import { writePullRegistry } from '../helpers/pull.js';

const certs = path.join(projectRoot, 'certs-sample');
const exchange = (overrides: Record<string, unknown> = {}) => ({ id: 'smev', url: 'http://127.0.0.1:1/ws/smev3', certificates: [path.join(certs, 'gateway.crt.pem')], ...overrides });
const partner = (overrides: Record<string, unknown> = {}) => ({
  id: 'agency',
  name: 'Agency',
  role: 'agency',
  certificates: [path.join(certs, 'agency.crt.pem')],
  sends: [],
  receives: ['egrn-extract'],
  endpoint: null,
  signatureProfile: 'smev',
  transport: { mode: 'pull', exchange: 'smev' },
  ...overrides,
});

function problemsOf(data: unknown): string[] {
  try {
    parsePartners(data, 'partners.json');
  } catch (error) {
    if (error instanceof PartnerRegistryError) return error.problems;
    throw error;
  }
  throw new Error('expected a PartnerRegistryError');
}

describe('the registry in pull mode', () => {
  it('a pull-mode partner is linked to its exchange; the default registry stays in push mode', () => {
    const { registry } = parsePartners({ exchanges: [exchange()], partners: [partner(), partner({ id: 'other', certificates: [path.join(certs, 'portal.crt.pem')], endpoint: 'http://127.0.0.1:2/ws', transport: 'push' })] }, 'partners.json');
    const agency = registry.get('agency')!;
    expect(agency.transport.mode).toBe('pull');
    expect(agency.transport.mode === 'pull' && agency.transport.exchange.id).toBe('smev');
    expect(registry.exchange('smev')!.signatureProfile).toBe('smev');
    expect(registry.pullPartnersOf(registry.exchange('smev')!).map((p) => p.id)).toEqual(['agency']);
    expect(registry.get('other')!.transport).toEqual({ mode: 'push' });
    const { registry: defaults } = loadPartners(path.join(projectRoot, 'config/partners.json'));
    expect(defaults.partners.every((p) => p.transport.mode === 'push')).toBe(true);
    expect(defaults.exchanges).toEqual([]);
  });

  it('names each problem: unknown exchange, an endpoint on a pull partner, a bad transport, an exchange without certificates, a shared certificate', () => {
    expect(problemsOf({ partners: [partner()] })).toEqual(['/partners/0 (agency)/transport/exchange: no exchange "smev"; registered exchanges: none (add a top-level "exchanges" list)']);
    expect(problemsOf({ exchanges: [exchange()], partners: [partner({ endpoint: 'http://127.0.0.1:1/ws' })] })).toEqual([
      '/partners/0 (agency)/endpoint: must be null for a pull-mode partner (its messages go through exchange "smev")',
    ]);
    expect(problemsOf({ exchanges: [exchange()], partners: [partner({ transport: { mode: 'poll', exchange: 'smev' } })] })).toContain('/partners/0/transport: must match a schema in anyOf');
    expect(problemsOf({ exchanges: [exchange({ certificates: [] })], partners: [partner()] })).toContain('/exchanges/0/certificates: must NOT have fewer than 1 items');
    expect(problemsOf({ exchanges: [exchange({ certificates: [path.join(certs, 'agency.crt.pem')] })], partners: [partner()] })).toEqual([
      '/partners/0 (agency)/certificates/0: the same certificate is already registered to "exchange smev"',
    ]);
  });

  it("refuses to start when the exchange's certificate does not chain to TRUST_CA_FILE", async () => {
    const file = writePullRegistry('http://127.0.0.1:1/ws/smev3', readFileSync(path.join(certs, 'untrusted.crt.pem'), 'utf8'));
    await expect(startGateway({ PARTNERS_FILE: file })).rejects.toThrow(/PARTNERS_FILE: exchange "smev" certificate inline #1: .*self-signed.*\(TRUST_CA_FILE\)/);
  });

  it('PULL_INTERVAL_MS, PULL_MAX_INTERVAL_MS, PULL_CONCURRENCY: defaults, bounds, order', () => {
    expect(loadConfig({}, projectRoot).pull).toEqual({ intervalMs: 1000, maxIntervalMs: 30000, concurrency: 1, maxTries: 5 });
    expect(loadConfig({ PULL_CONCURRENCY: '4' }, projectRoot).pull.concurrency).toBe(4);
    expect(() => loadConfig({ PULL_CONCURRENCY: '0' }, projectRoot)).toThrow(/PULL_CONCURRENCY: must be a whole number from 1 to 32/);
    expect(() => loadConfig({ PULL_INTERVAL_MS: '5' }, projectRoot)).toThrow(ConfigError);
    try {
      loadConfig({ PULL_INTERVAL_MS: '5000', PULL_MAX_INTERVAL_MS: '1000' }, projectRoot);
      throw new Error('expected a ConfigError');
    } catch (error) {
      expect((error as ConfigError).problems).toEqual(['PULL_MAX_INTERVAL_MS: 1000 is less than PULL_INTERVAL_MS (5000)']);
    }
  });

  it('backoff: at once after a message, then the interval doubling up to the maximum', () => {
    const seq: number[] = [];
    let d = 0;
    for (const got of [false, false, false, false, false, false, true, false]) {
      d = nextDelay(d, got, 100, 1000);
      seq.push(d);
    }
    expect(seq).toEqual([100, 200, 400, 800, 1000, 1000, 0, 100]);
  });
});
