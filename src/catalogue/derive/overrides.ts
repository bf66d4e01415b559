// The optional overrides file of a derived service (overrides.json): property names the city
// prefers over the XML names, and wrapper elements whose children the city wants one level up.
// Everything else is derived from the XSD.
//
//   { "rename": { "Фамилия": "lastName", "{urn://x-artefacts-zags-rogdinf/root/112-51/4.0.1}Имя": "firstName" },
//     "flatten": ["ФИО"] }
//
// A name is an XML local name (every element or attribute of that name, in any namespace) or
// {namespace}local (just that one). `rename` maps it to the JSON property name; `flatten` lists
// wrapper elements whose child properties are lifted into the enclosing JSON object (the rules,
// and what is refused, are in shape.ts). A name that matches nothing in the service is a problem
// of the service (load.ts).

import { Ajv } from 'ajv';
import { DeriveError } from './scalars.js';

export interface Overrides {
  readonly rename: ReadonlyMap<string, string>;
  readonly flatten: ReadonlySet<string>;
}

export const NO_OVERRIDES: Overrides = { rename: new Map(), flatten: new Set() };

/** A derivation the overrides make ambiguous or lossy: a problem of the overrides file, not of the XSD. */
export class OverridesError extends DeriveError {}

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    $comment: { type: 'string' },
    rename: { type: 'object', additionalProperties: { type: 'string', minLength: 1 } },
    flatten: { type: 'array', items: { type: 'string', minLength: 1 }, uniqueItems: true },
  },
};

const validate = new Ajv({ allErrors: true, strict: true }).compile(schema);

/** Reads overrides data; returns problems (as "pointer: message") instead of throwing. */
export function parseOverrides(data: unknown): Overrides | { problems: string[] } {
  if (!validate(data)) {
    return { problems: (validate.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message ?? e.keyword}`) };
  }
  const d = data as { rename?: Record<string, string>; flatten?: string[] };
  return { rename: new Map(Object.entries(d.rename ?? {})), flatten: new Set(d.flatten ?? []) };
}
