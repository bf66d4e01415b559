/**
 * `okno catalogue` as a user runs it (the compiled CLI, bin/okno.js) on a temporary copy of the
 * shipped catalogue: `add` onboards two federal packages that are not in config/services (FNS
 * SNILS-PFR and PFR benefits for care, test/fixtures/federal/, copied byte for byte from a public repository,
 * see their PROVENANCE.txt) without any hand-written mapping; the generated examples pass xmllint
 * and round-trip; check / validate / to-json / to-xml / example / schema and their exit codes.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers/gateway.js';
import { requireTool } from '../helpers/tools.js';

const federal = path.join(projectRoot, 'test/fixtures/federal');

function okno(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [path.join(projectRoot, 'bin/okno.js'), ...args], { cwd: projectRoot, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function xmllint(schema: string, file: string) {
  const r = spawnSync('xmllint', ['--noout', '--schema', schema, file], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

const PACKAGES = [
  { id: 'fns-snilspfr', dir: 'fns-snilspfr', root: 'SNILSPFRRequest', response: 'SNILSPFRResponse', entry: 'fns-snilspfr-ru-root.xsd', files: ['commons/fns-snilspfr-types.xsd', 'fns-snilspfr-ru-root.xsd'] },
  {
    // Written with the default XSD namespace (no xs: prefix), xs:group refs into the SMEV commons.
    id: 'pfr-benefits-care',
    dir: 'pfr-benefits-care',
    root: '{http://kvs.pfr.com/benefits-care-for-period/1.0.1}BenefitsCareForPeriodRequest',
    response: 'BenefitsCareForPeriodResponse',
    entry: '30094.xsd',
    files: ['30094.xsd', '30094/benefits-common-1.0.0.xsd', '30094/smev-supplementary-commons-1.0.1.xsd'],
  },
] as const;

describe('okno catalogue', () => {
  let work: string;
  let services: string;
  const at = (...p: string[]) => path.join(services, ...p);

  beforeAll(() => {
    requireTool('xmllint', ['--version'], 'libxml2-utils');
    work = mkdtempSync(path.join(tmpdir(), 'okno-catalogue-'));
    services = path.join(work, 'services');
    cpSync(path.join(projectRoot, 'config/services'), services, { recursive: true });
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  describe('add', () => {
    for (const p of PACKAGES) {
      it(`${p.id}: scaffolds a loading service from the agency's folder, XSDs byte for byte`, () => {
        const provenance = Object.fromEntries(
          [...readFileSync(path.join(federal, p.dir, 'PROVENANCE.txt'), 'utf8').matchAll(/^(repository|commit|folder): (\S+)/gm)].map((m) => [m[1] as string, m[2] as string]),
        );
        const r = okno([
          'catalogue', 'add', path.join(federal, p.dir), '--services', services, '--id', p.id, '--root', p.root, '--response', p.response,
          '--repository', provenance.repository as string, '--commit', provenance.commit as string, '--path', provenance.folder as string,
        ]);
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        expect(r.stdout).toMatch(new RegExp(`declared in ${p.entry.replace(/\./g, '\\.')}:\\d+`));
        expect(r.stdout).toMatch(/the catalogue loads: \d+ service\(s\)/);
        for (const f of p.files) expect(readFileSync(at(p.id, 'xsd', f))).toEqual(readFileSync(path.join(federal, p.dir, f)));
        expect(readdirSync(at(p.id)).sort()).toEqual(['example.request.json', 'example.request.xml', 'example.response.json', 'example.response.xml', 'overrides.json', 'service.json', 'xsd']);
        const service = JSON.parse(readFileSync(at(p.id, 'service.json'), 'utf8')) as Record<string, unknown>;
        expect(service).toMatchObject({ id: p.id, kind: 'query', direction: 'outbound', request: { xsd: `xsd/${p.entry}` }, response: { xsd: `xsd/${p.entry}` }, overrides: 'overrides.json' });
        expect(service.$comment).toMatch(/REVIEW personalData/);
        expect(service.provenance).toEqual({ repository: provenance.repository, commit: provenance.commit, path: provenance.folder });
        expect(service.provenance).toMatchObject({ repository: expect.stringMatching(/^https:\/\/github\.com\//), commit: expect.stringMatching(/^[0-9a-f]{40}$/) });
        expect((service.personalData as string[]).length).toBeGreaterThan(0);
        expect(JSON.parse(readFileSync(at(p.id, 'overrides.json'), 'utf8'))).toMatchObject({ rename: {} });
      });

      it(`${p.id}: the generated example XML passes xmllint, and to-xml then to-json gives the same JSON`, () => {
        for (const part of ['request', 'response'] as const) {
          const xmlFile = at(p.id, `example.${part}.xml`);
          const lint = xmllint(at(p.id, 'xsd', p.entry), xmlFile);
          expect(lint.stderr).toMatch(/validates/);
          expect(lint.status).toBe(0);
          const flag = part === 'response' ? ['--response'] : [];
          const jsonFile = at(p.id, `example.${part}.json`);
          const xml = okno(['catalogue', 'to-xml', p.id, jsonFile, ...flag, '--services', services]);
          expect(xml.status).toBe(0);
          const back = path.join(work, `${p.id}.${part}.xml`);
          writeFileSync(back, xml.stdout);
          expect(xmllint(at(p.id, 'xsd', p.entry), back).status).toBe(0);
          const json = okno(['catalogue', 'to-json', p.id, back, ...flag, '--services', services]);
          expect(json.status).toBe(0);
          expect(JSON.parse(json.stdout)).toEqual(JSON.parse(readFileSync(jsonFile, 'utf8')));
        }
      });
    }

    it('refuses to overwrite an existing service folder (exit 1), leaving it as it was', () => {
      const before = readFileSync(at('zags-rogdinf', 'service.json'), 'utf8');
      const r = okno(['catalogue', 'add', path.join(federal, 'fns-snilspfr'), '--services', services, '--id', 'zags-rogdinf', '--root', 'SNILSPFRRequest', '--response', 'SNILSPFRResponse']);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/exists; refusing to overwrite/);
      expect(readFileSync(at('zags-rogdinf', 'service.json'), 'utf8')).toBe(before);
    });

    const src = path.join(federal, 'fns-snilspfr');
    const addUsage: [string[], RegExp][] = [
      [['--root', 'SNILSPFRRequest'], /--id and --root are required/],
      [['--id', 'x1', '--root', 'NoSuchElement', '--response', 'SNILSPFRResponse'], /no global element of that name.*SNILSPFRRequest/],
      [['--id', 'x1', '--root', 'SNILSPFRRequest'], /--prefix: an application needs a registration prefix/],
      [['--id', 'x1', '--root', 'SNILSPFRRequest', '--kind', 'application', '--response', 'SNILSPFRResponse'], /an application has no response part/],
      [['--id', 'Bad_Id', '--root', 'SNILSPFRRequest'], /--id "Bad_Id"/],
      [['--id', 'x1', '--root', 'SNILSPFRRequest', '--bogus'], /Unknown option '--bogus'/],
      [['--id', 'x1', '--root', 'SNILSPFRRequest', '--response', 'SNILSPFRResponse', '--repository', 'https://example.org/r'], /--repository and --commit go together/],
    ];
    for (const [args, message] of addUsage) {
      it(`usage error, exit 2, nothing written: ${message.source}`, () => {
        const r = okno(['catalogue', 'add', src, '--services', services, ...args]);
        expect(r.stderr).toMatch(message);
        expect(r.status).toBe(2);
        expect(existsSync(at('x1'))).toBe(false);
        expect(readdirSync(services).filter((n) => n.startsWith('.'))).toEqual([]);
      });
    }

    it('an application: kind and direction by default, the prefix in service.json, one example part', () => {
      const r = okno(['catalogue', 'add', path.join(federal, 'fns-snilspfr'), '--id', 'snilspfr-application', '--root', '{urn://x-artefacts-fns-snilspfr/root/311-32/4.0.2}SNILSPFRResponse', '--prefix', 'СП', '--title', 'Проверка: заявление'], { SERVICES_DIR: services });
      // The response element is already the response part of fns-snilspfr: two services cannot share a root.
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/root element SNILSPFRResponse .* is also the response of/);
      const service = JSON.parse(readFileSync(at('snilspfr-application', 'service.json'), 'utf8')) as Record<string, unknown>;
      expect(service).toMatchObject({ kind: 'application', direction: 'inbound', registrationPrefix: 'СП', title: 'Проверка: заявление', examples: { request: 'example.request.json' } });
      rmSync(at('snilspfr-application'), { recursive: true });
    });
  });

  describe('add: roots in several namespaces, and a minimal example the schema refuses', () => {
    const A = `<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:t="urn:example:a" targetNamespace="urn:example:a" elementFormDefault="qualified">
  <xs:element name="Заявление">
    <xs:complexType><xs:sequence><xs:element name="Номер" type="xs:string" minOccurs="2" maxOccurs="5"/></xs:sequence></xs:complexType>
    <xs:unique name="РазныеНомера"><xs:selector xpath="t:Номер"/><xs:field xpath="."/></xs:unique>
  </xs:element>
</xs:schema>
`;
    const B = `<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:example:b" elementFormDefault="qualified">
  <xs:element name="Заявление"><xs:complexType><xs:sequence><xs:element name="Дата" type="xs:date"/></xs:sequence></xs:complexType></xs:element>
</xs:schema>
`;
    let src: string;
    let empty: string;
    beforeAll(() => {
      src = path.join(work, 'two-namespaces');
      mkdirSync(path.join(src, 'b'), { recursive: true });
      writeFileSync(path.join(src, 'a.xsd'), A);
      writeFileSync(path.join(src, 'b', 'b.xsd'), B);
      empty = path.join(work, 'empty-catalogue');
      mkdirSync(empty);
    });

    it('a local name declared in two namespaces: exit 2, naming both with file and line', () => {
      const r = okno(['catalogue', 'add', src, '--services', empty, '--id', 'ab', '--root', 'Заявление', '--prefix', 'АБ']);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain("say which with --root '{namespace}Заявление': {urn:example:a}Заявление (a.xsd:3), {urn:example:b}Заявление (b/b.xsd:3)");
      expect(readdirSync(empty)).toEqual([]);
    });

    it('{ns}local picks one; when the minimal example breaks xs:unique, a seeded one is written and said so', () => {
      const r = okno(['catalogue', 'add', src, '--services', empty, '--id', 'ab', '--root', '{urn:example:a}Заявление', '--prefix', 'АБ']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/request: the minimal example fails \(.*unique РазныеНомера.*\); wrote the one of seed \d+/);
      expect(r.stdout).toMatch(/ab is an application \(inbound\)/);
      expect(JSON.parse(readFileSync(path.join(empty, 'ab', 'service.json'), 'utf8'))).toMatchObject({ kind: 'application', direction: 'inbound', registrationPrefix: 'АБ', request: { namespace: 'urn:example:a', xsd: 'xsd/a.xsd' } });
      const lint = xmllint(path.join(empty, 'ab', 'xsd', 'a.xsd'), path.join(empty, 'ab', 'example.request.xml'));
      expect(lint.stderr).toMatch(/validates/);
    });
  });

  describe('check', () => {
    it('a catalogue that loads: exit 0, every service listed', () => {
      const r = okno(['catalogue', 'check'], { SERVICES_DIR: services });
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^ {2}pfr-snils +query outbound, derived/m);
      expect(r.stdout).toMatch(/^ {2}zags-rogdinf +query outbound, derived/m);
    });

    it('a broken catalogue: exit 1 and each problem with its file and line', () => {
      const broken = path.join(work, 'broken');
      cpSync(at('fns-snilspfr'), path.join(broken, 'fns-snilspfr'), { recursive: true });
      const xsd = path.join(broken, 'fns-snilspfr', 'xsd', 'fns-snilspfr-ru-root.xsd');
      const text = readFileSync(xsd, 'utf8');
      // A type that the package does not declare.
      writeFileSync(xsd, text.replace('type="fnst:PhysicalPersonNameSType"', 'type="fnst:NoSuchType"'));
      const r = okno(['catalogue', 'check', '--services', broken]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/fns-snilspfr-ru-root\.xsd:\d+: .*NoSuchType/);
    });
  });

  describe('validate', () => {
    it('valid: exit 0; the wrong part or invalid content: exit 1 with path, rule and message', () => {
      const good = path.join(federal, 'pfr-snils', 'valid-request.xml');
      expect(okno(['catalogue', 'validate', 'pfr-snils', good, '--services', services]).status).toBe(0);
      const wrongPart = okno(['catalogue', 'validate', 'pfr-snils', good, '--response', '--services', services]);
      expect(wrongPart.status).toBe(1);
      expect(wrongPart.stdout).toMatch(/\[root\] +expected the element SnilsByAdditionalDataResponse/);
      expect(okno(['catalogue', 'validate', 'pfr-snils', path.join(federal, 'pfr-snils', 'valid-response.xml'), '--response', '--services', services]).status).toBe(0);

      const bad = path.join(work, 'bad-request.xml');
      writeFileSync(bad, readFileSync(good, 'utf8').replace(/<([\w]+:)?BirthDate>[^<]*</, '<$1BirthDate>1985-13-45<'));
      const invalid = okno(['catalogue', 'validate', 'pfr-snils', bad, '--services', services]);
      expect(invalid.status).toBe(1);
      expect(invalid.stdout).toMatch(/INVALID, 1 problem\(s\):\n {2}\/SnilsByAdditionalDataRequest\/BirthDate +\[[^\]]*date[^\]]*\] +\S/);
      expect(xmllint(at('pfr-snils', 'xsd', 'snils-by-additionalData-1.0.1.xsd'), bad).status).not.toBe(0);
    });

    it('XML that is not well-formed: exit 1 with the parser message', () => {
      const file = path.join(work, 'broken.xml');
      writeFileSync(file, '<SnilsByAdditionalDataRequest>');
      const r = okno(['catalogue', 'validate', 'pfr-snils', file, '--services', services]);
      expect(r.status).toBe(1);
      expect(r.stdout).toMatch(/not well-formed XML: .*line 1/);
    });

    it('to-json and to-xml refuse invalid input with the problems (exit 1)', () => {
      const json = path.join(work, 'bad.json');
      writeFileSync(json, JSON.stringify({ FamilyName: 'Иванова' }));
      const r = okno(['catalogue', 'to-xml', 'pfr-snils', json, '--services', services]);
      expect(r.status).toBe(1);
      expect(r.stdout).toMatch(/INVALID, 3 problem\(s\):\n {2}\/ +\[required FirstName\] +\S/);
      const wrong = okno(['catalogue', 'to-json', 'pfr-snils', path.join(federal, 'pfr-snils', 'valid-response.xml'), '--services', services]);
      expect(wrong.status).toBe(1);
    });
  });

  describe('example and schema', () => {
    it('example of a derived part: minimal and seeded, JSON and XML; each valid for its part', () => {
      const minimal = okno(['catalogue', 'example', 'fns-snilspfr', '--services', services]);
      expect(minimal.status).toBe(0);
      expect(JSON.parse(minimal.stdout)).toEqual(JSON.parse(readFileSync(at('fns-snilspfr', 'example.request.json'), 'utf8')));
      for (const seed of ['1', '7']) {
        const xml = okno(['catalogue', 'example', 'pfr-snils', '--response', '--xml', '--seed', seed, '--services', services]);
        expect(xml.status).toBe(0);
        const file = path.join(work, `seed-${seed}.xml`);
        writeFileSync(file, xml.stdout);
        expect(xmllint(at('pfr-snils', 'xsd', 'snils-by-additionalData-1.0.1.xsd'), file).status).toBe(0);
        expect(okno(['catalogue', 'validate', 'pfr-snils', file, '--response', '--services', services]).status).toBe(0);
      }
    });

    it('example of a hand-written part: its first example file; --seed is a usage error there', () => {
      const hand = okno(['catalogue', 'example', 'advertising-permit', '--services', services]);
      expect(hand.status).toBe(0);
      expect(JSON.parse(hand.stdout)).toEqual(JSON.parse(readFileSync(at('advertising-permit', 'example.request.organization.json'), 'utf8')));
      expect(okno(['catalogue', 'example', 'advertising-permit', '--seed', '3', '--services', services]).status).toBe(2);
    });

    it('schema: the derived JSON Schema (2020-12) and the hand-written one', () => {
      const derived = JSON.parse(okno(['catalogue', 'schema', 'pfr-snils', '--response', '--services', services]).stdout) as Record<string, unknown>;
      expect(derived.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(derived.$defs).toBeTypeOf('object');
      const hand = okno(['catalogue', 'schema', 'advertising-permit', '--services', services]);
      expect(hand.status).toBe(0);
      expect(JSON.parse(hand.stdout)).toEqual(JSON.parse(readFileSync(at('advertising-permit', 'request.schema.json'), 'utf8')));
    });
  });

  describe('flatten (overrides.json)', () => {
    // zags-rogdinf ships with "flatten": ["ФИО", "ФИОРожд"]: a person's name sits next to the СНИЛС.
    const entry = () => at('zags-rogdinf', 'xsd', 'zags-rogdinf-ru-root.xsd');

    it('to-xml writes the flattened wrappers back, xmllint accepts the XML, to-json gives the same JSON', () => {
      for (const [part, flag] of [['request', []], ['response', ['--response']]] as const) {
        const json = at('zags-rogdinf', `example.${part}.json`);
        const toXml = okno(['catalogue', 'to-xml', 'zags-rogdinf', json, ...flag, '--services', services]);
        expect(toXml.status, toXml.stderr).toBe(0);
        expect(toXml.stdout).toMatch(part === 'request' ? /<ФИО><ns1:Фамилия>Иванова<\/ns1:Фамилия><ns1:Имя>Анна<\/ns1:Имя>/ : /<ФИОРожд><ns1:Фамилия>Иванова<\/ns1:Фамилия>/);
        const file = path.join(work, `rogdinf-${part}.xml`);
        writeFileSync(file, toXml.stdout);
        expect(xmllint(entry(), file).stderr).toMatch(/validates/);
        const back = okno(['catalogue', 'to-json', 'zags-rogdinf', file, ...flag, '--services', services]);
        expect(back.status, back.stdout).toBe(0);
        expect(JSON.parse(back.stdout)).toEqual(JSON.parse(readFileSync(json, 'utf8')));
      }
    });

    it('schema and example follow the flattening', () => {
      const schema = JSON.parse(okno(['catalogue', 'schema', 'zags-rogdinf', '--services', services]).stdout) as { $ref: string; $defs: Record<string, { properties: Record<string, { $ref?: string; items?: { $ref: string } }> }> };
      const def = (ref: string) => schema.$defs[ref.replace('#/$defs/', '')]!;
      const query = def(def(schema.$ref).properties['СведЗапрос']!.items!.$ref);
      const person = Object.keys(def(query.properties['СведФЛ']!.$ref!).properties);
      expect(person).toEqual(expect.arrayContaining(['Фамилия', 'ПрФамилия', 'Имя', 'Отчество', 'СНИЛС', 'ТипУчАЗ']));
      expect(person).not.toContain('ФИО');
      for (const seed of ['2', '5']) {
        const xml = okno(['catalogue', 'example', 'zags-rogdinf', '--xml', '--seed', seed, '--services', services]);
        expect(xml.status).toBe(0);
        expect(xml.stdout).toContain('<ФИО>');
        const file = path.join(work, `rogdinf-seed-${seed}.xml`);
        writeFileSync(file, xml.stdout);
        expect(xmllint(entry(), file).stderr).toMatch(/validates/);
        const json = JSON.parse(okno(['catalogue', 'example', 'zags-rogdinf', '--seed', seed, '--services', services]).stdout) as { СведЗапрос: Record<string, unknown>[] };
        expect(Object.keys(json.СведЗапрос[0]?.['СведФЛ'] as object)).not.toContain('ФИО');
      }
    });

    it('check: a wrapper that cannot be flattened exactly — exit 1, the problem with the overrides file', () => {
      const broken = path.join(work, 'broken-flatten');
      cpSync(at('zags-rogdinf'), path.join(broken, 'zags-rogdinf'), { recursive: true });
      const file = path.join(broken, 'zags-rogdinf', 'overrides.json');
      writeFileSync(file, JSON.stringify({ flatten: ['ФИО', 'СведФЛ'] }));
      const r = okno(['catalogue', 'check', '--services', broken]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`${file}: flatten "СведФЛ": the element СведФЛ (xsd/zags-rogdinf-ru-root.xsd:81) has attributes (ТипУчАЗ, СНИЛС): they would have no object to go in`);
      writeFileSync(file, JSON.stringify({ flatten: ['ФИО', 'ФИОРожд', 'ФИОО'] }));
      const typo = okno(['catalogue', 'check', '--services', broken]);
      expect(typo.status).toBe(1);
      expect(typo.stderr).toContain(`${file}: /flatten: "ФИОО": no element of the derived parts has this name`);
    });
  });

  describe('usage', () => {
    ['add', 'check', 'validate', 'to-json', 'to-xml', 'example', 'schema'].forEach((sub, i) => {
      const flag = i % 2 === 0 ? '--help' : '-h';
      it(`${sub} ${flag}: its usage, exit 0`, () => {
        const r = okno(['catalogue', sub, flag]);
        expect(r.status).toBe(0);
        expect(r.stdout).toMatch(new RegExp(`^usage: okno catalogue ${sub}`));
      });
    });

    it('okno catalogue --help lists the subcommands and the exit codes; okno --help names the command', () => {
      const top = okno(['catalogue', '--help']);
      expect(top.status).toBe(0);
      expect(top.stdout).toMatch(/Exit codes: 0 .* 2 usage error/);
      expect(okno(['--help']).stdout).toMatch(/^ {2}catalogue +the service catalogue: add/m);
    });

    const good = path.join(federal, 'pfr-snils', 'valid-request.xml');
    const usageCases: [string, string[]][] = [
      ['no subcommand', []],
      ['an unknown subcommand', ['frobnicate']],
      ['a missing argument', ['validate', 'pfr-snils']],
      ['an unknown service', ['validate', 'no-such-service', good]],
      ['--response of an application', ['validate', 'advertising-permit', good, '--response']],
      ['a seed that is not a number', ['example', 'pfr-snils', '--seed', 'many']],
      ['an unknown option', ['schema', 'pfr-snils', '--bogus']],
      ['a file that cannot be read', ['to-json', 'pfr-snils', '/nonexistent/missing.xml']],
    ];
    for (const [what, args] of usageCases) {
      it(`usage error, exit 2: ${what}`, () => {
        const r = okno(['catalogue', ...args, '--services', services]);
        expect(r.status).toBe(2);
        expect(r.stderr).toMatch(/usage: okno catalogue/);
      });
    }
  });
});
