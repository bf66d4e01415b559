/**
 * MTOM/XOP for SMEV 3 (W3C XOP over MIME multipart/related): reading a
 * `multipart/related; type="application/xop+xml"` body into its root XML
 * part and its binary parts, resolving every `xop:Include href="cid:…"` in
 * the root to the base64 of the part it names (the XOP infoset — what the
 * signatures are computed over), and building such a body.
 *
 * Boundaries are found on Buffers (binary parts are not text); the number of
 * parts and the size of each header block are bounded. A plain `text/xml`
 * body passes through as its one root part. Library code: it never prints.
 */
import { randomUUID } from 'node:crypto';
import { parseXml, XmlError } from '../xml/parser.js';
import type { XmlElement } from '../xml/types.js';

export const XOP_NS = 'http://www.w3.org/2004/08/xop/include';
export const XOP_MIME = 'application/xop+xml';

export class MtomError extends Error {
  override readonly name = 'MtomError';
}

export interface MimePart {
  /** Content-ID without the angle brackets ('' when the part has none). */
  contentId: string;
  contentType: string;
  bytes: Buffer;
}

export interface MtomLimits {
  /** Parts in one body, the root included (default 101: the root and 100 attachments). */
  maxParts: number;
  /** Bytes of one part's header block (default 8 KiB). */
  maxHeaderBytes: number;
}

export const DEFAULT_MTOM_LIMITS: Readonly<MtomLimits> = Object.freeze({ maxParts: 101, maxHeaderBytes: 8192 });

export interface DecodedSoapBody {
  /** The root part as text (UTF-8), xop:Include elements still in place. */
  rootXml: string;
  /** The other parts by Content-ID (empty for a plain text/xml body). */
  parts: Map<string, MimePart>;
  mtom: boolean;
}

/** `type/subtype` in lower case and the parameters (names in lower case, quoted values unquoted). */
export function parseContentType(header: string): { mediaType: string; params: Map<string, string> } {
  const [head = '', ...rest] = splitParams(header);
  const params = new Map<string, string>();
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    let value = p.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1).replace(/\\(.)/g, '$1');
    params.set(p.slice(0, eq).trim().toLowerCase(), value);
  }
  return { mediaType: head.trim().toLowerCase(), params };
}

