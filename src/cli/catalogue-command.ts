/**
 * `okno catalogue <subcommand>`: the service catalogue from the command line, on the folder that
 * `--services DIR` or SERVICES_DIR names (default config/services). Exit codes: 0 done / valid,
 * 1 invalid content or a catalogue with problems, 2 a usage error.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CatalogueError, loadCatalogue, loadOneService } from '../catalogue/load.js';
import { generateExample, openDerivedPart, xmlDocumentText } from '../catalogue/derived-part.js';
import { ScaffoldError, scaffoldService } from '../catalogue/scaffold.js';
import { SERVICE_ID_PATTERN } from '../catalogue/service-schema.js';
import type { ContentDefinition, ContentError, MessagePart, ServiceCatalogue, ServiceDefinition } from '../catalogue/types.js';
import type { JsonValue } from '../store/types.js';
import { parseXml, XmlError } from '../xml/parser.js';
import type { XmlElement } from '../xml/types.js';
import { UsageError, type Command } from './command.js';

type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | undefined>;

interface Subcommand {
  summary: string;
  usage: string;
  options: Options;
  /** Exact number of positionals. */
  positionals: number;
  run(positionals: string[], values: Values, servicesDir: string): Promise<number> | number;
}

/** A usage error inside a subcommand: printed with its usage line, exit 2. */

const COMMON: Options = { services: { type: 'string' }, help: { type: 'boolean', short: 'h' } };

function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

function err(text: string): void {
  process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
}

function printCatalogueProblems(servicesDir: string, error: unknown): null {
  if (!(error instanceof CatalogueError)) throw error;
  err(`okno catalogue: ${servicesDir}: ${error.problems.length} problem(s):`);
  for (const p of error.problems) err(`  ${p}`);
  return null;
}

/** The whole catalogue, or null after printing its problems (each with its file and place). */
function load(servicesDir: string): ServiceCatalogue | null {
  try {
    return loadCatalogue(servicesDir);
  } catch (error) {
    return printCatalogueProblems(servicesDir, error);
  }
}

/**
 * One service, compiled as the gateway compiles it (its neighbours are not loaded: `check` is
 * for the whole catalogue), or null after printing its problems. Unknown id: a usage error.
 */
function loadService(servicesDir: string, id: string): ServiceDefinition | null {
  let service: ServiceDefinition | undefined;
  try {
    service = loadOneService(servicesDir, id);
  } catch (error) {
    return printCatalogueProblems(servicesDir, error);
  }
  if (service === undefined) throw new UsageError(`no service "${id}" in ${servicesDir}`);
  return service;
}

function partOf(values: Values): MessagePart {
  return values.response === true ? 'response' : 'request';
}

function contentOf(service: ServiceDefinition, part: MessagePart): ContentDefinition {
  const def = part === 'request' ? service.request : service.response;
  if (def === null) throw new UsageError(`service "${service.id}" is ${service.kind === 'application' ? 'an application' : `a ${service.kind}`}: it has no response part`);
  return def;
}

