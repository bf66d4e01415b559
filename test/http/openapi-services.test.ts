/**
 * The OpenAPI document at /docs/json of a real started gateway carries every service's JSON
 * Schema (derived from its XSD package, or hand-written) as named components whose refs resolve
 * inside the document, and the query and inbox routes say which component a service's content
 * follows. The converted components still mean what the service's schema means: validated with
 * ajv (2020-12) through the document's own refs, the shipped examples pass and broken ones fail.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCalendarDate } from '../../src/catalogue/json-schema.js';
import { componentSegment, schemaComponents } from '../../src/api/service-schemas.js';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface OpenApi {
  openapi: string;
  components: { schemas: Record<string, Json> };
  paths: Record<string, Record<string, { description?: string }>>;
}

/** Every $ref string in a JSON value. */
function refsIn(node: Json, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const x of node) refsIn(x, out);
  else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refsIn(v, out);
    }
  }
  return out;
}

/** Follows a local JSON pointer ref in the document; undefined when it does not resolve. */
function resolve(doc: Json, ref: string): Json | undefined {
  if (!ref.startsWith('#/')) return undefined;
  let node: Json | undefined = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object' || Array.isArray(node) || !(key in node)) return undefined;
    node = (node as Record<string, Json>)[key];
  }
  return node;
}

function example(service: string, file: string): Json {
  return JSON.parse(readFileSync(path.join(projectRoot, 'config/services', service, file), 'utf8')) as Json;
}

describe('OpenAPI: the services’ JSON Schemas as components', () => {
  let gw: RunningGateway;
  let doc: OpenApi;
  beforeAll(async () => {
    gw = await startGateway();
    const res = await fetch(`${gw.url}/docs/json`);
    expect(res.status).toBe(200);
    doc = (await res.json()) as OpenApi;
  });
  afterAll(() => gw.close());

  it('is OpenAPI 3.1 (its Schema Object is JSON Schema 2020-12) with a component per service part', () => {
    expect(doc.openapi).toBe('3.1.0');
    const names = Object.keys(doc.components.schemas);
    for (const n of ['service.zags-rogdinf.request', 'service.zags-rogdinf.response', 'service.advertising-permit.request', 'service.egrn-extract.response']) expect(names).toContain(n);
    // Component names as OpenAPI allows them: the Cyrillic def names are transliterated.
    for (const n of names) expect(n).toMatch(/^[A-Za-z0-9._-]+$/);
    expect(names).toContain('service.zags-rogdinf.request.DataDokTip');
  });

  it('every $ref in the document resolves inside it', () => {
    const refs = refsIn(doc as unknown as Json);
    const serviceRefs = refs.filter((r) => r.startsWith('#/components/schemas/service.'));
    expect(serviceRefs.length).toBeGreaterThan(50);
    for (const r of new Set(refs)) expect(resolve(doc as unknown as Json, r), r).toBeDefined();
    expect(refs.filter((r) => r.includes('$defs'))).toEqual([]);
  });

  it('the components mean what the service schemas mean: examples pass through the document refs, broken ones fail', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
    ajv.addFormat('date', { type: 'string', validate: isCalendarDate });
    ajv.addFormat('email', true);
    ajv.addFormat('uuid', true);
    ajv.addSchema({ $id: 'urn:okno:openapi', components: doc.components } as object);
    const validator = (name: string) => ajv.compile({ $ref: `urn:okno:openapi#/components/schemas/${name}` });

    const rogdinf = validator('service.zags-rogdinf.request');
    const good = example('zags-rogdinf', 'example.request.json');
    expect(rogdinf(good), JSON.stringify(rogdinf.errors)).toBe(true);
    const bad = { ...(good as Record<string, Json>) };
    delete bad['ИдЗапрос'];
    expect(rogdinf(bad)).toBe(false);
    expect(rogdinf({ ...(good as Record<string, Json>), КолДок: 'many' })).toBe(false);
    // zags-rogdinf flattens ФИО (overrides.json): the component has the name beside the СНИЛС, not in a wrapper.
    const nested = JSON.parse(JSON.stringify(good)) as { СведЗапрос: { СведФЛ: Record<string, Json> }[] };
    const person = nested.СведЗапрос[0]!.СведФЛ;
    person['ФИО'] = { Фамилия: person['Фамилия']!, Имя: person['Имя']!, Отчество: person['Отчество']! };
    for (const k of ['Фамилия', 'Имя', 'Отчество']) delete person[k];
    expect(rogdinf(nested as unknown as Json)).toBe(false);

    const response = validator('service.zags-rogdinf.response');
    expect(response(example('zags-rogdinf', 'example.response.json')), JSON.stringify(response.errors)).toBe(true);

    const permit = validator('service.advertising-permit.request');
    expect(permit(example('advertising-permit', 'example.request.person.json')), JSON.stringify(permit.errors)).toBe(true);
    expect(permit({})).toBe(false);
  });

  it('the query and inbox routes name the component each service’s content follows', () => {
    const send = doc.paths['/api/v1/queries']!.post!.description ?? '';
    expect(send).toContain('- `zags-rogdinf`: `#/components/schemas/service.zags-rogdinf.request` (derived from its XSD package)');
    expect(send).toContain('`#/components/schemas/service.egrn-extract.request` (hand-written)');
    const answer = doc.paths['/api/v1/requests/{id}/response']!.post!.description ?? '';
    expect(answer).toContain('`#/components/schemas/service.advertising-permit-register-extract.response`');
    const inbox = doc.paths['/api/v1/inbox']!.get!.description ?? '';
    expect(inbox).toContain('`#/components/schemas/service.advertising-permit.request`');
    expect(inbox).toContain('`#/components/schemas/service.zags-rogdinf.response`');
    for (const text of [send, answer, inbox]) for (const [, name] of text.matchAll(/`#\/components\/schemas\/([^`]+)`/g)) expect(doc.components.schemas[name as string]).toBeDefined();
  });
});

describe('schemaComponents', () => {
  it('prefixes the defs, rewrites refs (recursive and nested ones too), keeps data keywords and property names as they are', () => {
    const c = schemaComponents(
      {
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        title: 'x',
        $ref: '#/$defs/Корень',
        $defs: {
          Корень: { type: 'object', properties: { $ref: { type: 'string' }, child: { $ref: '#/$defs/Корень' }, self: { $ref: '#' }, other: { $ref: '#/$defs/a~1b', description: 'kept' } }, enum: [{ $ref: '#/$defs/Корень' }] },
          'a/b': { type: 'string' },
          Koren: { type: 'integer' },
        },
      },
      'service.s.request',
    );
    expect(Object.keys(c)).toEqual(['service.s.request', 'service.s.request.Koren', 'service.s.request.a_b', 'service.s.request.Koren_2']);
    expect(c['service.s.request']).toEqual({ title: 'x', allOf: [{ $ref: '#/components/schemas/service.s.request.Koren' }] });
    expect(c['service.s.request.Koren']).toEqual({
      type: 'object',
      properties: {
        $ref: { type: 'string' },
        child: { $ref: '#/components/schemas/service.s.request.Koren' },
        self: { $ref: '#/components/schemas/service.s.request' },
        other: { allOf: [{ $ref: '#/components/schemas/service.s.request.a_b' }], description: 'kept' },
      },
      enum: [{ $ref: '#/$defs/Корень' }],
    });
    expect(componentSegment('ДатаДокТип')).toBe('DataDokTip');
    expect(componentSegment('ЩЁЖ_x-1')).toBe('ShchEZh_x-1');
  });
});
