/**
 * Derives the message-exchange 1.2 and 1.3 WSDL/XSDs from the official 1.1
 * files in wsdl/1.1/ (see wsdl/README.md). Run from the repository root:
 *
 *   npx tsx wsdl/derive.ts          # writes wsdl/1.2/ and wsdl/1.3/
 *   npx tsx wsdl/derive.ts --check  # exits 1 if the committed files differ
 *
 * What changes:
 * - the version of the four message-exchange namespaces (service, types,
 *   types/basic, types/faults) — in declarations, targetNamespace, imports and
 *   the wsaw:Action URIs built from them;
 * - the file names (smev-message-exchange-*-1.1.xsd → -1.2.xsd …) and thus
 *   every schemaLocation;
 * - the WSDL's soap:address location becomes a placeholder
 *   (http://localhost:8080/ws/smev3); the gateway replaces it at serve time
 *   anyway (src/soap/wsdl-files.ts), whatever it is;
 * - 1.3 only: an optional routing:Routing element after
 *   CallerInformationSystemSignature in SendRequestRequest, defined in
 *   smev-message-exchange-routing-1.3.xsd (our minimal reconstruction, not an
 *   official file).
 * Everything else (documentation, CRLF line ends, layout) is kept byte for byte.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const here = import.meta.dirname;
const SOURCE_VERSION = '1.1';
const TARGETS = ['1.2', '1.3'] as const;
type Target = (typeof TARGETS)[number];

export const PLACEHOLDER_ADDRESS = 'http://localhost:8080/ws/smev3';
export const ROUTING_NS = 'urn://x-artefacts-smev-gov-ru/services/message-exchange/types/routing/1.3';
const ROUTING_FILE = 'smev-message-exchange-routing-1.3.xsd';

const NAMESPACE = /(urn:\/\/x-artefacts-smev-gov-ru\/services\/message-exchange\/(?:types\/(?:basic\/|faults\/)?)?)1\.1(?![\d.])/g;
const FILE_NAME = /(smev-message-exchange-(?:[a-z]+-)?)1\.1(\.(?:xsd|wsdl))/g;
const SOAP_ADDRESS = /(<soap:address\s+location=")[^"]*(")/g;

function replaceCounted(text: string, pattern: RegExp, replacement: string, what: string, min = 1): string {
  let count = 0;
  const out = text.replace(pattern, (...m: string[]) => {
    count++;
    return replacement.replace(/\$(\d)/g, (_, i: string) => m[Number(i)] ?? '');
  });
  if (count < min) throw new Error(`derive: expected at least ${min} ${what}, found ${count}`);
  return out;
}

function insertAfterOnce(text: string, anchor: string, insert: string, what: string): string {
  const at = text.indexOf(anchor);
  if (at < 0 || text.indexOf(anchor, at + 1) >= 0) throw new Error(`derive: anchor for ${what} not found exactly once`);
  return text.slice(0, at + anchor.length) + insert + text.slice(at + anchor.length);
}

/** The routing schema of 1.3 — a reconstruction, kept minimal (see wsdl/README.md). */
function routingXsd(eol: string): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!--',
    '  SMEV 3 message exchange 1.3: routing data of SendRequestRequest.',
    '  NOT an official file: Okno\'s minimal reconstruction (wsdl/derive.ts), enough for',
    '  clients to send an optional Routing element after CallerInformationSystemSignature.',
    '-->',
    '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"',
    `           xmlns:tns="${ROUTING_NS}"`,
    `           targetNamespace="${ROUTING_NS}"`,
    '           elementFormDefault="qualified" attributeFormDefault="unqualified">',
    '    <xs:element name="Routing">',
    '        <xs:annotation><xs:documentation>Routing hints for the message (reconstruction).</xs:documentation></xs:annotation>',
    '        <xs:complexType>',
    '            <xs:sequence>',
    '                <xs:element name="DynamicRouting" type="xs:string" minOccurs="0"/>',
    '                <xs:element name="IdentifierRouting" type="xs:string" minOccurs="0"/>',
    '            </xs:sequence>',
    '        </xs:complexType>',
    '    </xs:element>',
    '</xs:schema>',
    '',
  ].join(eol);
}

