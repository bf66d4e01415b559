/**
 * Loads the service catalogue: every config/services/<id>/service.json with
 * the files it names. Everything is compiled and cross-checked once, here, so
 * a mistake in the data stops the gateway at start-up with every problem
 * listed (file and place), never later on a live message:
 *
 * - service.json against its schema, and the rules between its fields;
 * - each part's XSD (compileXsd) declares the part's namespace and root;
 * - each part's JSON Schema compiles (ajv, strict) and the mapping covers
 *   exactly its properties with matching types;
 * - personal-data pointers name declared properties;
 * - every example is valid JSON content, becomes XML the XSD accepts, and
 *   comes back as the same JSON;
 * - no two services share an id, and no two parts a namespace + root element.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { parseXml } from '../xml/parser.js';
import type { XmlElement } from '../xml/types.js';
import { CatalogueError } from './errors.js';
import { firstDifference } from './json-equal.js';
import { compileJsonSchema, jsonValidator, ruleOf } from './json-schema.js';
import { compileMapping } from './mapping.js';
import { compileMappingReader } from './mapping-walk.js';
import { checkMappingAgainstSchema, schemaHasPointer } from './mapping-check.js';
import { normaliseMapping } from './mapping-format.js';
import { serviceFileSchema, type PartFile, type ServiceFile } from './service-schema.js';
import { DEFAULT_ATTACHMENT_MIME_TYPES, type ContentDefinition, type ContentError, type MessagePart, type ServiceCatalogue, type ServiceDefinition, type XmlReading } from './types.js';
import { compileXsd, compileXsdPackage, type CompiledSchema } from './xsd/index.js';
import { derivedContent } from './derived-content.js';
import { NO_OVERRIDES, OverridesError, parseOverrides, type Overrides } from './derive/overrides.js';
import { DeriveError } from './derive/scalars.js';
import { ShapeBuilder } from './derive/shape.js';
import { clark as clarkName } from './schema-set/model.js';

export { CatalogueError } from './errors.js';

const validateServiceFile = new Ajv({ allErrors: true, strict: true }).compile(serviceFileSchema);

function errorText(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return typeof code === 'string' ? code : error instanceof Error ? error.message : String(error);
}

function readText(file: string, problems: string[]): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    problems.push(`${file}: cannot read the file: ${errorText(error)}`);
    return undefined;
  }
}

function readJson(file: string, problems: string[]): unknown {
  const text = readText(file, problems);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    problems.push(`${file}: not valid JSON: ${errorText(error)}`);
    return undefined;
  }
}

function clark(namespace: string, localName: string): string {
  return `{${namespace}}${localName}`;
}

interface LoadedPart {
  def: ContentDefinition;
  schema: unknown;
  xsdFile: string;
  /** Derived from the XSD package (no hand-written schema and mapping). */
  derived: boolean;
}

/** What the derived parts of one service share: the shape builder (with the overrides) and each compiled package. */
interface DerivedScope {
  readonly shapes: ShapeBuilder;
  /** The service's overrides file (problems its `flatten` causes are reported there), or null. */
  readonly overridesFile: string | null;
  readonly packages: Map<string, CompiledSchema | null>;
}

