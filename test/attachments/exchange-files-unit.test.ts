/**
 * The pieces of the file-store download that need no server: which hash a sender's signature
 * algorithm means, how the signed Hash is compared, the credentials read from the official
 * GetRequestResponse sample, and their redaction from journal evidence.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileStoreCredentials, hashAlgorithmFor } from '../../src/flows/exchange-files.js';
import { hashMatches } from '../../src/attachments/exchange-file-worker.js';
import { scrub } from '../../src/attachments/file-store-download.js';
import { redactFileStoreCredentials } from '../../src/journal/records.js';
import { GOST2012_256_URI } from '../../src/crypto/index.js';
import { StreebogStream } from '../../src/crypto/streebog-stream.js';
import { parseXml } from '../../src/xml/parser.js';
import { childElements } from '../../src/xml/helpers.js';
import type { XmlElement } from '../../src/xml/types.js';
import { projectRoot } from '../helpers/gateway.js';

const sample = readFileSync(path.join(projectRoot, 'test/fixtures/smev3-samples/GetRequestResponseAttachFTP.xml'));

function find(el: XmlElement, name: string): XmlElement | undefined {
  if (el.localName === name) return el;
  for (const c of childElements(el)) {
    const f = find(c, name);
    if (f) return f;
  }
  return undefined;
}

describe('the hash a sender means', () => {
  it('GOST signature algorithms mean GOST R 34.11-2012 256; RSA and ECDSA mean SHA-256', () => {
    expect(hashAlgorithmFor(GOST2012_256_URI)).toBe('gost3411-2012-256');
    expect(hashAlgorithmFor('urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34102012-gostr34112012-512')).toBe('gost3411-2012-256');
    expect(hashAlgorithmFor('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256')).toBe('sha256');
    expect(hashAlgorithmFor('http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256')).toBe('sha256');
  });

  it('compares base64 digests; a GOST digest also in reversed byte order, a SHA-256 one never', () => {
    const data = Buffer.from('проект перепланировки');
    const gost = new StreebogStream(256).update(data).digest();
    expect(hashMatches(gost.toString('base64'), gost, 'gost3411-2012-256')).toBe(true);
    expect(hashMatches(Buffer.from(gost).reverse().toString('base64'), gost, 'gost3411-2012-256')).toBe(true);
    const sha = createHash('sha256').update(data).digest();
    expect(hashMatches(sha.toString('base64'), sha, 'sha256')).toBe(true);
    expect(hashMatches(Buffer.from(sha).reverse().toString('base64'), sha, 'sha256')).toBe(false);
    expect(hashMatches(sha.toString('base64'), gost, 'gost3411-2012-256')).toBe(false);
    expect(hashMatches('', sha, 'sha256')).toBe(false);
  });
});

describe('the credentials of FSAttachmentsList (official sample GetRequestResponseAttachFTP.xml)', () => {
  it('are read per uuid, with the file name', () => {
    const doc = parseXml(sample.toString('utf8'));
    const request = find(doc.root, 'Request')!;
    const creds = fileStoreCredentials(request);
    expect([...creds.values()]).toEqual([{ userName: 'RuhSKQ8eNGYKDWgByyjVBTLQLx8K8A', password: 'rFHmjM5N5fkIM7Aiy2Oyie1BgEDXxm', fileName: 'sample10M.tmp' }]);
  });

  it('the password is replaced by as many asterisks in journal evidence; every other byte is kept', () => {
    const redacted = redactFileStoreCredentials(sample);
    expect(redacted.length).toBe(sample.length);
    const text = redacted.toString('utf8');
    expect(text).not.toContain('rFHmjM5N5fkIM7Aiy2Oyie1BgEDXxm');
    expect(text).toContain(`<Password>${'*'.repeat(30)}</Password>`);
    expect(text.replace(`<Password>${'*'.repeat(30)}</Password>`, '<Password>rFHmjM5N5fkIM7Aiy2Oyie1BgEDXxm</Password>')).toBe(sample.toString('utf8'));
    // Without FSAttachmentsList nothing changes (the same object back).
    const other = Buffer.from('<x><Password>kept</Password></x>');
    expect(redactFileStoreCredentials(other)).toBe(other);
  });

  it('error messages lose the credentials', () => {
    expect(scrub('530 login incorrect for RuhSKQ8e with secret-pass', { userName: 'RuhSKQ8e', password: 'secret-pass' })).toBe('530 login incorrect for *** with ***');
  });
});
