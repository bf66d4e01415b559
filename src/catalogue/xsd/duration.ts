// xs:duration per XSD 1.0 Part 2 §3.2.6: lexical form -?PnYnMnDTnHnMnS, parsed by hand (one pass,
// no regex), values kept exact (BigInt) so ordering facets and enumeration are exact on any input.

export interface Duration {
  /** Years × 12 + months, signed. */
  readonly months: bigint;
  /** Days, hours, minutes and seconds as seconds × 10^-scale, signed; no trailing zeros in the scale. */
  readonly num: bigint;
  readonly scale: number;
}

/**
 * Part 2 §5.4 lets a processor limit the infinite datatypes (minimum: four-digit years, millisecond
 * precision) if it says so. Ours: at most 30 significant digits per component and 30 significant
 * fraction digits of seconds; a longer literal is refused as not a valid xs:duration. Without a limit
 * BigInt conversion makes a 16 MB literal cost minutes (it is superlinear in the digit count).
 */
export const DURATION_MAX_DIGITS = 30;

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/**
 * The lexical space: an optional '-', 'P', then at least one of nY nM nD, then optionally 'T' and at
 * least one of nH nM nS, in this order; n is an unsigned integer except before 'S', where it may have
 * a fraction (1.5S, and also 1.S and .5S like xs:decimal). "P", "PT", "P1YT", "+P1Y", "P-1Y" are invalid.
 */
export function parseDuration(s: string): Duration | null {
  let i = 0;
  const neg = s.charCodeAt(0) === 0x2d;
  if (neg) i++;
  if (s.charCodeAt(i) !== 0x50) return null; // 'P'
  i++;
  const dateOrder = 'YMD';
  const timeOrder = 'HMS';
  let inTime = false;
  let last = -1; // index of the last designator seen in the current part's order
  let any = false;
  let anyInTime = false;
  let months = 0n;
  let secInt = 0n; // whole seconds from D, H, M and the integer part of S
  let frac = ''; // without trailing zeros
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === 0x54) {
      // 'T'
      if (inTime) return null;
      inTime = true;
      last = -1;
      i++;
      continue;
    }
    const start = i;
    while (i < s.length && isDigit(s.charCodeAt(i))) i++;
    const hadInt = i > start;
    let z = start;
    while (z < i && s.charCodeAt(z) === 0x30) z++;
    if (i - z > DURATION_MAX_DIGITS) return null;
    const intDigits = s.slice(z, i);
    let fracDigits: string | null = null;
    if (s.charCodeAt(i) === 0x2e) {
      i++;
      const f = i;
      while (i < s.length && isDigit(s.charCodeAt(i))) i++;
      let t = i;
      while (t > f && s.charCodeAt(t - 1) === 0x30) t--;
      if (t - f > DURATION_MAX_DIGITS) return null;
      // Trailing zeros dropped; '' still tells "a fraction point was there" apart from null.
      fracDigits = i > f ? s.slice(f, t) : '';
      if (!hadInt && i === f) return null; // ".S"
    } else if (!hadInt) return null;
    const designator = s[i];
    if (designator === undefined) return null;
    i++;
    const order = inTime ? timeOrder : dateOrder;
    const at = order.indexOf(designator);
    if (at <= last) return null; // unknown, repeated or out of order
    last = at;
    if (fracDigits !== null && !(inTime && designator === 'S')) return null;
    const n = BigInt(intDigits === '' ? '0' : intDigits);
    any = true;
    if (inTime) anyInTime = true;
    if (!inTime) {
      if (designator === 'Y') months += n * 12n;
      else if (designator === 'M') months += n;
      else secInt += n * 86_400n;
    } else if (designator === 'H') secInt += n * 3600n;
    else if (designator === 'M') secInt += n * 60n;
    else {
      secInt += n;
      frac = fracDigits ?? '';
    }
  }
  if (!any || (inTime && !anyInTime)) return null;
  const num = secInt * 10n ** BigInt(frac.length) + BigInt(frac === '' ? '0' : frac);
  const sign = neg ? -1n : 1n;
  // -P0D is the zero duration, the same value as P0D.
  return { months: sign * months, num: sign * num, scale: frac.length };
}

export function durationKey(d: Duration): string {
  return `${d.months}M${d.num}e-${d.scale}`;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
}

/** Days since 1970-01-01 of the first day of month index t (= year × 12 + month - 1), proleptic Gregorian. */
function firstOfMonthDays(t: bigint): bigint {
  const y = floorDiv(t, 12n);
  const m = t - y * 12n + 1n;
  const yy = m <= 2n ? y - 1n : y;
  const era = floorDiv(yy, 400n);
  const yoe = yy - era * 400n;
  const doy = (153n * (m + (m > 2n ? -3n : 9n)) + 2n) / 5n;
  const doe = yoe * 365n + yoe / 4n - yoe / 100n + doy;
  return era * 146_097n + doe - 719_468n;
}

/** §3.2.6.2: 1696-09-01, 1697-02-01, 1903-03-01 and 1903-07-01 (all T00:00:00Z), as month indexes. */
const REFERENCES: readonly bigint[] = [1696n * 12n + 8n, 1697n * 12n + 1n, 1903n * 12n + 2n, 1903n * 12n + 6n];

/**
 * XSD 1.0 §3.2.6.2 partial order: x < y iff s + x < s + y for each of the four reference dateTimes s
 * (Appendix E adds months first, then the rest; from the first of a month that is plain day
 * arithmetic). Returns -1, 0 or 1 when all four agree, NaN when they don't (P1M vs P30D): every
 * ordering facet then fails, as for indeterminate dateTimes.
 */
export function compareDuration(a: Duration, b: Duration): number {
  const scale = Math.max(a.scale, b.scale);
  const pa = 10n ** BigInt(scale - a.scale);
  const pb = 10n ** BigInt(scale - b.scale);
  const day = 86_400n * 10n ** BigInt(scale);
  let result: number | null = null;
  for (const ref of REFERENCES) {
    const x = firstOfMonthDays(ref + a.months) * day + a.num * pa;
    const y = firstOfMonthDays(ref + b.months) * day + b.num * pb;
    const r = x === y ? 0 : x < y ? -1 : 1;
    if (result === null) result = r;
    else if (result !== r) return NaN;
  }
  return result ?? NaN;
}
