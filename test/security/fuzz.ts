/**
 * A seeded fuzzer for POST /ws/smev3: mutations of valid signed SendRequests,
 * applied after signing (the signature no longer matches, or the envelope no
 * longer parses) and before signing (the signature is valid, the content is
 * bad). Every reply must be either a valid signed success — possible only
 * when the mutation kept the meaning, and then the message must be stored
 * exactly once — or a well-formed SOAP fault with a known SMEV fault name
 * (never SMEVFailure, which is reserved for the store being down, never a
 * non-XML 5xx).
 *
 * Case i uses the PRNG seeded with (seed, i), so one case reproduces alone:
 * `FUZZ_SEED=<seed> FUZZ_ONLY=<i> npx vitest run test/security/fuzz.test.ts`.
 * Exported for longer runs (see README, "Security and reliability").
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ServiceCatalogue } from '../../src/catalogue/types.js';
import { DSIG_NS } from '../../src/signature/dsig.js';
import { TrustAnchorSet } from '../../src/pki/trust.js';
import { verifySignature } from '../../src/signature/verify.js';
import { uuidV1 } from '../../src/soap/message-id.js';
import { parseXml } from '../../src/xml/parser.js';
import type { XmlElement } from '../../src/xml/types.js';
import { projectRoot } from '../helpers/gateway.js';
import { postSoap } from '../helpers/smev.js';
import { APPLICATION_SERVICES, businessXml, sign, unsignedRequest, uuidV1At } from './envelopes.js';
import { faultProblem, faultShape } from './expectations.js';

/** mulberry32 over a 32-bit state mixed from seed and case index. */
export function rng(seed: number, index: number): () => number {
  let a = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35)) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const int = (r: Rand, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rand, items: readonly T[]): T => items[int(r, items.length)]!;

function elements(root: XmlElement): XmlElement[] {
  const out: XmlElement[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const el = stack.pop()!;
    out.push(el);
    for (const c of el.children) if (c.type === 'element') stack.push(c);
  }
  return out;
}

/** Elements of `xml` (string offsets), optionally only those inside the element named `within`. */
function elementsOf(xml: string, within?: string): XmlElement[] {
  const all = elements(parseXml(xml).root);
  if (!within) return all;
  const container = all.find((e) => e.localName === within);
  return container ? all.filter((e) => e.start > container.start && e.end <= container.end) : [];
}

const HOUR = 3_600_000;
const ENCODINGS = ['UTF-8', 'utf-8', 'UTF-16', 'ISO-8859-1', 'windows-1251', 'KOI8-R', 'US-ASCII', 'EBCDIC', ''];
const NAMESPACES = ['', 'urn:evil', 'http://www.w3.org/2000/09/xmldsig#', 'urn://x-artefacts-smev-gov-ru/services/message-exchange/types/1.2', 'http://schemas.xmlsoap.org/soap/envelope/', 'http://www.w3.org/2003/05/soap-envelope'];
const TEXTS = ['', ' ', '0', '-1', '1e309', 'NaN', 'true', 'null', '<', '&amp;', '&lt;x&gt;', ']]>', '\u0000'.slice(1), 'я'.repeat(300), '9'.repeat(40), '2026-13-45', '1900-01-01', '38:36:000021:4412', 'ИВАНОВ', '\u202e\u200b', '%s%n', "'; DROP TABLE x; --"];

export interface Mutation {
  name: string;
  /** Applied before signing (the signature stays valid) or after. */
  when: 'before' | 'after';
  /** Works on the UTF-8 bytes (as a latin1 string), not on characters. */
  bytes?: boolean;
  apply(xml: string, r: Rand, catalogue: ServiceCatalogue): string;
}

const cut = (xml: string, el: XmlElement) => xml.slice(el.start, el.end);
const replaceRange = (xml: string, from: number, to: number, text: string) => xml.slice(0, from) + text + xml.slice(to);

