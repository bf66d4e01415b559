import { describe, expect, it } from 'vitest';
import { compileXsd } from '../../src/catalogue/xsd/index.js';
import { parseXml } from '../../src/xml/parser.js';
import { fixture, pr } from './helpers.js';

const NS = 'urn://okno.test/advertising-permit/1.0.0';
const schema = compileXsd(fixture('advertising-permit.xsd').toString('utf8'), 'advertising-permit.xsd');
const validDoc = fixture('valid.xml');

describe('municipal service schema (advertising permit)', () => {
  it('compiles with its namespace and root', () => {
    expect(schema.targetNamespace).toBe(NS);
    expect(schema.rootElements).toEqual(['AdvertisingPermitApplication']);
  });

  it('accepts a valid application (Cyrillic, UTF-8 bytes, all-group in any order, list, base64)', () => {
    expect(schema.validate(parseXml(validDoc).root)).toEqual([]);
  });

  it('validates the business element in place inside an envelope, paths starting at it', () => {
    const inner = validDoc.toString('utf8').replace(/^<\?xml[^>]*>/, '').replace('<ap:Comment>', '<ap:Comment><ap:X/>');
    const env = parseXml(`<Envelope><Body><MessagePrimaryContent>${inner}</MessagePrimaryContent></Body></Envelope>`).root;
    const mpc = (env.children.find((c) => c.type === 'element') as typeof env).children.find((c) => c.type === 'element') as typeof env;
    const app = mpc.children.find((c) => c.type === 'element') as typeof env;
    expect(pr(schema.validate(app))).toEqual([
      { path: '/AdvertisingPermitApplication/Comment/X', rule: 'unexpected element X' },
    ]);
  });

  it('reports every problem of an invalid application with exact paths and rules', () => {
    const errors = schema.validate(parseXml(fixture('invalid.xml')).root);
    expect(pr(errors)).toEqual([
      { path: '/AdvertisingPermitApplication/@SchemaVersion', rule: 'fixed 1.0' },
      { path: '/AdvertisingPermitApplication/@xsi:type', rule: 'unexpected attribute xsi:type' },
      { path: '/AdvertisingPermitApplication', rule: 'required attribute Id' },
      { path: '/AdvertisingPermitApplication/Comment[2]', rule: 'maxOccurs 1' },
      { path: '/AdvertisingPermitApplication/SubmissionDate', rule: 'type xs:date' },
      { path: '/AdvertisingPermitApplication/Applicant', rule: 'required element Snils' },
      { path: '/AdvertisingPermitApplication/Applicant/LastName', rule: "pattern [А-ЯЁа-яё\\- ']+" },
      { path: '/AdvertisingPermitApplication/Applicant/Passport/Series', rule: 'pattern \\d{4}' },
      { path: '/AdvertisingPermitApplication/RepresentativePerson/Snils', rule: 'pattern \\d{3}-\\d{3}-\\d{3} \\d{2}' },
      { path: '/AdvertisingPermitApplication/Structures/Structure[2]/@Number', rule: 'type xs:positiveInteger' },
      { path: '/AdvertisingPermitApplication/Structures/Structure[2]/@Colour', rule: 'unexpected attribute Colour' },
      { path: '/AdvertisingPermitApplication/Structures/Structure[2]/Kind', rule: 'enumeration (billboard|banner|pillar)' },
      { path: '/AdvertisingPermitApplication/Structures/Structure[2]/Area', rule: 'fractionDigits 2' },
      { path: '/AdvertisingPermitApplication/Structures/Structure[2]/Sides', rule: 'maxInclusive 4' },
    ]);
    const snils = errors.find((e) => e.path.endsWith('/Snils'));
    expect(snils?.message).toBe('Value of element Snils does not match the required pattern.');
    expect(errors.find((e) => e.rule === 'required element Snils')?.message).toBe(
      'Element Applicant is missing required child element Snils (found Passport in its place).',
    );
  });

  it('never echoes values (personal data) in messages', () => {
    const errors = schema.validate(parseXml(fixture('invalid.xml')).root);
    const text = errors.map((e) => `${e.path} ${e.rule} ${e.message}`).join('\n');
    for (const value of ['11223344595', 'Ivanov', '45 10', '2026-02-30', 'супербанер', '12.345']) {
      expect(text).not.toContain(value);
    }
  });

  function variant(from: string, to: string): ReturnType<typeof schema.validate> {
    const xml = validDoc.toString('utf8');
    expect(xml).toContain(from);
    return schema.validate(parseXml(xml.replace(from, to)).root);
  }

  it('checks the ОГРН pattern in the organization branch of the choice', () => {
    expect(pr(variant('<ap:Ogrn>1027700132195</ap:Ogrn>', '<ap:Ogrn>102770013219</ap:Ogrn>'))).toEqual([
      { path: '/AdvertisingPermitApplication/RepresentativeOrganization/Ogrn', rule: 'pattern \\d{13}' },
    ]);
  });

  it('allows the representative choice to be absent', () => {
    const xml = validDoc.toString('utf8').replace(/<ap:RepresentativeOrganization>[\s\S]*<\/ap:RepresentativeOrganization>/, '');
    expect(schema.validate(parseXml(xml).root)).toEqual([]);
  });

  it('refuses both branches of the choice at once', () => {
    const xml = validDoc
      .toString('utf8')
      .replace('<ap:RepresentativeOrganization>', '<ap:RepresentativePerson><ap:LastName>Ли</ap:LastName></ap:RepresentativePerson><ap:RepresentativeOrganization>');
    expect(pr(schema.validate(parseXml(xml).root))).toEqual([
      { path: '/AdvertisingPermitApplication/RepresentativeOrganization', rule: 'unexpected element RepresentativeOrganization' },
      { path: '/AdvertisingPermitApplication/RepresentativePerson', rule: 'required element FirstName' },
    ]);
  });

  it('checks the decimal facets of Area', () => {
    expect(pr(variant('<ap:Area>3.5</ap:Area>', '<ap:Area>0</ap:Area>'))).toEqual([
      { path: '/AdvertisingPermitApplication/Structures/Structure[2]/Area', rule: 'minExclusive 0' },
    ]);
    expect(pr(variant('<ap:Area>3.5</ap:Area>', '<ap:Area>500.01</ap:Area>'))).toEqual([
      { path: '/AdvertisingPermitApplication/Structures/Structure[2]/Area', rule: 'maxInclusive 500' },
    ]);
    expect(variant('<ap:Area>3.5</ap:Area>', '<ap:Area> 500.000 </ap:Area>')).toEqual([]);
    expect(pr(variant('<ap:Area>3.5</ap:Area>', '<ap:Area>3,5</ap:Area>'))).toEqual([
      { path: '/AdvertisingPermitApplication/Structures/Structure[2]/Area', rule: 'type xs:decimal' },
    ]);
  });

  it('checks maxLength in characters, not bytes', () => {
    expect(variant('<ap:House>15</ap:House>', `<ap:House>${'Ж'.repeat(200)}</ap:House>`)).toEqual([]);
    expect(pr(variant('<ap:House>15</ap:House>', `<ap:House>${'Ж'.repeat(201)}</ap:House>`))).toEqual([
      { path: '/AdvertisingPermitApplication/Structures/Structure[2]/Address/House', rule: 'maxLength 200' },
    ]);
  });

  it('checks simple content with attributes (base64 attachment)', () => {
    expect(pr(variant('MimeType=" application/pdf "', 'MimeType="application/msword"'))).toEqual([
      { path: '/AdvertisingPermitApplication/Attachment/@MimeType', rule: 'enumeration (application/pdf|image/jpeg|image/png)' },
    ]);
    expect(pr(variant('>JVBERi0xLjQK<', '>JVBERi0xLjQ<'))).toEqual([
      { path: '/AdvertisingPermitApplication/Attachment', rule: 'type xs:base64Binary' },
    ]);
    expect(pr(variant(' FileName="схема размещения.pdf"', ''))).toEqual([
      { path: '/AdvertisingPermitApplication/Attachment', rule: 'required attribute FileName' },
    ]);
  });

  it('checks list items and list length', () => {
    expect(pr(variant('77:01:0001001:1 77:01:0001001:25', '77:01:0001001:1 77-01'))).toEqual([
      { path: '/AdvertisingPermitApplication/Structures/Structure[1]/CadastralNumbers', rule: 'pattern \\d{2}:\\d{2}:\\d{6,7}:\\d{1,}' },
    ]);
    expect(pr(variant('77:01:0001001:1 77:01:0001001:25', '77:01:0001001:1 77:01:0001001:2 77:01:0001001:3 77:01:0001001:4'))).toEqual([
      { path: '/AdvertisingPermitApplication/Structures/Structure[1]/CadastralNumbers', rule: 'maxLength 3' },
    ]);
  });

  it('needs the optional period sequence complete, and in order', () => {
    expect(pr(variant('<ap:PeriodTo>2031-03-31</ap:PeriodTo>', ''))).toEqual([
      { path: '/AdvertisingPermitApplication/Structures/Structure[1]', rule: 'required element PeriodTo' },
    ]);
  });

  it('requires qualified child elements (namespace and name must both match)', () => {
    expect(pr(variant('<ap:Comment>', '<ap:Comment xmlns:x="urn:other">'))).toEqual([]);
    const errors = variant('<ap:Flat>12</ap:Flat>', '<Flat xmlns="">12</Flat>');
    expect(pr(errors)).toEqual([{ path: '/AdvertisingPermitApplication/Applicant/Address/Flat', rule: 'unexpected element Flat' }]);
    expect(errors[0]?.message).toContain('namespace (none)');
  });

  it('refuses a root element the schema does not declare', () => {
    expect(pr(schema.validate(parseXml(`<AdvertisingPermitApplication xmlns="urn:wrong"/>`).root))).toEqual([
      { path: '/AdvertisingPermitApplication', rule: 'unexpected element AdvertisingPermitApplication' },
    ]);
  });
});
