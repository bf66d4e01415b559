/**
 * A tiny DER reader that keeps every element's exact byte range, which signature checks need
 * (the TBS bytes must be the ones signed, not a re-encoding). DER only: definite lengths.
 */
export interface Der {
  readonly tag: number;
  /** The whole element: tag, length and contents. */
  readonly raw: Uint8Array;
  readonly contents: Uint8Array;
}

export class DerError extends Error {
  override readonly name = 'DerError';
}

export function readDer(buf: Uint8Array, offset = 0): Der {
  const at = (i: number): number => {
    const b = buf[i];
    if (b === undefined) throw new DerError('truncated DER');
    return b;
  };
  const tag = at(offset);
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte tags are not supported');
  let len = at(offset + 1);
  let header = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new DerError('indefinite or oversized length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + at(offset + 2 + i);
    header += n;
  }
  const end = offset + header + len;
  if (end > buf.length) throw new DerError('truncated DER');
  return { tag, raw: buf.subarray(offset, end), contents: buf.subarray(offset + header, end) };
}

/** Children of a constructed element. */
export function children(el: Der): Der[] {
  const out: Der[] = [];
  for (let off = 0; off < el.contents.length; ) {
    const child = readDer(el.contents, off);
    out.push(child);
    off += child.raw.length;
  }
  return out;
}

export function expectTag(el: Der | undefined, tag: number, what: string): Der {
  if (!el || el.tag !== tag) throw new DerError(`${what}: expected tag 0x${tag.toString(16)}`);
  return el;
}

export function decodeOid(el: Der): string {
  const b = el.contents;
  const parts: number[] = [];
  let v = 0;
  for (const byte of b) {
    v = v * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      if (parts.length === 0) parts.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

export function decodeInteger(el: Der): bigint {
  const hex = Buffer.from(el.contents).toString('hex');
  if (!hex) return 0n;
  let n = BigInt('0x' + hex);
  if ((el.contents[0] ?? 0) & 0x80) n -= 1n << BigInt(el.contents.length * 8);
  return n;
}

/** BIT STRING contents without the unused-bits octet. */
export function bitStringBytes(el: Der): Uint8Array {
  return el.contents.subarray(1);
}

export function decodeTime(el: Der): Date {
  const s = Buffer.from(el.contents).toString('latin1');
  // GeneralizedTime may carry fractional seconds (some OCSP responders write them); milliseconds are kept.
  const m = /^(\d{2}|\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d+))?Z$/.exec(s);
  if (!m || (m[7] !== undefined && el.tag !== 0x18)) throw new DerError(`unsupported time ${s}`);
  let year = Number(m[1]);
  if (el.tag === 0x17) year += year < 50 ? 2000 : 1900; // UTCTime, RFC 5280 §4.1.2.5.1
  const ms = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
  return new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), ms));
}

export function decodeString(el: Der): string {
  switch (el.tag) {
    case 0x1e: // BMPString: UTF-16BE
      return Buffer.from(el.contents).swap16().toString('utf16le');
    case 0x14: // TeletexString: treat as Latin-1, like most toolkits
      return Buffer.from(el.contents).toString('latin1');
    default: // UTF8String, PrintableString, IA5String, NumericString, VisibleString
      return Buffer.from(el.contents).toString('utf8');
  }
}
