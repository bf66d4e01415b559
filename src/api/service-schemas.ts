/**
 * Each service's JSON Schema (derived from its XSD package, or hand-written) as named components
 * of the OpenAPI document at /docs: `service.<id>.<part>` for the content, and its $defs as
 * `service.<id>.<part>.<Def>`, every "#/$defs/X" ref rewritten to "#/components/schemas/…", so
 * refs resolve inside the one document. Component names allow only [A-Za-z0-9._-] (OpenAPI 3.1
 * §4.8.7.1), so Cyrillic def names (ДатаДокТип) are transliterated (DataDokTip); a clash gets _2, _3.
 *
 * Built once at start-up from the loaded catalogue. The route bodies themselves stay `object`
 * (the gateway validates content against the service's schema after routing on `service`); the
 * routes' descriptions name the component each service's content follows.
 */
import type { MessagePart, ServiceCatalogue, ServiceDefinition } from '../catalogue/types.js';

import { schemaComponents, type JsonObject } from '../catalogue/schema-components.js';

export { componentSegment, schemaComponents } from '../catalogue/schema-components.js';

const COMPONENTS = '#/components/schemas/';

/** The component of a service part's content. */
export function serviceComponentName(serviceId: string, part: MessagePart): string {
  return `service.${serviceId}.${part}`;
}

/** The components of every service part in the catalogue. */
export function serviceSchemaComponents(catalogue: ServiceCatalogue): Record<string, JsonObject> {
  const out: Record<string, JsonObject> = {};
  for (const s of catalogue.services) {
    Object.assign(out, schemaComponents(s.jsonSchemas.request, serviceComponentName(s.id, 'request')));
    if (s.jsonSchemas.response !== null) Object.assign(out, schemaComponents(s.jsonSchemas.response, serviceComponentName(s.id, 'response')));
  }
  return out;
}

/** A route description: the heading, then "- `<id>`: `#/components/schemas/service.<id>.<part>`" for each service given. */
export function contentComponentsDescription(heading: string, services: readonly ServiceDefinition[], part: MessagePart | ((s: ServiceDefinition) => MessagePart)): string {
  if (services.length === 0) return heading;
  const lines = services.map((s) => {
    const p = typeof part === 'function' ? part(s) : part;
    return `- \`${s.id}\`: \`${COMPONENTS}${serviceComponentName(s.id, p)}\` (${s.derived ? 'derived from its XSD package' : 'hand-written'})`;
  });
  return [heading, '', ...lines].join('\n');
}
