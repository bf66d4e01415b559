/**
 * JSON Schema of config/services/<id>/service.json. Rules that tie fields
 * together (an application has a registration prefix, a query a response…)
 * are checked in load.ts, where they can be said in plain words.
 */
export const SERVICE_ID_PATTERN = '^[a-z0-9][a-z0-9-]{0,63}$';

/** A file next to service.json: no directories, no dot-files, so a service cannot read outside its folder. */
const FILE = { type: 'string', pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$' } as const;

/** A file inside the service folder, subfolders allowed (an agency's package keeps its layout); never "..". */
const PATH = { type: 'string', pattern: '^(?!.*(^|/)\\.\\.?(/|$))[A-Za-z0-9_][A-Za-z0-9_./-]{0,255}$' } as const;

/**
 * A part is hand-written (xsd + schema + mapping, one namespace) or derived (xsd only: the JSON
 * Schema and the mapping come from the XSD package, see derived-content.ts).
 */
const part = {
  type: 'object',
  additionalProperties: false,
  required: ['namespace', 'rootElement', 'xsd'],
  dependencies: { schema: ['mapping'], mapping: ['schema'] },
  properties: {
    namespace: { type: 'string', pattern: '^$|^(urn:|https?://)[^\\s]+$', maxLength: 300 },
    rootElement: { type: 'string', pattern: '^[\\p{L}_][\\p{L}\\p{N}_.-]*$' },
    xsd: PATH,
    schema: FILE,
    mapping: FILE,
  },
} as const;

const examples = {
  anyOf: [FILE, { type: 'array', minItems: 1, uniqueItems: true, items: FILE }],
} as const;

export const serviceFileSchema = {
  $id: 'okno:service',
  type: 'object',
  additionalProperties: false,
  required: ['id', 'title', 'kind', 'direction', 'personalData', 'request', 'examples'],
  properties: {
    $schema: { type: 'string' },
    $comment: { type: 'string' },
    description: { type: 'string' },
    id: { type: 'string', pattern: SERVICE_ID_PATTERN },
    title: { type: 'string', minLength: 3, maxLength: 300 },
    kind: { enum: ['application', 'query', 'status'] },
    direction: { enum: ['inbound', 'outbound'] },
    registrationPrefix: { type: 'string', pattern: '^[А-ЯЁ]{1,4}$' },
    personalData: {
      type: 'array',
      uniqueItems: true,
      items: { type: 'string', pattern: '^(/[^/]+)+$' },
    },
    request: part,
    response: part,
    overrides: FILE,
    attachments: {
      type: 'object',
      additionalProperties: false,
      properties: {
        signature: { enum: ['required', 'optional'], description: 'detached CMS signatures (SignaturePKCS7) on inbound files: required, or optional (default; a signature present must still verify)' },
        mimeTypes: {
          type: 'array',
          minItems: 1,
          uniqueItems: true,
          items: { type: 'string', pattern: '^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$' },
          description: 'MIME types of the files the city may send with this service (POST /api/v1/files?service=…, files on a status); default DEFAULT_ATTACHMENT_MIME_TYPES',
        },
      },
    },
    provenance: {
      type: 'object',
      additionalProperties: false,
      required: ['repository', 'path', 'commit'],
      properties: {
        repository: { type: 'string', minLength: 1 },
        path: { type: 'string' },
        commit: { type: 'string', pattern: '^[0-9a-f]{7,40}$' },
        note: { type: 'string' },
      },
    },
    examples: {
      type: 'object',
      additionalProperties: false,
      required: ['request'],
      properties: { request: examples, response: examples },
    },
  },
} as const;

export interface PartFile {
  namespace: string;
  rootElement: string;
  xsd: string;
  /** Both or neither: without them the part is derived from the XSD. */
  schema?: string;
  mapping?: string;
}

export interface ServiceFile {
  id: string;
  title: string;
  kind: 'application' | 'query' | 'status';
  direction: 'inbound' | 'outbound';
  registrationPrefix?: string;
  personalData: string[];
  request: PartFile;
  response?: PartFile;
  examples: { request: string | string[]; response?: string | string[] };
  overrides?: string;
  attachments?: { signature?: 'required' | 'optional'; mimeTypes?: string[] };
  provenance?: { repository: string; path: string; commit: string; note?: string };
}
