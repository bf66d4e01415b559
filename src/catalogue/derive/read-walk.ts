// XML → JSON of a derived content (translate.ts), read while the XSD validator walks the content
// (xsd/validate.ts, TreeReader), so an accepted message is walked once where its shape allows.
//
// An object whose members are all plain elements (no repeated group, flattened wrapper or
// wildcard) is read here, child by child as the walk reaches them, matched to its members exactly
// as Translator.readMembers does (by namespace and local name, in schema order from the last
// member taken, or any order for xs:all; a single member once, an array up to its maxOccurs).
// Any other object is handed whole to Translator.readElement when the walk reaches it: its
// subtree is then read apart from the validation (the walk reads nothing below it). Properties go
// in document order in both, so the key order is toJson's.
//
// A value that cannot be converted, or a child no member takes, stops nothing here: the caller,
// seeing no schema error, runs toJson itself to throw the very same error.

import type { JsonValue } from '../../store/types.js';
import type { XmlElement } from '../../xml/types.js';
import type { ElementDecl } from '../schema-set/model.js';
import { guardedReader } from '../walk-guard.js';
import type { TreeReader } from '../xsd/index.js';
import { fromLexical } from './scalars.js';
import type { ElementMember, ObjectShape, ShapeBuilder } from './shape.js';
import { isNil, ownText, type Translator } from './translate.js';

type JsonObject = { [key: string]: JsonValue };

/** One message's walk: the root's JSON, and whether something could not be read. */
interface Walk {
  json: JsonValue | undefined;
  failed: boolean;
  /** The value the last read gave (where read puts it, so that no closure is made per element). */
  value: JsonValue;
}

type Context = { readonly kind: 'root'; readonly walk: Walk } | ObjectContext;

interface ObjectContext {
  readonly kind: 'object';
  readonly walk: Walk;
  readonly members: readonly ElementMember[];
  readonly all: boolean;
  readonly obj: JsonObject;
  /** Index of the member that took the last child. */
  cursor: number;
}

export interface DerivedReader {
  readonly reader: TreeReader<Context>;
  start(): Context;
  /** After the walk: the root's JSON, or undefined when something could not be read (run toJson for its error). */
  finish(start: Context): JsonValue | undefined;
}

export function derivedReader(shapes: ShapeBuilder, root: ElementDecl, translator: Translator): DerivedReader {
  /** Objects whose members are all plain elements (read child by child here), by shape. */
  const plain = new WeakMap<ObjectShape, readonly ElementMember[] | null>();
  const plainMembers = (o: ObjectShape): readonly ElementMember[] | null => {
    let m = plain.get(o);
    if (m === undefined) {
      m = o.members.every((x) => x.kind === 'element') ? (o.members as ElementMember[]) : null;
      plain.set(o, m);
    }
    return m;
  };

  /**
   * The element's JSON value as toJson reads it through `decl`, left in walk.value, and the
   * context its children get (undefined: nothing to read below it, its value is complete).
   */
  const read = (walk: Walk, decl: ElementDecl, el: XmlElement): Context | undefined => {
    if (decl.nillable && isNil(el)) {
      walk.value = null;
      return undefined;
    }
    const shape = shapes.valueOf(decl);
    if (shape.kind === 'scalar') {
      walk.value = fromLexical(shape.type, ownText(el), '');
      return undefined;
    }
    const members = shape.kind === 'object' ? plainMembers(shape.object) : null;
    if (shape.kind === 'xml' || members === null) {
      walk.value = translator.readElement(decl, el, '');
      return undefined;
    }
    const obj = translator.readHead(shape.object, el, '');
    walk.value = obj;
    return members.length === 0 ? undefined : { kind: 'object', walk, members, all: shape.object.all, obj, cursor: 0 };
  };

  const element = (parent: Context, el: XmlElement): Context | undefined => {
    const walk = parent.walk;
    if (parent.kind === 'root') {
      const ctx = read(walk, root, el);
      walk.json = walk.value;
      return ctx;
    }
    const { members, obj } = parent;
    let taken = -1;
    for (let m = parent.all ? 0 : parent.cursor; m < members.length; m++) {
      const member = members[m] as ElementMember;
      if (member.decl.ns !== el.namespaceURI || member.decl.local !== el.localName) continue;
      if (!member.array && Object.hasOwn(obj, member.key)) continue;
      if (member.array && Array.isArray(obj[member.key]) && (obj[member.key] as JsonValue[]).length >= member.max) continue;
      taken = m;
      break;
    }
    if (taken === -1) {
      walk.failed = true;
      return undefined;
    }
    parent.cursor = taken;
    const member = members[taken] as ElementMember;
    const key = member.key;
    const ctx = read(walk, member.decl, el);
    if (!member.array) obj[key] = walk.value;
    else {
      const items = obj[key] as JsonValue[] | undefined;
      if (items === undefined) obj[key] = [walk.value];
      else items.push(walk.value);
    }
    return ctx;
  };

  return {
    reader: guardedReader(element),
    start: () => ({ kind: 'root', walk: { json: undefined, failed: false, value: null } }),
    finish: (start) => (start.walk.failed ? undefined : start.walk.json),
  };
}
