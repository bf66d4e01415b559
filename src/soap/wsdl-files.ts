/**
 * The SMEV 3 message-exchange WSDL and XSDs the gateway publishes
 * (GET /ws/smev3?wsdl, GET /ws/smev3?xsd=<name>&v=<version>).
 *
 * Every file of wsdl/1.1, wsdl/1.2 and wsdl/1.3 is read ONCE, when this module
 * is first imported, and cut into a template at each address it carries:
 * soap:address location becomes `${baseUrl}/ws/smev3`, every schemaLocation /
 * import location becomes `${baseUrl}/ws/smev3?xsd=<name>&v=<version>`. Serving
 * a document is then a join of preloaded strings: no file I/O per request, and
 * an XSD name is looked up in a fixed whitelist (the directory listing), never
 * used as a path.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export type WsdlVersion = '1.1' | '1.2' | '1.3';
export const WSDL_VERSIONS: readonly WsdlVersion[] = Object.freeze(['1.1', '1.2', '1.3'] as const);
/** The version of a bare `?wsdl` (the official files). */
export const DEFAULT_WSDL_VERSION: WsdlVersion = '1.1';
/** Where the SOAP endpoint and its documents live, relative to the base URL. */
export const SOAP_PATH = '/ws/smev3';
export const WSDL_CONTENT_TYPE = 'text/xml; charset=utf-8';

export function isWsdlVersion(value: unknown): value is WsdlVersion {
  return typeof value === 'string' && (WSDL_VERSIONS as readonly string[]).includes(value);
}

type Part = string | { kind: 'address' } | { kind: 'xsd'; name: string };

interface VersionFiles {
  wsdlName: string;
  wsdl: Part[];
  xsds: Map<string, Part[]>;
}

export interface WsdlFiles {
  readonly dir: string;
  /** Per version: the XSD names a client may ask for (`?xsd=<name>`), sorted. */
  readonly xsdNames: Readonly<Record<WsdlVersion, readonly string[]>>;
  /** Per version: the WSDL's file name. */
  readonly wsdlNames: Readonly<Record<WsdlVersion, string>>;
  wsdlDocument(version: WsdlVersion, baseUrl: string): string;
  xsdDocument(name: string, version: WsdlVersion, baseUrl: string): string | null;
}

