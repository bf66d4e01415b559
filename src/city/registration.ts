/**
 * Registration numbers: unique and human-readable, by service and year, e.g.
 * "РК-2026-000123" ("документ получает уникальный регистрационный номер").
 * The counter is the store's atomic sequence, so several gateway processes
 * never hand out the same number; a number taken by a request that then
 * fails is not reused (a gap, never a duplicate).
 */
import type { Store } from '../store/types.js';

export async function nextRegistrationNumber(store: Store, serviceId: string, prefix: string, at: Date): Promise<string> {
  const year = at.getUTCFullYear();
  const n = await store.nextSequence(`regno.${serviceId}.${year}`);
  return `${prefix}-${year}-${String(n).padStart(6, '0')}`;
}
