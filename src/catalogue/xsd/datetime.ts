// Lexical forms of xs:date, xs:dateTime, xs:time, xs:gYear, xs:gYearMonth, xs:gMonth, xs:gDay and
// xs:gMonthDay exactly per XSD 1.0 (Second Edition):
// years of four or more digits (no leading zero beyond four, no year 0000, optional leading '-'),
// real calendar days (2026-02-30 is refused), 24:00:00 as end of day, and an optional timezone
// Z or ±hh:mm up to ±14:00. Values map to a point on a millisecond timeline for min/max facets.

export interface Moment {
  /** Milliseconds on the timeline; a value without timezone is placed as if it were UTC. */
  readonly ms: number;
  readonly tz: boolean;
}

// Each regex is anchored and free of nested quantifiers: linear on hostile input.
const YEAR = '(-?)([1-9][0-9]{4,}|[0-9]{4})';
const MD = '(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])';
const HMS = '(?:([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9])(\\.[0-9]+)?|(24):(00):(00)(\\.0+)?)';
const TZ = '(Z|[+-](?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00))?';

const DATE = new RegExp(`^${YEAR}-${MD}${TZ}$`);
const DATE_TIME = new RegExp(`^${YEAR}-${MD}T${HMS}${TZ}$`);
const TIME = new RegExp(`^${HMS}${TZ}$`);
const G_YEAR = new RegExp(`^${YEAR}${TZ}$`);
const G_YEAR_MONTH = new RegExp(`^${YEAR}-(0[1-9]|1[0-2])${TZ}$`);
// XSD 1.0 Second Edition (erratum E2-12) spells gMonth "--MM"; the First Edition's "--MM--" is not accepted.
const G_MONTH = new RegExp(`^--(0[1-9]|1[0-2])${TZ}$`);
const G_DAY = new RegExp(`^---(0[1-9]|[12][0-9]|3[01])${TZ}$`);
const G_MONTH_DAY = new RegExp(`^--${MD}${TZ}$`);

const DAY_MS = 86_400_000;