const COMMENT_OR_TAG = /<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<([A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)((?:\s[^<>]*?)?)\/?>/g;
const LOCATION_ATTR = /(\s)(schemaLocation|location)(\s*=\s*)(["'])([^"'<>]*)\4/g;

/** Cuts a document into literal text and the addresses to fill in at serve time. */
function template(text: string, file: string, known: ReadonlySet<string>): Part[] {
  const parts: Part[] = [];
  let last = 0;
  for (const tag of text.matchAll(COMMENT_OR_TAG)) {
    if (tag[2] === undefined) continue; // comment or CDATA
    const localName = tag[2];
    const attrs = tag[3] ?? '';
    const attrsAt = tag.index + 1 + (tag[1]?.length ?? 0) + localName.length;
    for (const attr of attrs.matchAll(LOCATION_ATTR)) {
      const valueAt = attrsAt + attr.index + attr[1]!.length + attr[2]!.length + attr[3]!.length + 1;
      const value = attr[5]!;
      parts.push(text.slice(last, valueAt));
      if (localName === 'address' && attr[2] === 'location') {
        parts.push({ kind: 'address' });
      } else {
        const name = value.replace(/^\.\//, '');
        if (!known.has(name)) throw new Error(`${file}: ${attr[2]}="${value}" names no file of its version`);
        parts.push({ kind: 'xsd', name });
      }
      last = valueAt + value.length;
    }
  }
  parts.push(text.slice(last));
  return parts.filter((p) => p !== '');
}

function escapeAttr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

function trimBase(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, '');
}

/** The endpoint address written into the WSDL. */
export function endpointUrl(baseUrl: string): string {
  return `${trimBase(baseUrl)}${SOAP_PATH}`;
}

/** Where a client fetches the WSDL of a version. */
export function wsdlUrl(version: WsdlVersion, baseUrl: string): string {
  return version === DEFAULT_WSDL_VERSION ? `${endpointUrl(baseUrl)}?wsdl` : `${endpointUrl(baseUrl)}?wsdl&v=${version}`;
}

/** Where a client fetches an XSD (what every schemaLocation of the served documents says). */
export function xsdUrl(name: string, version: WsdlVersion, baseUrl: string): string {
  return `${endpointUrl(baseUrl)}?xsd=${encodeURIComponent(name)}&v=${version}`;
}

function render(parts: readonly Part[], version: WsdlVersion, baseUrl: string): string {
  const address = escapeAttr(endpointUrl(baseUrl));
  let out = '';
  for (const p of parts) {
    if (typeof p === 'string') out += p;
    else if (p.kind === 'address') out += address;
    else out += escapeAttr(xsdUrl(p.name, version, baseUrl));
  }
  return out;
}

/** Reads and templates every file of dir/<version>/ (throws when a version or a referenced file is missing). */
export function loadWsdlFiles(dir: string): WsdlFiles {
  const versions = new Map<WsdlVersion, VersionFiles>();
  for (const version of WSDL_VERSIONS) {
    const vdir = path.join(dir, version);
    let listing: string[];
    try {
      listing = readdirSync(vdir);
    } catch (error) {
      throw new Error(`the WSDL/XSD folder ${vdir} cannot be read (wsdl/ must ship next to dist/): ${(error as Error).message}`);
    }
    const names = listing.filter((n) => /\.(wsdl|xsd)$/.test(n)).sort();
    const wsdls = names.filter((n) => n.endsWith('.wsdl'));
    if (wsdls.length !== 1) throw new Error(`${vdir}: expected exactly one .wsdl, found ${wsdls.length}`);
    const xsdNames = new Set(names.filter((n) => n.endsWith('.xsd')));
    const read = (n: string) => template(readFileSync(path.join(vdir, n), 'utf8'), `${version}/${n}`, xsdNames);
    versions.set(version, {
      wsdlName: wsdls[0]!,
      wsdl: read(wsdls[0]!),
      xsds: new Map([...xsdNames].map((n) => [n, read(n)])),
    });
  }
  const get = (v: WsdlVersion): VersionFiles => {
    const files = versions.get(v);
    if (!files) throw new Error(`unknown message-exchange version ${String(v)}`);
    return files;
  };
  const record = <T>(f: (v: VersionFiles) => T) =>
    Object.freeze(Object.fromEntries(WSDL_VERSIONS.map((v) => [v, f(get(v))]))) as Readonly<Record<WsdlVersion, T>>;
  return {
    dir,
    xsdNames: record((v) => Object.freeze([...v.xsds.keys()])),
    wsdlNames: record((v) => v.wsdlName),
    wsdlDocument: (version, baseUrl) => render(get(version).wsdl, version, baseUrl),
    xsdDocument: (name, version, baseUrl) => {
      if (!isWsdlVersion(version)) return null;
      const parts = get(version).xsds.get(name);
      return parts ? render(parts, version, baseUrl) : null;
    },
  };
}

/** wsdl/ of the installation: two levels up from src/soap (tsx, vitest) and from dist/soap (build). */
export const WSDL_DIR = path.resolve(import.meta.dirname, '../../wsdl');

const files = loadWsdlFiles(WSDL_DIR);

/** Per version: the XSD names served (`?xsd=<name>&v=<version>`). */
export const XSD_NAMES: Readonly<Record<WsdlVersion, readonly string[]>> = files.xsdNames;
/** Per version: the WSDL's file name. */
export const WSDL_NAMES: Readonly<Record<WsdlVersion, string>> = files.wsdlNames;

/** The WSDL of a version, with soap:address = `${baseUrl}/ws/smev3` and every schemaLocation pointing back at the gateway. */
export function wsdlDocument(version: WsdlVersion, baseUrl: string): string {
  return files.wsdlDocument(version, baseUrl);
}

/** An XSD by its whitelisted name (e.g. smev-message-exchange-types-1.2.xsd), rewritten likewise; null for an unknown name. */
export function xsdDocument(name: string, version: WsdlVersion, baseUrl: string): string | null {
  return files.xsdDocument(name, version, baseUrl);
}

export interface WsdlReply {
  contentType: string;
  body: string;
}

/**
 * The GET /ws/smev3 query → document mapping, for the route:
 * `?wsdl` (also `?WSDL`; version 1.1) or `?wsdl&v=1.2|1.3` → the WSDL; `?xsd=<name>&v=<version>` → that XSD
 * (without v: whichever version has that name — names carry their version).
 * null means 404 (unknown version or name), also when neither wsdl nor xsd is asked for.
 */
export function wsdlQuery(query: URLSearchParams, baseUrl: string): WsdlReply | null {
  const v = query.get('v');
  if (v !== null && !isWsdlVersion(v)) return null;
  const xsd = query.get('xsd');
  if (xsd !== null) {
    const versions = v !== null ? [v] : WSDL_VERSIONS;
    for (const version of versions) {
      const body = xsdDocument(xsd, version, baseUrl);
      if (body !== null) return { contentType: WSDL_CONTENT_TYPE, body };
    }
    return null;
  }
  if ([...query.keys()].some((k) => k.toLowerCase() === 'wsdl')) return { contentType: WSDL_CONTENT_TYPE, body: wsdlDocument(v ?? DEFAULT_WSDL_VERSION, baseUrl) };
  return null;
}
