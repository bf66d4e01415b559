import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CatalogueError, loadCatalogue } from '../../src/catalogue/load.js';
import { FIXTURES, SHIPPED, editJson, problemsOf, removeTempCatalogues, tempCatalogue } from './helpers.js';

afterAll(removeTempCatalogues);

/** A catalogue holding only a copy of the small fixture service, to break in one way. */
function oneService(): { dir: string; svc: string } {
  const dir = tempCatalogue({ shipped: false });
  const svc = path.join(dir, 'tree-felling-permit');
  cpSync(path.join(FIXTURES, 'new-service/tree-felling-permit'), svc, { recursive: true });
  return { dir, svc };
}

describe('a broken service folder gives CatalogueError naming the file and the problem', () => {
  it('the unbroken fixture loads (so each case below fails for its own reason)', () => {
    const { dir } = oneService();
    expect(loadCatalogue(dir).services.map((s) => s.id)).toEqual(['tree-felling-permit']);
  });

  it('lists every problem in its message too', () => {
    const { dir, svc } = oneService();
    rmSync(path.join(svc, 'request.xsd'));
    try {
      loadCatalogue(dir);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(CatalogueError);
      expect((error as Error).message).toBe(`service catalogue: 1 problem:\n  ${svc}/request.xsd: cannot read the file: ENOENT`);
    }
  });

  it('a mapped property that is not in the JSON schema', () => {
    const { dir, svc } = oneService();
    editJson(path.join(svc, 'request.mapping.json'), (m) => {
      m.defs.Tree.fields.push({ json: 'heightM', xml: 'HeightM', type: 'number' });
    });
    expect(problemsOf(() => loadCatalogue(dir))).toEqual([
      `${svc}/request.mapping.json /defs/Tree/fields/4: property "heightM" is not in ${svc}/request.schema.json (/$defs/Tree/properties)`,
    ]);
  });

  it('a schema property the mapping does not carry', () => {
    const { dir, svc } = oneService();
    editJson(path.join(svc, 'request.schema.json'), (s) => {
      s.properties.comment = { type: 'string' };
    });
    expect(problemsOf(() => loadCatalogue(dir))).toEqual([
      `${svc}/request.schema.json /properties/comment: property "comment" is not mapped in ${svc}/request.mapping.json (the root element)`,
    ]);
  });

  it('a mapping type that disagrees with the schema, and an object without additionalProperties: false', () => {
    const { dir, svc } = oneService();
    editJson(path.join(svc, 'request.mapping.json'), (m) => {
      m.fields[0].type = 'string';
    });
    editJson(path.join(svc, 'request.schema.json'), (s) => {
      delete s.$defs.Applicant.additionalProperties;
    });
    expect(problemsOf(() => loadCatalogue(dir))).toEqual([
      `${svc}/request.schema.json /$defs/OrderId: "orderId" is string in ${svc}/request.mapping.json, the schema must say "type": "string"`,
      `${svc}/request.schema.json /$defs/Applicant: objects must have "additionalProperties": false`,
    ]);
  });

  it('an example that is not valid content', () => {
    const { dir, svc } = oneService();
    editJson(path.join(svc, 'example.request.json'), (e) => {
      e.applicant.snils = '09876543210';
      e.trees[0].condition = 'погибшее';
    });
    expect(problemsOf(() => loadCatalogue(dir))).toEqual([
      `${svc}/example.request.json: not valid content: /applicant/snils: pattern ^\\d{3}-\\d{3}-\\d{3} \\d{2}$`,
      `${svc}/example.request.json: not valid content: /trees/0/condition: enum здоровое|ослабленное|аварийное|сухостойное`,
    ]);
  });

  it('an example whose XML the XSD refuses (the XSD is stricter than the JSON schema)', () => {
    const { dir, svc } = oneService();
    const xsd = path.join(svc, 'request.xsd');
    const text = readText(xsd).replace('<xs:maxLength value="1000"/>', '<xs:maxLength value="10"/>');
    writeFileSync(xsd, text);
    expect(problemsOf(() => loadCatalogue(dir))).toEqual([
      `${svc}/example.request.json: its XML fails ${xsd}: /TreeFellingPermitRequest/SiteAddress: maxLength 10`,
    ]);
  });

  it('a mapping whose element order differs from the XSD sequence', () => {
    const { dir, svc } = oneService();
    editJson(path.join(svc, 'request.mapping.json'), (m) => {
      const [a, b] = m.defs.Applicant.fields.splice(0, 2);
      m.defs.Applicant.fields.splice(0, 0, b, a);
    });
    expect(problemsOf(() => loadCatalogue(dir))).toEqual([
      `${svc}/example.request.json: its XML fails ${svc}/request.xsd: /TreeFellingPermitRequest/Applicant/FirstName: unexpected element FirstName`,
    ]);
  });

  it('the XSD does not declare the namespace or root of service.json', () => {
    const { dir, svc } = oneService();
    editJson(path.join(svc, 'service.json'), (s) => {
      s.request.namespace = 'urn://x-artefacts-okno/municipal/tree-felling-permit/2.0.0';
      s.request.rootElement = 'TreeFellingRequest';
    });
    expect(problemsOf(() => loadCatalogue(dir))).toEqual([
      `${svc}/request.xsd: targetNamespace "urn://x-artefacts-okno/municipal/tree-felling-permit/1.0.0" differs from ${svc}/service.json /request/namespace "urn://x-artefacts-okno/municipal/tree-felling-permit/2.0.0"`,
      `${svc}/request.xsd: no global element "TreeFellingRequest" (${svc}/service.json /request/rootElement); it declares TreeFellingPermitRequest`,
    ]);
  });

  it('an XSD the compiler refuses names file, line and construct', () => {
    const { dir, svc } = oneService();
    const xsd = path.join(svc, 'request.xsd');
    writeFileSync(xsd, readText(xsd).replace('<xs:element name="SiteAddress"', '<xs:redefine schemaLocation="x.xsd"/><xs:element name="SiteAddress"'));
    const problems = problemsOf(() => loadCatalogue(dir));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${escapeRe(xsd)}:\\d+: xs:redefine: `));
  });

  it('two services with the same namespace and root element', () => {
    const { dir, svc } = oneService();
    const copy = path.join(dir, 'tree-felling-permit-copy');
    cpSync(svc, copy, { recursive: true });
    editJson(path.join(copy, 'service.json'), (s) => {
      s.id = 'tree-felling-permit-copy';
    });
    expect(problemsOf(() => loadCatalogue(dir))).toEqual([
      `${copy}/service.json: /request: root element TreeFellingPermitRequest in urn://x-artefacts-okno/municipal/tree-felling-permit/1.0.0 is also the request of ${svc}/service.json`,
    ]);
  });

  it('a service.json that breaks its schema', () => {
    const { dir, svc } = oneService();
    editJson(path.join(svc, 'service.json'), (s) => {
      s.kind = 'petition';
      delete s.title;
      s.owner = 'отдел';
      s.request.xsd = '../../etc/passwd';
    });
    expect(problemsOf(() => loadCatalogue(dir))).toEqual([
      `${svc}/service.json: /: required title (must have required property 'title')`,
      `${svc}/service.json: /: additionalProperties owner (must NOT have additional properties)`,
      `${svc}/service.json: /kind: enum application|query|status (must be equal to one of the allowed values)`,
      // A package keeps its subfolders, but ".." never leaves the service folder.
      `${svc}/service.json: /request/xsd: pattern ^(?!.*(^|/)\\.\\.?(/|$))[A-Za-z0-9_][A-Za-z0-9_./-]{0,255}$ (must match pattern "^(?!.*(^|/)\\.\\.?(/|$))[A-Za-z0-9_][A-Za-z0-9_./-]{0,255}$")`,
    ]);
  });

  it('service.json rules between fields: id and folder, prefix, response part, direction', () => {
    const { dir, svc } = oneService();
    editJson(path.join(svc, 'service.json'), (s) => {
      s.id = 'tree-felling';
      delete s.registrationPrefix;
      s.direction = 'outbound';
      s.examples.response = 'example.response.json';
    });
    expect(problemsOf(() => loadCatalogue(dir))).toEqual([
      `${svc}/service.json: /id "tree-felling" must equal the folder name "tree-felling-permit"`,
      `${svc}/service.json: /direction: an application comes in from the portal, so "inbound"`,
      `${svc}/service.json: /registrationPrefix: an application needs one (it is registered)`,
      `${svc}/service.json: /examples/response: only queries have a response part`,
    ]);
  });

  it('a query without a response part', () => {
    const dir = tempCatalogue({ shipped: false });
    const svc = path.join(dir, 'egrul-extract');
    cpSync(path.join(SHIPPED, 'egrul-extract'), svc, { recursive: true });
    editJson(path.join(svc, 'service.json'), (s) => {
      delete s.response;
    });
    expect(problemsOf(() => loadCatalogue(dir))).toEqual([`${svc}/service.json: /response: a query needs a response part`]);
  });

  it('a personal-data pointer that names no property', () => {
    const { dir, svc } = oneService();
    editJson(path.join(svc, 'service.json'), (s) => {
      s.personalData.push('/applicant/passport');
    });
    expect(problemsOf(() => loadCatalogue(dir))).toEqual([
      `${svc}/service.json: /personalData/1: "/applicant/passport" names no property of the request schema`,
    ]);
  });

  it('files that are not JSON, a mapping file of the wrong shape, a JSON schema ajv refuses', () => {
    const { dir, svc } = oneService();
    writeFileSync(path.join(svc, 'example.request.json'), '{ "orderId": 1, }');
    editJson(path.join(svc, 'request.mapping.json'), (m) => {
      m.fields[0].xml = 'Order Id';
    });
    editJson(path.join(svc, 'request.schema.json'), (s) => {
      s.properties.orderId.colour = 'red';
    });
    const problems = problemsOf(() => loadCatalogue(dir));
    expect(problems).toEqual([
      `${svc}/request.schema.json: strict mode: unknown keyword: "colour"`,
      `${svc}/request.mapping.json /fields/0/xml: must match pattern "^[A-Za-z_][A-Za-z0-9_.-]*$"`,
    ]);
  });

  it('an example file that is not JSON', () => {
    const { dir, svc } = oneService();
    writeFileSync(path.join(svc, 'example.request.json'), '{ "orderId": 1, }');
    const problems = problemsOf(() => loadCatalogue(dir));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${escapeRe(svc)}/example\\.request\\.json: not valid JSON: `));
  });

  it('a folder without service.json, and an empty catalogue', () => {
    const { dir } = oneService();
    mkdirSync(path.join(dir, 'draft'));
    expect(problemsOf(() => loadCatalogue(dir))).toEqual([`${dir}/draft/service.json: cannot read the file: ENOENT`]);
    const empty = tempCatalogue({ shipped: false });
    expect(problemsOf(() => loadCatalogue(empty))).toEqual([`${empty}: no service folders`]);
    expect(problemsOf(() => loadCatalogue(path.join(empty, 'missing')))).toEqual([
      `${empty}/missing: cannot read the catalogue directory: ENOENT`,
    ]);
  });

  it('problems of several services are reported together', () => {
    const dir = tempCatalogue();
    editJson(path.join(dir, 'egrn-extract/example.response.json'), (e) => {
      e.area.unit = 'акр';
    });
    editJson(path.join(dir, 'kindergarten-enrollment/service.json'), (s) => {
      s.registrationPrefix = 'DS';
    });
    expect(problemsOf(() => loadCatalogue(dir))).toEqual([
      `${dir}/egrn-extract/example.response.json: not valid content: /area/unit: enum кв.м|га`,
      `${dir}/kindergarten-enrollment/service.json: /registrationPrefix: pattern ^[А-ЯЁ]{1,4}$ (must match pattern "^[А-ЯЁ]{1,4}$")`,
    ]);
  });
});

function readText(file: string): string {
  return readFileSync(file, 'utf8');
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
