/**
 * `okno catalogue add`: a service folder scaffolded from a folder of XSDs as the agency published
 * them. The XSDs are copied byte for byte in their layout (under xsd/); the file declaring each
 * root element is found by reading every .xsd of the folder; service.json, an empty overrides
 * file and a generated valid example per part (JSON and XML) are written next to them.
 *
 * The folder is built under a dot-name (which the loader ignores) and renamed into place when
 * complete, so a failed scaffold leaves nothing behind and an existing service is never touched.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { readSchemaSet, type SchemaSet } from './schema-set/resolve.js';
import type { ElementDecl } from './schema-set/model.js';
import { NO_OVERRIDES } from './derive/overrides.js';
import { propertyMembers } from './derive/shape.js';
import { derivePart, generateExample, xmlDocumentText, type DerivedPart } from './derived-part.js';
import type { PartFile, ServiceFile } from './service-schema.js';
import type { MessagePart } from './types.js';

/** A problem with what the folder holds or what the options ask (the command exits 1; `usage`: 2). */
export class ScaffoldError extends Error {
  constructor(
    message: string,
    readonly usage = false,
  ) {
    super(message);
    this.name = 'ScaffoldError';
  }
}

export interface ScaffoldOptions {
  /** The agency's folder of XSDs. */
  readonly source: string;
  /** The catalogue folder (config/services). */
  readonly servicesDir: string;
  readonly id: string;
  /** `local` or `{namespace}local`. */
  readonly root: string;
  readonly response: string | null;
  readonly kind: 'application' | 'query';
  readonly direction: 'inbound' | 'outbound';
  readonly registrationPrefix: string | null;
  readonly title: string | null;
  /** Where the package was taken from (service.json /provenance). */
  readonly provenance: { repository: string; path: string; commit: string } | null;
}

export interface ScaffoldResult {
  readonly dir: string;
  /** Files written, relative to the service folder. */
  readonly files: readonly string[];
  /** Lines worth telling (which file declares each root, examples drawn from a seed). */
  readonly notes: readonly string[];
}

const SEEDS = Array.from({ length: 20 }, (_, i) => i + 1);

/** Every .xsd under dir (relative, with forward slashes), dot-folders skipped, sorted. */
export function listXsdFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(path.join(dir, rel)).sort()) {
      if (name.startsWith('.')) continue;
      const r = rel === '' ? name : `${rel}/${name}`;
      const st = statSync(path.join(dir, r));
      if (st.isDirectory()) walk(r);
      else if (st.isFile() && name.toLowerCase().endsWith('.xsd')) out.push(r);
    }
  };
  walk('');
  return out;
}

/**
 * The global elements of every file of the folder. All files are read as entries of one set; when
 * they do not go together (two unrelated packages in one folder), each file is read on its own.
 */
function globalElements(dir: string, files: readonly string[]): ElementDecl[] {
  try {
    return [...readSchemaSet(dir, files).elements.values()];
  } catch (first) {
    const byKey = new Map<string, ElementDecl>();
    let sets: SchemaSet[] = [];
    for (const f of files) {
      try {
        sets = [...sets, readSchemaSet(dir, [f])];
      } catch {
        // reported below if nothing reads
      }
    }
    if (sets.length === 0) throw new ScaffoldError(first instanceof Error ? first.message : String(first));
    for (const s of sets) for (const [k, d] of s.elements) if (!byKey.has(k)) byKey.set(k, d);
    return [...byKey.values()];
  }
}

/** The declaration `spec` names: `local` (one namespace declares it) or `{ns}local`. */
export function findRoot(elements: readonly ElementDecl[], spec: string, option: string): ElementDecl {
  const m = /^\{([^}]*)\}(.+)$/.exec(spec);
  const local = m === null ? spec : (m[2] as string);
  const candidates = elements.filter((d) => d.local === local && (m === null || d.ns === m[1]));
  if (candidates.length === 1) return candidates[0] as ElementDecl;
  if (candidates.length === 0) {
    const all = elements.map((d) => `{${d.ns}}${d.local}`).sort();
    throw new ScaffoldError(`${option} ${spec}: no global element of that name in the folder; it declares ${all.join(', ') || 'none'}`, true);
  }
  throw new ScaffoldError(`${option} ${spec}: declared in several namespaces; say which with ${option} '{namespace}${local}': ${candidates.map((d) => `{${d.ns}}${d.local} (${d.place})`).join(', ')}`, true);
}

/** The package-relative file of a declaration's place ("file:line"). */
function fileOf(decl: ElementDecl): string {
  return decl.place.replace(/:\d+$/, '').split(path.sep).join('/');
}

function partFile(decl: ElementDecl): PartFile {
  return { namespace: decl.ns, rootElement: decl.local, xsd: `xsd/${fileOf(decl)}` };
}

/** The top-level JSON properties of a part: the default personal-data pointers, for review. */
function topLevelPointers(p: DerivedPart): string[] {
  const v = p.shapes.valueOf(p.decl);
  if (v.kind !== 'object') return [];
  const keys = [...propertyMembers(v.object.members).map((m) => m.key), ...v.object.attributes.map((a) => a.key), ...(v.object.text === null ? [] : [v.object.text.key])];
  return keys.map((k) => `/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`);
}

