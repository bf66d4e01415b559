/** The gateway's upload account in the partner registry: fileStore.upload { user, passwordEnv }, the password read from the named variable once, never serialised. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePartners, PartnerRegistryError } from '../../src/registry/partners.js';
import { projectRoot } from '../helpers/gateway.js';

const certs = path.join(projectRoot, 'certs-sample');
const registry = (upload: unknown) => ({
  exchanges: [{ id: 'smev', url: 'http://127.0.0.1:1/ws/smev3', certificates: [path.join(certs, 'gateway.crt.pem')], fileStore: { ftp: 'ftp://127.0.0.1:2121', ...(upload ? { upload } : {}) } }],
  partners: [
    { id: 'agency', name: 'Agency', role: 'agency', certificates: [path.join(certs, 'agency.crt.pem')], sends: [], receives: ['egrn-extract'], endpoint: null, signatureProfile: 'smev', transport: { mode: 'pull', exchange: 'smev' } },
  ],
});

function problemsOf(data: unknown, env: Record<string, string>): string[] {
  try {
    parsePartners(data, 'partners.json', { env });
  } catch (error) {
    if (error instanceof PartnerRegistryError) return error.problems;
    throw error;
  }
  throw new Error('expected a PartnerRegistryError');
}

describe('fileStore.upload', () => {
  it('is read from the named variable; the registry object does not carry the secret in its JSON', () => {
    const { registry: r } = parsePartners(registry({ user: 'okno-upload', passwordEnv: 'SMEV_UPLOAD_PW' }), 'partners.json', { env: { SMEV_UPLOAD_PW: 's3cr3t-value' } });
    const upload = r.exchanges[0]!.fileStore!.upload!;
    expect(upload.user).toBe('okno-upload');
    expect(upload.passwordEnv).toBe('SMEV_UPLOAD_PW');
    expect(upload.password()).toBe('s3cr3t-value');
    expect(JSON.stringify(r.exchanges[0]!.fileStore)).not.toContain('s3cr3t-value');
  });

  it('absent: null; an unset variable is a problem naming it; the secret itself in the file is refused', () => {
    expect(parsePartners(registry(null), 'partners.json', { env: {} }).registry.exchanges[0]!.fileStore!.upload).toBeNull();
    expect(problemsOf(registry({ user: 'u', passwordEnv: 'SMEV_UPLOAD_PW' }), {})).toEqual([expect.stringMatching(/fileStore\/upload\/passwordEnv: the environment variable SMEV_UPLOAD_PW is not set/)]);
    expect(problemsOf(registry({ user: 'u', password: 'inline' }), {}).join('\n')).toMatch(/password/);
  });
});

describe('outboundFileToSend', () => {
  it('an OutboundFile: its id the uuid, its blob the path, its CMS signature decoded', async () => {
    const { outboundFileToSend } = await import('../../src/attachments/send-via-file-store.js');
    const { BlobStore } = await import('../../src/attachments/blob-store.js');
    const blobs = new BlobStore('/var/okno/attachments');
    const sha = 'a'.repeat(64);
    const pkcs7 = Buffer.from([0x30, 0x82, 0x01, 0x0a]);
    const file = { id: '6f1c2a40-f24b-11f1-9623-d923a45ba761', fileName: 'Разрешение.pdf', mimeType: 'application/pdf', blobId: `sha256-${sha}`, signature: { pkcs7: pkcs7.toString('base64'), algorithm: 'RSA-SHA256', signer: 'x', signedAt: '2026-12-07T00:00:00Z' } };
    expect(outboundFileToSend(file, blobs)).toEqual({ uuid: file.id, fileName: 'Разрешение.pdf', mimeType: 'application/pdf', path: path.join('/var/okno/attachments', 'blobs', `sha256-${sha}`), signaturePkcs7: pkcs7 });
    expect(outboundFileToSend({ ...file, signature: null }, blobs)).not.toHaveProperty('signaturePkcs7');
  });
});
