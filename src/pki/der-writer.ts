/**
 * A tiny DER writer, the counterpart of asn1.ts (the reader): enough to build OCSP requests,
 * certificates and PKCS#8 keys by hand (the GOST side of the sample PKI, which
 * node-forge and node:crypto cannot sign). Every function returns the whole
 * element (tag, length, contents) as a Buffer.
 */

/** The length octets of a DER element whose contents are `n` bytes long. */
export function encodeLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** Any element: `tag` is the identifier octet (low-tag-number form only). */
export function tlv(tag: number, ...contents: Uint8Array[]): Buffer {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), encodeLength(body.length), body]);
}

export const sequence = (...items: Uint8Array[]): Buffer => tlv(0x30, ...items);
export const set = (...items: Uint8Array[]): Buffer => tlv(0x31, ...items);

export function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map((p) => {
    if (!/^\d+$/.test(p)) throw new Error(`bad OID ${dotted}`);
    return Number(p);
  });
  const [a, b, ...rest] = parts;
  if (a === undefined || b === undefined) throw new Error(`bad OID ${dotted}`);
  const out: number[] = [];
  for (const n of [40 * a + b, ...rest]) {
    const enc = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) enc.unshift(0x80 | (v & 0x7f));
    out.push(...enc);
  }
  return tlv(0x06, Buffer.from(out));
}

/** A non-negative INTEGER from its big-endian magnitude (leading zeros trimmed, a sign octet added if needed). */
export function unsignedInteger(magnitude: Uint8Array): Buffer {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const bytes = Buffer.from(magnitude.subarray(i));
  if (bytes.length === 0) return tlv(0x02, Buffer.from([0]));
  return tlv(0x02, (bytes[0]! & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

export const smallInteger = (n: number): Buffer => {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new Error(`smallInteger: ${n}`);
  return unsignedInteger(Buffer.from([n >> 8, n & 0xff]));
};

export const boolean = (v: boolean): Buffer => tlv(0x01, Buffer.from([v ? 0xff : 0x00]));
export const octetString = (bytes: Uint8Array): Buffer => tlv(0x04, bytes);
export const utf8String = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'));
export const printableString = (s: string): Buffer => {
  if (!/^[A-Za-z0-9 '()+,\-./:=?]*$/.test(s)) throw new Error(`not a PrintableString: ${s}`);
  return tlv(0x13, Buffer.from(s, 'latin1'));
};

/** BIT STRING of whole octets (0 unused bits): keys, signatures. */
export const bitString = (bytes: Uint8Array): Buffer => tlv(0x03, Buffer.from([0]), bytes);

/**
 * A named-bit BIT STRING (keyUsage): bit i set for each i in `bits`, trailing
 * zero bits dropped as DER wants (X.690 §11.2.2).
 */
export function namedBits(bits: readonly number[]): Buffer {
  if (bits.length === 0) return tlv(0x03, Buffer.from([0]));
  const highest = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const b of bits) bytes[b >> 3]! |= 0x80 >> (b & 7);
  const unused = 7 - (highest & 7);
  return tlv(0x03, Buffer.from([unused]), bytes);
}

/** UTCTime up to 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5). Whole seconds, UTC. */
export function time(date: Date): Buffer {
  const iso = date.toISOString(); // 2026-01-02T03:04:05.678Z
  const digits = iso.slice(0, 19).replace(/[-:T]/g, ''); // 20260102030405
  const year = date.getUTCFullYear();
  if (year < 1950 || year > 9999) throw new Error(`date out of range: ${iso}`);
  return year < 2050 ? tlv(0x17, Buffer.from(`${digits.slice(2)}Z`, 'latin1')) : tlv(0x18, Buffer.from(`${digits}Z`, 'latin1'));
}

/** [n] EXPLICIT (constructed, context-specific). */
export const explicit = (n: number, ...items: Uint8Array[]): Buffer => tlv(0xa0 | n, ...items);

/** [n] IMPLICIT of a primitive type (context-specific, primitive): GeneralName's dNSName, iPAddress, keyIdentifier. */
export const implicitPrimitive = (n: number, contents: Uint8Array): Buffer => tlv(0x80 | n, contents);

/** PEM armour, 64 characters a line. */
export function pem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}

export const nullValue = (): Buffer => Buffer.from([0x05, 0x00]);
