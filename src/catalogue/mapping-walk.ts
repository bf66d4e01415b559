/**
 * XML → JSON of a hand-written mapping (mapping.ts), read while the XSD validator walks the
 * content (xsd/validate.ts, TreeReader), so an accepted message is walked once, not once to
 * validate and once more to translate.
 *
 * The JSON is exactly what compileMapping's toJson gives for valid content:
 *
 * - an element is read where toJson would find it: a child in the mapping's namespace whose local
 *   name a field of the enclosing object names (the first one for a single field, every one in
 *   document order for a repeated field, inside its wrapper when it has one);
 * - toJson writes an object's properties in field order, the walk in document order: an object
 *   whose properties arrived in another order is put in field order at the end of the walk;
 * - a value toJson cannot convert (MappingError) stops nothing here: the caller, seeing no
 *   schema error, runs toJson itself to throw the very same error.
 *
 * A mapping in which two fields of one object name the same element (the walk could not tell
 * them apart; normaliseMapping already refuses it) gets no reader: compileMappingReader returns
 * null and the caller walks twice.
 */
import type { JsonValue } from '../store/types.js';
import type { XmlElement } from '../xml/types.js';
import { ownText, readScalar } from './mapping.js';
import type { MappedField, Mapping, ScalarType } from './mapping-format.js';
import { guardedReader } from './walk-guard.js';
import type { TreeReader } from './xsd/index.js';

type JsonObject = { [key: string]: JsonValue };

interface ObjectPlan {
  /** Attribute and text fields, read when the element is reached, in field order, with their position among the fields. */
  readonly own: readonly { readonly field: MappedField; readonly index: number }[];
  /** Element fields by the local name of the element that carries them (a repeated field's wrapper when it has one). */
  readonly byName: ReadonlyMap<string, FieldPlan>;
  /** Every field's JSON key in field order (toJson's order). */
  readonly keys: readonly string[];
}

interface FieldPlan {
  readonly field: MappedField;
  readonly index: number;
  /** The field's scalar type, or null for an object. */
  readonly scalar: ScalarType | null;
  /** For an object field. */
  readonly object: ObjectPlan | null;
  /** byName names the wrapper of a repeated field, not its items. */
  readonly wrapper: boolean;
}

/** One message's walk: where the root's JSON goes, the objects to put in field order, whether a value failed to convert. */
interface Walk {
  json: JsonObject | null;
  failed: boolean;
  readonly reorder: ObjectContext[];
}

/** What the reader hands a reached element's children. */
type Context = RootContext | ObjectContext | WrapperContext;
interface RootContext {
  readonly kind: 'root';
  readonly walk: Walk;
  readonly plan: ObjectPlan;
}
interface ObjectContext {
  readonly kind: 'object';
  readonly walk: Walk;
  readonly plan: ObjectPlan;
  readonly obj: JsonObject;
  /** Position among the fields of the last property set; a property of a lower one puts the object out of field order. */
  last: number;
  /** Already in walk.reorder. */
  reordered: boolean;
}
interface WrapperContext {
  readonly kind: 'wrapper';
  readonly walk: Walk;
  readonly item: FieldPlan;
  readonly items: JsonValue[];
}

/** null when two element fields of one object name the same element. */
function planObject(fields: readonly MappedField[]): ObjectPlan | null {
  const own: { field: MappedField; index: number }[] = [];
  const byName = new Map<string, FieldPlan>();
  for (let index = 0; index < fields.length; index++) {
    const field = fields[index] as MappedField;
    if (field.source !== 'element') {
      own.push({ field, index });
      continue;
    }
    const object = field.type === 'object' ? planObject(field.fields) : null;
    if (field.type === 'object' && object === null) return null;
    const wrapper = field.repeated && field.wrapper !== null;
    const name = wrapper ? (field.wrapper as string) : field.name;
    if (byName.has(name)) return null;
    byName.set(name, { field, index, scalar: field.type === 'object' ? null : field.type, object, wrapper });
  }
  return { own, byName, keys: fields.map((f) => f.json) };
}