/** Splits on `;` outside double quotes. */
function splitParams(header: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < header.length; i++) {
    const ch = header[i]!;
    if (ch === '\\' && quoted && i + 1 < header.length) {
      cur += ch + header[++i]!;
      continue;
    }
    if (ch === '"') quoted = !quoted;
    if (ch === ';' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

function stripAngles(id: string): string {
  const t = id.trim();
  return t.startsWith('<') && t.endsWith('>') ? t.slice(1, -1) : t;
}

/**
 * Splits a SOAP body into its root XML and attachment parts, by its
 * Content-Type: multipart/related (MTOM) or a single XML document.
 * Throws MtomError on a malformed multipart body.
 */
export function decodeSoapBody(body: Buffer, contentTypeHeader: string | undefined, limits: Partial<MtomLimits> = {}): DecodedSoapBody {
  const { mediaType, params } = parseContentType(contentTypeHeader ?? 'text/xml');
  if (mediaType !== 'multipart/related') return { rootXml: body.toString('utf8'), parts: new Map(), mtom: false };
  const boundary = params.get('boundary');
  if (!boundary) throw new MtomError('multipart/related without a boundary parameter');
  const all = splitMultipart(body, boundary, { ...DEFAULT_MTOM_LIMITS, ...limits });
  if (all.length === 0) throw new MtomError('multipart/related body has no parts');
  const start = params.get('start');
  const rootIndex = start === undefined ? 0 : all.findIndex((p) => p.contentId === stripAngles(start));
  if (rootIndex < 0) throw new MtomError(`the start part <${stripAngles(start!)}> is not in the body`);
  const root = all[rootIndex]!;
  const rootType = parseContentType(root.contentType).mediaType;
  if (rootType !== XOP_MIME && rootType !== 'text/xml' && rootType !== 'application/soap+xml') {
    throw new MtomError(`the root part is ${root.contentType || 'untyped'}, not ${XOP_MIME}`);
  }
  const parts = new Map<string, MimePart>();
  all.forEach((p, i) => {
    if (i === rootIndex) return;
    if (!p.contentId) throw new MtomError(`part ${i + 1} has no Content-ID`);
    if (parts.has(p.contentId)) throw new MtomError(`Content-ID <${p.contentId}> occurs twice`);
    parts.set(p.contentId, p);
  });
  return { rootXml: root.bytes.toString('utf8'), parts, mtom: true };
}

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

function splitMultipart(body: Buffer, boundary: string, limits: MtomLimits): MimePart[] {
  const delimiter = Buffer.from(`--${boundary}`);
  let pos = body.indexOf(delimiter);
  if (pos < 0) throw new MtomError('the boundary does not occur in the body');
  const parts: MimePart[] = [];
  for (;;) {
    pos += delimiter.length;
    if (body.subarray(pos, pos + 2).toString('latin1') === '--') return parts; // close delimiter
    // transport padding, then CRLF
    while (body[pos] === 0x20 || body[pos] === 0x09) pos++;
    if (!body.subarray(pos, pos + 2).equals(CRLF)) throw new MtomError('a boundary line is not followed by CRLF');
    pos += 2;
    const next = body.indexOf(Buffer.concat([CRLF, delimiter]), pos);
    if (next < 0) throw new MtomError('the body ends without a closing boundary');
    if (parts.length >= limits.maxParts) throw new MtomError(`more than ${limits.maxParts} MIME parts`);
    parts.push(readPart(body.subarray(pos, next), limits));
    pos = next + 2;
  }
}

function readPart(raw: Buffer, limits: MtomLimits): MimePart {
  let headerEnd = raw.indexOf(HEADER_END);
  let headerText: string;
  let bytes: Buffer;
  if (raw.subarray(0, 2).equals(CRLF)) {
    headerText = '';
    bytes = raw.subarray(2);
    headerEnd = 0;
  } else {
    if (headerEnd < 0) throw new MtomError('a MIME part has no blank line after its headers');
    headerText = raw.subarray(0, headerEnd).toString('latin1');
    bytes = raw.subarray(headerEnd + 4);
  }
  if (headerEnd > limits.maxHeaderBytes) throw new MtomError(`a MIME part's headers exceed ${limits.maxHeaderBytes} bytes`);
  const headers = new Map<string, string>();
  for (const line of headerText.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const encoding = (headers.get('content-transfer-encoding') ?? 'binary').toLowerCase();
  if (encoding === 'base64') bytes = Buffer.from(bytes.toString('latin1').replace(/\s+/g, ''), 'base64');
  else if (encoding !== 'binary' && encoding !== '8bit' && encoding !== '7bit') throw new MtomError(`Content-Transfer-Encoding ${encoding} is not supported`);
  return { contentId: stripAngles(headers.get('content-id') ?? ''), contentType: headers.get('content-type') ?? '', bytes };
}

/** The Content-ID an href="cid:…" names (RFC 2392: percent-encoded). */
export function cidOf(href: string): string {
  if (!href.startsWith('cid:')) throw new MtomError(`xop:Include href "${href}" is not a cid: URL`);
  try {
    return decodeURIComponent(href.slice(4));
  } catch {
    throw new MtomError(`xop:Include href "${href}" is not a valid cid: URL`);
  }
}

/**
 * The root XML with each xop:Include replaced by the base64 of the part it
 * names. Throws MtomError when an Include names no part of the body, has
 * content, or is not the only child of its parent (XOP §3.1).
 */
export function resolveXop(rootXml: string, parts: ReadonlyMap<string, MimePart>, used?: Set<string>): string {
  if (!rootXml.includes(XOP_NS)) return rootXml;
  const text = rootXml.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  let doc;
  try {
    doc = parseXml(text, { maxDepth: 128, maxAttributes: 64 });
  } catch (error) {
    if (error instanceof XmlError) throw new MtomError(`the root part is not acceptable XML: ${error.message}`);
    throw error;
  }
  const includes: XmlElement[] = [];
  const stack: XmlElement[] = [doc.root];
  while (stack.length > 0) {
    const el = stack.pop()!;
    if (el.namespaceURI === XOP_NS && el.localName === 'Include') includes.push(el);
    else for (const c of el.children) if (c.type === 'element') stack.push(c);
  }
  // Checked in document order: the first problem is the one reported.
  includes.sort((a, b) => a.start - b.start);
  const replacements = includes.map((inc) => {
    if (inc.children.some((c) => c.type === 'element' || (c.type === 'text' && c.value.trim()))) throw new MtomError('xop:Include must be empty');
    if (inc.parent && inc.parent.children.some((c) => c !== inc && (c.type === 'element' || (c.type === 'text' && c.value.trim())))) {
      throw new MtomError(`xop:Include must be the only content of <${inc.parent.qName}>`);
    }
    const href = inc.attributes.find((a) => a.localName === 'href' && a.namespaceURI === '')?.value;
    if (!href) throw new MtomError('xop:Include without href');
    const cid = cidOf(href);
    const part = parts.get(cid);
    if (!part) throw new MtomError(`xop:Include names cid:${cid}, which is not a part of the message`);
    used?.add(cid);
    return { start: inc.start, end: inc.end, base64: part.bytes.toString('base64') };
  });
  const out: string[] = [];
  let at = 0;
  for (const r of replacements) {
    out.push(text.slice(at, r.start), r.base64);
    at = r.end;
  }
  out.push(text.slice(at));
  return out.join('');
}

/** An xop:Include element for a part (to put where base64 content would be). */
export function xopInclude(contentId: string): string {
  return `<xop:Include xmlns:xop="${XOP_NS}" href="cid:${encodeURIComponent(contentId).replace(/%40/g, '@')}"/>`;
}

export interface MtomBody {
  body: Buffer;
  /** The HTTP Content-Type header to send it with. */
  contentType: string;
}

/** A multipart/related MTOM body: the root XML (with its xop:Include elements) and the parts they name. */
export function buildMtom(rootXml: string, parts: readonly MimePart[], soapAction?: string): MtomBody {
  const frame = mtomFrame(parts, soapAction);
  const chunks: Buffer[] = [frame.head, Buffer.from(rootXml, 'utf8')];
  parts.forEach((p, i) => chunks.push(frame.partHeads[i]!, p.bytes));
  chunks.push(frame.tail);
  return { body: Buffer.concat(chunks), contentType: frame.contentType };
}

/** A part whose bytes are read when the body is sent (a file in the blob store), of a known size. */
export interface StreamedPart {
  contentId: string;
  contentType: string;
  size: number;
  open(): AsyncIterable<Uint8Array>;
}

/** An MTOM body that is written as it is sent: its length is known ahead, the parts' bytes are read then. */
export interface StreamedMtomBody {
  contentType: string;
  length: number;
  /** The body's bytes, in order; a part that does not have its announced size throws MtomError. Can be called again (a retry). */
  chunks(): AsyncGenerator<Uint8Array>;
}

/**
 * The same multipart/related body as buildMtom, but the parts are streamed from where they
 * are kept: a 5 MB file is copied in 64 KiB chunks, never whole. The length is exact (for
 * Content-Length).
 */
export function streamMtom(rootXml: string, parts: readonly StreamedPart[], soapAction?: string): StreamedMtomBody {
  const frame = mtomFrame(parts, soapAction);
  const root = Buffer.from(rootXml, 'utf8');
  const length = frame.head.length + root.length + parts.reduce((n, p, i) => n + frame.partHeads[i]!.length + p.size, 0) + frame.tail.length;
  return {
    contentType: frame.contentType,
    length,
    async *chunks() {
      yield frame.head;
      yield root;
      for (const [i, p] of parts.entries()) {
        yield frame.partHeads[i]!;
        let sent = 0;
        for await (const chunk of p.open()) {
          sent += chunk.length;
          if (sent > p.size) throw new MtomError(`part <${p.contentId}> is larger than its announced ${p.size} bytes`);
          yield chunk;
        }
        if (sent !== p.size) throw new MtomError(`part <${p.contentId}> has ${sent} bytes, not its announced ${p.size}`);
      }
      yield frame.tail;
    },
  };
}

/** The boundary lines and headers around the root and each part, and the body's Content-Type. */
function mtomFrame(parts: ReadonlyArray<{ contentId: string; contentType: string }>, soapAction?: string): { head: Buffer; partHeads: Buffer[]; tail: Buffer; contentType: string } {
  const boundary = `uuid:${randomUUID()}`;
  const rootId = `root.message@okno`;
  const head = Buffer.from(`--${boundary}\r\nContent-Type: ${XOP_MIME}; charset=UTF-8; type="text/xml"\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <${rootId}>\r\n\r\n`, 'latin1');
  const partHeads = parts.map((p) => {
    if (/[\r\n<>]/.test(p.contentId) || /[\r\n]/.test(p.contentType)) throw new MtomError(`part <${p.contentId}>: Content-ID and Content-Type must be one line without angle brackets`);
    return Buffer.from(`\r\n--${boundary}\r\nContent-Type: ${p.contentType || 'application/octet-stream'}\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <${p.contentId}>\r\n\r\n`, 'latin1');
  });
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1');
  const action = soapAction ? `; start-info="text/xml"; action="${soapAction}"` : '; start-info="text/xml"';
  return { head, partHeads, tail, contentType: `multipart/related; type="${XOP_MIME}"; boundary="${boundary}"; start="<${rootId}>"${action}` };
}
