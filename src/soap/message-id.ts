/**
 * SMEV MessageIDs are version-1 (time-based) UUIDs. Node has only v4, so
 * this makes v1: 60-bit count of 100 ns since 1582-10-15, a random clock
 * sequence and a random node id with the multicast bit set (RFC 4122 §4.5),
 * monotonic within the process.
 */
import { randomBytes } from 'node:crypto';

const GREGORIAN_OFFSET_100NS = 122_192_928_000_000_000n;
const node = randomBytes(6);
node[0] = node[0]! | 0x01;
const clockSeq = randomBytes(2).readUInt16BE(0) & 0x3fff;
let last = 0n;

export function uuidV1(now: number = Date.now()): string {
  let t = BigInt(now) * 10_000n + GREGORIAN_OFFSET_100NS;
  if (t <= last) t = last + 1n; // several ids within one 100 ns tick, or a clock step back
  last = t;
  const timeLow = Number(t & 0xffff_ffffn);
  const timeMid = Number((t >> 32n) & 0xffffn);
  const timeHi = Number((t >> 48n) & 0x0fffn) | 0x1000;
  const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
  return `${hex(timeLow, 8)}-${hex(timeMid, 4)}-${hex(timeHi, 4)}-${hex(0x8000 | clockSeq, 4)}-${node.toString('hex')}`;
}

/** The time a version-1 UUID was made (its 60-bit timestamp), or null when it is not a v1 UUID. */
export function uuidV1Time(id: string): Date | null {
  const m = /^([0-9a-f]{8})-([0-9a-f]{4})-1([0-9a-f]{3})-[0-9a-f]{4}-[0-9a-f]{12}$/i.exec(id);
  if (!m) return null;
  const t = (BigInt(`0x${m[3]}`) << 48n) | (BigInt(`0x${m[2]}`) << 32n) | BigInt(`0x${m[1]}`);
  return new Date(Number((t - GREGORIAN_OFFSET_100NS) / 10_000n));
}
