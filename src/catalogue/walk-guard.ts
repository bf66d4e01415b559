/**
 * The one rule both one-walk readers (mapping-walk.ts for hand-written mappings,
 * derive/read-walk.ts for derived services) follow when a value cannot be read: the walk is
 * marked failed and reads nothing more, and the caller runs toJson, which throws the same
 * MappingError with its path, once validation has found nothing.
 */
import type { XmlElement } from '../xml/types.js';
import type { TreeReader } from './xsd/index.js';

export function guardedReader<C extends { readonly walk: { failed: boolean } }>(element: (parent: C, el: XmlElement) => C | undefined): TreeReader<C> {
  return {
    element(parent, el) {
      if (parent.walk.failed) return undefined;
      try {
        return element(parent, el);
      } catch {
        parent.walk.failed = true;
        return undefined;
      }
    },
  };
}
