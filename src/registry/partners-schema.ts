/** JSON Schema of config/partners.json (the partner registry). */
export const PARTNER_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';
const SERVICE_ID_PATTERN = '^[a-z0-9][a-z0-9-]{0,63}$';
/** INSTANCE/CLASS/CODE/SUBSYSTEM (src/registry/xroad-members.ts checks the parts). */
const XROAD_SUBSYSTEM = { type: 'string', pattern: '^[^/]+/[^/]+/[^/]+/[^/]+$' } as const;
const XROAD_SERVICE_CODES = {
  type: 'object',
  description: 'catalogue service id → the X-Road service code (and version) it goes by; absent: the service id (Trembita: id_v1)',
  propertyNames: { pattern: SERVICE_ID_PATTERN },
  additionalProperties: {
    type: 'object',
    additionalProperties: false,
    required: ['code'],
    properties: {
      code: { type: 'string', pattern: '^[^/\\s;:%]{1,255}$' },
      version: { type: 'string', pattern: '^[^/\\s;:%]{1,255}$' },
    },
  },
} as const;

export const partnersSchema = {
  $id: 'okno:partners',
  type: 'object',
  additionalProperties: false,
  required: ['partners'],
  properties: {
    $schema: { type: 'string' },
    description: { type: 'string' },
    exchanges: {
      type: 'array',
      description: 'SMEV 3 message exchanges (brokers) that pull-mode partners are reached through',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'url', 'certificates'],
        properties: {
          id: { type: 'string', pattern: PARTNER_ID_PATTERN, description: 'the exchange\'s id, named by partners\' transport.exchange' },
          name: { type: 'string', minLength: 1, maxLength: 200 },
          url: { type: 'string', pattern: '^https?://', description: 'the exchange\'s SOAP endpoint (SendRequest, GetRequest, Ack, …)' },
          certificates: {
            type: 'array',
            minItems: 1,
            items: { type: 'string', minLength: 1 },
            description: 'PEM files (relative to this file) or inline PEM of the certificates the exchange signs with (SMEVSignature)',
          },
          signatureProfile: { enum: ['smev', 'xmldsig'], description: 'how the gateway signs what it sends the exchange (default smev)' },
          fileStore: {
            type: 'object',
            additionalProperties: false,
            required: ['ftp'],
            description: "the exchange's file store, where files named in FSAttachmentsList are fetched with the per-file credentials the message carries",
            properties: {
              ftp: { type: 'string', pattern: '^ftps?://[^/@]+(/)?$', description: 'ftp://host[:port] or ftps://host[:port] (explicit TLS, AUTH TLS)' },
              s3: {
                type: 'object',
                additionalProperties: false,
                required: ['endpoint'],
                properties: {
                  endpoint: { type: 'string', pattern: '^https?://', description: 'S3-compatible endpoint; bucket `attachment`, key `{uuid}/{file name}`; tried first, FTP is the fallback' },
                  region: { type: 'string', minLength: 1, maxLength: 64, description: 'signing region (default us-east-1)' },
                  bucket: { type: 'string', minLength: 3, maxLength: 63, description: 'default attachment' },
                },
              },
              insecureTls: { type: 'boolean', description: 'FTPS/S3 over https without checking the server certificate (test stands only)' },
              upload: {
                type: 'object',
                additionalProperties: false,
                required: ['user', 'passwordEnv'],
                description: "the gateway's own account for uploading the files it sends (pull mode): FTP login, and S3 access key / secret",
                properties: {
                  user: { type: 'string', minLength: 1, maxLength: 200, description: 'FTP user name (S3: access key id)' },
                  passwordEnv: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]{0,127}$', description: 'the NAME of the environment variable holding the password (S3: secret key); the secret itself is never in this file' },
                },
              },
            },
          },
          description: { type: 'string' },
        },
      },
    },
    xroad: {
      type: 'object',
      additionalProperties: false,
      required: ['self'],
      description: 'the gateway as an X-Road / Trembita member: its subsystem, its dialect, its own Security Server',
      properties: {
        self: { ...XROAD_SUBSYSTEM, description: "the gateway's subsystem: the client of its queries, the provider of its services" },
        dialect: { enum: ['xroad', 'trembita'], description: 'xroad (NIIS X-Road 7, default) or trembita (Trembita 2.0 on UXP)' },
        securityServer: { type: 'string', pattern: '^https?://', description: "the gateway's Security Server, where its queries to X-Road partners go (SOAP: POST there; REST: /r1/… or Trembita's /restapi)" },
        services: XROAD_SERVICE_CODES,
        allowFrom: {
          type: 'array',
          minItems: 1,
          items: { type: 'string', minLength: 2, maxLength: 64 },
          description: "the addresses (IPv4/IPv6, or CIDR blocks such as 10.0.0.0/24) the gateway's Security Server calls from; others get 403 on /ws/xroad and /xroad/rest. Absent: any address (a warning at start)",
        },
        description: { type: 'string' },
      },
    },
    partners: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'name', 'role', 'sends', 'receives', 'endpoint'],
        properties: {
          id: { type: 'string', pattern: PARTNER_ID_PATTERN, description: 'the partner mnemonic' },
          name: { type: 'string', minLength: 1, maxLength: 200 },
          role: { enum: ['portal', 'agency'] },
          certificates: {
            type: 'array',
            minItems: 1,
            items: { type: 'string', minLength: 1 },
            description: 'PEM files (relative to this file) or inline PEM of the certificates the partner signs with (required unless its transport is xroad: the Security Servers sign there)',
          },
          sends: {
            type: 'array',
            uniqueItems: true,
            items: { type: 'string', pattern: SERVICE_ID_PATTERN },
            description: 'services this partner may request from the city (its SendRequest to the gateway)',
          },
          receives: {
            type: 'array',
            uniqueItems: true,
            items: { type: 'string', pattern: SERVICE_ID_PATTERN },
            description: 'services the city sends to this partner (the gateway\'s SendRequest to it; it answers with SendResponse)',
          },
          endpoint: {
            anyOf: [{ type: 'string', pattern: '^https?://' }, { type: 'null' }],
            description: 'where the gateway sends this partner SOAP messages, or null if it sends it nothing',
          },
          signatureProfile: { enum: ['smev', 'xmldsig'] },
          tlsCertificates: {
            type: 'array',
            minItems: 1,
            items: { type: 'string', minLength: 1 },
            description: 'PEM files (relative to this file) or inline PEM of the TLS client certificates the partner connects with (TLS_CLIENT_AUTH); absent: its signing certificates',
          },
          rateLimit: {
            anyOf: [
              {
                type: 'object',
                additionalProperties: false,
                required: ['perSecond', 'burst'],
                properties: {
                  perSecond: { type: 'number', exclusiveMinimum: 0, maximum: 1000000 },
                  burst: { type: 'integer', minimum: 1, maximum: 1000000 },
                },
              },
              { type: 'null' },
            ],
            description: 'messages per second (token bucket) this partner may send to POST /ws/smev3; null: no limit; absent: RATE_LIMIT_PER_PARTNER',
          },
          transport: {
            description: 'push (default): the partner calls the gateway and the gateway calls its endpoint; pull: both sides go through a SMEV exchange; xroad: both sides go through Security Servers (X-Road / Trembita)',
            anyOf: [
              { const: 'push' },
              {
                type: 'object',
                additionalProperties: false,
                required: ['mode', 'subsystem'],
                properties: {
                  mode: { const: 'xroad' },
                  subsystem: { ...XROAD_SUBSYSTEM, description: "the partner's subsystem: the client it calls the gateway as, and the provider of the services the city asks it" },
                  clients: {
                    type: 'array',
                    uniqueItems: true,
                    items: { type: 'string', pattern: '^[^/]+/[^/]+/[^/]+(/[^/]+)?$' },
                    description: 'more client identifiers (subsystems, or a member: all its subsystems) that call the gateway as this partner; its access rights are its sends',
                  },
                  protocol: { enum: ['soap', 'rest'], description: 'how the gateway calls its services (default soap)' },
                  dialect: { enum: ['xroad', 'trembita'], description: "default: the gateway's own (xroad.dialect)" },
                  services: XROAD_SERVICE_CODES,
                },
              },
              {
                type: 'object',
                additionalProperties: false,
                required: ['mode', 'exchange'],
                properties: { mode: { const: 'pull' }, exchange: { type: 'string', pattern: PARTNER_ID_PATTERN } },
              },
            ],
          },
          description: { type: 'string' },
        },
      },
    },
  },
} as const;