function readInput(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

function printProblems(file: string, errors: readonly ContentError[]): void {
  out(`${file}: INVALID, ${errors.length} problem(s):`);
  for (const e of errors) out(`  ${e.path || '/'}  [${e.rule}]  ${e.message}`);
}

/** The XML file parsed and validated for the part, or the exit code after printing why not. */
function validXml(file: string, def: ContentDefinition): XmlElement | number {
  const text = readFileSync(file);
  let root: XmlElement;
  try {
    root = parseXml(text).root;
  } catch (error) {
    if (!(error instanceof XmlError)) throw error;
    out(`${file}: not well-formed XML: ${error.message}`);
    return 1;
  }
  const errors = def.validateXml(root);
  if (errors.length > 0) {
    printProblems(file, errors);
    return 1;
  }
  return root;
}

const xmlOptions: Options = { response: { type: 'boolean' } };

const subcommands: Record<string, Subcommand> = {
  add: {
    summary: 'scaffold a service folder from a folder of XSDs as the agency published them',
    usage: 'add DIR --id ID --root ELEMENT [--response ELEMENT] [--kind application|query] [--direction inbound|outbound] [--prefix РК] [--title TEXT] [--repository URL --commit SHA [--path P]]',
    options: {
      id: { type: 'string' },
      root: { type: 'string' },
      response: { type: 'string' },
      kind: { type: 'string' },
      direction: { type: 'string' },
      prefix: { type: 'string' },
      title: { type: 'string' },
      repository: { type: 'string' },
      commit: { type: 'string' },
      path: { type: 'string' },
    },
    positionals: 1,
    run([source], v, servicesDir) {
      const id = v.id as string | undefined;
      const root = v.root as string | undefined;
      if (id === undefined || root === undefined) throw new UsageError('--id and --root are required');
      if (!new RegExp(SERVICE_ID_PATTERN).test(id)) throw new UsageError(`--id "${id}": lower-case letters, digits and hyphens (${SERVICE_ID_PATTERN})`);
      const response = (v.response as string | undefined) ?? null;
      const kind = (v.kind as string | undefined) ?? (response === null ? 'application' : 'query');
      if (kind !== 'application' && kind !== 'query') throw new UsageError(`--kind "${kind}": application or query`);
      if (kind === 'application' && response !== null) throw new UsageError('--response: an application has no response part (a query has)');
      if (kind === 'query' && response === null) throw new UsageError('--kind query needs --response ELEMENT');
      const direction = (v.direction as string | undefined) ?? (kind === 'query' ? 'outbound' : 'inbound');
      if (direction !== 'inbound' && direction !== 'outbound') throw new UsageError(`--direction "${direction}": inbound or outbound`);
      if (kind === 'application' && direction !== 'inbound') throw new UsageError('--direction: an application comes in from the portal, so inbound');
      const prefix = (v.prefix as string | undefined) ?? null;
      if (kind === 'application' && prefix === null) throw new UsageError('--prefix: an application needs a registration prefix (1 to 4 capital Cyrillic letters, e.g. РК)');
      if (kind !== 'application' && prefix !== null) throw new UsageError('--prefix: only applications are registered');
      if (prefix !== null && !/^[А-ЯЁ]{1,4}$/.test(prefix)) throw new UsageError(`--prefix "${prefix}": 1 to 4 capital Cyrillic letters`);
      const title = (v.title as string | undefined) ?? null;
      if (title !== null && (title.length < 3 || title.length > 300)) throw new UsageError('--title: 3 to 300 characters');

      const repository = v.repository as string | undefined;
      const commit = v.commit as string | undefined;
      if ((repository === undefined) !== (commit === undefined) || (repository === undefined && v.path !== undefined)) throw new UsageError('--repository and --commit go together (--path with them)');
      if (commit !== undefined && !/^[0-9a-f]{7,40}$/.test(commit)) throw new UsageError(`--commit "${commit}": a git commit id (7 to 40 hex digits)`);
      const provenance = repository === undefined || commit === undefined ? null : { repository, path: (v.path as string | undefined) ?? '', commit };

      let result;
      try {
        result = scaffoldService({ source: source as string, servicesDir, id, root, response, kind, direction, registrationPrefix: prefix, title, provenance });
      } catch (error) {
        if (!(error instanceof ScaffoldError)) throw error;
        if (error.usage) throw new UsageError(error.message);
        err(`okno catalogue add: ${error.message}`);
        return 1;
      }
      out(`wrote ${result.dir}/`);
      for (const f of result.files) out(`  ${f}`);
      for (const n of result.notes) out(n);
      const catalogue = load(servicesDir);
      if (catalogue === null) {
        err(`okno catalogue add: the catalogue does not load with ${result.dir} (left in place for review; remove it to start over)`);
        return 1;
      }
      const s = catalogue.get(id);
      out(`the catalogue loads: ${catalogue.services.length} service(s); ${id} is ${s?.kind === 'application' ? 'an application' : `a ${s?.kind ?? '?'}`} (${s?.direction ?? '?'}), its JSON derived from the XSD`);
      out(`review ${path.join(result.dir, 'service.json')}: personalData and the title`);
      return 0;
    },
  },

  check: {
    summary: 'load the whole catalogue; list every problem with file and line (exit 0 / 1)',
    usage: 'check',
    options: {},
    positionals: 0,
    run(_p, _v, servicesDir) {
      const catalogue = load(servicesDir);
      if (catalogue === null) return 1;
      out(`${servicesDir}: ${catalogue.services.length} service(s) load`);
      for (const s of catalogue.services) {
        const parts = [s.request, ...(s.response === null ? [] : [s.response])].map((d) => `{${d.namespace}}${d.rootElement}`).join(' → ');
        out(`  ${s.id.padEnd(40)} ${s.kind} ${s.direction}${s.derived ? ', derived' : ''}: ${parts}`);
      }
      return 0;
    },
  },

  validate: {
    summary: "validate an XML document against the service's request (or response) element",
    usage: 'validate ID FILE.xml [--response]',
    options: xmlOptions,
    positionals: 2,
    run([id, file], v, servicesDir) {
      const service = loadService(servicesDir, id as string);
      if (service === null) return 1;
      const def = contentOf(service, partOf(v));
      readInput(file as string);
      const root = validXml(file as string, def);
      if (typeof root === 'number') return root;
      out(`${file}: valid ${def.rootElement}`);
      return 0;
    },
  },

  'to-json': {
    summary: 'translate an XML document to the JSON the gateway would give the city',
    usage: 'to-json ID FILE.xml [--response]',
    options: xmlOptions,
    positionals: 2,
    run([id, file], v, servicesDir) {
      const service = loadService(servicesDir, id as string);
      if (service === null) return 1;
      const def = contentOf(service, partOf(v));
      readInput(file as string);
      const root = validXml(file as string, def);
      if (typeof root === 'number') return root;
      out(JSON.stringify(def.toJson(root), null, 2));
      return 0;
    },
  },

  'to-xml': {
    summary: 'translate a JSON document to the XML the gateway would send',
    usage: 'to-xml ID FILE.json [--response]',
    options: xmlOptions,
    positionals: 2,
    run([id, file], v, servicesDir) {
      const service = loadService(servicesDir, id as string);
      if (service === null) return 1;
      const def = contentOf(service, partOf(v));
      const text = readInput(file as string);
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        out(`${file}: not valid JSON: ${(error as Error).message}`);
        return 1;
      }
      const errors = def.validateJson(value);
      if (errors.length > 0) {
        printProblems(file as string, errors);
        return 1;
      }
      out(xmlDocumentText(def.toXml(value as JsonValue)));
      return 0;
    },
  },

  example: {
    summary: 'print a valid example (minimal by default; --seed N for a random one)',
    usage: 'example ID [--response] [--xml] [--seed N]',
    options: { response: { type: 'boolean' }, xml: { type: 'boolean' }, seed: { type: 'string' } },
    positionals: 1,
    run([id], v, servicesDir) {
      const seedText = v.seed as string | undefined;
      if (seedText !== undefined && !/^\d{1,9}$/.test(seedText)) throw new UsageError(`--seed "${seedText}": a whole number`);
      const seed = seedText === undefined ? null : Number(seedText);
      const service = loadService(servicesDir, id as string);
      if (service === null) return 1;
      const part = partOf(v);
      const def = contentOf(service, part);
      let json: JsonValue;
      const derived = openDerivedPart(service.dir, part);
      if (derived === null) {
        // A hand-written part: its first example file (checked when the catalogue loaded).
        if (seed !== null) throw new UsageError(`--seed: ${service.id} ${part} is hand-written; only derived parts generate examples`);
        const s = JSON.parse(readFileSync(path.join(service.dir, 'service.json'), 'utf8')) as { examples: Record<string, string | string[]> };
        const list = s.examples[part];
        const first = (Array.isArray(list) ? list[0] : list) as string;
        json = JSON.parse(readFileSync(path.join(service.dir, first), 'utf8')) as JsonValue;
      } else {
        const ex = generateExample(derived, seed);
        if (!('json' in ex)) {
          err(`okno catalogue example: the ${seed === null ? 'minimal' : `seed ${seed}`} example of ${service.id} ${part} is not valid (a generator gap; try another --seed):`);
          for (const p of ex.refused[0]?.problems ?? []) err(`  ${p}`);
          return 1;
        }
        json = ex.json;
      }
      out(v.xml === true ? xmlDocumentText(def.toXml(json)) : JSON.stringify(json, null, 2));
      return 0;
    },
  },

  schema: {
    summary: "print the service's JSON Schema (derived or hand-written)",
    usage: 'schema ID [--response]',
    options: { response: { type: 'boolean' } },
    positionals: 1,
    run([id], v, servicesDir) {
      const service = loadService(servicesDir, id as string);
      if (service === null) return 1;
      const part = partOf(v);
      contentOf(service, part);
      out(JSON.stringify(service.jsonSchemas[part], null, 2));
      return 0;
    },
  },
};