/** A part derived from its XSD package: the package compiled once per entry file and service. */
function loadDerivedPart(dir: string, serviceFile: string, part: MessagePart, spec: PartFile, scope: DerivedScope, title: string, problems: string[]): LoadedPart | null {
  const xsdFile = path.join(dir, spec.xsd);
  let compiled = scope.packages.get(spec.xsd);
  if (compiled === undefined) {
    try {
      compiled = compileXsdPackage(dir, [spec.xsd], spec.namespace);
    } catch (error) {
      const text = errorText(error);
      problems.push(text.startsWith(dir) ? text : `${xsdFile}: ${text}`);
      compiled = null;
    }
    scope.packages.set(spec.xsd, compiled);
  }
  if (compiled === null) return null;
  const decl = compiled.set.elements.get(clarkName(spec.namespace, spec.rootElement));
  if (decl === undefined) {
    const roots = [...compiled.set.elements.values()].filter((d) => d.ns === spec.namespace).map((d) => d.local);
    problems.push(`${xsdFile}: no global element "${spec.rootElement}" in namespace "${spec.namespace}" (${serviceFile} /${part}); the package declares ${roots.join(', ') || 'none'} there`);
    return null;
  }
  try {
    const d = derivedContent(scope.shapes, decl, compiled, title);
    return { def: d.def, schema: d.schema, xsdFile, derived: true };
  } catch (error) {
    if (error instanceof OverridesError) {
      problems.push(`${scope.overridesFile ?? xsdFile}: ${error.message}`);
      return null;
    }
    if (error instanceof DeriveError) {
      problems.push(`${xsdFile}: ${error.message}`);
      return null;
    }
    problems.push(`${xsdFile}: the JSON Schema derived for ${spec.rootElement} does not compile: ${errorText(error)}`);
    return null;
  }
}

/** Compiles one part (request or response); null when it has problems (all reported). */
function loadPart(dir: string, serviceFile: string, part: MessagePart, spec: PartFile, problems: string[], scope: DerivedScope, title: string, options: LoadOptions): LoadedPart | null {
  if (spec.schema === undefined || spec.mapping === undefined) return loadDerivedPart(dir, serviceFile, part, spec, scope, title, problems);
  const before = problems.length;
  const xsdFile = path.join(dir, spec.xsd);
  const schemaFile = path.join(dir, spec.schema);
  const mappingFile = path.join(dir, spec.mapping);

  let xsd: ReturnType<typeof compileXsd> | null = null;
  const xsdText = readText(xsdFile, problems);
  if (xsdText !== undefined) {
    try {
      xsd = compileXsd(xsdText, xsdFile);
    } catch (error) {
      // XsdCompileError's message already starts with the file (and line).
      const text = errorText(error);
      problems.push(text.startsWith(xsdFile) ? text : `${xsdFile}: ${text}`);
    }
  }
  if (xsd !== null) {
    if (xsd.targetNamespace !== spec.namespace) {
      problems.push(`${xsdFile}: targetNamespace "${xsd.targetNamespace}" differs from ${serviceFile} /${part}/namespace "${spec.namespace}"`);
    }
    if (!xsd.rootElements.includes(spec.rootElement)) {
      problems.push(`${xsdFile}: no global element "${spec.rootElement}" (${serviceFile} /${part}/rootElement); it declares ${xsd.rootElements.join(', ') || 'none'}`);
    }
  }

  const schema = readJson(schemaFile, problems);
  // Checked loads compile the schema now (a schema ajv refuses stops the start); an unchecked
  // one (a lane thread, after its event loop checked the same files) on first use.
  const eager = options.checkExamples !== false;
  let validate: ReturnType<typeof compileJsonSchema> | null = null;
  let validator: ((value: unknown) => ContentError[]) | null = null;
  if (schema !== undefined && eager) {
    try {
      validate = compileJsonSchema(schema);
      validator = jsonValidator(validate);
    } catch (error) {
      problems.push(`${schemaFile}: ${errorText(error)}`);
    }
  }

  const mappingData = readJson(mappingFile, problems);
  let mapping = null;
  if (mappingData !== undefined) {
    const r = normaliseMapping(mappingData);
    if ('problems' in r) problems.push(...r.problems.map((p) => `${mappingFile} ${p}`));
    else mapping = r.mapping;
  }
  if (mapping !== null && schema !== undefined && (validate !== null || !eager)) {
    problems.push(...checkMappingAgainstSchema(mapping, schema, { mapping: mappingFile, schema: schemaFile }));
  }

  if (problems.length > before || xsd === null || schema === undefined || (eager && validate === null) || mapping === null) return null;
  const lazySchema = schema;
  const validateJson = (value: unknown): ContentError[] => (validator ??= jsonValidator(compileJsonSchema(lazySchema)))(value);
  const compiledXsd = xsd;
  const { namespace, rootElement } = spec;
  const m = compileMapping(mapping, namespace, rootElement);
  const reading = compileMappingReader(mapping, namespace);
  // The XSD may declare other global elements; this definition is for its root only.
  const notRoot = (el: XmlElement): ContentError[] | null =>
    el.namespaceURI !== namespace || el.localName !== rootElement ? [{ path: `/${el.localName}`, rule: 'root', message: `expected the element ${rootElement} in ${namespace}` }] : null;
  const validateXml = (el: XmlElement): ContentError[] => notRoot(el) ?? compiledXsd.validate(el);
  const readXml = (el: XmlElement): XmlReading => {
    if (reading === null) {
      const errors = validateXml(el);
      return errors.length > 0 ? { ok: false, errors } : { ok: true, json: m.toJson(el) };
    }
    const wrong = notRoot(el);
    if (wrong !== null) return { ok: false, errors: wrong };
    const start = reading.start();
    const errors = compiledXsd.validateReading(el, reading.reader, start);
    if (errors.length > 0) return { ok: false, errors };
    // A value the walk could not convert: toJson throws its MappingError.
    return { ok: true, json: reading.finish(start) ?? m.toJson(el) };
  };
  const def: ContentDefinition = Object.freeze({
    namespace,
    rootElement,
    validateXml,
    validateJson,
    toJson: m.toJson,
    readXml,
    toXml: m.toXml,
  });
  return { def, schema, xsdFile, derived: false };
}

