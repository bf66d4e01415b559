/**
 * The REST vocabulary of src/xroad/: the dialects' headers read and checked
 * (rest-request.ts), the PR-REST §4.6 error body (rest-errors.ts), the
 * request hash (PR-REST §4.3, computed here independently by openssl), and
 * each provided service's OpenAPI description validated by
 * @apidevtools/swagger-parser.
 */
import { execFileSync } from 'node:child_process';
import SwaggerParser from '@apidevtools/swagger-parser';
import { describe, expect, it } from 'vitest';
import { TREMBITA_REST, XROAD_REST } from '../../src/xroad/rest-dialects.js';
import { XRoadRefusal } from '../../src/xroad/refusal.js';
import { faultOf } from '../../src/xroad/faults.js';
import { restErrorFor } from '../../src/xroad/rest-errors.js';
import { MissingHeader, readRestRequest, restRequestHash } from '../../src/xroad/rest-request.js';
import { restServiceOpenApi } from '../../src/xroad/openapi.js';
import { parseSubsystem } from '../../src/registry/xroad-members.js';
import { testFlow } from '../helpers/flow-context.js';
import { APPLICATION, QUERY } from './rest-setup.js';

const raw = (h: Record<string, string> | Array<[string, string]>): string[] => (Array.isArray(h) ? h : Object.entries(h)).flat();

function refusalOf(f: () => unknown): XRoadRefusal {
  try {
    f();
  } catch (err) {
    if (err instanceof XRoadRefusal) return err;
    throw err;
  }
  throw new Error('no refusal');
}

describe('readRestRequest — X-Road 7', () => {
  it('reads the client, id, service, user and issue, and keeps every X-Road-* header as sent', () => {
    const r = readRestRequest(
      XROAD_REST,
      raw({ 'X-Road-Client': 'DEV/COM/222/TESTCLIENT', 'x-road-id': 'fa2e18a5-c2cb-4d09-b994-f57727f7c3fb', 'X-Road-Service': 'DEV/COM/222/TESTSERVICE/petstore', 'X-Road-UserId': 'EE12345678901', 'X-Road-Issue': 'MT324223MSD', 'X-Road-Represented-Party': 'COM/333', Accept: 'application/json' }),
    );
    expect(r.client).toEqual({ instance: 'DEV', memberClass: 'COM', memberCode: '222', subsystemCode: 'TESTCLIENT' });
    expect(r.service).toMatchObject({ subsystemCode: 'TESTSERVICE', serviceCode: 'petstore', serviceVersion: null });
    expect(r.id).toBe('fa2e18a5-c2cb-4d09-b994-f57727f7c3fb');
    expect(r.userId).toBe('EE12345678901');
    expect(r.issue).toBe('MT324223MSD');
    expect(r.purposeIds).toBeNull();
    expect(r.headers).toEqual({
      'X-Road-Client': 'DEV/COM/222/TESTCLIENT',
      'x-road-id': 'fa2e18a5-c2cb-4d09-b994-f57727f7c3fb',
      'X-Road-Service': 'DEV/COM/222/TESTSERVICE/petstore',
      'X-Road-UserId': 'EE12345678901',
      'X-Road-Issue': 'MT324223MSD',
      'X-Road-Represented-Party': 'COM/333',
    });
  });

  it('takes a member as client, decodes percent-encoded parts, and uses the last of repeated X-Road-Client headers (PR-REST §4.3)', () => {
    expect(readRestRequest(XROAD_REST, raw({ 'X-Road-Client': 'DEV/COM/222', 'X-Road-Id': '1' })).client.subsystemCode).toBeNull();
    expect(readRestRequest(XROAD_REST, raw({ 'X-Road-Client': 'DEV/COM/%D0%9C%D0%A4/sub', 'X-Road-Id': '1' })).client.memberCode).toBe('МФ');
    const r = readRestRequest(XROAD_REST, raw([['X-Road-Client', 'DEV/COM/1/first'], ['X-Road-Id', '1'], ['x-road-client', 'DEV/COM/2/last']]));
    expect(r.client.memberCode).toBe('2');
    expect(r.headers).toEqual({ 'X-Road-Id': '1', 'x-road-client': 'DEV/COM/2/last' });
  });

  it('refuses a missing client or id (MissingHeader naming it), and a malformed client id', () => {
    const noClient = refusalOf(() => readRestRequest(XROAD_REST, raw({ 'X-Road-Id': '1' })));
    expect(noClient).toBeInstanceOf(MissingHeader);
    expect(noClient).toMatchObject({ kind: 'bad-header', code: 'MissingHeaderField', header: 'X-Road-Client' });
    expect(noClient.message).toContain('X-Road-Client');
    const noId = refusalOf(() => readRestRequest(XROAD_REST, raw({ 'X-Road-Client': 'DEV/COM/1/a', 'X-Road-Id': '' })));
    expect(noId).toMatchObject({ code: 'MissingHeaderField', header: 'X-Road-Id' });
    for (const bad of ['DEV/COM', 'DEV//1/a', 'DEV/COM/1/a/b/c', 'DEV/COM/%E0%A4%A/a', 'DEV/COM/a%2Fb/c']) {
      const r = refusalOf(() => readRestRequest(XROAD_REST, raw({ 'X-Road-Client': bad, 'X-Road-Id': '1' })));
      expect(r.kind, bad).toBe('bad-header');
      expect(r.code).toBe('InvalidClientIdentifier');
      expect(r.message).toContain('X-Road-Client');
    }
    expect(refusalOf(() => readRestRequest(XROAD_REST, raw({ 'X-Road-Client': 'DEV/COM/1/a', 'X-Road-Id': '1', 'X-Road-Service': 'DEV/COM/1/a' }))).code).toBe('InvalidServiceIdentifier');
  });
});