function catalogueUsage(): string {
  const lines = Object.values(subcommands).map((c) => `  okno catalogue ${c.usage}\n      ${c.summary}`);
  return [
    'usage: okno catalogue <subcommand> [--services DIR] [options]',
    '',
    'The catalogue folder is --services DIR, else SERVICES_DIR, else config/services.',
    'Exit codes: 0 done or valid; 1 invalid content, or a catalogue with problems; 2 usage error.',
    '',
    'subcommands:',
    ...lines,
    '',
  ].join('\n');
}

export const catalogueCommand: Command = {
  summary: 'the service catalogue: add (scaffold from XSDs), check, validate, to-json, to-xml, example, schema',
  usage: 'catalogue <subcommand> [--services DIR]',
  async run(args) {
    const [name, ...rest] = args;
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      process.stdout.write(catalogueUsage());
      return name === undefined ? 2 : 0;
    }
    const sub = subcommands[name];
    if (sub === undefined) {
      err(`okno catalogue: unknown subcommand "${name}"\n`);
      process.stderr.write(catalogueUsage());
      return 2;
    }
    const usageLine = `usage: okno catalogue ${sub.usage} [--services DIR]`;
    let values: Values;
    let positionals: string[];
    try {
      ({ values, positionals } = parseArgs({ args: rest, allowPositionals: true, strict: true, options: { ...COMMON, ...sub.options } }) as { values: Values; positionals: string[] });
    } catch (error) {
      err(`okno catalogue ${name}: ${(error as Error).message}\n${usageLine}`);
      return 2;
    }
    if (values.help === true) {
      out(`${usageLine}\n  ${sub.summary}`);
      return 0;
    }
    if (positionals.length !== sub.positionals) {
      err(`okno catalogue ${name}: expected ${sub.positionals} argument(s), got ${positionals.length}\n${usageLine}`);
      return 2;
    }
    const servicesDir = (values.services as string | undefined) ?? process.env.SERVICES_DIR ?? 'config/services';
    try {
      return await sub.run(positionals, values, servicesDir);
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      err(`okno catalogue ${name}: ${error.message}\n${usageLine}`);
      return 2;
    }
  },
};