function exampleFiles(list: string | string[] | undefined): string[] {
  return list === undefined ? [] : typeof list === 'string' ? [list] : list;
}

/** An example must pass both schemas and survive JSON → XML → JSON unchanged. */
function checkExample(file: string, part: LoadedPart, problems: string[]): void {
  const value = readJson(file, problems);
  if (value === undefined) return;
  const { def } = part;
  const jsonErrors = def.validateJson(value);
  if (jsonErrors.length > 0) {
    problems.push(...jsonErrors.map((e) => `${file}: not valid content: ${e.path || '/'}: ${e.rule}`));
    return;
  }
  try {
    const xml = def.toXml(value as never);
    const root = parseXml(xml).root;
    const xmlErrors = def.validateXml(root);
    if (xmlErrors.length > 0) {
      problems.push(...xmlErrors.map((e) => `${file}: its XML fails ${part.xsdFile}: ${e.path}: ${e.rule}`));
      return;
    }
    const diff = firstDifference(value, def.toJson(root));
    if (diff !== null) problems.push(`${file}: does not round-trip through XML: differs at ${diff}`);
  } catch (error) {
    problems.push(`${file}: cannot be converted: ${errorText(error)}`);
  }
}

/** The rules between service.json fields that its schema does not say. */
function checkServiceRules(s: ServiceFile, file: string, folder: string, problems: string[]): void {
  if (s.id !== folder) problems.push(`${file}: /id "${s.id}" must equal the folder name "${folder}"`);
  if (s.kind === 'application') {
    if (s.direction !== 'inbound') problems.push(`${file}: /direction: an application comes in from the portal, so "inbound"`);
    if (s.registrationPrefix === undefined) problems.push(`${file}: /registrationPrefix: an application needs one (it is registered)`);
  } else if (s.registrationPrefix !== undefined) {
    problems.push(`${file}: /registrationPrefix: only applications are registered`);
  }
  if (s.kind === 'status' && s.direction !== 'outbound') problems.push(`${file}: /direction: a status goes out to the portal, so "outbound"`);
  if (s.kind === 'query') {
    if (s.response === undefined) problems.push(`${file}: /response: a query needs a response part`);
    if (s.examples.response === undefined) problems.push(`${file}: /examples/response: a query needs a response example`);
  } else {
    if (s.response !== undefined) problems.push(`${file}: /response: only queries have a response part`);
    if (s.examples.response !== undefined) problems.push(`${file}: /examples/response: only queries have a response part`);
  }
}