describe('readRestRequest — Trembita (UXP)', () => {
  it('reads Uxp-Client, Uxp-QueryID, Uxp-Service, Uxp-Subject-Id and keeps Uxp-Purpose-Ids and every Uxp-* header', () => {
    const r = readRestRequest(
      TREMBITA_REST,
      raw({ 'Uxp-Client': 'SEVDEIR-TEST/GOV/12345678/dms', 'Uxp-QueryID': 'q-1', 'Uxp-Service': 'SEVDEIR-TEST/GOV/00000001/okno/BirthRecord_v1', 'Uxp-Subject-Id': 'UA1234567890', 'Uxp-Purpose-Ids': 'p1,p2', 'Uxp-Custom': 'x', 'X-Road-Client': 'ignored/in/this/dialect' }),
    );
    expect(r.dialect).toBe('trembita');
    expect(r.client.memberCode).toBe('12345678');
    expect(r.service?.serviceCode).toBe('BirthRecord_v1');
    expect(r.userId).toBe('UA1234567890');
    expect(r.purposeIds).toBe('p1,p2');
    expect(r.issue).toBeNull();
    expect(r.headers).toEqual({ 'Uxp-Client': 'SEVDEIR-TEST/GOV/12345678/dms', 'Uxp-QueryID': 'q-1', 'Uxp-Service': 'SEVDEIR-TEST/GOV/00000001/okno/BirthRecord_v1', 'Uxp-Subject-Id': 'UA1234567890', 'Uxp-Purpose-Ids': 'p1,p2', 'Uxp-Custom': 'x' });
  });

  it('refuses X-Road-* headers in place of the Uxp-* ones', () => {
    const r = refusalOf(() => readRestRequest(TREMBITA_REST, raw({ 'X-Road-Client': 'SEVDEIR-TEST/GOV/1/a', 'X-Road-Id': '1' })));
    expect(r).toMatchObject({ code: 'MissingHeaderField', header: 'Uxp-Client' });
    expect(refusalOf(() => readRestRequest(TREMBITA_REST, raw({ 'Uxp-Client': 'SEVDEIR-TEST/GOV/1/a' })))).toMatchObject({ code: 'MissingHeaderField', header: 'Uxp-QueryID' });
  });
});

describe('restErrorFor (PR-REST §4.6)', () => {
  it('maps each refusal to a status and a type (the SOAP fault code); only the city’s rejection goes without X-Road-Error', () => {
    const cases: Array<[XRoadRefusal, number, string, boolean]> = [
      [new MissingHeader('X-Road-Client'), 400, 'Client.MissingHeaderField', true],
      [new XRoadRefusal('bad-header', 'x', 'InvalidClientIdentifier'), 400, 'Client.InvalidClientIdentifier', true],
      [new XRoadRefusal('bad-header', 'x'), 400, 'Client.BadRequest', true],
      [new XRoadRefusal('unknown-service', 'x'), 404, 'Client.UnknownService', true],
      [new XRoadRefusal('unknown-client', 'x'), 403, 'Client.UnknownMember', true],
      [new XRoadRefusal('unauthorised-client', 'x'), 403, 'Client.AccessDenied', true],
      [new XRoadRefusal('bad-content', 'x'), 400, 'Client.InvalidBody', true],
      [new XRoadRefusal('bad-content', 'x', 'MissingBody'), 400, 'Client.MissingBody', true],
      [new XRoadRefusal('id-reused', 'x'), 409, 'Client.DuplicateId', true],
      [new XRoadRefusal('rejected', 'no such permit', 'NO_DATA'), 422, 'Server.ServiceFailed.NO_DATA', false],
      [new XRoadRefusal('answer-timeout', 'x'), 504, 'Server.ServiceTimeout', true],
      [new XRoadRefusal('unavailable', 'x'), 503, 'Server.InternalError', true],
    ];
    for (const [refusal, status, type, xroadError] of cases) {
      const e = restErrorFor(refusal, 'id-1');
      expect({ status: e.status, type: e.body.type, xroadError: e.xroadError }, type).toEqual({ status, type, xroadError });
      expect(e.body).toEqual({ type, message: refusal.message, detail: 'id-1' });
    }
    // The same names as the SOAP side's faults for the same refusal.
    for (const [refusal, , type] of cases) if (refusal.kind !== 'bad-header' || refusal.code) expect(faultOf(refusal).faultcode, type).toBe(type);
  });
});

