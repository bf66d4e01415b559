/**
 * POST /api/v1/queries to a Trembita REST partner, through the running
 * gateway (real HTTP both sides): `userId` and `purposeIds` from the city's
 * call travel as Uxp-Subject-Id / Uxp-Purpose-Ids to the Security Server (a
 * loopback double), the answer is on GET /api/v1/queries/{id} and in the
 * inbox as kind response; a bad userId / purposeIds is a 400.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonValue } from '../../src/store/types.js';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { SecurityServerDouble } from '../helpers/security-server-double.js';
import { CITY, serviceExample } from '../helpers/smev.js';

const SERVICE = 'zags-birth-record';

function partnersFile(securityServer: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'okno-partners-'));
  const doc = JSON.parse(readFileSync(path.join(projectRoot, 'config/partners.json'), 'utf8')) as { xroad?: unknown; partners: Array<Record<string, unknown> & { certificates?: string[] }> };
  for (const p of doc.partners) p.certificates = (p.certificates ?? []).map((c) => path.resolve(projectRoot, 'config', c));
  doc.xroad = { self: 'SEVDEIR-TEST/GOV/00000001/okno', dialect: 'trembita', securityServer };
  doc.partners.push({ id: 'dracs', name: 'ДРАЦС', role: 'agency', sends: [], receives: [SERVICE], endpoint: null, transport: { mode: 'xroad', subsystem: 'SEVDEIR-TEST/GOV/00015622/dracs', protocol: 'rest', services: { [SERVICE]: { code: 'BirthRecord_v1' } } } });
  writeFileSync(path.join(dir, 'partners.json'), JSON.stringify(doc));
  return path.join(dir, 'partners.json');
}

describe('POST /api/v1/queries to a Trembita partner', () => {
  let ss: SecurityServerDouble;
  let gw: RunningGateway;

  beforeAll(async () => {
    ss = await SecurityServerDouble.start();
    gw = await startGateway({ PARTNERS_FILE: partnersFile(ss.url), DELIVERY_TIMEOUT_MS: '2000' });
  });
  afterAll(async () => {
    await gw?.close();
    await ss?.close();
  });

  const post = (body: Record<string, unknown>) => fetch(`${gw.url}/api/v1/queries`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('userId and purposeIds reach the Security Server; the answer is on the query and in the inbox', async () => {
    ss.handler = () => ({ status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(serviceExample(SERVICE, 'response')) });
    const res = await post({ service: SERVICE, partner: 'dracs', data: serviceExample(SERVICE), userId: 'UA3012345678', purposeIds: ['social-benefit'] });
    expect(res.status).toBe(202);
    const { id, messageId } = (await res.json()) as { id: string; messageId: string };
    const [request] = await ss.waitForRequests(1);
    expect(request!.path).toBe('/restapi');
    expect(request!.headers).toMatchObject({ 'uxp-client': 'SEVDEIR-TEST/GOV/00000001/okno', 'uxp-service': 'SEVDEIR-TEST/GOV/00015622/dracs/BirthRecord_v1', 'uxp-queryid': messageId, 'uxp-subject-id': 'UA3012345678', 'uxp-purpose-ids': 'social-benefit' });
    let view: { state: string; answer: JsonValue; responseInboxItemId: string | null } = { state: 'sent', answer: null, responseInboxItemId: null };
    for (let i = 0; i < 200 && view.state === 'sent'; i++) {
      view = (await (await fetch(`${gw.url}/api/v1/queries/${id}`, { headers: CITY })).json()) as typeof view;
      if (view.state === 'sent') await sleep(25);
    }
    expect(view).toMatchObject({ state: 'answered', answer: serviceExample(SERVICE, 'response') });
    const inbox = (await (await fetch(`${gw.url}/api/v1/inbox?limit=500`, { headers: CITY })).json()) as { items: Array<{ id: string; kind: string; content: { queryId?: string }; xroad?: { dialect: string; id: string; userId: string } }> };
    const item = inbox.items.find((i) => i.id === view.responseInboxItemId);
    expect(item).toMatchObject({ kind: 'response', content: { queryId: id }, xroad: { dialect: 'trembita', id: messageId, userId: 'UA3012345678' } });
  });

  it('a userId with control characters, or a purpose id with a comma: 400', async () => {
    expect((await post({ service: SERVICE, partner: 'dracs', data: serviceExample(SERVICE), userId: 'UA1\n2' })).status).toBe(400);
    expect((await post({ service: SERVICE, partner: 'dracs', data: serviceExample(SERVICE), purposeIds: ['a,b'] })).status).toBe(400);
  });
});
