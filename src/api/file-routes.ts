/**
 * The city's files (issue 21, point 3): POST /api/v1/files takes one file as the raw request body
 * (its Content-Type is the file's MIME type, its name the `name` query parameter), streamed into
 * the blob store (ATTACHMENT_DIR) up to FILE_MAX_BYTES, and answers with the id that a status
 * (files: [{id}]) then references. GET /api/v1/files/{id} describes one, and `/content` streams it.
 *
 * The upload route lives in its own encapsulated plugin whose only body parser hands the raw
 * stream over: every other route keeps the JSON-only parser (src/http/json-body.ts).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { BlobStore } from '../attachments/blob-store.js';
import { storeUpload, UploadTooLarge } from '../attachments/outbound-upload.js';
import { DEFAULT_ATTACHMENT_MIME_TYPES } from '../catalogue/types.js';
import type { FlowContext } from '../flows/context.js';
import { newFileId, OUTBOUND_FILES, type OutboundFile } from '../flows/outbound-files.js';
import type { TokenAuth } from '../http/auth.js';
import { HttpError } from '../http/errors.js';
import { errorResponse } from '../http/openapi-errors.js';
import { idParams } from '../http/schemas.js';
import { parseContentType } from '../soap/mtom.js';
import { write } from '../store/collection.js';

const MIME_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/;
// C0 and C1 controls, DEL, and the separators of paths on any system.
// eslint-disable-next-line no-control-regex
const BAD_NAME_CHAR = /[\u0000-\u001f\u007f-\u009f/\\]/;

const fileSchema = {
  type: 'object',
  properties: {
    id: { type: 'string', description: 'the file id: what a status references, and the contentId / file-store uuid on the wire' },
    fileName: { type: 'string' },
    mimeType: { type: 'string' },
    size: { type: 'integer' },
    sha256: { type: 'string', description: 'hex SHA-256 of the bytes' },
    service: { type: ['string', 'null'], description: 'the service whose MIME types the file was checked against' },
    uploadedAt: { type: 'string' },
    signature: {
      type: ['object', 'null'],
      description: "the gateway's detached CMS signature, made when a message first referenced the file (null until then)",
      properties: { pkcs7: { type: 'string', description: 'DER, base64 (SignaturePKCS7)' }, algorithm: { type: 'string' }, signer: { type: 'string', description: "SHA-256 fingerprint of the gateway's certificate" }, signedAt: { type: 'string' } },
    },
  },
  required: ['id', 'fileName', 'mimeType', 'size', 'sha256'],
} as const;

const view = (f: OutboundFile) => ({ id: f.id, fileName: f.fileName, mimeType: f.mimeType, size: f.size, sha256: f.sha256, service: f.service, uploadedAt: f.uploadedAt, signature: f.signature });

/** The file's name as given, or why it cannot be one (for the 400). */
export function fileNameProblem(name: string | undefined): string | null {
  if (name === undefined || name.length === 0) return 'name: give the file\'s name (?name=…, UTF-8, percent-encoded)';
  if ([...name].length > 255) return 'name: at most 255 characters';
  if (BAD_NAME_CHAR.test(name)) return 'name: no path separators (/ \\) or control characters';
  if (name.trim() === '' || name === '.' || name === '..') return `name: "${name}" is not a file name`;
  return null;
}