function structural(when: 'before' | 'after', within?: string): Mutation[] {
  const scope = within ?? 'whole envelope';
  const some = (xml: string, r: Rand) => {
    const els = elementsOf(xml, within);
    return els.length > 0 ? pick(r, els) : null;
  };
  return [
    {
      name: `duplicate an element (${scope})`,
      when,
      apply: (xml, r) => {
        const el = some(xml, r);
        return el ? replaceRange(xml, el.end, el.end, cut(xml, el)) : xml;
      },
    },
    {
      name: `remove an element (${scope})`,
      when,
      apply: (xml, r) => {
        const el = some(xml, r);
        return el ? replaceRange(xml, el.start, el.end, '') : xml;
      },
    },
    {
      name: `swap an element with its next sibling (${scope})`,
      when,
      apply: (xml, r) => {
        const el = some(xml, r);
        if (!el) return xml;
        const parent = elements(parseXml(xml).root).find((p) => p.children.some((c) => c.type === 'element' && c.start === el.start));
        const siblings = parent?.children.filter((c): c is XmlElement => c.type === 'element') ?? [];
        const i = siblings.findIndex((s) => s.start === el.start);
        const next = siblings[i + 1];
        if (!next) return xml;
        return xml.slice(0, el.start) + cut(xml, next) + xml.slice(el.end, next.start) + cut(xml, el) + xml.slice(next.end);
      },
    },
    {
      name: `replace an element's text (${scope})`,
      when,
      apply: (xml, r) => {
        const leaves = elementsOf(xml, within).filter((e) => e.children.length > 0 && e.children.every((c) => c.type === 'text'));
        if (leaves.length === 0) return xml;
        const el = pick(r, leaves);
        const open = xml.indexOf('>', el.start) + 1;
        const close = xml.lastIndexOf('</', el.end);
        return replaceRange(xml, open, close, pick(r, TEXTS).replace(/&(?!amp;|lt;|gt;)/g, '&amp;').replace(/</g, '&lt;'));
      },
    },
    {
      name: `insert an unknown element (${scope})`,
      when,
      apply: (xml, r) => {
        const el = some(xml, r);
        if (!el) return xml;
        const open = xml.indexOf('>', el.start) + 1;
        return xml[open - 2] === '/' ? xml : replaceRange(xml, open, open, `<x:Injected xmlns:x="${pick(r, NAMESPACES.slice(1))}">${pick(r, TEXTS).replace(/[<&]/g, '')}</x:Injected>`);
      },
    },
    {
      name: `change a namespace declaration (${scope})`,
      when,
      apply: (xml, r) => {
        const decls = [...xml.matchAll(/xmlns(:\w+)?="([^"]*)"/g)].filter((m) => !within || (m.index! > xml.indexOf(within) && m.index! < xml.lastIndexOf(within)));
        if (decls.length === 0) return xml;
        const m = pick(r, decls);
        return replaceRange(xml, m.index!, m.index! + m[0].length, `xmlns${m[1] ?? ''}="${pick(r, NAMESPACES)}"`);
      },
    },
    {
      name: `mutate an attribute (${scope})`,
      when,
      apply: (xml, r) => {
        const attrs = [...xml.matchAll(/ (\w+(?::\w+)?)="([^"]*)"/g)].filter((m) => !m[1]!.startsWith('xmlns') && (!within || (m.index! > xml.indexOf(within) && m.index! < xml.lastIndexOf(within))));
        if (attrs.length === 0) return xml;
        const m = pick(r, attrs);
        const choice = int(r, 4);
        const replacement = choice === 0 ? '' : choice === 1 ? ` ${m[1]}="${pick(r, TEXTS).replace(/["<&]/g, '')}"` : choice === 2 ? `${m[0]} ${m[1]}x="1"` : ` ${m[1]}="${m[2]}" ${m[1]}="dup"`;
        return replaceRange(xml, m.index!, m.index! + m[0].length, replacement);
      },
    },
    {
      name: `huge text (${scope})`,
      when,
      apply: (xml, r) => {
        const el = some(xml, r);
        if (!el) return xml;
        const open = xml.indexOf('>', el.start) + 1;
        return xml[open - 2] === '/' ? xml : replaceRange(xml, open, open, pick(r, ['x', 'я', ' ', '9']).repeat(20_000 + int(r, 200_000)));
      },
    },
  ];
}