/** How much a load checks: the examples (every JSON Schema compiled and exercised), or only what reading needs. */
export interface LoadOptions {
  /**
   * Check every example (default). A lane thread loads the catalogue the event loop of its
   * process has already checked, and passes false: derived JSON Schemas are then compiled only
   * when first used.
   */
  readonly checkExamples?: boolean;
}

function loadService(dir: string, folder: string, problems: string[], options: LoadOptions = {}): ServiceDefinition | null {
  const before = problems.length;
  const file = path.join(dir, 'service.json');
  const data = readJson(file, problems);
  if (data === undefined) return null;
  if (!validateServiceFile(data)) {
    for (const e of validateServiceFile.errors ?? []) {
      problems.push(`${file}: ${e.instancePath || '/'}: ${ruleOf(e)} (${e.message ?? e.keyword})`);
    }
    return null;
  }
  const s = data as unknown as ServiceFile;
  checkServiceRules(s, file, folder, problems);
  if (problems.length > before) return null;

  let overrides: Overrides = NO_OVERRIDES;
  const overridesFile = s.overrides === undefined ? null : path.join(dir, s.overrides);
  if (overridesFile !== null) {
    const data = readJson(overridesFile, problems);
    if (data === undefined) return null;
    const o = parseOverrides(data);
    if ('problems' in o) {
      problems.push(...o.problems.map((p) => `${overridesFile}: ${p}`));
      return null;
    }
    overrides = o;
  }
  const scope: DerivedScope = { shapes: new ShapeBuilder(overrides), overridesFile, packages: new Map() };
  const request = loadPart(dir, file, 'request', s.request, problems, scope, `${s.id} request`, options);
  const response = s.response === undefined ? null : loadPart(dir, file, 'response', s.response, problems, scope, `${s.id} response`, options);
  if (request === null || (s.response !== undefined && response === null)) return null;
  // Every part derived: an overrides name that matched nothing is a typo or a stale entry.
  for (const u of scope.shapes.unmatched()) {
    const what = u.section === 'rename' ? 'no element or attribute of the derived parts has this name' : 'no element of the derived parts has this name';
    problems.push(`${overridesFile ?? file}: /${u.section}: "${u.name}": ${what}`);
  }

  const schemas = [request.schema, ...(response === null ? [] : [response.schema])];
  s.personalData.forEach((pointer, i) => {
    if (!schemas.some((schema) => schemaHasPointer(schema, pointer))) {
      problems.push(`${file}: /personalData/${i}: "${pointer}" names no property of the ${response === null ? 'request' : 'request or response'} schema`);
    }
  });
  if (options.checkExamples !== false) {
    for (const ex of exampleFiles(s.examples.request)) checkExample(path.join(dir, ex), request, problems);
    if (response !== null) for (const ex of exampleFiles(s.examples.response)) checkExample(path.join(dir, ex), response, problems);
  }
  if (problems.length > before) return null;

  return Object.freeze({
    id: s.id,
    title: s.title,
    kind: s.kind,
    direction: s.direction,
    request: request.def,
    response: response === null ? null : response.def,
    registrationPrefix: s.registrationPrefix ?? null,
    personalData: Object.freeze([...s.personalData]) as string[],
    dir,
    jsonSchemas: { request: request.schema, response: response === null ? null : response.schema },
    derived: request.derived,
    provenance: s.provenance ?? null,
    attachmentSignature: s.attachments?.signature ?? 'optional',
    attachmentMimeTypes: Object.freeze([...(s.attachments?.mimeTypes ?? DEFAULT_ATTACHMENT_MIME_TYPES)]),
  });
}

function listServiceFolders(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    throw new CatalogueError([`${dir}: cannot read the catalogue directory: ${errorText(error)}`]);
  }
  // Dot-folders are editor/VCS litter; plain files (a README) are not services.
  return names.filter((n) => !n.startsWith('.') && statSync(path.join(dir, n)).isDirectory()).sort();
}