function addRouting(typesXsd: string): string {
  const eol = typesXsd.includes('\r\n') ? '\r\n' : '\n';
  let out = insertAfterOnce(
    typesXsd,
    'xmlns:basic="urn://x-artefacts-smev-gov-ru/services/message-exchange/types/basic/1.3"',
    `${eol}           xmlns:routing="${ROUTING_NS}"`,
    'the routing prefix',
  );
  out = insertAfterOnce(
    out,
    'schemaLocation="smev-message-exchange-basic-1.3.xsd"/>',
    `${eol}    <xs:import namespace="${ROUTING_NS}" schemaLocation="${ROUTING_FILE}"/>`,
    'the routing import',
  );
  // The end of CallerInformationSystemSignature inside SendRequestRequest.
  const op = out.indexOf('<xs:element name="SendRequestRequest">');
  const sig = out.indexOf('<xs:element name="CallerInformationSystemSignature"', op);
  const end = out.indexOf('</xs:element>', sig);
  const nextOp = out.indexOf('<xs:element name="SendRequestResponse">', op);
  if (op < 0 || sig < 0 || end < 0 || !(end < nextOp)) throw new Error('derive: CallerInformationSystemSignature of SendRequestRequest not found');
  const at = end + '</xs:element>'.length;
  const routing = `${eol}                <xs:element ref="routing:Routing" minOccurs="0">` +
    `${eol}                    <xs:annotation><xs:documentation>Message exchange 1.3: routing data (Okno's reconstruction, see smev-message-exchange-routing-1.3.xsd).</xs:documentation></xs:annotation>` +
    `${eol}                </xs:element>`;
  return out.slice(0, at) + routing + out.slice(at);
}

/** name → content for one target version, from the 1.1 files. */
export function derive(target: Target, sourceDir = path.join(here, SOURCE_VERSION)): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of readdirSync(sourceDir).sort()) {
    if (!/\.(xsd|wsdl)$/.test(name)) continue;
    let text = readFileSync(path.join(sourceDir, name), 'utf8');
    text = replaceCounted(text, NAMESPACE, `$1${target}`, `message-exchange namespaces in ${name}`);
    text = replaceCounted(text, FILE_NAME, `$1${target}$2`, `file references in ${name}`, 0);
    if (name.endsWith('.wsdl')) text = replaceCounted(text, SOAP_ADDRESS, `$1${PLACEHOLDER_ADDRESS}$2`, `soap:address in ${name}`);
    if (target === '1.3' && name.startsWith('smev-message-exchange-types-')) text = addRouting(text);
    const newName = name.replace(FILE_NAME, `$1${target}$2`);
    if (newName === name) throw new Error(`derive: ${name} does not carry the version in its name`);
    out.set(newName, text);
  }
  if (target === '1.3') {
    const types = [...out.keys()].find((n) => n.startsWith('smev-message-exchange-types-'));
    out.set(ROUTING_FILE, routingXsd(types && out.get(types)!.includes('\r\n') ? '\r\n' : '\n'));
  }
  return out;
}

function main(): void {
  const check = process.argv.includes('--check');
  let differs = false;
  for (const target of TARGETS) {
    const dir = path.join(here, target);
    const files = derive(target);
    if (check) {
      const existing = (() => {
        try {
          return readdirSync(dir).sort();
        } catch {
          return [];
        }
      })();
      if (existing.join('\n') !== [...files.keys()].sort().join('\n')) differs = true;
      for (const [name, text] of files) {
        let current: string | null = null;
        try {
          current = readFileSync(path.join(dir, name), 'utf8');
        } catch {
          /* missing */
        }
        if (current !== text) {
          differs = true;
          console.error(`wsdl/${target}/${name} is not what derive.ts makes`);
        }
      }
      continue;
    }
    mkdirSync(dir, { recursive: true });
    for (const [name, text] of files) writeFileSync(path.join(dir, name), text);
    console.log(`wsdl/${target}: ${[...files.keys()].join(', ')}`);
  }
  if (check) {
    if (differs) process.exit(1);
    console.log('wsdl/1.2 and wsdl/1.3 are up to date');
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) main();