const MUTATIONS: readonly Mutation[] = [
  // after signing: the envelope as bytes on the wire
  ...structural('after'),
  {
    name: 'flip bits',
    when: 'after',
    bytes: true,
    apply: (xml, r) => {
      const bytes = Buffer.from(xml, 'latin1');
      for (let n = 1 + int(r, 4); n > 0; n--) bytes[int(r, bytes.length)]! ^= 1 << int(r, 8);
      return bytes.toString('latin1');
    },
  },
  { name: 'truncate', when: 'after', apply: (xml, r) => xml.slice(0, int(r, xml.length)) },
  { name: 'insert random bytes', when: 'after', bytes: true, apply: (xml, r) => { const at = int(r, xml.length); return xml.slice(0, at) + String.fromCharCode(...Array.from({ length: 1 + int(r, 8) }, () => int(r, 256))) + xml.slice(at); } },
  { name: 'DTD with entities', when: 'after', apply: (xml, r) => `<!DOCTYPE soap:Envelope [<!ENTITY e ${pick(r, ['"x"', 'SYSTEM "file:///etc/passwd"', 'SYSTEM "http://127.0.0.1:1/x"'])}>]>${xml.replace('Иркутск', '&e;')}` },
  { name: 'entity reference injected', when: 'after', apply: (xml, r) => { const at = xml.indexOf('>', int(r, xml.length)) + 1; return at > 0 ? replaceRange(xml, at, at, pick(r, ['&e;', '&#0;', '&#xD800;', '&amp', '&#1114112;'])) : xml; } },
  { name: 'encoding declaration', when: 'after', apply: (xml, r) => `<?xml version="${pick(r, ['1.0', '1.1', '2.0'])}" encoding="${pick(r, ENCODINGS)}"?>${xml}` },
  { name: 'transcode to UTF-16', when: 'after', apply: (xml) => `\ufeff${xml}` },
  { name: 'whitespace between elements', when: 'after', apply: (xml, r) => { const gaps = [...xml.matchAll(/></g)]; if (gaps.length === 0) return xml; const m = pick(r, gaps); return replaceRange(xml, m.index! + 1, m.index! + 1, pick(r, [' ', '\n', '\t', '\r\n'])); } },
  { name: 'comment inserted', when: 'after', apply: (xml, r) => { const gaps = [...xml.matchAll(/></g)]; if (gaps.length === 0) return xml; const m = pick(r, gaps); return replaceRange(xml, m.index! + 1, m.index! + 1, '<!-- c -->'); } },
  { name: 'deep nesting', when: 'after', apply: (xml, r) => { const n = 100 + int(r, 3000); return xml.replace('</b:MessagePrimaryContent>', `${'<d>'.repeat(n)}${'</d>'.repeat(n)}</b:MessagePrimaryContent>`); } },
  // before signing: a valid signature over bad content
  ...structural('before', 'SenderProvidedRequestData'),
  ...structural('before', 'MessagePrimaryContent'),
  {
    name: 'MessageID replaced',
    when: 'before',
    apply: (xml, r) => {
      const options = [uuidV1(), uuidV1At(new Date(Date.now() - (1 + int(r, 2000)) * HOUR)), uuidV1At(new Date(Date.now() + (1 + int(r, 100)) * HOUR)), uuidV1().toUpperCase(), '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', '', ' ', 'x'.repeat(5000)];
      return xml.replace(/(<t:MessageID>)[^<]*/, `$1${pick(r, options)}`);
    },
  },
  { name: 'business element of another service', when: 'before', apply: (xml, r, c) => xml.replace(/(<b:MessagePrimaryContent>)[\s\S]*(<\/b:MessagePrimaryContent>)/, `$1${businessXml(c, pick(r, ['egrn-extract', 'advertising-permit-register-extract', ...APPLICATION_SERVICES]))}$2`) },
  { name: 'TestMessage flag', when: 'before', apply: (xml) => xml.replace('</t:SenderProvidedRequestData>', '<t:TestMessage/></t:SenderProvidedRequestData>') },
];

export interface FuzzCase {
  index: number;
  service: string;
  mutations: string[];
  body: string | Buffer;
}

/** Builds case `index` of `seed`: a valid SendRequest with 1–3 mutations (those before signing, signing, those after). */
export async function buildCase(seed: number, index: number, catalogue: ServiceCatalogue): Promise<FuzzCase> {
  const r = rng(seed, index);
  const service = pick(r, APPLICATION_SERVICES);
  const chosen = Array.from({ length: 1 + int(r, 3) }, () => pick(r, MUTATIONS));
  let xml = unsignedRequest(catalogue, { service, version: pick(r, ['1.1', '1.2', '1.3'] as const) }).xml;
  const applied: string[] = [];
  for (const m of chosen.filter((m) => m.when === 'before')) {
    try {
      xml = m.apply(xml, r, catalogue);
      applied.push(`before signing: ${m.name}`);
    } catch {
      applied.push(`before signing: ${m.name} (skipped: an earlier mutation broke the XML)`);
    }
  }
  try {
    xml = await sign(xml);
  } catch {
    applied.push('(unsignable: sent unsigned)');
  }
  let byteMode = false;
  for (const m of chosen.filter((m) => m.when === 'after')) {
    if (m.bytes && !byteMode) {
      xml = Buffer.from(xml, 'utf8').toString('latin1');
      byteMode = true;
    }
    try {
      xml = m.apply(xml, r, catalogue);
    } catch {
      // a structural mutation of a document that no longer parses: drop its last character instead
      xml = xml.slice(0, -1);
    }
    applied.push(`after signing: ${m.name}`);
  }
  // byte mutations: latin1 carries the bytes through unchanged
  const body = byteMode ? Buffer.from(xml, 'latin1') : applied.some((a) => /UTF-16/.test(a)) ? Buffer.from(xml, 'utf16le') : xml;
  return { index, service, mutations: applied, body };
}

