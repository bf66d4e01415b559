/**
 * A JSON Schema as named OpenAPI components: the schema and each of its $defs,
 * every "#/$defs/X" ref rewritten to "#/components/schemas/…", so refs resolve
 * inside one OpenAPI document. Component names allow only [A-Za-z0-9._-]
 * (OpenAPI 3.1 §4.8.7.1), so Cyrillic def names (ДатаДокТип) are
 * transliterated (DataDokTip); a clash gets _2, _3. Used by the gateway's
 * /docs (src/api/service-schemas.ts) and the X-Road REST services' OpenAPI
 * descriptions (src/xroad/openapi.ts).
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

const COMPONENTS = '#/components/schemas/';

const TRANSLIT: Readonly<Record<string, string>> = {
  а: 'a', б: 'b', в: 'v', г: 'g', д: 'd', е: 'e', ё: 'e', ж: 'zh', з: 'z', и: 'i', й: 'i', к: 'k', л: 'l', м: 'm', н: 'n', о: 'o', п: 'p',
  р: 'r', с: 's', т: 't', у: 'u', ф: 'f', х: 'kh', ц: 'ts', ч: 'ch', ш: 'sh', щ: 'shch', ъ: 'ie', ы: 'y', ь: '', э: 'e', ю: 'iu', я: 'ia',
};

/** A def name as a component name segment: ASCII kept, Cyrillic transliterated (ГОСТ Р 52535.1-2006 table), anything else "_". */
export function componentSegment(name: string): string {
  let out = '';
  for (const ch of name) {
    if (/[A-Za-z0-9_-]/.test(ch)) out += ch;
    else {
      const lower = ch.toLowerCase();
      const t = TRANSLIT[lower];
      if (t === undefined) out += '_';
      else out += ch === lower || t === '' ? t : t.charAt(0).toUpperCase() + t.slice(1);
    }
  }
  return out === '' ? '_' : out;
}

function decodePointerToken(token: string): string {
  let t = token;
  try {
    t = decodeURIComponent(t);
  } catch {
    // not percent-encoded
  }
  return t.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** Keywords whose values are data, not schemas: never rewritten. */
const DATA_KEYWORDS = new Set(['enum', 'const', 'default', 'examples', 'example']);

/** One schema (a service part's) turned into components: the content and each of its defs. */
export function schemaComponents(schema: unknown, prefix: string): Record<string, JsonObject> {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return { [prefix]: {} };
  const root = schema as JsonObject;
  const defs: JsonObject = { ...((root.definitions as JsonObject | undefined) ?? {}), ...((root.$defs as JsonObject | undefined) ?? {}) };
  const names = new Map<string, string>();
  const taken = new Set<string>([prefix]);
  for (const name of Object.keys(defs)) {
    const base = `${prefix}.${componentSegment(name)}`;
    let n = base;
    for (let i = 2; taken.has(n); i++) n = `${base}_${i}`;
    taken.add(n);
    names.set(name, n);
  }

  const refOf = (ref: string): string => {
    if (ref === '#' || ref === '#/') return `${COMPONENTS}${prefix}`;
    const m = /^#\/(\$defs|definitions)\/([^/]+)(\/.*)?$/.exec(ref);
    if (m === null) return ref;
    const target = names.get(decodePointerToken(m[2] as string));
    return target === undefined ? ref : `${COMPONENTS}${target}${m[3] ?? ''}`;
  };

  const rewrite = (node: Json): Json => {
    if (Array.isArray(node)) return node.map(rewrite);
    if (typeof node !== 'object' || node === null) return node;
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(node)) {
      if (k === '$schema' || k === '$id' || k === '$defs' || k === 'definitions') continue;
      if (k === '$ref' && typeof v === 'string') out[k] = refOf(v);
      else if (DATA_KEYWORDS.has(k)) out[k] = v;
      else if (k === 'properties' || k === 'patternProperties' || k === 'dependentSchemas') {
        // Maps of names to schemas: the names are data.
        out[k] = typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).map(([name, s]) => [name, rewrite(s)])) : v;
      } else out[k] = rewrite(v);
    }
    // A $ref with sibling keywords: as allOf, which OpenAPI tools keep (fastify-swagger drops the siblings of a bare $ref).
    if (typeof out.$ref === 'string' && Object.keys(out).length > 1) {
      const { $ref, ...rest } = out;
      return { allOf: [{ $ref }], ...rest };
    }
    return out;
  };

  const components: Record<string, JsonObject> = { [prefix]: rewrite(root) as JsonObject };
  for (const [name, def] of Object.entries(defs)) components[names.get(name) as string] = rewrite(def) as JsonObject;
  return components;
}
