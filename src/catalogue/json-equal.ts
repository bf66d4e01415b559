/**
 * Structural equality of JSON values, reporting where they first differ (a
 * JSON pointer) so a failed round trip can be located without printing the
 * content. Key order does not matter; array order does.
 */
export function firstDifference(a: unknown, b: unknown, path = ''): string | null {
  if (a === b) return null;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return path || '/';
  if (Array.isArray(a) !== Array.isArray(b)) return path || '/';
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return path || '/';
    for (let i = 0; i < a.length; i++) {
      const d = firstDifference(a[i], b[i], `${path}/${i}`);
      if (d !== null) return d;
    }
    return null;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
  for (const k of keys) {
    const here = `${path}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    if (Object.hasOwn(ao, k) !== Object.hasOwn(bo, k)) return here;
    const d = firstDifference(ao[k], bo[k], here);
    if (d !== null) return d;
  }
  return null;
}
