/**
 * A BER reader for CMS: like asn1.ts's DER reader (every element keeps its exact bytes), but it
 * also takes the indefinite lengths and constructed strings that BER allows and that
 * CryptoPro and OpenSSL's streaming mode write for the outer layers of a SignedData. The
 * signed attributes themselves must be DER (RFC 5652 §5.4): their bytes are used as read.
 */
import { DerError, type Der } from '../asn1.js';

const MAX_DEPTH = 64;

interface Read {
  el: Der;
  /** Offset just past the element (past its end-of-contents octets for indefinite lengths). */
  end: number;
}

function readAt(buf: Uint8Array, offset: number, depth: number): Read {
  if (depth > MAX_DEPTH) throw new DerError('BER nested too deep');
  const at = (i: number): number => {
    const b = buf[i];
    if (b === undefined) throw new DerError('truncated BER');
    return b;
  };
  const tag = at(offset);
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte tags are not supported');
  const first = at(offset + 1);
  if (first === 0x80) {
    if ((tag & 0x20) === 0) throw new DerError('indefinite length on a primitive element');
    const start = offset + 2;
    let off = start;
    for (;;) {
      if (at(off) === 0 && at(off + 1) === 0) break;
      off = readAt(buf, off, depth + 1).end;
    }
    return { el: { tag, raw: buf.subarray(offset, off + 2), contents: buf.subarray(start, off) }, end: off + 2 };
  }
  let len = first;
  let header = 2;
  if (first & 0x80) {
    const n = first & 0x7f;
    if (n > 4) throw new DerError('oversized length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + at(offset + 2 + i);
    header += n;
  }
  const end = offset + header + len;
  if (end > buf.length) throw new DerError('truncated BER');
  return { el: { tag, raw: buf.subarray(offset, end), contents: buf.subarray(offset + header, end) }, end };
}

export function readBer(buf: Uint8Array, offset = 0): Der {
  return readAt(buf, offset, 0).el;
}

/** The whole input must be one element. */
export function readBerWhole(buf: Uint8Array): Der {
  const { el, end } = readAt(buf, 0, 0);
  if (end !== buf.length) throw new DerError(`${buf.length - end} trailing bytes after the structure`);
  return el;
}

/** Children of a constructed element, definite or indefinite. */
export function berChildren(el: Der): Der[] {
  const out: Der[] = [];
  for (let off = 0; off < el.contents.length; ) {
    const r = readAt(el.contents, off, 1);
    out.push(r.el);
    off = r.end;
  }
  return out;
}

/** The octets of an OCTET STRING, primitive or constructed (BER splits long ones in chunks). */
export function octetStringBytes(el: Der, implicitTag = 0x04): Buffer {
  if (el.tag === implicitTag) return Buffer.from(el.contents);
  if (el.tag === (implicitTag | 0x20)) return Buffer.concat(berChildren(el).map((c) => octetStringBytes(c, 0x04)));
  throw new DerError(`expected an OCTET STRING, got tag 0x${el.tag.toString(16)}`);
}