export interface MappingReader {
  readonly reader: TreeReader<Context>;
  /** A fresh walk's start context (for the root element). */
  start(): Context;
  /** After the walk: the root's JSON (null when a value failed to convert: run toJson for its error). */
  finish(start: Context): JsonValue | null;
}

/** The reader of `mapping` for elements in `namespace`, or null when the walk cannot read it (two fields name one element). */
export function compileMappingReader(mapping: Mapping, namespace: string): MappingReader | null {
  const rootPlan = planObject(mapping.fields);
  if (rootPlan === null) return null;

  const objectContext = (walk: Walk, plan: ObjectPlan, el: XmlElement): ObjectContext => {
    const obj: JsonObject = {};
    let last = -1;
    for (const { field, index } of plan.own) {
      if (field.source === 'text') {
        obj[field.json] = readScalar(field.type as ScalarType, ownText(el), '');
        last = index;
        continue;
      }
      for (const a of el.attributes) {
        if (a.namespaceURI !== '' || a.localName !== field.name) continue;
        obj[field.json] = readScalar(field.type as ScalarType, a.value, '');
        last = index;
        break;
      }
    }
    return { kind: 'object', walk, plan, obj, last, reordered: false };
  };

  /** An object item's context (its properties are read below it), or undefined for a scalar item. */
  const itemContext = (walk: Walk, fp: FieldPlan, el: XmlElement): ObjectContext | undefined => (fp.object === null ? undefined : objectContext(walk, fp.object, el));
  const itemValue = (fp: FieldPlan, el: XmlElement, ctx: ObjectContext | undefined): JsonValue => (ctx === undefined ? readScalar(fp.scalar as ScalarType, ownText(el), '') : ctx.obj);

  const setProperty = (ctx: ObjectContext, fp: FieldPlan, value: JsonValue): void => {
    ctx.obj[fp.field.json] = value;
    if (fp.index < ctx.last && !ctx.reordered) {
      ctx.reordered = true;
      ctx.walk.reorder.push(ctx);
    }
    if (fp.index > ctx.last) ctx.last = fp.index;
  };

  const element = (parent: Context, el: XmlElement): Context | undefined => {
    const walk = parent.walk;
    if (parent.kind === 'root') {
      const ctx = objectContext(walk, parent.plan, el);
      walk.json = ctx.obj;
      return ctx;
    }
    if (el.namespaceURI !== namespace) return undefined;
    if (parent.kind === 'wrapper') {
      if (el.localName !== parent.item.field.name) return undefined;
      const ctx = itemContext(walk, parent.item, el);
      parent.items.push(itemValue(parent.item, el, ctx));
      return ctx;
    }
    const fp = parent.plan.byName.get(el.localName);
    if (fp === undefined) return undefined;
    const { obj } = parent;
    const key = fp.field.json;
    if (fp.wrapper) {
      // toJson reads the first wrapper only.
      if (Object.hasOwn(obj, key)) return undefined;
      const items: JsonValue[] = [];
      setProperty(parent, fp, items);
      return { kind: 'wrapper', walk, item: fp, items };
    }
    if (fp.field.repeated) {
      const ctx = itemContext(walk, fp, el);
      const value = itemValue(fp, el, ctx);
      const items = obj[key] as JsonValue[] | undefined;
      if (items === undefined) setProperty(parent, fp, [value]);
      else items.push(value);
      return ctx;
    }
    // A single field takes the first such child, as toJson's findChild does.
    if (Object.hasOwn(obj, key)) return undefined;
    const ctx = itemContext(walk, fp, el);
    setProperty(parent, fp, itemValue(fp, el, ctx));
    return ctx;
  };

  return {
    reader: guardedReader(element),
    start: () => ({ kind: 'root', walk: { json: null, failed: false, reorder: [] }, plan: rootPlan }),
    finish(start) {
      const walk = start.walk;
      if (walk.failed || walk.json === null) return null;
      for (const ctx of walk.reorder) {
        const obj = ctx.obj;
        for (const key of ctx.plan.keys) {
          if (!Object.hasOwn(obj, key)) continue;
          const v = obj[key] as JsonValue;
          delete obj[key];
          obj[key] = v;
        }
      }
      return walk.json;
    },
  };
}