const caPem = readFileSync(path.join(projectRoot, 'certs-sample/ca.crt.pem'), 'utf8');
const gatewayTrust = new TrustAnchorSet([caPem]);

/** Why a 200 reply is not a valid signed success, or null; and the MessageId it accepted. */
export function successProblem(body: string): { problem: string | null; messageId: string | null } {
  try {
    const doc = parseXml(body);
    const all = elements(doc.root);
    const sig = all.find((e) => e.namespaceURI === DSIG_NS && e.localName === 'Signature');
    if (!sig) return { problem: 'success without a signature', messageId: null };
    const v = verifySignature(doc, sig, null, { trust: gatewayTrust });
    if (!v.valid) return { problem: `success with an invalid signature: ${v.message}`, messageId: null };
    const id = all.find((e) => e.localName === 'MessageId');
    const status = all.find((e) => e.localName === 'Status');
    const text = (e: XmlElement | undefined) => (e ? e.children.map((c) => (c.type === 'text' ? c.value : '')).join('') : '');
    if (text(status) !== 'requestIsQueued') return { problem: `success with status ${text(status)}`, messageId: null };
    return { problem: null, messageId: text(id) };
  } catch (error) {
    return { problem: `success reply is not XML: ${(error as Error).message}`, messageId: null };
  }
}

export interface FuzzFailure {
  index: number;
  mutations: string[];
  status: number;
  problem: string;
  reply: string;
}

export interface FuzzReport {
  seed: number;
  cases: number;
  /** Replies by outcome: "accepted", or the fault name (with its signature reason). */
  outcomes: Record<string, number>;
  /** MessageIDs the gateway answered with a signed success. */
  accepted: string[];
  /** The mutations of each accepted case (they must have kept the meaning: worth a look). */
  acceptedMutations: Record<string, number>;
  acceptedCases: number[];
  failures: FuzzFailure[];
  /** How to run exactly this case again. */
  reproduce: (index: number) => string;
}

export interface FuzzOptions {
  url: string;
  catalogue: ServiceCatalogue;
  seed: number;
  cases: number;
  /** Run only this case index. */
  only?: number;
  concurrency?: number;
  /** Called every `progressEvery` cases. */
  onProgress?: (done: number) => void;
  progressEvery?: number;
}

export async function runFuzz(o: FuzzOptions): Promise<FuzzReport> {
  const report: FuzzReport = {
    seed: o.seed,
    cases: o.only !== undefined ? 1 : o.cases,
    outcomes: {},
    accepted: [],
    acceptedMutations: {},
    acceptedCases: [],
    failures: [],
    reproduce: (index) => `FUZZ_SEED=${o.seed} FUZZ_ONLY=${index} npx vitest run test/security/fuzz.test.ts`,
  };
  const indices = o.only !== undefined ? [o.only] : Array.from({ length: o.cases }, (_, i) => i);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < indices.length) {
      const index = indices[next++]!;
      const c = await buildCase(o.seed, index, o.catalogue);
      let res: { status: number; body: string };
      try {
        res = await postSoap(o.url, c.body);
      } catch (error) {
        report.failures.push({ index, mutations: c.mutations, status: 0, problem: `no HTTP answer: ${(error as Error).message}`, reply: '' });
        continue;
      }
      if (res.status === 200) {
        const s = successProblem(res.body);
        if (s.problem) report.failures.push({ index, mutations: c.mutations, status: 200, problem: s.problem, reply: res.body.slice(0, 2000) });
        else {
          report.accepted.push(s.messageId!);
          const key = c.mutations.join('; ');
          report.acceptedMutations[key] = (report.acceptedMutations[key] ?? 0) + 1;
          report.acceptedCases.push(index);
          report.outcomes.accepted = (report.outcomes.accepted ?? 0) + 1;
        }
      } else {
        const problem = faultProblem(res);
        if (problem) report.failures.push({ index, mutations: c.mutations, status: res.status, problem, reply: res.body.slice(0, 2000) });
        else {
          const f = faultShape(res.body)!;
          const key = f.reason ? `${f.fault} ${f.reason}` : f.fault;
          report.outcomes[key] = (report.outcomes[key] ?? 0) + 1;
        }
      }
      done++;
      if (o.onProgress && done % (o.progressEvery ?? 500) === 0) o.onProgress(done);
    }
  };
  await Promise.all(Array.from({ length: o.concurrency ?? 4 }, worker));
  return report;
}