describe('restRequestHash (PR-REST §4.3)', () => {
  const sha512 = (data: Buffer): Buffer => execFileSync('openssl', ['dgst', '-sha512', '-binary'], { input: data });

  it('is base-64 SHA512(SHA512(headers) + SHA512(body)), as openssl computes it', () => {
    const headers = { 'X-Road-Id': 'abc', 'X-Road-Client': 'DEV/COM/222/TESTCLIENT' };
    const body = Buffer.from('{"a":1}');
    const headerText = Buffer.from('x-road-client: DEV/COM/222/TESTCLIENT\r\nx-road-id: abc\r\n');
    const expected = sha512(Buffer.concat([sha512(headerText), sha512(body)])).toString('base64');
    expect(restRequestHash(headers, body)).toBe(expected);
    expect(restRequestHash(headers, null)).toBe(sha512(headerText).toString('base64'));
    expect(Buffer.from(expected, 'base64')).toHaveLength(64);
  });
});

describe('restServiceOpenApi', () => {
  const flow = testFlow();
  const catalogue = flow.ctx.catalogue;

  it('the validator is a real judge: a document without info, or with a dangling $ref, is refused', async () => {
    const doc = restServiceOpenApi({ service: catalogue.get(APPLICATION)!, code: APPLICATION, dialect: XROAD_REST, provider: parseSubsystem('DEV/GOV/00000001/okno') });
    const noInfo = structuredClone(doc);
    delete noInfo.info;
    await expect(SwaggerParser.validate(noInfo as never)).rejects.toThrow();
    const dangling = structuredClone(doc);
    (dangling.components as { schemas: Record<string, unknown> }).schemas.Receipt = { $ref: '#/components/schemas/Nowhere' };
    await expect(SwaggerParser.validate(dangling as never)).rejects.toThrow();
  });

  for (const [dialect, provider, code] of [
    [XROAD_REST, 'DEV/GOV/00000001/okno', (id: string) => id],
    [TREMBITA_REST, 'SEVDEIR-TEST/GOV/00000001/okno', (id: string) => `${id}_v1`],
  ] as const) {
    for (const id of [APPLICATION, QUERY, 'dwelling-replanning', 'kindergarten-enrollment']) {
      it(`${dialect.dialect}: ${id} is a valid OpenAPI 3.1 document (swagger-parser) with the dialect's headers`, async () => {
        const service = catalogue.get(id)!;
        const doc = restServiceOpenApi({ service, code: code(id), dialect, provider: parseSubsystem(provider) });
        const copy = structuredClone(doc);
        await SwaggerParser.validate(copy as never);
        const op = (doc.paths as Record<string, Record<string, Record<string, unknown>>>)[`/${code(id)}`]!.post!;
        const params = op.parameters as Array<{ name: string; in: string; required: boolean }>;
        expect(params.filter((p) => p.required).map((p) => p.name)).toEqual([dialect.client, dialect.id]);
        expect(params.map((p) => p.name)).toContain(dialect.userId);
        if (dialect.purposeIds) expect(params.map((p) => p.name)).toContain(dialect.purposeIds);
        const responses = op.responses as Record<string, { content?: Record<string, { schema: { $ref: string } }>; headers?: Record<string, unknown> }>;
        if (service.kind === 'query') {
          expect(responses['200']!.content!['application/json']!.schema.$ref).toBe('#/components/schemas/Response');
          expect(responses['504']).toBeDefined();
        } else {
          expect(responses['201']!.content!['application/json']!.schema.$ref).toBe('#/components/schemas/Receipt');
        }
        expect(Object.keys(responses['400']!.headers!)).toContain('X-Road-Error');
        // The request body's schema is the service's own: its $defs are components the refs reach.
        const dereferenced = (await SwaggerParser.dereference(structuredClone(doc) as never)) as unknown as { components: { schemas: Record<string, { required?: string[] }> } };
        expect(dereferenced.components.schemas.Request!.required).toEqual((service.jsonSchemas.request as { required?: string[] }).required);
      });
    }
  }
});
