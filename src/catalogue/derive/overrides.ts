// The optional overrides file of a derived service (overrides.json): property names the city
// prefers over the XML names. Everything else is derived from the XSD.
//
//   { "rename": { "Фамилия": "lastName", "{urn://x-artefacts-zags-rogdinf/root/112-51/4.0.1}Имя": "firstName" } }
//
// A key is an XML local name (every element and attribute of that name, in any namespace) or
// {namespace}local (just that one); the value is the JSON property name.

import { Ajv } from 'ajv';

export interface Overrides {
  readonly rename: ReadonlyMap<string, string>;
}

export const NO_OVERRIDES: Overrides = { rename: new Map() };

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    $comment: { type: 'string' },
    rename: { type: 'object', additionalProperties: { type: 'string', minLength: 1 } },
  },
};

const validate = new Ajv({ allErrors: true, strict: true }).compile(schema);

/** Reads overrides data; returns problems (as "pointer: message") instead of throwing. */
export function parseOverrides(data: unknown): Overrides | { problems: string[] } {
  if (!validate(data)) {
    return { problems: (validate.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message ?? e.keyword}`) };
  }
  const d = data as { rename?: Record<string, string> };
  return { rename: new Map(Object.entries(d.rename ?? {})) };
}
