import { generateSync } from 'json-schema-faker';
import { readSchemaSet } from './src/catalogue/schema-set/resolve.ts';
import { ShapeBuilder } from './src/catalogue/derive/shape.ts';
import { JsonSchemaWriter } from './src/catalogue/derive/json-schema.ts';
import { Translator } from './src/catalogue/derive/translate.ts';
import { NO_OVERRIDES } from './src/catalogue/derive/overrides.ts';
import { compileDerivedJsonSchema } from './src/catalogue/json-schema.ts';
import { parseXml } from './src/xml/parser.ts';
import { smevTransform } from './src/xml/smev-transform.ts';
import { readdirSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
const base = '/work/notes/xsd-corpus';
for (const d of readdirSync(base)) {
  if (d.startsWith('_') || !statSync(`${base}/${d}`).isDirectory()) continue;
  const entries = readdirSync(`${base}/${d}`).filter((f) => f.endsWith('.xsd'));
  const s = readSchemaSet(`${base}/${d}`, entries);
  const shapes = new ShapeBuilder(NO_OVERRIDES);
  const roots = [...s.elements].filter(([k]) => !k.includes('supplementary/commons') && !k.includes('basic-types'));
  for (const [k, decl] of roots.slice(0, 3)) {
    const js = new JsonSchemaWriter(shapes).document(decl, k);
    const v = compileDerivedJsonSchema(js);
    const t = new Translator(shapes, decl);
    const entry = entries.find((e) => readFileSync(`${base}/${d}/${e}`, 'latin1').includes(`name="${decl.local}"`) || readFileSync(`${base}/${d}/${e}`, 'utf8').includes(`name="${decl.local}"`)) ?? entries[0];
    let gen = 0, accepted = 0, lintOk = 0, rt = 0; let firstErr = '';
    for (let seed = 1; seed <= 8; seed++) {
      let json: unknown;
      try { json = generateSync(js as any, { seed, maxDepth: 8, optionalsProbability: 0.5, refDepthMax: 3 }); } catch (e) { firstErr ||= 'gen: ' + (e as Error).message.slice(0, 150); continue; }
      gen++;
      if (!v(json)) { firstErr ||= 'schema: ' + JSON.stringify(v.errors?.[0]).slice(0, 200); continue; }
      accepted++;
      const xml = t.toXml(json as any);
      writeFileSync('/tmp/gen.xml', xml);
      try { execFileSync('xmllint', ['--noout', '--schema', `${base}/${d}/${entry}`, '/tmp/gen.xml'], { stdio: 'pipe' }); lintOk++; } catch (e) { firstErr ||= 'lint: ' + String((e as any).stderr).slice(0, 300); continue; }
      const back = t.toXml(t.toJson(parseXml(xml).root));
      if (smevTransform(parseXml(back).root) === smevTransform(parseXml(xml).root)) rt++;
    }
    console.log(d, decl.local, `gen ${gen} accepted ${accepted} xmllint ${lintOk} roundtrip ${rt}`, firstErr);
  }
}
