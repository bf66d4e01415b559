/**
 * Typed collections: each collection is declared once, next to the type of
 * its documents, and callers read and write that type without casts:
 *
 *   export const APPLICATIONS = defineCollection<Application>('applications');
 *   const app = await store.getDoc(APPLICATIONS, id);          // Application | null
 *   store.commit({ docs: [write(APPLICATIONS, app.id, app)] });
 *
 * A handle is the collection's name at run time, so Redis keys and stored
 * bytes are exactly those of a plain name.
 */
import type { Collection, DocWrite, JsonValue } from './types.js';
import { assertName } from './validate.js';

export type { Collection } from './types.js';

/** The handle of one collection; a bad name stops start-up (it is checked when the module loads). */
export function defineCollection<T>(name: string): Collection<T> {
  assertName(name, 'collection');
  return name;
}

/** A document write for a batch, its value checked against the collection's type. */
export function write<T>(collection: Collection<T>, id: string, value: NoInfer<T>, options: { ifAbsent?: boolean } = {}): DocWrite {
  // The one cast of the write side: documents are declared as interfaces of
  // JSON-shaped fields, which the compiler cannot match to JsonValue's index
  // signature. The store validates and copies the value as JSON either way.
  const doc: DocWrite = { collection, id, value: value as unknown as JsonValue };
  if (options.ifAbsent) doc.ifAbsent = true;
  return doc;
}
