import { cpSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/catalogue/load.js';
import type { JsonValue } from '../../src/store/types.js';
import { parseXml } from '../../src/xml/parser.js';
import { SHIPPED, editJson, problemsOf, readJsonFile, removeTempCatalogues, tempCatalogue } from './helpers.js';

afterAll(removeTempCatalogues);

// The status the city sends to the citizen's cabinet on the portal (kind status, outbound, request only).
const catalogue = loadCatalogue(SHIPPED);
const service = catalogue.get('elk-order-status')!;
const d = service.request;
const NS = 'http://epgu.gosuslugi.ru/elk/status/1.0.2';

function example(file: string): any {
  return readJsonFile(path.join(SHIPPED, 'elk-order-status', file));
}

const jsonRules = (v: unknown) => d.validateJson(v).map(({ path: p, rule }) => ({ path: p, rule }));
const xmlRules = (xml: string) => d.validateXml(parseXml(xml).root).map(({ path: p, rule }) => ({ path: p, rule }));

describe('elk-order-status: the ELK status content', () => {
  it('is a status: outbound, request only, no registration prefix, in the portal\'s namespace', () => {
    expect(service).toMatchObject({ kind: 'status', direction: 'outbound', response: null, registrationPrefix: null });
    expect(d.namespace).toBe(NS);
    expect(d.rootElement).toBe('ElkOrderRequest');
    expect(catalogue.byRoot(NS, 'ElkOrderRequest')?.service).toBe(service);
  });

  it.each(['example.request.create.json', 'example.request.update.json'])('%s round-trips JSON → XML → XSD-valid → the same JSON', (file) => {
    const value = example(file) as JsonValue;
    expect(d.validateJson(value)).toEqual([]);
    const xml = d.toXml(value);
    const root = parseXml(xml).root;
    expect(d.validateXml(root)).toEqual([]);
    expect(d.toJson(root)).toStrictEqual(value);
  });

  it('writes the portal\'s XML shape: env attribute, orders/order, statusHistoryList/statusHistory', () => {
    const xml = d.toXml(example('example.request.create.json'));
    expect(xml).toMatch(/^<ElkOrderRequest xmlns="http:\/\/epgu\.gosuslugi\.ru\/elk\/status\/1\.0\.2" env="EPGU"><CreateOrdersRequest><orders><order><orderNumber>3571300121<\/orderNumber><serviceCode>10000000361<\/serviceCode><statusHistoryList><statusHistory><status>1<\/status><statusDate>2026-11-23T14:52:10\+03:00<\/statusDate><statusComment>Заявление принято от заявителя<\/statusComment><\/statusHistory>/);
    expect(d.toXml(example('example.request.update.json'))).toContain('<UpdateOrdersRequest><orders><order>');
  });

  it('JSON: exactly one of createOrders and updateOrders', () => {
    const v = example('example.request.create.json');
    expect(jsonRules({ ...v, updateOrders: v.createOrders })).toEqual([{ path: '', rule: 'maxProperties 2' }]);
    expect(jsonRules({ env: 'EPGU' })).toEqual([{ path: '', rule: 'minProperties 2' }]);
    expect(jsonRules({ createOrders: v.createOrders })).toContainEqual({ path: '', rule: 'required env' });
  });

  it('JSON: ELK codes, env, dates with a time zone, digits in the order number, limits', () => {
    const v = example('example.request.create.json');
    const order = v.createOrders.orders[0];
    order.statusHistory[0].status = 5;
    order.statusHistory[1].statusDate = '2026-11-23T15:00:00';
    order.orderNumber = '35713-00121';
    v.env = 'PROD';
    expect(jsonRules(v)).toEqual([
      { path: '/env', rule: 'enum EPGU|SVCDEV|DEV|UAT' },
      { path: '/createOrders/orders/0/orderNumber', rule: 'pattern ^[0-9]{1,20}$' },
      { path: '/createOrders/orders/0/statusHistory/0/status', rule: 'enum 1|2|3|4|6|7|10|14|15' },
      { path: '/createOrders/orders/0/statusHistory/1/statusDate', rule: expect.stringMatching(/^pattern /) },
    ]);
    const w = example('example.request.update.json');
    w.updateOrders.orders[0].statusHistory = [];
    w.updateOrders.orders[1].statusHistory[0].statusComment = 'я'.repeat(1001);
    expect(jsonRules(w)).toEqual([
      { path: '/updateOrders/orders/0/statusHistory', rule: 'minItems 1' },
      { path: '/updateOrders/orders/1/statusHistory/0/statusComment', rule: 'maxLength 1000' },
    ]);
  });

  it('XML from elsewhere: the XSD checks codes, calendar dates, env, the choice and the counts', () => {
    const xml = d.toXml(example('example.request.create.json'));
    expect(xmlRules(xml.replace('<status>6</status>', '<status>5</status>'))).toEqual([
      { path: '/ElkOrderRequest/CreateOrdersRequest/orders/order/statusHistoryList/statusHistory[2]/status', rule: expect.stringContaining('enumeration') },
    ]);
    expect(xmlRules(xml.replace('2026-11-23T15:00:00+03:00', '2026-02-30T15:00:00+03:00'))).toHaveLength(1);
    expect(xmlRules(xml.replace('2026-11-23T15:00:00+03:00', '2026-11-23T15:00:00'))).toHaveLength(1);
    expect(xmlRules(xml.replace(' env="EPGU"', ''))).toEqual([{ path: '/ElkOrderRequest', rule: 'required attribute env' }]);
    expect(xmlRules(xml.replace(' env="EPGU"', ' env="PROD"'))).toHaveLength(1);
    const both = xml.replace('</CreateOrdersRequest>', '</CreateOrdersRequest><UpdateOrdersRequest><orders></orders></UpdateOrdersRequest>');
    expect(xmlRules(both)).toContainEqual({ path: '/ElkOrderRequest/UpdateOrdersRequest', rule: 'unexpected element UpdateOrdersRequest' });
    const order = /<order>.*<\/order>/.exec(xml)![0];
    expect(xmlRules(xml.replace(order, order.repeat(100)))).toEqual([]);
    expect(xmlRules(xml.replace(order, order.repeat(101)))).toHaveLength(1);
  });
});

describe('the loader and kind status', () => {
  function statusCopy(): { dir: string; svc: string } {
    const dir = tempCatalogue({ shipped: false });
    const svc = path.join(dir, 'elk-order-status');
    cpSync(path.join(SHIPPED, 'elk-order-status'), svc, { recursive: true });
    return { dir, svc };
  }

  it('accepts a status service alone: outbound, request only, no registrationPrefix', () => {
    const { dir } = statusCopy();
    expect(loadCatalogue(dir).services.map((s) => [s.id, s.kind, s.direction, s.response])).toEqual([['elk-order-status', 'status', 'outbound', null]]);
  });

  it('refuses a status that comes in, has a response part or a registration prefix', () => {
    const { dir, svc } = statusCopy();
    editJson(path.join(svc, 'service.json'), (s) => {
      s.direction = 'inbound';
      s.registrationPrefix = 'СТ';
      s.response = s.request;
      s.examples.response = 'example.request.create.json';
    });
    expect(problemsOf(() => loadCatalogue(dir))).toEqual([
      `${svc}/service.json: /registrationPrefix: only applications are registered`,
      `${svc}/service.json: /direction: a status goes out to the portal, so "outbound"`,
      `${svc}/service.json: /response: only queries have a response part`,
      `${svc}/service.json: /examples/response: only queries have a response part`,
    ]);
  });
});
