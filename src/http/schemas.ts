/** JSON Schemas of the city API: the single source of validation and of the OpenAPI document. */
export const errorSchema = {
  $id: 'Error',
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { code: { type: 'string' }, message: { type: 'string' }, correlationId: { type: 'string' } },
      required: ['code', 'message', 'correlationId'],
    },
  },
  required: ['error'],
} as const;

const attachment = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    contentId: { type: 'string' },
    mimeType: { type: 'string' },
    size: { type: 'integer' },
    sha256: { type: 'string' },
    pkcs7Signature: { type: 'string', enum: ['absent', 'valid', 'present-unverified'], description: "the file's detached CMS signature (SignaturePKCS7): valid (verified, see signature), absent, or not verified yet" },
    signature: {
      type: 'object',
      description: 'the verdict on the SignaturePKCS7, when the file carried one',
      properties: {
        valid: { type: 'boolean' },
        math: { type: 'string', enum: ['valid', 'invalid', 'not checked'] },
        trusted: { type: ['boolean', 'null'] },
        reason: { type: ['string', 'null'] },
        message: { type: 'string' },
        signer: { type: ['string', 'null'], description: "the signer certificate's subject" },
        issuer: { type: ['string', 'null'] },
        serial: { type: ['string', 'null'] },
        algorithm: { type: ['string', 'null'] },
        signingTime: { type: ['string', 'null'], description: 'the signingTime signed attribute, ISO 8601' },
      },
    },
    transfer: { type: 'string', enum: ['inline', 'mtom'], description: 'pull mode: how the exchange delivered the content' },
  },
} as const;

/** Pull mode: files left in the SMEV exchange's file store (recorded, not downloaded). */
const exchangeFiles = {
  type: 'array',
  description: "pull mode only: files in the SMEV exchange's file store (RefAttachmentHeaderList / FSAttachmentsList), fetched after the message was accepted: `state` pending, stored (read it at /api/v1/attachments/{attachmentId}) or failed (`reason`); the webhook event attachments.ready / attachments.failed tells when none is pending",
  items: {
    type: 'object',
    properties: {
      uuid: { type: 'string' },
      fileName: { type: ['string', 'null'] },
      mimeType: { type: ['string', 'null'] },
      hash: { type: ['string', 'null'] },
      pkcs7Signature: { type: 'string', enum: ['absent', 'present-unverified', 'valid', 'invalid'], description: "the file's SignaturePKCS7: present-unverified until the downloaded file was checked, then valid, or invalid (the file failed: the service's attachments.signature policy refuses it); absent when it has none" },
      signature: { ...attachment.properties.signature, description: 'the verdict on the SignaturePKCS7 once the downloaded file was checked against it' },
      state: { type: 'string', enum: ['pending', 'stored', 'failed'] },
      attachmentId: { type: ['string', 'null'] },
      size: { type: ['integer', 'null'] },
      sha256: { type: ['string', 'null'] },
      reason: { type: ['string', 'null'] },
      via: { type: ['string', 'null'], enum: ['s3', 'ftp', 'ftps', null], description: 'how a stored file came' },
    },
  },
} as const;

export const inboxItemSchema = {
  $id: 'InboxItem',
  type: 'object',
  properties: {
    id: { type: 'string', format: 'uuid' },
    cursor: { type: 'string', description: 'position in the inbox feed; pass as `after` to continue' },
    kind: { type: 'string', enum: ['application', 'query', 'response'] },
    service: { type: 'string' },
    serviceTitle: { type: 'string' },
    messageId: { type: 'string' },
    partner: { type: 'string' },
    receivedAt: { type: 'string', format: 'date-time' },
    content: { description: "the translated content, in the service's JSON model (config/services/<service>/)" },
    attachments: { type: 'array', items: attachment },
    exchangeFiles,
    signature: {
      type: 'object',
      description: 'the verified signature: algorithm, certificate, partner, and the applicant\'s PersonalSignature when present',
      additionalProperties: true,
    },
    test: { type: 'boolean' },
    applicationId: { type: ['string', 'null'] },
    registrationNumber: { type: ['string', 'null'] },
    requestId: { type: ['string', 'null'] },
    ackedAt: { type: ['string', 'null'] },
    xroad: {
      type: 'object',
      description: 'present when the message came through a Security Server (X-Road / Trembita): the client and service identifiers, the message id (xrd:id / X-Road-Id / Uxp-QueryID) and the user id; signature.algorithm is then x-road-security-server and signature.certificate null',
      properties: {
        dialect: { type: 'string', enum: ['xroad', 'trembita'] },
        protocol: { type: 'string', enum: ['soap', 'rest'] },
        client: { type: 'string' },
        service: { type: 'string' },
        id: { type: 'string' },
        userId: { type: ['string', 'null'] },
      },
    },
  },
  additionalProperties: true,
} as const;

export const applicationSchema = {
  $id: 'Application',
  type: 'object',
  properties: {
    id: { type: 'string' },
    registrationNumber: { type: 'string' },
    service: { type: 'string' },
    serviceTitle: { type: 'string' },
    messageId: { type: 'string' },
    partner: { type: 'string' },
    receivedAt: { type: 'string' },
    applicant: {},
    content: {},
    attachments: { type: 'array', items: attachment },
    exchangeFiles,
    status: { type: 'string' },
    statusHistory: {
      type: 'array',
      items: { type: 'object', properties: { status: { type: 'string' }, at: { type: 'string' }, comment: { type: 'string' } } },
    },
    inboxItemId: { type: 'string' },
    queries: {
      type: 'array',
      description: 'interagency queries made for this application',
      items: { type: 'object', properties: { id: { type: 'string' }, service: { type: 'string' }, state: { type: 'string' }, createdAt: { type: 'string' }, answeredAt: { type: ['string', 'null'] } } },
    },
  },
  additionalProperties: true,
} as const;

export const idParams = {
  type: 'object',
  properties: { id: { type: 'string', minLength: 1, maxLength: 100 } },
  required: ['id'],
} as const;

/** The named components every OpenAPI reader sees beside Error (registered once by app.ts). */
export const apiSchemas = [inboxItemSchema, applicationSchema];
