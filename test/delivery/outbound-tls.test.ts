/** src/delivery/outbound-tls.ts: the gateway's TLS client certificate on calls to partners over https, against a real mTLS server on loopback. */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutboundAgent, OutboundHttpError, postWithAgent } from '../../src/delivery/outbound-tls.js';
import { TlsSetupError } from '../../src/pki/tls-material.js';
import { projectRoot } from '../helpers/gateway.js';
import { issueCertificate, SAMPLE_CA_PEM, tempDir, type IssuedPem } from '../helpers/tls-pki.js';

const CA_FILE = path.join(projectRoot, 'certs-sample/ca.crt.pem');
let dir: string;
let client: IssuedPem;
let server: Server;
let url: string;
let answer: 'echo' | 'never' = 'echo';

beforeAll(async () => {
  dir = tempDir('okno-outbound-tls-');
  client = issueCertificate(dir, { cn: 'okno-gateway-tls' });
  const serverCert = issueCertificate(dir, { cn: 'partner', loopback: true });
  server = createServer({ cert: serverCert.certPem, key: serverCert.keyPem, ca: SAMPLE_CA_PEM(), requestCert: true, rejectUnauthorized: true }, (req, res) => {
    if (answer === 'never') return;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ cn: peer.subject?.CN, body: Buffer.concat(chunks).toString('utf8'), soapaction: req.headers.soapaction, length: req.headers['content-length'] }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/ws/smev3`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('createOutboundAgent and postWithAgent', () => {
  it('presents the client certificate; the partner sees who calls, with the body and headers as sent', async () => {
    const agent = createOutboundAgent({ certFile: client.certFile, keyFile: client.keyFile, caFile: CA_FILE });
    const body = '<Envelope>окно</Envelope>';
    const res = await postWithAgent(agent, url, { soapaction: 'urn:SendRequest' }, body, 2_000);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ cn: 'okno-gateway-tls', body, soapaction: 'urn:SendRequest', length: String(Buffer.byteLength(body)) });
    agent.destroy();
  });

  it('without a client certificate the partner refuses the handshake: OutboundHttpError with the code', async () => {
    const agent = createOutboundAgent({ certFile: null, keyFile: null, caFile: CA_FILE });
    const error = await postWithAgent(agent, url, {}, '<x/>', 2_000).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OutboundHttpError);
    expect((error as OutboundHttpError).code).toMatch(/^(ECONNRESET|ERR_SSL_\w+|EPROTO)$/);
    agent.destroy();
  });

  it('a server certificate not from OUTBOUND_TLS_CA_FILE is refused', async () => {
    const agent = createOutboundAgent({ certFile: client.certFile, keyFile: client.keyFile, caFile: path.join(projectRoot, 'certs-sample/untrusted.crt.pem') });
    const error = (await postWithAgent(agent, url, {}, '<x/>', 2_000).catch((e: unknown) => e)) as OutboundHttpError;
    expect(error).toBeInstanceOf(OutboundHttpError);
    expect(error.code).toMatch(/CERT|SIGNATURE|ISSUER/);
    agent.destroy();
  });

  it('no answer in time: OutboundHttpError TIMEOUT', async () => {
    answer = 'never';
    const agent = createOutboundAgent({ certFile: client.certFile, keyFile: client.keyFile, caFile: CA_FILE });
    const error = (await postWithAgent(agent, url, {}, '<x/>', 200).catch((e: unknown) => e)) as OutboundHttpError;
    answer = 'echo';
    expect(error).toBeInstanceOf(OutboundHttpError);
    expect({ code: error.code, message: error.message }).toEqual({ code: 'TIMEOUT', message: 'no answer within 200 ms' });
    agent.destroy();
  });

  it('files that cannot be read, or a key that does not fit, stop start-up naming the variables', () => {
    const problems = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(TlsSetupError);
        return (e as TlsSetupError).problems;
      }
      throw new Error('accepted');
    };
    expect(problems(() => createOutboundAgent({ certFile: path.join(dir, 'none.pem'), keyFile: client.keyFile, caFile: null }))).toEqual([`OUTBOUND_TLS_CERT_FILE: cannot read "${path.join(dir, 'none.pem')}": ENOENT`]);
    const other = issueCertificate(dir, { cn: 'other' });
    const misfit = problems(() => createOutboundAgent({ certFile: client.certFile, keyFile: other.keyFile, caFile: null }));
    expect(misfit).toHaveLength(1);
    expect(misfit[0]).toMatch(/^OUTBOUND_TLS_CERT_FILE \/ OUTBOUND_TLS_KEY_FILE \/ OUTBOUND_TLS_CA_FILE: /);
  });
});
