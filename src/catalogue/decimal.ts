/**
 * Exact conversion between XSD decimal/integer lexical forms and JSON numbers.
 *
 * A JSON number is an IEEE double. A decimal from XML is accepted only when
 * the double holds it exactly in the sense that matters for a round trip: the
 * shortest decimal that names the double is the same decimal. "12.50" → 12.5
 * is fine; 0.1000000000000000055511 or 2^53 + 1 is not, and is refused rather
 * than silently changed.
 */

const DECIMAL = /^([+-]?)([0-9]*)(?:\.([0-9]*))?$/;
const INTEGER = /^[+-]?[0-9]+$/;

/** The canonical decimal string: no '+', no leading/trailing zeros, no "-0". */
function canonical(text: string): string | null {
  const m = DECIMAL.exec(text);
  if (m === null) return null;
  const sign = m[1] ?? '';
  const intRaw = m[2] ?? '';
  const fracRaw = m[3] ?? '';
  if (intRaw === '' && fracRaw === '') return null;
  const int = intRaw.replace(/^0+/, '') || '0';
  const frac = fracRaw.replace(/0+$/, '');
  const negative = sign === '-' && !(int === '0' && frac === '');
  return `${negative ? '-' : ''}${int}${frac === '' ? '' : `.${frac}`}`;
}

/** A finite number as a plain decimal (never exponent notation, which xs:decimal forbids). */
export function formatDecimal(n: number): string {
  if (!Number.isFinite(n)) throw new RangeError('not a finite number');
  if (Object.is(n, -0)) return '0';
  const s = String(n);
  const m = /^(-?)([0-9]+)(?:\.([0-9]+))?e([+-][0-9]+)$/.exec(s);
  if (m === null) return s;
  const sign = m[1] ?? '';
  const int = m[2] ?? '';
  const digits = int + (m[3] ?? '');
  const point = int.length + Number(m[4]);
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** xs:decimal text (already whitespace-trimmed) → number, or null when malformed or not exact. */
export function parseDecimal(text: string): number | null {
  const c = canonical(text);
  if (c === null) return null;
  const n = Number(c);
  if (!Number.isFinite(n)) return null;
  return canonical(formatDecimal(n)) === c ? n : null;
}

/** xs:integer text (already trimmed) → safe integer, or null when malformed or beyond 2^53. */
export function parseInteger(text: string): number | null {
  if (!INTEGER.test(text)) return null;
  const n = parseDecimal(text);
  return n !== null && Number.isSafeInteger(n) ? n : null;
}
