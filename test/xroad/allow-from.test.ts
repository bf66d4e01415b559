/**
 * Only the gateway's Security Server may call the X-Road routes (registry
 * xroad.allowFrom): it is what vouches for the client identifiers. A call from
 * elsewhere is refused before anything is read or stored — a SOAP fault on
 * /ws/xroad, the REST error on /xroad/rest — and journals nothing.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePartners, PartnerRegistryError } from '../../src/registry/partners.js';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';

function registry(allowFrom: string[] | undefined): Record<string, unknown> {
  const doc = JSON.parse(readFileSync(path.join(projectRoot, 'config/partners.xroad.json'), 'utf8')) as { xroad: Record<string, unknown>; partners: Array<Record<string, unknown>> };
  for (const p of doc.partners) if (p.certificates) p.certificates = (p.certificates as string[]).map((c) => path.resolve(projectRoot, 'config', c));
  if (allowFrom) doc.xroad.allowFrom = allowFrom;
  else delete doc.xroad.allowFrom;
  return doc;
}

describe('xroad.allowFrom in the registry', () => {
  it('takes addresses and CIDR blocks of both families, IPv4-mapped IPv6 included; names a bad entry; warns when absent', () => {
    const { registry: r } = parsePartners(registry(['10.1.2.0/24', '192.168.0.7', 'fd00::/8']), 'partners.json');
    const x = r.xroad!;
    expect(['10.1.2.9', '::ffff:10.1.2.200', '192.168.0.7', 'fd12::1'].map((a) => x.allows(a))).toEqual([true, true, true, true]);
    expect(['10.1.3.1', '192.168.0.8', '127.0.0.1', '::1', 'not-an-address'].map((a) => x.allows(a))).toEqual([false, false, false, false, false]);
    let problems: string[] = [];
    try {
      parsePartners(registry(['10.0.0.0/33', 'gateway.local']), 'partners.json');
    } catch (error) {
      problems = (error as PartnerRegistryError).problems;
    }
    expect(problems).toEqual([
      '/xroad/allowFrom/0: "10.0.0.0/33" is not an IP address or a CIDR block (e.g. 10.0.0.5, 10.0.0.0/24, ::1)',
      '/xroad/allowFrom/1: "gateway.local" is not an IP address or a CIDR block (e.g. 10.0.0.5, 10.0.0.0/24, ::1)',
    ]);
    expect(parsePartners(registry(undefined), 'partners.json').warnings).toEqual([expect.stringContaining('xroad.allowFrom is not set')]);
    expect(parsePartners(registry(['127.0.0.1']), 'partners.json').registry.xroad!.allows('127.0.0.1')).toBe(true);
  });
});

describe('a call from an address that is not the Security Server', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'okno-xr-allow-')), 'partners.json');
    writeFileSync(file, JSON.stringify(registry(['10.9.8.7'])));
    gw = await startGateway({ PARTNERS_FILE: file, LOG_LEVEL: 'error' });
  });
  afterAll(async () => gw?.close());

  it('gets Client.AccessDenied (403) on SOAP and REST, before its body is read, and nothing is journaled', async () => {
    const soap = await fetch(`${gw.url}/ws/xroad`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: '<not-even-xml' });
    expect(soap.status).toBe(403);
    const fault = await soap.text();
    expect(fault).toMatch(/<faultcode>Client\.AccessDenied<\/faultcode>/);
    expect(fault).toMatch(/is not the gateway's Security Server \(xroad\.allowFrom\)/);
    const rest = await fetch(`${gw.url}/xroad/rest/AdvertisingRegisterExtract_v1`, { method: 'POST', headers: { 'content-type': 'application/json', 'uxp-client': 'SEVDEIR-TEST/GOV/12345678/registry', 'uxp-queryid': 'q-1' }, body: '{}' });
    expect(rest.status).toBe(403);
    expect(rest.headers.get('x-road-error')).toBe('Client.AccessDenied');
    expect(await rest.json()).toMatchObject({ type: 'Client.AccessDenied' });
    const wsdl = await fetch(`${gw.url}/ws/xroad/AdvertisingRegisterExtract_v1?wsdl`);
    expect(wsdl.status).toBe(403);
    const journal = (await (await fetch(`${gw.url}/api/v1/journal?limit=10`, { headers: { authorization: 'Bearer dev-ops-token' } })).json()) as { items: unknown[] };
    expect(journal.items).toEqual([]);
    // The rest of the gateway is not behind the list.
    expect((await fetch(`${gw.url}/health`)).status).toBe(200);
  });
});