/** XSD 1.0 has no year 0: -0001 is the year before 0001, i.e. astronomical year 0 (a leap year). */
function astronomical(sign: string, digits: string): number {
  const y = Number(digits);
  return sign === '-' ? 1 - y : y;
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return isLeap(y) ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/** Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function tzOffsetMs(tz: string | undefined): number {
  if (tz === undefined || tz === 'Z') return 0;
  const sign = tz[0] === '-' ? -1 : 1;
  return sign * (Number(tz.slice(1, 3)) * 60 + Number(tz.slice(4, 6))) * 60_000;
}

function yearOk(digits: string): boolean {
  // "0000" is not a year in XSD 1.0; five-digit and longer years may not start with 0 (regex).
  return digits !== '0000';
}

function dateDays(sign: string, yd: string, mo: string, da: string): number | null {
  if (!yearOk(yd)) return null;
  const y = astronomical(sign, yd);
  const m = Number(mo);
  const d = Number(da);
  if (d > daysInMonth(y, m)) return null;
  return daysFromCivil(y, m, d);
}

function timeMs(g: (string | undefined)[], at: number): number {
  // Groups at..at+7: hh mm ss .frac | 24 00 00 .0
  if (g[at + 4] === '24') return DAY_MS;
  const frac = g[at + 3];
  return (
    (Number(g[at]) * 3600 + Number(g[at + 1]) * 60 + Number(g[at + 2])) * 1000 +
    (frac ? Number('0' + frac) * 1000 : 0)
  );
}

export function parseDate(s: string): Moment | null {
  const g = DATE.exec(s);
  if (!g) return null;
  const days = dateDays(g[1] ?? '', g[2] ?? '', g[3] ?? '', g[4] ?? '');
  if (days === null) return null;
  return { ms: days * DAY_MS - tzOffsetMs(g[5]), tz: g[5] !== undefined };
}

export function parseDateTime(s: string): Moment | null {
  const g = DATE_TIME.exec(s);
  if (!g) return null;
  const days = dateDays(g[1] ?? '', g[2] ?? '', g[3] ?? '', g[4] ?? '');
  if (days === null) return null;
  return { ms: days * DAY_MS + timeMs(g, 5) - tzOffsetMs(g[13]), tz: g[13] !== undefined };
}

export function parseTime(s: string): Moment | null {
  const g = TIME.exec(s);
  if (!g) return null;
  // 24:00:00 is the same value as 00:00:00 for xs:time.
  const t = timeMs(g, 1) % DAY_MS;
  return { ms: t - tzOffsetMs(g[9]), tz: g[9] !== undefined };
}

export function parseGYear(s: string): Moment | null {
  const g = G_YEAR.exec(s);
  if (!g) return null;
  if (!yearOk(g[2] ?? '')) return null;
  const y = astronomical(g[1] ?? '', g[2] ?? '');
  return { ms: daysFromCivil(y, 1, 1) * DAY_MS - tzOffsetMs(g[3]), tz: g[3] !== undefined };
}

export function parseGYearMonth(s: string): Moment | null {
  const g = G_YEAR_MONTH.exec(s);
  if (!g) return null;
  if (!yearOk(g[2] ?? '')) return null;
  const y = astronomical(g[1] ?? '', g[2] ?? '');
  return { ms: daysFromCivil(y, Number(g[3]), 1) * DAY_MS - tzOffsetMs(g[4]), tz: g[4] !== undefined };
}

/**
 * The recurring types (gMonth, gDay, gMonthDay) have no year; for ordering facets and equality they
 * are placed in the leap year 1972 (the reference year XSD 1.1 names; any leap year orders the same),
 * gDay also in its January. --02-29 is a valid gMonthDay (it exists in some year); --04-31 is not.
 */
const REFERENCE_YEAR = 1972;

export function parseGMonth(s: string): Moment | null {
  const g = G_MONTH.exec(s);
  if (!g) return null;
  return { ms: daysFromCivil(REFERENCE_YEAR, Number(g[1]), 1) * DAY_MS - tzOffsetMs(g[2]), tz: g[2] !== undefined };
}

export function parseGDay(s: string): Moment | null {
  const g = G_DAY.exec(s);
  if (!g) return null;
  return { ms: daysFromCivil(REFERENCE_YEAR, 1, Number(g[1])) * DAY_MS - tzOffsetMs(g[2]), tz: g[2] !== undefined };
}

export function parseGMonthDay(s: string): Moment | null {
  const g = G_MONTH_DAY.exec(s);
  if (!g) return null;
  const m = Number(g[1]);
  const d = Number(g[2]);
  if (d > daysInMonth(REFERENCE_YEAR, m)) return null;
  return { ms: daysFromCivil(REFERENCE_YEAR, m, d) * DAY_MS - tzOffsetMs(g[3]), tz: g[3] !== undefined };
}

const FOURTEEN_HOURS = 14 * 3_600_000;

/**
 * XSD 1.0 §3.2.7.3 order: values both with or both without timezone compare directly; otherwise the
 * one without a timezone could be anywhere within ±14h, and inside that window the order is
 * indeterminate (NaN), which makes any ordering facet fail.
 */
export function compareMoment(a: Moment, b: Moment): number {
  if (a.tz === b.tz) return a.ms === b.ms ? 0 : a.ms < b.ms ? -1 : 1;
  if (!a.tz) {
    if (a.ms + FOURTEEN_HOURS < b.ms) return -1;
    if (a.ms - FOURTEEN_HOURS > b.ms) return 1;
    return NaN;
  }
  const r = compareMoment(b, a);
  return r === 0 ? 0 : -r;
}

export function momentKey(m: Moment): string {
  return `${m.ms}${m.tz ? 'Z' : ''}`;
}