export function registerFileRoutes(app: FastifyInstance, ctx: FlowContext, auth: TokenAuth, blobs: BlobStore): void {
  const security = [{ bearer: [] }];
  const maxBytes = ctx.config.outboundFiles.maxBytes;

  void app.register(async (scope) => {
    // This scope only: the body is the file, handed over as the raw stream (never buffered).
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

    scope.post<{ Querystring: { name?: string; service?: string } }>(
      '/api/v1/files',
      {
        onRequest: auth.require('city'),
        // The route streams and counts itself (FILE_MAX_BYTES); the JSON body limit does not apply.
        bodyLimit: Number.MAX_SAFE_INTEGER,
        schema: {
          tags: ['applications'],
          summary: 'Upload a file the city sends (a result document for a status): the raw body, streamed, up to FILE_MAX_BYTES',
          description:
            "The request body is the file itself; its Content-Type header is the file's MIME type. With `service`, the type must be one the service takes (service.json attachments.mimeTypes). The file is signed by the gateway (detached CMS) when a message first references it.",
          security,
          querystring: {
            type: 'object',
            properties: {
              name: { type: 'string', description: "the file's name (UTF-8, percent-encoded; no path separators or control characters)" },
              service: { type: 'string', description: 'the service the file is for: its MIME type is checked against the types the service takes' },
            },
            additionalProperties: false,
          },
          response: {
            201: { type: 'object', properties: { id: { type: 'string' }, fileName: { type: 'string' }, mimeType: { type: 'string' }, size: { type: 'integer' }, sha256: { type: 'string' } }, required: ['id', 'fileName', 'mimeType', 'size', 'sha256'] },
            413: errorResponse('The file is larger than FILE_MAX_BYTES (FILE_TOO_LARGE); nothing is kept'),
            415: errorResponse("The service does not take files of this MIME type (MIME_TYPE_NOT_ALLOWED): the message names the type and the allowed ones; or the Content-Type is not a MIME type"),
          },
        },
      },
      async (request, reply) => {
        const raw = request.body as IncomingMessage | undefined;
        const name = request.query.name;
        const nameProblem = fileNameProblem(name);
        if (nameProblem) throw new HttpError(400, 'INVALID_FILE_NAME', nameProblem);
        const header = request.headers['content-type'];
        const mimeType = header ? parseContentType(header).mediaType : 'application/octet-stream';
        if (!MIME_TYPE.test(mimeType)) throw new HttpError(415, 'INVALID_MIME_TYPE', `Content-Type "${header}" is not a MIME type (type/subtype); send the file's type`);
        const serviceId = request.query.service ?? null;
        if (serviceId !== null) {
          const service = ctx.catalogue.get(serviceId);
          if (!service) throw new HttpError(400, 'UNKNOWN_SERVICE', `service: no service ${serviceId} in the catalogue`);
          const allowed = service.attachmentMimeTypes ?? DEFAULT_ATTACHMENT_MIME_TYPES;
          if (!allowed.includes(mimeType)) throw new HttpError(415, 'MIME_TYPE_NOT_ALLOWED', `${mimeType}: the service ${serviceId} takes ${allowed.join(', ')} (service.json attachments.mimeTypes)`);
        }
        const announced = Number(request.headers['content-length']);
        if (Number.isFinite(announced) && announced > maxBytes) {
          // Refused before a byte is read; the connection closes rather than reading the rest.
          reply.header('connection', 'close');
          throw new HttpError(413, 'FILE_TOO_LARGE', `the file has ${announced} bytes, more than FILE_MAX_BYTES (${maxBytes})`);
        }
        if (!raw || announced === 0) throw new HttpError(400, 'EMPTY_FILE', 'the body is empty; send the file as the request body');
        let stored;
        try {
          stored = await storeUpload(blobs, raw, maxBytes);
        } catch (error) {
          if (error instanceof UploadTooLarge) throw new HttpError(413, 'FILE_TOO_LARGE', `the file is larger than FILE_MAX_BYTES (${maxBytes} bytes); nothing is kept`);
          throw error;
        }
        if (stored.size === 0) throw new HttpError(400, 'EMPTY_FILE', 'the body is empty; send the file as the request body');
        const file: OutboundFile = {
          id: newFileId(randomUUID),
          fileName: name!,
          mimeType,
          size: stored.size,
          sha256: stored.sha256,
          blobId: stored.blobId,
          service: serviceId,
          uploadedAt: ctx.now().toISOString(),
          signature: null,
        };
        await ctx.store.commit({ docs: [write(OUTBOUND_FILES, file.id, file)] });
        request.log.info({ fileId: file.id, size: file.size, mimeType, service: serviceId }, 'file uploaded');
        return reply.status(201).send({ id: file.id, fileName: file.fileName, mimeType: file.mimeType, size: file.size, sha256: file.sha256 });
      },
    );
  });

  app.get<{ Params: { id: string } }>(
    '/api/v1/files/:id',
    { onRequest: auth.require('city'), schema: { tags: ['applications'], summary: 'One uploaded file: its name, type, size, SHA-256 and (once a message referenced it) the gateway\'s signature', security, params: idParams, response: { 200: fileSchema } } },
    async (request) => {
      const file = await ctx.store.getDoc(OUTBOUND_FILES, request.params.id);
      if (!file) throw new HttpError(404, 'NOT_FOUND', `no file ${request.params.id}`);
      return view(file);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/files/:id/content',
    { onRequest: auth.require('city'), schema: { tags: ['applications'], summary: 'The bytes of an uploaded file (streamed)', security, params: idParams } },
    async (request, reply) => {
      const file = await ctx.store.getDoc(OUTBOUND_FILES, request.params.id);
      if (!file) throw new HttpError(404, 'NOT_FOUND', `no file ${request.params.id}`);
      const size = await blobs.size(file.blobId);
      if (size === null) throw new HttpError(404, 'NOT_FOUND', `file ${file.id} is recorded but its bytes are missing from ATTACHMENT_DIR`);
      return reply.type(file.mimeType).header('content-length', size).send(blobs.read(file.blobId));
    },
  );
}
