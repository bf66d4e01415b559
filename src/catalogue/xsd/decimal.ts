// Exact decimal values for xs:decimal and its integer subtypes. Facets like totalDigits and
// minInclusive must be exact (money, areas), so values are kept as digit strings, never floats.

export interface Dec {
  /** Never true for zero, so -0 and 0 compare and key equal. */
  readonly neg: boolean;
  /** Integer digits without leading zeros ('' for a zero integer part). */
  readonly int: string;
  /** Fraction digits without trailing zeros. */
  readonly frac: string;
}

// Linear, non-backtracking on hostile input: each alternative consumes distinct characters.
const DECIMAL = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$/;
const INTEGER = /^[+-]?[0-9]+$/;

function make(sign: string, intPart: string, fracPart: string): Dec {
  let i = 0;
  while (i < intPart.length && intPart.charCodeAt(i) === 0x30) i++;
  let j = fracPart.length;
  while (j > 0 && fracPart.charCodeAt(j - 1) === 0x30) j--;
  const int = intPart.slice(i);
  const frac = fracPart.slice(0, j);
  return { neg: sign === '-' && (int !== '' || frac !== ''), int, frac };
}

export function parseDecimal(s: string): Dec | null {
  if (!DECIMAL.test(s)) return null;
  const sign = s[0] === '-' || s[0] === '+' ? s[0] : '';
  const body = sign ? s.slice(1) : s;
  const dot = body.indexOf('.');
  return dot === -1 ? make(sign, body, '') : make(sign, body.slice(0, dot), body.slice(dot + 1));
}

export function parseInteger(s: string): Dec | null {
  if (!INTEGER.test(s)) return null;
  const sign = s[0] === '-' || s[0] === '+' ? s[0] : '';
  return make(sign, sign ? s.slice(1) : s, '');
}

function compareAbs(a: Dec, b: Dec): number {
  if (a.int.length !== b.int.length) return a.int.length < b.int.length ? -1 : 1;
  if (a.int !== b.int) return a.int < b.int ? -1 : 1;
  // Same integer part: compare fractions digit by digit (missing digits are zeros).
  const n = Math.max(a.frac.length, b.frac.length);
  for (let k = 0; k < n; k++) {
    const x = a.frac.charCodeAt(k) || 0x30;
    const y = b.frac.charCodeAt(k) || 0x30;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

export function compareDec(a: Dec, b: Dec): number {
  if (a.neg !== b.neg) return a.neg ? -1 : 1;
  const c = compareAbs(a, b);
  return a.neg ? -c : c;
}

/** Canonical form: equal values give equal keys (enumeration, fixed). */
export function decKey(d: Dec): string {
  return `${d.neg ? '-' : ''}${d.int || '0'}${d.frac ? '.' + d.frac : ''}`;
}

/**
 * XSD 1.0 totalDigits: the value is i × 10^-n with |i| < 10^totalDigits and n ≤ totalDigits,
 * so leading zeros of the fraction count (0.005 needs 3) but the integer's leading zeros don't.
 */
export function totalDigits(d: Dec): number {
  return d.int.length + d.frac.length;
}

export function fractionDigits(d: Dec): number {
  return d.frac.length;
}
