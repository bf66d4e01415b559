import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPartners, parsePartners, PartnerRegistryError, reloadProblem } from '../../src/registry/partners.js';

const root = path.resolve(import.meta.dirname, '../..');
const defaultFile = path.join(root, 'config/partners.json');
const certs = path.join(root, 'certs-sample');

function partner(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'agency',
    name: 'Agency',
    role: 'agency',
    certificates: [path.join(certs, 'agency.crt.pem')],
    sends: [],
    receives: ['egrn-extract'],
    endpoint: 'http://127.0.0.1:1/ws',
    signatureProfile: 'smev',
    ...overrides,
  };
}

function problemsOf(data: unknown, portalUrl?: string): string[] {
  try {
    parsePartners(data, 'partners.json', { portalUrl });
  } catch (error) {
    if (error instanceof PartnerRegistryError) return error.problems;
    throw error;
  }
  throw new Error('expected a PartnerRegistryError');
}

describe('partner registry', () => {
  it('loads the default registry: portal and agency by the sample certificates', () => {
    const { registry, warnings } = loadPartners(defaultFile);
    expect(warnings).toEqual([]);
    expect(registry.partners.map((p) => [p.id, p.role])).toEqual([
      ['portal', 'portal'],
      ['agency', 'agency'],
    ]);
    const portalPem = readFileSync(path.join(certs, 'portal.crt.pem'), 'utf8');
    const portal = registry.portal()!;
    expect(portal.certificates[0]!.pem).toBe(portalPem);
    expect(registry.byCertificate(portal.certificates[0]!.fingerprint256)).toBe(portal);
    expect(portal.sends.has('advertising-permit')).toBe(true);
    expect(registry.receiversOf('egrn-extract').map((p) => p.id)).toEqual(['agency']);
    expect(registry.receiversOf('unknown-service')).toEqual([]);
  });

  it('names the field for schema violations', () => {
    const problems = problemsOf({
      partners: [partner({ role: 'ministry', signatureProfile: 'rsa', extra: 1 }), partner({ id: 'bad id!' })],
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\/partners\/0\/role: must be equal to one of the allowed values/),
        expect.stringMatching(/^\/partners\/0\/signatureProfile: /),
        expect.stringMatching(/^\/partners\/0: must NOT have additional properties "extra"/),
        expect.stringMatching(/^\/partners\/1\/id: must match pattern/),
      ]),
    );
    expect(problemsOf({ partners: [{ id: 'x' }] })).toEqual(
      expect.arrayContaining([expect.stringMatching(/^\/partners\/0: must have required property 'name'/)]),
    );
    expect(problemsOf({})).toEqual(["(root): must have required property 'partners'"]);
  });

  it('rejects duplicate ids, unreadable certificates and one certificate for two partners', () => {
    const problems = problemsOf({
      partners: [
        partner(),
        partner({ id: 'agency' }),
        partner({ id: 'other', certificates: ['missing.pem'] }),
        partner({ id: 'notpem', certificates: ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'] }),
      ],
    });
    expect(problems).toEqual([
      '/partners/1 (agency): duplicate id "agency"',
      '/partners/1 (agency)/certificates/0: the same certificate is already registered to "agency"',
      '/partners/2 (other)/certificates/0: cannot read "missing.pem": ENOENT',
      expect.stringMatching(/^\/partners\/3 \(notpem\)\/certificates\/0: "inline #1" is not a PEM certificate \(malformed certificate: /),
    ]);
  });

  it('warns about an expired partner certificate', () => {
    const { warnings } = parsePartners({ partners: [partner({ certificates: [path.join(certs, 'expired.crt.pem')] })] }, 'p.json');
    expect(warnings).toEqual([expect.stringMatching(/partner "agency": certificate .*expired\.crt\.pem expired on 2021-01-01/)]);
  });

  it('resolves certificate paths relative to the registry file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'okno-partners-'));
    const file = path.join(dir, 'partners.json');
    writeFileSync(file, JSON.stringify({ partners: [partner({ certificates: [path.relative(dir, path.join(certs, 'agency.crt.pem'))] })] }));
    expect(loadPartners(file).registry.get('agency')!.certificates).toHaveLength(1);
  });

  it('reports a missing file and bad JSON by name', () => {
    expect(() => loadPartners('/nonexistent/partners.json')).toThrow(/partner registry \/nonexistent\/partners.json is invalid:\n {2}- cannot read the file: ENOENT/);
    const dir = mkdtempSync(path.join(tmpdir(), 'okno-partners-'));
    writeFileSync(path.join(dir, 'p.json'), '{ "partners": [');
    expect(() => loadPartners(path.join(dir, 'p.json'))).toThrow(/not valid JSON/);
  });

  it('PORTAL_URL overrides the one portal endpoint', () => {
    const { registry } = loadPartners(defaultFile, { portalUrl: 'http://127.0.0.1:9999/portal' });
    expect(registry.portal()!.endpoint).toBe('http://127.0.0.1:9999/portal');
    expect(registry.get('agency')!.endpoint).toBe('http://127.0.0.1:8092/ws/smev3');
    expect(problemsOf({ partners: [partner()] }, 'http://x/ws')).toEqual([
      'PORTAL_URL is set, but the registry has 0 partners with role "portal" (exactly one is needed to know whose endpoint it overrides)',
    ]);
  });
});

describe('a reloaded registry (SIGHUP): what may change while running', () => {
  const registry = (over: Record<string, unknown> = {}, more: Array<Record<string, unknown>> = []) => parsePartners({ partners: [partner(over), ...more] }, 'partners.json').registry;

  it('certificates and names: adopted at once by the same registry object', () => {
    const current = registry();
    const next = registry({ name: 'Agency (renewed)', certificates: [path.join(certs, 'agency.crt.pem'), path.join(certs, 'portal.crt.pem')] });
    expect(reloadProblem(current, next)).toBeNull();
    const portalFingerprint = next.get('agency')!.certificates[1]!.fingerprint256;
    expect(current.byCertificate(portalFingerprint)).toBeUndefined();
    current.adopt(next);
    expect(current.byCertificate(portalFingerprint)?.id).toBe('agency');
    expect(current.get('agency')!.name).toBe('Agency (renewed)');
  });

  it('anything else needs a restart, and says what changed', () => {
    const current = registry();
    expect(reloadProblem(current, registry({ endpoint: 'http://127.0.0.1:2/ws', receives: [] }))).toBe('partner "agency": endpoint, receives changed; only certificates and names are taken while running, the rest needs a restart');
    expect(reloadProblem(current, registry({ rateLimit: { perSecond: 5, burst: 10 } }))).toMatch(/^partner "agency": rateLimit changed/);
    expect(reloadProblem(current, registry({}, [partner({ id: 'other', certificates: [path.join(certs, 'portal.crt.pem')] })]))).toBe('the partners differ (agency → agency, other); adding or removing a partner needs a restart');
  });
});
