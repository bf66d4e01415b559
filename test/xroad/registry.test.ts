/** The registry's X-Road side: the gateway's subsystem, partners reached through Security Servers, client lookups, service codes, reloads. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers/gateway.js';
import { loadPartners, parsePartners, PartnerRegistryError, reloadProblem, xroadServiceCode } from '../../src/registry/partners.js';
import { formatMember, formatService, parseMember, parseService, parseSubsystem, XRoadIdError } from '../../src/registry/xroad-members.js';

const self = { self: 'SEVDEIR-TEST/GOV/00000001/okno', dialect: 'trembita', securityServer: 'http://127.0.0.1:8095/' };
const partner = (overrides: Record<string, unknown> = {}, transport: Record<string, unknown> = {}) => ({
  id: 'dms',
  name: 'Kyiv DMS',
  role: 'agency',
  sends: ['advertising-permit-register-extract'],
  receives: ['egrn-extract'],
  endpoint: null,
  transport: { mode: 'xroad', subsystem: 'SEVDEIR-TEST/GOV/12345678/dms', ...transport },
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

describe('X-Road identifiers', () => {
  it('parses and formats members, subsystems and services', () => {
    expect(parseMember('EE/GOV/70000310')).toEqual({ instance: 'EE', memberClass: 'GOV', memberCode: '70000310', subsystemCode: null });
    expect(formatMember(parseSubsystem('SEVDEIR-TEST/GOV/12345678/dms'))).toBe('SEVDEIR-TEST/GOV/12345678/dms');
    const s = parseService('EE/GOV/70000310/xroad/getRandom/v1', true);
    expect(s).toMatchObject({ subsystemCode: 'xroad', serviceCode: 'getRandom', serviceVersion: 'v1' });
    expect(formatService(s)).toBe('EE/GOV/70000310/xroad/getRandom/v1');
    expect(formatService(s, false)).toBe('EE/GOV/70000310/xroad/getRandom');
  });

  it('refuses what X-Road would: too few parts, a member where a subsystem is needed, empty parts, forbidden characters', () => {
    expect(() => parseMember('EE/GOV')).toThrow(XRoadIdError);
    expect(() => parseSubsystem('EE/GOV/70000310')).toThrow(/names a member; a subsystem is needed/);
    expect(() => parseMember('EE//70000310')).toThrow(/part 2 \(""\) is empty/);
    expect(() => parseMember('EE/GOV/700 00310')).toThrow(/part 3/);
    expect(() => parseService('EE/GOV/70000310/xroad/getRandom/v1')).toThrow(/SERVICECODE\)/);
  });
});

describe('the registry in X-Road mode', () => {
  it('links a partner to its subsystem and extra client ids; the gateway has its own subsystem, dialect and Security Server', () => {
    const { registry } = parsePartners({ xroad: self, partners: [partner({}, { clients: ['SEVDEIR-TEST/GOV/87654321'], protocol: 'rest' })] }, 'partners.json');
    expect(registry.xroad).toMatchObject({ dialect: 'trembita', securityServer: 'http://127.0.0.1:8095' });
    expect(formatMember(registry.xroad!.subsystem)).toBe('SEVDEIR-TEST/GOV/00000001/okno');
    const dms = registry.get('dms')!;
    expect(dms.transport.mode).toBe('xroad');
    expect(dms.certificates).toEqual([]);
    if (dms.transport.mode !== 'xroad') throw new Error('unreachable');
    expect(dms.transport).toMatchObject({ protocol: 'rest', dialect: 'trembita' });
    // The subsystem itself, any subsystem of a member-level entry; nobody else.
    expect(registry.byXRoadClient(parseMember('SEVDEIR-TEST/GOV/12345678/dms'))?.id).toBe('dms');
    expect(registry.byXRoadClient(parseMember('SEVDEIR-TEST/GOV/87654321/any'))?.id).toBe('dms');
    expect(registry.byXRoadClient(parseMember('SEVDEIR-TEST/GOV/12345678/other'))).toBeUndefined();
    expect(registry.byXRoadClient(parseMember('SEVDEIR/GOV/12345678/dms'))).toBeUndefined();
  });

  it('service codes: the registry\'s, else the id (X-Road, version v1) or id_v1 (Trembita); the gateway finds its services by code', () => {
    const { registry } = parsePartners(
      { xroad: { ...self, services: { 'advertising-permit-register-extract': { code: 'AdvertisingRegisterExtract_v2' } } }, partners: [partner({}, { dialect: 'xroad', services: { 'egrn-extract': { code: 'landExtract', version: 'v3' } } })] },
      'partners.json',
    );
    expect(xroadServiceCode(registry.xroad!, 'advertising-permit-register-extract')).toEqual({ code: 'AdvertisingRegisterExtract_v2', version: null });
    expect(xroadServiceCode(registry.xroad!, 'kindergarten-enrollment')).toEqual({ code: 'kindergarten-enrollment_v1', version: null });
    expect(registry.serviceByXRoadCode('AdvertisingRegisterExtract_v2')).toBe('advertising-permit-register-extract');
    expect(registry.serviceByXRoadCode('advertising-permit-register-extract_v1')).toBeUndefined();
    const dms = registry.get('dms')!;
    if (dms.transport.mode !== 'xroad') throw new Error('unreachable');
    expect(xroadServiceCode(dms.transport, 'egrn-extract')).toEqual({ code: 'landExtract', version: 'v3' });
    expect(xroadServiceCode(dms.transport, 'fns-inn')).toEqual({ code: 'fns-inn', version: 'v1' });
  });

  it('names each problem: no gateway identity, an endpoint, a member as subsystem, Trembita instances and codes, a client claimed twice, no Security Server for queries, SMEV partners without certificates', () => {
    expect(problemsOf({ partners: [partner()] })).toEqual([`/partners/0 (dms)/transport: an xroad partner needs the gateway's own X-Road identity (a top-level "xroad": { "self": "INSTANCE/CLASS/CODE/SUBSYSTEM" })`]);
    expect(problemsOf({ xroad: self, partners: [partner({ endpoint: 'http://127.0.0.1:1/x' })] })).toEqual([
      '/partners/0 (dms)/endpoint: must be null for an xroad partner (the gateway calls it through its Security Server, xroad.securityServer)',
    ]);
    expect(problemsOf({ xroad: { self: 'SEVDEIR-TEST/GOV/1/okno/x' }, partners: [partner()] })).toContain('/xroad/self: must match pattern "^[^/]+/[^/]+/[^/]+/[^/]+$"');
    expect(problemsOf({ xroad: { ...self, self: 'UA/GOV/00000001/okno' }, partners: [partner()] })).toEqual(['/xroad/self: "UA/GOV/00000001/okno" is in instance UA, but Trembita\'s instances are SEVDEIR and SEVDEIR-TEST']);
    expect(problemsOf({ xroad: { ...self, services: { 'fns-inn': { code: 'Inn' } } }, partners: [partner()] })).toEqual(['/xroad/services/fns-inn/code: Trembita service codes are ServiceName_vN ("Inn" has no _vN)']);
    expect(problemsOf({ xroad: self, partners: [partner(), partner({ id: 'twin' }, { subsystem: 'SEVDEIR-TEST/GOV/1/x', clients: ['SEVDEIR-TEST/GOV/12345678/dms'] })] })).toEqual([
      '/partners/1 (twin)/transport: the X-Road client SEVDEIR-TEST/GOV/12345678/dms already identifies "dms"',
    ]);
    expect(problemsOf({ xroad: { self: self.self }, partners: [partner()] })).toEqual(['/partners/0 (dms)/receives: the city sends this partner queries, but xroad.securityServer (where they go) is not set']);
    expect(problemsOf({ xroad: self, partners: [partner({ transport: 'push' })] })).toEqual([
      '/partners/0 (dms)/certificates: at least one signing certificate is needed (only partners with transport xroad go without: the Security Servers sign)',
      '/partners/0 (dms)/signatureProfile: required ("smev" or "xmldsig") for a SMEV partner',
    ]);
  });

  it('the shipped Kyiv-style registry (config/partners.xroad.json) loads: Trembita, a SOAP and a REST agency beside the SMEV portal', () => {
    const { registry, warnings } = loadPartners(path.join(projectRoot, 'config/partners.xroad.json'));
    expect(warnings).toEqual([]);
    expect(registry.xroad?.dialect).toBe('trembita');
    expect(registry.partners.map((p) => `${p.id}:${p.transport.mode}${p.transport.mode === 'xroad' ? `:${p.transport.protocol}` : ''}`)).toEqual(['portal:push', 'kyiv-registry:xroad:soap', 'kyiv-tax:xroad:rest']);
    expect(registry.serviceByXRoadCode('AdvertisingRegisterExtract_v1')).toBe('advertising-permit-register-extract');
  });

  it('a reload may not change the X-Road identity or a partner\'s X-Road transport', () => {
    const before = parsePartners({ xroad: self, partners: [partner()] }, 'partners.json').registry;
    expect(reloadProblem(before, parsePartners({ xroad: self, partners: [partner({ name: 'Renamed' })] }, 'partners.json').registry)).toBeNull();
    expect(reloadProblem(before, parsePartners({ xroad: self, partners: [partner({}, { protocol: 'rest' })] }, 'partners.json').registry)).toMatch(/partner "dms": transport changed/);
    expect(reloadProblem(before, parsePartners({ xroad: { ...self, securityServer: 'http://127.0.0.1:9' }, partners: [partner()] }, 'partners.json').registry)).toMatch(/X-Road identity \(xroad\) changed/);
  });
});