/**
 * What identifies a catalogue's contents without reading them: every file's path, size and
 * modification time. Equal signatures, equal catalogues.
 */
function signatureOf(dir: string): string {
  const parts: string[] = [];
  const walk = (d: string): void => {
    let names: string[];
    try {
      names = readdirSync(d).sort();
    } catch {
      return;
    }
    for (const n of names) {
      const p = path.join(d, n);
      const st = statSync(p, { throwIfNoEntry: false });
      if (st === undefined) continue;
      if (st.isDirectory()) walk(p);
      else parts.push(`${p}\u0000${st.size}\u0000${st.mtimeMs}`);
    }
  };
  walk(dir);
  return parts.join('\n');
}

/** Catalogues already loaded in this process (several gateways, lane threads' parents, the CLI): compiling a federal package is not free. */
const loaded = new Map<string, { signature: string; checked: boolean; catalogue: ServiceCatalogue }>();

/** Reads, compiles and cross-checks the catalogue; throws CatalogueError listing every problem. */
export function loadCatalogue(dir = 'config/services', options: LoadOptions = {}): ServiceCatalogue {
  const key = path.resolve(dir);
  const signature = signatureOf(dir);
  const checked = options.checkExamples !== false;
  const cached = loaded.get(key);
  // A checked catalogue serves an unchecked load too, not the other way round.
  if (cached !== undefined && cached.signature === signature && (cached.checked || !checked)) return cached.catalogue;
  const catalogue = compileCatalogue(dir, options);
  loaded.set(key, { signature, checked, catalogue });
  return catalogue;
}

function compileCatalogue(dir: string, options: LoadOptions): ServiceCatalogue {
  const problems: string[] = [];
  const folders = listServiceFolders(dir);
  if (folders.length === 0) problems.push(`${dir}: no service folders`);
  const services: ServiceDefinition[] = [];
  for (const folder of folders) {
    const service = loadService(path.join(dir, folder), folder, problems, options);
    if (service !== null) services.push(service);
  }

  const byId = new Map<string, ServiceDefinition>();
  const byRoot = new Map<string, { service: ServiceDefinition; part: MessagePart }>();
  for (const service of services) {
    const file = path.join(service.dir, 'service.json');
    const other = byId.get(service.id);
    if (other !== undefined) problems.push(`${file}: /id "${service.id}" is also declared in ${path.join(other.dir, 'service.json')}`);
    else byId.set(service.id, service);
    const parts: [MessagePart, ContentDefinition | null][] = [['request', service.request], ['response', service.response]];
    for (const [part, def] of parts) {
      if (def === null) continue;
      const key = clark(def.namespace, def.rootElement);
      const taken = byRoot.get(key);
      if (taken !== undefined) {
        problems.push(`${file}: /${part}: root element ${def.rootElement} in ${def.namespace} is also the ${taken.part} of ${path.join(taken.service.dir, 'service.json')}`);
      } else {
        byRoot.set(key, { service, part });
      }
    }
  }
  if (problems.length > 0) throw new CatalogueError(problems);

  return Object.freeze({
    services: Object.freeze([...services]),
    get: (id: string) => byId.get(id),
    byRoot: (namespace: string, localName: string) => byRoot.get(clark(namespace, localName)),
  });
}

/**
 * One service of the catalogue, compiled and checked as loadCatalogue does but without its
 * neighbours (for tools that work on one service: `okno catalogue validate` and the like).
 * Throws CatalogueError with its problems; the cross-service checks (ids, roots) are check's.
 */
export function loadOneService(dir: string, id: string): ServiceDefinition | undefined {
  if (!listServiceFolders(dir).includes(id)) return undefined;
  const problems: string[] = [];
  const service = loadService(path.join(dir, id), id, problems);
  if (service === null || problems.length > 0) throw new CatalogueError(problems);
  return service;
}