export function scaffoldService(o: ScaffoldOptions): ScaffoldResult {
  const finalDir = path.join(o.servicesDir, o.id);
  if (existsSync(finalDir)) throw new ScaffoldError(`${finalDir} exists; refusing to overwrite a service folder (remove it first, or choose another --id)`);
  if (!existsSync(o.servicesDir) || !statSync(o.servicesDir).isDirectory()) throw new ScaffoldError(`${o.servicesDir}: no such catalogue folder`);
  let sourceFiles: string[];
  try {
    sourceFiles = listXsdFiles(o.source);
  } catch (error) {
    throw new ScaffoldError(`${o.source}: cannot read the folder (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  if (sourceFiles.length === 0) throw new ScaffoldError(`${o.source}: no .xsd files in the folder`);

  const elements = globalElements(o.source, sourceFiles);
  const requestDecl = findRoot(elements, o.root, '--root');
  const responseDecl = o.response === null ? null : findRoot(elements, o.response, '--response');
  const notes = [`request  {${requestDecl.ns}}${requestDecl.local} declared in ${requestDecl.place}`];
  if (responseDecl !== null) notes.push(`response {${responseDecl.ns}}${responseDecl.local} declared in ${responseDecl.place}`);

  const staging = path.join(o.servicesDir, `.${o.id}.scaffold-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  try {
    const files: string[] = [];
    for (const f of sourceFiles) {
      const to = path.join(staging, 'xsd', f);
      mkdirSync(path.dirname(to), { recursive: true });
      copyFileSync(path.join(o.source, f), to);
      files.push(`xsd/${f}`);
    }
    const title = o.title ?? `${requestDecl.local} (${requestDecl.ns || 'no namespace'})`;
    const parts: [MessagePart, ElementDecl][] = [['request', requestDecl]];
    if (responseDecl !== null) parts.push(['response', responseDecl]);
    const derived = new Map<MessagePart, DerivedPart>();
    for (const [part, decl] of parts) {
      try {
        derived.set(part, derivePart(staging, partFile(decl), NO_OVERRIDES, `${o.id} ${part}`));
      } catch (error) {
        throw new ScaffoldError(`${part} ${decl.local}: ${error instanceof Error ? error.message : String(error)}`.split(staging).join(path.join(finalDir)));
      }
    }
    const examples: Record<string, string> = {};
    for (const [part, p] of derived) {
      const ex = generateExample(p, null, SEEDS);
      if (!('json' in ex)) {
        const first = ex.refused[0];
        throw new ScaffoldError(`${part}: no valid example from the minimal generator nor seeds 1..${SEEDS.length}; the minimal one fails: ${first?.problems.slice(0, 5).join('; ') ?? '?'}`);
      }
      if (ex.seed !== null) notes.push(`${part}: the minimal example fails (${ex.refused[0]?.problems[0] ?? '?'}); wrote the one of seed ${ex.seed}`);
      writeFileSync(path.join(staging, `example.${part}.json`), `${JSON.stringify(ex.json, null, 2)}\n`);
      writeFileSync(path.join(staging, `example.${part}.xml`), xmlDocumentText(ex.xml));
      files.push(`example.${part}.json`, `example.${part}.xml`);
      examples[part] = `example.${part}.json`;
    }
    writeFileSync(
      path.join(staging, 'overrides.json'),
      `${JSON.stringify({ $comment: 'Property names the city prefers over the XML names: { "rename": { "Фамилия": "lastName" } }; wrapper elements whose children go one level up: { "flatten": ["ФИО"] } (README, "Adding a federal service")', rename: {}, flatten: [] }, null, 2)}\n`,
    );
    files.push('overrides.json');

    const personal = [...derived.values()].flatMap(topLevelPointers).filter((p, i, all) => all.indexOf(p) === i);
    const service: ServiceFile & { $comment: string } = {
      $comment: `Scaffolded by \`okno catalogue add\`. REVIEW personalData: it defaults to every top-level property of the request and response (kept out of logs); narrow it to what is personal.${o.provenance === null ? ' Add provenance (repository, path, commit) of the package.' : ''}`,
      id: o.id,
      title,
      kind: o.kind,
      direction: o.direction,
      ...(o.registrationPrefix === null ? {} : { registrationPrefix: o.registrationPrefix }),
      personalData: personal,
      request: partFile(requestDecl),
      ...(responseDecl === null ? {} : { response: partFile(responseDecl) }),
      overrides: 'overrides.json',
      examples: examples as ServiceFile['examples'],
      ...(o.provenance === null ? {} : { provenance: o.provenance }),
    };
    writeFileSync(path.join(staging, 'service.json'), `${JSON.stringify(service, null, 2)}\n`);
    files.push('service.json');
    renameSync(staging, finalDir);
    return { dir: finalDir, files, notes };
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
}
