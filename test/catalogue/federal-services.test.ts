/**
 * The federal services the catalogue ships (issue 19, point 5): real packages as the agencies
 * published them, with provenance, the JSON derived from them; at least five services from at
 * least four agencies, one package of 20 files or more. Every example of every derived part,
 * turned into XML by the gateway, is valid for xmllint against the service's own package.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/catalogue/load.js';
import type { JsonValue } from '../../src/store/types.js';
import { requireTool } from '../helpers/tools.js';
import { SHIPPED, readJsonFile } from './helpers.js';

const catalogue = loadCatalogue(SHIPPED);

/** Every derived service, and whose package it is. A new one must be added here. */
const AGENCY: Record<string, string> = {
  'zags-rogdinf': 'ФНС (ЕГР ЗАГС)',
  'fns-inn': 'ФНС',
  'pfr-snils': 'СФР',
  'mvd-living-place': 'МВД',
  'giszhkh-debt': 'ГИС ЖКХ',
  'rosreestr-egrn-land': 'Росреестр',
};

interface PartFile { namespace: string; rootElement: string; xsd: string }
interface ServiceFile { request: PartFile; response?: PartFile; examples: Record<string, string | string[]> }

function serviceFile(id: string): ServiceFile {
  return readJsonFile(path.join(SHIPPED, id, 'service.json')) as ServiceFile;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

const derived = catalogue.services.filter((s) => s.derived);

describe('the shipped federal services', () => {
  it('at least five derived services from at least four agencies, each with provenance and no hand-written schema or mapping', () => {
    expect(derived.map((s) => s.id).sort()).toEqual(Object.keys(AGENCY).sort());
    expect(new Set(Object.values(AGENCY).map((a) => a.replace(/ \(.*\)$/, ''))).size).toBeGreaterThanOrEqual(4);
    for (const s of derived) {
      expect(s.provenance).toMatchObject({ repository: expect.stringMatching(/^https:\/\/github\.com\/[\w.-]+\/[\w.-]+$/), path: expect.any(String), commit: expect.stringMatching(/^[0-9a-f]{40}$/) });
      const file = serviceFile(s.id);
      for (const part of [file.request, file.response]) {
        if (part) expect(Object.keys(part).sort()).toEqual(['namespace', 'rootElement', 'xsd']);
      }
      expect(s.personalData.length).toBeGreaterThan(0);
    }
  });

  it('one package holds 20 files or more (the Rosreestr EGRN request: 34 files, 34 namespaces); parts may come from different packages', () => {
    const file = serviceFile('rosreestr-egrn-land');
    const requestDir = path.dirname(path.join(SHIPPED, 'rosreestr-egrn-land', file.request.xsd));
    const responseDir = path.dirname(path.join(SHIPPED, 'rosreestr-egrn-land', file.response!.xsd));
    const requestFiles = filesUnder(requestDir).filter((f) => f.endsWith('.xsd'));
    expect(requestFiles).toHaveLength(34);
    const namespaces = new Set(requestFiles.map((f) => /targetNamespace="([^"]+)"/.exec(readFileSync(f, 'utf8'))?.[1]));
    expect(namespaces.size).toBe(34);
    expect(filesUnder(responseDir).filter((f) => f.endsWith('.xsd'))).toHaveLength(16);
    expect(file.response!.namespace).toBe('');
  });

  describe('every example, as the XML the gateway sends, is valid for xmllint against the package', () => {
    let scratch = '';
    beforeAll(() => {
      requireTool('xmllint', ['--version'], 'libxml2-utils');
      scratch = mkdtempSync(path.join(tmpdir(), 'okno-federal-examples-'));
    });
    const cases: [string, 'request' | 'response', string][] = [];
    for (const s of derived) {
      const file = serviceFile(s.id);
      for (const part of ['request', 'response'] as const) {
        const list = file.examples[part] ?? [];
        for (const ex of typeof list === 'string' ? [list] : list) cases.push([s.id, part, ex]);
      }
    }
    it.each(cases)('%s %s %s', (id, part, example) => {
      const s = catalogue.get(id)!;
      const def = part === 'request' ? s.request : s.response!;
      const xml = def.toXml(readJsonFile(path.join(SHIPPED, id, example)) as JsonValue);
      const doc = path.join(scratch, `${id}.${part}.${example}.xml`);
      writeFileSync(doc, xml);
      const schema = path.join(SHIPPED, id, serviceFile(id)[part]!.xsd);
      const r = spawnSync('xmllint', ['--noout', '--schema', schema, doc], { encoding: 'utf8' });
      expect(`${r.stdout}${r.stderr}`).toMatch(/validates$/m);
      expect(r.status).toBe(0);
    });
  });
});
